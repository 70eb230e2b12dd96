//! A keyring-core store for the Linux Secret Service (GNOME Keyring,
//! KeePassXC, KDE 6's KWallet), built on the secret-service crate and zbus.
//!
//! It opens a plain session by default (an encrypted one with
//! `patrol.secretServiceSession = dh`). An item read by its path in a plain
//! session (a hit of `get`, the comparison of an unchanged `store`) goes
//! over a connection of our own ([`wire`]), which a command may open
//! early with [`own::connect_early`], on a thread of its own while `git config`
//! runs; everything else, and anything that fails there, goes through one
//! zbus connection per process, opened on first use and shared by every
//! entry. An entry may carry the object path where its item was last seen
//! ([`ITEM`]; [`located`] tells where it was found or created): its secret
//! is then fetched with `GetSecrets` and trusted only when the item's
//! attributes, asked for at the same time, name this entry; otherwise the
//! entry is searched for. A secret holds only git's fields; one written by
//! an earlier version (ending with `service=` and `username=` lines) is
//! read and reported [`outdated`] until written again. Writes keep to what
//! every provider does without asking the person anything, a new item goes
//! only into a collection that persists ([`Destination`]), and a failure is
//! sorted by its D-Bus error name and told with the provider that owns the
//! bus name ([`failure::Failure`]).
//!
//! Why each of these is so is written once, in docs/architecture.md ("The
//! hot path: `get`" and "The keychain").

pub(super) mod client;
mod destination;
pub(super) mod failure;
pub(super) mod own;
/// Public for its fuzz target (`fuzz/fuzz_targets/dbus_message.rs`).
pub mod wire;

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keyring_core::api::{CredentialApi, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use zbus::zvariant::OwnedObjectPath;

use client::Inner;
pub use destination::{Destination, MemoryOnly};
use failure::{Kind, Provider, access};

/// Marks our items, so a search never returns another program's secrets.
const APPLICATION: (&str, &str) = ("application", "git-credential-patrol");

/// The modifier naming the object path where an entry's item was last seen.
pub const ITEM: &str = "item";

const SERVICE_NAME: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_INTERFACE: &str = "org.freedesktop.Secret.Service";
const ITEM_INTERFACE: &str = "org.freedesktop.Secret.Item";
const PROMPT_INTERFACE: &str = "org.freedesktop.Secret.Prompt";
const PROPERTIES_INTERFACE: &str = "org.freedesktop.DBus.Properties";
/// The path a provider answers with when no prompt is needed.
const NO_PROMPT: &str = "/";
/// The alias `greet` asks for.
const GREETING: &str = "default";

/// From this many items on, a search asks for their attributes from
/// `ATTRIBUTE_READERS` threads at once.
const ATTRIBUTES_TOGETHER: usize = 64;
const ATTRIBUTE_READERS: usize = 8;

/// A secret as read, and the attributes of the item it was read from.
type Read = (Vec<u8>, HashMap<String, String>);

pub struct Store {
    inner: Arc<Inner>,
}

impl Store {
    /// `timeout` is the keychain's: prompts are dismissed before it passes.
    pub fn new(encrypted: bool, memory_only: bool, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(Inner::new(encrypted, memory_only, timeout)),
        })
    }
}

impl CredentialStoreApi for Store {
    fn vendor(&self) -> String {
        "git-credential-patrol Secret Service store".into()
    }

    fn id(&self) -> String {
        let session = if self.inner.encrypted { "dh" } else { "plain" };
        format!("secret-service ({session} session)")
    }

    fn build(
        &self,
        service: &str,
        user: &str,
        modifiers: Option<&HashMap<&str, &str>>,
    ) -> Result<Entry> {
        let mut hint = None;
        for (&key, &value) in modifiers.into_iter().flatten() {
            if key != ITEM {
                return Err(Error::Invalid(key.into(), "unknown modifier".into()));
            }
            let path = OwnedObjectPath::try_from(value)
                .map_err(|_| Error::Invalid(key.into(), "not a D-Bus object path".into()))?;
            hint = Some(path);
        }
        Ok(Entry::new_with_credential(Arc::new(Cred {
            inner: Arc::clone(&self.inner),
            service: service.to_owned(),
            user: user.to_owned(),
            hint,
            located: Mutex::new(None),
            outdated: Mutex::new(false),
        })))
    }

