//! GitHub and GitHub Enterprise Server: what the REST and GraphQL APIs say
//! about a token. `GET /user` names the account; its response headers carry
//! the expiry (`github-authentication-token-expiration`) and a classic
//! token's scopes (`x-oauth-scopes`). `check --repo` also asks
//! `GET /repos/OWNER/NAME` and a minimal GraphQL query.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::http::Api;
use super::{Facts, ProbeError, Repo, message_of, quote, unexpected};
use crate::credential::{Secret, TokenKind};
use crate::record::Expiry;

const FORGE: &str = "GitHub";
const EXPIRATION: &str = "github-authentication-token-expiration";

/// `GET /user`: account, expiry and scopes.
pub fn probe(api: &Api, token: &Secret, kind: TokenKind) -> Result<Facts, ProbeError> {
    #[derive(Deserialize)]
    struct User {
        login: String,
    }
    let response = api.get("/user", token)?;
    if response.status == 401 {
        return Err(ProbeError::Rejected {
            forge: FORGE,
            message: message_of(&response).unwrap_or_else(|| "Bad credentials".into()),
        });
    }
    if response.status != 200 {
        return Err(unexpected(FORGE, &response));
    }
    let user: User = response.json().map_err(|err| ProbeError::Unreadable {
        forge: FORGE,
        detail: quote(&format!("/user: {err}")),
    })?;
    let mut facts = Facts {
        account: Some(quote(&user.login)),
        ..Facts::default()
    };
    facts.scopes = response.header("x-oauth-scopes").map(split_scopes);
    if facts.scopes.is_some() && kind == TokenKind::Unknown {
        // A token from before prefixes existed (40 hex digits) is classic.
        facts.kind = Some(TokenKind::GithubClassic);
    }
    facts.expiry = match response.header(EXPIRATION) {
        Some(text) => match parse_expiration(text) {
            Some(at) => Some(Expiry::At(at)),
            None => {
                facts.notes.push(format!(
                    "GitHub sent an expiry that could not be read: {}",
                    quote(text)
                ));
                None
            }
        },
        None if response.has_header(EXPIRATION) => {
            facts
                .notes
                .push("GitHub sent an expiry header that is not text".into());
            None
        }
        // Personal access tokens without an expiry get no header; other
        // kinds (app and OAuth tokens) expire by rules the header does not
        // describe, so for them the answer stays "unknown".
        None if matches!(
            kind,
            TokenKind::GithubClassic | TokenKind::GithubFineGrained | TokenKind::Unknown
        ) =>
        {
            Some(Expiry::Never)
        }
        None => None,
    };
    Ok(facts)
}

/// `2026-12-01 00:00:00 UTC`, or with a numeric offset,
/// `2023-04-26 20:23:26 +0200`.
fn parse_expiration(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S %z") {
        return Some(at.with_timezone(&Utc));
    }
    if let Some(naive) = text.strip_suffix(" UTC")
        && let Ok(at) = NaiveDateTime::parse_from_str(naive.trim(), "%Y-%m-%d %H:%M:%S")
    {
        return Some(at.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// `repo, read:org` as a list.
fn split_scopes(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(quote)
        .collect()
}

/// What `GET /repos/OWNER/NAME` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RepoAccess {
    /// Visible; the account's permissions on it, strongest first.
    Reachable { permissions: Vec<String> },
    /// 404: it does not exist, or the token may not see it.
    NotFound,
    /// 403: with the message and what GitHub says would be needed.
    Forbidden {
        message: String,
        accepted_scopes: Option<String>,
        accepted_permissions: Option<String>,
        sso: Option<String>,
    },
    /// 401: the token itself is refused.
    Rejected { message: String },
}

pub fn repository(api: &Api, token: &Secret, repo: &Repo) -> Result<RepoAccess, ProbeError> {
    #[derive(Deserialize)]
    struct Repository {
        #[serde(default)]
        permissions: Option<serde_json::Map<String, serde_json::Value>>,
    }
    let response = api.get(&format!("/repos/{}/{}", repo.owner, repo.name), token)?;
    match response.status {
        200 => {
            let found: Repository = response.json().map_err(|err| ProbeError::Unreadable {
                forge: FORGE,
                detail: quote(&format!("/repos/{repo}: {err}")),
            })?;
            let order = ["admin", "maintain", "push", "triage", "pull"];
            let granted = found.permissions.unwrap_or_default();
            let permissions = order
                .iter()
                .filter(|p| granted.get(**p).and_then(|v| v.as_bool()) == Some(true))
                .map(|p| (*p).to_owned())
                .collect();
            Ok(RepoAccess::Reachable { permissions })
        }
        404 => Ok(RepoAccess::NotFound),
        401 => Ok(RepoAccess::Rejected {
            message: message_of(&response).unwrap_or_else(|| "Bad credentials".into()),
        }),
        403 => Ok(RepoAccess::Forbidden {
            message: message_of(&response).unwrap_or_else(|| "Forbidden".into()),
            accepted_scopes: response.header("x-accepted-oauth-scopes").map(quote),
            accepted_permissions: response.header("x-accepted-github-permissions").map(quote),
            sso: response.header("x-github-sso").map(quote),
        }),
        _ => Err(unexpected(FORGE, &response)),
    }
}

/// Where GraphQL lives: `https://api.github.com/graphql` beside the REST
/// API, `https://HOST/api/graphql` on GitHub Enterprise Server.
fn graphql_url(rest_base: &str) -> String {
    match rest_base.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{rest_base}/graphql"),
    }
}

