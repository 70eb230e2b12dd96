//! The protocol operations beyond git's own suite: capabilities, state,
//! bad input, and what each operation costs in keychain calls.

use crate::support::env::TestEnv;
use crate::support::{assert_contains, assert_lacks, text};

const STORE: &str =
    "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTsecret0001\n";

#[test]
fn capability_lists_what_we_speak() {
    let env = TestEnv::new();
    let out = env.patrol(&["capability"], "");
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        "version 0\ncapability authtype\ncapability state\n"
    );
}

#[test]
fn unknown_operations_from_git_are_ignored_silently() {
    let env = TestEnv::new();
    let out = env.patrol(&["frobnicate"], "protocol=https\nhost=example.com\n");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn bad_input_is_refused_in_one_line_and_nothing_is_stored() {
    let env = TestEnv::new();
    let long = format!(
        "protocol=https\nhost=example.com\nusername=a\npassword={}\n",
        "x".repeat(1 << 20)
    );
    let cases: [(&str, &[u8], &str); 6] = [
        (
            "store",
            b"protocol=https\nhost=exa\0mple.com\npassword=p\n",
            "NUL",
        ),
        ("store", long.as_bytes(), "longer than 1048576 bytes"),
        (
            "store",
            b"protocol=https\nhost=\xffexample.com\npassword=p\n",
            "UTF-8",
        ),
        (
            "store",
            b"protocol=https\npassword=p\n",
            "neither a `host` nor a `path`",
        ),
        (
            "store",
            b"protocol=https\nhost=example.com\nusername=a\n",
            "no `password`",
        ),
        (
            "erase",
            b"protocol=https\nhost=example.com\ngarbage\n",
            "not `key=value`",
        ),
    ];
    for (op, input, expected) in cases {
        let mut command = env.command(crate::support::env::BIN);
        command.arg(op);
        let out = crate::support::run(command, input);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{op}: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{op}: one line expected: {stderr}"
        );
        assert_contains!(stderr, expected, "{op}: {stderr}");
        assert_eq!(text(&out.stdout), "");
    }
    assert!(!env.index_dir().exists(), "nothing may be stored");
}

