//! `notify [--check]`: the warnings `get` gives at push time, for people who
//! rarely push. For each credential that is expired, refused, expiring
//! within `warnBefore` or due for rotation, one desktop notification naming
//! the host, the account, the date and the command that fixes it; at most
//! one per credential per `patrol.notifyEvery`. Where no notification
//! service runs (a server, cron), the same lines go to stderr and the exit
//! status is 1, so cron mails them.
//!
//! When each credential was last notified about is kept in a small file
//! beside the index (`notified.json`: URL, account, time; no secret), apart
//! from `get`'s own bookkeeping, so that one channel never silences the
//! other. The decision itself is `expiry::warning`, shared with `get`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::cli::{CheckArgs, FailOn, NotifyArgs};
use crate::expiry::{self, Due, Throttle, Warning};
use crate::output::{Messages, rotate_command};
use crate::record::Record;
use crate::urlmatch::settings_url;

/// The environment variable that turns `notify` off, for a machine where a
/// scheduled job runs that nobody wants to hear from.
pub const OFF_SWITCH: &str = "GIT_CREDENTIAL_PATROL_NO_NOTIFY";

/// The state file's name, in the index's directory.
const STATE_FILE: &str = "notified.json";

pub fn run(
    ctx: &Context,
    args: &NotifyArgs,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    if std::env::var_os(OFF_SWITCH).is_some_and(|value| !value.is_empty()) {
        return Ok(ExitCode::SUCCESS);
    }
    if args.check {
        // `check` records what each forge says in the index; its report is
        // not what a notification shows.
        let check = CheckArgs {
            url: None,
            user: None,
            token_env: None,
            host: None,
            repo: None,
            expiring_within: None,
            json: false,
            fail_on: FailOn::Never,
        };
        super::check::run(ctx, &check, io::sink(), messages)?;
    }
    let snapshot = ctx.read_index(messages);
    let state_path = ctx.index.dir().join(STATE_FILE);
    let mut state = State::read(&state_path);
    let mut notes = Vec::new();
    for record in snapshot.records.iter().filter(|r| r.is_live()) {
        let url = settings_url(&record.target, Some(&record.username));
        let settings = ctx.settings(&url, messages);
        let key = state_key(record);
        let throttle = Throttle {
            last: state.notified.get(&key).copied(),
            every: settings.notify_every,
            last_day_always: false,
        };
        if let Some(warning) = expiry::warning(record, &settings.policy, ctx.now, throttle) {
            notes.push(Note::new(record, warning));
            state.notified.insert(key, ctx.now);
        }
    }
    state.last_run = Some(ctx.now);
    let shown = notes.is_empty()
        || match desktop::show(&notes) {
            Ok(()) => true,
            Err(why) => {
                crate::trace!("no desktop notification: {why}");
                for note in &notes {
                    messages.warning(&format!(
                        "{}: {}",
                        note.summary,
                        note.body.replace('\n', "; ")
                    ));
                }
                false
            }
        };
    state.notified.retain(|key, _| {
        snapshot
            .records
            .iter()
            .any(|record| record.is_live() && state_key(record) == *key)
    });
    crate::fs::replace_file(&state_path, &serde_json::to_vec_pretty(&state)?)
        .with_context(|| format!("cannot write {}", state_path.display()))?;
    Ok(if shown {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// When `notify` last ran, and when each credential was last notified
/// about, by `state_key`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    last_run: Option<DateTime<Utc>>,
    #[serde(default)]
    notified: BTreeMap<String, DateTime<Utc>>,
}

/// When `notify` last ran (past the off switch), for `schedule --status`
/// and `doctor`.
pub fn last_run(ctx: &Context) -> Option<DateTime<Utc>> {
    State::read(&ctx.index.dir().join(STATE_FILE)).last_run
}

impl State {
    /// The state kept, or none where the file is missing or unreadable: at
    /// worst a notification comes once more.
    fn read(path: &std::path::Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }
}

/// A credential's key in the state file: its URL and account.
fn state_key(record: &Record) -> String {
    format!("{} {}", record.target.url(), record.username)
}

/// One notification's text: short, naming host, account, date and fix.
#[derive(Debug, PartialEq, Eq)]
pub struct Note {
    pub summary: String,
    pub body: String,
}

impl Note {
    fn new(record: &Record, Warning { due, at }: Warning) -> Self {
        let host = crate::terminal::escape(&record.target.host);
        let date = at.format("%Y-%m-%d");
        let summary = match due {
            Due::Refused => format!("Git token for {host} refused on {date}"),
            Due::NotRenewed => format!("Git token for {host} expired {date}, not renewed"),
            Due::Expired => format!("Git token for {host} expired {date}"),
            Due::Expiring => format!("Git token for {host} expires {date}"),
            Due::RotationDue => format!("Git token for {host} due for rotation {date}"),
        };
        let account = if record.username.is_empty() {
            "no account name".to_owned()
        } else {
            crate::terminal::escape(&record.username)
        };
        Self {
            summary,
            body: format!("Account: {account}\nFix: {}", rotate_command(record)),
        }
    }
}

/// The desktop's notification service.
#[cfg(target_os = "linux")]
mod desktop {
    use std::collections::HashMap;

    use zbus::blocking::Connection;
    use zbus::zvariant::Value;

    use super::{Note, markup_escaped};

    const SERVICE: &str = "org.freedesktop.Notifications";

    /// Shows each note through `org.freedesktop.Notifications` on the
    /// session bus; says why not where there is no bus or no service (a
    /// bus would start one only if a desktop session installed it).
    pub fn show(notes: &[Note]) -> Result<(), String> {
        let bus = Connection::session().map_err(|err| format!("no session bus: {err}"))?;
        let dbus = zbus::blocking::fdo::DBusProxy::new(&bus).map_err(|err| err.to_string())?;
        let name = SERVICE
            .try_into()
            .map_err(|err: zbus::names::Error| err.to_string())?;
        let owned = dbus.name_has_owner(name).map_err(|err| err.to_string())?;
        let activatable = dbus
            .list_activatable_names()
            .map_err(|err| err.to_string())?
            .iter()
            .any(|n| n.as_str() == SERVICE);
        if !owned && !activatable {
            return Err(format!("nothing serves {SERVICE} on the session bus"));
        }
        for note in notes {
            let hints: HashMap<&str, Value> = HashMap::from([("urgency", Value::U8(1))]);
            bus.call_method(
                Some(SERVICE),
                "/org/freedesktop/Notifications",
                Some(SERVICE),
                "Notify",
                &(
                    "git-credential-patrol",
                    0u32,
                    "dialog-warning",
                    note.summary.as_str(),
                    markup_escaped(&note.body).as_str(),
                    Vec::<&str>::new(),
                    hints,
                    -1i32,
                ),
            )
            .map_err(|err| format!("{SERVICE}: {err}"))?;
        }
        Ok(())
    }
}

/// The body as text, where the service may read it as markup (the
/// specification's `body-markup`): an account named `<b>` stays `<b>`.
#[cfg(target_os = "linux")]
fn markup_escaped(body: &str) -> String {
    body.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The user notification centre, through `osascript`'s `display
/// notification`, which needs no app bundle of patrol's own.
#[cfg(target_os = "macos")]
mod desktop {
    use std::process::{Command, Stdio};

    use super::Note;

    pub fn show(notes: &[Note]) -> Result<(), String> {
        for note in notes {
            let script = format!(
                "display notification {} with title {}",
                applescript_string(&note.body),
                applescript_string(&note.summary)
            );
            let status = Command::new("osascript")
                .args(["-e", &script])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|err| format!("cannot run osascript: {err}"))?;
            if !status.success() {
                return Err(format!("osascript failed ({status})"));
            }
        }
        Ok(())
    }

    /// An AppleScript string literal.
    fn applescript_string(text: &str) -> String {
        format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A toast, through the PowerShell that Windows ships: the Windows Runtime's
/// `ToastNotificationManager` needs an application identity, and an
/// unpackaged program has none of its own, so the toast is shown under
/// PowerShell's registered one (the usual choice of scripts and tools that
/// are not packaged).
#[cfg(windows)]
mod desktop {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use super::{Note, toast_command};

    /// What the script prints once the toast is shown.
    const SHOWN: &str = "toast shown";

    /// How long one toast may take before PowerShell is given up.
    const LIMIT: Duration = Duration::from_secs(15);

    pub fn show(notes: &[Note]) -> Result<(), String> {
        for note in notes {
            let mut child = toast_command(note)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|err| format!("cannot run powershell.exe: {err}"))?;
            if let Some(mut stdin) = child.stdin.take() {
                use std::io::Write;
                stdin
                    .write_all(super::TOAST_SCRIPT.as_bytes())
                    .map_err(|err| format!("powershell.exe: {err}"))?;
            }
            let started = Instant::now();
            let status = loop {
                match child.try_wait().map_err(|err| err.to_string())? {
                    Some(status) => break status,
                    None if started.elapsed() > LIMIT => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!("powershell.exe gave no answer in {LIMIT:?}"));
                    }
                    None => std::thread::sleep(Duration::from_millis(50)),
                }
            };
            // Only the script's last line proves the toast was shown: a
            // stand-in powershell.exe (wine has one) exits 0 having run
            // nothing.
            let mut said = String::new();
            if let Some(mut stdout) = child.stdout.take() {
                use std::io::Read;
                let _ = stdout.read_to_string(&mut said);
            }
            if !status.success() || said.trim() != SHOWN {
                return Err(format!("powershell.exe could not show a toast ({status})"));
            }
        }
        Ok(())
    }
}

/// The script PowerShell reads on its stdin: one `try` statement, because
/// `-Command -` runs stdin statement by statement as if typed, where
/// `$ErrorActionPreference = 'Stop'` would not stop the lines after a
/// failure (and `toast shown` would be printed all the same), and ending in
/// a blank line, which is what makes PowerShell run a statement given over
/// several lines. The note's text reaches it
/// only through two variables of that one child's environment and becomes
/// text nodes, so nothing in a host or account name is read as XML or as
/// PowerShell.
#[cfg(any(windows, test))]
const TOAST_SCRIPT: &str = r#"try {
    $ErrorActionPreference = 'Stop'
    $null = [Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime]
    $toast = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02)
    $lines = $toast.GetElementsByTagName('text')
    $null = $lines.Item(0).AppendChild($toast.CreateTextNode($env:PATROL_TOAST_TITLE))
    $null = $lines.Item(1).AppendChild($toast.CreateTextNode($env:PATROL_TOAST_BODY))
    $id = '{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\WindowsPowerShell\v1.0\powershell.exe'
    [Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier($id).Show([Windows.UI.Notifications.ToastNotification]::new($toast))
    'toast shown'
} catch {
    exit 1
}

