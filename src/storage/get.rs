//! `get`'s core, in three steps: locate the credential (`locate`: the
//! host's records, each read at the item it remembers; the keychain alone
//! only when the index cannot speak for the host), decide what git is told
//! (`decide`: a dead token is never handed over), and note what the index
//! should remember (a warning given, for `patrol.warnEvery`; a refresh
//! token offered; an item found elsewhere; a record found in the keychain
//! alone). Only the notes write, and never while another process holds the
//! index lock: `get` is git's hot path and never waits. `locate` reads
//! through the `SecretStore` seam and `decide` is pure, the clock passed
//! in, so that table tests run both with the in-memory store.
//!
//! The expiry git hears is the record's one effective expiry
//! (`Expiries::effective`), the same that `get` warns about and `list`
//! shows. A known-dead token's password is withheld on every git version:
//! git 2.40 and later would drop a password whose `password_expiry_utc` is
//! past anyway (and go on to the next helper, keeping `oauth_refresh_token`),
//! while git 2.39 and older ignore the expiry and would send the dead token.
//! Withholding it gives every version the newer behaviour without asking
//! which git is running, which would cost a child process.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::{Storage, warn_index};
use crate::config::{Policy, Settings};
use crate::credential::{ForgeKind, Secrets, Target};
use crate::expiry::{self, Due, Throttle, Warning};
use crate::forge;
use crate::forge::diagnosis::{Renewal, Subject};
use crate::index::Snapshot;
use crate::keychain::{Key, KeychainError, SecretStore};
use crate::matching::{Wanted, fingerprint, keychain_accounts, matching};
use crate::output::{self, Messages, describe, rotate_command};
use crate::record::{self, Expiry, Record};

/// What `get` found, and what it tells git.
#[derive(Debug)]
pub struct Answered<'r> {
    /// The record, when the index knew the credential.
    pub record: Option<&'r Record>,
    /// The account that answers.
    pub username: String,
    /// The fields to print: the stored secrets with the expiry git is told,
    /// without a password or credential when the token is dead.
    pub secrets: Secrets,
    /// Our `state[]` value, when git takes one and the token is usable.
    pub state: Option<String>,
    /// The token is known to be dead: git must ask elsewhere.
    dead: bool,
    /// Where the item is, when that is not where the record said.
    moved: Option<String>,
    /// Found in the keychain alone: the record it gets back, which keeps
    /// what the secrets tell, never the secrets.
    found: Option<Record>,
}

impl Storage<'_> {
    /// Locates the credential that answers git's request for `target` (and
    /// `username`) among `snapshot`'s records and in the keychain, and
    /// decides what git is told. `wants_authtype` and `wants_state` are the
    /// capabilities git announced.
    pub fn get<'r>(
        &self,
        snapshot: &'r Snapshot,
        target: &Target,
        username: Option<&str>,
        wants_authtype: bool,
        wants_state: bool,
    ) -> Result<Option<Answered<'r>>, KeychainError> {
        // A store that died before its index write leaves a pending note:
        // only then (or with the index incomplete or damaged) does a miss
        // ask the keychain. The note is looked for on a miss only, never on
        // a hit.
        let speaks_for_all = || {
            self.index
                .speaks_for_host(snapshot, &target.protocol, &target.host)
        };
        let located = locate(
            &snapshot.records,
            &speaks_for_all,
            target,
            username,
            wants_authtype,
            self.keychain,
        )?;
        let Some(Located {
            record,
            moved,
            username,
            secrets,
        }) = located
        else {
            return Ok(None);
        };
        let found = record
            .is_none()
            .then(|| Record::found(target.clone(), username.clone(), &secrets, self.now));
        let Answer { secrets, dead } = decide(record, secrets, self.now);
        let state = record
            .filter(|_| !dead && wants_state)
            .map(|record| fingerprint(record, &secrets));
        Ok(Some(Answered {
            record,
            username,
            secrets,
            state,
            dead,
            moved,
            found,
        }))
    }
}

