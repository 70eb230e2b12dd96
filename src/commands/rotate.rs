//! `rotate URL [--user NAME]`: guided replacement of a token. Says where to
//! create the new one, reads it without echo (or from stdin when piped),
//! stores it in place of the old one in a single keychain call (the old
//! secret stays until the new one is safely stored), records the rotation,
//! and reminds the person to revoke the old token.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context as _, Result};

use super::{BadInput, Context, describe, resolve};
use crate::cli::RotateArgs;
use crate::credential::{Secret, Secrets, TokenKind};
use crate::forge;
use crate::index::Expiries;
use crate::keychain::Key;
use crate::output::Messages;

pub fn run(
    ctx: &Context,
    args: &RotateArgs,
    mut input: impl BufRead,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let snapshot = ctx.index.read();
    let record = resolve(&snapshot.records, &args.url, args.user.as_deref())?;
    let who = describe(&record.target, &record.username);
    let settings = ctx.settings(&record.target.url(), messages);
    let forge = forge::kind_of(&record.target, settings.forge, record.kind);
    let page = forge::token_page(&record.target, forge, record.kind);

    writeln!(out, "Rotating the token for {who}.")?;
    match &page {
        Some(page) => writeln!(out, "1. Create a new token at {page}")?,
        None => writeln!(out, "1. Create a new token on {}", record.target.host)?,
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
    let keychain = ctx.keychain(&settings)?;
    if let Some(current) = keychain.get(&key)?
        && current.password.as_ref() == Some(&token)
    {
        return Err(BadInput("that is the token already stored; nothing changed".into()).into());
    }
    let secrets = Secrets {
        password: Some(token),
        ..Secrets::default()
    };
    keychain
        .set(&key, &secrets)
        .context("the new token was not stored; the old one is unchanged")?;

    let (id, now, kind) = (record.id.clone(), ctx.now, TokenKind::of(&secrets));
    ctx.index
        .update(&mut Context::warn_index(messages), |records| {
            let found = records.iter_mut().find(|r| r.id == id);
            let changed = found.is_some();
            if let Some(record) = found {
                record.kind = kind;
                record.stored_at = now;
                record.rotated_at = Some(now);
                record.last_used_at = None;
                record.last_warned_at = None;
                record.erased = None;
                record.expiry = Expiries::default();
            }
            ((), changed)
        })?;

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
