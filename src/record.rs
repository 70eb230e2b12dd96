//! What patrol knows about one credential, apart from its secret: the
//! record kept in the index, every expiry learnt for it and where each came
//! from, what the forge said when asked, and whether it was erased. Pure
//! data and the rules that belong to it; `index` only reads, locks and
//! writes these records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::credential::{Secrets, Target, TokenKind};

/// An expiry: a moment, or a statement that there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expiry {
    Never,
    #[serde(untagged)]
    At(DateTime<Utc>),
}

/// Where an expiry came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpirySource {
    /// `git credential-patrol expiry URL DATE`.
    Manual,
    /// `password_expiry_utc`, sent by git.
    Git,
    /// Reported by the forge's API.
    Forge,
}

/// Every known expiry of a credential, one slot per source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiries {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<Expiry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<Expiry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge: Option<Expiry>,
}

impl Expiries {
    /// The one expiry that counts, and where it came from: the forge's,
    /// else the one set by hand, else git's. The forge reports what it will
    /// enforce; a person types what they read on the forge's page, which
    /// beats `password_expiry_utc`, a value an earlier helper (or a person
    /// at git's prompt) supplied and nobody checked. Everything patrol
    /// shows or tells git about an expiry comes from here.
    pub fn effective(&self) -> Option<(Expiry, ExpirySource)> {
        [
            (self.forge, ExpirySource::Forge),
            (self.manual, ExpirySource::Manual),
            (self.git, ExpirySource::Git),
        ]
        .into_iter()
        .find_map(|(expiry, source)| expiry.map(|e| (e, source)))
    }

    /// Forgets every expiry at or before `now`: a server just accepted the
    /// token, so each of them was wrong. Whether any was.
    pub fn forget_past(&mut self, now: DateTime<Utc>) -> bool {
        let mut forgot = false;
        for slot in [&mut self.forge, &mut self.manual, &mut self.git] {
            if matches!(slot, Some(Expiry::At(at)) if *at <= now) {
                *slot = None;
                forgot = true;
            }
        }
        forgot
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErasedBy {
    /// Git erased it, because the server refused it.
    Git,
    /// A person ran `git credential-patrol erase`.
    User,
}

/// What the last question to the forge about a credential found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeOutcome {
    pub at: DateTime<Utc>,
    pub result: ProbeResult,
    /// Why it failed, or what was odd in the answer; never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeResult {
    /// The forge accepted the token and described it.
    Valid,
    /// The forge refused the token: invalid, expired or revoked.
    Rejected,
    /// No usable answer: unreachable, timed out, or an answer we could not read.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    pub at: DateTime<Utc>,
    pub by: ErasedBy,
}

/// What the index knows of one credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Random, stable for the life of the record; keys our `state[]` values.
    pub id: String,
    #[serde(flatten)]
    pub target: Target,
    pub username: String,
    pub kind: TokenKind,
    pub stored_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expiry: Expiries,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_warned_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased: Option<Erasure>,
    /// The account the forge says the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The token's own name, where the forge has one (GitLab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_name: Option<String>,
    /// A scoped token's scopes, as the forge reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<ProbeOutcome>,
    /// Where the keychain said the secret was (a Secret Service object
    /// path; never the secret): lets `get` skip a search of the keyring.
    /// Only a hint, checked against the item before use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keychain_item: Option<String>,
    /// Stored with an `oauth_refresh_token`: the access token renews itself
    /// through the OAuth helper after patrol in git's chain.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub refreshable: bool,
    /// When `get` last handed git the refresh token of an expired access
    /// token; a later `get` that finds the same token still expired knows
    /// the renewal failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_offered_at: Option<DateTime<Utc>>,
    /// When `get` said what patrol cannot learn of this token's expiry
    /// (its forge cannot tell it, or its tokens never expire): once per
    /// stored token, not on every push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_hint_at: Option<DateTime<Utc>>,
}

