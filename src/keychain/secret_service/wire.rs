//! A session bus connection of patrol's own, for reading an item by its
//! path (`get`'s hit, an unchanged `store`'s comparison): one socket,
//! driven by the thread that asks, with nothing waited for that need not
//! be.
//!
//! zbus waits for the bus at every step of opening a connection: the
//! answer to `AUTH`, then the one to `BEGIN` with the bus's `Hello`, then
//! each call; and it moves every message through threads of its own. A
//! hit's time is mostly those waits (docs/performance.md). Here the
//! authentication, `BEGIN`, `Hello` and the first call travel in one write,
//! as the D-Bus specification allows a client to pipeline them, and calls
//! that do not depend on each other travel together. zbus still builds and
//! parses every message; this module only moves bytes.
//!
//! A session bus passes a method return from any client to any other, so
//! a reply is trusted by who sent it, never by its serial alone: the bus
//! writes every message's sender, which no client can forge. A connection
//! serves one peer, the owner of its first call's destination. The bus is
//! asked who that owner is (`GetNameOwner`) in the same first write, and
//! answers before it passes the first call on; from then on only that
//! owner answers calls to the peer, only the bus answers calls to the bus,
//! and the bus may refuse either with an error. Every other reply is
//! dropped. A bus whose address names its GUID must authenticate with it.
//!
//! Only what that read needs is here: a socket named by a `unix:` address,
//! `EXTERNAL` authentication, no file descriptors, method calls and their
//! replies. Anything else (another transport, a bus that refuses, a reply
//! that cannot be read, a message that breaks the specification) is an
//! error, and the caller asks through zbus instead, which knows every case
//! and reports it.

use std::io::{self, Read, Write};
use std::num::NonZeroU32;
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use zbus::Message;
use zbus::address::transport::{Transport, UnixSocket};
use zbus::message::Flags;
use zbus::zvariant::serialized::{Context, Data};
use zbus::zvariant::{DynamicType, Endian, OwnedValue, Value};
use zeroize::Zeroizing;

/// The longest reply accepted. A secret, or an item's attributes, is far
/// smaller; a bigger reply is not one of ours.
const MAX_MESSAGE: usize = 4 << 20;
/// How much is read from the socket at a time.
const CHUNK: usize = 4096;
/// The longest line of the authentication exchange accepted.
const MAX_LINE: usize = 512;
/// How long a connect waits before it tries again, while the bus's socket
/// has no room for another connection.
const CONNECT_RETRY: Duration = Duration::from_millis(1);

/// The bus itself: where calls to the bus go, and the sender of its own
/// replies, which no other client can send as.
pub const BUS: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";

/// The protocol version, message types and header fields read (D-Bus
/// specification, "Message Format").
const PROTOCOL_VERSION: u8 = 1;
const INVALID: u8 = 0;
const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
const FIELD_ERROR_NAME: u8 = 4;
const FIELD_REPLY_SERIAL: u8 = 5;
const FIELD_SENDER: u8 = 7;
const FIELD_SIGNATURE: u8 = 8;

/// A method call to send.
pub struct Call {
    message: Message,
    /// The bus name it is sent to, which says who may answer it.
    destination: String,
}

impl Call {
    /// A call of `member` on `interface` at `path` of `destination`.
    /// `auto_start: false` asks the bus not to start a provider for it.
    pub fn new(
        destination: &str,
        path: &str,
        interface: &str,
        member: &str,
        auto_start: bool,
        body: &(impl serde::Serialize + DynamicType),
    ) -> io::Result<Self> {
        let build = || -> zbus::Result<Message> {
            let mut builder = Message::method_call(path, member)?
                .destination(destination)?
                .interface(interface)?;
            if !auto_start {
                builder = builder.with_flags(Flags::NoAutoStart)?;
            }
            builder.build(body)
        };
        Ok(Self {
            message: build().map_err(other)?,
            destination: destination.to_owned(),
        })
    }

    /// A call to the bus itself.
    fn to_bus(member: &str, body: &(impl serde::Serialize + DynamicType)) -> io::Result<Self> {
        Self::new(BUS, BUS_PATH, BUS, member, true, body)
    }

    /// The serial its reply names.
    fn serial(&self) -> NonZeroU32 {
        self.message.primary_header().serial_num()
    }
}

/// What a call was answered with.
#[derive(Debug)]
pub enum Reply {
    /// A method return, with its body.
    Return(Body),
    /// An error, by its D-Bus name.
    Error(String),
}

/// The body of a method return, undecoded.
#[derive(Debug)]
pub struct Body {
    /// Wiped when dropped: it may hold a secret.
    bytes: Zeroizing<Vec<u8>>,
    endian: Endian,
    signature: String,
}

