//! `store`: git calls it after every successful authentication, almost
//! always with the credential `get` just gave it. Recognising that case
//! (by our `state[]`, else by comparing with the keychain) saves a keychain
//! write; only a new or changed secret is written, and it replaces the old
//! one in a single keychain call, so a failure leaves the old secret intact.
//! `save` is the one way into the keychain and the index: `import` stores
//! through it too.

use std::io::{BufRead, Write};

use anyhow::Result;
use chrono::{DateTime, TimeDelta, Utc};

use super::{BadInput, Context, describe, fingerprint};
use crate::answer::{Change, compare};
use crate::config::ForgeKind;
use crate::credential::{Secrets, Target, TokenKind};
use crate::expiry;
use crate::forge::http::HttpError;
use crate::forge::{self, Facts, ProbeError};
use crate::keychain::{Key, KeychainError};
use crate::output::Messages;
use crate::protocol::Request;
use crate::record::{Expiry, ProbeResult, Record};

/// "Last used" is shown in days; refreshing it more often than this would
/// turn every push into an index write.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::hours(1);
/// A token whose expiry a probe could not learn is asked about again no
/// sooner than this, so that an unreachable forge costs a push at most one
/// timeout a day.
const PROBE_RETRY: TimeDelta = TimeDelta::days(1);

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
    save(
        ctx,
        &target,
        &username,
        &secrets,
        request.our_state(),
        messages,
    )?;
    Ok(())
}

/// What `save` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The index knows the credential; when false, a warning said why.
    pub indexed: bool,
}

