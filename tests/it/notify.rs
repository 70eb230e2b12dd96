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
