//! What each forge allows for each kind of token, in one table: what the
//! forge calls it, where such a token is created and managed, whether it
//! is renewed in place, whether its scopes or permissions can be edited
//! afterwards, whether it can rotate itself, and whether the forge tells
//! its expiry. Every fix that `check`, `get`, `rotate` and `doctor` print
//! takes its verbs from here (and, through `pages`, its pages), so that no
//! fix sends a person to a page, or asks for an action, that the forge
//! does not have.
//!
//! `row` matches every forge without a wildcard, and GitHub's and GitLab's
//! rows every kind: a new forge does not compile until its rows are
//! written. The other forges have few kinds of token each, and any kind
//! not theirs (a pasted token of another forge, a token without a prefix)
//! gets the forge's usual row.

use crate::credential::{ForgeKind, TokenKind};

/// What can be changed on an existing token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Editable {
    /// Its scopes (GitHub classic): the same token, new scopes.
    Scopes,
    /// Its repositories and permissions (GitHub fine-grained).
    Permissions,
    /// Nothing: a different need means a new token (GitLab's scopes are
    /// fixed at creation).
    Nothing,
}

/// Whether the forge can tell a token's expiry when asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiryAnswer {
    /// It says when the token expires, or that it never does.
    Tells,
    /// The token has an expiry, but nothing the token may call reveals it
    /// (Bitbucket Cloud, Azure DevOps): a person sets it with `expiry`.
    CannotTell,
    /// Tokens of this kind never expire (Gitea, Forgejo): `rotateAfter`
    /// is the only reminder there can be.
    NeverExpires,
}

/// A page on the forge's web host and the query parameters it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// A path on the forge's web host, or a whole `https://` URL where the
    /// page lives elsewhere (Atlassian's account pages).
    pub path: &'static str,
    /// The parameter that preselects scopes, comma-separated.
    pub scopes_param: Option<&'static str>,
    /// The parameter that fills in the token's name or description.
    pub name_param: Option<&'static str>,
}

impl Page {
    const fn plain(path: &'static str) -> Self {
        Self {
            path,
            scopes_param: None,
            name_param: None,
        }
    }
}

/// One row of the table: a kind of token on one forge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    /// What the forge calls it, for sentences: "classic token".
    pub label: &'static str,
    /// Where a person creates a new one; `None` where no person does (an
    /// app or the CI system issues it).
    pub create: Option<Page>,
    /// Where existing ones are listed, regenerated, edited and revoked.
    pub manage: Option<&'static str>,
    /// Whether the forge renews an expiring one in place ("Regenerate"),
    /// keeping what it may do.
    pub regenerate: bool,
    pub editable: Editable,
    /// Whether it carries scopes (else permissions, or nothing to ask).
    pub scoped: bool,
    /// The scopes, any one of which lets the token replace itself through
    /// the forge's API (`rotate`); `None`: it cannot.
    pub self_rotate: Option<&'static [&'static str]>,
    pub expiry: ExpiryAnswer,
}

