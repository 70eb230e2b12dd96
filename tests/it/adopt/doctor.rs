//! `doctor`: content with an installed patrol, the helpers git applies to
//! a host, each problem named with its fix; and every fix it prints, run
//! as printed, until it finds nothing.

use std::fs;

use super::assert_ok;
use crate::support::env::TestEnv;
use crate::support::fixtures::{CAROL, THREE, git_credentials, token, write_private};
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, run, text};

#[test]
fn doctor_is_content_with_an_installed_patrol() {
    let env = TestEnv::new();
    assert_ok(&env.patrol(&["install"], ""));
    env.approve(
        "protocol=https\nhost=git.example.com\nusername=alice\npassword=ghp_TESTalice0001\n",
    );
    let out = env.patrol(&["doctor"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    for expected in [
        "ok: the Secret Service answers",
        "ok: git asks patrol first for https://github.com",
        "ok: git asks patrol first for https://gitlab.com",
        "ok: git asks patrol first for https://git.example.com",
        "ok: no plaintext credential file",
        "lists 1 credential",
        "No problems found.",
    ] {
        assert_contains!(stdout, expected, "{expected}\n{stdout}");
    }
}

#[test]
fn doctor_counts_only_the_helpers_git_applies_to_the_host() {
    // Without a scheme, git matches `credential.<host>` byte for byte:
    // these never run for github.com, and the last one does.
    for (pattern, applies) in [
        ("GitHub.com", false),
        ("github.com:443", false),
        ("*.com", false),
        ("github.com", true),
    ] {
        let env = TestEnv::new();
        env.config("credential.helper", "patrol");
        let key = format!("credential.{pattern}.helper");
        env.git(&["config", "--global", "--add", &key, ""], "");
        env.git(&["config", "--global", "--add", &key, "store"], "");
        let out = env.patrol(&["doctor"], "");
        let stdout = text(&out.stdout);
        let said = stdout.contains(
            "for https://github.com, `store` (git's `store`: tokens in plain text in \
             ~/.git-credentials) answers before patrol",
        ) || stdout.contains("git never asks patrol for https://github.com");
        assert_eq!(said, applies, "{pattern}: {stdout}");
    }
}

#[test]
fn doctor_names_each_problem_with_its_fix() {
    let env = TestEnv::new();
    // patrol configured by hand after `store`, which answers first.
    env.git(
        &["config", "--global", "--add", "credential.helper", "store"],
        "",
    );
    env.git(
        &["config", "--global", "--add", "credential.helper", "patrol"],
        "",
    );
    write_private(&git_credentials(&env), THREE);
    env.approve("protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0001\n");
    // The index lists a credential the keychain lost.
    let removed = env
        .command("secret-tool")
        .args([
            "clear",
            "service",
            "git-credential-patrol:https://example.com",
            "username",
            "alice",
        ])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    // And a clock that runs years behind what the index has seen.
    let shard = env.shard_path("https", "example.com");
    let index = fs::read_to_string(&shard).unwrap();
    let year = &index[index.find("\"stored_at\": \"").unwrap() + 14..][..4];
    fs::write(&shard, index.replacen(&format!("\"{year}-"), "\"2999-", 1)).unwrap();

    let out = env.patrol(&["doctor"], "");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    for expected in [
        "problem: for https://github.com, `store` (git's `store`: tokens in plain text in ~/.git-credentials) answers before patrol",
        "fix: git credential-patrol install",
        "problem: git still hands every new credential to `store` in ",
        "fix: git config --global --fixed-value --unset credential.helper store",
        "holds 3 credentials in plain text",
        "fix: git credential-patrol import",
        "the index lists https://example.com (alice), but the keychain has no token for it",
        "fix: git credential-patrol erase https://example.com --user alice",
        "the clock looks wrong",
    ] {
        assert_contains!(stdout, expected, "{expected}\n{stdout}");
    }
    assert_eq!(stdout.matches("still hands").count(), 1, "{stdout}");
    assert!(!stdout.contains("TEST"), "{stdout}");
}

#[test]
fn doctor_gives_the_keychain_fix_when_there_is_no_secret_service() {
    let env = TestEnv::with_keyring(Keyring::Missing);
    let out = env.patrol(&["doctor"], "");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert_contains!(
        stdout,
        "problem: the keychain is not available: no Secret Service"
    );
    assert_contains!(stdout, "fix: on a machine without a desktop");
    assert_contains!(stdout, "patrol.backend keyutils");
}

// Doctor's fixes, run as printed

/// The commands a fix names, as a person would copy them: the fix itself
/// when it starts with `git `, the indented lines after "run:", else the
/// first quoted command.
fn fix_commands(fix: &str, indented: &[&str]) -> Vec<String> {
    if !indented.is_empty() {
        return indented.iter().map(|l| l.trim().to_owned()).collect();
    }
    if let Some(command) = fix.strip_prefix("git ") {
        let end = [" (", "; ", ", or "]
            .iter()
            .filter_map(|sep| command.find(sep))
            .min()
            .unwrap_or(command.len());
        return vec![format!("git {}", &command[..end])];
    }
    let quoted: Vec<&str> = fix.split('`').skip(1).step_by(2).collect();
    quoted
        .into_iter()
        .find(|q| {
            ["read ", "git ", "gnome-keyring-daemon "]
                .iter()
                .any(|p| q.starts_with(p))
        })
        .map(str::to_owned)
        .into_iter()
        .collect()
}

/// Runs doctor, then every fix it prints, until it finds nothing; `by_hand`
/// does what a fix says to do by hand, and returns whether it knew how.
/// A problem whose fix ran must be gone on the next run. Returns each
/// problem seen, once.
fn walk_doctor(env: &TestEnv, by_hand: impl Fn(&str) -> bool) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut fixed: Vec<String> = Vec::new();
    for _ in 0..6 {
        let out = env.patrol(&["doctor"], "");
        let stdout = text(&out.stdout);
        assert!(!stdout.contains("TEST"), "{stdout}");
        if out.status.success() {
            assert_contains!(stdout, "No problems found.");
            return seen;
        }
        let lines: Vec<&str> = stdout.lines().collect();
        let mut ran_any = false;
        let before = std::mem::take(&mut fixed);
        for (at, line) in lines.iter().enumerate() {
            let Some(problem) = line.strip_prefix("problem: ") else {
                continue;
            };
            let fix = lines[at + 1]
                .trim()
                .strip_prefix("fix: ")
                .unwrap_or_else(|| {
                    panic!("a problem without a fix: {problem}\n{stdout}");
                });
            let indented: Vec<&str> = lines[at + 2..]
                .iter()
                .take_while(|l| l.starts_with("      "))
                .copied()
                .collect();
            assert!(
                !before.iter().any(|f| f == problem),
                "its fix did not fix {problem}\n{stdout}"
            );
            if !seen.iter().any(|s| s == problem) {
                seen.push(problem.to_owned());
            }
            fixed.push(problem.to_owned());
            if by_hand(problem) {
                ran_any = true;
                continue;
            }
            let commands = fix_commands(fix, &indented);
            assert!(
                !commands.is_empty(),
                "no command in the fix for {problem}: {fix}"
            );
            for command in commands {
                let mut shell = env.command("bash");
                shell.args(["-c", &command]);
                // `import` exits 1 while other problems keep lines in the
                // file; whether the fix worked is what the next run shows.
                let done = run(shell, b"test\n");
                if command.contains("gnome-keyring-daemon") {
                    env.wait_for_unlocked_login();
                }
                assert_lacks!(text(&done.stderr), "TEST");
                ran_any = true;
            }
        }
        assert!(ran_any, "doctor found problems but no fix ran:\n{stdout}");
    }
    panic!("doctor still finds problems after running every fix six times: {seen:#?}");
}

#[test]
fn every_problem_doctor_reports_is_fixed_by_running_its_fix() {
    // A headless machine after the guide: git's `store` with a plaintext
    // file, gnome-keyring with only its in-memory collection, patrol
    // configured by hand after `store`.
    let mut env = TestEnv::with_keyring(Keyring::SessionOnly);
    env.config("credential.helper", "store");
    env.git(
        &["config", "--global", "--add", "credential.helper", "patrol"],
        "",
    );
    let file = git_credentials(&env);
    write_private(&file, &format!("{THREE}not a credential\n"));
    let by_hand = |problem: &str| {
        if problem.contains("is not a credential git can read") {
            // Done by hand, as the fix says: the line goes.
            let content = fs::read_to_string(&file).unwrap();
            fs::write(&file, content.replace("not a credential\n", "")).unwrap();
            return true;
        }
        false
    };
    let mut seen = walk_doctor(&env, by_hand);

    // Later: an old copy of a token comes back in the file, and the
    // keychain loses another one.
    write_private(&file, "https://alice:ghp_TESTold0000@github.com\n");
    let removed = env
        .command("secret-tool")
        .args([
            "clear",
            "application",
            "git-credential-patrol",
            "username",
            "bob",
        ])
        .output()
        .unwrap();
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    seen.extend(walk_doctor(&env, by_hand));

    // A damaged index: its fix is the next token stored for that host.
    let shard = env.data_dir().join("index/https_github.com.json");
    fs::write(&shard, "{ not json").unwrap();
    seen.extend(walk_doctor(&env, |problem| {
        if problem.contains("is damaged") {
            let out = env.credential(
                "approve",
                &[],
                &format!(
                    "protocol=https\nhost=github.com\nusername=carol@work\npassword={CAROL}\n"
                ),
            );
            assert_contains!(text(&out.stderr), "it was moved to");
            return true;
        }
        by_hand(problem)
    }));

    // And a reboot, which leaves the login keyring locked.
    env.restart_keyring();
    seen.extend(walk_doctor(&env, by_hand));

    for expected in [
        "the keychain would keep tokens only in memory",
        "`store` (git's `store`: tokens in plain text in ~/.git-credentials) answers before patrol",
        "git still hands every new credential to `store`",
        "holds 3 credentials in plain text",
        "is not a credential git can read",
        "holds a token for https://github.com (alice) that differs from the keychain's",
        "the index lists https://gitlab.example.com:8443",
        "GNOME Keyring's login keyring is locked",
        "is damaged",
    ] {
        assert!(
            seen.iter().any(|s| s.contains(expected)),
            "{expected} never came up: {seen:#?}"
        );
    }
    // The fixes lost no token they were not asked to drop: the file's
    // alice won (the fix that uses it ran), carol stayed.
    assert_eq!(
        token(&env, "github.com", Some("alice")).unwrap(),
        "ghp_TESTold0000\n"
    );
    assert_eq!(
        token(&env, "github.com", Some("carol@work")).unwrap(),
        format!("{CAROL}\n")
    );
    assert!(!file.exists());
}

#[test]
fn doctors_fix_for_a_missing_or_locked_keyring_works() {
    // No Secret Service at all: the fix starts one with a login keyring.
    let env = TestEnv::with_keyring(Keyring::Missing);
    assert_ok(&env.patrol(&["install", "--force"], ""));
    let seen = walk_doctor(&env, |_| false);
    assert!(
        seen.iter().any(|s| s.contains("no Secret Service")),
        "{seen:#?}"
    );

    // That login keyring, locked after a restart: the fix unlocks it.
    let mut env = env;
    env.approve("protocol=https\nhost=example.com\nusername=al\npassword=ghp_TESTal0006\n");
    env.restart_keyring();
    let seen = walk_doctor(&env, |_| false);
    assert!(seen.iter().any(|s| s.contains("locked")), "{seen:#?}");
    assert_eq!(
        token(&env, "example.com", Some("al")).unwrap(),
        "ghp_TESTal0006\n"
    );
}
