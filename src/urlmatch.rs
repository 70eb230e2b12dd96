//! Git's URL matching for configuration keys of the form
//! `section.<url>.name` (`urlmatch.c`), and the looser rule git adds for
//! `credential.<url>.*` (`credential.c`), so that patrol decides from the
//! same entries what git decides.
//!
//! Both URLs are first normalized as git normalizes them (`url_normalize`):
//! scheme and host lowercased, `%XX` escapes made canonical, a default
//! port dropped, `.` and `..` segments resolved. A pattern then matches a
//! URL with the same scheme, host (a `*` in the pattern stands for one
//! label), port and user (when the pattern names one), and a path that is
//! the pattern's or goes on below it at a `/`.
//!
//! Git reads the two sections differently. `git config --get-urlmatch`
//! (and so patrol's own `patrol.<url>.*`) keeps, for each name, the value
//! of the most specific pattern (`Specificity`); a pattern that does not
//! normalize, such as a bare host, matches nothing. For `credential.<url>.*`
//! git applies every matching entry in the order it reads them, so the last
//! one wins; and a pattern that does not normalize (`github.com`,
//! `GitHub.com`, `github.com:443`, `*.com`) is read as a partial URL whose
//! parts must equal the credential's exactly (case, port and path
//! included), with no wildcard.

use crate::credential::Target;
use crate::protocol::UrlParts;

/// A URL as git's `url_normalize` leaves it.
#[derive(Debug, PartialEq, Eq)]
pub struct NormalUrl {
    scheme: String,
    /// `Some("")` for a URL with an empty user (`https://@host`).
    user: Option<String>,
    host: String,
    /// Empty for the scheme's default port.
    port: String,
    /// The path (always starting with `/`) and any query after it.
    tail: String,
}

/// How closely a pattern matches a URL, as git ranks it: a longer host,
/// then a longer path, then a user named in the pattern wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Specificity {
    host: usize,
    path: usize,
    user: bool,
}

const SCHEME_CHARS: &str = "+.-";
const HOST_CHARS: &str = ".-_[:]";
const UNSAFE: &[u8] = b" <>\"%{}|\\^`";
const RESERVED: &[u8] = b":/?#[]@!$&'()*+,;=";

impl NormalUrl {
    /// `url` normalized; `None` where git finds it invalid. `globs` allows
    /// a `*` in the host, for patterns.
    pub fn parse(url: &str, globs: bool) -> Option<Self> {
        let scheme_len = url
            .find(|c: char| !(c.is_ascii_alphanumeric() || SCHEME_CHARS.contains(c)))
            .unwrap_or(url.len());
        if scheme_len == 0
            || !url.as_bytes()[0].is_ascii_alphabetic()
            || !url[scheme_len..].starts_with("://")
        {
            return None;
        }
        let scheme = url[..scheme_len].to_ascii_lowercase();
        let mut rest = &url[scheme_len + 3..];
        let slash = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let mut user = None;
        if let Some(at) = rest[..slash].find('@') {
            let info = normalize_escapes(&rest[..at])?;
            user = Some(info.split(':').next().unwrap_or_default().to_owned());
            rest = &rest[at + 1..];
        }
        let slash = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..slash];
        if authority.is_empty() || authority.starts_with(':') {
            // Only a `file:` URL may have no host.
            if scheme != "file" || authority.starts_with(':') {
                return None;
            }
        }
        // The port follows the last `:` that is not inside `[...]`.
        let colon = authority
            .rfind([':', ']'])
            .filter(|&i| authority.as_bytes()[i] == b':');
        let (host, port) = match colon {
            Some(i) => (&authority[..i], Some(&authority[i + 1..])),
            None => (authority, None),
        };
        let host_ok = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || HOST_CHARS.contains(c) || (globs && c == '*'));
        if !host_ok {
            return None;
        }
        let port = match port {
            None => String::new(),
            Some(port) => normal_port(&scheme, port)?,
        };
        Some(Self {
            tail: normal_tail(&rest[slash..])?,
            host: host.to_ascii_lowercase(),
            port,
            user,
            scheme,
        })
    }
}