/// Step 1: where `get` found the credential it answers with.
#[derive(Debug)]
struct Located<'r> {
    /// The record, when the index knew the credential.
    record: Option<&'r Record>,
    /// Where the item is, when that is not where the record said.
    moved: Option<String>,
    username: String,
    secrets: Secrets,
}

/// `get`'s lookup: the matching records, most recent first, each read at
/// the item its record remembers (a hint the store checks); the first one
/// with something git can use answers. Only when the index cannot speak for
/// every credential (lost, or this host's shard damaged) does the keychain
/// alone answer, from the accounts it holds for this exact URL.
fn locate<'r>(
    records: &'r [Record],
    index_usable: &dyn Fn() -> bool,
    target: &Target,
    username: Option<&str>,
    wants_authtype: bool,
    store: &dyn SecretStore,
) -> Result<Option<Located<'r>>, KeychainError> {
    let usable = |secrets: &Secrets| {
        let Secrets {
            password,
            oauth_refresh_token: _,
            auth,
            password_expiry_utc: _,
        } = secrets;
        password.is_some() || (wants_authtype && auth.is_some())
    };
    for record in matching(records, &Wanted::new(target, username)) {
        let key = Key::new(record.target.clone(), record.username.clone());
        if let Some(found) = store.find(&key, record.keychain_item.as_deref())?
            && usable(&found.secrets)
        {
            let moved = found
                .item
                .filter(|item| record.keychain_item.as_ref() != Some(item));
            return Ok(Some(Located {
                record: Some(record),
                moved,
                username: record.username.clone(),
                secrets: found.secrets,
            }));
        }
    }
    if index_usable() {
        return Ok(None);
    }
    for account in keychain_accounts(store, target, username)? {
        let key = Key::new(target.clone(), account.clone());
        if let Some(found) = store.find(&key, None)?
            && usable(&found.secrets)
        {
            return Ok(Some(Located {
                record: None,
                moved: None,
                username: account,
                secrets: found.secrets,
            }));
        }
    }
    Ok(None)
}

/// Step 2: what `get` prints.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    /// The fields to print: the stored secrets, with the effective expiry,
    /// and without a password or credential when the token is dead.
    secrets: Secrets,
    /// The token is known to be dead: git must ask elsewhere.
    dead: bool,
}

/// The `password_expiry_utc` patrol tells git: the record's effective
/// expiry, or, when the record knows none (or there is no record), what git
/// itself stored beside the secret. `store` compares what git hands back
/// with it.
pub(super) fn told_expiry(record: Option<&Record>, secrets: &Secrets) -> Option<i64> {
    match record.and_then(|r| r.expiry.effective()) {
        Some((Expiry::At(at), _)) => Some(at.timestamp()),
        Some((Expiry::Never, _)) => None,
        None => secrets.password_expiry_utc,
    }
}

/// The answer for `stored`, found under `record` (or in the keychain alone).
fn decide(record: Option<&Record>, stored: Secrets, now: DateTime<Utc>) -> Answer {
    let expiry = told_expiry(record, &stored);
    let dead = record.is_some_and(|r| expiry::known_dead(r, now))
        || expiry.is_some_and(|at| at <= now.timestamp());
    let Secrets {
        password,
        oauth_refresh_token,
        auth,
        password_expiry_utc: _,
    } = stored;
    let secrets = if dead {
        Secrets {
            password: None,
            oauth_refresh_token,
            auth: None,
            password_expiry_utc: expiry,
        }
    } else {
        Secrets {
            password,
            oauth_refresh_token,
            auth,
            password_expiry_utc: expiry,
        }
    };
    Answer { secrets, dead }
}

