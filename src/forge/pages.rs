//! Where a token's pages are on the forge's web host: the page that creates
//! one of its kind (with the scopes and the name filled in where the page
//! reads them) and the page that lists, regenerates, edits and revokes
//! them, on the host and scheme of the person's own URL, or under an Azure
//! DevOps organization. The paths themselves are the table's (`tokens`).

use crate::credential::{ForgeKind, Target, TokenKind};
use crate::forge::tokens::row;

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
mod tests {
    use super::*;
    use crate::forge::tokens::ExpiryAnswer;
    use crate::testing::{https, https_path};

    #[test]
    fn pages_with_their_parameters() {
        let github = https("github.com");
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
        let gitlab = https("gitlab.example.com:8443");
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
    fn pages_of_the_other_forges() {
        let azure = https_path("dev.azure.com", "contoso/web/_git/web");
        assert_eq!(
            manage_url(&azure, ForgeKind::AzureDevops, TokenKind::Unknown).unwrap(),
            "https://dev.azure.com/contoso/_usersSettings/tokens"
        );
        assert_eq!(
            manage_url(
                &https("contoso.visualstudio.com"),
                ForgeKind::AzureDevops,
                TokenKind::AzureDevopsPat
            )
            .unwrap(),
            "https://contoso.visualstudio.com/_usersSettings/tokens"
        );
        assert_eq!(
            create_url(
                &https("bitbucket.org"),
                ForgeKind::Bitbucket,
                TokenKind::BitbucketApi,
                &[],
                None
            )
            .unwrap(),
            "https://id.atlassian.com/manage-profile/security/api-tokens"
        );
        assert_eq!(
            manage_url(&https("codeberg.org"), ForgeKind::Gitea, TokenKind::Unknown).unwrap(),
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
}
