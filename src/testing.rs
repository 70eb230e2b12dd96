//! What the unit tests share: the one day they take for today, and the
//! targets their credentials are stored under, so that a test reads as the
//! case it checks rather than as the fields of a struct.

use chrono::{DateTime, Utc};

use crate::credential::Target;

/// The unit tests' today: 2026-06-15, 12:00 UTC.
pub fn now() -> DateTime<Utc> {
    "2026-06-15T12:00:00Z".parse().unwrap()
}

/// `https://HOST`, what most tests store a credential for.
pub fn https(host: &str) -> Target {
    Target {
        protocol: "https".into(),
        host: host.into(),
        path: None,
    }
}

/// `https://HOST/PATH`: a credential for one repository
/// (`credential.useHttpPath`), or an Azure DevOps organization's.
pub fn https_path(host: &str, path: &str) -> Target {
    Target {
        path: Some(path.into()),
        ..https(host)
    }
}
