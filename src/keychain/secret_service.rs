//! A keyring-core store for the Linux Secret Service (GNOME Keyring,
//! KeePassXC, KDE 6's KWallet), built on the secret-service crate and zbus.
//!
//! It opens a plain session by default (an encrypted one with
//! `patrol.secretServiceSession = dh`). An item read by its path in a plain
//! session (a hit of `get`, the comparison of an unchanged `store`) goes
//! over a connection of our own ([`super::wire`]), which a command may open
//! early with [`connect_early`], on a thread of its own while `git config`
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
//! bus name ([`Failure`]).
//!
//! Why each of these is so is written once, in docs/architecture.md ("The
//! hot path: `get`" and "The keychain").

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use keyring_core::api::{CredentialApi, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use secret_service::EncryptionType;
use secret_service::blocking::SecretService;
use zbus::blocking::Connection;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

use super::KeychainError;
use super::wire::{Call, Reply, Wire};

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

type SecretStruct = (OwnedObjectPath, Vec<u8>, Vec<u8>, String);
/// A secret as read, and the attributes of the item it was read from.
type Read = (Vec<u8>, HashMap<String, String>);

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

impl Store {
    /// `timeout` is the keychain's: prompts are dismissed before it passes.
    pub fn new(encrypted: bool, memory_only: bool, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(Inner {
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
            }),
        })
    }
}

/// The program that owns `org.freedesktop.secrets`, as far as it can be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    GnomeKeyring,
    KeePassXc,
    KWallet,
    /// Another program, by its process name.
    Other(String),
}

impl Provider {
    /// From the process name the kernel keeps (at most 15 bytes).
    fn from_comm(comm: &str) -> Self {
        match comm {
            "gnome-keyring-d" | "gnome-keyring-daemon" => Self::GnomeKeyring,
            "keepassxc" => Self::KeePassXc,
            "kwalletd5" | "kwalletd6" | "ksecretd" => Self::KWallet,
            other => Self::Other(other.to_owned()),
        }
    }

    /// What to know about this provider before trusting it with tokens.
    pub fn notes(&self) -> &'static [&'static str] {
        match self {
            Self::KeePassXc => &[
                "KeePassXC keeps only what is stored in the group exposed under Database \
                 Settings > Secret Service Integration, and only while that database is open \
                 and unlocked",
                "KeePassXC moves erased tokens to its Recycle Bin, so they stay in the .kdbx \
                 file until the bin is emptied (Database > Empty Recycle Bin), unless the \
                 Recycle Bin is turned off in Database Settings",
                "with \"Confirm when passwords are retrieved by clients\" on (Settings > Secret \
                 Service Integration), every git operation waits for KeePassXC's dialog",
            ],
            Self::GnomeKeyring => &[
                "GNOME Keyring keeps tokens in the login keyring, which is locked until the \
                 person logs in with a password (an automatic login leaves it locked)",
            ],
            Self::KWallet => &[
                "KWallet provides the Secret Service only from KDE 6 (kwalletd6); its wallet \
                 must be open",
            ],
            Self::Other(_) => &[],
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::GnomeKeyring => f.write_str("GNOME Keyring"),
            Self::KeePassXc => f.write_str("KeePassXC"),
            Self::KWallet => f.write_str("KWallet"),
            Self::Other(comm) => write!(
                f,
                "the Secret Service provider `{}`",
                crate::terminal::escape(comm)
            ),
        }
    }
}

/// What went wrong, sorted by the D-Bus error name the provider gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// There is no session bus to talk to.
    NoBus,
    /// Nobody owns `org.freedesktop.secrets`.
    NoProvider,
    /// The item or collection is locked and was not unlocked.
    Locked,
    /// The provider refused the request (a secret it will not keep, say).
    Refused,
    /// The object named is not there (any more).
    Missing,
    /// The service's own object does not know the Secret Service's
    /// methods: the provider is not serving (starting up, stopping, or
    /// broken), which says nothing about any item.
    NotServing,
    /// The provider's prompt was still open at the deadline and was
    /// dismissed; says what it was asking for.
    PromptTimedOut(String),
    /// The provider's prompt was dismissed; says what it was asking for.
    Dismissed(String),
    /// The provider would hand back something other than what was just
    /// written; the item was removed.
    Altered,
    /// The bus or the provider gave up waiting.
    TimedOut,
    Other,
}

/// A Secret Service failure: its kind, who answered, and what they said
/// (D-Bus error text, never secret bytes).
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub provider: Option<Provider>,
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for Failure {}

