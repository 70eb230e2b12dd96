//! The command line: the protocol operations git runs and the commands people
//! run. These definitions also feed the man pages and shell completions.

use std::ffi::OsString;
use std::path::PathBuf;

use chrono::TimeDelta;
use clap::{Args, Parser, Subcommand, ValueEnum, ValueHint};

use crate::config::{self, Overrides};
use crate::forge::Repo;

#[derive(Debug, Parser)]
#[command(
    name = "git-credential-patrol",
    version = crate::VERSION,
    about = "A git credential helper that keeps tokens in the OS keychain and warns before they expire",
    long_about = "A git credential helper that keeps tokens in the OS keychain and warns before \
                  they expire.\n\nEnable it with `git credential-patrol install`, or \
                  `git config --global credential.helper patrol`.",
    after_help = "Git runs `get`, `store`, `erase` and `capability` itself; see git-credential(1)."
)]
pub struct Cli {
    #[command(flatten)]
    pub helper: HelperArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Settings that may follow the helper's name in `credential.helper`; they
/// win over git config. They come before the command, as git passes them
/// (`git-credential-patrol --warn-before=14d get`), and change only what
/// warns and what `list` and `check` call due, so no command repeats them.
#[derive(Debug, Args)]
#[command(next_help_heading = "Settings (before the command)")]
pub struct HelperArgs {
    /// How long before expiry (or rotation) warnings start [default: 7 days]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub warn_before: Option<TimeDelta>,

    /// Rotation falls due this long after a token was stored
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub rotate_after: Option<TimeDelta>,

    /// At most one warning per credential per this interval [default: 12 hours]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub warn_every: Option<TimeDelta>,
}

impl HelperArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            warn_before: self.warn_before,
            rotate_after: self.rotate_after,
            warn_every: self.warn_every,
        }
    }
}

fn duration(text: &str) -> Result<TimeDelta, String> {
    config::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration: use {}", config::DURATION_FORMS))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// (git) Print the stored credential that matches the attributes on stdin
    #[command(display_order = 100)]
    Get,
    /// (git) Store the credential described on stdin
    #[command(display_order = 101)]
    Store,
    /// (git) Without URL: erase what matches stdin. With URL: remove a token locally
    #[command(display_order = 102)]
    Erase(EraseArgs),
    /// (git) Print the protocol version and supported capabilities
    #[command(display_order = 103)]
    Capability,

    /// List stored credentials, most urgent first
    List(ListArgs),
    /// Set a token's expiry by hand (for forges that do not report it)
    Expiry(ExpiryArgs),
    /// Replace a token with a new one, step by step
    Rotate(RotateArgs),
    /// Ask the forge whether each token (or one from the environment, on CI) works,
    /// what it reaches and when it expires
    Check(CheckArgs),
    /// Move credentials out of plaintext git-credential-store files into the keychain
    Import(ImportArgs),
    /// Configure git to ask patrol first for credentials
    Install(InstallArgs),
    /// Remove exactly what `install` added to git's configuration
    Uninstall(UninstallArgs),
    /// Print a stored token on stdout, for scripts
    Token(TokenArgs),
    /// Check the keychain, git, the helper chain, the index and leftover plaintext files
    Doctor,
    /// Show a desktop notification for each token that is expired, refused,
    /// expiring or due for rotation (at most one per token per
    /// patrol.notifyEvery); on stderr, exiting 1, where no notification
    /// service runs
    Notify(NotifyArgs),
    /// Run `notify` daily: a systemd user timer, a launchd agent or a Task
    /// Scheduler task
    Schedule(ScheduleArgs),

    /// Write man pages or shell completions into a directory, for packages
    #[command(hide = true)]
    Generate(GenerateArgs),

    /// Print the stored URLs or account names, one a line, for the shell
    /// completions
    #[command(hide = true)]
    Stored(StoredArgs),
}

