//! One module per command. Each works on credentials through the keychain,
//! the index and the expiry policy, over readers and writers it is given;
//! only `run` opens the process's stdin, stdout and stderr and reads the
//! clock. (`rotate` and `install` also ask whether stdin is a terminal, to
//! know whether a person is there to answer.)

mod capability;
mod check;
mod ci;
mod doctor;
mod erase;
mod generate;
mod get;
mod import;
mod install;
mod list;
mod rotate;
mod set_expiry;
mod store;
mod token;
mod url_argument;

use std::io::{self, BufWriter};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::cli::{Cli, Command};
use crate::config::{Overrides, Settings};
use crate::credential::{Target, TokenKind};
use crate::index::{Index, Snapshot};
use crate::keychain::{Keychain, KeychainError};
pub use crate::matching::{Wanted, fingerprint, keychain_accounts, matching, matching_record};
use crate::output::{self, Messages};
use crate::record::Record;
use url_argument::Named;

/// Input we cannot use: exit code 2.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// What every command works with.
pub struct Context {
    pub now: DateTime<Utc>,
    pub index: Index,
    pub overrides: Overrides,
}

impl Context {
    pub fn settings(&self, url: &str, messages: &mut Messages<impl io::Write>) -> Settings {
        Settings::load(url, &self.overrides, &mut |w| messages.warning(w))
    }

    /// Settings for a command that may send the credential's token to a
    /// forge: `apiUrl` only from a key scoped to `url`.
    pub fn forge_settings(&self, url: &str, messages: &mut Messages<impl io::Write>) -> Settings {
        let mut settings = self.settings(url, messages);
        settings.scope_api_url(url, &mut |w| messages.warning(w));
        settings
    }

    /// Settings without a word about bad values: for git's `store` and
    /// `erase`, which follow a `get` in the same push that already said it.
    pub fn settings_quietly(&self, url: &str) -> Settings {
        Settings::load(url, &self.overrides, &mut |_| {})
    }

    pub fn keychain(&self, settings: &Settings) -> Result<Keychain, KeychainError> {
        Keychain::open(
            settings.backend,
            settings.allow_memory_only,
            settings.keychain_timeout,
        )
    }

    /// The index as it is now, first made complete from the keychain when
    /// it was lost or damaged; a problem with it is worth a warning.
    pub fn read_index(&self, messages: &mut Messages<impl io::Write>) -> Snapshot {
        if !self.index.is_complete() {
            // The keychain setting is not per URL: any URL's settings do.
            let settings = self.settings("file:///", messages);
            match self.keychain(&settings) {
                Ok(keychain) => self.complete_index(&keychain, messages),
                Err(err) => crate::trace!("index not rebuilt: {err}"),
            }
        }
        let snapshot = self.index.read();
        if let Some(problem) = &snapshot.problem {
            messages.warning(problem);
        }
        snapshot
    }

    /// Whether `snapshot`, read for `target`'s host, speaks for every
    /// credential stored for it: the index is complete, the shard was read
    /// whole, and no `store` stopped (or is still running) between its
    /// keychain write and its index write, which leaves a pending note.
    /// Otherwise a miss asks the keychain. `get` and `erase` share this rule
    /// so that `erase` finds whatever `get` would answer with; the pending
    /// notes cost a directory read, so `get` asks only on a miss.
    pub fn index_speaks_for_all(&self, snapshot: &Snapshot, target: &Target) -> bool {
        snapshot.is_usable()
            && self
                .index
                .pending(&target.protocol, &target.host)
                .is_empty()
    }

