//! What we know about forges: which one a host is, where its API is, and
//! what the forge says about a token when asked. The HTTP rules live in
//! `http`; each forge's API in a file of its own (`github`, `gitlab`,
//! `bitbucket`, `bitbucket_datacenter`, `azure_devops`, `gitea`, `gerrit`,
//! `huggingface`), each returning `Facts` that a record applies
//! (`record_outcome`); what each forge allows for each kind of token (its
//! pages, what can be edited or rotated, its scope names, whether it can
//! tell the expiry) in `tokens`; `diagnosis` turns answers into problems
//! and fixes built from that table.
//!
//! Whatever a server sends is untrusted: every string from it is escaped and
//! shortened (`quote`) before it reaches the index or a terminal.

pub mod azure_devops;
pub mod bitbucket;
pub mod bitbucket_datacenter;
pub mod diagnosis;
pub mod gerrit;
pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod http;
pub mod huggingface;
pub mod pages;
pub mod scopes;
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
/// by name where the name is unambiguous (github.com, gitlab.com,
/// bitbucket.org, dev.azure.com and `*.visualstudio.com`, codeberg.org,
/// gitea.com, huggingface.co and hf.co), else none. A token's prefix is
/// never used to guess: a `ghp_` token stored for another host says nothing
/// about that host, and guessing sent probes and people to pages that are
/// not there.
pub fn kind_of(target: &Target, configured: Option<ForgeKind>) -> ForgeKind {
    if target.is_certificate() {
        return ForgeKind::None;
    }
    if let Some(kind) = configured {
        return kind;
    }
    match host_name(target).as_str() {
        "github.com" => ForgeKind::Github,
        "gitlab.com" => ForgeKind::Gitlab,
        "bitbucket.org" => ForgeKind::Bitbucket,
        "dev.azure.com" | "ssh.dev.azure.com" => ForgeKind::AzureDevops,
        host if host.ends_with(".visualstudio.com") => ForgeKind::AzureDevops,
        "codeberg.org" | "gitea.com" => ForgeKind::Gitea,
        "huggingface.co" | "hf.co" => ForgeKind::Huggingface,
        _ => ForgeKind::None,
    }
}

/// The host as the table of known hosts names it: lowercase, without
/// HTTPS's default port (any other port is another server).
fn host_name(target: &Target) -> String {
    let host = target.host.to_ascii_lowercase();
    match host.strip_suffix(":443") {
        Some(bare) if target.protocol.eq_ignore_ascii_case("https") => bare.to_owned(),
        _ => host,
    }
}

/// True when nothing says which forge the host is: neither its name nor a
/// `patrol.<url>.forge` (an explicit `none` is an answer).
pub fn is_unknown(target: &Target, configured: Option<ForgeKind>) -> bool {
    !target.is_certificate() && configured.is_none() && kind_of(target, None) == ForgeKind::None
}

/// What to say where the forge is unknown: that it is, and the command that
/// declares it (suggesting the forge that issues tokens like this one).
pub fn unknown_forge_hint(target: &Target, token: TokenKind) -> String {
    let first = match token.issuer() {
        ForgeKind::None => ForgeKind::Github,
        issuer => issuer,
    };
    let others: Vec<&str> = [
        ForgeKind::Github,
        ForgeKind::Gitlab,
        ForgeKind::Gitea,
        ForgeKind::BitbucketDatacenter,
        ForgeKind::Gerrit,
    ]
    .into_iter()
    .filter(|forge| *forge != first)
    .map(ForgeKind::name)
    .collect();
    let host = crate::terminal::escape(&target.host);
    let url = crate::terminal::escape(&format!("{}://{}", target.protocol, target.host));
    format!(
        "the forge of {host} is unknown, so it is not asked about the token and no page \
         to create one is named; declare the forge it runs with \
         `git config --global patrol.{url}.forge {}` (or {})",
        first.name(),
        others.join(", ")
    )
}

/// What to tell a person of an expiry the forge cannot give: where the
/// forge cannot tell it and none is known, the command that sets it; where
/// the forge's tokens never expire and `rotateAfter` is unset, the setting
/// that reminds. `None`: nothing to say.
pub fn expiry_advice(
    target: &Target,
    forge: ForgeKind,
    kind: TokenKind,
    known: Option<Expiry>,
    rotates: bool,
) -> Option<String> {
    let url = crate::output::shell_word(&target.url());
    let name = forge_name(forge);
    let text = match tokens::row(forge, kind).expiry {
        tokens::ExpiryAnswer::CannotTell if known.is_none() && forge != ForgeKind::None => {
            format!(
                "{name} does not tell anyone asking with the token when it expires, so \
                 patrol cannot warn before it does; read the date on the token's page and \
                 run: git credential-patrol expiry {url} DATE"
            )
        }
        tokens::ExpiryAnswer::NeverExpires if !rotates => format!(
            "{name}'s tokens have no expiry; to be reminded to replace this one, run: \
             git config --global patrol.{url}.rotateAfter '90 days'"
        ),
        _ => return None,
    };
    Some(crate::terminal::escape(&text))
}

