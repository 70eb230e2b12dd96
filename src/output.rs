//! What people read: git-style `warning:`/`hint:` lines, colour only on a
//! terminal (and never with `NO_COLOR`), dates in one clear form, and names
//! from outside (hosts, paths, accounts, configuration values, forge
//! answers) escaped before they reach a terminal.
//!
//! `terminal::escape` is the one escaping function. Every message on
//! stderr passes through it (`Messages`), and so does everything a command
//! writes on stdout for people (`Escaped`), so that a value from outside
//! reaches a terminal raw nowhere, whichever line of code forgot to escape
//! it. Only
//! git's protocol answer and `token`'s output, which are for programs, are
//! written as they are.

use std::io::{self, IsTerminal, Write};

use chrono::{DateTime, Utc};

use crate::credential::Target;
use crate::record::Record;
use crate::terminal::escape;

/// Input a person or git gave that cannot be used: `main` exits 2 for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Where messages for a person go: stderr, which git shows during a push.
pub struct Messages<W: Write> {
    out: W,
    color: bool,
    /// They reach a terminal.
    terminal: bool,
}

impl Messages<io::Stderr> {
    pub fn stderr() -> Self {
        let terminal = io::stderr().is_terminal();
        Self {
            out: io::stderr(),
            color: terminal && color_allowed(),
            terminal,
        }
    }
}

/// Variables a CI service sets in every job, whose log people read.
const CI_VARIABLES: [&str; 6] = [
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "TF_BUILD",
    "BUILDKITE",
    "JENKINS_URL",
];

impl<W: Write> Messages<W> {
    #[cfg(test)]
    pub fn plain(out: W) -> Self {
        Self {
            out,
            color: false,
            terminal: true,
        }
    }

    /// Whether a person plausibly reads these messages: they reach a
    /// terminal, or a CI job's log. A program that runs the helper and
    /// keeps its stderr to itself (cargo's built-in git does) shows them
    /// to nobody, so a warning printed there must not count as given.
    pub fn seen(&self) -> bool {
        self.terminal
            || CI_VARIABLES.iter().any(|name| {
                std::env::var_os(name).is_some_and(|value| !value.is_empty() && value != "false")
            })
    }

    /// `warning: …`, yellow like git's own on a terminal.
    pub fn warning(&mut self, text: &str) {
        self.line("warning", "\x1b[33m", text);
    }

    /// `hint: …`, dim like git's own on a terminal.
    pub fn hint(&mut self, text: &str) {
        self.line("hint", "\x1b[2m", text);
    }

    /// `git-credential-patrol: …`, for failures.
    pub fn error(&mut self, text: &str) {
        self.line("git-credential-patrol", "\x1b[31m", text);
    }

    /// `fix: …`, the line after a failure or warning that says what to do.
    pub fn fix(&mut self, text: &str) {
        self.line("fix", "\x1b[2m", text);
    }

    fn line(&mut self, tag: &str, color: &str, text: &str) {
        // A message is one line: a line break inside it is escaped too, so
        // that no value can forge a line of its own. Patrol's own layout
        // is one call per line (`error`, then `fix`), never a line break
        // inside a text.
        let text = escape(text);
        // A message about a credential must never break the operation that
        // produced it: write errors on stderr are ignored.
        let _ = if self.color {
            writeln!(self.out, "{color}{tag}:\x1b[0m {text}")
        } else {
            writeln!(self.out, "{tag}: {text}")
        };
    }

    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// A JSON document, pretty, on a line of its own. JSON's strings escape
/// C0 controls but may carry C1 ones (U+0080 to U+009F), DEL and format
/// characters (a right-to-left override) raw, which terminals obey: those
/// are written as `\uXXXX`, which JSON readers read back as the same
/// characters.
pub fn json(out: &mut impl Write, value: &impl serde::Serialize) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        if crate::terminal::acts(c) && c != '\n' {
            let mut units = [0; 2];
            for unit in c.encode_utf16(&mut units) {
                safe.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            safe.push(c);
        }
    }
    writeln!(out, "{safe}")
}

