//! What a credential is, independent of where it is kept: the `Credential`
//! that git describes on the protocol, the `Secret` values inside it, the
//! kind of token a secret is, and git's rules for which stored credential
//! matches a request.
//!
//! Secrets live in `Secret`, whose `Debug` and `Display` never show the value
//! and whose memory is wiped on drop, so a stray `{:?}` cannot leak a token.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Which forge API a host speaks (`patrol.forge`), and which forge issued
/// a token. Defined here rather than in `config`, which reads it, so that
/// nothing below the configuration depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForgeKind {
    Github,
    Gitlab,
    /// Bitbucket Cloud (bitbucket.org).
    Bitbucket,
    /// Bitbucket Data Center (and Server), self-hosted.
    BitbucketDatacenter,
    /// Azure DevOps Services (dev.azure.com, *.visualstudio.com).
    AzureDevops,
    /// Gitea and Forgejo (Codeberg), which share Gitea's API.
    Gitea,
    Gerrit,
    /// The Hugging Face Hub.
    Huggingface,
    None,
}

impl ForgeKind {
    /// Every forge patrol speaks to, in the order documentation lists them.
    pub const KNOWN: [ForgeKind; 8] = [
        ForgeKind::Github,
        ForgeKind::Gitlab,
        ForgeKind::Bitbucket,
        ForgeKind::BitbucketDatacenter,
        ForgeKind::AzureDevops,
        ForgeKind::Gitea,
        ForgeKind::Gerrit,
        ForgeKind::Huggingface,
    ];

    /// Its value in `patrol.forge`, `check --json` and docs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Bitbucket => "bitbucket",
            Self::BitbucketDatacenter => "bitbucket-datacenter",
            Self::AzureDevops => "azure-devops",
            Self::Gitea => "gitea",
            Self::Gerrit => "gerrit",
            Self::Huggingface => "huggingface",
            Self::None => "none",
        }
    }

    /// The forge a `patrol.forge` value names, in any case. `forgejo`
    /// is Gitea's API by another name.
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("forgejo") {
            return Some(Self::Gitea);
        }
        Self::KNOWN
            .into_iter()
            .chain([Self::None])
            .find(|forge| forge.name().eq_ignore_ascii_case(name))
    }
}

/// A secret string: a password, a refresh token, a pre-encoded credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value itself. Call sites are few and each one is a place where the
    /// secret is meant to leave: the keychain, `get`'s stdout, a forge request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where a credential is used: the attributes git matches on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    pub protocol: String,
    /// Host name, with `:port` when git gave one; empty for a client
    /// certificate, which git names by its path alone.
    pub host: String,
    /// Only present when git sends one (`credential.useHttpPath`, `cert://`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Target {
    /// `protocol://host[/path]`, the form git prints in its prompts.
    pub fn url(&self) -> String {
        match &self.path {
            Some(path) => format!("{}://{}/{}", self.protocol, self.host, path),
            None => format!("{}://{}", self.protocol, self.host),
        }
    }

    /// The passphrase of a client certificate (`http.sslCert` with
    /// `http.sslCertPasswordProtected`): git asks for it as `protocol=cert`
    /// with an empty host and the file's path. No forge issued it, and it
    /// neither expires nor rotates as a token does.
    pub fn is_certificate(&self) -> bool {
        self.host.is_empty()
    }
}

/// The secret part of a stored credential. Exactly what goes to the keychain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Secrets {
    pub password: Option<Secret>,
    pub oauth_refresh_token: Option<Secret>,
    /// `authtype` with its pre-encoded `credential` (git 2.46 and later).
    pub auth: Option<(String, Secret)>,
    /// Kept beside the password in the keychain so that the keychain alone can
    /// answer `get` exactly as git stored it, even without the index.
    pub password_expiry_utc: Option<i64>,
}

/// Every function here that reads or builds `Secrets` names each field,
/// without `..`: a new secret field does not compile until each of them
/// decides what to do with it (kept in the keychain? a token? printed?).
impl Secrets {
    /// A token alone, as a person or a plaintext file hands it over.
    pub fn token_only(token: Secret) -> Self {
        Self {
            password: Some(token),
            oauth_refresh_token: None,
            auth: None,
            password_expiry_utc: None,
        }
    }

