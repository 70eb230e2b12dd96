//! The one HTTP client of the program, and the rules every request to a
//! forge obeys: HTTPS only (plain HTTP only to a loopback address, which is
//! how a person or a test points us at a local fake), redirects never
//! followed, short connect and total timeouts, proxies from the environment
//! except for loopback, our name and version as User-Agent, and answers read
//! only up to a size cap.
//!
//! An `Api` is bound to one origin (scheme, host, port) when it is made and
//! refuses to send anything elsewhere, so a token can only ever reach the API
//! of the host it was stored for. The token travels in the `Authorization`
//! header alone, marked sensitive; URLs never carry one, so no error message
//! that names a URL can reveal it.

use std::io::Read;
use std::net::IpAddr;
use std::sync::{Once, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::Url;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::credential::Secret;
use crate::terminal::escape;

/// Long enough for a forge on the other side of the world, short enough that
/// git does not seem to hang after a push.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One request, from connecting to the last byte of the body.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
/// The answers we read are a few kilobytes; anything larger is not a forge
/// describing a token.
const MAX_BODY: u64 = 1024 * 1024;

#[derive(Debug, Error)]
pub enum HttpError {
    #[error("{url} cannot be used as a forge API: {reason}")]
    NotAllowed { url: String, reason: &'static str },
    #[error("no complete answer from {origin} within {:.1} s", limit.as_secs_f32())]
    Timeout { origin: String, limit: Duration },
    #[error("the request to {origin} was not sent: the time allowed for the forge ran out")]
    Skipped { origin: String },
    #[error("cannot connect to {origin}: {cause}")]
    Connect { origin: String, cause: String },
    #[error("{origin} sent more than {} KiB; the answer was not read", MAX_BODY / 1024)]
    TooLarge { origin: String },
    #[error("the request to {origin} failed: {cause}")]
    Failed { origin: String, cause: String },
}

/// A forge API at one origin.
pub struct Api {
    base: Url,
    client: Client,
    /// When every request of this `Api` must be over, whatever each one's
    /// own limit: one budget for all the network work of a command.
    deadline: Option<Instant>,
}

/// How the token goes in the `Authorization` header: each forge's API
/// documents one form, and some take a user name beside the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth<'a> {
    /// `Bearer TOKEN` (GitHub, GitLab, Bitbucket's access tokens, Hugging
    /// Face, Bitbucket Data Center).
    Bearer,
    /// `token TOKEN`: Gitea's and Forgejo's own form.
    Token,
    /// `Basic base64(USER:TOKEN)` (Azure DevOps with an empty user,
    /// Gerrit, Bitbucket Cloud's API tokens and app passwords).
    Basic { user: &'a str },
}

impl Auth<'_> {
    /// The header's value, wiped when dropped. Every buffer that holds the
    /// token is sized first, so none grows and leaves a copy behind.
    fn header(&self, token: &Secret) -> Zeroizing<String> {
        match self {
            Auth::Bearer => joined(&["Bearer ", token.expose()]),
            Auth::Token => joined(&["token ", token.expose()]),
            Auth::Basic { user } => {
                let pair = joined(&[user, ":", token.expose()]);
                let len = base64::encoded_len(pair.len(), true).unwrap_or(usize::MAX);
                let mut encoded = Zeroizing::new(String::with_capacity(len));
                BASE64.encode_string(pair.as_bytes(), &mut encoded);
                joined(&["Basic ", &encoded])
            }
        }
    }
}

/// `parts` end to end, in memory that is wiped and never reallocated.
fn joined(parts: &[&str]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(parts.iter().map(|p| p.len()).sum()));
    for part in parts {
        out.push_str(part);
    }
    out
}

/// An answer, read whole (within `MAX_BODY`). The body is wiped when
/// dropped: GitLab's rotation answer carries the new token.
pub struct Response {
    pub status: u16,
    headers: reqwest::header::HeaderMap,
    pub body: Zeroizing<Vec<u8>>,
}

