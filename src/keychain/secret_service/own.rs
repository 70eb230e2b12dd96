//! A plain session over a connection of our own ([`super::wire`]), for
//! reading an item's secret and attributes by its path: opened early with
//! [`connect_early`] while `git config` runs, or by the client on its first
//! such read; and the one reader of a `GetSecrets` reply, whichever
//! connection carried it.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::Instant;

use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
use zeroize::Zeroizing;

use super::wire::{Call, Reply, Wire};
use super::{
    GREETING, ITEM_INTERFACE, PROPERTIES_INTERFACE, Read, SERVICE_INTERFACE, SERVICE_NAME,
    SERVICE_PATH,
};

/// What [`connect_early`] is opening, for the first store of the process
/// to take.
static EARLY: Mutex<Option<mpsc::Receiver<Option<Opened>>>> = Mutex::new(None);

/// A connection of our own ([`super::wire`]) with a plain session open on it.
pub(super) struct Opened {
    pub(super) wire: Wire,
    session: OwnedObjectPath,
}

/// Where a store stands with its own connection.
pub(super) enum Own {
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
pub(super) fn open_own(deadline: Option<Instant>) -> std::io::Result<Option<Opened>> {
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
pub(super) fn take_early(deadline: Instant) -> Option<Option<Opened>> {
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
pub(super) fn read_own(own: &mut Opened, path: &OwnedObjectPath) -> std::io::Result<Option<Read>> {
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
    let attributes: OwnedValue = attributes.decode()?;
    let attributes = HashMap::try_from(attributes).map_err(std::io::Error::other)?;
    // The attributes are those of `path`, and so must the secret be.
    Ok(secret_in(secret.decode()?, path)?.map(|value| (value, attributes)))
}

/// The body of a `GetSecrets` reply: a secret (session, parameters, value,
/// content type) by the path of its item.
pub(super) type SecretsReply =
    HashMap<OwnedObjectPath, (OwnedObjectPath, Vec<u8>, Vec<u8>, String)>;

/// The secrets of the items at `wanted` in a `GetSecrets` reply, by path,
/// whichever connection carried it, and whether the reply held a secret of
/// an item not asked for. Every secret not taken, and every session
/// parameter, is wiped when dropped.
pub(super) fn secrets_in(
    secrets: SecretsReply,
    wanted: &[OwnedObjectPath],
) -> (HashMap<OwnedObjectPath, Vec<u8>>, bool) {
    let wanted: HashSet<&OwnedObjectPath> = wanted.iter().collect();
    let mut taken = HashMap::new();
    let mut others = false;
    for (item, (_, parameters, value, _)) in secrets {
        drop(Zeroizing::new(parameters));
        if wanted.contains(&item) {
            taken.insert(item, value);
        } else {
            others = true;
            drop(Zeroizing::new(value));
        }
    }
    (taken, others)
}

/// The secret of the item at `path` in a `GetSecrets` reply: `None` when
/// the reply holds no secret (a provider's way of saying there is no such
/// item), an error when it holds only another item's.
pub(super) fn secret_in(
    secrets: SecretsReply,
    path: &OwnedObjectPath,
) -> std::io::Result<Option<Vec<u8>>> {
    let (mut taken, others) = secrets_in(secrets, std::slice::from_ref(path));
    match taken.remove(path) {
        Some(value) => Ok(Some(value)),
        None if !others => Ok(None),
        None => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a secret, but of another item than the one asked for",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(item: &str) -> OwnedObjectPath {
        OwnedObjectPath::try_from(format!("/org/freedesktop/secrets/collection/login/{item}"))
            .unwrap()
    }

    fn reply(secrets: &[(&str, &str)]) -> SecretsReply {
        let session = OwnedObjectPath::try_from("/org/freedesktop/secrets/session/1").unwrap();
        secrets
            .iter()
            .map(|(item, value)| {
                let secret = (
                    session.clone(),
                    Vec::new(),
                    value.as_bytes().to_vec(),
                    "text/plain".into(),
                );
                (path(item), secret)
            })
            .collect()
    }

    #[test]
    fn a_get_secrets_reply_gives_only_the_secret_of_the_item_asked_for() {
        let asked = path("7");
        let both = reply(&[("8", "ghp_TESTother0001"), ("7", "ghp_TESTasked0001")]);
        assert_eq!(
            secret_in(both, &asked).unwrap().as_deref(),
            Some(&b"ghp_TESTasked0001"[..])
        );
        assert_eq!(secret_in(reply(&[]), &asked).unwrap(), None);
        let err = secret_in(reply(&[("8", "ghp_TESTother0001")]), &asked).unwrap_err();
        assert!(err.to_string().contains("another item"), "{err}");
    }

    #[test]
    fn a_reply_to_a_read_of_many_gives_only_the_secrets_asked_for() {
        let asked = [path("7"), path("9")];
        let three = reply(&[
            ("7", "ghp_TESTseven0001"),
            ("8", "ghp_TESTother0001"),
            ("9", "ghp_TESTnine00001"),
        ]);
        let (taken, others) = secrets_in(three, &asked);
        assert!(others);
        assert_eq!(taken.len(), 2);
        assert_eq!(taken[&asked[0]], b"ghp_TESTseven0001");
        assert_eq!(taken[&asked[1]], b"ghp_TESTnine00001");
        let (taken, others) = secrets_in(reply(&[("7", "ghp_TESTseven0001")]), &asked);
        assert!(!others);
        assert_eq!(taken.len(), 1, "an item left out of the reply is absent");
    }
}
