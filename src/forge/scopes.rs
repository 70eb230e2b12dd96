//! The scope names each forge has, and which broader scope includes which
//! narrower ones: what `check` compares a token's scopes with, and what
//! `rotate` may ask for on a new token's page. `scopes_of` matches every
//! forge without a wildcard: a new forge does not compile until its scopes
//! (or their absence) are written.

use crate::credential::ForgeKind;

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

#[cfg(test)]
mod tests {
    use super::*;

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
