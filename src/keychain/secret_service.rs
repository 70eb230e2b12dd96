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

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use keyring_core::api::{CredentialApi, CredentialStoreApi};
use keyring_core::{Credential, Entry, Error, Result};
use secret_service::EncryptionType;
use secret_service::blocking::{Item, SecretService};

/// Marks our items, so a search never returns another program's secrets.
const APPLICATION: (&str, &str) = ("application", "git-credential-patrol");

pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    encrypted: bool,
    connection: Mutex<Option<Arc<SecretService<'static>>>>,
}

impl Store {
    pub fn new(encrypted: bool) -> Arc<Self> {
        Arc::new(Self {
            inner: Arc::new(Inner {
                encrypted,
                connection: Mutex::new(None),
            }),
        })
    }
}

impl Inner {
    fn connection(&self) -> Result<Arc<SecretService<'static>>> {
        let mut slot = self.connection.lock().map_err(|_| poisoned())?;
        if let Some(connection) = slot.as_ref() {
            return Ok(Arc::clone(connection));
        }
        let encryption = if self.encrypted {
            EncryptionType::Dh
        } else {
            EncryptionType::Plain
        };
        let connection = Arc::new(SecretService::connect(encryption).map_err(failure)?);
        *slot = Some(Arc::clone(&connection));
        Ok(connection)
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
        _modifiers: Option<&HashMap<&str, &str>>,
    ) -> Result<Entry> {
        Ok(Entry::new_with_credential(Arc::new(Cred {
            inner: Arc::clone(&self.inner),
            service: service.to_owned(),
            user: user.to_owned(),
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
}

impl CredentialApi for Cred {
    fn set_secret(&self, secret: &[u8]) -> Result<()> {
        let connection = self.inner.connection()?;
        let collection = connection.get_any_collection().map_err(failure)?;
        let label = super::label_for(&self.service, &self.user);
        let create =
            || collection.create_item(&label, self.attributes(), secret, true, "text/plain");
        match create() {
            Ok(_) => Ok(()),
            Err(err) if is_locked(&err) => {
                collection.unlock().map_err(failure)?;
                create().map(|_| ()).map_err(failure)
            }
            Err(err) => Err(failure(err)),
        }
    }

    fn get_secret(&self) -> Result<Vec<u8>> {
        self.with_items(|items| match items.first() {
            Some(item) => item.get_secret().map_err(failure),
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

fn poisoned() -> Error {
    Error::PlatformFailure("the keychain connection lock was poisoned".into())
}
