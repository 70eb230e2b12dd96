//! A reference port of git's `credential_from_url_gently` (credential.c) and
//! `url_decode_mem` (url.c), written to mirror git's C step by step, byte
//! offsets and all, rather than to be idiomatic. The fuzz target `url` and
//! the integration tests compare `UrlParts::parse` with it (`compare`).

use git_credential_patrol::credential::Secret;
use git_credential_patrol::protocol::UrlParts;

/// What git stores in `struct credential` for a URL, as raw bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GitCredential {
    pub protocol: Option<Vec<u8>>,
    pub host: Option<Vec<u8>>,
    pub path: Option<Vec<u8>>,
    pub username: Option<Vec<u8>>,
    pub password: Option<Vec<u8>>,
}

/// `strchr`: the first `c` at or after `from`.
fn strchr(s: &[u8], from: usize, c: u8) -> Option<usize> {
    s[from..].iter().position(|&b| b == c).map(|i| from + i)
}

/// `hexval`: -1 for a byte that is not a hex digit.
fn hexval(c: u8) -> i32 {
    match c {
        b'0'..=b'9' => i32::from(c - b'0'),
        b'a'..=b'f' => i32::from(c - b'a' + 10),
        b'A'..=b'F' => i32::from(c - b'A' + 10),
        _ => -1,
    }
}

/// `hex2chr`: -1 unless both bytes are hex digits.
fn hex2chr(s: &[u8]) -> i32 {
    let high = hexval(s[0]);
    if high < 0 {
        return high;
    }
    let low = hexval(s[1]);
    if low < 0 { low } else { (high << 4) | low }
}

/// `url_decode_internal` with no stop characters and no `+` decoding.
fn url_decode_internal(s: &[u8], mut q: usize, mut len: usize, out: &mut Vec<u8>) {
    while len > 0 {
        let c = s[q];
        if c == 0 {
            break;
        }
        if c == b'%' && len >= 3 {
            let val = hex2chr(&s[q + 1..q + 3]);
            if 0 < val {
                out.push(val as u8);
                q += 3;
                len -= 3;
                continue;
            }
        }
        out.push(c);
        q += 1;
        len -= 1;
    }
}

/// `url_decode_mem(url, len)`.
fn url_decode_mem(s: &[u8], start: usize, mut len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut url = start;
    // "Skip protocol part if present"
    if let Some(colon) = s[start..start + len].iter().position(|&b| b == b':') {
        let colon = start + colon;
        if url < colon {
            out.extend_from_slice(&s[url..colon]);
            len -= colon - url;
            url = colon;
        }
    }
    url_decode_internal(s, url, len, &mut out);
    out
}

/// `credential_from_url_gently(c, url, quiet)`: `None` where git returns -1.
pub fn credential_from_url(url: &[u8]) -> Option<GitCredential> {
    let mut c = GitCredential::default();
    let proto_end = url.windows(3).position(|w| w == b"://");
    let proto_end = match proto_end {
        Some(0) | None => return None,
        Some(end) => end,
    };
    let cp = proto_end + 3;
    let at = strchr(url, cp, b'@');
    let colon = strchr(url, cp, b':');
    let slash = cp
        + url[cp..]
            .iter()
            .position(|b| b"/?#".contains(b))
            .unwrap_or(url.len() - cp);
    let host;
    match at {
        Some(at) if at < slash => match colon {
            Some(colon) if colon < at => {
                c.username = Some(url_decode_mem(url, cp, colon - cp));
                c.password = Some(url_decode_mem(url, colon + 1, at - (colon + 1)));
                host = at + 1;
            }
            _ => {
                c.username = Some(url_decode_mem(url, cp, at - cp));
                host = at + 1;
            }
        },
        _ => host = cp,
    }
    c.protocol = Some(url[..proto_end].to_vec());
    c.host = Some(url_decode_mem(url, host, slash - host));
    let mut slash = slash;
    while slash < url.len() && url[slash] == b'/' {
        slash += 1;
    }
    if slash < url.len() {
        let mut path = url_decode_mem(url, slash, url.len() - slash);
        while path.len() > 1 && path.last() == Some(&b'/') {
            path.pop();
        }
        c.path = Some(path);
    }
    let fields = [&c.username, &c.password, &c.protocol, &c.host, &c.path];
    if fields
        .iter()
        .any(|f| f.as_ref().is_some_and(|v| v.contains(&b'\n')))
    {
        return None;
    }
    Some(c)
}

/// Panics, naming the URL, where `UrlParts::parse` reads `url` otherwise than
/// git. The one allowed difference: we refuse a URL whose parts git would
/// keep but the protocol cannot carry (invalid UTF-8, a CR).
pub fn compare(url: &str) {
    if url.contains('\0') {
        return; // git's strings end there; ours never hold one.
    }
    let git = credential_from_url(url.as_bytes());
    let ours = UrlParts::parse(url);
    let Some(ours) = ours else {
        let Some(git) = git else { return };
        let fields = [
            &git.protocol,
            &git.host,
            &git.path,
            &git.username,
            &git.password,
        ];
        let unsendable = fields.iter().any(|f| {
            f.as_ref()
                .is_some_and(|v| std::str::from_utf8(v).is_err() || v.contains(&b'\r'))
        });
        assert!(unsendable, "{url:?}: refused, git reads {git:?}");
        return;
    };
    let git = git.unwrap_or_else(|| panic!("{url:?}: git refuses, we read {ours:?}"));
    let bytes = |s: Option<&str>| s.map(|s| s.as_bytes().to_vec());
    let read = GitCredential {
        protocol: Some(ours.protocol.as_bytes().to_vec()),
        host: Some(ours.host.as_deref().unwrap_or("").as_bytes().to_vec()),
        path: bytes(ours.path.as_deref()),
        username: bytes(ours.username.as_deref()),
        password: bytes(ours.password.as_ref().map(Secret::expose)),
    };
    assert_eq!(read, git, "{url:?}");
}
