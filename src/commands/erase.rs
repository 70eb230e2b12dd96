//! `erase`: git calls it when a server refused a credential; a person calls
//! `erase URL` to remove a token locally. Either way the secret leaves the
//! keychain and the index keeps a note (when, and who erased it), so `list`
//! can say "rejected by the server on DATE and removed" instead of
//! forgetting silently.
//!
//! Guarded the way git's own helpers are: no host, no erase; an erase that
//! names a password leaves a different stored password alone.

use std::io::{BufRead, Write};

use anyhow::Result;

use super::Context;
use crate::keychain::Key;
use crate::matching::NamedSecret;
use crate::output::{BadInput, Messages, describe};
use crate::protocol::Request;
use crate::urlmatch::settings_url;

pub fn run(ctx: &Context, input: impl BufRead, messages: &mut Messages<impl Write>) -> Result<()> {
    let request = Request::read(input).map_err(|e| BadInput(e.to_string()))?;
    // No host, no erase; otherwise read as `store` reads it.
    let Some(target) = request.target() else {
        return Ok(());
    };
    // The `get` of the same push has warned about bad settings already.
    let settings = ctx.settings_quietly(&settings_url(&target, request.username.as_deref()));
    let keychain = ctx.keychain(&settings)?;
    let named = NamedSecret {
        password: request.password.as_ref(),
        credential: request.credential.as_ref(),
    };
    ctx.storage(&keychain).erase_requested(
        &target,
        request.username.as_deref(),
        &named,
        messages,
    )?;
    Ok(())
}

/// `git credential-patrol erase URL [--user NAME]`.
pub fn by_person(
    ctx: &Context,
    url: &str,
    user: Option<&str>,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let snapshot = ctx.read_index(messages);
    let record = ctx.one_named(&snapshot.records, url, user, messages)?;
    let key = Key::new(record.target.clone(), record.username.clone());
    let settings = ctx.settings(
        &settings_url(&record.target, Some(&record.username)),
        messages,
    );
    let keychain = ctx.keychain(&settings)?;
    let existed = ctx.storage(&keychain).erase(&key, messages)?;
    let who = describe(&key.target, &key.username);
    let what = if key.target.is_certificate() {
        "certificate passphrase"
    } else {
        "token"
    };
    if existed {
        writeln!(out, "Removed the {what} for {who} from the keychain.")?;
    } else {
        writeln!(
            out,
            "The keychain had no {what} for {who}; the index now says so."
        )?;
    }
    if !key.target.is_certificate() {
        writeln!(
            out,
            "The token itself still works until you revoke it on the forge."
        )?;
    }
    Ok(())
}