impl Failure {
    /// The cause and the fix, for this provider.
    pub fn describe(&self) -> KeychainError {
        let who = self
            .provider
            .as_ref()
            .map_or_else(|| "the Secret Service".to_owned(), Provider::to_string);
        let detail = crate::terminal::escape(&self.detail);
        match &self.kind {
            Kind::NoBus if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() => {
                super::fixes::no_bus()
            }
            Kind::NoBus => KeychainError::Unavailable {
                cause: format!("the D-Bus session bus cannot be reached ({detail})"),
                fix: super::fixes::headless_fix(),
            },
            Kind::NoProvider => KeychainError::Unavailable {
                cause: "no Secret Service (org.freedesktop.secrets) is running on the session bus"
                    .into(),
                fix: super::fixes::headless_fix(),
            },
            Kind::Locked => KeychainError::Locked {
                what: locked_what(self.provider.as_ref()),
                fix: unlock_fix(self.provider.as_ref()),
            },
            Kind::PromptTimedOut(what) => KeychainError::Failed(format!(
                "{who} kept a dialog open ({what}) until the deadline, and it was dismissed; {}",
                dialog_fix(self.provider.as_ref())
            )),
            Kind::Dismissed(what) => KeychainError::Failed(format!(
                "{who}'s dialog ({what}) was dismissed; {}",
                dialog_fix(self.provider.as_ref())
            )),
            Kind::Refused => KeychainError::Failed(format!(
                "{who} refused it ({detail}){}",
                if self.provider == Some(Provider::KeePassXc) {
                    "; KeePassXC refuses a password that begins like one of its field \
                     references (`{REF:`)"
                } else {
                    ""
                }
            )),
            Kind::Altered => KeychainError::Altered(format!(
                "{who} would hand back a different secret than the one written{}, so the \
                 item was removed and nothing is stored for this credential",
                if self.provider == Some(Provider::KeePassXc) {
                    " (KeePassXC expands placeholders such as `{TITLE}` or `{REF:…}` in \
                     passwords)"
                } else {
                    ""
                }
            )),
            Kind::Missing => {
                KeychainError::Failed(format!("{who} no longer has the item ({detail})"))
            }
            Kind::NotServing => KeychainError::Failed(format!(
                "{who} does not answer as a Secret Service ({detail}); {}, and try again",
                if self.provider == Some(Provider::GnomeKeyring) {
                    "restart it with `gnome-keyring-daemon --replace --components=secrets` \
                     (or log out and in again)"
                } else {
                    "restart it (or log out and in again)"
                }
            )),
            Kind::TimedOut => KeychainError::Failed(format!("{who} did not answer ({detail})")),
            Kind::Other => KeychainError::Failed(format!("{who}: {detail}")),
        }
    }
}

fn locked_what(provider: Option<&Provider>) -> String {
    match provider {
        Some(Provider::KeePassXc) => "the KeePassXC database".into(),
        Some(Provider::GnomeKeyring) => "GNOME Keyring's login keyring".into(),
        Some(Provider::KWallet) => "the KWallet wallet".into(),
        Some(other) => format!("the keychain of {other}"),
        None => "the keychain".into(),
    }
}

fn unlock_fix(provider: Option<&Provider>) -> String {
    match provider {
        Some(Provider::KeePassXc) => "unlock the database in KeePassXC (the one whose group is \
            exposed under Database Settings > Secret Service Integration) and try again"
            .into(),
        Some(Provider::KWallet) => "open the wallet in KWalletManager and try again".into(),
        Some(Provider::Other(_)) => "unlock it with its own program and try again".into(),
        Some(Provider::GnomeKeyring) | None => super::fixes::gnome_keyring_unlock_fix(),
    }
}

fn dialog_fix(provider: Option<&Provider>) -> String {
    match provider {
        Some(Provider::KeePassXc) => "answer KeePassXC's dialog, or turn off \"Confirm when \
            passwords are retrieved by clients\" and \"Confirm when clients request entry \
            deletion\" under Settings > Secret Service Integration, and try again"
            .into(),
        _ => "answer the dialog on the desktop, or raise `git config --global \
              patrol.keychainTimeout`, and try again"
            .into(),
    }
}

/// What [`connect_early`] is opening, for the first store of the process
/// to take.
static EARLY: Mutex<Option<mpsc::Receiver<Option<Opened>>>> = Mutex::new(None);

/// A connection of our own ([`super::wire`]) with a plain session open on it.
struct Opened {
    wire: Wire,
    session: OwnedObjectPath,
}

