//! Where the keychain keeps each item: the index remembers the Secret
//! Service object path, so that `get` reads the item directly instead of
//! searching a keyring that may hold thousands. The path is only a hint:
//! a stale one, or one naming another credential's item, must never change
//! what `get` answers.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::env::TestEnv;
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, text};

const ALICE: &str =
    "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0001\n";
const BOB: &str =
    "protocol=https\nhost=other.example.com\nusername=bob\npassword=ghp_TESTbob0002\n";

/// `dbus-monitor` on the test's private bus, recording every message.
struct Monitor {
    child: Child,
    seen: Arc<Mutex<String>>,
    markers: usize,
}

impl Monitor {
    fn start(env: &TestEnv) -> Self {
        let mut child = env
            .command("dbus-monitor")
            .arg("--session")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor is needed: run scripts/test, which installs it");
        let seen = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&seen);
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let mut seen = sink.lock().unwrap();
                seen.push_str(&line);
                seen.push('\n');
            }
        });
        let mut monitor = Self {
            child,
            seen,
            markers: 0,
        };
        monitor.mark(env);
        monitor
    }

    /// Sends a message the monitor must see, and waits (at most ten
    /// seconds) until it has: everything sent before it has been seen too.
    fn mark(&mut self, env: &TestEnv) {
        self.markers += 1;
        let marker = format!("patrol-test-marker-{}", self.markers);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.seen.lock().unwrap().contains(&marker) {
            assert!(Instant::now() < deadline, "dbus-monitor never saw {marker}");
            env.command("dbus-send")
                .args([
                    "--session",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                ])
                .arg(format!("string:{marker}"))
                .output()
                .unwrap();
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The messages seen since the last call, up to a fresh marker.
    fn take(&mut self, env: &TestEnv) -> String {
        self.mark(env);
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn get(env: &TestEnv, host: &str) -> String {
    let out = env.patrol(&["get"], &format!("protocol=https\nhost={host}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "get says nothing when all is well");
    text(&out.stdout)
}

/// The `keychain_item` of the record for `host`.
fn item_of(env: &TestEnv, host: &str) -> Option<String> {
    let index = env.index();
    let record = index["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["host"] == host)
        .unwrap_or_else(|| panic!("no record for {host}: {index}"));
    record["keychain_item"].as_str().map(str::to_owned)
}

/// Rewrites the index with the record for `host` pointing at `item`.
fn set_item(env: &TestEnv, host: &str, item: Option<&str>) {
    let mut index = env.index();
    for record in index["credentials"].as_array_mut().unwrap() {
        if record["host"] == host {
            let record = record.as_object_mut().unwrap();
            match item {
                Some(item) => record.insert("keychain_item".into(), item.into()),
                None => record.remove("keychain_item"),
            };
        }
    }
    env.write_index(&index);
}

fn searches(messages: &str) -> usize {
    messages.matches("member=SearchItems").count()
}

#[test]
fn store_remembers_where_the_item_is_and_get_reads_it_without_a_search() {
    let env = TestEnv::new();
    env.approve(ALICE);
    let item = item_of(&env, "example.com").expect("store notes the item");
    assert!(
        item.starts_with("/org/freedesktop/secrets/collection/"),
        "{item}"
    );

    let mut monitor = Monitor::start(&env);
    assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0001");
    let messages = monitor.take(&env);
    assert_eq!(searches(&messages), 0, "{messages}");
    assert_contains!(messages, "member=GetSecrets");
    // Every call addressed to an item costs gnome-keyring a walk over all
    // its items: the hot path makes one, for the attributes that vouch for
    // the secret, and makes it while `GetSecrets` is under way.
    let item_calls: Vec<&str> = messages
        .lines()
        .filter(|l| l.starts_with("method call") && l.contains(&format!("path={item};")))
        .collect();
    assert_eq!(item_calls.len(), 1, "{messages}");
    assert_contains!(
        item_calls[0],
        "interface=org.freedesktop.DBus.Properties; member=Get",
        "{messages}"
    );

    // Without the hint, the same `get` searches: the monitor would see it.
    set_item(&env, "example.com", None);
    assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0001");
    let messages = monitor.take(&env);
    assert_eq!(searches(&messages), 1, "{messages}");
    // ... and notes where it found the item, so the next one does not.
    assert_eq!(item_of(&env, "example.com"), Some(item));
    get(&env, "example.com");
    assert_eq!(searches(&monitor.take(&env)), 0);
}

#[test]
fn a_stale_or_foreign_item_path_never_changes_the_answer() {
    let env = TestEnv::new();
    env.approve(ALICE);
    env.approve(BOB);
    let alice = item_of(&env, "example.com").unwrap();
    let bob = item_of(&env, "other.example.com").unwrap();
    assert_ne!(alice, bob);

    let collection = alice.rsplit_once('/').unwrap().0;
    let stale = format!("{collection}/9999");
    for hint in [bob.as_str(), stale.as_str(), "/", "not a D-Bus path"] {
        set_item(&env, "example.com", Some(hint));
        let answer = get(&env, "example.com");
        assert_contains!(
            answer,
            "password=ghp_TESTalice0001",
            "with the hint {hint}: {answer}"
        );
        assert_eq!(
            item_of(&env, "example.com").as_deref(),
            Some(alice.as_str()),
            "the hint {hint} is replaced by where the item is"
        );
    }
    assert_contains!(get(&env, "other.example.com"), "password=ghp_TESTbob0002");
}

#[test]
fn an_unchanged_store_notes_the_item_of_a_record_that_lacks_it() {
    let env = TestEnv::new();
    env.approve(ALICE);
    let item = item_of(&env, "example.com").unwrap();
    set_item(&env, "example.com", None);
    env.approve(ALICE);
    assert_eq!(item_of(&env, "example.com"), Some(item));
}

#[test]
fn an_erased_credential_keeps_no_item_and_a_new_one_is_found() {
    let env = TestEnv::new();
    env.approve(ALICE);
    env.reject(ALICE);
    assert_eq!(item_of(&env, "example.com"), None);
    assert_eq!(get(&env, "example.com"), "");

    let again = ALICE.replace("0001", "0003");
    env.approve(&again);
    assert!(item_of(&env, "example.com").is_some());
    assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0003");
}

#[test]
fn an_item_rewritten_by_another_program_is_still_read() {
    // secret-tool replaces an item with `CreateItem(replace)`, which
    // KeePassXC 2.7.4 answers with an access dialog: gnome-keyring only.
    let env = TestEnv::with_keyring(Keyring::Unlocked);
    env.approve(ALICE);
    // secret-tool replaces our item with one whose secret lacks the lines
    // naming it: the read by path cannot vouch for it, the search can.
    let mut command = env.command("secret-tool");
    command.args([
        "store",
        "--label=rewritten",
        "service",
        "git-credential-patrol:https://example.com",
        "username",
        "alice",
        "application",
        "git-credential-patrol",
    ]);
    let out = crate::support::run(command, b"ghp_TESTrewritten0004");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer = get(&env, "example.com");
    assert_contains!(answer, "password=ghp_TESTrewritten0004");
}

/// Whether `secret` crossed the bus in the clear, as dbus-monitor shows a
/// byte array: as text, or as hex bytes when it holds unprintable ones.
fn in_the_clear(messages: &str, secret: &str) -> bool {
    let hex: Vec<String> = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let bytes: Vec<&str> = messages
        .split_whitespace()
        .filter(|word| word.len() == 2 && word.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    messages.contains(secret)
        || bytes
            .windows(hex.len())
            .any(|window| window.iter().zip(&hex).all(|(a, b)| a == b))
}

#[test]
fn the_encrypted_session_keeps_secrets_off_the_bus_and_reads_by_path_too() {
    // The plain session shows the check can fail: there the secret is on
    // the bus for anyone watching it.
    for (session, clear) in [("plain", true), ("dh", false)] {
        let env = TestEnv::new();
        env.config("patrol.secretServiceSession", session);
        let mut monitor = Monitor::start(&env);
        env.approve(ALICE);
        let item = item_of(&env, "example.com").expect("store notes the item");
        assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0001");
        let messages = monitor.take(&env);
        assert_eq!(
            in_the_clear(&messages, "ghp_TESTalice0001"),
            clear,
            "{session}: {messages}"
        );
        assert_eq!(
            messages.contains("string \"dh-ietf1024-sha256-aes128-cbc-pkcs7\""),
            !clear,
            "{session}: {messages}"
        );
        // The remembered item is read without a search...
        assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0001");
        assert_eq!(searches(&monitor.take(&env)), 0, "{session}");
        // ... and a stale one sends the read to the search, not to "none".
        let collection = item.rsplit_once('/').unwrap().0;
        set_item(&env, "example.com", Some(&format!("{collection}/9999")));
        assert_contains!(
            get(&env, "example.com"),
            "password=ghp_TESTalice0001",
            "{session}"
        );
        assert_eq!(item_of(&env, "example.com"), Some(item), "{session}");

        env.approve(&ALICE.replace("0001", "0005"));
        assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0005");
        env.reject("protocol=https\nhost=example.com\n");
        assert_eq!(get(&env, "example.com"), "", "{session}: erased");
        let messages = monitor.take(&env);
        assert_eq!(
            in_the_clear(&messages, "ghp_TESTalice0005"),
            clear,
            "{session}: {messages}"
        );
    }
}

/// The first method each client called on the Secret Service, in the
/// order the clients first called it.
fn first_calls(messages: &str) -> Vec<String> {
    calls_by_connection(messages)
        .into_iter()
        .filter_map(|calls| calls.into_iter().next())
        .collect()
}

#[test]
fn no_process_begins_with_open_session() {
    // gnome-keyring now and then aborts when a caller's first message is an
    // `OpenSession` and callers follow each other closely (see `greet`).
    for session in ["plain", "dh"] {
        let env = TestEnv::new();
        env.config("patrol.secretServiceSession", session);
        let mut monitor = Monitor::start(&env);
        env.approve(ALICE);
        assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0001");
        env.approve(&ALICE.replace("0001", "0006"));
        assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0006");
        env.reject("protocol=https\nhost=example.com\n");
        let firsts = first_calls(&monitor.take(&env));
        assert!(firsts.len() >= 4, "{session}: {firsts:?}");
        assert!(
            !firsts.iter().any(|member| member == "OpenSession"),
            "{session}: {firsts:?}"
        );
    }
}

/// Each connection's calls to the Secret Service, in order.
fn calls_by_connection(messages: &str) -> Vec<Vec<String>> {
    let mut seen: Vec<(String, Vec<String>)> = Vec::new();
    for line in messages.lines() {
        if !line.starts_with("method call") || !line.contains("destination=org.freedesktop.secrets")
        {
            continue;
        }
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(name))
                .map(|value| value.trim_end_matches(';').to_owned())
        };
        let (Some(sender), Some(member)) = (field("sender="), field("member=")) else {
            continue;
        };
        match seen.iter_mut().find(|(known, _)| *known == sender) {
            Some((_, members)) => members.push(member),
            None => seen.push((sender, vec![member])),
        }
    }
    seen.into_iter().map(|(_, members)| members).collect()
}

#[test]
fn a_hit_and_an_unchanged_store_read_over_one_connection_with_one_call_for_the_secret() {
    let env = TestEnv::new();
    env.approve(ALICE);
    let mut monitor = Monitor::start(&env);
    // A hit, and a `store` of what is stored without `state[]` (git before
    // 2.46), which reads the item to compare and writes nothing. With
    // nothing set for patrol, `get` runs no `git config` and opens the
    // connection when it first asks; with a patrol key set, it opens it
    // while `git config` runs.
    let hit = "protocol=https\nhost=example.com\n";
    let own = "plain session opened on our own connection";
    let early = "plain session opened while the settings are read";
    for (op, input, answer, opened, key) in [
        ("get", hit, "password=ghp_TESTalice0001", own, None),
        ("store", ALICE, "", own, None),
        (
            "get",
            hit,
            "password=ghp_TESTalice0001",
            early,
            Some("patrol.warnBefore"),
        ),
    ] {
        if let Some(key) = key {
            env.config(key, "7 days");
            monitor.take(&env);
        }
        let mut command = env.command(crate::support::env::BIN);
        command.arg(op).env("GIT_CREDENTIAL_PATROL_TRACE", "1");
        let out = crate::support::run(command, input.as_bytes());
        assert!(
            out.status.success() && text(&out.stdout).contains(answer),
            "{op}"
        );
        let trace = text(&out.stderr);
        // Served over patrol's own connection (zbus's calls would be the
        // same), and zbus never connected, so nothing went wrong there that
        // a fallback would hide.
        assert_contains!(trace, opened, "{op}: {trace}");
        assert_eq!(
            calls_by_connection(&monitor.take(&env)),
            [["ReadAlias", "OpenSession", "GetSecrets", "Get"]],
            "{op}: {trace}"
        );
        assert!(!trace.contains("through zbus"), "{op}: {trace}");
        assert!(!trace.contains("keychain set"), "{op}: {trace}");
    }
}

#[test]
fn a_written_secret_is_read_back_only_where_the_provider_may_change_it() {
    // KeePassXC expands placeholders in what it hands out, so a write there
    // is read back; GNOME Keyring keeps the bytes it is given, and a read
    // right after a write waits there until the daemon has announced the
    // collection's whole item list.
    let env = TestEnv::new();
    let keepassxc = Keyring::under_test() == Keyring::KeePassXc;
    // The first store of all lists the keychain to start the index.
    env.approve(BOB);
    let mut monitor = Monitor::start(&env);
    for (input, written) in [
        (ALICE, "CreateItem"),
        (&*ALICE.replace("0001", "0002"), "SetSecret"),
    ] {
        env.approve(input);
        let calls = calls_by_connection(&monitor.take(&env));
        let writer = calls
            .iter()
            .find(|calls| calls.iter().any(|member| member == written))
            .unwrap_or_else(|| panic!("no {written}: {calls:?}"));
        let read_back = writer
            .iter()
            .skip_while(|member| *member != written)
            .any(|member| member == "GetSecrets");
        assert_eq!(read_back, keepassxc, "{written}: {calls:?}");
        if !keepassxc && written == "CreateItem" {
            // Everything a new credential costs GNOME Keyring: the search
            // for an item to replace, where new items go, and the write.
            assert_eq!(
                writer,
                &[
                    "SearchItems",
                    "ReadAlias",
                    "ReadAlias",
                    "ReadAlias",
                    "Get",
                    "OpenSession",
                    "CreateItem"
                ],
                "{calls:?}"
            );
        }
    }
    assert_contains!(get(&env, "example.com"), "password=ghp_TESTalice0002");
}
