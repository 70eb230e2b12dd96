//! `doctor`: everything that can keep patrol from doing its job, each
//! finding with the command or step that fixes it. Exit 1 when something
//! needs fixing; notes (an old git, the kernel keyring) do not count.
//!
//! It checks the keychain (reachable, unlocked, and who provides it, with
//! that provider's known traps), git's version, the helper
//! chain git builds for github.com, gitlab.com and every host in the index
//! (is patrol asked, and asked first), plaintext credential files left
//! behind, the index and the keychain agreeing, and a clock that looks wrong.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, TimeDelta, Utc};

use super::Context;
use crate::credential::{Secret, Secrets, Target};
use crate::git_helpers::{self, HelperEntry, HelperKind};
use crate::keychain::{Backend, Durability, Key, Keychain, KeychainError, LASTING_KEYRING};
use crate::output::{Messages, describe, erase_command, rotate_command};
use crate::plaintext::{self, Line};
use crate::record::Record;
use crate::terminal::escape;

/// A clock more than this far behind a time already recorded is wrong.
const CLOCK_SLACK: TimeDelta = TimeDelta::days(1);

/// What `doctor` prints, in order.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    problems: usize,
}

impl Report {
    fn ok(&mut self, text: String) {
        self.lines.push(format!("ok: {text}"));
    }

    fn note(&mut self, text: String) {
        self.lines.push(format!("note: {text}"));
    }

    fn problem(&mut self, text: String, fix: String) {
        self.problems += 1;
        self.lines.push(format!("problem: {text}"));
        for line in fix.lines() {
            self.lines.push(format!("    {line}"));
        }
    }
}