impl Record {
    /// The kind as tables and JSON name it: `certificate` for a client
    /// certificate's passphrase, else the token's kind.
    pub fn kind_name(&self) -> &'static str {
        if self.target.is_certificate() {
            "certificate"
        } else {
            self.kind.name()
        }
    }

    pub fn new(target: Target, username: String, kind: TokenKind, now: DateTime<Utc>) -> Self {
        Self {
            id: random_id(),
            target,
            username,
            kind,
            stored_at: now,
            last_used_at: None,
            expiry: Expiries::default(),
            rotated_at: None,
            last_warned_at: None,
            erased: None,
            account: None,
            token_name: None,
            scopes: None,
            probe: None,
            keychain_item: None,
            refreshable: false,
            refresh_offered_at: None,
            expiry_hint_at: None,
        }
    }

    /// The record of a credential found in the keychain alone (stored
    /// while the index was lost, damaged, or by a store cut short): what
    /// the secrets tell is kept (the kind of token from its prefix, git's
    /// `password_expiry_utc`, a refresh token); what only the forge knows
    /// (account, scopes, its own expiry) is unknown until it is asked.
    pub fn found(target: Target, username: String, secrets: &Secrets, now: DateTime<Utc>) -> Self {
        let facts = SecretFacts::of(secrets);
        let mut record = Self::new(target, username, facts.kind, now);
        record.expiry.git = facts.git_expiry;
        record.refreshable = facts.refreshable;
        record
    }

    /// A new secret took the old one's place: what was known about the old
    /// one (its use, warnings, erasure, expiries, what the forge said) no
    /// longer applies. Every field is named, so that a new one does not
    /// compile until someone decides whether it survives a new token.
    pub fn replace_secret(&mut self, facts: SecretFacts, now: DateTime<Utc>) {
        let Self {
            id: _,
            target: _,
            username: _,
            kind,
            stored_at,
            last_used_at,
            expiry,
            // Set by `rotate` after it replaces the secret; git's own
            // replacement keeps the date of the last rotation.
            rotated_at: _,
            last_warned_at,
            erased,
            account,
            token_name,
            scopes,
            probe,
            // Where the item is does not change with its secret; the
            // write that replaced it says when it does.
            keychain_item: _,
            refreshable,
            refresh_offered_at,
            expiry_hint_at,
        } = self;
        let SecretFacts {
            kind: new_kind,
            git_expiry,
            refreshable: renews,
        } = facts;
        *kind = new_kind;
        *stored_at = now;
        *last_used_at = None;
        *last_warned_at = None;
        *erased = None;
        *expiry = Expiries {
            git: git_expiry,
            ..Expiries::default()
        };
        *account = None;
        *token_name = None;
        *scopes = None;
        *probe = None;
        *refreshable = renews;
        *refresh_offered_at = None;
        *expiry_hint_at = None;
    }

    pub fn is_live(&self) -> bool {
        self.erased.is_none()
    }

    /// The moment that decides "most recently stored or used".
    pub fn recency(&self) -> DateTime<Utc> {
        self.last_used_at
            .map_or(self.stored_at, |used| used.max(self.stored_at))
    }

    pub fn same_credential(&self, target: &Target, username: &str) -> bool {
        self.target == *target && self.username == username
    }
}

/// What a record keeps of a credential's secrets (never the secrets
/// themselves): the kind of token, git's expiry, whether it renews itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretFacts {
    pub kind: TokenKind,
    pub git_expiry: Option<Expiry>,
    pub refreshable: bool,
}

impl SecretFacts {
    pub fn of(secrets: &Secrets) -> Self {
        let Secrets {
            password: _,
            oauth_refresh_token,
            auth: _,
            password_expiry_utc,
        } = secrets;
        Self {
            kind: TokenKind::of(secrets),
            git_expiry: password_expiry_utc
                .and_then(|at| DateTime::from_timestamp(at, 0))
                .map(Expiry::At),
            refreshable: oauth_refresh_token.is_some(),
        }
    }
}

