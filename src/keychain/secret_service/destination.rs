//! Where new items are written: the first collection that persists, found
//! once per process and only before a write, and a write refused when the
//! only collection would lose it (unless `patrol.allowMemoryOnly` says
//! otherwise).

use keyring_core::{Error, Result};
use zbus::zvariant::{ObjectPath, OwnedObjectPath};

use super::client::{Inner, poisoned};
use super::{SERVICE_INTERFACE, SERVICE_NAME, SERVICE_PATH};

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

impl Inner {
    /// The collection new items go to.
    pub(super) fn collection(&self) -> Result<OwnedObjectPath> {
        Ok(self.writable_destination()?.collection)
    }

    /// Where new items go: the first collection that persists among the
    /// `default` alias, the `login` alias and every other collection; when
    /// none does, the first there is, marked temporary. Asked once per
    /// process, and only before a write.
    pub(super) fn destination(&self) -> Result<Destination> {
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
        self.property(
            &ObjectPath::from_static_str_unchecked(SERVICE_PATH),
            SERVICE_INTERFACE,
            "Collections",
        )
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
    pub(super) fn read_alias(&self, alias: &str) -> Result<Option<OwnedObjectPath>> {
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
}