impl Command {
    /// The command's name without its arguments: a URL argument may carry
    /// a password, and the trace must never show one.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Store => "store",
            Self::Erase(_) => "erase",
            Self::Capability => "capability",
            Self::List(_) => "list",
            Self::Expiry(_) => "expiry",
            Self::Rotate(_) => "rotate",
            Self::Check(_) => "check",
            Self::Import(_) => "import",
            Self::Install(_) => "install",
            Self::Uninstall(_) => "uninstall",
            Self::Token(_) => "token",
            Self::Doctor => "doctor",
            Self::Notify(_) => "notify",
            Self::Schedule(_) => "schedule",
            Self::Generate(_) => "generate",
            Self::Stored(_) => "stored",
        }
    }
}

#[derive(Debug, Args)]
pub struct EraseArgs {
    /// The credential's URL or host (`https://github.com`, `github.com`)
    #[arg(value_hint = ValueHint::Url)]
    pub url: Option<String>,
    /// The account, when the host has several
    #[arg(long, requires = "url", value_hint = ValueHint::Username)]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// Ask each forge about its tokens first, as `check` does
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Remove the daily job, leaving nothing behind
    #[arg(long, conflicts_with = "status")]
    pub remove: bool,
    /// Say whether the daily job exists and when `notify` last ran; exits 1
    /// when there is no job
    #[arg(long)]
    pub status: bool,
    /// Print one job definition for this program instead, as it would be
    /// installed
    #[arg(long, value_enum, hide = true, conflicts_with_all = ["remove", "status"])]
    pub print: Option<JobDefinition>,
}

/// `schedule --print`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JobDefinition {
    SystemdService,
    SystemdTimer,
    Launchd,
    Task,
    Crontab,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print `{"version": 1, "credentials": [...]}` instead of a table
    #[arg(long, conflicts_with = "ics")]
    pub json: bool,
    /// Print an iCalendar (RFC 5545) file instead: one all-day event per
    /// credential with an expiry or rotation date, a reminder `warnBefore`
    /// ahead
    #[arg(long)]
    pub ics: bool,
    /// Write the calendar to FILE instead of stdout
    #[arg(long, requires = "ics", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExpiryArgs {
    /// The credential's URL or host
    #[arg(value_hint = ValueHint::Url)]
    pub url: String,
    /// `2026-12-31`, an RFC 3339 time, a duration from now (`30d`), or `never`
    pub date: String,
    /// The account, when the host has several
    #[arg(long, value_hint = ValueHint::Username)]
    pub user: Option<String>,
    /// Take a date in the past: the token has expired, and git should stop using it
    #[arg(long)]
    pub allow_past: bool,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The credential's URL or host
    #[arg(value_hint = ValueHint::Url)]
    pub url: String,
    /// The account, when the host has several
    #[arg(long, value_hint = ValueHint::Username)]
    pub user: Option<String>,
    /// The new token's expiry (`2026-12-31`, `90d`, or `never`): GitLab gives
    /// it to the token it creates; for a token you paste it is recorded, and
    /// nothing is asked
    #[arg(long, value_name = "DATE", alias = "expires-at")]
    pub expires: Option<String>,
    /// Paste a token you created yourself, even where the forge could rotate it
    #[arg(long)]
    pub manual: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only the credentials of this URL or host
    #[arg(value_hint = ValueHint::Url, conflicts_with = "token_env")]
    pub url: Option<String>,
    /// The account, when the host has several; with --token-env, the user
    /// name the forge's API takes with the token (Gerrit's user, the
    /// Atlassian email for a Bitbucket API token)
    #[arg(long, value_hint = ValueHint::Username)]
    pub user: Option<String>,
    /// Check the token in this environment variable instead of stored ones
    /// (CI: validation only; it is never stored)
    #[arg(long, value_name = "NAME")]
    pub token_env: Option<String>,
    /// With --token-env: the host the token is for, with the organization
    /// on Azure DevOps (`dev.azure.com/ORG`) [default: github.com]
    #[arg(long, value_name = "HOST", requires = "token_env")]
    pub host: Option<String>,
    /// GitHub: also check this repository (`OWNER/NAME`) and the GraphQL API
    #[arg(long, value_name = "OWNER/NAME")]
    pub repo: Option<Repo>,
    /// Report tokens that expire within this time [default: patrol.warnBefore]
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub expiring_within: Option<TimeDelta>,
    /// Print `{"version": 1, "credentials": [...]}` instead of a report
    #[arg(long)]
    pub json: bool,
    /// Which problems make the exit status 1: all of them (`expiring`),
    /// all but a near expiry or rotation (`expired`), or none (`never`)
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = FailOn::Expiring)]
    pub fail_on: FailOn,
}

