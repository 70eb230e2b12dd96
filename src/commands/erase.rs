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

use super::{BadInput, Context};
use crate::keychain::Key;
use crate::matching::{NamedSecret, ToErase, to_erase};
use crate::output::{Messages, describe};
use crate::protocol::Request;
use crate::record::ErasedBy;
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
    let snapshot = ctx.index.read_host(&target.protocol, &target.host);

    let named = NamedSecret {
        password: request.password.as_ref(),
        credential: request.credential.as_ref(),
    };
    let ToErase { keys, unlisted } = to_erase(
        &snapshot.records,
        ctx.index
            .speaks_for_host(&snapshot, &target.protocol, &target.host),
        &target,
        request.username.as_deref(),
        &named,
        &keychain,
    )?;
    let mut erased = Vec::new();
    for key in keys {
        keychain.delete(&key)?;
        erased.push(key);
    }
    if let Some(err) = unlisted {
        messages.warning(&format!(
            "erased only the credentials the index knows for {}: the keychain could not \
             list its own ({err}); `git credential-patrol doctor` checks the keychain",
            target.url()
        ));
    }
    let storage = ctx.storage(&keychain);
    storage.complete(false, messages);
    storage.note_erasure(&erased, ErasedBy::Git, messages);
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
    let existed = keychain.delete(&key)?;
    ctx.storage(&keychain)
        .note_erasure(std::slice::from_ref(&key), ErasedBy::User, messages);
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
