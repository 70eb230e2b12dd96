//! `save`: one credential stored the way git's `store` does, the secret in
//! the keychain and its record in the index; `import` saves through here
//! too. The steps have names: read what is known (the host's shard, and
//! the keychain only when the index cannot tell), recognise what git hands
//! back (`filled_in`, `compare`: the token `get` gave it, perhaps with a
//! field left out or with the expiry `get` told it), decide
//! (`decide_store`), write the keychain (`write_keychain`), say what a
//! person may want to fix (`warn_accepted`, `warn_unprobed`), ask the forge
//! (outside the index lock), and update the record (`update_record`). The
//! recognition and the decision are pure functions, tested without a
//! keychain.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, TimeDelta, Utc};

use super::get::told_expiry;
use super::{Storage, warn_index};
use crate::config::Settings;
use crate::credential::{ForgeKind, Secrets, Target};
use crate::expiry;
use crate::forge::http::HttpError;
use crate::forge::{self, Facts, ProbeError};
use crate::index::{Pending, Snapshot};
use crate::keychain::{Found, Key, KeychainError};
use crate::matching::fingerprint;
use crate::output::{Messages, describe, shell_word};
use crate::record::{ProbeResult, Record, SecretFacts};
use crate::terminal::escape;

/// "Last used" is shown in days; refreshing it more often than this would
/// turn every push into an index write.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::hours(1);
/// A token whose expiry a probe could not learn is asked about again no
/// sooner than this, so that an unreachable forge costs a push at most one
/// timeout a day.
const PROBE_RETRY: TimeDelta = TimeDelta::days(1);

/// What `save` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Saved {
    /// The index knows the credential; when false, a warning said why.
    pub indexed: bool,
}

/// What a probe of the forge answered, when one was made.
type Probed = Option<Result<Facts, ProbeError>>;

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
        let key = Key::new(target.clone(), username);
        let snapshot = self.host_for_save(target, messages);
        let record = snapshot
            .records
            .iter()
            .find(|r| r.is_live() && r.same_credential(target, username));
        let handed_back = record
            .zip(state)
            .is_some_and(|(record, state)| state == fingerprint(record, secrets));
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
            let known_item = record.and_then(|r| r.keychain_item.as_deref());
            self.keychain.find(&key, known_item)?
        };
        let filled = stored
            .as_ref()
            .and_then(|found| filled_in(&found.secrets, secrets, self.now));
        let secrets = filled.as_ref().unwrap_or(secrets);
        let forge = forge::probed_on_store(target, settings);
        let forge_asks = forge != ForgeKind::None && secrets.token().is_some();
        let decision = decide_store(
            record,
            handed_back,
            stored.as_ref(),
            secrets,
            forge_asks,
            self.now,
        );
        let written = match decision.write {
            KeychainWrite::Nothing => None,
            KeychainWrite::Given => Some(secrets),
            // An unchanged secret in an earlier version's form is written
            // again as it is, in today's form.
            KeychainWrite::Stored => stored.as_ref().map(|found| &found.secrets),
        };
        // Where the item is now, when this store learnt it.
        let mut item = stored.as_ref().and_then(|found| found.item.clone());
        let mut pending = None;
        if let Some(written) = written {
            (item, pending) = self.write_keychain(&key, record.is_none(), written)?;
        }
        if let Some(record) = record {
            warn_accepted(record, &decision, &key, messages);
        }

        // Outside the index lock: a probe may take seconds, and other git
        // processes must not wait for it.
        let facts = SecretFacts::of(secrets);
        let probed: Probed = match secrets.token() {
            Some(token) if decision.probe => {
                forge::probe(target, settings, forge, token, facts.kind, username)
            }
            _ => None,
        };
        warn_unprobed(&probed, target, messages);
        let saved = self.update_record(&key, secrets, &decision, &item, &probed, messages);
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

    /// The host's shard as `save` needs it: the index first made complete
    /// when it was lost, and this shard's credentials found again when it is
    /// damaged, so that a record it held is not taken for new.
    fn host_for_save(&self, target: &Target, messages: &mut Messages<impl Write>) -> Snapshot {
        self.complete(false, messages);
        let snapshot = self.index.read_host(&target.protocol, &target.host);
        if snapshot.problem.is_none() {
            return snapshot;
        }
        self.complete(true, messages);
        self.index.read_host(&target.protocol, &target.host)
    }

    /// Writes `secrets` under `key` in one keychain call; where the item is
    /// now, and, for a credential the index does not know (`unknown`), the
    /// note that the store is in flight until the index knows it (see
    /// `Index::begin_pending`).
    fn write_keychain(
        &self,
        key: &Key,
        unknown: bool,
        secrets: &Secrets,
    ) -> Result<(Option<String>, Option<Pending>)> {
        let mut pending = None;
        if unknown {
            match self
                .index
                .begin_pending(&key.target.protocol, &key.target.host)
            {
                Ok(note) => pending = Some(note),
                Err(err) => crate::trace!("no pending note: {err}"),
            }
        }
        let item = self.keychain.set(key, secrets).map_err(|err| {
            let context = match err {
                KeychainError::Altered(_) => "the credential was not stored",
                _ => "the credential was not stored; the previous one, if any, is unchanged",
            };
            anyhow::Error::new(err).context(context)
        })?;
        crate::test_hook::crash_point("store-after-keychain");
        Ok((item, pending))
    }

    /// The record of the credential under `key` after this store: touched,
    /// corrected, given the new expiry, or replaced by a new token's, and
    /// what the forge said.
    fn update_record(
        &self,
        key: &Key,
        secrets: &Secrets,
        decision: &StoreDecision,
        item: &Option<String>,
        probed: &Probed,
        messages: &mut Messages<impl Write>,
    ) -> Result<(), crate::index::IndexError> {
        let Key { target, username } = key;
        let now = self.now;
        let facts = SecretFacts::of(secrets);
        let StoreDecision {
            change, corrected, ..
        } = *decision;
        self.index.update_host(
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
                        let moved = note_item(record, item);
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
                note_item(&mut records[at], item);
                if let Some(outcome) = probed {
                    forge::record_outcome(&mut records[at], outcome, now);
                }
                ((), true)
            },
        )
    }
}

