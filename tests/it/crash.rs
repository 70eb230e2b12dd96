//! Processes stopped half-way, at each point where it matters, in turn:
//! a debug build aborts at the point `GIT_CREDENTIAL_PATROL_TEST_CRASH_AT`
//! names (`src/test_hook.rs`), the way `kill -9` or a power cut would stop
//! it, and the test checks the promise that must hold there. No timing is
//! involved, so each point is hit on every run. Release builds have no
//! crash points, so this module is compiled in debug builds only.

use std::fs;
use std::process::Output;

use crate::support::env::{BIN, TestEnv};
use crate::support::fixtures::{THREE, assert_nothing_lost, git_credentials, token, write_private};
use crate::support::{assert_contains, assert_lacks, run, text};

const OLD: &str = "ghp_TESTcrash0001";
const NEW: &str = "ghp_TESTcrash0002";

fn input(host: &str, token: &str) -> String {
    format!("protocol=https\nhost={host}\nusername=alice\npassword={token}\n")
}

/// Runs our binary with `args`, aborted at `point`; checks that it was.
fn crash(env: &TestEnv, point: &str, args: &[&str], stdin: &str) {
    let mut command = env.command(BIN);
    command
        .args(args)
        .env("GIT_CREDENTIAL_PATROL_TEST_CRASH_AT", point);
    let out = run(command, stdin.as_bytes());
    assert_eq!(
        out.status.code(),
        None,
        "{point}: the crash did not happen: {}",
        text(&out.stderr)
    );
}

/// The index, which must be whole whatever stopped when: every shard
/// parses.
fn whole_index(env: &TestEnv, point: &str) -> serde_json::Value {
    for shard in env.shards() {
        let text = fs::read_to_string(&shard).unwrap();
        if let Err(err) = serde_json::from_str::<serde_json::Value>(&text) {
            panic!("{point}: {} is broken: {err}", shard.display());
        }
    }
    env.index()
}

/// Every shard of the index and what it holds.
fn shards(env: &TestEnv) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    env.shards()
        .into_iter()
        .map(|shard| (shard.clone(), fs::read(shard).unwrap()))
        .collect()
}

fn fill(env: &TestEnv, host: &str) -> Output {
    env.credential("fill", &[], &format!("protocol=https\nhost={host}\n"))
}

