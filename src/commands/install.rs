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
//!
//! What `install` added is recorded (`installed`), so that `uninstall` can
//! take out exactly that.

use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};

use super::installed::{Installed, git_config, local_config_file, read_record, write_record};
use super::{Context, import};
use crate::cli::{ImportArgs, InstallArgs, Scope};
use crate::credential::Target;
use crate::git_helpers::{self, HelperEntry, HelperKind};
use crate::keychain::{Durability, Key, KeychainError};
use crate::output::{Messages, shell_word};
use crate::terminal::escape;

const PROGRAM: &str = "git-credential-patrol";

pub fn run(
    ctx: &Context,
    args: &InstallArgs,
    mut input: impl BufRead,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    let scope = args.scope();
    let ours = helper_value(messages)?;
    let before = git_helpers::read_entries()?;
    let already = already_installed(&before, scope, &ours);
    // Asked before anything changes: a keychain that cannot keep tokens
    // must not take git's requests away from the helper that keeps them now.
    let keychain = check_keychain(ctx, messages);
    let keychain_line = match keychain {
        Ok(line) => Some(line),
        Err(err) => {
            let (cause, fix) = err.cause_and_fix();
            if !args.force {
                messages.error(&format!("{cause}; git's configuration is unchanged"));
                if let Some(fix) = fix {
                    messages.fix(&fix);
                }
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
                messages.fix(&fix);
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
    let existing = existing_helpers(&after, scope, &ours);
    if !existing.is_empty() {
        writeln!(out, "Helpers already configured:")?;
        for line in existing {
            writeln!(out, "{line}")?;
        }
    }
    super::generate::install_man_pages(&mut out)?;
    if args.schedule {
        super::schedule::install(&mut out, messages)?;
    }
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

/// Whether the scope's entries for every URL already end with the reset
/// and patrol: then `install` changes nothing.
fn already_installed(entries: &[HelperEntry], scope: Scope, ours: &str) -> bool {
    let in_scope: Vec<&str> = entries
        .iter()
        .filter(|e| e.scope == scope.name() && e.url.is_none())
        .map(|e| e.value.as_str())
        .collect();
    in_scope.ends_with(&["", ours])
}

/// For every helper entry but patrol's own two, what git now does with it,
/// a line each; and a last line when git does not reach patrol at all.
fn existing_helpers(entries: &[HelperEntry], scope: Scope, ours: &str) -> Vec<String> {
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
    lines
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(scope: &str, url: Option<&str>, value: &str) -> HelperEntry {
        HelperEntry {
            scope: scope.into(),
            origin: format!("file:/home/alice/{scope}.gitconfig"),
            url: url.map(Into::into),
            value: value.into(),
        }
    }

    fn general(scope: &str, value: &str) -> HelperEntry {
        entry(scope, None, value)
    }

    #[test]
    fn only_the_reset_and_patrol_last_in_the_scope_are_an_install() {
        let installed = [
            general("global", "store"),
            general("global", ""),
            general("global", "patrol"),
        ];
        assert!(already_installed(&installed, Scope::Global, "patrol"));
        // Another scope's, a URL's, or a helper after them: not an install.
        assert!(!already_installed(&installed, Scope::System, "patrol"));
        assert!(!already_installed(&installed, Scope::Global, "/opt/patrol"));
        let store_after = [
            general("global", ""),
            general("global", "patrol"),
            general("global", "store"),
        ];
        assert!(!already_installed(&store_after, Scope::Global, "patrol"));
        let for_one_url = [
            entry("global", Some("https://github.com"), ""),
            entry("global", Some("https://github.com"), "patrol"),
        ];
        assert!(!already_installed(&for_one_url, Scope::Global, "patrol"));
        assert!(!already_installed(&[], Scope::Global, "patrol"));
    }

    #[test]
    fn a_helper_before_the_reset_is_skipped_and_kept_for_uninstall() {
        let entries = [
            general("system", "store"),
            general("global", ""),
            general("global", "patrol"),
        ];
        let lines = existing_helpers(&entries, Scope::Global, "patrol");
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].starts_with("  `store` (git's `store`"),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].ends_with(
                "in /home/alice/system.gitconfig (system): skipped from now on (the reset before \
                 patrol); left in place, so `uninstall` brings it back."
            ),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn patrol_alone_in_its_scope_has_nothing_to_say() {
        let entries = [general("global", ""), general("global", "patrol")];
        assert!(existing_helpers(&entries, Scope::Global, "patrol").is_empty());
    }

    #[test]
    fn a_reset_after_patrol_means_git_never_asks_it() {
        let entries = [
            general("global", ""),
            general("global", "patrol"),
            general("local", ""),
        ];
        let lines = existing_helpers(&entries, Scope::Global, "patrol");
        assert_eq!(
            lines,
            [
                "  an empty credential.helper in /home/alice/local.gitconfig (local) comes after \
                 patrol and resets the list: git never asks patrol. Remove it, or install in that \
                 scope.",
                "  git does not reach patrol with this configuration: `git credential-patrol \
                 doctor` shows the chain.",
            ]
        );
    }

    #[test]
    fn a_store_after_patrol_is_named_with_the_command_that_removes_it() {
        let entries = [
            general("global", ""),
            general("global", "patrol"),
            general("local", "store"),
        ];
        let lines = existing_helpers(&entries, Scope::Global, "patrol");
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].contains("asked after patrol; git also gives it every new credential"),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].ends_with("git config --local --fixed-value --unset credential.helper store"),
            "{}",
            lines[0]
        );
        let cache = [
            general("global", ""),
            general("global", "patrol"),
            general("local", "cache"),
        ];
        assert_eq!(
            existing_helpers(&cache, Scope::Global, "patrol"),
            [
                "  `cache` (git's `cache`: tokens in memory for a while) in \
              /home/alice/local.gitconfig (local): asked after patrol, when patrol has no token."
            ]
        );
    }

    #[test]
    fn a_url_whose_own_list_resets_gets_the_commands_that_hand_it_over() {
        // What `gh auth setup-git` writes: a reset for the URL, then gh.
        let github = Some("https://github.com");
        let entries = [
            general("global", ""),
            general("global", "patrol"),
            entry("global", github, ""),
            entry("global", github, "!gh auth git-credential"),
        ];
        let lines = existing_helpers(&entries, Scope::Global, "patrol");
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].contains(
                "for https://github.com in /home/alice/global.gitconfig (global): resets the list \
                 for that URL, so git never asks patrol there; this helper answers instead. \
                 install leaves it as it is."
            ),
            "{}",
            lines[0]
        );
        assert!(
            lines[0].ends_with(
                "      git config --global --add credential.https://github.com.helper ''\n      \
                 git config --global --add credential.https://github.com.helper patrol"
            ),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn a_url_helper_after_patrol_answers_only_when_patrol_has_no_token() {
        let gitlab = Some("https://gitlab.com");
        let entries = [
            general("global", ""),
            general("global", "patrol"),
            entry("global", gitlab, "cache"),
        ];
        let lines = existing_helpers(&entries, Scope::Global, "patrol");
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(
            lines[0].ends_with("asked after patrol, when patrol has no token."),
            "{}",
            lines[0]
        );
    }
}
