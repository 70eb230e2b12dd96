//! `install [--global|--system|--local]` and `uninstall`: git's
//! configuration, changed only through `git config`, each result checked.
//!
//! `install` changes nothing unless the keychain can keep tokens across
//! logins and reboots (or `--force` says to): putting patrol first in front
//! of a working `store` while the keychain cannot keep what git hands it
//! would leave git asking for every token, or patrol keeping them only in
//! memory.
//!
//! `install` appends two entries to `credential.helper` in the chosen file:
//! an empty one, which by gitcredentials(7) resets the list of helpers
//! gathered so far, then patrol. Git stops at the first helper that answers,
//! so without the reset a helper configured earlier (`store`, a system-wide
//! manager) would answer first and patrol's warnings would never show. The
//! entries people already have are left where they are, which is what makes
//! `uninstall` exact: it takes out the two entries and the old chain is back.
//!
//! Helpers set for one URL (`credential.https://github.com.helper`, as
//! `gh auth setup-git` writes them, often with their own reset) belong to
//! the person or to another tool; `install` does not change them. It says,
//! for each, whether git still reaches patrol for that URL and, when it does
//! not, prints the two commands that hand the URL to patrol.
//!
//! What `install` added is recorded in `installed.json` beside the index
//! (scope, file, values; no secret). `uninstall` removes those values and
//! nothing else, and only where it can tell them apart: a value that occurs
//! more than once in the file is left to the person, with the command to run.
//! It undoes one configuration file at a time (`--global`, `--system`,
//! `--local`, `--file`; with none, the one `install` was run for), then says
//! what git does next: a `store` that comes back with an empty plaintext
//! file means git prompts and writes tokens in plain text again, which
//! `--restore-plaintext` prepares for by writing patrol's tokens there.

use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::{BadInput, Context, import};
use crate::cli::{ImportArgs, InstallArgs, Scope, UninstallArgs};
use crate::credential::Target;
use crate::fs::replace_file;
use crate::git_helpers::{self, HelperEntry, HelperKind};
use crate::keychain::{Durability, Key, KeychainError};
use crate::output::{Messages, describe, escape, shell_word};

const RECORD_NAME: &str = "installed.json";
const PROGRAM: &str = "git-credential-patrol";

/// What one `install` added to one configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Installed {
    /// `system`, `global` or `local`.
    scope: String,
    /// For `local`, the repository's configuration file; global and system
    /// files are found again by git itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<PathBuf>,
    /// The values added to `credential.helper`, in order.
    values: Vec<String>,
}

impl Installed {
    /// `the global configuration`, or the file of a local install.
    fn place(&self) -> String {
        match &self.file {
            Some(file) => escape(&file.display().to_string()),
            None => format!("the {} configuration", self.scope),
        }
    }