impl Body {
    /// The body as a `T`, when its signature is `T`'s.
    pub fn decode<T>(&self) -> io::Result<T>
    where
        T: for<'d> serde::Deserialize<'d> + zbus::zvariant::Type,
    {
        let expected = T::SIGNATURE.to_string();
        // A body of several values is signed without the parentheses of the
        // Rust tuple that holds them.
        let bare = expected
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .unwrap_or(&expected);
        if self.signature != expected && self.signature != bare {
            return Err(invalid(format!(
                "a reply signed `{}`, not `{expected}`",
                self.signature
            )));
        }
        let data = Data::new(&self.bytes[..], Context::new_dbus(self.endian, 0));
        let (value, _) = data
            .deserialize()
            .map_err(|err| invalid(format!("a reply that does not decode: {err}")))?;
        Ok(value)
    }
}

/// A connection to the session bus, authenticated and named by the bus.
pub struct Wire {
    stream: UnixStream,
    /// What was received and not yet taken; wiped when dropped, as it
    /// may hold a secret (and so may its spare capacity, once taken).
    received: Zeroizing<Vec<u8>>,
    /// When every read and write fails, if ever.
    deadline: Option<Instant>,
    /// The GUID the bus's address names, if it names one.
    guid: Option<String>,
    /// The one peer besides the bus that calls go to.
    peer: Peer,
}

/// Whom a connection's calls go to, besides the bus.
#[derive(Default)]
struct Peer {
    /// The bus name they are sent to (`org.freedesktop.secrets`).
    name: String,
    /// The unique name of the connection that owned `name` when the bus
    /// passed the first call on, the only one that answers; `None` when
    /// nothing owned it.
    owner: Option<String>,
}

impl Wire {
    /// Connects to the session bus, as zbus would find it, and sends
    /// `first` along with the authentication and `Hello`; returns once
    /// `first` is answered, or fails at `deadline`. See [`Wire::begin`].
    pub fn open(first: Call, deadline: Option<Instant>) -> io::Result<(Self, Reply)> {
        let address = zbus::Address::session().map_err(other)?;
        let guid = address.guid().map(|guid| guid.as_str().to_owned());
        let mut wire = Self::over(connect(&address, deadline)?, guid);
        wire.deadline = deadline;
        wire.begin(first)
    }

    /// A connection over `stream`, a socket connected to a bus whose
    /// address names `guid` (or none), before anything is said on it.
    pub fn over(stream: UnixStream, guid: Option<String>) -> Self {
        Self {
            stream,
            received: Zeroizing::new(Vec::new()),
            deadline: None,
            guid,
            peer: Peer::default(),
        }
    }

    /// Authenticates, says `Hello`, asks the bus who owns `first`'s
    /// destination, and sends `first`, all in one write; returns once
    /// `first` is answered. From then on every call goes to that
    /// destination or to the bus. `first` is to be sent without D-Bus
    /// activation: a provider the bus started for it would not be the
    /// owner the bus named, and its answers would be dropped.
    pub fn begin(mut self, first: Call) -> io::Result<(Self, Reply)> {
        let uid = rustix::process::geteuid().as_raw().to_string();
        let mut out = format!("\0AUTH EXTERNAL {}\r\nBEGIN\r\n", hex(uid.as_bytes())).into_bytes();
        let hello = Call::to_bus("Hello", &())?;
        let owner = Call::to_bus("GetNameOwner", &(first.destination.as_str(),))?;
        for call in [&hello, &owner, &first] {
            out.extend_from_slice(&call.message.data()[..]);
        }
        self.send(&out)?;
        self.authenticated()?;
        // The bus answers these two before it passes `first` on, so no
        // answer to `first` that comes earlier is the provider's: it is
        // passed over with any other message.
        let [hello, owner] = <[Reply; 2]>::try_from(self.replies(&[&hello, &owner])?)
            .map_err(|_| invalid("not one reply per call".into()))?;
        if let Reply::Error(name) = hello {
            return Err(invalid(format!("the bus refused `Hello`: {name:?}")));
        }
        self.peer = Peer {
            owner: match owner {
                Reply::Return(body) => Some(body.decode::<String>()?),
                Reply::Error(_) => None,
            },
            name: first.destination.clone(),
        };
        let first = self
            .replies(&[&first])?
            .pop()
            .ok_or_else(|| invalid("not one reply per call".into()))?;
        Ok((self, first))
    }

    /// Reads the bus's answer to the authentication: `OK` and the bus's
    /// GUID, which is the address's when the address names one.
    fn authenticated(&mut self) -> io::Result<()> {
        let line = self.line()?;
        let Some(guid) = line.strip_prefix("OK ") else {
            return Err(invalid(format!(
                "the bus refused EXTERNAL authentication: {line:?}"
            )));
        };
        match &self.guid {
            Some(expected) if !guid.eq_ignore_ascii_case(expected) => Err(invalid(format!(
                "a bus with the GUID {guid:?}, not the address's {expected}"
            ))),
            _ => Ok(()),
        }
    }

