//! The command line as people and scripts meet it: one exit-code contract
//! for every command (0 done, 1 a problem found or the named credential not
//! stored, 2 bad usage), typos that fail while git's future operations are
//! ignored, URL arguments in the forms people paste, dates in the past,
//! git's operations typed at a terminal, and `rotate` leaving the expiry
//! known.

use std::process::Stdio;

use serde_json::json;

use crate::support::env::{BIN, TestEnv};
use crate::support::fake_forge::{FakeForge, Reply};
use crate::support::{assert_contains, assert_lacks, run, text};

const TOKEN: &str = "ghp_TESTcli00000000000000000000000000001";
const NEW: &str = "ghp_TESTcli00000000000000000000000000002";

/// An environment with one credential stored for `https://example.com`
/// (alice), which no forge is asked about.
fn with_one_stored() -> TestEnv {
    let env = TestEnv::new();
    env.config("patrol.forge", "none");
    env.approve(&format!(
        "protocol=https\nhost=example.com\nusername=alice\npassword={TOKEN}\n"
    ));
    env
}

/// Runs our binary with stdin from /dev/null, as a script often does.
fn from_dev_null(env: &TestEnv, args: &[&str]) -> std::process::Output {
    env.command(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `line` at a terminal (`script` gives it one), feeding `input` to it.
fn at_terminal(env: &TestEnv, line: &str, input: &str) -> (Option<i32>, String) {
    let mut command = env.command("script");
    command.args(["-qec", line, "/dev/null"]);
    let out = run(command, input.as_bytes());
    (out.status.code(), text(&out.stdout))
}

#[test]
fn every_command_follows_one_exit_code_contract() {
    let env = with_one_stored();
    let plaintext = env.root().join("credentials");
    std::fs::write(
        &plaintext,
        format!("https://bob:{NEW}@import.example.com\n"),
    )
    .unwrap();
    let plaintext = plaintext.to_str().unwrap();
    let request = "protocol=https\nhost=example.com\n";
    let elsewhere = "protocol=https\nhost=nowhere.example\n";
    let not_stored = "no stored credential for https://nowhere.example";
    // (command line, stdin, exit code, what stderr says; "" for nothing).
    // Each command: no match, a match, bad usage. Order matters: the last
    // rows remove what the first ones find.
    let table: &[(&[&str], &str, i32, &str)] = &[
        (&["get"], elsewhere, 0, ""),
        (&["get"], request, 0, ""),
        (
            &["get", "--bogus"],
            request,
            2,
            "unexpected argument '--bogus'",
        ),
        (&["capability"], "", 0, ""),
        (
            &["capability", "extra"],
            "",
            2,
            "unexpected argument 'extra'",
        ),
        (
            &["store"],
            "protocol=https\nhost=new.example\nusername=carol\npassword=ghp_TESTcarol\n",
            0,
            "",
        ),
        (
            &["store"],
            "protocol=https\nhost=example.com\nusername=alice\npassword=x\ngarbage\n",
            2,
            "not `key=value`",
        ),
        (&["erase"], "protocol=https\nhost=nowhere.example\n", 0, ""),
        (&["erase"], "protocol=https\nhost=new.example\n", 0, ""),
        (
            &["erase"],
            "protocol=https\nhost=x\ngarbage\n",
            2,
            "not `key=value`",
        ),
        (&["list"], "", 0, ""),
        (&["list", "--bogus"], "", 2, "unexpected argument '--bogus'"),
        (&["token", "nowhere.example"], "", 1, not_stored),
        (&["token", "example.com"], "", 0, ""),
        (&["token"], "", 2, "required arguments were not provided"),
        (
            &["token", "git@example.com:alice/x.git"],
            "",
            2,
            "is an SSH remote",
        ),
        (&["expiry", "nowhere.example", "30d"], "", 1, not_stored),
        (&["expiry", "example.com", "30d"], "", 0, ""),
        (
            &["expiry", "example.com", "2019-05-01"],
            "",
            2,
            "2019-05-01 00:00 UTC",
        ),
        (&["expiry", "example.com", "soon"], "", 2, "is not a date"),
        (&["check", "nowhere.example"], "", 1, not_stored),
        (&["check", "example.com"], "", 0, ""),
        (
            &["check", "--expiring-within", "soon"],
            "",
            2,
            "is not a duration",
        ),
        (
            &["rotate", "nowhere.example"],
            &format!("{NEW}\n"),
            1,
            not_stored,
        ),
        (&["rotate", "example.com"], &format!("{NEW}\n"), 0, ""),
        (&["rotate", "example.com"], "\n", 2, "no token was given"),
        (&["import", "--dry-run", plaintext], "", 0, ""),
        (&["import", plaintext], "", 0, ""),
        (
            &["import", "--bogus"],
            "",
            2,
            "unexpected argument '--bogus'",
        ),
        (&["install"], "", 0, ""),
        (
            &["install", "--global", "--local"],
            "",
            2,
            "cannot be used with",
        ),
        (&["uninstall"], "", 0, ""),
        (
            &["uninstall", "extra"],
            "",
            2,
            "unexpected argument 'extra'",
        ),
        (&["doctor", "extra"], "", 2, "unexpected argument 'extra'"),
        (&["erase", "nowhere.example"], "", 1, not_stored),
        (&["erase", "example.com"], "", 0, ""),
        (
            &["erase", "ssh://git@example.com/x.git"],
            "",
            2,
            "is an SSH remote",
        ),
        (&["lsit"], "", 2, "unrecognized subcommand 'lsit'"),
    ];
    for (args, stdin, code, says) in table {
        let out = env.patrol(args, stdin);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        if says.is_empty() {
            assert_lacks!(stderr, "git-credential-patrol:", "{args:?}");
            assert_lacks!(stderr, "error:", "{args:?}");
        } else {
            assert_contains!(stderr, says, "{args:?}: {stderr}");
        }
        assert!(!stderr.contains(TOKEN) && !stderr.contains(NEW), "{stderr}");
    }
}

#[test]
fn a_mistyped_command_fails_even_without_a_terminal() {
    let env = TestEnv::new();
    for (typo, meant) in [("lsit", "list"), ("delete", ""), ("remove", "")] {
        for out in [from_dev_null(&env, &[typo]), env.patrol(&[typo], "")] {
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{typo}: {stderr}");
            assert_contains!(stderr, &format!("unrecognized subcommand '{typo}'"));
            assert_contains!(stderr, meant);
        }
    }
    // Something other than git's request on stdin is no request either.
    let out = env.patrol(&["lsit"], "hello\n");
    assert_eq!(out.status.code(), Some(2));
    // Git's request on stdin: an operation of git's future, ignored.
    let out = env.patrol(&["frobnicate"], "capability[]=authtype\nprotocol=https\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
}

/// A script whose stdin stays open and silent (a pipe nobody writes to)
/// still gets its answer: the look at stdin is bounded.
#[test]
fn a_typo_with_a_silent_open_stdin_fails_in_bounded_time() {
    let env = TestEnv::new();
    let mut child = env
        .command(BIN)
        .arg("lsit")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _open = child.stdin.take();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("still waiting for stdin after 20 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(2));
}

#[test]
fn git_operations_typed_at_a_terminal_say_what_they_are_for() {
    let env = TestEnv::new();
    for (op, instead) in [
        ("get", "git credential fill"),
        ("store", "git credential approve"),
        ("erase", "git credential reject"),
    ] {
        let (code, shown) = at_terminal(&env, &format!("{BIN} {op}"), "");
        assert_eq!(code, Some(2), "{op}: {shown}");
        assert_eq!(shown.lines().count(), 1, "{op}: one line: {shown}");
        assert_contains!(shown, &format!("`{op}` is for git"));
        assert_contains!(shown, instead);
    }
    let (code, shown) = at_terminal(&env, &format!("{BIN} capability"), "");
    assert_eq!(code, Some(0), "{shown}");
}

#[test]
fn url_arguments_in_the_forms_people_paste() {
    let env = TestEnv::new();
    env.config("patrol.forge", "none");
    env.approve(&format!(
        "protocol=https\nhost=git.example.com\nusername=alice\npassword={TOKEN}\n"
    ));
    for url in [
        "git.example.com",
        "https://git.example.com",
        "https://git.example.com/alice/x.git",
        "https://git.example.com/alice/x.git/",
        "https://GIT.Example.COM",
        "git.example.com:443",
        "https://git.example.com:443/alice/x",
        "https://alice@git.example.com/alice/x.git",
        "https://alice:ghp_TESTpasted@git.example.com",
    ] {
        let out = env.patrol(&["token", url], "");
        assert_eq!(
            (out.status.code(), text(&out.stdout)),
            (Some(0), format!("{TOKEN}\n")),
            "{url}: {}",
            text(&out.stderr)
        );
    }
    // What git itself answers for a remote URL.
    let filled = env.credential("fill", &[], "url=https://git.example.com/alice/x.git\n");
    assert_contains!(text(&filled.stdout), TOKEN);
    let out = env.patrol(&["token", "https://bob:ghp_TESTpasted@git.example.com"], "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_contains!(
        stderr,
        "no stored credential for https://git.example.com and user bob"
    );
    assert!(!stderr.contains("ghp_TESTpasted"), "never echoed: {stderr}");

    for ssh in [
        "git@git.example.com:alice/x.git",
        "ssh://git@git.example.com/alice/x.git",
    ] {
        for command in ["token", "erase", "rotate", "check"] {
            let out = env.patrol(&[command, ssh], "");
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {ssh}: {stderr}");
            assert_contains!(stderr, "is an SSH remote");
            assert_contains!(stderr, "never asks a credential helper");
        }
    }
}

#[test]
fn a_path_names_a_credential_only_where_git_keeps_it() {
    let env = TestEnv::new();
    env.config("patrol.forge", "none");
    env.config("credential.https://paths.example.useHttpPath", "true");
    env.approve(&format!(
        "url=https://alice@paths.example/team/one.git\npassword={TOKEN}\n"
    ));
    let token = |url: &str| {
        let out = env.patrol(&["token", url], "");
        (out.status.code(), text(&out.stdout))
    };
    assert_eq!(
        token("https://paths.example/team/one.git/"),
        (Some(0), format!("{TOKEN}\n"))
    );
    assert_eq!(token("https://paths.example/team/two.git").0, Some(1));
    assert_eq!(
        token("paths.example"),
        (Some(0), format!("{TOKEN}\n")),
        "no path: every path of the host"
    );
}

#[test]
fn use_http_path_is_read_as_git_reads_it() {
    const A: &str = "ghp_TESTcli0000000000000000000000000000a";
    const B: &str = "ghp_TESTcli0000000000000000000000000000b";
    let env = TestEnv::new();
    // A bare host applies to git's credentials (not to `--get-urlmatch`):
    // git stores each repository's token under its own path.
    env.config("credential.h.example.com.useHttpPath", "true");
    for (repo, token) in [("a", A), ("b", B)] {
        env.approve(&format!(
            "url=https://u@h.example.com/org/{repo}.git\npassword={token}\n"
        ));
    }
    let fill = |url: &str| text(&env.credential("fill", &[], &format!("url={url}\n")).stdout);
    assert_contains!(fill("https://h.example.com/org/b.git"), B);
    let out = env.patrol(&["token", "https://h.example.com/org/a.git"], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), format!("{A}\n")),
        "{}",
        text(&out.stderr)
    );
    let out = env.patrol(&["erase", "https://h.example.com/org/a.git"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_contains!(fill("https://h.example.com/org/b.git"), B);
    let out = env.patrol(&["token", "https://h.example.com/org/a.git"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // The host alone names both; the message names their URLs.
    env.approve(&format!(
        "url=https://u@h.example.com/org/a.git\npassword={A}\n"
    ));
    let out = env.patrol(&["token", "h.example.com"], "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_contains!(stderr, "https://h.example.com/org/a.git for u");
    assert_contains!(stderr, "name one by its URL with its path");

    // Every entry that applies, in the order git reads them: the later,
    // less specific one wins, and git stores no path.
    env.config("credential.https://h2.example.com/org.useHttpPath", "true");
    env.config("credential.https://h2.example.com.useHttpPath", "false");
    env.approve(&format!(
        "url=https://u@h2.example.com/org/a.git\npassword={A}\n"
    ));
    let out = env.patrol(&["token", "https://h2.example.com/org/a.git"], "");
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), format!("{A}\n")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_date_in_the_past_needs_saying_so() {
    let env = with_one_stored();
    let out = env.patrol(&["expiry", "example.com", "2019-05-01"], "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_contains!(stderr, "2019-05-01 00:00 UTC (");
    assert_contains!(stderr, "is in the past");
    assert_contains!(stderr, "--allow-past");
    assert!(env.index()["credentials"][0]["expiry"]["manual"].is_null());

    // At a terminal, a "no" changes nothing and a "yes" records it.
    let line = format!("{BIN} expiry example.com 2019-05-01");
    let (code, shown) = at_terminal(&env, &line, "n\n");
    assert_eq!(code, Some(2), "{shown}");
    assert_contains!(
        shown,
        "is in the past; record the token as already expired? [y/N]"
    );
    assert!(env.index()["credentials"][0]["expiry"]["manual"].is_null());
    let (code, shown) = at_terminal(&env, &line, "y\n");
    assert_eq!(code, Some(0), "{shown}");
    assert_contains!(shown, "now recorded as expired ");
    assert_eq!(
        env.index()["credentials"][0]["expiry"]["manual"],
        "2019-05-01T00:00:00Z"
    );

    let out = env.patrol(&["expiry", "example.com", "2019-05-02", "--allow-past"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(text(&out.stdout), "now recorded as expired ");
}

#[test]
fn rotate_on_github_takes_the_expiry_the_forge_reports() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        Reply::json(200, json!({ "login": "alice", "id": 1 }))
            .header("X-OAuth-Scopes", "repo")
            .header(
                "GitHub-Authentication-Token-Expiration",
                "2099-12-01 00:00:00 UTC",
            ),
    );
    let env = TestEnv::new();
    env.config("patrol.forge", "github");
    env.config("patrol.probe", "false");
    env.approve(&format!(
        "protocol=https\nhost=git.example.com\nusername=alice\npassword={TOKEN}\n"
    ));
    env.config("patrol.probe", "true");
    env.config("patrol.https://git.example.com.apiUrl", &forge.url());
    let out = env.patrol(&["rotate", "git.example.com"], &format!("{NEW}\n"));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(stdout, "It expires in ");
    assert_contains!(stdout, "(2099-12-01 00:00 UTC), as GitHub says.");
    let record = &env.index()["credentials"][0];
    assert_eq!(
        record["expiry"]["forge"], "2099-12-01T00:00:00Z",
        "{record}"
    );
}

#[test]
fn rotate_elsewhere_records_the_expiry_given_or_says_how_to_set_it() {
    let env = with_one_stored();
    env.config("patrol.rotateAfter", "90 days");
    let out = env.patrol(&["rotate", "example.com"], &format!("{NEW}\n"));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(
        stdout,
        "Its expiry is unknown; rotation falls due in 3 months (patrol.rotateAfter). \
             Set it with: git credential-patrol expiry https://example.com DATE --user alice"
    );
    assert_eq!(env.index()["credentials"][0]["expiry"], json!({}));

    let out = env.patrol(
        &["rotate", "example.com", "--expires", "2099-01-31"],
        &format!("{TOKEN}\n"),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(stdout, "(2099-01-31 00:00 UTC), as you said.");
    assert_eq!(
        env.index()["credentials"][0]["expiry"]["manual"],
        "2099-01-31T00:00:00Z"
    );
    let out = env.patrol(
        &["rotate", "example.com", "--expires", "2019-01-31"],
        &format!("{NEW}\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_contains!(text(&out.stderr), "2019-01-31 00:00 UTC (");
}

#[test]
fn settings_go_before_the_command_and_appear_only_there() {
    let env = TestEnv::new();
    let top = text(&env.patrol(&["--help"], "").stdout);
    assert_contains!(top, "--warn-before");
    for command in ["list", "token", "erase", "rotate", "install"] {
        let help = text(&env.patrol(&[command, "--help"], "").stdout);
        assert!(!help.contains("--warn-before"), "{command}: {help}");
        assert!(!help.contains("--warn-every"), "{command}: {help}");
    }
    let out = env.patrol(&["--warn-before=30d", "list"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn rotate_at_a_terminal_asks_for_the_expiry_the_forge_does_not_report() {
    let env = with_one_stored();
    let line = format!("{BIN} rotate example.com");
    let (code, shown) = at_terminal(&env, &line, &format!("{NEW}\n90d\n"));
    assert_eq!(code, Some(0), "{shown}");
    assert_contains!(shown, "3. When does the new token expire?");
    assert_contains!(shown, "), as you said.");
    // The terminal echoes what is typed ahead, before rotate turns echo
    // off; after that the token must not appear.
    let after = &shown[shown.find("Rotating").unwrap()..];
    assert!(!after.contains(NEW), "the token is not echoed: {shown}");
    let record = &env.index()["credentials"][0];
    assert!(record["expiry"]["manual"].is_string(), "{record}");

    // Enter: it stays unknown, and rotate says how to set it.
    let (code, shown) = at_terminal(&env, &line, &format!("{TOKEN}\n\n"));
    assert_eq!(code, Some(0), "{shown}");
    assert_contains!(shown, "Its expiry is unknown. Set it with: ");
    assert_eq!(env.index()["credentials"][0]["expiry"], json!({}));
}
