//! The Secret Service client: every D-Bus call the store makes, over one
//! zbus connection per process, the secret-service crate on it for an
//! encrypted session, and a plain session of our own ([`super::own`]) for
//! reading an item by its path, with zbus asked instead when that cannot
//! serve.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use keyring_core::{Error, Result};
use secret_service::EncryptionType;
use secret_service::blocking::SecretService;
use zbus::blocking::Connection;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};
use zeroize::Zeroizing;

use super::failure::{
    Failure, Kind, Provider, access, clone_zbus, dbus_error_name, fail, kind_at, kind_of,
};
use super::own::{Own, SecretsReply, open_own, read_own, secret_in, secrets_in, take_early};
use super::{
    Destination, GREETING, ITEM_INTERFACE, NO_PROMPT, PROMPT_INTERFACE, PROPERTIES_INTERFACE, Read,
    SERVICE_INTERFACE, SERVICE_NAME, SERVICE_PATH,
};

pub(super) struct Inner {
    pub(super) encrypted: bool,
    /// `patrol.allowMemoryOnly`: writing into a temporary collection is
    /// allowed.
    pub(super) memory_only: bool,
    /// Where new items go, found before the first write.
    pub(super) destination: Mutex<Option<Destination>>,
    /// How long a provider's prompt may stay open before it is dismissed:
    /// shorter than the keychain's own timeout, so that the message can
    /// still say who was waiting for what.
    prompt_deadline: Duration,
    bus: Mutex<Option<Connection>>,
    /// The secret-service crate's client, over `bus`, for creating items
    /// and for every secret moved in an encrypted session.
    service: Mutex<Option<Arc<SecretService<'static>>>>,
    /// A plain session of our own on `bus`.
    plain_session: Mutex<Option<OwnedObjectPath>>,
    /// Our own connection with a plain session, for reading an item's
    /// secret and attributes (plain sessions only): opened by
    /// `connect_early`, or on the first such read.
    own: Mutex<Own>,
    /// How long our own connection may keep a read waiting, opening it
    /// included, before zbus is asked instead: half the keychain's
    /// timeout, so that a bus or provider that mishandles it costs time,
    /// never the answer.
    own_patience: Duration,
    /// Whether `bus` has asked the provider anything yet (see `greet`).
    greeted: AtomicBool,
}

impl Inner {
    /// `timeout` is the keychain's: prompts are dismissed before it passes.
    pub(super) fn new(encrypted: bool, memory_only: bool, timeout: Duration) -> Self {
        Self {
            encrypted,
            memory_only,
            destination: Mutex::new(None),
            prompt_deadline: timeout * 3 / 4,
            bus: Mutex::new(None),
            service: Mutex::new(None),
            plain_session: Mutex::new(None),
            own: Mutex::new(Own::Untried),
            own_patience: timeout / 2,
            greeted: AtomicBool::new(false),
        }
    }

    /// The bus, for a call to the provider. What `connect_early` was
    /// opening is answered first, so that the provider has served the
    /// early session's `OpenSession` before it hears from this connection.
    /// (An encrypted session's `OpenSession` sent beside the early one
    /// failed once in a full test run.)
    pub(super) fn bus(&self) -> Result<Connection> {
        self.settle_early(Instant::now() + self.own_patience)?;
        self.connected()
    }

    /// Waits for what `connect_early` was opening, if anything, once and
    /// until `deadline` at most, and keeps it when this store uses plain
    /// sessions.
    fn settle_early(&self, deadline: Instant) -> Result<()> {
        let mut own = self.own.lock().map_err(|_| poisoned())?;
        if matches!(*own, Own::Untried)
            && let Some(opened) = take_early(deadline)
        {
            *own = match opened {
                Some(opened) if !self.encrypted => Own::Open(opened),
                _ => Own::Unusable,
            };
        }
        Ok(())
    }

    /// The bus, connected, for questions to the bus itself.
    pub(super) fn connected(&self) -> Result<Connection> {
        let mut slot = self.bus.lock().map_err(|_| poisoned())?;
        if let Some(bus) = slot.as_ref() {
            return Ok(bus.clone());
        }
        let bus = Connection::session().map_err(|err| fail(Kind::NoBus, None, &err))?;
        *slot = Some(bus.clone());
        Ok(bus)
    }

