//! Where a secret must never go, and the files we create: a sentinel token
//! is looked for in the index, the trace, every message, and the command
//! line and environment of every child process; files are private under a
//! permissive umask; a full disk or an unusable data directory loses nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::support::env::{BIN, TestEnv};
use crate::support::fixtures::Private;
use crate::support::{assert_contains, assert_lacks, run, text};

const SENTINEL: &str = "ghp_TESTsentinel7f3a9c2e5b1d8f4a6c0e2b9d";
const REFRESH: &str = "ghr_TESTrefreshsentinel0c4e8a2f6b1d9e3a";

fn store_input(host: &str) -> String {
    format!(
        "protocol=https\nhost={host}\nusername=alice\npassword={SENTINEL}\noauth_refresh_token={REFRESH}\npassword_expiry_utc=4000000000\n"
    )
}

fn assert_clean(what: &str, haystack: &str) {
    for secret in [SENTINEL, REFRESH] {
        assert_lacks!(haystack, secret, "{what} contains a secret");
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
    assert_contains!(trace, "keychain set", "the trace ran: {trace}");
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
    let real_git = env.real_git();
    let log = env.root().join("children.log");
    fs::write(
        spy_dir.join("git"),
        format!(
            "#!/bin/sh\nfor p in /proc/$$ /proc/$PPID; do tr '\\0' ' ' < $p/cmdline; echo; tr '\\0' '\\n' < $p/environ; done >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real_git.display()
        ),
    )
    .unwrap();
    fs::set_permissions(spy_dir.join("git"), fs::Permissions::from_mode(0o755)).unwrap();
    let path = env.path_with(&spy_dir);
    // A setting for patrol, so that each operation runs `git config`.
    env.config("patrol.warnBefore", "7d");
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
    assert_contains!(seen, "--get-regexp");
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
            let expected = if path.is_dir() { 0o700 } else { 0o600 };
            assert_eq!(mode(&path), expected, "{}", path.display());
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
    assert_contains!(stdout, "stored=0", "{stdout}{stderr}");
    assert_contains!(
        stderr,
        "the credential is stored, but cannot write the index"
    );
    assert_contains!(
        stdout,
        "password=ghp_TESTsentinel0000",
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
    assert_contains!(text(&out.stderr), "cannot use the index directory");
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert_contains!(
        text(&out.stdout),
        &format!("password={SENTINEL}"),
        "{}",
        text(&out.stderr)
    );
}

/// What git itself reads from `url=`: the host a recording helper is asked
/// about (git asks no helper to `fill` a URL that carries a password, so
/// `approve` hands that one over).
fn host_git_reads(env: &TestEnv, url: &str) -> String {
    let log = env.root().join("git-reads.log");
    let _ = fs::remove_file(&log);
    let helper = format!(
        "credential.helper=!f() {{ cat >> '{}'; }}; f",
        log.display()
    );
    for op in ["fill", "approve"] {
        env.git(
            &[
                "-c",
                "credential.helper=",
                "-c",
                &helper,
                "-c",
                "credential.interactive=false",
                "credential",
                op,
            ],
            &format!("url={url}\n"),
        );
    }
    let seen = fs::read_to_string(&log).expect("git ran the recording helper");
    seen.lines()
        .find_map(|line| line.strip_prefix("host="))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_crafted_url_gets_the_token_of_the_host_git_reads() {
    let env = TestEnv::new();
    env.config("patrol.probe", "false");
    for host in ["evil.example", "github.com"] {
        let out = env.patrol(
            &["store"],
            &format!("protocol=https\nhost={host}\nusername=alice\npassword=ghp_TEST{host}\n"),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    for url in [
        "https://alice:@evil.example#@github.com",
        "https://alice:@evil.example?@github.com",
        "https://alice@evil.example/x@github.com",
        "https://alice@evil.example?x=/@github.com/",
    ] {
        let host = host_git_reads(&env, url);
        assert_eq!(host, "evil.example", "{url}");
        let out = env.patrol(&["get"], &format!("url={url}\n"));
        assert!(out.status.success(), "{}", text(&out.stderr));
        // The URL's path (`#@github.com`) matches no stored credential, so
        // nothing at all is the right answer; github.com's token never is.
        assert_eq!(text(&out.stdout), "", "{url}");
    }
    let out = env.patrol(&["get"], "url=https://alice@evil.example?\n");
    assert_eq!(text(&out.stdout), "", "a path of `?` is a path");
    let out = env.patrol(&["get"], "url=https://alice@evil.example//\n");
    assert_eq!(
        text(&out.stdout),
        "username=alice\npassword=ghp_TESTevil.example\n"
    );
}

#[test]
fn a_running_patrol_is_not_dumpable_and_writes_no_core() {
    use std::os::unix::fs::MetadataExt;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let env = TestEnv::new();
    // /proc/PID of a non-dumpable process belongs to root, whoever runs it;
    // so when the test is root, patrol runs as nobody to show the change.
    let as_root = fs::metadata("/proc/self").unwrap().uid() == 0;
    let mut command = if as_root {
        let mut command = env.command("setpriv");
        command.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            BIN,
            "get",
        ]);
        command
    } else {
        let mut command = env.command(BIN);
        command.arg("get");
        command
    };
    // `get` waits for git's request on the open pipe.
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc = format!("/proc/{}", child.id());
    let started = Instant::now();
    let mut seen = String::new();
    while started.elapsed() < Duration::from_secs(10) {
        let comm = fs::read_to_string(format!("{proc}/comm")).unwrap_or_default();
        let owner = fs::metadata(format!("{proc}/status")).map(|m| m.uid());
        let limits = fs::read_to_string(format!("{proc}/limits")).unwrap_or_default();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap_or_default()
            .split_whitespace()
            .nth(4)
            .unwrap_or_default()
            .to_owned();
        seen = format!("comm={comm:?} owner={owner:?} core soft limit={core}");
        if comm.starts_with("git-credential") && owner.ok() == Some(0) && core == "0" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_contains!(seen, "owner=Ok(0)", "patrol is still dumpable");
    assert!(
        seen.ends_with("core soft limit=0"),
        "patrol is still dumpable: {seen}"
    );
}

#[test]
fn the_trace_file_is_private_and_never_a_link_or_a_fifo() {
    let env = TestEnv::new();
    let request = b"protocol=https\nhost=example.com\n";
    let traced = |path: &std::path::Path, umask: &str| {
        let mut command = env.command("sh");
        command
            .args(["-c", &format!("umask {umask} && exec timeout 10 {BIN} get")])
            .env("GIT_CREDENTIAL_PATROL_TRACE", path);
        run(command, request)
    };
    let trace = env.root().join("trace.log");
    let out = traced(&trace, "000");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mode = fs::metadata(&trace).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_contains!(fs::read_to_string(&trace).unwrap(), " get");

    let elsewhere = env.root().join("elsewhere");
    fs::write(&elsewhere, "").unwrap();
    let link = env.root().join("link.log");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let out = traced(&link, "077");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        fs::read_to_string(&elsewhere).unwrap(),
        "",
        "the link was followed"
    );

    let fifo = env.root().join("fifo.log");
    let made = env.command("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = traced(&fifo, "077");
    assert_eq!(
        out.status.code(),
        Some(0),
        "a FIFO as the trace held get (124: killed)"
    );
}

#[test]
fn the_kernel_keyring_stores_urls_with_at_and_percent() {
    let env = TestEnv::with_keyring(crate::support::keyring::Keyring::NoBus);
    env.config("patrol.backend", "keyutils");
    let request = |path: &str| {
        format!("protocol=https\nhost=keyutils-at.example.com\npath={path}\nusername=alice\n")
    };
    // A session keyring of its own, gone when the script ends, in a user
    // namespace of its own where the kernel allows one (the keyutils store
    // links every key into the persistent keyring too): the test never
    // touches the caller's keys.
    let mut script = String::from("set -e\n");
    for (path, token) in [("a@b", "ghp_TESTat0001"), ("a%40b", "ghp_TESTpct0002")] {
        script.push_str(&format!(
            "printf '{}password={token}\\n' | {BIN} store\n",
            request(path).replace('\n', "\\n").replace('%', "%%")
        ));
    }
    for path in ["a@b", "a%40b"] {
        script.push_str(&format!(
            "printf '{}' | {BIN} get\n",
            request(path).replace('\n', "\\n").replace('%', "%%")
        ));
    }
    // Where the user's persistent keyring is linked in (no namespace of
    // its own), erasing is what takes the keys out of it again.
    for path in ["a@b", "a%40b"] {
        script.push_str(&format!(
            "printf '{}' | {BIN} erase\n",
            request(path).replace('\n', "\\n").replace('%', "%%")
        ));
    }
    let Some(private) = Private::for_branch(&env, "kernel keyring, URLs with @ and %") else {
        return;
    };
    let wrapper = private.wrapper();
    let mut command = env.command(wrapper[0]);
    command.args(&wrapper[1..]).args(["sh", "-c", &script]);
    let out = run(command, b"");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.ends_with(
            "username=alice\npassword=ghp_TESTat0001\nusername=alice\npassword=ghp_TESTpct0002\n"
        ),
        "{stdout}{stderr}"
    );
}

/// Terminal controls as a hostile server, file or configuration would
/// send them: a title change, a screen clear, the one-byte CSI (C1), a
/// right-to-left override and a zero-width space (format characters,
/// which reorder or hide what a person reads).
const HOSTILE: &str = "\x1b]0;pwned\x07\x1b[2J\u{9b}31m\u{202e}\u{200b}";

/// Every control or format character in `output` but the line breaks, with
/// where it is.
fn raw_controls(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| {
            line.chars().any(|c| {
                c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
            })
        })
        .map(|line| format!("{line:?}"))
        .collect()
}

#[test]
fn a_hostile_host_in_the_trace_is_escaped() {
    let env = TestEnv::new();
    let host = "evil\x1b]0;pwned\x07\u{202e}.example.com";
    let request = format!("protocol=https\nhost={host}\nusername=alice\n");
    let mut traced = String::new();
    for (op, input) in [
        ("store", format!("{request}password=ghp_TESTtrace0001\n")),
        ("get", request.clone()),
    ] {
        let mut command = env.command(BIN);
        command.arg(op).env("GIT_CREDENTIAL_PATROL_TRACE", "1");
        let out = run(command, input.as_bytes());
        assert!(out.status.success(), "{}", text(&out.stderr));
        traced.push_str(&text(&out.stderr));
    }
    assert_contains!(
        traced,
        "evil\\u{1b}]0;pwned\\u{7}\\u{202e}.example.com",
        "the host is traced, escaped: {traced}"
    );
    let raw = raw_controls(&traced);
    assert!(raw.is_empty(), "raw in the trace:\n{}", raw.join("\n"));
}

#[test]
fn hostile_values_in_every_field_never_reach_the_terminal_raw() {
    use crate::support::fake_forge::{FakeForge, Reply};

    // A forge whose every answer is hostile.
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        Reply::json(
            200,
            serde_json::json!({ "login": format!("alice{HOSTILE}"), "id": 1 }),
        ),
    );
    let env = TestEnv::new();
    let known = "git.example.com";
    let evil_host = format!("evil{HOSTILE}.example.com");
    let user = format!("bob{HOSTILE}");
    env.config(&format!("patrol.https://{known}.forge"), "github");
    env.config(&format!("patrol.https://{known}.apiUrl"), &forge.url());
    env.config("patrol.requiredScopes", &format!("repo {HOSTILE}"));
    env.config("patrol.warnEvery", &format!("1{HOSTILE}"));
    let soon = chrono::Utc::now().timestamp() + 2 * 86_400;
    let mut everything = String::new();
    let mut record = |what: &str, out: std::process::Output, stdout_is_for_people: bool| {
        everything.push_str(&format!("--- {what:?} stderr\n{}", text(&out.stderr)));
        if stdout_is_for_people {
            everything.push_str(&format!("--- {what:?} stdout\n{}", text(&out.stdout)));
        }
    };
    for (host, path) in [
        (known, format!("org/{HOSTILE}.git")),
        (evil_host.as_str(), "x".into()),
    ] {
        let credential = format!("protocol=https\nhost={host}\npath={path}\nusername={user}\n");
        let stored = env.patrol(
            &["store"],
            &format!("{credential}password=ghp_TESTforge0001\npassword_expiry_utc={soon}\n"),
        );
        record("store", stored, true);
        record("get", env.patrol(&["get"], &credential), false);
    }
    let evil_url = format!("https://{evil_host}/x");
    for args in [
        vec!["list"],
        vec!["list", "--json"],
        vec!["check"],
        vec!["check", "--json"],
        vec!["doctor"],
        vec!["expiry", &evil_url, "--user", &user, "2099-01-01"],
    ] {
        let out = env.patrol(&args, "");
        if args.contains(&"--json") {
            let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&out.stdout);
            assert!(
                parsed.is_ok(),
                "{args:?} is not JSON: {}",
                text(&out.stdout)
            );
        }
        record(&args.join(" "), out, true);
    }
    let rotated = env.patrol(
        &["rotate", &evil_url, "--user", &user],
        "ghp_TESTrotated0002\n",
    );
    record("rotate", rotated, true);
    let erased = env.patrol(&["erase", &evil_url, "--user", &user], "");
    record("erase", erased, true);

    assert_contains!(
        everything,
        "bob\\u{1b}]0;pwned",
        "the values were shown: {everything}"
    );
    let raw = raw_controls(&everything);
    assert!(
        raw.is_empty(),
        "raw control characters:\n{}",
        raw.join("\n")
    );
}

#[test]
fn a_request_with_endless_wwwauth_or_state_lines_is_refused_in_one_line() {
    let env = TestEnv::new();
    for key in ["wwwauth[]", "state[]"] {
        let mut request = String::from("protocol=https\nhost=example.com\n");
        for i in 0..1001 {
            request.push_str(&format!("{key}=Basic realm=\"{i}\"\n"));
        }
        let out = env.patrol(&["get"], &request);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(out.stdout, b"");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_contains!(
            stderr,
            &format!("line 1003 of the request is a `{key}` beyond the 1000")
        );
    }
}
