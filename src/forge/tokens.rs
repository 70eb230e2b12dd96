//! What each forge allows for each kind of token, in one table: where such a
//! token is created, renewed or edited, whether its scopes or permissions
//! can be edited afterwards, whether it can rotate itself, and which scope
//! names the forge has. Every fix that `check`, `get`, `rotate` and `doctor`
//! print takes its pages and its verbs from here, so that no fix sends a
//! person to a page, or asks for an action, that the forge does not have.
//!
//! `row` and `scopes_of` match every forge without a wildcard, and GitHub's
//! and GitLab's rows every kind: a new forge does not compile until its
//! rows are written. The other forges have few kinds of token each, and
//! any kind not theirs (a pasted token of another forge, a token without
//! a prefix) gets the forge's usual row.

use crate::credential::{ForgeKind, Target, TokenKind};

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

/// A scope name and the narrower ones it includes.
pub struct Scope {
    pub name: &'static str,
    pub includes: &'static [&'static str],
}

const fn scope(name: &'static str) -> Scope {
    Scope {
        name,
        includes: &[],
    }
}

/// GitHub's OAuth scopes for classic tokens, as its documentation lists them.
const GITHUB_SCOPES: &[Scope] = &[
    Scope {
        name: "repo",
        includes: &[
            "repo:status",
            "repo_deployment",
            "public_repo",
            "repo:invite",
            "security_events",
        ],
    },
    scope("repo:status"),
    scope("repo_deployment"),
    scope("public_repo"),
    scope("repo:invite"),
    scope("security_events"),
    Scope {
        name: "admin:repo_hook",
        includes: &["write:repo_hook", "read:repo_hook"],
    },
    Scope {
        name: "write:repo_hook",
        includes: &["read:repo_hook"],
    },
    scope("read:repo_hook"),
    Scope {
        name: "admin:org",
        includes: &["write:org", "read:org", "manage_runners:org"],
    },
    Scope {
        name: "write:org",
        includes: &["read:org"],
    },
    scope("read:org"),
    scope("manage_runners:org"),
    Scope {
        name: "admin:public_key",
        includes: &["write:public_key", "read:public_key"],
    },
    Scope {
        name: "write:public_key",
        includes: &["read:public_key"],
    },
    scope("read:public_key"),
    scope("admin:org_hook"),
    scope("gist"),
    scope("notifications"),
    Scope {
        name: "user",
        includes: &["read:user", "user:email", "user:follow"],
    },
    scope("read:user"),
    scope("user:email"),
    scope("user:follow"),
    Scope {
        name: "project",
        includes: &["read:project"],
    },
    scope("read:project"),
    scope("delete_repo"),
    Scope {
        name: "write:packages",
        includes: &["read:packages"],
    },
    scope("read:packages"),
    scope("delete:packages"),
    Scope {
        name: "admin:gpg_key",
        includes: &["write:gpg_key", "read:gpg_key"],
    },
    Scope {
        name: "write:gpg_key",
        includes: &["read:gpg_key"],
    },
    scope("read:gpg_key"),
    scope("codespace"),
    scope("workflow"),
    Scope {
        name: "admin:enterprise",
        includes: &[
            "manage_runners:enterprise",
            "manage_billing:enterprise",
            "read:enterprise",
        ],
    },
    scope("manage_runners:enterprise"),
    scope("manage_billing:enterprise"),
    scope("read:enterprise"),
    scope("scim:enterprise"),
    scope("audit_log"),
    scope("read:audit_log"),
    scope("copilot"),
    scope("manage_billing:copilot"),
    Scope {
        name: "admin:ssh_signing_key",
        includes: &["write:ssh_signing_key", "read:ssh_signing_key"],
    },
    Scope {
        name: "write:ssh_signing_key",
        includes: &["read:ssh_signing_key"],
    },
    scope("read:ssh_signing_key"),
    Scope {
        name: "write:discussion",
        includes: &["read:discussion"],
    },
    scope("read:discussion"),
];

