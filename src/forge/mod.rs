//! What we know about forges: which one a host is, where its API is, and
//! what the forge says about a token when asked. The HTTP rules live in
//! `http`; each forge's API in `github` and `gitlab`; what each forge allows
//! for each kind of token (its pages, what can be edited or rotated, its
//! scope names) in `tokens`; `diagnosis` turns answers into problems and
//! fixes built from that table.
//!
//! Whatever a server sends is untrusted: every string from it is escaped and
//! shortened (`quote`) before it reaches the index or a terminal.

pub mod diagnosis;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod tokens;

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::config::Settings;
use crate::credential::{ForgeKind, Secret, Target, TokenKind};
use crate::record::{Expiry, ProbeOutcome, ProbeResult, Record};
use http::{Api, HttpError, Response};

/// Server text longer than this is cut: a message is one line, and the
/// index must stay small whatever a server sends.
const MAX_SERVER_TEXT: usize = 200;

/// The forge a host speaks: configured with `patrol.<url>.forge`, else known
/// by name (github.com, gitlab.com), else none. A token's prefix is never
/// used to guess: a `ghp_` token stored for another host says nothing about
/// that host, and guessing sent probes and people to pages that are not
/// there.
pub fn kind_of(target: &Target, configured: Option<ForgeKind>) -> ForgeKind {
    if let Some(kind) = configured {
        return kind;
    }
    match target.host.to_ascii_lowercase().as_str() {
        "github.com" => ForgeKind::Github,
        "gitlab.com" => ForgeKind::Gitlab,
        _ => ForgeKind::None,
    }
}

/// True when nothing says which forge the host is: neither its name nor a
/// `patrol.<url>.forge` (an explicit `none` is an answer).
pub fn is_unknown(target: &Target, configured: Option<ForgeKind>) -> bool {
    configured.is_none() && kind_of(target, None) == ForgeKind::None
}

/// What to say where the forge is unknown: that it is, and the command that
/// declares it (suggesting the forge that issues tokens like this one).
pub fn unknown_forge_hint(target: &Target, token: TokenKind) -> String {
    let (first, second) = match token.issuer() {
        ForgeKind::Gitlab => ("gitlab", "github"),
        _ => ("github", "gitlab"),
    };
    let host = crate::output::escape(&target.host);
    let url = crate::output::escape(&format!("{}://{}", target.protocol, target.host));
    format!(
        "the forge of {host} is unknown, so it is not asked about the token and no page \
         to create one is named; if it runs GitHub or GitLab, declare it with \
         `git config --global patrol.{url}.forge {first}` (or `{second}`)"
    )
}

/// The forge to ask about a token `store` just saved, if any.
pub fn probed_on_store(target: &Target, settings: &Settings) -> ForgeKind {
    match settings.probe {
        Some(false) => ForgeKind::None,
        _ => kind_of(target, settings.forge),
    }
}

/// The API's base URL: `patrol.apiUrl`, else derived from the host; none
/// for a host that is no forge we speak to.
pub fn api_base(target: &Target, forge: ForgeKind, configured: Option<&str>) -> Option<String> {
    if forge == ForgeKind::None {
        return None;
    }
    if let Some(url) = configured {
        return Some(url.trim_end_matches('/').to_owned());
    }
    if target.host.eq_ignore_ascii_case("github.com") && forge == ForgeKind::Github {
        return Some("https://api.github.com".into());
    }
    let base = tokens::web_base(target);
    match forge {
        ForgeKind::Github => Some(format!("{base}/api/v3")),
        ForgeKind::Gitlab => Some(format!("{base}/api/v4")),
        ForgeKind::None => None,
    }
}

pub fn forge_name(forge: ForgeKind) -> &'static str {
    match forge {
        ForgeKind::Github => "GitHub",
        ForgeKind::Gitlab => "GitLab",
        ForgeKind::None => "none",
    }
}

/// The APIs we speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Github,
    Gitlab,
}

/// A forge's API for one credential's host.
pub struct Forge {
    pub dialect: Dialect,
    pub api: Api,
}

