//! Git's credential protocol, helper side (git-credential(1)): reading the
//! attributes git sends on stdin and writing the ones we answer with.
//!
//! Lenient in what it reads (unknown keys are skipped, input ends at a blank
//! line or EOF), strict in what it writes (no NUL, CR or LF ever reaches a key
//! or value). Everything works on `BufRead`/`Write`, so tests feed it bytes.

use std::io::{self, BufRead, Write};

use thiserror::Error;
use zeroize::Zeroizing;

use crate::credential::{Secret, Secrets, Target};

/// The longest line read. Git's own reader (`strbuf_getline`) has no limit,
/// so the bound is far above anything git sends (a long password, a
/// server's `WWW-Authenticate` header, which curl caps at 100 KiB) and
/// only keeps a stream without newlines from taking the memory.
pub const MAX_LINE: usize = 1 << 20;

/// The most a whole request may hold, every line counted.
pub const MAX_REQUEST: usize = 8 << 20;

/// Where the line buffer starts; it grows, up to `MAX_LINE`, only for a
/// longer line.
const FIRST_CAPACITY: usize = 1 << 16;

/// At most this many values of one list attribute (`state[]`, `wwwauth[]`,
/// `capability[]`) are read: git sends a few (one `state[]` per helper, one
/// `wwwauth[]` per challenge header), and the request must not grow
/// without end in memory.
pub const MAX_LIST: usize = 1000;

/// The capabilities this helper implements, in the order it announces them.
const CAPABILITIES: &[&str] = &["authtype", "state"];

/// Prefix of our `state[]` values; git hands each helper back all of them.
pub const STATE_PREFIX: &str = "patrol:";

#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("could not read the request from git: {0}")]
    Io(#[from] io::Error),
    #[error("line {0} of the request is longer than {MAX_LINE} bytes")]
    TooLong(usize),
    #[error("the request is longer than {MAX_REQUEST} bytes")]
    RequestTooLong,
    #[error("line {0} of the request contains a NUL byte")]
    Nul(usize),
    #[error("line {0} of the request contains a carriage return")]
    CarriageReturn(usize),
    #[error("line {0} of the request is not valid UTF-8")]
    NotUtf8(usize),
    #[error("line {0} of the request is not `key=value`")]
    NoEquals(usize),
    #[error("the `url` on line {0} is not a URL git would send")]
    BadUrl(usize),
    #[error("line {0} of the request is a `{1}` beyond the {MAX_LIST} that are read")]
    TooMany(usize, &'static str),
}

/// Everything git may tell a helper. Fields git did not send are `None` or
/// empty; that distinction matters, because a missing field matches anything.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub path: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub password_expiry_utc: Option<i64>,
    pub oauth_refresh_token: Option<Secret>,
    pub authtype: Option<String>,
    pub credential: Option<Secret>,
    pub ephemeral: bool,
    pub state: Vec<String>,
    pub continue_: bool,
    pub wwwauth: Vec<String>,
    pub capabilities: Vec<String>,
    pub quit: bool,
}