pub fn run(
    ctx: &Context,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    let mut report = Report::default();
    let snapshot = ctx.index.read();
    let live: Vec<&Record> = snapshot.records.iter().filter(|r| r.is_live()).collect();

    let keychain = check_keychain(ctx, &live, &mut report, messages);
    check_provider(
        keychain.as_ref().map(|usable| &usable.keychain),
        &mut report,
    );
    check_git_version(&mut report);
    check_chains(&live, &mut report);
    check_plaintext(keychain.as_ref(), &mut report);
    match &snapshot.problem {
        Some(problem) => report.problem(
            problem.clone(),
            "fix: run `git credential-patrol list`, which moves the file aside and lists \
             again every token the keychain holds (the next token stored for that host does \
             the same); nothing is lost meanwhile: git still gets every token from the keychain"
                .into(),
        ),
        None => report.ok(format!(
            "the index ({}) lists {} credential{}",
            escape(&ctx.index.path().display().to_string()),
            live.len(),
            if live.len() == 1 { "" } else { "s" }
        )),
    }
    if let Some(usable) = &keychain {
        check_agreement(&usable.keychain, &live, &mut report);
    }
    check_clock(ctx.now, &snapshot.records, &mut report);
    match super::schedule::installed() {
        Ok(installed) => report.note(super::schedule::status_line(ctx, installed.as_deref())),
        Err(err) => report.note(format!(
            "cannot tell whether a daily notify job exists: {err:#}"
        )),
    }

    for line in &report.lines {
        writeln!(out, "{line}")?;
    }
    if report.problems == 0 {
        writeln!(out, "No problems found.")?;
    } else {
        writeln!(
            out,
            "{} problem{} found.",
            report.problems,
            if report.problems == 1 { "" } else { "s" }
        )?;
    }
    out.flush()?;
    Ok(if report.problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A keychain that stores and gives back.
struct Usable {
    keychain: Keychain,
    /// What it stores outlives logout and reboot.
    lasting: bool,
}

fn check_keychain(
    ctx: &Context,
    live: &[&Record],
    report: &mut Report,
    messages: &mut Messages<impl Write>,
) -> Option<Usable> {
    let settings = ctx.settings("https://github.com", messages);
    let name = match settings.backend {
        Backend::Keyutils => "the kernel keyring (patrol.backend = keyutils)",
        _ if cfg!(target_os = "linux") => "the Secret Service",
        _ => "the keychain",
    };
    // A round trip with a probe that holds nothing secret proves the
    // keychain stores and gives back; reading a credential already stored
    // is what meets a keyring that is locked.
    let probe = Key::new(
        Target {
            protocol: "https".into(),
            host: "doctor.git-credential-patrol.invalid".into(),
            path: None,
        },
        "",
    );
    let probe_secrets = Secrets {
        password: Some(Secret::new(
            "not a secret: a git-credential-patrol doctor probe",
        )),
        ..Secrets::default()
    };
    let answer = ctx.keychain(&settings).and_then(|keychain| {
        keychain.set(&probe, &probe_secrets)?;
        let back = keychain.get(&probe)?;
        keychain.delete(&probe)?;
        if back.as_ref() != Some(&probe_secrets) {
            return Err(KeychainError::Failed(
                "it did not give back what was just stored in it".into(),
            ));
        }
        if let Some(record) = live.first() {
            keychain.get(&Key::new(record.target.clone(), record.username.clone()))?;
        }
        Ok(keychain)
    });
    let answer = answer.and_then(|keychain| Ok((keychain.durability()?, keychain)));
    match answer {
        Ok((durability, keychain)) => {
            report.ok(format!("{name} answers"));
            match &durability {
                Durability::Lasting => {}
                Durability::UntilReboot => report.note(
                    "the kernel keyring does not survive a reboot: after one, git asks for each \
                     token again (and patrol stores it again); `import` leaves plaintext files \
                     as they are"
                        .into(),
                ),
                Durability::MemoryOnly { collection } => report.note(format!(
                    "the keychain keeps tokens only in memory (collection `{}`, \
                     patrol.allowMemoryOnly): they are lost at logout or reboot, and `import` \
                     leaves plaintext files as they are. To keep them: {}, then `git config \
                     --global --unset patrol.allowMemoryOnly`",
                    escape(collection),
                    LASTING_KEYRING
                )),
            }
            Some(Usable {
                keychain,
                lasting: durability == Durability::Lasting,
            })
        }
        Err(err) => {
            let (cause, fix) = err.cause_and_fix();
            let fix = fix.unwrap_or_else(|| "see the message above".into());
            report.problem(cause, format!("fix: {fix}"));
            None
        }
    }
}

/// Who answers for the Secret Service, and what to know about it; when
/// nobody does, whether KWallet 5 is why (it has no Secret Service).
fn check_provider(keychain: Option<&Keychain>, report: &mut Report) {
    match keychain.and_then(Keychain::provider) {
        Some(provider) => {
            report.ok(format!(
                "the Secret Service is provided by {}",
                provider.name
            ));
            for note in provider.notes {
                report.note(note.to_owned());
            }
        }
        None if keychain.is_none() && kwallet5_running() => report.note(
            "KWallet 5 (kwalletd5) is running, but it provides no Secret Service; KDE 6's \
             kwalletd6 does, and so do GNOME Keyring and KeePassXC (with its Secret Service \
             integration turned on)"
                .into(),
        ),
        None => {}
    }
}

/// Whether a `kwalletd5` process of any user is running.
fn kwallet5_running() -> bool {
    std::fs::read_dir("/proc").is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            std::fs::read_to_string(entry.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == "kwalletd5")
        })
    })
}

fn check_git_version(report: &mut Report) {
    let output = crate::git::run(["--version"]);
    let Ok(output) = output.map(|o| o.stdout_text().trim().to_owned()) else {
        report.problem(
            "git cannot be run".into(),
            "fix: install git, or put it on PATH".into(),
        );
        return;
    };
    git_version_finding(&output, report);
}

/// What `git --version`'s answer means for patrol: a note for a git too
/// old for something patrol can use, else ok.
fn git_version_finding(output: &str, report: &mut Report) {
    let version = output.trim_start_matches("git version ").to_owned();
    let mut numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let major_minor = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if major_minor < (2, 41) {
        report.note(format!(
            "git {version}: git 2.41 or later passes on `password_expiry_utc` (expiry from OAuth helpers); \
             patrol still warns from the expiry the forge reports or you set"
        ));
    } else if major_minor < (2, 46) {
        report.note(format!(
            "git {version}: git 2.46 or later adds capabilities (`authtype`, `state[]`); everything else works"
        ));
    } else {
        report.ok(format!("git {version}"));
    }
}

