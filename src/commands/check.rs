//! `check [URL] [--repo OWNER/NAME] [--expiring-within DUR] [--json]`: asks
//! the forge about each stored token (or the ones a URL names): whether it
//! works, whose it is, its kind, expiry and scopes, what it can reach, and
//! for every problem its cause and fix. What the forge says is written to
//! the index, so warnings and `list` use it too. Exit 1 when any problem is
//! found (`--fail-on` narrows which). `check --token-env` (`ci.rs`, which
//! `commands::run` picks) runs the same diagnosis on a token from the
//! environment.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::Context;
use crate::cli::{CheckArgs, FailOn};
use crate::config::Settings;
use crate::credential::{ForgeKind, Secret};
use crate::expiry::{self, Status};
use crate::forge::diagnosis::{self, Problem, Renewal, Subject};
use crate::forge::{self, Facts, Forge, ProbeError, github, scopes, tokens};
use crate::keychain::{Key, KeychainError};
use crate::output::{self, Messages, erase_command, rotate_command, shell_word};
use crate::record::{ExpirySource, Record};
use crate::storage;
use crate::urlmatch::settings_url;

pub fn run(
    ctx: &Context,
    args: &CheckArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    if args.user.is_some() && args.url.is_none() {
        return Err(super::BadInput(
            "--user names an account of a URL: give the URL too, such as \
             `git credential-patrol check https://github.com --user alice`"
                .into(),
        )
        .into());
    }
    let snapshot = ctx.read_index(messages);
    // A credential only the keychain knows, given its record back.
    let adopted;
    let mut records: Vec<&Record> = match &args.url {
        Some(url) => {
            let named = ctx.named(&snapshot.records, url, args.user.as_deref())?;
            if named.found.is_empty() {
                adopted = ctx.one_named(&[], url, args.user.as_deref(), messages)?;
                vec![&adopted]
            } else {
                named.found
            }
        }
        None => snapshot.records.iter().filter(|r| r.is_live()).collect(),
    };
    records.sort_by_key(|r| (r.target.url(), r.username.clone()));

    let mut reports = Vec::new();
    let mut outcomes = Vec::new();
    let mut configuration = BTreeSet::new();
    for record in records {
        let settings = ctx.forge_settings(
            &settings_url(&record.target, Some(&record.username)),
            messages,
        );
        let token = token_of(ctx, record, &settings);
        let (report, outcome) = check_one(
            ctx,
            args,
            record,
            &settings,
            token,
            None,
            &mut configuration,
        );
        if let Some(outcome) = outcome {
            outcomes.push((record.id.clone(), outcome));
        }
        reports.push(report);
    }
    if !outcomes.is_empty() {
        let saved = storage::record_outcomes(&ctx.index, &outcomes, ctx.now, messages);
        if let Err(err) = saved {
            messages.warning(&format!("what the forge said was not saved: {err}"));
        }
    }

    for warning in &configuration {
        messages.warning(warning);
    }
    if args.json {
        json(&mut out, &reports, ctx.now)?;
    } else {
        text(&mut out, &reports, ctx.now)?;
    }
    out.flush()?;
    Ok(exit_code(&reports, args.fail_on))
}

/// `{"version": 1, "checked_at": …, "credentials": [...]}`.
pub(super) fn json(out: &mut impl Write, reports: &[Report], now: DateTime<Utc>) -> Result<()> {
    let listing = Listing {
        version: 1,
        checked_at: now,
        credentials: reports,
    };
    crate::output::json(out, &listing)?;
    Ok(())
}

/// Whether a problem fails the run under `--fail-on`: a near expiry or
/// rotation only warns with `expired`; nothing fails with `never`.
pub(super) fn fails(problem: &Problem, fail_on: FailOn) -> bool {
    match fail_on {
        FailOn::Expiring => true,
        FailOn::Expired => !matches!(problem.code, "expiring" | "rotation-due"),
        FailOn::Never => false,
    }
}

