//! GitLab (gitlab.com and self-hosted): `GET /personal_access_tokens/self`
//! describes the token (name, scopes, expiry, whether it is active), and
//! `POST /personal_access_tokens/self/rotate` replaces it with a new one in
//! one call, which is what `rotate` uses on GitLab.
//!
//! A project or group access token is a personal access token of a bot
//! user, so the same request describes it; its account (`GET /user`) is
//! the bot, named `project_ID_bot…` or `group_ID_bot…` by GitLab. Its role
//! in that project or group comes from `GET /projects/ID/access_tokens/self`
//! (or `/groups/…`; GitLab 18.3 and later), else from
//! `…/access_tokens/TOKEN_ID` with the id the first answer gave.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::http::{Api, Response};
use super::{Facts, ProbeError, message_of, quote, unexpected};
use crate::credential::{Secret, TokenKind};
use crate::record::Expiry;

const FORGE: &str = "GitLab";

/// The fields of a token GitLab describes (and, on rotation, returns).
#[derive(Deserialize)]
struct Token {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    expires_at: Option<String>,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    revoked: Option<bool>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    access_level: Option<u32>,
}

/// `GET /personal_access_tokens/self`, then `GET /user` for the account
/// (which needs a scope the token may lack; without it the account stays
/// unknown).
pub fn probe(api: &Api, token: &Secret, kind: TokenKind) -> Result<Facts, ProbeError> {
    let response = api.get("/personal_access_tokens/self", token)?;
    let described = described(&response)?;
    if described.revoked == Some(true) || described.active == Some(false) {
        return Err(ProbeError::Rejected {
            forge: FORGE,
            message: if described.revoked == Some(true) {
                "the token is revoked".into()
            } else {
                "the token is not active (expired or revoked)".into()
            },
        });
    }
    let mut facts = facts_of(&described, kind);
    facts.account = account(api, token);
    if let Some(bot) = facts.account.as_deref().and_then(Bot::of) {
        facts.kind = Some(bot.kind());
        facts
            .notes
            .push(bot.describe(role(api, token, &bot, described.id)));
    }
    Ok(facts)
}

/// The project or group whose bot a token's account is.
#[derive(Debug, PartialEq, Eq)]
struct Bot {
    group: bool,
    id: u64,
}

impl Bot {
    /// `project_42_bot_0a1b…` or `group_7_bot…`: GitLab's names for the
    /// users behind project and group access tokens.
    fn of(username: &str) -> Option<Self> {
        let (group, rest) = match username.split_once('_')? {
            ("project", rest) => (false, rest),
            ("group", rest) => (true, rest),
            _ => return None,
        };
        let (id, rest) = rest.split_once('_')?;
        if !rest.starts_with("bot") {
            return None;
        }
        Some(Self {
            group,
            id: id.parse().ok()?,
        })
    }

    fn kind(&self) -> TokenKind {
        if self.group {
            TokenKind::GitlabGroup
        } else {
            TokenKind::GitlabProject
        }
    }

    fn collection(&self) -> &'static str {
        if self.group { "groups" } else { "projects" }
    }

    /// "a project access token of project 42, with the Maintainer role".
    fn describe(&self, role: Option<u32>) -> String {
        let what = if self.group { "group" } else { "project" };
        let role = match role {
            Some(10) => " with the Guest role".to_owned(),
            Some(15) => " with the Planner role".to_owned(),
            Some(20) => " with the Reporter role".to_owned(),
            Some(30) => " with the Developer role".to_owned(),
            Some(40) => " with the Maintainer role".to_owned(),
            Some(50) => " with the Owner role".to_owned(),
            Some(level) => format!(" with access level {level}"),
            None => String::new(),
        };
        format!("a {what} access token of {what} {}{role}", self.id)
    }
}

/// The token's role in its project or group: `…/access_tokens/self`,
/// else the token by its id (servers before `self` was supported there).
fn role(api: &Api, token: &Secret, bot: &Bot, token_id: Option<u64>) -> Option<u32> {
    let base = format!("/{}/{}/access_tokens", bot.collection(), bot.id);
    let level = |path: String| -> Option<Option<u32>> {
        let response = api.get(&path, token).ok()?;
        (response.status == 200).then(|| response.json::<Token>().ok()?.access_level)
    };
    level(format!("{base}/self"))
        .or_else(|| level(format!("{base}/{}", token_id?)))
        .flatten()
}

/// `POST /personal_access_tokens/self/rotate`: GitLab revokes the token that
/// asks and returns a new one, which expires at `expires_at` when given
/// (GitLab's default otherwise, a week on gitlab.com).
pub fn rotate(
    api: &Api,
    token: &Secret,
    expires_at: Option<NaiveDate>,
) -> Result<(Secret, Facts), ProbeError> {
    let body = match expires_at {
        Some(date) => serde_json::json!({ "expires_at": date.format("%Y-%m-%d").to_string() }),
        None => serde_json::json!({}),
    };
    let response = api.post_json("/personal_access_tokens/self/rotate", token, &body)?;
    if response.status != 200 && response.status != 201 {
        return Err(refusal(&response));
    }
    let rotated: Token = response.json().map_err(|err| unreadable_rotation(&err))?;
    let new_token = rotated
        .token
        .as_deref()
        .filter(|t| !t.is_empty() && !t.chars().any(|c| c.is_control() || c.is_whitespace()))
        .map(Secret::new)
        .ok_or(ProbeError::Unreadable {
            forge: FORGE,
            detail: "the rotation answer has no usable `token`".into(),
        })?;
    let facts = facts_of(&rotated, TokenKind::of_token(new_token.expose()));
    Ok((new_token, facts))
}

