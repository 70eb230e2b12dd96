//! `rotate URL [--user NAME]`: replacing a token.
//!
//! On GitLab the forge does it in one call: `POST
//! /personal_access_tokens/self/rotate` revokes the stored token and returns
//! its successor, which is stored at once. Elsewhere (or with `--manual`) it
//! is guided: says where to create the new token, reads it without echo (or
//! from stdin when piped), asks the forge whether it works when probing is
//! on, stores it in place of the old one in a single keychain call (the old
//! secret stays until the new one is safely stored), records the rotation,
//! and reminds the person to revoke the old token.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};

use super::{BadInput, Context, describe, resolve, rotate_command};
use crate::cli::RotateArgs;
use crate::config::{ForgeKind, Settings, parse_duration};
use crate::credential::{Secret, Secrets, TokenKind};
use crate::expiry::relative;
use crate::forge::{self, Facts, Forge, ProbeError, gitlab};
use crate::index::{Expiry, Record};
use crate::keychain::Key;
use crate::output::{self, Messages};

pub fn run(
    ctx: &Context,
    args: &RotateArgs,
    input: impl BufRead,
    out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let snapshot = ctx.read_index(messages);
    let record = resolve(&snapshot.records, &args.url, args.user.as_deref())?;
    let settings = ctx.forge_settings(&record.target.url(), messages);
    let forge = forge::kind_of(&record.target, settings.forge);
    let expires_at = args
        .expires_at
        .as_deref()
        .map(|text| parse_date(text, ctx.now))
        .transpose()?;
    if forge == ForgeKind::Gitlab && !args.manual {
        by_gitlab(ctx, record, &settings, expires_at, out, messages)
    } else if expires_at.is_some() {
        Err(BadInput(
            "--expires-at is for GitLab, which creates the new token itself; for a token \
             you create, set its expiry there, or afterwards with `git credential-patrol expiry`"
                .into(),
        )
        .into())
    } else {
        by_hand(ctx, record, &settings, forge, input, out, messages)
    }
}

/// GitLab's rotation API: one call, no copy and paste.
fn by_gitlab(
    ctx: &Context,
    record: &Record,
    settings: &Settings,
    expires_at: Option<NaiveDate>,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let who = describe(&record.target, &record.username);
    let page = forge::token_page(&record.target, ForgeKind::Gitlab, record.kind);
    let by_hand = format!("{} --manual", rotate_command(record));
    let key = Key::new(record.target.clone(), record.username.clone());
    let keychain = ctx.keychain(settings)?;
    let current = keychain
        .get(&key)?
        .and_then(|secrets| secrets.token().cloned())
        .ok_or_else(|| {
            BadInput(format!(
                "the keychain has no token for {who}; store one with a push, or run: {by_hand}"
            ))
        })?;
    let gitlab = Forge::new(
        &record.target,
        ForgeKind::Gitlab,
        settings.api_url.as_deref(),
    )?
    .context("no GitLab API for this host")?;
    writeln!(
        out,
        "Rotating the token for {who} with GitLab's API ({}).",
        gitlab.api.base()
    )?;
    out.flush()?;
    let (token, facts) = match gitlab::rotate(&gitlab.api, &current, expires_at) {
        Ok(rotated) => rotated,
        Err(err) => {
            let why = match &err {
                ProbeError::Refused { status: 403, .. } => {
                    "; rotating needs the `api` (or `self_rotate`) scope"
                }
                _ => "",
            };
            bail!(
                "{err}{why}; nothing changed. Rotate by hand instead: create a new token{}, \
                 then run: {by_hand}",
                page.map(|p| format!(" at {p}")).unwrap_or_default()
            );
        }
    };
    let secrets = Secrets {
        password: Some(token),
        ..Secrets::default()
    };
    keychain.set(&key, &secrets).with_context(|| {
        format!(
            "GitLab rotated the token, which revoked the old one, but the new one could not \
             be stored; create a new token{}, then run: {by_hand}",
            page.as_deref()
                .map(|p| format!(" at {p}"))
                .unwrap_or_default()
        )
    })?;
    let kind = TokenKind::of(&secrets);
    record_rotation(ctx, record, kind, Some(&Ok(facts.clone())), messages)?;
    writeln!(
        out,
        "Stored the new token for {who}; git uses it from now on."
    )?;
    if let Some(Expiry::At(at)) = facts.expiry {
        writeln!(
            out,
            "It expires {} ({}).",
            relative(at, ctx.now),
            output::date_time(at)
        )?;
    }
    writeln!(
        out,
        "GitLab revoked the old token; there is nothing left to revoke."
    )?;
    Ok(())
}

