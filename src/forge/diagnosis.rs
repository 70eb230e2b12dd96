//! From what a forge said to what a person should do: every problem `check`
//! reports has a stable code, a cause and a fix, worded the way the forges'
//! own messages and the token guides word them, so that the text a person
//! pastes into a search engine finds the same advice.
//!
//! Pure: answers go in, problems and notes come out.

use serde::Serialize;

use super::github::{GraphqlAnswer, RepoAccess};
use super::http::HttpError;
use super::tokens::{self, Editable, Row};
use super::{ProbeError, Repo};
use super::{pages, scopes};
use crate::credential::{ForgeKind, Target, TokenKind};

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
    pub target: &'a Target,
    pub forge: ForgeKind,
    pub kind: TokenKind,
    /// The token's scopes, when the forge said.
    pub scopes: Option<&'a [String]>,
    /// Its name on the forge (GitLab), so that the new one is named alike.
    pub token_name: Option<&'a str>,
    /// `patrol.requiredScopes`: a new token gets those its forge has
    /// preselected, beside the old token's own.
    pub required: &'a [String],
    /// The `git credential-patrol rotate …` command for this credential.
    pub rotate: &'a str,
    /// For a token checked from the environment (`check --token-env`):
    /// the variable, whose CI secret takes the new token instead.
    pub secret_env: Option<&'a str>,
}

/// Why a token needs replacing: what decides whether it can still renew
/// itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// Still works: a token that rotates itself can do so now.
    Expiring,
    /// Past its expiry: the forge may still regenerate it in place.
    Expired,
    /// Refused by the forge (revoked, or never valid): only a new one helps.
    Refused,
}

