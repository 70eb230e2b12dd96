//! Bitbucket Cloud (bitbucket.org, API at `https://api.bitbucket.org/2.0`).
//! How a token is sent depends on its kind, and so does what can be asked:
//!
//! - an API token (`ATATT…`) goes in Basic authentication with the
//!   Atlassian account's email (git itself uses the Bitbucket user name or
//!   `x-bitbucket-api-token-auth`, which the API refuses): the email is
//!   git's user name where that is an email, else `patrol.<url>.apiUser`;
//! - an app password (`ATBB…`) goes in Basic authentication with the
//!   Bitbucket user name git stored;
//! - a repository, project or workspace access token (`ATCTT…`) goes as a
//!   bearer token, and `GET /user` refuses it ("not supported for this
//!   endpoint"), so `GET /repositories?pagelen=1` is asked instead.
//!
//! `GET /user` names the account; every answer carries the token's scopes
//! in `x-oauth-scopes` and its kind in `x-credential-type`. No answer tells
//! the expiry, which Atlassian sets at creation and shows only on its
//! pages: a person sets it with `expiry`, and `get` says so once.

use serde::Deserialize;

use super::http::{Api, Auth, Response};
use super::{Facts, Login, ProbeError, quote, read_json, refused_or_unexpected, unexpected};
use crate::credential::TokenKind;

const FORGE: &str = "Bitbucket";
/// The user name git sends with an access token.
const ACCESS_TOKEN_USER: &str = "x-token-auth";

/// How the token is sent, and whether a 401 surely means the token is bad
/// (rather than the form being wrong for a token of unknown kind).
struct Form<'a> {
    auth: Auth<'a>,
    path: &'static str,
    certain: bool,
}

fn form<'a>(login: &Login<'a>) -> Result<Form<'a>, ProbeError> {
    let email = login
        .api_user
        .or(Some(login.username).filter(|u| u.contains('@')));
    let access = Form {
        auth: Auth::Bearer,
        path: "/repositories?pagelen=1",
        certain: true,
    };
    let basic = |user, certain| Form {
        auth: Auth::Basic { user },
        path: "/user",
        certain,
    };
    Ok(match login.kind {
        TokenKind::BitbucketAccess => access,
        TokenKind::BitbucketApi => match email {
            Some(email) => basic(email, true),
            None => {
                return Err(ProbeError::CannotAsk {
                    forge: FORGE,
                    reason: "Bitbucket's API takes an API token only with the Atlassian \
                             account's email, and git stored a user name; name the email \
                             with `git config --global patrol.https://bitbucket.org.apiUser \
                             EMAIL`"
                        .into(),
                });
            }
        },
        TokenKind::BitbucketAppPassword if !login.username.is_empty() => {
            basic(login.username, true)
        }
        _ if login.username == ACCESS_TOKEN_USER => Form {
            certain: false,
            ..access
        },
        _ => match email {
            Some(email) => basic(email, false),
            None if !login.username.is_empty() => basic(login.username, false),
            None => {
                return Err(ProbeError::CannotAsk {
                    forge: FORGE,
                    reason: "no user name is stored with the token, and Bitbucket's API \
                             takes this kind of token only with one"
                        .into(),
                });
            }
        },
    })
}

pub fn probe(api: &Api, login: &Login) -> Result<Facts, ProbeError> {
    #[derive(Deserialize)]
    struct User {
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        display_name: Option<String>,
    }
    let form = form(login)?;
    let response = api.get_as(form.path, login.token, form.auth)?;
    match response.status {
        200 => {}
        401 if !form.certain => return Err(unexpected(FORGE, &response)),
        _ => return Err(refused_or_unexpected(FORGE, &response)),
    }
    let mut facts = Facts {
        scopes: response.header("x-oauth-scopes").map(split_scopes),
        // The prefix, where there is one, already said.
        kind: kind_of(&response).filter(|_| login.kind == TokenKind::Unknown),
        ..Facts::default()
    };
    if form.path == "/user" {
        let user: User = read_json(FORGE, "/user", &response.body)?;
        facts.account = user.username.or(user.display_name).as_deref().map(quote);
    }
    Ok(facts)
}

/// What `x-credential-type` says the token is.
fn kind_of(response: &Response) -> Option<TokenKind> {
    let credential = response.header("x-credential-type")?.to_ascii_lowercase();
    if credential.ends_with("access_token") {
        Some(TokenKind::BitbucketAccess)
    } else if credential.contains("app_password") {
        Some(TokenKind::BitbucketAppPassword)
    } else if credential.contains("api_token") {
        Some(TokenKind::BitbucketApi)
    } else {
        None
    }
}

/// `repository:write, pullrequest` (or separated by spaces) as a list.
fn split_scopes(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .filter(|s| !s.is_empty())
        .take(100)
        .map(quote)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Secret;

    fn login<'a>(token: &'a Secret, username: &'a str, api_user: Option<&'a str>) -> Login<'a> {
        Login {
            token,
            kind: TokenKind::of_token(token.expose()),
            username,
            api_user,
        }
    }

    #[test]
    fn each_kind_of_token_goes_in_its_own_form() {
        let api_token = Secret::new("ATATTTEST");
        let by_email = form(&login(&api_token, "alice@example.com", None)).unwrap();
        assert_eq!(
            by_email.auth,
            Auth::Basic {
                user: "alice@example.com"
            }
        );
        let configured = form(&login(&api_token, "alice", Some("a@example.com"))).unwrap();
        assert_eq!(
            configured.auth,
            Auth::Basic {
                user: "a@example.com"
            }
        );
        let refused = form(&login(&api_token, "x-bitbucket-api-token-auth", None));
        assert!(matches!(refused, Err(ProbeError::CannotAsk { .. })));

        let app = Secret::new("ATBBTEST");
        let app_form = form(&login(&app, "alice", None)).unwrap();
        assert_eq!(app_form.auth, Auth::Basic { user: "alice" });
        assert!(app_form.certain);

        let access = Secret::new("ATCTTTEST");
        let access_form = form(&login(&access, "x-token-auth", None)).unwrap();
        assert_eq!(access_form.auth, Auth::Bearer);
        assert_eq!(access_form.path, "/repositories?pagelen=1");

        let unknown = Secret::new("hunter2");
        assert!(!form(&login(&unknown, "alice", None)).unwrap().certain);
        assert!(
            !form(&login(&unknown, "x-token-auth", None))
                .unwrap()
                .certain
        );
    }

    #[test]
    fn scopes_are_split() {
        assert_eq!(
            split_scopes("repository:write, pullrequest"),
            ["repository:write", "pullrequest"]
        );
    }
}