/// Puts a record found in the keychain among `records`, unless a live one
/// already speaks for that credential; an erased one takes its place (one
/// record per credential). Says whether `records` changed.
pub fn add_found(records: &mut Vec<Record>, found: Record) -> bool {
    let same = |r: &Record| r.same_credential(&found.target, &found.username);
    if records.iter().any(|r| r.is_live() && same(r)) {
        return false;
    }
    match records.iter_mut().find(|r| same(r)) {
        Some(erased) => *erased = found,
        None => records.push(found),
    }
    true
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the id is still unique enough to key a record; it
    // only makes `state[]` values guessable, which costs nothing but an
    // extra keychain read.
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::https;

    fn at(text: &str) -> Option<Expiry> {
        Some(Expiry::At(text.parse().unwrap()))
    }

    #[test]
    fn the_forge_beats_a_person_who_beats_git() {
        let mut expiries = Expiries {
            git: at("2026-03-01T00:00:00Z"),
            ..Expiries::default()
        };
        assert_eq!(expiries.effective().unwrap().1, ExpirySource::Git);
        expiries.manual = Some(Expiry::Never);
        assert_eq!(
            expiries.effective(),
            Some((Expiry::Never, ExpirySource::Manual))
        );
        expiries.forge = at("2026-02-01T00:00:00Z");
        assert_eq!(
            expiries.effective(),
            Some((at("2026-02-01T00:00:00Z").unwrap(), ExpirySource::Forge))
        );
    }

    #[test]
    fn an_accepted_token_forgets_only_the_expiries_that_were_wrong() {
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut expiries = Expiries {
            forge: at("2026-05-01T00:00:00Z"),
            manual: Some(Expiry::Never),
            git: at("2026-07-01T00:00:00Z"),
        };
        assert!(expiries.forget_past(now));
        assert_eq!(expiries.forge, None);
        assert_eq!(expiries.manual, Some(Expiry::Never));
        assert_eq!(expiries.git, at("2026-07-01T00:00:00Z"));
        assert!(!expiries.forget_past(now));
    }

    #[test]
    fn a_found_record_keeps_what_the_secrets_tell() {
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let secrets = Secrets {
            password: Some(crate::credential::Secret::new("gho_TESTaccess")),
            oauth_refresh_token: Some(crate::credential::Secret::new("TESTrefresh")),
            auth: None,
            password_expiry_utc: Some(1_893_456_000),
        };
        let record = Record::found(https("github.com"), "alice".into(), &secrets, now);
        assert_eq!(record.kind, TokenKind::GithubOauth);
        assert_eq!(record.expiry.git, at("2030-01-01T00:00:00Z"));
        assert!(record.refreshable);
        assert_eq!(record.stored_at, now);
        let opaque = Secrets::token_only(crate::credential::Secret::new("TESTopaque"));
        let record = Record::found(https("github.com"), "bob".into(), &opaque, now);
        assert_eq!(
            (record.kind, record.expiry.effective(), record.refreshable),
            (TokenKind::Unknown, None, false)
        );
    }

    #[test]
    fn a_new_secret_forgets_what_was_known_about_the_old_one() {
        let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
        let mut record = Record::new(
            https("github.com"),
            "alice".into(),
            TokenKind::GithubOauth,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        );
        let id = record.id.clone();
        record.expiry.forge = at("2026-07-01T00:00:00Z");
        record.expiry.manual = Some(Expiry::Never);
        record.account = Some("alice".into());
        record.scopes = Some(vec!["repo".into()]);
        record.refreshable = true;
        record.refresh_offered_at = Some(now);
        record.last_warned_at = Some(now);
        record.rotated_at = Some(now);
        record.keychain_item = Some("/item/1".into());
        record.replace_secret(
            SecretFacts {
                kind: TokenKind::GithubClassic,
                git_expiry: at("2026-09-01T00:00:00Z"),
                refreshable: false,
            },
            now,
        );
        assert_eq!(record.kind, TokenKind::GithubClassic);
        assert_eq!(
            record.expiry,
            Expiries {
                git: at("2026-09-01T00:00:00Z"),
                ..Expiries::default()
            }
        );
        assert_eq!((record.account, record.scopes), (None, None));
        assert!(!record.refreshable);
        assert_eq!(record.refresh_offered_at, None);
        assert_eq!(record.last_warned_at, None);
        assert_eq!(record.stored_at, now);
        // What belongs to the credential, not to its secret, stays.
        assert_eq!(record.id, id);
        assert_eq!(record.rotated_at, Some(now));
        assert_eq!(record.keychain_item.as_deref(), Some("/item/1"));
    }

    #[test]
    fn a_found_record_never_doubles_a_live_one_and_takes_an_erased_ones_place() {
        let now = "2026-06-01T00:00:00Z".parse().unwrap();
        let found = || {
            Record::new(
                https("github.com"),
                "alice".into(),
                TokenKind::GithubClassic,
                now,
            )
        };
        let mut records = vec![Record::new(
            https("github.com"),
            "alice".into(),
            TokenKind::Unknown,
            now,
        )];
        assert!(!add_found(&mut records, found()));
        assert_eq!(records[0].kind, TokenKind::Unknown, "the live one stays");
        records[0].erased = Some(Erasure {
            at: now,
            by: ErasedBy::Git,
        });
        assert!(add_found(&mut records, found()));
        assert_eq!(records.len(), 1);
        assert!(records[0].is_live());
        assert_eq!(records[0].kind, TokenKind::GithubClassic);
        let mut bob = found();
        bob.username = "bob".into();
        assert!(add_found(&mut records, bob));
        assert_eq!(records.len(), 2);
    }
}
