//! The only per-OS code of the keychain: which keyring-core store each
//! platform uses, how an entry and a search are spelled for it, and what its
//! failures mean to a person (the cause, and the command that fixes it, from
//! `fixes`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};

use super::fixes::{self, LASTING_KEYRING};
use super::{Durability, KeychainError};

/// Where secrets go. Only Linux has a choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The platform's keychain: macOS Keychain, Windows Credential Manager,
    /// the Secret Service on Linux (with a plain session).
    #[default]
    Native,
    /// The Secret Service with a Diffie-Hellman encrypted session.
    SecretServiceEncrypted,
    /// The Linux kernel keyring: no daemon needed, lost on reboot.
    Keyutils,
}

/// `memory_only`: a Secret Service collection that does not persist may
/// be written to (`patrol.allowMemoryOnly`). `timeout` is the keychain's:
/// the Secret Service store dismisses its prompts before it passes.
#[cfg(target_os = "linux")]
pub fn store(
    backend: Backend,
    memory_only: bool,
    timeout: Duration,
) -> Result<Arc<CredentialStore>, KeychainError> {
    Ok(match backend {
        Backend::Native => super::secret_service::Store::new(false, memory_only, timeout),
        Backend::SecretServiceEncrypted => {
            super::secret_service::Store::new(true, memory_only, timeout)
        }
        Backend::Keyutils => {
            // Our service names carry their own prefix; forbidding the divider
            // in them keeps every description unambiguous.
            let config = HashMap::from([("prefix", ""), ("service_no_divider", "true")]);
            linux_keyutils_keyring_store::Store::new_with_configuration(&config)
                .map_err(|err| describe(err, backend))?
        }
    })
}

/// Begins what the first keychain call of the process will need, while the
/// caller does other work (Linux: the session bus connection).
pub fn prepare() {
    #[cfg(target_os = "linux")]
    super::secret_service::own::connect_early();
}

#[cfg(target_os = "macos")]
pub fn store(
    backend: Backend,
    _memory_only: bool,
    _timeout: Duration,
) -> Result<Arc<CredentialStore>, KeychainError> {
    Ok(apple_native_keyring_store::keychain::Store::new().map_err(|err| describe(err, backend))?)
}

#[cfg(windows)]
pub fn store(
    backend: Backend,
    _memory_only: bool,
    _timeout: Duration,
) -> Result<Arc<CredentialStore>, KeychainError> {
    let native =
        windows_native_keyring_store::Store::new().map_err(|err| describe(err, backend))?;
    Ok(super::windows::Store::new(
        native,
        super::windows::ITEM_LIMIT,
        true,
    ))
}

/// The entry for one credential. `item`, where the keychain said the item
/// was last time, saves a search on the stores that can use it (the Secret
/// Service) and is left out for the others.
pub fn entry(
    store: &CredentialStore,
    service: &str,
    user: &str,
    item: Option<&str>,
) -> keyring_core::Result<Entry> {
    #[cfg(target_os = "linux")]
    if let Some(item) = item
        && store.as_any().is::<super::secret_service::Store>()
    {
        let modifiers = HashMap::from([(super::secret_service::ITEM, item)]);
        match store.build(service, user, Some(&modifiers)) {
            // A hint that is not even a path (an index edited by hand) is
            // no reason to fail: without it, the store searches.
            Err(keyring_core::Error::Invalid(..)) => {}
            built => return built,
        }
    }
    #[cfg(target_os = "linux")]
    if store.as_any().is::<linux_keyutils_keyring_store::Store>() {
        return store.build(&keyutils_service(service), user, None);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = item;
    store.build(service, &account_name(user), None)
}

/// The account name the store keeps for git's user name `user`: the user
/// name itself, except on macOS (see `macos_account`).
fn account_name(user: &str) -> std::borrow::Cow<'_, str> {
    #[cfg(target_os = "macos")]
    return macos_account(user).into();
    #[cfg(not(target_os = "macos"))]
    user.into()
}

/// Git's user name for an account name a search found: `account_name`
/// undone.
pub fn user_name(account: String) -> String {
    #[cfg(target_os = "macos")]
    return macos_user(&account).to_owned();
    #[cfg(not(target_os = "macos"))]
    account
}

/// The macOS keychain reads an empty attribute as a wildcard, so its crate
/// refuses an empty account name, and git may store a credential without a
/// user name. Patrol's macOS items (there were none before this naming)
/// therefore call no user name `=` and put one more `=` before a user name
/// that starts with `=`; every other user name is the account name as it
/// is, as Keychain Access shows it. Each account name maps back to exactly
/// one user name.
#[cfg(any(target_os = "macos", test))]
fn macos_account(user: &str) -> String {
    if user.is_empty() || user.starts_with(MACOS_NO_USER) {
        format!("{MACOS_NO_USER}{user}")
    } else {
        user.to_owned()
    }
}