    /// `secret_and_attributes` (plain) over our own connection, opened now
    /// if `connect_early` did not; `None` when it cannot be had, or failed
    /// just now (and is given up).
    fn read_own(&self, path: &OwnedObjectPath) -> Result<Option<Option<Read>>> {
        let deadline = Instant::now() + self.own_patience;
        self.settle_early(deadline)?;
        let mut own = self.own.lock().map_err(|_| poisoned())?;
        if matches!(*own, Own::Untried) {
            *own = match open_own(Some(deadline)) {
                Ok(Some(opened)) => Own::Open(opened),
                Ok(None) => Own::Unusable,
                Err(err) => {
                    crate::trace!("session bus: no own connection ({err}); asking through zbus");
                    Own::Unusable
                }
            };
        }
        let Own::Open(opened) = &mut *own else {
            return Ok(None);
        };
        opened.wire.until(deadline);
        match read_own(opened, path) {
            Ok(read) => Ok(Some(read)),
            Err(err) => {
                crate::trace!(
                    "session bus: our own connection failed ({err}); asking through zbus"
                );
                *own = Own::Unusable;
                Ok(None)
            }
        }
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
        let bus = self.bus()?;
        self.greet(&bus);
        let service = SecretService::connect_with_existing(encryption, bus);
        let service = Arc::new(service.map_err(|err| self.crate_failure(err))?);
        *slot = Some(Arc::clone(&service));
        Ok(service)
    }

    fn plain_session(&self, bus: &Connection) -> Result<OwnedObjectPath> {
        let mut slot = self.plain_session.lock().map_err(|_| poisoned())?;
        if let Some(session) = slot.as_ref() {
            return Ok(session.clone());
        }
        self.greet(bus);
        let reply = bus
            .call_method(
                Some(SERVICE_NAME),
                SERVICE_PATH,
                Some(SERVICE_INTERFACE),
                "OpenSession",
                &("plain", Value::from("")),
            )
            .map_err(|err| self.failure(err))?;
        let (_, session): (OwnedValue, OwnedObjectPath) = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        crate::trace!("session bus: plain session opened");
        *slot = Some(session.clone());
        Ok(session)
    }

    /// Before this connection's first `OpenSession`, one question that
    /// needs no session (`ReadAlias`, whose answer is not used), as our own
    /// connection asks too (`open_own`). gnome-keyring sometimes aborts when
    /// a caller's first message is an `OpenSession` and callers follow each
    /// other closely; asked this way first, 33,000 `get`s in a row met no
    /// abort (docs/architecture.md, "gnome-keyring's race on the first
    /// call"). Asked once: any earlier call to the provider counts.
    fn greet(&self, bus: &Connection) {
        if !self.greeted.swap(true, Ordering::Relaxed) {
            let _ = bus.call_method(
                Some(SERVICE_NAME),
                SERVICE_PATH,
                Some(SERVICE_INTERFACE),
                "ReadAlias",
                &(GREETING,),
            );
        }
    }

    /// Who owns the service's name: asked of the bus, not of the provider,
    /// so a provider that hangs cannot hold this up.
    pub(super) fn provider(&self) -> Option<Provider> {
        let bus = self.bus.try_lock().ok()?.as_ref()?.clone();
        let reply = bus
            .call_method(
                Some("org.freedesktop.DBus"),
                "/org/freedesktop/DBus",
                Some("org.freedesktop.DBus"),
                "GetConnectionUnixProcessID",
                &(SERVICE_NAME,),
            )
            .ok()?;
        let pid: u32 = reply.body().deserialize().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        Some(Provider::from_comm(comm.trim_end()))
    }

    /// Whether the provider hands back exactly the bytes it was given, so
    /// that a write needs no read-back: GNOME Keyring. Any other provider,
    /// or one that cannot be told, may not (KeePassXC expands placeholders).
    pub(super) fn keeps_secrets_as_given(&self) -> bool {
        self.provider() == Some(Provider::GnomeKeyring)
    }

    /// A zbus failure, sorted by its D-Bus error name.
    pub(super) fn failure(&self, err: impl Into<zbus::Error>) -> Error {
        self.failure_at("", err)
    }

    /// `failure` of a call addressed to `path`, which can change its kind
    /// (see `kind_at`).
    fn failure_at(&self, path: &str, err: impl Into<zbus::Error>) -> Error {
        let err = err.into();
        let kind = match dbus_error_name(&err) {
            Some(name) => kind_at(path, &name),
            None => Kind::Other,
        };
        let provider = match kind {
            Kind::NoBus | Kind::NoProvider => None,
            _ => self.provider(),
        };
        fail(kind, provider, &err)
    }

