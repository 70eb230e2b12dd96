//! Adoption: `install` and `uninstall` against real git configuration,
//! `import` from real plaintext files into the private Secret Service
//! (crashes included), `token` for scripts, and `doctor`.

use std::fs;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::env::{BIN, TestEnv};
use crate::support::keyring::Keyring;
use crate::support::{report_branch, run, text};

pub(crate) const ALICE: &str = "ghp_TESTalice0001";
pub(crate) const BOB: &str = "glpat-TESTbob0002";
pub(crate) const CAROL: &str = "ghp_TESTcarol/0003";

/// Three credentials as git's `store` writes them: percent-encoded, one
/// with a port and a path.
pub(crate) const THREE: &str = "https://alice:ghp_TESTalice0001@github.com\n\
                     https://bob:glpat-TESTbob0002@gitlab.example.com:8443/group/repo.git\n\
                     https://carol%40work:ghp_TESTcarol%2F0003@github.com\n";

pub(crate) fn write_private(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    set_mode(path, 0o600);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

pub(crate) fn git_credentials(env: &TestEnv) -> PathBuf {
    env.home().join(".git-credentials")
}

/// The values of `credential.helper` in the global file, in order.
fn global_helpers(env: &TestEnv) -> Vec<String> {
    let out = env.git(
        &["config", "--global", "-z", "--get-all", "credential.helper"],
        "",
    );
    text(&out.stdout)
        .split_terminator('\0')
        .map(str::to_owned)
        .collect()
}

/// `token URL [--user USER]`: the secret, or `None` with the exit code.
pub(crate) fn token(env: &TestEnv, url: &str, user: Option<&str>) -> Result<String, Output> {
    let mut args = vec!["token", url];
    if let Some(user) = user {
        args.extend(["--user", user]);
    }
    let out = env.patrol(&args, "");
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(out)
    }
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Asks git itself, through the configuration `install` wrote.
fn fill_through_git(env: &TestEnv, host: &str) -> String {
    let out = env.git(
        &["credential", "fill"],
        &format!("protocol=https\nhost={host}\n"),
    );
    text(&out.stdout)
}

// install and uninstall

#[test]
fn install_resets_inherited_helpers_and_uninstall_restores_them() {
    let env = TestEnv::new();
    env.config("credential.helper", "store");
    let out = env.patrol(&["install"], "");
    assert_ok(&out);
    assert_eq!(global_helpers(&env), ["store", "", "patrol"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("resets the list"), "{stdout}");
    assert!(
        stdout.contains("`store` (git's `store`") && stdout.contains("skipped from now on"),
        "{stdout}"
    );

    // Git now reaches patrol first: a stored token comes back from it, and
    // the plaintext file is not written.
    env.git(
        &["credential", "approve"],
        "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0001\n",
    );
    assert!(fill_through_git(&env, "example.com").contains("password=ghp_TESTalice0001"));
    assert!(!git_credentials(&env).exists());

    // Idempotent.
    let again = env.patrol(&["install"], "");
    assert_ok(&again);
    assert!(text(&again.stdout).contains("nothing to change"));
    assert_eq!(global_helpers(&env), ["store", "", "patrol"]);

    let out = env.patrol(&["uninstall"], "");
    assert_ok(&out);
    assert_eq!(global_helpers(&env), ["store"]);
    assert!(!env.index_path().with_file_name("installed.json").exists());
    let again = env.patrol(&["uninstall"], "");
    assert_ok(&again);
    assert!(text(&again.stdout).contains("nothing that is still recorded"));
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
    assert!(fill_through_git(&env, "example.com").contains("password=ghp_TESTalice0001"));
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
    assert!(local.contains("helper = patrol"), "{local}");

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
    assert!(text(&out.stderr).contains("not on PATH"));
    let bin = fs::canonicalize(BIN).unwrap();
    assert_eq!(global_helpers(&env), ["", bin.to_str().unwrap()]);
    // Git runs it by that path.
    env.git(
        &["credential", "approve"],
        "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0001\n",
    );
    assert!(fill_through_git(&env, "example.com").contains("password=ghp_TESTalice0001"));
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
    assert!(
        stdout.contains("the GitHub CLI") && stdout.contains("git never asks patrol there"),
        "{stdout}"
    );
    assert!(
        stdout.contains("git config --global --add credential.https://github.com.helper ''")
            && stdout
                .contains("git config --global --add credential.https://github.com.helper patrol"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(git-credential-oauth) for https://gitlab.com")
            && stdout.contains("asked after patrol"),
        "{stdout}"
    );
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
    assert!(text(&doctor.stdout).contains("git never asks patrol for https://github.com"));
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
    assert!(text(&doctor.stdout).contains("ok: git asks patrol first for https://github.com"));
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
    assert!(
        text(&out.stdout).contains("occurs 2 times"),
        "{}",
        text(&out.stdout)
    );
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
    assert!(text(&out.stderr).contains("git config --global --add credential.helper"));
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
    assert!(
        stderr.contains("bad config line 4") && stderr.contains(".gitconfig"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(env.home().join(".gitconfig")).unwrap(),
        broken
    );
    assert!(!env.index_path().with_file_name("installed.json").exists());

    let out = env.patrol(&["doctor"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("git's configuration cannot be read")
            && text(&out.stdout).contains("bad config line 4"),
        "{}",
        text(&out.stdout)
    );
}

/// The global configuration file's bytes, `None` when there is none.
fn global_config(env: &TestEnv) -> Option<Vec<u8>> {
    fs::read(env.home().join(".gitconfig")).ok()
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
    assert!(
        stderr.contains("no Secret Service")
            && stderr.contains("configuration is unchanged")
            && stderr.contains("--replace --unlock")
            && stderr.contains("install --force"),
        "{stderr}"
    );
    // git still gets the token from `store`, as before.
    assert!(fill_through_git(&env, "github.com").contains(&format!("password={ALICE}")));

    // Forced, it configures git and says what that costs.
    let out = env.patrol(&["install", "--force"], "");
    assert_ok(&out);
    assert_eq!(global_helpers(&env), ["store", "", "patrol"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("holds 3 credentials in plain text")
            && stdout.contains("    git credential-patrol import"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Import them now"),
        "no question without a terminal"
    );
    assert!(
        text(&out.stderr).contains("configuring git anyway (--force)"),
        "{}",
        text(&out.stderr)
    );
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
        assert!(
            stderr.contains("no D-Bus session bus") && stderr.contains("dbus-user-session"),
            "{stderr}"
        );
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
    assert!(shown.contains("Import them now? [y/N]"), "{shown}");
    assert!(
        shown.contains("Imported https://github.com (alice)"),
        "{shown}"
    );
    assert!(!git_credentials(&env).exists());
    assert_eq!(
        token(&env, "github.com", Some("alice")).unwrap(),
        format!("{ALICE}\n")
    );
}

// import

#[test]
fn import_moves_every_credential_into_the_keychain_and_deletes_the_file() {
    let env = TestEnv::new();
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let out = env.patrol(&["import"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Imported https://github.com (alice)"),
        "{stdout}"
    );
    assert!(stdout.contains("Deleted"), "{stdout}");
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
    assert!(index.contains("github-classic") && index.contains("gitlab-personal"));
    assert!(!index.contains("TEST"));
    // And git gets them through patrol, as if git's `store` had stored them.
    let out = env.credential(
        "fill",
        &[],
        "protocol=https\nhost=github.com\nusername=alice\n",
    );
    assert!(text(&out.stdout).contains(&format!("password={ALICE}")));

    // A second run finds nothing to do.
    let again = env.patrol(&["import"], "");
    assert_ok(&again);
    assert!(text(&again.stdout).contains("No plaintext credential file found"));
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
        assert!(stderr.contains(&expected), "{expected}\n{stderr}");
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
    assert!(
        stdout.contains("Would import https://github.com (alice)"),
        "{stdout}"
    );
    assert!(stdout.contains("Would delete"), "{stdout}");
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
    assert!(text(&out.stdout).contains("unchanged (--keep-plaintext)"));
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
    assert!(
        stderr.contains(&format!("cannot read {}", directory.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{} does not exist", missing.display())),
        "{stderr}"
    );
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
                assert!(
                    shown.contains(&format!("cannot read {}", file.display()))
                        && shown.contains(why),
                    "{args:?}: {shown}"
                );
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
    assert!(stderr.contains("larger than 16 MB"), "{stderr}");
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
    assert!(stderr.contains("no Secret Service"), "{stderr}");
    assert!(
        stderr.contains(":1:") && !stderr.contains("TEST"),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);
}

/// Every credential of `THREE` is in the keychain, in the file, or both.
/// Where one credential is after an import was stopped, said exactly:
/// what `token` read from the keychain (or how it failed, which is not
/// taken for a loss of its own) and whether its line is still in the file.
/// The credential is lost only when it is in neither.
fn whereabouts(
    env: &TestEnv,
    url: &str,
    user: &str,
    secret: &str,
    in_file: bool,
) -> (bool, String) {
    let keychain = match token(env, url, Some(user)) {
        Ok(got) if got == format!("{secret}\n") => "in the keychain".to_owned(),
        Ok(_) => "another token in the keychain".to_owned(),
        Err(out) => format!(
            "`token` exited {:?}: {}",
            out.status.code(),
            text(&out.stderr).trim()
        ),
    };
    let lost = !in_file && keychain != "in the keychain";
    let file = if in_file { "in" } else { "not in" };
    (
        lost,
        format!("{user} at {url}: {keychain}; {file} the file"),
    )
}

/// Asserts that each of `THREE` is in the keychain or still in the file,
/// and says where each one is when one is in neither.
pub(crate) fn assert_nothing_lost(env: &TestEnv, file: &Path) {
    let left = fs::read_to_string(file).unwrap_or_default();
    let found: Vec<(bool, String)> = [
        ("github.com", "alice", ALICE, "ghp_TESTalice0001@github.com"),
        ("gitlab.example.com:8443", "bob", BOB, "glpat-TESTbob0002@"),
        ("github.com", "carol@work", CAROL, "ghp_TESTcarol%2F0003@"),
    ]
    .into_iter()
    .map(|(url, user, secret, line)| whereabouts(env, url, user, secret, left.contains(line)))
    .collect();
    assert!(
        found.iter().all(|(lost, _)| !lost),
        "a token is neither in the keychain nor in the file:\n{}",
        found
            .into_iter()
            .map(|(_, said)| said)
            .collect::<Vec<_>>()
            .join("\n")
    );
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
    assert!(
        stderr.contains("git still runs the `store` helper")
            && stderr.contains("git credential-patrol install"),
        "{stderr}"
    );
}

// token

#[test]
fn token_prints_the_secret_alone_for_scripts() {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=github.com\nusername=alice\npassword=ghp_TESTalice0001\n");
    env.approve("protocol=https\nhost=github.com\nusername=bob\npassword=ghp_TESTbob0002\n");
    let out = env.patrol(&["token", "https://github.com", "--user", "bob"], "");
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "ghp_TESTbob0002\n");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(
        token(&env, "https://alice@github.com", None).unwrap(),
        format!("{ALICE}\n")
    );

    // Two accounts and no --user: a usage problem.
    let out = env.patrol(&["token", "github.com"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--user"));
    assert_eq!(text(&out.stdout), "");

    // Without the index, the keychain alone answers for one account.
    fs::remove_dir_all(env.index_dir()).unwrap();
    assert_eq!(
        token(&env, "github.com", Some("bob")).unwrap(),
        "ghp_TESTbob0002\n"
    );

    // Nothing stored: exit 1, a message, nothing on stdout.
    let out = env.patrol(&["token", "gitlab.com"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert!(text(&out.stderr).contains("no stored credential for https://gitlab.com"));
}

// doctor

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
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
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
        assert!(stdout.contains(expected), "{expected}\n{stdout}");
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
    assert!(
        stdout.contains("problem: the keychain is not available: no Secret Service")
            && stdout.contains("fix: on a machine without a desktop")
            && stdout.contains("patrol.backend keyutils"),
        "{stdout}"
    );
}

// Linux without a Secret Service: the kernel keyring

/// Where a test can run the kernel keyring without touching the user's own
/// keyrings, most private first.
#[derive(Clone, Copy, Debug)]
pub enum Private {
    /// A new user namespace (so a persistent keyring of its own, which the
    /// keyutils store links every key into) and a new session keyring.
    Namespace,
    /// A new session keyring; the user's persistent keyring, when the
    /// kernel offers one, is linked into it, and our erase removes the key
    /// from there too.
    Session,
}

impl Private {
    /// Where the test ran, as scripts/test's summary says it.
    pub fn place(self) -> &'static str {
        match self {
            Self::Namespace => "a private user namespace and session keyring",
            Self::Session => "a private session keyring",
        }
    }

    pub fn wrapper(self) -> &'static [&'static str] {
        match self {
            Self::Namespace => &[
                "unshare",
                "--user",
                "--map-current-user",
                "keyctl",
                "session",
                "-",
            ],
            Self::Session => &["keyctl", "session", "-"],
        }
    }

    /// The most private place this kernel allows for the test of `branch`,
    /// reported in scripts/test's summary either way: `None` (reported as
    /// NOT TESTED, which is no pass) when there is none.
    pub fn for_branch(env: &TestEnv, branch: &str) -> Option<Self> {
        match Self::find(env) {
            Ok(private) => {
                report_branch(&format!("{branch}: tested in {}", private.place()));
                Some(private)
            }
            Err(why) => {
                report_branch(&format!(
                    "{branch}: NOT TESTED, the kernel refuses a private keyring ({why})"
                ));
                None
            }
        }
    }

    /// The most private place this kernel allows, or why there is none.
    pub fn find(env: &TestEnv) -> Result<Self, String> {
        let mut refusals = Vec::new();
        for private in [Self::Namespace, Self::Session] {
            let wrapper = private.wrapper();
            let mut command = env.command(wrapper[0]);
            command.args(&wrapper[1..]).args(["keyctl", "show", "@s"]);
            let out = run(command, b"");
            if out.status.success() {
                return Ok(private);
            }
            refusals.push(format!("{private:?}: {}", text(&out.stderr).trim()));
        }
        Err(refusals.join("; "))
    }
}

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
    assert!(
        get.1.contains("password=ghp_TESTkernel0003"),
        "get: {}",
        get.2
    );
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
    assert!(
        doctor.1.contains("does not survive a reboot"),
        "{}",
        doctor.1
    );
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
    assert!(
        store
            .2
            .contains("the kernel keyring (patrol.backend = keyutils) refused")
            && store.2.contains("gnome-keyring-daemon")
            && !store.2.contains("D-Bus session bus ("),
        "{}",
        store.2
    );
    assert!(!store.2.contains("TEST"));
    assert_eq!(doctor.0, Some(1));
    assert!(
        doctor
            .1
            .contains("problem: the keychain is not available: the kernel keyring"),
        "{}",
        doctor.1
    );
}

// A keyring that keeps tokens only in memory

#[test]
fn with_only_the_in_memory_collection_no_token_is_lost_across_a_restart() {
    let mut env = TestEnv::with_keyring(Keyring::SessionOnly);
    env.config("credential.helper", "store");
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let before = global_config(&env);

    let out = env.patrol(&["install"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("only in memory")
            && stderr.contains("collection `session`")
            && stderr.contains("gnome-keyring-daemon --replace --unlock")
            && stderr.contains("patrol.allowMemoryOnly"),
        "{stderr}"
    );
    assert_eq!(global_config(&env), before);

    let out = env.patrol(&["import"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("only in memory"));
    assert!(!text(&out.stdout).contains("Deleted"));
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);

    // git's own store through patrol: nothing stored, and stderr says why.
    let out = env.patrol(
        &["store"],
        "protocol=https\nhost=example.com\nusername=dave\npassword=ghp_TESTdave0004\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("was not stored")
            && text(&out.stderr).contains("only in memory"),
        "{}",
        text(&out.stderr)
    );
    let listed = env
        .command("secret-tool")
        .args(["search", "--all", "application", "git-credential-patrol"])
        .output()
        .unwrap();
    assert_eq!(text(&listed.stdout), "", "an item went to memory");

    let out = env.patrol(&["doctor"], "");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("problem: the keychain would keep tokens only in memory")
            && stdout.contains("--replace --unlock"),
        "{stdout}"
    );
    assert!(!stdout.contains("No problems found"), "{stdout}");

    env.restart_keyring();
    assert_nothing_lost(&env, &file);
}

#[test]
fn memory_only_storage_is_taken_when_asked_for_by_name_and_import_keeps_the_file() {
    let env = TestEnv::with_keyring(Keyring::SessionOnly);
    env.config("patrol.allowMemoryOnly", "true");
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let out = env.patrol(&["import"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("the line stays in the file, as the keychain keeps it only in memory"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Deleted") && !stdout.contains("Removed"),
        "{stdout}"
    );
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);
    assert_eq!(
        token(&env, "github.com", Some("alice")).unwrap(),
        format!("{ALICE}\n")
    );
    let out = env.patrol(&["doctor"], "");
    assert!(
        text(&out.stdout).contains("note: the keychain keeps tokens only in memory"),
        "{}",
        text(&out.stdout)
    );
}

// uninstall scopes, and what comes back

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
    assert!(
        stderr.contains("the global configuration")
            && stderr.contains(&config.display().to_string())
            && stderr.contains("--local"),
        "{stderr}"
    );
    assert_eq!(global_helpers(&env), ["", "patrol"]);
    assert_eq!(local_helpers(&env), ["", "patrol"]);

    // Inside the repository, --local takes out the local install only.
    let out = patrol_in(&env, &repo, &["uninstall", "--local"]);
    assert_ok(&out);
    assert_eq!(global_helpers(&env), ["", "patrol"]);
    assert!(local_helpers(&env).is_empty());
    assert!(
        text(&out.stdout).contains("patrol is still configured there"),
        "{}",
        text(&out.stdout)
    );

    // --global from inside the repository leaves the local one.
    assert_ok(&patrol_in(&env, &repo, &["install", "--local"]));
    assert_ok(&patrol_in(&env, &repo, &["uninstall", "--global"]));
    assert!(global_helpers(&env).is_empty());
    assert_eq!(local_helpers(&env), ["", "patrol"]);

    // With one install left, no flag undoes it and says which.
    let out = env.patrol(&["uninstall"], "");
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains(&format!(
            "Undoing what install added to {}, the only configuration it was run for",
            fs::canonicalize(&config).unwrap().display()
        )),
        "{}",
        text(&out.stdout)
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
    assert!(
        text(&out.stdout)
            .contains("In the system configuration, install added nothing that is still recorded"),
        "{}",
        text(&out.stdout)
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
    assert!(
        stdout.contains("git now asks `store`")
            && stdout.contains("holds no token: at the next push git asks for yours")
            && stdout.contains("in plain text")
            && stdout.contains("git credential-patrol uninstall --restore-plaintext"),
        "{stdout}"
    );
    assert_eq!(global_helpers(&env), ["store"]);
    assert!(!file.exists());

    let out = env.patrol(&["uninstall", "--restore-plaintext"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Wrote 3 tokens to"), "{stdout}");
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
        assert!(
            text(&out.stdout).contains(&format!("password={secret}\n")),
            "{request}: {}",
            text(&out.stderr)
        );
    }
}

// import edits the file the way git's credential-store does

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
    assert!(
        stdout.contains(&format!(
            "Removed the imported lines from {} (the file the link {} points to, which stays); 1 line is left in it.",
            real.display(),
            link.display()
        )),
        "{stdout}"
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
    assert!(
        text(&out.stdout).contains(&format!(
            "Deleted {} and the link {} to it",
            real.display(),
            link.display()
        )),
        "{}",
        text(&out.stdout)
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
    assert!(
        stderr.contains(&format!("{} has 2 hard links", file.display()))
            && stderr.contains("-samefile"),
        "{stderr}"
    );
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
    assert!(
        stderr.contains(".git-credentials.lock exists: git (or another program) is writing")
            && stderr.contains("left the file unchanged"),
        "{stderr}"
    );
    assert!(
        !text(&out.stdout).contains("Imported"),
        "{}",
        text(&out.stdout)
    );
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

// doctor's fixes, run as printed

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
            assert!(stdout.contains("No problems found."), "{stdout}");
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
                assert!(
                    !text(&done.stderr).contains("TEST"),
                    "{}",
                    text(&done.stderr)
                );
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
            assert!(
                text(&out.stderr).contains("it was moved to"),
                "{}",
                text(&out.stderr)
            );
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