    /// Nothing that authenticates: a refresh token or an expiry alone is not
    /// a credential.
    pub fn is_empty(&self) -> bool {
        let Self {
            password,
            oauth_refresh_token: _,
            auth,
            password_expiry_utc: _,
        } = self;
        password.is_none() && auth.is_none()
    }

    /// The string a forge would accept as a token: the password, or a bearer
    /// credential.
    pub fn token(&self) -> Option<&Secret> {
        let Self {
            password,
            oauth_refresh_token: _,
            auth,
            password_expiry_utc: _,
        } = self;
        match (password, auth) {
            (Some(password), _) => Some(password),
            (None, Some((_, credential))) => Some(credential),
            (None, None) => None,
        }
    }

    /// The form kept in the keychain. The password comes first, alone on its
    /// line, so what a person sees in Seahorse or Keychain Access is their
    /// token; the rare extra fields follow as `key=value` lines (the layout
    /// git's own libsecret helper uses). Git forbids newlines inside values,
    /// which makes the format unambiguous.
    pub fn encode(&self) -> Zeroizing<String> {
        let Self {
            password,
            oauth_refresh_token,
            auth,
            password_expiry_utc,
        } = self;
        let mut out = Zeroizing::new(String::new());
        if let Some(password) = password {
            out.push_str(password.expose());
        }
        if let Some(expiry) = password_expiry_utc {
            out.push_str(&format!("\npassword_expiry_utc={expiry}"));
        }
        if let Some(token) = oauth_refresh_token {
            out.push_str("\noauth_refresh_token=");
            out.push_str(token.expose());
        }
        if let Some((authtype, credential)) = auth {
            out.push_str("\nauthtype=");
            out.push_str(authtype);
            out.push_str("\ncredential=");
            out.push_str(credential.expose());
        }
        out
    }

    /// Reads what `encode` wrote. Unknown lines are skipped so that a later
    /// version's extra fields do not make a secret unreadable.
    pub fn decode(stored: &str) -> Self {
        let mut lines = stored.split('\n');
        let first = lines.next().unwrap_or_default();
        let mut password_expiry_utc = None;
        let mut oauth_refresh_token = None;
        let mut authtype = None;
        let mut credential = None;
        for line in lines {
            match line.split_once('=') {
                Some(("password_expiry_utc", value)) => password_expiry_utc = value.parse().ok(),
                Some(("oauth_refresh_token", value)) => {
                    oauth_refresh_token = Some(Secret::new(value));
                }
                Some(("authtype", value)) => authtype = Some(value.to_owned()),
                Some(("credential", value)) => credential = Some(Secret::new(value)),
                _ => {}
            }
        }
        // With `authtype` the first line may be empty: no password then.
        let auth = authtype.zip(credential);
        let password = (auth.is_none() || !first.is_empty()).then(|| Secret::new(first));
        Self {
            password,
            oauth_refresh_token,
            auth,
            password_expiry_utc,
        }
    }
}

/// What kind of token a secret is, read from its well-known prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// `ghp_`: GitHub personal access token (classic), with scopes.
    GithubClassic,
    /// `github_pat_`: GitHub fine-grained personal access token.
    GithubFineGrained,
    /// `gho_`: GitHub OAuth app token.
    GithubOauth,
    /// `ghu_`: GitHub App user-to-server token.
    GithubAppUser,
    /// `ghs_`: GitHub App installation (server-to-server) token.
    GithubAppInstallation,
    /// `ghr_`: GitHub refresh token.
    GithubRefresh,
    /// `glpat-`: GitLab personal, project or group access token.
    GitlabPersonal,
    /// `gloas-`: GitLab OAuth application secret.
    GitlabOauth,
    /// `gldt-`: GitLab deploy token.
    GitlabDeploy,
    /// `glptt-`: GitLab pipeline trigger token.
    GitlabTrigger,
    /// `glcbt-`: GitLab CI/CD job token.
    GitlabJob,
    /// A `glpat-` token whose account GitLab names as a project's bot: a
    /// project access token.
    GitlabProject,
    /// A `glpat-` token of a group's bot: a group access token.
    GitlabGroup,
    /// `ATATT`: an Atlassian API token, used with Bitbucket Cloud.
    BitbucketApi,
    /// `ATBB`: a Bitbucket Cloud app password (they stop working in 2026).
    BitbucketAppPassword,
    /// `ATCTT`: a Bitbucket Cloud repository, project or workspace access
    /// token.
    BitbucketAccess,
    /// A Bitbucket Data Center HTTP access token (personal, project or
    /// repository), known by the forge's answer.
    BitbucketDatacenter,
    /// An Azure DevOps personal access token, known by the forge's answer.
    AzureDevopsPat,
    /// A Gitea or Forgejo access token, known by the forge's answer.
    Gitea,
    /// A Gerrit authentication token or HTTP password.
    Gerrit,
    /// `hf_`: a Hugging Face user access token.
    Huggingface,
    /// A pre-encoded `credential` for an `authtype` such as Bearer.
    Authtype,
    #[default]
    Unknown,
}