    fn search(&self, spec: &HashMap<&str, &str>) -> Result<Vec<Entry>> {
        let mut attributes = spec.clone();
        attributes.insert(APPLICATION.0, APPLICATION.1);
        let (unlocked, locked) = self.inner.search(&attributes)?;
        let paths: Vec<OwnedObjectPath> = unlocked.into_iter().chain(locked).collect();
        let mut entries = Vec::new();
        // Attributes of locked items are readable too; only secrets are not.
        for (path, attributes) in paths.iter().zip(self.attributes_of_all(&paths)?) {
            if let (Some(service), Some(user)) =
                (attributes.get("service"), attributes.get("username"))
            {
                // Found there: reading its secret next needs no search.
                entries.push(Entry::new_with_credential(Arc::new(Cred {
                    inner: Arc::clone(&self.inner),
                    service: service.clone(),
                    user: user.clone(),
                    hint: Some(path.clone()),
                    located: Mutex::new(Some(path.clone())),
                    outdated: Mutex::new(false),
                })));
            }
        }
        Ok(entries)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Store {
    /// The attributes of each item at `paths`, in order. Many (a rebuild
    /// lists every item of ours) are asked for from several threads over
    /// the one connection, so that the calls' round trips overlap instead
    /// of adding up.
    fn attributes_of_all(&self, paths: &[OwnedObjectPath]) -> Result<Vec<HashMap<String, String>>> {
        if paths.len() < ATTRIBUTES_TOGETHER {
            return paths
                .iter()
                .map(|path| self.inner.attributes_of(path))
                .collect();
        }
        let share = paths.len().div_ceil(ATTRIBUTE_READERS);
        std::thread::scope(|scope| {
            let readers: Vec<_> = paths
                .chunks(share)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|path| self.inner.attributes_of(path))
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            let mut all = Vec::with_capacity(paths.len());
            for reader in readers {
                let part = reader.join().map_err(|_| {
                    Error::PlatformFailure("a reader of attributes failed".into())
                })??;
                all.extend(part);
            }
            Ok(all)
        })
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id())
    }
}

#[derive(Debug)]
struct Cred {
    inner: Arc<Inner>,
    service: String,
    user: String,
    /// Where the item was last seen, when the caller knows.
    hint: Option<OwnedObjectPath>,
    /// Where the item was found or created by this entry.
    located: Mutex<Option<OwnedObjectPath>>,
    /// Whether the secret read was written by an earlier version, with
    /// lines that are not git's.
    outdated: Mutex<bool>,
}

/// Where `store` writes new items, when it is ours: asks the service.
pub fn destination(store: &keyring_core::CredentialStore) -> Option<Result<Destination>> {
    let store = store.as_any().downcast_ref::<Store>()?;
    Some(store.inner.destination())
}

/// Whether the item at `item` lives in a collection that does not persist,
/// when `store` is ours: asks the service for its `session` alias.
pub fn item_is_temporary(
    store: &keyring_core::CredentialStore,
    item: &str,
) -> Option<Result<bool>> {
    let store = store.as_any().downcast_ref::<Store>()?;
    Some(store.inner.read_alias("session").map(|session| {
        let in_collection = |collection: &str| {
            item.strip_prefix(collection)
                .is_some_and(|rest| rest.starts_with('/'))
        };
        session.is_some_and(|s| in_collection(s.as_str()))
            || in_collection("/org/freedesktop/secrets/collection/session")
    }))
}

