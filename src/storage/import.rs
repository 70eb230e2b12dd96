//! `import`'s writes: a credential from git's plaintext files into the
//! keychain and the index, through `save`, and checked afterwards; a line
//! of the file may go only once its token is found again where it lasts.

use std::io::Write;

use anyhow::Result;

use super::Storage;
use crate::config::Settings;
use crate::credential::{Secrets, Target};
use crate::keychain::Key;
use crate::output::Messages;

/// What became of one imported credential.
#[derive(Debug, PartialEq, Eq)]
pub enum Imported {
    /// Stored and verified.
    Imported,
    /// The keychain already held this token, and the index knows it.
    AlreadyThere,
    /// The keychain holds a different token for the same URL and account.
    Conflict,
    /// Stored, but not found again, or not indexed: why.
    Unverified(&'static str),
}

impl Storage<'_> {
    /// Imports `secrets` for `target` and `username` (`settings` are that
    /// URL's, as `save` takes them): saved when new, a lasting copy written
    /// when the keychain holds it only in memory, its record written when
    /// the index lacks it; then read back.
    pub fn import(
        &self,
        settings: &Settings,
        target: &Target,
        username: &str,
        secrets: &Secrets,
        messages: &mut Messages<impl Write>,
    ) -> Result<Imported> {
        let keychain = self.keychain;
        let key = Key::new(target.clone(), username);
        let indexed = || {
            self.index
                .read()
                .records
                .iter()
                .any(|r| r.is_live() && r.same_credential(target, username))
        };
        if let Some(found) = keychain.find(&key, None)? {
            let stored = found.secrets;
            if stored.password != secrets.password {
                return Ok(Imported::Conflict);
            }
            // Held, but only in memory (stored before a lasting keyring
            // existed): the line goes only once a lasting copy is written.
            if let Some(item) = &found.item
                && keychain.is_temporary_item(item)?
            {
                let lasting = match keychain.set(&key, &stored)? {
                    Some(written) if !keychain.is_temporary_item(&written)? => {
                        keychain.find(&key, Some(&written))?.is_some_and(|back| {
                            back.secrets == stored && back.item.as_deref() == Some(written.as_str())
                        })
                    }
                    _ => false,
                };
                if !lasting {
                    return Ok(Imported::Unverified(
                        "the keychain holds it only in memory, and a lasting copy could not \
                         be found after writing one",
                    ));
                }
            }
            if indexed() {
                return Ok(Imported::AlreadyThere);
            }
            // In the keychain but not in the index (an import stopped
            // between the two): saving what the keychain holds writes the
            // record only.
            let saved = self.save(settings, target, username, &stored, None, messages)?;
            return Ok(if saved.indexed {
                Imported::AlreadyThere
            } else {
                Imported::Unverified("the index could not record it")
            });
        }
        let saved = self.save(settings, target, username, secrets, None, messages)?;
        let read_back = keychain.find(&key, None)?.map(|found| found.secrets);
        if read_back.and_then(|s| s.password) != secrets.password {
            return Ok(Imported::Unverified(
                "the keychain did not give the token back after storing it",
            ));
        }
        if !saved.indexed {
            return Ok(Imported::Unverified(
                "it is in the keychain, but the index could not record it",
            ));
        }
        Ok(Imported::Imported)
    }
}

/// Over the in-memory store, for a host no forge is asked about.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Index;
    use crate::keychain::SecretStore;
    use crate::keychain::memory::Memory;
    use crate::testing::{https, now, token};

    fn import(storage: &Storage, user: &str, value: &str) -> Imported {
        let mut messages = Messages::plain(Vec::new());
        storage
            .import(
                &Settings::defaults(),
                &https("git.example.com"),
                user,
                &token(value, None),
                &mut messages,
            )
            .unwrap()
    }

    #[test]
    fn an_import_stores_once_refuses_another_token_and_records_what_the_index_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let store = Memory::default();
        let storage = Storage {
            index: &index,
            keychain: &store,
            now: now(),
        };
        assert_eq!(import(&storage, "alice", "TESTone"), Imported::Imported);
        let key = Key::new(https("git.example.com"), "alice");
        let held = store.find(&key, None).unwrap().unwrap().secrets;
        assert_eq!(held, token("TESTone", None));
        assert_eq!(index.read().records.len(), 1);

        assert_eq!(import(&storage, "alice", "TESTone"), Imported::AlreadyThere);
        assert_eq!(import(&storage, "alice", "TESTtwo"), Imported::Conflict);
        let held = store.find(&key, None).unwrap().unwrap().secrets;
        assert_eq!(
            held,
            token("TESTone", None),
            "a conflict leaves the keychain alone"
        );

        // In the keychain only (an import stopped between the two): the
        // record is written, the secret left as it is.
        let bob = Key::new(https("git.example.com"), "bob");
        store.set(&bob, &token("TESTbob", None)).unwrap();
        assert_eq!(import(&storage, "bob", "TESTbob"), Imported::AlreadyThere);
        let records = index.read().records;
        assert!(records.iter().any(|r| r.username == "bob" && r.is_live()));
    }
}
