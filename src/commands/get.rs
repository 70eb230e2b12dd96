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

use super::{BadInput, Context};
use crate::answer::{self, Answer};
use crate::config::Policy;
use crate::credential::Secrets;
use crate::expiry::{self, Due, Throttle, Warning};
use crate::forge;
use crate::forge::diagnosis::{Renewal, Subject};
use crate::keychain::KeychainError;
use crate::matching::{Located, fingerprint, locate};
use crate::output::{self, Messages, describe, rotate_command};
use crate::protocol::{Request, STATE_PREFIX, Writer};
use crate::record::Record;
use crate::storage::GetNotes;
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

    // A store that died before its index write leaves a pending note: only
    // then (or with the index incomplete or damaged) does a miss ask the
    // keychain. The note is looked for on a miss only, never on a hit.
    let speaks_for_all = || {
        ctx.index
            .speaks_for_host(&snapshot, &target.protocol, &target.host)
    };
    let located = locate(
        &snapshot.records,
        &speaks_for_all,
        &target,
        request.username.as_deref(),
        wants_authtype,
        &keychain,
    );
    let Located {
        record,
        moved,
        username,
        secrets,
    } = match located {
        Ok(Some(located)) => located,
        Ok(None) => return Ok(()),
        Err(err) => return give_up(&err, messages),
    };

    // The account git did not name is known now: settings scoped to it
    // apply (from the configuration already read, with no second `git`).
    let settings = if request.username.is_none() && !username.is_empty() {
        ctx.settings(&settings_url(&target, Some(&username)), messages)
    } else {
        settings
    };

    // Found in the keychain alone: the record it gets back keeps what the
    // secrets tell, never the secrets.
    let found = record
        .is_none()
        .then(|| Record::found(target.clone(), username.clone(), &secrets, ctx.now));
    let Answer { secrets, dead } = answer::decide(record, secrets, ctx.now);
    let state = record
        .filter(|_| !dead && request.has_capability("state"))
        .map(|record| fingerprint(record, &secrets));
    answer(out, &username, &secrets, wants_authtype, state.as_deref())?;

    let storage = ctx.storage(&keychain);
    if let Some(record) = record {
        let warned = warn_if_due(
            ctx,
            record,
            &settings.policy,
            settings.forge,
            &settings.required_scopes,
            messages,
        );
        // A refresh token handed over for a dead access token is noted, so
        // that a later `get` that finds it still dead knows renewal failed.
        let offered = dead && record.refreshable && record.refresh_offered_at.is_none();
        let hinted = !dead && hint_expiry_once(record, &settings, messages);
        // What nobody saw is said again next time (`Messages::seen`).
        let seen = messages.seen();
        storage.note_get(
            record,
            GetNotes {
                warned: warned && seen,
                offered,
                moved,
                hinted: hinted && seen,
            },
            messages,
        );
    }
    if let Some(found) = found {
        storage.note_found(found, messages);
    }
    Ok(())
}

/// The first `get` after a token is stored says, once, what patrol cannot
/// learn of its expiry: the forge cannot tell it (and the command that
/// sets it), or the forge's tokens never expire (and the setting that
/// reminds). Whether it said it.
fn hint_expiry_once(
    record: &Record,
    settings: &crate::config::Settings,
    messages: &mut Messages<impl Write>,
) -> bool {
    if record.expiry_hint_at.is_some() {
        return false;
    }
    let advice = forge::expiry_advice(
        &record.target,
        forge::kind_of(&record.target, settings.forge),
        record.kind,
        record.expiry.effective().map(|(expiry, _)| expiry),
        settings.policy.rotate_after.is_some(),
    );
    match advice {
        Some(advice) => {
            messages.hint(&advice);
            true
        }
        None => false,
    }
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

/// Warns when the token's expiry or rotation date is near, or the forge
/// refused it; says whether it did. The fix comes from the forge's table.
fn warn_if_due(
    ctx: &Context,
    record: &Record,
    policy: &Policy,
    configured_forge: Option<crate::credential::ForgeKind>,
    required: &[String],
    messages: &mut Messages<impl Write>,
) -> bool {
    let Some(Warning { due, at }) =
        expiry::warning(record, policy, ctx.now, Throttle::get(record, policy))
    else {
        return false;
    };
    let who = describe(&record.target, &record.username);
    let when = format!(
        "{} ({})",
        expiry::relative(at, ctx.now),
        output::date_time(at)
    );
    let withheld = "patrol no longer gives it to git, so git asks for a new one; enter the new \
                    token at git's prompt and git stores it here";
    let renewal = match due {
        Due::Refused => {
            messages.warning(&format!(
                "the forge refused the token for {who} {when}{}",
                expiry::refusal(record)
                    .and_then(|refusal| refusal.message.as_deref())
                    .map(|m| format!(": {}", crate::terminal::escape(m)))
                    .unwrap_or_default()
            ));
            messages.hint(withheld);
            Renewal::Refused
        }
        Due::NotRenewed => {
            messages.warning(&format!(
                "the token for {who} expired {when} and was not renewed"
            ));
            messages.hint(
                "patrol gave git its refresh token, but no new token came back from the \
                 OAuth helper after patrol in `git config --get-all credential.helper`",
            );
            messages.hint(
                "git asks the next helper, then you; sign in again when it asks, and git \
                 stores the new token here",
            );
            return true;
        }
        Due::Expired => {
            messages.warning(&format!("the token for {who} expired {when}"));
            messages.hint(withheld);
            Renewal::Expired
        }
        Due::Expiring => {
            messages.warning(&format!("the token for {who} expires {when}"));
            Renewal::Expiring
        }
        Due::RotationDue => {
            messages.warning(&format!(
                "the token for {who} is due for rotation {when} (patrol.rotateAfter)"
            ));
            Renewal::Expiring
        }
    };
    let rotate = rotate_command(record);
    let subject = Subject {
        target: &record.target,
        forge: forge::kind_of(&record.target, configured_forge),
        kind: record.kind,
        scopes: record.scopes.as_deref(),
        token_name: record.token_name.as_deref(),
        required,
        rotate: &rotate,
        secret_env: None,
    };
    if forge::is_unknown(&record.target, configured_forge) {
        messages.hint(&forge::unknown_forge_hint(&record.target, record.kind));
    }
    let fix = subject.renew(renewal);
    if renewal == Renewal::Expiring {
        messages.hint(&fix);
    } else {
        messages.hint(&format!("or, before your next push: {fix}"));
    }
    true
}