    /// Makes every read and write fail from `deadline` on.
    pub fn until(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    /// What is left until the deadline; an error once it has passed.
    fn left(&self) -> io::Result<Option<Duration>> {
        let Some(deadline) = self.deadline else {
            return Ok(None);
        };
        match deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(io::ErrorKind::TimedOut.into()),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.set_write_timeout(self.left()?)?;
        self.stream.write_all(bytes)
    }

    /// Sends `calls` together and returns their replies, in the same order.
    /// Each goes to the bus or to the peer of the first call.
    pub fn call(&mut self, calls: &[Call]) -> io::Result<Vec<Reply>> {
        let mut out = Vec::new();
        for call in calls {
            if call.destination != BUS && call.destination != self.peer.name {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "a call to {} on a connection to {}",
                        call.destination, self.peer.name
                    ),
                ));
            }
            out.extend_from_slice(&call.message.data()[..]);
        }
        self.send(&out)?;
        self.replies(&calls.iter().collect::<Vec<_>>())
    }

    /// Reads messages until each of `calls` is answered by someone who
    /// may answer it ([`Wire::may_answer`]). Other messages (the bus's
    /// `NameAcquired`, a reply to a call not waited for) are passed over;
    /// a reply from anyone else is dropped, and the trace says so.
    fn replies(&mut self, calls: &[&Call]) -> io::Result<Vec<Reply>> {
        let mut replies: Vec<Option<Reply>> = calls.iter().map(|_| None).collect();
        while replies.iter().any(Option::is_none) {
            let message = self.message()?;
            let Some(reply) = message.reply else {
                continue;
            };
            let Some(at) = calls
                .iter()
                .position(|call| message.reply_serial == Some(call.serial().get()))
            else {
                continue;
            };
            let call = calls[at];
            if replies[at].is_none() && self.may_answer(call, message.sender.as_deref(), &reply) {
                replies[at] = Some(reply);
            } else {
                crate::trace!(
                    "session bus: dropped a reply from {:?} to a call to {}",
                    message.sender.as_deref().unwrap_or("nobody"),
                    call.destination
                );
            }
        }
        Ok(replies.into_iter().flatten().collect())
    }

    /// Whether `sender` may give `reply` to `call`, once: the bus answers
    /// calls to itself and may refuse any call (a name nobody owns, a
    /// provider that went away); only the peer's owner answers calls to
    /// the peer.
    fn may_answer(&self, call: &Call, sender: Option<&str>, reply: &Reply) -> bool {
        match sender {
            Some(BUS) => call.destination == BUS || matches!(reply, Reply::Error(_)),
            Some(sender) => {
                call.destination == self.peer.name && self.peer.owner.as_deref() == Some(sender)
            }
            None => false,
        }
    }

    /// The next message.
    fn message(&mut self) -> io::Result<Incoming> {
        loop {
            if let Some(message) = Incoming::parse(&self.received)? {
                self.received.drain(..message.len);
                return Ok(message);
            }
            self.fill()?;
        }
    }

    /// One line of the authentication exchange, without its `\r\n`.
    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = self.received.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.received.drain(..end + 2).take(end).collect();
                return Ok(String::from_utf8_lossy(&line).into_owned());
            }
            if self.received.len() > MAX_LINE {
                return Err(invalid("an authentication line too long".into()));
            }
            self.fill()?;
        }
    }

    /// Reads what has arrived straight into `received`, so that no copy
    /// of a secret is left elsewhere.
    fn fill(&mut self) -> io::Result<()> {
        let len = self.received.len();
        if self.received.capacity() < len + CHUNK {
            // Moved by hand: a `Vec` that grows frees its old buffer
            // without wiping it.
            let mut bigger = Vec::with_capacity((len + CHUNK).max(2 * self.received.capacity()));
            bigger.extend_from_slice(&self.received);
            self.received = Zeroizing::new(bigger);
        }
        self.stream.set_read_timeout(self.left()?)?;
        self.received.resize(len + CHUNK, 0);
        let read = self.stream.read(&mut self.received[len..]);
        self.received.truncate(len + *read.as_ref().unwrap_or(&0));
        match read? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            _ => Ok(()),
        }
    }
}

/// A message read from the bus.
#[derive(Debug)]
pub struct Incoming {
    /// How many bytes it took.
    pub len: usize,
    /// The bus name of the connection that sent it, as the bus wrote it.
    pub sender: Option<String>,
    /// The serial of the call it replies to, if it is a reply.
    pub reply_serial: Option<u32>,
    /// For a method return or an error, the reply.
    pub reply: Option<Reply>,
}

