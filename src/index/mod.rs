//! The metadata index: what we know about each credential except its secret.
//! Only I/O lives here (reading, locking, writing); the records themselves
//! are `record`'s.
//!
//! The index is a directory, `index/` in the data directory, holding one
//! small JSON file (a shard) per protocol and host, so that `get` reads one
//! small file whatever else is stored, and damage to one shard costs only
//! that shard. A marker file, `complete`, says that the shards speak for
//! every credential in the keychain: then a missing shard is a definite
//! miss, and nothing else is asked. Without it (the index was lost, or a
//! shard was damaged and set aside), a miss is looked up in the keychain,
//! and the next write first rebuilds the index from the keychain's own list
//! of our items, then sets the marker again. The marker is also set when a
//! version-1 `index.json` (one file for everything) has been migrated.
//!
//! Writers take `index.lock` (a separate file, because shards are replaced
//! by rename), read, change, and replace each changed shard atomically
//! (`replace_file`), so concurrent git processes lose no update and a
//! reader never sees half a file. Every file is opened without following a
//! symbolic link and without blocking, and must be a regular file of
//! bounded size: a FIFO or a link in the index's place cannot hold `get`.
//!
//! The index is a convenience: a missing or damaged one never stops `get`
//! (the keychain can answer alone), and a damaged one is set aside, not lost.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use thiserror::Error;

pub use pending::{PENDING_STALE, Pending};
use shard::{ParseProblem, SHARD_SUFFIX, file_name, read_file, set_aside, shard_json, shard_name};

use crate::credential::Target;
use crate::fs::{create_private_dir, no_follow, regular, replace_file, replace_files, sync_dir};
use crate::record::Record;

mod pending;
mod shard;

const LEGACY_NAME: &str = "index.json";
const SHARDS_DIR: &str = "index";
const COMPLETE_NAME: &str = "complete";
const LOCK_NAME: &str = "index.lock";
/// A writer holds the lock for milliseconds; waiting longer means something
/// is wrong, and git must not wait with us.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// One host's records are a few kilobytes; anything far larger is not ours.
const MAX_SHARD: u64 = 16 << 20;
/// A version-1 index held every record: ten thousand are about 4 MB.
const MAX_LEGACY: u64 = 256 << 20;

#[derive(Debug, Error)]
pub enum IndexError {
    #[error("cannot use the index directory {}: {source}", .dir.display())]
    Directory { dir: PathBuf, source: io::Error },
    #[error("cannot write the index {}: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("the index {} is locked by another process for more than {} s; if none is running, delete the lock file", .path.display(), LOCK_WAIT.as_secs())]
    LockTimeout { path: PathBuf },
    #[error(
        "the index {} was written by a newer git-credential-patrol (schema {found}); \
         it is left as it is: upgrade git-credential-patrol",
        .path.display()
    )]
    NewerSchema { path: PathBuf, found: u32 },
}

/// What reading the index found.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub records: Vec<Record>,
    /// Set when a file could not be used; its records are then missing.
    pub problem: Option<String>,
    /// Whether the index speaks for every credential stored.
    complete: bool,
}

impl Snapshot {
    /// Whether the records speak for every credential stored (of the host
    /// read, or of all). Otherwise only the keychain knows what is stored.
    pub fn is_usable(&self) -> bool {
        self.complete && self.problem.is_none()
    }
}

pub struct Index {
    dir: PathBuf,
}

