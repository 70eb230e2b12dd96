//! Linux without a Secret Service: the kernel keyring
//! (`patrol.backend = keyutils`), each step in a private session keyring
//! (and user namespace where the kernel allows one).

use std::fs;

use crate::support::env::{BIN, TestEnv};
use crate::support::fixtures::Private;
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, run, text};

/// Runs each `(command, stdin)` step, one after another, in one private
/// session keyring (`keyctl session -` starts a new one and it ends with the
/// shell); `patrol` in a command is our binary, and `setup` runs first.
/// Returns each step's exit code, stdout and stderr.
fn in_private_keyring(
    env: &TestEnv,
    private: Private,
    setup: &str,
    steps: &[(&str, &str)],
) -> Vec<(Option<i32>, String, String)> {
    let dir = env.root().join("keyutils");
    fs::create_dir_all(&dir).unwrap();
    let mut script = format!("patrol() {{ \"$0\" \"$@\"; }}\n{setup}\n");
    for (i, (command, stdin)) in steps.iter().enumerate() {
        fs::write(dir.join(format!("{i}.in")), stdin).unwrap();
        script.push_str(&format!(
            "{command} <{i}.in >{i}.out 2>{i}.err; echo $? >{i}.rc\n"
        ));
    }
    let wrapper = private.wrapper();
    let mut command = env.command(wrapper[0]);
    command
        .args(&wrapper[1..])
        .args(["sh", "-c", &script, BIN])
        .current_dir(&dir);
    let out = run(command, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    (0..steps.len())
        .map(|i| {
            let read = |ext: &str| fs::read_to_string(dir.join(format!("{i}.{ext}"))).unwrap();
            (read("rc").trim().parse().ok(), read("out"), read("err"))
        })
        .collect()
}

fn kernel_keyring_env() -> TestEnv {
    let env = TestEnv::with_keyring(Keyring::NoBus);
    env.config("patrol.backend", "keyutils");
    assert!(
        env.command("keyctl").arg("--version").output().is_ok(),
        "keyctl is needed for the tests: run scripts/test, which installs keyutils"
    );
    env
}

const KERNEL_HOST: &str = "keyutils-test.example.com";

#[test]
fn the_kernel_keyring_starts_no_secret_service() {
    // A desktop's bus can start a Secret Service on demand; a person who
    // chose the kernel keyring must not get one from `get` opening its
    // session early.
    let env = TestEnv::with_keyring(Keyring::Activatable);
    env.config("patrol.backend", "keyutils");
    let Some(private) = Private::for_branch(&env, "kernel keyring, no Secret Service started")
    else {
        return;
    };
    let request = format!("protocol=https\nhost={KERNEL_HOST}\nusername=alice\n");
    let stored = format!("{request}password=ghp_TESTkernel0003\n");
    let steps = in_private_keyring(
        &env,
        private,
        "",
        &[("patrol store", &stored), ("patrol get", &request)],
    );
    let [store, get] = &steps[..] else {
        unreachable!()
    };
    assert_eq!(store.0, Some(0), "store: {}", store.2);
    assert_contains!(get.1, "password=ghp_TESTkernel0003", "get: {}", get.2);
    assert!(!env.activated(), "a Secret Service was started");
    // Asked with activation, the bus does start the stand-in.
    let out = env.call_secret_service(
        "/org/freedesktop/secrets",
        "org.freedesktop.DBus.Peer.Ping",
        &[],
    );
    assert!(env.activated(), "{}", text(&out.stderr));
}

#[test]
fn the_kernel_keyring_stores_gets_and_erases_in_a_private_session_keyring() {
    let env = kernel_keyring_env();
    let Some(private) = Private::for_branch(&env, "kernel keyring, store/get/erase") else {
        return;
    };
    let request = format!("protocol=https\nhost={KERNEL_HOST}\nusername=alice\n");
    let stored = format!("{request}password=ghp_TESTkernel0001\n");
    // The kernel itself is asked whether the key is there.
    let search = format!("keyctl search @s user alice@git-credential-patrol:https://{KERNEL_HOST}");
    let steps = in_private_keyring(
        &env,
        private,
        "",
        &[
            ("patrol store", &stored),
            (&search, ""),
            ("patrol get", &request),
            ("patrol doctor", ""),
            ("patrol erase", &request),
            (&search, ""),
            ("patrol get", &request),
        ],
    );
    let [store, found, get, doctor, erase, gone, after] = &steps[..] else {
        unreachable!()
    };
    assert_eq!(store.0, Some(0), "store: {}", store.2);
    assert_eq!(found.0, Some(0), "the key is in the session keyring");
    assert_eq!(
        gone.0,
        Some(1),
        "the erased key left the keyring: {}",
        gone.1
    );
    assert_eq!(
        get.1,
        format!("username=alice\npassword=ghp_TESTkernel0001\n"),
        "get: {}",
        get.2
    );
    assert_contains!(doctor.1, "does not survive a reboot");
    assert!(!doctor.1.contains("problem: the keychain"), "{}", doctor.1);
    assert_eq!(erase.0, Some(0), "erase: {}", erase.2);
    assert_eq!(after.1, "", "erased: {}", after.2);
    for (_, stdout, stderr) in [store, doctor, erase, after] {
        assert!(!stdout.contains("TEST") && !stderr.contains("TEST"));
    }
}

#[test]
fn a_kernel_keyring_that_refuses_is_named_with_the_fix() {
    let env = kernel_keyring_env();
    let Some(private) = Private::for_branch(&env, "kernel keyring, a refusal") else {
        return;
    };
    let request = format!("protocol=https\nhost={KERNEL_HOST}\nusername=alice\n");
    let stored = format!("{request}password=ghp_TESTkernel0001\n");
    // A session keyring that grants nothing, not even to its possessor:
    // the kernel refuses every key, as locked-down containers do.
    let steps = in_private_keyring(
        &env,
        private,
        "keyctl setperm @s 0",
        &[("patrol store", &stored), ("patrol doctor", "")],
    );
    let [store, doctor] = &steps[..] else {
        unreachable!()
    };
    // Containers often deny the kernel keyring: the message must say so
    // and point to the Secret Service, not to a missing D-Bus.
    assert_eq!(store.0, Some(1), "{}", store.2);
    assert_contains!(
        store.2,
        "the kernel keyring (patrol.backend = keyutils) refused"
    );
    assert_contains!(store.2, "gnome-keyring-daemon");
    assert!(!store.2.contains("D-Bus session bus ("), "{}", store.2);
    assert!(!store.2.contains("TEST"));
    assert_eq!(doctor.0, Some(1));
    assert_contains!(
        doctor.1,
        "problem: the keychain is not available: the kernel keyring"
    );
}