fn exit_code(reports: &[Report], fail_on: FailOn) -> ExitCode {
    let failing = reports
        .iter()
        .flat_map(|r| &r.problems)
        .any(|p| fails(p, fail_on));
    if failing {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Everything `check` learnt about one credential; docs/forges.md
/// documents every field of its JSON form.
#[derive(Serialize)]
pub(super) struct Report {
    pub(super) url: String,
    pub(super) host: String,
    username: String,
    /// `check --token-env`: the variable the token came from.
    pub(super) token_env: Option<String>,
    pub(super) forge: &'static str,
    api_url: Option<String>,
    /// `None`: the forge was not asked, or did not answer.
    pub(super) valid: Option<bool>,
    pub(super) account: Option<String>,
    pub(super) kind: &'static str,
    token_name: Option<String>,
    status: &'static str,
    pub(super) expires_at: Option<DateTime<Utc>>,
    expiry_source: Option<ExpirySource>,
    /// False where the forge cannot tell a token its expiry; `None` for
    /// no known forge.
    forge_tells_expiry: Option<bool>,
    pub(super) scopes: Option<Vec<String>>,
    repository: Option<RepositoryReport>,
    graphql: Option<bool>,
    pub(super) problems: Vec<Problem>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct RepositoryReport {
    name: String,
    reachable: bool,
    permissions: Vec<String>,
    summary: String,
}

#[derive(Serialize)]
struct Listing<'a> {
    version: u32,
    checked_at: DateTime<Utc>,
    credentials: &'a [Report],
}

/// Asks the forge about one credential's `token` and diagnoses the answer.
/// `secret_env` names the variable a token from the environment came from.
/// Configuration problems, which are no token's, go to `configuration`.
pub(super) fn check_one(
    ctx: &Context,
    args: &CheckArgs,
    record: &Record,
    settings: &Settings,
    token: Result<Secret, Problem>,
    secret_env: Option<&str>,
    configuration: &mut BTreeSet<String>,
) -> (Report, Option<Result<Facts, ProbeError>>) {
    let forge_kind = forge::kind_of(&record.target, settings.forge);
    let rotate = rotate_command(record);
    let api_url = forge::api_base(&record.target, forge_kind, settings.api_url.as_deref());
    let mut report = Report {
        url: crate::terminal::escape(&record.target.url()),
        host: crate::terminal::escape(&record.target.host),
        username: crate::terminal::escape(&record.username),
        token_env: secret_env.map(crate::terminal::escape),
        forge: forge_kind.name(),
        api_url: api_url.as_deref().map(forge::http::shown),
        valid: None,
        account: None,
        kind: record.kind_name(),
        token_name: None,
        status: "unknown",
        expires_at: None,
        expiry_source: None,
        forge_tells_expiry: None,
        scopes: None,
        repository: None,
        graphql: None,
        problems: Vec::new(),
        notes: Vec::new(),
    };

    let mut updated = record.clone();
    let forge = Forge::new(&record.target, forge_kind, settings.api_url.as_deref()).transpose();
    let outcome = match (token, forge) {
        (Err(problem), _) => {
            report.problems.push(problem);
            None
        }
        (Ok(_), None) => {
            if record.target.is_certificate() {
                report.notes.push(
                    "a client certificate's passphrase: no forge issued it, so none is asked"
                        .into(),
                );
            } else if let Some(hint) = forge::no_api_hint(&record.target, forge_kind) {
                report.notes.push(hint);
            } else if forge::is_unknown(&record.target, settings.forge) {
                report
                    .notes
                    .push(forge::unknown_forge_hint(&record.target, record.kind));
            } else {
                report.notes.push(
                    "`patrol.forge` is `none` for this host, so it is not asked about the token"
                        .into(),
                );
            }
            None
        }
        (Ok(token), Some(forge)) => {
            let (outcome, forge) = match forge {
                Ok(forge) => (
                    forge.probe(&forge::Login {
                        token: &token,
                        kind: record.kind,
                        username: &record.username,
                        api_user: settings.api_user.as_deref(),
                    }),
                    Some(forge),
                ),
                Err(err) => (Err(ProbeError::from(err)), None),
            };
            forge::record_outcome(&mut updated, &outcome, ctx.now);
            let subject = subject_of(&updated, forge_kind, settings, &rotate, secret_env);
            match &outcome {
                Ok(facts) => {
                    report.valid = Some(true);
                    report.notes.extend(facts.notes.iter().cloned());
                    let foreign = diagnosis::foreign_scopes(forge_kind, &settings.required_scopes);
                    if !foreign.is_empty() {
                        configuration.insert(foreign_scopes_warning(
                            forge_kind,
                            &record.target.url(),
                            &foreign,
                        ));
                    }
                    report.problems.extend(diagnosis::missing_required_scopes(
                        &subject,
                        &settings.required_scopes,
                    ));
                    if let (Some(forge), Some(repo)) = (&forge, &args.repo) {
                        reach(&mut report, forge, &subject, &token, repo);
                    }
                    report.notes.extend(diagnosis::scope_notes(
                        updated.kind,
                        forge_kind,
                        updated.scopes.as_deref(),
                    ));
                }
                Err(err) => {
                    if matches!(err, ProbeError::Rejected { .. }) {
                        report.valid = Some(false);
                    }
                    report.problems.push(diagnosis::probe_failed(&subject, err));
                }
            }
            Some(outcome)
        }
    };

    report.account = updated.account.clone();
    report.kind = updated.kind_name();
    report.token_name = updated.token_name.clone();
    report.scopes = updated.scopes.clone();
    report.expiry_source = updated.expiry.effective().map(|(_, source)| source);
    report.forge_tells_expiry = (forge_kind != ForgeKind::None)
        .then(|| tokens::row(forge_kind, updated.kind).expiry != tokens::ExpiryAnswer::CannotTell);
    let assessment = expiry::assess(&updated, &settings.policy, ctx.now);
    report.status = assessment.status.name();
    report.expires_at = assessment.expires_at;
    report.notes.extend(forge::expiry_advice(
        &updated.target,
        forge_kind,
        updated.kind,
        updated.expiry.effective().map(|(expiry, _)| expiry),
        settings.policy.rotate_after.is_some(),
    ));
    let within = args.expiring_within.unwrap_or(settings.policy.warn_before);
    let subject = subject_of(&updated, forge_kind, settings, &rotate, secret_env);
    if let Some(problem) = expiry_problem(&updated, &assessment, within, ctx.now, &subject) {
        report.problems.push(problem);
    }
    (report, outcome)
}

/// What the diagnoses need to know of a credential, as the forge last
/// described it.
fn subject_of<'a>(
    record: &'a Record,
    forge: ForgeKind,
    settings: &'a Settings,
    rotate: &'a str,
    secret_env: Option<&'a str>,
) -> Subject<'a> {
    Subject {
        target: &record.target,
        forge,
        kind: record.kind,
        scopes: record.scopes.as_deref(),
        token_name: record.token_name.as_deref(),
        required: &settings.required_scopes,
        rotate,
        secret_env,
    }
}

