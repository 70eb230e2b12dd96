//! A keyring-core store for the Linux Secret Service (GNOME Keyring, KWallet,
//! KeePassXC), built on the secret-service crate.
//!
//! keyring-core's stock Secret Service store always negotiates a
//! Diffie-Hellman session, which costs more than everything else `get` does
//! together (see docs/performance.md). This store opens a plain session by
//! default: the secret then crosses the user's own session bus unencrypted,
//! where only that user and root can watch, and both can already ask the
//! unlocked keyring for it. `patrol.secretServiceSession = dh` restores the
//! encrypted transfer for those whose policy wants it.
//!
//! One connection per process, opened on first use and shared by every entry.
//!
//! Finding an item by its attributes (`SearchItems`) costs gnome-keyring a
//! walk over every item it holds, and so does every call addressed to an
//! item's own object path; only calls to the service itself stay cheap. A
//! `get` would slow down as the keyring grows. So an entry may be built with
//! the modifier [`ITEM`], the object path where its item was last seen
//! ([`located`] tells where an entry's item was found or created), and its
//! secret is then fetched with one call to the service, `GetSecrets`,
//! without a search. What that returns is trusted only when it names this
//! entry: every secret this store writes ends with the lines
//! `service=SERVICE` and `username=USER`, the item's own attributes repeated
//! where a read without the attributes can check them (and removed again on
//! the way out). A path that is gone, locked, or holds anything else sends
//! the entry to the search, as if there were no hint.
//!
//! A new item goes only where it outlives the keyring daemon. gnome-keyring
//! started without a login keyring (a headless login, `dbus-launch`) has
//! only its in-memory `session` collection, and its `default` alias may
//! point there: items written there vanish at logout or reboot. So before
//! the first write of a process, [`Destination`] picks the `default`
//! collection, else `login`, else any other, whichever persists, and a
//! write into a collection that does not persist is refused unless the
//! person opted in with `patrol.allowMemoryOnly`. Reads never ask, so `get`
//! and an unchanged `store` pay nothing for it.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use keyring_core::api::{CredentialApi, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use secret_service::EncryptionType;
use secret_service::blocking::{Item, SecretService};
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

/// Marks our items, so a search never returns another program's secrets.
const APPLICATION: (&str, &str) = ("application", "git-credential-patrol");

/// The modifier naming the object path where an entry's item was last seen.
pub const ITEM: &str = "item";

const SERVICE_NAME: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_INTERFACE: &str = "org.freedesktop.Secret.Service";

pub struct Store {
    inner: Arc<Inner>,
}

/// The collection new items are written into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub collection: OwnedObjectPath,
    /// Lost when the keyring daemon stops: the collection the service names
    /// by its `session` alias (libsecret's in-memory collection), or, for a
    /// service that has no such alias, one at gnome-keyring's path for it.
    pub temporary: bool,
}

impl Destination {
    /// The collection's name as the last part of its path (`login`).
    pub fn name(&self) -> &str {
        self.collection
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
    }
}

/// A write refused because the only collection would lose it.
#[derive(Debug)]
pub struct MemoryOnly(pub Destination);

impl std::fmt::Display for MemoryOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the Secret Service keeps collection `{}` only in memory",
            self.0.name()
        )
    }
}

impl std::error::Error for MemoryOnly {}

struct Inner {
    encrypted: bool,
    /// `patrol.allowMemoryOnly`: writing into a temporary collection is
    /// allowed.
    memory_only: bool,
    /// Where new items go, found before the first write.
    destination: Mutex<Option<Destination>>,
    bus: Mutex<Option<Connection>>,
    /// The secret-service crate's client, over `bus`, for everything but
    /// the read by path.
    service: Mutex<Option<Arc<SecretService<'static>>>>,
    /// A plain session of our own on `bus`, for `GetSecrets`.
    plain_session: Mutex<Option<OwnedObjectPath>>,
}

impl Store {
    pub fn new(encrypted: bool, memory_only: bool) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(Inner {
                encrypted,
                memory_only,
                destination: Mutex::new(None),
                bus: Mutex::new(None),
                service: Mutex::new(None),
                plain_session: Mutex::new(None),
            }),
        })
    }
}