fn check_chains(live: &[&Record], report: &mut Report) {
    let entries = match git_helpers::read_entries() {
        Ok(entries) => entries,
        Err(err) => {
            report.problem(
                format!("git's configuration cannot be read: {err}"),
                "fix: repair the file git names (`git config --global --edit`)".into(),
            );
            return;
        }
    };
    let mut urls = vec![
        "https://github.com".to_owned(),
        "https://gitlab.com".to_owned(),
    ];
    for record in live {
        let url = record.target.url();
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    chain_findings(&entries, &urls, report);
}

/// For each URL, whether the chain git builds from `entries` asks patrol,
/// and first; then each `store` helper in any of those chains, which
/// writes every new credential in plain text.
fn chain_findings(entries: &[HelperEntry], urls: &[String], report: &mut Report) {
    let mut plaintext_writers = Vec::new();
    for url in urls {
        let chain = git_helpers::chain_for(entries, url);
        let shown = escape(url);
        let names = chain
            .iter()
            .map(|e| format!("`{}` in {}", escape(&e.value), e.place()))
            .collect::<Vec<_>>()
            .join(", then ");
        match chain.iter().position(|e| e.kind() == HelperKind::Patrol) {
            Some(0) => report.ok(format!("git asks patrol first for {shown}")),
            Some(_) => {
                let first = chain[0];
                let fix = match &first.url {
                    None => "fix: git credential-patrol install".to_owned(),
                    Some(_) => format!(
                        "fix: to let patrol answer there, run:\n{}",
                        first.hand_over_commands()
                    ),
                };
                report.problem(
                    format!(
                        "for {shown}, {} answers before patrol, so patrol's warnings never show (chain: {names})",
                        first.described()
                    ),
                    fix,
                );
            }
            None if chain.is_empty() => report.problem(
                format!("git has no credential helper for {shown}"),
                "fix: git credential-patrol install".into(),
            ),
            None => {
                let last = chain[chain.len() - 1];
                let fix = match &last.url {
                    None => "fix: git credential-patrol install".to_owned(),
                    Some(_) => format!(
                        "fix: to let patrol answer there, run:\n{}",
                        last.hand_over_commands()
                    ),
                };
                report.problem(
                    format!("git never asks patrol for {shown} (chain: {names})"),
                    fix,
                );
            }
        }
        for store in chain.iter().filter(|e| e.kind() == HelperKind::Store) {
            if !plaintext_writers.contains(store) {
                plaintext_writers.push(*store);
            }
        }
    }
    for store in plaintext_writers {
        report.problem(
            format!(
                "git still hands every new credential to `{}` in {}, which writes it in plain text",
                escape(&store.value),
                store.place()
            ),
            format!("fix: {}", store.unset_command()),
        );
    }
}

/// Plaintext files git's `store` reads, with a fix that works for each
/// kind of line: `import` for the lines it can move, the choice between two
/// tokens for a line that differs from the keychain's, a hand edit for a
/// line nobody can read.
fn check_plaintext(keychain: Option<&Usable>, report: &mut Report) {
    let mut clean = true;
    for path in plaintext::default_files() {
        let shown = escape(&path.display().to_string());
        let lines = match plaintext::read(&path) {
            Ok(Some(lines)) => lines,
            Ok(None) => continue,
            Err(err) => {
                clean = false;
                report.problem(
                    err.to_string(),
                    format!("fix: make {shown} readable (`ls -l {shown}`), or move it away"),
                );
                continue;
            }
        };
        let mut movable = 0;
        let mut conflicts = Vec::new();
        let mut unreadable = Vec::new();
        for numbered in &lines {
            match &numbered.line {
                Line::Blank => {}
                Line::Unusable(_) => unreadable.push(numbered.number.to_string()),
                Line::Credential(entry) => {
                    let key = Key::new(entry.target.clone(), entry.username.clone());
                    let held = keychain.and_then(|k| k.keychain.get(&key).ok().flatten());
                    match held {
                        Some(held) if held.password != entry.secrets.password => {
                            conflicts.push((numbered.number, entry));
                        }
                        _ => movable += 1,
                    }
                }
            }
        }
        if movable > 0 {
            clean = false;
            let what = format!(
                "{shown} holds {movable} credential{} in plain text",
                if movable == 1 { "" } else { "s" }
            );
            match keychain {
                None => report.problem(
                    what,
                    "fix: once the keychain finding above is fixed, `git credential-patrol import`"
                        .into(),
                ),
                Some(usable) if !usable.lasting => report.note(format!(
                    "{what}: the one copy that outlives the keychain here, so `import` keeps it"
                )),
                Some(_) => report.problem(what, "fix: git credential-patrol import".into()),
            }
        }
        for (number, entry) in conflicts {
            clean = false;
            let who = describe(&entry.target, &entry.username);
            report.problem(
                format!(
                    "{shown}:{number} holds a token for {who} that differs from the keychain's, \
                     so `import` leaves it"
                ),
                format!(
                    "fix: if the file's token is the old one, delete line {number} of {shown}; \
                     to use it instead, run:\n    {} && git credential-patrol import",
                    erase_command(&entry.target, &entry.username)
                ),
            );
        }
        if !unreadable.is_empty() {
            clean = false;
            report.problem(
                format!(
                    "{shown}: line{} {} {} not a credential git can read",
                    if unreadable.len() == 1 { "" } else { "s" },
                    unreadable.join(", "),
                    if unreadable.len() == 1 { "is" } else { "are" }
                ),
                "fix: delete the line by hand, or correct it to \
                 `https://USER:TOKEN@HOST` (percent-encoded)"
                    .into(),
            );
        }
    }
    if clean {
        report.ok(
            "no plaintext credential file (~/.git-credentials, ~/.config/git/credentials)".into(),
        );
    }
}

/// Every credential the index lists must have its secret in the keychain.
fn check_agreement(keychain: &Keychain, live: &[&Record], report: &mut Report) {
    for record in live {
        let key = Key::new(record.target.clone(), record.username.clone());
        match keychain.get(&key) {
            Ok(Some(_)) => {}
            Ok(None) => report.problem(
                format!(
                    "the index lists {}, but the keychain has no token for it",
                    describe(&record.target, &record.username)
                ),
                format!(
                    "fix: {} (git then asks for the token on the next push), or store it again with `{}`",
                    erase_command(&record.target, &record.username),
                    rotate_command(record)
                ),
            ),
            Err(err) => {
                report.problem(
                    format!("the keychain failed: {err}"),
                    "fix: see the keychain finding above".into(),
                );
                return;
            }
        }
    }
}

/// A clock far behind the times the index has recorded, or behind the day
/// this program was built, is wrong; expiry warnings depend on it.
fn check_clock(now: DateTime<Utc>, records: &[Record], report: &mut Report) {
    let newest = records
        .iter()
        .flat_map(|r| [Some(r.stored_at), r.last_used_at, r.last_warned_at])
        .flatten()
        .max();
    let built = DateTime::parse_from_rfc3339(crate::BUILD_DATE)
        .ok()
        .map(|d| d.with_timezone(&Utc));
    let latest_known = newest.into_iter().chain(built).max();
    match latest_known {
        Some(known) if now + CLOCK_SLACK < known => report.problem(
            format!(
                "the clock says {}, but this program or the index has seen {}: the clock looks wrong, and expiry warnings depend on it",
                crate::output::date_time(now),
                crate::output::date_time(known)
            ),
            "fix: set the clock, e.g. `timedatectl set-ntp true`".into(),
        ),
        _ => report.ok(format!("the clock ({}) looks right", crate::output::date_time(now))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::https;

    fn findings(report: &Report) -> String {
        report.lines.join("\n")
    }

    #[test]
    fn an_old_git_is_a_note_not_a_problem() {
        let cases = [
            (
                "git version 2.39.5",
                "note: git 2.39.5: git 2.41 or later passes on",
            ),
            (
                "git version 2.45.2",
                "note: git 2.45.2: git 2.46 or later adds capabilities",
            ),
            ("git version 2.47.3", "ok: git 2.47.3"),
            ("git version 2.47.1.windows.2", "ok: git 2.47.1.windows.2"),
            ("git version 3.0.0", "ok: git 3.0.0"),
        ];
        for (output, expected) in cases {
            let mut report = Report::default();
            git_version_finding(output, &mut report);
            assert_eq!(report.problems, 0, "{output}");
            assert!(
                findings(&report).starts_with(expected),
                "{output}: {}",
                findings(&report)
            );
        }
    }

    fn entry(scope: &str, url: Option<&str>, value: &str) -> HelperEntry {
        HelperEntry {
            scope: scope.into(),
            origin: format!("file:/home/alice/{scope}.gitconfig"),
            url: url.map(Into::into),
            value: value.into(),
        }
    }

    fn chains(entries: &[HelperEntry], urls: &[&str]) -> Report {
        let urls: Vec<String> = urls.iter().map(|u| (*u).to_owned()).collect();
        let mut report = Report::default();
        chain_findings(entries, &urls, &mut report);
        report
    }

    #[test]
    fn patrol_asked_first_is_ok_for_every_url() {
        let entries = [entry("global", None, ""), entry("global", None, "patrol")];
        let report = chains(&entries, &["https://github.com", "https://gitlab.com"]);
        assert_eq!(report.problems, 0);
        assert_eq!(
            report.lines,
            [
                "ok: git asks patrol first for https://github.com",
                "ok: git asks patrol first for https://gitlab.com",
            ]
        );
    }

    #[test]
    fn a_store_before_patrol_answers_first_and_writes_plain_text() {
        let entries = [
            entry("system", None, "store"),
            entry("global", None, "patrol"),
        ];
        let report = chains(&entries, &["https://github.com"]);
        assert_eq!(report.problems, 2, "{}", findings(&report));
        assert_eq!(
            report.lines,
            [
                "problem: for https://github.com, `store` (git's `store`: tokens in plain text in \
                 ~/.git-credentials) answers before patrol, so patrol's warnings never show \
                 (chain: `store` in /home/alice/system.gitconfig (system), then `patrol` in \
                 /home/alice/global.gitconfig (global))",
                "    fix: git credential-patrol install",
                "problem: git still hands every new credential to `store` in \
                 /home/alice/system.gitconfig (system), which writes it in plain text",
                "    fix: git config --system --fixed-value --unset credential.helper store",
            ]
        );
    }

    #[test]
    fn a_url_of_its_own_gets_the_commands_that_hand_it_over() {
        // `gh auth setup-git`: the URL's own list, reset, then gh.
        let github = Some("https://github.com");
        let entries = [
            entry("global", None, ""),
            entry("global", None, "patrol"),
            entry("global", github, ""),
            entry("global", github, "!gh auth git-credential"),
        ];
        let report = chains(&entries, &["https://github.com", "https://gitlab.com"]);
        assert_eq!(report.problems, 1, "{}", findings(&report));
        assert_eq!(
            report.lines[0],
            "problem: git never asks patrol for https://github.com (chain: `!gh auth \
             git-credential` in /home/alice/global.gitconfig (global))"
        );
        assert_eq!(
            report.lines[1..4],
            [
                "    fix: to let patrol answer there, run:",
                "          git config --global --add credential.https://github.com.helper ''",
                "          git config --global --add credential.https://github.com.helper patrol",
            ]
        );
        assert_eq!(
            report.lines[4],
            "ok: git asks patrol first for https://gitlab.com"
        );
    }

    #[test]
    fn no_helper_at_all_is_a_problem_with_install_as_its_fix() {
        let report = chains(&[entry("global", None, "")], &["https://example.com"]);
        assert_eq!(
            report.lines,
            [
                "problem: git has no credential helper for https://example.com",
                "    fix: git credential-patrol install",
            ]
        );
    }

    fn record_stored(at: &str) -> Record {
        Record::new(
            https("github.com"),
            "alice".into(),
            crate::credential::TokenKind::GithubClassic,
            at.parse().unwrap(),
        )
    }

    #[test]
    fn a_clock_behind_what_the_index_has_seen_is_wrong() {
        let records = [record_stored("2031-06-15T12:00:00Z")];
        let mut report = Report::default();
        check_clock(
            "2031-06-13T12:00:00Z".parse().unwrap(),
            &records,
            &mut report,
        );
        assert_eq!(report.problems, 1, "{}", findings(&report));
        assert!(
            report.lines[0].starts_with("problem: the clock says 2031-06-13"),
            "{}",
            report.lines[0]
        );
        // Within a day of it is not worth a word.
        let mut report = Report::default();
        check_clock(
            "2031-06-14T18:00:00Z".parse().unwrap(),
            &records,
            &mut report,
        );
        assert_eq!(report.problems, 0, "{}", findings(&report));
        assert!(
            report.lines[0].starts_with("ok: the clock ("),
            "{}",
            report.lines[0]
        );
    }
}