/// GitLab's personal access token scopes. `api` is read and write access
/// to the whole API and to repositories over HTTP.
const GITLAB_SCOPES: &[Scope] = &[
    Scope {
        name: "api",
        includes: &[
            "read_api",
            "read_user",
            "read_repository",
            "write_repository",
        ],
    },
    scope("read_api"),
    scope("read_user"),
    scope("create_runner"),
    scope("manage_runner"),
    scope("k8s_proxy"),
    scope("self_rotate"),
    scope("read_repository"),
    Scope {
        name: "write_repository",
        includes: &["read_repository"],
    },
    scope("read_registry"),
    Scope {
        name: "write_registry",
        includes: &["read_registry"],
    },
    scope("read_virtual_registry"),
    scope("write_virtual_registry"),
    scope("read_observability"),
    scope("write_observability"),
    scope("ai_features"),
    scope("ai_workflows"),
    scope("sudo"),
    scope("admin_mode"),
    scope("read_service_ping"),
];

/// Bitbucket Cloud's scopes for API tokens, as Atlassian names them.
const BITBUCKET_SCOPES: &[Scope] = &[
    scope("read:user:bitbucket"),
    scope("read:workspace:bitbucket"),
    scope("read:project:bitbucket"),
    Scope {
        name: "write:repository:bitbucket",
        includes: &["read:repository:bitbucket"],
    },
    scope("read:repository:bitbucket"),
    scope("admin:repository:bitbucket"),
    scope("delete:repository:bitbucket"),
    Scope {
        name: "write:pullrequest:bitbucket",
        includes: &["read:pullrequest:bitbucket"],
    },
    scope("read:pullrequest:bitbucket"),
    Scope {
        name: "write:pipeline:bitbucket",
        includes: &["read:pipeline:bitbucket"],
    },
    scope("read:pipeline:bitbucket"),
    // Access tokens and app passwords name the older scopes.
    Scope {
        name: "repository:admin",
        includes: &["repository:write", "repository"],
    },
    Scope {
        name: "repository:write",
        includes: &["repository"],
    },
    scope("repository"),
    Scope {
        name: "pullrequest:write",
        includes: &["pullrequest"],
    },
    scope("pullrequest"),
    scope("account"),
    scope("webhook"),
    scope("pipeline"),
];

/// Gitea's and Forgejo's token scopes: each `write:` includes its `read:`.
const GITEA_SCOPES: &[Scope] = &[
    Scope {
        name: "write:repository",
        includes: &["read:repository"],
    },
    scope("read:repository"),
    Scope {
        name: "write:user",
        includes: &["read:user"],
    },
    scope("read:user"),
    Scope {
        name: "write:organization",
        includes: &["read:organization"],
    },
    scope("read:organization"),
    Scope {
        name: "write:issue",
        includes: &["read:issue"],
    },
    scope("read:issue"),
    Scope {
        name: "write:package",
        includes: &["read:package"],
    },
    scope("read:package"),
    Scope {
        name: "write:notification",
        includes: &["read:notification"],
    },
    scope("read:notification"),
    Scope {
        name: "write:misc",
        includes: &["read:misc"],
    },
    scope("read:misc"),
    Scope {
        name: "write:activitypub",
        includes: &["read:activitypub"],
    },
    scope("read:activitypub"),
    Scope {
        name: "write:admin",
        includes: &["read:admin"],
    },
    scope("read:admin"),
];

/// Hugging Face's roles, which patrol keeps as the token's scopes.
const HUGGINGFACE_SCOPES: &[Scope] = &[
    Scope {
        name: "write",
        includes: &["read"],
    },
    scope("read"),
    scope("fineGrained"),
];

/// Azure DevOps' scopes for repositories (the token's are not readable).
const AZURE_DEVOPS_SCOPES: &[Scope] = &[
    Scope {
        name: "vso.code_full",
        includes: &["vso.code_write", "vso.code"],
    },
    Scope {
        name: "vso.code_write",
        includes: &["vso.code"],
    },
    scope("vso.code"),
    scope("vso.code_status"),
    scope("vso.packaging"),
    scope("vso.packaging_write"),
];

