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
//!
//! Either way the new token's expiry ends up known when it can be: the forge
//! is asked where it says (GitLab, GitHub), else `--expires DATE`, else the
//! person at a terminal; otherwise `rotate` says that it is unknown and how
//! to set it, and `patrol.rotateAfter` still counts from the rotation.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};

use super::Context;
use super::set_expiry::parse_expiry;
use crate::cli::RotateArgs;
use crate::config::Settings;
use crate::credential::{ForgeKind, Secret, Secrets, TokenKind};
use crate::expiry::relative;
use crate::forge::{self, Forge, ProbeError, gitlab, pages, scopes};
use crate::keychain::{Key, KeychainError};
use crate::output::BadInput;
use crate::output::{self, Messages, describe, rotate_command};
use crate::record::{Expiry, Record};
use crate::storage::RotateError;
use crate::urlmatch::settings_url;

pub fn run(
    ctx: &Context,
    args: &RotateArgs,
    input: impl BufRead,
    out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let snapshot = ctx.read_index(messages);
    let record = &ctx.one_named(&snapshot.records, &args.url, args.user.as_deref(), messages)?;
    if record.target.is_certificate() {
        return Err(BadInput(format!(
            "{} is a client certificate's passphrase, not a token; when the certificate \
             changes, run {} and git asks for the new passphrase on its next connection",
            describe(&record.target, &record.username),
            output::erase_command(&record.target, &record.username)
        ))
        .into());
    }
    let settings = ctx.forge_settings(
        &settings_url(&record.target, Some(&record.username)),
        messages,
    );
    let forge = forge::kind_of(&record.target, settings.forge);
    let expires = args
        .expires
        .as_deref()
        .map(|text| future_expiry(text, ctx.now))
        .transpose()?;
    if forge == ForgeKind::Gitlab && !args.manual {
        let expires_at = match expires {
            None => None,
            Some(Expiry::At(at)) => Some(at.date_naive()),
            Some(Expiry::Never) => {
                return Err(BadInput(
                    "GitLab gives every token it rotates an expiry; name a date with --expires, \
                     or leave it out for GitLab's default"
                        .into(),
                )
                .into());
            }
        };
        by_gitlab(ctx, record, &settings, expires_at, out, messages)
    } else {
        by_hand(ctx, record, &settings, forge, expires, input, out, messages)
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
    let page = new_token_page(record, settings, ForgeKind::Gitlab);
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
    let secrets = Secrets::token_only(token);
    let kind = TokenKind::of(&secrets);
    let rotated = ctx.storage(&keychain).rotate(
        record,
        &secrets,
        kind,
        Some(&Ok(facts.clone())),
        None,
        messages,
    );
    match rotated {
        Err(RotateError::Keychain(err)) => {
            return Err(anyhow::Error::new(err).context(format!(
                "GitLab rotated the token, which revoked the old one, but the new one could \
                 not be stored; create a new token{}, then run: {by_hand}",
                page.as_deref()
                    .map(|p| format!(" at {p}"))
                    .unwrap_or_default()
            )));
        }
        rotated => rotated?,
    }
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
#[allow(clippy::too_many_arguments)]
fn by_hand(
    ctx: &Context,
    record: &Record,
    settings: &Settings,
    forge: ForgeKind,
    expires: Option<Expiry>,
    mut input: impl BufRead,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let who = describe(&record.target, &record.username);
    let page = new_token_page(record, settings, forge);
    let manage = pages::manage_url(&record.target, forge, record.kind);
    writeln!(out, "Rotating the token for {who}.")?;
    match &page {
        Some(page) => writeln!(out, "1. Create a new token at {page}")?,
        None => {
            writeln!(
                out,
                "1. Create a new token on {}",
                crate::terminal::escape(&record.target.host)
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
    let at_terminal = std::io::stdin().is_terminal();
    let token = if at_terminal {
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
    let outcome = forge::probe(
        &record.target,
        settings,
        probed,
        &token,
        kind,
        &record.username,
    );
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
                    crate::terminal::escape(&record.username)
                ));
            }
        }
        None => {}
    }
    let told = match &outcome {
        Some(Ok(facts)) => facts.expiry,
        _ => None,
    };
    let manual = match (expires, told) {
        (Some(expires), _) => Some(expires),
        (None, Some(_)) => None,
        (None, None) if at_terminal => ask_expiry(ctx.now, &mut input, &mut out)?,
        (None, None) => None,
    };
    let secrets = Secrets::token_only(token);
    let rotated =
        ctx.storage(&keychain)
            .rotate(record, &secrets, kind, outcome.as_ref(), manual, messages);
    match rotated {
        Err(RotateError::Keychain(err)) => {
            let context = match err {
                KeychainError::Altered(_) => {
                    "the new token was not stored, and the old one is gone"
                }
                _ => "the new token was not stored; the old one is unchanged",
            };
            return Err(anyhow::Error::new(err).context(context));
        }
        rotated => rotated?,
    }

    writeln!(
        out,
        "Stored the new token for {who}; git uses it from now on."
    )?;
    // The forge's word outranks a date given by hand (record::Expiries).
    match (told, manual) {
        (Some(expiry), _) => say_expiry(
            &mut out,
            expiry,
            &format!("as {} says", forge::forge_name(probed)),
            ctx.now,
        )?,
        (None, Some(expiry)) => say_expiry(&mut out, expiry, "as you said", ctx.now)?,
        (None, None) => {
            let rotation = settings
                .policy
                .rotate_after
                .map(|after| {
                    format!(
                        "; rotation falls due {} (patrol.rotateAfter)",
                        relative(ctx.now + after, ctx.now)
                    )
                })
                .unwrap_or_default();
            let url = output::shell_word(&record.target.url());
            let user = if record.username.is_empty() {
                String::new()
            } else {
                format!(" --user {}", output::shell_word(&record.username))
            };
            writeln!(
                out,
                "Its expiry is unknown{rotation}. Set it with: {}",
                crate::terminal::escape(&format!("git credential-patrol expiry {url} DATE{user}"))
            )?;
        }
    }
    match &manage {
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

/// Where the new token is created: a token of the same kind, with the old
/// one's scopes and those `patrol.requiredScopes` asks of this forge
/// preselected, and the old one's name, where the page takes them.
fn new_token_page(record: &Record, settings: &Settings, forge: ForgeKind) -> Option<String> {
    let mut scopes = record.scopes.clone().unwrap_or_default();
    for scope in &settings.required_scopes {
        if scopes::has_scope(forge, scope) && !scopes.contains(scope) {
            scopes.push(scope.clone());
        }
    }
    let name = record.token_name.as_deref().unwrap_or("git");
    pages::create_url(&record.target, forge, record.kind, &scopes, Some(name))
}

/// "It expires in 90 days (2027-02-27 00:00 UTC), as GitHub says."
fn say_expiry(
    out: &mut impl Write,
    expiry: Expiry,
    source: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    match expiry {
        Expiry::Never => writeln!(out, "It never expires, {source}.")?,
        Expiry::At(at) => writeln!(
            out,
            "It expires {} ({}), {source}.",
            relative(at, now),
            output::date_time(at)
        )?,
    }
    Ok(())
}

/// At a terminal, when the forge does not say: the person knows the date
/// they just picked. An empty answer leaves it unknown.
fn ask_expiry(
    now: DateTime<Utc>,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<Option<Expiry>> {
    write!(
        out,
        "3. When does the new token expire? (`2026-12-31`, `90d`, `never`, or Enter if you \
         do not know) "
    )?;
    out.flush()?;
    let mut answer = String::new();
    input
        .read_line(&mut answer)
        .context("could not read the expiry")?;
    if answer.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(future_expiry(&answer, now)?))
}

/// A new token's expiry as `expiry` reads it, which must lie ahead: a new
/// token that has already expired is a typo.
fn future_expiry(text: &str, now: DateTime<Utc>) -> Result<Expiry, BadInput> {
    let expiry = parse_expiry(text, now)?;
    match expiry {
        Expiry::At(at) if at <= now => Err(BadInput(format!(
            "{} ({}) is in the past, and a new token cannot have expired already; nothing changed",
            output::date_time(at),
            relative(at, now)
        ))),
        _ => Ok(expiry),
    }
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
    fn a_new_token_expires_in_the_future() {
        let now: DateTime<Utc> = "2026-06-01T10:00:00Z".parse().unwrap();
        assert_eq!(
            future_expiry("2026-12-31", now).unwrap(),
            Expiry::At("2026-12-31T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            future_expiry("30d", now).unwrap(),
            Expiry::At("2026-07-01T10:00:00Z".parse().unwrap())
        );
        assert_eq!(future_expiry("never", now).unwrap(), Expiry::Never);
        assert!(future_expiry("whenever", now).is_err());
        let past = future_expiry("2019-12-31", now).unwrap_err().0;
        assert!(
            past.contains("2019-12-31 00:00 UTC (6 years ago) is in the past"),
            "{past}"
        );
    }
}
