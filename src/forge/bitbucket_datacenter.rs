//! Bitbucket Data Center (and Server): an HTTP access token goes as a
//! bearer token to any REST resource, and every answer names the account in
//! `X-AUSERNAME`; `GET /rest/api/1.0/application-properties` is asked, the
//! smallest. `GET /rest/access-tokens/1.0/users/SLUG` then lists that
//! user's tokens with their permissions, creation date and lifetime
//! (`expiryDays`), where the token may call it. Which entry is this token
//! comes from the token itself, which carries its id before a `:` under
//! base64; where that cannot be read, a list of one is taken as this
//! token's, and a longer one teaches nothing.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::http::{Api, Auth};
use super::{Facts, Login, ProbeError, quote, read_json, refused_or_unexpected};
use crate::credential::TokenKind;
use crate::record::Expiry;

const FORGE: &str = "Bitbucket Data Center";

pub fn probe(api: &Api, login: &Login) -> Result<Facts, ProbeError> {
    let response = api.get_as(
        "/rest/api/1.0/application-properties",
        login.token,
        Auth::Bearer,
    )?;
    if response.status != 200 {
        return Err(refused_or_unexpected(FORGE, &response));
    }
    let mut facts = Facts {
        account: response.header("x-ausername").map(quote),
        kind: (login.kind == TokenKind::Unknown).then_some(TokenKind::BitbucketDatacenter),
        ..Facts::default()
    };
    let Some(slug) = response.header("x-ausername").and_then(slug_of) else {
        facts
            .notes
            .push("Bitbucket did not name the token's user, so its expiry is unknown".into());
        return Ok(facts);
    };
    let listed = api.get_as(
        &format!("/rest/access-tokens/1.0/users/{slug}"),
        login.token,
        Auth::Bearer,
    )?;
    if listed.status != 200 {
        facts.notes.push(format!(
            "the token may not list its user's tokens ({}), so its expiry and permissions \
             are unknown",
            listed.status
        ));
        return Ok(facts);
    }
    let page: Page = read_json(FORGE, "/rest/access-tokens/1.0/users", &listed.body)?;
    let id = token_id(login.token.expose());
    let ours = match id {
        Some(id) => page.values.iter().find(|t| t.id_text() == id),
        None if page.values.len() == 1 => page.values.first(),
        None => None,
    };
    match ours {
        Some(token) => {
            facts.expiry = token.expiry();
            facts.scopes = Some(
                token
                    .permissions
                    .iter()
                    .take(20)
                    .map(|p| quote(p))
                    .collect(),
            );
            facts.token_name = token.name.as_deref().map(quote);
        }
        None => facts.notes.push(
            "Bitbucket's list of tokens does not show which one this is, so its expiry is \
             unknown"
                .into(),
        ),
    }
    Ok(facts)
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    values: Vec<AccessToken>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessToken {
    id: serde_json::Value,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    created_date: Option<i64>,
    #[serde(default)]
    expiry_days: Option<i64>,
    /// Milliseconds since the epoch, where the server says it outright.
    #[serde(default)]
    expiry_date: Option<i64>,
}

impl AccessToken {
    /// The id, which servers send as a string or a number.
    fn id_text(&self) -> String {
        match &self.id {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }

    /// `expiryDate`, else `createdDate` plus `expiryDays`; neither: never.
    fn expiry(&self) -> Option<Expiry> {
        let at = DateTime::<Utc>::from_timestamp_millis;
        match (self.expiry_date, self.created_date, self.expiry_days) {
            (Some(ms), _, _) => at(ms).map(Expiry::At),
            (None, Some(created), Some(days)) if days > 0 => {
                Some(Expiry::At(at(created)? + TimeDelta::try_days(days)?))
            }
            (None, _, None) => Some(Expiry::Never),
            _ => None,
        }
    }
}

/// A user name as it may stand in the path: Bitbucket's slugs are
/// lowercase, and anything outside them is not sent at all.
fn slug_of(name: &str) -> Option<String> {
    let slug = name.to_ascii_lowercase();
    let valid = !slug.is_empty()
        && slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && slug != "."
        && slug != "..";
    valid.then_some(slug)
}

/// The id a token carries: under base64, the digits before a `:`.
fn token_id(token: &str) -> Option<String> {
    let decoded = decode_base64(token.strip_prefix("BBDC-").unwrap_or(token))?;
    let end = decoded.iter().position(|b| *b == b':')?;
    let id = std::str::from_utf8(&decoded[..end]).ok()?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_owned())
}

/// Standard base64, padding optional; `None` for anything else. The whole
/// token is decoded (only the id before its `:` is kept), into a buffer
/// sized first and wiped when dropped.
fn decode_base64(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut out = Zeroizing::new(Vec::with_capacity(base64::decoded_len_estimate(text.len())));
    LENIENT.decode_vec(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_carries_its_id() {
        // base64("123456789012:TESTsecret")
        assert_eq!(
            token_id("MTIzNDU2Nzg5MDEyOlRFU1RzZWNyZXQ=").as_deref(),
            Some("123456789012")
        );
        assert_eq!(token_id("not base64!"), None);
        // base64("abc:def"): not digits.
        assert_eq!(token_id("YWJjOmRlZg=="), None);
    }

    #[test]
    fn expiry_from_the_date_or_the_lifetime() {
        let token = |created, days, date| AccessToken {
            id: serde_json::json!("1"),
            name: None,
            permissions: Vec::new(),
            created_date: created,
            expiry_days: days,
            expiry_date: date,
        };
        let day = 86_400_000;
        assert_eq!(
            token(Some(0), Some(90), None).expiry(),
            Some(Expiry::At("1970-04-01T00:00:00Z".parse().unwrap()))
        );
        assert_eq!(
            token(Some(0), Some(90), Some(day)).expiry(),
            Some(Expiry::At("1970-01-02T00:00:00Z".parse().unwrap()))
        );
        assert_eq!(token(Some(0), None, None).expiry(), Some(Expiry::Never));
        assert_eq!(slug_of("Alice.B"), Some("alice.b".into()));
        assert_eq!(slug_of("a/b"), None);
    }
}
