//! The Hugging Face Hub: `GET /api/whoami-v2` with the token as a bearer
//! token names the account (`name`) and describes the token
//! (`auth.accessToken`: its `displayName`, its `role` (`read`, `write` or
//! `fineGrained`) and, when one was set, its `expiration`), as the Hub's
//! own clients (huggingface_hub, huggingface.js) read it. The role is kept
//! as the token's scopes.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::http::{Api, Auth};
use super::{Facts, Login, ProbeError, quote, read_json, refused_or_unexpected};
use crate::credential::TokenKind;
use crate::record::Expiry;

const FORGE: &str = "Hugging Face";

#[derive(Deserialize)]
struct WhoAmI {
    name: String,
    #[serde(default)]
    auth: Option<AuthInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthInfo {
    #[serde(default)]
    access_token: Option<AccessToken>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessToken {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    expiration: Option<String>,
}

pub fn probe(api: &Api, login: &Login) -> Result<Facts, ProbeError> {
    let response = api.get_as("/whoami-v2", login.token, Auth::Bearer)?;
    if response.status != 200 {
        return Err(refused_or_unexpected(FORGE, &response));
    }
    let who: WhoAmI = read_json(FORGE, "/whoami-v2", &response.body)?;
    Ok(facts_of(&who, login.kind))
}

fn facts_of(who: &WhoAmI, kind: TokenKind) -> Facts {
    let token = who.auth.as_ref().and_then(|a| a.access_token.as_ref());
    let mut facts = Facts {
        account: Some(quote(&who.name)),
        token_name: token.and_then(|t| t.display_name.as_deref()).map(quote),
        scopes: token
            .and_then(|t| t.role.as_deref())
            .map(|role| vec![quote(role)]),
        kind: (kind == TokenKind::Unknown).then_some(TokenKind::Huggingface),
        ..Facts::default()
    };
    facts.expiry = match token.map(|t| t.expiration.as_deref()) {
        // The Hub says nothing of a token it did not describe.
        None => None,
        Some(None) => Some(Expiry::Never),
        Some(Some(text)) => match DateTime::parse_from_rfc3339(text.trim()) {
            Ok(at) => Some(Expiry::At(at.with_timezone(&Utc))),
            Err(_) => {
                facts.notes.push(format!(
                    "Hugging Face sent an expiry that could not be read: {}",
                    quote(text)
                ));
                None
            }
        },
    };
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_described_under_auth() {
        let who: WhoAmI = serde_json::from_str(
            r#"{"type":"user","name":"alice","auth":{"type":"access_token",
                "accessToken":{"displayName":"laptop","role":"write",
                "expiration":"2027-01-31T00:00:00.000Z"}}}"#,
        )
        .unwrap();
        let facts = facts_of(&who, TokenKind::Huggingface);
        assert_eq!(facts.account.as_deref(), Some("alice"));
        assert_eq!(facts.token_name.as_deref(), Some("laptop"));
        assert_eq!(facts.scopes, Some(vec!["write".to_owned()]));
        assert_eq!(
            facts.expiry,
            Some(Expiry::At("2027-01-31T00:00:00Z".parse().unwrap()))
        );
        let never: WhoAmI = serde_json::from_str(
            r#"{"name":"alice","auth":{"accessToken":{"displayName":"x","role":"read"}}}"#,
        )
        .unwrap();
        assert_eq!(
            facts_of(&never, TokenKind::Unknown).expiry,
            Some(Expiry::Never)
        );
        let bare: WhoAmI = serde_json::from_str(r#"{"name":"alice"}"#).unwrap();
        assert_eq!(facts_of(&bare, TokenKind::Unknown).expiry, None);
    }
}