impl Request {
    /// Reads attributes until a blank line or EOF.
    pub fn read(input: impl BufRead) -> Result<Self, ProtocolError> {
        let mut request = Request::default();
        // `take` bounds what the whole request may make us read.
        let mut input = input.take(MAX_REQUEST as u64 + 1);
        // Lines carry passwords: the buffer is wiped when dropped, and a
        // longer line moves it into a larger one that is wiped in turn
        // (`read_line`), so no reallocation leaves a copy in freed memory.
        let mut line = Zeroizing::new(Vec::with_capacity(FIRST_CAPACITY));
        for number in 1.. {
            let read = read_line(&mut input, &mut line)?;
            // Only a request over the bound reaches the end of the `take`.
            if input.limit() == 0 {
                return Err(ProtocolError::RequestTooLong);
            }
            match read {
                Line::End => break,
                Line::Ended => {}
                Line::TooLong => {
                    // A server's WWW-Authenticate header is not ours to
                    // judge: git still deserves an answer without that one
                    // challenge.
                    if !line.starts_with(b"wwwauth[]=") {
                        return Err(ProtocolError::TooLong(number));
                    }
                    skip_rest_of_line(&mut input)?;
                    if input.limit() == 0 {
                        return Err(ProtocolError::RequestTooLong);
                    }
                    crate::trace!(
                        "protocol: skipped line {number}, a wwwauth[] over {MAX_LINE} bytes"
                    );
                    continue;
                }
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.is_empty() {
                break;
            }
            if line.contains(&0) {
                return Err(ProtocolError::Nul(number));
            }
            // Like git's credential.protectProtocol: a CR inside a value could
            // end a line for a reader that splits on it.
            if line.contains(&b'\r') {
                return Err(ProtocolError::CarriageReturn(number));
            }
            let text = std::str::from_utf8(&line).map_err(|_| ProtocolError::NotUtf8(number))?;
            let (key, value) = text
                .split_once('=')
                .ok_or(ProtocolError::NoEquals(number))?;
            request.set(key, value, number)?;
        }
        Ok(request)
    }

    fn set(&mut self, key: &str, value: &str, line: usize) -> Result<(), ProtocolError> {
        let owned = || Some(value.to_owned());
        match key {
            "protocol" => self.protocol = owned(),
            "host" => self.host = owned(),
            "path" => self.path = owned(),
            "username" => self.username = owned(),
            "password" => self.password = Some(Secret::new(value)),
            "password_expiry_utc" => self.password_expiry_utc = expiry_as_git_reads_it(value),
            "oauth_refresh_token" => self.oauth_refresh_token = Some(Secret::new(value)),
            "authtype" => self.authtype = owned(),
            "credential" => self.credential = Some(Secret::new(value)),
            "ephemeral" => self.ephemeral = is_true(value),
            "continue" => self.continue_ = is_true(value),
            "quit" => self.quit = is_true(value),
            "url" => self.set_url(value).ok_or(ProtocolError::BadUrl(line))?,
            "state[]" => push_or_reset(&mut self.state, value, "state[]", line)?,
            "wwwauth[]" => push_or_reset(&mut self.wwwauth, value, "wwwauth[]", line)?,
            "capability[]" => {
                push_or_reset(&mut self.capabilities, value, "capability[]", line)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Git treats `url=` as if its parts had been sent, and clears the whole
    /// credential first (credential_from_url calls credential_clear), so
    /// nothing sent before a `url=` survives it.
    fn set_url(&mut self, url: &str) -> Option<()> {
        let UrlParts {
            protocol,
            host,
            path,
            username,
            password,
        } = UrlParts::parse(url)?;
        *self = Request {
            protocol: Some(protocol),
            host,
            path,
            username,
            password,
            ..Request::default()
        };
        Some(())
    }

    /// Writes every attribute that is set, in the form `read` accepts;
    /// `read(write(r)) == r` for any `r` that `read` produced.
    pub fn write(&self, out: impl Write) -> io::Result<()> {
        let mut writer = Writer::new(out);
        for value in &self.capabilities {
            writer.field("capability[]", value)?;
        }
        let fields = [
            ("protocol", self.protocol.as_deref()),
            ("host", self.host.as_deref()),
            ("path", self.path.as_deref()),
            ("username", self.username.as_deref()),
            ("password", self.password.as_ref().map(Secret::expose)),
            (
                "oauth_refresh_token",
                self.oauth_refresh_token.as_ref().map(Secret::expose),
            ),
            ("authtype", self.authtype.as_deref()),
            ("credential", self.credential.as_ref().map(Secret::expose)),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                writer.field(key, value)?;
            }
        }
        if let Some(expiry) = self.password_expiry_utc {
            writer.field("password_expiry_utc", &expiry.to_string())?;
        }
        for (key, set) in [
            ("ephemeral", self.ephemeral),
            ("continue", self.continue_),
            ("quit", self.quit),
        ] {
            if set {
                writer.field(key, "1")?;
            }
        }
        for (key, list) in [("state[]", &self.state), ("wwwauth[]", &self.wwwauth)] {
            for value in list {
                writer.field(key, value)?;
            }
        }
        writer.finish().map(drop)
    }

    pub fn has_capability(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c == name)
    }

    /// Protocol, host and path, when git gave a protocol and a host or a
    /// path: what git's own `credential-store` needs to store anything. A
    /// client certificate's passphrase comes with an empty host and the
    /// certificate's path (`protocol=cert`, `path=/home/me/client.p12`).
    pub fn target(&self) -> Option<Target> {
        let target = Target {
            protocol: self.protocol.clone().filter(|p| !p.is_empty())?,
            host: self.host.clone().unwrap_or_default(),
            path: self.path.clone().filter(|p| !p.is_empty()),
        };
        (!target.host.is_empty() || target.path.is_some()).then_some(target)
    }

    /// The secret fields git sent, as they would be stored.
    pub fn secrets(&self) -> Secrets {
        Secrets {
            password: self.password.clone(),
            oauth_refresh_token: self.oauth_refresh_token.clone(),
            auth: match (&self.authtype, &self.credential) {
                (Some(authtype), Some(credential)) => Some((authtype.clone(), credential.clone())),
                _ => None,
            },
            password_expiry_utc: self.password_expiry_utc,
        }
    }

    /// Our own `state[]` value, if git passed one back.
    pub fn our_state(&self) -> Option<&str> {
        self.state.iter().find_map(|s| s.strip_prefix(STATE_PREFIX))
    }
}

fn is_true(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

fn push_or_reset(
    list: &mut Vec<String>,
    value: &str,
    key: &'static str,
    line: usize,
) -> Result<(), ProtocolError> {
    if value.is_empty() {
        list.clear();
    } else if list.len() >= MAX_LIST {
        return Err(ProtocolError::TooMany(line, key));
    } else {
        list.push(value.to_owned());
    }
    Ok(())
}

/// How a call to `read_line` ended.
enum Line {
    /// Nothing more to read.
    End,
    /// A line, without its `\n` (the last line may have none).
    Ended,
    /// Longer than `MAX_LINE`: the buffer holds its first bytes.
    TooLong,
}

/// Reads one line into `line` (emptied first), without its `\n`. When the
/// line outgrows the buffer, the buffer moves into one twice as large and
/// the old one is wiped; a line over `MAX_LINE` stops the reading.
fn read_line(input: &mut impl BufRead, line: &mut Zeroizing<Vec<u8>>) -> io::Result<Line> {
    line.clear();
    let mut read_any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(if read_any { Line::Ended } else { Line::End });
        }
        read_any = true;
        let (piece, ended) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], true),
            None => (available, false),
        };
        let wanted = line.len() + piece.len();
        if wanted > MAX_LINE {
            let fits = MAX_LINE + 1 - line.len();
            grow(line, MAX_LINE + 1);
            line.extend_from_slice(&piece[..fits]);
            input.consume(fits);
            return Ok(Line::TooLong);
        }
        if wanted > line.capacity() {
            grow(line, wanted.max(line.capacity() * 2).min(MAX_LINE + 1));
        }
        line.extend_from_slice(piece);
        let used = piece.len() + usize::from(ended);
        input.consume(used);
        if ended {
            return Ok(Line::Ended);
        }
    }
}