/// `patrol.requiredScopes` names scopes the credential's forge does not
/// have: said once per run, with the key scoped to the URLs of the forge
/// whose names they are.
fn foreign_scopes_warning(forge: ForgeKind, url: &str, foreign: &[String]) -> String {
    let names: Vec<&str> = foreign.iter().map(String::as_str).collect();
    let scoped = match scopes::owner_of(&names) {
        Some(ForgeKind::Github) => "https://github.com",
        Some(ForgeKind::Gitlab) => "https://gitlab.com",
        _ => "URL",
    };
    crate::terminal::escape(&format!(
        "patrol.requiredScopes names {}, which {} does not have (for {url}); they are not \
         asked of its tokens. Set the key only for the URLs whose forge has them, e.g.: \
         git config --global --unset patrol.requiredScopes; \
         git config --global patrol.{scoped}.requiredScopes {}",
        names.join(", "),
        forge::forge_name(forge),
        shell_word(&names.join(","))
    ))
}

/// The stored token, or the problem that keeps us from reading it.
fn token_of(ctx: &Context, record: &Record, settings: &Settings) -> Result<Secret, Problem> {
    let failed = |err: KeychainError| {
        let (cause, fix) = err.cause_and_fix();
        Problem {
            code: "keychain",
            cause,
            fix: fix.unwrap_or_else(|| "`git credential-patrol doctor` checks the keychain".into()),
        }
    };
    let keychain = ctx.keychain(settings).map_err(failed)?;
    let key = Key::new(record.target.clone(), record.username.clone());
    match keychain.get(&key) {
        Ok(Some(secrets)) => secrets.token().cloned().ok_or(Problem {
            code: "no-secret",
            cause: "the keychain item has no token".into(),
            fix: "push once so that git stores the token again".into(),
        }),
        Ok(None) => Err(Problem {
            code: "no-secret",
            cause: "the index knows this credential, but the keychain has no secret for it".into(),
            fix: format!(
                "push once so that git stores it again, or forget it: {}",
                erase_command(&record.target, &record.username)
            ),
        }),
        Err(err) => Err(failed(err)),
    }
}

