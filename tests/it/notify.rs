//! Warnings outside the moment of use: `list --ics`'s calendar, read back by
//! a real iCalendar parser.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::env::{TestEnv, run, text};

const TOKEN: &str = "ghp_TESTcalendar0000000000000000000000";
const DAY: i64 = 86_400;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn store(env: &TestEnv, host: &str, user: &str, expiry: Option<i64>) {
    let mut input = format!("protocol=https\nhost={host}\nusername={user}\npassword={TOKEN}\n");
    if let Some(expiry) = expiry {
        input.push_str(&format!("password_expiry_utc={expiry}\n"));
    }
    let out = env.patrol(&["store"], &input);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The events a real parser reads in `file`: UID, date, summary, alarm and
/// description, tab-separated, one a line.
fn parsed_events(env: &TestEnv, file: &Path) -> Vec<Vec<String>> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/notify/validate_ics.py");
    let mut command = env.command("python3");
    command.arg(script).arg(file);
    let out = run(command, b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn the_calendar_has_one_event_per_dated_credential_that_a_parser_reads_back() {
    let env = TestEnv::new();
    let soon = now() + 3 * DAY;
    store(&env, "soon.example", "alice;the,second\\", Some(soon));
    store(&env, "never.example", "bob", None);
    env.config("patrol.warnBefore", "10d");
    let file = env.root().join("tokens.ics");
    let out = env.patrol(&["list", "--ics", "--output", file.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let bytes = std::fs::read(&file).unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN));

    let events = parsed_events(&env, &file);
    assert_eq!(events.len(), 1, "{events:?}");
    let [uid, date, summary, trigger, description] = &events[0][..] else {
        panic!("{events:?}")
    };
    let day = chrono::DateTime::from_timestamp(soon, 0)
        .unwrap()
        .date_naive();
    assert_eq!(date, &day.to_string());
    assert_eq!(
        summary,
        "Git token for alice;the,second\\ on https://soon.example expires"
    );
    assert_eq!(trigger, "-10 days, 0:00:00");
    assert!(
        description.contains("git credential-patrol rotate https://soon.example"),
        "{description}"
    );
    assert!(uid.ends_with("@git-credential-patrol") && !uid.contains("alice"));

    // The same credential keeps its UID; on stdout the calendar is the same.
    let again = env.patrol(&["list", "--ics"], "");
    assert_eq!(again.status.code(), Some(0));
    let stdout_file = env.root().join("again.ics");
    std::fs::write(&stdout_file, &again.stdout).unwrap();
    assert_eq!(&parsed_events(&env, &stdout_file)[0][0], uid);

    // Rotation dates count too.
    env.config("patrol.rotateAfter", "90d");
    let out = env.patrol(&["list", "--ics", "--output", file.to_str().unwrap()], "");
    assert_eq!(out.status.code(), Some(0));
    let events = parsed_events(&env, &file);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events[1][2].ends_with("on https://never.example is due for rotation"),
        "{events:?}"
    );
}

#[test]
fn output_without_ics_is_bad_usage() {
    let env = TestEnv::new();
    let out = env.patrol(&["list", "--output", "x.ics"], "");
    assert_eq!(out.status.code(), Some(2));
}

/// Runs `notify` in `env` with `vars` changed.
fn notify(env: &TestEnv, vars: &[(&str, Option<&str>)]) -> std::process::Output {
    let mut command = env.command(&env.helper);
    command.arg("notify");
    for (name, value) in vars {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    run(command, b"")
}

/// Records every `Notify` call on the test bus, into a file.
struct Monitor {
    log: std::path::PathBuf,
}

impl Monitor {
    /// Starts `dbus-monitor` (stopped with `env`), once it watches.
    fn start(env: &mut TestEnv) -> Self {
        let log = env.root().join("monitor.log");
        let mut command = env.command("dbus-monitor");
        command
            .args([
                "--session",
                "interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(std::fs::File::create(&log).unwrap());
        env.spawn_daemon(command);
        let monitor = Self { log };
        // dbus-monitor names itself to the bus first; then it watches.
        monitor.wait_for(|log| log.contains("NameLost") || log.contains("NameAcquired"));
        monitor
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits, at most ten seconds, until `ready` holds for the log.
    fn wait_for(&self, ready: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let text = self.text();
            if ready(&text) || std::time::Instant::now() > deadline {
                return text;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// The Notify calls seen so far: their summary and body.
    fn calls(&self) -> Vec<(String, String)> {
        self.text()
            .split("member=Notify")
            .skip(1)
            .map(|call| {
                let strings: Vec<String> = call
                    .split("   string \"")
                    .skip(1)
                    .map(|s| s[..s.find("\"\n").unwrap_or(s.len())].to_owned())
                    .collect();
                (strings[2].clone(), strings[3].clone())
            })
            .collect()
    }
}

#[test]
fn notify_shows_one_notification_per_due_credential_and_none_twice_within_notify_every() {
    let mut env = TestEnv::new();
    let soon = now() + 3 * DAY;
    store(&env, "soon.example", "alice", Some(soon));
    store(&env, "past.example", "carol", Some(now() - 2 * DAY));
    store(&env, "healthy.example", "bob", Some(now() + 90 * DAY));
    // The notification service: answers every call with an empty reply.
    let mut service = env.command("dbus-test-tool");
    service.args(["echo", "--name=org.freedesktop.Notifications"]);
    env.spawn_daemon(service);
    env.wait_for_name("org.freedesktop.Notifications");
    let monitor = Monitor::start(&mut env);

    let out = notify(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    monitor.wait_for(|log| log.matches("member=Notify").count() >= 2);
    let date = |at: i64| {
        chrono::DateTime::from_timestamp(at, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut calls = monitor.calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            (
                format!(
                    "Git token for past.example expired {}",
                    date(now() - 2 * DAY)
                ),
                "Account: carol\nFix: git credential-patrol rotate https://past.example --user carol".to_owned()
            ),
            (
                format!("Git token for soon.example expires {}", date(soon)),
                "Account: alice\nFix: git credential-patrol rotate https://soon.example --user alice".to_owned()
            ),
        ]
    );
    let state = std::fs::read_to_string(env.data_dir().join("notified.json")).unwrap();
    assert!(
        !state.contains(TOKEN) && !state.contains("healthy"),
        "{state}"
    );

    // Within notifyEvery: nothing more. With it at 0, both again, which
    // also shows the monitor would have seen a second round.
    assert_eq!(notify(&env, &[]).status.code(), Some(0));
    env.config("patrol.notifyEvery", "0");
    assert_eq!(notify(&env, &[]).status.code(), Some(0));
    // A last call of the test's own, after them on the bus, marks the end
    // of what the runs sent.
    let mut marker = env.command("dbus-send");
    marker.args([
        "--session",
        "--print-reply",
        "--dest=org.freedesktop.Notifications",
        "/org/freedesktop/Notifications",
        "org.freedesktop.Notifications.Notify",
        "string:end-of-test",
    ]);
    assert!(run(marker, b"").status.success());
    let log = monitor.wait_for(|log| log.contains("end-of-test"));
    let before_marker = &log[..log.find("end-of-test").unwrap()];
    assert_eq!(
        before_marker.matches("member=Notify").count(),
        5,
        "two, none, two, and the marker's own: {log}"
    );

    // The off switch.
    let out = notify(&env, &[("GIT_CREDENTIAL_PATROL_NO_NOTIFY", Some("1"))]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stderr.is_empty());
}

#[test]
fn notify_without_a_notification_service_prints_the_lines_and_exits_1() {
    let env = TestEnv::new();
    // Nothing due: nothing said, exit 0.
    store(&env, "healthy.example", "bob", Some(now() + 90 * DAY));
    let out = notify(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));

    store(&env, "soon.example", "alice", Some(now() + 2 * DAY));
    // A bus, but nothing serving notifications on it.
    let out = notify(&env, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Git token for soon.example expires")
            && stderr
                .contains("Account: alice; Fix: git credential-patrol rotate https://soon.example"),
        "{stderr}"
    );
    assert!(!stderr.contains("healthy"), "{stderr}");

    // No session bus at all, and due again (notifyEvery 0).
    env.config("patrol.notifyEvery", "0");
    let out = notify(&env, &[("DBUS_SESSION_BUS_ADDRESS", None)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("Git token for soon.example expires"));
}

#[test]
fn notify_takes_no_stray_arguments() {
    let env = TestEnv::new();
    assert_eq!(env.patrol(&["notify", "extra"], "").status.code(), Some(2));
}
