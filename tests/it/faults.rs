//! When the ground gives way: no keychain, a hung or locked one, a damaged
//! index. Git must always be able to fall back to asking the person, within
//! a bounded time, with a message that names the cause and the fix.

use std::fs;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::env::TestEnv;
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, text};

const STORE: &str =
    "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTsecret0001\n";
const ASKED: &str =
    "protocol=https\nhost=example.com\nusername=askpass-username\npassword=askpass-password\n";

/// `git credential fill` falls back to askpass, and our one message says why.
fn assert_falls_back(env: &TestEnv, cause: &str) {
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), ASKED);
    let stderr = text(&out.stderr);
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("git-credential-patrol:"))
        .collect();
    assert_eq!(ours.len(), 1, "{stderr}");
    assert_contains!(ours[0], cause, "{stderr}");
}

#[test]
fn no_secret_service_names_the_cause_and_the_fix() {
    let env = TestEnv::with_keyring(Keyring::Missing);
    assert_falls_back(&env, "no Secret Service");
    let out = env.patrol(&["store"], STORE);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "patrol.backend keyutils");
    assert_contains!(stderr, "gnome-keyring-daemon");
}

#[test]
fn no_session_bus_names_the_cause_and_the_fix() {
    let env = TestEnv::with_keyring(Keyring::NoBus);
    assert_falls_back(&env, "no D-Bus session bus");
}

