//! `rotate`'s write: the new token in the keychain, in one call that
//! replaces the old one, and the record made to describe it (its kind,
//! when it was rotated, what the forge said, an expiry given by hand).

use std::io::Write;

use thiserror::Error;

use super::{Storage, warn_index};
use crate::credential::{Secrets, TokenKind};
use crate::forge::{self, Facts, ProbeError};
use crate::index::IndexError;
use crate::keychain::{Key, KeychainError};
use crate::output::Messages;
use crate::record::{Expiry, Record, SecretFacts};

/// Why a rotation was not recorded: the keychain refused the new token (the
/// caller says what that left behind), or the index could not be written.
#[derive(Debug, Error)]
pub enum RotateError {
    #[error(transparent)]
    Keychain(KeychainError),
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl Storage<'_> {
    /// Stores `secrets`, a new token of `kind`, in place of `record`'s, and
    /// makes the record describe it: `outcome` is what the forge said of
    /// it, `manual` an expiry the person gave.
    pub fn rotate(
        &self,
        record: &Record,
        secrets: &Secrets,
        kind: TokenKind,
        outcome: Option<&Result<Facts, ProbeError>>,
        manual: Option<Expiry>,
        messages: &mut Messages<impl Write>,
    ) -> Result<(), RotateError> {
        let key = Key::new(record.target.clone(), record.username.clone());
        self.keychain
            .set(&key, secrets)
            .map_err(RotateError::Keychain)?;
        let (id, now) = (record.id.clone(), self.now);
        self.index.update(&mut warn_index(messages), |records| {
            let found = records.iter_mut().find(|r| r.id == id);
            let changed = found.is_some();
            if let Some(record) = found {
                record.replace_secret(
                    SecretFacts {
                        kind,
                        git_expiry: None,
                        refreshable: false,
                    },
                    now,
                );
                record.rotated_at = Some(now);
                if let Some(outcome) = outcome {
                    forge::record_outcome(record, outcome, now);
                }
                record.expiry.manual = manual;
            }
            ((), changed)
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Secret;
    use crate::index::Index;
    use crate::keychain::SecretStore;
    use crate::keychain::memory::Memory;
    use crate::testing::{https, now};

    #[test]
    fn a_rotation_replaces_the_secret_and_the_record_describes_the_new_token() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let store = Memory::default();
        let mut record = Record::new(
            https("gitlab.example.com"),
            "alice".into(),
            TokenKind::GitlabPersonal,
            now() - chrono::TimeDelta::days(80),
        );
        record.expiry.git = Some(Expiry::At(now() - chrono::TimeDelta::days(1)));
        record.last_warned_at = Some(now());
        let key = Key::new(record.target.clone(), "alice");
        store
            .set(&key, &Secrets::token_only(Secret::new("glpat-TESTold")))
            .unwrap();
        let kept = record.clone();
        index
            .update(&mut |_| {}, |records| {
                records.push(kept);
                ((), true)
            })
            .unwrap();
        let storage = Storage {
            index: &index,
            keychain: &store,
            now: now(),
        };
        let new = Secrets::token_only(Secret::new("glpat-TESTnew"));
        let manual = Some(Expiry::At(now() + chrono::TimeDelta::days(90)));
        let mut messages = Messages::plain(Vec::new());
        storage
            .rotate(
                &record,
                &new,
                TokenKind::GitlabPersonal,
                None,
                manual,
                &mut messages,
            )
            .unwrap();
        assert_eq!(store.find(&key, None).unwrap().unwrap().secrets, new);
        let rotated = &index.read().records[0];
        assert_eq!(rotated.rotated_at, Some(now()));
        assert_eq!(rotated.expiry.manual, manual);
        assert_eq!(rotated.expiry.git, None, "the old token's expiry is gone");
        assert_eq!(rotated.stored_at, now());
    }
}