/// The secrets of the items at `items` (paths, as a search found them),
/// read together, when `store` is ours and its session plain: `None`
/// otherwise, and for a path that is not one. Missing from the answer: an
/// item the service did not give (locked, gone).
pub fn secrets_together(
    store: &keyring_core::CredentialStore,
    items: &[String],
) -> Option<Result<HashMap<String, Vec<u8>>>> {
    let store = store.as_any().downcast_ref::<Store>()?;
    let paths: Vec<OwnedObjectPath> = items
        .iter()
        .map(|item| OwnedObjectPath::try_from(item.as_str()))
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    let read = store.inner.secrets_together(&paths).transpose()?;
    Some(read.map(|read| {
        read.into_iter()
            .map(|(path, secret)| (path.as_str().to_owned(), secret))
            .collect()
    }))
}

/// Where `entry`'s item was found or created, when it is one of ours and
/// has been to the keychain.
pub fn located(entry: &Entry) -> Option<String> {
    let cred = entry.as_any().downcast_ref::<Cred>()?;
    let located = cred.located.lock().ok()?;
    located.as_ref().map(|path| path.as_str().to_owned())
}

/// Whether the secret `entry` read should be written again in today's
/// form (it carries an earlier version's extra lines).
pub fn outdated(entry: &Entry) -> bool {
    entry
        .as_any()
        .downcast_ref::<Cred>()
        .and_then(|cred| cred.outdated.lock().ok().map(|outdated| *outdated))
        .unwrap_or(false)
}

/// Who provides the Secret Service behind `store`, when it is ours.
pub fn provider_of(store: &keyring_core::CredentialStore) -> Option<Provider> {
    let store = store.as_any().downcast_ref::<Store>()?;
    let _connected = store.inner.connected().ok()?;
    store.inner.provider()
}

impl Cred {
    fn attributes(&self) -> HashMap<&str, &str> {
        HashMap::from([
            ("service", self.service.as_str()),
            ("username", self.user.as_str()),
            APPLICATION,
        ])
    }

    /// Whether an item's attributes name this entry.
    fn names_this(&self, attributes: &HashMap<String, String>) -> bool {
        self.attributes()
            .iter()
            .all(|(key, value)| attributes.get(*key).map(String::as_str) == Some(*value))
    }

    /// Our items under this name, unlocking the locked ones first (that may
    /// show the desktop's unlock prompt).
    fn items(&self) -> Result<Vec<OwnedObjectPath>> {
        let (unlocked, locked) = self.inner.search(&self.attributes())?;
        if !locked.is_empty() {
            self.inner
                .unlock(&locked, "to unlock the keyring that holds the item")?;
        }
        Ok(unlocked.into_iter().chain(locked).collect())
    }

    /// The secret at the hinted path, when there is one and its item names
    /// this entry; `None` sends the caller to the search.
    fn secret_at_hint(&self) -> Result<Option<Vec<u8>>> {
        let Some(path) = &self.hint else {
            return Ok(None);
        };
        let Some((mut stored, attributes)) = self.inner.secret_and_attributes(path)? else {
            return Ok(None);
        };
        if !self.names_this(&attributes) {
            // Another credential's item: not this entry's secret.
            drop(zeroize::Zeroizing::new(stored));
            return Ok(None);
        }
        self.strip_names(&mut stored);
        self.remember(path);
        Ok(Some(stored))
    }

    /// The lines an earlier version ended every secret with.
    fn names(&self) -> String {
        format!("\nservice={}\nusername={}", self.service, self.user)
    }

    /// Removes an earlier version's extra lines, noting that there were.
    fn strip_names(&self, stored: &mut Vec<u8>) {
        let names = self.names();
        if stored.ends_with(names.as_bytes()) {
            stored.truncate(stored.len() - names.len());
            if let Ok(mut outdated) = self.outdated.lock() {
                *outdated = true;
            }
        }
    }

    fn remember(&self, path: &OwnedObjectPath) {
        if let Ok(mut located) = self.located.lock() {
            *located = Some(path.clone());
        }
    }