/// The server accepted a token the record held as refused or expired: the
/// record was wrong, and a person may want to set the expiry by hand.
fn warn_accepted(
    record: &Record,
    decision: &StoreDecision,
    key: &Key,
    messages: &mut Messages<impl Write>,
) {
    let Key { target, username } = key;
    if decision.refusal_cleared
        && let Some(refusal) = expiry::refusal(record)
    {
        messages.warning(&format!(
            "the server accepted the token for {}, which the forge's API refused on {}; it \
             is no longer held as refused",
            describe(target, username),
            refusal.at.format("%Y-%m-%d")
        ));
    }
    if decision.corrected {
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
}

/// A probe that timed out or was skipped learnt nothing: the token is
/// stored all the same, and `check` asks again now.
fn warn_unprobed(probed: &Probed, target: &Target, messages: &mut Messages<impl Write>) {
    if let Some(Err(
        err @ ProbeError::Http(HttpError::Timeout { .. } | HttpError::Skipped { .. }),
    )) = probed
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
}

/// What a `store` of the token the keychain holds (`held`) means: the
/// fields git sent, and for those it left out, what was held. Git before
/// 2.41 sends `store` after every successful use with the password alone,
/// no `password_expiry_utc` and no `oauth_refresh_token`; leaving a field
/// out never erases what is known about the same token, except a held
/// expiry already past: git stores only what the server just accepted.
/// Another token (`None` here) starts afresh.
fn filled_in(held: &Secrets, given: &Secrets, now: DateTime<Utc>) -> Option<Secrets> {
    let Secrets {
        password,
        oauth_refresh_token,
        auth,
        password_expiry_utc,
    } = given;
    if *password != held.password || *auth != held.auth {
        return None;
    }
    Some(Secrets {
        password: password.clone(),
        oauth_refresh_token: oauth_refresh_token
            .clone()
            .or_else(|| held.oauth_refresh_token.clone()),
        auth: auth.clone(),
        password_expiry_utc: password_expiry_utc
            .or(held.password_expiry_utc.filter(|&at| at > now.timestamp())),
    })
}

/// How what git stores differs from what the keychain holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Exactly what is stored, or what `get` told git about it.
    Unchanged,
    /// The same token, with a new expiry or refresh token from git.
    NewExpiry,
    /// Another token: what was known about the old one no longer applies.
    NewToken,
}

