//! Where a secret must never go, and the files we create: a sentinel token
//! is looked for in the index, the trace, every message, and the command
//! line and environment of every child process; files are private under a
//! permissive umask; a full disk or an unusable data directory loses nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::env::{BIN, TestEnv, run, text};

const SENTINEL: &str = "ghp_TESTsentinel7f3a9c2e5b1d8f4a6c0e2b9d";
const REFRESH: &str = "ghr_TESTrefreshsentinel0c4e8a2f6b1d9e3a";

fn store_input(host: &str) -> String {
    format!(
        "protocol=https\nhost={host}\nusername=alice\npassword={SENTINEL}\noauth_refresh_token={REFRESH}\npassword_expiry_utc=4000000000\n"
    )
}

fn assert_clean(what: &str, haystack: &str) {
    for secret in [SENTINEL, REFRESH] {
        assert!(
            !haystack.contains(secret),
            "{what} contains a secret:\n{haystack}"
        );
    }
}

#[test]
fn secrets_never_reach_the_index_the_trace_or_messages() {
    let env = TestEnv::new();
    let trace = env.root().join("trace.log");
    let mut everything = String::new();
    for (args, input) in [
        (vec!["store"], store_input("example.com")),
        (vec!["store"], store_input("example.com")),
        (
            vec!["get"],
            "capability[]=state\nprotocol=https\nhost=example.com\n".to_owned(),
        ),
        (vec!["list"], String::new()),
        (vec!["list", "--json"], String::new()),
        (vec!["expiry", "example.com", "1d"], String::new()),
        (vec!["get"], "protocol=https\nhost=example.com\n".to_owned()),
        (
            vec!["store"],
            format!("protocol=https\nhost=example.com\npassword={SENTINEL}\0\n"),
        ),
        (
            vec!["store"],
            format!("protocol=https\npassword={SENTINEL}\n"),
        ),
        (
            vec!["erase"],
            format!("protocol=https\nhost=example.com\nusername=alice\npassword={SENTINEL}\n"),
        ),
    ] {
        let mut command = env.command(BIN);
        command
            .args(&args)
            .env("GIT_CREDENTIAL_PATROL_TRACE", &trace);
        let out = run(command, input.as_bytes());
        everything.push_str(&text(&out.stderr));
        if args != ["get"] {
            everything.push_str(&text(&out.stdout));
        }
    }
    assert_clean("stderr and user-facing stdout", &everything);
    let trace = fs::read_to_string(&trace).unwrap();
    assert!(trace.contains("keychain set"), "the trace ran: {trace}");
    assert_clean("the trace", &trace);
    let files = fs::read_dir(env.data_dir())
        .unwrap()
        .chain(fs::read_dir(env.index_dir()).unwrap());
    for entry in files {
        let path = entry.unwrap().path();
        if path.is_dir() {
            continue;
        }
        assert_clean(
            &path.display().to_string(),
            &String::from_utf8_lossy(&fs::read(&path).unwrap()),
        );
    }
}

#[test]
fn child_processes_never_see_a_secret_in_their_arguments_or_environment() {
    let env = TestEnv::new();
    // A `git` earlier on PATH records its own command line and environment
    // (as /proc shows them) and those of its parent, then runs the real git.
    let spy_dir = env.root().join("spy");
    fs::create_dir_all(&spy_dir).unwrap();
    let real_git = text(
        &env.command("sh")
            .args(["-c", "command -v git"])
            .output()
            .unwrap()
            .stdout,
    );
    let log = env.root().join("children.log");
    fs::write(
        spy_dir.join("git"),
        format!(
            "#!/bin/sh\nfor p in /proc/$$ /proc/$PPID; do tr '\\0' ' ' < $p/cmdline; echo; tr '\\0' '\\n' < $p/environ; done >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_git.trim()
        ),
    )
    .unwrap();
    fs::set_permissions(spy_dir.join("git"), fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        spy_dir.display(),
        text(
            &env.command("sh")
                .args(["-c", "echo $PATH"])
                .output()
                .unwrap()
                .stdout
        )
        .trim()
    );
    for (op, input) in [
        ("store", store_input("example.com")),
        ("get", "protocol=https\nhost=example.com\n".to_owned()),
        ("erase", store_input("example.com")),
    ] {
        let mut command = env.command(BIN);
        command.arg(op).env("PATH", &path);
        let out = run(command, input.as_bytes());
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let seen = fs::read_to_string(&log).expect("the helper ran git config");
    assert!(seen.contains("--get-urlmatch"), "{seen}");
    assert_clean("a child's command line or environment", &seen);
}

#[test]
fn files_are_private_under_a_permissive_umask() {
    let env = TestEnv::new();
    let mut command = env.command("sh");
    command.args(["-c", &format!("umask 000 && exec {BIN} store")]);
    let out = run(command, store_input("example.com").as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for dir in [env.data_dir(), env.index_dir()] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path != env.index_dir() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
    }
}

/// Runs `script` in a private mount namespace where the data directory is
/// a tiny, full tmpfs.
fn on_a_full_disk(env: &TestEnv, script: &str, stdin: &str) -> std::process::Output {
    let data = env.home().join(".local/share");
    fs::create_dir_all(&data).unwrap();
    let mut command = env.command("unshare");
    command.args([
        "-Urm",
        "sh",
        "-c",
        &format!(
            "set -e; saved=$(mktemp -d); cp -a '{data}/.' \"$saved\"; \
             mount -t tmpfs -o size=64k tmpfs '{data}'; cp -a \"$saved/.\" '{data}'; \
             dd if=/dev/zero of='{data}/filler' bs=4k 2>/dev/null || true; {script}",
            data = data.display()
        ),
    ]);
    run(command, stdin.as_bytes())
}

#[test]
fn a_full_disk_keeps_the_old_index_and_the_new_secret() {
    let env = TestEnv::new();
    env.approve(&store_input("example.com"));
    let before = env.index_bytes();
    let changed = store_input("example.com").replace("sentinel7f3a", "sentinel0000");
    let out = on_a_full_disk(
        &env,
        &format!(
            "{BIN} store; echo stored=$?; printf 'protocol=https\\nhost=example.com\\n' | {BIN} get"
        ),
        &changed,
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("stored=0"), "{stdout}{stderr}");
    assert!(
        stderr.contains("the credential is stored, but cannot write the index"),
        "{stderr}"
    );
    assert!(
        stdout.contains("password=ghp_TESTsentinel0000"),
        "the new secret answers: {stdout}{stderr}"
    );
    assert_eq!(env.index_bytes(), before, "the old index is intact");
}

#[test]
fn an_unusable_data_directory_never_stops_git() {
    let env = TestEnv::new();
    let data = env.home().join(".local/share");
    fs::create_dir_all(&data).unwrap();
    // A file where the directory should be: even root cannot write there.
    fs::write(data.join("git-credential-patrol"), "not a directory").unwrap();
    let out = env.patrol(&["store"], &store_input("example.com"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot use the index directory"),
        "{}",
        text(&out.stderr)
    );
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert!(
        text(&out.stdout).contains(&format!("password={SENTINEL}")),
        "{}",
        text(&out.stderr)
    );
}