impl Index {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The platform's data directory for git-credential-patrol.
    pub fn default_dir() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "git-credential-patrol")
            .map(|dirs| dirs.data_dir().to_path_buf())
    }

    /// The directory of shards: what a person would look at.
    pub fn path(&self) -> PathBuf {
        self.dir.join(SHARDS_DIR)
    }

    /// The data directory: the index, its lock, `install`'s record, and
    /// the note of where git keeps its system file (`config_sources`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn legacy_path(&self) -> PathBuf {
        self.dir.join(LEGACY_NAME)
    }

    fn marker_path(&self) -> PathBuf {
        self.path().join(COMPLETE_NAME)
    }

    /// The shard that holds the records of `protocol` and `host`.
    pub fn shard_path(&self, protocol: &str, host: &str) -> PathBuf {
        self.path().join(shard_name(protocol, host))
    }

    /// Whether `snapshot`, read for `protocol` and `host`, speaks for every
    /// credential stored for that host: the index is complete, the shard
    /// was read whole, and no `store` stopped (or is still running) between
    /// its keychain write and its index write, which leaves a pending note.
    /// Otherwise a miss asks the keychain. `get`, `erase` and `store` share
    /// this rule, so that `erase` finds whatever `get` would answer with;
    /// the notes cost a directory read, so `get` asks only on a miss.
    pub fn speaks_for_host(&self, snapshot: &Snapshot, protocol: &str, host: &str) -> bool {
        snapshot.is_usable() && self.pending(protocol, host).is_empty()
    }

    /// Whether the shards speak for every credential in the keychain.
    pub fn is_complete(&self) -> bool {
        self.marker_path().is_file()
    }

    /// Whether a version-1 `index.json` still waits to be migrated.
    fn has_legacy(&self) -> bool {
        !self.is_complete() && self.legacy_path().exists()
    }

    /// Every record. Never fails; `problem` names what could not be read.
    pub fn read(&self) -> Snapshot {
        let snapshot = if self.has_legacy() {
            self.read_legacy(|_| true)
        } else {
            let mut snapshot = Snapshot {
                complete: self.is_complete(),
                ..Snapshot::default()
            };
            for path in self.shard_paths() {
                match read_file(&path, MAX_SHARD) {
                    Ok(Some(file)) => snapshot.records.extend(file.credentials),
                    Ok(None) => {}
                    Err(problem) => join_problem(&mut snapshot, problem.message(&path)),
                }
            }
            snapshot
        };
        traced(snapshot, "all hosts")
    }

    /// The records of `protocol` and `host` only, from their one shard: the
    /// hot path of `get`, `store` and `erase`.
    pub fn read_host(&self, protocol: &str, host: &str) -> Snapshot {
        let ours = |r: &Record| r.target.protocol == protocol && r.target.host == host;
        let snapshot = if self.has_legacy() {
            self.read_legacy(ours)
        } else {
            let path = self.shard_path(protocol, host);
            let complete = self.is_complete();
            match read_file(&path, MAX_SHARD) {
                Ok(file) => Snapshot {
                    records: file
                        .map(|f| f.credentials.into_iter().filter(ours).collect())
                        .unwrap_or_default(),
                    problem: None,
                    complete,
                },
                Err(problem) => Snapshot {
                    records: Vec::new(),
                    problem: Some(problem.message(&path)),
                    complete,
                },
            }
        };
        traced(snapshot, &format!("{protocol}://{host}"))
    }

    /// A version-1 index not migrated yet: read whole, until the first write
    /// migrates it.
    fn read_legacy(&self, keep: impl Fn(&Record) -> bool) -> Snapshot {
        let path = self.legacy_path();
        match read_file(&path, MAX_LEGACY) {
            Ok(file) => Snapshot {
                records: file
                    .map(|f| f.credentials.into_iter().filter(|r| keep(r)).collect())
                    .unwrap_or_default(),
                problem: None,
                complete: true,
            },
            Err(problem) => Snapshot {
                records: Vec::new(),
                problem: Some(problem.message(&path)),
                complete: false,
            },
        }
    }

    /// Locks, reads every shard, lets `change` edit the records, and writes
    /// back the shards whose records changed when `change` says it changed
    /// something. For a person's commands; git's go through `update_host`.
    pub fn update<T>(
        &self,
        warn: &mut dyn FnMut(&str),
        change: impl FnOnce(&mut Vec<Record>) -> (T, bool),
    ) -> Result<T, IndexError> {
        let _lock = self.lock(LOCK_WAIT)?;
        self.migrate(warn)?;
        let mut before: BTreeMap<String, Vec<Record>> = BTreeMap::new();
        for path in self.shard_paths() {
            let records = self.read_for_update(&path, warn)?;
            let name = file_name(&path);
            before.insert(name, records);
        }
        let mut records: Vec<Record> = before.values().flatten().cloned().collect();
        let (result, changed) = change(&mut records);
        if changed {
            let after = by_shard(records);
            // Written together, the syncs batched: a rebuild may write a
            // shard for each of thousands of hosts.
            let mut files = Vec::new();
            for (name, records) in &after {
                if before.get(name) != Some(records) {
                    let path = self.path().join(name);
                    let json = shard_json(records).map_err(|source| IndexError::Write {
                        path: path.clone(),
                        source,
                    })?;
                    files.push((path, json));
                }
            }
            if !files.is_empty() {
                let named = match files.as_slice() {
                    [(path, _)] => path.clone(),
                    _ => self.path(),
                };
                replace_files(&self.path(), &files).map_err(|source| IndexError::Write {
                    path: named,
                    source,
                })?;
                crate::trace!("index written: {} shards", files.len());
            }
            let emptied = before
                .iter()
                .filter(|(name, records)| !records.is_empty() && !after.contains_key(*name));
            for (name, _) in emptied {
                let path = self.path().join(name);
                fs::remove_file(&path).map_err(|source| IndexError::Write { path, source })?;
            }
        }
        Ok(result)
    }

    /// `update`, for the records of one protocol and host: one shard read
    /// and written, whatever else is stored.
    pub fn update_host<T>(
        &self,
        protocol: &str,
        host: &str,
        warn: &mut dyn FnMut(&str),
        change: impl FnOnce(&mut Vec<Record>) -> (T, bool),
    ) -> Result<T, IndexError> {
        let lock = self.lock(LOCK_WAIT)?;
        self.update_host_locked(&lock, protocol, host, warn, change)
    }

    /// `update_host` for `get`, which must never wait for another process:
    /// when the lock is taken, nothing changes and `None` comes back.
    pub fn update_host_if_unlocked<T>(
        &self,
        protocol: &str,
        host: &str,
        warn: &mut dyn FnMut(&str),
        change: impl FnOnce(&mut Vec<Record>) -> (T, bool),
    ) -> Result<Option<T>, IndexError> {
        let lock = match self.lock(Duration::ZERO) {
            Ok(lock) => lock,
            Err(IndexError::LockTimeout { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        self.update_host_locked(&lock, protocol, host, warn, change)
            .map(Some)
    }

    fn update_host_locked<T>(
        &self,
        _lock: &File,
        protocol: &str,
        host: &str,
        warn: &mut dyn FnMut(&str),
        change: impl FnOnce(&mut Vec<Record>) -> (T, bool),
    ) -> Result<T, IndexError> {
        self.migrate(warn)?;
        let path = self.shard_path(protocol, host);
        let mut records = self.read_for_update(&path, warn)?;
        let (result, changed) = change(&mut records);
        if changed {
            self.write_shard(&path, &records)?;
        }
        Ok(result)
    }

    /// Adds a record for each credential the keychain holds that the index
    /// does not know, then marks the index complete: `found` must hold every
    /// item of ours the keychain has that the index lacks (more does no
    /// harm), as `record` builds them. Returns the records added.
    pub fn rebuild(
        &self,
        warn: &mut dyn FnMut(&str),
        found: Vec<Record>,
    ) -> Result<Vec<Record>, IndexError> {
        let added = self.update(warn, |records| {
            // `record::add_found` for each, with the records looked up by
            // credential rather than scanned: a rebuild may add thousands.
            let mut known: HashMap<(Target, String), (usize, bool)> = HashMap::new();
            for (at, r) in records.iter().enumerate() {
                let first = known
                    .entry((r.target.clone(), r.username.clone()))
                    .or_insert((at, false));
                first.1 |= r.is_live();
            }
            let mut added = Vec::new();
            for record in found {
                let credential = (record.target.clone(), record.username.clone());
                match known.get(&credential) {
                    Some(&(_, true)) => continue,
                    // An erased record takes its place: one record per
                    // credential.
                    Some(&(at, false)) => records[at] = record.clone(),
                    None => records.push(record.clone()),
                }
                let at = known
                    .get(&credential)
                    .map_or(records.len() - 1, |&(at, _)| at);
                known.insert(credential, (at, true));
                added.push(record);
            }
            let changed = !added.is_empty();
            (added, changed)
        })?;
        self.mark_complete()?;
        crate::trace!(
            "index rebuilt from the keychain: {} records added",
            added.len()
        );
        Ok(added)
    }

    /// Moves a version-1 `index.json` into shards, nothing lost: every
    /// record is written before the old file is renamed aside, and records
    /// already in a shard (a migration cut short) are not written twice.
    /// A damaged one is set aside, and the index is left incomplete so
    /// that the keychain fills it. The caller holds the lock.
    fn migrate(&self, warn: &mut dyn FnMut(&str)) -> Result<(), IndexError> {
        self.create_dir()?;
        if !self.has_legacy() {
            return Ok(());
        }
        let legacy = self.legacy_path();
        let records = match read_file(&legacy, MAX_LEGACY) {
            Ok(file) => file.map(|f| f.credentials).unwrap_or_default(),
            Err(ParseProblem::Newer(found)) => {
                return Err(IndexError::NewerSchema {
                    path: legacy,
                    found,
                });
            }
            Err(problem) => {
                let aside = set_aside(&legacy)?;
                warn(&format!(
                    "{}; it was moved to {}, and the index is rebuilt from the keychain",
                    problem.message(&legacy),
                    aside.display()
                ));
                return Ok(());
            }
        };
        let shards = by_shard(records);
        let count: usize = shards.values().map(Vec::len).sum();
        for (name, records) in shards {
            let path = self.path().join(name);
            let mut merged = self.read_for_update(&path, warn)?;
            for record in records {
                if !merged.iter().any(|r| r.id == record.id) {
                    merged.push(record);
                }
            }
            self.write_shard(&path, &merged)?;
        }
        let done = self.dir.join(format!("{LEGACY_NAME}.migrated"));
        fs::rename(&legacy, &done).map_err(|source| IndexError::Write {
            path: legacy.clone(),
            source,
        })?;
        sync_dir(&self.dir).map_err(|source| IndexError::Write {
            path: self.dir.clone(),
            source,
        })?;
        self.mark_complete()?;
        crate::trace!("index migrated from version 1: {count} records");
        Ok(())
    }

    /// A shard's records for a writer: a damaged shard is set aside (never
    /// deleted) and named, and the index is no longer complete, so that the
    /// next write rebuilds what was in it from the keychain.
    fn read_for_update(
        &self,
        path: &Path,
        warn: &mut dyn FnMut(&str),
    ) -> Result<Vec<Record>, IndexError> {
        match read_file(path, MAX_SHARD) {
            Ok(file) => Ok(file.map(|f| f.credentials).unwrap_or_default()),
            Err(ParseProblem::Newer(found)) => Err(IndexError::NewerSchema {
                path: path.to_path_buf(),
                found,
            }),
            Err(problem) => {
                let aside = set_aside(path)?;
                self.mark_incomplete()?;
                warn(&format!(
                    "{}; it was moved to {}, and its credentials are found again in the keychain",
                    problem.message(path),
                    aside.display()
                ));
                Ok(Vec::new())
            }
        }
    }

    /// Every shard file, in a stable order.
    fn shard_paths(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(self.path()) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| file_name(path).ends_with(SHARD_SUFFIX))
            .collect();
        paths.sort();
        paths
    }

    /// Creates the data directory and the shards' directory, private to the
    /// user, when they are missing.
    pub fn create_dir(&self) -> Result<(), IndexError> {
        for dir in [self.dir.clone(), self.path()] {
            create_private_dir(&dir).map_err(|source| IndexError::Directory { dir, source })?;
        }
        Ok(())
    }

    fn mark_complete(&self) -> Result<(), IndexError> {
        let path = self.marker_path();
        replace_file(&path, b"{\"version\": 2}\n")
            .map_err(|source| IndexError::Write { path, source })
    }

    fn mark_incomplete(&self) -> Result<(), IndexError> {
        let path = self.marker_path();
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(IndexError::Write { path, source }),
        }
    }

    fn lock(&self, wait: Duration) -> Result<File, IndexError> {
        self.create_dir()?;
        let path = self.dir.join(LOCK_NAME);
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        no_follow(&mut options);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let fail = |source| IndexError::Write {
            path: path.clone(),
            source,
        };
        let file = options.open(&path).map_err(fail)?;
        regular(&file, 0).map_err(fail)?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(2));
                }
                Err(fs::TryLockError::WouldBlock) => return Err(IndexError::LockTimeout { path }),
                Err(fs::TryLockError::Error(source)) => {
                    return Err(IndexError::Write { path, source });
                }
            }
        }
    }

    fn write_shard(&self, path: &Path, records: &[Record]) -> Result<(), IndexError> {
        let fail = |source| IndexError::Write {
            path: path.to_path_buf(),
            source,
        };
        let json = shard_json(records).map_err(fail)?;
        replace_file(path, &json).map_err(fail)?;
        crate::trace!(
            "index written: {} records in {}",
            records.len(),
            file_name(path)
        );
        Ok(())
    }
}