/// `--repo` on GitHub: the repository, then GraphQL.
fn reach(
    report: &mut Report,
    forge: &Forge,
    subject: &Subject,
    token: &Secret,
    repo: &forge::Repo,
) {
    if forge.dialect != forge::Dialect::Github {
        report.notes.push("--repo is checked on GitHub only".into());
        return;
    }
    match github::repository(&forge.api, token, repo) {
        Ok(access) => {
            let (summary, problem) = diagnosis::repository(subject, repo, &access);
            let (reachable, permissions) = match access {
                github::RepoAccess::Reachable { permissions } => (true, permissions),
                _ => (false, Vec::new()),
            };
            report.repository = Some(RepositoryReport {
                name: repo.to_string(),
                reachable,
                permissions,
                summary,
            });
            report.problems.extend(problem);
        }
        Err(err) => report.problems.push(diagnosis::probe_failed(subject, &err)),
    }
    match github::graphql(&forge.api, token) {
        Ok(answer) => {
            report.graphql = Some(answer == github::GraphqlAnswer::Ok);
            let problem = diagnosis::graphql(subject, &answer);
            // "Bad credentials" once is enough.
            if let Some(problem) = problem
                && !report.problems.iter().any(|p| p.code == problem.code)
            {
                report.problems.push(problem);
            }
        }
        Err(err) => report.problems.push(diagnosis::probe_failed(subject, &err)),
    }
}

fn expiry_problem(
    record: &Record,
    assessment: &expiry::Assessment,
    within: TimeDelta,
    now: DateTime<Utc>,
    subject: &Subject,
) -> Option<Problem> {
    let when =
        |at: DateTime<Utc>| format!("{} ({})", expiry::relative(at, now), output::date_time(at));
    match (assessment.status, assessment.expires_at) {
        // The OAuth helper after patrol renews it; nobody needs to act.
        (Status::SelfRenewing, _) => None,
        (Status::Expired, Some(at)) => Some(Problem {
            code: "expired",
            cause: format!("the token expired {}", when(at)),
            fix: subject.renew(Renewal::Expired),
        }),
        // A refused token's fix is the refusal's.
        (Status::Refused, _) => None,
        (_, Some(at)) if at - now <= within => Some(Problem {
            code: "expiring",
            cause: format!("the token expires {}", when(at)),
            fix: subject.renew(Renewal::Expiring),
        }),
        (Status::RotationDue, _) => Some(Problem {
            code: "rotation-due",
            cause: format!(
                "the token is due for rotation {} (patrol.rotateAfter; stored {})",
                assessment.deadline.map(when).unwrap_or_default(),
                output::date_time(record.rotated_at.unwrap_or(record.stored_at))
            ),
            fix: subject.renew(Renewal::Expiring),
        }),
        _ => None,
    }
}