/// Why a known forge is not asked: its API's address is not known (Azure
/// DevOps without its organization). `None` where it is.
pub fn no_api_hint(target: &Target, forge: ForgeKind) -> Option<String> {
    if forge != ForgeKind::AzureDevops || azure_devops::api_base(target).is_some() {
        return None;
    }
    let url = crate::output::shell_word(&target.url());
    Some(crate::terminal::escape(&format!(
        "Azure DevOps' API is under the organization, which the credential's URL does not \
         name; to have it asked, run: git config --global credential.{url}.useHttpPath true \
         (then push once), or: git config --global patrol.{url}.apiUrl https://dev.azure.com/ORG"
    )))
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
    match (forge, host_name(target).as_str()) {
        (ForgeKind::Github, "github.com") => return Some("https://api.github.com".into()),
        (ForgeKind::Bitbucket, "bitbucket.org") => {
            return Some("https://api.bitbucket.org/2.0".into());
        }
        (ForgeKind::Huggingface, "hf.co") => return Some("https://huggingface.co/api".into()),
        _ => {}
    }
    let base = pages::web_base(target);
    match forge {
        ForgeKind::Github => Some(format!("{base}/api/v3")),
        ForgeKind::Gitlab => Some(format!("{base}/api/v4")),
        ForgeKind::Gitea => Some(format!("{base}/api/v1")),
        ForgeKind::Huggingface => Some(format!("{base}/api")),
        // Bitbucket Cloud's API has a host of its own; a server that is
        // not bitbucket.org names it in `patrol.apiUrl`.
        ForgeKind::Bitbucket => Some(format!("{base}/2.0")),
        // Gerrit and Bitbucket Data Center: the server's root (a server
        // under a path names it in `patrol.apiUrl`).
        ForgeKind::BitbucketDatacenter | ForgeKind::Gerrit => Some(base),
        ForgeKind::AzureDevops => azure_devops::api_base(target),
        ForgeKind::None => None,
    }
}

pub fn forge_name(forge: ForgeKind) -> &'static str {
    match forge {
        ForgeKind::Github => "GitHub",
        ForgeKind::Gitlab => "GitLab",
        ForgeKind::Bitbucket => "Bitbucket",
        ForgeKind::BitbucketDatacenter => "Bitbucket Data Center",
        ForgeKind::AzureDevops => "Azure DevOps",
        ForgeKind::Gitea => "Gitea",
        ForgeKind::Gerrit => "Gerrit",
        ForgeKind::Huggingface => "Hugging Face",
        ForgeKind::None => "none",
    }
}

/// The APIs we speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Github,
    Gitlab,
    Bitbucket,
    BitbucketDatacenter,
    AzureDevops,
    Gitea,
    Gerrit,
    Huggingface,
}