impl Subject<'_> {
    fn row(&self) -> &'static Row {
        tokens::row(self.forge, self.kind)
    }

    fn forge_name(&self) -> &'static str {
        super::forge_name(self.forge)
    }

    /// Where the new token goes: `rotate` (told that the person brings it,
    /// where it would otherwise ask the forge to rotate the old one), or the
    /// CI secret behind the variable a token was checked from.
    pub fn then_store(&self) -> String {
        match self.secret_env {
            Some(name) => format!(
                "put it in the CI secret that sets ${}",
                crate::terminal::escape(name)
            ),
            None if self.row().self_rotate.is_some() => {
                format!("run: {} --manual", self.rotate)
            }
            None => format!("run: {}", self.rotate),
        }
    }

    /// The scopes a replacement should have: the token's own, those
    /// `patrol.requiredScopes` asks of this forge, and `extra`.
    fn scopes_with(&self, extra: &[&str]) -> Vec<String> {
        let mut scopes: Vec<String> = self.scopes.unwrap_or_default().to_vec();
        let required = self
            .required
            .iter()
            .map(String::as_str)
            .filter(|name| scopes::has_scope(self.forge, name));
        for scope in required.chain(extra.iter().copied()) {
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_owned());
            }
        }
        scopes
    }

    /// "create a new classic token at URL": a token of `kind`, with the
    /// scopes given preselected where the page allows.
    fn create(&self, kind: TokenKind, scopes: &[String]) -> String {
        let kind = tokens::successor(self.forge, kind);
        let row = tokens::row(self.forge, kind);
        let name = self.token_name.unwrap_or("git");
        match pages::create_url(self.target, self.forge, kind, scopes, Some(name)) {
            Some(url) => format!("create a new {} at {url}", row.label),
            None => match pages::manage_url(self.target, self.forge, kind) {
                Some(url) => format!(
                    "sign in again with the application that issued this {} (its \
                     authorizations: {url})",
                    row.label
                ),
                None => format!("create a new {}", row.label),
            },
        }
    }

    /// The fix for a token that must be replaced, built from what its
    /// forge allows for its kind.
    pub fn renew(&self, why: Renewal) -> String {
        let row = self.row();
        let rotates_itself = row.self_rotate.is_some_and(|needs| {
            needs
                .iter()
                .any(|need| self.scopes.unwrap_or_default().iter().any(|s| s == need))
        });
        if why == Renewal::Expiring && rotates_itself && self.secret_env.is_none() {
            return format!(
                "run: {} ({} replaces the token in one call; the new one keeps its scopes)",
                self.rotate,
                self.forge_name()
            );
        }
        let new = self.create(self.kind, &self.scopes_with(&[]));
        match pages::manage_url(self.target, self.forge, self.kind) {
            Some(manage) if row.regenerate && why != Renewal::Refused => format!(
                "regenerate it at {manage} (it keeps its {}), or {new}; then {}",
                if row.scoped { "scopes" } else { "permissions" },
                self.then_store()
            ),
            _ => format!("{new}, then {}", self.then_store()),
        }
    }

    /// The fix for scopes the token lacks.
    pub fn add_scopes(&self, missing: &[&str]) -> String {
        let row = self.row();
        let list = missing.join(", ");
        let manage = pages::manage_url(self.target, self.forge, self.kind);
        match (row.editable, manage) {
            (Editable::Scopes, Some(manage)) => format!(
                "add {list} to the token at {manage} (a {}'s scopes can be edited; the token \
                 itself stays the same)",
                row.label
            ),
            _ if row.scoped => format!(
                "{} cannot add scopes to an existing {}: {} with {}, then {}",
                self.forge_name(),
                row.label,
                self.create(self.kind, &self.scopes_with(missing)),
                self.scopes_with(missing).join(", "),
                self.then_store()
            ),
            _ => match tokens::scoped_kind(self.forge) {
                Some(scoped) => format!(
                    "a {} has no scopes: {} with {list}, then {}; or set \
                     patrol.requiredScopes only for the URLs that need them",
                    row.label,
                    self.create(
                        scoped,
                        &missing.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
                    ),
                    self.then_store()
                ),
                None => format!("create a new token with {list}, then {}", self.then_store()),
            },
        }
    }

    /// The fix for a permission (fine-grained) or scopes (classic) that
    /// GitHub names as missing for a repository.
    fn grant(&self, needed: &str, scopes: Option<&str>) -> String {
        let row = self.row();
        let manage = pages::manage_url(self.target, self.forge, self.kind);
        match (row.editable, manage, scopes) {
            (Editable::Permissions, Some(manage), _) => format!(
                "give the token {needed} at {manage} (a {}'s repositories and permissions \
                 can be edited)",
                row.label
            ),
            (_, _, Some(scopes)) => {
                let first: Vec<&str> = scopes.split(',').map(str::trim).take(1).collect();
                self.add_scopes(&first)
            }
            _ => format!(
                "{} with {needed}, then {}",
                self.create(self.kind, &self.scopes_with(&[])),
                self.then_store()
            ),
        }
    }

    fn page(&self) -> String {
        pages::manage_url(self.target, self.forge, self.kind)
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
            subject.forge_name()
        ),
        fix: subject.renew(Renewal::Refused),
    }
}