impl Incoming {
    /// The message at the start of `bytes`; `None` until all of it is
    /// there. An error for bytes that are no message, one that breaks the
    /// specification (another protocol version, serial 0, type 0, a reply
    /// that names no call), or one larger than any reply of ours.
    pub fn parse(bytes: &[u8]) -> io::Result<Option<Self>> {
        let Some(primary) = bytes.get(..16) else {
            return Ok(None);
        };
        let endian = match primary[0] {
            b'l' => Endian::Little,
            b'B' => Endian::Big,
            other => return Err(invalid(format!("a message in byte order {other:#x}"))),
        };
        let word = |at: usize| {
            let bytes = [
                primary[at],
                primary[at + 1],
                primary[at + 2],
                primary[at + 3],
            ];
            let value = match endian {
                Endian::Little => u32::from_le_bytes(bytes),
                Endian::Big => u32::from_be_bytes(bytes),
            };
            usize::try_from(value).unwrap_or(usize::MAX)
        };
        if primary[3] != PROTOCOL_VERSION {
            return Err(invalid(format!(
                "a message of protocol version {}",
                primary[3]
            )));
        }
        if primary[1] == INVALID {
            return Err(invalid("a message of type 0, which is invalid".into()));
        }
        if word(8) == 0 {
            return Err(invalid("a message with serial 0".into()));
        }
        let (body_len, fields_len) = (word(4), word(12));
        let body_at = 16usize.saturating_add(fields_len).next_multiple_of(8);
        let len = body_at.saturating_add(body_len);
        if len > MAX_MESSAGE {
            return Err(invalid(format!("a message of {len} bytes")));
        }
        let Some(message) = bytes.get(..len) else {
            return Ok(None);
        };
        let header = Data::new(&message[..body_at], Context::new_dbus(endian, 0));
        type Header = (u8, u8, u8, u8, u32, u32, Vec<(u8, OwnedValue)>);
        let ((_, kind, _, _, _, _, fields), _): (Header, _) = header
            .deserialize()
            .map_err(|err| invalid(format!("a message header that does not decode: {err}")))?;
        let field = |code: u8| {
            fields
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, value)| &**value)
        };
        let reply_serial = match field(FIELD_REPLY_SERIAL) {
            Some(Value::U32(serial)) if *serial != 0 => Some(*serial),
            _ => None,
        };
        let sender = match field(FIELD_SENDER) {
            Some(Value::Str(sender)) => Some(sender.as_str().to_owned()),
            _ => None,
        };
        let reply = match kind {
            METHOD_RETURN => Some(Reply::Return(Body {
                bytes: Zeroizing::new(message[body_at..].to_vec()),
                endian,
                signature: match field(FIELD_SIGNATURE) {
                    Some(Value::Signature(signature)) => signature.to_string(),
                    _ => String::new(),
                },
            })),
            ERROR => Some(Reply::Error(match field(FIELD_ERROR_NAME) {
                Some(Value::Str(name)) => name.as_str().to_owned(),
                _ => "(unnamed)".into(),
            })),
            _ => None,
        };
        if reply.is_some() && reply_serial.is_none() {
            return Err(invalid("a reply that names no call".into()));
        }
        Ok(Some(Self {
            len,
            sender,
            reply_serial,
            reply,
        }))
    }
}

/// A socket connected to the bus at `address` by `deadline`.
///
/// Connecting a Unix socket never waits for the bus to accept: it either
/// completes at once or, while the bus's listening socket has no room for
/// another connection (a bus that has stopped accepting), blocks until
/// there is room, without a timeout of its own. A non-blocking socket
/// fails with `EAGAIN` instead, so the connect is retried until the
/// deadline, on the thread that asks and without a second one; the socket
/// is then made blocking again for the reads and writes, which have
/// timeouts of their own.
fn connect(address: &zbus::Address, deadline: Option<Instant>) -> io::Result<UnixStream> {
    let Transport::Unix(unix) = address.transport() else {
        return Err(invalid(format!(
            "a bus address not of a local socket: {address}"
        )));
    };
    let at = match unix.path() {
        UnixSocket::File(path) => SocketAddrUnix::new(path.as_path())?,
        UnixSocket::Abstract(name) => {
            use std::os::unix::ffi::OsStrExt;
            SocketAddrUnix::new_abstract_name(name.as_bytes())?
        }
        other => return Err(invalid(format!("a bus address to listen on: {other}"))),
    };
    let socket = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    loop {
        match rustix::net::connect(&socket, &at) {
            Ok(()) => break,
            Err(rustix::io::Errno::AGAIN) => {}
            Err(err) => return Err(err.into()),
        }
        if deadline.is_some_and(|deadline| Instant::now() + CONNECT_RETRY >= deadline) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the bus accepts no connection",
            ));
        }
        thread::sleep(CONNECT_RETRY);
    }
    let stream = UnixStream::from(socket);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

