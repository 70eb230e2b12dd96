//! Warnings outside the moment of use: `list --ics`'s calendar, read back by
//! a real iCalendar parser.

use std::path::Path;

use crate::support::env::TestEnv;
use crate::support::{assert_contains, assert_lacks, now, run, text};

const TOKEN: &str = "ghp_TESTcalendar0000000000000000000000";
const DAY: i64 = 86_400;

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
    assert_contains!(
        description,
        "git credential-patrol rotate https://soon.example"
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
    assert_lacks!(state, TOKEN);
    assert_lacks!(state, "healthy");

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
    assert_contains!(stderr, "Git token for soon.example expires");
    assert_contains!(
        stderr,
        "Account: alice; Fix: git credential-patrol rotate https://soon.example"
    );
    assert!(!stderr.contains("healthy"), "{stderr}");

    // No session bus at all, and due again (notifyEvery 0).
    env.config("patrol.notifyEvery", "0");
    let out = notify(&env, &[("DBUS_SESSION_BUS_ADDRESS", None)]);
    assert_eq!(out.status.code(), Some(1));
    assert_contains!(text(&out.stderr), "Git token for soon.example expires");
}

#[test]
fn notify_takes_no_stray_arguments() {
    let env = TestEnv::new();
    assert_eq!(env.patrol(&["notify", "extra"], "").status.code(), Some(2));
}

/// Every file under `dir` whose name mentions patrol.
fn patrol_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            found.extend(patrol_files(&path));
        } else if path.to_string_lossy().contains("git-credential-patrol") {
            found.push(path);
        }
    }
    found
}

#[test]
fn schedule_writes_a_systemd_timer_that_systemd_accepts_and_remove_leaves_nothing() {
    let env = TestEnv::new();
    let units = env.home().join(".config/systemd/user");
    let out = env.patrol(&["schedule"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "no systemd user instance");
    assert_contains!(stderr, "17 9 * * * ");
    let service = units.join("git-credential-patrol-notify.service");
    let timer = units.join("git-credential-patrol-notify.timer");
    let wanted = units.join("timers.target.wants/git-credential-patrol-notify.timer");
    assert_contains!(std::fs::read_to_string(&timer).unwrap(), "Persistent=true");
    assert_eq!(
        std::fs::canonicalize(&wanted).unwrap(),
        std::fs::canonicalize(&timer).unwrap()
    );

    // systemd reads them as it would at login: no warning, no error.
    let mut verify = env.command("systemd-analyze");
    verify.args(["verify", "--user"]).arg(&service).arg(&timer);
    let verified = run(verify, b"");
    assert!(
        verified.status.success() && verified.stderr.is_empty(),
        "{}",
        text(&verified.stderr)
    );

    // Again: the same job, once.
    let before = patrol_files(&env.home().join(".config"));
    assert_eq!(env.patrol(&["schedule"], "").status.code(), Some(0));
    assert_eq!(patrol_files(&env.home().join(".config")), before);
    assert_eq!(before.len(), 3, "{before:?}");

    let status = env.patrol(&["schedule", "--status"], "");
    assert_eq!(status.status.code(), Some(0));
    assert_contains!(text(&status.stdout), "a daily notify job is scheduled");
    assert_contains!(text(&status.stdout), "notify has not run yet");
    assert_eq!(notify(&env, &[]).status.code(), Some(0));
    let doctor = text(&env.patrol(&["doctor"], "").stdout);
    assert_contains!(doctor, "note: a daily notify job is scheduled");
    assert_contains!(doctor, "notify last ran");

    let removed = env.patrol(&["schedule", "--remove"], "");
    assert_eq!(removed.status.code(), Some(0), "{}", text(&removed.stderr));
    assert_eq!(
        patrol_files(&env.home().join(".config")),
        Vec::<std::path::PathBuf>::new()
    );
    assert!(!units.join("timers.target.wants").exists());
    let status = env.patrol(&["schedule", "--status"], "");
    assert_eq!(status.status.code(), Some(1));
    assert_contains!(text(&status.stdout), "no daily notify job is scheduled");
    assert_contains!(
        text(&env.patrol(&["schedule", "--remove"], "").stdout),
        "No daily notify job"
    );
}

#[test]
fn install_schedule_adds_the_job_and_uninstall_removes_it() {
    let env = TestEnv::new();
    let out = env.patrol(&["install", "--schedule"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_contains!(
        text(&out.stdout),
        "Scheduled `git credential-patrol notify` daily"
    );
    assert_eq!(patrol_files(&env.home().join(".config")).len(), 3);
    let out = env.patrol(&["uninstall"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_contains!(text(&out.stdout), "Removed the daily notify job");
    assert_eq!(
        patrol_files(&env.home().join(".config")),
        Vec::<std::path::PathBuf>::new()
    );
}

/// Runs Python `code` with `input` on stdin; its stdout.
fn python(env: &TestEnv, code: &str, input: &[u8]) -> String {
    let mut command = env.command("python3");
    command.args(["-c", code]);
    let out = run(command, input);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn the_launchd_agent_and_the_windows_task_are_what_their_parsers_read() {
    let env = TestEnv::new();
    let plist = env.patrol(&["schedule", "--print", "launchd"], "");
    assert!(plist.status.success());
    let read = python(
        &env,
        "import plistlib, sys\n\
         p = plistlib.loads(sys.stdin.buffer.read())\n\
         print(p['Label'], p['ProgramArguments'], p['StartCalendarInterval'])",
        &plist.stdout,
    );
    assert_eq!(
        read.trim(),
        format!(
            "org.git-credential-patrol.notify ['{}', 'notify'] {{'Hour': 9, 'Minute': 17}}",
            env.helper.display()
        )
    );

    let task = env.patrol(&["schedule", "--print", "task"], "");
    assert!(task.status.success());
    let read = python(
        &env,
        "import sys, xml.etree.ElementTree as ET\n\
         ns = {'t': 'http://schemas.microsoft.com/windows/2004/02/mit/task'}\n\
         root = ET.fromstring(sys.stdin.read().encode('utf-16'))\n\
         print(root.find('t:Actions/t:Exec/t:Command', ns).text,\n\
               root.find('t:Actions/t:Exec/t:Arguments', ns).text,\n\
               root.find('t:Settings/t:StartWhenAvailable', ns).text,\n\
               root.find('t:Triggers/t:CalendarTrigger/t:ScheduleByDay/t:DaysInterval', ns).text)",
        &task.stdout,
    );
    assert_eq!(
        read.trim(),
        format!("{} notify true 1", env.helper.display())
    );
}

#[test]
fn notify_check_asks_the_forge_first() {
    use crate::support::fake_forge::{FakeForge, Reply};
    let forge = FakeForge::start();
    forge.otherwise(Reply::json(
        401,
        serde_json::json!({ "message": "Bad credentials" }),
    ));
    let env = TestEnv::new();
    env.config("patrol.forge", "github");
    env.config("patrol.https://git.example.com.apiUrl", &forge.url());
    env.config("patrol.probe", "false");
    store(&env, "git.example.com", "alice", None);
    // From the index alone, nothing is known to be wrong.
    let out = notify(&env, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(forge.requests().is_empty());
    // Asked, the forge refuses the token.
    let mut command = env.command(&env.helper);
    command.args(["notify", "--check"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "Git token for git.example.com refused on");
    assert_contains!(
        stderr,
        "Fix: git credential-patrol rotate https://git.example.com"
    );
    assert!(!forge.requests().is_empty());
}