/// Where a store stands with its own connection.
enum Own {
    /// Neither opened nor tried: opened on the first read by path.
    Untried,
    Open(Opened),
    /// It failed, or opening it did; everything goes through zbus.
    Unusable,
}

/// Starts connecting to the session bus now, on a thread of its own, and
/// opens a plain session there with a provider that is running.
pub fn connect_early() {
    let Ok(mut early) = EARLY.lock() else {
        return;
    };
    if early.is_some() {
        return;
    }
    let (sender, receiver) = mpsc::sync_channel(1);
    let started = thread::Builder::new().name("bus".into()).spawn(move || {
        let opened = open_own(None).inspect_err(|err| {
            crate::trace!("session bus: no early session ({err}); calls go through zbus");
        });
        let _ = sender.send(opened.ok().flatten());
    });
    if started.is_ok() {
        crate::trace!("session bus: connecting while the settings are read");
        *early = Some(receiver);
    }
}

/// Connects, asks `greet`'s question and, once it is answered, opens a
/// plain session, all without D-Bus activation; `None` when no provider is
/// running or it answers the question with an error, an `Err` when the
/// connection itself fails. Either way the ordinary path then meets the
/// failure again and reports it. `None` for a `deadline` is for
/// [`connect_early`], whose caller bounds its wait instead.
fn open_own(deadline: Option<Instant>) -> std::io::Result<Option<Opened>> {
    let greeting = Call::new(
        SERVICE_NAME,
        SERVICE_PATH,
        SERVICE_INTERFACE,
        "ReadAlias",
        false,
        &(GREETING,),
    )?;
    let (mut wire, greeted) = Wire::open(greeting, deadline)?;
    if let Reply::Error(name) = greeted {
        crate::trace!("session bus: the provider answered the greeting with {name}");
        return Ok(None);
    }
    let open = Call::new(
        SERVICE_NAME,
        SERVICE_PATH,
        SERVICE_INTERFACE,
        "OpenSession",
        false,
        &("plain", Value::from("")),
    )?;
    let Some(Reply::Return(opened)) = wire.call(&[open])?.pop() else {
        return Ok(None);
    };
    let (_, session): (OwnedValue, OwnedObjectPath) = opened.decode()?;
    if deadline.is_none() {
        crate::trace!("session bus: plain session opened while the settings are read");
    } else {
        crate::trace!("session bus: plain session opened on our own connection");
    }
    Ok(Some(Opened { wire, session }))
}

/// What `connect_early` opened, waiting until `deadline` at most; `None`
/// when it was never started.
fn take_early(deadline: Instant) -> Option<Option<Opened>> {
    let receiver = EARLY.lock().ok()?.take()?;
    match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(opened) => Some(opened),
        Err(_) => {
            crate::trace!("session bus: the early session is late; calls go through zbus");
            Some(None)
        }
    }
}

/// An item's secret and attributes, asked for at the same time over our
/// own connection; `None` when the provider refuses either (the item is
/// gone, locked, or no item).
fn read_own(own: &mut Opened, path: &OwnedObjectPath) -> std::io::Result<Option<Read>> {
    let secret = Call::new(
        SERVICE_NAME,
        SERVICE_PATH,
        SERVICE_INTERFACE,
        "GetSecrets",
        true,
        &(vec![path], &own.session),
    )?;
    let attributes = Call::new(
        SERVICE_NAME,
        path.as_str(),
        PROPERTIES_INTERFACE,
        "Get",
        true,
        &(ITEM_INTERFACE, "Attributes"),
    )?;
    let replies = own.wire.call(&[secret, attributes])?;
    let [Reply::Return(secret), Reply::Return(attributes)] = replies.as_slice() else {
        return Ok(None);
    };
    let mut secrets: HashMap<OwnedObjectPath, SecretStruct> = secret.decode()?;
    let attributes: OwnedValue = attributes.decode()?;
    let attributes = HashMap::try_from(attributes).map_err(std::io::Error::other)?;
    // The attributes are those of `path`, and so must the secret be; no
    // secret at all is a provider's way of saying there is no such item.
    match secrets.remove(path) {
        Some((_, _, value, _)) => Ok(Some((value, attributes))),
        None if secrets.is_empty() => Ok(None),
        None => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a secret, but of another item than the one asked for",
        )),
    }
}

