//! Which stored credentials a request names, by git's rules, and how to
//! recognise one when git hands it back: the matching of records (for
//! `get`, `erase` and a URL typed by a person), the `state[]` fingerprint
//! (`get` and `store`), the keychain's own accounts for a URL (when the
//! index cannot speak for every credential), and `erase`'s choice over a
//! `SecretStore`, apart from any command's I/O so that a table of cases
//! tests them with the in-memory store.

use sha2::{Digest, Sha256};

use crate::credential::{Secrets, Target, field_matches};
use crate::keychain::{Key, KeychainError, SecretStore};
use crate::record::Record;

/// The value of our `state[]`: it tells a later `store` that git is handing
/// back exactly what `get` gave it, so nothing needs writing. It is keyed by
/// the record's random id, never persisted, and reveals nothing of the secret.
pub fn fingerprint(record: &Record, secrets: &Secrets) -> String {
    let mut hash = Sha256::new();
    hash.update(record.id.as_bytes());
    hash.update([0]);
    hash.update(secrets.encode().as_bytes());
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a request names, for matching by git's rules.
pub struct Wanted<'a> {
    pub protocol: &'a str,
    pub host: &'a str,
    pub path: Option<&'a str>,
    pub username: Option<&'a str>,
}

impl<'a> Wanted<'a> {
    /// A request for `target`, by `username` when one is given.
    pub fn new(target: &'a Target, username: Option<&'a str>) -> Self {
        Self {
            protocol: &target.protocol,
            host: &target.host,
            path: target.path.as_deref(),
            username,
        }
    }

    pub fn matches(&self, record: &Record) -> bool {
        record.target.protocol == self.protocol
            && record.target.host == self.host
            && field_matches(self.path, record.target.path.as_deref())
            && field_matches(self.username, Some(&record.username))
    }
}

/// Live records that match, most recently stored or used first.
pub fn matching<'r>(records: &'r [Record], wanted: &Wanted) -> Vec<&'r Record> {
    matching_record(records, |r| wanted.matches(r))
}

/// Live records for which `matches` holds, most recently stored or used first.
pub fn matching_record(records: &[Record], matches: impl Fn(&Record) -> bool) -> Vec<&Record> {
    let mut found: Vec<&Record> = records
        .iter()
        .filter(|r| r.is_live() && matches(r))
        .collect();
    found.sort_by_key(|r| std::cmp::Reverse(r.recency()));
    found
}

/// Without a usable index, the accounts to try for `target`: the one the
/// request names, else every one the keychain holds for that exact URL.
pub fn keychain_accounts(
    keychain: &dyn SecretStore,
    target: &Target,
    username: Option<&str>,
) -> Result<Vec<String>, KeychainError> {
    match username {
        Some(user) => Ok(vec![user.to_owned()]),
        None => keychain.accounts(target),
    }
}

/// The secret an erase request names, if any: git's rule is that only a
/// stored credential with that same secret is erased.
pub struct NamedSecret<'a> {
    pub password: Option<&'a crate::credential::Secret>,
    pub credential: Option<&'a crate::credential::Secret>,
}