    /// Writes `secret` into the existing item, or a new one; `None` for
    /// the path when the write failed and nothing is left of it.
    fn write(&self, secret: &[u8]) -> Result<OwnedObjectPath> {
        let items = self.items()?;
        if let Some((path, duplicates)) = items.split_first() {
            self.inner.replace_secret(path, secret)?;
            // Two items under one name answer unpredictably: the one just
            // written stays.
            for duplicate in duplicates {
                self.inner.delete(duplicate)?;
            }
            return Ok(path.clone());
        }
        let label = crate::keychain::label_for(&self.service, &self.user);
        self.inner
            .create(&label, self.attributes(), secret)
            .inspect_err(|_| self.remove_half_made())
    }

    /// After a failed `CreateItem`, removes what a provider may have made
    /// of it anyway (KeePassXC keeps the item when it refuses the secret).
    fn remove_half_made(&self) {
        if let Ok((unlocked, locked)) = self.inner.search(&self.attributes()) {
            for path in unlocked.iter().chain(locked.iter()) {
                let _ = self.inner.delete(path);
            }
        }
    }
}

impl CredentialApi for Cred {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        let path = self.write(secret)?;
        // Read back once where the provider may hand back something else
        // than it was given (KeePassXC expands placeholders such as
        // `{TITLE}`). GNOME Keyring keeps the bytes it is given, and a read
        // right after a write waits there until the daemon has announced
        // the collection's whole item list, which grows with the keyring.
        if !self.inner.keeps_secrets_as_given() {
            let back = zeroize::Zeroizing::new(self.inner.secret_at(&path)?.unwrap_or_default());
            if back.as_slice() != secret {
                self.inner.delete(&path)?;
                return Err(access(
                    Kind::Altered,
                    self.inner.provider(),
                    "the secret read back differs from the one written",
                ));
            }
        }
        self.remember(&path);
        if let Ok(mut outdated) = self.outdated.lock() {
            *outdated = false;
        }
        Ok(())
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        if let Some(secret) = self.secret_at_hint()? {
            return Ok(secret);
        }
        let items = self.items()?;
        let Some(path) = items.first() else {
            return Err(Error::NoEntry);
        };
        let mut secret = self.inner.secret_at(path)?.ok_or(Error::NoEntry)?;
        self.remember(path);
        self.strip_names(&mut secret);
        Ok(secret)
    }

    fn delete_credential(&self) -> Result<()> {
        let items = self.items()?;
        if items.is_empty() {
            return Err(Error::NoEntry);
        }
        items.iter().try_for_each(|path| self.inner.delete(path))
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        let (unlocked, locked) = self.inner.search(&self.attributes())?;
        if unlocked.is_empty() && locked.is_empty() {
            Err(Error::NoEntry)
        } else {
            Ok(None)
        }
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some((self.service.clone(), self.user.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    fn build(modifiers: &[(&str, &str)]) -> Result<Entry> {
        let modifiers: HashMap<&str, &str> = modifiers.iter().copied().collect();
        Store::new(false, false, Duration::from_secs(5)).build(
            "git-credential-patrol:https://example.com",
            "alice",
            Some(&modifiers),
        )
    }

    #[test]
    fn an_item_hint_must_be_an_object_path() {
        let entry = build(&[(ITEM, "/org/freedesktop/secrets/collection/login/7")]).unwrap();
        assert_eq!(located(&entry), None, "nothing is located before a call");
        assert!(!outdated(&entry));
        assert!(matches!(
            build(&[(ITEM, "login/7")]),
            Err(Error::Invalid(key, _)) if key == ITEM
        ));
        assert!(matches!(
            build(&[("collection", "login")]),
            Err(Error::Invalid(key, _)) if key == "collection"
        ));
    }

    #[test]
    fn only_our_entries_say_where_they_are() {
        let store = keyring_core::mock::Store::new().unwrap();
        let entry = store.build("service", "user", None).unwrap();
        assert_eq!(located(&entry), None);
    }
}
