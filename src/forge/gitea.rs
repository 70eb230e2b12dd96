//! Gitea and Forgejo (Codeberg): `GET /api/v1/user` with the token in
//! Gitea's own `Authorization: token …` form names the account. Their
//! access tokens never expire, and what scopes a token has is listed only
//! to a request signed with the account's password, so neither is asked.
//! A token without the `read:user` scope is refused `/user` with a 403
//! that names the scope: it works, but its account stays unknown.

use serde::Deserialize;

use super::http::{Api, Auth};
use super::{Facts, Login, ProbeError, message_of, quote, read_json, refused_or_unexpected};
use crate::credential::TokenKind;
use crate::record::Expiry;

const FORGE: &str = "Gitea";

pub fn probe(api: &Api, login: &Login) -> Result<Facts, ProbeError> {
    #[derive(Deserialize)]
    struct User {
        login: String,
    }
    let response = api.get_as("/user", login.token, Auth::Token)?;
    let mut facts = Facts {
        expiry: Some(Expiry::Never),
        kind: (login.kind == TokenKind::Unknown).then_some(TokenKind::Gitea),
        ..Facts::default()
    };
    match response.status {
        200 => {
            let user: User = read_json(FORGE, "/user", &response.body)?;
            facts.account = Some(quote(&user.login));
        }
        403 if message_of(&response).is_some_and(|m| m.contains("required scope")) => {
            facts.notes.push(
                "the token has no `read:user` scope, so Gitea does not say whose it is".into(),
            );
        }
        _ => return Err(refused_or_unexpected(FORGE, &response)),
    }
    Ok(facts)
}
