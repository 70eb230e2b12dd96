//! Patrol's own session bus connection takes a secret from the Secret
//! Service alone. On a session bus any client may send another a method
//! return nobody asked for; one that guesses patrol's serials could answer
//! `GetSecrets` and the item's attributes before the Secret Service does.
//!
//! The Secret Service here is the test's own stand-in, on the test's
//! private `dbus-daemon`, serving the item `store` wrote into the real
//! gnome-keyring: it holds its answers until the other client's are on
//! their way, so the race a real attacker would have to win is won every
//! time, and a `get` that listened would print the other client's secret.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::thread::{self, JoinHandle};

use zbus::Message;
use zbus::blocking::{Connection, MessageIterator};
use zbus::message::Type;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use crate::support::env::{BIN, TestEnv};
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, run, text};

const ALICE: &str =
    "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTgenuine0001\n";
const SECRETS: &str = "org.freedesktop.secrets";
const BUS: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";

/// `GetSecrets`'s answer.
type Secrets = HashMap<OwnedObjectPath, (OwnedObjectPath, Vec<u8>, Vec<u8>, String)>;

/// The item `store` wrote, as gnome-keyring holds it.
#[derive(Clone)]
struct Item {
    path: OwnedObjectPath,
    attributes: HashMap<String, String>,
}

fn connect(env: &TestEnv) -> Connection {
    zbus::blocking::connection::Builder::address(env.bus_address().as_str())
        .unwrap()
        .build()
        .unwrap()
}

fn call<R>(bus: &Connection, path: &str, interface: &str, member: &str, body: &R) -> Message
where
    R: serde::Serialize + zbus::zvariant::DynamicType,
{
    bus.call_method(Some(SECRETS), path, Some(interface), member, body)
        .unwrap()
}

/// Stores ALICE in gnome-keyring, reads back where and under which
/// attributes, and stops gnome-keyring.
fn stored_then_stopped(env: &mut TestEnv) -> Item {
    env.approve(ALICE);
    let bus = connect(env);
    let found = call(
        &bus,
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service",
        "SearchItems",
        &(HashMap::from([("application", "git-credential-patrol")]),),
    );
    let (unlocked, _): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) =
        found.body().deserialize().unwrap();
    let [path] = <[OwnedObjectPath; 1]>::try_from(unlocked).unwrap();
    let attributes = call(
        &bus,
        path.as_str(),
        "org.freedesktop.DBus.Properties",
        "Get",
        &("org.freedesktop.Secret.Item", "Attributes"),
    );
    let attributes: OwnedValue = attributes.body().deserialize().unwrap();
    let attributes = HashMap::try_from(attributes).unwrap();
    drop(bus);
    env.stop_secret_service();
    Item { path, attributes }
}

/// `GetSecrets`'s answer with `secret` under `path`.
fn secrets(path: &OwnedObjectPath, secret: &str) -> Secrets {
    let session = OwnedObjectPath::try_from("/org/freedesktop/secrets/session/s1").unwrap();
    HashMap::from([(
        path.clone(),
        (session, Vec::new(), secret.into(), "text/plain".into()),
    )])
}

/// A method return to `serial` of `destination`, as any client can send.
fn unrequested(
    destination: &str,
    serial: u32,
    body: &(impl serde::Serialize + zbus::zvariant::DynamicType),
) -> Message {
    let asked = Message::method_call("/", "Asked")
        .unwrap()
        .sender(destination)
        .unwrap()
        .serial(NonZeroU32::new(serial).unwrap())
        .build(&())
        .unwrap();
    Message::method_return(&asked.header())
        .unwrap()
        .build(body)
        .unwrap()
}

/// Another client of the bus, which answers the calls of `destination`
/// with serials 1 to 64 before the Secret Service does: for each, first
/// with `item`'s attributes, then with `secret` as its secret, so that a
/// connection that takes the last answer to each call before all of its
/// calls are answered takes the secret for `GetSecrets` and the
/// attributes for the call after it.
fn flood(spoofer: &Connection, destination: &str, item: &Item, secret: &str) {
    for serial in 1..=64 {
        let attributes = (Value::from(item.attributes.clone()),);
        spoofer
            .send(&unrequested(destination, serial, &attributes))
            .unwrap();
        let secrets = (secrets(&item.path, secret),);
        spoofer
            .send(&unrequested(destination, serial, &secrets))
            .unwrap();
    }
    // The bus handles a connection's messages in order: once it answers
    // this, every reply above is on its way to `destination`.
    spoofer
        .call_method(Some(BUS), BUS_PATH, Some(BUS), "GetId", &())
        .unwrap();
}

