//! What a person does about a keychain that cannot be used: the fixes that
//! both the per-OS code (`platform`) and the Secret Service client
//! (`secret_service`) name in their failures, kept apart from both so that
//! neither needs the other for its prose.

use super::KeychainError;

/// How a machine without a desktop gets a keyring whose tokens outlive the
/// daemon: gnome-keyring's `login` keyring, kept on disk. `--unlock` creates
/// it when there is none; `--replace` makes it work with a daemon that
/// already runs (without it a second daemon starts and changes nothing).
pub const LASTING_KEYRING: &str = "on a machine without a desktop, create or unlock the \
    login keyring, which is kept on disk: `read -rsp 'Keyring password: ' pw && printf '%s' \
    \"$pw\" | gnome-keyring-daemon --replace --unlock --components=secrets; unset pw` (it \
    creates the keyring when there is none; run it again after each reboot)";

/// What to do on a machine with no usable Secret Service.
pub fn headless_fix() -> String {
    format!(
        "{LASTING_KEYRING}; or keep tokens in the kernel keyring until the next reboot with \
         `git config --global patrol.backend keyutils`"
    )
}

/// How to unlock GNOME Keyring's login keyring.
#[cfg(target_os = "linux")]
pub fn gnome_keyring_unlock_fix() -> String {
    format!(
        "unlock the login keyring (on a desktop: Seahorse, or log in again); {}",
        LASTING_KEYRING.replacen("create or unlock", "unlock", 1)
    )
}

/// There is no session bus at all.
pub fn no_bus() -> KeychainError {
    KeychainError::Unavailable {
        cause: "there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)".into(),
        fix: format!(
            "install dbus-user-session and log in again, or run `dbus-run-session -- \
             \"$SHELL\"`; then, {}",
            headless_fix()
        ),
    }
}