    /// A failure of the secret-service crate, sorted the same way.
    pub(super) fn crate_failure(&self, err: secret_service::Error) -> Error {
        use secret_service::Error as E;
        let kind = match &err {
            E::Zbus(err) => return self.failure(clone_zbus(err)),
            E::ZbusFdo(err) => kind_of(&zbus::DBusError::name(err)),
            E::Locked => Kind::Locked,
            E::Prompt | E::PromptDisconnected => Kind::Dismissed("its prompt".into()),
            E::Unavailable => Kind::NoProvider,
            E::Crypto(_) | E::Zvariant(_) | E::NoResult => Kind::Other,
            _ => Kind::Other,
        };
        fail(kind.clone(), self.provider(), &err)
    }

    /// One call to the service or an item, its failure sorted by name.
    pub(super) fn call<B>(
        &self,
        path: &ObjectPath<'_>,
        interface: &str,
        method: &str,
        body: &B,
    ) -> Result<zbus::Message>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let bus = self.bus()?;
        self.greeted.store(true, Ordering::Relaxed);
        let call = || bus.call_method(Some(SERVICE_NAME), path, Some(interface), method, body);
        let not_serving = |err: &zbus::Error| {
            dbus_error_name(err)
                .is_some_and(|name| kind_at(path.as_str(), &name) == Kind::NotServing)
        };
        // gnome-keyring now and then answers a caller's first message this
        // way, when it holds no record of the caller yet (see
        // `secret_and_attributes`); the same call asked again is served.
        let answer = match call() {
            Err(err) if not_serving(&err) => {
                crate::trace!("{method}: the service was not serving yet; asking once more");
                call()
            }
            answer => answer,
        };
        answer.map_err(|err| self.failure_at(path.as_str(), err))
    }

    /// Our items that carry exactly `attributes`: unlocked, then locked.
    pub(super) fn search(
        &self,
        attributes: &HashMap<&str, &str>,
    ) -> Result<(Vec<OwnedObjectPath>, Vec<OwnedObjectPath>)> {
        let reply = self.call(
            &ObjectPath::from_static_str_unchecked(SERVICE_PATH),
            SERVICE_INTERFACE,
            "SearchItems",
            &(attributes,),
        )?;
        reply.body().deserialize().map_err(|err| self.failure(err))
    }

    pub(super) fn attributes_of(&self, path: &OwnedObjectPath) -> Result<HashMap<String, String>> {
        self.property(path, ITEM_INTERFACE, "Attributes")
    }

    /// The property `name` of `interface` on the object at `path`.
    pub(super) fn property<T>(
        &self,
        path: &ObjectPath<'_>,
        interface: &str,
        name: &str,
    ) -> Result<T>
    where
        T: TryFrom<OwnedValue>,
        T::Error: Into<zbus::Error>,
    {
        let reply = self.call(path, PROPERTIES_INTERFACE, "Get", &(interface, name))?;
        let value: OwnedValue = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        T::try_from(value).map_err(|err| self.failure(err))
    }

    /// The secret stored at `path`, fetched with one call to the service;
    /// `None` when the answer holds none.
    pub(super) fn secret_at(&self, path: &OwnedObjectPath) -> Result<Option<Vec<u8>>> {
        if self.encrypted {
            let service = self.connection()?;
            let item = service
                .get_item_by_path(path.clone())
                .map_err(|err| self.crate_failure(err))?;
            return match item.get_secret() {
                Ok(secret) => Ok(Some(secret)),
                // Refused for this path, as in a plain session: the search
                // decides. Anything else (no answer, a secret that does
                // not decrypt) is a failure, not an absent secret.
                Err(secret_service::Error::Zbus(zbus::Error::MethodError(..))) => Ok(None),
                Err(err) => Err(self.crate_failure(err)),
            };
        }
        let bus = self.bus()?;
        let session = self.plain_session(&bus)?;
        let reply = self.call(
            &ObjectPath::from_static_str_unchecked(SERVICE_PATH),
            SERVICE_INTERFACE,
            "GetSecrets",
            &(vec![path], &session),
        )?;
        let secrets: SecretsReply = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        Ok(secret_in(secrets, path).unwrap_or_else(|err| {
            crate::trace!("session bus: {err}; the search decides");
            None
        }))
    }

    /// The secrets of the items at `paths`, by path, in one `GetSecrets`
    /// call: for a rebuild, which reads every item of ours. `None` in an
    /// encrypted session (each item is then read alone); an item the reply
    /// leaves out (locked, gone) is absent, and any secret of an item not
    /// asked for is dropped.
    pub(super) fn secrets_together(
        &self,
        paths: &[OwnedObjectPath],
    ) -> Result<Option<HashMap<OwnedObjectPath, Vec<u8>>>> {
        if self.encrypted {
            return Ok(None);
        }
        let session = self.plain_session(&self.bus()?)?;
        let reply = self.call(
            &ObjectPath::from_static_str_unchecked(SERVICE_PATH),
            SERVICE_INTERFACE,
            "GetSecrets",
            &(paths, &session),
        )?;
        let secrets: SecretsReply = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        Ok(Some(secrets_in(secrets, paths).0))
    }

    /// The secret at `path` and the item's attributes: over our own
    /// connection in a plain session, both asked for at the same time;
    /// otherwise, or when that connection cannot serve, through zbus, one
    /// call after the other. `None` when the provider gives either no
    /// secret or no attributes for it.
    pub(super) fn secret_and_attributes(&self, path: &OwnedObjectPath) -> Result<Option<Read>> {
        if !self.encrypted
            && let Some(read) = self.read_own(path)?
        {
            return Ok(read);
        }
        // The session first, alone, and its failure reported: gnome-keyring
        // was seen to abort on a property read that was a caller's first
        // message. (A process's first `OpenSession` is preceded by `greet`'s
        // question.)
        if self.encrypted {
            self.connection()?;
        } else {
            self.plain_session(&self.bus()?)?;
        }
        // Refused for this path (gone, locked, not an item): the search
        // decides, and meets any failure again.
        let Some(secret) = self.secret_at(path).ok().flatten() else {
            return Ok(None);
        };
        let mut secret = Zeroizing::new(secret);
        let Ok(attributes) = self.attributes_of(path) else {
            return Ok(None);
        };
        Ok(Some((std::mem::take(&mut *secret), attributes)))
    }

    /// Replaces the secret of the item at `path`; no prompt is involved.
    pub(super) fn replace_secret(&self, path: &OwnedObjectPath, secret: &[u8]) -> Result<()> {
        if self.encrypted {
            let service = self.connection()?;
            let item = service
                .get_item_by_path(path.clone())
                .map_err(|err| self.crate_failure(err))?;
            return item
                .set_secret(secret, "text/plain")
                .map_err(|err| self.crate_failure(err));
        }
        let bus = self.bus()?;
        let session = self.plain_session(&bus)?;
        self.call(
            path,
            ITEM_INTERFACE,
            "SetSecret",
            &((&session, Vec::<u8>::new(), secret, "text/plain"),),
        )?;
        Ok(())
    }

    /// A new item, never replacing one: the caller has looked first.
    pub(super) fn create(
        &self,
        label: &str,
        attributes: HashMap<&str, &str>,
        secret: &[u8],
    ) -> Result<OwnedObjectPath> {
        let collection = self.collection()?;
        match self.create_in(&collection, label, &attributes, secret) {
            Err(Error::NoStorageAccess(failure))
                if failure
                    .downcast_ref::<Failure>()
                    .is_some_and(|f| f.kind == Kind::Locked) =>
            {
                self.unlock(
                    std::slice::from_ref(&collection),
                    "to unlock the collection for a new item",
                )?;
                self.create_in(&collection, label, &attributes, secret)
            }
            created => created,
        }
    }

    fn create_in(
        &self,
        collection: &OwnedObjectPath,
        label: &str,
        attributes: &HashMap<&str, &str>,
        secret: &[u8],
    ) -> Result<OwnedObjectPath> {
        if self.encrypted {
            // The crate encrypts; it also waits for any prompt itself, and
            // the keychain's timeout bounds that wait.
            let service = self.connection()?;
            let collection = service
                .get_collection_by_path(collection.clone())
                .map_err(|err| self.crate_failure(err))?;
            let item = collection
                .create_item(label, attributes.clone(), secret, false, "text/plain")
                .map_err(|err| self.crate_failure(err))?;
            return Ok(item.item_path.clone());
        }
        let bus = self.bus()?;
        let session = self.plain_session(&bus)?;
        let properties = HashMap::from([
            ("org.freedesktop.Secret.Item.Label", Value::from(label)),
            (
                "org.freedesktop.Secret.Item.Attributes",
                Value::from(attributes.clone()),
            ),
        ]);
        let reply = self.call(
            collection,
            "org.freedesktop.Secret.Collection",
            "CreateItem",
            &(
                properties,
                (&session, Vec::<u8>::new(), secret, "text/plain"),
                false,
            ),
        )?;
        let (item, prompt): (OwnedObjectPath, OwnedObjectPath) = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        if prompt.as_str() == NO_PROMPT {
            return Ok(item);
        }
        // KeePassXC answers every CreateItem with a prompt, whose result is
        // the new item's path.
        let created = self.prompt(&prompt, "to create the item")?;
        OwnedObjectPath::try_from(created).map_err(|err| self.failure(err))
    }

    /// Unlocks `paths`, through the provider's prompt when it shows one.
    pub(super) fn unlock(&self, paths: &[OwnedObjectPath], what: &str) -> Result<()> {
        let reply = self.call(
            &ObjectPath::from_static_str_unchecked(SERVICE_PATH),
            SERVICE_INTERFACE,
            "Unlock",
            &(paths,),
        )?;
        let (_, prompt): (Vec<OwnedObjectPath>, OwnedObjectPath) = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        self.prompt(&prompt, what)
            .map(drop)
            .map_err(|err| match err {
                Error::NoStorageAccess(inner) => match inner.downcast::<Failure>() {
                    Ok(failure) if matches!(failure.kind, Kind::Dismissed(_)) => {
                        Error::NoStorageAccess(Box::new(Failure {
                            kind: Kind::Locked,
                            ..*failure
                        }))
                    }
                    Ok(failure) => Error::NoStorageAccess(failure),
                    Err(inner) => Error::NoStorageAccess(inner),
                },
                other => other,
            })
    }

    /// Deletes the item at `path`, through the provider's prompt when it
    /// shows one (KeePassXC's deletion confirmation).
    pub(super) fn delete(&self, path: &OwnedObjectPath) -> Result<()> {
        let reply = self.call(path, ITEM_INTERFACE, "Delete", &())?;
        let prompt: OwnedObjectPath = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        self.prompt(&prompt, "to confirm deleting the item")
            .map(drop)
    }

    /// Runs the provider's prompt at `prompt` (when there is one) until it
    /// completes, or dismisses it when the deadline passes first.
    fn prompt(&self, prompt: &OwnedObjectPath, what: &str) -> Result<OwnedValue> {
        if prompt.as_str() == NO_PROMPT {
            return Ok(OwnedValue::from(false));
        }
        let bus = self.bus()?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(PROMPT_INTERFACE)
            .and_then(|rule| rule.member("Completed"))
            .and_then(|rule| rule.path(prompt.as_ref()))
            .map_err(|err| self.failure(err))?
            .build();
        let mut completed = zbus::blocking::MessageIterator::for_match_rule(rule, &bus, Some(1))
            .map_err(|err| self.failure(err))?;
        self.call(prompt, PROMPT_INTERFACE, "Prompt", &("",))?;
        let (sender, receiver) = mpsc::sync_channel(1);
        // A thread of its own, so that waiting can end at the deadline; it
        // is left behind if the signal never comes.
        thread::spawn(move || {
            let _ = sender.send(completed.next());
        });
        match receiver.recv_timeout(self.prompt_deadline) {
            Ok(Some(Ok(signal))) => {
                let (dismissed, result): (bool, OwnedValue) = signal
                    .body()
                    .deserialize()
                    .map_err(|err| self.failure(err))?;
                if dismissed {
                    Err(access(Kind::Dismissed(what.into()), self.provider(), what))
                } else {
                    Ok(result)
                }
            }
            Ok(_) => Err(access(Kind::Dismissed(what.into()), self.provider(), what)),
            Err(_) => {
                let _ = self.call(prompt, PROMPT_INTERFACE, "Dismiss", &());
                Err(access(
                    Kind::PromptTimedOut(what.into()),
                    self.provider(),
                    &format!(
                        "not answered within {} s",
                        self.prompt_deadline.as_secs_f32()
                    ),
                ))
            }
        }
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("encrypted", &self.encrypted)
            .finish()
    }
}

pub(super) fn poisoned() -> Error {
    Error::PlatformFailure("the keychain connection lock was poisoned".into())
}
