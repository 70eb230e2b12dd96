//! `install` and `uninstall` against real git configuration: inherited
//! helpers reset and restored, each scope (`--system`, `--local`), the
//! path written, helpers for one URL, a configuration broken by hand, no
//! Secret Service, and the offer to import at a terminal.

use std::fs;
use std::path::PathBuf;

use super::{assert_ok, fill_through_git, global_config, global_helpers};
use crate::support::env::{BIN, TestEnv};
use crate::support::fixtures::{ALICE, THREE, git_credentials, token, write_private};
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, run, text};

#[test]
fn install_resets_inherited_helpers_and_uninstall_restores_them() {
    let env = TestEnv::new();
    env.config("credential.helper", "store");
    let out = env.patrol(&["install"], "");
    assert_ok(&out);
    assert_eq!(global_helpers(&env), ["store", "", "patrol"]);
    let stdout = text(&out.stdout);
    assert_contains!(stdout, "resets the list");
    assert_contains!(stdout, "`store` (git's `store`");
    assert_contains!(stdout, "skipped from now on");

    // Git now reaches patrol first: a stored token comes back from it, and
    // the plaintext file is not written.
    env.git(
        &["credential", "approve"],
        "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0001\n",
    );
    assert_contains!(
        fill_through_git(&env, "example.com"),
        "password=ghp_TESTalice0001"
    );
    assert!(!git_credentials(&env).exists());

    // Idempotent.
    let again = env.patrol(&["install"], "");
    assert_ok(&again);
    assert_contains!(text(&again.stdout), "nothing to change");
    assert_eq!(global_helpers(&env), ["store", "", "patrol"]);

    let out = env.patrol(&["uninstall"], "");
    assert_ok(&out);
    assert_eq!(global_helpers(&env), ["store"]);
    assert!(!env.index_path().with_file_name("installed.json").exists());
    let again = env.patrol(&["uninstall"], "");
    assert_ok(&again);
    assert_contains!(text(&again.stdout), "nothing that is still recorded");
    assert_eq!(global_helpers(&env), ["store"]);
}

#[test]
fn install_into_an_empty_configuration_and_back_leaves_nothing() {
    let env = TestEnv::new();
    assert_ok(&env.patrol(&["install", "--global"], ""));
    assert_eq!(global_helpers(&env), ["", "patrol"]);
    assert_ok(&env.patrol(&["uninstall"], ""));
    assert!(global_helpers(&env).is_empty());
}