fn other(err: impl std::error::Error + Send + Sync + 'static) -> io::Error {
    io::Error::other(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::thread;
    use zbus::zvariant::OwnedObjectPath;

    /// The far end of a connection: a bus and provider played by a test.
    struct Bus {
        stream: UnixStream,
        received: Vec<u8>,
    }

    impl Bus {
        /// A connected pair: the client's end, and the bus.
        fn pair() -> (UnixStream, Self) {
            let (client, bus) = UnixStream::pair().unwrap();
            // A test that goes wrong fails instead of waiting for ever.
            for end in [&client, &bus] {
                end.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            }
            let bus = Self {
                stream: bus,
                received: Vec::new(),
            };
            (client, bus)
        }

        fn fill(&mut self) {
            let mut chunk = [0; 512];
            let read = self.stream.read(&mut chunk).unwrap();
            assert!(read > 0, "the client hung up");
            self.received.extend_from_slice(&chunk[..read]);
        }

        /// The authentication the client sent, up to and with `BEGIN`.
        fn authentication(&mut self) -> String {
            let end = loop {
                if let Some(at) = self.received.windows(7).position(|w| w == b"BEGIN\r\n") {
                    break at + 7;
                }
                self.fill();
            };
            String::from_utf8(self.received.drain(..end).collect()).unwrap()
        }

        /// The serial of the next message the client sent (little-endian,
        /// as zbus writes on this machine's tests).
        fn call(&mut self) -> NonZeroU32 {
            while self.received.len() < 16 {
                self.fill();
            }
            let word = |at: usize| {
                u32::from_le_bytes(self.received[at..at + 4].try_into().unwrap()) as usize
            };
            let total = (16 + word(12)).next_multiple_of(8) + word(4);
            let serial = NonZeroU32::new(word(8) as u32).unwrap();
            while self.received.len() < total {
                self.fill();
            }
            self.received.drain(..total);
            serial
        }

        fn send(&mut self, message: &Message) {
            self.send_bytes(&message.data()[..]);
        }

        fn send_bytes(&mut self, bytes: &[u8]) {
            self.stream.write_all(bytes).unwrap();
        }

        /// Sends `bytes` one at a time, as a slow bus might.
        fn trickle(&mut self, bytes: &[u8]) {
            for byte in bytes {
                self.stream.write_all(&[*byte]).unwrap();
            }
        }
    }

    /// A call with `serial`, for building a reply to it.
    fn call_with(serial: NonZeroU32) -> Message {
        Message::method_call("/", "Anything")
            .unwrap()
            .serial(serial)
            .build(&())
            .unwrap()
    }

    /// The Secret Service's connection on the test's bus, and another
    /// client's.
    const PROVIDER: &str = ":1.3";
    const INTRUDER: &str = ":1.9";

    /// A reply to `serial` as the bus passes it on from `sender`.
    fn reply_from(
        sender: &str,
        serial: NonZeroU32,
        body: &(impl serde::Serialize + DynamicType),
    ) -> Message {
        Message::method_return(&call_with(serial).header())
            .unwrap()
            .sender(sender)
            .unwrap()
            .build(body)
            .unwrap()
    }

    fn reply(serial: NonZeroU32, body: &(impl serde::Serialize + DynamicType)) -> Message {
        reply_from(PROVIDER, serial, body)
    }

    fn error_from(sender: &str, serial: NonZeroU32, name: &str) -> Message {
        Message::error(&call_with(serial).header(), name)
            .unwrap()
            .sender(sender)
            .unwrap()
            .build(&("refused",))
            .unwrap()
    }

    fn error(serial: NonZeroU32, name: &str) -> Message {
        error_from(PROVIDER, serial, name)
    }

    fn name_acquired() -> Message {
        Message::signal(
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameAcquired",
        )
        .unwrap()
        .sender(BUS)
        .unwrap()
        .build(&(":1.7",))
        .unwrap()
    }

    fn read_alias() -> Call {
        Call::new(
            "org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service",
            "ReadAlias",
            false,
            &("default",),
        )
        .unwrap()
    }

    fn collection() -> OwnedObjectPath {
        OwnedObjectPath::try_from("/org/freedesktop/secrets/collection/login").unwrap()
    }

    /// Opens a connection whose bus answers `Hello` and the first call;
    /// returns what `open` gave.
    fn opened(serve: impl FnOnce(&mut Bus) + Send + 'static) -> io::Result<(Wire, Reply)> {
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || serve(&mut bus));
        let opened = Wire::over(client, None).begin(read_alias());
        server.join().unwrap();
        opened
    }

    const OK: &[u8] = b"OK 0123456789abcdef0123456789abcdef\r\n";

    /// Answers the authentication, `Hello` and `GetNameOwner` as a bus
    /// would, naming `PROVIDER`; returns the first call's serial.
    fn welcome(bus: &mut Bus) -> NonZeroU32 {
        bus.authentication();
        let (hello, owner, first) = (bus.call(), bus.call(), bus.call());
        bus.trickle(OK);
        bus.send(&reply_from(BUS, hello, &(":1.7",)));
        bus.send(&name_acquired());
        bus.send(&reply_from(BUS, owner, &(PROVIDER,)));
        first
    }

    #[test]
    fn authentication_hello_and_the_first_call_travel_before_any_answer() {
        let (client, mut bus) = Bus::pair();
        let first = read_alias();
        let first_serial = first.serial();
        let server = thread::spawn(move || {
            // Read before anything is answered: a client that waited for
            // `OK` would leave this reading until the timeout.
            let authentication = bus.authentication();
            let (hello, owner, first) = (bus.call(), bus.call(), bus.call());
            bus.stream.write_all(OK).unwrap();
            bus.send(&reply_from(BUS, hello, &(":1.7",)));
            bus.send(&name_acquired());
            bus.send(&reply_from(BUS, owner, &(PROVIDER,)));
            bus.send(&reply(first, &(collection(),)));
            (authentication, first)
        });
        let (_, answer) = Wire::over(client, None).begin(first).unwrap();
        let (authentication, first) = server.join().unwrap();
        assert_eq!(first, first_serial);
        let uid = rustix::process::geteuid().as_raw().to_string();
        assert_eq!(
            authentication,
            format!("\0AUTH EXTERNAL {}\r\nBEGIN\r\n", hex(uid.as_bytes()))
        );
        let Reply::Return(body) = answer else {
            panic!("{answer:?}")
        };
        assert_eq!(body.decode::<OwnedObjectPath>().unwrap(), collection());
    }

    #[test]
    fn replies_are_matched_to_their_calls_however_they_arrive() {
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            let first = welcome(&mut bus);
            bus.send(&error_from(
                BUS,
                first,
                "org.freedesktop.DBus.Error.ServiceUnknown",
            ));
            let (a, b) = (bus.call(), bus.call());
            // The second call's answer first, a byte at a time.
            bus.trickle(&error(b, "org.freedesktop.Secret.Error.IsLocked").data()[..]);
            bus.send(&name_acquired());
            let big = Message::method_return(&call_with(a).header())
                .unwrap()
                .endian(Endian::Big)
                .sender(PROVIDER)
                .unwrap()
                .build(&(7u32, "seven"))
                .unwrap();
            bus.send(&big);
        });
        let (mut wire, first) = Wire::over(client, None).begin(read_alias()).unwrap();
        assert!(
            matches!(&first, Reply::Error(name) if name == "org.freedesktop.DBus.Error.ServiceUnknown"),
            "{first:?}"
        );
        let replies = wire.call(&[read_alias(), read_alias()]).unwrap();
        server.join().unwrap();
        let [Reply::Return(a), Reply::Error(b)] = replies.as_slice() else {
            panic!("{replies:?}")
        };
        assert_eq!(a.decode::<(u32, String)>().unwrap(), (7, "seven".into()));
        assert_eq!(b, "org.freedesktop.Secret.Error.IsLocked");
    }

    #[test]
    fn a_message_is_read_once_all_of_it_is_there_and_no_further() {
        let serial = NonZeroU32::new(9).unwrap();
        let message = reply(serial, &(collection(),));
        let bytes = &message.data()[..];
        for end in 0..bytes.len() {
            assert!(Incoming::parse(&bytes[..end]).unwrap().is_none(), "{end}");
        }
        let mut two = bytes.to_vec();
        two.extend_from_slice(&name_acquired().data()[..]);
        let first = Incoming::parse(&two).unwrap().unwrap();
        assert_eq!((first.len, first.reply_serial), (bytes.len(), Some(9)));
        let second = Incoming::parse(&two[first.len..]).unwrap().unwrap();
        assert_eq!(first.len + second.len, two.len());
        assert!(second.reply_serial.is_none() && second.reply.is_none());
    }

    #[test]
    fn a_body_is_decoded_only_as_what_it_is_signed() {
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            let first = welcome(&mut bus);
            let attributes = HashMap::from([("service".to_owned(), "git".to_owned())]);
            bus.send(&reply(first, &(Value::from(attributes),)));
        });
        let (_, first) = Wire::over(client, None).begin(read_alias()).unwrap();
        server.join().unwrap();
        let Reply::Return(body) = first else {
            panic!("{first:?}")
        };
        let err = body.decode::<OwnedObjectPath>().unwrap_err();
        assert!(err.to_string().contains("signed `v`"), "{err}");
        let attributes = HashMap::<String, String>::try_from(body.decode::<OwnedValue>().unwrap());
        assert_eq!(attributes.unwrap()["service"], "git");
    }

    #[test]
    fn a_bus_that_refuses_or_misbehaves_is_an_error_never_a_wait() {
        let refused = opened(|bus| {
            bus.authentication();
            bus.stream.write_all(b"REJECTED EXTERNAL\r\n").unwrap();
        });
        let err = refused.err().unwrap();
        assert!(err.to_string().contains("REJECTED"), "{err}");

        let no_hello = opened(|bus| {
            bus.authentication();
            let (hello, owner, first) = (bus.call(), bus.call(), bus.call());
            bus.stream.write_all(OK).unwrap();
            bus.send(&error_from(
                BUS,
                hello,
                "org.freedesktop.DBus.Error.AccessDenied",
            ));
            // The client may hang up at that error, before these arrive.
            let rest = [
                reply_from(BUS, owner, &(PROVIDER,)),
                reply(first, &(collection(),)),
            ];
            for message in rest {
                let _ = bus.stream.write_all(&message.data()[..]);
            }
        });
        let err = no_hello.err().unwrap();
        assert!(err.to_string().contains("AccessDenied"), "{err}");

        let hung_up = opened(|bus| {
            bus.authentication();
            bus.stream.write_all(OK).unwrap();
            bus.stream.shutdown(std::net::Shutdown::Both).unwrap();
        });
        assert_eq!(hung_up.err().unwrap().kind(), io::ErrorKind::UnexpectedEof);

        // A header that announces a body bigger than any reply of ours is
        // refused without waiting for the body.
        let huge = opened(|bus| {
            bus.authentication();
            bus.stream.write_all(OK).unwrap();
            let mut header = b"l\x02\x00\x01".to_vec();
            header.extend_from_slice(&(64u32 << 20).to_le_bytes());
            header.extend_from_slice(&1u32.to_le_bytes());
            header.extend_from_slice(&0u32.to_le_bytes());
            bus.stream.write_all(&header).unwrap();
        });
        let err = huge.err().unwrap();
        assert!(err.to_string().contains("bytes"), "{err}");

        // A bus that stops answering, or answers a byte at a time: the call
        // fails at its deadline.
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            let first = welcome(&mut bus);
            bus.send(&reply(first, &(collection(),)));
            bus.call();
            bus
        });
        let (mut wire, _) = Wire::over(client, None).begin(read_alias()).unwrap();
        wire.until(Instant::now() + Duration::from_millis(50));
        let silent = wire.call(&[read_alias()]);
        let bus = server.join().unwrap();
        assert!(
            matches!(
                silent.as_ref().map_err(io::Error::kind),
                Err(io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
            ),
            "{silent:?}"
        );
        drop(bus);
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            let first = welcome(&mut bus);
            bus.send(&reply(first, &(collection(),)));
            let call = bus.call();
            for byte in &reply(call, &(collection(),)).data()[..] {
                if bus.stream.write_all(&[*byte]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        });
        let (mut wire, _) = Wire::over(client, None).begin(read_alias()).unwrap();
        let started = Instant::now();
        wire.until(started + Duration::from_millis(200));
        let slow = wire.call(&[read_alias()]);
        assert!(started.elapsed() < Duration::from_secs(1), "{slow:?}");
        assert!(slow.is_err(), "{slow:?}");
        drop(wire);
        server.join().unwrap();

        let long_line = opened(|bus| {
            bus.authentication();
            bus.stream.write_all(&[b'O'; 2 * MAX_LINE]).unwrap();
        });
        assert!(long_line.is_err());
    }

    /// Another collection than `collection`, for answers that must not
    /// be taken.
    fn elsewhere() -> OwnedObjectPath {
        OwnedObjectPath::try_from("/org/freedesktop/secrets/collection/elsewhere").unwrap()
    }

    #[test]
    fn only_the_owner_the_bus_names_answers_calls_to_it() {
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            bus.authentication();
            let (hello, owner, first) = (bus.call(), bus.call(), bus.call());
            bus.stream.write_all(OK).unwrap();
            // Before the bus has named the owner, nothing answers the first
            // call: the bus names it before it passes the call on.
            bus.send(&reply(first, &(elsewhere(),)));
            // Only the bus answers calls to the bus.
            bus.send(&reply_from(INTRUDER, hello, &(":1.7",)));
            bus.send(&reply_from(BUS, hello, &(":1.7",)));
            bus.send(&reply_from(INTRUDER, owner, &(INTRUDER,)));
            bus.send(&reply_from(BUS, owner, &(PROVIDER,)));
            // Only the owner answers calls to it; the bus only refuses them.
            bus.send(&reply_from(INTRUDER, first, &(elsewhere(),)));
            bus.send(&reply_from(BUS, first, &(elsewhere(),)));
            bus.send(&reply(first, &(collection(),)));
            let (a, b) = (bus.call(), bus.call());
            bus.send(&reply_from(INTRUDER, a, &(elsewhere(),)));
            bus.send(&error_from(
                INTRUDER,
                b,
                "org.freedesktop.Secret.Error.IsLocked",
            ));
            // No sender at all is no one's.
            let unsigned = Message::method_return(&call_with(b).header())
                .unwrap()
                .build(&(elsewhere(),))
                .unwrap();
            bus.send(&unsigned);
            bus.send(&reply(b, &(collection(),)));
            bus.send(&reply_from(INTRUDER, a, &(elsewhere(),)));
            bus.send(&error_from(BUS, a, "org.freedesktop.DBus.Error.NoReply"));
            bus.send(&reply(a, &(elsewhere(),)));
        });
        let (mut wire, first) = Wire::over(client, None).begin(read_alias()).unwrap();
        let Reply::Return(body) = first else {
            panic!("{first:?}")
        };
        assert_eq!(body.decode::<OwnedObjectPath>().unwrap(), collection());
        let replies = wire.call(&[read_alias(), read_alias()]).unwrap();
        server.join().unwrap();
        let [Reply::Error(a), Reply::Return(b)] = replies.as_slice() else {
            panic!("{replies:?}")
        };
        assert_eq!(a, "org.freedesktop.DBus.Error.NoReply");
        assert_eq!(b.decode::<OwnedObjectPath>().unwrap(), collection());
    }

    #[test]
    fn a_name_nobody_owns_is_answered_by_the_bus_alone() {
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            bus.authentication();
            let (hello, owner, first) = (bus.call(), bus.call(), bus.call());
            bus.stream.write_all(OK).unwrap();
            bus.send(&reply_from(BUS, hello, &(":1.7",)));
            bus.send(&error_from(
                BUS,
                owner,
                "org.freedesktop.DBus.Error.NameHasNoOwner",
            ));
            bus.send(&reply_from(INTRUDER, first, &(elsewhere(),)));
            bus.send(&error_from(
                BUS,
                first,
                "org.freedesktop.DBus.Error.ServiceUnknown",
            ));
        });
        let (_, first) = Wire::over(client, None).begin(read_alias()).unwrap();
        server.join().unwrap();
        assert!(
            matches!(&first, Reply::Error(name) if name == "org.freedesktop.DBus.Error.ServiceUnknown"),
            "{first:?}"
        );
    }

    #[test]
    fn a_connection_serves_the_peer_of_its_first_call_alone() {
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            let first = welcome(&mut bus);
            bus.send(&reply(first, &(collection(),)));
        });
        let (mut wire, _) = Wire::over(client, None).begin(read_alias()).unwrap();
        server.join().unwrap();
        let elsewhere = Call::new(
            "org.example.Other",
            "/",
            "org.example.Other",
            "Ask",
            true,
            &(),
        );
        let err = wire.call(&[elsewhere.unwrap()]).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    #[test]
    fn a_message_that_breaks_the_specification_is_refused() {
        let good = reply(NonZeroU32::new(9).unwrap(), &(collection(),));
        let signal = name_acquired();
        let patched = |message: &Message, at: usize, bytes: &[u8]| {
            let mut patched = message.data().to_vec();
            patched[at..at + bytes.len()].copy_from_slice(bytes);
            patched
        };
        for (bytes, why) in [
            (patched(&good, 3, &[2]), "protocol version 2"),
            (patched(&good, 1, &[INVALID]), "type 0"),
            (patched(&good, 8, &[0; 4]), "serial 0"),
            // A signal made a reply: it names no call.
            (patched(&signal, 1, &[METHOD_RETURN]), "names no call"),
            (patched(&signal, 1, &[ERROR]), "names no call"),
        ] {
            // Refused as soon as the fixed part of the header is there,
            // where that part tells.
            let at = if why.ends_with("no call") {
                bytes.len()
            } else {
                16
            };
            let err = Incoming::parse(&bytes[..at]).err();
            assert!(
                err.as_ref()
                    .is_some_and(|err| err.to_string().contains(why)),
                "{why}: {err:?}"
            );
        }
        assert!(Incoming::parse(&good.data()[..]).unwrap().is_some());

        // Over a connection: the error ends it.
        let broken = opened(move |bus| {
            let first = welcome(bus);
            let mut bytes = reply(first, &(collection(),)).data().to_vec();
            bytes[3] = 2;
            bus.send_bytes(&bytes);
        });
        let err = broken.err().unwrap();
        assert!(err.to_string().contains("protocol version"), "{err}");
    }

    #[test]
    fn the_bus_is_the_one_its_address_names() {
        let guid = std::str::from_utf8(&OK[3..OK.len() - 2]).unwrap();
        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            let first = welcome(&mut bus);
            bus.send(&reply(first, &(collection(),)));
        });
        let same = Wire::over(client, Some(guid.to_uppercase())).begin(read_alias());
        server.join().unwrap();
        assert!(same.is_ok());

        let (client, mut bus) = Bus::pair();
        let server = thread::spawn(move || {
            bus.authentication();
            bus.stream.write_all(OK).unwrap();
        });
        let other =
            Wire::over(client, Some("fedcba9876543210fedcba9876543210".into())).begin(read_alias());
        server.join().unwrap();
        let err = other.err().unwrap();
        assert!(err.to_string().contains("GUID"), "{err}");
    }

    #[test]
    fn a_bus_that_accepts_no_connection_is_given_up_at_the_deadline() {
        use rustix::net::{AddressFamily, SocketAddrUnix, SocketType};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bus");
        let listener = rustix::net::socket(AddressFamily::UNIX, SocketType::STREAM, None).unwrap();
        rustix::net::bind(&listener, &SocketAddrUnix::new(path.as_path()).unwrap()).unwrap();
        // A backlog of none: one connection not yet accepted fills it.
        rustix::net::listen(&listener, 0).unwrap();
        let _waiting = UnixStream::connect(&path).unwrap();
        let address: zbus::Address = format!("unix:path={}", path.display()).parse().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let connecting = address.clone();
        let started = Instant::now();
        thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_millis(100);
            let _ = sender.send(connect(&connecting, Some(deadline)).map(drop));
        });
        let full = receiver
            .recv_timeout(Duration::from_secs(5))
            .expect("the connect waited past its deadline");
        assert_eq!(full.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2));

        // Once the bus accepts again, the connect goes through.
        let _accepted = rustix::net::accept(&listener).unwrap();
        assert!(connect(&address, Some(Instant::now() + Duration::from_secs(5))).is_ok());
    }
}
