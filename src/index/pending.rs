//! The notes of stores in flight: before it writes the keychain for a
//! credential the index does not know yet, `store` leaves an empty file in
//! `index/pending/` named after the host's shard, and removes it once the
//! index knows the credential. A note left by a store that died tells
//! `get` to ask the keychain on a miss for that host, and the next rebuild
//! to look.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use super::shard::{SHARD_SUFFIX, shard_name};
use super::{Index, IndexError};
use crate::fs::{create_private_dir, no_follow, sync_dir};

const PENDING_DIR: &str = "pending";
/// A pending note older than this belongs to a store that died: a store
/// lasts milliseconds, or the keychain's timeout at most.
pub const PENDING_STALE: Duration = Duration::from_secs(120);

impl Index {
    fn pending_dir(&self) -> PathBuf {
        self.path().join(PENDING_DIR)
    }

    /// What every pending note for `protocol` and `host` starts with.
    fn pending_prefix(protocol: &str, host: &str) -> String {
        let name = shard_name(protocol, host);
        format!("{}.", name.trim_end_matches(SHARD_SUFFIX))
    }

    /// Notes, before the keychain is written, that a credential the index
    /// does not know yet is being stored for `protocol` and `host`. If the
    /// store dies before its index write, the note stays, and a `get` that
    /// finds nothing for that host in the index asks the keychain (a miss
    /// for any other host still asks nothing). Dropping the note removes it.
    pub fn begin_pending(&self, protocol: &str, host: &str) -> Result<Pending, IndexError> {
        self.create_dir()?;
        let dir = self.pending_dir();
        create_private_dir(&dir).map_err(|source| IndexError::Directory {
            dir: dir.clone(),
            source,
        })?;
        let mut random = [0u8; 8];
        let _ = getrandom::fill(&mut random);
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = dir.join(format!("{}{suffix}", Self::pending_prefix(protocol, host)));
        // An empty file whose name is the note: created, not replaced, and
        // made durable before the keychain is written.
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        no_follow(&mut options);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .and_then(|_| sync_dir(&dir))
            .map_err(|source| IndexError::Write {
                path: path.clone(),
                source,
            })?;
        Ok(Pending { path: Some(path) })
    }

    /// The pending notes for `protocol` and `host`, and how old each is.
    pub fn pending(&self, protocol: &str, host: &str) -> Vec<(PathBuf, Duration)> {
        self.pending_notes(&Self::pending_prefix(protocol, host))
    }

    /// Whether a store of any host left a note: in flight, or cut short.
    pub fn has_pending(&self) -> bool {
        !self.pending_notes("").is_empty()
    }

    /// The notes whose names start with `prefix`, and how old each is.
    fn pending_notes(&self, prefix: &str) -> Vec<(PathBuf, Duration)> {
        let Ok(entries) = fs::read_dir(self.pending_dir()) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_name().to_string_lossy().starts_with(prefix))
            .map(|entry| {
                let age = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|at| at.elapsed().ok())
                    .unwrap_or_default();
                (entry.path(), age)
            })
            .collect()
    }

    /// Removes the notes of stores that died, once what they stored is in
    /// the index again.
    pub fn clear_stale_pending(&self, protocol: &str, host: &str) {
        Self::remove_stale(self.pending(protocol, host));
    }

    /// `clear_stale_pending` for every host: after a rebuild from the
    /// keychain's whole list, which found what any dead store wrote.
    pub fn clear_all_stale_pending(&self) {
        Self::remove_stale(self.pending_notes(""));
    }

    fn remove_stale(notes: Vec<(PathBuf, Duration)>) {
        for (path, age) in notes {
            if age >= PENDING_STALE {
                let _ = fs::remove_file(path);
            }
        }
    }
}

/// A store in flight for a credential the index does not know yet; see
/// `Index::begin_pending`.
pub struct Pending {
    path: Option<PathBuf>,
}

impl Pending {
    /// The index could not record the credential: the note stays, so that
    /// `get` still finds the secret in the keychain.
    pub fn keep(mut self) {
        self.path = None;
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}