/// A Secret Service serving one item, on a connection of the test's own;
/// released when dropped, before the test's `TestEnv` stops what owns the
/// name.
struct StandIn {
    control: Connection,
    name: String,
    serving: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Serves `item` with `answer` for `GetSecrets`; `before_secrets` runs
    /// with the caller's name before the first `GetSecrets` is answered.
    fn start(
        env: &TestEnv,
        item: &Item,
        answer: Secrets,
        mut before_secrets: impl FnMut(&str) + Send + 'static,
    ) -> Self {
        let provider = connect(env);
        let messages = MessageIterator::from(&provider);
        provider
            .call_method(
                Some(BUS),
                BUS_PATH,
                Some(BUS),
                "RequestName",
                &(SECRETS, 4u32),
            )
            .unwrap();
        let name = provider.unique_name().unwrap().to_string();
        let item = item.clone();
        let serving = thread::spawn(move || {
            let mut flooded = false;
            for message in messages {
                let Ok(message) = message else {
                    break;
                };
                let header = message.header();
                if header.message_type() != Type::MethodCall {
                    continue;
                }
                let caller = header.sender().map(|name| name.to_string());
                let return_ = Message::method_return(&header).unwrap();
                let reply = match header.member().map(|member| member.as_str()) {
                    Some("Stop") => break,
                    Some("ReadAlias") => return_.build(&(item.path.clone(),)),
                    Some("OpenSession") => return_.build(&(
                        Value::from(""),
                        OwnedObjectPath::try_from("/org/freedesktop/secrets/session/s1").unwrap(),
                    )),
                    Some("GetSecrets") => {
                        if !flooded && let Some(caller) = &caller {
                            before_secrets(caller);
                            flooded = true;
                        }
                        return_.build(&(answer.clone(),))
                    }
                    Some("Get") => return_.build(&(Value::from(item.attributes.clone()),)),
                    Some("SearchItems") => return_
                        .build(&(Vec::<OwnedObjectPath>::new(), Vec::<OwnedObjectPath>::new())),
                    _ => Message::error(&header, "org.freedesktop.DBus.Error.UnknownMethod")
                        .unwrap()
                        .build(&("not served here",)),
                };
                provider.send(&reply.unwrap()).unwrap();
            }
            provider
                .call_method(Some(BUS), BUS_PATH, Some(BUS), "ReleaseName", &(SECRETS,))
                .unwrap();
        });
        Self {
            control: connect(env),
            name,
            serving: Some(serving),
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let stop = Message::method_call("/", "Stop")
            .unwrap()
            .destination(self.name.as_str())
            .unwrap()
            .build(&())
            .unwrap();
        let _ = self.control.send(&stop);
        if let Some(serving) = self.serving.take() {
            let _ = serving.join();
        }
    }
}

/// `get` for ALICE's host, traced: what it printed, and its trace.
fn get(env: &TestEnv) -> (String, String) {
    let mut command = env.command(BIN);
    command.arg("get").env("GIT_CREDENTIAL_PATROL_TRACE", "1");
    let out = run(command, b"protocol=https\nhost=example.com\n");
    (text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_secret_from_another_client_of_the_bus_is_never_taken() {
    let mut env = TestEnv::with_keyring(Keyring::Unlocked);
    let item = stored_then_stopped(&mut env);
    let spoofer = connect(&env);
    let flooding = item.clone();
    let _service = StandIn::start(
        &env,
        &item,
        secrets(&item.path, "ghp_TESTgenuine0001"),
        move |caller| flood(&spoofer, caller, &flooding, "ghp_TESTspoofed0001"),
    );
    let (stdout, trace) = get(&env);
    assert!(!stdout.contains("ghp_TESTspoofed0001"), "{stdout}\n{trace}");
    assert_contains!(
        stdout,
        "password=ghp_TESTgenuine0001\n",
        "{stdout}\n{trace}"
    );
    // The Secret Service's own answers, over patrol's own connection,
    // which saw the other client's and dropped them.
    assert_contains!(trace, "plain session opened on our own connection");
    assert!(!trace.contains("through zbus"), "{trace}");
    assert_contains!(trace, "session bus: dropped a reply from");
}

#[test]
fn a_secret_for_another_item_than_the_one_asked_for_is_never_taken() {
    let mut env = TestEnv::with_keyring(Keyring::Unlocked);
    let item = stored_then_stopped(&mut env);
    let elsewhere =
        OwnedObjectPath::try_from("/org/freedesktop/secrets/collection/login/elsewhere").unwrap();
    let _service = StandIn::start(
        &env,
        &item,
        secrets(&elsewhere, "ghp_TESTelsewhere0001"),
        |_| {},
    );
    let (stdout, trace) = get(&env);
    assert_lacks!(stdout, "ghp_TESTelsewhere0001", "{trace}");
    assert_contains!(trace, "another item than the one asked for");
}