/// What the minimal GraphQL query said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphqlAnswer {
    Ok,
    /// The query ran with errors: each error's type (when given) and message.
    Errors(Vec<(Option<String>, String)>),
    Rejected {
        message: String,
    },
}

/// `{ viewer { login } }`: whether the token can use the GraphQL API at all
/// (the GitHub CLI and many tools need it).
pub fn graphql(api: &Api, token: &Secret) -> Result<GraphqlAnswer, ProbeError> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        errors: Vec<Error>,
    }
    #[derive(Deserialize)]
    struct Error {
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        message: String,
    }
    let query = serde_json::json!({ "query": "{ viewer { login } }" });
    let response = api.post_json_at(&graphql_url(api.base()), token, &query)?;
    match response.status {
        200 => {
            let answer: Answer = response.json().map_err(|err| ProbeError::Unreadable {
                forge: FORGE,
                detail: quote(&format!("graphql: {err}")),
            })?;
            if answer.errors.is_empty() {
                Ok(GraphqlAnswer::Ok)
            } else {
                Ok(GraphqlAnswer::Errors(
                    answer
                        .errors
                        .into_iter()
                        .take(5)
                        .map(|e| (e.kind.as_deref().map(quote), quote(&e.message)))
                        .collect(),
                ))
            }
        }
        401 => Ok(GraphqlAnswer::Rejected {
            message: message_of(&response).unwrap_or_else(|| "Bad credentials".into()),
        }),
        _ => Err(unexpected(FORGE, &response)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_headers_in_both_forms() {
        assert_eq!(
            parse_expiration("2026-12-01 00:00:00 UTC"),
            Some("2026-12-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            parse_expiration("2023-04-26 20:23:26 +0200"),
            Some("2023-04-26T18:23:26Z".parse().unwrap())
        );
        assert_eq!(
            parse_expiration("2023-04-26 20:23:26 -0700"),
            Some("2023-04-27T03:23:26Z".parse().unwrap())
        );
        assert_eq!(parse_expiration("next tuesday"), None);
        assert_eq!(parse_expiration("2026-13-01 00:00:00 UTC"), None);
        assert_eq!(parse_expiration(""), None);
    }

    #[test]
    fn scopes_are_split_and_trimmed() {
        assert_eq!(
            split_scopes("repo, read:org,workflow"),
            ["repo", "read:org", "workflow"]
        );
        assert!(split_scopes("").is_empty());
        assert!(split_scopes(" , ").is_empty());
    }

    #[test]
    fn graphql_beside_the_rest_api() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.example.com/api/v3"),
            "https://ghe.example.com/api/graphql"
        );
        assert_eq!(
            graphql_url("http://127.0.0.1:8080"),
            "http://127.0.0.1:8080/graphql"
        );
    }
}