/// A token the person creates and pastes.
fn by_hand(
    ctx: &Context,
    record: &Record,
    settings: &Settings,
    forge: ForgeKind,
    mut input: impl BufRead,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let who = describe(&record.target, &record.username);
    let page = forge::token_page(&record.target, forge, record.kind);
    writeln!(out, "Rotating the token for {who}.")?;
    match &page {
        Some(page) => writeln!(out, "1. Create a new token at {page}")?,
        None => {
            writeln!(
                out,
                "1. Create a new token on {}",
                output::escape(&record.target.host)
            )?;
            if forge::is_unknown(&record.target, settings.forge) {
                messages.hint(&forge::unknown_forge_hint(&record.target, record.kind));
            }
        }
    }
    writeln!(
        out,
        "   (the current one is of kind {}).",
        record.kind.name()
    )?;
    out.flush()?;
    let token = if std::io::stdin().is_terminal() {
        writeln!(out, "2. Paste it below; it is not shown as you type.")?;
        out.flush()?;
        Secret::new(
            rpassword::prompt_password("New token: ").context("could not read the new token")?,
        )
    } else {
        let mut line = String::new();
        input
            .read_line(&mut line)
            .context("could not read the new token from stdin")?;
        Secret::new(line.trim_end_matches(['\n', '\r']))
    };
    validate(&token)?;

    let key = Key::new(record.target.clone(), record.username.clone());
    let keychain = ctx.keychain(settings)?;
    if let Some(current) = keychain.get(&key)?
        && current.password.as_ref() == Some(&token)
    {
        return Err(BadInput("that is the token already stored; nothing changed".into()).into());
    }
    let kind = TokenKind::of_token(token.expose());
    let probed = forge::probed_on_store(&record.target, settings);
    let outcome = forge::probe(&record.target, settings, probed, &token, kind);
    match &outcome {
        Some(Err(err @ ProbeError::Rejected { .. })) => {
            return Err(BadInput(format!(
                "{err}: the new token does not work, so it was not stored; nothing changed"
            ))
            .into());
        }
        Some(Err(err)) => messages.warning(&format!(
            "could not ask the forge about the new token ({err}); storing it anyway"
        )),
        Some(Ok(facts)) => {
            if let Some(account) = &facts.account
                && !record.username.is_empty()
                && account != &record.username
            {
                messages.warning(&format!(
                    "the new token belongs to {account}, not {}",
                    output::escape(&record.username)
                ));
            }
        }
        None => {}
    }
    let secrets = Secrets {
        password: Some(token),
        ..Secrets::default()
    };
    keychain
        .set(&key, &secrets)
        .context("the new token was not stored; the old one is unchanged")?;
    record_rotation(ctx, record, kind, outcome.as_ref(), messages)?;

    writeln!(
        out,
        "Stored the new token for {who}; git uses it from now on."
    )?;
    match &page {
        Some(page) => writeln!(
            out,
            "Now revoke the old token at {page}, so that it cannot be used again."
        )?,
        None => writeln!(
            out,
            "Now revoke the old token on {}, so that it cannot be used again.",
            record.target.host
        )?,
    }
    Ok(())
}

/// The record now describes the new token.
fn record_rotation(
    ctx: &Context,
    record: &Record,
    kind: TokenKind,
    outcome: Option<&Result<Facts, ProbeError>>,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let (id, now) = (record.id.clone(), ctx.now);
    ctx.index
        .update(&mut Context::warn_index(messages), |records| {
            let found = records.iter_mut().find(|r| r.id == id);
            let changed = found.is_some();
            if let Some(record) = found {
                record.replace_secret(kind, now);
                record.rotated_at = Some(now);
                if let Some(outcome) = outcome {
                    forge::record_outcome(record, outcome, now);
                }
            }
            ((), changed)
        })?;
    Ok(())
}

/// `2026-12-31`, or a duration from now such as `90d`.
fn parse_date(text: &str, now: DateTime<Utc>) -> Result<NaiveDate, BadInput> {
    if let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(date);
    }
    if let Some(duration) = parse_duration(text) {
        return Ok((now + duration).date_naive());
    }
    Err(BadInput(format!(
        "{text:?} is not a date: use `2026-12-31` or a duration such as `90d`"
    )))
}

fn validate(token: &Secret) -> Result<(), BadInput> {
    let text = token.expose();
    if text.is_empty() {
        return Err(BadInput("no token was given; nothing changed".into()));
    }
    if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(BadInput(
            "the token contains spaces or control characters; nothing changed".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_dates_for_gitlab() {
        let now: DateTime<Utc> = "2026-06-01T10:00:00Z".parse().unwrap();
        assert_eq!(
            parse_date("2026-12-31", now).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        assert_eq!(
            parse_date("30d", now).unwrap(),
            NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
        );
        assert!(parse_date("whenever", now).is_err());
    }
}
