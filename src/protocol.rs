//! Git's credential protocol, helper side (git-credential(1)): reading the
//! attributes git sends on stdin and writing the ones we answer with.
//!
//! Lenient in what it reads (unknown keys are skipped, input ends at a blank
//! line or EOF), strict in what it writes (no NUL, CR or LF ever reaches a key
//! or value). Everything works on `BufRead`/`Write`, so tests feed it bytes.

use std::io::{self, BufRead, Write};

use thiserror::Error;

use crate::credential::{Secret, Secrets, Target};

/// Git refuses longer lines, and so do we.
pub const MAX_LINE: usize = 65535;

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
    #[error("`password_expiry_utc` on line {0} is not a Unix timestamp")]
    BadExpiry(usize),
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
        // `take` bounds what one line may allocate: a stream without newlines
        // must not make us buffer gigabytes before we can complain.
        let mut input = input.take(0);
        let mut line = Vec::new();
        for number in 1.. {
            line.clear();
            input.set_limit(MAX_LINE as u64 + 2);
            if input.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            } else if line.len() > MAX_LINE {
                return Err(ProtocolError::TooLong(number));
            }
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if line.len() > MAX_LINE {
                return Err(ProtocolError::TooLong(number));
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
            "password_expiry_utc" => {
                self.password_expiry_utc =
                    Some(value.parse().map_err(|_| ProtocolError::BadExpiry(line))?);
            }
            "oauth_refresh_token" => self.oauth_refresh_token = Some(Secret::new(value)),
            "authtype" => self.authtype = owned(),
            "credential" => self.credential = Some(Secret::new(value)),
            "ephemeral" => self.ephemeral = is_true(value),
            "continue" => self.continue_ = is_true(value),
            "quit" => self.quit = is_true(value),
            "url" => self.set_url(value).ok_or(ProtocolError::BadUrl(line))?,
            "state[]" => push_or_reset(&mut self.state, value),
            "wwwauth[]" => push_or_reset(&mut self.wwwauth, value),
            "capability[]" => push_or_reset(&mut self.capabilities, value),
            _ => {}
        }
        Ok(())
    }

    /// Git treats `url=` as if its parts had been sent, replacing whatever
    /// came before (credential_from_url clears the credential first).
    fn set_url(&mut self, url: &str) -> Option<()> {
        let parts = UrlParts::parse(url)?;
        self.protocol = Some(parts.protocol);
        self.host = parts.host;
        self.path = parts.path;
        self.username = parts.username;
        self.password = parts.password.map(Secret::new);
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

    /// Protocol, host and path, when git gave at least the first two.
    pub fn target(&self) -> Option<Target> {
        Some(Target {
            protocol: self.protocol.clone().filter(|p| !p.is_empty())?,
            host: self.host.clone().filter(|h| !h.is_empty())?,
            path: self.path.clone().filter(|p| !p.is_empty()),
        })
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

fn push_or_reset(list: &mut Vec<String>, value: &str) {
    if value.is_empty() {
        list.clear();
    } else {
        list.push(value.to_owned());
    }
}

/// A URL split the way git splits one: `proto://[user[:pass]@]host[:port][/path]`,
/// percent-decoded, the port kept as part of the host.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UrlParts {
    pub protocol: String,
    pub host: Option<String>,
    pub path: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl UrlParts {
    pub fn parse(url: &str) -> Option<Self> {
        let (protocol, rest) = url.split_once("://")?;
        if protocol.is_empty()
            || !protocol
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return None;
        }
        let (authority, path) = match rest.split_once('/') {
            Some((authority, path)) => (authority, Some(path)),
            None => (rest, None),
        };
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, authority),
        };
        let (username, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, pass)) => (Some(decode(user)?), Some(decode(pass)?)),
                None => (Some(decode(info)?), None),
            },
            None => (None, None),
        };
        let path = match path {
            Some(path) => Some(decode(path)?).filter(|p| !p.is_empty()),
            None => None,
        };
        Some(UrlParts {
            protocol: protocol.to_owned(),
            host: Some(decode(host)?).filter(|h| !h.is_empty()),
            path,
            username,
            password,
        })
    }
}

/// Percent-decoding that refuses what could not round-trip through the
/// protocol: invalid UTF-8 or a decoded NUL, CR or LF.
pub fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out).ok()?;
    (!decoded.contains(['\0', '\r', '\n'])).then_some(decoded)
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
            read(b"password_expiry_utc=soon\n"),
            Err(ProtocolError::BadExpiry(1))
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
    fn line_length_is_bounded_at_git_limit() {
        let mut ok = b"wwwauth[]=".to_vec();
        ok.resize(MAX_LINE, b'a');
        ok.push(b'\n');
        assert!(read(&ok).is_ok());

        let mut long = b"wwwauth[]=".to_vec();
        long.resize(MAX_LINE + 1, b'a');
        assert!(matches!(read(&long), Err(ProtocolError::TooLong(1))));
        long.push(b'\n');
        assert!(matches!(read(&long), Err(ProtocolError::TooLong(1))));
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
