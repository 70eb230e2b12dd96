//! `uninstall` by scope, with a local and a global install side by side,
//! and what comes back after an import: git prompts again, and the file
//! can be restored.

use std::fs;
use std::path::Path;
use std::process::Output;

use super::{assert_ok, global_helpers, mode};
use crate::support::env::{BIN, TestEnv};
use crate::support::fixtures::{ALICE, BOB, CAROL, THREE, git_credentials, write_private};
use crate::support::{assert_contains, run, text};

fn patrol_in(env: &TestEnv, dir: &Path, args: &[&str]) -> Output {
    let mut command = env.command(BIN);
    command.args(args).current_dir(dir);
    run(command, b"")
}

fn local_helpers(env: &TestEnv) -> Vec<String> {
    let out = env.git(
        &[
            "config",
            "--file",
            "repo/.git/config",
            "-z",
            "--get-all",
            "credential.helper",
        ],
        "",
    );
    text(&out.stdout)
        .split_terminator('\0')
        .map(str::to_owned)
        .collect()
}

#[test]
fn uninstall_undoes_one_scope_with_a_local_and_a_global_install_side_by_side() {
    let env = TestEnv::new();
    assert_ok(&env.git(&["init", "-q", "repo"], ""));
    let repo = env.home().join("repo");
    let config = repo.join(".git/config");
    assert_ok(&env.patrol(&["install"], ""));
    assert_ok(&patrol_in(&env, &repo, &["install", "--local"]));
    assert_eq!(global_helpers(&env), ["", "patrol"]);
    assert_eq!(local_helpers(&env), ["", "patrol"]);

    // No flag and two installs: which one is for the person to say.
    let out = patrol_in(&env, &repo, &["uninstall"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "the global configuration");
    assert_contains!(stderr, &config.display().to_string());
    assert_contains!(stderr, "--local");
    assert_eq!(global_helpers(&env), ["", "patrol"]);
    assert_eq!(local_helpers(&env), ["", "patrol"]);

    // Inside the repository, --local takes out the local install only.
    let out = patrol_in(&env, &repo, &["uninstall", "--local"]);
    assert_ok(&out);
    assert_eq!(global_helpers(&env), ["", "patrol"]);
    assert!(local_helpers(&env).is_empty());
    assert_contains!(text(&out.stdout), "patrol is still configured there");

    // --global from inside the repository leaves the local one.
    assert_ok(&patrol_in(&env, &repo, &["install", "--local"]));
    assert_ok(&patrol_in(&env, &repo, &["uninstall", "--global"]));
    assert!(global_helpers(&env).is_empty());
    assert_eq!(local_helpers(&env), ["", "patrol"]);

    // With one install left, no flag undoes it and says which.
    let out = env.patrol(&["uninstall"], "");
    assert_ok(&out);
    assert_contains!(
        text(&out.stdout),
        &format!(
            "Undoing what install added to {}, the only configuration it was run for",
            fs::canonicalize(&config).unwrap().display()
        )
    );
    assert!(local_helpers(&env).is_empty());

    // --file names a repository's configuration from anywhere.
    assert_ok(&patrol_in(&env, &repo, &["install", "--local"]));
    assert_ok(&env.patrol(&["install"], ""));
    let out = env.patrol(&["uninstall", "--file", config.to_str().unwrap()], "");
    assert_ok(&out);
    assert!(local_helpers(&env).is_empty());
    assert_eq!(global_helpers(&env), ["", "patrol"]);

    // A scope install never wrote to: nothing to do, and said so.
    let out = env.patrol(&["uninstall", "--system"], "");
    assert_ok(&out);
    assert_contains!(
        text(&out.stdout),
        "In the system configuration, install added nothing that is still recorded"
    );
    assert_eq!(global_helpers(&env), ["", "patrol"]);
}

#[test]
fn uninstall_after_import_says_git_prompts_again_and_can_restore_the_file() {
    let env = TestEnv::new();
    env.config("credential.helper", "store");
    let file = git_credentials(&env);
    write_private(&file, THREE);
    assert_ok(&env.patrol(&["install"], ""));
    assert_ok(&env.patrol(&["import"], ""));
    assert!(!file.exists());

    let out = env.patrol(&["uninstall"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert_contains!(stdout, "git now asks `store`");
    assert_contains!(
        stdout,
        "holds no token: at the next push git asks for yours"
    );
    assert_contains!(stdout, "in plain text");
    assert_contains!(
        stdout,
        "git credential-patrol uninstall --restore-plaintext"
    );
    assert_eq!(global_helpers(&env), ["store"]);
    assert!(!file.exists());

    let out = env.patrol(&["uninstall", "--restore-plaintext"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert_contains!(stdout, "Wrote 3 tokens to");
    assert!(!stdout.contains("holds no token"), "{stdout}");
    assert!(!stdout.contains("TEST") && !text(&out.stderr).contains("TEST"));
    assert_eq!(mode(&file), 0o600);
    // git's own `store`, alone now, gives each token back.
    for (request, secret) in [
        ("host=github.com\nusername=alice", ALICE),
        ("host=github.com\nusername=carol@work", CAROL),
        (
            "host=gitlab.example.com:8443\npath=group/repo.git\nusername=bob",
            BOB,
        ),
    ] {
        let out = env.git(
            &["-c", "credential.useHttpPath=true", "credential", "fill"],
            &format!("protocol=https\n{request}\n"),
        );
        assert_contains!(
            text(&out.stdout),
            &format!("password={secret}\n"),
            "{request}: {}",
            text(&out.stderr)
        );
    }
}