/// Moves `line` into a buffer of `capacity`; the old one is wiped as it drops.
fn grow(line: &mut Zeroizing<Vec<u8>>, capacity: usize) {
    if capacity <= line.capacity() {
        return;
    }
    let mut larger = Zeroizing::new(Vec::with_capacity(capacity));
    larger.extend_from_slice(line);
    std::mem::swap(line, &mut larger);
}

/// Reads and drops the rest of an over-long line.
fn skip_rest_of_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(());
        }
        match available.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(());
            }
            None => {
                let all = available.len();
                input.consume(all);
            }
        }
    }
}

/// `password_expiry_utc` as git reads it (`parse_timestamp`, that is
/// `strtoumax` in base 10): blanks before the number are skipped, the
/// leading digits count and anything after them is ignored; a value with
/// no digits, `0`, or one too large is no expiry at all ("never expires").
/// A value past what a date can hold (a negative number, which `strtoumax`
/// wraps around to a huge one) is as good as never, and read as none.
fn expiry_as_git_reads_it(value: &str) -> Option<i64> {
    let text = value.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let (negative, text) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let number: u64 = text[..digits].parse().ok()?;
    if negative || number == 0 {
        return None;
    }
    i64::try_from(number).ok()
}

/// A URL split the way git's `credential_from_url` splits one:
/// `proto://[user[:pass]@]host[/path]`, the port kept as part of the host.
///
/// git's rules, which decide which host a token is sent to:
/// - the protocol is everything before the first `://`;
/// - the host ends at the first `/`, `?` or `#`;
/// - only an `@` before that point separates the user information, and the
///   first `:` inside it separates the password;
/// - each part is percent-decoded by git's `url_decode_mem`, which leaves
///   alone everything before a part's first `:` (and `%00`);
/// - slashes are trimmed from both ends of the path (one is kept when the
///   decoded path is only slashes).
///
/// Where git would keep bytes that cannot travel on the protocol (invalid
/// UTF-8, a decoded CR or LF), the URL is refused instead. The password is a
/// `Secret`: never shown by `Debug`, wiped on drop.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UrlParts {
    pub protocol: String,
    /// `None` when the URL has an empty host (`cert:///path`).
    pub host: Option<String>,
    pub path: Option<String>,
    pub username: Option<String>,
    pub password: Option<Secret>,
}

