//! The OS keychain, the only place a secret is kept.
//!
//! Everything goes through keyring-core's `Entry` API, over the store that
//! `platform` picks for this OS and configuration. Every call runs on a worker
//! thread and is abandoned after a timeout: a keyring waiting on an unlock
//! prompt would otherwise hold git for 25 seconds, and a provider that owns
//! its bus name but never answers would hold it forever.
//!
//! One keychain item per credential: service `git-credential-patrol:URL`,
//! user the account name (possibly empty), secret `Secrets::encode`.
//!
//! Where a store names its items (the Secret Service's D-Bus object paths),
//! `find` and `set` say where the item is, and `find` takes that back as a
//! hint: the index keeps it, so that `get` reads the item directly instead
//! of searching a keyring that may hold thousands.

mod fixes;
#[cfg(test)]
pub mod memory;
mod platform;
/// Public for the fuzz target of its `wire` (`fuzz/fuzz_targets/dbus_message.rs`).
#[cfg(target_os = "linux")]
pub mod secret_service;
#[cfg(any(windows, test))]
mod windows;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};

use crate::credential::{Secrets, Target};

pub use fixes::LASTING_KEYRING;
pub use platform::Backend;

/// Who answers for the keychain, and the traps a person should know of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provider {
    pub name: String,
    pub notes: Vec<&'static str>,
}

const SERVICE_PREFIX: &str = "git-credential-patrol:";
/// Items read in one call by a rebuild: one reply of about 200 KB.
const READ_TOGETHER: usize = 1000;

#[derive(Debug)]
pub enum KeychainError {
    Unavailable {
        cause: String,
        fix: String,
    },
    /// `what` is locked: "the keychain", or the provider's own name for it.
    Locked {
        what: String,
        fix: String,
    },
    /// No answer in time; `provider` names who was asked, where known.
    Timeout {
        after: Duration,
        provider: Option<String>,
    },
    Failed(String),
    /// The keychain would give back something else than it was given, so
    /// the item was removed: nothing is stored, not even what was before.
    Altered(String),
    /// The keychain cannot take what it was given (a name it forbids): our
    /// input's fault, not the keychain's.
    Invalid(String),
    /// Nothing was written: the only collection would lose it when the
    /// keyring daemon stops.
    MemoryOnly {
        collection: String,
    },
}

/// How long what the keychain stores lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Kept on disk by the keychain.
    Lasting,
    /// New items would go to a Secret Service collection kept only in
    /// memory, lost when its daemon stops (logout, reboot).
    MemoryOnly { collection: String },
    /// The kernel keyring, chosen by name: lost at reboot.
    UntilReboot,
}

impl KeychainError {
    /// What went wrong, and what a person can do about it when there is
    /// something: `doctor` shows them apart, a message joins them.
    pub fn cause_and_fix(&self) -> (String, Option<String>) {
        match self {
            Self::Unavailable { cause, fix } => (
                format!("the keychain is not available: {cause}"),
                Some(fix.clone()),
            ),
            Self::Locked { what, fix } => (
                format!("{what} is locked and was not unlocked"),
                Some(fix.clone()),
            ),
            Self::Timeout { after, provider } => (
                format!(
                    "{} did not answer within {} s (a locked keyring waiting for its unlock \
                     prompt, a dialog waiting for an answer, or a keyring service that hangs)",
                    provider.as_deref().unwrap_or("the keychain"),
                    after.as_secs_f32()
                ),
                Some(
                    "unlock it or answer its dialog, or raise `git config --global \
                     patrol.keychainTimeout`"
                        .into(),
                ),
            ),
            Self::Failed(cause) => (format!("the keychain refused the request: {cause}"), None),
            Self::Altered(cause) => (
                cause.clone(),
                Some("store a token without the characters it changes".into()),
            ),
            Self::Invalid(why) => (
                format!("the keychain cannot take this credential: {why}"),
                None,
            ),
            Self::MemoryOnly { collection } => (
                format!(
                    "the keychain would keep tokens only in memory (the Secret Service's \
                     collection `{}`, lost at logout or reboot), so nothing was stored there",
                    crate::terminal::escape(collection)
                ),
                Some(format!(
                    "{LASTING_KEYRING}; or, to keep tokens in memory only anyway, \
                     `git config --global patrol.allowMemoryOnly true`"
                )),
            ),
        }
    }
}