impl Response {
    /// A header's value, when it is there and readable as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

impl Api {
    /// An API at `base`, which must be `https://…`, or `http://…` to a
    /// loopback address.
    pub fn new(base: &str) -> Result<Self, HttpError> {
        let not_allowed = |reason| HttpError::NotAllowed {
            url: shown(base),
            reason,
        };
        let base = Url::parse(base).map_err(|_| not_allowed("not a URL"))?;
        if !base.username().is_empty() || base.password().is_some() {
            return Err(not_allowed("it carries a user name or password"));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(not_allowed("it has a query or fragment"));
        }
        let loopback = is_loopback(&base);
        match base.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(not_allowed(
                    "plain HTTP is only allowed to a loopback address",
                ));
            }
            _ => return Err(not_allowed("only https is allowed")),
        }
        install_crypto_provider();
        let mut builder = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(format!("git-credential-patrol/{}", crate::VERSION))
            .https_only(!loopback);
        if loopback {
            // A proxy would see the token in the clear, and cannot reach our
            // loopback anyway.
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|err| HttpError::Failed {
            origin: origin(&base),
            cause: cause(&err),
        })?;
        Ok(Self {
            base,
            client,
            deadline: None,
        })
    }

    /// Shares one deadline among all the requests still to come.
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = Some(deadline);
    }

    /// The base URL, as given.
    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    /// `GET base + path` with the token as a bearer token.
    pub fn get(&self, path: &str, token: &Secret) -> Result<Response, HttpError> {
        self.get_as(path, token, Auth::Bearer)
    }

    /// `GET base + path` with the token in the form `auth` says.
    pub fn get_as(&self, path: &str, token: &Secret, auth: Auth) -> Result<Response, HttpError> {
        let url = self.url(path)?;
        self.send(self.client.get(url), token, auth)
    }

    /// `POST base + path` with the token and a JSON body.
    pub fn post_json(
        &self,
        path: &str,
        token: &Secret,
        body: &serde_json::Value,
    ) -> Result<Response, HttpError> {
        let url = self.url(path)?;
        self.send(self.client.post(url).json(body), token, Auth::Bearer)
    }

    /// `POST` to another URL of the same origin (GitHub Enterprise Server's
    /// GraphQL API lives beside its REST API, not under it).
    pub fn post_json_at(
        &self,
        url: &str,
        token: &Secret,
        body: &serde_json::Value,
    ) -> Result<Response, HttpError> {
        let url = Url::parse(url).map_err(|_| HttpError::NotAllowed {
            url: escape(url),
            reason: "not a URL",
        })?;
        if url.origin() != self.base.origin() {
            return Err(HttpError::NotAllowed {
                url: escape(url.as_str()),
                reason: "it is not at the origin of the API the token belongs to",
            });
        }
        self.send(self.client.post(url).json(body), token, Auth::Bearer)
    }

    fn url(&self, path: &str) -> Result<Url, HttpError> {
        let joined = format!("{}{path}", self.base());
        let url = Url::parse(&joined).map_err(|_| HttpError::NotAllowed {
            url: escape(&joined),
            reason: "not a URL",
        })?;
        // Paths are ours, but a belt to the braces: the origin never changes.
        if url.origin() != self.base.origin() {
            return Err(HttpError::NotAllowed {
                url: escape(&joined),
                reason: "it is not at the origin of the API the token belongs to",
            });
        }
        Ok(url)
    }

    fn send(
        &self,
        request: RequestBuilder,
        token: &Secret,
        auth: Auth,
    ) -> Result<Response, HttpError> {
        let origin = origin(&self.base);
        let started = Instant::now();
        let deadline =
            (started + TOTAL_TIMEOUT).min(self.deadline.unwrap_or(started + TOTAL_TIMEOUT));
        let limit = deadline.saturating_duration_since(started);
        if limit.is_zero() {
            return Err(HttpError::Skipped { origin });
        }
        let value = auth.header(token);
        let mut authorization = HeaderValue::from_str(&value).map_err(|_| HttpError::Failed {
            origin: origin.clone(),
            cause: "the token contains characters that cannot go in a header".into(),
        })?;
        authorization.set_sensitive(true);
        let request = request
            .header(AUTHORIZATION, authorization)
            .header("Accept", "application/json")
            .timeout(limit);
        // reqwest's blocking timeout restarts with every read of the body,
        // so a server that trickles bytes could hold git for minutes. The
        // request runs on a thread of its own and is abandoned at the
        // deadline; a thread left behind ends with its own read timeout, or
        // with the process.
        let (sender, receiver) = mpsc::channel();
        let worker_origin = origin.clone();
        thread::spawn(move || {
            let _ = sender.send(fetch(request, &worker_origin, limit));
        });
        let response = receiver
            .recv_timeout(limit)
            .unwrap_or(Err(HttpError::Timeout {
                origin: origin.clone(),
                limit,
            }))?;
        crate::trace!(
            "forge: {} from {origin}, {} bytes in {:.0?}",
            response.status,
            response.body.len(),
            started.elapsed()
        );
        Ok(response)
    }
}