#[test]
fn a_provider_that_never_answers_is_abandoned_in_bounded_time() {
    let mut env = TestEnv::with_keyring(Keyring::Missing);
    let mut hole = env.command("dbus-test-tool");
    hole.args([
        "black-hole",
        "--session",
        "--name=org.freedesktop.secrets",
        "--no-read",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    env.spawn_daemon(hole);
    env.wait_for_name("org.freedesktop.secrets");
    env.config("patrol.keychainTimeout", "1s");
    let started = Instant::now();
    assert_falls_back(&env, "did not answer within 1 s");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_locked_keyring_without_a_display_is_reported_as_locked() {
    let env = TestEnv::new();
    env.approve(STORE);
    let locked = env.call_secret_service(
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service.Lock",
        &["array:objpath:/org/freedesktop/secrets/collection/login"],
    );
    assert!(locked.status.success(), "{}", text(&locked.stderr));
    let started = Instant::now();
    assert_falls_back(&env, "locked");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_damaged_index_never_stops_get_and_is_set_aside_on_the_next_store() {
    let env = TestEnv::new();
    env.approve(STORE);
    let shard = env.shard_path("https", "example.com");
    fs::write(&shard, "{\"version\": 2, \"credentials\": [tru").unwrap();
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert_contains!(
        text(&out.stdout),
        "password=ghp_TESTsecret0001",
        "{}",
        text(&out.stderr)
    );
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "damaged");
    assert_contains!(
        stderr,
        "https_example.com.json",
        "names the shard: {stderr}"
    );

    // The `get` that found the token in the keychain alone wrote its record
    // back, setting the damaged shard aside; a store after it has nothing
    // more to say.
    assert_eq!(stderr.matches("moved to").count(), 1, "{stderr}");
    let out = env.patrol(&["store"], STORE);
    assert!(out.status.success());
    assert_lacks!(text(&out.stderr), "moved to");
    assert_eq!(env.index()["credentials"][0]["username"], "alice");
    let set_aside = fs::read_dir(env.index_dir())
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("https_example.com.json.damaged-")
        });
    assert!(set_aside);
}

#[test]
fn a_missing_index_never_stops_get() {
    let env = TestEnv::new();
    env.approve(STORE);
    fs::remove_dir_all(env.index_dir()).unwrap();
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert_contains!(
        text(&out.stdout),
        "username=alice\npassword=ghp_TESTsecret0001"
    );
    // ... and git's erase still reaches the keychain.
    env.reject("protocol=https\nhost=example.com\n");
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert_eq!(text(&out.stdout), ASKED);
}

/// The index deleted, then one shard damaged, each followed by a `store`
/// for another host: every earlier token is still served, and listed.
#[test]
fn a_lost_or_damaged_index_hides_no_token_after_a_new_store() {
    let env = TestEnv::new();
    let store = |host: &str, user: &str| {
        let out = env.patrol(
            &["store"],
            &format!("protocol=https\nhost={host}\nusername={user}\npassword=ghp_TEST{user}0001\n"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    let served = |host: &str, user: &str| {
        let out = env.credential(
            "fill",
            &[],
            &format!("protocol=https\nhost={host}\nusername={user}\n"),
        );
        text(&out.stdout).contains(&format!("password=ghp_TEST{user}0001\n"))
    };
    let listed = || text(&env.patrol(&["list"], "").stdout);
    store("a.example", "alice");
    store("b.example", "bob");
    store("b.example", "bert");

    fs::remove_dir_all(env.index_dir()).unwrap();
    let said = store("c.example", "carol");
    assert_contains!(
        said,
        "the index did not list 3 credentials the keychain holds"
    );
    for (host, user) in [
        ("a.example", "alice"),
        ("b.example", "bob"),
        ("b.example", "bert"),
    ] {
        assert!(
            served(host, user),
            "{host} {user} after the index was deleted"
        );
    }
    let table = listed();
    for user in ["alice", "bob", "bert", "carol"] {
        assert_contains!(table, user, "{user}: {table}");
    }

    fs::write(env.shard_path("https", "b.example"), "{damaged").unwrap();
    store("d.example", "dave");
    let out = env.patrol(
        &["store"],
        "protocol=https\nhost=b.example\nusername=bert\npassword=ghp_TESTbert0001\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    store("e.example", "erin");
    for (host, user) in [
        ("a.example", "alice"),
        ("b.example", "bob"),
        ("b.example", "bert"),
        ("c.example", "carol"),
        ("d.example", "dave"),
    ] {
        assert!(
            served(host, user),
            "{host} {user} after a shard was damaged"
        );
    }
    let table = listed();
    for user in ["alice", "bob", "bert", "carol", "dave", "erin"] {
        assert_contains!(table, user, "{user}: {table}");
    }
}

#[test]
fn an_index_from_a_newer_version_is_left_untouched() {
    let env = TestEnv::new();
    env.approve(STORE);
    let shard = env.shard_path("https", "example.com");
    let future = "{\"version\": 3, \"credentials\": [], \"future\": true}\n";
    fs::write(&shard, future).unwrap();
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert_contains!(text(&out.stdout), "password=ghp_TESTsecret0001");
    let out = env.patrol(&["store"], &STORE.replace("0001", "0002"));
    assert!(out.status.success());
    assert_contains!(text(&out.stderr), "newer");
    assert_eq!(fs::read_to_string(&shard).unwrap(), future);
}

/// A FIFO in the place of a shard cannot hold `get`: it is refused as not
/// a regular file, and the keychain answers.
#[test]
fn a_fifo_in_place_of_the_index_never_blocks_get() {
    let env = TestEnv::new();
    env.approve(STORE);
    let shard = env.shard_path("https", "example.com");
    fs::remove_file(&shard).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&shard)
        .status()
        .unwrap();
    assert!(made.success());
    let started = Instant::now();
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_contains!(
        text(&out.stdout),
        "password=ghp_TESTsecret0001",
        "{}",
        text(&out.stderr)
    );
    assert_contains!(text(&out.stderr), "not a regular file");
}

/// A version-1 `index.json` of 1,000 records, as earlier versions wrote
/// it, is read as it is until the first `store`, which moves every record
/// into shards: nothing lost, every field kept.
#[test]
fn a_version_1_index_of_a_thousand_records_migrates_on_the_first_store() {
    let env = TestEnv::new();
    fs::create_dir_all(env.data_dir()).unwrap();
    let records: Vec<serde_json::Value> = (0..1000)
        .map(|i| {
            serde_json::json!({
                "id": format!("{i:032x}"),
                "protocol": "https",
                "host": format!("host{}.example", i % 250),
                "username": format!("user{i}"),
                "kind": "github-classic",
                "stored_at": "2026-01-01T00:00:00Z",
                "expiry": {"manual": "2099-01-01T00:00:00Z"},
                "scopes": ["repo"],
            })
        })
        .collect();
    let v1 = serde_json::json!({"version": 1, "credentials": records});
    fs::write(env.index_path(), serde_json::to_string_pretty(&v1).unwrap()).unwrap();
    let listing = env.patrol(&["list", "--json"], "");
    let parsed: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    assert_eq!(parsed["credentials"].as_array().unwrap().len(), 1000);

    env.approve(STORE);
    assert!(!env.index_path().exists(), "index.json was migrated");
    assert!(env.data_dir().join("index.json.migrated").exists());
    let mut after = env.index()["credentials"].as_array().unwrap().clone();
    assert_eq!(after.len(), 1001);
    after.retain(|r| r["host"] != "example.com");
    after.sort_by_key(|r| r["id"].as_str().unwrap().to_owned());
    assert_eq!(after, records, "every record, every field");
    let listing = env.patrol(&["list", "--json"], "");
    let parsed: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    assert_eq!(parsed["credentials"].as_array().unwrap().len(), 1001);
}

#[test]
fn git_is_never_blocked_by_a_keychain_missing_for_store_either() {
    let env = TestEnv::with_keyring(Keyring::NoBus);
    let started = Instant::now();
    let out = env.credential("approve", &[], STORE);
    assert!(out.status.success());
    assert_contains!(text(&out.stderr), "no D-Bus session bus");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_keychain_bound_is_longer_when_a_person_may_be_at_the_unlock_prompt() {
    // Waiting the bound out would take a minute: the trace says which one
    // was chosen.
    let env = TestEnv::new();
    env.approve(STORE);
    let bound = |display: &[(&str, &str)]| {
        let mut command = env.command(crate::support::env::BIN);
        command
            .arg("get")
            .env("GIT_CREDENTIAL_PATROL_TRACE", "1")
            .envs(display.iter().copied());
        let out = crate::support::run(command, b"protocol=https\nhost=example.com\n");
        assert_contains!(text(&out.stdout), "password=ghp_TESTsecret0001");
        let stderr = text(&out.stderr);
        let line = stderr
            .lines()
            .find(|l| l.contains("each call bounded to"))
            .unwrap_or_else(|| panic!("no bound traced: {stderr}"))
            .to_owned();
        line.rsplit_once("bounded to ").unwrap().1.to_owned()
    };
    assert_eq!(bound(&[]), "5 s", "headless: fail fast");
    assert_eq!(bound(&[("DISPLAY", ":0")]), "60 s");
    assert_eq!(bound(&[("WAYLAND_DISPLAY", "wayland-0")]), "60 s");
    assert_eq!(bound(&[("DISPLAY", "")]), "5 s", "an empty DISPLAY is none");
    env.config("patrol.keychainTimeout", "90s");
    assert_eq!(bound(&[("DISPLAY", ":0")]), "90 s", "the setting wins");
}

/// What a person reads from `install`, `store`, `import` and `doctor`: the
/// output of each, which must keep patrol's own layout (no line break or
/// tab shown as an escape, no doubled backslash).
fn assert_laid_out(env: &TestEnv, state: &str) -> String {
    let mut seen = String::new();
    for (args, stdin) in [
        (&["install"][..], ""),
        (&["store"][..], STORE),
        (&["import"][..], ""),
        (&["doctor"][..], ""),
    ] {
        let out = env.patrol(args, stdin);
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let shown = text(bytes);
            for escape in ["\\n", "\\t", "\\\\"] {
                assert_lacks!(
                    shown,
                    escape,
                    "{state}: `{}` printed a literal {escape} on {stream}",
                    args.join(" ")
                );
            }
            seen.push_str(&shown);
        }
    }
    seen
}

#[test]
fn messages_keep_their_layout_with_a_memory_only_or_a_locked_keyring() {
    let plaintext = "https://alice:ghp_TESTalice0001@github.com\n";

    // Started by D-Bus with no login keyring: only the in-memory collection.
    let env = TestEnv::with_keyring(Keyring::SessionOnly);
    env.config("credential.helper", "store");
    crate::support::fixtures::write_private(
        &crate::support::fixtures::git_credentials(&env),
        plaintext,
    );
    let seen = assert_laid_out(&env, "memory only");
    assert_contains!(seen, "\nfix: on a machine without a desktop");
    drop(env);

    // A reboot after a token was stored: the login keyring on disk, locked.
    let mut env = TestEnv::with_keyring(Keyring::Unlocked);
    env.approve(STORE);
    env.restart_keyring();
    env.config("credential.helper", "store");
    crate::support::fixtures::write_private(
        &crate::support::fixtures::git_credentials(&env),
        plaintext,
    );
    let seen = assert_laid_out(&env, "locked");
    assert_contains!(seen, "login keyring is locked");

    // What held before: `get` names the lock and its fix, and gives git no
    // password; doctor names it too.
    let out = env.patrol(&["get"], "protocol=https\nhost=example.com\n");
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    assert_contains!(
        stderr,
        "GNOME Keyring's login keyring is locked and was not unlocked"
    );
    assert_contains!(stderr, "gnome-keyring-daemon --replace --unlock");
    let out = env.patrol(&["doctor"], "");
    assert_contains!(text(&out.stdout), "GNOME Keyring's login keyring is locked");
}