impl fmt::Display for KeychainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cause_and_fix() {
            (cause, Some(fix)) => write!(f, "{cause}; {fix}"),
            (cause, None) => f.write_str(&cause),
        }
    }
}

impl std::error::Error for KeychainError {}

/// The narrow seam between the decisions of `get`, `store` and `erase` and
/// wherever secrets are kept: find, set, delete, and the accounts stored
/// for one URL. `Keychain` implements it over every real store (our direct
/// Secret Service client on Linux, and keyring-core's stores for macOS,
/// Windows and the kernel keyring); `memory::Memory` implements it for
/// tests that run on every OS.
pub trait SecretStore {
    /// The secrets under `key` and where they are; `item` is a hint.
    fn find(&self, key: &Key, item: Option<&str>) -> Result<Option<Found>, KeychainError>;
    /// Stores `secrets` under `key` in one step; where, on stores that say.
    fn set(&self, key: &Key, secrets: &Secrets) -> Result<Option<String>, KeychainError>;
    /// Deletes the item under `key`; `false` when there was none.
    fn delete(&self, key: &Key) -> Result<bool, KeychainError>;
    /// The accounts stored for exactly `target`.
    fn accounts(&self, target: &Target) -> Result<Vec<String>, KeychainError>;
    /// Every credential of ours the store holds; `None` where it cannot
    /// list its items.
    fn all(&self) -> Result<Option<Vec<Listed>>, KeychainError>;
    /// The secrets of the items at `items` (as `all` found them), read
    /// together where the store can; an item left out is read alone with
    /// `find`. For a rebuild, which reads every item it lists.
    fn read_together(&self, items: &[String]) -> HashMap<String, Secrets> {
        let _ = items;
        HashMap::new()
    }
    /// Whether the item at `item` is kept only in memory (`import` writes a
    /// lasting copy of it). No store of tests does that.
    fn is_temporary_item(&self, item: &str) -> Result<bool, KeychainError> {
        let _ = item;
        Ok(false)
    }
}

impl SecretStore for Keychain {
    fn find(&self, key: &Key, item: Option<&str>) -> Result<Option<Found>, KeychainError> {
        Keychain::find(self, key, item)
    }

    fn set(&self, key: &Key, secrets: &Secrets) -> Result<Option<String>, KeychainError> {
        Keychain::set(self, key, secrets)
    }

    fn delete(&self, key: &Key) -> Result<bool, KeychainError> {
        Keychain::delete(self, key)
    }

    fn accounts(&self, target: &Target) -> Result<Vec<String>, KeychainError> {
        Keychain::accounts(self, target)
    }

    fn all(&self) -> Result<Option<Vec<Listed>>, KeychainError> {
        Keychain::all(self)
    }

    fn read_together(&self, items: &[String]) -> HashMap<String, Secrets> {
        Keychain::read_together(self, items)
    }

    fn is_temporary_item(&self, item: &str) -> Result<bool, KeychainError> {
        Keychain::is_temporary_item(self, item)
    }
}

/// The keychain, bounded in time.
#[derive(Clone)]
pub struct Keychain {
    store: Arc<CredentialStore>,
    backend: Backend,
    timeout: Duration,
    memory_only: bool,
}

/// Secrets found in the keychain, and where.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    pub secrets: Secrets,
    /// Where the store keeps the item, on stores that say (not secret).
    pub item: Option<String>,
    /// The item is in an earlier version's form: store it again even when
    /// its secrets are unchanged.
    pub outdated: bool,
}

/// A credential the keychain listed, and where its item is (on stores
/// that say): reading it there needs no search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    pub key: Key,
    pub item: Option<String>,
}

/// How a credential is named in the keychain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub target: Target,
    pub username: String,
}

impl Key {
    pub fn new(target: Target, username: impl Into<String>) -> Self {
        Self {
            target,
            username: username.into(),
        }
    }

    fn service(&self) -> String {
        service_for(&self.target)
    }

    /// What a person sees in Seahorse or Keychain Access.
    pub fn label(&self) -> String {
        label_for(&self.service(), &self.username)
    }
}

fn service_for(target: &Target) -> String {
    format!("{SERVICE_PREFIX}{}", target.url())
}