/// Step 3: after the answer, the warnings and what the index remembers.
impl Storage<'_> {
    /// After the answer is printed: warns when the token is due (with the
    /// settings of the account that answered), says once what cannot be
    /// learnt of its expiry, and notes in the index what it must remember.
    pub fn after_get(
        &self,
        answered: Answered,
        settings: &Settings,
        messages: &mut Messages<impl Write>,
    ) {
        let Answered {
            record,
            dead,
            moved,
            found,
            ..
        } = answered;
        if let Some(record) = record {
            let warned = warn_if_due(
                record,
                &settings.policy,
                settings.forge,
                &settings.required_scopes,
                self.now,
                messages,
            );
            // A refresh token handed over for a dead access token is
            // noted, so that a later `get` that finds it still dead knows
            // renewal failed.
            let offered = dead && record.refreshable && record.refresh_offered_at.is_none();
            let hinted = !dead && hint_expiry_once(record, settings, messages);
            // What nobody saw is said again next time (`Messages::seen`,
            // asked only when something was said).
            let seen = (warned || hinted) && messages.seen();
            self.note_get(
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
            self.note_found(found, messages);
        }
    }

    /// A credential `get` found in the keychain alone gets its record back,
    /// so the next `get` finds it directly. Only on that rare path, and
    /// never waiting for the lock.
    fn note_found(&self, found: Record, messages: &mut Messages<impl Write>) {
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
    fn note_get(&self, record: &Record, noted: GetNotes, messages: &mut Messages<impl Write>) {
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
}

/// What a `get` did that the index should remember.
#[derive(Debug, Default)]
struct GetNotes {
    /// It printed a warning where a person could see it
    /// (`patrol.warnEvery` counts from it).
    warned: bool,
    /// It handed git the refresh token of a dead access token.
    offered: bool,
    /// The keychain item is elsewhere than the index said.
    moved: Option<String>,
    /// It said what cannot be learnt of the expiry (once per token) where a
    /// person could see it.
    hinted: bool,
}

/// The first `get` after a token is stored says, once, what patrol cannot
/// learn of its expiry: the forge cannot tell it (and the command that
/// sets it), or the forge's tokens never expire (and the setting that
/// reminds). Whether it said it.
fn hint_expiry_once(
    record: &Record,
    settings: &Settings,
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

/// Warns when the token's expiry or rotation date is near, or the forge
/// refused it; says whether it did. The fix comes from the forge's table.
fn warn_if_due(
    record: &Record,
    policy: &Policy,
    configured_forge: Option<ForgeKind>,
    required: &[String],
    now: DateTime<Utc>,
    messages: &mut Messages<impl Write>,
) -> bool {
    let Some(Warning { due, at }) =
        expiry::warning(record, policy, now, Throttle::get(record, policy))
    else {
        return false;
    };
    let who = describe(&record.target, &record.username);
    let when = format!("{} ({})", expiry::relative(at, now), output::date_time(at));
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

/// `get`'s decisions over the in-memory store, the clock passed in: where
/// it finds the credential, what it answers, when it warns and what it
/// says, and what it notes.
#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::credential::{Secret, TokenKind};
    use crate::index::Index;
    use crate::keychain::memory::Memory;
    use crate::matching::{NamedSecret, to_erase};
    use crate::record::{ProbeOutcome, ProbeResult};
    use crate::testing::{days, https, keep, now, stored_record, token};

    fn stored_at() -> DateTime<Utc> {
        "2026-06-01T12:00:00Z".parse().unwrap()
    }

    fn github() -> Target {
        https("github.com")
    }

    fn record() -> Record {
        Record::new(
            github(),
            "alice".into(),
            TokenKind::GithubClassic,
            stored_at(),
        )
    }

    fn expiring(at: &str) -> Record {
        let mut record = record();
        record.expiry.git = Some(Expiry::At(at.parse().unwrap()));
        record
    }

    /// What `warn_if_due` says for `record` at `now`, and whether it warned.
    fn warned(record: &Record, policy: &Policy, now: &str) -> (bool, String) {
        let mut messages = Messages::plain(Vec::new());
        let now = now.parse().unwrap();
        let warned = warn_if_due(record, policy, None, &[], now, &mut messages);
        (warned, String::from_utf8(messages.into_inner()).unwrap())
    }

    #[test]
    fn warn_if_due_decides_by_the_clock_and_names_the_fix() {
        let policy = Policy::default();
        let expires = expiring("2026-06-20T12:00:00Z");

        // Ten days ahead is outside `warnBefore` (7 days): nothing.
        let (said, out) = warned(&expires, &policy, "2026-06-10T12:00:00Z");
        assert!(!said && out.is_empty(), "{out}");

        // Within it: the date, and the fix without "before your next push".
        let (said, out) = warned(&expires, &policy, "2026-06-17T12:00:00Z");
        assert!(said, "{out}");
        assert!(out.contains("the token for"), "{out}");
        assert!(out.contains("expires in 3 days (2026-06-20"), "{out}");
        assert!(!out.contains("before your next push"), "{out}");

        // Past it: expired, withheld, and the fix for the next push.
        let (said, out) = warned(&expires, &policy, "2026-06-21T12:00:00Z");
        assert!(said, "{out}");
        assert!(out.contains("expired 24 hours ago"), "{out}");
        assert!(out.contains("patrol no longer gives it to git"), "{out}");
        assert!(out.contains("or, before your next push: "), "{out}");

        // Never expiring, never refused, no rotation policy: nothing ever.
        let (said, out) = warned(&record(), &policy, "2036-06-21T12:00:00Z");
        assert!(!said && out.is_empty(), "{out}");
    }

    #[test]
    fn warn_if_due_says_a_refusal_a_failed_renewal_and_a_rotation() {
        let policy = Policy::default();
        let mut refused = record();
        refused.probe = Some(ProbeOutcome {
            at: "2026-06-10T12:00:00Z".parse().unwrap(),
            result: ProbeResult::Rejected,
            message: Some("Bad credentials\u{1b}[31m".into()),
        });
        let (said, out) = warned(&refused, &policy, "2026-06-11T12:00:00Z");
        assert!(said, "{out}");
        assert!(out.contains("the forge refused the token for"), "{out}");
        // The forge's words reach the terminal escaped.
        assert!(out.contains(": Bad credentials\\u{1b}[31m"), "{out}");
        assert!(out.contains("patrol no longer gives it to git"), "{out}");

        let mut not_renewed = expiring("2026-06-20T12:00:00Z");
        not_renewed.refreshable = true;
        not_renewed.refresh_offered_at = Some("2026-06-20T13:00:00Z".parse().unwrap());
        let (said, out) = warned(&not_renewed, &policy, "2026-06-21T12:00:00Z");
        assert!(said, "{out}");
        assert!(out.contains("expired 24 hours ago"), "{out}");
        assert!(out.contains("and was not renewed"), "{out}");
        assert!(
            out.contains("git config --get-all credential.helper"),
            "{out}"
        );

        let rotating = Policy {
            rotate_after: Some(TimeDelta::days(30)),
            ..Policy::default()
        };
        let (said, out) = warned(&record(), &rotating, "2026-06-29T12:00:00Z");
        assert!(said, "{out}");
        assert!(out.contains("is due for rotation in 2 days"), "{out}");
        assert!(out.contains("(patrol.rotateAfter)"), "{out}");
    }

    #[test]
    fn warn_if_due_is_throttled_by_warn_every_except_in_the_last_day() {
        let policy = Policy::default();
        let mut record = expiring("2026-06-20T12:00:00Z");
        record.last_warned_at = Some("2026-06-17T06:00:00Z".parse().unwrap());
        assert!(!warned(&record, &policy, "2026-06-17T12:00:00Z").0);
        assert!(warned(&record, &policy, "2026-06-17T18:00:00Z").0);
        // The last day warns on every `get`, however recent the last.
        record.last_warned_at = Some("2026-06-19T20:00:00Z".parse().unwrap());
        assert!(warned(&record, &policy, "2026-06-19T21:00:00Z").0);
    }

    /// A credential stored in `store` and recorded in `index`.
    fn stored(store: &Memory, index: &Index, record: &Record) {
        let key = Key::new(record.target.clone(), record.username.clone());
        store
            .set(&key, &Secrets::token_only(Secret::new("ghp_TESTwarned")))
            .unwrap();
        let record = record.clone();
        index
            .update_host("https", "github.com", &mut |_| {}, |records| {
                records.push(record);
                ((), true)
            })
            .unwrap();
    }

    /// One `get` at `now`: the password git is given and what was said.
    fn get_at(store: &Memory, index: &Index, now: &str) -> (Option<String>, String) {
        let storage = Storage {
            index,
            keychain: store,
            now: now.parse().unwrap(),
        };
        let snapshot = index.read_host("https", "github.com");
        let answered = storage
            .get(&snapshot, &github(), None, false, true)
            .unwrap()
            .expect("an answer");
        let password = answered
            .secrets
            .password
            .as_ref()
            .map(|p| p.expose().to_owned());
        let mut messages = Messages::plain(Vec::new());
        let settings = Settings::defaults();
        storage.after_get(answered, &settings, &mut messages);
        (password, String::from_utf8(messages.into_inner()).unwrap())
    }

    #[test]
    fn a_get_warns_notes_the_warning_and_withholds_a_dead_token() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let store = Memory::default();
        let mut record = expiring("2026-06-20T12:00:00Z");
        // Said once already: the forge cannot tell this token's expiry.
        record.expiry_hint_at = Some(stored_at());
        stored(&store, &index, &record);

        let (password, out) = get_at(&store, &index, "2026-06-17T12:00:00Z");
        assert_eq!(password.as_deref(), Some("ghp_TESTwarned"));
        assert!(out.contains("expires in 3 days"), "{out}");
        let noted = index.read_host("https", "github.com").records[0].last_warned_at;
        assert_eq!(noted, Some("2026-06-17T12:00:00Z".parse().unwrap()));

        // An hour later `patrol.warnEvery` (12 hours) keeps it quiet.
        let (password, out) = get_at(&store, &index, "2026-06-17T13:00:00Z");
        assert_eq!(password.as_deref(), Some("ghp_TESTwarned"));
        assert!(out.is_empty(), "{out}");

        // Once it has expired, git is not given the dead token.
        let (password, out) = get_at(&store, &index, "2026-06-21T12:00:00Z");
        assert_eq!(password, None);
        assert!(out.contains("expired 24 hours ago"), "{out}");
    }

    #[test]
    fn a_get_remembers_an_item_found_elsewhere_and_a_record_found_in_the_keychain_alone() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let store = Memory::default();
        let mut record = record();
        record.expiry_hint_at = Some(stored_at());
        stored(&store, &index, &record);
        let key = Key::new(github(), "alice");
        let moved = store.move_item(&key);
        get_at(&store, &index, "2026-06-02T12:00:00Z");
        let records = index.read_host("https", "github.com").records;
        assert_eq!(records[0].keychain_item.as_deref(), Some(moved.as_str()));

        // An index with no shard for the host that does not speak for
        // every credential: the keychain alone answers, and the record
        // comes back.
        let gone = tempfile::tempdir().unwrap();
        let lost = Index::new(gone.path().join("data"));
        let (password, _) = get_at(&store, &lost, "2026-06-02T12:00:00Z");
        assert_eq!(password.as_deref(), Some("ghp_TESTwarned"));
        let back = lost.read_host("https", "github.com").records;
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].username, "alice");
        assert_eq!(back[0].kind, TokenKind::GithubClassic);
    }

    /// Where the credentials of the lookup's cases are stored.
    fn example() -> Target {
        https("example.com")
    }

    fn record_of(user: &str) -> Record {
        stored_record(example(), user, 10)
    }

    /// A store holding `secrets` for alice, and the record the index has
    /// for it, at the item where the store put it.
    fn kept(memory: &Memory, secrets: &Secrets) -> Record {
        keep(memory, record_of("alice"), secrets)
    }

    struct Case {
        what: &'static str,
        /// Sets the store up; returns the records and whether the index is usable.
        given: fn(&Memory) -> (Vec<Record>, bool),
        wants_authtype: bool,
        /// The password `get` answers (None: none), and whether it found a record.
        password: Option<&'static str>,
        from_record: bool,
        moved: bool,
        dead: bool,
    }

    #[test]
    fn get_decides_case_by_case() {
        let cases = [
            Case {
                what: "a hit at the remembered item",
                given: |m| (vec![kept(m, &token("ghp_TESTa", None))], true),
                wants_authtype: false,
                password: Some("ghp_TESTa"),
                from_record: true,
                moved: false,
                dead: false,
            },
            Case {
                what: "a definite miss: the index is complete, the keychain is not asked",
                given: |m| {
                    kept(m, &token("ghp_TESTa", None));
                    (Vec::new(), true)
                },
                wants_authtype: false,
                password: None,
                from_record: false,
                moved: false,
                dead: false,
            },
            Case {
                what: "the index unusable: the keychain alone answers",
                given: |m| {
                    kept(m, &token("ghp_TESTa", None));
                    (Vec::new(), false)
                },
                wants_authtype: false,
                password: Some("ghp_TESTa"),
                from_record: false,
                moved: false,
                dead: false,
            },
            Case {
                what: "the item moved: found, and where is noted",
                given: |m| {
                    let record = kept(m, &token("ghp_TESTa", None));
                    m.move_item(&Key::new(example(), "alice"));
                    (vec![record], true)
                },
                wants_authtype: false,
                password: Some("ghp_TESTa"),
                from_record: true,
                moved: true,
                dead: false,
            },
            Case {
                what: "authtype only, to a git that cannot use it",
                given: |m| {
                    let bearer = Secrets {
                        password: None,
                        oauth_refresh_token: None,
                        auth: Some(("Bearer".into(), Secret::new("TESTbearer"))),
                        password_expiry_utc: None,
                    };
                    (vec![kept(m, &bearer)], true)
                },
                wants_authtype: false,
                password: None,
                from_record: false,
                moved: false,
                dead: false,
            },
            Case {
                what: "expired elsewhere: set by hand, git's own expiry later",
                given: |m| {
                    let mut record = kept(m, &token("ghp_TESTa", Some(1_900_000_000)));
                    record.expiry.git = Some(Expiry::At(now() + TimeDelta::days(3)));
                    record.expiry.manual = Some(Expiry::At(now() - TimeDelta::days(1)));
                    (vec![record], true)
                },
                wants_authtype: false,
                password: None,
                from_record: true,
                moved: false,
                dead: true,
            },
            Case {
                what: "refreshable, access token expired: the refresh token goes to git",
                given: |m| {
                    let mut secrets = token("gho_TESTaccess", None);
                    secrets.oauth_refresh_token = Some(Secret::new("TESTrefresh"));
                    secrets.password_expiry_utc = Some((now() - TimeDelta::hours(1)).timestamp());
                    let mut record = kept(m, &secrets);
                    record.refreshable = true;
                    record.expiry.git = Some(Expiry::At(now() - TimeDelta::hours(1)));
                    (vec![record], true)
                },
                wants_authtype: false,
                password: None,
                from_record: true,
                moved: false,
                dead: true,
            },
        ];
        for case in cases {
            let memory = Memory::default();
            let (records, usable) = (case.given)(&memory);
            let located = locate(
                &records,
                &|| usable,
                &example(),
                None,
                case.wants_authtype,
                &memory,
            )
            .unwrap();
            let Some(located) = located else {
                assert_eq!(case.password, None, "{}: nothing found", case.what);
                assert!(!case.from_record && !case.dead, "{}", case.what);
                continue;
            };
            assert_eq!(located.record.is_some(), case.from_record, "{}", case.what);
            assert_eq!(located.moved.is_some(), case.moved, "{}", case.what);
            let refreshable = located.secrets.oauth_refresh_token.is_some();
            let answer = decide(located.record, located.secrets, now());
            assert_eq!(answer.dead, case.dead, "{}", case.what);
            // Whatever git runs (old git sends no capabilities): a dead
            // token's password is never in the answer.
            assert_eq!(
                answer.secrets.password.as_ref().map(Secret::expose),
                case.password,
                "{}",
                case.what
            );
            if refreshable {
                assert!(
                    answer.secrets.oauth_refresh_token.is_some(),
                    "{}",
                    case.what
                );
                let status =
                    expiry::assess(located.record.unwrap(), &Policy::default(), now()).status;
                assert_eq!(status, expiry::Status::SelfRenewing, "{}", case.what);
            }
        }
    }

    /// `erase` takes whatever `get` would answer with, case by case; it
    /// searches the keychain whenever `get` would, and on any miss.
    #[test]
    fn erase_finds_what_get_answers_with_and_searches_on_a_miss() {
        let none = NamedSecret {
            password: None,
            credential: None,
        };
        // The keychain holds alice's and bob's tokens; the index knows at
        // most alice's.
        struct Case {
            what: &'static str,
            speaks: bool,
            records: fn(&Memory) -> Vec<Record>,
            username: Option<&'static str>,
            erased: &'static [&'static str],
        }
        let cases = [
            Case {
                what: "the index speaks and knows alice",
                speaks: true,
                records: |m| vec![kept(m, &token("ghp_TESTa", None))],
                username: None,
                erased: &["alice"],
            },
            Case {
                what: "the index speaks and knows nobody",
                speaks: true,
                records: |_| vec![],
                username: None,
                erased: &["alice", "bob"],
            },
            Case {
                what: "the index speaks and alice was erased",
                speaks: true,
                records: |m| {
                    let mut record = kept(m, &token("ghp_TESTa", None));
                    record.erased = Some(crate::record::Erasure {
                        at: now(),
                        by: crate::record::ErasedBy::Git,
                    });
                    vec![record]
                },
                username: None,
                erased: &["alice", "bob"],
            },
            Case {
                what: "the index speaks, bob asked for",
                speaks: true,
                records: |m| vec![kept(m, &token("ghp_TESTa", None))],
                username: Some("bob"),
                erased: &["bob"],
            },
            Case {
                what: "the index does not speak and knows nobody",
                speaks: false,
                records: |_| vec![],
                username: None,
                erased: &["alice", "bob"],
            },
            Case {
                what: "the index does not speak, alice's item is gone",
                speaks: false,
                records: |m| {
                    let record = kept(m, &token("ghp_TESTa", None));
                    m.delete(&Key::new(example(), "alice")).unwrap();
                    vec![record]
                },
                username: None,
                erased: &["alice", "bob"],
            },
            Case {
                what: "the index does not speak, bob asked for",
                speaks: false,
                records: |_| vec![],
                username: Some("bob"),
                erased: &["bob"],
            },
        ];
        for case in cases {
            let memory = Memory::default();
            for (user, value) in [("alice", "ghp_TESTa"), ("bob", "ghp_TESTb")] {
                memory
                    .set(&Key::new(example(), user), &token(value, None))
                    .unwrap();
            }
            let records = (case.records)(&memory);
            let mut erased: Vec<String> = to_erase(
                &records,
                case.speaks,
                &example(),
                case.username,
                &none,
                &memory,
            )
            .unwrap()
            .keys
            .into_iter()
            .map(|key| key.username)
            .collect();
            erased.sort();
            assert_eq!(erased, case.erased, "{}", case.what);
            let speaks = case.speaks;
            let got = locate(
                &records,
                &|| speaks,
                &example(),
                case.username,
                false,
                &memory,
            )
            .unwrap();
            if let Some(got) = got {
                assert!(
                    erased.contains(&got.username),
                    "{}: get answers with {}, erase misses it",
                    case.what,
                    got.username
                );
            }
        }
    }

    /// A GitHub token alice stored a month ago.
    fn a_month_old() -> Record {
        stored_record(github(), "alice", 30)
    }

    /// The token the keychain holds, with git's own expiry beside it.
    fn held(expiry: Option<i64>) -> Secrets {
        token("ghp_TESTanswer", expiry)
    }

    #[test]
    fn answers_follow_the_one_effective_expiry() {
        struct Case {
            what: &'static str,
            git: Option<i64>,
            manual: Option<Expiry>,
            forge: Option<Expiry>,
            told: Option<i64>,
            dead: bool,
        }
        let at = |n| Some(Expiry::At(DateTime::from_timestamp(days(n), 0).unwrap()));
        let cases = [
            Case {
                what: "git's own expiry, still ahead",
                git: Some(days(3)),
                manual: None,
                forge: None,
                told: Some(days(3)),
                dead: false,
            },
            Case {
                what: "expired elsewhere: set by hand, git's later",
                git: Some(days(3)),
                manual: at(-1),
                forge: None,
                told: Some(days(-1)),
                dead: true,
            },
            Case {
                what: "the forge beats a date set by hand",
                git: None,
                manual: at(-1),
                forge: at(30),
                told: Some(days(30)),
                dead: false,
            },
            Case {
                what: "never expires, by hand, beats git's",
                git: Some(days(-2)),
                manual: Some(Expiry::Never),
                forge: None,
                told: None,
                dead: false,
            },
            Case {
                what: "nothing known",
                git: None,
                manual: None,
                forge: None,
                told: None,
                dead: false,
            },
        ];
        for case in cases {
            let mut record = a_month_old();
            record.expiry.git = case
                .git
                .map(|t| Expiry::At(DateTime::from_timestamp(t, 0).unwrap()));
            record.expiry.manual = case.manual;
            record.expiry.forge = case.forge;
            let answer = decide(Some(&record), held(case.git), now());
            assert_eq!(
                answer.secrets.password_expiry_utc, case.told,
                "{}",
                case.what
            );
            assert_eq!(answer.dead, case.dead, "{}", case.what);
            assert_eq!(
                answer.secrets.password.is_none(),
                case.dead,
                "{}",
                case.what
            );
        }
    }

    #[test]
    fn a_dead_token_keeps_its_refresh_token_and_loses_its_secrets() {
        let mut record = a_month_old();
        record.expiry.git = Some(Expiry::At(now() - TimeDelta::hours(1)));
        record.refreshable = true;
        let mut secrets = held(Some(days(0) - 3600));
        secrets.oauth_refresh_token = Some(Secret::new("TESTrefresh"));
        secrets.auth = Some(("Bearer".into(), Secret::new("TESTbearer")));
        let answer = decide(Some(&record), secrets, now());
        assert!(answer.dead);
        assert_eq!(answer.secrets.password, None);
        assert_eq!(answer.secrets.auth, None);
        assert_eq!(
            answer.secrets.oauth_refresh_token,
            Some(Secret::new("TESTrefresh"))
        );
        assert_eq!(answer.secrets.password_expiry_utc, Some(days(0) - 3600));
    }

    #[test]
    fn without_a_record_git_own_expiry_decides() {
        let live = decide(None, held(Some(days(1))), now());
        assert!(!live.dead);
        assert_eq!(live.secrets.password_expiry_utc, Some(days(1)));
        let dead = decide(None, held(Some(days(-1))), now());
        assert!(dead.dead);
        assert_eq!(dead.secrets.password, None);
        assert!(!decide(None, held(None), now()).dead);
    }
}