#[test]
fn what_git_sends_is_read_however_long_and_an_expiry_as_git_reads_it() {
    let env = TestEnv::new();
    env.config("patrol.forge", "none");
    // Longer than the 65,535 bytes a line once allowed; git has no limit.
    let password = format!("ghp_TEST{}", "x".repeat(70_000));
    env.approve(&format!(
        "protocol=https\nhost=long.example\nusername=alice\npassword={password}\n"
    ));
    let unknown = format!("future_key={}\n", "y".repeat(70_000));
    let out = env.patrol(
        &["get"],
        &format!("protocol=https\nhost=long.example\n{unknown}"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(text(&out.stdout), &password);
    let filled = env.credential("fill", &[], "protocol=https\nhost=long.example\n");
    assert_contains!(text(&filled.stdout), &password);

    // `soon` is no timestamp: git reads it as no expiry and stores the
    // credential, and so does patrol.
    let out = env.patrol(
        &["store"],
        "protocol=https\nhost=soon.example\nusername=bob\npassword=ghp_TESTsoon0001\n\
         password_expiry_utc=soon\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let filled = env.credential("fill", &[], "protocol=https\nhost=soon.example\n");
    let filled = text(&filled.stdout);
    assert_contains!(filled, "password=ghp_TESTsoon0001");
    assert!(!filled.contains("password_expiry_utc"), "{filled}");
}

#[test]
fn a_person_who_mistypes_a_command_gets_a_suggestion() {
    let env = TestEnv::new();
    // `script` gives the command a terminal, which is what marks a person.
    let out = env
        .command("script")
        .args([
            "-qec",
            &format!("{} lsit", crate::support::env::BIN),
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let shown = text(&out.stdout);
    assert_contains!(shown, "similar");
    assert_contains!(shown, "list");
}

fn traced(env: &TestEnv, op: &str, input: &str) -> String {
    let mut command = env.command(crate::support::env::BIN);
    command.arg(op).env("GIT_CREDENTIAL_PATROL_TRACE", "1");
    let out = crate::support::run(command, input.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stderr)
}

#[test]
fn storing_an_unchanged_credential_writes_nothing_to_the_keychain() {
    let env = TestEnv::new();
    let first = traced(&env, "store", STORE);
    assert_contains!(first, "keychain set");
    let again = traced(&env, "store", STORE);
    assert!(!again.contains("keychain set"), "{again}");
    assert_contains!(again, "keychain get", "compared with the keychain: {again}");
}

#[test]
fn a_new_credential_is_written_without_searching_for_it_first() {
    let env = TestEnv::new();
    env.approve(&STORE.replace("example.com", "first.example.com"));
    let new = traced(&env, "store", STORE);
    assert_contains!(new, "keychain set");
    assert_lacks!(new, "keychain get", "no search before the write");
    // Where the index cannot speak for the host, the keychain is asked.
    std::fs::remove_dir_all(env.index_dir()).unwrap();
    let lost = traced(&env, "store", &STORE.replace("0001", "0002"));
    assert_contains!(lost, "keychain get");
}

#[test]
fn state_handed_back_by_git_spares_even_the_keychain_read() {
    let env = TestEnv::new();
    env.approve(STORE);
    let filled = env.credential(
        "fill",
        &[],
        "capability[]=state\nprotocol=https\nhost=example.com\n",
    );
    let answer = text(&filled.stdout);
    assert_contains!(answer, "state[]=patrol:");
    let store = traced(&env, "store", &answer);
    assert_lacks!(store, "keychain", "no keychain call expected");
}

#[test]
fn a_changed_password_is_written() {
    let env = TestEnv::new();
    env.approve(STORE);
    let changed = STORE.replace("0001", "0002");
    let trace = traced(&env, "store", &changed);
    assert_contains!(trace, "keychain set");
    let out = env.credential("fill", &[], "protocol=https\nhost=example.com\n");
    assert_contains!(text(&out.stdout), "password=ghp_TESTsecret0002");
}

#[test]
fn get_makes_one_keychain_call_and_never_writes_the_index_when_quiet() {
    let env = TestEnv::new();
    env.approve(STORE);
    let before = env.index_bytes();
    let trace = traced(&env, "get", "protocol=https\nhost=example.com\n");
    assert_eq!(trace.matches("keychain").count(), 1, "{trace}");
    assert!(!trace.contains("index written"), "{trace}");
    assert_eq!(env.index_bytes(), before);
}

#[test]
fn get_connects_to_the_bus_while_git_config_runs_and_not_at_all_on_a_miss() {
    let env = TestEnv::new();
    env.approve(STORE);
    // Nothing set for patrol: no `git config` to overlap, so the
    // connection opens when the keychain is first asked.
    let hit = traced(&env, "get", "protocol=https\nhost=example.com\n");
    assert_contains!(hit, "git config: not run");
    assert!(!hit.contains("session bus: connecting"), "{hit}");
    assert_contains!(
        hit,
        "session bus: plain session opened on our own connection"
    );
    // A patrol key set: the connection opens while `git config` runs.
    env.config("patrol.warnBefore", "7 days");
    let hit = traced(&env, "get", "protocol=https\nhost=example.com\n");
    let asked = hit.find("git config: asked").expect(&hit);
    let connecting = hit.find("session bus: connecting").expect(&hit);
    let answered = hit.find("git config --get-regexp").expect(&hit);
    assert!(asked < connecting && connecting < answered, "{hit}");
    assert_contains!(hit, "keychain get");
    let miss = traced(&env, "get", "protocol=https\nhost=elsewhere.example.com\n");
    assert_contains!(miss, "git config --get-regexp");
    assert_lacks!(miss, "session bus", "a definite miss asks nothing of D-Bus");
    assert_lacks!(miss, "keychain", "a definite miss asks nothing of D-Bus");
}

#[test]
fn get_opens_its_session_while_git_config_runs() {
    let env = TestEnv::new();
    env.approve(STORE);
    env.config("patrol.warnBefore", "7 days");
    // gnome-keyring may answer a caller's very first message with "not
    // implemented" (see `secret_and_attributes`); then the session is
    // opened later, through zbus. A few tries make that race harmless here.
    let opened_early = |op: &str, input: &str| {
        (0..3).any(|_| {
            let trace = traced(&env, op, input);
            let late = trace
                .lines()
                .any(|line| line.ends_with("session bus: plain session opened"));
            trace.contains("session bus: plain session opened while the settings are read") && !late
        })
    };
    assert!(opened_early("get", "protocol=https\nhost=example.com\n"));
}

#[test]
fn the_index_records_metadata_and_never_the_secret() {
    let env = TestEnv::new();
    env.approve(
        "protocol=https\nhost=github.com\nusername=alice\npassword=github_pat_TESTfinegrained\npassword_expiry_utc=2000000000\n",
    );
    let shard = env.shard_path("https", "github.com");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&shard).unwrap()).unwrap();
    assert_eq!(file["version"], 2);
    let index = env.index();
    let record = &index["credentials"][0];
    assert_eq!(record["host"], "github.com");
    assert_eq!(record["username"], "alice");
    assert_eq!(record["kind"], "github-fine-grained");
    assert_eq!(record["expiry"]["git"], "2033-05-18T03:33:20Z");
    let raw = std::fs::read_to_string(&shard).unwrap();
    assert!(!raw.contains("github_pat_TEST"), "{raw}");
}

#[test]
fn items_carry_a_label_a_person_recognises() {
    let env = TestEnv::new();
    env.approve(STORE);
    let out = env
        .command("secret-tool")
        .args(["search", "--all", "application", "git-credential-patrol"])
        .output()
        .unwrap();
    let listing = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_contains!(listing, "label = git: https://example.com (alice)");
    assert_contains!(listing, "secret = ghp_TESTsecret0001");
}

#[test]
fn an_empty_path_is_read_alike_by_store_get_and_erase() {
    let env = TestEnv::new();
    let request = "protocol=https\nhost=example.com\npath=\nusername=alice\n";
    let stored = env.patrol(
        &["store"],
        &format!("{request}password=ghp_TESTempty0001\n"),
    );
    assert!(stored.status.success(), "{}", text(&stored.stderr));
    let got = env.patrol(&["get"], request);
    assert_contains!(
        text(&got.stdout),
        "password=ghp_TESTempty0001",
        "{}",
        text(&got.stderr)
    );
    let erased = env.patrol(&["erase"], request);
    assert!(erased.status.success(), "{}", text(&erased.stderr));
    let got = env.patrol(&["get"], request);
    assert_eq!(text(&got.stdout), "");
}
