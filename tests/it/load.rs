//! Many git processes at once, and processes killed half-way: no lost
//! index update, no corrupt file, no deadlock, no lost secret.

use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::env::{BIN, TestEnv, run, text};

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
        assert!(
            text(&out.stdout).contains(&format!("password={}\n", token(i))),
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
    // account, reads an existing one, or erases one of the first half.
    for i in 0..PROCESSES / 2 {
        env.approve(&format!(
            "protocol=https\nhost=one.example\nusername=old{i}\npassword={}\n",
            token(i)
        ));
    }
    let outputs = all_at_once(&env, |i| match i % 3 {
        0 => (
            helper_args("approve"),
            format!(
                "protocol=https\nhost=one.example\nusername=new{i}\npassword={}\n",
                token(i)
            ),
        ),
        1 => (
            helper_args("fill"),
            format!("protocol=https\nhost=one.example\nusername=old{}\n", i / 2),
        ),
        _ => (
            helper_args("reject"),
            format!("protocol=https\nhost=one.example\nusername=old{}\n", i / 2),
        ),
    });
    for out in &outputs {
        assert!(out.status.success(), "{}", text(&out.stderr));
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
    for i in (0..PROCESSES).filter(|i| i % 3 == 2) {
        let user = format!("old{}", i / 2);
        let record = records
            .iter()
            .find(|r| r["username"] == user.as_str())
            .unwrap();
        assert!(
            record["erased"].is_object(),
            "erase of {user} recorded: {record}"
        );
    }
}

#[test]
fn a_store_killed_at_any_moment_leaves_a_readable_index_and_a_usable_secret() {
    let env = TestEnv::new();
    env.approve(&format!(
        "protocol=https\nhost=kill.example\nusername=alice\npassword={}\n",
        token(0)
    ));
    for round in 1..=20u64 {
        let mut child = env
            .command(BIN)
            .arg("store")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let input = format!(
            "protocol=https\nhost=kill.example\nusername=alice\npassword={}\n",
            token(round as usize)
        );
        use std::io::Write;
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        // Spread the kills over the whole life of a store (a few ms).
        thread::sleep(Duration::from_micros(round * 700));
        let _ = child.kill();
        let _ = child.wait();

        // Every shard parses: `index` panics on one that does not.
        env.index();
        let out = env.credential("fill", &[], "protocol=https\nhost=kill.example\n");
        let answer = text(&out.stdout);
        let known =
            (0..=round as usize).any(|i| answer.contains(&format!("password={}\n", token(i))));
        assert!(known, "round {round}: a stored secret answers: {answer}");
    }
}

#[test]
fn an_index_lock_held_by_a_stopped_process_does_not_hang_git_forever() {
    let env = TestEnv::new();
    env.approve(&format!(
        "protocol=https\nhost=lock.example\nusername=alice\npassword={}\n",
        token(0)
    ));
    // `flock` holds the lock for longer than a store waits for it.
    let lock = env.index_path().with_file_name("index.lock");
    let mut holder = Command::new("flock")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let out = env.patrol(
        &["store"],
        &format!(
            "protocol=https\nhost=lock.example\nusername=alice\npassword={}\n",
            token(1)
        ),
    );
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        out.status.success(),
        "the secret is stored: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("locked by another process"),
        "{}",
        text(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // `get` never waits for the lock.
    let out = env.credential("fill", &[], "protocol=https\nhost=lock.example\n");
    assert!(text(&out.stdout).contains(&token(1)));
}