/// `macos_account` undone.
#[cfg(any(target_os = "macos", test))]
fn macos_user(account: &str) -> &str {
    account.strip_prefix(MACOS_NO_USER).unwrap_or(account)
}

/// The macOS account name of a credential without a user name.
#[cfg(any(target_os = "macos", test))]
const MACOS_NO_USER: char = '=';

/// The kernel keyring names a key `user@service`, so a service may not
/// contain `@`, and a URL may (`https://host/a@b`): `%` and `@` are
/// percent-encoded, `%` first, which keeps every service's name distinct.
#[cfg(any(target_os = "linux", test))]
fn keyutils_service(service: &str) -> String {
    service.replace('%', "%25").replace('@', "%40")
}

/// The secrets of the items at `items`, read together where the store can
/// (the Secret Service in a plain session); `None` where it cannot.
pub fn secrets_together(
    store: &CredentialStore,
    items: &[String],
) -> Option<keyring_core::Result<HashMap<String, Vec<u8>>>> {
    #[cfg(target_os = "linux")]
    return super::secret_service::secrets_together(store, items);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (store, items);
        None
    }
}

/// Where `entry`'s item was found or created, on stores that say.
pub fn item_of(entry: &Entry) -> Option<String> {
    #[cfg(target_os = "linux")]
    return super::secret_service::located(entry);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = entry;
        None
    }
}

/// Whether `entry`'s item is in an earlier version's form, on stores that
/// have had one.
pub fn outdated(entry: &Entry) -> bool {
    #[cfg(target_os = "linux")]
    return super::secret_service::outdated(entry);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = entry;
        false
    }
}

/// Who provides the keychain behind `store`, where that can be told.
pub fn provider(store: &CredentialStore) -> Option<super::Provider> {
    #[cfg(target_os = "linux")]
    return super::secret_service::provider_of(store).map(|provider| super::Provider {
        name: provider.to_string(),
        notes: provider.notes().to_vec(),
    });
    #[cfg(not(target_os = "linux"))]
    {
        let _ = store;
        None
    }
}

/// Whether what `store` writes outlives the process that keeps it. Only
/// the Secret Service can answer otherwise than by its kind: it asks where
/// new items would go.
pub fn durability(store: &CredentialStore, backend: Backend) -> keyring_core::Result<Durability> {
    if backend == Backend::Keyutils {
        return Ok(Durability::UntilReboot);
    }
    #[cfg(target_os = "linux")]
    if let Some(destination) = super::secret_service::destination(store) {
        let destination = destination?;
        return Ok(if destination.temporary {
            Durability::MemoryOnly {
                collection: destination.name().to_owned(),
            }
        } else {
            Durability::Lasting
        });
    }
    let _ = store;
    Ok(Durability::Lasting)
}

/// Whether the item a store named lives where it does not persist (the
/// Secret Service's in-memory collection); `false` on every other store.
pub fn item_is_temporary(store: &CredentialStore, item: &str) -> keyring_core::Result<bool> {
    #[cfg(target_os = "linux")]
    if let Some(temporary) = super::secret_service::item_is_temporary(store, item) {
        return temporary;
    }
    let _ = (store, item);
    Ok(false)
}

/// The search that finds every item of one service.
pub fn search_spec(service: &str) -> HashMap<&'static str, String> {
    HashMap::from([("service", service.to_owned())])
}

/// The search that finds every item of ours, on the stores that can list
/// them: the Secret Service (our store adds `application` to every search)
/// and Windows (our store in windows.rs takes a prefix of the service).
/// Others cannot: `None`.
pub fn search_all_spec(backend: Backend) -> Option<HashMap<&'static str, String>> {
    if cfg!(windows) {
        Some(HashMap::from([(
            "service_prefix",
            super::SERVICE_PREFIX.to_owned(),
        )]))
    } else if cfg!(target_os = "linux") && backend != Backend::Keyutils {
        Some(HashMap::new())
    } else {
        None
    }
}