/// Sends a request and reads its answer whole, within `MAX_BODY`.
fn fetch(request: RequestBuilder, origin: &str, limit: Duration) -> Result<Response, HttpError> {
    let timeout = || HttpError::Timeout {
        origin: origin.to_owned(),
        limit,
    };
    let response = request
        .send()
        .map_err(|err| classify(&err, origin, limit))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    // The whole bound at once: a buffer that grew while reading would leave
    // unwiped copies of what it held (a rotated token, say) behind in the
    // allocator. One MiB per forge request is nothing beside the request.
    let mut body = Zeroizing::new(Vec::with_capacity(MAX_BODY as usize + 1));
    response
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|err| {
            let timed_out = err.kind() == std::io::ErrorKind::TimedOut
                || err
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
                    .is_some_and(reqwest::Error::is_timeout);
            if timed_out {
                timeout()
            } else {
                HttpError::Failed {
                    origin: origin.to_owned(),
                    cause: cause(&err),
                }
            }
        })?;
    if body.len() as u64 > MAX_BODY {
        return Err(HttpError::TooLarge {
            origin: origin.to_owned(),
        });
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// 127.0.0.0/8, ::1 and `localhost`.
fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// A URL as a message may show it: escaped, and without the user name and
/// password it may carry (a `patrol.apiUrl` is refused for carrying them,
/// and the refusal must not repeat them).
pub fn shown(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            escape(parsed.as_str())
        }
        _ => escape(url),
    }
}

fn origin(url: &Url) -> String {
    escape(&url.origin().ascii_serialization())
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only when a provider is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn classify(err: &reqwest::Error, origin: &str, limit: Duration) -> HttpError {
    let origin = origin.to_owned();
    if err.is_timeout() {
        HttpError::Timeout { origin, limit }
    } else if err.is_connect() {
        HttpError::Connect {
            origin,
            cause: cause(err),
        }
    } else {
        HttpError::Failed {
            origin,
            cause: cause(err),
        }
    }
}

/// The innermost cause, which names what went wrong ("connection refused",
/// "invalid peer certificate") without the URL reqwest wraps around it.
fn cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(source) = current.source() {
        current = source;
    }
    escape(&current.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(Api::new("https://api.github.com").is_ok());
        assert!(Api::new("http://127.0.0.1:8080/api/v4").is_ok());
        assert!(Api::new("http://127.1.2.3:8080").is_ok());
        assert!(Api::new("http://[::1]:8080").is_ok());
        assert!(Api::new("http://localhost:8080").is_ok());
        for refused in [
            "http://api.github.com",
            "http://10.0.0.1",
            "http://127.0.0.1.example.com",
            "ftp://127.0.0.1",
            "https://user:pass@api.github.com",
            "https://api.github.com/?q=1",
            "not a url",
        ] {
            let err = Api::new(refused).err().expect(refused);
            assert!(matches!(err, HttpError::NotAllowed { .. }), "{refused}");
            assert!(!err.to_string().contains("user:pass"), "{err}");
        }
    }

    #[test]
    fn basic_headers_are_base64_of_user_and_token() {
        // RFC 7617's example.
        let token = Secret::new("open sesame");
        assert_eq!(
            &*Auth::Basic { user: "Aladdin" }.header(&token),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(&*Auth::Token.header(&token), "token open sesame");
        assert_eq!(&*Auth::Bearer.header(&token), "Bearer open sesame");
    }

    #[test]
    fn requests_never_leave_the_origin() {
        let api = Api::new("https://ghe.example.com/api/v3").unwrap();
        assert_eq!(
            api.url("/user").unwrap().as_str(),
            "https://ghe.example.com/api/v3/user"
        );
        let bare = Api::new("https://api.github.com").unwrap();
        assert!(bare.url("@evil.example.com/user").is_err());
        assert!(bare.url(".evil.example.com/user").is_err());
        let token = Secret::new("ghp_TESTtoken");
        let body = serde_json::json!({});
        let err = api
            .post_json_at("https://evil.example.com/api/graphql", &token, &body)
            .err()
            .unwrap();
        assert!(matches!(err, HttpError::NotAllowed { .. }));
        assert!(!err.to_string().contains("ghp_TEST"));
    }
}