impl UrlParts {
    pub fn parse(url: &str) -> Option<Self> {
        let (protocol, rest) = url.split_once("://")?;
        if protocol.is_empty() || protocol.contains(['\0', '\r', '\n']) {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (userinfo, host) = match authority.split_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, pass)) => (
                    Some(decode(user)?.as_str().to_owned()),
                    Some(Secret::new(decode(pass)?.as_str())),
                ),
                None => (Some(decode(info)?.as_str().to_owned()), None),
            },
            None => (None, None),
        };
        let path = match tail.trim_start_matches('/') {
            "" => None,
            path => {
                let decoded = decode(path)?;
                let kept = decoded.trim_end_matches('/').len().max(1);
                Some(decoded[..kept].to_owned())
            }
        };
        Some(UrlParts {
            protocol: protocol.to_owned(),
            host: Some(decode(host)?.as_str().to_owned()).filter(|h| !h.is_empty()),
            path,
            username,
            password,
        })
    }

    /// The host without its port.
    pub fn host_name(&self) -> Option<&str> {
        let host = self.host.as_deref()?;
        Some(match self.port() {
            Some(port) => &host[..host.len() - port.len() - 1],
            None => host,
        })
    }

    /// The port, when the host ends with `:` and digits.
    pub fn port(&self) -> Option<&str> {
        let (_, port) = self.host.as_deref()?.rsplit_once(':')?;
        (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())).then_some(port)
    }
}

/// git's `url_decode_mem`: `%XX` becomes the byte it names, except `%00`
/// and anything that is not two hex digits, which stay as they are; and
/// whatever comes before the first `:` is taken as a URL scheme and not
/// decoded at all (git skips that when the `:` comes first, which leaves
/// nothing before it anyway). A result that could not travel on the
/// protocol (invalid UTF-8, NUL, CR or LF) is refused.
fn decode(text: &str) -> Option<Zeroizing<String>> {
    let (verbatim, encoded) = text.split_at(text.find(':').unwrap_or(0));
    let bytes = encoded.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(text.len()));
    out.extend_from_slice(verbatim.as_bytes());
    let mut i = 0;
    while i < bytes.len() {
        let byte = match bytes.get(i + 1..i + 3) {
            Some(&[high, low]) if bytes[i] == b'%' => hex_pair(high, low),
            _ => None,
        };
        match byte {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    let decoded = std::str::from_utf8(&out).ok()?;
    (!decoded.contains(['\0', '\r', '\n'])).then(|| Zeroizing::new(decoded.to_owned()))
}

/// The byte two hex digits name, unless it is NUL (git never decodes `%00`).
fn hex_pair(high: u8, low: u8) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    let value = digit(high)? * 16 + digit(low)?;
    u8::try_from(value).ok().filter(|&b| b != 0)
}