/// `erase`'s choice: the credentials matching the request (the index's
/// records; and every account the keychain holds for the exact URL when
/// the index does not speak for every credential of the host, as `get`
/// would ask it, or has no match) whose stored secret is the one the
/// request names, when it names one. So `erase` takes whatever `get` could
/// have answered with. A miss in a complete index still searches, unlike
/// `get`'s: git erases rarely, after a server refused a credential, and an
/// index that lags the keychain must never leave a refused token for the
/// next `get` (docs/architecture.md). A keychain that cannot list its
/// accounts does not keep the index's credentials from being erased.
pub fn to_erase(
    records: &[Record],
    index_speaks_for_all: bool,
    target: &Target,
    username: Option<&str>,
    named: &NamedSecret,
    store: &dyn SecretStore,
) -> Result<ToErase, KeychainError> {
    let mut keys: Vec<Key> = matching(records, &Wanted::new(target, username))
        .into_iter()
        .map(|r| Key::new(r.target.clone(), r.username.clone()))
        .collect();
    let mut unlisted = None;
    if !index_speaks_for_all || keys.is_empty() {
        match keychain_accounts(store, target, username) {
            Ok(users) => {
                for user in users {
                    let key = Key::new(target.clone(), user);
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
            Err(err) if !keys.is_empty() => unlisted = Some(err),
            Err(err) => return Err(err),
        }
    }
    if named.password.is_none() && named.credential.is_none() {
        return Ok(ToErase { keys, unlisted });
    }
    let mut chosen = Vec::new();
    for key in keys {
        let stored = store
            .find(&key, None)?
            .map(|found| found.secrets)
            .unwrap_or_default();
        let Secrets {
            password,
            oauth_refresh_token: _,
            auth,
            password_expiry_utc: _,
        } = &stored;
        let differs = |given: Option<&crate::credential::Secret>, stored| {
            given.is_some_and(|given| Some(given) != stored)
        };
        if !differs(named.password, password.as_ref())
            && !differs(named.credential, auth.as_ref().map(|(_, c)| c))
        {
            chosen.push(key);
        }
    }
    Ok(ToErase {
        keys: chosen,
        unlisted,
    })
}

/// What `erase` removes, and why the keychain's own accounts could not be
/// added to it, when they could not.
#[derive(Debug)]
pub struct ToErase {
    pub keys: Vec<Key>,
    pub unlisted: Option<KeychainError>,
}

/// The matching rules, the fingerprint, and `erase`'s choice, case by
/// case, over the in-memory store.
#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::credential::Secret;
    use crate::keychain::memory::Memory;
    use crate::testing::{https, keep, now, stored_record, token};

    /// Where every credential of these tests is stored.
    fn target() -> Target {
        https("example.com")
    }

    fn record(user: &str) -> Record {
        stored_record(target(), user, 10)
    }

    /// A store holding `secrets` for alice, and the record the index has
    /// for it, at the item where the store put it.
    fn stored(memory: &Memory, secrets: &Secrets) -> Record {
        keep(memory, record("alice"), secrets)
    }

    #[test]
    fn a_request_matches_by_git_rules_field_by_field() {
        let mut stored = record("alice");
        stored.target.path = Some("org/repo.git".into());
        let matches = |protocol: &str, host: &str, path: Option<&str>, username| {
            let target = Target {
                protocol: String::from(protocol),
                host: String::from(host),
                path: path.map(String::from),
            };
            Wanted::new(&target, username).matches(&stored)
        };
        // What the request leaves out matches anything.
        assert!(matches("https", "example.com", None, None));
        assert!(matches(
            "https",
            "example.com",
            Some("org/repo.git"),
            Some("alice")
        ));
        // What it gives must be equal, each field on its own.
        assert!(!matches("http", "example.com", None, None), "protocol");
        assert!(!matches("https", "example.org", None, None), "host");
        assert!(
            !matches("https", "example.com", Some("org/other.git"), None),
            "path"
        );
        assert!(
            !matches("https", "example.com", None, Some("bob")),
            "username"
        );
    }

    #[test]
    fn the_most_recent_live_record_comes_first() {
        let mut old = record("alice");
        old.stored_at = now() - TimeDelta::days(20);
        let mut used = record("bob");
        used.stored_at = now() - TimeDelta::days(30);
        used.last_used_at = Some(now() - TimeDelta::days(1));
        let mut erased = record("carol");
        erased.stored_at = now();
        erased.erased = Some(crate::record::Erasure {
            at: now(),
            by: crate::record::ErasedBy::Git,
        });
        let records = [old, erased, used];
        let found: Vec<&str> = matching(&records, &Wanted::new(&target(), None))
            .iter()
            .map(|r| r.username.as_str())
            .collect();
        assert_eq!(found, ["bob", "alice"]);
    }

    #[test]
    fn the_fingerprint_changes_with_the_secret_and_the_record() {
        let alice = record("alice");
        let a = token("ghp_TESTa", None);
        let print = fingerprint(&alice, &a);
        assert_eq!(print, fingerprint(&alice, &a.clone()), "stable");
        assert_eq!(print.len(), 32);
        assert!(print.bytes().all(|b| b.is_ascii_hexdigit()), "{print}");
        assert_ne!(print, fingerprint(&alice, &token("ghp_TESTb", None)));
        assert_ne!(
            print,
            fingerprint(&alice, &token("ghp_TESTa", Some(1_900_000_000)))
        );
        // Another record (a new id) for the same token: not git handing
        // back what `get` gave it.
        assert_ne!(print, fingerprint(&record("alice"), &a));
    }

    #[test]
    fn erase_takes_only_the_named_secret_and_finds_accounts_without_the_index() {
        let memory = Memory::default();
        let alice = stored(&memory, &token("ghp_TESTa", None));
        memory
            .set(&Key::new(target(), "bob"), &token("ghp_TESTb", None))
            .unwrap();
        let none = NamedSecret {
            password: None,
            credential: None,
        };
        let keys = to_erase(
            std::slice::from_ref(&alice),
            true,
            &target(),
            None,
            &none,
            &memory,
        )
        .unwrap()
        .keys;
        assert_eq!(keys, [Key::new(target(), "alice")], "the index speaks");
        let mut keys = to_erase(&[], false, &target(), None, &none, &memory)
            .unwrap()
            .keys;
        keys.sort_by(|a, b| a.username.cmp(&b.username));
        assert_eq!(
            keys,
            [Key::new(target(), "alice"), Key::new(target(), "bob")],
            "the keychain speaks"
        );
        // A damaged index that still knows alice does not hide bob.
        let mut keys = to_erase(
            std::slice::from_ref(&alice),
            false,
            &target(),
            None,
            &none,
            &memory,
        )
        .unwrap()
        .keys;
        keys.sort_by(|a, b| a.username.cmp(&b.username));
        assert_eq!(
            keys,
            [Key::new(target(), "alice"), Key::new(target(), "bob")],
            "the index and the keychain speak"
        );
        let other = Secret::new("ghp_TESTother");
        let named = NamedSecret {
            password: Some(&other),
            credential: None,
        };
        assert!(
            to_erase(&[alice], true, &target(), None, &named, &memory)
                .unwrap()
                .keys
                .is_empty()
        );
        // An `authtype` credential is erased only when git names that one.
        let dave = Key::new(target(), "dave");
        memory
            .set(
                &dave,
                &Secrets {
                    password: None,
                    oauth_refresh_token: None,
                    auth: Some(("Bearer".into(), Secret::new("TESTbearer"))),
                    password_expiry_utc: None,
                },
            )
            .unwrap();
        let erase_named = |credential: &str| {
            let credential = Secret::new(credential);
            let named = NamedSecret {
                password: None,
                credential: Some(&credential),
            };
            to_erase(&[], false, &target(), Some("dave"), &named, &memory)
                .unwrap()
                .keys
        };
        assert_eq!(erase_named("TESTbearer"), [dave]);
        assert!(erase_named("TESTother").is_empty());
    }

    /// A keychain that cannot list its accounts (a listing that fails or
    /// times out) still has the index's credentials erased, and says so;
    /// with nothing in the index to erase, the failure is the answer.
    #[test]
    fn erase_removes_what_the_index_names_when_the_keychain_cannot_list() {
        let memory = Memory::default();
        let alice = stored(&memory, &token("ghp_TESTa", None));
        memory.refuse_listing();
        let none = NamedSecret {
            password: None,
            credential: None,
        };
        let chosen = to_erase(
            std::slice::from_ref(&alice),
            false,
            &target(),
            None,
            &none,
            &memory,
        )
        .unwrap();
        assert_eq!(chosen.keys, [Key::new(target(), "alice")]);
        assert!(chosen.unlisted.is_some());
        assert!(to_erase(&[], true, &target(), None, &none, &memory).is_err());
    }
}
