//! What people read: git-style `warning:`/`hint:` lines, colour only on a
//! terminal (and never with `NO_COLOR`), dates in one clear form, and names
//! from outside (hosts, accounts) escaped before they reach a terminal.

use std::io::{self, IsTerminal, Write};

use chrono::{DateTime, Utc};

/// Where messages for a person go: stderr, which git shows during a push.
pub struct Messages<W: Write> {
    out: W,
    color: bool,
}

impl Messages<io::Stderr> {
    pub fn stderr() -> Self {
        let color = io::stderr().is_terminal() && color_allowed();
        Self {
            out: io::stderr(),
            color,
        }
    }
}

impl<W: Write> Messages<W> {
    #[cfg(test)]
    pub fn plain(out: W) -> Self {
        Self { out, color: false }
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

    fn line(&mut self, tag: &str, color: &str, text: &str) {
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

fn color_allowed() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Control characters shown as escapes, so that a host or account name from
/// a file or a server cannot move the cursor or change a terminal's title.
pub fn escape(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `2026-12-01 14:30 UTC`.
pub fn date_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("github.com"), "github.com");
        assert_eq!(escape("evil\x1b]0;pwned\x07"), "evil\\u{1b}]0;pwned\\u{7}");
        assert_eq!(escape("a\nb"), "a\\nb");
    }

    #[test]
    fn messages_look_like_git() {
        let mut messages = Messages::plain(Vec::new());
        messages.warning("careful");
        messages.hint("do this");
        assert_eq!(
            String::from_utf8(messages.into_inner()).unwrap(),
            "warning: careful\nhint: do this\n"
        );
    }
}