/// The target a service name of ours stands for; `None` for another's.
fn target_of(service: &str) -> Option<Target> {
    let url = service.strip_prefix(SERVICE_PREFIX)?;
    let (protocol, rest) = url.split_once("://")?;
    let (host, path) = match rest.split_once('/') {
        Some((host, path)) => (host, Some(path.to_owned())),
        None => (rest, None),
    };
    (!protocol.is_empty() && (!host.is_empty() || path.is_some())).then(|| Target {
        protocol: protocol.to_owned(),
        host: host.to_owned(),
        path,
    })
}

fn label_for(service: &str, user: &str) -> String {
    let url = service.strip_prefix(SERVICE_PREFIX).unwrap_or(service);
    if user.is_empty() {
        format!("git: {url}")
    } else {
        format!("git: {url} ({user})")
    }
}

/// Starts what the first keychain call will need (on Linux, connecting to
/// the session bus and opening a plain session with a Secret Service that
/// is running) on a thread of its own, so that it overlaps the work the
/// caller does before it can open the keychain, such as reading git's
/// configuration. Reads and writes no secret.
pub fn prepare() {
    platform::prepare();
}

impl Keychain {
    /// `memory_only`: `patrol.allowMemoryOnly`, writing where tokens do not
    /// outlive the keyring daemon is allowed.
    pub fn open(
        backend: Backend,
        memory_only: bool,
        timeout: Duration,
    ) -> Result<Self, KeychainError> {
        let store = platform::store(backend, memory_only, timeout)?;
        // Which store and which bound were chosen, so both can be checked
        // without waiting for a bound to run out. (Only calls are traced
        // with the word "keychain": tests count them.)
        crate::trace!(
            "opened {}: each call bounded to {} s",
            store.id(),
            timeout.as_secs_f32()
        );
        Ok(Self {
            store,
            backend,
            timeout,
            memory_only,
        })
    }

    /// Whether the item a `find` named is kept only in memory (written
    /// there before a lasting keyring existed, or with the opt-in).
    pub fn is_temporary_item(&self, item: &str) -> Result<bool, KeychainError> {
        let item = item.to_owned();
        self.bounded("is the item temporary".into(), move |store| {
            platform::item_is_temporary(store, &item)
        })
    }

    /// Whether `patrol.allowMemoryOnly` is set.
    pub fn memory_only_allowed(&self) -> bool {
        self.memory_only
    }

    /// How long what this keychain stores would last; asks the keychain
    /// without writing.
    pub fn durability(&self) -> Result<Durability, KeychainError> {
        let backend = self.backend;
        self.bounded("durability".into(), move |store| {
            platform::durability(store, backend)
        })
    }

    /// Over any keyring-core store: unit tests use keyring-core's mock store.
    #[cfg(test)]
    pub fn with_store(store: Arc<CredentialStore>, timeout: Duration) -> Self {
        Self {
            store,
            backend: Backend::default(),
            timeout,
            memory_only: false,
        }
    }

    /// The secrets stored under `key`, or `None`.
    pub fn get(&self, key: &Key) -> Result<Option<Secrets>, KeychainError> {
        Ok(self.find(key, None)?.map(|found| found.secrets))
    }

    /// The secrets stored under `key` and where they are, or `None`. `item`
    /// is where a previous `find` or `set` said they were: only a hint,
    /// which the store checks before trusting.
    pub fn find(&self, key: &Key, item: Option<&str>) -> Result<Option<Found>, KeychainError> {
        let (service, user) = (key.service(), key.username.clone());
        let item = item.map(str::to_owned);
        self.bounded(format!("get {}", key.label()), move |store| {
            let entry = platform::entry(store, &service, &user, item.as_deref())?;
            match entry.get_secret() {
                Ok(bytes) => Ok(Some(Found {
                    secrets: decode(bytes)?,
                    item: platform::item_of(&entry),
                    outdated: platform::outdated(&entry),
                })),
                Err(keyring_core::Error::NoEntry) => Ok(None),
                Err(err) => Err(err),
            }
        })
    }

    /// Stores `secrets` under `key`, replacing what was there in one step;
    /// says where, on stores that do.
    pub fn set(&self, key: &Key, secrets: &Secrets) -> Result<Option<String>, KeychainError> {
        let (service, user) = (key.service(), key.username.clone());
        let encoded = secrets.encode();
        self.bounded(format!("set {}", key.label()), move |store| {
            let entry = platform::entry(store, &service, &user, None)?;
            entry.set_secret(encoded.as_bytes())?;
            Ok(platform::item_of(&entry))
        })
    }