    /// The `git config` options that select the file.
    fn file_options(&self) -> Vec<String> {
        match &self.file {
            Some(file) => vec!["--file".into(), file.display().to_string()],
            None => vec![format!("--{}", self.scope)],
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Record {
    version: u32,
    installed: Vec<Installed>,
}

pub fn install(
    ctx: &Context,
    args: &InstallArgs,
    mut input: impl BufRead,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    let scope = args.scope();
    let ours = helper_value(messages)?;
    let before = git_helpers::read_entries()?;
    let in_scope: Vec<&str> = before
        .iter()
        .filter(|e| e.scope == scope.name() && e.url.is_none())
        .map(|e| e.value.as_str())
        .collect();
    let already = in_scope.ends_with(&["", ours.as_str()]);
    // Asked before anything changes: a keychain that cannot keep tokens
    // must not take git's requests away from the helper that keeps them now.
    let keychain = check_keychain(ctx, messages);
    let keychain_line = match keychain {
        Ok(line) => Some(line),
        Err(err) => {
            let (cause, fix) = err.cause_and_fix();
            if !args.force {
                messages.error(&format!(
                    "{cause}; git's configuration is unchanged{}",
                    fix.map(|fix| format!("\nfix: {fix}")).unwrap_or_default()
                ));
                messages.hint(
                    "`git credential-patrol install --force` configures git anyway: git then \
                     asks for every token that patrol cannot store",
                );
                return Ok(ExitCode::FAILURE);
            }
            messages.warning(&format!(
                "{cause}; configuring git anyway (--force): git asks for every token patrol \
                 cannot store"
            ));
            if let Some(fix) = fix {
                messages.hint(&format!("fix: {fix}"));
            }
            None
        }
    };
    if !already {
        let installed = Installed {
            scope: scope.name().to_owned(),
            file: match scope {
                Scope::Local => Some(local_config_file()?),
                _ => None,
            },
            values: vec![String::new(), ours.clone()],
        };
        // Recorded first: a crash between the two leaves a record of values
        // that may be missing, which `uninstall` handles; the reverse would
        // leave entries that `uninstall` does not know it added.
        let mut record = read_record(ctx)?;
        record.installed.push(installed.clone());
        write_record(ctx, &record)?;
        if let Err(err) = add_entries(&installed) {
            record.installed.pop();
            write_record(ctx, &record)?;
            return Err(err);
        }
    }

    let after = git_helpers::read_entries()?;
    let place = after
        .iter()
        .rfind(|e| e.scope == scope.name() && e.url.is_none() && e.value == ours)
        .map_or_else(
            || format!("the {} configuration", scope.name()),
            HelperEntry::place,
        );
    if already {
        writeln!(
            out,
            "git already asks patrol first ({place}); nothing to change."
        )?;
    } else {
        writeln!(out, "Configured git to ask patrol first, in {place}:")?;
        writeln!(
            out,
            "    credential.helper =           (empty: resets the list, so helpers configured before it are skipped)"
        )?;
        writeln!(out, "    credential.helper = {}", escape(&ours))?;
    }
    report_existing(&after, scope, &ours, &mut out)?;
    super::generate::install_man_pages(&mut out)?;
    if let Some(line) = keychain_line {
        writeln!(out, "{line}")?;
    }
    let leftovers = import::leftovers();
    for (path, count) in &leftovers {
        writeln!(
            out,
            "{} holds {count} credential{} in plain text.",
            escape(&path.display().to_string()),
            if *count == 1 { "" } else { "s" }
        )?;
    }
    if leftovers.is_empty() {
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "Move them into the keychain (the file keeps only what could not be moved) with:\n    git credential-patrol import"
    )?;
    // A person at a terminal can say yes right away; a script gets the
    // command and nothing happens without it.
    if std::io::stdin().is_terminal() {
        write!(out, "Import them now? [y/N] ")?;
        out.flush()?;
        let mut answer = String::new();
        input.read_line(&mut answer)?;
        if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            let args = ImportArgs {
                files: Vec::new(),
                dry_run: false,
                keep_plaintext: false,
            };
            return import::run(ctx, &args, out, messages);
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `patrol` when git finds this very program on PATH as
/// `git-credential-patrol`; otherwise its absolute path, as a shell command
/// when the path needs quoting.
fn helper_value(messages: &mut Messages<impl Write>) -> Result<String> {
    let exe = std::env::current_exe().context("cannot find this program's own path")?;
    let exe = fs::canonicalize(&exe).unwrap_or(exe);
    let file_name = format!("{PROGRAM}{}", std::env::consts::EXE_SUFFIX);
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(&file_name))
            .find(|candidate| candidate.is_file())
    });
    match on_path {
        Some(found) if fs::canonicalize(&found).is_ok_and(|f| f == exe) => Ok("patrol".into()),
        found => {
            let why = match found {
                Some(other) => format!(
                    "the {PROGRAM} first on PATH is another one ({})",
                    escape(&other.display().to_string())
                ),
                None => format!("{PROGRAM} is not on PATH"),
            };
            let path = exe
                .to_str()
                .ok_or_else(|| anyhow!("this program's path is not valid UTF-8"))?
                .to_owned();
            messages.hint(&format!("{why}: git will run it by its absolute path"));
            let plain = path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/-_.+".contains(c));
            // Git runs an absolute path as it is, but through the shell;
            // a path with spaces or quotes must be a quoted shell command.
            Ok(if plain {
                path
            } else {
                format!("!{}", shell_word(&path))
            })
        }
    }
}

fn local_config_file() -> Result<PathBuf> {
    let output = crate::git::run(["rev-parse", "--path-format=absolute", "--git-common-dir"])?;
    if !output.success() {
        bail!("--local needs a repository: run it inside one, or use --global");
    }
    let dir = String::from_utf8(output.stdout).context("the repository's path is not UTF-8")?;
    Ok(Path::new(dir.trim_end_matches(['\n', '\r'])).join("config"))
}

/// Adds the reset and patrol. If patrol cannot be added after the reset,
/// the reset is taken out again: alone it would switch every helper off.
fn add_entries(installed: &Installed) -> Result<()> {
    let options = installed.file_options();
    let [reset, ours] = installed.values.as_slice() else {
        bail!("an install adds exactly two values");
    };
    git_config(&options, &["--add", "credential.helper", reset])?;
    if let Err(err) = git_config(&options, &["--add", "credential.helper", ours]) {
        let undo = git_config(
            &options,
            &["--fixed-value", "--unset", "credential.helper", reset],
        );
        return Err(match undo {
            Ok(()) => err.context("git's configuration is unchanged"),
            Err(undo) => err.context(format!(
                "and the empty credential.helper entry just added could not be taken out ({undo:#}); \
                 remove it with `git config {} --edit`",
                options.join(" ")
            )),
        });
    }
    Ok(())
}

/// Runs `git config OPTIONS ARGS`; an error carries git's own message.
fn git_config(options: &[String], args: &[&str]) -> Result<()> {
    let output = crate::git::run(
        ["config"]
            .into_iter()
            .chain(options.iter().map(String::as_str))
            .chain(args.iter().copied()),
    )?;
    if output.success() {
        Ok(())
    } else {
        bail!(
            "`git config {} {}` failed: {}",
            options.join(" "),
            args.iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" "),
            output.stderr_text()
        )
    }
}

/// How many values of `credential.helper` in the file equal `value`.
fn occurrences(options: &[String], value: &str) -> Result<usize> {
    let output = crate::git::run(
        ["config"]
            .into_iter()
            .chain(options.iter().map(String::as_str))
            .chain([
                "-z",
                "--fixed-value",
                "--get-all",
                "credential.helper",
                value,
            ]),
    )?;
    match output.code() {
        Some(0) => Ok(output.stdout.iter().filter(|b| **b == 0).count()),
        Some(1) => Ok(0),
        _ => bail!(
            "`git config {} --get-all credential.helper` failed: {}",
            options.join(" "),
            output.stderr_text()
        ),
    }
}

/// Says, for every helper entry, what git now does with it.
fn report_existing(
    entries: &[HelperEntry],
    scope: Scope,
    ours: &str,
    mut out: impl Write,
) -> Result<()> {
    // Our two entries are the last of the scope's general ones.
    let ours_at = entries
        .iter()
        .rposition(|e| e.scope == scope.name() && e.url.is_none() && e.value == ours);
    let general: Vec<(usize, &HelperEntry)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.url.is_none())
        .collect();
    let reached =
        ours_at.is_some_and(|at| !general.iter().any(|(i, e)| *i > at && e.value.is_empty()));
    let mut lines = Vec::new();
    for (i, entry) in &general {
        let Some(at) = ours_at else { break };
        if *i == at || (*i + 1 == at && entry.value.is_empty()) {
            continue;
        }
        let what = format!("{} in {}", entry.described(), entry.place());
        if *i < at {
            if !entry.value.is_empty() {
                lines.push(format!(
                    "  {what}: skipped from now on (the reset before patrol); left in place, so `uninstall` brings it back."
                ));
            }
        } else if entry.value.is_empty() {
            lines.push(format!(
                "  an empty credential.helper in {} comes after patrol and resets the list: git never asks patrol. Remove it, or install in that scope.",
                entry.place()
            ));
        } else if entry.kind() == HelperKind::Store {
            lines.push(format!(
                "  {what}: asked after patrol; git also gives it every new credential, which it writes in plain text. Remove it with:\n      {}",
                entry.unset_command()
            ));
        } else {
            lines.push(format!(
                "  {what}: asked after patrol, when patrol has no token."
            ));
        }
    }
    let mut urls: Vec<&str> = entries.iter().filter_map(|e| e.url.as_deref()).collect();
    urls.sort_unstable();
    urls.dedup();
    for pattern in urls {
        let url = example_url(pattern);
        let chain = git_helpers::chain_for(entries, &url);
        let first_patrol = chain.iter().position(|e| e.kind() == HelperKind::Patrol);
        for entry in entries.iter().filter(|e| e.url.as_deref() == Some(pattern)) {
            if entry.value.is_empty() || entry.kind() == HelperKind::Patrol {
                continue;
            }
            let what = format!(
                "{} for {} in {}",
                entry.described(),
                escape(pattern),
                entry.place()
            );
            let position = chain.iter().position(|c| std::ptr::eq(*c, entry));
            match (position, first_patrol) {
                (Some(p), Some(first)) if p > first => lines.push(format!(
                    "  {what}: asked after patrol, when patrol has no token."
                )),
                (None, Some(_)) => lines.push(format!(
                    "  {what}: skipped from now on (the reset before patrol comes after it); left in place, so `uninstall` brings it back."
                )),
                (_, found) => {
                    let why = if found.is_some() {
                        "answers before patrol"
                    } else if entries
                        .iter()
                        .any(|e| e.url.as_deref() == Some(pattern) && e.value.is_empty())
                    {
                        "resets the list for that URL, so git never asks patrol there; this helper answers instead"
                    } else {
                        "answers before patrol"
                    };
                    lines.push(format!(
                        "  {what}: {why}. install leaves it as it is. To let patrol answer for {} (git then no longer asks this helper there), run:\n{}",
                        escape(pattern),
                        entry.hand_over_commands()
                    ));
                }
            }
        }
    }
    if !reached {
        lines.push(
            "  git does not reach patrol with this configuration: `git credential-patrol doctor` shows the chain."
                .into(),
        );
    }
    if !lines.is_empty() {
        writeln!(out, "Helpers already configured:")?;
        for line in lines {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// A URL that a `credential.<url>` pattern matches, to build its chain.
fn example_url(pattern: &str) -> String {
    let url = pattern.replace('*', "x");
    if url.contains("://") {
        url
    } else {
        format!("https://{url}")
    }
}

/// Whether the keychain answers and keeps what it stores: the line to
/// print when it does, or why not. Nothing is written to it.
fn check_keychain(
    ctx: &Context,
    messages: &mut Messages<impl Write>,
) -> Result<String, KeychainError> {
    let settings = ctx.settings("https://github.com", messages);
    let probe = Key::new(
        Target {
            protocol: "https".into(),
            host: "git-credential-patrol.invalid".into(),
            path: None,
        },
        "",
    );
    let keychain = ctx.keychain(&settings)?;
    keychain.get(&probe)?;
    Ok(match keychain.durability()? {
        Durability::Lasting => {
            "The keychain answers, and keeps tokens across logins and reboots.".into()
        }
        Durability::UntilReboot => {
            messages.hint(
                "the kernel keyring (patrol.backend keyutils) needs no daemon, but it does not \
                 survive a reboot: after one, git asks for each token again",
            );
            "The kernel keyring answers.".into()
        }
        Durability::MemoryOnly { collection } if keychain.memory_only_allowed() => format!(
            "The keychain answers, but keeps tokens only in memory (collection `{}`, \
             patrol.allowMemoryOnly): they are lost at logout or reboot, and `import` leaves \
             plaintext files as they are.",
            escape(&collection)
        ),
        Durability::MemoryOnly { collection } => {
            return Err(KeychainError::MemoryOnly { collection });
        }
    })
}

pub fn uninstall(
    ctx: &Context,
    args: &UninstallArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    let mut record = read_record(ctx)?;
    let wanted = Wanted::from_args(args)?;
    let (chosen, kept): (Vec<Installed>, Vec<Installed>) = std::mem::take(&mut record.installed)
        .into_iter()
        .partition(|installed| wanted.as_ref().is_none_or(|w| w.selects(installed)));
    record.installed = kept;
    if wanted.is_none() {
        let mut places: Vec<String> = chosen.iter().map(Installed::place).collect();
        places.dedup();
        if places.len() > 1 {
            return Err(BadInput(format!(
                "install was run for several configurations ({}); say which to undo with \
                 --global, --system, --local or --file FILE",
                places.join(", ")
            ))
            .into());
        }
        if let Some(place) = places.first() {
            writeln!(
                out,
                "Undoing what install added to {place}, the only configuration it was run for."
            )?;
        }
    }
    let mut failed = false;
    if chosen.is_empty() {
        report_nothing_recorded(wanted.as_ref(), &mut out)?;
    } else {
        // Installs into the same file are undone together: a second install
        // (after the program moved, say) added a second empty entry, and only
        // together do the recorded values account for every copy in the file.
        let mut files: Vec<(Vec<String>, String, Vec<Installed>)> = Vec::new();
        for installed in chosen {
            let options = installed.file_options();
            match files.iter_mut().find(|(o, _, _)| *o == options) {
                Some((_, _, group)) => group.push(installed),
                None => files.push((options, installed.scope.clone(), vec![installed])),
            }
        }
        for (options, scope, group) in files {
            match remove_installed(&options, &scope, &group, &mut out) {
                Ok(true) => {}
                Ok(false) => {
                    failed = true;
                    record.installed.extend(group);
                }
                Err(err) => {
                    messages.error(&format!("{err:#}"));
                    failed = true;
                    record.installed.extend(group);
                }
            }
        }
        write_record(ctx, &record)?;
    }
    let restored = if args.restore_plaintext {
        Some(restore_plaintext(ctx, &mut out, messages)?)
    } else {
        None
    };
    let held = ctx
        .index
        .read()
        .records
        .iter()
        .filter(|r| r.is_live())
        .count();
    report_what_git_does_next(restored, held, &mut out)?;
    out.flush()?;
    Ok(if failed || restored.is_some_and(|r| r.failed) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Which recorded installs `uninstall` undoes; `None`: the one there is.
enum Wanted {
    Scope(&'static str),
    File(PathBuf),
}

impl Wanted {
    fn from_args(args: &UninstallArgs) -> Result<Option<Self>> {
        Ok(if args.global {
            Some(Self::Scope("global"))
        } else if args.system {
            Some(Self::Scope("system"))
        } else if args.local {
            let file = local_config_file().map_err(|err| BadInput(format!("{err:#}")))?;
            Some(Self::File(file))
        } else if let Some(file) = &args.file {
            let file = fs::canonicalize(file).map_err(|err| {
                BadInput(format!(
                    "cannot find {}: {err}",
                    escape(&file.display().to_string())
                ))
            })?;
            Some(Self::File(file))
        } else {
            None
        })
    }

    fn selects(&self, installed: &Installed) -> bool {
        match (self, &installed.file) {
            (Self::Scope(scope), None) => installed.scope == *scope,
            (Self::File(file), Some(recorded)) => {
                fs::canonicalize(recorded).is_ok_and(|recorded| recorded == *file)
            }
            _ => false,
        }
    }

    fn place(&self) -> String {
        match self {
            Self::Scope(scope) => format!("the {scope} configuration"),
            Self::File(file) => escape(&file.display().to_string()),
        }
    }
}

/// Nothing recorded where `uninstall` was asked to look: patrol entries
/// added by hand are named with the command that removes each.
fn report_nothing_recorded(wanted: Option<&Wanted>, mut out: impl Write) -> Result<()> {
    let place = wanted.map_or_else(|| "git's configuration".to_owned(), Wanted::place);
    writeln!(
        out,
        "In {place}, install added nothing that is still recorded."
    )?;
    let entries = git_helpers::read_entries()?;
    for entry in entries.iter().filter(|e| e.kind() == HelperKind::Patrol) {
        writeln!(
            out,
            "{} = {} ({}) was not added by install; remove it with:\n    {}",
            escape(&entry.key()),
            escape(&entry.value),
            entry.place(),
            entry.unset_command()
        )?;
    }
    Ok(())
}

/// What `--restore-plaintext` did.
#[derive(Clone, Copy)]
struct Restored {
    written: usize,
    failed: bool,
}

/// Writes every token patrol holds into git's plaintext file through git's
/// own `credential-store`, which takes its lock, encodes each line and
/// creates the file with mode 0600. Tokens stay in the keychain.
fn restore_plaintext(
    ctx: &Context,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<Restored> {
    let snapshot = ctx.read_index(messages);
    let mut restored = Restored {
        written: 0,
        failed: false,
    };
    for record in snapshot.records.iter().filter(|r| r.is_live()) {
        let who = describe(&record.target, &record.username);
        if record.username.is_empty() {
            messages.warning(&format!(
                "{who} has no account name, which git's `store` needs; it was not written"
            ));
            restored.failed = true;
            continue;
        }
        let settings = ctx.settings(&record.target.url(), messages);
        let key = Key::new(record.target.clone(), record.username.clone());
        let secrets = ctx.keychain(&settings).and_then(|k| k.get(&key))?;
        let Some(password) = secrets.and_then(|s| s.password) else {
            messages.warning(&format!(
                "the keychain holds no password for {who}; it was not written"
            ));
            restored.failed = true;
            continue;
        };
        let mut request = zeroize::Zeroizing::new(format!(
            "protocol={}\nhost={}\n",
            record.target.protocol, record.target.host
        ));
        if let Some(path) = &record.target.path {
            request.push_str(&format!("path={path}\n"));
        }
        request.push_str(&format!(
            "username={}\npassword={}\n\n",
            record.username,
            password.expose()
        ));
        let output = crate::git::run_with_input(["credential-store", "store"], request.as_bytes())?;
        if output.success() {
            restored.written += 1;
        } else {
            messages.error(&format!(
                "git credential-store could not write {who}: {}",
                escape(&output.stderr_text())
            ));
            restored.failed = true;
        }
    }
    let file = crate::plaintext::store_file();
    writeln!(
        out,
        "Wrote {} token{} to {} (mode 0600) with git credential-store; they also stay in the keychain.",
        restored.written,
        if restored.written == 1 { "" } else { "s" },
        escape(&file.display().to_string())
    )?;
    Ok(restored)
}

/// Says which helpers git asks now, and what that means when one of them
/// is `store` with nothing in its file; `held`: how many tokens patrol
/// holds.
fn report_what_git_does_next(
    restored: Option<Restored>,
    held: usize,
    mut out: impl Write,
) -> Result<()> {
    let entries = git_helpers::read_entries()?;
    let mut chain: Vec<&HelperEntry> = Vec::new();
    for entry in entries.iter().filter(|e| e.url.is_none()) {
        if entry.value.is_empty() {
            chain.clear();
        } else {
            chain.push(entry);
        }
    }
    if chain.is_empty() {
        writeln!(
            out,
            "git now has no credential helper: it asks for a username and token each time a \
             remote needs one."
        )?;
    } else {
        let names: Vec<String> = chain
            .iter()
            .map(|e| format!("{} in {}", e.described(), e.place()))
            .collect();
        writeln!(out, "git now asks {}.", names.join(", then "))?;
    }
    if chain.iter().any(|e| e.kind() == HelperKind::Patrol) {
        writeln!(
            out,
            "patrol is still configured there; `git credential-patrol uninstall` with \
             --global, --system, --local or --file removes what install added."
        )?;
    }
    let store_comes_back = chain.iter().any(|e| e.kind() == HelperKind::Store);
    if store_comes_back && import::leftovers().is_empty() && restored.is_none_or(|r| r.written == 0)
    {
        writeln!(
            out,
            "The plaintext file of git's `store` holds no token: at the next push git asks for \
             yours and `store` writes it there in plain text."
        )?;
        if held > 0 && restored.is_none() {
            writeln!(
                out,
                "To write the tokens patrol holds into that file now (mode 0600):\n    \
                 git credential-patrol uninstall --restore-plaintext"
            )?;
        }
    }
    if held > 0 {
        writeln!(
            out,
            "Your tokens stay in the keychain: `git credential-patrol list` shows them, \
             `git credential-patrol erase URL` removes one."
        )?;
    }
    Ok(())
}

/// Removes the values the installs of one file added; `false` when the
/// person must finish because a value occurs more often than recorded.
fn remove_installed(
    options: &[String],
    scope: &str,
    group: &[Installed],
    mut out: impl Write,
) -> Result<bool> {
    // The reset first: patrol alone at the end of the list is a working
    // configuration; a reset alone would switch every helper off.
    let mut values: Vec<&str> = vec![""];
    for installed in group {
        for value in &installed.values {
            if !values.contains(&value.as_str()) {
                values.push(value);
            }
        }
    }
    let recorded = |value: &str| {
        group
            .iter()
            .flat_map(|i| &i.values)
            .filter(|v| *v == value)
            .count()
    };
    let counts = values
        .iter()
        .map(|value| occurrences(options, value))
        .collect::<Result<Vec<_>>>()?;
    let place = format!("{scope} configuration");
    if let Some((value, count)) = values
        .iter()
        .zip(&counts)
        .find(|(value, count)| **count > recorded(value))
    {
        writeln!(
            out,
            "credential.helper = {} occurs {count} times in the {place}, more than install added; patrol cannot tell which are its own and changed nothing there. Remove its entries by hand (the empty entry just before patrol, and patrol) with:\n    git config {} --edit",
            shown_value(value),
            options.join(" ")
        )?;
        return Ok(false);
    }
    for (value, count) in values.iter().zip(&counts) {
        if *count == 0 {
            writeln!(
                out,
                "credential.helper = {} is no longer in the {place}.",
                shown_value(value)
            )?;
            continue;
        }
        git_config(
            options,
            &["--fixed-value", "--unset-all", "credential.helper", value],
        )?;
        writeln!(
            out,
            "Removed credential.helper = {} from the {place}.",
            shown_value(value)
        )?;
    }
    Ok(true)
}

/// A value as a person reads it: the empty one named, not invisible.
fn shown_value(value: &str) -> String {
    if value.is_empty() {
        "(empty)".into()
    } else {
        escape(value)
    }
}

fn record_path(ctx: &Context) -> PathBuf {
    ctx.index.dir().join(RECORD_NAME)
}

fn read_record(ctx: &Context) -> Result<Record> {
    let path = record_path(ctx);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is damaged; move it away to continue (it lists what install added to git's configuration)",
                path.display()
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_record(ctx: &Context, record: &Record) -> Result<()> {
    let path = record_path(ctx);
    if record.installed.is_empty() {
        return match fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(err).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    ctx.index.create_dir()?;
    let mut json = serde_json::to_vec_pretty(&Record {
        version: 1,
        installed: record.installed.clone(),
    })?;
    json.push(b'\n');
    replace_file(&path, &json).with_context(|| format!("cannot write {}", path.display()))
}