/// Turns a store's error into the cause and the fix a person needs.
pub fn describe(err: keyring_core::Error, backend: Backend) -> KeychainError {
    use keyring_core::Error as E;
    #[cfg(target_os = "linux")]
    if let E::PlatformFailure(inner) = &err
        && let Some(refused) = inner.downcast_ref::<super::secret_service::MemoryOnly>()
    {
        return KeychainError::MemoryOnly {
            collection: refused.0.name().to_owned(),
        };
    }
    #[cfg(target_os = "linux")]
    if let E::NoStorageAccess(inner) | E::PlatformFailure(inner) = &err
        && let Some(failure) = inner.downcast_ref::<super::secret_service::failure::Failure>()
    {
        return failure.describe();
    }
    if let E::Invalid(what, why) = &err {
        // Our input, not the keychain, is at fault: saying "refused" would
        // send a person after the wrong fix.
        return KeychainError::Invalid(format!(
            "its {} {}",
            crate::terminal::escape(what),
            crate::terminal::escape(why)
        ));
    }
    let cause = match &err {
        E::NoStorageAccess(inner) | E::PlatformFailure(inner) => inner.to_string(),
        // These variants carry the stored bytes: never print them.
        E::BadEncoding(_) | E::BadDataFormat(..) => {
            return KeychainError::Failed("a stored secret could not be read".into());
        }
        other => other.to_string(),
    };
    if cfg!(target_os = "linux") && backend == Backend::Keyutils {
        keyutils_failure(cause)
    } else if cfg!(target_os = "linux") {
        linux_failure(cause)
    } else if matches!(err, E::NoStorageAccess(_)) {
        KeychainError::Locked {
            what: "the keychain".into(),
            fix: format!("unlock the keychain and try again ({cause})"),
        }
    } else {
        KeychainError::Failed(cause)
    }
}

/// The kernel keyring needs no daemon, so its failures are the kernel's:
/// containers often deny it (seccomp, user namespaces), and there the
/// Secret Service is the way out.
fn keyutils_failure(cause: String) -> KeychainError {
    KeychainError::Unavailable {
        cause: format!(
            "the kernel keyring (patrol.backend = keyutils) refused the request ({cause}); \
             containers often deny it"
        ),
        fix: format!(
            "use the Secret Service instead: {LASTING_KEYRING}; then go back to it with \
             `git config --global --unset patrol.backend`"
        ),
    }
}

/// A Secret Service failure our store did not sort (keyring-core's own).
fn linux_failure(cause: String) -> KeychainError {
    let no_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
        && std::env::var_os("XDG_RUNTIME_DIR")
            .is_none_or(|dir| !std::path::Path::new(&dir).join("bus").exists());
    if no_bus {
        return fixes::no_bus();
    }
    KeychainError::Failed(cause)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyutils_names_never_contain_the_divider_and_stay_distinct() {
        assert_eq!(
            keyutils_service("git-credential-patrol:https://h/a@b%40c"),
            "git-credential-patrol:https://h/a%40b%2540c"
        );
        assert_ne!(keyutils_service("x@"), keyutils_service("x%40"));
    }

    #[test]
    fn macos_account_names_are_never_empty_and_map_back_one_to_one() {
        let users = [
            "",
            "=",
            "==",
            "=alice",
            "alice",
            "a=b",
            "alice@example.com",
            " ",
        ];
        let accounts: Vec<String> = users.iter().map(|user| macos_account(user)).collect();
        assert_eq!(
            accounts,
            [
                "=",
                "==",
                "===",
                "==alice",
                "alice",
                "a=b",
                "alice@example.com",
                " "
            ]
        );
        for (user, account) in users.iter().zip(&accounts) {
            assert!(!account.is_empty(), "{user:?}");
            assert_eq!(macos_user(account), *user);
        }
        let mut distinct = accounts.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), users.len());
    }

    #[test]
    fn invalid_input_is_reported_as_such() {
        let err = describe(
            keyring_core::Error::Invalid("service".into(), "cannot contain delimiter".into()),
            Backend::Keyutils,
        );
        let (cause, _) = err.cause_and_fix();
        assert!(
            cause.contains("cannot take this credential: its service"),
            "{cause}"
        );
        assert!(!cause.contains("refused"), "{cause}");
    }

    #[test]
    fn secret_bytes_in_errors_are_never_shown() {
        for backend in [Backend::Native, Backend::Keyutils] {
            let err = describe(
                keyring_core::Error::BadEncoding(b"ghp_TESTleak".to_vec()),
                backend,
            );
            assert!(!err.to_string().contains("ghp_TEST"));
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn kernel_keyring_failures_do_not_talk_about_d_bus() {
        let err = describe(
            keyring_core::Error::NoStorageAccess("Permission denied".into()),
            Backend::Keyutils,
        )
        .to_string();
        assert!(err.contains("kernel keyring"), "{err}");
        assert!(!err.contains("D-Bus session bus ("), "{err}");
        assert!(err.contains("--unset patrol.backend"), "{err}");
    }
}