/// Writes `key=value` lines, refusing any value that could break the framing.
pub struct Writer<W: Write> {
    out: W,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Values with NUL, CR or LF are dropped rather than written: git would
    /// misread them, and a stored value could smuggle in a second attribute.
    pub fn field(&mut self, key: &str, value: &str) -> io::Result<()> {
        if value.contains(['\0', '\r', '\n']) {
            return Ok(());
        }
        writeln!(self.out, "{key}={value}")
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The answer to `capability`: the version line, then one line a capability.
pub fn write_capabilities(mut out: impl Write) -> io::Result<()> {
    writeln!(out, "version 0")?;
    for capability in CAPABILITIES {
        writeln!(out, "capability {capability}")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::https;

    fn read(input: &[u8]) -> Result<Request, ProtocolError> {
        Request::read(input)
    }

    #[test]
    fn reads_every_attribute() {
        let request = read(
            b"capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=example.com:8443\n\
              path=a/b.git\nusername=alice\npassword=ghp_TESTx\npassword_expiry_utc=1900000000\n\
              oauth_refresh_token=ghr_TESTy\nauthtype=Bearer\ncredential=tok\nephemeral=1\n\
              state[]=patrol:abc\nstate[]=other:1\ncontinue=1\nwwwauth[]=Basic realm=\"x\"\n\n\
              host=ignored-after-blank-line\n",
        )
        .unwrap();
        assert_eq!(request.protocol.as_deref(), Some("https"));
        assert_eq!(request.host.as_deref(), Some("example.com:8443"));
        assert_eq!(request.path.as_deref(), Some("a/b.git"));
        assert_eq!(request.username.as_deref(), Some("alice"));
        assert_eq!(request.password.as_ref().unwrap().expose(), "ghp_TESTx");
        assert_eq!(request.password_expiry_utc, Some(1_900_000_000));
        assert_eq!(request.oauth_refresh_token.unwrap().expose(), "ghr_TESTy");
        assert_eq!(request.authtype.as_deref(), Some("Bearer"));
        assert_eq!(request.credential.unwrap().expose(), "tok");
        assert!(request.ephemeral && request.continue_);
        assert_eq!(request.state, ["patrol:abc", "other:1"]);
        assert_eq!(request.wwwauth, ["Basic realm=\"x\""]);
        assert_eq!(request.capabilities, ["authtype", "state"]);
    }

    #[test]
    fn unknown_keys_are_ignored_and_empty_list_values_reset() {
        let request = read(b"future=1\nwwwauth[]=a\nwwwauth[]=\nwwwauth[]=b\nhost=h\n").unwrap();
        assert_eq!(request.wwwauth, ["b"]);
        assert_eq!(request.host.as_deref(), Some("h"));
    }

    #[test]
    fn url_is_split_and_replaces_what_came_before() {
        let request =
            read(b"username=old\nurl=https://al%40ice:p%3Ass@example.com:8443/org/repo.git\n")
                .unwrap();
        assert_eq!(request.protocol.as_deref(), Some("https"));
        assert_eq!(request.host.as_deref(), Some("example.com:8443"));
        assert_eq!(request.path.as_deref(), Some("org/repo.git"));
        assert_eq!(request.username.as_deref(), Some("al@ice"));
        assert_eq!(request.password.unwrap().expose(), "p:ss");

        let later = read(b"url=https://example.com\nusername=bob\n").unwrap();
        assert_eq!(later.username.as_deref(), Some("bob"));
        assert_eq!(later.path, None);
    }

    #[test]
    fn a_long_wwwauth_value_never_becomes_a_host() {
        let mut input = b"protocol=https\nhost=badguy.example.com\nwwwauth[]=basic realm=".to_vec();
        input.extend(std::iter::repeat_n(b'a', 1001));
        input.extend(b"host=victim.example.com\n");
        let request = read(&input).unwrap();
        assert_eq!(request.host.as_deref(), Some("badguy.example.com"));
    }

    #[test]
    fn bad_input_is_refused_with_the_line_number() {
        assert!(matches!(read(b"host=a\0b\n"), Err(ProtocolError::Nul(1))));
        assert!(matches!(
            read(b"host=a\nnoequals\n"),
            Err(ProtocolError::NoEquals(2))
        ));
        assert!(matches!(
            read(b"host=\xff\n"),
            Err(ProtocolError::NotUtf8(1))
        ));
        assert!(matches!(
            read(b"url=nonsense\n"),
            Err(ProtocolError::BadUrl(1))
        ));
        assert!(matches!(
            read(b"url=https://h%0a/\n"),
            Err(ProtocolError::BadUrl(1))
        ));
    }

    #[test]
    fn list_attributes_are_bounded() {
        for key in ["state[]", "wwwauth[]", "capability[]"] {
            let mut input = String::from("protocol=https\nhost=example.com\n");
            for i in 0..MAX_LIST {
                input.push_str(&format!("{key}=v{i}\n"));
            }
            let request = Request::read(input.as_bytes()).unwrap();
            assert_eq!(
                request.state.len() + request.wwwauth.len() + request.capabilities.len(),
                MAX_LIST
            );
            // An empty value resets the list, as git's does.
            let reset = format!("{input}{key}=\n{key}=again\n");
            assert!(Request::read(reset.as_bytes()).is_ok());
            input.push_str(&format!("{key}=one too many\n"));
            let err = Request::read(input.as_bytes()).unwrap_err();
            assert!(
                matches!(err, ProtocolError::TooMany(1003, k) if k == key),
                "{err}"
            );
            assert!(err.to_string().contains("beyond the 1000"), "{err}");
        }
    }

    #[test]
    fn an_expiry_is_read_as_git_reads_it() {
        let expiry = |value: &str| {
            read(format!("password_expiry_utc={value}\n").as_bytes())
                .unwrap()
                .password_expiry_utc
        };
        assert_eq!(expiry("1700000000"), Some(1_700_000_000));
        assert_eq!(expiry(" 1700000000"), Some(1_700_000_000));
        assert_eq!(expiry("+1700000000"), Some(1_700_000_000));
        assert_eq!(expiry("1700000000 UTC"), Some(1_700_000_000));
        for never in [
            "soon",
            "",
            "0",
            "-5",
            "-0",
            "99999999999999999999",
            "18446744073709551615",
        ] {
            assert_eq!(expiry(never), None, "{never}");
        }
    }

    #[test]
    fn a_line_longer_than_git_sends_is_refused() {
        let password = "p".repeat(70_000);
        let request = read(format!("host=h\npassword={password}\n").as_bytes()).unwrap();
        assert_eq!(request.password.unwrap().expose(), password);

        let mut ok = b"path=".to_vec();
        ok.resize(MAX_LINE, b'a');
        ok.push(b'\n');
        assert_eq!(read(&ok).unwrap().path.unwrap().len(), MAX_LINE - 5);

        let mut long = b"path=".to_vec();
        long.resize(MAX_LINE + 1, b'a');
        assert!(matches!(read(&long), Err(ProtocolError::TooLong(1))));
        long.push(b'\n');
        assert!(matches!(read(&long), Err(ProtocolError::TooLong(1))));
    }

    #[test]
    fn a_request_is_bounded_as_a_whole() {
        let line = format!("unknown={}\n", "a".repeat(MAX_LINE / 2));
        let mut input = String::new();
        while input.len() <= MAX_REQUEST {
            input.push_str(&line);
        }
        assert!(matches!(
            read(input.as_bytes()),
            Err(ProtocolError::RequestTooLong)
        ));
        input.truncate((MAX_REQUEST - 7) / line.len() * line.len());
        input.push_str("host=h\n");
        assert_eq!(read(input.as_bytes()).unwrap().host.as_deref(), Some("h"));
    }

    #[test]
    fn an_over_long_wwwauth_line_is_skipped_and_the_rest_read() {
        for extra in [1, MAX_LINE, 3 * MAX_LINE] {
            let mut input = b"protocol=https\nwwwauth[]=Basic realm=".to_vec();
            input.resize(input.len() + MAX_LINE + extra, b'a');
            input.extend(b"\nhost=example.com\nwwwauth[]=Bearer\n\n");
            let request = read(&input).unwrap();
            assert_eq!(request.host.as_deref(), Some("example.com"), "{extra}");
            assert_eq!(request.wwwauth, ["Bearer"]);
        }
        let mut unended = b"host=example.com\nwwwauth[]=".to_vec();
        unended.resize(unended.len() + 2 * MAX_LINE, b'a');
        assert_eq!(read(&unended).unwrap().host.as_deref(), Some("example.com"));
    }

    fn url(text: &str) -> UrlParts {
        UrlParts::parse(text).unwrap_or_else(|| panic!("{text} refused"))
    }

    #[test]
    fn the_host_ends_where_git_ends_it() {
        for text in [
            "https://alice:@evil.example#@github.com",
            "https://alice:@evil.example?@github.com",
            "https://alice:@evil.example/@github.com",
        ] {
            let parts = url(text);
            assert_eq!(parts.host.as_deref(), Some("evil.example"), "{text}");
            assert_eq!(parts.username.as_deref(), Some("alice"));
            assert_eq!(parts.password.as_ref().map(Secret::expose), Some(""));
        }
        assert_eq!(url("https://h#@x").path.as_deref(), Some("#@x"));
        assert_eq!(url("https://h/?a/").path.as_deref(), Some("?a"));
        let request = read(b"url=https://alice:@evil.example#@github.com\n").unwrap();
        assert_eq!(request.host.as_deref(), Some("evil.example"));
    }

    #[test]
    fn userinfo_splits_at_the_first_at_and_the_first_colon() {
        let parts = url("https://a@b@host/p");
        assert_eq!(parts.username.as_deref(), Some("a"));
        assert_eq!(parts.host.as_deref(), Some("b@host"));
        let parts = url("https://u:p:q@h:8443");
        assert_eq!(parts.username.as_deref(), Some("u"));
        assert_eq!(parts.password.as_ref().map(Secret::expose), Some("p:q"));
        assert_eq!(parts.host.as_deref(), Some("h:8443"));
        assert_eq!(parts.host_name(), Some("h"));
        assert_eq!(parts.port(), Some("8443"));
        // A colon after the `@` is the port's, not a password's.
        let parts = url("https://u@h:1");
        assert_eq!(
            (parts.username.as_deref(), parts.password),
            (Some("u"), None)
        );
        assert_eq!(url("https://[::1]").port(), None);
        assert_eq!(url("https://[::1]:80").host_name(), Some("[::1]"));
    }

    #[test]
    fn percent_decoding_happens_where_git_does_it() {
        assert_eq!(url("https://h/a%20b").path.as_deref(), Some("a b"));
        // git takes what precedes a part's first colon as a scheme.
        assert_eq!(
            url("https://h/a%20b:c%20d").path.as_deref(),
            Some("a%20b:c d")
        );
        assert_eq!(url("https://h%41:443").host.as_deref(), Some("h%41:443"));
        assert_eq!(url("https://h%41").host.as_deref(), Some("hA"));
        for kept in ["%00", "%zz", "%4", "%", "%g1"] {
            let text = format!("https://h/{kept}");
            assert_eq!(url(&text).path.as_deref(), Some(kept), "{text}");
        }
        let parts = url("https://u%3Ax:p%40w@h");
        assert_eq!(parts.username.as_deref(), Some("u:x"));
        assert_eq!(parts.password.as_ref().map(Secret::expose), Some("p@w"));
        for refused in [
            "https://h/%0a",
            "https://h/%0D",
            "https://h/%ff",
            "://h",
            "h",
        ] {
            assert!(UrlParts::parse(refused).is_none(), "{refused}");
        }
    }

    #[test]
    fn slashes_are_trimmed_from_the_path() {
        assert_eq!(url("https://h//a/b//").path.as_deref(), Some("a/b"));
        assert_eq!(url("https://h///").path, None);
        assert_eq!(url("https://h/%2F%2F").path.as_deref(), Some("/"));
        assert_eq!(url("cert:///etc/cert.pem").host, None);
        assert_eq!(
            url("cert:///etc/cert.pem").path.as_deref(),
            Some("etc/cert.pem")
        );
    }

    #[test]
    fn a_url_clears_everything_sent_before_it() {
        let request =
            read(b"capability[]=authtype\nwwwauth[]=Basic\nephemeral=1\nurl=https://h\n").unwrap();
        assert_eq!(
            request,
            Request {
                protocol: Some("https".into()),
                host: Some("h".into()),
                ..Request::default()
            }
        );
    }

    #[test]
    fn url_parts_never_show_the_password() {
        let parts = url("https://alice:ghp_TESTsecret@h");
        assert!(!format!("{parts:?}").contains("ghp_TEST"));
    }

    #[test]
    fn a_written_request_reads_back_the_same() {
        let input = b"capability[]=authtype\nurl=https://al%40ice:pw@example.com:8443/r.git\n\
              password_expiry_utc=-5\noauth_refresh_token=r\nauthtype=Bearer\ncredential=c\n\
              ephemeral=1\ncontinue=true\nstate[]=patrol:x\nwwwauth[]=Basic realm=\"a=b\"\n";
        let first = read(input).unwrap();
        let mut written = Vec::new();
        first.write(&mut written).unwrap();
        assert_eq!(read(&written).unwrap(), first);
    }

    #[test]
    fn a_carriage_return_inside_a_value_is_refused() {
        assert!(matches!(
            read(b"host=a\rb\n"),
            Err(ProtocolError::CarriageReturn(1))
        ));
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let request = read(b"protocol=https\r\nhost=example.com\r\n\r\n").unwrap();
        assert_eq!(request.host.as_deref(), Some("example.com"));
    }

    #[test]
    fn quit_is_read_like_any_boolean() {
        let request = read(b"quit=true\nhost=h\n").unwrap();
        assert!(request.quit);
        assert_eq!(request.host.as_deref(), Some("h"));
    }

    #[test]
    fn what_a_request_names_and_carries() {
        let request = read(
            b"capability[]=authtype\nprotocol=https\nhost=example.com\npath=\n\
              password=ghp_TESTp\noauth_refresh_token=TESTr\nauthtype=Bearer\n\
              credential=TESTc\npassword_expiry_utc=1900000000\n\
              state[]=other:1\nstate[]=patrol:abc\n",
        )
        .unwrap();
        assert!(request.has_capability("authtype"));
        assert!(!request.has_capability("state"));
        // An empty path is no path.
        assert_eq!(request.target(), Some(https("example.com")));
        let secrets = request.secrets();
        assert_eq!(
            secrets.password.as_ref().map(Secret::expose),
            Some("ghp_TESTp")
        );
        assert_eq!(
            secrets.oauth_refresh_token.as_ref().map(Secret::expose),
            Some("TESTr")
        );
        assert_eq!(
            secrets.auth,
            Some(("Bearer".to_owned(), Secret::new("TESTc")))
        );
        assert_eq!(secrets.password_expiry_utc, Some(1_900_000_000));
        assert_eq!(request.our_state(), Some("abc"));

        // A path that is given is kept; a certificate is named by its path
        // alone; a request without a protocol, or with neither a host nor a
        // path, names nothing; a credential without its authtype is no auth.
        let with_path = read(b"protocol=https\nhost=h\npath=r.git\n").unwrap();
        assert_eq!(with_path.target().unwrap().path.as_deref(), Some("r.git"));
        let cert = read(b"protocol=cert\nhost=\nusername=\npath=/c/me.p12\n").unwrap();
        let cert = cert.target().unwrap();
        assert!(cert.is_certificate());
        assert_eq!(cert.url(), "cert:////c/me.p12", "as git's prompt names it");
        for partial in [
            &b"host=h\n"[..],
            b"protocol=https\n",
            b"protocol=\nhost=h\n",
            b"protocol=https\nhost=\n",
            b"protocol=cert\nhost=\npath=\n",
        ] {
            assert_eq!(read(partial).unwrap().target(), None, "{partial:?}");
        }
        let bare = read(b"credential=TESTc\nstate[]=other:1\n").unwrap();
        assert_eq!(bare.secrets().auth, None);
        assert_eq!(bare.our_state(), None);
    }

    #[test]
    fn booleans_are_true_only_when_git_would_read_them_so() {
        for yes in ["1", "true", "TRUE", "yes", "On"] {
            let line = format!("ephemeral={yes}\n");
            assert!(read(line.as_bytes()).unwrap().ephemeral, "{yes}");
        }
        for no in ["0", "false", "no", "off", "", "2"] {
            let line = format!("ephemeral={no}\n");
            assert!(!read(line.as_bytes()).unwrap().ephemeral, "{no}");
        }
    }

    #[test]
    fn the_writer_never_emits_a_value_that_breaks_framing() {
        let mut writer = Writer::new(Vec::new());
        writer.field("username", "ok").unwrap();
        writer.field("password", "evil\nhost=victim").unwrap();
        writer.field("password", "cr\rx").unwrap();
        writer.field("password", "nul\0x").unwrap();
        assert_eq!(writer.finish().unwrap(), b"username=ok\n");
    }

    #[test]
    fn capability_answer() {
        let mut out = Vec::new();
        write_capabilities(&mut out).unwrap();
        assert_eq!(out, b"version 0\ncapability authtype\ncapability state\n");
    }
}
