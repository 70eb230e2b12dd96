//! Any bytes a session bus could send patrol's own connection: reading them
//! as messages never panics, whatever they claim about their lengths, and
//! no body decodes as a type other than the one it is signed as.
//!
//! And any conversation a bus could hold with that connection, from the
//! authentication on, made of replies from the bus, the provider and
//! another client, to each of the calls sent or to none, with the
//! specification broken here and there: the answer to the first call is
//! the one a model of the rules picks (only the bus answers `Hello` and
//! names the provider; only that provider, or the bus with an error,
//! answers the first call, and only once the provider is named; a bus with
//! another GUID than its address's, a refused `Hello`, or a message that
//! breaks the specification ends the connection), or an error where the
//! model says so.

#![no_main]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::num::NonZeroU32;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::Duration;

use git_credential_patrol::keychain::secret_service::wire::{BUS, Call, Incoming, Reply, Wire};
use libfuzzer_sys::fuzz_target;
use zbus::Message;
use zvariant::{OwnedObjectPath, OwnedValue};

/// `GetSecrets`'s answer.
type Secrets = HashMap<OwnedObjectPath, (OwnedObjectPath, Vec<u8>, Vec<u8>, String)>;

fuzz_target!(|data: &[u8]| {
    messages(data);
    conversation(data);
});

fn messages(data: &[u8]) {
    let mut rest = data;
    while let Ok(Some(message)) = Incoming::parse(rest) {
        assert!(message.len >= 16 && message.len <= rest.len());
        rest = &rest[message.len..];
        let Some(Reply::Return(body)) = message.reply else {
            continue;
        };
        // What patrol decodes: each at most one of these.
        let decoded = [
            body.decode::<Secrets>().is_ok(),
            body.decode::<OwnedValue>()
                .is_ok_and(|value| HashMap::<String, String>::try_from(value).is_ok()),
            body.decode::<(OwnedValue, OwnedObjectPath)>().is_ok(),
            body.decode::<OwnedObjectPath>().is_ok(),
            body.decode::<String>().is_ok(),
        ];
        assert!(decoded.iter().filter(|ok| **ok).count() <= 1, "{decoded:?}");
    }
}

const GUID: &str = "0123456789abcdef0123456789abcdef";
const PROVIDER: &str = ":1.3";
const INTRUDER: &str = ":1.9";
/// The most messages a conversation holds: they all fit in the socket's
/// buffer, so the bus's side never waits for a client that stopped reading.
const MOST: usize = 256;

/// Who sends a message.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Who {
    Bus,
    Provider,
    Intruder,
    /// A message with no sender field.
    Nobody,
}

/// What a message is.
#[derive(Clone, Copy, PartialEq, Debug)]
enum What {
    Return,
    Error,
    Signal,
    /// One that breaks the specification: version 2, serial 0, type 0,
    /// a reply naming no call.
    Broken(u8),
}

/// Which call a reply names.
#[derive(Clone, Copy, PartialEq, Debug)]
enum To {
    Hello,
    Owner,
    First,
    Other,
}

#[derive(Debug)]
struct Said {
    who: Who,
    what: What,
    to: To,
}

/// The answer to the first call that the rules pick, once the bus has
/// `accepted` the authentication: the index of the message that gives it
/// and whether it is an error, or `None` for an error of the connection.
fn model(accepted: bool, said: &[Said]) -> Option<(usize, What)> {
    if !accepted {
        return None;
    }
    let (mut hello, mut owner): (Option<What>, Option<Option<Who>>) = (None, None);
    for (at, said) in said.iter().enumerate() {
        if let What::Broken(_) = said.what {
            return None;
        }
        if said.what == What::Signal {
            continue;
        }
        match (hello, owner) {
            (Some(hello), Some(owner)) => {
                if hello != What::Return {
                    return None;
                }
                let by_owner = owner.is_some_and(|owner| owner == said.who);
                let refused_by_bus = said.who == Who::Bus && said.what == What::Error;
                if said.to == To::First && (by_owner || refused_by_bus) {
                    return Some((at, said.what));
                }
            }
            _ if said.who != Who::Bus => {}
            _ => match said.to {
                To::Hello if hello.is_none() => hello = Some(said.what),
                To::Owner if owner.is_none() => {
                    owner = Some((said.what == What::Return).then_some(Who::Provider));
                }
                _ => {}
            },
        }
        // Both answered by the last message: a refused `Hello` ends it.
        if hello.is_some() && owner.is_some() && hello != Some(What::Return) {
            return None;
        }
    }
    None
}

