//! `import` from real plaintext files into the private Secret Service:
//! every credential moved or kept with its line number, dry runs, named
//! and XDG files, files it cannot or must not read, no keychain, an import
//! killed at random moments; and the file edited the way git's
//! credential-store edits it (through a symlink, hard links refused, git's
//! lock, git writing at the same time).

use std::fs;
use std::os::unix::fs::FileTypeExt;

use super::{assert_ok, mode};
use crate::support::env::{BIN, TestEnv};
use crate::support::fixtures::{
    ALICE, BOB, CAROL, THREE, git_credentials, token, whereabouts, write_private,
};
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, run, text};

#[test]
fn import_moves_every_credential_into_the_keychain_and_deletes_the_file() {
    let env = TestEnv::new();
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let out = env.patrol(&["import"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert_contains!(stdout, "Imported https://github.com (alice)");
    assert_contains!(stdout, "Deleted");
    assert!(!file.exists());
    assert!(!stdout.contains("TEST") && !text(&out.stderr).contains("TEST"));

    assert_eq!(
        token(&env, "github.com", Some("alice")).unwrap(),
        format!("{ALICE}\n")
    );
    assert_eq!(
        token(&env, "github.com", Some("carol@work")).unwrap(),
        format!("{CAROL}\n")
    );
    assert_eq!(
        token(&env, "https://gitlab.example.com:8443/group/repo.git", None).unwrap(),
        format!("{BOB}\n")
    );
    // The index knows them, without a secret.
    let index = env.index().to_string();
    assert_contains!(index, "github-classic");
    assert_contains!(index, "gitlab-personal");
    assert!(!index.contains("TEST"));
    // And git gets them through patrol, as if git's `store` had stored them.
    let out = env.credential(
        "fill",
        &[],
        "protocol=https\nhost=github.com\nusername=alice\n",
    );
    assert_contains!(text(&out.stdout), &format!("password={ALICE}"));

    // A second run finds nothing to do.
    let again = env.patrol(&["import"], "");
    assert_ok(&again);
    assert_contains!(text(&again.stdout), "No plaintext credential file found");
}

#[test]
fn import_keeps_every_line_it_cannot_import_and_reports_it_by_line_number() {
    let env = TestEnv::new();
    // The keychain already has a newer token for alice.
    env.approve("protocol=https\nhost=github.com\nusername=alice\npassword=ghp_TESTnewer9999\n");
    let file = git_credentials(&env);
    let content = "https://alice:ghp_TESTalice0001@github.com\n\
                   not a url ghp_TESTleak1111\n\
                   https://dave@github.com\n\
                   \n\
                   https://bob:glpat-TESTbob0002@gitlab.com\n\
                   https://eve:ghp_TESTleak2222%ff@github.com\n";
    write_private(&file, content);
    let out = env.patrol(&["import"], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let shown = file.display().to_string();
    for expected in [
        format!("{shown}:1: the keychain already holds a different token"),
        format!("{shown}:2: not a URL"),
        format!("{shown}:3: the URL has no password"),
        format!("{shown}:6: a part of the URL decodes to invalid UTF-8"),
    ] {
        assert_contains!(stderr, &expected, "{expected}\n{stderr}");
    }
    assert!(!stderr.contains("TEST"), "{stderr}");
    assert!(!text(&out.stdout).contains("TEST"));
    // Exactly bob's line is gone; the rest is as it was, mode 0600.
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        content.replace("https://bob:glpat-TESTbob0002@gitlab.com\n", "")
    );
    assert_eq!(mode(&file), 0o600);
    assert_eq!(token(&env, "gitlab.com", None).unwrap(), format!("{BOB}\n"));
    assert_eq!(
        token(&env, "github.com", Some("alice")).unwrap(),
        "ghp_TESTnewer9999\n"
    );
}

#[test]
fn import_dry_run_changes_nothing() {
    let env = TestEnv::new();
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let out = env.patrol(&["import", "--dry-run"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert_contains!(stdout, "Would import https://github.com (alice)");
    assert_contains!(stdout, "Would delete");
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);
    assert!(!env.index_dir().exists());
    assert_eq!(
        token(&env, "github.com", Some("alice"))
            .unwrap_err()
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn import_keep_plaintext_leaves_the_file_and_reads_named_and_xdg_files() {
    let env = TestEnv::new();
    let xdg = env.home().join(".config/git/credentials");
    write_private(&xdg, "https://alice:ghp_TESTalice0001@github.com\n");
    let named = env.home().join("old-credentials");
    write_private(&named, "https://bob:glpat-TESTbob0002@gitlab.com\n");

    let out = env.patrol(&["import", "--keep-plaintext"], "");
    assert_ok(&out);
    assert_contains!(text(&out.stdout), "unchanged (--keep-plaintext)");
    assert!(xdg.exists());
    assert_eq!(
        token(&env, "github.com", None).unwrap(),
        format!("{ALICE}\n")
    );

    let out = env.patrol(&["import", named.to_str().unwrap()], "");
    assert_ok(&out);
    assert!(!named.exists());
    assert!(xdg.exists(), "a named file replaces the defaults");
    assert_eq!(token(&env, "gitlab.com", None).unwrap(), format!("{BOB}\n"));
}

#[test]
fn import_reports_a_file_it_cannot_read_and_one_that_is_missing() {
    let env = TestEnv::new();
    let directory = env.home().join("a-directory");
    fs::create_dir_all(&directory).unwrap();
    let missing = env.home().join("missing");
    let good = env.home().join("good");
    write_private(&good, "https://alice:ghp_TESTalice0001@github.com\n");
    let out = env.patrol(
        &[
            "import",
            directory.to_str().unwrap(),
            missing.to_str().unwrap(),
            good.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, &format!("cannot read {}", directory.display()));
    assert_contains!(stderr, &format!("{} does not exist", missing.display()));
    assert!(!good.exists(), "the readable file is still imported");
}

#[test]
fn a_fifo_a_loop_of_links_or_an_oversized_file_is_refused_without_a_hang_or_a_loss() {
    let env = TestEnv::new();
    let file = git_credentials(&env);
    let started = std::time::Instant::now();
    // A FIFO where git's file is, and a link to one: opening either would
    // wait for a writer that never comes.
    let fifo = env.home().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let looped = env.home().join("loop-a");
    std::os::unix::fs::symlink(env.home().join("loop-b"), &looped).unwrap();
    std::os::unix::fs::symlink(&looped, env.home().join("loop-b")).unwrap();
    for (target, why) in [
        (&fifo, "it is not a regular file"),
        (&looped, "symbolic links"),
    ] {
        let _ = fs::remove_file(&file);
        if target == &fifo {
            fs::rename(&fifo, &file).unwrap();
        } else {
            std::os::unix::fs::symlink(target, &file).unwrap();
        }
        for args in [&["import"][..], &["doctor"], &["install"]] {
            let out = env.patrol(args, "");
            let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
            if args != ["install"] {
                assert_eq!(out.status.code(), Some(1), "{args:?}: {shown}");
                assert_contains!(
                    shown,
                    &format!("cannot read {}", file.display()),
                    "{args:?}: {shown}"
                );
                assert_contains!(shown, why, "{args:?}: {shown}");
            }
        }
        if target == &fifo {
            assert!(fs::symlink_metadata(&file).unwrap().file_type().is_fifo());
            fs::rename(&file, &fifo).unwrap();
        }
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );

    // A file over 16 MB: refused whole, byte for byte as it was.
    let _ = fs::remove_file(&file);
    let mut big = THREE.to_owned();
    big.push_str(&"\n".repeat(17 << 20));
    write_private(&file, &big);
    let out = env.patrol(&["import"], "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains!(stderr, "larger than 16 MB");
    assert!(
        fs::read_to_string(&file).unwrap() == big,
        "the file changed"
    );
    assert!(token(&env, "github.com", Some("alice")).is_err());
}

#[test]
fn import_without_a_keychain_loses_nothing() {
    let env = TestEnv::with_keyring(Keyring::Missing);
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let out = env.patrol(&["import"], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "no Secret Service");
    assert_contains!(stderr, ":1:");
    assert!(!stderr.contains("TEST"), "{stderr}");
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);
}

#[test]
fn an_import_killed_at_random_moments_loses_nothing() {
    let env = TestEnv::new();
    let file = git_credentials(&env);
    let many: String = (0..12)
        .map(|i| format!("https://user{i}:ghp_TESTmany{i:04}@host{i}.example.com\n"))
        .collect();
    write_private(&file, &many);
    // SIGKILL after a growing delay, until an import runs to its end.
    for delay_ms in [5, 30, 60, 100, 150, 250, 400, 600, 1000, 2000] {
        let mut child = env
            .command(BIN)
            .arg("import")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let status = child.wait().unwrap();
        // Killed while rewriting: the person removes the lock it names.
        let _ = fs::remove_file(env.home().join(".git-credentials.lock"));
        // What each credential's state is, exactly: a failure of `token`
        // is reported as what it is, not counted as a loss.
        let left = fs::read_to_string(&file).unwrap_or_default();
        let mut found = Vec::new();
        let mut lost = false;
        for i in 0..12 {
            let secret = format!("ghp_TESTmany{i:04}");
            let in_file = left.contains(&format!("{secret}@"));
            let url = format!("host{i}.example.com");
            let (gone, said) = whereabouts(&env, &url, &format!("user{i}"), &secret, in_file);
            lost |= gone;
            found.push(said);
        }
        assert!(
            !lost,
            "killed after {delay_ms} ms ({status}):\n{}",
            found.join("\n")
        );
        if status.success() {
            break;
        }
    }
    assert_ok(&env.patrol(&["import"], ""));
    assert!(!file.exists());
    for i in 0..12 {
        assert!(token(&env, &format!("host{i}.example.com"), None).is_ok());
    }
}

#[test]
fn import_warns_when_git_would_write_plaintext_again() {
    let env = TestEnv::new();
    env.config("credential.helper", "store");
    write_private(
        &git_credentials(&env),
        "https://alice:ghp_TESTalice0001@github.com\n",
    );
    let out = env.patrol(&["import"], "");
    assert_ok(&out);
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "git still runs the `store` helper");
    assert_contains!(stderr, "git credential-patrol install");
}

// The file edited the way git's credential-store does

#[cfg(unix)]
#[test]
fn import_through_a_symlink_edits_the_dotfiles_copy_and_names_both() {
    let env = TestEnv::new();
    let dotfiles = env.home().join("dotfiles");
    let real = dotfiles.join("git-credentials");
    let link = git_credentials(&env);
    write_private(&real, &format!("{THREE}junk\n"));
    std::os::unix::fs::symlink("dotfiles/git-credentials", &link).unwrap();

    // Some lines stay: the real file is rewritten, the link is kept.
    let out = env.patrol(&["import"], "");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert_contains!(
        stdout,
        &format!(
            "Removed the imported lines from {} (the file the link {} points to, which stays); 1 line is left in it.",
            real.display(),
            link.display()
        )
    );
    assert_eq!(fs::read_to_string(&real).unwrap(), "junk\n");
    assert_eq!(mode(&real), 0o600);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        token(&env, "github.com", Some("alice")).unwrap(),
        format!("{ALICE}\n")
    );

    // Nothing left: the file and the link go together, and both are named.
    write_private(&real, "https://dave:ghp_TESTdave0004@example.com\n");
    let out = env.patrol(&["import"], "");
    assert_ok(&out);
    assert_contains!(
        text(&out.stdout),
        &format!(
            "Deleted {} and the link {} to it",
            real.display(),
            link.display()
        )
    );
    assert!(!real.exists());
    assert!(
        fs::symlink_metadata(&link).is_err(),
        "a dangling link was left"
    );
    assert!(dotfiles.exists());
}

#[cfg(unix)]
#[test]
fn import_refuses_a_file_with_several_hard_links_and_names_it() {
    let env = TestEnv::new();
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let other = env.home().join("backup-credentials");
    fs::hard_link(&file, &other).unwrap();
    let out = env.patrol(&["import"], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, &format!("{} has 2 hard links", file.display()));
    assert_contains!(stderr, "-samefile");
    assert!(!text(&out.stdout).contains("Deleted") && !text(&out.stdout).contains("Removed"));
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);
    assert_eq!(fs::read_to_string(&other).unwrap(), THREE);
    assert!(
        token(&env, "github.com", Some("alice")).is_err(),
        "nothing is stored"
    );
}

#[test]
fn import_waits_for_gits_lock_and_gives_up_changing_nothing() {
    let env = TestEnv::new();
    env.config("credentialStore.lockTimeoutMS", "300");
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let lock = env.home().join(".git-credentials.lock");
    fs::write(&lock, "").unwrap();
    let started = std::time::Instant::now();
    let out = env.patrol(&["import"], "");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_contains!(
        stderr,
        ".git-credentials.lock exists: git (or another program) is writing"
    );
    assert_contains!(stderr, "left the file unchanged");
    assert_lacks!(text(&out.stdout), "Imported");
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);
    assert!(lock.exists(), "someone else's lock was removed");
    assert!(
        token(&env, "github.com", Some("alice")).is_err(),
        "nothing is stored"
    );

    // A lock released within the wait is waited for.
    env.config("credentialStore.lockTimeoutMS", "5000");
    let release = {
        let lock = lock.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            fs::remove_file(lock).unwrap();
        })
    };
    let out = env.patrol(&["import"], "");
    release.join().unwrap();
    assert_ok(&out);
    assert!(!file.exists());
}