impl Forge {
    /// `None` when `kind` is no forge we speak to.
    pub fn new(
        target: &Target,
        kind: ForgeKind,
        configured_api: Option<&str>,
    ) -> Result<Option<Self>, HttpError> {
        let dialect = match kind {
            ForgeKind::Github => Dialect::Github,
            ForgeKind::Gitlab => Dialect::Gitlab,
            ForgeKind::None => return Ok(None),
        };
        let Some(base) = api_base(target, kind, configured_api) else {
            return Ok(None);
        };
        Ok(Some(Self {
            dialect,
            api: Api::new(&base)?,
        }))
    }

    /// Who the token belongs to, when it expires, what it may do.
    pub fn probe(&self, token: &Secret, kind: TokenKind) -> Result<Facts, ProbeError> {
        let facts = match self.dialect {
            Dialect::Github => github::probe(&self.api, token, kind),
            Dialect::Gitlab => gitlab::probe(&self.api, token, kind),
        };
        crate::trace!(
            "forge probe at {}: {}",
            self.api.base(),
            match &facts {
                Ok(_) => "valid".to_owned(),
                Err(err) => err.to_string(),
            }
        );
        facts
    }
}

/// All the network work of one probe (a `store`, a pasted token in
/// `rotate`), however many requests it takes: git waits for it after a push.
const PROBE_BUDGET: Duration = http::TOTAL_TIMEOUT;

/// Asks the forge `kind` about `token`, for a credential of `target`, within
/// `PROBE_BUDGET`.
pub fn probe(
    target: &Target,
    settings: &Settings,
    kind: ForgeKind,
    token: &Secret,
    token_kind: TokenKind,
) -> Option<Result<Facts, ProbeError>> {
    match Forge::new(target, kind, settings.api_url.as_deref()) {
        Ok(Some(mut forge)) => {
            forge.api.set_deadline(Instant::now() + PROBE_BUDGET);
            Some(forge.probe(token, token_kind))
        }
        Ok(None) => None,
        Err(err) => Some(Err(err.into())),
    }
}

/// What a forge said about a token it accepted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub account: Option<String>,
    /// `None`: the forge did not say.
    pub expiry: Option<Expiry>,
    /// A scoped token's scopes; `None` for tokens without scopes
    /// (fine-grained) or when the forge did not say.
    pub scopes: Option<Vec<String>>,
    /// A better kind than the prefix gave, when the answer shows one.
    pub kind: Option<TokenKind>,
    pub token_name: Option<String>,
    /// Oddities in the answer worth a line (an unreadable date).
    pub notes: Vec<String>,
}

