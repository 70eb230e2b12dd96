//! `get`: git's hot path. It runs before every authenticated fetch and push,
//! so it reads the index once, asks the keychain only for the credential it
//! will print (directly where the index knows the item, without searching
//! the keyring), never touches the network, and writes the index only when
//! a warning it printed, or where the item has moved, must be remembered.
//!
//! Stdout carries the answer and nothing else; warnings go to stderr, where
//! git shows them to the person pushing.

use std::io::{BufRead, Write};

use anyhow::Result;

use super::Context;
use crate::credential::Secrets;
use crate::keychain::KeychainError;
use crate::output::{BadInput, Messages};
use crate::protocol::{Request, STATE_PREFIX, Writer};
use crate::record::Record;
use crate::storage::Answered;
use crate::urlmatch::settings_url;

pub fn run(
    ctx: &Context,
    input: impl BufRead,
    out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let request = Request::read(input).map_err(|e| BadInput(e.to_string()))?;
    // Read as `store` reads it, so that what `store` saved is found again.
    let Some(target) = request.target() else {
        return Ok(());
    };
    let snapshot = ctx.index.read_host(&target.protocol, &target.host);
    // When the keychain will be asked and `git config` runs, the keychain's
    // connection opens on a thread of its own while git does. Without `git
    // config` it opens when first needed: a thread for it would cost more
    // than it saves. A definite miss opens nothing.
    let asks_keychain = snapshot.records.iter().any(Record::is_live) || !snapshot.is_usable();
    if asks_keychain && crate::config::runs_git_config(ctx.index.dir()) {
        crate::keychain::prepare();
    }
    let url = settings_url(&target, request.username.as_deref());
    let settings = ctx.settings(&url, messages);
    if let Some(problem) = &snapshot.problem {
        messages.warning(&format!("{problem}; looking in the keychain directly"));
    }
    let keychain = match ctx.keychain(&settings) {
        Ok(keychain) => keychain,
        Err(err) => return give_up(&err, messages),
    };
    let wants_authtype = request.has_capability("authtype");
    let storage = ctx.storage(&keychain);
    let answered = storage.get(
        &snapshot,
        &target,
        request.username.as_deref(),
        wants_authtype,
        request.has_capability("state"),
    );
    let answered = match answered {
        Ok(Some(answered)) => answered,
        Ok(None) => return Ok(()),
        Err(err) => return give_up(&err, messages),
    };
    let Answered {
        username,
        secrets,
        state,
        ..
    } = &answered;

    // The account git did not name is known now: settings scoped to it
    // apply (from the configuration already read, with no second `git`).
    let settings = if request.username.is_none() && !username.is_empty() {
        ctx.settings(&settings_url(&target, Some(username)), messages)
    } else {
        settings
    };
    answer(out, username, secrets, wants_authtype, state.as_deref())?;
    storage.after_get(answered, &settings, messages);
    Ok(())
}

/// Git runs a helper for an answer, not for an error: on a keychain failure
/// we say why on stderr and answer nothing, so git asks the person instead.
fn give_up(err: &KeychainError, messages: &mut Messages<impl Write>) -> Result<()> {
    messages.error(&format!("{err}; git will ask for the password instead"));
    Ok(())
}

fn answer(
    out: impl Write,
    username: &str,
    secrets: &Secrets,
    wants_authtype: bool,
    state: Option<&str>,
) -> Result<()> {
    let Secrets {
        password,
        oauth_refresh_token,
        auth,
        password_expiry_utc,
    } = secrets;
    let mut writer = Writer::new(out);
    let auth = auth.as_ref().filter(|_| wants_authtype);
    // Git keeps what a helper says about a capability only when the helper
    // announces it first.
    if auth.is_some() {
        writer.field("capability[]", "authtype")?;
    }
    if state.is_some() {
        writer.field("capability[]", "state")?;
    }
    // A bearer credential stands without an account; an empty username next
    // to it would make git ask for one.
    if !(auth.is_some() && username.is_empty()) {
        writer.field("username", username)?;
    }
    match (auth, password) {
        (Some((authtype, credential)), _) => {
            writer.field("authtype", authtype)?;
            writer.field("credential", credential.expose())?;
        }
        (None, Some(password)) => writer.field("password", password.expose())?,
        (None, None) => {}
    }
    if let Some(expiry) = password_expiry_utc {
        writer.field("password_expiry_utc", &expiry.to_string())?;
    }
    if let Some(token) = oauth_refresh_token {
        writer.field("oauth_refresh_token", token.expose())?;
    }
    if let Some(state) = state {
        writer.field("state[]", &format!("{STATE_PREFIX}{state}"))?;
    }
    writer.finish()?;
    Ok(())
}
