//! Windows Credential Manager, with room for long secrets and with each
//! item's account read back from its name.
//!
//! Credential Manager keeps at most 2,560 bytes in one credential
//! (`CRED_MAX_CREDENTIAL_BLOB_SIZE`), and an OAuth access token can be a JWT
//! of several kilobytes. This store wraps keyring-core's Windows store and
//! splits a longer secret across items instead of refusing or truncating it:
//! the item `ACCOUNT.SERVICE` then holds only a header (the number of parts
//! and the SHA-256 of the whole secret) and the parts are the items
//! `ACCOUNT.SERVICE (part N)`. Parts are written before the header and
//! removed after it, so a reader never sees a header whose parts are not
//! there yet; one that sees parts of another writer's secret finds that the
//! digest differs and says so instead of returning a mixture.
//!
//! Searching Credential Manager gives target names, which keyring-core's
//! Windows store splits at the last `.`: for `alice.git-credential-patrol:
//! https://github.com` that is inside the host. This store is searched by
//! service and takes the account as what precedes `.SERVICE`.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::api::{Credential, CredentialApi, CredentialStoreApi};
use keyring_core::{CredentialStore, Entry, Error, Result};
use sha2::{Digest, Sha256};

/// What Credential Manager keeps in one credential, in bytes.
pub const ITEM_LIMIT: usize = 2560;

/// Starts a header. A secret that starts with it is always split, so that a
/// header is never mistaken for a secret or the other way round.
const HEADER: &[u8] = b"\0git-credential-patrol split secret:";

/// Credential Manager, or in unit tests any keyring-core store, with secrets
/// longer than `limit` bytes split across items.
pub struct Store {
    inner: Arc<CredentialStore>,
    limit: usize,
    /// The inner store is keyring-core's Windows store, searched by target
    /// name (`false` for the mock store of the unit tests).
    target_names: bool,
}

impl Store {
    pub fn new(inner: Arc<CredentialStore>, limit: usize, target_names: bool) -> Arc<Self> {
        Arc::new(Self {
            inner,
            limit,
            target_names,
        })
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("windows::Store")
            .field("inner", &self.inner)
            .field("limit", &self.limit)
            .field("target_names", &self.target_names)
            .finish()
    }
}

impl CredentialStoreApi for Store {
    fn vendor(&self) -> String {
        format!("{} (long secrets split)", self.inner.vendor())
    }

    fn id(&self) -> String {
        self.inner.id()
    }

    fn build(
        &self,
        service: &str,
        user: &str,
        modifiers: Option<&HashMap<&str, &str>>,
    ) -> Result<Entry> {
        // Built once here so that a name the store refuses is refused now.
        self.inner.build(service, user, modifiers)?;
        Ok(self.entry(service, user))
    }