impl TokenKind {
    pub fn of(secrets: &Secrets) -> Self {
        let Secrets {
            password,
            oauth_refresh_token: _,
            auth,
            password_expiry_utc: _,
        } = secrets;
        match (password, auth) {
            (Some(password), _) => Self::of_token(password.expose()),
            (None, Some(_)) => Self::Authtype,
            (None, None) => Self::Unknown,
        }
    }

    pub fn of_token(token: &str) -> Self {
        const PREFIXES: &[(&str, TokenKind)] = &[
            ("ghp_", TokenKind::GithubClassic),
            ("github_pat_", TokenKind::GithubFineGrained),
            ("gho_", TokenKind::GithubOauth),
            ("ghu_", TokenKind::GithubAppUser),
            ("ghs_", TokenKind::GithubAppInstallation),
            ("ghr_", TokenKind::GithubRefresh),
            ("glpat-", TokenKind::GitlabPersonal),
            ("gloas-", TokenKind::GitlabOauth),
            ("gldt-", TokenKind::GitlabDeploy),
            ("glptt-", TokenKind::GitlabTrigger),
            ("glcbt-", TokenKind::GitlabJob),
            ("ATATT", TokenKind::BitbucketApi),
            ("ATBB", TokenKind::BitbucketAppPassword),
            ("ATCTT", TokenKind::BitbucketAccess),
            ("hf_", TokenKind::Huggingface),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| token.starts_with(prefix))
            .map_or(TokenKind::Unknown, |(_, kind)| *kind)
    }

    /// The forge that issues tokens of this kind.
    pub fn issuer(self) -> ForgeKind {
        match self {
            Self::GithubClassic
            | Self::GithubFineGrained
            | Self::GithubOauth
            | Self::GithubAppUser
            | Self::GithubAppInstallation
            | Self::GithubRefresh => ForgeKind::Github,
            Self::GitlabPersonal
            | Self::GitlabOauth
            | Self::GitlabDeploy
            | Self::GitlabTrigger
            | Self::GitlabJob
            | Self::GitlabProject
            | Self::GitlabGroup => ForgeKind::Gitlab,
            Self::BitbucketApi | Self::BitbucketAppPassword | Self::BitbucketAccess => {
                ForgeKind::Bitbucket
            }
            Self::BitbucketDatacenter => ForgeKind::BitbucketDatacenter,
            Self::AzureDevopsPat => ForgeKind::AzureDevops,
            Self::Gitea => ForgeKind::Gitea,
            Self::Gerrit => ForgeKind::Gerrit,
            Self::Huggingface => ForgeKind::Huggingface,
            Self::Authtype | Self::Unknown => ForgeKind::None,
        }
    }

    /// A short name for tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::GithubClassic => "github-classic",
            Self::GithubFineGrained => "github-fine-grained",
            Self::GithubOauth => "github-oauth",
            Self::GithubAppUser => "github-app-user",
            Self::GithubAppInstallation => "github-app-installation",
            Self::GithubRefresh => "github-refresh",
            Self::GitlabPersonal => "gitlab-personal",
            Self::GitlabOauth => "gitlab-oauth",
            Self::GitlabDeploy => "gitlab-deploy",
            Self::GitlabTrigger => "gitlab-trigger",
            Self::GitlabJob => "gitlab-job",
            Self::GitlabProject => "gitlab-project",
            Self::GitlabGroup => "gitlab-group",
            Self::BitbucketApi => "bitbucket-api",
            Self::BitbucketAppPassword => "bitbucket-app-password",
            Self::BitbucketAccess => "bitbucket-access",
            Self::BitbucketDatacenter => "bitbucket-datacenter",
            Self::AzureDevopsPat => "azure-devops-pat",
            Self::Gitea => "gitea",
            Self::Gerrit => "gerrit",
            Self::Huggingface => "huggingface",
            Self::Authtype => "authtype",
            Self::Unknown => "unknown",
        }
    }
}