impl Inner {
    fn bus(&self) -> Result<Connection> {
        let mut slot = self.bus.lock().map_err(|_| poisoned())?;
        if let Some(bus) = slot.as_ref() {
            return Ok(bus.clone());
        }
        let bus = Connection::session().map_err(|err| failure(connection_failure(err)))?;
        *slot = Some(bus.clone());
        Ok(bus)
    }

    fn connection(&self) -> Result<Arc<SecretService<'static>>> {
        let mut slot = self.service.lock().map_err(|_| poisoned())?;
        if let Some(service) = slot.as_ref() {
            return Ok(Arc::clone(service));
        }
        let encryption = if self.encrypted {
            EncryptionType::Dh
        } else {
            EncryptionType::Plain
        };
        let service = SecretService::connect_with_existing(encryption, self.bus()?);
        let service = Arc::new(service.map_err(failure)?);
        *slot = Some(Arc::clone(&service));
        Ok(service)
    }

    /// The secret stored at `path`, fetched with one call to the service;
    /// `None` when the service gave none (no such item, or a locked one).
    /// Only in a plain session: an encrypted one goes through the crate.
    fn secret_at(&self, path: &OwnedObjectPath) -> Result<Option<Vec<u8>>> {
        if self.encrypted {
            let service = self.connection()?;
            let item = service.get_item_by_path(path.clone()).map_err(failure)?;
            return match item.get_secret() {
                Ok(secret) => Ok(Some(secret)),
                // Refused for this path, as in a plain session: the search
                // decides. Anything else (no answer, a secret that does
                // not decrypt) is a failure, not an absent secret.
                Err(secret_service::Error::Zbus(zbus::Error::MethodError(..))) => Ok(None),
                Err(err) => Err(failure(err)),
            };
        }
        let bus = self.bus()?;
        let session = self.plain_session(&bus)?;
        type Secret = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);
        let reply = bus.call_method(
            Some(SERVICE_NAME),
            SERVICE_PATH,
            Some(SERVICE_INTERFACE),
            "GetSecrets",
            &(vec![path], &session),
        );
        let secrets: HashMap<OwnedObjectPath, Secret> = match reply {
            Ok(reply) => reply.body().deserialize().map_err(zbus_failure)?,
            // Refused for this path (gone, say): the search decides.
            Err(zbus::Error::MethodError(..)) => return Ok(None),
            Err(err) => return Err(zbus_failure(err)),
        };
        Ok(secrets
            .into_iter()
            .next()
            .map(|(_, (_, _, value, _))| value))
    }

    /// Where new items go: the first collection that persists among the
    /// `default` alias, the `login` alias and every other collection; when
    /// none does, the first there is, marked temporary. Asked once per
    /// process, and only before a write.
    fn destination(&self) -> Result<Destination> {
        let mut slot = self.destination.lock().map_err(|_| poisoned())?;
        if let Some(destination) = slot.as_ref() {
            return Ok(destination.clone());
        }
        let bus = self.bus()?;
        let session = read_alias(&bus, "session")?;
        let mut candidates = Vec::new();
        for alias in ["default", "login"] {
            candidates.extend(read_alias(&bus, alias)?);
        }
        let service = self.connection()?;
        let all = service.get_all_collections().map_err(failure)?;
        candidates.extend(all.into_iter().map(|c| c.collection_path));
        let temporary = |path: &OwnedObjectPath| {
            session.as_ref() == Some(path) || path.as_str().ends_with("/collection/session")
        };
        let chosen = candidates
            .iter()
            .find(|path| !temporary(path))
            .or(candidates.first())
            .ok_or_else(|| failure(secret_service::Error::NoResult))?;
        let destination = Destination {
            collection: chosen.clone(),
            temporary: temporary(chosen),
        };
        *slot = Some(destination.clone());
        Ok(destination)
    }

    /// The destination, refused when it would not persist and the person did
    /// not opt in to memory-only storage.
    fn writable_destination(&self) -> Result<Destination> {
        let destination = self.destination()?;
        if destination.temporary && !self.memory_only {
            return Err(Error::PlatformFailure(Box::new(MemoryOnly(destination))));
        }
        Ok(destination)
    }

    fn plain_session(&self, bus: &Connection) -> Result<OwnedObjectPath> {
        let mut slot = self.plain_session.lock().map_err(|_| poisoned())?;
        if let Some(session) = slot.as_ref() {
            return Ok(session.clone());
        }
        let reply = bus
            .call_method(
                Some(SERVICE_NAME),
                SERVICE_PATH,
                Some(SERVICE_INTERFACE),
                "OpenSession",
                &("plain", Value::from("")),
            )
            .map_err(zbus_failure)?;
        let (_, session): (OwnedValue, OwnedObjectPath) =
            reply.body().deserialize().map_err(zbus_failure)?;
        *slot = Some(session.clone());
        Ok(session)
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
        })))
    }

    fn search(&self, spec: &HashMap<&str, &str>) -> Result<Vec<Entry>> {
        let connection = self.inner.connection()?;
        let mut attributes = spec.clone();
        attributes.insert(APPLICATION.0, APPLICATION.1);
        let found = connection.search_items(attributes).map_err(failure)?;
        let mut entries = Vec::new();
        // Attributes of locked items are readable too; only secrets are not.
        for item in found.unlocked.iter().chain(found.locked.iter()) {
            let attributes = item.get_attributes().map_err(failure)?;
            if let (Some(service), Some(user)) =
                (attributes.get("service"), attributes.get("username"))
            {
                entries.push(self.build(service, user, None)?);
            }
        }
        Ok(entries)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
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
    Some(store.inner.bus().and_then(|bus| {
        let session = read_alias(&bus, "session")?;
        let in_collection = |collection: &str| {
            item.strip_prefix(collection)
                .is_some_and(|rest| rest.starts_with('/'))
        };
        Ok(session.is_some_and(|s| in_collection(s.as_str()))
            || in_collection("/org/freedesktop/secrets/collection/session"))
    }))
}