    /// `{"service": SERVICE}`: every item of that service, whatever its
    /// account; `{"service_prefix": PREFIX}`: every item whose service
    /// starts with PREFIX. Never the parts of split secrets.
    fn search(&self, spec: &HashMap<&str, &str>) -> Result<Vec<Entry>> {
        let wanted = match (spec.get("service"), spec.get("service_prefix")) {
            (Some(service), None) => Wanted::Service(service),
            (None, Some(prefix)) => Wanted::Prefix(prefix),
            _ => {
                return Err(Error::NotSupportedByStore(
                    "searches name a service or a service prefix".into(),
                ));
            }
        };
        let spec = self.inner_spec(&wanted);
        let spec = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut found: Vec<(String, String)> = self
            .inner
            .search(&spec)?
            .iter()
            .filter_map(|entry| self.specifiers_of(entry, &wanted))
            .filter(|(service, _)| !is_part(service))
            .collect();
        found.sort();
        found.dedup();
        Ok(found
            .iter()
            .map(|(service, user)| self.entry(service, user))
            .collect())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl Store {
    fn entry(&self, service: &str, user: &str) -> Entry {
        Entry::new_with_credential(Arc::new(Split {
            inner: Arc::clone(&self.inner),
            limit: self.limit,
            service: service.to_owned(),
            user: user.to_owned(),
        }))
    }
}

/// What a search asks for.
enum Wanted<'a> {
    Service(&'a str),
    Prefix(&'a str),
}

impl Store {
    /// The inner search: Credential Manager matches a pattern over target
    /// names (`ACCOUNT.SERVICE`), other stores a service (the mock store of
    /// the unit tests, by substring).
    fn inner_spec(&self, wanted: &Wanted) -> HashMap<&'static str, String> {
        match (self.target_names, wanted) {
            (true, Wanted::Service(service)) => {
                HashMap::from([("pattern", format!("^.*{}$", escape_regex(service)))])
            }
            (true, Wanted::Prefix(prefix)) => {
                HashMap::from([("pattern", format!("\\.{}", escape_regex(prefix)))])
            }
            (false, Wanted::Service(text) | Wanted::Prefix(text)) => {
                HashMap::from([("service", (*text).to_owned())])
            }
        }
    }

    /// The service and account of an item the inner store found, or `None`
    /// for one that is not what was asked for. In Credential Manager they
    /// come from the target name, an attribute read from it (keyring-core's
    /// Windows store keeps its own field private and splits the name at its
    /// last `.`, which is inside the host).
    fn specifiers_of(&self, entry: &Entry, wanted: &Wanted) -> Option<(String, String)> {
        let (service, user) = if self.target_names {
            let target_name = entry.get_attributes().ok()?.remove("target_name")?;
            let (user, service) = match wanted {
                Wanted::Service(service) => (account_in(&target_name, service)?, *service),
                Wanted::Prefix(prefix) => {
                    let at = target_name.find(&format!(".{prefix}"))?;
                    (&target_name[..at], &target_name[at + 1..])
                }
            };
            (service.to_owned(), user.to_owned())
        } else {
            entry.get_specifiers()?
        };
        let matches = match wanted {
            Wanted::Service(wanted) => service == *wanted,
            Wanted::Prefix(prefix) => service.starts_with(prefix),
        };
        matches.then_some((service, user))
    }
}

/// Whether `service` names a part of a split secret: `SERVICE (part N)`.
fn is_part(service: &str) -> bool {
    service
        .strip_suffix(')')
        .and_then(|rest| rest.rsplit_once(" (part "))
        .is_some_and(|(_, number)| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

/// keyring-core's Windows store names an item `ACCOUNT.SERVICE`.
fn account_in<'a>(target_name: &'a str, service: &str) -> Option<&'a str> {
    target_name.strip_suffix(service)?.strip_suffix('.')
}

fn escape_regex(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect()
}

/// One credential, in one item or split across several.
#[derive(Debug)]
struct Split {
    inner: Arc<CredentialStore>,
    limit: usize,
    service: String,
    user: String,
}

impl Split {
    fn head(&self) -> Result<Entry> {
        self.inner.build(&self.service, &self.user, None)
    }

    fn part(&self, number: usize) -> Result<Entry> {
        self.inner.build(
            &format!("{} (part {number})", self.service),
            &self.user,
            None,
        )
    }

    /// How many parts the stored secret has (0: it is not split), or `None`
    /// when there is no secret.
    fn stored_parts(&self) -> Result<Option<usize>> {
        match self.head()?.get_secret() {
            Ok(head) => Ok(Some(parse_header(&head).map_or(0, |(parts, _)| parts))),
            Err(Error::NoEntry) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Deletes parts `from..=to`, those that are there.
    fn delete_parts(&self, from: usize, to: usize) -> Result<()> {
        for number in from..=to {
            match self.part(number)?.delete_credential() {
                Ok(()) | Err(Error::NoEntry) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }
}

impl CredentialApi for Split {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        let old_parts = self.stored_parts()?.unwrap_or(0);
        if secret.len() <= self.limit && !secret.starts_with(HEADER) {
            self.head()?.set_secret(secret)?;
            return self.delete_parts(1, old_parts);
        }
        let chunks: Vec<&[u8]> = secret.chunks(self.limit).collect();
        for (index, chunk) in chunks.iter().enumerate() {
            self.part(index + 1)?.set_secret(chunk)?;
        }
        self.head()?.set_secret(&header(chunks.len(), secret))?;
        self.delete_parts(chunks.len() + 1, old_parts)
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        let head = self.head()?.get_secret()?;
        let Some((parts, digest)) = parse_header(&head) else {
            return Ok(head);
        };
        let mut secret = zeroize::Zeroizing::new(Vec::new());
        for number in 1..=parts {
            let part = zeroize::Zeroizing::new(match self.part(number)?.get_secret() {
                Err(Error::NoEntry) => return Err(torn()),
                other => other?,
            });
            secret.extend_from_slice(&part);
        }
        if hex(&Sha256::digest(&*secret)) != digest {
            return Err(torn());
        }
        Ok(secret.to_vec())
    }

    fn delete_credential(&self) -> Result<()> {
        let parts = self.stored_parts()?;
        self.head()?.delete_credential()?;
        self.delete_parts(1, parts.unwrap_or(0))
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        self.head()?.get_secret()?;
        Ok(None)
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some((self.service.clone(), self.user.clone()))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn torn() -> Error {
    Error::BadStoreFormat(
        "the parts of a long secret do not match its first item (another process was \
         writing it, or an item was changed by hand); store the credential again"
            .into(),
    )
}

fn header(parts: usize, secret: &[u8]) -> Vec<u8> {
    let mut header = HEADER.to_vec();
    header.extend_from_slice(format!("{parts}:{}", hex(&Sha256::digest(secret))).as_bytes());
    header
}

/// The number of parts and the digest a header names, or `None` for a
/// secret kept whole.
fn parse_header(head: &[u8]) -> Option<(usize, String)> {
    let rest = std::str::from_utf8(head.strip_prefix(HEADER)?).ok()?;
    let (parts, digest) = rest.split_once(':')?;
    Some((parts.parse().ok()?, digest.to_owned()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(limit: usize) -> Arc<Store> {
        Store::new(keyring_core::mock::Store::new().unwrap(), limit, false)
    }

    fn items(store: &Store, service: &str, user: &str) -> Vec<Vec<u8>> {
        (0..10)
            .filter_map(|number| {
                let service = match number {
                    0 => service.to_owned(),
                    n => format!("{service} (part {n})"),
                };
                store
                    .inner
                    .build(&service, user, None)
                    .unwrap()
                    .get_secret()
                    .ok()
            })
            .collect()
    }

    #[test]
    fn a_secret_within_the_limit_is_one_item_as_it_is() {
        let store = store(16);
        let entry = store.build("svc", "alice", None).unwrap();
        entry.set_secret(b"sixteen bytes ok").unwrap();
        assert_eq!(entry.get_secret().unwrap(), b"sixteen bytes ok");
        assert_eq!(
            items(&store, "svc", "alice"),
            [b"sixteen bytes ok".to_vec()]
        );
    }

    #[test]
    fn a_long_secret_is_split_and_read_back_whole() {
        let store = store(ITEM_LIMIT);
        let secret: Vec<u8> = (0..4096u32).map(|i| b'a' + (i % 26) as u8).collect();
        let entry = store.build("svc", "alice", None).unwrap();
        entry.set_secret(&secret).unwrap();
        assert_eq!(entry.get_secret().unwrap(), secret);
        let stored = items(&store, "svc", "alice");
        assert_eq!(stored.len(), 3, "a header and two parts");
        assert!(stored.iter().all(|item| item.len() <= ITEM_LIMIT));
        assert_eq!([&stored[1][..], &stored[2][..]].concat(), secret);
    }

    #[test]
    fn shorter_secrets_remove_the_parts_they_no_longer_need() {
        let store = store(4);
        let entry = store.build("svc", "alice", None).unwrap();
        entry.set_secret(b"0123456789").unwrap();
        assert_eq!(items(&store, "svc", "alice").len(), 4);
        entry.set_secret(b"01234").unwrap();
        assert_eq!(entry.get_secret().unwrap(), b"01234");
        assert_eq!(items(&store, "svc", "alice").len(), 3);
        entry.set_secret(b"0").unwrap();
        assert_eq!(items(&store, "svc", "alice"), [b"0".to_vec()]);
        entry.set_secret(b"0123456789").unwrap();
        entry.delete_credential().unwrap();
        assert!(items(&store, "svc", "alice").is_empty());
        assert!(matches!(entry.get_secret(), Err(Error::NoEntry)));
        assert!(matches!(entry.delete_credential(), Err(Error::NoEntry)));
    }

    #[test]
    fn a_secret_that_looks_like_a_header_is_kept_as_it_is() {
        let store = store(2560);
        let mut secret = HEADER.to_vec();
        secret.extend_from_slice(b"1:00");
        let entry = store.build("svc", "alice", None).unwrap();
        entry.set_secret(&secret).unwrap();
        assert_eq!(entry.get_secret().unwrap(), secret);
    }

    #[test]
    fn parts_of_another_secret_are_refused_not_mixed() {
        let store = store(4);
        let entry = store.build("svc", "alice", None).unwrap();
        entry.set_secret(b"aaaabbbb").unwrap();
        // Another writer's part, between our parts and our header.
        store
            .inner
            .build("svc (part 2)", "alice", None)
            .unwrap()
            .set_secret(b"cccc")
            .unwrap();
        let err = entry.get_secret().unwrap_err().to_string();
        assert!(err.contains("store the credential again"), "{err}");
        assert!(!err.contains("cccc") && !err.contains("aaaa"), "{err}");
        store
            .inner
            .build("svc (part 2)", "alice", None)
            .unwrap()
            .delete_credential()
            .unwrap();
        assert!(
            entry
                .get_secret()
                .unwrap_err()
                .to_string()
                .contains("again")
        );
    }

    #[test]
    fn a_search_finds_accounts_not_parts_or_other_services() {
        let store = store(4);
        for (service, user) in [("svc", "alice"), ("svc", "bob"), ("svc/longer", "eve")] {
            let entry = store.build(service, user, None).unwrap();
            entry.set_secret(b"long enough to split").unwrap();
        }
        let found: Vec<_> = store
            .search(&HashMap::from([("service", "svc")]))
            .unwrap()
            .iter()
            .filter_map(Entry::get_specifiers)
            .collect();
        assert_eq!(
            found,
            [
                ("svc".to_owned(), "alice".to_owned()),
                ("svc".to_owned(), "bob".to_owned())
            ]
        );
        let entry = &store.search(&HashMap::from([("service", "svc")])).unwrap()[0];
        assert_eq!(entry.get_secret().unwrap(), b"long enough to split");
    }

    #[test]
    fn a_search_by_prefix_finds_every_account_of_every_service() {
        let store = store(4);
        for (service, user) in [("pre:a", "alice"), ("pre:b", "bob"), ("other", "eve")] {
            let entry = store.build(service, user, None).unwrap();
            entry.set_secret(b"long enough to split").unwrap();
        }
        let found: Vec<_> = store
            .search(&HashMap::from([("service_prefix", "pre:")]))
            .unwrap()
            .iter()
            .filter_map(Entry::get_specifiers)
            .collect();
        assert_eq!(
            found,
            [
                ("pre:a".to_owned(), "alice".to_owned()),
                ("pre:b".to_owned(), "bob".to_owned())
            ]
        );
        assert!(store.search(&HashMap::new()).is_err());
    }

    #[test]
    fn parts_are_told_from_services() {
        assert!(is_part("git-credential-patrol:https://h (part 1)"));
        assert!(is_part("git-credential-patrol:https://h (part 12)"));
        assert!(!is_part("git-credential-patrol:https://h"));
        assert!(!is_part("git-credential-patrol:https://h (part )"));
        assert!(!is_part("git-credential-patrol:https://h (part x)"));
    }

    #[test]
    fn an_account_is_what_precedes_the_service_in_a_target_name() {
        let service = "git-credential-patrol:https://github.com";
        assert_eq!(
            account_in("alice.git-credential-patrol:https://github.com", service),
            Some("alice")
        );
        assert_eq!(
            account_in("a.b@c.git-credential-patrol:https://github.com", service),
            Some("a.b@c")
        );
        assert_eq!(
            account_in(".git-credential-patrol:https://github.com", service),
            Some("")
        );
        assert_eq!(
            account_in(
                "alice.git-credential-patrol:https://github.com (part 1)",
                service
            ),
            None
        );
        assert_eq!(
            account_in("alice.xgit-credential-patrol:https://github.com", service),
            None
        );
    }

    #[test]
    fn regex_escaping_keeps_urls_literal() {
        assert_eq!(escape_regex("a.b:c/d"), "a\\.b:c/d");
    }
}