fn join_problem(snapshot: &mut Snapshot, problem: String) {
    snapshot.problem = Some(match snapshot.problem.take() {
        Some(earlier) => format!("{earlier}; {problem}"),
        None => problem,
    });
}

/// Traces what a read found, and hands the snapshot on.
fn traced(snapshot: Snapshot, scope: &str) -> Snapshot {
    crate::trace!(
        "index read for {scope}: {} records{}{}",
        snapshot.records.len(),
        if snapshot.complete {
            ""
        } else {
            " (index incomplete)"
        },
        snapshot
            .problem
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default()
    );
    snapshot
}

/// `records` grouped by the shard each belongs in, by the shard's file name.
fn by_shard(records: Vec<Record>) -> BTreeMap<String, Vec<Record>> {
    let mut shards: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for record in records {
        shards
            .entry(shard_name(&record.target.protocol, &record.target.host))
            .or_default()
            .push(record);
    }
    shards
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::TokenKind;
    use crate::record::Expiry;
    use crate::testing::https;

    fn record(host: &str, user: &str) -> Record {
        Record::new(
            https(host),
            user.into(),
            TokenKind::GithubClassic,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        )
    }

    fn add(index: &Index, record: Record) {
        let (protocol, host) = (record.target.protocol.clone(), record.target.host.clone());
        index
            .update_host(&protocol, &host, &mut |w| panic!("{w}"), |records| {
                records.push(record);
                ((), true)
            })
            .unwrap();
    }

    /// An index as a first `store` leaves it: complete, then one record.
    fn started(dir: &Path) -> Index {
        let index = Index::new(dir.join("data"));
        index.rebuild(&mut |w| panic!("{w}"), Vec::new()).unwrap();
        index
    }

    #[test]
    fn records_survive_a_round_trip_one_shard_per_host() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        assert!(!index.read().is_usable());
        index.rebuild(&mut |_| {}, Vec::new()).unwrap();
        assert!(index.read().is_usable());
        let mut original = record("github.com", "alice");
        original.expiry.git = Some(Expiry::At("2026-12-01T00:00:00Z".parse().unwrap()));
        original.expiry.manual = Some(Expiry::Never);
        add(&index, original.clone());
        add(&index, record("gitlab.com", "bob"));
        assert_eq!(index.read_host("https", "github.com").records, [original]);
        assert!(index.read_host("https", "github.com").is_usable());
        assert_eq!(index.read().records.len(), 2);
        let miss = index.read_host("https", "example.com");
        assert!(
            miss.records.is_empty() && miss.is_usable(),
            "a definite miss"
        );
        let text = fs::read_to_string(index.shard_path("https", "github.com")).unwrap();
        assert!(text.contains("\"manual\": \"never\""), "{text}");
        assert!(!text.contains("gitlab"), "{text}");
    }

    #[test]
    fn shard_names_are_plain_and_never_collide() {
        assert_eq!(shard_name("https", "github.com"), "https_github.com.json");
        assert_eq!(
            shard_name("https", "git.example.com:8443"),
            "https_git.example.com%3A8443.json"
        );
        assert_ne!(
            shard_name("https", "GitHub.com"),
            shard_name("https", "github.com")
        );
        assert_ne!(shard_name("a_b", "c"), shard_name("a", "b_c"));
        let long = shard_name("https", &"x".repeat(300));
        assert_eq!(long.len(), 32 + SHARD_SUFFIX.len());
        assert!(!shard_name("https", "../etc").contains('/'));
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let index = started(dir.path());
        add(&index, record("h", "u"));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&index.shard_path("https", "h")), 0o600);
        assert_eq!(mode(&index.marker_path()), 0o600);
        assert_eq!(mode(&dir.path().join("data")), 0o700);
        assert_eq!(mode(&index.path()), 0o700);
    }

    #[test]
    fn damage_stays_in_one_shard_which_is_set_aside_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let index = started(dir.path());
        add(&index, record("a.example", "alice"));
        add(&index, record("b.example", "bob"));
        let damaged = index.shard_path("https", "a.example");
        fs::write(&damaged, "{not json").unwrap();
        let snapshot = index.read_host("https", "a.example");
        assert!(!snapshot.is_usable());
        assert!(snapshot.problem.unwrap().contains("https_a.example.json"));
        assert!(index.read_host("https", "b.example").is_usable());
        let mut warnings = Vec::new();
        add_with(&index, record("a.example", "carol"), &mut warnings);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("https_a.example.json"), "{warnings:?}");
        assert!(warnings[0].contains("moved to"), "{warnings:?}");
        assert!(!index.is_complete(), "what it held must be found again");
        assert_eq!(index.read().records.len(), 2);
        let aside = fs::read_dir(index.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains(".damaged-"));
        assert!(aside);
    }

    #[test]
    fn two_files_set_aside_in_one_second_are_both_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("https_a.example.json");
        let mut asides = Vec::new();
        for content in ["{first", "{second"] {
            fs::write(&path, content).unwrap();
            asides.push(set_aside(&path).unwrap());
        }
        assert_ne!(asides[0], asides[1]);
        let kept: Vec<String> = asides
            .iter()
            .map(|aside| fs::read_to_string(aside).unwrap())
            .collect();
        assert_eq!(kept, ["{first", "{second"]);
    }

    fn add_with(index: &Index, record: Record, warnings: &mut Vec<String>) {
        let (protocol, host) = (record.target.protocol.clone(), record.target.host.clone());
        index
            .update_host(
                &protocol,
                &host,
                &mut |w| warnings.push(w.to_owned()),
                |records| {
                    records.push(record);
                    ((), true)
                },
            )
            .unwrap();
    }

    #[test]
    fn a_newer_schema_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let index = started(dir.path());
        let path = index.shard_path("https", "h");
        fs::write(&path, r#"{"version": 99, "credentials": []}"#).unwrap();
        assert!(
            index
                .read_host("https", "h")
                .problem
                .unwrap()
                .contains("newer")
        );
        let err = index
            .update_host("https", "h", &mut |_| {}, |_| ((), true))
            .unwrap_err();
        assert!(matches!(err, IndexError::NewerSchema { found: 99, .. }));
        assert!(fs::read_to_string(&path).unwrap().contains("99"));
    }

    #[test]
    fn a_version_1_index_of_a_thousand_records_migrates_with_nothing_lost() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        index.create_dir().unwrap();
        let records: Vec<Record> = (0..1000)
            .map(|i| {
                let mut r = record(&format!("host{}.example", i % 300), &format!("user{i}"));
                r.expiry.git = Some(Expiry::At("2027-01-01T00:00:00Z".parse().unwrap()));
                r
            })
            .collect();
        let v1 = serde_json::json!({"version": 1, "credentials": records});
        fs::write(index.legacy_path(), serde_json::to_vec_pretty(&v1).unwrap()).unwrap();
        // Before the first write, readers see it as it is.
        assert_eq!(index.read().records.len(), 1000);
        assert!(index.read_host("https", "host7.example").is_usable());
        assert_eq!(index.read_host("https", "host7.example").records.len(), 4);
        add(&index, record("new.example", "nora"));
        assert!(index.is_complete());
        assert!(!index.legacy_path().exists());
        assert!(dir.path().join("data/index.json.migrated").exists());
        let mut after = index.read().records;
        assert_eq!(after.len(), 1001);
        after.retain(|r| r.target.host != "new.example");
        let key = |r: &Record| r.id.clone();
        let mut before = records;
        before.sort_by_key(key);
        after.sort_by_key(key);
        assert_eq!(before, after, "every record, every field");
        assert_eq!(index.read_host("https", "host7.example").records.len(), 4);
    }

    #[test]
    fn a_damaged_version_1_index_is_set_aside_and_the_index_left_incomplete() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        index.create_dir().unwrap();
        fs::write(
            index.legacy_path(),
            "{\"version\": 1, \"credentials\": [tru",
        )
        .unwrap();
        assert!(!index.read().is_usable());
        let mut warnings = Vec::new();
        add_with(&index, record("a.example", "alice"), &mut warnings);
        assert!(
            warnings[0].contains("index.json is damaged"),
            "{warnings:?}"
        );
        assert!(!index.is_complete());
        index
            .rebuild(&mut |_| {}, vec![record("b.example", "bob")])
            .unwrap();
        assert!(index.is_complete());
        assert_eq!(index.read().records.len(), 2);
    }

    #[test]
    fn a_rebuild_adds_only_what_the_index_does_not_know() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        let mut known = record("a.example", "alice");
        known.expiry.manual = Some(Expiry::Never);
        add(&index, known.clone());
        assert!(!index.is_complete());
        let added = index
            .rebuild(
                &mut |_| {},
                vec![record("a.example", "alice"), record("b.example", "bob")],
            )
            .unwrap();
        let added: Vec<&str> = added.iter().map(|r| r.username.as_str()).collect();
        assert_eq!(added, ["bob"]);
        assert_eq!(index.read_host("https", "a.example").records, [known]);
        assert!(index.read_host("https", "b.example").is_usable());

        // An erased record makes way for the credential found again, and a
        // credential listed twice is added once.
        let mut erased = record("c.example", "carol");
        erased.erased = Some(crate::record::Erasure {
            at: crate::testing::now(),
            by: crate::record::ErasedBy::Git,
        });
        add(&index, erased);
        let again = record("c.example", "carol");
        let added = index
            .rebuild(
                &mut |_| {},
                vec![again.clone(), record("c.example", "carol")],
            )
            .unwrap();
        assert_eq!(added, std::slice::from_ref(&again));
        assert_eq!(index.read_host("https", "c.example").records, [again]);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_link_in_place_of_a_shard_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let index = started(dir.path());
        let fifo = index.shard_path("https", "fifo.example");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let started_at = Instant::now();
        let snapshot = index.read_host("https", "fifo.example");
        assert!(started_at.elapsed() < Duration::from_secs(2));
        assert!(
            snapshot.problem.unwrap().contains("not a regular file"),
            "a FIFO is named as such"
        );
        let target = dir.path().join("elsewhere.json");
        fs::write(&target, r#"{"version": 2, "credentials": []}"#).unwrap();
        let link = index.shard_path("https", "link.example");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(index.read_host("https", "link.example").problem.is_some());
        fs::remove_file(index.dir().join(LOCK_NAME)).unwrap();
        std::os::unix::fs::symlink(&target, index.dir().join(LOCK_NAME)).unwrap();
        assert!(matches!(
            index.update_host("https", "h", &mut |_| {}, |_| ((), false)),
            Err(IndexError::Write { .. })
        ));
    }

    #[test]
    fn a_taken_lock_is_not_waited_for_when_asked_not_to() {
        let dir = tempfile::tempdir().unwrap();
        let index = started(dir.path());
        let held = index.lock(LOCK_WAIT).unwrap();
        let started_at = Instant::now();
        let result = index.update_host_if_unlocked("https", "h", &mut |_| {}, |r| {
            r.push(record("h", "u"));
            ((), true)
        });
        assert!(matches!(result, Ok(None)));
        assert!(started_at.elapsed() < Duration::from_secs(1));
        assert!(index.read().records.is_empty());
        drop(held);
        let result = index.update_host_if_unlocked("https", "h", &mut |_| {}, |r| {
            r.push(record("h", "u"));
            ((), true)
        });
        assert!(matches!(result, Ok(Some(()))));
        assert_eq!(index.read().records.len(), 1);
    }

    #[test]
    fn concurrent_writers_lose_no_update() {
        let dir = tempfile::tempdir().unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let dir = dir.path().to_path_buf();
                thread::spawn(move || {
                    let index = Index::new(dir);
                    for i in 0..25 {
                        // Two hosts shared by every thread, and whole updates.
                        let host = format!("h{}", i % 2);
                        index
                            .update_host("https", &host, &mut |_| {}, |r| {
                                r.push(record(&host, &format!("u{t}-{i}")));
                                ((), true)
                            })
                            .unwrap();
                        index
                            .update(&mut |_| {}, |r| {
                                r.push(record(&format!("w{t}-{i}"), "u"));
                                ((), true)
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(
            Index::new(dir.path().to_path_buf()).read().records.len(),
            200
        );
    }
}