impl NormalUrl {
    /// How `pattern` matches this URL, or `None` when it does not
    /// (`match_urls`).
    pub fn matched_by(&self, pattern: &NormalUrl) -> Option<Specificity> {
        if self.scheme != pattern.scheme {
            return None;
        }
        if let Some(wanted) = &pattern.user
            && self.user.as_ref() != Some(wanted)
        {
            return None;
        }
        let labels = |host: &str| host.split('.').map(str::to_owned).collect::<Vec<_>>();
        let (mine, theirs) = (labels(&self.host), labels(&pattern.host));
        let host_matches =
            mine.len() == theirs.len() && mine.iter().zip(&theirs).all(|(m, t)| t == "*" || m == t);
        if !host_matches || self.port != pattern.port {
            return None;
        }
        let path = prefix_match(&self.tail, &pattern.tail)?;
        Some(Specificity {
            host: pattern.host.len(),
            path,
            user: pattern.user.is_some(),
        })
    }
}

/// How long a match `prefix` is for `path` (`url_match_prefix`): the whole
/// of it, or a part ending at a `/`; both count as ending in one.
fn prefix_match(path: &str, prefix: &str) -> Option<usize> {
    if prefix.is_empty() || prefix == "/" {
        return (path.is_empty() || path.starts_with('/')).then_some(1);
    }
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(prefix.len() + 1)
}

/// A port without leading zeros, empty for the scheme's default; `None`
/// for one that is no port number.
fn normal_port(scheme: &str, port: &str) -> Option<String> {
    let trimmed = port.trim_start_matches('0');
    let port = if trimmed.is_empty() && !port.is_empty() {
        "0"
    } else {
        trimmed
    };
    match (scheme, port) {
        (_, "") | ("http", "80") | ("https", "443") => return Some(String::new()),
        _ => {}
    }
    let number: u32 = (port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()))
        .then(|| port.parse().ok())??;
    (1..=65535).contains(&number).then(|| port.to_owned())
}

/// The path with `.` and `..` segments resolved and escapes made
/// canonical, starting with `/`, and whatever query follows it.
fn normal_tail(text: &str) -> Option<String> {
    let end = text.find(['?', '#']).unwrap_or(text.len());
    let (path, query) = text.split_at(end);
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut segments: Vec<String> = Vec::new();
    for piece in path.split('/') {
        match normalize_escapes(piece)?.as_str() {
            "." => {}
            // Above the root is no path.
            ".." => {
                segments.pop()?;
            }
            segment => segments.push(segment.to_owned()),
        }
    }
    let mut tail = format!("/{}", segments.join("/"));
    tail.push_str(&normalize_escapes(query)?);
    Some(tail)
}

/// `append_normalized_escapes` with git's reserved characters left escaped:
/// an escape of a character that needs none is undone, a character that
/// needs one gets it, hex digits in capitals. `None` for a `%` not
/// followed by two hex digits.
fn normalize_escapes(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let (byte, escaped) = if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            i += 3;
            (value, true)
        } else {
            i += 1;
            (bytes[i - 1], false)
        };
        if byte <= 0x1f
            || byte >= 0x7f
            || UNSAFE.contains(&byte)
            || (escaped && RESERVED.contains(&byte))
        {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(char::from(byte));
        }
    }
    Some(out)
}

/// What git knows of a credential when it reads `credential.<url>.*`:
/// the fields as git holds them (decoded), the path not yet dropped.
#[derive(Clone, Copy, Debug)]
pub struct CredentialFields<'a> {
    pub protocol: &'a str,
    pub host: &'a str,
    pub path: Option<&'a str>,
    pub username: Option<&'a str>,
}