/// What a probe sends: the token, its kind as far as its prefix tells, and
/// the names that some APIs want beside it.
#[derive(Clone, Copy)]
pub struct Login<'a> {
    pub token: &'a Secret,
    pub kind: TokenKind,
    /// The user name git stored with the token.
    pub username: &'a str,
    /// `patrol.apiUser`, where the API wants another name than git's.
    pub api_user: Option<&'a str>,
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
            ForgeKind::Bitbucket => Dialect::Bitbucket,
            ForgeKind::BitbucketDatacenter => Dialect::BitbucketDatacenter,
            ForgeKind::AzureDevops => Dialect::AzureDevops,
            ForgeKind::Gitea => Dialect::Gitea,
            ForgeKind::Gerrit => Dialect::Gerrit,
            ForgeKind::Huggingface => Dialect::Huggingface,
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
    pub fn probe(&self, login: &Login) -> Result<Facts, ProbeError> {
        let (api, token, kind) = (&self.api, login.token, login.kind);
        let facts = match self.dialect {
            Dialect::Github => github::probe(api, token, kind),
            Dialect::Gitlab => gitlab::probe(api, token, kind),
            Dialect::Bitbucket => bitbucket::probe(api, login),
            Dialect::BitbucketDatacenter => bitbucket_datacenter::probe(api, login),
            Dialect::AzureDevops => azure_devops::probe(api, login),
            Dialect::Gitea => gitea::probe(api, login),
            Dialect::Gerrit => gerrit::probe(api, login),
            Dialect::Huggingface => huggingface::probe(api, login),
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

/// Asks the forge `kind` about `token` (stored for `username`), for a
/// credential of `target`, within `PROBE_BUDGET`.
pub fn probe(
    target: &Target,
    settings: &Settings,
    kind: ForgeKind,
    token: &Secret,
    token_kind: TokenKind,
    username: &str,
) -> Option<Result<Facts, ProbeError>> {
    match Forge::new(target, kind, settings.api_url.as_deref()) {
        Ok(Some(mut forge)) => {
            forge.api.set_deadline(Instant::now() + PROBE_BUDGET);
            Some(forge.probe(&Login {
                token,
                kind: token_kind,
                username,
                api_user: settings.api_user.as_deref(),
            }))
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
    /// Nothing was sent: the API wants something the credential lacks.
    #[error("{forge} was not asked about the token: {reason}")]
    CannotAsk { forge: &'static str, reason: String },
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
    let escaped = crate::terminal::escape(text);
    if escaped.chars().count() <= MAX_SERVER_TEXT {
        escaped
    } else {
        let mut cut: String = escaped.chars().take(MAX_SERVER_TEXT).collect();
        cut.push('…');
        cut
    }
}

/// The `message` (GitHub, GitLab, Gitea) or `error` of a JSON error body;
/// Bitbucket nests it: `{"error": {"message": …}}`.
fn message_of(response: &Response) -> Option<String> {
    let body: serde_json::Value = response.json().ok()?;
    ["message", "error_description", "error"]
        .iter()
        .find_map(|key| match body.get(key)? {
            serde_json::Value::String(text) => Some(text.as_str()),
            nested => nested.get("message")?.as_str(),
        })
        .map(quote)
}

/// A 401 is the forge refusing the token; anything else unexpected is said
/// as it is. For the forges whose 401 means only that: where another
/// answer also refuses (Azure DevOps's sign-in page), the forge's file says.
fn refused_or_unexpected(forge: &'static str, response: &Response) -> ProbeError {
    if response.status == 401 {
        ProbeError::Rejected {
            forge,
            message: message_of(response).unwrap_or_else(|| "401 Unauthorized".into()),
        }
    } else {
        unexpected(forge, response)
    }
}

/// A JSON answer read into `T`, or one line naming where it went wrong.
/// serde's message may quote what it tripped over, which is never a
/// secret in these answers (no API here sends a token back), and is
/// escaped and shortened.
fn read_json<T: serde::de::DeserializeOwned>(
    forge: &'static str,
    what: &str,
    body: &[u8],
) -> Result<T, ProbeError> {
    serde_json::from_slice(body).map_err(|err| ProbeError::Unreadable {
        forge,
        detail: quote(&format!("{what}: {err}")),
    })
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
    use crate::testing::https;

    #[test]
    fn a_failed_probe_keeps_an_earlier_refusal() {
        let now = crate::testing::now();
        let mut record = Record::new(
            https("github.com"),
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
        assert!(!is_unknown(&https("GitHub.com"), None));
        let hint = unknown_forge_hint(&loopback, TokenKind::GitlabPersonal);
        assert!(
            hint.contains("`git config --global patrol.http://127.0.0.1:8080.forge gitlab`"),
            "{hint}"
        );
        let hostile = https("a\x1b]0;x\x07b");
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
            pages::manage_url(&plain, ForgeKind::Github, TokenKind::GithubClassic).unwrap(),
            "http://127.0.0.1:8080/settings/tokens"
        );
        assert_eq!(
            api_base(&plain, ForgeKind::Gitlab, None).unwrap(),
            "http://127.0.0.1:8080/api/v4"
        );
        assert_eq!(
            pages::manage_url(
                &https("ghe.example.com"),
                ForgeKind::Github,
                TokenKind::GithubClassic
            )
            .unwrap(),
            "https://ghe.example.com/settings/tokens"
        );
    }

    #[test]
    fn api_urls_per_host_and_forge() {
        let api =
            |host: &str, forge, configured: Option<&str>| api_base(&https(host), forge, configured);
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
            api("Bitbucket.org:443", ForgeKind::Bitbucket, None).unwrap(),
            "https://api.bitbucket.org/2.0"
        );
        assert_eq!(
            api("hf.co", ForgeKind::Huggingface, None).unwrap(),
            "https://huggingface.co/api"
        );
        assert_eq!(
            api("codeberg.org", ForgeKind::Gitea, None).unwrap(),
            "https://codeberg.org/api/v1"
        );
        assert_eq!(
            api("review.example.com", ForgeKind::Gerrit, None).unwrap(),
            "https://review.example.com"
        );
        assert_eq!(api("dev.azure.com", ForgeKind::AzureDevops, None), None);
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
    fn hosts_known_by_name() {
        for (host, forge) in [
            ("bitbucket.org", ForgeKind::Bitbucket),
            ("dev.azure.com", ForgeKind::AzureDevops),
            ("Contoso.VisualStudio.com", ForgeKind::AzureDevops),
            ("codeberg.org:443", ForgeKind::Gitea),
            ("gitea.com", ForgeKind::Gitea),
            ("huggingface.co", ForgeKind::Huggingface),
            ("hf.co", ForgeKind::Huggingface),
            ("codeberg.org:8443", ForgeKind::None),
            ("visualstudio.com.example", ForgeKind::None),
        ] {
            assert_eq!(kind_of(&https(host), None), forge, "{host}");
        }
    }

    #[test]
    fn probing_is_on_for_known_forges_only_unless_configured() {
        let mut settings = Settings::defaults();
        let probed = |host: &str, settings: &Settings| probed_on_store(&https(host), settings);
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