fn conversation(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let said: Vec<Said> = rest
        .chunks_exact(3)
        .take(MOST)
        .map(|chunk| Said {
            who: [Who::Bus, Who::Provider, Who::Intruder, Who::Nobody][usize::from(chunk[0] % 4)],
            what: match chunk[1] % 7 {
                0 => What::Return,
                1 => What::Error,
                2 => What::Signal,
                broken => What::Broken(broken),
            },
            to: [To::Hello, To::Owner, To::First, To::Other][usize::from(chunk[2] % 4)],
        })
        .collect();
    // The address names the bus's GUID, another one, or none; or the bus
    // refuses the authentication.
    let (address_guid, accepted) = match mode % 4 {
        0 => (Some(GUID.to_owned()), true),
        1 => (Some("fedcba9876543210fedcba9876543210".to_owned()), false),
        2 => (None, true),
        _ => (None, false),
    };
    let answer = match mode % 4 {
        3 => "REJECTED EXTERNAL\r\n".to_owned(),
        _ => format!("OK {GUID}\r\n"),
    };
    let expected = model(accepted, &said);

    let (client, mut bus) = UnixStream::pair().unwrap();
    for end in [&client, &bus] {
        end.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        end.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    let first = Call::new(
        "org.freedesktop.secrets",
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service",
        "ReadAlias",
        false,
        &("default",),
    )
    .unwrap();
    let serving = thread::spawn(move || {
        let serials = read_calls(&mut bus);
        let mut out = answer.into_bytes();
        for (at, said) in said.iter().enumerate() {
            out.extend_from_slice(&message(at, said, &serials));
        }
        // The client may have stopped reading: what it did not read is
        // dropped with the socket.
        let _ = bus.write_all(&out);
        let _ = bus.shutdown(std::net::Shutdown::Write);
        bus
    });
    let got = Wire::over(client, address_guid).begin(first);
    drop(serving.join().unwrap());
    match (expected, got) {
        (None, Err(_)) => {}
        (Some((at, What::Return)), Ok((_, Reply::Return(body)))) => {
            assert_eq!(body.decode::<u32>().unwrap() as usize, at);
        }
        (Some((at, What::Error)), Ok((_, Reply::Error(name)))) => {
            assert_eq!(name, format!("org.example.Error.N{at}"));
        }
        (expected, got) => panic!(
            "expected {expected:?}, got {:?}",
            got.map(|(_, reply)| reply)
        ),
    }
}

/// The serials of the three calls the client sends first (`Hello`,
/// `GetNameOwner`, the first call), after its authentication.
fn read_calls(bus: &mut UnixStream) -> [NonZeroU32; 3] {
    let mut received = Vec::new();
    let mut fill = |received: &mut Vec<u8>| {
        let mut chunk = [0; 4096];
        let read = bus.read(&mut chunk).unwrap();
        assert!(read > 0, "the client hung up");
        received.extend_from_slice(&chunk[..read]);
    };
    let begun = loop {
        if let Some(at) = received.windows(7).position(|w| w == b"BEGIN\r\n") {
            break at + 7;
        }
        fill(&mut received);
    };
    received.drain(..begun);
    let mut serials = Vec::new();
    while serials.len() < 3 {
        while received.len() < 16 {
            fill(&mut received);
        }
        // zbus writes in the machine's byte order.
        let word = |at: usize| u32::from_ne_bytes(received[at..at + 4].try_into().unwrap());
        let len = (16 + word(12) as usize).next_multiple_of(8) + word(4) as usize;
        serials.push(NonZeroU32::new(word(8)).unwrap());
        while received.len() < len {
            fill(&mut received);
        }
        received.drain(..len);
    }
    serials.try_into().unwrap()
}

/// The bytes of the `at`th message of the conversation.
fn message(at: usize, said: &Said, serials: &[NonZeroU32; 3]) -> Vec<u8> {
    let serial = match said.to {
        To::Hello => serials[0],
        To::Owner => serials[1],
        To::First => serials[2],
        To::Other => NonZeroU32::new(serials[2].get() + 1000).unwrap(),
    };
    let sender = match said.who {
        Who::Bus => Some(BUS),
        Who::Provider => Some(PROVIDER),
        Who::Intruder => Some(INTRUDER),
        Who::Nobody => None,
    };
    let asked = Message::method_call("/", "Asked")
        .unwrap()
        .serial(serial)
        .build(&())
        .unwrap();
    fn with_sender<'b>(
        builder: zbus::message::Builder<'b>,
        sender: Option<&'static str>,
    ) -> zbus::message::Builder<'b> {
        match sender {
            Some(sender) => builder.sender(sender).unwrap(),
            None => builder,
        }
    }
    let error_name = format!("org.example.Error.N{at}");
    let signal = || {
        with_sender(
            Message::signal("/org/freedesktop/DBus", BUS, "NameAcquired").unwrap(),
            sender,
        )
        .build(&(":1.7",))
            .unwrap()
    };
    let built = match said.what {
        What::Return => {
            let builder = with_sender(Message::method_return(&asked.header()).unwrap(), sender);
            match said.to {
                To::Hello => builder.build(&(":1.7",)),
                // Whoever names the owner names the provider, or itself.
                To::Owner => builder.build(&(sender.filter(|s| *s != BUS).unwrap_or(PROVIDER),)),
                To::First | To::Other => builder.build(&(at as u32,)),
            }
            .unwrap()
        }
        What::Error => with_sender(
            Message::error(&asked.header(), error_name.as_str()).unwrap(),
            sender,
        )
        .build(&("refused",))
        .unwrap(),
        What::Signal | What::Broken(_) => signal(),
    };
    let mut bytes = built.data().to_vec();
    match said.what {
        What::Broken(3) => bytes[3] = 2,
        What::Broken(4) => bytes[8..12].fill(0),
        What::Broken(5) => bytes[1] = 0,
        // A signal made a method return: it names no call.
        What::Broken(_) => bytes[1] = 2,
        _ => {}
    }
    bytes
}
