//! The harness of the integration tests: `TestEnv` (a private HOME, git
//! configuration, bus and Secret Service for one test), the fake forge and
//! the git server on loopback, and what many tests share: running a
//! command with a bound, reading its output, the clock, and
//! `assert_contains!` and `assert_lacks!`.

pub mod env;
pub mod fake_forge;
pub mod fixtures;
pub mod git_server;
pub mod keyring;
mod wine;

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Runs a command with `stdin` fed from a thread (so a child that writes a
/// lot before reading cannot deadlock us), at most sixty seconds.
pub fn run(mut command: Command, stdin: &[u8]) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} ran for more than 60 s");
        }
        thread::sleep(Duration::from_millis(2));
    };
    let _ = feeder.join();
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Says which branch a test that adapts to the machine ran (the kernel
/// keyring where the kernel allows a private one): on stderr, and as a line
/// appended to the file `PATROL_TEST_OUTCOMES` names. scripts/test prints
/// that file in its summary, because a test that checked nothing on this
/// machine still passes, and the harness hides a passing test's stderr.
pub fn report_branch(line: &str) {
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("PATROL_TEST_OUTCOMES") {
        // One write of a short line to a file opened for appending: lines
        // from tests running in parallel do not interleave.
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()))
            .unwrap_or_else(|e| panic!("PATROL_TEST_OUTCOMES={path:?}: {e}"));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Heredoc-style text: the common leading whitespace removed, a final
/// newline kept when there is any content.
pub fn unindent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().skip_while(|l| l.trim().is_empty()).collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: String = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

pub fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Now, in seconds since the Unix epoch, as the helper's clock reads it:
/// what tests compute expiry dates from.
pub fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

/// What `assert_contains!` and `assert_lacks!` check: that the text named
/// `name` holds `needle` (or, with `wanted` false, does not), and when it
/// is not so, a message with the needle, then the whole text, then
/// `context` if any.
#[track_caller]
pub fn check_holds(
    name: &str,
    haystack: &str,
    needle: &str,
    wanted: bool,
    context: Option<fmt::Arguments>,
) {
    if haystack.contains(needle) == wanted {
        return;
    }
    let how = if wanted {
        "does not contain"
    } else {
        "contains"
    };
    let must = if wanted { "" } else { ", and must not" };
    match context {
        Some(context) => panic!("`{name}` {how} {needle:?}{must}; it is:\n{haystack}\n{context}"),
        None => panic!("`{name}` {how} {needle:?}{must}; it is:\n{haystack}"),
    }
}

/// Asserts that the text `haystack` contains `needle`, and when it does not,
/// shows both: the needle, then the whole text. Format arguments after them
/// add context to that message.
macro_rules! assert_contains {
    ($haystack:expr, $needle:expr $(,)?) => {
        $crate::support::check_holds(stringify!($haystack), &$haystack, &$needle, true, None)
    };
    ($haystack:expr, $needle:expr, $($context:tt)+) => {
        $crate::support::check_holds(
            stringify!($haystack),
            &$haystack,
            &$needle,
            true,
            Some(format_args!($($context)+)),
        )
    };
}
pub(crate) use assert_contains;

/// Asserts that the text `haystack` does not contain `needle`, and when it
/// does, shows both: the needle, then the whole text. Format arguments after
/// them add context to that message.
macro_rules! assert_lacks {
    ($haystack:expr, $needle:expr $(,)?) => {
        $crate::support::check_holds(stringify!($haystack), &$haystack, &$needle, false, None)
    };
    ($haystack:expr, $needle:expr, $($context:tt)+) => {
        $crate::support::check_holds(
            stringify!($haystack),
            &$haystack,
            &$needle,
            false,
            Some(format_args!($($context)+)),
        )
    };
}
pub(crate) use assert_lacks;

#[cfg(test)]
mod tests {
    #[test]
    fn assert_lacks_passes_when_the_needle_is_absent() {
        let text = String::from("warning: expires in 3 days\n");
        assert_lacks!(text, "ghp_TEST");
        assert_lacks!(text, "ghp_TEST", "with context {}", 1);
    }

    #[test]
    #[should_panic(
        expected = "`text` contains \"ghp_TEST\", and must not; it is:\npassword=ghp_TESTshown\n"
    )]
    fn assert_lacks_shows_the_needle_and_the_whole_text() {
        let text = String::from("password=ghp_TESTshown\n");
        assert_lacks!(text, "ghp_TEST");
    }

    #[test]
    #[should_panic(expected = "it is:\nhost=example.com\n\nthe token is never shown")]
    fn assert_lacks_adds_the_context_after_the_text() {
        let text = "host=example.com\n";
        assert_lacks!(text, "example", "the token is never {}", "shown");
    }

    #[test]
    #[should_panic(expected = "`text` does not contain \"ghp_TEST\"; it is:\nhost=example.com\n")]
    fn assert_contains_shows_the_needle_and_the_whole_text() {
        let text = "host=example.com\n";
        assert_contains!(text, "ghp_TEST");
    }
}
