//! `store`: git calls it after every successful authentication, almost
//! always with the credential `get` just gave it. Recognising that case
//! (by our `state[]`, else by comparing with the keychain) saves a keychain
//! write; only a new or changed secret is written, and it replaces the old
//! one in a single keychain call, so a failure leaves the old secret intact.

use std::io::{BufRead, Write};

use anyhow::{Context as _, Result};
use chrono::{DateTime, TimeDelta, Utc};

use super::{BadInput, Context, fingerprint};
use crate::credential::TokenKind;
use crate::index::{Expiries, Expiry, Record};
use crate::keychain::Key;
use crate::output::Messages;
use crate::protocol::Request;

/// "Last used" is shown in days; refreshing it more often than this would
/// turn every push into an index write.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::hours(1);

pub fn run(ctx: &Context, input: impl BufRead, messages: &mut Messages<impl Write>) -> Result<()> {
    let request = Request::read(input).map_err(|e| BadInput(e.to_string()))?;
    if request.ephemeral {
        return Ok(());
    }
    let target = request.target().ok_or_else(|| {
        BadInput("nothing stored: the request has no `protocol` and `host`".into())
    })?;
    let secrets = request.secrets();
    if secrets.is_empty() {
        return Err(BadInput(
            "nothing stored: the request has no `password` (nor `authtype` with `credential`)"
                .into(),
        )
        .into());
    }
    let username = request.username.clone().unwrap_or_default();
    let settings = ctx.settings(&target.url(), messages);
    let keychain = ctx.keychain(&settings)?;
    let key = Key::new(target.clone(), username.clone());

    let snapshot = ctx.index.read_host(&target.protocol, &target.host);
    let record = snapshot
        .records
        .iter()
        .find(|r| r.is_live() && r.same_credential(&target, &username));
    let handed_back = record
        .zip(request.our_state())
        .is_some_and(|(record, state)| state == fingerprint(record, &secrets));
    let unchanged = handed_back || keychain.get(&key)?.as_ref() == Some(&secrets);
    if !unchanged {
        keychain
            .set(&key, &secrets)
            .context("the credential was not stored; the previous one, if any, is unchanged")?;
    }

    let now = ctx.now;
    let kind = TokenKind::of(&secrets);
    let git_expiry = secrets.password_expiry_utc;
    let saved = ctx
        .index
        .update(&mut Context::warn_index(messages), |records| {
            let existing = records
                .iter_mut()
                .find(|r| r.same_credential(&target, &username));
            match existing {
                Some(record) if unchanged && record.is_live() => touch(record, now),
                Some(record) => {
                    replace(record, kind, git_expiry, now);
                    ((), true)
                }
                None => {
                    let mut record = Record::new(target.clone(), username.clone(), kind, now);
                    record.expiry.git = git_expiry.and_then(expiry_at);
                    records.push(record);
                    ((), true)
                }
            }
        });
    if let Err(err) = saved {
        messages.warning(&format!("the credential is stored, but {err:#}"));
    }
    Ok(())
}

/// An unchanged credential was just used successfully.
fn touch(record: &mut Record, now: DateTime<Utc>) -> ((), bool) {
    let stale = record
        .last_used_at
        .is_none_or(|used| now - used >= LAST_USED_RESOLUTION);
    if stale {
        record.last_used_at = Some(now);
    }
    ((), stale)
}

/// A new secret: what was known about the old one no longer applies.
fn replace(record: &mut Record, kind: TokenKind, git_expiry: Option<i64>, now: DateTime<Utc>) {
    record.kind = kind;
    record.stored_at = now;
    record.last_used_at = None;
    record.last_warned_at = None;
    record.erased = None;
    record.expiry = Expiries {
        git: git_expiry.and_then(expiry_at),
        ..Expiries::default()
    };
}

fn expiry_at(timestamp: i64) -> Option<Expiry> {
    DateTime::from_timestamp(timestamp, 0).map(Expiry::At)
}
