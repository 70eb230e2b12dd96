//! From what a forge said to what a person should do: every problem `check`
//! reports has a stable code, a cause and a fix, worded the way the forges'
//! own messages and the token guides word them, so that the text a person
//! pastes into a search engine finds the same advice.
//!
//! Pure: answers go in, problems and notes come out.

use serde::Serialize;

use super::github::{GraphqlAnswer, RepoAccess};
use super::http::HttpError;
use super::{ProbeError, Repo};
use crate::config::ForgeKind;
use crate::credential::TokenKind;

/// One thing wrong with a credential, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Stable, for scripts: `bad-credentials`, `missing-scope`, ….
    pub code: &'static str,
    pub cause: String,
    pub fix: String,
}

/// The credential a diagnosis is about, as far as the fixes need it.
pub struct Subject<'a> {
    pub forge: ForgeKind,
    pub kind: TokenKind,
    /// Where a new token is created, when known.
    pub token_page: Option<&'a str>,
    /// The `git credential-patrol rotate …` command for this credential.
    pub rotate: &'a str,
}

impl Subject<'_> {
    fn create_then_rotate(&self) -> String {
        match self.token_page {
            Some(page) => format!("create a new token at {page}, then run: {}", self.rotate),
            None => format!("create a new token, then run: {}", self.rotate),
        }
    }

    fn page(&self) -> String {
        self.token_page
            .map(|page| format!(" at {page}"))
            .unwrap_or_default()
    }

    fn fine_grained(&self) -> bool {
        self.kind == TokenKind::GithubFineGrained
    }
}

/// The forge refused the token ("Bad credentials", 401).
pub fn bad_credentials(subject: &Subject, message: &str) -> Problem {
    Problem {
        code: "bad-credentials",
        cause: format!(
            "{} answered \"{message}\": the token is invalid, expired or revoked",
            super::forge_name(subject.forge)
        ),
        fix: subject.create_then_rotate(),
    }
}

/// The probe got no usable answer.
pub fn probe_failed(subject: &Subject, err: &ProbeError) -> Problem {
    match err {
        ProbeError::Rejected { message, .. } => bad_credentials(subject, message),
        ProbeError::Http(HttpError::Timeout { .. } | HttpError::Connect { .. }) => Problem {
            code: "forge-unreachable",
            cause: err.to_string(),
            fix: "check the network and any proxy (HTTPS_PROXY), and `patrol.apiUrl` \
                  if it is set; then run check again"
                .into(),
        },
        ProbeError::Http(HttpError::NotAllowed { .. }) => Problem {
            code: "api-url-refused",
            cause: err.to_string(),
            fix: "set `patrol.apiUrl` for this host to the forge's https:// API URL, or unset \
                  it to use the default"
                .into(),
        },
        ProbeError::Refused {
            status, message, ..
        } if *status == 429 || message.to_ascii_lowercase().contains("rate limit") => Problem {
            code: "rate-limited",
            cause: err.to_string(),
            fix: "the forge limits how often it may be asked; try again later".into(),
        },
        ProbeError::Refused { status, .. } if *status >= 500 => Problem {
            code: "forge-error",
            cause: err.to_string(),
            fix: "the forge failed to answer; try again later".into(),
        },
        ProbeError::Refused { status: 403, .. } if subject.forge == ForgeKind::Gitlab => Problem {
            code: "insufficient-scope",
            cause: err.to_string(),
            fix: format!(
                "GitLab describes a token only to itself with the `read_api` or `api` scope; \
                 without one, set the expiry by hand: git credential-patrol expiry URL DATE \
                 (or create a token with `read_api`{}, then run: {})",
                subject.page(),
                subject.rotate
            ),
        },
        ProbeError::Http(_)
        | ProbeError::Refused { .. }
        | ProbeError::Redirected { .. }
        | ProbeError::Unreadable { .. } => Problem {
            code: "unexpected-answer",
            cause: err.to_string(),
            fix: "check `patrol.apiUrl` and `patrol.forge` for this host \
                  (`git config --get-urlmatch patrol URL`); then run check again"
                .into(),
        },
    }
}

