//! The storage core: the keychain and the index kept in step. Saving a
//! credential (the secret in the keychain, its record in the index), noting
//! what `get` and `erase` learnt, and finding again the credentials the
//! keychain holds and the index does not (after the index was lost, a shard
//! damaged, or a store cut short), so that nothing stays hidden. Commands
//! read their arguments and call these; nothing here knows about clap or
//! the process's stdio.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, TimeDelta, Utc};

use crate::answer::{self, Change, compare};
use crate::config::Settings;
use crate::credential::{ForgeKind, Secrets, Target, TokenKind};
use crate::expiry;
use crate::forge::http::HttpError;
use crate::forge::{self, Facts, ProbeError};
use crate::index::Index;
use crate::keychain::{Found, Key, Keychain, KeychainError, Listed};
use crate::matching::{fingerprint, keychain_accounts};
use crate::output::{Messages, describe, shell_word};
use crate::record::{self, ErasedBy, Erasure, ProbeResult, Record, SecretFacts};
use crate::terminal::escape;

/// "Last used" is shown in days; refreshing it more often than this would
/// turn every push into an index write.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::hours(1);
/// A token whose expiry a probe could not learn is asked about again no
/// sooner than this, so that an unreachable forge costs a push at most one
/// timeout a day.
const PROBE_RETRY: TimeDelta = TimeDelta::days(1);

/// The keychain and the index, at one moment.
pub struct Storage<'a> {
    pub index: &'a Index,
    pub keychain: &'a Keychain,
    pub now: DateTime<Utc>,
}

/// What `save` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The index knows the credential; when false, a warning said why.
    pub indexed: bool,
}

/// What the keychain alone holds for a URL a person named.
#[derive(Debug)]
pub enum Adopted {
    /// Nothing: the credential is not stored.
    Missing,
    /// One credential, whose record is now in the index.
    One(Box<Record>),
    /// Several accounts, and no `--user` to choose one.
    Several(Vec<String>),
}

/// Index problems are worth a warning, never a failure.
pub fn warn_index<W: Write>(messages: &mut Messages<W>) -> impl FnMut(&str) + '_ {
    move |w: &str| messages.warning(w)
}