/// `check --fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any problem, a token that expires within warnBefore included
    Expiring,
    /// Any problem but a near expiry or rotation, which only warns
    Expired,
    /// None: problems are reported, and the exit status is 0
    Never,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// git-credential-store files [default: ~/.git-credentials and
    /// $XDG_CONFIG_HOME/git/credentials]
    #[arg(value_name = "FILE")]
    pub files: Vec<std::path::PathBuf>,
    /// Show what would be imported and removed; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Leave the plaintext files as they are
    #[arg(long)]
    pub keep_plaintext: bool,
}

/// Which git configuration file `install` writes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scope {
    System,
    #[default]
    Global,
    Local,
}

impl Scope {
    /// The `git config` option that selects this file.
    pub fn option(self) -> &'static str {
        match self {
            Self::System => "--system",
            Self::Global => "--global",
            Self::Local => "--local",
        }
    }

    /// The name `git config --show-scope` prints.
    pub fn name(self) -> &'static str {
        &self.option()[2..]
    }
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Your own configuration, for every repository (the default)
    #[arg(long, group = "scope")]
    pub global: bool,
    /// Every user's configuration on this machine
    #[arg(long, group = "scope")]
    pub system: bool,
    /// This repository only
    #[arg(long, group = "scope")]
    pub local: bool,
    /// Configure git even when no keychain can keep tokens across logins
    /// and reboots (git then asks for each token patrol cannot store)
    #[arg(long)]
    pub force: bool,
    /// Also run `notify` daily (`schedule`)
    #[arg(long)]
    pub schedule: bool,
}

impl InstallArgs {
    pub fn scope(&self) -> Scope {
        if self.system {
            Scope::System
        } else if self.local {
            Scope::Local
        } else {
            Scope::Global
        }
    }
}

/// Which installs `uninstall` undoes; with none of these, the one scope
/// that `install` was run for.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// What install added to your own configuration
    #[arg(long, group = "where")]
    pub global: bool,
    /// What install added to the configuration of every user
    #[arg(long, group = "where")]
    pub system: bool,
    /// What install added to this repository's configuration
    #[arg(long, group = "where")]
    pub local: bool,
    /// What install added to this configuration file (a repository's
    /// `.git/config`, from anywhere)
    #[arg(long, group = "where", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Also write every token patrol holds into git's plaintext file
    /// (~/.git-credentials, mode 0600) through `git credential-store`, for
    /// going back to `credential.helper store`
    #[arg(long)]
    pub restore_plaintext: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The credential's URL or host (`https://github.com`, `github.com`)
    #[arg(value_hint = ValueHint::Url)]
    pub url: String,
    /// The account, when the host has several
    #[arg(long, value_hint = ValueHint::Username)]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