/// Scopes `patrol.requiredScopes` asks for that the token lacks.
pub fn missing_required_scopes(
    subject: &Subject,
    required: &[String],
    scopes: Option<&[String]>,
) -> Option<Problem> {
    let missing: Vec<&str> = required
        .iter()
        .filter(|want| !scopes.is_some_and(|have| have.iter().any(|s| s == *want)))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let missing = missing.join(", ");
    Some(match scopes {
        Some(_) => Problem {
            code: "missing-scope",
            cause: format!("the token lacks the scopes patrol.requiredScopes asks for: {missing}"),
            fix: format!(
                "add {missing} to the token{} (a classic token's scopes can be edited), \
                 or create a new token with them, then run: {}",
                subject.page(),
                subject.rotate
            ),
        },
        None => Problem {
            code: "missing-scope",
            cause: format!(
                "patrol.requiredScopes asks for {missing}, but this token has no scopes{}",
                if subject.fine_grained() {
                    " (fine-grained: permissions per repository)"
                } else {
                    ""
                }
            ),
            fix: format!(
                "create a classic token with {missing}{}, then run: {}; or remove \
                 patrol.requiredScopes for this host",
                subject.page(),
                subject.rotate
            ),
        },
    })
}

/// What `GET /repos/OWNER/NAME` means for the person, as a short line for
/// "reaches" and a problem when the repository is out of reach.
pub fn repository(
    subject: &Subject,
    repo: &Repo,
    access: &RepoAccess,
) -> (String, Option<Problem>) {
    match access {
        RepoAccess::Reachable { permissions } => {
            let line = if permissions.is_empty() {
                format!("{repo} (visible)")
            } else {
                format!("{repo} ({})", permissions.join(", "))
            };
            (line, None)
        }
        RepoAccess::Rejected { message } => (
            format!("{repo}: not reachable"),
            Some(bad_credentials(subject, message)),
        ),
        RepoAccess::NotFound if subject.fine_grained() => (
            format!("{repo}: not visible"),
            Some(Problem {
                code: "repository-not-visible",
                cause: format!(
                    "GitHub answers \"Not Found\" for {repo}: a fine-grained token sees only \
                     the repositories of the one resource owner it was created for"
                ),
                fix: format!(
                    "if {owner} is an organization, the token may be pending approval by the \
                     organization's owners (ask them to approve it), or it was created for the \
                     wrong resource owner: create a fine-grained token with {owner} as resource \
                     owner and access to {repo}{page}, then run: {rotate}",
                    owner = repo.owner,
                    page = subject.page(),
                    rotate = subject.rotate
                ),
            }),
        ),
        RepoAccess::NotFound => (
            format!("{repo}: not found"),
            Some(Problem {
                code: "repository-not-found",
                cause: format!(
                    "GitHub answers \"Not Found\" for {repo}: it does not exist, or this token \
                     may not see it"
                ),
                fix: "check the name; a private repository needs a classic token with the \
                      `repo` scope and an account with access to it"
                    .into(),
            }),
        ),
        RepoAccess::Forbidden { sso: Some(sso), .. } => (
            format!("{repo}: refused (SAML single sign-on)"),
            Some(Problem {
                code: "sso-required",
                cause: format!(
                    "the organization {} enforces SAML single sign-on, and this token is not \
                     authorized for it",
                    repo.owner
                ),
                fix: match sso_url(sso) {
                    Some(url) => format!("authorize the token for the organization: {url}"),
                    None => format!(
                        "authorize the token for the organization{} (Configure SSO)",
                        subject.page()
                    ),
                },
            }),
        ),
        RepoAccess::Forbidden {
            message,
            accepted_scopes,
            accepted_permissions,
            sso: None,
        } => {
            let needed = match (
                accepted_permissions.as_deref().filter(|p| !p.is_empty()),
                accepted_scopes.as_deref().filter(|s| !s.is_empty()),
            ) {
                (Some(permissions), _) if subject.fine_grained() || accepted_scopes.is_none() => {
                    format!("the permission {permissions}")
                }
                (_, Some(scopes)) => format!("one of the scopes {scopes}"),
                (Some(permissions), None) => format!("the permission {permissions}"),
                (None, None) if subject.fine_grained() => {
                    format!("access to {repo} with at least the Contents permission")
                }
                (None, None) => "the `repo` scope".into(),
            };
            (
                format!("{repo}: refused"),
                Some(Problem {
                    code: "missing-permission",
                    cause: format!(
                        "GitHub answers \"{message}\" for {repo}: the token lacks {needed}"
                    ),
                    fix: format!(
                        "give the token {needed}{}, or create a new one with it, then run: {}",
                        subject.page(),
                        subject.rotate
                    ),
                }),
            )
        }
    }
}