/// The scope names `forge` has.
pub fn scopes_of(forge: ForgeKind) -> &'static [Scope] {
    match forge {
        ForgeKind::Github => GITHUB_SCOPES,
        ForgeKind::Gitlab => GITLAB_SCOPES,
        ForgeKind::Bitbucket => BITBUCKET_SCOPES,
        ForgeKind::AzureDevops => AZURE_DEVOPS_SCOPES,
        ForgeKind::Gitea => GITEA_SCOPES,
        ForgeKind::Huggingface => HUGGINGFACE_SCOPES,
        ForgeKind::BitbucketDatacenter | ForgeKind::Gerrit | ForgeKind::None => &[],
    }
}

/// Whether `forge` has a scope of this name.
pub fn has_scope(forge: ForgeKind, name: &str) -> bool {
    scopes_of(forge).iter().any(|s| s.name == name)
}

/// Whether a token with the scopes `have` may do what `want` allows:
/// it has `want`, or a scope that includes it.
pub fn grants(forge: ForgeKind, have: &[String], want: &str) -> bool {
    have.iter().any(|scope| {
        scope == want
            || scopes_of(forge)
                .iter()
                .any(|s| s.name == scope && s.includes.contains(&want))
    })
}

/// The forge whose scope names these are, when they are all one forge's.
pub fn owner_of(names: &[&str]) -> Option<ForgeKind> {
    [ForgeKind::Github, ForgeKind::Gitlab]
        .into_iter()
        .find(|forge| names.iter().all(|name| has_scope(*forge, name)))
}

/// The forge's web address for a credential's host, on the scheme of the
/// person's own URL, which is never changed: an `http://` remote's pages
/// are `http://` (any other protocol has no web pages of its own, so its
/// host's `https://` ones are named).
pub fn web_base(target: &Target) -> String {
    let scheme = if target.protocol.eq_ignore_ascii_case("http") {
        "http"
    } else {
        "https"
    };
    format!("{scheme}://{}", target.host)
}

/// An Azure DevOps organization's address: the host on
/// `ORG.visualstudio.com`, else the first segment of the credential's path
/// on dev.azure.com (in the characters an organization's name has).
pub fn organization_base(target: &Target) -> Option<String> {
    let base = web_base(target);
    if target
        .host
        .to_ascii_lowercase()
        .ends_with(".visualstudio.com")
    {
        return Some(base);
    }
    let org = target.path.as_deref()?.split('/').find(|s| !s.is_empty())?;
    let valid = org
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && org != "."
        && org != "..";
    valid.then(|| format!("{base}/{org}"))
}

/// Where a page of `forge` is: a whole URL as it is; else on the forge's
/// web host, or, on Azure DevOps, under the organization (none when the
/// organization is unknown).
fn page_url(target: &Target, forge: ForgeKind, path: &str) -> Option<String> {
    if path.starts_with("https://") {
        return Some(path.to_owned());
    }
    let base = match forge {
        ForgeKind::AzureDevops => organization_base(target)?,
        _ => web_base(target),
    };
    Some(format!("{base}{path}"))
}

/// Where a new token of this kind is created, with the scopes and the name
/// filled in where the page reads them.
pub fn create_url(
    target: &Target,
    forge: ForgeKind,
    kind: TokenKind,
    scopes: &[String],
    name: Option<&str>,
) -> Option<String> {
    let page = row(forge, kind).create?;
    let mut query = Vec::new();
    if let Some(param) = page.scopes_param
        && !scopes.is_empty()
    {
        query.push(format!("{param}={}", encode(&scopes.join(","))));
    }
    if let (Some(param), Some(name)) = (page.name_param, name.filter(|n| !n.is_empty())) {
        query.push(format!("{param}={}", encode(name)));
    }
    let mut url = page_url(target, forge, page.path)?;
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    Some(url)
}

/// Where tokens of this kind are listed, regenerated, edited and revoked.
pub fn manage_url(target: &Target, forge: ForgeKind, kind: TokenKind) -> Option<String> {
    page_url(target, forge, row(forge, kind).manage?)
}

/// Percent-encoding for a query value: everything but the unreserved
/// characters, and `,` and `:`, which scope lists are made of.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~,:".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
pub mod tests {
    use super::*;

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

