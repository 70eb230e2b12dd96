//! `uninstall [--global|--system|--local|--file FILE] [--restore-plaintext]`:
//! takes out what `install` added to git's configuration, as recorded in
//! `installed.json` (`installed`). It removes those values and nothing
//! else, and only where it can tell them apart: a value that occurs
//! more than once in the file is left to the person, with the command to run.
//! It undoes one configuration file at a time (`--global`, `--system`,
//! `--local`, `--file`; with none, the one `install` was run for), then says
//! what git does next: a `store` that comes back with an empty plaintext
//! file means git prompts and writes tokens in plain text again, which
//! `--restore-plaintext` prepares for by writing patrol's tokens there.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};

use super::installed::{Installed, git_config, local_config_file, read_record, write_record};
use super::{Context, import};
use crate::cli::UninstallArgs;
use crate::git_helpers::{self, HelperEntry, HelperKind};
use crate::keychain::Key;
use crate::output::BadInput;
use crate::output::{Messages, describe};
use crate::terminal::escape;
use crate::urlmatch::settings_url;

pub fn run(
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
        for (options, scope, group) in by_file(chosen) {
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
    // The daily job runs `notify` for a patrol that git no longer asks.
    for what in super::schedule::remove()? {
        writeln!(out, "Removed the daily notify job: {what}")?;
    }
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
        let settings = ctx.settings(
            &settings_url(&record.target, Some(&record.username)),
            messages,
        );
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
    let chain = general_chain(&entries);
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
    let values = values_to_remove(group);
    let counts = values
        .iter()
        .map(|value| occurrences(options, value))
        .collect::<Result<Vec<_>>>()?;
    let place = format!("{scope} configuration");
    if let Some((value, count)) = more_than_recorded(group, &values, &counts) {
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

/// The recorded installs grouped by the file they changed, each with the
/// `git config` options that select it and its scope. Installs into the
/// same file are undone together: a second install (after the program
/// moved, say) added a second empty entry, and only together do the
/// recorded values account for every copy in the file.
fn by_file(chosen: Vec<Installed>) -> Vec<(Vec<String>, String, Vec<Installed>)> {
    let mut files: Vec<(Vec<String>, String, Vec<Installed>)> = Vec::new();
    for installed in chosen {
        let options = installed.file_options();
        match files.iter_mut().find(|(o, _, _)| *o == options) {
            Some((_, _, group)) => group.push(installed),
            None => files.push((options, installed.scope.clone(), vec![installed])),
        }
    }
    files
}

/// The values to take out of one file, each once, the reset first: patrol
/// alone at the end of the list is a working configuration; a reset alone
/// would switch every helper off.
fn values_to_remove(group: &[Installed]) -> Vec<&str> {
    let mut values: Vec<&str> = vec![""];
    for installed in group {
        for value in &installed.values {
            if !values.contains(&value.as_str()) {
                values.push(value);
            }
        }
    }
    values
}

/// The first value the file holds more often than the installs recorded
/// adding it, with how often (`counts`, one for each of `values`): then
/// patrol cannot tell which copies are its own.
fn more_than_recorded<'v>(
    group: &[Installed],
    values: &[&'v str],
    counts: &[usize],
) -> Option<(&'v str, usize)> {
    let recorded = |value: &str| {
        group
            .iter()
            .flat_map(|i| &i.values)
            .filter(|v| *v == value)
            .count()
    };
    values
        .iter()
        .zip(counts)
        .find(|(value, count)| **count > recorded(value))
        .map(|(value, count)| (*value, *count))
}

/// The helpers git asks for a URL that has none of its own: the entries
/// for every URL after the last reset among them.
fn general_chain(entries: &[HelperEntry]) -> Vec<&HelperEntry> {
    let mut chain = Vec::new();
    for entry in entries.iter().filter(|e| e.url.is_none()) {
        if entry.value.is_empty() {
            chain.clear();
        } else {
            chain.push(entry);
        }
    }
    chain
}

/// A value as a person reads it: the empty one named, not invisible.
fn shown_value(value: &str) -> String {
    if value.is_empty() {
        "(empty)".into()
    } else {
        escape(value)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(scope: &str, file: Option<&str>, ours: &str) -> Installed {
        Installed {
            scope: scope.into(),
            file: file.map(PathBuf::from),
            values: vec![String::new(), ours.into()],
        }
    }

    #[test]
    fn installs_into_one_file_are_undone_together() {
        let chosen = vec![
            installed("global", None, "patrol"),
            installed("local", Some("/src/a/.git/config"), "patrol"),
            installed("global", None, "/opt/patrol/git-credential-patrol"),
            installed("local", Some("/src/b/.git/config"), "patrol"),
        ];
        let files = by_file(chosen);
        let summary: Vec<(Vec<String>, String, usize)> = files
            .iter()
            .map(|(options, scope, group)| (options.clone(), scope.clone(), group.len()))
            .collect();
        assert_eq!(
            summary,
            [
                (vec!["--global".to_owned()], "global".to_owned(), 2),
                (
                    vec!["--file".to_owned(), "/src/a/.git/config".to_owned()],
                    "local".to_owned(),
                    1
                ),
                (
                    vec!["--file".to_owned(), "/src/b/.git/config".to_owned()],
                    "local".to_owned(),
                    1
                ),
            ]
        );
        assert_eq!(
            values_to_remove(&files[0].2),
            ["", "patrol", "/opt/patrol/git-credential-patrol"]
        );
    }

    #[test]
    fn the_reset_is_removed_first_even_if_recorded_last() {
        let odd = Installed {
            scope: "global".into(),
            file: None,
            values: vec!["patrol".into(), String::new()],
        };
        assert_eq!(values_to_remove(&[odd]), ["", "patrol"]);
    }

    #[test]
    fn a_value_the_file_holds_more_often_than_recorded_stops_the_removal() {
        let group = [
            installed("global", None, "patrol"),
            installed("global", None, "/opt/patrol"),
        ];
        let values = values_to_remove(&group);
        assert_eq!(values, ["", "patrol", "/opt/patrol"]);
        // Two installs, two empty entries: exactly what was recorded.
        assert_eq!(more_than_recorded(&group, &values, &[2, 1, 1]), None);
        // Entries already gone are no reason to stop.
        assert_eq!(more_than_recorded(&group, &values, &[0, 1, 0]), None);
        // A third empty entry, or patrol added by hand as well: not ours to
        // tell apart.
        assert_eq!(
            more_than_recorded(&group, &values, &[3, 1, 1]),
            Some(("", 3))
        );
        assert_eq!(
            more_than_recorded(&group, &values, &[2, 2, 1]),
            Some(("patrol", 2))
        );
    }

    fn general(scope: &str, value: &str) -> HelperEntry {
        HelperEntry {
            scope: scope.into(),
            origin: format!("file:/home/alice/{scope}.gitconfig"),
            url: None,
            value: value.into(),
        }
    }

    #[test]
    fn the_chain_left_starts_after_the_last_reset() {
        let values = |entries: &[HelperEntry]| -> Vec<String> {
            general_chain(entries)
                .iter()
                .map(|e| e.value.clone())
                .collect()
        };
        let url = HelperEntry {
            url: Some("https://github.com".into()),
            ..general("global", "!gh auth git-credential")
        };
        assert_eq!(
            values(&[
                general("system", "store"),
                general("global", "cache"),
                url.clone()
            ]),
            ["store", "cache"]
        );
        assert_eq!(
            values(&[
                general("system", "store"),
                general("global", ""),
                general("global", "patrol")
            ]),
            ["patrol"]
        );
        assert!(values(&[general("system", "store"), general("local", "")]).is_empty());
        assert!(values(&[url]).is_empty());
    }
}