impl CredentialFields<'_> {
    /// The URL git matches patterns against (`credential_format`, then
    /// `url_normalize`).
    fn normal_url(&self) -> Option<NormalUrl> {
        let mut url = format!("{}://", self.protocol);
        if let Some(user) = self.username.filter(|u| !u.is_empty()) {
            url.push_str(&percent_encode(user, |b| b == b'/' || unsafe_byte(b)));
            url.push('@');
        }
        url.push_str(&percent_encode(self.host, |b| {
            !(b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        }));
        if let Some(path) = self.path {
            url.push('/');
            url.push_str(&percent_encode(path, unsafe_byte));
        }
        NormalUrl::parse(&url, false)
    }

    /// Whether git applies a `credential.<pattern>.*` entry to this
    /// credential (`urlmatch_config_entry` with `match_partial_url`).
    pub fn matched_by(&self, pattern: &str) -> bool {
        match NormalUrl::parse(pattern, true) {
            Some(pattern) => self
                .normal_url()
                .is_some_and(|url| url.matched_by(&pattern).is_some()),
            None => self.matches_partially(pattern),
        }
    }

    /// A pattern read as a partial URL: each part it has equals the
    /// credential's, byte for byte.
    fn matches_partially(&self, pattern: &str) -> bool {
        let (protocol, parsed) = match pattern.find("://") {
            Some(0) => (None, UrlParts::parse(&format!("x{pattern}"))),
            Some(end) => (Some(&pattern[..end]), UrlParts::parse(pattern)),
            None => (None, UrlParts::parse(&format!("x://{pattern}"))),
        };
        let Some(parts) = parsed else {
            return false;
        };
        let same =
            |wanted: Option<&str>, have: Option<&str>| wanted.is_none_or(|w| have == Some(w));
        same(protocol, Some(self.protocol))
            && same(parts.host.as_deref(), Some(self.host))
            && same(parts.path.as_deref(), self.path)
            && same(parts.username.as_deref(), self.username)
    }
}

/// The URL whose `patrol.<url>.*` settings apply to a credential of
/// `user` at `target`: `git config --get-urlmatch patrol URL` with it shows
/// them. The user name and the path are percent-encoded so that git reads
/// them back as they are.
pub fn settings_url(target: &Target, user: Option<&str>) -> String {
    let mut url = format!("{}://", target.protocol);
    if let Some(user) = user.filter(|u| !u.is_empty()) {
        url.push_str(&percent_encode(user, |b| {
            !(b.is_ascii_alphanumeric() || b"-._~".contains(&b))
        }));
        url.push('@');
    }
    url.push_str(&target.host);
    if let Some(path) = &target.path {
        url.push('/');
        url.push_str(&percent_encode(path, |b| {
            unsafe_byte(b) || b"?#".contains(&b)
        }));
    }
    url
}

fn unsafe_byte(byte: u8) -> bool {
    byte <= 0x1f || byte >= 0x7f || UNSAFE.contains(&byte)
}

fn percent_encode(text: &str, escape: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte <= 0x1f || byte >= 0x7f || escape(byte) {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(char::from(byte));
        }
    }
    out
}