    fn target(host: &str) -> Target {
        Target {
            protocol: "https".into(),
            host: host.into(),
            path: None,
        }
    }

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
    fn pages_with_their_parameters() {
        let github = target("github.com");
        let scopes = ["repo".to_owned(), "workflow".to_owned()];
        assert_eq!(
            create_url(
                &github,
                ForgeKind::Github,
                TokenKind::GithubClassic,
                &scopes,
                Some("git on laptop")
            )
            .unwrap(),
            "https://github.com/settings/tokens/new?scopes=repo,workflow&description=git%20on%20laptop"
        );
        assert_eq!(
            create_url(
                &github,
                ForgeKind::Github,
                TokenKind::GithubFineGrained,
                &scopes,
                Some("x")
            )
            .unwrap(),
            "https://github.com/settings/personal-access-tokens/new"
        );
        let gitlab = target("gitlab.example.com:8443");
        assert_eq!(
            create_url(
                &gitlab,
                ForgeKind::Gitlab,
                TokenKind::GitlabPersonal,
                &["api".to_owned()],
                Some("a&b=c")
            )
            .unwrap(),
            "https://gitlab.example.com:8443/-/user_settings/personal_access_tokens?scopes=api&name=a%26b%3Dc"
        );
        assert_eq!(
            manage_url(&github, ForgeKind::Github, TokenKind::GithubClassic).unwrap(),
            "https://github.com/settings/tokens"
        );
        assert_eq!(
            manage_url(&github, ForgeKind::Github, TokenKind::GithubFineGrained).unwrap(),
            "https://github.com/settings/personal-access-tokens"
        );
        assert_eq!(
            create_url(&github, ForgeKind::None, TokenKind::Unknown, &[], None),
            None
        );
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
                let page = create_url(&target("h.example"), forge, kind, &[], None);
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

    #[test]
    fn pages_of_the_other_forges() {
        let azure = Target {
            protocol: "https".into(),
            host: "dev.azure.com".into(),
            path: Some("contoso/web/_git/web".into()),
        };
        assert_eq!(
            manage_url(&azure, ForgeKind::AzureDevops, TokenKind::Unknown).unwrap(),
            "https://dev.azure.com/contoso/_usersSettings/tokens"
        );
        assert_eq!(
            manage_url(
                &target("contoso.visualstudio.com"),
                ForgeKind::AzureDevops,
                TokenKind::AzureDevopsPat
            )
            .unwrap(),
            "https://contoso.visualstudio.com/_usersSettings/tokens"
        );
        assert_eq!(
            create_url(
                &target("bitbucket.org"),
                ForgeKind::Bitbucket,
                TokenKind::BitbucketApi,
                &[],
                None
            )
            .unwrap(),
            "https://id.atlassian.com/manage-profile/security/api-tokens"
        );
        assert_eq!(
            manage_url(
                &target("codeberg.org"),
                ForgeKind::Gitea,
                TokenKind::Unknown
            )
            .unwrap(),
            "https://codeberg.org/user/settings/applications"
        );
        assert_eq!(
            row(ForgeKind::Bitbucket, TokenKind::BitbucketAccess).expiry,
            ExpiryAnswer::CannotTell
        );
        assert_eq!(
            row(ForgeKind::Gitea, TokenKind::Unknown).expiry,
            ExpiryAnswer::NeverExpires
        );
    }

    #[test]
    fn broader_scopes_grant_narrower_ones() {
        let have = ["repo".to_owned(), "admin:org".to_owned()];
        assert!(grants(ForgeKind::Github, &have, "public_repo"));
        assert!(grants(ForgeKind::Github, &have, "read:org"));
        assert!(!grants(ForgeKind::Github, &have, "workflow"));
        let api = ["api".to_owned()];
        assert!(grants(ForgeKind::Gitlab, &api, "write_repository"));
        assert!(!grants(ForgeKind::Gitlab, &api, "read_registry"));
        assert_eq!(owner_of(&["repo", "read:org"]), Some(ForgeKind::Github));
        assert_eq!(owner_of(&["read_api"]), Some(ForgeKind::Gitlab));
        assert_eq!(owner_of(&["repo", "read_api"]), None);
    }
}
