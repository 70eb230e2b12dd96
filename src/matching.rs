//! Which stored credential answers a request, by git's rules, and how to
//! recognise it when git hands it back: the matching of records, the
//! `state[]` fingerprint, and the lookups of `get` and `erase` over a
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

/// Where `get` found the credential it answers with.
#[derive(Debug)]
pub struct Located<'r> {
    /// The record, when the index knew the credential.
    pub record: Option<&'r Record>,
    /// Where the item is, when that is not where the record said.
    pub moved: Option<String>,
    pub username: String,
    pub secrets: Secrets,
}

/// `get`'s lookup: the matching records, most recent first, each read at
/// the item its record remembers (a hint the store checks); the first one
/// with something git can use answers. Only when the index cannot speak for
/// every credential (lost, or this host's shard damaged) does the keychain
/// alone answer, from the accounts it holds for this exact URL.
pub fn locate<'r>(
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

/// The decisions of `get`, `store` and `erase`, case by case, over the
/// in-memory store: what they find, what `get` answers, what `store` sees.
#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::answer::{self, Change};
    use crate::credential::{Secret, TokenKind};
    use crate::expiry;
    use crate::keychain::memory::Memory;
    use crate::record::Expiry;
    use crate::testing::{https, now};

    /// Where every credential of these tests is stored.
    fn target() -> Target {
        https("example.com")
    }

    fn password(token: &str, expiry: Option<i64>) -> Secrets {
        Secrets {
            password: Some(Secret::new(token)),
            oauth_refresh_token: None,
            auth: None,
            password_expiry_utc: expiry,
        }
    }

    fn record(user: &str) -> Record {
        Record::new(
            target(),
            user.into(),
            TokenKind::GithubClassic,
            now() - TimeDelta::days(10),
        )
    }

    /// A store holding `secrets` for alice, and the record the index has
    /// for it, at the item where the store put it.
    fn stored(memory: &Memory, secrets: &Secrets) -> Record {
        let key = Key::new(target(), "alice");
        let mut record = record("alice");
        record.keychain_item = memory.set(&key, secrets).unwrap();
        record
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
        let a = password("ghp_TESTa", None);
        let print = fingerprint(&alice, &a);
        assert_eq!(print, fingerprint(&alice, &a.clone()), "stable");
        assert_eq!(print.len(), 32);
        assert!(print.bytes().all(|b| b.is_ascii_hexdigit()), "{print}");
        assert_ne!(print, fingerprint(&alice, &password("ghp_TESTb", None)));
        assert_ne!(
            print,
            fingerprint(&alice, &password("ghp_TESTa", Some(1_900_000_000)))
        );
        // Another record (a new id) for the same token: not git handing
        // back what `get` gave it.
        assert_ne!(print, fingerprint(&record("alice"), &a));
    }

    #[test]
    fn get_decides_case_by_case() {
        let cases = [
            Case {
                what: "a hit at the remembered item",
                given: |m| (vec![stored(m, &password("ghp_TESTa", None))], true),
                wants_authtype: false,
                password: Some("ghp_TESTa"),
                from_record: true,
                moved: false,
                dead: false,
            },
            Case {
                what: "a definite miss: the index is complete, the keychain is not asked",
                given: |m| {
                    stored(m, &password("ghp_TESTa", None));
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
                    stored(m, &password("ghp_TESTa", None));
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
                    let record = stored(m, &password("ghp_TESTa", None));
                    m.move_item(&Key::new(target(), "alice"));
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
                    (vec![stored(m, &bearer)], true)
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
                    let mut record = stored(m, &password("ghp_TESTa", Some(1_900_000_000)));
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
                    let mut secrets = password("gho_TESTaccess", None);
                    secrets.oauth_refresh_token = Some(Secret::new("TESTrefresh"));
                    secrets.password_expiry_utc = Some((now() - TimeDelta::hours(1)).timestamp());
                    let mut record = stored(m, &secrets);
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
                &target(),
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
            let answer = answer::decide(located.record, located.secrets, now());
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
                let status = expiry::assess(
                    located.record.unwrap(),
                    &crate::config::Policy::default(),
                    now(),
                )
                .status;
                assert_eq!(status, expiry::Status::SelfRenewing, "{}", case.what);
            }
        }
    }

    #[test]
    fn store_recognises_the_same_token_and_corrects_a_wrong_record() {
        let memory = Memory::default();
        let given = password("ghp_TESTa", None);
        let mut record = stored(&memory, &given);
        record.expiry.manual = Some(Expiry::At(now() - TimeDelta::days(1)));
        let held = memory
            .find(&Key::new(target(), "alice"), None)
            .unwrap()
            .unwrap()
            .secrets;
        // Git stores, after the server accepted it, the token patrol held
        // as dead: the same token, so the record (not the token) was wrong.
        assert_eq!(
            answer::compare(Some(&record), &held, &given),
            Change::Unchanged
        );
        assert!(expiry::known_dead(&record, now()));
        assert!(record.expiry.forget_past(now()));
        assert!(!expiry::known_dead(&record, now()));
        // The expiry `get` told git, handed back, is no change either.
        let mut told = record.clone();
        told.expiry.forge = Some(Expiry::At(now() + TimeDelta::days(30)));
        let mut echoed = given.clone();
        echoed.password_expiry_utc = Some((now() + TimeDelta::days(30)).timestamp());
        assert_eq!(
            answer::compare(Some(&told), &held, &echoed),
            Change::Unchanged
        );
        // A new refresh token for the same access token is kept.
        let mut refreshed = given.clone();
        refreshed.oauth_refresh_token = Some(Secret::new("TESTrefresh2"));
        assert_eq!(
            answer::compare(Some(&record), &held, &refreshed),
            Change::NewExpiry
        );
        assert_eq!(
            answer::compare(Some(&record), &held, &password("ghp_TESTb", None)),
            Change::NewToken
        );
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
                records: |m| vec![stored(m, &password("ghp_TESTa", None))],
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
                    let mut record = stored(m, &password("ghp_TESTa", None));
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
                records: |m| vec![stored(m, &password("ghp_TESTa", None))],
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
                    let record = stored(m, &password("ghp_TESTa", None));
                    m.delete(&Key::new(target(), "alice")).unwrap();
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
            for (user, token) in [("alice", "ghp_TESTa"), ("bob", "ghp_TESTb")] {
                memory
                    .set(&Key::new(target(), user), &password(token, None))
                    .unwrap();
            }
            let records = (case.records)(&memory);
            let mut erased: Vec<String> = to_erase(
                &records,
                case.speaks,
                &target(),
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
                &target(),
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

    #[test]
    fn erase_takes_only_the_named_secret_and_finds_accounts_without_the_index() {
        let memory = Memory::default();
        let alice = stored(&memory, &password("ghp_TESTa", None));
        memory
            .set(&Key::new(target(), "bob"), &password("ghp_TESTb", None))
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
        let alice = stored(&memory, &password("ghp_TESTa", None));
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
