//! Expiry and rotation, end to end: real pushes to a loopback git server
//! that requires Basic auth, the warnings git shows, `list`, `expiry`,
//! `rotate` and `erase URL`.

use std::fs;
use std::path::PathBuf;

use crate::support::env::{BIN, TestEnv};
use crate::support::git_server::{GitServer, bare_repo};
use crate::support::{assert_contains, assert_lacks, now, run, text};

const OLD: &str = "ghp_TESTold000000000000000000000000000";
const NEW: &str = "ghp_TESTnew000000000000000000000000000";

const DAY: i64 = 86_400;

/// A server with an empty `project.git`, and a local clone-to-be with one
/// commit, pushing through our helper.
struct Push {
    env: TestEnv,
    server: GitServer,
    work: PathBuf,
    /// The git that pushes.
    git: String,
}

/// Debian 12's git, older than `password_expiry_utc`.
const OLD_GIT: &str = "/usr/bin/git";

impl Push {
    fn new() -> Self {
        let push = Self::with_git("git");
        let version = text(&push.env.git(&["version"], "").stdout);
        let (major, minor) = parse_version(&version);
        assert!(
            (major, minor) >= (2, 41),
            "these tests need git 2.41 or later (password_expiry_utc); found {version}"
        );
        push
    }

    /// Pushing with `git`, whatever its version.
    fn with_git(git: &str) -> Self {
        let env = TestEnv::new();
        let srv = env.root().join("srv");
        fs::create_dir_all(&srv).unwrap();
        bare_repo(&srv, "project.git");
        let server = GitServer::start(&srv);
        env.config("credential.helper", BIN);
        env.config("user.name", "Test");
        env.config("user.email", "test@example.com");
        let work = env.home().join("work");
        for args in [
            vec!["init", "-q", "-b", "main", work.to_str().unwrap()],
            vec![
                "-C",
                work.to_str().unwrap(),
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "first",
            ],
            vec![
                "-C",
                work.to_str().unwrap(),
                "remote",
                "add",
                "origin",
                &server.url("project.git"),
            ],
        ] {
            let out = env.git(&args, "");
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
        Push {
            env,
            server,
            work,
            git: git.into(),
        }
    }

    fn store(&self, user: &str, token: &str, expiry: Option<i64>) {
        let mut input = format!(
            "protocol=http\nhost={}\nusername={user}\npassword={token}\n",
            self.server.host()
        );
        if let Some(expiry) = expiry {
            input.push_str(&format!("password_expiry_utc={expiry}\n"));
        }
        // Straight to the helper: git itself refuses to store a credential
        // that has already expired.
        let out = self.env.patrol(&["store"], &input);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    /// `git push`, with an askpass that answers `user` and `token`.
    fn push(&self, user: &str, token: &str) -> std::process::Output {
        self.push_with(user, token, &[])
    }

    /// `push`, with these variables set for git and its helpers.
    fn push_with(&self, user: &str, token: &str, vars: &[(&str, &str)]) -> std::process::Output {
        let askpass = self.env.root().join("askpass-push");
        fs::write(
            &askpass,
            format!(
                "#!/bin/sh\necho >&2 askpass: $*\ncase \"$1\" in Username*) echo {user};; *) echo {token};; esac\n"
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&askpass, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut command = self.env.command(&self.git);
        command
            .args(["-C", self.work.to_str().unwrap(), "push", "origin", "main"])
            .env("GIT_ASKPASS", &askpass)
            .envs(vars.iter().copied());
        run(command, b"")
    }

    fn fill(&self) -> String {
        let input = format!("protocol=http\nhost={}\n", self.server.host());
        text(&self.env.credential("fill", &[], &input).stdout)
    }

    fn url(&self) -> String {
        format!("http://{}", self.server.host())
    }
}

fn parse_version(text: &str) -> (u32, u32) {
    let mut numbers = text
        .split_whitespace()
        .nth(2)
        .unwrap_or("0.0")
        .split('.')
        .map(|n| n.parse().unwrap_or(0));
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
}

#[test]
fn a_push_warns_days_before_the_token_expires() {
    let push = Push::new();
    push.server.accept("alice", OLD);
    push.store("alice", OLD, Some(now() + 3 * DAY));
    let out = push.push("nobody", "nothing");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let url = push.url();
    assert_contains!(
        stderr,
        &format!("warning: the token for {url} (alice) expires in 3 days (")
    );
    assert_contains!(
        stderr,
        &format!("then run: git credential-patrol rotate {url} --user alice\n")
    );
    assert_lacks!(stderr, "askpass:", "the stored token was used");
    // These pushes write stderr into a pipe, which nobody may read: the
    // warning counts for nothing and the next push gives it again.
    let piped = text(&push.push("nobody", "nothing").stderr);
    assert_contains!(piped, "expires in 3 days");
    // A CI job's log is read: the warning given there is remembered, and
    // the next push inside `warnEvery` is quiet.
    let logged = text(
        &push
            .push_with("nobody", "nothing", &[("CI", "true")])
            .stderr,
    );
    assert_contains!(logged, "expires in 3 days");
    let again = text(&push.push("nobody", "nothing").stderr);
    assert!(!again.contains("warning:"), "{again}");
}

#[test]
fn an_expired_token_is_not_sent_and_the_new_one_is_stored() {
    let push = Push::new();
    push.server.accept("alice", NEW);
    push.store("alice", OLD, Some(now() - DAY));
    let out = push.push("alice", NEW);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_contains!(
        stderr,
        &format!(
            "warning: the token for {} (alice) expired 24 hours ago",
            push.url()
        )
    );
    assert_contains!(
        stderr,
        "askpass: Password for",
        "git asked for a new one: {stderr}"
    );
    assert!(
        push.server.refused().is_empty(),
        "the expired token was sent: {:?}",
        push.server.refused()
    );
    assert_contains!(push.fill(), &format!("password={NEW}\n"));
    let record = &push.env.index()["credentials"][0];
    assert_eq!(record["expiry"], serde_json::json!({}), "{record}");
    assert!(record["last_used_at"].is_null());
}

#[test]
fn a_push_records_when_the_token_was_last_used() {
    let push = Push::new();
    push.server.accept("alice", OLD);
    push.store("alice", OLD, None);
    let listed = |push: &Push| {
        let out = push.env.patrol(&["list", "--json"], "");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["credentials"][0]
            ["last_used_at"]
            .clone()
    };
    assert!(listed(&push).is_null(), "stored, never used yet");
    let before = now();
    let out = push.push("nobody", "nothing");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Git reports the success with a `store` of the same credential.
    let used = listed(&push);
    let used = chrono::DateTime::parse_from_rfc3339(used.as_str().unwrap_or_default())
        .unwrap_or_else(|_| panic!("last_used_at is a time after a push: {used}"))
        .timestamp();
    assert!((before - 1..=now() + 1).contains(&used), "{used}");
    let table = text(&push.env.patrol(&["list"], "").stdout);
    let row = table.lines().nth(1).unwrap();
    assert!(row.ends_with("now"), "last used just now: {table}");
}

#[test]
fn a_token_the_server_refuses_is_erased_and_remembered_as_such() {
    let push = Push::new();
    push.server.accept("alice", NEW);
    push.store("alice", OLD, None);
    // Git gives up on the first refusal; it erases the token it tried.
    let out = push.push("nobody", "nothing");
    assert!(!out.status.success());
    assert_eq!(push.server.refused().len(), 1);
    assert!(!push.fill().contains(OLD));
    let listing = push.env.patrol(&["list"], "");
    let table = text(&listing.stdout);
    assert_contains!(table, "erased: rejected by the server on ");
    let json = push.env.patrol(&["list", "--json"], "");
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["credentials"][0]["status"], "erased");
    assert_eq!(parsed["credentials"][0]["erased_by"], "git");

    // The next push asks, and the token typed there takes the old one's place.
    let out = push.push("alice", NEW);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(text(&out.stderr), "askpass: Password for");
    assert_contains!(push.fill(), &format!("password={NEW}\n"));
    let record = &push.env.index()["credentials"][0];
    assert!(record["erased"].is_null(), "{record}");
    assert_eq!(push.env.index()["credentials"].as_array().unwrap().len(), 1);
}

fn store(env: &TestEnv, host: &str, user: &str, token: &str, expiry: Option<i64>) {
    let mut input = format!("protocol=https\nhost={host}\nusername={user}\npassword={token}\n");
    if let Some(expiry) = expiry {
        input.push_str(&format!("password_expiry_utc={expiry}\n"));
    }
    env.approve(&input);
}

/// `get` with its stderr read, as in a CI job's log: its warnings count
/// against `warnEvery`.
fn get(env: &TestEnv, host: &str, helper_args: &[&str]) -> (String, String) {
    let mut command = env.command(crate::support::env::BIN);
    command.args(helper_args).arg("get").env("CI", "true");
    let out = run(command, format!("protocol=https\nhost={host}\n").as_bytes());
    assert!(out.status.success());
    (text(&out.stdout), text(&out.stderr))
}

#[test]
fn warn_every_throttles_except_in_the_last_day() {
    let env = TestEnv::new();
    store(&env, "five.example", "alice", OLD, Some(now() + 5 * DAY));
    store(
        &env,
        "tomorrow.example",
        "alice",
        OLD,
        Some(now() + 20 * 3600),
    );
    assert_contains!(get(&env, "five.example", &[]).1, "expires in 5 days");
    assert_eq!(
        get(&env, "five.example", &[]).1,
        "",
        "throttled by patrol.warnEvery"
    );
    assert_contains!(
        get(&env, "five.example", &["--warn-every=0s"]).1,
        "expires in 5 days"
    );
    for _ in 0..2 {
        assert_contains!(get(&env, "tomorrow.example", &[]).1, "expires in 20 hours");
    }
}

#[test]
fn warn_every_set_in_git_config_sets_the_interval() {
    let env = TestEnv::new();
    store(&env, "five.example", "alice", OLD, Some(now() + 5 * DAY));
    env.config("patrol.warnEvery", "0s");
    for _ in 0..2 {
        let (_, stderr) = get(&env, "five.example", &[]);
        assert_contains!(stderr, "expires in 5 days");
    }
    // A URL-matched setting wins for its URL: the warning just given
    // holds for 3 days.
    env.config("patrol.https://five.example.warnEvery", "3 days");
    assert_eq!(get(&env, "five.example", &[]).1, "", "throttled for 3 days");
}

#[test]
fn warn_before_comes_from_url_matched_config_or_the_helper_line() {
    let env = TestEnv::new();
    store(&env, "a.example", "alice", OLD, Some(now() + 20 * DAY));
    store(&env, "b.example", "alice", OLD, Some(now() + 20 * DAY));
    assert_eq!(
        get(&env, "a.example", &[]).1,
        "",
        "outside the default 7 days"
    );
    env.config("patrol.https://a.example.warnBefore", "30 days");
    assert_contains!(get(&env, "a.example", &[]).1, "expires in 3 weeks");
    assert_eq!(
        get(&env, "b.example", &[]).1,
        "",
        "the setting is for a.example only"
    );

    // The way people write it in their config: arguments after the helper.
    let helper = format!("credential.helper={BIN} --warn-before=21d");
    let out = env.git(
        &[
            "-c",
            "credential.helper=",
            "-c",
            &helper,
            "credential",
            "fill",
        ],
        "protocol=https\nhost=b.example\n",
    );
    assert_contains!(text(&out.stderr), "expires in 3 weeks");
}

#[test]
fn rotate_after_makes_rotation_due_whatever_the_expiry() {
    // A far or unknown expiry never hides a due rotation; a past or near
    // one is more urgent and is what `get` and `list` lead with, while
    // `list --json` still gives the rotation's date.
    for (expiry, status, warning) in [
        (None, "rotation-due", "is due for rotation in 5 days"),
        (
            Some(now() + 300 * DAY),
            "rotation-due",
            "is due for rotation in 5 days",
        ),
        (Some(now() + 3 * DAY), "expiring", "expires in 3 days"),
        (Some(now() - 2 * DAY), "expired", "expired 2 days ago"),
    ] {
        let env = TestEnv::new();
        store(&env, "example.com", "alice", OLD, None);
        if let Some(at) = expiry {
            // Straight to the helper: git refuses to store an expired token.
            let input = format!(
                "protocol=https\nhost=example.com\nusername=alice\npassword={OLD}\n\
                 password_expiry_utc={at}\n"
            );
            let out = env.patrol(&["store"], &input);
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
        env.config("patrol.rotateAfter", "5 days");
        let (_, stderr) = get(&env, "example.com", &[]);
        assert_contains!(stderr, warning, "{expiry:?}: {stderr}");
        let listing = env.patrol(&["list", "--json"], "");
        assert_eq!(listing.status.code(), Some(1), "{expiry:?}");
        let parsed: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
        let record = &parsed["credentials"][0];
        assert_eq!(record["status"], status, "{expiry:?}: {record}");
        assert!(
            record["rotation_due_at"].is_string(),
            "{expiry:?}: {record}"
        );
    }
}

#[test]
fn a_bad_setting_is_named_and_never_breaks_git() {
    let env = TestEnv::new();
    store(&env, "example.com", "alice", OLD, Some(now() + 3 * DAY));
    env.config("patrol.warnBefore", "a fortnight");
    let (stdout, stderr) = get(&env, "example.com", &[]);
    assert_contains!(stdout, &format!("password={OLD}"));
    assert_contains!(
        stderr,
        "warning: ignoring patrol.warnbefore = \"a fortnight\": expected a duration"
    );
    assert_contains!(
        stderr,
        "expires in 3 days",
        "the default of 7 days applies: {stderr}"
    );
}

#[test]
fn a_bad_setting_is_named_once_per_push() {
    let push = Push::new();
    push.server.accept("alice", OLD);
    push.store("alice", OLD, None);
    push.env.config("patrol.warnBefore", "a fortnight");
    push.env.config("patrol.warnEvery", "0");
    let out = push.push("nobody", "nothing");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("ignoring patrol.warnbefore").count(),
        1,
        "{stderr}"
    );
    assert_contains!(stderr, "such as `30s`, `90m`, `12h`, `14d` or `2w`");
    assert!(!stderr.contains("patrol.warnevery"), "0 is taken: {stderr}");
}

#[test]
fn bad_helper_arguments_are_refused_with_usage() {
    let env = TestEnv::new();
    let out = env.patrol(
        &["--warn-before=soon", "get"],
        "protocol=https\nhost=example.com\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_contains!(text(&out.stderr), "is not a duration");
}

#[test]
fn list_shows_the_most_urgent_first_and_exits_1_when_something_needs_attention() {
    let env = TestEnv::new();
    store(&env, "later.example", "bob", OLD, Some(now() + 90 * DAY));
    store(&env, "soon.example", "alice", NEW, Some(now() + 2 * DAY));
    let out = env.patrol(&["list"], "");
    assert_eq!(out.status.code(), Some(1));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("URL"), "{table}");
    assert_contains!(lines[1], "https://soon.example", "{table}");
    assert_contains!(lines[1], "expiring", "{table}");
    assert_contains!(lines[1], "in 2 days", "{table}");
    assert_contains!(lines[2], "https://later.example", "{table}");
    assert_contains!(lines[2], " ok", "{table}");

    let json = env.patrol(&["list", "--json"], "");
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["version"], 1);
    let first = &parsed["credentials"][0];
    assert_eq!(first["url"], "https://soon.example");
    assert_eq!(first["username"], "alice");
    assert_eq!(first["kind"], "github-classic");
    assert_eq!(first["status"], "expiring");
    assert_eq!(first["expiry_source"], "git");
    assert!(first["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(first["stored_at"].as_str().unwrap().ends_with('Z'));

    env.reject("protocol=https\nhost=soon.example\n");
    assert_eq!(env.patrol(&["list"], "").status.code(), Some(0));
}

#[test]
fn list_with_nothing_stored_says_so() {
    let env = TestEnv::new();
    let out = env.patrol(&["list"], "");
    assert_eq!(out.status.code(), Some(0));
    assert_contains!(text(&out.stdout), "No credentials stored yet");
    let json = env.patrol(&["list", "--json"], "");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&json.stdout).unwrap(),
        serde_json::json!({"version": 1, "credentials": []})
    );
}

#[test]
fn expiry_set_by_hand_outranks_the_rest_until_the_token_changes() {
    let env = TestEnv::new();
    store(&env, "example.com", "alice", OLD, None);
    let out = env.patrol(&["expiry", "example.com", "2d"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(text(&out.stdout), "expiring in 2 days");
    assert_contains!(get(&env, "example.com", &[]).1, "expires in 2 days");
    let out = env.patrol(
        &["expiry", "https://example.com", "never", "--user", "alice"],
        "",
    );
    assert!(out.status.success());
    assert_eq!(get(&env, "example.com", &["--warn-every=0s"]).1, "");
    let parsed: serde_json::Value =
        serde_json::from_slice(&env.patrol(&["list", "--json"], "").stdout).unwrap();
    assert_eq!(parsed["credentials"][0]["status"], "no-expiry");
    assert_eq!(parsed["credentials"][0]["expiry_source"], "manual");

    let bad = env.patrol(&["expiry", "example.com", "next tuesday"], "");
    assert_eq!(bad.status.code(), Some(2));
    assert_contains!(text(&bad.stderr), "is not a date");
    let unknown = env.patrol(&["expiry", "nowhere.example", "30d"], "");
    assert_eq!(unknown.status.code(), Some(1));
    assert_contains!(
        text(&unknown.stderr),
        "no stored credential for https://nowhere.example"
    );
}

#[test]
fn an_expiry_set_by_hand_in_the_past_makes_git_drop_the_token() {
    let env = TestEnv::new();
    store(&env, "example.com", "alice", OLD, None);
    let out = env.patrol(&["expiry", "example.com", "2020-01-01", "--allow-past"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(text(&out.stdout), "now recorded as expired ");
    let (stdout, stderr) = get(&env, "example.com", &[]);
    assert_contains!(stdout, "password_expiry_utc=1577836800\n");
    assert_contains!(stderr, "expired");
}

#[test]
fn several_accounts_need_a_user() {
    let env = TestEnv::new();
    store(&env, "example.com", "alice", OLD, None);
    store(&env, "example.com", "bob", NEW, None);
    let out = env.patrol(&["expiry", "example.com", "30d"], "");
    assert_eq!(out.status.code(), Some(2));
    assert_contains!(
        text(&out.stderr),
        "several accounts (bob, alice); name one with --user"
    );
}

#[test]
fn rotate_replaces_the_token_and_reminds_to_revoke_the_old_one() {
    let env = TestEnv::new();
    store(&env, "github.com", "alice", OLD, Some(now() + 2 * DAY));
    let out = env.patrol(&["rotate", "github.com"], &format!("{NEW}\n"));
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(
        stdout,
        "Create a new token at https://github.com/settings/tokens"
    );
    assert_contains!(stdout, "revoke the old token");
    assert_lacks!(stdout, NEW, "the token is never echoed");
    assert_lacks!(text(&out.stderr), NEW, "the token is never echoed");
    let (answer, warnings) = get(&env, "github.com", &[]);
    assert_contains!(answer, &format!("password={NEW}\n"));
    assert_eq!(warnings, "", "the new token has no known expiry yet");
    let record = &env.index()["credentials"][0];
    assert!(record["rotated_at"].is_string(), "{record}");

    let same = env.patrol(&["rotate", "github.com"], &format!("{NEW}\n"));
    assert_eq!(same.status.code(), Some(2));
    assert_contains!(text(&same.stderr), "already stored");
    let empty = env.patrol(&["rotate", "github.com"], "\n");
    assert_eq!(empty.status.code(), Some(2));
    assert_contains!(
        get(&env, "github.com", &[]).0,
        NEW,
        "a failed rotation changes nothing"
    );
}

#[test]
fn erase_by_a_person_removes_the_token_and_says_what_remains() {
    let env = TestEnv::new();
    store(&env, "example.com", "alice", OLD, None);
    let out = env.patrol(&["erase", "example.com", "--user", "alice"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(
        text(&out.stdout),
        "Removed the token for https://example.com (alice)"
    );
    assert_contains!(text(&out.stdout), "revoke it");
    assert_eq!(get(&env, "example.com", &[]).0, "");
    let table = text(&env.patrol(&["list"], "").stdout);
    assert_contains!(table, "erased: removed by you on ");
}

#[test]
fn warnings_are_coloured_only_on_a_terminal_and_never_with_no_color() {
    let env = TestEnv::new();
    store(&env, "example.com", "alice", OLD, Some(now() + 3 * DAY));
    let inner = format!(
        "printf 'protocol=https\\nhost=example.com\\n' | {BIN} --warn-every=0s get >/dev/null"
    );
    let on_terminal = |no_color: bool| {
        let mut command = env.command("script");
        command.args(["-qec", &inner, "/dev/null"]);
        if no_color {
            command.env("NO_COLOR", "1");
        }
        text(&command.output().unwrap().stdout)
    };
    assert_contains!(on_terminal(false), "\x1b[33mwarning:");
    let plain = on_terminal(true);
    assert_contains!(plain, "warning:", "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let piped = get(&env, "example.com", &["--warn-every=0s"]).1;
    assert!(piped.starts_with("warning: "), "{piped:?}");
    assert_lacks!(piped, "\x1b", "{piped:?}");
}

#[test]
fn names_from_outside_are_escaped_before_reaching_a_terminal() {
    let env = TestEnv::new();
    store(
        &env,
        "example.com",
        "evil\x1b]0;title\x07",
        OLD,
        Some(now() + 3 * DAY),
    );
    let (_, stderr) = get(&env, "example.com", &[]);
    assert_contains!(stderr, "evil\\u{1b}]0;title\\u{7}");
    assert!(!stderr.contains('\x1b'));
}

/// A token patrol knows is dead (here: set by hand in the past, while git's
/// own `password_expiry_utc` is still days ahead) is never sent, on the
/// default git and on Debian's 2.39, which ignores `password_expiry_utc`:
/// git asks the person, the push succeeds, and the new token is stored.
#[test]
fn a_token_known_dead_is_never_sent_whatever_the_git() {
    for git in ["git", OLD_GIT] {
        if git == OLD_GIT && !std::path::Path::new(OLD_GIT).exists() {
            eprintln!("skipping {OLD_GIT}: not installed");
            continue;
        }
        let push = Push::with_git(git);
        push.server.accept("alice", NEW);
        push.store("alice", OLD, Some(now() + 3 * DAY));
        let set = push
            .env
            .patrol(&["expiry", &push.url(), "2020-01-01", "--allow-past"], "");
        assert!(set.status.success(), "{}", text(&set.stderr));
        let out = push.push("alice", NEW);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{git}: {stderr}");
        assert_contains!(
            stderr,
            &format!("warning: the token for {} (alice) expired ", push.url()),
            "{git}: {stderr}"
        );
        assert_contains!(
            stderr,
            "hint: patrol no longer gives it to git, so git asks for a new one",
            "{git}: {stderr}"
        );
        assert_contains!(
            stderr,
            "askpass: Password for",
            "{git} asked for a new one: {stderr}"
        );
        assert!(
            push.server.refused().is_empty(),
            "{git} sent the dead token: {:?}",
            push.server.refused()
        );
        assert_contains!(push.fill(), &format!("password={NEW}\n"), "{git}");
        let listing = push.env.patrol(&["list", "--json"], "");
        let parsed: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
        assert_eq!(
            parsed["credentials"][0]["expires_at"],
            serde_json::Value::Null
        );
    }
}

/// `get`'s warning, its `password_expiry_utc`, `list` and `list --json`
/// show one expiry: the forge's beats one set by hand, which beats git's.
#[test]
fn every_view_shows_the_one_effective_expiry() {
    let env = TestEnv::new();
    store(&env, "example.com", "alice", OLD, Some(now() + 3 * DAY));
    let set = env.patrol(&["expiry", "example.com", "2020-01-01", "--allow-past"], "");
    assert!(set.status.success(), "{}", text(&set.stderr));
    let (stdout, stderr) = get(&env, "example.com", &[]);
    assert_contains!(stdout, "password_expiry_utc=1577836800\n");
    assert_lacks!(stdout, "password=", "a dead token is withheld");
    assert_contains!(stdout, "username=alice\n");
    assert_contains!(stderr, "expired");
    assert_contains!(stderr, "(2020-01-01");
    let json = env.patrol(&["list", "--json"], "");
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let entry = &parsed["credentials"][0];
    assert_eq!(entry["expires_at"], "2020-01-01T00:00:00Z", "{entry}");
    assert_eq!(entry["expiry_source"], "manual", "{entry}");
    assert_eq!(entry["status"], "expired", "{entry}");
    let table = text(&env.patrol(&["list"], "").stdout);
    assert_contains!(table, "2020-01-01");
}

/// When git stores again, after the server accepted it, the very token
/// patrol held as expired, the record was wrong: patrol says so once and
/// forgets that expiry, and the next push uses the token without asking.
#[test]
fn a_wrong_expiry_corrects_itself_when_the_server_accepts_the_token() {
    let push = Push::new();
    push.server.accept("alice", OLD);
    push.store("alice", OLD, None);
    let set = push
        .env
        .patrol(&["expiry", &push.url(), "2020-01-01", "--allow-past"], "");
    assert!(set.status.success(), "{}", text(&set.stderr));
    let out = push.push("alice", OLD);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_contains!(stderr, "askpass: Password for");
    assert_contains!(
        stderr,
        &format!(
            "warning: the server accepted the token for {} (alice), which patrol held as expired",
            push.url()
        )
    );
    let again = push.push("nobody", "nothing");
    let stderr = text(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(!stderr.contains("askpass:"), "{stderr}");
    assert!(!stderr.contains("warning:"), "said once: {stderr}");
    let record = &push.env.index()["credentials"][0];
    assert_eq!(record["expiry"], serde_json::json!({}), "{record}");
}

/// Patrol as the storage behind an OAuth helper (`helper = patrol`, then
/// `helper = oauth`): the access token expires, git hands the refresh token
/// to the OAuth helper, which renews it; the push succeeds with no warning
/// and patrol keeps the new token, its expiry and the new refresh token.
#[test]
fn a_refreshable_token_renews_itself_without_a_warning() {
    let push = Push::new();
    let renewed_expiry = now() + 3600;
    let oauth = push.env.root().join("git-credential-oauth-test");
    fs::write(
        &oauth,
        format!(
            "#!/bin/sh\n\
             test \"$1\" = get || exit 0\n\
             if grep -q '^oauth_refresh_token=TESTrefresh1$'; then\n\
             echo password={NEW}\n\
             echo password_expiry_utc={renewed_expiry}\n\
             echo oauth_refresh_token=TESTrefresh2\n\
             fi\n"
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&oauth, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = push.env.git(
        &[
            "config",
            "--global",
            "--add",
            "credential.helper",
            oauth.to_str().unwrap(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    push.server.accept("alice", NEW);
    let stored = push.env.patrol(
        &["store"],
        &format!(
            "protocol=http\nhost={}\nusername=alice\npassword={OLD}\n\
             password_expiry_utc={}\noauth_refresh_token=TESTrefresh1\n",
            push.server.host(),
            now() - 60
        ),
    );
    assert!(stored.status.success(), "{}", text(&stored.stderr));
    let table = text(&push.env.patrol(&["list"], "").stdout);
    assert_contains!(table, "self-renewing");

    let out = push.push("nobody", "nothing");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning:"), "{stderr}");
    assert!(!stderr.contains("hint:"), "{stderr}");
    assert!(!stderr.contains("askpass:"), "{stderr}");
    assert!(
        push.server.refused().is_empty(),
        "{:?}",
        push.server.refused()
    );
    let filled = push.fill();
    assert_contains!(filled, &format!("password={NEW}\n"));
    assert_contains!(filled, &format!("password_expiry_utc={renewed_expiry}\n"));
    assert_contains!(filled, "oauth_refresh_token=TESTrefresh2\n");
    let json = push.env.patrol(&["list", "--json"], "");
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed["credentials"][0]["status"], "self-renewing");
}

/// Git before 2.41 (Debian 12's 2.39) sends `store` after every successful
/// use with the same password and no `password_expiry_utc`: the expiry a
/// newer git recorded stays, in `list` and in the next `get`'s warning.
#[test]
fn an_older_git_storing_the_same_token_keeps_its_expiry() {
    if !std::path::Path::new(OLD_GIT).exists() {
        eprintln!("skipping: no {OLD_GIT}");
        return;
    }
    let push = Push::with_git(OLD_GIT);
    push.server.accept("alice", OLD);
    let expiry = now() + 3 * DAY;
    // git 2.41 or later records the expiry.
    push.env.approve(&format!(
        "protocol=http\nhost={}\nusername=alice\npassword={OLD}\npassword_expiry_utc={expiry}\n",
        push.server.host()
    ));
    let expires_at = |push: &Push| {
        let out = push.env.patrol(&["list", "--json"], "");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["credentials"][0]
            ["expires_at"]
            .clone()
    };
    let recorded = expires_at(&push);
    assert!(recorded.is_string(), "{recorded}");
    let out = push.push("nobody", "nothing");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_lacks!(stderr, "askpass:", "the stored token was used");
    assert_eq!(expires_at(&push), recorded, "after {OLD_GIT}'s store");
    let (_, warning) = get_with(&push.env, "http", &push.server.host(), &["--warn-every=0s"]);
    assert_contains!(warning, "(alice) expires in ");
    let filled = push.fill();
    assert_contains!(filled, &format!("password_expiry_utc={expiry}\n"));
}

fn get_with(env: &TestEnv, protocol: &str, host: &str, helper_args: &[&str]) -> (String, String) {
    let mut args: Vec<&str> = helper_args.to_vec();
    args.push("get");
    let out = env.patrol(&args, &format!("protocol={protocol}\nhost={host}\n"));
    assert!(out.status.success());
    (text(&out.stdout), text(&out.stderr))
}
