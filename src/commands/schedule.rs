//! `schedule [--remove | --status]`: a per-user daily job that runs
//! `notify`, the way each system runs such jobs: a systemd user timer with
//! `Persistent=true` on Linux (a day missed while the machine was off runs
//! at the next start), a launchd agent in `~/Library/LaunchAgents` on macOS,
//! a Task Scheduler task on Windows. Installing twice leaves one job;
//! `--remove` leaves nothing behind, and `uninstall` calls it too.
//!
//! The job definitions are made here on every platform, so that each is
//! tested wherever the tests run.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::Context;
use crate::cli::{JobDefinition, ScheduleArgs};
use crate::output::Messages;

/// The launchd label.
pub const LABEL: &str = "org.git-credential-patrol.notify";

pub fn run(
    ctx: &Context,
    args: &ScheduleArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    if let Some(kind) = args.print {
        let exe = std::env::current_exe().context("cannot tell where this program is")?;
        let (service, timer) = systemd_units(&exe);
        let text = match kind {
            JobDefinition::SystemdService => service,
            JobDefinition::SystemdTimer => timer,
            JobDefinition::Launchd => launchd_plist(&exe),
            JobDefinition::Task => task_xml(&exe),
            JobDefinition::Crontab => crontab_line(&exe) + "\n",
        };
        write!(out, "{text}")?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.status {
        let installed = platform::installed()?;
        writeln!(out, "{}", status_line(ctx, installed.as_deref()))?;
        return Ok(if installed.is_some() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if args.remove {
        let removed = remove()?;
        if removed.is_empty() {
            writeln!(out, "No daily notify job was scheduled.")?;
        }
        for what in removed {
            writeln!(out, "Removed {what}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    install(&mut out, messages)?;
    Ok(ExitCode::SUCCESS)
}

/// Installs the job (again: the same job, replaced), saying what it did.
pub fn install(out: &mut impl Write, messages: &mut Messages<impl Write>) -> Result<()> {
    let exe = std::env::current_exe().context("cannot tell where this program is")?;
    platform::install(&exe, out, messages)
}

/// Removes the job; what was removed, for a person.
pub fn remove() -> Result<Vec<String>> {
    platform::remove()
}

/// What `schedule --status` and `doctor` say: where the job is, and when
/// `notify` last ran.
pub fn status_line(ctx: &Context, installed: Option<&str>) -> String {
    let last = super::notify::last_run(ctx)
        .map(|at| format!("notify last ran {}", crate::output::date_time(at)))
        .unwrap_or_else(|| "notify has not run yet".to_owned());
    match installed {
        Some(place) => format!(
            "a daily notify job is scheduled ({}); {last}",
            crate::terminal::escape(place)
        ),
        None => format!(
            "no daily notify job is scheduled (`git credential-patrol schedule` adds one); {last}"
        ),
    }
}

/// Whether a job is installed, and where, for `doctor`.
pub fn installed() -> Result<Option<String>> {
    platform::installed()
}

/// The systemd service and timer, for `exe`.
pub fn systemd_units(exe: &Path) -> (String, String) {
    let service = format!(
        "[Unit]\n\
         Description=Warn about expiring git tokens (git-credential-patrol notify)\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={} notify\n",
        systemd_word(&exe.to_string_lossy())
    );
    let timer = "[Unit]\n\
                 Description=Daily check of git tokens' expiry (git-credential-patrol notify)\n\
                 \n\
                 [Timer]\n\
                 OnCalendar=daily\n\
                 RandomizedDelaySec=1h\n\
                 Persistent=true\n\
                 \n\
                 [Install]\n\
                 WantedBy=timers.target\n"
        .to_owned();
    (service, timer)
}

/// A word of `ExecStart=` as systemd reads it back: quoted, with `%`
/// (specifiers) and `$` (variables) doubled.
fn systemd_word(word: &str) -> String {
    let escaped = word
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    format!("\"{escaped}\"")
}

/// The crontab line for where no systemd user instance runs.
pub fn crontab_line(exe: &Path) -> String {
    format!(
        "17 9 * * * {} notify",
        crate::output::shell_word(&exe.to_string_lossy())
    )
}

/// The launchd agent: `notify` every day at 09:17, and at the next wake
/// when the Mac slept through it (launchd runs a missed calendar job then).
pub fn launchd_plist(exe: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>{LABEL}</string>
	<key>ProgramArguments</key>
	<array>
		<string>{}</string>
		<string>notify</string>
	</array>
	<key>StartCalendarInterval</key>
	<dict>
		<key>Hour</key>
		<integer>9</integer>
		<key>Minute</key>
		<integer>17</integer>
	</dict>
	<key>ProcessType</key>
	<string>Background</string>
</dict>
</plist>
"#,
        xml_text(&exe.to_string_lossy())
    )
}

/// The Task Scheduler task: `notify` daily at 09:17 for the user who
/// scheduled it, only while they are logged on (a toast needs a desktop),
/// and as soon as possible after a start that was missed.
pub fn task_xml(exe: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>Warn about expiring git tokens (git-credential-patrol notify)</Description>
  </RegistrationInfo>
  <Triggers>
    <CalendarTrigger>
      <StartBoundary>2000-01-01T09:17:00</StartBoundary>
      <Enabled>true</Enabled>
      <ScheduleByDay>
        <DaysInterval>1</DaysInterval>
      </ScheduleByDay>
    </CalendarTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <StartWhenAvailable>true</StartWhenAvailable>
    <ExecutionTimeLimit>PT10M</ExecutionTimeLimit>
    <Enabled>true</Enabled>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{}</Command>
      <Arguments>notify</Arguments>
    </Exec>
  </Actions>
</Task>
"#,
        xml_text(&exe.to_string_lossy())
    )
}

/// Text for an XML element.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Removes `path` if it is there; whether it was.
#[cfg(unix)]
fn remove_file(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// Writes `text` to `path`, creating its directory.
#[cfg(unix)]
fn write_file(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    crate::fs::replace_file(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The systemd user unit directory: `$XDG_CONFIG_HOME/systemd/user`.
#[cfg(all(unix, not(target_os = "macos")))]
fn unit_dir() -> Result<std::path::PathBuf> {
    let dirs = directories::BaseDirs::new().context("cannot tell the home directory")?;
    Ok(dirs.config_dir().join("systemd/user"))
}

#[cfg(all(unix, not(target_os = "macos")))]
mod platform {
    use std::path::PathBuf;

    use super::*;

    /// The systemd units' name.
    const JOB: &str = "git-credential-patrol-notify";

    fn paths() -> Result<[PathBuf; 3]> {
        let dir = unit_dir()?;
        Ok([
            dir.join(format!("{JOB}.service")),
            dir.join(format!("{JOB}.timer")),
            dir.join(format!("timers.target.wants/{JOB}.timer")),
        ])
    }

    /// Whether a systemd user instance runs for this user: its private
    /// socket is there.
    fn user_instance() -> bool {
        std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| Path::new(&dir).join("systemd/private").exists())
    }

    fn systemctl(args: &[&str]) -> bool {
        std::process::Command::new("systemctl")
            .arg("--user")
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    pub fn install(
        exe: &Path,
        out: &mut impl Write,
        messages: &mut Messages<impl Write>,
    ) -> Result<()> {
        let [service_path, timer_path, wanted] = paths()?;
        let (service, timer) = systemd_units(exe);
        write_file(&service_path, &service)?;
        write_file(&timer_path, &timer)?;
        // What `systemctl --user enable` does, done here so that the timer
        // starts at the next login even where no user instance runs now.
        remove_file(&wanted)?;
        if let Some(dir) = wanted.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::os::unix::fs::symlink(format!("../{JOB}.timer"), &wanted)
            .with_context(|| format!("cannot create {}", wanted.display()))?;
        writeln!(
            out,
            "Scheduled `git credential-patrol notify` daily: {} and {}",
            crate::terminal::escape(&service_path.to_string_lossy()),
            crate::terminal::escape(&timer_path.to_string_lossy())
        )?;
        if user_instance()
            && systemctl(&["daemon-reload"])
            && systemctl(&["restart", &format!("{JOB}.timer")])
        {
            writeln!(
                out,
                "The timer runs now; `systemctl --user list-timers {JOB}.timer` shows its next run."
            )?;
        } else {
            messages.warning(
                "no systemd user instance runs here, so the timer starts only at your next \
                 login with one",
            );
            messages.hint(&format!(
                "on a machine without systemd, add this line with `crontab -e` instead: {}",
                crontab_line(exe)
            ));
        }
        Ok(())
    }

    pub fn remove() -> Result<Vec<String>> {
        let paths = paths()?;
        if user_instance() && paths[1].exists() {
            systemctl(&["stop", &format!("{JOB}.timer")]);
        }
        let mut removed = Vec::new();
        for path in paths.iter().rev() {
            if remove_file(path)? {
                removed.push(crate::terminal::escape(&path.to_string_lossy()));
            }
        }
        if let Some(dir) = paths[2].parent() {
            // Only where nothing else wants timers.target: remove_dir keeps
            // a directory that is not empty.
            let _ = std::fs::remove_dir(dir);
        }
        if user_instance() && !removed.is_empty() {
            systemctl(&["daemon-reload"]);
        }
        Ok(removed)
    }

    pub fn installed() -> Result<Option<String>> {
        let [_, timer, _] = paths()?;
        Ok(timer.exists().then(|| timer.to_string_lossy().into_owned()))
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use std::path::PathBuf;

    use super::*;

    fn plist_path() -> Result<PathBuf> {
        let dirs = directories::BaseDirs::new().context("cannot tell the home directory")?;
        Ok(dirs
            .home_dir()
            .join(format!("Library/LaunchAgents/{LABEL}.plist")))
    }

    fn launchctl(args: &[&str]) -> bool {
        std::process::Command::new("launchctl")
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    pub fn install(
        exe: &Path,
        out: &mut impl Write,
        messages: &mut Messages<impl Write>,
    ) -> Result<()> {
        let path = plist_path()?;
        let text = path.to_string_lossy().into_owned();
        if path.exists() {
            launchctl(&["unload", &text]);
        }
        write_file(&path, &launchd_plist(exe))?;
        writeln!(
            out,
            "Scheduled `git credential-patrol notify` daily: {}",
            crate::terminal::escape(&text)
        )?;
        if !launchctl(&["load", "-w", &text]) {
            messages.warning("launchctl did not load the agent; it loads at your next login");
        }
        Ok(())
    }

    pub fn remove() -> Result<Vec<String>> {
        let path = plist_path()?;
        let text = path.to_string_lossy().into_owned();
        if path.exists() {
            launchctl(&["unload", "-w", &text]);
        }
        Ok(if remove_file(&path)? {
            vec![crate::terminal::escape(&text)]
        } else {
            Vec::new()
        })
    }

    pub fn installed() -> Result<Option<String>> {
        let path = plist_path()?;
        Ok(path.exists().then(|| path.to_string_lossy().into_owned()))
    }
}

#[cfg(windows)]
mod platform {
    use super::*;

    /// The Task Scheduler task's name.
    const TASK: &str = "git-credential-patrol notify";

    /// What schtasks said of a failure, on stderr or stdout.
    fn said(output: &std::process::Output) -> String {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let text = if stderr.trim().is_empty() {
            stdout
        } else {
            stderr
        };
        crate::terminal::escape(text.trim())
    }

    /// Runs schtasks with its output in files, not pipes: a service it
    /// starts (Task Scheduler's, under wine) can inherit the handles and
    /// keep a pipe open long after schtasks has exited. Bounded in time.
    fn schtasks(args: &[&str]) -> std::io::Result<std::process::Output> {
        use std::io::{Read, Seek};
        use std::time::{Duration, Instant};
        let mut stdout = tempfile::tempfile()?;
        let mut stderr = tempfile::tempfile()?;
        let mut child = std::process::Command::new("schtasks")
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(stdout.try_clone()?)
            .stderr(stderr.try_clone()?)
            .spawn()?;
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "schtasks gave no answer in 60 s",
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let read = |file: &mut std::fs::File| -> std::io::Result<Vec<u8>> {
            let mut bytes = Vec::new();
            file.rewind()?;
            file.read_to_end(&mut bytes)?;
            Ok(bytes)
        };
        Ok(std::process::Output {
            status,
            stdout: read(&mut stdout)?,
            stderr: read(&mut stderr)?,
        })
    }

    pub fn install(
        exe: &Path,
        out: &mut impl Write,
        _messages: &mut Messages<impl Write>,
    ) -> Result<()> {
        // schtasks reads a task file in UTF-16, as its declaration says.
        let mut bytes = vec![0xff, 0xfe];
        for unit in task_xml(exe).encode_utf16() {
            bytes.extend(unit.to_le_bytes());
        }
        let mut file = tempfile::Builder::new()
            .suffix(".xml")
            .tempfile()
            .context("cannot write the task file")?;
        file.write_all(&bytes)
            .context("cannot write the task file")?;
        // Closed, so that schtasks may open it; removed when dropped.
        let file = file.into_temp_path();
        let path = file.to_string_lossy().into_owned();
        let created = schtasks(&["/Create", "/TN", TASK, "/XML", &path, "/F"])
            .context("cannot run schtasks")?;
        if !created.status.success() {
            anyhow::bail!("schtasks could not create the task: {}", said(&created));
        }
        writeln!(
            out,
            "Scheduled `git credential-patrol notify` daily: the task \"{TASK}\" in Task Scheduler"
        )?;
        Ok(())
    }

    pub fn remove() -> Result<Vec<String>> {
        let deleted = schtasks(&["/Delete", "/TN", TASK, "/F"]).context("cannot run schtasks")?;
        if deleted.status.success() {
            return Ok(vec![format!("the task \"{TASK}\" in Task Scheduler")]);
        }
        // It fails the same way for a task that is not there, which is no
        // failure here; only a task still there is.
        if installed()?.is_some() {
            anyhow::bail!("schtasks could not delete the task: {}", said(&deleted));
        }
        Ok(Vec::new())
    }

    /// Where the task is, when `schtasks /Query` describes it (wine's
    /// answers success and prints nothing for any name: no task, there).
    pub fn installed() -> Result<Option<String>> {
        let query = schtasks(&["/Query", "/TN", TASK]).context("cannot run schtasks")?;
        Ok(
            (query.status.success() && !query.stdout.trim_ascii().is_empty())
                .then(|| format!("the task \"{TASK}\" in Task Scheduler")),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_quotes_what_systemd_would_read_otherwise() {
        assert_eq!(
            systemd_word("/opt/my tools/50%/$bin\"x\\"),
            "\"/opt/my tools/50%%/$$bin\\\"x\\\\\""
        );
        let (service, timer) = systemd_units(Path::new("/usr/bin/git-credential-patrol"));
        assert!(service.contains("ExecStart=\"/usr/bin/git-credential-patrol\" notify\n"));
        assert!(timer.contains("Persistent=true\n"));
    }

    #[test]
    fn the_launchd_agent_and_the_task_escape_the_path() {
        let exe = Path::new("/Users/a&b/<bin>/git-credential-patrol");
        assert!(launchd_plist(exe).contains("<string>/Users/a&amp;b/&lt;bin&gt;/"));
        assert!(task_xml(exe).contains("<Command>/Users/a&amp;b/&lt;bin&gt;/"));
    }
}