/// Compares field by field, without `..`, so that a new secret field must
/// be placed here before anything compiles. An expiry equal to the one
/// `get` told git (`get::told_expiry`) is git handing ours back.
fn compare(record: Option<&Record>, stored: &Secrets, given: &Secrets) -> Change {
    let Secrets {
        password,
        oauth_refresh_token,
        auth,
        password_expiry_utc,
    } = given;
    if *password != stored.password || *auth != stored.auth {
        return Change::NewToken;
    }
    let told = told_expiry(record, stored);
    let same_expiry = *password_expiry_utc == stored.password_expiry_utc
        || (record.is_some() && *password_expiry_utc == told);
    if same_expiry && *oauth_refresh_token == stored.oauth_refresh_token {
        Change::Unchanged
    } else {
        Change::NewExpiry
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
    use crate::credential::{Secret, TokenKind};
    use crate::keychain::SecretStore;
    use crate::keychain::memory::Memory;
    use crate::record::{Expiry, ProbeOutcome};
    use crate::testing::{days, https, now, stored_record, token};

    fn probed(result: ProbeResult, hours_ago: i64) -> Record {
        let mut record = Record::new(
            https("github.com"),
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

    fn held(secrets: Secrets, outdated: bool) -> Option<Found> {
        Some(Found {
            secrets,
            item: Some("/item/1".into()),
            outdated,
        })
    }

    fn known() -> Record {
        stored_record(https("github.com"), "alice", 3)
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

    /// A GitHub token alice stored a month ago.
    fn a_month_old() -> Record {
        stored_record(https("github.com"), "alice", 30)
    }

    /// The token `get` answered with, and git's own expiry beside it.
    fn answered(expiry: Option<i64>) -> Secrets {
        token("ghp_TESTanswer", expiry)
    }

    #[test]
    fn store_tells_the_expiry_get_told_git_from_a_new_one() {
        let mut record = a_month_old();
        record.expiry.forge = Some(Expiry::At(DateTime::from_timestamp(days(30), 0).unwrap()));
        let held = answered(None);
        // git hands back the expiry `get` told it: nothing to write.
        assert_eq!(
            compare(Some(&record), &held, &answered(Some(days(30)))),
            Change::Unchanged
        );
        assert_eq!(
            compare(Some(&record), &held, &answered(None)),
            Change::Unchanged
        );
        // Another expiry for the same token is news, record or not.
        assert_eq!(
            compare(Some(&record), &held, &answered(Some(days(60)))),
            Change::NewExpiry
        );
        assert_eq!(
            compare(None, &held, &answered(Some(days(30)))),
            Change::NewExpiry
        );
        let mut bearer = held.clone();
        bearer.auth = Some(("Bearer".into(), Secret::new("TESTbearer")));
        assert_eq!(compare(Some(&record), &held, &bearer), Change::NewToken);
    }

    #[test]
    fn a_store_that_leaves_a_field_out_keeps_what_was_held() {
        let mut held = answered(Some(days(3)));
        held.oauth_refresh_token = Some(Secret::new("TESTrefresh"));
        // git 2.39: the password alone.
        let kept = filled_in(&held, &answered(None), now()).unwrap();
        assert_eq!(kept, held);
        assert_eq!(compare(None, &held, &kept), Change::Unchanged);
        // What git does send wins.
        let told = filled_in(&held, &answered(Some(days(9))), now()).unwrap();
        assert_eq!(told.password_expiry_utc, Some(days(9)));
        assert_eq!(told.oauth_refresh_token, held.oauth_refresh_token);
        // A past expiry is not kept: the server has just accepted the token.
        let past = filled_in(&answered(Some(days(-1))), &answered(None), now()).unwrap();
        assert_eq!(past.password_expiry_utc, None);
        // Another token starts afresh.
        let mut other = answered(None);
        other.password = Some(Secret::new("ghp_TESTother"));
        assert_eq!(filled_in(&held, &other, now()), None);
    }

    #[test]
    fn store_recognises_the_same_token_and_corrects_a_wrong_record() {
        let memory = Memory::default();
        let given = token("ghp_TESTa", None);
        let key = Key::new(https("github.com"), "alice");
        let mut record = known();
        record.keychain_item = memory.set(&key, &given).unwrap();
        record.expiry.manual = Some(Expiry::At(now() - TimeDelta::days(1)));
        let held = memory.find(&key, None).unwrap().unwrap().secrets;
        // Git stores, after the server accepted it, the token patrol held
        // as dead: the same token, so the record (not the token) was wrong.
        assert_eq!(compare(Some(&record), &held, &given), Change::Unchanged);
        assert!(expiry::known_dead(&record, now()));
        assert!(record.expiry.forget_past(now()));
        assert!(!expiry::known_dead(&record, now()));
        // The expiry `get` told git, handed back, is no change either.
        let mut told = record.clone();
        told.expiry.forge = Some(Expiry::At(now() + TimeDelta::days(30)));
        let mut echoed = given.clone();
        echoed.password_expiry_utc = Some((now() + TimeDelta::days(30)).timestamp());
        assert_eq!(compare(Some(&told), &held, &echoed), Change::Unchanged);
        // A new refresh token for the same access token is kept.
        let mut refreshed = given.clone();
        refreshed.oauth_refresh_token = Some(Secret::new("TESTrefresh2"));
        assert_eq!(compare(Some(&record), &held, &refreshed), Change::NewExpiry);
        assert_eq!(
            compare(Some(&record), &held, &token("ghp_TESTb", None)),
            Change::NewToken
        );
    }
}