impl Storage<'_> {
    /// Stores one credential the way git's `store` does: the secret in the
    /// keychain (written only when new or changed, in one call, so a
    /// failure leaves the previous secret intact), then its record in the
    /// index. `state` is our `state[]` value when git hands back what `get`
    /// gave it. Every way into the keychain (git's `store`, `import`) goes
    /// through here.
    pub fn save(
        &self,
        settings: &Settings,
        target: &Target,
        username: &str,
        secrets: &Secrets,
        state: Option<&str>,
        messages: &mut Messages<impl Write>,
    ) -> Result<Saved> {
        let (keychain, now) = (self.keychain, self.now);
        let key = Key::new(target.clone(), username);

        self.complete(false, messages);
        let mut snapshot = self.index.read_host(&target.protocol, &target.host);
        if snapshot.problem.is_some() {
            // This host's shard is damaged: set it aside and find what it
            // held now, so that the record below is not taken for new.
            self.complete(true, messages);
            snapshot = self.index.read_host(&target.protocol, &target.host);
        }
        let record = snapshot
            .records
            .iter()
            .find(|r| r.is_live() && r.same_credential(target, username));
        let handed_back = record
            .zip(state)
            .is_some_and(|(record, state)| state == fingerprint(record, secrets));
        let known_item = record.and_then(|r| r.keychain_item.as_deref());
        // A credential that an index speaking for the whole host does not
        // know is new: the keychain is not searched for it here, since
        // writing it looks for an item to replace anyway, and each search
        // walks the whole keyring.
        let new = record.is_none()
            && self
                .index
                .speaks_for_host(&snapshot, &target.protocol, &target.host);
        let stored = if handed_back || new {
            None
        } else {
            keychain.find(&key, known_item)?
        };
        let filled = stored
            .as_ref()
            .and_then(|found| answer::filled_in(&found.secrets, secrets, now));
        let secrets = filled.as_ref().unwrap_or(secrets);
        let facts = SecretFacts::of(secrets);
        let forge = forge::probed_on_store(target, settings);
        let forge_asks = forge != ForgeKind::None && secrets.token().is_some();
        let decision = decide_store(
            record,
            handed_back,
            stored.as_ref(),
            secrets,
            forge_asks,
            now,
        );
        let StoreDecision {
            change,
            write,
            corrected,
            refusal_cleared,
            probe,
        } = decision;
        let written = match write {
            KeychainWrite::Nothing => None,
            KeychainWrite::Given => Some(secrets),
            // An unchanged secret in an earlier version's form is written
            // again as it is, in today's form.
            KeychainWrite::Stored => stored.as_ref().map(|found| &found.secrets),
        };
        // Where the item is now, when this store learnt it.
        let mut item = stored.as_ref().and_then(|found| found.item.clone());
        // For a credential the index does not know, a note that the store
        // is in flight, until the index knows it: see `Index::begin_pending`.
        let mut pending = None;
        if let Some(written) = written {
            if record.is_none() {
                match self.index.begin_pending(&target.protocol, &target.host) {
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
        if let Some(refusal) = record.filter(|_| refusal_cleared).and_then(expiry::refusal) {
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
                escape(&format!(
                    "git credential-patrol expiry {} DATE",
                    shell_word(&record.target.url())
                ))
            ));
        }

        // Outside the index lock: a probe may take seconds, and other git
        // processes must not wait for it.
        let probed: Option<Result<Facts, ProbeError>> = match secrets.token() {
            Some(token) if probe => {
                forge::probe(target, settings, forge, token, facts.kind, username)
            }
            _ => None,
        };
        if let Some(Err(
            err @ ProbeError::Http(HttpError::Timeout { .. } | HttpError::Skipped { .. }),
        )) = &probed
        {
            messages.warning(&format!(
                "{err}; the token is stored, but what the forge says about it (expiry, \
                 account, scopes) was not learnt: it is asked again on a later store, at most \
                 once a day, or now with `{}`",
                escape(&format!(
                    "git credential-patrol check {}",
                    shell_word(&target.url())
                ))
            ));
        }
        let saved = self.index.update_host(
            &target.protocol,
            &target.host,
            &mut warn_index(messages),
            |records| {
                let existing = records
                    .iter()
                    .position(|r| r.same_credential(target, username));
                let at = match existing {
                    Some(at) if change != Change::NewToken && records[at].is_live() => {
                        let record = &mut records[at];
                        let touched = touch(record, now);
                        let moved = note_item(record, &item);
                        let accepted = clear_refusal(record);
                        let mut changed = touched || moved || accepted;
                        if corrected {
                            record.expiry.forget_past(now);
                            record.last_warned_at = None;
                            changed = true;
                        }
                        if change == Change::NewExpiry {
                            record.expiry.git = facts.git_expiry;
                            record.refreshable = facts.refreshable;
                            record.refresh_offered_at = None;
                            changed = true;
                        }
                        if probed.is_none() {
                            return ((), changed);
                        }
                        at
                    }
                    Some(at) => {
                        records[at].replace_secret(facts, now);
                        at
                    }
                    None => {
                        records.push(Record::found(
                            target.clone(),
                            username.to_owned(),
                            secrets,
                            now,
                        ));
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

    /// Makes the index speak for every credential again, when it does not:
    /// a version-1 index is migrated and damaged shards are set aside; then,
    /// when the index was lost or damaged (or `suspect`: the caller saw a
    /// damaged shard or a store's pending note, which the marker does not
    /// tell), every item of ours the keychain lists gets a record, with what
    /// its secret tells (one search of the whole keyring, and one read per
    /// item found missing: this runs after such a loss, never on git's
    /// ordinary path).
    pub fn complete(&self, suspect: bool, messages: &mut Messages<impl Write>) {
        if self.index.is_complete() && !suspect {
            return;
        }
        // A write that changes nothing migrates and sets damage aside.
        let cleaned = self
            .index
            .update(&mut warn_index(messages), |_| ((), false));
        match cleaned {
            Ok(()) => {}
            // Said where the shard was read; nothing can be added to it.
            Err(err @ crate::index::IndexError::NewerSchema { .. }) => {
                crate::trace!("index not rebuilt: {err}");
                return;
            }
            Err(err) => {
                messages.warning(&err.to_string());
                return;
            }
        }
        if self.index.is_complete() && !suspect {
            return;
        }
        let listed = match self.keychain.all() {
            Ok(listed) => listed,
            Err(err) => {
                messages.warning(&format!("the index could not be rebuilt: {err}"));
                return;
            }
        };
        // Where the keychain cannot list its items, a store's note is the
        // only sign of what it left there: it stays for `get` to follow.
        let listed_all = listed.is_some();
        let known = self.index.read().records;
        let mut found = Vec::new();
        let mut unread = 0;
        let mut failed = None;
        for Listed { key, item } in listed.unwrap_or_default() {
            let indexed = known
                .iter()
                .any(|r| r.is_live() && r.same_credential(&key.target, &key.username));
            if indexed {
                continue;
            }
            // After one failure (a locked keyring, a timeout) the rest are
            // not read: each would wait as long.
            let read = match failed {
                None => self.keychain.find(&key, item.as_deref()),
                Some(_) => Ok(None),
            };
            let record = match read {
                Ok(Some(secrets)) => {
                    let mut record =
                        Record::found(key.target, key.username, &secrets.secrets, self.now);
                    record.keychain_item = secrets.item;
                    record
                }
                unreadable => {
                    if let Err(err) = unreadable {
                        failed = Some(err);
                    }
                    unread += 1;
                    let mut record =
                        Record::new(key.target, key.username, TokenKind::Unknown, self.now);
                    record.keychain_item = item;
                    record
                }
            };
            found.push(record);
        }
        let rebuilt = self.index.rebuild(&mut warn_index(messages), found);
        let added = match rebuilt {
            Ok(added) => added,
            Err(err) => {
                messages.warning(&err.to_string());
                return;
            }
        };
        if listed_all {
            self.index.clear_all_stale_pending();
        }
        if added.is_empty() {
            return;
        }
        let (count, they) = match added.len() {
            1 => ("1 credential".to_owned(), "it is"),
            n => (format!("{n} credentials"), "they are"),
        };
        messages.warning(&format!(
            "the index did not list {count} the keychain holds; {they} back (`git \
             credential-patrol list` shows them), each with the kind of token its prefix \
             tells and the expiry git kept beside it, if any"
        ));
        if unread > 0 {
            let why = failed.map(|err| format!(" ({err})")).unwrap_or_default();
            messages.warning(&format!(
                "{unread} of them could not be read{why}: their kind of token is unknown \
                 until git stores them again"
            ));
        }
        let no_expiry = added
            .iter()
            .filter(|r| !r.refreshable && r.expiry.effective().is_none())
            .count();
        let unknown = if no_expiry == 0 {
            "account and scopes".to_owned()
        } else {
            format!("account, scopes, and the expiry of {no_expiry} of them")
        };
        messages.hint(&format!(
            "what only the forge knows ({unknown}) is not kept in the keychain: `git \
             credential-patrol check` asks the forge again; `git credential-patrol expiry URL \
             DATE` sets an expiry by hand"
        ));
    }

    /// What the keychain alone holds for exactly `target` (and `user`),
    /// for a person's command that the index could not answer (a store cut
    /// short, or a keychain that cannot list its items for a rebuild): the
    /// credential found is given its record back, as `get` does.
    pub fn adopt(
        &self,
        target: &Target,
        user: Option<&str>,
        messages: &mut Messages<impl Write>,
    ) -> Result<Adopted, KeychainError> {
        let mut accounts = keychain_accounts(self.keychain, target, user)?;
        accounts.sort();
        let account = match accounts.as_slice() {
            [] => return Ok(Adopted::Missing),
            [one] => one.clone(),
            _ => return Ok(Adopted::Several(accounts)),
        };
        let key = Key::new(target.clone(), account);
        let Some(found) = self.keychain.find(&key, None)? else {
            return Ok(Adopted::Missing);
        };
        let mut record = Record::found(key.target, key.username, &found.secrets, self.now);
        record.keychain_item = found.item;
        let kept = self.index.update_host(
            &target.protocol,
            &target.host,
            &mut warn_index(messages),
            |records| {
                let theirs = records
                    .iter()
                    .find(|r| r.is_live() && r.same_credential(&record.target, &record.username))
                    .cloned();
                match theirs {
                    Some(theirs) => (theirs, false),
                    None => {
                        let changed = record::add_found(records, record.clone());
                        (record.clone(), changed)
                    }
                }
            },
        );
        Ok(Adopted::One(Box::new(match kept {
            Ok(kept) => {
                crate::trace!("index: a record rebuilt from the keychain");
                self.index
                    .clear_stale_pending(&target.protocol, &target.host);
                kept
            }
            Err(err) => {
                messages.warning(&format!(
                    "the keychain holds {}, but the index could not record it: {err}",
                    describe(target, &record.username)
                ));
                record
            }
        })))
    }

    /// A credential `get` found in the keychain alone gets its record back,
    /// so the next `get` finds it directly. Only on that rare path, and
    /// never waiting for the lock.
    pub fn note_found(&self, found: Record, messages: &mut Messages<impl Write>) {
        let (protocol, host) = (found.target.protocol.clone(), found.target.host.clone());
        let rebuilt = self.index.update_host_if_unlocked(
            &protocol,
            &host,
            &mut warn_index(messages),
            |records| ((), record::add_found(records, found)),
        );
        match rebuilt {
            Ok(Some(())) => {
                crate::trace!("index: a record rebuilt from the keychain");
                self.index.clear_stale_pending(&protocol, &host);
            }
            Ok(None) => crate::trace!("index locked: nothing rebuilt"),
            Err(err) => messages.warning(&err.to_string()),
        }
    }

    /// Notes what `get` did with a credential: a warning it gave (for
    /// `patrol.warnEvery`), a refresh token it handed over for a dead
    /// access token (so a later `get` that finds the token still dead
    /// knows renewal failed), and where the item was found when that is
    /// not where the index said. While another process holds the index,
    /// nothing is noted: the next `get` warns, or searches, again, which
    /// is better than making git wait.
    pub fn note_get(&self, record: &Record, noted: GetNotes, messages: &mut Messages<impl Write>) {
        let GetNotes {
            warned,
            offered,
            moved,
            hinted,
        } = noted;
        if !warned && !offered && moved.is_none() && !hinted {
            return;
        }
        let (id, now) = (record.id.clone(), self.now);
        let remembered = self.index.update_host_if_unlocked(
            &record.target.protocol,
            &record.target.host,
            &mut warn_index(messages),
            |records| match records.iter_mut().find(|r| r.id == id) {
                Some(r) => {
                    if warned {
                        r.last_warned_at = Some(now);
                    }
                    if offered {
                        r.refresh_offered_at = Some(now);
                    }
                    if moved.is_some() {
                        r.keychain_item.clone_from(&moved);
                    }
                    if hinted {
                        r.expiry_hint_at = Some(now);
                    }
                    ((), true)
                }
                None => ((), false),
            },
        );
        match remembered {
            Ok(Some(())) => {}
            Ok(None) => crate::trace!("index locked: nothing noted"),
            Err(err) => messages.warning(&err.to_string()),
        }
    }

    /// Notes in the index that the credentials under `keys` (of one
    /// protocol and host) were erased, when and by whom, so that `list`
    /// can say so instead of forgetting silently.
    pub fn note_erasure(&self, keys: &[Key], by: ErasedBy, messages: &mut Messages<impl Write>) {
        let Some(first) = keys.first() else {
            return;
        };
        crate::test_hook::crash_point("erase-after-keychain");
        let now = self.now;
        let noted = self.index.update_host(
            &first.target.protocol,
            &first.target.host,
            &mut warn_index(messages),
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
}

/// Which secret `save` writes to the keychain, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeychainWrite {
    Nothing,
    /// What git gave: a new token, or the same one with a new expiry or
    /// refresh token.
    Given,
    /// What the keychain holds, unchanged but in an earlier version's form.
    Stored,
}

/// What `store` does with the credential git hands it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreDecision {
    pub change: Change,
    pub write: KeychainWrite,
    /// The record held the token as expired, and git stores it again after
    /// the server accepted it: the record was wrong.
    pub corrected: bool,
    /// The forge's API had refused the token the server just accepted
    /// (said apart from `corrected`, which says more).
    pub refusal_cleared: bool,
    /// Ask the forge about the token.
    pub probe: bool,
}

/// `store`'s choice, apart from its I/O: `record` is the index's record of
/// the credential, `handed_back` whether git handed back our `state[]` for
/// it (then the keychain was not read), `stored` what the keychain holds,
/// `given` what git stores, and `forge_asks` whether this host's forge is
/// asked about tokens on `store`. Git stores only after the server
/// accepted the credential, so the same token coming back proves whatever
/// the record said against it wrong.
pub fn decide_store(
    record: Option<&Record>,
    handed_back: bool,
    stored: Option<&Found>,
    given: &Secrets,
    forge_asks: bool,
    now: DateTime<Utc>,
) -> StoreDecision {
    let change = match stored {
        Some(stored) => compare(record, &stored.secrets, given),
        None if handed_back => Change::Unchanged,
        None => Change::NewToken,
    };
    let write = match change {
        Change::NewToken | Change::NewExpiry => KeychainWrite::Given,
        Change::Unchanged if stored.is_some_and(|found| found.outdated) => KeychainWrite::Stored,
        Change::Unchanged => KeychainWrite::Nothing,
    };
    let again = record.filter(|_| change != Change::NewToken);
    let corrected = again.is_some_and(|r| expiry::expired(r, now));
    let refusal_cleared = !corrected && again.and_then(expiry::refusal).is_some();
    // A corrected record is asked about at once: its expiry is unknown now.
    // A refusal is not: git's word is the later one.
    let retry = corrected || again.is_some_and(|r| probe_retry_due(r, now));
    StoreDecision {
        change,
        write,
        corrected,
        refusal_cleared,
        probe: forge_asks && (change == Change::NewToken || retry),
    }
}

/// An unchanged credential was just used successfully; whether the record
/// changed.
fn touch(record: &mut Record, now: DateTime<Utc>) -> bool {
    let stale = record
        .last_used_at
        .is_none_or(|used| now - used >= LAST_USED_RESOLUTION);
    if stale {
        record.last_used_at = Some(now);
    }
    stale
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

/// What a `get` did that the index should remember.
#[derive(Debug, Default)]
pub struct GetNotes {
    /// It printed a warning where a person could see it
    /// (`patrol.warnEvery` counts from it).
    pub warned: bool,
    /// It handed git the refresh token of a dead access token.
    pub offered: bool,
    /// The keychain item is elsewhere than the index said.
    pub moved: Option<String>,
    /// It said what cannot be learnt of the expiry (once per token) where a
    /// person could see it.
    pub hinted: bool,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Expiry, ProbeOutcome};

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

    fn target() -> Target {
        Target {
            protocol: "https".into(),
            host: "github.com".into(),
            path: None,
        }
    }

    fn token(value: &str, expiry: Option<i64>) -> Secrets {
        let mut secrets = Secrets::token_only(crate::credential::Secret::new(value));
        secrets.password_expiry_utc = expiry;
        secrets
    }

    fn held(secrets: Secrets, outdated: bool) -> Option<Found> {
        Some(Found {
            secrets,
            item: Some("/item/1".into()),
            outdated,
        })
    }

    fn known() -> Record {
        Record::new(
            target(),
            "alice".into(),
            TokenKind::GithubClassic,
            now() - TimeDelta::days(3),
        )
    }

    struct Case {
        what: &'static str,
        record: Option<Record>,
        handed_back: bool,
        stored: Option<Found>,
        given: Secrets,
        forge_asks: bool,
        expect: StoreDecision,
    }

    fn decision(
        change: Change,
        write: KeychainWrite,
        corrected: bool,
        refusal_cleared: bool,
        probe: bool,
    ) -> StoreDecision {
        StoreDecision {
            change,
            write,
            corrected,
            refusal_cleared,
            probe,
        }
    }

    #[test]
    fn store_decides_case_by_case() {
        use Change::{NewExpiry, NewToken, Unchanged};
        use KeychainWrite::{Given, Nothing, Stored};
        let a = || token("ghp_TESTa", None);
        let expired = || {
            let mut record = known();
            record.expiry.manual = Some(Expiry::At(now() - TimeDelta::days(1)));
            record
        };
        let refused = || {
            let mut record = known();
            record.expiry.git = Some(Expiry::At(now() + TimeDelta::days(30)));
            record.probe = Some(ProbeOutcome {
                at: now() - TimeDelta::hours(2),
                result: ProbeResult::Rejected,
                message: None,
            });
            record
        };
        let cases = [
            Case {
                what: "a credential never seen: written, and the forge asked",
                record: None,
                handed_back: false,
                stored: None,
                given: a(),
                forge_asks: true,
                expect: decision(NewToken, Given, false, false, true),
            },
            Case {
                what: "git hands back our state[]: nothing read, nothing written",
                record: Some(known()),
                handed_back: true,
                stored: None,
                given: a(),
                forge_asks: true,
                expect: decision(Unchanged, Nothing, false, false, false),
            },
            Case {
                what: "the same secret, compared with the keychain",
                record: Some(known()),
                handed_back: false,
                stored: held(a(), false),
                given: a(),
                forge_asks: true,
                expect: decision(Unchanged, Nothing, false, false, false),
            },
            Case {
                what: "the same secret in an earlier version's form: written as it is",
                record: Some(known()),
                handed_back: false,
                stored: held(a(), true),
                given: a(),
                forge_asks: true,
                expect: decision(Unchanged, Stored, false, false, false),
            },
            Case {
                what: "a new expiry from git for the same token",
                record: Some(known()),
                handed_back: false,
                stored: held(a(), false),
                given: token("ghp_TESTa", Some(1_900_000_000)),
                forge_asks: true,
                expect: decision(NewExpiry, Given, false, false, false),
            },
            Case {
                what: "another token: written, and the forge asked",
                record: Some(known()),
                handed_back: false,
                stored: held(a(), false),
                given: token("ghp_TESTb", None),
                forge_asks: true,
                expect: decision(NewToken, Given, false, false, true),
            },
            Case {
                what: "a wrong record corrected: held as expired, accepted by the server",
                record: Some(expired()),
                handed_back: false,
                stored: held(a(), false),
                given: a(),
                forge_asks: true,
                expect: decision(Unchanged, Nothing, true, false, true),
            },
            Case {
                what: "a wrong record corrected on a host whose forge is not asked",
                record: Some(expired()),
                handed_back: false,
                stored: held(a(), false),
                given: a(),
                forge_asks: false,
                expect: decision(Unchanged, Nothing, true, false, false),
            },
            Case {
                what: "another token replaces an expired one: nothing was wrong",
                record: Some(expired()),
                handed_back: false,
                stored: held(a(), false),
                given: token("ghp_TESTb", None),
                forge_asks: true,
                expect: decision(NewToken, Given, false, false, true),
            },
            Case {
                what: "refused by the forge, accepted by the server: not asked again at once",
                record: Some(refused()),
                handed_back: false,
                stored: held(a(), false),
                given: a(),
                forge_asks: true,
                expect: decision(Unchanged, Nothing, false, true, false),
            },
            Case {
                what: "an unknown expiry whose last probe failed a day ago: asked again",
                record: Some(probed(ProbeResult::Failed, 24)),
                handed_back: false,
                stored: held(a(), false),
                given: a(),
                forge_asks: true,
                expect: decision(Unchanged, Nothing, false, false, true),
            },
        ];
        for case in cases {
            let got = decide_store(
                case.record.as_ref(),
                case.handed_back,
                case.stored.as_ref(),
                &case.given,
                case.forge_asks,
                now(),
            );
            assert_eq!(got, case.expect, "{}", case.what);
        }
    }

    /// Over keyring-core's in-memory store, which lists its items as the
    /// Secret Service does (on Linux, where that is the store listed).
    #[cfg(target_os = "linux")]
    mod rebuild {
        use std::time::{Duration, SystemTime};

        use super::*;
        use crate::index::PENDING_STALE;

        fn keychain() -> Keychain {
            Keychain::with_store(
                keyring_core::mock::Store::new().unwrap(),
                Duration::from_secs(5),
            )
        }

        fn host(name: &str) -> Target {
            Target {
                protocol: "https".into(),
                host: name.into(),
                path: None,
            }
        }

        fn quiet() -> Messages<Vec<u8>> {
            Messages::plain(Vec::new())
        }

        /// A note a store left and died with, long enough ago to be stale.
        fn dead_store_note(index: &Index, host: &str) {
            index.begin_pending("https", host).unwrap().keep();
            let (path, _) = index.pending("https", host).pop().unwrap();
            let long_ago = SystemTime::now() - PENDING_STALE - Duration::from_secs(60);
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }

        #[test]
        fn a_rebuild_keeps_what_each_item_tells_and_says_what_it_could_not() {
            let dir = tempfile::tempdir().unwrap();
            let index = Index::new(dir.path().join("data"));
            let keychain = keychain();
            let dated = token("glpat-TESTrebuild", Some(1_893_456_000));
            keychain
                .set(&Key::new(host("gitlab.example"), "bob"), &dated)
                .unwrap();
            keychain
                .set(
                    &Key::new(host("opaque.example"), "carol"),
                    &token("TESTopaque", None),
                )
                .unwrap();
            dead_store_note(&index, "opaque.example");
            let storage = Storage {
                index: &index,
                keychain: &keychain,
                now: now(),
            };
            let mut messages = quiet();
            storage.complete(false, &mut messages);
            let said = String::from_utf8(messages.into_inner()).unwrap();
            assert!(index.is_complete());
            let records = index.read().records;
            let bob = records.iter().find(|r| r.username == "bob").unwrap();
            assert_eq!(bob.kind, TokenKind::GitlabPersonal);
            assert_eq!(
                bob.expiry.effective(),
                Some((
                    Expiry::At("2030-01-01T00:00:00Z".parse().unwrap()),
                    crate::record::ExpirySource::Git
                ))
            );
            let carol = records.iter().find(|r| r.username == "carol").unwrap();
            assert_eq!(carol.kind, TokenKind::Unknown);
            assert!(
                said.contains("did not list 2 credentials the keychain holds"),
                "{said}"
            );
            assert!(
                said.contains("account, scopes, and the expiry of 1 of them"),
                "{said}"
            );
            assert!(
                index.pending("https", "opaque.example").is_empty(),
                "the keychain's whole list was read: the note is done"
            );
        }

        #[test]
        fn a_keychain_that_cannot_list_keeps_the_notes_of_dead_stores() {
            let dir = tempfile::tempdir().unwrap();
            let index = Index::new(dir.path().join("data"));
            let keychain = keychain().unlisted();
            keychain
                .set(
                    &Key::new(host("h.example"), "alice"),
                    &token("ghp_TESTx", None),
                )
                .unwrap();
            dead_store_note(&index, "h.example");
            let storage = Storage {
                index: &index,
                keychain: &keychain,
                now: now(),
            };
            storage.complete(true, &mut quiet());
            assert!(index.is_complete(), "complete with what it has");
            assert!(index.read().records.is_empty());
            assert_eq!(
                index.pending("https", "h.example").len(),
                1,
                "get still follows the note to the keychain"
            );
        }

        #[test]
        fn a_person_naming_a_credential_only_the_keychain_holds_gets_it_recorded() {
            let dir = tempfile::tempdir().unwrap();
            let index = Index::new(dir.path().join("data"));
            let keychain = keychain();
            for user in ["sam", "sue"] {
                keychain
                    .set(
                        &Key::new(host("s.example"), user),
                        &token("ghp_TESTs", None),
                    )
                    .unwrap();
            }
            let storage = Storage {
                index: &index,
                keychain: &keychain,
                now: now(),
            };
            let target = host("s.example");
            match storage.adopt(&target, None, &mut quiet()).unwrap() {
                Adopted::Several(accounts) => assert_eq!(accounts, ["sam", "sue"]),
                other => panic!("{other:?}"),
            }
            match storage
                .adopt(&target, Some("nobody"), &mut quiet())
                .unwrap()
            {
                Adopted::Missing => {}
                other => panic!("{other:?}"),
            }
            let Adopted::One(sue) = storage.adopt(&target, Some("sue"), &mut quiet()).unwrap()
            else {
                panic!("sue not found");
            };
            assert_eq!(sue.kind, TokenKind::GithubClassic);
            assert_eq!(
                index.read_host("https", "s.example").records,
                [*sue.clone()]
            );
            // Asked again, the record the index holds comes back, not a second one.
            let Adopted::One(again) = storage.adopt(&target, Some("sue"), &mut quiet()).unwrap()
            else {
                panic!("sue not found again");
            };
            assert_eq!(again.id, sue.id);
            assert_eq!(index.read_host("https", "s.example").records.len(), 1);
        }
    }
}