/// The probe got no usable answer.
pub fn probe_failed(subject: &Subject, err: &ProbeError) -> Problem {
    match err {
        ProbeError::Rejected { message, .. } => bad_credentials(subject, message),
        ProbeError::Http(
            HttpError::Timeout { .. } | HttpError::Skipped { .. } | HttpError::Connect { .. },
        ) => Problem {
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
                 (or {})",
                subject.add_scopes(&["read_api"])
            ),
        },
        ProbeError::CannotAsk { reason, .. } => Problem {
            code: "cannot-ask",
            cause: err.to_string(),
            fix: format!(
                "{reason}; or set the expiry by hand: git credential-patrol expiry {} DATE",
                crate::terminal::escape(&crate::output::shell_word(&subject.target.url()))
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

/// The names in `patrol.requiredScopes` that the credential's forge does
/// not have: a mistake in the configuration, never the token's.
pub fn foreign_scopes(forge: ForgeKind, required: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|name| !scopes::has_scope(forge, name))
        .cloned()
        .collect()
}

/// Scopes `patrol.requiredScopes` asks for that the token lacks, among the
/// names its forge has (see `foreign_scopes` for the others).
pub fn missing_required_scopes(subject: &Subject, required: &[String]) -> Option<Problem> {
    let missing: Vec<&str> = required
        .iter()
        .filter(|want| scopes::has_scope(subject.forge, want))
        .filter(|want| {
            !subject
                .scopes
                .is_some_and(|have| scopes::grants(subject.forge, have, want))
        })
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let list = missing.join(", ");
    let row = subject.row();
    Some(match subject.scopes {
        Some(_) => Problem {
            code: "missing-scope",
            cause: format!("the token lacks the scopes patrol.requiredScopes asks for: {list}"),
            fix: subject.add_scopes(&missing),
        },
        None if row.scoped => Problem {
            code: "scopes-unknown",
            cause: format!(
                "patrol.requiredScopes asks for {list}, but {} did not say which scopes this \
                 token has",
                subject.forge_name()
            ),
            fix: "run check again later; if it persists, check the token's scopes on the \
                  forge's token page"
                .into(),
        },
        None => Problem {
            code: "missing-scope",
            cause: format!(
                "patrol.requiredScopes asks for {list}, but a {} has no scopes{}",
                row.label,
                if subject.fine_grained() {
                    " (fine-grained: permissions per repository)"
                } else {
                    ""
                }
            ),
            fix: subject.add_scopes(&missing),
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
                     wrong resource owner: {create} with {owner} as resource owner and access \
                     to {repo}, then {then}",
                    owner = repo.owner,
                    create = subject.create(subject.kind, &[]),
                    then = subject.then_store()
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
            let scopes_needed = accepted_scopes.as_deref().filter(|s| !s.is_empty());
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
                    fix: subject.grant(&needed, scopes_needed),
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
                "{} (the GitHub CLI needs it)",
                subject.add_scopes(&["read:org"])
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
            match (
                subject.row().editable,
                pages::manage_url(subject.target, subject.forge, subject.kind),
            ) {
                (Editable::Scopes, Some(manage)) => {
                    format!("add the scope the message names to the token at {manage}")
                }
                _ => format!(
                    "{} with the scope the message names, then {}",
                    subject.create(subject.kind, &subject.scopes_with(&[])),
                    subject.then_store()
                ),
            }
        } else {
            "tools that use GraphQL (the GitHub CLI) will fail the same way; the message \
             names what is missing"
                .into()
        },
    })
}

/// Lines about what a token's scopes allow, for the usual surprises: the
/// push that changes a workflow, the package that will not publish, the
/// token that cannot rotate itself.
pub fn scope_notes(kind: TokenKind, forge: ForgeKind, scopes: Option<&[String]>) -> Vec<String> {
    let has = |scope: &str| scopes.is_some_and(|s| scopes::grants(forge, s, scope));
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
        (ForgeKind::Gitlab, Some(_)) if !has("write_repository") => {
            notes.push(
                "without `write_repository` (or `api`), git push is refused; the token \
                 can only fetch"
                    .into(),
            );
        }
        (ForgeKind::Bitbucket, Some(_))
            if !has("write:repository:bitbucket") && !has("repository:write") =>
        {
            notes.push(
                "without `write:repository:bitbucket` (`repository:write` for an access \
                 token or app password), git push is refused; the token can only fetch"
                    .into(),
            );
        }
        (ForgeKind::Huggingface, Some(_)) if !has("write") && !has("fineGrained") => {
            notes.push(
                "a `read` token cannot push to the Hub; git push needs a `write` or a \
                 fine-grained token with write access"
                    .into(),
            );
        }
        _ => {}
    }
    if let (Some(needs), Some(_)) = (tokens::row(forge, kind).self_rotate, scopes)
        && !needs.iter().any(|need| has(need))
    {
        let names: Vec<String> = needs.iter().map(|n| format!("`{n}`")).collect();
        notes.push(format!(
            "without the {} scope, {} will not rotate the token in one step; \
             `rotate --manual` still works",
            names.join(" or "),
            super::forge_name(forge)
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::https;

    fn on(
        forge: ForgeKind,
        host: &str,
        kind: TokenKind,
        scopes: Option<&[&str]>,
    ) -> Subject<'static> {
        // Leaked: a few bytes per test, for subjects that outlive no test.
        let target: &'static Target = Box::leak(Box::new(https(host)));
        let scopes: Option<&'static [String]> = scopes.map(|scopes| {
            &*Box::leak(
                scopes
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect::<Vec<_>>()
                    .into_boxed_slice(),
            )
        });
        let rotate: &'static str = Box::leak(
            format!("git credential-patrol rotate https://{host} --user alice").into_boxed_str(),
        );
        Subject {
            target,
            forge,
            kind,
            scopes,
            token_name: None,
            required: &[],
            rotate,
            secret_env: None,
        }
    }

    fn subject(kind: TokenKind) -> Subject<'static> {
        on(ForgeKind::Github, "github.com", kind, None)
    }

    fn repo() -> Repo {
        "octo-org/hello".parse().unwrap()
    }

    #[test]
    fn a_refused_token_of_the_other_forges_is_replaced_on_the_right_page() {
        let fix = |host: &str, forge, kind| {
            let target = https(host);
            let subject = Subject {
                target: &target,
                forge,
                kind,
                scopes: None,
                token_name: None,
                required: &[],
                rotate: "git credential-patrol rotate URL",
                secret_env: None,
            };
            bad_credentials(&subject, "Unauthorized").fix
        };
        // No app password can be made any more: an API token replaces it.
        let app = fix(
            "bitbucket.org",
            ForgeKind::Bitbucket,
            TokenKind::BitbucketAppPassword,
        );
        assert!(
            app.contains(
                "create a new API token at https://id.atlassian.com/manage-profile/security/api-tokens"
            ),
            "{app}"
        );
        let gitea = fix("codeberg.org", ForgeKind::Gitea, TokenKind::Gitea);
        assert!(
            gitea.contains("https://codeberg.org/user/settings/applications"),
            "{gitea}"
        );
        let hub = fix(
            "huggingface.co",
            ForgeKind::Huggingface,
            TokenKind::Huggingface,
        );
        assert!(
            hub.contains("https://huggingface.co/settings/tokens/new"),
            "{hub}"
        );
        let access = fix(
            "bitbucket.org",
            ForgeKind::Bitbucket,
            TokenKind::BitbucketAccess,
        );
        assert!(access.starts_with("create a new access token"), "{access}");
    }

    #[test]
    fn read_only_tokens_of_the_other_forges_are_noted() {
        let read = ["read".to_owned()];
        assert_eq!(
            scope_notes(TokenKind::Huggingface, ForgeKind::Huggingface, Some(&read)).len(),
            1
        );
        let write = ["write".to_owned()];
        assert!(
            scope_notes(TokenKind::Huggingface, ForgeKind::Huggingface, Some(&write)).is_empty()
        );
        let admin = ["repository:admin".to_owned()];
        assert!(
            scope_notes(
                TokenKind::BitbucketAccess,
                ForgeKind::Bitbucket,
                Some(&admin)
            )
            .is_empty()
        );
        let pulls = ["read:repository:bitbucket".to_owned()];
        assert_eq!(
            scope_notes(TokenKind::BitbucketApi, ForgeKind::Bitbucket, Some(&pulls)).len(),
            1
        );
    }

    #[test]
    fn bad_credentials_means_create_then_rotate() {
        let problem = bad_credentials(&subject(TokenKind::GithubClassic), "Bad credentials");
        assert_eq!(problem.code, "bad-credentials");
        assert!(problem.cause.contains("\"Bad credentials\""));
        assert!(problem.cause.contains("invalid, expired or revoked"));
        assert_eq!(
            problem.fix,
            "create a new classic token at \
             https://github.com/settings/tokens/new?description=git, then run: \
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
        // A fine-grained token's permissions are edited in place.
        assert!(
            problem.fix.starts_with(
                "give the token the permission contents=read at \
                 https://github.com/settings/personal-access-tokens ("
            ),
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
        let problem = problem.unwrap();
        assert!(problem.cause.contains("one of the scopes repo"));
        assert!(
            problem.fix.starts_with("add repo to the token"),
            "{}",
            problem.fix
        );
    }

    #[test]
    fn what_a_refused_repository_needs_follows_the_kind_and_the_headers() {
        let needs = |kind, scopes: Option<&str>, permissions: Option<&str>| {
            let access = RepoAccess::Forbidden {
                message: "Resource not accessible by personal access token".into(),
                accepted_scopes: scopes.map(String::from),
                accepted_permissions: permissions.map(String::from),
                sso: None,
            };
            let (_, problem) = repository(&subject(kind), &repo(), &access);
            let cause = problem.unwrap().cause;
            let (_, needed) = cause.split_once("the token lacks ").unwrap();
            needed.to_owned()
        };
        let (fine, classic) = (TokenKind::GithubFineGrained, TokenKind::GithubClassic);
        // GitHub sends both headers: a fine-grained token has no scopes, a
        // classic token no permissions.
        let both = (Some("repo"), Some("contents=read"));
        assert_eq!(needs(fine, both.0, both.1), "the permission contents=read");
        assert_eq!(needs(classic, both.0, both.1), "one of the scopes repo");
        assert_eq!(
            needs(classic, None, Some("contents=read")),
            "the permission contents=read"
        );
        assert_eq!(
            needs(classic, Some(""), Some("contents=read")),
            "the permission contents=read"
        );
        assert_eq!(
            needs(fine, None, None),
            "access to octo-org/hello with at least the Contents permission"
        );
        assert_eq!(needs(classic, None, None), "the `repo` scope");
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
        // Without a link in the header, the token's own page has the button.
        let unlinked = RepoAccess::Forbidden {
            message: "Resource protected by organization SAML enforcement.".into(),
            accepted_scopes: None,
            accepted_permissions: None,
            sso: Some("required".into()),
        };
        let (_, problem) = repository(&subject(TokenKind::GithubClassic), &repo(), &unlinked);
        assert_eq!(
            problem.unwrap().fix,
            "authorize the token for the organization at https://github.com/settings/tokens \
             (Configure SSO)"
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
        assert!(
            problem
                .fix
                .contains("add read:org to the token at https://github.com/settings/tokens"),
            "{}",
            problem.fix
        );
        assert_eq!(
            graphql(&subject(TokenKind::GithubClassic), &GraphqlAnswer::Ok),
            None
        );
        // Another missing scope: edited in place on a classic token, a new
        // token for a fine-grained one.
        let scope = GraphqlAnswer::Errors(vec![(
            Some("INSUFFICIENT_SCOPES".into()),
            "Your token has not been granted the required scopes to execute this query.".into(),
        )]);
        let problem = graphql(&subject(TokenKind::GithubClassic), &scope).unwrap();
        assert_eq!(problem.code, "graphql-scope");
        assert_eq!(
            problem.fix,
            "add the scope the message names to the token at https://github.com/settings/tokens"
        );
        let fine = graphql(&subject(TokenKind::GithubFineGrained), &scope).unwrap();
        assert!(
            fine.fix
                .starts_with("create a new fine-grained token at https://github.com/")
                && fine.fix.ends_with(
                    "with the scope the message names, then run: \
                     git credential-patrol rotate https://github.com --user alice"
                ),
            "{}",
            fine.fix
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
        let classic = |scopes| {
            on(
                ForgeKind::Github,
                "github.com",
                TokenKind::GithubClassic,
                scopes,
            )
        };
        let problem = missing_required_scopes(&classic(Some(&["repo"])), &required).unwrap();
        assert_eq!(problem.code, "missing-scope");
        assert!(
            problem.cause.ends_with("asks for: read:org"),
            "{}",
            problem.cause
        );
        assert_eq!(
            missing_required_scopes(&classic(Some(&["read:org", "repo"])), &required),
            None
        );
        // A broader scope includes the narrower one asked for.
        assert_eq!(
            missing_required_scopes(&classic(Some(&["repo", "admin:org"])), &required),
            None
        );
        let fine =
            missing_required_scopes(&subject(TokenKind::GithubFineGrained), &required).unwrap();
        assert!(
            fine.cause
                .contains("fine-grained: permissions per repository")
        );
        assert!(
            fine.fix.contains(
                "create a new classic token at \
                 https://github.com/settings/tokens/new?scopes=repo,read:org"
            ),
            "{}",
            fine.fix
        );
        assert_eq!(missing_required_scopes(&classic(None), &[]), None);
        // Unknown scopes of a scoped token are not "missing".
        assert_eq!(
            missing_required_scopes(&classic(None), &required)
                .unwrap()
                .code,
            "scopes-unknown"
        );
    }

    #[test]
    fn names_of_another_forge_are_left_to_the_configuration() {
        let required = [
            "repo".to_owned(),
            "read:org".to_owned(),
            "read_api".to_owned(),
        ];
        assert_eq!(
            foreign_scopes(ForgeKind::Gitlab, &required),
            ["repo", "read:org"]
        );
        let gitlab = on(
            ForgeKind::Gitlab,
            "gitlab.com",
            TokenKind::GitlabPersonal,
            Some(&["read_api"]),
        );
        assert_eq!(missing_required_scopes(&gitlab, &required), None);
        assert_eq!(foreign_scopes(ForgeKind::Github, &required), ["read_api"]);
    }

    /// Every problem with a fix that depends on the forge and the kind.
    fn fixes(subject: &Subject) -> Vec<(&'static str, String)> {
        let repo = repo();
        let forbidden = |permissions: Option<&str>, scopes: Option<&str>| RepoAccess::Forbidden {
            message: "Resource not accessible by personal access token".into(),
            accepted_scopes: scopes.map(str::to_owned),
            accepted_permissions: permissions.map(str::to_owned),
            sso: None,
        };
        let read_org = GraphqlAnswer::Errors(vec![(
            Some("INSUFFICIENT_SCOPES".into()),
            "requires one of the following scopes: ['read:org']".into(),
        )]);
        let gitlab_403 = ProbeError::Refused {
            forge: "GitLab",
            status: 403,
            message: "insufficient_scope".into(),
        };
        let scope = match subject.forge {
            ForgeKind::Gitlab => "write_repository",
            _ => "workflow",
        };
        vec![
            ("expiring", subject.renew(Renewal::Expiring)),
            ("expired", subject.renew(Renewal::Expired)),
            ("refused", bad_credentials(subject, "Bad credentials").fix),
            (
                "missing-scope",
                missing_required_scopes(subject, &[scope.to_owned()])
                    .map(|p| p.fix)
                    .unwrap_or_default(),
            ),
            (
                "permission",
                repository(subject, &repo, &forbidden(Some("contents=write"), None))
                    .1
                    .unwrap()
                    .fix,
            ),
            (
                "scope-for-repository",
                repository(subject, &repo, &forbidden(None, Some("repo")))
                    .1
                    .unwrap()
                    .fix,
            ),
            ("graphql", graphql(subject, &read_org).unwrap().fix),
            ("gitlab-403", probe_failed(subject, &gitlab_403).fix),
        ]
    }

    fn urls(text: &str) -> Vec<&str> {
        text.split(|c: char| c.is_whitespace() || c == ')' || c == ';')
            .filter(|word| word.starts_with("https://"))
            .map(|word| word.trim_end_matches(','))
            // The credential's own URL, in the `rotate` command, is no page.
            .filter(|url| *url != "https://forge.example")
            .collect()
    }

    #[test]
    fn every_fix_names_its_forges_pages_and_only_what_it_allows() {
        for forge in [ForgeKind::Github, ForgeKind::Gitlab, ForgeKind::None] {
            for kind in tokens::tests::KINDS {
                for scopes in [None, Some(&["api", "repo"][..])] {
                    let subject = on(forge, "forge.example", kind, scopes);
                    let row = tokens::row(forge, kind);
                    // The pages this forge has, for any kind.
                    let pages: Vec<String> = tokens::tests::KINDS
                        .iter()
                        .flat_map(|k| {
                            let row = tokens::row(forge, *k);
                            [row.create.map(|p| p.path), row.manage]
                        })
                        .flatten()
                        .map(|path| format!("https://forge.example{path}"))
                        .collect();
                    for (problem, fix) in fixes(&subject) {
                        let what = format!("{forge:?} x {kind:?} x {problem} ({scopes:?}): {fix}");
                        for url in urls(&fix) {
                            let page = url.split('?').next().unwrap();
                            assert!(pages.iter().any(|p| p == page), "{what}: {url}");
                        }
                        if row.editable != Editable::Scopes {
                            assert!(!fix.contains("scopes can be edited"), "{what}");
                        }
                        if row.editable != Editable::Permissions {
                            assert!(!fix.contains("permissions can be edited"), "{what}");
                        }
                        if !row.regenerate {
                            assert!(!fix.contains("regenerate"), "{what}");
                        }
                        if problem != "expiring" || row.self_rotate.is_none() {
                            assert!(!fix.contains("in one call"), "{what}");
                        }
                        // A person who brings the new token says so where
                        // `rotate` would otherwise ask the forge for one.
                        if row.self_rotate.is_some() && fix.contains("then run: ") {
                            assert!(fix.contains("--manual"), "{what}");
                        }
                        if row.self_rotate.is_none() {
                            assert!(!fix.contains("--manual"), "{what}");
                        }
                        // A classic token is never sent to the fine-grained
                        // page, nor the other way round.
                        if fix.contains("classic token at") {
                            assert!(fix.contains("/settings/tokens/new"), "{what}");
                        }
                        if fix.contains("fine-grained token at") {
                            assert!(fix.contains("/settings/personal-access-tokens"), "{what}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_fixes_people_meet_most() {
        let fine = subject(TokenKind::GithubFineGrained);
        assert_eq!(
            fine.renew(Renewal::Expiring),
            "regenerate it at https://github.com/settings/personal-access-tokens (it keeps its \
             permissions), or create a new fine-grained token at \
             https://github.com/settings/personal-access-tokens/new; then run: \
             git credential-patrol rotate https://github.com --user alice"
        );
        let gitlab = on(
            ForgeKind::Gitlab,
            "gitlab.com",
            TokenKind::GitlabPersonal,
            Some(&["read_repository"]),
        );
        // Without `api` or `self_rotate`, GitLab cannot rotate the token
        // in one call: the fix is a token made by hand.
        let by_hand = gitlab.renew(Renewal::Expiring);
        assert!(
            !by_hand.contains("in one call") && by_hand.ends_with("--user alice --manual"),
            "{by_hand}"
        );
        let problem = missing_required_scopes(&gitlab, &["write_repository".to_owned()]).unwrap();
        assert_eq!(
            problem.fix,
            "GitLab cannot add scopes to an existing personal access token: create a new \
             personal access token at \
             https://gitlab.com/-/user_settings/personal_access_tokens?scopes=read_repository,write_repository&name=git \
             with read_repository, write_repository, then run: \
             git credential-patrol rotate https://gitlab.com --user alice --manual"
        );
        let rotates = on(
            ForgeKind::Gitlab,
            "gitlab.com",
            TokenKind::GitlabPersonal,
            Some(&["api"]),
        );
        assert!(
            rotates
                .renew(Renewal::Expiring)
                .starts_with("run: git credential-patrol rotate https://gitlab.com --user alice (")
        );
        assert!(
            rotates
                .renew(Renewal::Refused)
                .starts_with("create a new personal access token")
        );
        let classic = on(
            ForgeKind::Github,
            "github.com",
            TokenKind::GithubClassic,
            Some(&["repo"]),
        );
        let problem = missing_required_scopes(&classic, &["workflow".to_owned()]).unwrap();
        // A new token gets what patrol.requiredScopes asks of this forge too.
        let required = ["workflow".to_owned(), "read_api".to_owned()];
        let with_required = Subject {
            required: &required,
            ..on(
                ForgeKind::Github,
                "github.com",
                TokenKind::GithubClassic,
                Some(&["repo"]),
            )
        };
        assert!(
            with_required
                .renew(Renewal::Refused)
                .contains("/settings/tokens/new?scopes=repo,workflow&description=git"),
            "{}",
            with_required.renew(Renewal::Refused)
        );
        assert_eq!(
            problem.fix,
            "add workflow to the token at https://github.com/settings/tokens (a classic \
             token's scopes can be edited; the token itself stays the same)"
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
        // Scopes GitHub did not name are no news about a classic token.
        assert!(scope_notes(TokenKind::GithubClassic, ForgeKind::Github, None).is_empty());
        let push_refused = |scopes: &[&str]| {
            let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
            scope_notes(TokenKind::GitlabPersonal, ForgeKind::Gitlab, Some(&scopes))
                .iter()
                .any(|note| note.contains("git push is refused"))
        };
        assert!(push_refused(&["read_repository"]));
        assert!(!push_refused(&["write_repository"]));
        assert!(!push_refused(&["api"]));
        let rotation_note = |scope: &str| {
            scope_notes(
                TokenKind::GitlabPersonal,
                ForgeKind::Gitlab,
                Some(&[scope.to_owned()]),
            )
            .iter()
            .any(|note| note.contains("will not rotate the token in one step"))
        };
        assert!(rotation_note("write_repository"));
        assert!(!rotation_note("api"));
        assert!(!rotation_note("self_rotate"));
    }

    #[test]
    fn failures_to_ask_name_the_network_or_the_configuration() {
        let timeout = ProbeError::Http(HttpError::Timeout {
            origin: "http://127.0.0.1:1".into(),
            limit: std::time::Duration::from_secs(5),
        });
        let problem = probe_failed(&subject(TokenKind::GithubClassic), &timeout);
        assert_eq!(problem.code, "forge-unreachable");
        assert!(
            problem
                .cause
                .contains("no complete answer from http://127.0.0.1:1")
        );
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
        // Which refusals are the forge's fault, which a scope's, and which
        // nobody's that patrol knows of.
        let refused = |forge, status| {
            let err = ProbeError::Refused {
                forge: "GitLab",
                status,
                message: "an answer".into(),
            };
            let subject = match forge {
                ForgeKind::Gitlab => on(
                    forge,
                    "gitlab.com",
                    TokenKind::GitlabPersonal,
                    Some(&["read_repository"]),
                ),
                _ => subject(TokenKind::GithubClassic),
            };
            probe_failed(&subject, &err).code
        };
        assert_eq!(refused(ForgeKind::Github, 500), "forge-error");
        assert_eq!(refused(ForgeKind::Github, 499), "unexpected-answer");
        assert_eq!(refused(ForgeKind::Github, 403), "unexpected-answer");
        assert_eq!(refused(ForgeKind::Github, 429), "rate-limited");
        assert_eq!(refused(ForgeKind::Gitlab, 403), "insufficient-scope");
        assert_eq!(refused(ForgeKind::Gitlab, 404), "unexpected-answer");
    }
}
