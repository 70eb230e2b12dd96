//! `import [FILE…] [--dry-run] [--keep-plaintext]`: moves credentials out of
//! the plaintext files of git's `store` helper into the keychain.
//!
//! Nothing is ever lost. Each credential is stored exactly as git's `store`
//! would store it (`Storage::save`), then read back from the keychain; only a
//! line whose token the keychain verifiably holds is taken out of the file,
//! and only after every line of that file was handled, by one atomic
//! rewrite. A crash at any point therefore leaves each credential in the
//! file, in the keychain, or in both; running `import` again finishes the
//! job. A line that cannot be imported stays in the file and is reported by
//! file and line number, never by its content.
//!
//! A token the keychain already holds for the same URL and account is never
//! overwritten by a different one from a file: the file's may be the older.
//!
//! The file is edited the way git's `credential-store` edits it (see
//! `plaintext`): through a symbolic link to the real file, under git's
//! lock; a file with several hard links, or whose lock git holds, is left
//! as it is before anything is stored. A line leaves a file only when the
//! keychain keeps its token across logins and reboots.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use zeroize::Zeroizing;

use super::Context;
use crate::cli::ImportArgs;
use crate::git_helpers::{self, HelperKind};
use crate::keychain::{Durability, KeychainError};
use crate::output::{Messages, describe, erase_command};
use crate::plaintext::{self, Entry, Line, Rewritten, StoreFile};
use crate::storage::Imported;
use crate::terminal::escape;
use crate::test_hook::crash_point;
use crate::urlmatch::settings_url;