/// Splits a key as `git config --get-regexp` prints it
/// (`section.<url>.name`, the URL as written) into the URL, if any, and the
/// name, for keys of `section`.
pub fn split_key<'k>(key: &'k str, section: &str) -> Option<(Option<&'k str>, &'k str)> {
    let rest = key
        .get(..section.len())
        .filter(|s| s.eq_ignore_ascii_case(section))
        .and_then(|_| key[section.len()..].strip_prefix('.'))?;
    Some(match rest.rsplit_once('.') {
        Some((url, name)) => (Some(url), name),
        None => (None, rest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::https_path;

    fn normal(url: &str) -> NormalUrl {
        NormalUrl::parse(url, true).unwrap_or_else(|| panic!("{url} does not normalize"))
    }

    fn matches(pattern: &str, url: &str) -> Option<Specificity> {
        normal(url).matched_by(&normal(pattern))
    }

    #[test]
    fn urls_normalize_as_git_normalizes_them() {
        let n = normal("HTTPS://Bob@GitHub.COM:0443/a/./b/../c/%7euser%2F?q=%41");
        assert_eq!(n.scheme, "https");
        assert_eq!(n.user.as_deref(), Some("Bob"));
        assert_eq!(n.host, "github.com");
        assert_eq!(n.port, "");
        assert_eq!(n.tail, "/a/c/~user%2F?q=A");
        assert_eq!(normal("http://h:8080").port, "8080");
        assert_eq!(normal("https://h").tail, "/");
        assert_eq!(normal("https://h/a/..").tail, "/");
        for bad in [
            "github.com",
            "GitHub.com",
            "github.com:443",
            "*.com",
            "https://",
            "https://h:99999",
            "https://h:x",
            "https://h/..",
            "https://h/%zz",
            "1https://h",
        ] {
            assert_eq!(NormalUrl::parse(bad, true), None, "{bad}");
        }
        assert_eq!(NormalUrl::parse("https://*.h", false), None);
    }

    #[test]
    fn the_most_specific_pattern_ranks_highest() {
        let url = "https://bob@h.example.com/org/repo.git";
        let host = matches("https://h.example.com", url).unwrap();
        let path = matches("https://h.example.com/org", url).unwrap();
        let user = matches("https://bob@h.example.com", url).unwrap();
        let glob = matches("https://*.example.com", url).unwrap();
        assert!(path > user && user > host, "{path:?} {user:?} {host:?}");
        // A `*` counts as long as it is written: git ranks a glob of the
        // same length as the host itself, and the later entry wins.
        assert_eq!(host, glob);
        assert!(matches("https://h.example.com/org/", url).is_some());
        assert!(matches("https://h.example.com:443", url).is_some());
        for miss in [
            "https://h.example.com/organ",
            "https://alice@h.example.com",
            "http://h.example.com",
            "https://h.example.com:8443",
            "https://*.com",
            "https://example.com",
        ] {
            assert_eq!(matches(miss, url), None, "{miss}");
        }
        assert_eq!(
            matches("https://bob@h.example.com", "https://h.example.com"),
            None
        );
    }

    #[test]
    fn credential_patterns_without_a_scheme_match_exactly() {
        let fields = CredentialFields {
            protocol: "https",
            host: "github.com",
            path: Some("org/a.git"),
            username: Some("bob"),
        };
        for applies in [
            "https://github.com",
            "https://GitHub.com",
            "https://github.com:443/org",
            "https://*.com",
            "https://bob@github.com",
            "github.com",
            "github.com/org/a.git",
            "bob@github.com",
            "https://",
            "/org/a.git",
        ] {
            assert!(fields.matched_by(applies), "{applies}");
        }
        for never in [
            "GitHub.com",
            "github.com:443",
            "*.com",
            "github.com/org",
            "alice@github.com",
            "http://",
            "https://github.com/other",
            "https://alice@github.com",
        ] {
            assert!(!fields.matched_by(never), "{never}");
        }
    }

    #[test]
    fn the_settings_url_reads_back_as_the_credential() {
        let target = https_path("h.example.com", "org/a b?.git");
        let url = settings_url(&target, Some("bob@corp"));
        assert_eq!(url, "https://bob%40corp@h.example.com/org/a%20b%3F.git");
        let normal = normal(&url);
        assert_eq!(normal.user.as_deref(), Some("bob%40corp"));
        assert_eq!(normal.tail, "/org/a%20b%3F.git");
        assert!(matches("https://bob%40corp@h.example.com/org", &url).is_some());
        assert_eq!(
            settings_url(&target, Some("")),
            "https://h.example.com/org/a%20b%3F.git"
        );
    }

    #[test]
    fn keys_split_at_their_last_dot() {
        assert_eq!(
            split_key("credential.https://h.example.com.usehttppath", "credential"),
            Some((Some("https://h.example.com"), "usehttppath"))
        );
        assert_eq!(
            split_key("credential.usehttppath", "credential"),
            Some((None, "usehttppath"))
        );
        assert_eq!(split_key("credentials.x", "credential"), None);
    }
}
