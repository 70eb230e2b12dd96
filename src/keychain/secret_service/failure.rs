//! What a Secret Service failure is and what a person does about it: the
//! program that provides the service, the kind of failure sorted by its
//! D-Bus error name, and the cause and fix told for that provider (with the
//! fixes the per-OS code shares, from `keychain::fixes`).

use std::fmt;
use std::sync::Arc;

use keyring_core::Error;

use super::SERVICE_PATH;
use crate::keychain::{KeychainError, fixes};

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
    pub(super) fn from_comm(comm: &str) -> Self {
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
                fixes::no_bus()
            }
            Kind::NoBus => KeychainError::Unavailable {
                cause: format!("the D-Bus session bus cannot be reached ({detail})"),
                fix: fixes::headless_fix(),
            },
            Kind::NoProvider => KeychainError::Unavailable {
                cause: "no Secret Service (org.freedesktop.secrets) is running on the session bus"
                    .into(),
                fix: fixes::headless_fix(),
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
        Some(Provider::GnomeKeyring) | None => fixes::gnome_keyring_unlock_fix(),
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

/// zbus errors are not `Clone`; only what sorting and messages need is kept.
pub(super) fn clone_zbus(err: &zbus::Error) -> zbus::Error {
    match err {
        zbus::Error::MethodError(name, detail, reply) => {
            zbus::Error::MethodError(name.clone(), detail.clone(), reply.clone())
        }
        zbus::Error::InputOutput(io) => zbus::Error::InputOutput(Arc::clone(io)),
        other => zbus::Error::Failure(other.to_string()),
    }
}

pub(super) fn dbus_error_name(err: &zbus::Error) -> Option<String> {
    match err {
        zbus::Error::MethodError(name, ..) => Some(name.as_str().to_owned()),
        zbus::Error::FDO(err) => Some(zbus::DBusError::name(err.as_ref()).as_str().to_owned()),
        _ => None,
    }
}

/// The category of a D-Bus error name from a call to `path`: an unknown
/// method or object at the service's own path is a provider that is not
/// serving, not a missing item.
pub(super) fn kind_at(path: &str, name: &str) -> Kind {
    match kind_of(name) {
        Kind::Missing if path == SERVICE_PATH => Kind::NotServing,
        kind => kind,
    }
}

/// The category of a D-Bus error name (the Secret Service spec's own names,
/// and the bus's where providers use those).
pub(super) fn kind_of(name: &str) -> Kind {
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
pub(super) fn fail(kind: Kind, provider: Option<Provider>, err: &dyn fmt::Display) -> Error {
    access(kind, provider, &err.to_string())
}

pub(super) fn access(kind: Kind, provider: Option<Provider>, detail: &str) -> Error {
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

#[cfg(test)]
mod tests {
    use super::*;

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