    /// Who provides the keychain and what to know about it, on platforms
    /// where that can be told (the Secret Service's owner); asks the bus,
    /// never the provider, so it answers even when the provider hangs.
    pub fn provider(&self) -> Option<Provider> {
        platform::provider(self.store.as_ref())
    }

    /// Deletes the item under `key`; `false` when there was none.
    pub fn delete(&self, key: &Key) -> Result<bool, KeychainError> {
        let (service, user) = (key.service(), key.username.clone());
        self.bounded(
            format!("delete {}", key.label()),
            move |store| match platform::entry(store, &service, &user, None)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(keyring_core::Error::NoEntry) => Ok(false),
                Err(err) => Err(err),
            },
        )
    }

    /// The accounts stored for `target`, found by asking the keychain rather
    /// than the index: the way back when the index is lost or damaged.
    pub fn accounts(&self, target: &Target) -> Result<Vec<String>, KeychainError> {
        let service = service_for(target);
        self.bounded(format!("search {service}"), move |store| {
            let spec = platform::search_spec(&service);
            let spec = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let entries = match store.search(&spec) {
                Ok(entries) => entries,
                Err(keyring_core::Error::NotSupportedByStore(_)) => Vec::new(),
                Err(err) => return Err(err),
            };
            Ok(entries
                .iter()
                .filter_map(Entry::get_specifiers)
                .filter(|(found, _)| *found == service)
                .map(|(_, account)| platform::user_name(account))
                .collect())
        })
    }

    /// Every credential of ours the keychain holds, and where its item is
    /// (on stores that say), found by asking the keychain for its list
    /// rather than the index: how a lost index is rebuilt. One search of
    /// the whole keyring, so only for rebuilds. `None` where the store
    /// cannot list its items.
    pub fn all(&self) -> Result<Option<Vec<Listed>>, KeychainError> {
        let Some(spec) = platform::search_all_spec(self.backend) else {
            return Ok(None);
        };
        self.bounded("search every item".into(), move |store| {
            let spec = spec.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let entries = match store.search(&spec) {
                Ok(entries) => entries,
                Err(keyring_core::Error::NotSupportedByStore(_)) => return Ok(None),
                Err(err) => return Err(err),
            };
            Ok(Some(
                entries
                    .iter()
                    .filter_map(|entry| {
                        let (service, account) = entry.get_specifiers()?;
                        let key = Key::new(target_of(&service)?, platform::user_name(account));
                        let item = platform::item_of(entry);
                        Some(Listed { key, item })
                    })
                    .collect(),
            ))
        })
    }

    /// The secrets of the items at `items`, read together (a thousand to a
    /// call) where the store can; what cannot be read so (a failure, a
    /// store that cannot, an item locked or gone) is left out, for `find`
    /// to read alone and report.
    pub fn read_together(&self, items: &[String]) -> HashMap<String, Secrets> {
        let mut read = HashMap::new();
        for part in items.chunks(READ_TOGETHER) {
            let part = part.to_vec();
            let secrets = self.bounded(format!("read {} items", part.len()), move |store| {
                platform::secrets_together(store, &part).unwrap_or_else(|| Ok(HashMap::new()))
            });
            let Ok(secrets) = secrets else {
                break;
            };
            if secrets.is_empty() {
                break;
            }
            for (item, bytes) in secrets {
                if let Ok(secrets) = decode(bytes) {
                    read.insert(item, secrets);
                }
            }
        }
        read
    }

    /// Runs `op` on a worker thread and gives up after the timeout. A thread
    /// that never returns is left behind; the process exits soon after.
    fn bounded<T: Send + 'static>(
        &self,
        what: String,
        op: impl FnOnce(&CredentialStore) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T, KeychainError> {
        let started = std::time::Instant::now();
        let result = self.bounded_inner(op);
        crate::trace!(
            "keychain {what}: {} in {:.3} ms",
            match &result {
                Ok(_) => "done".to_owned(),
                Err(err) => format!("failed ({err})"),
            },
            started.elapsed().as_secs_f64() * 1000.0
        );
        result
    }

    fn bounded_inner<T: Send + 'static>(
        &self,
        op: impl FnOnce(&CredentialStore) -> keyring_core::Result<T> + Send + 'static,
    ) -> Result<T, KeychainError> {
        let store = Arc::clone(&self.store);
        let backend = self.backend;
        let (sender, receiver) = mpsc::sync_channel(1);
        thread::Builder::new()
            .name("keychain".into())
            .spawn(move || {
                let _ = sender.send(op(store.as_ref()));
            })
            .map_err(|err| KeychainError::Failed(err.to_string()))?;
        match receiver.recv_timeout(self.timeout) {
            Ok(result) => result.map_err(|err| platform::describe(err, backend)),
            Err(_) => Err(KeychainError::Timeout {
                after: self.timeout,
                provider: self.provider().map(|p| p.name),
            }),
        }
    }
}

