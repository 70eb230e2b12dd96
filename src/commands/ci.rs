//! `check --token-env NAME [--host HOST] [--repo OWNER/NAME]`: the token a
//! CI system keeps as a secret (a release workflow's `PAT_TOKEN`), checked
//! the way `check` checks a stored one, so that a scheduled run warns days
//! before it expires instead of the release failing on the day.
//!
//! Validation only: the token is read from the environment, sent to HOST's
//! API alone (the same rules as for stored tokens), and never stored,
//! indexed or printed; neither the keychain nor the index is opened. On
//! GitHub Actions each problem is also a workflow annotation, and a summary
//! goes to `$GITHUB_STEP_SUMMARY`.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};

use super::Context;
use super::check::{self, Report};
use crate::cli::{CheckArgs, FailOn};
use crate::credential::{Secret, Target, TokenKind};
use crate::forge::diagnosis::Problem;
use crate::output::BadInput;
use crate::output::{self, Messages, shell_word};
use crate::record::Record;
use crate::url_argument::UrlArgument;
use crate::urlmatch::settings_url;

/// The host a token from the environment is for, unless `--host` says.
const DEFAULT_HOST: &str = "github.com";

pub fn run(
    ctx: &Context,
    args: &CheckArgs,
    name: &str,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    let token = token_from(name, std::env::var_os(name))?;
    crate::git::withhold(name);
    let target = host_target(args.host.as_deref().unwrap_or(DEFAULT_HOST))?;
    let settings = ctx.forge_settings(&settings_url(&target, args.user.as_deref()), messages);
    let kind = TokenKind::of_token(token.expose());
    // A record that lives only as long as this check: nothing is written.
    let user = args.user.clone().unwrap_or_default();
    let record = Record::new(target, user, kind, ctx.now);
    let mut configuration = BTreeSet::new();
    let (report, _) = check::check_one(
        ctx,
        args,
        &record,
        &settings,
        Ok(token),
        Some(name),
        &mut configuration,
    );
    for warning in &configuration {
        messages.warning(warning);
    }
    // Nothing asked is nothing checked: on CI that must not pass quietly.
    if report.forge == "none" {
        let url = shell_word(&record.target.url());
        return Err(BadInput(crate::terminal::escape(&format!(
            "no forge is known for {url}, so the token cannot be checked; declare it, such as \
             `git config --global patrol.{url}.forge github` (on a runner without a \
             configuration file: GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=patrol.{url}.forge \
             GIT_CONFIG_VALUE_0=github)"
        )))
        .into());
    }
    let actions = std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true");
    let reports = [report];
    if args.json {
        check::json(&mut out, &reports, ctx.now)?;
    } else {
        if actions {
            for problem in &reports[0].problems {
                writeln!(out, "{}", annotation(name, problem))?;
            }
        }
        check::text(&mut out, &reports, ctx.now)?;
    }
    out.flush()?;
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "could not write the step summary to {}",
                    crate::terminal::escape(&path.to_string_lossy())
                )
            })?;
        file.write_all(summary(name, &reports[0], args.fail_on, ctx.now).as_bytes())?;
    }
    let failing = reports[0]
        .problems
        .iter()
        .any(|p| check::fails(p, args.fail_on));
    Ok(if failing {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The token in the variable, or a usage error that names the variable and
/// never shows its value.
fn token_from(name: &str, value: Option<OsString>) -> Result<Secret, BadInput> {
    // Never shown: a token passed where its variable's name belongs would
    // be printed in the log, where no CI system masks text derived from it.
    let unfit = if !is_variable_name(name) {
        Some(
            "is not a valid environment variable name (letters, digits and `_`, not \
             starting with a digit)",
        )
    } else if TokenKind::of_token(name) != TokenKind::Unknown {
        Some("begins as a token does")
    } else {
        None
    };
    if let Some(why) = unfit {
        return Err(BadInput(format!(
            "the name given to --token-env {why}, so it is not shown; pass the name of the \
             variable that holds the token, such as `--token-env PAT_TOKEN`, not the token \
             itself (if it was the token, it is in this step's command line and may be in \
             its log: replace the token)"
        )));
    }
    let shown = crate::terminal::escape(name);
    let value = value.ok_or_else(|| {
        BadInput(format!(
            "the environment variable {shown} is not set; pass the secret to this step, \
             such as `env: {shown}: ${{{{ secrets.{shown} }}}}`"
        ))
    })?;
    let text = value
        .into_string()
        .map_err(|_| BadInput(format!("the environment variable {shown} is not text")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(BadInput(format!(
            "the environment variable {shown} is empty; the secret it should carry is not \
             set, or not available to this workflow (secrets are not passed to workflows run \
             from forks)"
        )));
    }
    if token.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(BadInput(format!(
            "the environment variable {shown} holds spaces or control characters inside the \
             token; it is not a token"
        )));
    }
    Ok(Secret::new(token))
}

/// `--host`: a host name or an https URL; only the host counts.
fn host_target(text: &str) -> Result<Target, BadInput> {
    // A path stays: Azure DevOps' organization is its first segment.
    Ok(UrlArgument::parse(text)?.target)
}

/// `::error title=…::…` for a token that does not work, `::warning …` for
/// one that will stop working or lacks what it needs.
fn annotation(name: &str, problem: &Problem) -> String {
    let level = match problem.code {
        "bad-credentials" | "expired" => "error",
        _ => "warning",
    };
    // Control characters are shown as escapes first, as everywhere: a
    // runner's log is a terminal too.
    format!(
        "::{level} title={}::{}",
        escape_property(&crate::terminal::escape(&format!(
            "${name}: {}",
            problem.code
        ))),
        escape_data(&crate::terminal::escape(&format!(
            "{}. Fix: {}",
            problem.cause, problem.fix
        )))
    )
}

/// A workflow command's message: `%`, CR and LF are encoded, so that a
/// value cannot end the command or start another.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as a message, and `:` and `,`,
/// which end a property.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Markdown for `$GITHUB_STEP_SUMMARY`.
fn summary(name: &str, report: &Report, fail_on: FailOn, now: DateTime<Utc>) -> String {
    let mut text = format!(
        "### git-credential-patrol: the token in `${}` for {}\n\n",
        markdown(name),
        markdown(&report.host)
    );
    let valid = match (report.valid, &report.account) {
        (Some(true), Some(account)) => format!("yes (account {})", markdown(account)),
        (Some(true), None) => "yes".into(),
        (Some(false), _) => "**no**: the forge refused it".into(),
        (None, _) => "not known".into(),
    };
    let expires = match report.expires_at {
        Some(at) => format!(
            "{} ({})",
            output::date_time(at),
            crate::expiry::relative(at, now)
        ),
        None => "not known, or never".into(),
    };
    let scopes = report
        .scopes
        .as_ref()
        .map(|s| markdown(&s.join(", ")))
        .unwrap_or_else(|| "none reported".into());
    text.push_str("| | |\n|---|---|\n");
    for (key, value) in [
        ("valid", valid),
        ("kind", report.kind.to_owned()),
        ("expires", expires),
        ("scopes", scopes),
    ] {
        text.push_str(&format!("| {key} | {value} |\n"));
    }
    text.push('\n');
    if report.problems.is_empty() {
        text.push_str("No problems found.\n\n");
    }
    for problem in &report.problems {
        let mark = if check::fails(problem, fail_on) {
            "fails the run"
        } else {
            "warning"
        };
        text.push_str(&format!(
            "- **{}** ({mark}): {}  \n  Fix: {}\n",
            problem.code,
            markdown(&problem.cause),
            markdown(&problem.fix)
        ));
    }
    text.push('\n');
    text
}

/// `[A-Za-z_][A-Za-z0-9_]*`: what POSIX shells and CI systems take as a
/// variable's name. A token has characters (`-`, `.`) or a length that
/// rarely fits, but a name that fits is never shown anyway when unset.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Text from a forge or the configuration, made inert in Markdown: no HTML,
/// no table breaks, no line breaks.
fn markdown(text: &str) -> String {
    crate::terminal::escape(text)
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_cannot_be_broken_out_of() {
        let problem = Problem {
            code: "expired",
            cause: "a 100% odd\r\nanswer::error::x".into(),
            fix: "create, then store".into(),
        };
        let line = annotation("PAT_TOKEN", &problem);
        assert_eq!(
            line,
            "::error title=$PAT_TOKEN%3A expired::a 100%25 odd\\r\\nanswer::error::x. Fix: \
             create, then store"
        );
        assert!(!line.contains('\n') && !line.contains('\r'));
        assert_eq!(escape_property("a:b,c%\r\n"), "a%3Ab%2Cc%25%0D%0A");
        assert_eq!(escape_data("50%\n"), "50%25%0A");
        let warning = Problem {
            code: "expiring",
            cause: "soon".into(),
            fix: "renew".into(),
        };
        assert!(annotation("T", &warning).starts_with("::warning title=$T%3A expiring::"));
    }

    #[test]
    fn the_variable_is_named_and_its_value_never_shown() {
        let unset = token_from("PAT_TOKEN", None).unwrap_err().0;
        assert!(unset.contains("PAT_TOKEN is not set"), "{unset}");
        let empty = token_from("PAT_TOKEN", Some("  \n".into())).unwrap_err().0;
        assert!(empty.contains("PAT_TOKEN is empty"), "{empty}");
        let odd = token_from("X", Some("ghp_TEST one".into())).unwrap_err().0;
        assert!(!odd.contains("ghp_TEST"), "{odd}");
        let token = token_from("X", Some("ghp_TESTci\n".into())).unwrap();
        assert_eq!(token.expose(), "ghp_TESTci");
    }

    #[test]
    fn only_a_variable_name_is_taken_and_a_misfit_never_shown() {
        for fit in ["PAT_TOKEN", "_x", "a1"] {
            assert!(is_variable_name(fit), "{fit}");
        }
        for unfit in ["", "1A", "A-B", "A=B", "A B", "glpat-TESTname0001"] {
            assert!(!is_variable_name(unfit), "{unfit}");
        }
        for token in [
            "glpat-TESTname0001",
            "ghp_TESTname0001",
            "hf_TESTname0001",
            "x y",
        ] {
            let message = token_from(token, Some("ghp_TESTvalue".into()))
                .unwrap_err()
                .0;
            assert!(!message.contains(token), "{message}");
            assert!(message.contains("not the token itself"), "{message}");
        }
    }

    #[test]
    fn markdown_from_outside_is_inert() {
        assert_eq!(
            markdown("<img src=x> | a\x1b[2J"),
            "&lt;img src=x&gt; \\| a\\u{1b}[2J"
        );
    }
}