/// A writer for people's eyes: what is written goes through `escape`, line
/// by line, the line breaks kept.
pub struct Escaped<W: Write>(W);

impl<W: Write> Escaped<W> {
    pub fn new(out: W) -> Self {
        Self(out)
    }
}

impl<W: Write> Write for Escaped<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Formatting writes whole `str` pieces; bytes that are not UTF-8
        // are shown as U+FFFD rather than passed on.
        let text = String::from_utf8_lossy(buf);
        let escaped: Vec<String> = text.split('\n').map(escape).collect();
        self.0.write_all(escaped.join("\n").as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `2026-12-01 14:30 UTC`.
pub fn date_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How to name a credential to a person, as a command line would.
pub fn describe(target: &Target, username: &str) -> String {
    let url = escape(&target.url());
    if username.is_empty() {
        url
    } else {
        format!("{url} ({})", escape(username))
    }
}

/// The `rotate` command line for a credential.
pub fn rotate_command(record: &Record) -> String {
    command_line("rotate", &record.target, &record.username)
}

/// The `erase` command line for a credential.
pub fn erase_command(target: &Target, username: &str) -> String {
    command_line("erase", target, username)
}

/// `git credential-patrol VERB URL [--user NAME]` as a shell reads it back,
/// escaped for a terminal: host, path and user come from outside.
fn command_line(verb: &str, target: &Target, username: &str) -> String {
    let mut command = format!("git credential-patrol {verb} {}", shell_word(&target.url()));
    if !username.is_empty() {
        command.push_str(&format!(" --user {}", shell_word(username)));
    }
    escape(&command)
}

/// A word as a POSIX shell reads it back, quoted only when it must be.
pub fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.@+/:=,".contains(c))
        && !word.is_empty()
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::https_path;

    #[test]
    fn every_message_and_every_line_for_people_is_escaped() {
        let mut messages = Messages::plain(Vec::new());
        messages.warning("host evil\x1b[2J\nwarning: forged");
        assert_eq!(
            String::from_utf8(messages.into_inner()).unwrap(),
            "warning: host evil\\u{1b}[2J\\nwarning: forged\n"
        );
        let mut out = Escaped::new(Vec::new());
        let host = "a\u{9b}31m\x07b";
        writeln!(out, "host: {host}").unwrap();
        writeln!(out, "already: {}", escape("\x1b")).unwrap();
        assert_eq!(
            String::from_utf8(out.0).unwrap(),
            "host: a\\u{9b}31m\\u{7}b\nalready: \\u{1b}\n"
        );
    }

    #[test]
    fn json_carries_no_raw_control_and_reads_back_the_same() {
        let value = serde_json::json!({ "host": "a\u{9b}31m\x1b\x7fb\u{202e}\u{e0041}" });
        let mut out = Vec::new();
        json(&mut out, &value).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text
                .trim_end()
                .chars()
                .any(|c| crate::terminal::acts(c) && c != '\n'),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }

    #[test]
    fn messages_look_like_git() {
        let mut messages = Messages::plain(Vec::new());
        messages.warning("careful");
        messages.hint("do this");
        messages.fix("run this");
        assert_eq!(
            String::from_utf8(messages.into_inner()).unwrap(),
            "warning: careful\nhint: do this\nfix: run this\n"
        );
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("alice"), "alice");
        assert_eq!(shell_word("a b'c"), "'a b'\\''c'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("https://github.com"), "https://github.com");
    }

    #[test]
    fn command_lines_are_quoted_and_escaped() {
        let target = https_path("git.example.com", "my repo.git");
        assert_eq!(
            erase_command(&target, "a\x1bb"),
            "git credential-patrol erase 'https://git.example.com/my repo.git' --user 'a\\u{1b}b'"
        );
        assert_eq!(
            erase_command(
                &Target {
                    path: None,
                    ..target
                },
                ""
            ),
            "git credential-patrol erase https://git.example.com"
        );
    }
}