/// `x-github-sso: required; url=https://github.com/orgs/ORG/sso?…`.
fn sso_url(header: &str) -> Option<&str> {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("url="))
        .filter(|url| url.starts_with("https://"))
}

/// What the GraphQL query's answer means.
pub fn graphql(subject: &Subject, answer: &GraphqlAnswer) -> Option<Problem> {
    let errors = match answer {
        GraphqlAnswer::Ok => return None,
        GraphqlAnswer::Rejected { message } => return Some(bad_credentials(subject, message)),
        GraphqlAnswer::Errors(errors) => errors,
    };
    let (kind, message) = errors.first()?;
    let mentions_read_org = errors.iter().any(|(_, m)| m.contains("read:org"));
    if mentions_read_org {
        return Some(Problem {
            code: "graphql-read-org",
            cause: format!(
                "GitHub's GraphQL API refuses organization data: \"{message}\": a classic \
                 token without the `read:org` scope"
            ),
            fix: format!(
                "add `read:org` to the token{} (the GitHub CLI needs it), or create a new \
                 token with it, then run: {}",
                subject.page(),
                subject.rotate
            ),
        });
    }
    let insufficient = kind.as_deref() == Some("INSUFFICIENT_SCOPES");
    Some(Problem {
        code: if insufficient {
            "graphql-scope"
        } else {
            "graphql-error"
        },
        cause: format!("GitHub's GraphQL API answers \"{message}\""),
        fix: if insufficient {
            format!(
                "add the scope the message names to the token{}, then run: {}",
                subject.page(),
                subject.rotate
            )
        } else {
            "tools that use GraphQL (the GitHub CLI) will fail the same way; the message \
             names what is missing"
                .into()
        },
    })
}