/// The live record of alice on `host`, if any.
fn live(index: &serde_json::Value, host: &str) -> Option<serde_json::Value> {
    index["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["host"] == host && r["erased"].is_null())
        .cloned()
}

#[test]
fn a_store_stopped_at_each_point_leaves_the_new_secret_usable_and_the_index_whole() {
    for point in ["store-after-keychain", "before-rename", "after-rename"] {
        let env = TestEnv::new();
        env.approve(&input("other.example.com", OLD));
        env.approve(&input("crash.example.com", OLD));
        let before = shards(&env);
        // A changed token, and a new credential on a host the index has
        // never seen: the keychain is written first, so git gets the new
        // token at once whatever the index says.
        for host in ["crash.example.com", "new.example.com"] {
            crash(&env, point, &["store"], &input(host, NEW));
        }
        let index = whole_index(&env, point);
        if point == "after-rename" {
            assert!(
                live(&index, "new.example.com").is_some(),
                "{point}: {index}"
            );
        } else {
            assert_eq!(
                shards(&env),
                before,
                "{point}: the index is the old one, byte for byte"
            );
        }
        for host in ["crash.example.com", "new.example.com"] {
            let answer = text(&fill(&env, host).stdout);
            assert_contains!(
                answer,
                &format!("password={NEW}\n"),
                "{point}, {host}: {answer}"
            );
            let token = token(&env, host, Some("alice"));
            assert_eq!(
                token.ok().as_deref(),
                Some("ghp_TESTcrash0002\n"),
                "{point}, {host}"
            );
        }
        // Git can erase what the index does not know yet (a server that
        // refuses the new token), and store it again.
        env.reject("protocol=https\nhost=new.example.com\n");
        let answer = text(&fill(&env, "new.example.com").stdout);
        assert!(!answer.contains(NEW), "{point}: erased: {answer}");
        // Git stores again after its next success: the index catches up.
        for host in ["crash.example.com", "new.example.com"] {
            env.approve(&input(host, NEW));
            let index = env.index();
            let record = live(&index, host).unwrap_or_else(|| panic!("{point}, {host}: {index}"));
            assert!(record["keychain_item"].is_string(), "{point}: {record}");
        }
        assert_eq!(
            env.index()["credentials"].as_array().unwrap().len(),
            3,
            "{point}: one record a credential"
        );
    }
}

#[test]
fn an_erase_stopped_at_each_point_leaves_nothing_git_would_send() {
    for point in ["erase-after-keychain", "before-rename", "after-rename"] {
        let env = TestEnv::new();
        env.approve(&input("other.example.com", OLD));
        env.approve(&input("crash.example.com", OLD));
        crash(
            &env,
            point,
            &["erase"],
            "protocol=https\nhost=crash.example.com\n",
        );
        let index = whole_index(&env, point);
        assert_eq!(
            live(&index, "crash.example.com").is_none(),
            point == "after-rename",
            "{point}: {index}"
        );
        // The keychain is the truth: the token is gone whatever the index says.
        let out = fill(&env, "crash.example.com");
        assert_lacks!(text(&out.stdout), OLD, "{point}");
        let token_out = token(&env, "crash.example.com", Some("alice")).unwrap_err();
        assert_eq!(token_out.status.code(), Some(1), "{point}");
        assert!(fill(&env, "other.example.com").status.success());
        assert_contains!(text(&fill(&env, "other.example.com").stdout), OLD);
        // Git's next erase brings the index in line.
        env.reject("protocol=https\nhost=crash.example.com\n");
        let index = env.index();
        assert!(
            live(&index, "crash.example.com").is_none(),
            "{point}: {index}"
        );
    }
}

#[test]
fn an_import_that_crashes_at_any_point_loses_nothing_and_a_rerun_finishes() {
    // With nothing left the file is deleted; with a line it cannot import,
    // the file is rewritten: a crash may hit either.
    let everywhere = [
        "store-after-keychain",
        "before-rename",
        "after-rename",
        "after-1",
        "after-2",
        "after-3",
        "rewrite",
    ];
    // Only a file that keeps a line is written anew, half-way or whole.
    for (content, left, rewritten) in [
        (THREE.to_owned(), None, None),
        (
            format!("{THREE}junk\n"),
            Some("junk\n"),
            Some("rewrite-partial"),
        ),
    ] {
        for point in everywhere.into_iter().chain(rewritten) {
            let env = TestEnv::new();
            let file = git_credentials(&env);
            write_private(&file, &content);
            let mut command = env.command(BIN);
            command
                .arg("import")
                .env("GIT_CREDENTIAL_PATROL_TEST_CRASH_AT", point);
            let out = run(command, b"");
            assert_eq!(out.status.code(), None, "{point}: the crash did not happen");
            assert_nothing_lost(&env, &file);
            assert_eq!(fs::read_to_string(&file).unwrap(), content, "{point}");
            // A crash while the file is being rewritten leaves git's lock,
            // as a crash of git's own `store` would: the next run names it.
            let lock = env.home().join(".git-credentials.lock");
            assert_eq!(lock.exists(), point.starts_with("rewrite"), "{point}");
            if lock.exists() {
                let out = env.patrol(&["import"], "");
                assert_eq!(out.status.code(), Some(1), "{point}");
                let stderr = text(&out.stderr);
                assert_contains!(stderr, ".git-credentials.lock exists");
                assert_contains!(stderr, "remove it (`rm ");
                assert_eq!(fs::read_to_string(&file).unwrap(), content, "{point}");
                fs::remove_file(&lock).unwrap();
            }

            let out = env.patrol(&["import"], "");
            assert_eq!(out.status.success(), left.is_none(), "{point}");
            assert_eq!(fs::read_to_string(&file).ok().as_deref(), left, "{point}");
            assert_nothing_lost(&env, &file);
            for (url, user) in [
                ("github.com", "alice"),
                ("gitlab.example.com:8443", "bob"),
                ("github.com", "carol@work"),
            ] {
                assert!(token(&env, url, Some(user)).is_ok(), "{point}: {user}");
            }
            assert!(!lock.exists(), "{point}: the lock was left");
        }
    }
}