pub struct StoredArgs {
    /// What to print
    pub what: StoredNames,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoredNames {
    /// The URL of every stored credential
    Urls,
    /// The account names
    Users,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to write
    pub what: Generated,
    /// The directory to write into; created when missing
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// `git-credential-patrol.1` and one page per command
    Man,
    /// bash, zsh, fish and PowerShell completions
    Completions,
}

/// Parses the command line. Git may one day run an operation we do not
/// know, and asks helpers to ignore those silently; a person or a script
/// that mistypes a command must hear about it. The difference is git's
/// request waiting on stdin: `git_is_asking` looks for it, and is called
/// only for an unknown word, so no operation loses a byte of its input.
/// `Ok(None)` says "an operation of git's future: do nothing".
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    git_is_asking: impl FnOnce() -> bool,
) -> Result<Option<Cli>, clap::Error> {
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(Some(cli)),
        Err(err) if err.kind() == clap::error::ErrorKind::InvalidSubcommand && git_is_asking() => {
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// Whether the first line on stdin is a protocol attribute (`key=value`,
/// keys as git writes them), that is, git sent a request.
pub fn is_request_line(line: &[u8]) -> bool {
    let Some(equals) = line.iter().position(|&b| b == b'=') else {
        return false;
    };
    equals > 0
        && line[..equals]
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_[]".contains(&b))
}

impl Command {
    /// For the operations git runs with a request on stdin: what a person
    /// who typed one at a terminal should run instead.
    pub fn git_only(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::Get => Some((
                "get",
                "`git credential fill` and type `url=https://github.com` and an empty line",
            )),
            Self::Store => Some((
                "store",
                "`git credential approve` and type `url=https://USER@github.com`, \
                 `password=TOKEN` and an empty line",
            )),
            Self::Erase(EraseArgs { url: None, .. }) => Some((
                "erase",
                "`git credential reject` and type `url=https://github.com` and an empty line \
                 (or, to remove a token yourself: git credential-patrol erase URL)",
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn command_names_are_the_words_people_type() {
        for sub in Cli::command().get_subcommands() {
            let name = sub.get_name();
            let line = match name {
                "expiry" => format!("git-credential-patrol {name} github.com never"),
                "rotate" | "token" => format!("git-credential-patrol {name} github.com"),
                "generate" => format!("git-credential-patrol {name} man out"),
                "stored" => format!("git-credential-patrol {name} urls"),
                _ => format!("git-credential-patrol {name}"),
            };
            let cli = parse(args(&line), || false).unwrap().unwrap();
            assert_eq!(cli.command.name(), name);
        }
    }

    #[test]
    fn helper_arguments_come_before_the_operation() {
        let cli = parse(args("git-credential-patrol --warn-before=14d get"), || true)
            .unwrap()
            .unwrap();
        assert_eq!(cli.helper.warn_before, Some(TimeDelta::days(14)));
        assert!(matches!(cli.command, Command::Get));
    }

    #[test]
    fn unknown_operations_from_git_are_ignored_but_typos_get_suggestions() {
        assert!(
            parse(args("git-credential-patrol frobnicate"), || true)
                .unwrap()
                .is_none()
        );
        let err = parse(args("git-credential-patrol lsit"), || false).unwrap_err();
        assert!(err.to_string().contains("list"), "{err}");
        assert_eq!(err.exit_code(), 2);
        // Stdin is looked at only for an unknown word.
        parse(args("git-credential-patrol get"), || {
            panic!("stdin was read")
        })
        .unwrap()
        .unwrap();
    }

    #[test]
    fn a_request_is_key_equals_value() {
        for line in [
            &b"protocol=https\n"[..],
            b"capability[]=authtype\n",
            b"url=https://x\n",
            b"host=",
        ] {
            assert!(is_request_line(line), "{}", String::from_utf8_lossy(line));
        }
        for line in [
            &b""[..],
            b"\n",
            b"list\n",
            b"=x\n",
            b"Protocol=https\n",
            b"a b=c\n",
        ] {
            assert!(!is_request_line(line), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn check_takes_a_repository_and_a_duration() {
        let cli = parse(
            args("git-credential-patrol check github.com --repo octo/hello --expiring-within 30d --json"),
            || false,
        )
        .unwrap()
        .unwrap();
        let Command::Check(check) = cli.command else {
            panic!("not check");
        };
        assert_eq!(check.repo.unwrap().to_string(), "octo/hello");
        assert_eq!(check.expiring_within, Some(TimeDelta::days(30)));
        assert!(check.json);
        let cli = parse(
            args("git-credential-patrol check --token-env PAT_TOKEN --host gitlab.com --fail-on expired"),
            || false,
        )
        .unwrap()
        .unwrap();
        let Command::Check(check) = cli.command else {
            panic!("not check");
        };
        assert_eq!(check.token_env.as_deref(), Some("PAT_TOKEN"));
        assert_eq!(check.host.as_deref(), Some("gitlab.com"));
        assert_eq!(check.fail_on, FailOn::Expired);
        for bad in [
            "git-credential-patrol check --host gitlab.com",
            "git-credential-patrol check github.com --token-env PAT_TOKEN",
            "git-credential-patrol check --token-env X --fail-on sometimes",
            "git-credential-patrol check --repo octo",
            "git-credential-patrol check --repo ../x/y",
            "git-credential-patrol check --expiring-within soon",
        ] {
            let err = parse(args(bad), || false).unwrap_err();
            assert!(err.use_stderr(), "{bad}");
        }
    }
}