#[derive(Debug, Error)]
pub enum ProbeError {
    /// 401 (or GitLab's "not active"): invalid, expired or revoked.
    #[error("{forge} rejected the token ({message})")]
    Rejected {
        forge: &'static str,
        message: String,
    },
    #[error("{forge} answered {status} ({message})")]
    Refused {
        forge: &'static str,
        status: u16,
        message: String,
    },
    #[error("{forge} answered {status} with a redirect to {location}; it was not followed")]
    Redirected {
        forge: &'static str,
        status: u16,
        location: String,
    },
    #[error("{forge} sent an answer that could not be read: {detail}")]
    Unreadable { forge: &'static str, detail: String },
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// The outcome of a probe, written into the record. A failure keeps what an
/// earlier probe learnt (a refusal included); a success replaces it.
pub fn record_outcome(
    record: &mut Record,
    outcome: &Result<Facts, ProbeError>,
    now: DateTime<Utc>,
) {
    let (result, message) = match outcome {
        Ok(facts) => {
            record.expiry.forge = facts.expiry;
            if facts.account.is_some() {
                record.account = facts.account.clone();
            }
            record.scopes = facts.scopes.clone();
            record.token_name = facts.token_name.clone();
            if let Some(kind) = facts.kind {
                record.kind = kind;
            }
            (ProbeResult::Valid, facts.notes.first().cloned())
        }
        Err(err @ ProbeError::Rejected { .. }) => (ProbeResult::Rejected, Some(err.to_string())),
        // No answer says nothing about a refusal an earlier probe heard:
        // the token stays refused until the forge or git accepts it.
        Err(_)
            if record
                .probe
                .as_ref()
                .is_some_and(|p| p.result == ProbeResult::Rejected) =>
        {
            return;
        }
        Err(err) => (ProbeResult::Failed, Some(err.to_string())),
    };
    record.probe = Some(ProbeOutcome {
        at: now,
        result,
        message: message.map(|m| quote(&m)),
    });
}

/// A GitHub repository named on the command line: `OWNER/NAME`, in the
/// characters GitHub allows, so that it cannot change the request's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl FromStr for Repo {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        let (owner, name) = text.split_once('/').unwrap_or((text, ""));
        let name = name.strip_suffix(".git").unwrap_or(name);
        match (owner, name) {
            (owner, name) if valid(owner) && valid(name) => Ok(Self {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => Err(format!(
                "{text:?} is not a repository such as `octo-org/hello`"
            )),
        }
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Text from a server, made safe for a terminal and the index: control
/// characters escaped, at most `MAX_SERVER_TEXT` characters.
pub fn quote(text: &str) -> String {
    let escaped = crate::output::escape(text);
    if escaped.chars().count() <= MAX_SERVER_TEXT {
        escaped
    } else {
        let mut cut: String = escaped.chars().take(MAX_SERVER_TEXT).collect();
        cut.push('…');
        cut
    }
}

/// The `message` (GitHub, GitLab) or `error` of a JSON error body.
fn message_of(response: &Response) -> Option<String> {
    let body: serde_json::Value = response.json().ok()?;
    ["message", "error_description", "error"]
        .iter()
        .find_map(|key| body.get(key).and_then(|v| v.as_str()))
        .map(quote)
}

/// An answer we did not expect, in one line.
fn unexpected(forge: &'static str, response: &Response) -> ProbeError {
    if (300..400).contains(&response.status) {
        return ProbeError::Redirected {
            forge,
            status: response.status,
            location: response
                .header("location")
                .map(quote)
                .unwrap_or_else(|| "nowhere".into()),
        };
    }
    ProbeError::Refused {
        forge,
        status: response.status,
        message: message_of(response).unwrap_or_else(|| {
            if response.body.is_empty() {
                "an empty answer".into()
            } else {
                "an answer that is not the JSON expected".into()
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str) -> Target {
        Target {
            protocol: "https".into(),
            host: host.into(),
            path: None,
        }
    }

    #[test]
    fn a_failed_probe_keeps_an_earlier_refusal() {
        let now: DateTime<Utc> = "2026-06-15T12:00:00Z".parse().unwrap();
        let mut record = Record::new(
            target("github.com"),
            "alice".into(),
            TokenKind::GithubClassic,
            now,
        );
        let rejected = Err(ProbeError::Rejected {
            forge: "GitHub",
            message: "Bad credentials".into(),
        });
        record_outcome(&mut record, &rejected, now);
        let failed = Err(ProbeError::Unreadable {
            forge: "GitHub",
            detail: "x".into(),
        });
        record_outcome(&mut record, &failed, now + chrono::TimeDelta::hours(1));
        let probe = record.probe.clone().unwrap();
        assert_eq!((probe.result, probe.at), (ProbeResult::Rejected, now));
        record_outcome(&mut record, &Ok(Facts::default()), now);
        assert_eq!(record.probe.unwrap().result, ProbeResult::Valid);
    }

    #[test]
    fn the_forge_is_never_guessed_from_the_token() {
        let loopback = Target {
            protocol: "http".into(),
            host: "127.0.0.1:8080".into(),
            path: None,
        };
        assert_eq!(kind_of(&loopback, None), ForgeKind::None);
        assert!(is_unknown(&loopback, None));
        assert!(!is_unknown(&loopback, Some(ForgeKind::None)));
        assert!(!is_unknown(&target("GitHub.com"), None));
        let hint = unknown_forge_hint(&loopback, TokenKind::GitlabPersonal);
        assert!(
            hint.contains("`git config --global patrol.http://127.0.0.1:8080.forge gitlab`"),
            "{hint}"
        );
        let hostile = target("a\x1b]0;x\x07b");
        assert!(!unknown_forge_hint(&hostile, TokenKind::Unknown).contains('\x1b'));
    }

    #[test]
    fn the_scheme_of_the_persons_url_is_kept() {
        let plain = Target {
            protocol: "http".into(),
            host: "127.0.0.1:8080".into(),
            path: None,
        };
        assert_eq!(
            tokens::manage_url(&plain, ForgeKind::Github, TokenKind::GithubClassic).unwrap(),
            "http://127.0.0.1:8080/settings/tokens"
        );
        assert_eq!(
            api_base(&plain, ForgeKind::Gitlab, None).unwrap(),
            "http://127.0.0.1:8080/api/v4"
        );
        assert_eq!(
            tokens::manage_url(
                &target("ghe.example.com"),
                ForgeKind::Github,
                TokenKind::GithubClassic
            )
            .unwrap(),
            "https://ghe.example.com/settings/tokens"
        );
    }

    #[test]
    fn api_urls_per_host_and_forge() {
        let api = |host: &str, forge, configured: Option<&str>| {
            api_base(&target(host), forge, configured)
        };
        assert_eq!(
            api("github.com", ForgeKind::Github, None).unwrap(),
            "https://api.github.com"
        );
        assert_eq!(
            api("ghe.example.com:8443", ForgeKind::Github, None).unwrap(),
            "https://ghe.example.com:8443/api/v3"
        );
        assert_eq!(
            api("gitlab.com", ForgeKind::Gitlab, None).unwrap(),
            "https://gitlab.com/api/v4"
        );
        assert_eq!(
            api(
                "git.example.com",
                ForgeKind::Gitlab,
                Some("http://127.0.0.1:9/api/v4/")
            )
            .unwrap(),
            "http://127.0.0.1:9/api/v4"
        );
        assert_eq!(api("git.example.com", ForgeKind::None, None), None);
        assert_eq!(
            api(
                "git.example.com",
                ForgeKind::None,
                Some("http://127.0.0.1:9")
            ),
            None
        );
    }

    #[test]
    fn probing_is_on_for_known_forges_only_unless_configured() {
        let mut settings = Settings::defaults();
        let probed = |host: &str, settings: &Settings| probed_on_store(&target(host), settings);
        assert_eq!(probed("github.com", &settings), ForgeKind::Github);
        assert_eq!(probed("gitlab.com", &settings), ForgeKind::Gitlab);
        assert_eq!(probed("git.example.com", &settings), ForgeKind::None);
        // Even when asked to probe, an unknown host's forge is not guessed.
        settings.probe = Some(true);
        assert_eq!(probed("git.example.com", &settings), ForgeKind::None);
        settings.forge = Some(ForgeKind::Gitlab);
        assert_eq!(probed("git.example.com", &settings), ForgeKind::Gitlab);
        settings.probe = Some(false);
        assert_eq!(probed("git.example.com", &settings), ForgeKind::None);
        assert_eq!(probed("github.com", &settings), ForgeKind::None);
    }

    #[test]
    fn repositories_cannot_change_the_path() {
        assert_eq!(
            "octo-org/hello.git".parse::<Repo>().unwrap(),
            Repo {
                owner: "octo-org".into(),
                name: "hello".into()
            }
        );
        for bad in [
            "octo", "a/b/c", "../x", "a/..", "a/b?c", "a/b#c", "/b", "a/",
        ] {
            assert!(bad.parse::<Repo>().is_err(), "{bad}");
        }
    }

    #[test]
    fn server_text_is_escaped_and_bounded() {
        assert_eq!(quote("Bad credentials"), "Bad credentials");
        assert_eq!(quote("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        let long = quote(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), MAX_SERVER_TEXT + 1);
    }
}