const GITHUB_CLASSIC: Row = Row {
    label: "classic token",
    create: Some(Page {
        path: "/settings/tokens/new",
        scopes_param: Some("scopes"),
        name_param: Some("description"),
    }),
    manage: Some("/settings/tokens"),
    regenerate: true,
    editable: Editable::Scopes,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

const GITHUB_FINE_GRAINED: Row = Row {
    label: "fine-grained token",
    create: Some(Page::plain("/settings/personal-access-tokens/new")),
    manage: Some("/settings/personal-access-tokens"),
    regenerate: true,
    editable: Editable::Permissions,
    scoped: false,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

const GITHUB_OAUTH: Row = Row {
    label: "OAuth app token",
    create: None,
    manage: Some("/settings/applications"),
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

const GITHUB_APP: Row = Row {
    label: "GitHub App token",
    create: None,
    manage: Some("/settings/apps/authorizations"),
    regenerate: false,
    editable: Editable::Nothing,
    scoped: false,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

const GITHUB_INSTALLATION: Row = Row {
    label: "GitHub App installation token",
    create: None,
    manage: None,
    regenerate: false,
    editable: Editable::Nothing,
    scoped: false,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

const GITLAB_PERSONAL: Row = Row {
    label: "personal access token",
    create: Some(Page {
        path: "/-/user_settings/personal_access_tokens",
        scopes_param: Some("scopes"),
        name_param: Some("name"),
    }),
    manage: Some("/-/user_settings/personal_access_tokens"),
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: Some(&["api", "self_rotate"]),
    expiry: ExpiryAnswer::Tells,
};

const GITLAB_OAUTH: Row = Row {
    label: "OAuth application secret",
    create: None,
    manage: Some("/-/user_settings/applications"),
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

/// Deploy, trigger and job tokens belong to a project or a pipeline, not to
/// a page of the person's own settings.
const GITLAB_PROJECT: Row = Row {
    label: "project token",
    create: None,
    manage: None,
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

/// A project's or a group's access token: its bot is a member of that
/// project or group, whose settings list the tokens.
const GITLAB_PROJECT_ACCESS: Row = Row {
    label: "project access token",
    create: None,
    manage: None,
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

const GITLAB_GROUP_ACCESS: Row = Row {
    label: "group access token",
    ..GITLAB_PROJECT_ACCESS
};

/// Atlassian's API tokens live on the Atlassian account, not on
/// bitbucket.org; Bitbucket needs one "with scopes".
const BITBUCKET_API: Row = Row {
    label: "API token",
    create: Some(Page::plain(
        "https://id.atlassian.com/manage-profile/security/api-tokens",
    )),
    manage: Some("https://id.atlassian.com/manage-profile/security/api-tokens"),
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::CannotTell,
};

/// No new app password can be created; the old ones stop working in 2026.
const BITBUCKET_APP_PASSWORD: Row = Row {
    label: "app password",
    create: None,
    manage: Some("/account/settings/app-passwords/"),
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::CannotTell,
};

/// Repository, project and workspace access tokens are made in the
/// settings of what they give access to.
const BITBUCKET_ACCESS: Row = Row {
    label: "access token",
    create: None,
    manage: None,
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::CannotTell,
};

const BITBUCKET_DATACENTER: Row = Row {
    label: "HTTP access token",
    create: Some(Page::plain("/plugins/servlet/access-tokens/add")),
    manage: Some("/plugins/servlet/access-tokens/manage"),
    regenerate: false,
    editable: Editable::Permissions,
    scoped: false,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

/// The pages are the organization's (`https://dev.azure.com/ORG/...`).
const AZURE_DEVOPS_PAT: Row = Row {
    label: "personal access token",
    create: Some(Page::plain("/_usersSettings/tokens")),
    manage: Some("/_usersSettings/tokens"),
    regenerate: true,
    editable: Editable::Scopes,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::CannotTell,
};

const GITEA: Row = Row {
    label: "access token",
    create: Some(Page::plain("/user/settings/applications")),
    manage: Some("/user/settings/applications"),
    regenerate: false,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::NeverExpires,
};

/// An authentication token (Gerrit 3.12 and later: several, each with its
/// own lifetime) or the older single HTTP password (no expiry).
const GERRIT: Row = Row {
    label: "HTTP credential",
    create: Some(Page::plain("/settings/#HTTPCredentials")),
    manage: Some("/settings/#HTTPCredentials"),
    regenerate: false,
    editable: Editable::Nothing,
    scoped: false,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

/// A token's role (`read`, `write`) stands for its scopes; fine-grained
/// tokens' permissions are edited on the same page.
const HUGGINGFACE: Row = Row {
    label: "access token",
    create: Some(Page::plain("/settings/tokens/new")),
    manage: Some("/settings/tokens"),
    regenerate: true,
    editable: Editable::Nothing,
    scoped: true,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

/// A host that is no forge we know: nothing to point at, and nothing asked.
const NO_FORGE: Row = Row {
    label: "token",
    create: None,
    manage: None,
    regenerate: false,
    editable: Editable::Nothing,
    scoped: false,
    self_rotate: None,
    expiry: ExpiryAnswer::Tells,
};

/// The row for a token of `kind` on `forge`. A token whose prefix names no
/// kind of this forge (a 40-hex GitHub token from before prefixes, or a
/// pasted token of another forge) is replaced by the forge's usual kind.
pub fn row(forge: ForgeKind, kind: TokenKind) -> &'static Row {
    use TokenKind as K;
    match forge {
        ForgeKind::Github => match kind {
            K::GithubClassic => &GITHUB_CLASSIC,
            K::GithubFineGrained => &GITHUB_FINE_GRAINED,
            K::GithubOauth => &GITHUB_OAUTH,
            K::GithubAppUser | K::GithubRefresh => &GITHUB_APP,
            K::GithubAppInstallation => &GITHUB_INSTALLATION,
            K::GitlabPersonal
            | K::GitlabOauth
            | K::GitlabDeploy
            | K::GitlabTrigger
            | K::GitlabJob
            | K::GitlabProject
            | K::GitlabGroup
            | K::BitbucketApi
            | K::BitbucketAppPassword
            | K::BitbucketAccess
            | K::BitbucketDatacenter
            | K::AzureDevopsPat
            | K::Gitea
            | K::Gerrit
            | K::Huggingface
            | K::Authtype
            | K::Unknown => &GITHUB_CLASSIC,
        },
        ForgeKind::Gitlab => match kind {
            K::GitlabPersonal => &GITLAB_PERSONAL,
            K::GitlabOauth => &GITLAB_OAUTH,
            K::GitlabDeploy | K::GitlabTrigger | K::GitlabJob => &GITLAB_PROJECT,
            K::GitlabProject => &GITLAB_PROJECT_ACCESS,
            K::GitlabGroup => &GITLAB_GROUP_ACCESS,
            K::GithubClassic
            | K::GithubFineGrained
            | K::GithubOauth
            | K::GithubAppUser
            | K::GithubAppInstallation
            | K::GithubRefresh
            | K::BitbucketApi
            | K::BitbucketAppPassword
            | K::BitbucketAccess
            | K::BitbucketDatacenter
            | K::AzureDevopsPat
            | K::Gitea
            | K::Gerrit
            | K::Huggingface
            | K::Authtype
            | K::Unknown => &GITLAB_PERSONAL,
        },
        ForgeKind::Bitbucket => match kind {
            K::BitbucketAppPassword => &BITBUCKET_APP_PASSWORD,
            K::BitbucketAccess => &BITBUCKET_ACCESS,
            _ => &BITBUCKET_API,
        },
        ForgeKind::BitbucketDatacenter => &BITBUCKET_DATACENTER,
        ForgeKind::AzureDevops => &AZURE_DEVOPS_PAT,
        ForgeKind::Gitea => &GITEA,
        ForgeKind::Gerrit => &GERRIT,
        ForgeKind::Huggingface => &HUGGINGFACE,
        ForgeKind::None => &NO_FORGE,
    }
}

/// The kind that replaces a token of `kind` on `forge`: itself, except
/// where the forge no longer issues that kind (Bitbucket's app passwords,
/// which API tokens replace).
pub fn successor(forge: ForgeKind, kind: TokenKind) -> TokenKind {
    match (forge, kind) {
        (ForgeKind::Bitbucket, TokenKind::BitbucketAppPassword) => TokenKind::BitbucketApi,
        _ => kind,
    }
}

/// The kind a person creates on `forge` when they need scopes.
pub fn scoped_kind(forge: ForgeKind) -> Option<TokenKind> {
    match forge {
        ForgeKind::Github => Some(TokenKind::GithubClassic),
        ForgeKind::Gitlab => Some(TokenKind::GitlabPersonal),
        ForgeKind::Bitbucket => Some(TokenKind::BitbucketApi),
        ForgeKind::AzureDevops => Some(TokenKind::AzureDevopsPat),
        ForgeKind::Gitea => Some(TokenKind::Gitea),
        ForgeKind::Huggingface => Some(TokenKind::Huggingface),
        ForgeKind::BitbucketDatacenter | ForgeKind::Gerrit | ForgeKind::None => None,
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::forge::pages::create_url;
    use crate::forge::scopes::{has_scope, scopes_of};
    use crate::testing::https;

    /// Every kind, so that tests walk the whole table.
    pub const KINDS: [TokenKind; 23] = [
        TokenKind::GithubClassic,
        TokenKind::GithubFineGrained,
        TokenKind::GithubOauth,
        TokenKind::GithubAppUser,
        TokenKind::GithubAppInstallation,
        TokenKind::GithubRefresh,
        TokenKind::GitlabPersonal,
        TokenKind::GitlabOauth,
        TokenKind::GitlabDeploy,
        TokenKind::GitlabTrigger,
        TokenKind::GitlabJob,
        TokenKind::Authtype,
        TokenKind::Unknown,
        TokenKind::GitlabProject,
        TokenKind::GitlabGroup,
        TokenKind::BitbucketApi,
        TokenKind::BitbucketAppPassword,
        TokenKind::BitbucketAccess,
        TokenKind::BitbucketDatacenter,
        TokenKind::AzureDevopsPat,
        TokenKind::Gitea,
        TokenKind::Gerrit,
        TokenKind::Huggingface,
    ];

    /// Where each kind sits in `KINDS`. A match without a wildcard: a new
    /// kind does not compile until it is listed, and so walked by the tests.
    fn position(kind: TokenKind) -> usize {
        use TokenKind as K;
        match kind {
            K::GithubClassic => 0,
            K::GithubFineGrained => 1,
            K::GithubOauth => 2,
            K::GithubAppUser => 3,
            K::GithubAppInstallation => 4,
            K::GithubRefresh => 5,
            K::GitlabPersonal => 6,
            K::GitlabOauth => 7,
            K::GitlabDeploy => 8,
            K::GitlabTrigger => 9,
            K::GitlabJob => 10,
            K::Authtype => 11,
            K::Unknown => 12,
            K::GitlabProject => 13,
            K::GitlabGroup => 14,
            K::BitbucketApi => 15,
            K::BitbucketAppPassword => 16,
            K::BitbucketAccess => 17,
            K::BitbucketDatacenter => 18,
            K::AzureDevopsPat => 19,
            K::Gitea => 20,
            K::Gerrit => 21,
            K::Huggingface => 22,
        }
    }

    #[test]
    fn every_kind_is_listed() {
        for kind in KINDS {
            assert_eq!(KINDS[position(kind)], kind);
        }
    }

    #[test]
    fn every_row_is_consistent() {
        for forge in ForgeKind::KNOWN.into_iter().chain([ForgeKind::None]) {
            for kind in KINDS {
                let row = row(forge, kind);
                let what = format!("{forge:?} x {kind:?}");
                // Only scoped tokens have scopes to edit or preselect.
                if row.editable == Editable::Scopes {
                    assert!(row.scoped, "{what}");
                }
                if let Some(page) = row.create {
                    assert!(
                        page.path.starts_with('/') || page.path.starts_with("https://"),
                        "{what}"
                    );
                    if page.scopes_param.is_some() {
                        assert!(row.scoped, "{what}");
                    }
                }
                // A kind that renews itself names scopes the forge has.
                for scope in row.self_rotate.unwrap_or_default() {
                    assert!(has_scope(forge, scope), "{what}: {scope}");
                }
                // A regenerated token lives on the page that lists it.
                if row.regenerate {
                    assert!(row.manage.is_some(), "{what}");
                }
                // Pages are on the host the credential is for: a page of
                // the other forge's layout would be a wrong page.
                let page = create_url(&https("h.example"), forge, kind, &[], None);
                match forge {
                    ForgeKind::Github => {
                        assert!(page.is_none_or(|p| p.contains("/settings/")), "{what}")
                    }
                    ForgeKind::Gitlab => {
                        assert!(
                            page.is_none_or(|p| p.contains("/-/user_settings/")),
                            "{what}"
                        )
                    }
                    ForgeKind::None => assert_eq!(page, None, "{what}"),
                    // A forge of its own layout: pages on the host, or on
                    // the Atlassian account.
                    _ => assert!(
                        page.as_deref()
                            .is_none_or(|p| p.starts_with("https://h.example/")
                                || p.starts_with("https://id.atlassian.com/")),
                        "{what}: {page:?}"
                    ),
                }
            }
            if let Some(kind) = scoped_kind(forge) {
                assert!(row(forge, kind).scoped && row(forge, kind).create.is_some());
                assert_eq!(kind.issuer(), forge);
            }
            for scope in scopes_of(forge) {
                for included in scope.includes {
                    assert!(has_scope(forge, included), "{}: {included}", scope.name);
                }
            }
        }
    }
}