"#;

/// PowerShell reading `TOAST_SCRIPT` from stdin, with the note's text in
/// its environment and never on its command line.
#[cfg(any(windows, test))]
fn toast_command(note: &Note) -> std::process::Command {
    let mut command = std::process::Command::new("powershell.exe");
    command
        .args([
            "-NoProfile",
            "-NonInteractive",
            "-ExecutionPolicy",
            "Bypass",
            "-Command",
            "-",
        ])
        .env("PATROL_TOAST_TITLE", &note.summary)
        .env("PATROL_TOAST_BODY", &note.body);
    command
}

/// Elsewhere the lines go to stderr, as on a server.
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod desktop {
    use super::Note;

    pub fn show(_notes: &[Note]) -> Result<(), String> {
        Err("desktop notifications are shown on Linux, macOS and Windows only".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::https;

    #[test]
    fn a_toast_carries_the_text_in_its_environment_never_in_its_arguments() {
        let note = Note {
            summary: "Git token for github.com expires 2026-06-30".into(),
            body: "Account: a'b\"<c>$(x)\nFix: git credential-patrol rotate https://github.com"
                .into(),
        };
        let command = toast_command(&note);
        let args: Vec<_> = command.get_args().collect();
        assert_eq!(args.last().map(|a| a.to_str()), Some(Some("-")));
        assert!(
            args.iter()
                .all(|a| !a.to_string_lossy().contains("github.com"))
        );
        let envs: Vec<_> = command.get_envs().collect();
        assert!(envs.contains(&(
            std::ffi::OsStr::new("PATROL_TOAST_BODY"),
            Some(std::ffi::OsStr::new(&note.body))
        )));
        assert!(!TOAST_SCRIPT.contains("github.com"));
        assert!(TOAST_SCRIPT.contains("CreateTextNode($env:PATROL_TOAST_TITLE)"));
        // One statement: a failure anywhere skips `toast shown`.
        assert!(TOAST_SCRIPT.starts_with("try {\n"));
        assert!(TOAST_SCRIPT.ends_with("} catch {\n    exit 1\n}\n\n"));
        let shown = TOAST_SCRIPT.find("'toast shown'").unwrap();
        let show = TOAST_SCRIPT.find(".Show(").unwrap();
        assert!(show < shown && shown < TOAST_SCRIPT.find("} catch").unwrap());
    }
    use crate::credential::TokenKind;

    #[test]
    fn a_note_is_short_and_names_host_account_date_and_fix() {
        let at: DateTime<Utc> = "2026-06-30T10:00:00Z".parse().unwrap();
        let record = Record::new(
            https("github.com"),
            "a<b>&c".into(),
            TokenKind::GithubClassic,
            at,
        );
        let note = Note::new(
            &record,
            Warning {
                due: Due::Expiring,
                at,
            },
        );
        assert_eq!(note.summary, "Git token for github.com expires 2026-06-30");
        assert_eq!(
            note.body,
            "Account: a<b>&c\nFix: git credential-patrol rotate https://github.com --user 'a<b>&c'"
        );
        #[cfg(target_os = "linux")]
        assert_eq!(
            markup_escaped(&note.body),
            "Account: a&lt;b&gt;&amp;c\nFix: git credential-patrol rotate https://github.com \
             --user 'a&lt;b&gt;&amp;c'"
        );
    }
}