pub(super) fn text(out: &mut impl Write, reports: &[Report], now: DateTime<Utc>) -> Result<()> {
    if reports.is_empty() {
        writeln!(
            out,
            "No credentials stored yet. Git stores one the first time you push over HTTPS."
        )?;
        return Ok(());
    }
    for report in reports {
        let who = match (&report.token_env, report.username.is_empty()) {
            (Some(name), _) => format!("{} (the token in ${name})", report.url),
            (None, true) => report.url.clone(),
            (None, false) => format!("{} ({})", report.url, report.username),
        };
        writeln!(out, "{who}")?;
        let forge = match ForgeKind::from_name(report.forge) {
            Some(ForgeKind::None) | None => "no known forge",
            Some(known) => forge::forge_name(known),
        };
        let valid = match (report.valid, &report.account) {
            (Some(true), Some(account)) => format!("yes ({forge} account {account})"),
            (Some(true), None) => format!("yes ({forge})"),
            (Some(false), _) => format!("no ({forge} refused it)"),
            (None, _) => "not known".into(),
        };
        writeln!(out, "  valid:    {valid}")?;
        let kind = match &report.token_name {
            Some(name) => format!("{} (named {name})", report.kind),
            None => report.kind.to_owned(),
        };
        writeln!(out, "  kind:     {kind}")?;
        let expires = match (report.expires_at, report.expiry_source) {
            (Some(at), _) => format!("{} ({})", output::date_time(at), expiry::relative(at, now)),
            (None, Some(_)) => "never".into(),
            (None, None) if report.status == Status::NoExpiry.name() => "never".into(),
            (None, None) if report.forge_tells_expiry == Some(false) => {
                "unknown, the forge cannot tell".into()
            }
            (None, None) => "unknown".into(),
        };
        writeln!(out, "  expires:  {expires}")?;
        let scopes = match &report.scopes {
            Some(scopes) if scopes.is_empty() => "none".to_owned(),
            Some(scopes) => scopes.join(", "),
            None if report.kind == "github-fine-grained" => {
                "fine-grained: permissions per repository".into()
            }
            None => "unknown".into(),
        };
        writeln!(out, "  scopes:   {scopes}")?;
        if let Some(repository) = &report.repository {
            writeln!(out, "  reaches:  {}", repository.summary)?;
        }
        if let Some(graphql) = report.graphql {
            writeln!(
                out,
                "  graphql:  {}",
                if graphql { "works" } else { "refused" }
            )?;
        }
        for problem in &report.problems {
            writeln!(out, "  problem:  {}", problem.cause)?;
            writeln!(out, "    fix:    {}", problem.fix)?;
        }
        // A note that only repeats the scopes line is said once.
        for note in report.notes.iter().filter(|note| **note != scopes) {
            writeln!(out, "  note:     {note}")?;
        }
        writeln!(out)?;
    }
    let problems: usize = reports.iter().map(|r| r.problems.len()).sum();
    match problems {
        0 => writeln!(out, "No problems found.")?,
        1 => writeln!(out, "1 problem found.")?,
        n => writeln!(out, "{n} problems found.")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Policy;
    use crate::credential::TokenKind;
    use crate::record::Expiry;
    use crate::testing::{https, now};

    const ROTATE: &str = "git credential-patrol rotate https://github.com";

    /// What `check` says of a classic GitHub token with this expiry, stored
    /// `stored_days_ago`, under `policy`.
    fn problem(
        expires_in: Option<TimeDelta>,
        stored_days_ago: i64,
        policy: &Policy,
    ) -> Option<Problem> {
        let target = https("github.com");
        let mut record = Record::new(
            target.clone(),
            "alice".into(),
            TokenKind::GithubClassic,
            now() - TimeDelta::days(stored_days_ago),
        );
        record.expiry.git = expires_in.map(|d| Expiry::At(now() + d));
        let subject = Subject {
            target: &target,
            forge: ForgeKind::Github,
            kind: record.kind,
            scopes: None,
            token_name: None,
            required: &[],
            rotate: ROTATE,
            secret_env: None,
        };
        let assessment = expiry::assess(&record, policy, now());
        expiry_problem(&record, &assessment, policy.warn_before, now(), &subject)
    }

    #[test]
    fn an_expiry_is_a_problem_only_within_warn_before_or_past() {
        let policy = Policy::default();
        let code = |d: Option<TimeDelta>| problem(d, 30, &policy).map(|p| p.code);
        assert_eq!(code(Some(-TimeDelta::hours(1))), Some("expired"));
        assert_eq!(code(Some(TimeDelta::days(3))), Some("expiring"));
        assert_eq!(code(Some(TimeDelta::days(7))), Some("expiring"));
        assert_eq!(code(Some(TimeDelta::days(8))), None);
        assert_eq!(code(None), None, "no expiry known");

        let expired = problem(Some(-TimeDelta::days(2)), 30, &policy).unwrap();
        assert_eq!(
            expired.cause,
            "the token expired 2 days ago (2026-06-13 12:00 UTC)"
        );
        assert!(expired.fix.contains(ROTATE), "{}", expired.fix);
    }

    #[test]
    fn rotation_is_due_from_the_day_it_was_stored() {
        let policy = Policy {
            rotate_after: Some(TimeDelta::days(90)),
            ..Policy::default()
        };
        let due = problem(None, 90, &policy).unwrap();
        assert_eq!(due.code, "rotation-due");
        assert!(
            due.cause
                .contains("(patrol.rotateAfter; stored 2026-03-17 12:00 UTC)"),
            "{}",
            due.cause
        );
        assert_eq!(problem(None, 30, &policy).map(|p| p.code), None);
        // A token that expires sooner than its rotation says so instead.
        assert_eq!(
            problem(Some(TimeDelta::days(2)), 90, &policy).map(|p| p.code),
            Some("expiring")
        );
    }

    #[test]
    fn fail_on_decides_which_problems_fail_the_run() {
        let of = |code| Problem {
            code,
            cause: String::new(),
            fix: String::new(),
        };
        for (code, expiring, expired) in [
            ("expiring", true, false),
            ("rotation-due", true, false),
            ("expired", true, true),
            ("bad-credentials", true, true),
            ("missing-scope", true, true),
        ] {
            assert_eq!(fails(&of(code), FailOn::Expiring), expiring, "{code}");
            assert_eq!(fails(&of(code), FailOn::Expired), expired, "{code}");
            assert!(!fails(&of(code), FailOn::Never), "{code}");
        }
    }
}
