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
mod installed;
mod list;
mod notify;
mod rotate;
mod schedule;
mod set_expiry;
mod store;
mod token;
mod uninstall;

use std::io::{self, BufWriter};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};
use crate::config::{Overrides, Settings};
use crate::credential::{Secrets, Target};
use crate::index::{Index, Snapshot};
use crate::keychain::{Keychain, KeychainError};
use crate::output::{self, BadInput, Messages};
use crate::record::Record;
use crate::storage::{self, Saved, Storage};
use crate::url_argument::Named;
use crate::urlmatch::settings_url;

/// What every command works with.
pub struct Context {
    pub now: DateTime<Utc>,
    pub index: Index,
    pub overrides: Overrides,
}

impl Context {
    pub fn settings(&self, url: &str, messages: &mut Messages<impl io::Write>) -> Settings {
        Settings::load(url, &self.overrides, self.index.dir(), &mut |w| {
            messages.warning(w)
        })
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
        Settings::load(url, &self.overrides, self.index.dir(), &mut |_| {})
    }

    pub fn keychain(&self, settings: &Settings) -> Result<Keychain, KeychainError> {
        Keychain::open(
            settings.backend,
            settings.allow_memory_only,
            settings.keychain_timeout,
        )
    }

    /// The keychain and the index together, at this command's moment.
    pub fn storage<'a>(&'a self, keychain: &'a Keychain) -> Storage<'a> {
        Storage {
            index: &self.index,
            keychain,
            now: self.now,
        }
    }

    /// The index as a person's command reads it (`storage::read_index`:
    /// first made complete from the keychain when it must be).
    pub fn read_index(&self, messages: &mut Messages<impl io::Write>) -> Snapshot {
        storage::read_index(
            &self.index,
            self.now,
            |messages| {
                // The keychain setting is not per URL: any URL's settings do.
                let settings = self.settings("file:///", messages);
                self.keychain(&settings)
            },
            messages,
        )
    }

    /// Stores one credential as git's `store` does (`Storage::save`), with
    /// this URL's settings.
    pub fn save(
        &self,
        target: &Target,
        username: &str,
        secrets: &Secrets,
        state: Option<&str>,
        messages: &mut Messages<impl io::Write>,
    ) -> Result<Saved> {
        let settings = self.save_settings(target, username, messages);
        let keychain = self.keychain(&settings)?;
        self.storage(&keychain)
            .save(&settings, target, username, secrets, state, messages)
    }

    /// The settings `save` takes for `target` and `username`.
    pub fn save_settings(
        &self,
        target: &Target,
        username: &str,
        messages: &mut Messages<impl io::Write>,
    ) -> Settings {
        // `import` has warned about bad settings already, and git's `store`
        // follows a `get` that did.
        let mut settings = self.settings_quietly(&settings_url(target, Some(username)));
        // Bare `apiUrl` is worth a word here (`get` never reads it), except
        // for a certificate's passphrase, which no forge is asked about.
        if !target.is_certificate() {
            settings.scope_api_url(&target.url(), &mut |w| messages.warning(w));
        }
        settings
    }

    /// The one credential a person names by URL and `--user`
    /// (`storage::one_named`: the keychain is asked when the index has
    /// none).
    pub fn one_named(
        &self,
        records: &[Record],
        url: &str,
        user: Option<&str>,
        messages: &mut Messages<impl io::Write>,
    ) -> Result<Record> {
        let named = self.named(records, url, user)?;
        storage::one_named(
            &self.index,
            self.now,
            &named,
            |messages| {
                let url = settings_url(&named.target, named.user.as_deref());
                let settings = self.settings(&url, messages);
                Ok(self.keychain(&settings)?)
            },
            messages,
        )
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
        Command::List(args) if args.ics => {
            return list::calendar(&ctx, &args, stdout, &mut messages);
        }
        Command::List(args) => return list::run(&ctx, &args, people, &mut messages),
        Command::Expiry(args) => set_expiry::run(&ctx, &args, stdin, people, &mut messages)?,
        Command::Rotate(args) => rotate::run(&ctx, &args, stdin, people, &mut messages)?,
        Command::Check(args) => {
            return match &args.token_env {
                Some(name) => ci::run(&ctx, &args, name, people, &mut messages),
                None => check::run(&ctx, &args, people, &mut messages),
            };
        }
        Command::Import(args) => return import::run(&ctx, &args, people, &mut messages),
        Command::Install(args) => {
            return install::run(&ctx, &args, stdin, people, &mut messages);
        }
        Command::Uninstall(args) => return uninstall::run(&ctx, &args, people, &mut messages),
        Command::Token(args) => token::run(&ctx, &args, stdout, &mut messages)?,
        Command::Doctor => return doctor::run(&ctx, people, &mut messages),
        Command::Notify(args) => return notify::run(&ctx, &args, &mut messages),
        Command::Schedule(args) => return schedule::run(&ctx, &args, people, &mut messages),
        Command::Generate(args) => generate::run(&args, stdout)?,
        // Shells show completions on the terminal: escaped like the rest.
        Command::Stored(args) => generate::stored(&ctx, args.what, people)?,
    }
    Ok(ExitCode::SUCCESS)
}
