//! Settings come from every source git reads, and git is asked only when
//! one of them could hold a `patrol` key: with nothing configured for
//! patrol, a `get` runs no `git config` at all.
//!
//! The probe is a value patrol cannot use (`patrol.warnEvery = whenever`),
//! which it reports on every run: the report proves the key was read.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::env::{BIN, TestEnv};
use crate::support::{assert_contains, make_executable, run, text};

const PROBE: &str = "whenever";
const READ: &str = "ignoring patrol.warnevery";
const ASKED: &str = "git config: asked";
const NOT_RUN: &str = "git config: not run";

/// Where a case runs, and what it adds to git's command line or
/// environment.
#[derive(Default)]
struct Case {
    cwd: Option<PathBuf>,
    vars: Vec<(&'static str, String)>,
    settings: Vec<String>,
    /// Run patrol itself, as a person's command does, rather than through
    /// git (which names a linked worktree's repository in `GIT_DIR`).
    direct: bool,
}

/// `git credential fill` with patrol as the helper (or patrol's `get`
/// alone), traced; its stderr.
fn fill(env: &TestEnv, case: &Case) -> String {
    let mut command = if case.direct {
        let mut command = env.command(BIN);
        command.arg("get");
        command
    } else {
        let helper = format!("credential.helper={BIN}");
        let mut command = env.command("git");
        command.args(["-c", "credential.helper=", "-c", &helper]);
        for setting in &case.settings {
            command.args(["-c", setting]);
        }
        command.args(["credential", "fill"]);
        command
    };
    command
        .env("GIT_CREDENTIAL_PATROL_TRACE", "1")
        .envs(case.vars.iter().map(|(name, value)| (name, value)));
    if let Some(cwd) = &case.cwd {
        command.current_dir(cwd);
    }
    let out = run(command, b"protocol=https\nhost=example.com\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stderr)
}

fn git_in(env: &TestEnv, dir: &Path, args: &[&str]) {
    let mut command = env.command("git");
    command.current_dir(dir).args(args);
    let out = run(command, b"");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

/// A repository with one commit, at `home/name`.
fn repository(env: &TestEnv, name: &str) -> PathBuf {
    let repo = env.home().join(name);
    fs::create_dir_all(&repo).unwrap();
    git_in(env, &repo, &["init", "-q"]);
    git_in(
        env,
        &repo,
        &[
            "-c",
            "user.name=Patrol Test",
            "-c",
            "user.email=test@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "first",
        ],
    );
    repo
}

/// A linked worktree of a new repository, with the probe in its own
/// `config.worktree`.
fn linked_worktree(env: &TestEnv) -> PathBuf {
    let repo = repository(env, "work");
    git_in(env, &repo, &["worktree", "add", "-q", "../side"]);
    let side = env.home().join("side");
    git_in(env, &side, &["config", "extensions.worktreeConfig", "true"]);
    git_in(
        env,
        &side,
        &["config", "--worktree", "patrol.warnEvery", PROBE],
    );
    fs::create_dir_all(side.join("src")).unwrap();
    side
}

fn probe_file(env: &TestEnv, name: &str) -> PathBuf {
    let path = env.root().join(name);
    fs::write(&path, format!("[patrol]\n\twarnEvery = {PROBE}\n")).unwrap();
    path
}

#[test]
fn a_patrol_key_is_read_from_every_source_of_git_configuration() {
    type Arrange = fn(&mut TestEnv) -> Case;
    let cases: [(&str, Arrange); 11] = [
        ("the global file", |env| {
            env.config("patrol.warnEvery", PROBE);
            Case::default()
        }),
        ("a file the global file includes", |env| {
            let extra = probe_file(env, "included");
            env.config("include.path", &extra.display().to_string());
            Case::default()
        }),
        ("a file included for the repository's directory", |env| {
            let repo = repository(env, "work");
            let extra = probe_file(env, "included");
            let key = format!("includeIf.gitdir:{}/.path", repo.display());
            env.config(&key, &extra.display().to_string());
            Case {
                cwd: Some(repo),
                ..Case::default()
            }
        }),
        ("the repository above the working directory", |env| {
            let repo = repository(env, "work");
            git_in(env, &repo, &["config", "patrol.warnEvery", PROBE]);
            let inside = repo.join("src/deep");
            fs::create_dir_all(&inside).unwrap();
            Case {
                cwd: Some(inside),
                ..Case::default()
            }
        }),
        ("a linked worktree's own file", |env| Case {
            cwd: Some(linked_worktree(env)),
            ..Case::default()
        }),
        (
            "a linked worktree's own file, found from its .git file",
            |env| Case {
                cwd: Some(linked_worktree(env).join("src")),
                direct: true,
                ..Case::default()
            },
        ),
        ("the repository GIT_DIR names", |env| {
            let repo = repository(env, "work");
            git_in(env, &repo, &["config", "patrol.warnEvery", PROBE]);
            Case {
                vars: vec![("GIT_DIR", repo.join(".git").display().to_string())],
                ..Case::default()
            }
        }),
        ("git -c", |_| Case {
            settings: vec![format!("patrol.warnEvery={PROBE}")],
            ..Case::default()
        }),
        ("GIT_CONFIG_COUNT", |_| Case {
            vars: vec![
                ("GIT_CONFIG_COUNT", "1".to_owned()),
                ("GIT_CONFIG_KEY_0", "patrol.warnEvery".to_owned()),
                ("GIT_CONFIG_VALUE_0", PROBE.to_owned()),
            ],
            ..Case::default()
        }),
        ("the system file GIT_CONFIG_SYSTEM names", |env| {
            let system = env.use_system_config();
            fs::write(system, format!("[patrol]\n\twarnEvery = {PROBE}\n")).unwrap();
            Case::default()
        }),
        ("a section header in capitals", |env| {
            let global = env.home().join(".gitconfig");
            fs::write(global, format!("[PATROL]\n\tWARNEVERY = {PROBE}\n")).unwrap();
            Case::default()
        }),
    ];
    for (source, arrange) in cases {
        let mut env = TestEnv::new();
        let case = arrange(&mut env);
        let stderr = fill(&env, &case);
        assert_contains!(stderr, READ, "{source}: {stderr}");
        assert_contains!(stderr, ASKED, "{source}: {stderr}");
    }
}

#[test]
fn with_nothing_set_for_patrol_no_git_config_runs() {
    let env = TestEnv::new();
    env.config("user.name", "Patrol Test");
    let repo = repository(&env, "work");
    git_in(
        &env,
        &repo,
        &["config", "remote.origin.url", "https://example.com/r.git"],
    );
    // Patrol's name as a value is no `patrol` key.
    env.config("credential.https://example.com.helper", "patrol");
    for case in [
        Case::default(),
        Case {
            cwd: Some(repo),
            settings: vec!["http.extraHeader=X-Patrol: 1".to_owned()],
            ..Case::default()
        },
    ] {
        let stderr = fill(&env, &case);
        assert_contains!(stderr, NOT_RUN);
        assert!(!stderr.contains(READ), "{stderr}");
    }
}

/// A `git` first on `PATH` that says its compiled-in system file is
/// `system`, and otherwise runs the real git with that file.
fn git_with_system_file(env: &TestEnv, dir: &Path, system: &Path) {
    let real = env.real_git();
    let git = dir.join("git");
    fs::write(
        &git,
        format!(
            "#!/bin/sh\n\
             if [ \"$1\" = var ] && [ \"$2\" = GIT_CONFIG_SYSTEM ]; then echo '{system}'; exit 0; fi\n\
             GIT_CONFIG_SYSTEM='{system}' exec '{real}' \"$@\"\n",
            system = system.display(),
            real = real.display()
        ),
    )
    .unwrap();
    make_executable(&git);
}

/// Patrol's `get`, traced, with the `git` in `bin` first on `PATH` and
/// git's system file no longer switched off; its stderr.
fn get_with_git_from(env: &TestEnv, bin: &Path) -> String {
    let mut command = env.command(BIN);
    command
        .arg("get")
        .env("PATH", env.path_with(bin))
        .env_remove("GIT_CONFIG_NOSYSTEM")
        .env("GIT_CREDENTIAL_PATROL_TRACE", "1");
    let out = run(command, b"protocol=https\nhost=example.com\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stderr)
}

#[test]
fn the_compiled_in_system_file_is_asked_once_per_git_executable() {
    let env = TestEnv::new();
    // The data directory exists once something is stored.
    env.approve("protocol=https\nhost=stored.example\nusername=a\npassword=ghp_TESTsystem000\n");
    let bin = env.root().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let with_probe = probe_file(&env, "system-with-patrol");
    let without = env.root().join("system-without-patrol");
    fs::write(&without, "[core]\n\tautocrlf = false\n").unwrap();
    let get = || get_with_git_from(&env, &bin);

    git_with_system_file(&env, &bin, &with_probe);
    let first = get();
    assert_contains!(first, "git var GIT_CONFIG_SYSTEM");
    assert_contains!(first, READ);
    let note = fs::read_to_string(env.data_dir().join("git-system-config.json")).unwrap();
    assert_contains!(note, "system-with-patrol");
    let again = get();
    assert!(!again.contains("git var"), "kept from the first: {again}");
    assert_contains!(again, READ);

    // Another git in the same place is asked again.
    git_with_system_file(&env, &bin, &without);
    let other = get();
    assert_contains!(other, "git var GIT_CONFIG_SYSTEM");
    assert_contains!(other, NOT_RUN);
    assert!(!other.contains(READ), "{other}");
}

#[test]
fn a_git_that_does_not_name_its_system_file_is_always_asked() {
    const OLD_GIT: &str = "/usr/bin/git";
    let old = Command::new(OLD_GIT)
        .arg("var")
        .arg("GIT_CONFIG_SYSTEM")
        .output();
    if old.is_err() || old.is_ok_and(|out| out.status.success()) {
        eprintln!("skipping: no git older than 2.42 at {OLD_GIT}");
        return;
    }
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=stored.example\nusername=a\npassword=ghp_TESTsystem000\n");
    let bin = env.root().join("bin");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(OLD_GIT, bin.join("git")).unwrap();
    for _ in 0..2 {
        let stderr = get_with_git_from(&env, &bin);
        assert_contains!(
            stderr,
            "asked, as this git does not say where its system file is"
        );
    }
}

#[test]
fn git_config_in_the_environment_changes_nothing_as_for_git_itself() {
    // Only `git config` reads `GIT_CONFIG`; the git that runs the helper
    // reads its usual files, and so must the settings patrol reads.
    let env = TestEnv::new();
    env.config("patrol.warnEvery", PROBE);
    let other = env.root().join("other-config");
    fs::write(&other, "[core]\n\tautocrlf = false\n").unwrap();
    let case = Case {
        vars: vec![("GIT_CONFIG", other.display().to_string())],
        ..Case::default()
    };
    let stderr = fill(&env, &case);
    assert_contains!(stderr, READ);

    // A patrol key in that file alone is no setting, and on Linux costs
    // no `git config` either.
    let env = TestEnv::new();
    let probe = probe_file(&env, "named-by-git-config");
    let case = Case {
        vars: vec![("GIT_CONFIG", probe.display().to_string())],
        ..Case::default()
    };
    let stderr = fill(&env, &case);
    assert!(!stderr.contains(READ), "{stderr}");
    assert_contains!(stderr, NOT_RUN);
}

#[test]
fn settings_scoped_to_an_account_or_a_path_apply_where_git_config_says() {
    let env = TestEnv::new();
    env.config("patrol.https://bob@h.example.com.warnEvery", PROBE);
    env.config("patrol.https://h.example.com/org.rotateAfter", "soon");
    let stderr = |request: &str, extra: &[&str]| {
        let mut command = env.command("git");
        let helper = format!("credential.helper={BIN}");
        command.args(["-c", "credential.helper=", "-c", &helper]);
        for setting in extra {
            command.args(["-c", setting]);
        }
        command.args(["credential", "fill"]);
        let out = run(command, request.as_bytes());
        text(&out.stderr)
    };
    let path_read = "ignoring patrol.rotateafter";
    // What `git config --get-urlmatch patrol URL` shows for each URL.
    let shown = |url: &str| {
        text(
            &env.git(&["config", "--get-urlmatch", "patrol", url], "")
                .stdout,
        )
    };
    assert_contains!(shown("https://bob@h.example.com"), PROBE);
    assert_contains!(shown("https://h.example.com/org/a.git"), "soon");

    let named = stderr("url=https://bob@h.example.com/org/a.git\n", &[]);
    assert_contains!(named, READ);
    assert!(!named.contains(path_read), "git sent no path: {named}");
    let with_path = stderr(
        "url=https://h.example.com/org/a.git\n",
        &["credential.useHttpPath=true"],
    );
    assert_contains!(with_path, path_read);
    assert!(!with_path.contains(READ), "{with_path}");

    // Git names no account; the one patrol answers with is bob's.
    env.approve("protocol=https\nhost=h.example.com\nusername=bob\npassword=ghp_TESTbob000001\n");
    let found = stderr("url=https://h.example.com/org/a.git\n", &[]);
    assert_contains!(found, READ);
}