    /// Makes the index speak for every credential again, when it does not:
    /// a version-1 index is migrated; else, after the index was lost or a
    /// shard damaged, every item of ours the keychain lists gets a record
    /// (one search of the whole keyring: this runs on the first write after
    /// such a loss, never on git's ordinary path).
    pub fn complete_index(&self, keychain: &Keychain, messages: &mut Messages<impl io::Write>) {
        if self.index.is_complete() {
            return;
        }
        let migrated = self
            .index
            .update(&mut Self::warn_index(messages), |_| ((), false));
        if let Err(err) = migrated {
            messages.warning(&err.to_string());
            return;
        }
        if self.index.is_complete() {
            return;
        }
        let found = match keychain.all() {
            Ok(found) => found.unwrap_or_default(),
            Err(err) => {
                messages.warning(&format!("the index could not be rebuilt: {err}"));
                return;
            }
        };
        let now = self.now;
        let records = found
            .into_iter()
            .map(|key| Record::new(key.target, key.username, TokenKind::Unknown, now))
            .collect();
        let rebuilt = self.index.rebuild(&mut Self::warn_index(messages), records);
        match rebuilt {
            Ok(0) => {}
            Ok(added) => messages.warning(&format!(
                "the index did not list {added} credential{} the keychain holds; {} back \
                 (`git credential-patrol list` shows them; expiry unknown until stored again \
                 or set with `git credential-patrol expiry`)",
                if added == 1 { "" } else { "s" },
                if added == 1 { "it is" } else { "they are" }
            )),
            Err(err) => messages.warning(&err.to_string()),
        }
    }

    /// What a person names by URL and `--user`, as git would ask for it.
    pub fn named<'r>(
        &self,
        records: &'r [Record],
        url: &str,
        user: Option<&str>,
    ) -> Result<Named<'r>, BadInput> {
        Named::find(records, url, user, &crate::config::use_http_path)
    }

    /// Index problems are worth a warning, never a failure.
    pub fn warn_index(messages: &mut Messages<impl io::Write>) -> impl FnMut(&str) + '_ {
        move |w: &str| messages.warning(w)
    }
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    let index_dir = Index::default_dir().context("cannot find a home directory for the index")?;
    let ctx = Context {
        now: Utc::now(),
        index: Index::new(index_dir),
        overrides: cli.helper.overrides(),
    };
    crate::trace!(
        "git-credential-patrol {} {}",
        crate::VERSION,
        cli.command.name()
    );
    let mut messages = Messages::stderr();
    let stdin = io::stdin().lock();
    let stdout = BufWriter::new(io::stdout().lock());
    // What people read is escaped as a whole; git's answer and a token
    // for a script are not (see `output::Escaped`).
    let people = output::Escaped::new(BufWriter::new(io::stdout().lock()));
    match cli.command {
        Command::Get => get::run(&ctx, stdin, stdout, &mut messages)?,
        Command::Store => store::run(&ctx, stdin, &mut messages)?,
        Command::Erase(args) => match args.url {
            None => erase::run(&ctx, stdin, &mut messages)?,
            Some(url) => erase::by_person(&ctx, &url, args.user.as_deref(), people, &mut messages)?,
        },
        Command::Capability => capability::run(stdout)?,
        Command::List(args) => return list::run(&ctx, &args, people, &mut messages),
        Command::Expiry(args) => set_expiry::run(&ctx, &args, stdin, people, &mut messages)?,
        Command::Rotate(args) => rotate::run(&ctx, &args, stdin, people, &mut messages)?,
        Command::Check(args) => return check::run(&ctx, &args, people, &mut messages),
        Command::Import(args) => return import::run(&ctx, &args, people, &mut messages),
        Command::Install(args) => {
            return install::install(&ctx, &args, stdin, people, &mut messages);
        }
        Command::Uninstall(args) => return install::uninstall(&ctx, &args, people, &mut messages),
        Command::Token(args) => token::run(&ctx, &args, stdout, &mut messages)?,
        Command::Doctor => return doctor::run(&ctx, people, &mut messages),
        Command::Generate(args) => generate::run(&args, stdout)?,
        // Shells show completions on the terminal: escaped like the rest.
        Command::Stored(args) => generate::stored(&ctx, args.what, people)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// How to name a credential to a person, as a command line would.
pub fn describe(target: &Target, username: &str) -> String {
    let url = crate::output::escape(&target.url());
    if username.is_empty() {
        url
    } else {
        format!("{url} ({})", crate::output::escape(username))
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
    crate::output::escape(&command)
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

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("alice"), "alice");
        assert_eq!(shell_word("a b'c"), "'a b'\\''c'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("https://github.com"), "https://github.com");
    }

    #[test]
    fn command_lines_are_quoted_and_escaped() {
        let target = Target {
            protocol: "https".into(),
            host: "git.example.com".into(),
            path: Some("my repo.git".into()),
        };
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
