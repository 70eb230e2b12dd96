//! Credentials the keychain holds and the index does not: after the index
//! was lost, a shard damaged, a store cut short, or an old copy of the
//! index put back. Every person's command still finds them, and the record
//! rebuilt keeps what the keychain item tells (kind of token, git's expiry,
//! a refresh token), saying what it could not learn.

use std::fs;

use serde_json::Value;

use crate::support::env::TestEnv;
use crate::support::{assert_contains, text};

fn store(env: &TestEnv, host: &str, user: &str, extra: &str) {
    let out = env.patrol(
        &["store"],
        &format!("protocol=https\nhost={host}\nusername={user}\n{extra}"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// `list --json`'s entry for `user` on `host`, and what `list` said on stderr.
fn listed(env: &TestEnv, host: &str, user: &str) -> (Option<Value>, String) {
    let out = env.patrol(&["list", "--json"], "");
    let listing: Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = listing["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["host"] == host && c["username"] == user)
        .cloned();
    (entry, text(&out.stderr))
}

#[test]
fn a_record_rebuilt_from_the_keychain_keeps_the_kind_and_gits_expiry() {
    let env = TestEnv::new();
    // 2030-01-01T00:00:00Z
    store(
        &env,
        "github.example",
        "alice",
        "password=ghp_TESTrebuilt0001\npassword_expiry_utc=1893456000\n",
    );
    store(
        &env,
        "gitlab.example",
        "bob",
        "password=glpat-TESTrebuilt0002\noauth_refresh_token=TESTrefresh\n",
    );
    store(&env, "plain.example", "carol", "password=TESTopaque\n");
    fs::remove_dir_all(env.index_dir()).unwrap();

    let (alice, said) = listed(&env, "github.example", "alice");
    let alice = alice.unwrap_or_else(|| panic!("not listed: {said}"));
    assert_eq!(alice["kind"], "github-classic", "{alice}");
    assert_eq!(alice["expires_at"], "2030-01-01T00:00:00Z", "{alice}");
    assert_eq!(alice["expiry_source"], "git", "{alice}");
    assert_contains!(
        said,
        "the index did not list 3 credentials the keychain holds"
    );
    // What could not be learnt from the keychain is named, with the fix.
    assert_contains!(said, "account, scopes, and the expiry of 1 of them");
    assert_contains!(said, "git credential-patrol check");

    let (bob, _) = listed(&env, "gitlab.example", "bob");
    let bob = bob.unwrap();
    assert_eq!(bob["kind"], "gitlab-personal", "{bob}");
    assert_eq!(bob["status"], "self-renewing", "{bob}");
    let (carol, said) = listed(&env, "plain.example", "carol");
    assert_eq!(carol.unwrap()["kind"], "unknown");
    assert!(!said.contains("did not list"), "said once: {said}");
}

#[test]
fn list_shows_a_damaged_shards_credentials_without_waiting_for_a_store() {
    let env = TestEnv::new();
    store(&env, "a.example", "alice", "password=ghp_TESTdamage0001\n");
    store(&env, "b.example", "bob", "password=ghp_TESTdamage0002\n");
    store(&env, "b.example", "bert", "password=glpat-TESTdamage0003\n");
    let shard = env.shard_path("https", "b.example");
    fs::write(&shard, "{\"version\": 2, \"credentials\": [tru").unwrap();
    let doctor = text(&env.patrol(&["doctor"], "").stdout);
    assert_contains!(
        doctor,
        "https_b.example.json",
        "doctor names the shard and the fix: {doctor}"
    );
    assert_contains!(
        doctor,
        "run `git credential-patrol list`",
        "doctor names the shard and the fix: {doctor}"
    );

    let (bert, said) = listed(&env, "b.example", "bert");
    assert_eq!(bert.unwrap()["kind"], "gitlab-personal", "{said}");
    assert_contains!(said, "https_b.example.json", "names it: {said}");
    assert_contains!(said, "moved to");
    assert_contains!(said, "the index did not list 2 credentials");
    let (bob, said) = listed(&env, "b.example", "bob");
    assert!(bob.is_some());
    assert!(listed(&env, "a.example", "alice").0.is_some());
    assert!(!said.contains("damaged"), "set aside once: {said}");
    let set_aside = fs::read_dir(env.index_dir())
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("https_b.example.json.damaged-")
        });
    assert!(set_aside, "kept, not deleted");
    let doctor = text(&env.patrol(&["doctor"], "").stdout);
    assert_contains!(doctor, "the index (");
    assert_contains!(doctor, "lists 3 credentials");
}

/// A store that died between the keychain and the index leaves a note; a
/// person's command finds the credential at once.
#[cfg(debug_assertions)]
#[test]
fn list_shows_what_a_store_cut_short_left_in_the_keychain() {
    use crate::support::env::BIN;
    use crate::support::run;

    let env = TestEnv::new();
    store(&env, "a.example", "alice", "password=ghp_TESTpending0001\n");
    let mut command = env.command(BIN);
    command.arg("store").env(
        "GIT_CREDENTIAL_PATROL_TEST_CRASH_AT",
        "store-after-keychain",
    );
    let out = run(
        command,
        b"protocol=https\nhost=new.example\nusername=nina\npassword=github_pat_TESTpending0002\n",
    );
    assert_eq!(out.status.code(), None, "{}", text(&out.stderr));
    assert!(env.index_dir().join("pending").read_dir().unwrap().count() > 0);

    let (nina, said) = listed(&env, "new.example", "nina");
    let nina = nina.unwrap_or_else(|| panic!("not listed: {said}"));
    assert_eq!(nina["kind"], "github-fine-grained", "{nina}");
    assert_contains!(
        said,
        "the index did not list 1 credential the keychain holds"
    );
}

/// An older copy of the index put back (from a backup, say) is complete
/// but does not know later credentials: `token`, `expiry`, `erase`,
/// `check` and `rotate` find them in the keychain all the same, and record
/// them again.
#[test]
fn person_commands_find_what_a_complete_but_stale_index_does_not_know() {
    let env = TestEnv::new();
    store(&env, "h.example", "alice", "password=ghp_TESTstale0001\n");
    let old = fs::read(env.shard_path("https", "h.example")).unwrap();
    for (user, token) in [
        ("bob", "ghp_TESTstale0002"),
        ("carol", "ghp_TESTstale0003"),
        ("dave", "ghp_TESTstale0004"),
        ("erin", "ghp_TESTstale0005"),
        ("fay", "ghp_TESTstale0006"),
    ] {
        store(&env, "h.example", user, &format!("password={token}\n"));
    }
    fs::write(env.shard_path("https", "h.example"), &old).unwrap();
    assert!(env.index_dir().join("complete").is_file());

    let out = env.patrol(&["token", "https://h.example", "--user", "bob"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ghp_TESTstale0002\n");

    let out = env.patrol(
        &["expiry", "h.example", "2031-05-01", "--user", "carol"],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(text(&out.stdout), "now recorded as expiring");
    let (carol, _) = listed(&env, "h.example", "carol");
    let carol = carol.unwrap();
    assert_eq!(carol["expires_at"], "2031-05-01T00:00:00Z", "{carol}");
    assert_eq!(carol["expiry_source"], "manual", "{carol}");
    assert_eq!(carol["kind"], "github-classic", "{carol}");

    let out = env.patrol(&["erase", "https://h.example", "--user", "dave"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(
        text(&out.stdout),
        "Removed the token for https://h.example (dave)"
    );
    let out = env.patrol(&["token", "https://h.example", "--user", "dave"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_contains!(
        text(&out.stderr),
        "no stored credential for https://h.example and user dave"
    );

    let out = env.patrol(&["check", "https://h.example", "--user", "erin"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert_contains!(report, "https://h.example (erin)");
    assert_contains!(report, "kind:     github-classic");

    let out = env.patrol(
        &[
            "rotate",
            "https://h.example",
            "--user",
            "fay",
            "--expires",
            "90d",
        ],
        "ghp_TESTstale0016\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = env.patrol(&["token", "https://h.example", "--user", "fay"], "");
    assert_eq!(text(&out.stdout), "ghp_TESTstale0016\n");

    // Not found anywhere: the same failure as before.
    let out = env.patrol(&["erase", "https://h.example", "--user", "nobody"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// Without `--user`, several accounts the index does not know are not
/// guessed between.
#[test]
fn several_accounts_found_only_in_the_keychain_need_a_user() {
    let env = TestEnv::new();
    store(&env, "s.example", "sam", "password=ghp_TESTseveral0001\n");
    store(&env, "s.example", "sue", "password=ghp_TESTseveral0002\n");
    store(&env, "t.example", "tom", "password=ghp_TESTseveral0003\n");
    fs::remove_file(env.shard_path("https", "s.example")).unwrap();
    let out = env.patrol(&["expiry", "https://s.example", "never"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_contains!(
        text(&out.stderr),
        "has several accounts (sam, sue); name one with --user"
    );
}

/// A store for the host whose shard is damaged finds that host's other
/// credentials at once: the index is whole again after it.
#[test]
fn a_store_for_a_damaged_hosts_shard_records_its_other_credentials_again() {
    let env = TestEnv::new();
    store(&env, "b.example", "bob", "password=ghp_TESTsame0001\n");
    store(&env, "b.example", "bert", "password=glpat-TESTsame0002\n");
    fs::write(env.shard_path("https", "b.example"), "{damaged").unwrap();
    let out = env.patrol(
        &["store"],
        "protocol=https\nhost=b.example\nusername=bob\npassword=ghp_TESTsame0001\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert_contains!(said, "moved to");
    assert_contains!(said, "did not list 2 credentials");
    assert!(env.index_dir().join("complete").is_file());
    let index = env.index();
    let users: Vec<&str> = index["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    assert_eq!(users.len(), 2, "{users:?}");
    assert!(
        users.contains(&"bert") && users.contains(&"bob"),
        "{users:?}"
    );
    let bert = index["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["username"] == "bert")
        .unwrap();
    assert_eq!(bert["kind"], "gitlab-personal");
}