#[test]
fn import_and_gits_own_store_writing_at_once_lose_no_line() {
    let env = TestEnv::new();
    let file = git_credentials(&env);
    let first: String = (0..5)
        .map(|i| format!("https://user{i}:ghp_TESTfirst{i:03}@first{i}.example.com\n"))
        .collect();
    write_private(&file, &first);
    let writer = {
        let mut command = env.command("sh");
        // Thirty credentials through git's own store, spread over the
        // first imports.
        command.args([
            "-c",
            "i=0; while [ $i -lt 30 ]; do \
             printf 'protocol=https\\nhost=w%s.example.com\\nusername=u%s\\npassword=ghp_TESTwrite%03d\\n' $i $i $i \
             | git credential-store store || exit 1; i=$((i+1)); sleep 0.05; done",
        ]);
        std::thread::spawn(move || run(command, b""))
    };
    let mut said = Vec::new();
    for _ in 0..6 {
        let out = env.patrol(&["import"], "");
        said.push(text(&out.stdout));
        assert!(!text(&out.stderr).contains("TEST"));
    }
    let written = writer.join().unwrap();
    assert_ok(&written);

    let left = fs::read_to_string(&file).unwrap_or_default();
    let mut all: Vec<(String, String, String)> = (0..5)
        .map(|i| {
            (
                format!("first{i}.example.com"),
                format!("user{i}"),
                format!("ghp_TESTfirst{i:03}"),
            )
        })
        .collect();
    all.extend((0..30).map(|i| {
        (
            format!("w{i}.example.com"),
            format!("u{i}"),
            format!("ghp_TESTwrite{i:03}"),
        )
    }));
    for (host, user, secret) in &all {
        let in_keychain = token(&env, host, Some(user)).is_ok_and(|t| t == format!("{secret}\n"));
        assert!(
            in_keychain || left.contains(&format!("{secret}@")),
            "{user}@{host} is neither in the keychain nor in the file"
        );
    }
    // Every credential a run said it imported is in the keychain.
    for line in said.iter().flat_map(|s| s.lines()) {
        if let Some(rest) = line.strip_prefix("Imported https://") {
            let (host, user) = rest.split_once(" (").unwrap();
            let user = user.split(')').next().unwrap();
            assert!(token(&env, host, Some(user)).is_ok(), "{line}");
        }
    }
    // A last run takes what git wrote after the others.
    assert_ok(&env.patrol(&["import"], ""));
    assert!(!file.exists());
    for (host, user, secret) in &all {
        assert_eq!(
            token(&env, host, Some(user)).unwrap(),
            format!("{secret}\n"),
            "{user}@{host}"
        );
    }
}