fn decode(bytes: Vec<u8>) -> keyring_core::Result<Secrets> {
    let bytes = zeroize::Zeroizing::new(bytes);
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Secrets::decode(text)),
        // keyring-core's own error would carry the bytes; ours must not.
        Err(_) => Err(keyring_core::Error::BadStoreFormat(
            "a stored secret is not valid UTF-8".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Secret;
    use crate::testing::{https, https_path};

    fn keychain() -> Keychain {
        Keychain::with_store(
            keyring_core::mock::Store::new().unwrap(),
            Duration::from_secs(5),
        )
    }

    #[test]
    fn set_get_delete_round_trip() {
        let keychain = keychain();
        let key = Key::new(https("example.com"), "alice");
        assert_eq!(keychain.get(&key).unwrap(), None);
        let secrets = Secrets {
            password: Some(Secret::new("ghp_TESTone")),
            ..Secrets::default()
        };
        assert_eq!(keychain.set(&key, &secrets).unwrap(), None, "no paths here");
        assert_eq!(keychain.get(&key).unwrap(), Some(secrets.clone()));
        // A store without item paths ignores the hint rather than fail.
        assert_eq!(
            keychain
                .find(&key, Some("/org/freedesktop/secrets/x"))
                .unwrap(),
            Some(Found {
                secrets,
                item: None,
                outdated: false
            })
        );
        assert!(keychain.delete(&key).unwrap());
        assert!(!keychain.delete(&key).unwrap());
        assert_eq!(keychain.get(&key).unwrap(), None);
    }

    #[test]
    fn accounts_are_found_without_the_index() {
        let keychain = keychain();
        let secrets = Secrets {
            password: Some(Secret::new("x")),
            ..Secrets::default()
        };
        keychain
            .set(&Key::new(https("example.com"), "alice"), &secrets)
            .unwrap();
        keychain
            .set(&Key::new(https("example.com"), "bob"), &secrets)
            .unwrap();
        keychain
            .set(&Key::new(https("example.com.evil"), "eve"), &secrets)
            .unwrap();
        let mut accounts = keychain.accounts(&https("example.com")).unwrap();
        accounts.sort();
        assert_eq!(accounts, ["alice", "bob"]);
    }

    #[test]
    fn a_cause_and_its_fix_stay_apart_whatever_the_cause_says() {
        let err = KeychainError::Unavailable {
            cause: "refused (x); containers often deny it".into(),
            fix: "start one".into(),
        };
        let (cause, fix) = err.cause_and_fix();
        assert_eq!(
            cause,
            "the keychain is not available: refused (x); containers often deny it"
        );
        assert_eq!(fix.as_deref(), Some("start one"));
        assert_eq!(err.to_string(), format!("{cause}; start one"));
    }

    #[test]
    fn a_service_name_gives_back_its_target() {
        for target in [
            https("example.com:8443"),
            https_path("example.com", "group/repo.git"),
            Target {
                protocol: "cert".into(),
                host: String::new(),
                path: Some("/home/me/client.p12".into()),
            },
        ] {
            assert_eq!(target_of(&service_for(&target)), Some(target));
        }
        assert_eq!(target_of("other:https://example.com"), None);
        assert_eq!(target_of("git-credential-patrol:nonsense"), None);
    }

    #[test]
    fn labels_name_the_url_and_account() {
        assert_eq!(
            Key::new(https("github.com"), "alice").label(),
            "git: https://github.com (alice)"
        );
        assert_eq!(
            Key::new(https("github.com"), "").label(),
            "git: https://github.com"
        );
    }
}
