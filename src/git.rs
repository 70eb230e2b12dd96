//! The one place patrol runs git. Patrol asks git for what only git knows
//! (its configuration, read with includes and URL matching; the repository
//! around the current directory; its version) and lets git write git's own
//! files (`git config`, `git credential-store`), rather than reading or
//! writing them by rules of its own that could drift from git's. (One
//! exception reads git's files without git, and only to prove that no
//! `patrol` key can be among them: `config_sources`.)
//!
//! Git is found on `PATH`, as git's own scripts find it, and runs with the
//! environment patrol was given, so a `-c` given to the git that started
//! patrol applies here too, except a variable that carries a token
//! (`withhold`) and `GIT_CONFIG`: only the `git config` command reads that
//! one, as the one file to read instead of all of git's, while the git that
//! runs a helper ignores it, so a `git config` that saw it would answer
//! from another configuration than the one git runs with. Its standard input is empty unless input is given; what it
//! writes is kept for the caller, never passed through.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;

use thiserror::Error;

/// Git could not be run at all (it is not installed or not on `PATH`).
#[derive(Debug, Error)]
#[error("cannot run git: {0}")]
pub struct NotRunnable(#[from] pub io::Error);

/// What a finished git printed, and how it exited.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    /// Git's exit code; `None` when a signal ended it.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn stdout_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    /// Git's own message, for an error that quotes it.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

/// Runs `git ARGS` with nothing on its standard input.
pub fn run<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Result<Output, NotRunnable> {
    output(command(args))
}

/// Runs `git ARGS` as `run` does, with the environment variables `vars`
/// removed: to ask git for its defaults.
pub fn run_without<S: AsRef<OsStr>>(
    vars: &[&str],
    args: impl IntoIterator<Item = S>,
) -> Result<Output, NotRunnable> {
    let mut command = command(args);
    for var in vars {
        command.env_remove(var);
    }
    output(command)
}

fn output(mut command: Command) -> Result<Output, NotRunnable> {
    let output = command.stdin(Stdio::null()).output()?;
    Ok(Output {
        status: output.status,
        stdout: output.stdout,
        stderr: output.stderr,
    })
}

/// The git that running `git` starts: the first executable file named
/// `git` in a directory of `PATH` (an empty entry is the working
/// directory), as `execvp` searches.
#[cfg(target_os = "linux")]
pub fn executable() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("git"))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Runs `git ARGS` with `input` on its standard input.
pub fn run_with_input<S: AsRef<OsStr>>(
    args: impl IntoIterator<Item = S>,
    input: &[u8],
) -> Result<Output, NotRunnable> {
    let mut child = command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Written before anything is read back: the callers' inputs are a few
    // lines, far below a pipe's buffer, so git cannot block on its output
    // while this write waits.
    let written = child
        .stdin
        .take()
        .map_or(Ok(()), |mut stdin| stdin.write_all(input));
    let output = child.wait_with_output()?;
    // A git that exits before reading everything closes the pipe; its own
    // exit status and message say more than the broken pipe.
    if let Err(err) = written
        && output.status.success()
    {
        return Err(NotRunnable(err));
    }
    Ok(Output {
        status: output.status,
        stdout: output.stdout,
        stderr: output.stderr,
    })
}

/// Environment variables no git that patrol runs may see.
static WITHHELD: Mutex<Vec<OsString>> = Mutex::new(Vec::new());

/// Keeps the environment variable `name` from every git run after this:
/// the variable a token was read from (`check --token-env`) reaches no
/// child process.
pub fn withhold(name: &str) {
    let mut withheld = WITHHELD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    withheld.push(name.into());
}

fn command<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Command {
    let mut command = Command::new("git");
    command.args(args).env_remove("GIT_CONFIG");
    let withheld = WITHHELD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for name in withheld.iter() {
        command.env_remove(name);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // Wine, which runs the Windows build's unit tests in CI, has no git
    // for Windows to run; the Linux run of these tests covers this module.
    #[cfg_attr(windows, ignore = "needs git for Windows on PATH")]
    fn output_and_exit_code_come_back() {
        let output = run(["--version"]).expect("git runs");
        assert!(output.success());
        assert!(output.stdout_text().starts_with("git version "));
        let output = run(["no-such-command-of-git"]).expect("git runs");
        assert!(!output.success());
        assert!(output.stderr_text().contains("no-such-command-of-git"));
    }

    #[test]
    // Wine, which runs the Windows build's unit tests in CI, has no git
    // for Windows to run; the Linux run of these tests covers this module.
    #[cfg_attr(windows, ignore = "needs git for Windows on PATH")]
    fn input_reaches_git() {
        // The object id of a blob is fixed by its content.
        let output = run_with_input(["hash-object", "--stdin"], b"patrol\n").expect("git runs");
        assert!(output.success(), "{}", output.stderr_text());
        assert_eq!(
            output.stdout_text().trim(),
            "0275d387111ee377e6ab06469f79b601db4f5b08"
        );
    }
}
