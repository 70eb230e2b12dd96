//! What we know about forges: which one a host is, and where a person
//! creates a new token there.

use crate::config::ForgeKind;
use crate::credential::{Target, TokenKind};

/// The forge a host speaks: configured with `patrol.forge`, else known by
/// host name, else guessed from the token's prefix.
pub fn kind_of(target: &Target, configured: Option<ForgeKind>, token: TokenKind) -> ForgeKind {
    if let Some(kind) = configured {
        return kind;
    }
    let host = target.host.to_ascii_lowercase();
    if host == "github.com" {
        return ForgeKind::Github;
    }
    if host == "gitlab.com" {
        return ForgeKind::Gitlab;
    }
    match token.name() {
        name if name.starts_with("github") => ForgeKind::Github,
        name if name.starts_with("gitlab") => ForgeKind::Gitlab,
        _ => ForgeKind::None,
    }
}

/// The page where a new token of this kind is created.
pub fn token_page(target: &Target, forge: ForgeKind, token: TokenKind) -> Option<String> {
    let base = format!("https://{}", target.host);
    match forge {
        ForgeKind::Github if token == TokenKind::GithubFineGrained => {
            Some(format!("{base}/settings/personal-access-tokens"))
        }
        ForgeKind::Github => Some(format!("{base}/settings/tokens")),
        ForgeKind::Gitlab => Some(format!("{base}/-/user_settings/personal_access_tokens")),
        ForgeKind::None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str) -> Target {
        Target {
            protocol: "https".into(),
            host: host.into(),
            path: None,
        }
    }

    #[test]
    fn token_pages_per_forge_and_kind() {
        let github = target("github.com");
        let kind = |t: TokenKind| kind_of(&github, None, t);
        assert_eq!(
            token_page(
                &github,
                kind(TokenKind::GithubClassic),
                TokenKind::GithubClassic
            )
            .unwrap(),
            "https://github.com/settings/tokens"
        );
        assert_eq!(
            token_page(
                &github,
                kind(TokenKind::GithubFineGrained),
                TokenKind::GithubFineGrained
            )
            .unwrap(),
            "https://github.com/settings/personal-access-tokens"
        );
        let gitlab = target("gitlab.example.com");
        let forge = kind_of(&gitlab, None, TokenKind::GitlabPersonal);
        assert_eq!(forge, ForgeKind::Gitlab);
        assert_eq!(
            token_page(&gitlab, forge, TokenKind::GitlabPersonal).unwrap(),
            "https://gitlab.example.com/-/user_settings/personal_access_tokens"
        );
        let other = target("git.example.com");
        assert_eq!(kind_of(&other, None, TokenKind::Unknown), ForgeKind::None);
        assert_eq!(
            token_page(&other, ForgeKind::None, TokenKind::Unknown),
            None
        );
    }
}