/// What became of one credential line.
enum Fate {
    /// Stored and verified: the line may go.
    Imported,
    /// The keychain already held this token: the line may go.
    AlreadyThere,
    /// The keychain holds a different token for the same URL and account.
    Conflict,
    /// Stored, but not found again, or not indexed: the line stays.
    Unverified(&'static str),
    /// Stored where the person accepted it may not last (memory only, the
    /// kernel keyring): the line stays, as the only copy that does.
    NotLasting(String),
}

pub fn run(
    ctx: &Context,
    args: &ImportArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    let explicit = !args.files.is_empty();
    let files = if explicit {
        args.files.clone()
    } else {
        plaintext::default_files()
    };
    let mut problems = 0;
    let mut found = false;
    let mut keychain_failure = None;
    let mut imported_count = 0;
    let lock_timeout = plaintext::lock_timeout();
    for path in &files {
        let shown = escape(&path.display().to_string());
        let lines = match plaintext::read(path) {
            Ok(Some(lines)) => lines,
            Ok(None) if explicit => {
                messages.error(&format!("{shown} does not exist"));
                problems += 1;
                continue;
            }
            Ok(None) => continue,
            Err(err) => {
                messages.error(&format!("{err}; nothing was imported from it"));
                problems += 1;
                continue;
            }
        };
        found = true;
        // Refused before anything is stored: a file whose lines cannot be
        // taken out is left to the person, with the reason.
        let file = match StoreFile::resolve(path).and_then(|file| {
            if !args.keep_plaintext {
                file.check_links()?;
            }
            if !args.dry_run && !args.keep_plaintext {
                plaintext::check_unlocked(&file, lock_timeout)?;
            }
            Ok(file)
        }) {
            Ok(file) => file,
            Err(err) => {
                messages.error(&err.to_string());
                problems += 1;
                continue;
            }
        };
        let mut taken: Vec<Zeroizing<String>> = Vec::new();
        let mut untried = Vec::new();
        for numbered in &lines {
            let at = format!("{shown}:{}", numbered.number);
            let entry = match &numbered.line {
                Line::Blank => continue,
                Line::Unusable(why) => {
                    messages.warning(&format!("{at}: {why}; the line stays in the file"));
                    problems += 1;
                    continue;
                }
                Line::Credential(entry) => entry,
            };
            let who = describe(&entry.target, &entry.username);
            if args.dry_run {
                writeln!(out, "Would import {who} from {at}.")?;
                continue;
            }
            if keychain_failure.is_some() {
                problems += 1;
                untried.push(numbered.number.to_string());
                continue;
            }
            match import_one(ctx, entry, messages) {
                Ok(Fate::Imported) => {
                    writeln!(out, "Imported {who} from {at}.")?;
                    taken.push(numbered.text.clone());
                    imported_count += 1;
                    crash_point(&format!("after-{imported_count}"));
                }
                Ok(Fate::AlreadyThere) => {
                    writeln!(out, "Already in the keychain: {who} ({at}).")?;
                    taken.push(numbered.text.clone());
                }
                Ok(Fate::Conflict) => {
                    problems += 1;
                    messages.warning(&format!(
                        "{at}: the keychain already holds a different token for {who}; \
                         the line stays in the file"
                    ));
                    messages.hint(&format!(
                        "if the file's token is the old one, delete line {} by hand; to use it \
                         instead, run `{}` and import again",
                        numbered.number,
                        erase_command(&entry.target, &entry.username)
                    ));
                }
                Ok(Fate::NotLasting(why)) => {
                    writeln!(
                        out,
                        "Stored {who} from {at}; the line stays in the file, as {why}."
                    )?;
                }
                Ok(Fate::Unverified(why)) => {
                    problems += 1;
                    messages.warning(&format!("{at}: {who}: {why}; the line stays in the file"));
                }
                Err(err) => {
                    problems += 1;
                    messages.error(&format!("{at}: {who} was not imported: {err:#}"));
                    if err.chain().any(|cause| cause.is::<KeychainError>()) {
                        keychain_failure = Some(err);
                    }
                }
            }
        }
        if !untried.is_empty() {
            messages.warning(&format!(
                "{shown}: line{} {} not tried, as the keychain failed; they stay in the file",
                if untried.len() == 1 { "" } else { "s" },
                untried.join(", ")
            ));
        }
        if args.dry_run {
            report_dry_run(&mut out, &shown, args.keep_plaintext, &lines)?;
        } else if args.keep_plaintext {
            if !taken.is_empty() {
                writeln!(
                    out,
                    "{shown} is unchanged (--keep-plaintext); it still holds the tokens in plain text."
                )?;
            }
        } else if !taken.is_empty() {
            problems += rewrite(&file, lock_timeout, &taken, &mut out, messages)?;
        }
    }
    if !found {
        writeln!(
            out,
            "No plaintext credential file found (looked for {}).",
            files
                .iter()
                .map(|p| escape(&p.display().to_string()))
                .collect::<Vec<_>>()
                .join(" and ")
        )?;
    }
    if imported_count > 0 {
        warn_if_store_still_runs(messages);
    }
    if let Some(err) = keychain_failure {
        messages.hint("nothing that was not imported has left its file; run import again once the keychain answers");
        return Err(err);
    }
    out.flush()?;
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Git hands every new credential to every helper in its list: a `store`
/// still listed would write the imported tokens back to a plaintext file.
fn warn_if_store_still_runs(messages: &mut Messages<impl Write>) {
    let Ok(entries) = git_helpers::read_entries() else {
        return;
    };
    let still = [
        "https://github.com",
        "https://gitlab.com",
        "https://example.com",
    ]
    .iter()
    .any(|url| {
        git_helpers::chain_for(&entries, url)
            .iter()
            .any(|e| e.kind() == HelperKind::Store)
    });
    if still {
        messages.warning(
            "git still runs the `store` helper, which would write new tokens to a plaintext file again",
        );
        messages.hint("run `git credential-patrol install`, then `git credential-patrol doctor`");
    }
}

/// Stores one credential through `Storage::save` and checks that the
/// keychain gives the same token back.
fn import_one(ctx: &Context, entry: &Entry, messages: &mut Messages<impl Write>) -> Result<Fate> {
    let settings = ctx.settings(
        &settings_url(&entry.target, Some(&entry.username)),
        messages,
    );
    let keychain = ctx.keychain(&settings)?;
    // Promise: a plaintext line goes only once its token is kept where it
    // lasts. Where it would not be kept at all, nothing is stored.
    let not_lasting = match keychain.durability()? {
        Durability::Lasting => None,
        Durability::MemoryOnly { collection } if keychain.memory_only_allowed() => Some(format!(
            "the keychain keeps it only in memory (collection `{}`, patrol.allowMemoryOnly)",
            escape(&collection)
        )),
        Durability::MemoryOnly { collection } => {
            return Err(KeychainError::MemoryOnly { collection }.into());
        }
        Durability::UntilReboot => {
            Some("the kernel keyring (patrol.backend keyutils) forgets it at reboot".to_owned())
        }
    };
    let settings = ctx.save_settings(&entry.target, &entry.username, messages);
    let imported = ctx.storage(&keychain).import(
        &settings,
        &entry.target,
        &entry.username,
        &entry.secrets,
        messages,
    )?;
    let fate = match imported {
        Imported::Imported => Fate::Imported,
        Imported::AlreadyThere => Fate::AlreadyThere,
        Imported::Conflict => Fate::Conflict,
        Imported::Unverified(why) => Fate::Unverified(why),
    };
    Ok(match (fate, not_lasting) {
        (Fate::Imported | Fate::AlreadyThere, Some(why)) => Fate::NotLasting(why),
        (fate, _) => fate,
    })
}

/// Takes the imported lines out of the file; returns the number of problems.
/// Says which file was changed, and what became of the link that named it.
fn rewrite(
    file: &StoreFile,
    lock_timeout: Duration,
    taken: &[Zeroizing<String>],
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<usize> {
    let named = escape(&file.named.display().to_string());
    let real = escape(&file.real.display().to_string());
    match plaintext::remove_lines(file, lock_timeout, |line| {
        taken.iter().any(|t| t.as_str() == line)
    }) {
        Ok(Rewritten::Deleted) if file.is_link() => {
            writeln!(
                out,
                "Deleted {real} and the link {named} to it: every credential in it is in the keychain."
            )?;
            Ok(0)
        }
        Ok(Rewritten::Deleted) => {
            writeln!(
                out,
                "Deleted {named}: every credential in it is in the keychain."
            )?;
            Ok(0)
        }
        Ok(Rewritten::Kept(left)) => {
            let through = if file.is_link() {
                format!("{real} (the file the link {named} points to, which stays)")
            } else {
                named
            };
            writeln!(
                out,
                "Removed the imported lines from {through}; {left} line{} left in it.",
                if left == 1 { " is" } else { "s are" }
            )?;
            Ok(0)
        }
        Err(err) => {
            messages.error(&format!(
                "{err}; the imported tokens are in the keychain and still in the file"
            ));
            Ok(1)
        }
    }
}

fn report_dry_run(
    mut out: impl Write,
    shown: &str,
    keep_plaintext: bool,
    lines: &[plaintext::NumberedLine],
) -> Result<()> {
    let credentials = lines
        .iter()
        .filter(|l| matches!(l.line, Line::Credential(_)))
        .count();
    let others = lines
        .iter()
        .filter(|l| matches!(l.line, Line::Unusable(_)))
        .count();
    if keep_plaintext || credentials == 0 {
        writeln!(out, "Would leave {shown} unchanged.")?;
    } else if others == 0 {
        writeln!(
            out,
            "Would delete {shown} once every credential in it is in the keychain."
        )?;
    } else {
        writeln!(
            out,
            "Would remove the imported lines from {shown} and keep the {others} it cannot import."
        )?;
    }
    writeln!(out, "(--dry-run: nothing was changed.)")?;
    Ok(())
}

/// The plaintext files that still hold at least one credential, with how
/// many: for `install` and `doctor`.
pub fn leftovers() -> Vec<(PathBuf, usize)> {
    plaintext::default_files()
        .into_iter()
        .filter_map(|path| {
            let lines = plaintext::read(&path).ok()??;
            let count = lines
                .iter()
                .filter(|l| matches!(l.line, Line::Credential(_)))
                .count();
            (count > 0).then_some((path, count))
        })
        .collect()
}
