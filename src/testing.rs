//! What the unit tests share: the one day they take for today, the targets
//! their credentials are stored under, the tokens and the records of them,
//! so that a test reads as the case it checks rather than as the fields of
//! a struct.

use chrono::{DateTime, TimeDelta, Utc};

use crate::credential::{Secret, Secrets, Target, TokenKind};
use crate::keychain::memory::Memory;
use crate::keychain::{Key, SecretStore};
use crate::record::Record;

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

/// A token as git stores it: the password, with git's own expiry
/// (`password_expiry_utc`) beside it when there is one.
pub fn token(value: &str, expiry: Option<i64>) -> Secrets {
    let mut secrets = Secrets::token_only(Secret::new(value));
    secrets.password_expiry_utc = expiry;
    secrets
}

/// `n` days after `now()`, as git writes `password_expiry_utc`.
pub fn days(n: i64) -> i64 {
    (now() + TimeDelta::days(n)).timestamp()
}

/// The record of `user`'s GitHub token (classic) for `target`, stored
/// `days_ago` days before `now()`.
pub fn stored_record(target: Target, user: &str, days_ago: i64) -> Record {
    Record::new(
        target,
        user.into(),
        TokenKind::GithubClassic,
        now() - TimeDelta::days(days_ago),
    )
}

/// `record`, its credential's `secrets` put in `memory`, at the item the
/// store chose.
pub fn keep(memory: &Memory, mut record: Record, secrets: &Secrets) -> Record {
    let key = Key::new(record.target.clone(), record.username.clone());
    record.keychain_item = memory.set(&key, secrets).unwrap();
    record
}
