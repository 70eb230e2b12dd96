//! Azure DevOps Services: `GET https://dev.azure.com/ORG/_apis/connectionData`
//! with the personal access token in Basic authentication (an empty user
//! name, as Azure's documentation does it) names the account
//! (`authenticatedUser`). Nothing a PAT may call tells its expiry or its
//! scopes: Azure's PAT lifecycle API takes a Microsoft Entra token, not the
//! PAT itself. So the expiry is set by hand, and `get` says so once.
//!
//! The API lives under the organization, which the host names only on
//! `ORG.visualstudio.com`; on dev.azure.com it is the first segment of the
//! credential's path (git sends it with `credential.useHttpPath`, which
//! Azure Repos needs anyway for more than one organization), else
//! `patrol.<url>.apiUrl` names it.

use serde::Deserialize;

use super::http::{Api, Auth};
use super::{Facts, Login, ProbeError, quote, read_json, unexpected};
use crate::credential::{Target, TokenKind};

const FORGE: &str = "Azure DevOps";

/// `https://dev.azure.com/ORG` or `https://ORG.visualstudio.com`; `None`
/// where the organization is unknown. The token pages are under it too, so
/// the table of pages (`tokens`) owns the rule.
pub fn api_base(target: &Target) -> Option<String> {
    super::pages::organization_base(target)
}

/// `GET /_apis/connectionData`: whose the token is.
pub fn probe(api: &Api, login: &Login) -> Result<Facts, ProbeError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ConnectionData {
        authenticated_user: Identity,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Identity {
        #[serde(default)]
        provider_display_name: Option<String>,
        #[serde(default)]
        descriptor: Option<String>,
        #[serde(default)]
        properties: Option<serde_json::Value>,
    }
    let response = api.get_as(
        "/_apis/connectionData",
        login.token,
        Auth::Basic { user: "" },
    )?;
    match response.status {
        200 => {}
        // Azure DevOps answers a request it did not authenticate with its
        // sign-in page and 203 where an API client would expect a 401.
        401 | 203 => {
            return Err(ProbeError::Rejected {
                forge: FORGE,
                message: if response.status == 203 {
                    "it answered with its sign-in page".into()
                } else {
                    "401 Unauthorized".into()
                },
            });
        }
        _ => return Err(unexpected(FORGE, &response)),
    }
    let data: ConnectionData = read_json(FORGE, "/_apis/connectionData", &response.body)?;
    let user = data.authenticated_user;
    if user
        .descriptor
        .as_deref()
        .is_some_and(|d| d.contains("UnauthenticatedIdentity"))
    {
        return Err(ProbeError::Rejected {
            forge: FORGE,
            message: "it took the request as anonymous".into(),
        });
    }
    // The sign-in name (an email) where Azure gives it, else the display name.
    let account = user
        .properties
        .as_ref()
        .and_then(|p| p.pointer("/Account/$value"))
        .and_then(|v| v.as_str())
        .or(user.provider_display_name.as_deref())
        .map(quote);
    Ok(Facts {
        account,
        kind: (login.kind == TokenKind::Unknown).then_some(TokenKind::AzureDevopsPat),
        ..Facts::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str, path: Option<&str>) -> Target {
        Target {
            protocol: "https".into(),
            host: host.into(),
            path: path.map(str::to_owned),
        }
    }

    #[test]
    fn the_organization_comes_from_the_host_or_the_path() {
        assert_eq!(
            api_base(&target("dev.azure.com", Some("contoso/web/_git/web"))).unwrap(),
            "https://dev.azure.com/contoso"
        );
        assert_eq!(
            api_base(&target("contoso.visualstudio.com", None)).unwrap(),
            "https://contoso.visualstudio.com"
        );
        assert_eq!(api_base(&target("dev.azure.com", None)), None);
        assert_eq!(api_base(&target("dev.azure.com", Some("a@b/x"))), None);
        assert_eq!(api_base(&target("dev.azure.com", Some("../x"))), None);
    }
}