/// Where `entry`'s item was found or created, when it is one of ours and
/// has been to the keychain.
pub fn located(entry: &Entry) -> Option<String> {
    let cred = entry.as_any().downcast_ref::<Cred>()?;
    let located = cred.located.lock().ok()?;
    located.as_ref().map(|path| path.as_str().to_owned())
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

impl Cred {
    fn attributes(&self) -> HashMap<&str, &str> {
        HashMap::from([
            ("service", self.service.as_str()),
            ("username", self.user.as_str()),
            APPLICATION,
        ])
    }

    /// Our items under this name, unlocking them first when they are locked
    /// (that may show the desktop's unlock prompt).
    fn with_items<T>(&self, op: impl FnOnce(&[Item<'_>]) -> Result<T>) -> Result<T> {
        let connection = self.inner.connection()?;
        let found = connection
            .search_items(self.attributes())
            .map_err(failure)?;
        if !found.locked.is_empty() {
            let locked: Vec<&Item> = found.locked.iter().collect();
            connection.unlock_all(&locked).map_err(failure)?;
        }
        let items: Vec<Item> = found.unlocked.into_iter().chain(found.locked).collect();
        op(&items)
    }

    /// The lines every secret this store writes ends with: the item's
    /// attributes, where a read by path can check them.
    fn names(&self) -> String {
        format!("\nservice={}\nusername={}", self.service, self.user)
    }

    /// The secret at the hinted path, when there is one and it names this
    /// entry; `None` sends the caller to the search.
    fn secret_at_hint(&self) -> Result<Option<Vec<u8>>> {
        let Some(path) = &self.hint else {
            return Ok(None);
        };
        let Some(mut stored) = self.inner.secret_at(path)? else {
            return Ok(None);
        };
        if !self.strip_names(&mut stored) {
            // Another credential's item, or one written before the names
            // were: not this entry's secret, whatever it holds.
            drop(zeroize::Zeroizing::new(stored));
            return Ok(None);
        }
        self.remember(path);
        Ok(Some(stored))
    }

    /// Leaves the secret as the caller stored it; whether it ended with
    /// this entry's names.
    fn strip_names(&self, stored: &mut Vec<u8>) -> bool {
        let names = self.names();
        let named = stored.ends_with(names.as_bytes());
        if named {
            stored.truncate(stored.len() - names.len());
        }
        named
    }

    fn remember(&self, path: &OwnedObjectPath) {
        if let Ok(mut located) = self.located.lock() {
            *located = Some(path.clone());
        }
    }
}

impl CredentialApi for Cred {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        let destination = self.inner.writable_destination()?;
        let connection = self.inner.connection()?;
        let collection = connection
            .get_collection_by_path(destination.collection)
            .map_err(failure)?;
        let label = super::label_for(&self.service, &self.user);
        let mut stored = zeroize::Zeroizing::new(secret.to_vec());
        stored.extend_from_slice(self.names().as_bytes());
        let create =
            || collection.create_item(&label, self.attributes(), &stored, true, "text/plain");
        let item = match create() {
            Ok(item) => item,
            Err(err) if is_locked(&err) => {
                collection.unlock().map_err(failure)?;
                create().map_err(failure)?
            }
            Err(err) => return Err(failure(err)),
        };
        self.remember(&item.item_path);
        Ok(())
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        if let Some(secret) = self.secret_at_hint()? {
            return Ok(secret);
        }
        self.with_items(|items| match items.first() {
            Some(item) => {
                let mut secret = item.get_secret().map_err(failure)?;
                self.remember(&item.item_path);
                // Items written by another program carry no names.
                self.strip_names(&mut secret);
                Ok(secret)
            }
            None => Err(Error::NoEntry),
        })
    }

    fn delete_credential(&self) -> Result<()> {
        self.with_items(|items| {
            if items.is_empty() {
                return Err(Error::NoEntry);
            }
            items
                .iter()
                .try_for_each(|item| item.delete().map_err(failure))
        })
    }

    fn get_credential(&self) -> Result<Option<Arc<Credential>>> {
        self.with_items(|items| {
            if items.is_empty() {
                Err(Error::NoEntry)
            } else {
                Ok(None)
            }
        })
    }

    fn get_specifiers(&self) -> Option<(String, String)> {
        Some((self.service.clone(), self.user.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The collection an alias names; `None` for an alias that names none.
fn read_alias(bus: &Connection, alias: &str) -> Result<Option<OwnedObjectPath>> {
    let reply = bus.call_method(
        Some(SERVICE_NAME),
        SERVICE_PATH,
        Some(SERVICE_INTERFACE),
        "ReadAlias",
        &(alias,),
    );
    let path: OwnedObjectPath = match reply {
        Ok(reply) => reply.body().deserialize().map_err(zbus_failure)?,
        // A service that knows no such alias may say so with an error.
        Err(zbus::Error::MethodError(..)) => return Ok(None),
        Err(err) => return Err(zbus_failure(err)),
    };
    Ok((path.as_str() != "/").then_some(path))
}

fn is_locked(err: &secret_service::Error) -> bool {
    matches!(err, secret_service::Error::Locked) || err.to_string().contains("IsLocked")
}

/// Keeps the secret-service error itself inside keyring-core's, so that
/// `platform::describe` can name the cause. None of these carry secret bytes.
fn failure(err: secret_service::Error) -> Error {
    use secret_service::Error as E;
    match err {
        E::Unavailable | E::Locked | E::Prompt | E::PromptDisconnected => {
            Error::NoStorageAccess(Box::new(err))
        }
        other => Error::PlatformFailure(Box::new(other)),
    }
}

/// As the secret-service crate reads a failure to reach the bus.
fn connection_failure(err: zbus::Error) -> secret_service::Error {
    match err {
        zbus::Error::InterfaceNotFound | zbus::Error::Address(_) => {
            secret_service::Error::Unavailable
        }
        zbus::Error::InputOutput(err) if err.kind() == std::io::ErrorKind::NotFound => {
            secret_service::Error::Unavailable
        }
        err => err.into(),
    }
}

fn zbus_failure(err: zbus::Error) -> Error {
    failure(secret_service::Error::Zbus(err))
}

fn poisoned() -> Error {
    Error::PlatformFailure("the keychain connection lock was poisoned".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(modifiers: &[(&str, &str)]) -> Result<Entry> {
        let modifiers: HashMap<&str, &str> = modifiers.iter().copied().collect();
        Store::new(false, false).build(
            "git-credential-patrol:https://example.com",
            "alice",
            Some(&modifiers),
        )
    }

    #[test]
    fn an_item_hint_must_be_an_object_path() {
        let entry = build(&[(ITEM, "/org/freedesktop/secrets/collection/login/7")]).unwrap();
        assert_eq!(located(&entry), None, "nothing is located before a call");
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