#[test]
fn install_system_writes_only_the_system_configuration_and_uninstall_restores_it() {
    let mut env = TestEnv::new();
    let system = env.use_system_config();
    fs::write(&system, "[credential]\n\thelper = store\n").unwrap();
    let system_helpers = |env: &TestEnv| {
        let out = env.git(
            &["config", "--system", "-z", "--get-all", "credential.helper"],
            "",
        );
        text(&out.stdout)
            .split_terminator('\0')
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let out = env.patrol(&["install", "--system"], "");
    assert_ok(&out);
    assert_eq!(system_helpers(&env), ["store", "", "patrol"]);
    assert!(
        global_helpers(&env).is_empty(),
        "the global file is untouched"
    );
    assert!(!env.home().join(".gitconfig").exists());

    // Git reaches patrol through the system file, not `store`.
    env.git(
        &["credential", "approve"],
        "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0001\n",
    );
    assert_contains!(
        fill_through_git(&env, "example.com"),
        "password=ghp_TESTalice0001"
    );
    assert!(!git_credentials(&env).exists());

    assert_ok(&env.patrol(&["uninstall"], ""));
    assert_eq!(system_helpers(&env), ["store"]);
    assert_eq!(
        fs::read_to_string(&system).unwrap(),
        "[credential]\n\thelper = store\n"
    );
}

#[test]
fn install_local_writes_only_the_repository() {
    let env = TestEnv::new();
    assert_ok(&env.git(&["init", "-q", "repo"], ""));
    let mut command = env.command(BIN);
    command
        .args(["install", "--local"])
        .current_dir(env.home().join("repo"));
    assert_ok(&run(command, b""));
    assert!(global_helpers(&env).is_empty());
    let local = fs::read_to_string(env.home().join("repo/.git/config")).unwrap();
    assert_contains!(local, "helper = patrol");

    // Uninstall finds the repository from its record, wherever it runs.
    assert_ok(&env.patrol(&["uninstall"], ""));
    let local = fs::read_to_string(env.home().join("repo/.git/config")).unwrap();
    assert!(!local.contains("helper"), "{local}");
}

#[test]
fn install_writes_an_absolute_path_when_patrol_is_not_on_path() {
    let env = TestEnv::new();
    let mut command = env.command(BIN);
    let system_path = std::env::var_os("PATH").unwrap();
    let without_us: Vec<PathBuf> = std::env::split_paths(&system_path)
        .filter(|dir| !dir.join("git-credential-patrol").exists())
        .collect();
    command
        .arg("install")
        .env("PATH", std::env::join_paths(without_us).unwrap());
    let out = run(command, b"");
    assert_ok(&out);
    assert_contains!(text(&out.stderr), "not on PATH");
    let bin = fs::canonicalize(BIN).unwrap();
    assert_eq!(global_helpers(&env), ["", bin.to_str().unwrap()]);
    // Git runs it by that path.
    env.git(
        &["credential", "approve"],
        "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0001\n",
    );
    assert_contains!(
        fill_through_git(&env, "example.com"),
        "password=ghp_TESTalice0001"
    );
    assert_ok(&env.patrol(&["uninstall"], ""));
    assert!(global_helpers(&env).is_empty());
}

#[test]
fn url_specific_helpers_are_reported_with_the_commands_that_hand_the_url_over() {
    let env = TestEnv::new();
    // The usual layout: the guide's `store` first, then what `gh auth
    // setup-git` and git-credential-oauth's guide add for one host each.
    env.config("credential.helper", "store");
    env.git(
        &[
            "config",
            "--global",
            "--add",
            "credential.https://github.com.helper",
            "",
        ],
        "",
    );
    env.git(
        &[
            "config",
            "--global",
            "--add",
            "credential.https://github.com.helper",
            "!gh auth git-credential",
        ],
        "",
    );
    env.git(
        &[
            "config",
            "--global",
            "--add",
            "credential.https://gitlab.com.helper",
            "oauth",
        ],
        "",
    );
    let out = env.patrol(&["install"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert_contains!(stdout, "the GitHub CLI");
    assert_contains!(stdout, "git never asks patrol there");
    assert_contains!(
        stdout,
        "git config --global --add credential.https://github.com.helper ''"
    );
    assert_contains!(
        stdout,
        "git config --global --add credential.https://github.com.helper patrol"
    );
    assert_contains!(stdout, "(git-credential-oauth) for https://gitlab.com");
    assert_contains!(stdout, "asked after patrol");
    // install changed none of them.
    let github = env.git(
        &[
            "config",
            "--global",
            "--get-all",
            "credential.https://github.com.helper",
        ],
        "",
    );
    assert_eq!(text(&github.stdout), "\n!gh auth git-credential\n");

    // doctor sees the same, and the printed commands fix it.
    let doctor = env.patrol(&["doctor"], "");
    assert_eq!(doctor.status.code(), Some(1), "{}", text(&doctor.stdout));
    assert_contains!(
        text(&doctor.stdout),
        "git never asks patrol for https://github.com"
    );
    for value in ["", "patrol"] {
        env.git(
            &[
                "config",
                "--global",
                "--add",
                "credential.https://github.com.helper",
                value,
            ],
            "",
        );
    }
    let doctor = env.patrol(&["doctor"], "");
    assert_ok(&doctor);
    assert_contains!(
        text(&doctor.stdout),
        "ok: git asks patrol first for https://github.com"
    );
}

#[test]
fn uninstall_leaves_a_value_it_cannot_tell_apart_and_says_what_to_do() {
    let env = TestEnv::new();
    assert_ok(&env.patrol(&["install"], ""));
    // The person adds their own patrol entry by hand afterwards.
    env.git(
        &["config", "--global", "--add", "credential.helper", "patrol"],
        "",
    );
    let out = env.patrol(&["uninstall"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_contains!(text(&out.stdout), "occurs 2 times");
    assert_eq!(global_helpers(&env), ["", "patrol", "patrol"]);
}

#[test]
fn two_installs_with_different_paths_are_undone_together() {
    let env = TestEnv::new();
    env.config("credential.helper", "cache");
    let mut command = env.command(BIN);
    command
        .arg("install")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin");
    assert_ok(&run(command, b""));
    assert_ok(&env.patrol(&["install"], ""));
    let bin = fs::canonicalize(BIN).unwrap();
    assert_eq!(
        global_helpers(&env),
        ["cache", "", bin.to_str().unwrap(), "", "patrol"]
    );
    assert_ok(&env.patrol(&["uninstall"], ""));
    assert_eq!(global_helpers(&env), ["cache"]);
}

#[test]
fn a_failed_install_leaves_configuration_and_record_untouched() {
    let env = TestEnv::new();
    let mut command = env.command(BIN);
    command.arg("install").env(
        "GIT_CONFIG_GLOBAL",
        env.home().join("no-such-dir/.gitconfig"),
    );
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1));
    assert_contains!(
        text(&out.stderr),
        "git config --global --add credential.helper"
    );
    assert!(!env.home().join("no-such-dir").exists());
    assert!(!env.index_path().with_file_name("installed.json").exists());
}

#[test]
fn a_configuration_broken_by_hand_is_reported_by_file_and_line_and_left_alone() {
    let env = TestEnv::new();
    let broken = "[credential]\n\thelper = store\n[credential \"https://github.com\"\n";
    fs::write(env.home().join(".gitconfig"), broken).unwrap();
    let out = env.patrol(&["install"], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "bad config line 4");
    assert_contains!(stderr, ".gitconfig");
    assert_eq!(
        fs::read_to_string(env.home().join(".gitconfig")).unwrap(),
        broken
    );
    assert!(!env.index_path().with_file_name("installed.json").exists());

    let out = env.patrol(&["doctor"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_contains!(text(&out.stdout), "git's configuration cannot be read");
    assert_contains!(text(&out.stdout), "bad config line 4");
}

#[test]
fn install_without_a_secret_service_changes_nothing_unless_forced() {
    let env = TestEnv::with_keyring(Keyring::Missing);
    env.config("credential.helper", "store");
    write_private(&git_credentials(&env), THREE);
    let before = global_config(&env);
    let out = env.patrol(&["install"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(global_config(&env), before, "git's configuration changed");
    assert!(!env.index_path().with_file_name("installed.json").exists());
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "no Secret Service");
    assert_contains!(stderr, "configuration is unchanged");
    assert_contains!(stderr, "--replace --unlock");
    assert_contains!(stderr, "install --force");
    // git still gets the token from `store`, as before.
    assert_contains!(
        fill_through_git(&env, "github.com"),
        &format!("password={ALICE}")
    );

    // Forced, it configures git and says what that costs.
    let out = env.patrol(&["install", "--force"], "");
    assert_ok(&out);
    assert_eq!(global_helpers(&env), ["store", "", "patrol"]);
    let stdout = text(&out.stdout);
    assert_contains!(stdout, "holds 3 credentials in plain text");
    assert_contains!(stdout, "    git credential-patrol import");
    assert_lacks!(stdout, "Import them now", "no question without a terminal");
    assert_contains!(text(&out.stderr), "configuring git anyway (--force)");
    assert!(!stdout.contains("ghp_TEST") && !text(&out.stderr).contains("ghp_TEST"));
}

#[test]
fn install_with_no_bus_at_all_leaves_the_configuration_byte_identical() {
    let env = TestEnv::with_keyring(Keyring::NoBus);
    fs::write(
        env.home().join(".gitconfig"),
        "# mine\n[credential]\n\thelper = store\n[user]\n\tname = A\n",
    )
    .unwrap();
    let before = global_config(&env);
    for args in [
        &["install"][..],
        &["install", "--global"],
        &["install", "--system"],
    ] {
        let out = env.patrol(args, "");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(global_config(&env), before, "{args:?}");
        let stderr = text(&out.stderr);
        assert_contains!(stderr, "no D-Bus session bus");
        assert_contains!(stderr, "dbus-user-session");
    }
    assert!(!env.index_path().with_file_name("installed.json").exists());
}

#[test]
fn install_at_a_terminal_offers_the_import_and_does_it_on_yes() {
    let env = TestEnv::new();
    write_private(&git_credentials(&env), THREE);
    // `script` gives install a terminal, which is what marks a person.
    let mut command = env.command("script");
    command.args(["-qec", &format!("{BIN} install"), "/dev/null"]);
    let out = run(command, b"y\n");
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert_contains!(shown, "Import them now? [y/N]");
    assert_contains!(shown, "Imported https://github.com (alice)");
    assert!(!git_credentials(&env).exists());
    assert_eq!(
        token(&env, "github.com", Some("alice")).unwrap(),
        format!("{ALICE}\n")
    );
}
