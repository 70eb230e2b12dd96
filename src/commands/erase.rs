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

use super::{BadInput, Context, describe};
use crate::keychain::Key;
use crate::matching::{NamedSecret, to_erase};
use crate::output::Messages;
use crate::protocol::Request;
use crate::record::{ErasedBy, Erasure};

pub fn run(ctx: &Context, input: impl BufRead, messages: &mut Messages<impl Write>) -> Result<()> {
    let request = Request::read(input).map_err(|e| BadInput(e.to_string()))?;
    // No host, no erase; otherwise read as `store` reads it.
    let Some(target) = request.target() else {
        return Ok(());
    };
    // The `get` of the same push has warned about bad settings already.
    let settings = ctx.settings_quietly(&target.url());
    let keychain = ctx.keychain(&settings)?;
    let snapshot = ctx.index.read_host(&target.protocol, &target.host);

    let named = NamedSecret {
        password: request.password.as_ref(),
        credential: request.credential.as_ref(),
    };
    let keys = to_erase(
        &snapshot.records,
        ctx.index_speaks_for_all(&snapshot, &target),
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
    ctx.complete_index(&keychain, messages);
    note_erasure(ctx, &erased, ErasedBy::Git, messages);
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
    let record = ctx.named(&snapshot.records, url, user)?.one()?;
    let key = Key::new(record.target.clone(), record.username.clone());
    let settings = ctx.settings(&record.target.url(), messages);
    let keychain = ctx.keychain(&settings)?;
    let existed = keychain.delete(&key)?;
    note_erasure(ctx, std::slice::from_ref(&key), ErasedBy::User, messages);
    let who = describe(&key.target, &key.username);
    if existed {
        writeln!(out, "Removed the token for {who} from the keychain.")?;
    } else {
        writeln!(
            out,
            "The keychain had no token for {who}; the index now says so."
        )?;
    }
    writeln!(
        out,
        "The token itself still works until you revoke it on the forge."
    )?;
    Ok(())
}

fn note_erasure(ctx: &Context, keys: &[Key], by: ErasedBy, messages: &mut Messages<impl Write>) {
    if keys.is_empty() {
        return;
    }
    crate::test_hook::crash_point("erase-after-keychain");
    let now = ctx.now;
    // Every key names the same protocol and host: one shard.
    let target = &keys[0].target;
    let noted = ctx.index.update_host(
        &target.protocol,
        &target.host,
        &mut Context::warn_index(messages),
        |records| {
            let mut changed = false;
            for record in records.iter_mut() {
                if record.is_live()
                    && keys
                        .iter()
                        .any(|k| record.same_credential(&k.target, &k.username))
                {
                    record.erased = Some(Erasure { at: now, by });
                    record.keychain_item = None;
                    changed = true;
                }
            }
            ((), changed)
        },
    );
    if let Err(err) = noted {
        messages.warning(&format!("the credential was erased, but {err:#}"));
    }
}