/// Git's matching rule (credential_match in git's credential.c): a field the
/// request leaves out matches anything; a field it gives must be equal.
pub fn field_matches(wanted: Option<&str>, stored: Option<&str>) -> bool {
    match wanted {
        None => true,
        Some(wanted) => stored == Some(wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_shows_in_debug_or_display() {
        let secret = Secret::new("ghp_TESTsecretvalue");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{secret}"), "<redacted>");
        let secrets = Secrets {
            password: Some(secret),
            ..Secrets::default()
        };
        assert!(!format!("{secrets:?}").contains("ghp_TEST"));
    }

    #[test]
    fn a_plain_password_is_stored_as_itself() {
        let secrets = Secrets {
            password: Some(Secret::new("ghp_TESTabc")),
            ..Secrets::default()
        };
        assert_eq!(&*secrets.encode(), "ghp_TESTabc");
        assert_eq!(Secrets::decode("ghp_TESTabc"), secrets);
    }

    #[test]
    fn every_field_round_trips_through_the_keychain_form() {
        let secrets = Secrets {
            password: Some(Secret::new("p=a=ss")),
            oauth_refresh_token: Some(Secret::new("ghr_TESTrefresh")),
            auth: None,
            password_expiry_utc: Some(1_900_000_000),
        };
        assert_eq!(Secrets::decode(&secrets.encode()), secrets);

        let bearer = Secrets {
            auth: Some(("Bearer".into(), Secret::new("tok=en"))),
            ..Secrets::default()
        };
        assert_eq!(&*bearer.encode(), "\nauthtype=Bearer\ncredential=tok=en");
        assert_eq!(Secrets::decode(&bearer.encode()), bearer);
    }

    #[test]
    fn an_empty_password_is_kept() {
        let empty = Secrets {
            password: Some(Secret::new("")),
            ..Secrets::default()
        };
        assert_eq!(Secrets::decode(&empty.encode()), empty);
    }

    #[test]
    fn token_kinds_come_from_prefixes() {
        assert_eq!(TokenKind::of_token("ghp_TEST"), TokenKind::GithubClassic);
        assert_eq!(
            TokenKind::of_token("github_pat_TEST"),
            TokenKind::GithubFineGrained
        );
        assert_eq!(TokenKind::of_token("glpat-TEST"), TokenKind::GitlabPersonal);
        assert_eq!(TokenKind::of_token("hunter2"), TokenKind::Unknown);
        assert_eq!(TokenKind::of_token("ATATTTEST"), TokenKind::BitbucketApi);
        assert_eq!(
            TokenKind::of_token("ATBBTEST"),
            TokenKind::BitbucketAppPassword
        );
        assert_eq!(TokenKind::of_token("ATCTTTEST"), TokenKind::BitbucketAccess);
        assert_eq!(TokenKind::of_token("hf_TEST"), TokenKind::Huggingface);
    }

    #[test]
    fn forge_names_read_back() {
        for forge in ForgeKind::KNOWN.into_iter().chain([ForgeKind::None]) {
            assert_eq!(ForgeKind::from_name(forge.name()), Some(forge));
        }
        assert_eq!(
            ForgeKind::from_name(" Azure-DevOps"),
            Some(ForgeKind::AzureDevops)
        );
        assert_eq!(ForgeKind::from_name("Forgejo"), Some(ForgeKind::Gitea));
        assert_eq!(ForgeKind::from_name("gogs"), None);
    }

    #[test]
    fn missing_fields_match_anything() {
        assert!(field_matches(None, Some("alice")));
        assert!(field_matches(None, None));
        assert!(field_matches(Some("alice"), Some("alice")));
        assert!(!field_matches(Some("alice"), Some("bob")));
        assert!(!field_matches(Some("alice"), None));
    }
}
