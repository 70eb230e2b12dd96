//! Gerrit: `GET /a/accounts/self` with the user name and the token in Basic
//! authentication names the account. Gerrit 3.12 and later keep several
//! authentication tokens per account, each with an optional lifetime, and
//! list them at `GET /a/accounts/self/tokens` (`id`, `expiration`); an
//! older server has one HTTP password, which never expires, and answers
//! that listing 404. The listing does not say which token made the
//! request, so an expiry is learnt only where it cannot be another's: the
//! account has one token, or none of its tokens expires.
//!
//! Every JSON answer starts with `)]}'` (Gerrit's guard against cross-site
//! script inclusion), which is cut before reading.

use chrono::{NaiveDateTime, Utc};
use serde::Deserialize;

use super::http::{Api, Auth};
use super::{Facts, Login, ProbeError, quote, read_json, refused_or_unexpected};
use crate::credential::TokenKind;
use crate::record::Expiry;

const FORGE: &str = "Gerrit";
const GUARD: &[u8] = b")]}'";

pub fn probe(api: &Api, login: &Login) -> Result<Facts, ProbeError> {
    #[derive(Deserialize)]
    struct Account {
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        name: Option<String>,
    }
    let user = login.api_user.unwrap_or(login.username);
    if user.is_empty() {
        return Err(ProbeError::CannotAsk {
            forge: FORGE,
            reason: "Gerrit takes a token only with its account's user name, and none is \
                     stored with it"
                .into(),
        });
    }
    let auth = Auth::Basic { user };
    let response = api.get_as("/a/accounts/self", login.token, auth)?;
    if response.status != 200 {
        return Err(refused_or_unexpected(FORGE, &response));
    }
    let account: Account = read_json(FORGE, "/a/accounts/self", unguarded(&response.body))?;
    let mut facts = Facts {
        account: account.username.or(account.name).as_deref().map(quote),
        kind: (login.kind == TokenKind::Unknown).then_some(TokenKind::Gerrit),
        ..Facts::default()
    };
    let listed = api.get_as("/a/accounts/self/tokens", login.token, auth)?;
    match listed.status {
        200 => {
            let tokens: Vec<TokenInfo> =
                read_json(FORGE, "/a/accounts/self/tokens", unguarded(&listed.body))?;
            facts.expiry = expiry_of(&tokens, &mut facts.notes);
        }
        // No tokens API: the account's one HTTP password, which never
        // expires.
        404 | 405 => {
            facts.expiry = Some(Expiry::Never);
            facts.notes.push(
                "this Gerrit has HTTP passwords, which never expire; to be reminded to \
                 replace it, set `patrol.rotateAfter` for this URL (such as '90 days')"
                    .into(),
            );
        }
        _ => facts.notes.push(format!(
            "Gerrit did not list the account's tokens ({}), so the expiry is unknown",
            listed.status
        )),
    }
    Ok(facts)
}

#[derive(Deserialize)]
struct TokenInfo {
    #[serde(default)]
    expiration: Option<String>,
}

/// The body without Gerrit's `)]}'` line.
fn unguarded(body: &[u8]) -> &[u8] {
    body.strip_prefix(GUARD).unwrap_or(body)
}

/// The expiry that is surely this token's, from the account's tokens.
fn expiry_of(tokens: &[TokenInfo], notes: &mut Vec<String>) -> Option<Expiry> {
    if tokens.iter().all(|t| t.expiration.is_none()) {
        return Some(Expiry::Never);
    }
    if tokens.len() > 1 {
        notes.push(format!(
            "the account has {} tokens and Gerrit does not say which one this is, so its \
             expiry is unknown",
            tokens.len()
        ));
        return None;
    }
    let text = tokens[0].expiration.as_deref()?;
    match parse_timestamp(text) {
        Some(at) => Some(Expiry::At(at)),
        None => {
            notes.push(format!(
                "Gerrit sent an expiry that could not be read: {}",
                quote(text)
            ));
            None
        }
    }
}

/// Gerrit's timestamps: `2026-06-01 14:30:00.000000000`, in UTC.
fn parse_timestamp(text: &str) -> Option<chrono::DateTime<Utc>> {
    let text = text.trim();
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|at| at.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expiration: Option<&str>) -> TokenInfo {
        TokenInfo {
            expiration: expiration.map(str::to_owned),
        }
    }

    #[test]
    fn only_an_expiry_that_is_surely_this_tokens_is_learnt() {
        let mut notes = Vec::new();
        assert_eq!(
            expiry_of(&[token(Some("2026-06-01 14:30:00.000000000"))], &mut notes),
            Some(Expiry::At("2026-06-01T14:30:00Z".parse().unwrap()))
        );
        assert_eq!(
            expiry_of(&[token(None), token(None)], &mut notes),
            Some(Expiry::Never)
        );
        assert!(notes.is_empty());
        assert_eq!(
            expiry_of(
                &[token(None), token(Some("2026-06-01 14:30:00"))],
                &mut notes
            ),
            None
        );
        assert!(notes[0].contains("2 tokens"), "{notes:?}");
        assert_eq!(unguarded(b")]}'\n{}"), b"\n{}");
    }
}