/// The rotation answer carries the new token, and serde's messages quote
/// the values they trip over: say only where the answer is malformed.
fn unreadable_rotation(err: &serde_json::Error) -> ProbeError {
    ProbeError::Unreadable {
        forge: FORGE,
        detail: format!(
            "rotate: the answer is not the JSON expected (line {}, column {})",
            err.line(),
            err.column()
        ),
    }
}

fn described(response: &Response) -> Result<Token, ProbeError> {
    if response.status != 200 {
        return Err(refusal(response));
    }
    response.json().map_err(|err| ProbeError::Unreadable {
        forge: FORGE,
        detail: quote(&format!("/personal_access_tokens/self: {err}")),
    })
}

fn refusal(response: &Response) -> ProbeError {
    if response.status == 401 {
        ProbeError::Rejected {
            forge: FORGE,
            message: message_of(response).unwrap_or_else(|| "401 Unauthorized".into()),
        }
    } else {
        unexpected(FORGE, response)
    }
}

fn facts_of(token: &Token, kind: TokenKind) -> Facts {
    let mut facts = Facts {
        scopes: token
            .scopes
            .as_ref()
            .map(|scopes| scopes.iter().take(100).map(|s| quote(s)).collect()),
        token_name: token.name.as_deref().map(quote),
        kind: (kind == TokenKind::Unknown).then_some(TokenKind::GitlabPersonal),
        ..Facts::default()
    };
    facts.expiry = match token.expires_at.as_deref() {
        None => Some(Expiry::Never),
        Some(text) => match parse_expires_at(text) {
            Some(at) => Some(Expiry::At(at)),
            None => {
                facts.notes.push(format!(
                    "GitLab sent an expiry that could not be read: {}",
                    quote(text)
                ));
                None
            }
        },
    };
    facts
}

/// GitLab gives a date (`2026-12-01`): the token stops working as that day
/// begins, in UTC. Some versions give a full time.
fn parse_expires_at(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

fn account(api: &Api, token: &Secret) -> Option<String> {
    #[derive(Deserialize)]
    struct User {
        username: String,
    }
    let response = api.get("/user", token).ok()?;
    if response.status != 200 {
        return None;
    }
    response
        .json::<User>()
        .ok()
        .map(|user| quote(&user.username))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_are_known_by_their_names() {
        assert_eq!(
            Bot::of("project_42_bot_0a1b2c"),
            Some(Bot {
                group: false,
                id: 42
            })
        );
        assert_eq!(
            Bot::of("group_7_bot").unwrap().kind(),
            TokenKind::GitlabGroup
        );
        assert_eq!(Bot::of("project_x_bot"), None);
        assert_eq!(Bot::of("project_42_alice"), None);
        assert_eq!(Bot::of("alice"), None);
        assert_eq!(
            Bot::of("project_42_bot").unwrap().describe(Some(40)),
            "a project access token of project 42 with the Maintainer role"
        );
    }

    #[test]
    fn expiry_dates_begin_the_day_in_utc() {
        assert_eq!(
            parse_expires_at("2026-12-01"),
            Some("2026-12-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(
            parse_expires_at("2026-12-01T10:00:00.000+02:00"),
            Some("2026-12-01T08:00:00Z".parse().unwrap())
        );
        assert_eq!(parse_expires_at("someday"), None);
        assert_eq!(parse_expires_at("2026-02-30"), None);
    }

    #[test]
    fn an_unreadable_rotation_answer_is_not_quoted() {
        let err = serde_json::from_str::<Token>(r#"{"active": "glpat-TESTsecret"}"#)
            .err()
            .unwrap();
        assert!(err.to_string().contains("glpat-TESTsecret"), "{err}");
        let message = unreadable_rotation(&err).to_string();
        assert!(!message.contains("glpat-TEST"), "{message}");
        assert!(message.contains("line 1"), "{message}");
    }

    #[test]
    fn a_token_without_expiry_never_expires_and_a_bad_date_is_noted() {
        let never = Token {
            name: Some("laptop".into()),
            scopes: Some(vec!["api".into()]),
            expires_at: None,
            active: Some(true),
            revoked: Some(false),
            token: None,
            id: None,
            access_level: None,
        };
        let facts = facts_of(&never, TokenKind::GitlabPersonal);
        assert_eq!(facts.expiry, Some(Expiry::Never));
        assert_eq!(facts.token_name.as_deref(), Some("laptop"));
        assert_eq!(facts.kind, None);
        let bad = Token {
            expires_at: Some("soon\x1b[2J".into()),
            ..never
        };
        let facts = facts_of(&bad, TokenKind::Unknown);
        assert_eq!(facts.expiry, None);
        assert_eq!(facts.kind, Some(TokenKind::GitlabPersonal));
        assert!(
            facts.notes[0].contains("soon\\u{1b}[2J"),
            "{:?}",
            facts.notes
        );
    }
}