impl Inner {
    /// The bus, for a call to the provider. What `connect_early` was
    /// opening is answered first, so that the provider has served the
    /// early session's `OpenSession` before it hears from this connection.
    /// (An encrypted session's `OpenSession` sent beside the early one
    /// failed once in a full test run.)
    fn bus(&self) -> Result<Connection> {
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
    fn connected(&self) -> Result<Connection> {
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
    fn provider(&self) -> Option<Provider> {
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

    /// A zbus failure, sorted by its D-Bus error name.
    fn failure(&self, err: impl Into<zbus::Error>) -> Error {
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
    fn crate_failure(&self, err: secret_service::Error) -> Error {
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
    fn call<B>(
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
    fn search(
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

    fn attributes_of(&self, path: &OwnedObjectPath) -> Result<HashMap<String, String>> {
        let reply = self.call(
            path,
            PROPERTIES_INTERFACE,
            "Get",
            &(ITEM_INTERFACE, "Attributes"),
        )?;
        let value: OwnedValue = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        HashMap::try_from(value).map_err(|err| self.failure(err))
    }

    /// The secret stored at `path`, fetched with one call to the service;
    /// `None` when the answer holds none.
    fn secret_at(&self, path: &OwnedObjectPath) -> Result<Option<Vec<u8>>> {
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
        let mut secrets: HashMap<OwnedObjectPath, SecretStruct> = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        Ok(secrets.remove(path).map(|(_, _, value, _)| value))
    }

    /// The secret at `path` and the item's attributes, asked for at the same
    /// time (two calls on one connection cost little more than one); `None`
    /// when the provider gives either no secret or no attributes for it.
    fn secret_and_attributes(&self, path: &OwnedObjectPath) -> Result<Option<Read>> {
        // The session first, alone: gnome-keyring was seen to abort on a
        // property read that was a caller's first message, and this order
        // costs no extra round trip. (A process's first `OpenSession` is
        // preceded by `greet`'s question.)
        if self.encrypted {
            self.connection()?;
            let Ok(attributes) = self.attributes_of(path) else {
                return Ok(None);
            };
            return Ok(self.secret_at(path).ok().flatten().map(|s| (s, attributes)));
        }
        if let Some(read) = self.read_own(path)? {
            return Ok(read);
        }
        let bus = self.bus()?;
        let session = self.plain_session(&bus)?;
        let connection = bus.inner();
        let request = (vec![path], &session);
        let secret = connection.call_method(
            Some(SERVICE_NAME),
            SERVICE_PATH,
            Some(SERVICE_INTERFACE),
            "GetSecrets",
            &request,
        );
        let attributes = connection.call_method(
            Some(SERVICE_NAME),
            path,
            Some(PROPERTIES_INTERFACE),
            "Get",
            &(ITEM_INTERFACE, "Attributes"),
        );
        // Both travel at once: one round trip for the two answers.
        let (attributes, secret) =
            futures_lite::future::block_on(futures_lite::future::zip(attributes, secret));
        // Refused for this path (gone, locked, not an item): the search decides.
        let (Ok(secret), Ok(attributes)) = (secret, attributes) else {
            return Ok(None);
        };
        let mut secrets: HashMap<OwnedObjectPath, SecretStruct> = secret
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        let value: OwnedValue = attributes
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        let attributes = HashMap::try_from(value).map_err(|err| self.failure(err))?;
        Ok(secrets
            .remove(path)
            .map(|(_, _, value, _)| (value, attributes)))
    }

    /// Replaces the secret of the item at `path`; no prompt is involved.
    fn replace_secret(&self, path: &OwnedObjectPath, secret: &[u8]) -> Result<()> {
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

    /// The collection new items go to.
    fn collection(&self) -> Result<OwnedObjectPath> {
        Ok(self.writable_destination()?.collection)
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
        let session = self.read_alias("session")?;
        let mut candidates = Vec::new();
        for alias in ["default", "login"] {
            candidates.extend(self.read_alias(alias)?);
        }
        candidates.extend(self.collections()?);
        let temporary = |path: &OwnedObjectPath| {
            session.as_ref() == Some(path) || path.as_str().ends_with("/collection/session")
        };
        let chosen = candidates
            .iter()
            .find(|path| !temporary(path))
            .or(candidates.first())
            .ok_or_else(|| self.crate_failure(secret_service::Error::NoResult))?;
        let destination = Destination {
            collection: chosen.clone(),
            temporary: temporary(chosen),
        };
        *slot = Some(destination.clone());
        Ok(destination)
    }

    /// Every collection the service has, in its order.
    fn collections(&self) -> Result<Vec<OwnedObjectPath>> {
        let reply = self.call(
            &ObjectPath::from_static_str_unchecked(SERVICE_PATH),
            PROPERTIES_INTERFACE,
            "Get",
            &(SERVICE_INTERFACE, "Collections"),
        )?;
        let value: OwnedValue = reply
            .body()
            .deserialize()
            .map_err(|err| self.failure(err))?;
        Vec::<OwnedObjectPath>::try_from(value).map_err(|err| self.failure(err))
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

    /// The collection an alias names; `None` for an alias that names none.
    fn read_alias(&self, alias: &str) -> Result<Option<OwnedObjectPath>> {
        let reply = self.bus()?.call_method(
            Some(SERVICE_NAME),
            SERVICE_PATH,
            Some(SERVICE_INTERFACE),
            "ReadAlias",
            &(alias,),
        );
        let path: OwnedObjectPath = match reply {
            Ok(reply) => reply
                .body()
                .deserialize()
                .map_err(|err| self.failure(err))?,
            // A service that knows no such alias may say so with an error.
            Err(zbus::Error::MethodError(..)) => return Ok(None),
            Err(err) => return Err(self.failure(err)),
        };
        Ok((path.as_str() != "/").then_some(path))
    }

    /// A new item, never replacing one: the caller has looked first.
    fn create(
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
    fn unlock(&self, paths: &[OwnedObjectPath], what: &str) -> Result<()> {
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
    fn delete(&self, path: &OwnedObjectPath) -> Result<()> {
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

/// zbus errors are not `Clone`; only what sorting and messages need is kept.
fn clone_zbus(err: &zbus::Error) -> zbus::Error {
    match err {
        zbus::Error::MethodError(name, detail, reply) => {
            zbus::Error::MethodError(name.clone(), detail.clone(), reply.clone())
        }
        zbus::Error::InputOutput(io) => zbus::Error::InputOutput(Arc::clone(io)),
        other => zbus::Error::Failure(other.to_string()),
    }
}

fn dbus_error_name(err: &zbus::Error) -> Option<String> {
    match err {
        zbus::Error::MethodError(name, ..) => Some(name.as_str().to_owned()),
        zbus::Error::FDO(err) => Some(zbus::DBusError::name(err.as_ref()).as_str().to_owned()),
        _ => None,
    }
}

/// The category of a D-Bus error name from a call to `path`: an unknown
/// method or object at the service's own path is a provider that is not
/// serving, not a missing item.
fn kind_at(path: &str, name: &str) -> Kind {
    match kind_of(name) {
        Kind::Missing if path == SERVICE_PATH => Kind::NotServing,
        kind => kind,
    }
}

/// The category of a D-Bus error name (the Secret Service spec's own names,
/// and the bus's where providers use those).
fn kind_of(name: &str) -> Kind {
    match name {
        "org.freedesktop.Secret.Error.IsLocked" => Kind::Locked,
        "org.freedesktop.Secret.Error.NoSuchObject"
        | "org.freedesktop.DBus.Error.UnknownObject"
        | "org.freedesktop.DBus.Error.UnknownMethod"
        | "org.freedesktop.DBus.Error.UnknownInterface" => Kind::Missing,
        "org.freedesktop.DBus.Error.ServiceUnknown"
        | "org.freedesktop.DBus.Error.NameHasNoOwner" => Kind::NoProvider,
        "org.freedesktop.DBus.Error.InvalidArgs"
        | "org.freedesktop.DBus.Error.NotSupported"
        | "org.freedesktop.DBus.Error.AccessDenied"
        | "org.freedesktop.DBus.Error.Failed"
        | "org.freedesktop.Secret.Error.NoSession" => Kind::Refused,
        "org.freedesktop.DBus.Error.NoReply" | "org.freedesktop.DBus.Error.Timeout" => {
            Kind::TimedOut
        }
        _ => Kind::Other,
    }
}

/// keyring-core's error for a failure: no access when unlocking or a prompt
/// could help, a platform failure otherwise.
fn fail(kind: Kind, provider: Option<Provider>, err: &dyn fmt::Display) -> Error {
    access(kind, provider, &err.to_string())
}

fn access(kind: Kind, provider: Option<Provider>, detail: &str) -> Error {
    let no_access = matches!(
        kind,
        Kind::NoBus
            | Kind::NoProvider
            | Kind::Locked
            | Kind::Dismissed(_)
            | Kind::PromptTimedOut(_)
    );
    let failure = Box::new(Failure {
        kind,
        provider,
        detail: detail.to_owned(),
    });
    if no_access {
        Error::NoStorageAccess(failure)
    } else {
        Error::PlatformFailure(failure)
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
        let mut entries = Vec::new();
        // Attributes of locked items are readable too; only secrets are not.
        for path in unlocked.iter().chain(locked.iter()) {
            let attributes = self.inner.attributes_of(path)?;
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

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        let label = super::label_for(&self.service, &self.user);
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
        // Read back once: a provider may hand back something else than it
        // was given (KeePassXC expands placeholders such as `{TITLE}`).
        let back = zeroize::Zeroizing::new(self.inner.secret_at(&path)?.unwrap_or_default());
        if back.as_slice() != secret {
            self.inner.delete(&path)?;
            return Err(access(
                Kind::Altered,
                self.inner.provider(),
                "the secret read back differs from the one written",
            ));
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

fn poisoned() -> Error {
    Error::PlatformFailure("the keychain connection lock was poisoned".into())
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

    #[test]
    fn errors_are_sorted_by_their_d_bus_name_not_their_text() {
        assert_eq!(
            kind_of("org.freedesktop.Secret.Error.IsLocked"),
            Kind::Locked
        );
        assert_eq!(
            kind_of("org.freedesktop.DBus.Error.InvalidArgs"),
            Kind::Refused
        );
        assert_eq!(
            kind_of("org.freedesktop.Secret.Error.NoSuchObject"),
            Kind::Missing
        );
        assert_eq!(
            kind_of("org.freedesktop.DBus.Error.ServiceUnknown"),
            Kind::NoProvider
        );
        assert_eq!(
            kind_of("org.freedesktop.DBus.Error.NoReply"),
            Kind::TimedOut
        );
        // A message that merely talks about a prompt is not a locked keyring.
        assert_eq!(kind_of("org.example.Error.PromptIsLocked"), Kind::Other);
    }

    #[test]
    fn an_unknown_method_of_the_service_itself_is_no_missing_item() {
        let unknown = "org.freedesktop.DBus.Error.UnknownMethod";
        assert_eq!(kind_at(SERVICE_PATH, unknown), Kind::NotServing);
        assert_eq!(
            kind_at("/org/freedesktop/secrets/collection/login/7", unknown),
            Kind::Missing
        );
        assert_eq!(
            kind_at(SERVICE_PATH, "org.freedesktop.Secret.Error.IsLocked"),
            Kind::Locked
        );
    }

    #[test]
    fn providers_are_told_apart_by_their_process_name() {
        assert_eq!(
            Provider::from_comm("gnome-keyring-d"),
            Provider::GnomeKeyring
        );
        assert_eq!(Provider::from_comm("keepassxc"), Provider::KeePassXc);
        assert_eq!(Provider::from_comm("kwalletd6"), Provider::KWallet);
        assert_eq!(
            Provider::from_comm("odd\u{1b}[31m").to_string(),
            "the Secret Service provider `odd\\u{1b}[31m`"
        );
    }

    #[test]
    fn each_provider_gets_its_own_fix() {
        let failure = |kind, provider| Failure {
            kind,
            provider,
            detail: "org.freedesktop.DBus.Error.InvalidArgs: no".into(),
        };
        let locked = failure(Kind::Locked, Some(Provider::KeePassXc))
            .describe()
            .to_string();
        assert!(locked.contains("KeePassXC database is locked"), "{locked}");
        assert!(
            locked.contains("unlock the database in KeePassXC"),
            "{locked}"
        );
        assert!(!locked.contains("gnome-keyring-daemon"), "{locked}");
        let locked = failure(Kind::Locked, Some(Provider::GnomeKeyring))
            .describe()
            .to_string();
        assert!(
            locked.contains("gnome-keyring-daemon --replace --unlock"),
            "{locked}"
        );
        let refused = failure(Kind::Refused, Some(Provider::KeePassXc))
            .describe()
            .to_string();
        assert!(refused.starts_with("the keychain refused the request: KeePassXC refused it"));
        assert!(refused.contains("{REF:"), "{refused}");
        assert!(!refused.contains("locked"), "{refused}");
        let waited = failure(
            Kind::PromptTimedOut("to confirm deleting the item".into()),
            Some(Provider::KeePassXc),
        )
        .describe()
        .to_string();
        assert!(
            waited.contains("KeePassXC kept a dialog open (to confirm deleting the item)"),
            "{waited}"
        );
    }
}