/// Lines about what a token's scopes allow, for the usual surprises: the
/// push that changes a workflow, the package that will not publish.
pub fn scope_notes(kind: TokenKind, forge: ForgeKind, scopes: Option<&[String]>) -> Vec<String> {
    let has = |scope: &str| scopes.is_some_and(|s| s.iter().any(|have| have == scope));
    let mut notes = Vec::new();
    match (forge, scopes) {
        (ForgeKind::Github, None) if kind == TokenKind::GithubFineGrained => {
            notes.push("fine-grained: permissions per repository".into());
        }
        (ForgeKind::Github, Some(_)) => {
            if !has("workflow") {
                notes.push(
                    "without the `workflow` scope, a push that changes .github/workflows is \
                     refused (\"refusing to allow a Personal Access Token to create or update \
                     workflow\")"
                        .into(),
                );
            }
            if !has("write:packages") {
                notes.push(
                    "without the `write:packages` scope, publishing packages (ghcr.io, npm, \
                     Maven) is refused"
                        .into(),
                );
            }
        }
        (ForgeKind::Gitlab, Some(_)) => {
            if !has("write_repository") && !has("api") {
                notes.push(
                    "without `write_repository` (or `api`), git push is refused; the token \
                     can only fetch"
                        .into(),
                );
            }
            if !has("api") {
                notes.push(
                    "without the `api` (or `self_rotate`) scope, GitLab will not rotate the \
                     token in one step; `rotate --manual` still works"
                        .into(),
                );
            }
        }
        _ => {}
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject(kind: TokenKind) -> Subject<'static> {
        Subject {
            forge: ForgeKind::Github,
            kind,
            token_page: Some("https://github.com/settings/tokens"),
            rotate: "git credential-patrol rotate https://github.com --user alice",
        }
    }

    fn repo() -> Repo {
        "octo-org/hello".parse().unwrap()
    }

    #[test]
    fn bad_credentials_means_create_then_rotate() {
        let problem = bad_credentials(&subject(TokenKind::GithubClassic), "Bad credentials");
        assert_eq!(problem.code, "bad-credentials");
        assert!(problem.cause.contains("\"Bad credentials\""));
        assert!(problem.cause.contains("invalid, expired or revoked"));
        assert_eq!(
            problem.fix,
            "create a new token at https://github.com/settings/tokens, then run: \
             git credential-patrol rotate https://github.com --user alice"
        );
    }

    #[test]
    fn resource_not_accessible_names_the_missing_permission() {
        let access = RepoAccess::Forbidden {
            message: "Resource not accessible by personal access token".into(),
            accepted_scopes: None,
            accepted_permissions: Some("contents=read".into()),
            sso: None,
        };
        let (line, problem) = repository(&subject(TokenKind::GithubFineGrained), &repo(), &access);
        assert_eq!(line, "octo-org/hello: refused");
        let problem = problem.unwrap();
        assert_eq!(problem.code, "missing-permission");
        assert!(
            problem
                .cause
                .contains("Resource not accessible by personal access token")
        );
        assert!(
            problem.fix.contains("the permission contents=read"),
            "{}",
            problem.fix
        );

        let classic = RepoAccess::Forbidden {
            message: "Resource not accessible by personal access token".into(),
            accepted_scopes: Some("repo".into()),
            accepted_permissions: Some("".into()),
            sso: None,
        };
        let (_, problem) = repository(&subject(TokenKind::GithubClassic), &repo(), &classic);
        assert!(problem.unwrap().fix.contains("one of the scopes repo"));
    }

    #[test]
    fn an_invisible_org_repository_for_a_fine_grained_token() {
        let (line, problem) = repository(
            &subject(TokenKind::GithubFineGrained),
            &repo(),
            &RepoAccess::NotFound,
        );
        assert_eq!(line, "octo-org/hello: not visible");
        let problem = problem.unwrap();
        assert_eq!(problem.code, "repository-not-visible");
        assert!(
            problem
                .fix
                .contains("pending approval by the organization's owners")
        );
        assert!(problem.fix.contains("wrong resource owner"));
        let (_, classic) = repository(
            &subject(TokenKind::GithubClassic),
            &repo(),
            &RepoAccess::NotFound,
        );
        assert_eq!(classic.unwrap().code, "repository-not-found");
    }

    #[test]
    fn sso_enforcement_points_at_the_authorization_page() {
        let access = RepoAccess::Forbidden {
            message: "Resource protected by organization SAML enforcement.".into(),
            accepted_scopes: None,
            accepted_permissions: None,
            sso: Some(
                "required; url=https://github.com/orgs/octo-org/sso?authorization_request=X".into(),
            ),
        };
        let (_, problem) = repository(&subject(TokenKind::GithubClassic), &repo(), &access);
        let problem = problem.unwrap();
        assert_eq!(problem.code, "sso-required");
        assert!(
            problem
                .fix
                .ends_with("https://github.com/orgs/octo-org/sso?authorization_request=X")
        );
    }

    #[test]
    fn reachable_repositories_show_permissions() {
        let access = RepoAccess::Reachable {
            permissions: vec!["push".into(), "pull".into()],
        };
        let (line, problem) = repository(&subject(TokenKind::GithubClassic), &repo(), &access);
        assert_eq!(line, "octo-org/hello (push, pull)");
        assert_eq!(problem, None);
    }

    #[test]
    fn graphql_organization_errors_mean_read_org() {
        let answer = GraphqlAnswer::Errors(vec![(
            Some("INSUFFICIENT_SCOPES".into()),
            "Your token has not been granted the required scopes to execute this query. The \
             'login' field requires one of the following scopes: ['read:org']"
                .into(),
        )]);
        let problem = graphql(&subject(TokenKind::GithubClassic), &answer).unwrap();
        assert_eq!(problem.code, "graphql-read-org");
        assert!(problem.fix.contains("add `read:org`"));
        assert_eq!(
            graphql(&subject(TokenKind::GithubClassic), &GraphqlAnswer::Ok),
            None
        );
        let other = GraphqlAnswer::Errors(vec![(None, "Something went wrong".into())]);
        assert_eq!(
            graphql(&subject(TokenKind::GithubClassic), &other)
                .unwrap()
                .code,
            "graphql-error"
        );
    }

    #[test]
    fn required_scopes_must_all_be_present() {
        let required = ["repo".to_owned(), "read:org".to_owned()];
        let have = ["repo".to_owned()];
        let problem =
            missing_required_scopes(&subject(TokenKind::GithubClassic), &required, Some(&have))
                .unwrap();
        assert_eq!(problem.code, "missing-scope");
        assert!(
            problem.cause.ends_with("asks for: read:org"),
            "{}",
            problem.cause
        );
        let all = ["read:org".to_owned(), "repo".to_owned()];
        assert_eq!(
            missing_required_scopes(&subject(TokenKind::GithubClassic), &required, Some(&all)),
            None
        );
        let fine = missing_required_scopes(&subject(TokenKind::GithubFineGrained), &required, None)
            .unwrap();
        assert!(
            fine.cause
                .contains("fine-grained: permissions per repository")
        );
        assert_eq!(
            missing_required_scopes(&subject(TokenKind::GithubClassic), &[], None),
            None
        );
    }

    #[test]
    fn scope_notes_name_workflow_and_packages() {
        let scopes = ["repo".to_owned()];
        let notes = scope_notes(TokenKind::GithubClassic, ForgeKind::Github, Some(&scopes));
        assert!(notes[0].contains("`workflow`"));
        assert!(notes[1].contains("`write:packages`"));
        let full = [
            "repo".to_owned(),
            "workflow".to_owned(),
            "write:packages".to_owned(),
        ];
        assert!(scope_notes(TokenKind::GithubClassic, ForgeKind::Github, Some(&full)).is_empty());
        assert_eq!(
            scope_notes(TokenKind::GithubFineGrained, ForgeKind::Github, None),
            ["fine-grained: permissions per repository"]
        );
    }

    #[test]
    fn failures_to_ask_name_the_network_or_the_configuration() {
        let timeout = ProbeError::Http(HttpError::Timeout {
            origin: "http://127.0.0.1:1".into(),
        });
        let problem = probe_failed(&subject(TokenKind::GithubClassic), &timeout);
        assert_eq!(problem.code, "forge-unreachable");
        assert!(problem.cause.contains("no answer from http://127.0.0.1:1"));
        let redirect = ProbeError::Redirected {
            forge: "GitHub",
            status: 302,
            location: "https://elsewhere.example.com/".into(),
        };
        assert_eq!(
            probe_failed(&subject(TokenKind::GithubClassic), &redirect).code,
            "unexpected-answer"
        );
        let outage = ProbeError::Refused {
            forge: "GitHub",
            status: 503,
            message: "an empty answer".into(),
        };
        assert_eq!(
            probe_failed(&subject(TokenKind::GithubClassic), &outage).code,
            "forge-error"
        );
        let limited = ProbeError::Refused {
            forge: "GitHub",
            status: 403,
            message: "API rate limit exceeded for user ID 1.".into(),
        };
        assert_eq!(
            probe_failed(&subject(TokenKind::GithubClassic), &limited).code,
            "rate-limited"
        );
    }
}
