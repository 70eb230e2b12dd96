//! `erase`: a credential's secret leaves the keychain and its record keeps
//! a note (when, and who erased it), so that `list` can say "rejected by
//! the server on DATE and removed" instead of forgetting silently. Git's
//! `erase` takes whatever `get` could have answered with
//! (`matching::to_erase`); a person's names one credential.

use std::io::Write;

use super::{Storage, warn_index};
use crate::credential::Target;
use crate::keychain::{Key, KeychainError};
use crate::matching::{NamedSecret, ToErase, to_erase};
use crate::output::Messages;
use crate::record::{ErasedBy, Erasure};

impl Storage<'_> {
    /// Git's `erase` of what a request names (`target`, `username`, and the
    /// secret it names, if any), after a server refused it. A keychain
    /// that cannot list its own accounts does not keep the index's
    /// credentials from being erased; a warning says so.
    pub fn erase_requested(
        &self,
        target: &Target,
        username: Option<&str>,
        named: &NamedSecret,
        messages: &mut Messages<impl Write>,
    ) -> Result<(), KeychainError> {
        let snapshot = self.index.read_host(&target.protocol, &target.host);
        let ToErase { keys, unlisted } = to_erase(
            &snapshot.records,
            self.index
                .speaks_for_host(&snapshot, &target.protocol, &target.host),
            target,
            username,
            named,
            self.keychain,
        )?;
        let mut erased = Vec::new();
        for key in keys {
            self.keychain.delete(&key)?;
            erased.push(key);
        }
        if let Some(err) = unlisted {
            messages.warning(&format!(
                "erased only the credentials the index knows for {}: the keychain could not \
                 list its own ({err}); `git credential-patrol doctor` checks the keychain",
                target.url()
            ));
        }
        self.complete(false, messages);
        self.note_erasure(&erased, ErasedBy::Git, messages);
        Ok(())
    }

    /// A person's erase of the one credential under `key`; whether the
    /// keychain held it. The index says it was erased either way.
    pub fn erase(
        &self,
        key: &Key,
        messages: &mut Messages<impl Write>,
    ) -> Result<bool, KeychainError> {
        let existed = self.keychain.delete(key)?;
        self.note_erasure(std::slice::from_ref(key), ErasedBy::User, messages);
        Ok(existed)
    }

    /// Notes in the index that the credentials under `keys` (of one
    /// protocol and host) were erased, when and by whom, so that `list`
    /// can say so instead of forgetting silently.
    fn note_erasure(&self, keys: &[Key], by: ErasedBy, messages: &mut Messages<impl Write>) {
        let Some(first) = keys.first() else {
            return;
        };
        crate::test_hook::crash_point("erase-after-keychain");
        let now = self.now;
        let noted = self.index.update_host(
            &first.target.protocol,
            &first.target.host,
            &mut warn_index(messages),
            |records| {
                let mut changed = false;
                for record in records.iter_mut() {
                    if record.is_live()
                        && keys
                            .iter()
                            .any(|k| record.same_credential(&k.target, &k.username))
                    {
                        record.erased = Some(Erasure { at: now, by });
                        record.keychain_item = None;
                        changed = true;
                    }
                }
                ((), changed)
            },
        );
        if let Err(err) = noted {
            messages.warning(&format!("the credential was erased, but {err:#}"));
        }
    }
}