/// Stores one credential the way git's `store` does: the secret in the
/// keychain (written only when new or changed, in one call, so a failure
/// leaves the previous secret intact), then its record in the index.
/// `state` is our `state[]` value when git hands back what `get` gave it.
/// Every way into the keychain (git's `store`, `import`) goes through here.
pub fn save(
    ctx: &Context,
    target: &Target,
    username: &str,
    secrets: &Secrets,
    state: Option<&str>,
    messages: &mut Messages<impl Write>,
) -> Result<Saved> {
    // `import` has warned about bad settings already, and git's `store`
    // follows a `get` that did.
    let mut settings = ctx.settings_quietly(&target.url());
    // Bare `apiUrl` is worth a word here: `get` never reads it.
    settings.scope_api_url(&target.url(), &mut |w| messages.warning(w));
    let keychain = ctx.keychain(&settings)?;
    let key = Key::new(target.clone(), username);

    ctx.complete_index(&keychain, messages);
    let snapshot = ctx.index.read_host(&target.protocol, &target.host);
    let record = snapshot
        .records
        .iter()
        .find(|r| r.is_live() && r.same_credential(target, username));
    let handed_back = record
        .zip(state)
        .is_some_and(|(record, state)| state == fingerprint(record, secrets));
    let known_item = record.and_then(|r| r.keychain_item.as_deref());
    let stored = if handed_back {
        None
    } else {
        keychain.find(&key, known_item)?
    };
    let now = ctx.now;
    let kind = TokenKind::of(secrets);
    let change = match &stored {
        Some(stored) => compare(record, &stored.secrets, secrets),
        None if handed_back => Change::Unchanged,
        None => Change::NewToken,
    };
    // An unchanged secret in an earlier version's form is written again as
    // it is, in today's form.
    let rewrite = stored
        .as_ref()
        .filter(|found| found.outdated && change == Change::Unchanged)
        .map(|found| found.secrets.clone());
    // Where the item is now, when this store learnt it.
    let mut item = stored.and_then(|found| found.item);
    let written = match &rewrite {
        _ if change != Change::Unchanged => Some(secrets),
        Some(stored) => Some(stored),
        None => None,
    };
    // For a credential the index does not know, a note that the store is in
    // flight, until the index knows it: see `Index::begin_pending`.
    let mut pending = None;
    if let Some(written) = written {
        if record.is_none() {
            match ctx.index.begin_pending(&target.protocol, &target.host) {
                Ok(note) => pending = Some(note),
                Err(err) => crate::trace!("no pending note: {err}"),
            }
        }
        item = keychain.set(&key, written).map_err(|err| {
            let context = match err {
                KeychainError::Altered(_) => "the credential was not stored",
                _ => "the credential was not stored; the previous one, if any, is unchanged",
            };
            anyhow::Error::new(err).context(context)
        })?;
        crate::test_hook::crash_point("store-after-keychain");
    }
    // Git stores only after the server accepted the credential: a token
    // patrol holds as dead that comes back unchanged proves the record
    // wrong (`get` withheld it, and the person typed it in again).
    // A refusal the forge's API gave is cleared the same way, but the
    // token is not asked about again at once: git's word is the later one.
    let again = record.filter(|_| change != Change::NewToken);
    let corrected = again.is_some_and(|r| expiry::expired(r, now));
    let refused = again.and_then(expiry::refusal);
    if let (Some(refusal), None) = (refused, record.filter(|_| corrected)) {
        messages.warning(&format!(
            "the server accepted the token for {}, which the forge's API refused on {}; it \
             is no longer held as refused",
            describe(target, username),
            refusal.at.format("%Y-%m-%d")
        ));
    }
    if let Some(record) = record.filter(|_| corrected) {
        messages.warning(&format!(
            "the server accepted the token for {}, which patrol held as expired; \
             that expiry was wrong and is forgotten",
            describe(target, username)
        ));
        messages.hint(&format!(
            "if you know when it expires, run: {}",
            crate::output::escape(&format!(
                "git credential-patrol expiry {} DATE",
                super::shell_word(&record.target.url())
            ))
        ));
    }

    let git_expiry = secrets.password_expiry_utc.and_then(expiry_at);
    // Outside the index lock: a probe may take seconds, and other git
    // processes must not wait for it.
    let forge = forge::probed_on_store(target, &settings);
    let retry = corrected
        || (change != Change::NewToken && record.is_some_and(|r| probe_retry_due(r, now)));
    let probed: Option<Result<Facts, ProbeError>> = match (forge, secrets.token()) {
        (ForgeKind::None, _) | (_, None) => None,
        _ if change != Change::NewToken && !retry => None,
        (forge, Some(token)) => forge::probe(target, &settings, forge, token, kind),
    };
    if let Some(Err(
        err @ ProbeError::Http(HttpError::Timeout { .. } | HttpError::Skipped { .. }),
    )) = &probed
    {
        messages.warning(&format!(
            "{err}; the token is stored, but what the forge says about it (expiry, account, \
             scopes) was not learnt: it is asked again on a later store, at most once a day, \
             or now with `{}`",
            crate::output::escape(&format!(
                "git credential-patrol check {}",
                super::shell_word(&target.url())
            ))
        ));
    }
    let refreshable = secrets.oauth_refresh_token.is_some();
    let saved = ctx.index.update_host(
        &target.protocol,
        &target.host,
        &mut Context::warn_index(messages),
        |records| {
            let existing = records
                .iter()
                .position(|r| r.same_credential(target, username));
            let at = match existing {
                Some(at) if change != Change::NewToken && records[at].is_live() => {
                    let record = &mut records[at];
                    let ((), touched) = touch(record, now);
                    let moved = note_item(record, &item);
                    let accepted = clear_refusal(record);
                    let mut changed = touched || moved || accepted;
                    if corrected {
                        record.expiry.forget_past(now);
                        record.last_warned_at = None;
                        changed = true;
                    }
                    if change == Change::NewExpiry {
                        record.expiry.git = git_expiry;
                        record.refreshable = refreshable;
                        record.refresh_offered_at = None;
                        changed = true;
                    }
                    if probed.is_none() {
                        return ((), changed);
                    }
                    at
                }
                Some(at) => {
                    records[at].replace_secret(kind, now);
                    records[at].expiry.git = git_expiry;
                    records[at].refreshable = refreshable;
                    at
                }
                None => {
                    let mut record = Record::new(target.clone(), username.to_owned(), kind, now);
                    record.expiry.git = git_expiry;
                    record.refreshable = refreshable;
                    records.push(record);
                    records.len() - 1
                }
            };
            note_item(&mut records[at], &item);
            if let Some(outcome) = &probed {
                forge::record_outcome(&mut records[at], outcome, now);
            }
            ((), true)
        },
    );
    if saved.is_err()
        && let Some(note) = pending
    {
        note.keep();
    }
    if let Err(err) = &saved {
        messages.warning(&format!("the credential is stored, but {err:#}"));
    }
    Ok(Saved {
        indexed: saved.is_ok(),
    })
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

/// Git stores a credential only after the server accepted it: whatever a
/// forge's API said about it earlier, it works now. Says whether a refusal
/// was cleared.
fn clear_refusal(record: &mut Record) -> bool {
    let refused = record
        .probe
        .as_ref()
        .is_some_and(|p| p.result == ProbeResult::Rejected);
    if refused {
        record.probe = None;
    }
    refused
}

/// Keeps where the keychain item is, when the keychain said; whether that
/// changed the record.
fn note_item(record: &mut Record, item: &Option<String>) -> bool {
    let moved = item.is_some() && record.keychain_item != *item;
    if moved {
        record.keychain_item.clone_from(item);
    }
    moved
}

/// Whether an unchanged token should be asked about again: its expiry is
/// unknown, and the last probe, a day ago or more, learnt nothing.
fn probe_retry_due(record: &Record, now: DateTime<Utc>) -> bool {
    record.expiry.effective().is_none()
        && record
            .probe
            .as_ref()
            .is_some_and(|p| p.result != ProbeResult::Valid && now - p.at >= PROBE_RETRY)
}

fn expiry_at(timestamp: i64) -> Option<Expiry> {
    DateTime::from_timestamp(timestamp, 0).map(Expiry::At)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Target;
    use crate::record::ProbeOutcome;

    fn now() -> DateTime<Utc> {
        "2026-06-15T12:00:00Z".parse().unwrap()
    }

    fn probed(result: ProbeResult, hours_ago: i64) -> Record {
        let mut record = Record::new(
            Target {
                protocol: "https".into(),
                host: "github.com".into(),
                path: None,
            },
            "alice".into(),
            TokenKind::GithubClassic,
            now() - TimeDelta::days(3),
        );
        record.probe = Some(ProbeOutcome {
            at: now() - TimeDelta::hours(hours_ago),
            result,
            message: None,
        });
        record
    }

    #[test]
    fn an_unknown_expiry_is_asked_about_again_at_most_daily() {
        assert!(!probe_retry_due(&probed(ProbeResult::Failed, 23), now()));
        assert!(probe_retry_due(&probed(ProbeResult::Failed, 24), now()));
        assert!(probe_retry_due(&probed(ProbeResult::Rejected, 48), now()));
        assert!(!probe_retry_due(&probed(ProbeResult::Valid, 48), now()));
        let mut known = probed(ProbeResult::Failed, 48);
        known.expiry.manual = Some(Expiry::Never);
        assert!(!probe_retry_due(&known, now()));
        let mut never_probed = probed(ProbeResult::Failed, 48);
        never_probed.probe = None;
        assert!(!probe_retry_due(&never_probed, now()));
    }
}
