//! Many git processes at once and a lock held by a stopped one: no lost
//! index update, no corrupt file, no deadlock, no lost secret. (Processes
//! stopped half-way are in `crash.rs`.)

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::env::{BIN, TestEnv};
use crate::support::{assert_contains, now, run, text};

const PROCESSES: usize = 64;

/// Runs `make(i)` for i in 0..PROCESSES, all at once, each bounded by
/// `run`'s time limit, and returns their outputs.
fn all_at_once(
    env: &TestEnv,
    make: impl Fn(usize) -> (Vec<String>, String),
) -> Vec<std::process::Output> {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..PROCESSES)
            .map(|i| {
                let (args, stdin) = make(i);
                let mut command = env.command("git");
                command.args(&args);
                scope.spawn(move || run(command, stdin.as_bytes()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn helper_args(op: &str) -> Vec<String> {
    [
        "-c",
        "credential.helper=",
        "-c",
        &format!("credential.helper={BIN}"),
        "credential",
        op,
    ]
    .map(String::from)
    .to_vec()
}

fn token(i: usize) -> String {
    format!("ghp_TESTload{i:026}")
}

#[test]
fn sixty_four_stores_on_distinct_hosts_lose_nothing() {
    let env = TestEnv::new();
    let started = Instant::now();
    let outputs = all_at_once(&env, |i| {
        (
            helper_args("approve"),
            format!(
                "protocol=https\nhost=host{i}.example\nusername=user{i}\npassword={}\n",
                token(i)
            ),
        )
    });
    for out in &outputs {
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "a store had something to say");
    }
    let index = env.index();
    assert_eq!(index["credentials"].as_array().unwrap().len(), PROCESSES);
    let outputs = all_at_once(&env, |i| {
        (
            helper_args("fill"),
            format!("protocol=https\nhost=host{i}.example\n"),
        )
    });
    for (i, out) in outputs.iter().enumerate() {
        assert_contains!(
            text(&out.stdout),
            &format!("password={}\n", token(i)),
            "{}",
            text(&out.stderr)
        );
    }
    assert!(started.elapsed() < Duration::from_secs(120));
}

#[test]
fn sixty_four_processes_on_one_host_store_get_and_erase_together() {
    let env = TestEnv::new();
    // Half the accounts exist before; then each process stores a new
    // account, reads an even-numbered old one, or erases an odd-numbered
    // one, so that what each read must answer is known.
    let old = PROCESSES / 2;
    for i in 0..old {
        env.approve(&format!(
            "protocol=https\nhost=one.example\nusername=old{i}\npassword={}\n",
            token(i)
        ));
    }
    let read = |i: usize| (i / 3 * 2) % old;
    let erased = |i: usize| (i / 3 * 2 + 1) % old;
    let outputs = all_at_once(&env, |i| match i % 3 {
        0 => (
            helper_args("approve"),
            format!(
                "protocol=https\nhost=one.example\nusername=new{i}\npassword={}\n",
                token(100 + i)
            ),
        ),
        1 => (
            helper_args("fill"),
            format!(
                "protocol=https\nhost=one.example\nusername=old{}\n",
                read(i)
            ),
        ),
        _ => (
            helper_args("reject"),
            format!(
                "protocol=https\nhost=one.example\nusername=old{}\n",
                erased(i)
            ),
        ),
    });
    for (i, out) in outputs.iter().enumerate() {
        assert!(out.status.success(), "{}", text(&out.stderr));
        if i % 3 == 1 {
            let k = read(i);
            assert_eq!(
                text(&out.stdout),
                format!(
                    "protocol=https\nhost=one.example\nusername=old{k}\npassword={}\n",
                    token(k)
                ),
                "process {i} read old{k}: {}",
                text(&out.stderr)
            );
        }
    }
    let index = env.index();
    let records = index["credentials"].as_array().unwrap();
    let live_new = records
        .iter()
        .filter(|r| r["username"].as_str().unwrap().starts_with("new") && r["erased"].is_null())
        .count();
    assert_eq!(
        live_new,
        (0..PROCESSES).filter(|i| i % 3 == 0).count(),
        "every store is in the index"
    );
    // The keychain, asked directly, agrees with the index on every account.
    let in_keychain = |user: &str| {
        let out = env
            .command("secret-tool")
            .args([
                "lookup",
                "service",
                "git-credential-patrol:https://one.example",
            ])
            .args(["username", user])
            .output()
            .unwrap();
        !out.stdout.is_empty()
    };
    let erased: Vec<usize> = (0..PROCESSES).filter(|i| i % 3 == 2).map(erased).collect();
    for k in 0..old {
        let user = format!("old{k}");
        let record = records
            .iter()
            .find(|r| r["username"] == user.as_str())
            .unwrap();
        if erased.contains(&k) {
            assert!(
                record["erased"].is_object(),
                "erase of {user} recorded: {record}"
            );
            assert!(!in_keychain(&user), "{user} left the keychain");
        } else {
            assert!(record["erased"].is_null(), "{user} untouched: {record}");
            assert!(in_keychain(&user), "{user} is still in the keychain");
        }
    }
    for i in (0..PROCESSES).filter(|i| i % 3 == 0) {
        assert!(in_keychain(&format!("new{i}")), "new{i} is in the keychain");
    }
}

#[test]
fn an_index_lock_held_by_a_stopped_process_does_not_hang_git_forever() {
    let env = TestEnv::new();
    // Expiring soon, so that the `get` below has a warning to note in the
    // index, which it must skip rather than wait for the lock.
    let soon = now() + 3 * 86_400;
    env.approve(&format!(
        "protocol=https\nhost=lock.example\nusername=alice\npassword={}\n\
         password_expiry_utc={soon}\n",
        token(0)
    ));
    // A shell takes the lock itself, then stops itself with SIGSTOP, the
    // way a suspended (Ctrl-Z) or frozen git process would keep it.
    let lock = env.index_path().with_file_name("index.lock");
    let mut holder = Command::new("bash")
        .args(["-c", "exec 9>>\"$1\" && flock 9 && kill -STOP $$", "holder"])
        .arg(&lock)
        .spawn()
        .unwrap();
    let stat = format!("/proc/{}/stat", holder.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The state follows the command name in parentheses.
        let state = std::fs::read_to_string(&stat).unwrap_or_default();
        if state
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('T'))
        {
            break;
        }
        assert!(Instant::now() < deadline, "the lock holder never stopped");
        thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let out = env.patrol(
        &["store"],
        &format!(
            "protocol=https\nhost=lock.example\nusername=alice\npassword={}\n",
            token(1)
        ),
    );
    let waited = started.elapsed();
    // `get` never waits for the lock.
    let started = Instant::now();
    let filled = env.credential("fill", &[], "protocol=https\nhost=lock.example\n");
    let fill_took = started.elapsed();
    // SIGKILL ends a stopped process too.
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        out.status.success(),
        "the secret is stored: {}",
        text(&out.stderr)
    );
    assert_contains!(text(&out.stderr), "locked by another process");
    assert!(waited < Duration::from_secs(20), "took {waited:?}");
    assert_contains!(text(&filled.stdout), &token(1));
    assert_contains!(text(&filled.stderr), "expires in 3 days");
    assert!(fill_took < Duration::from_secs(5), "took {fill_took:?}");
}
