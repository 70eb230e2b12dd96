//! The metadata index: what we know about each credential except its secret.
//!
//! `index.json` in the data directory holds, for each credential, where it is
//! used, its account, the kind of token, when it was stored and last used,
//! its expiry and where that came from, and whether it was erased. It never
//! holds a secret. Writers take `index.lock` (a separate file, because the
//! index itself is replaced by rename), read, change, write a temporary file
//! in the same directory and rename it over the index, so concurrent git
//! processes lose no update and a reader never sees half a file.
//!
//! The index is a convenience: a missing or damaged one never stops `get`
//! (the keychain can answer alone), and a damaged one is set aside, not lost.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::record::Record;

const SCHEMA_VERSION: u32 = 1;
const FILE_NAME: &str = "index.json";
const LOCK_NAME: &str = "index.lock";
/// A writer holds the lock for milliseconds; waiting longer means something
/// is wrong, and git must not wait with us.
const LOCK_WAIT: Duration = Duration::from_secs(10);

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

#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    #[serde(default)]
    credentials: Vec<Record>,
}

/// What reading the index found.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub records: Vec<Record>,
    /// Set when the file could not be used; the records are then empty.
    pub problem: Option<String>,
    /// Whether there was an index file to read.
    found: bool,
}

impl Snapshot {
    /// Whether the records speak for every credential stored. Without an
    /// index file, or with one that could not be used, only the keychain
    /// knows what is stored.
    pub fn is_usable(&self) -> bool {
        self.found && self.problem.is_none()
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

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// Reads the index without locking: writers replace it by rename, so
    /// this sees one whole version. Never fails; `problem` says what went
    /// wrong.
    pub fn read(&self) -> Snapshot {
        traced(self.read_inner(), "all hosts")
    }

    /// Like `read`, but only the records for `protocol` and `host` are read
    /// in full and returned: the hot path of `get`, `store` and `erase`,
    /// which never look at another host's records. With ten thousand
    /// records, parsing every one costs more than the whole `get` otherwise
    /// does; a record whose text cannot name this host is only skimmed
    /// (split off as raw JSON, never parsed). A damaged record of another
    /// host goes unnoticed here; the next full read (`store`'s update, `list`)
    /// reports it and sets the file aside.
    pub fn read_host(&self, protocol: &str, host: &str) -> Snapshot {
        let snapshot = match self.parse_host(protocol, host) {
            Some(records) => Snapshot {
                records,
                problem: None,
                found: true,
            },
            None => self.read_inner(),
        };
        traced(snapshot, &format!("{protocol}://{host}"))
    }

    /// The records of one host, or `None` when anything is unusual (no
    /// file, not JSON, a newer schema, a record that does not parse): the
    /// full read then decides, exactly as it always has.
    fn parse_host(&self, protocol: &str, host: &str) -> Option<Vec<Record>> {
        #[derive(Deserialize)]
        struct Skim<'a> {
            version: u32,
            #[serde(default, borrow)]
            credentials: Vec<&'a serde_json::value::RawValue>,
        }
        let needle = serde_json::to_string(host).ok()?;
        let mut file = File::open(self.path()).ok()?;
        if let Some(records) = find_in_layout(&mut file, protocol, host, &needle, SCAN_CHUNK) {
            return Some(records);
        }
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).ok()?;
        file.read_to_end(&mut bytes).ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        let file: Skim = serde_json::from_str(text).ok()?;
        if file.version > SCHEMA_VERSION {
            return None;
        }
        // Where the host's name, as serde_json writes it, or an escape
        // sequence (which could spell it differently) occurs: only a record
        // spanning one of these places can be one of this host's.
        let mut places: Vec<usize> = memchr::memmem::find_iter(text.as_bytes(), &needle)
            .chain(memchr::memchr_iter(b'\\', text.as_bytes()))
            .collect();
        places.sort_unstable();
        let mut places = places.into_iter().peekable();
        let mut records = Vec::new();
        for raw in file.credentials {
            let raw = raw.get();
            // The raw text borrows from `text`: its place is its offset.
            let start = (raw.as_ptr() as usize).checked_sub(text.as_ptr() as usize);
            if let Some(start) = start {
                while places.next_if(|&at| at < start).is_some() {}
                if places.peek().is_none_or(|&at| at >= start + raw.len()) {
                    continue;
                }
            }
            let record: Record = serde_json::from_str(raw).ok()?;
            if record.target.protocol == protocol && record.target.host == host {
                records.push(record);
            }
        }
        Some(records)
    }

    fn read_inner(&self) -> Snapshot {
        match self.parse() {
            Ok(Some(file)) => Snapshot {
                records: file.credentials,
                problem: None,
                found: true,
            },
            Ok(None) => Snapshot::default(),
            Err(problem) => Snapshot {
                records: Vec::new(),
                problem: Some(problem.message(&self.path())),
                found: true,
            },
        }
    }

    /// Locks, reads, lets `change` edit the records, and writes them back
    /// when `change` says it changed something. A damaged index is set aside
    /// (renamed, never deleted) and replaced; `warn` hears about it.
    pub fn update<T>(
        &self,
        warn: &mut dyn FnMut(&str),
        change: impl FnOnce(&mut Vec<Record>) -> (T, bool),
    ) -> Result<T, IndexError> {
        self.update_within(LOCK_WAIT, warn, change)
    }

    /// `update` for `get`, which must never wait for another process: when
    /// the lock is taken, nothing changes and `None` comes back.
    pub fn update_if_unlocked<T>(
        &self,
        warn: &mut dyn FnMut(&str),
        change: impl FnOnce(&mut Vec<Record>) -> (T, bool),
    ) -> Result<Option<T>, IndexError> {
        match self.update_within(Duration::ZERO, warn, change) {
            Ok(result) => Ok(Some(result)),
            Err(IndexError::LockTimeout { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    fn update_within<T>(
        &self,
        wait: Duration,
        warn: &mut dyn FnMut(&str),
        change: impl FnOnce(&mut Vec<Record>) -> (T, bool),
    ) -> Result<T, IndexError> {
        self.create_dir()?;
        let _lock = self.lock(wait)?;
        let mut records = match self.parse() {
            Ok(file) => file.map(|f| f.credentials).unwrap_or_default(),
            Err(ParseProblem::Newer(found)) => {
                return Err(IndexError::NewerSchema {
                    path: self.path(),
                    found,
                });
            }
            Err(problem) => {
                let aside = self.set_aside()?;
                warn(&format!(
                    "{}; it was moved to {} and a new index was started",
                    problem.message(&self.path()),
                    aside.display()
                ));
                Vec::new()
            }
        };
        let (result, changed) = change(&mut records);
        if changed {
            self.write(&records)?;
            crate::trace!("index written: {} records", records.len());
        }
        Ok(result)
    }

    fn parse(&self) -> Result<Option<IndexFile>, ParseProblem> {
        let bytes = match fs::read(self.path()) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(ParseProblem::Unreadable(err)),
        };
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let version: Version = serde_json::from_slice(&bytes).map_err(ParseProblem::Damaged)?;
        if version.version > SCHEMA_VERSION {
            return Err(ParseProblem::Newer(version.version));
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(ParseProblem::Damaged)
    }

    /// The data directory: the index, its lock, and `install`'s record.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Creates the data directory, private to the user, when it is missing.
    pub fn create_dir(&self) -> Result<(), IndexError> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.dir)
            .map_err(|source| IndexError::Directory {
                dir: self.dir.clone(),
                source,
            })
    }

    fn lock(&self, wait: Duration) -> Result<File, IndexError> {
        let path = self.dir.join(LOCK_NAME);
        let mut options = fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(|source| IndexError::Write {
            path: path.clone(),
            source,
        })?;
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

    fn write(&self, records: &[Record]) -> Result<(), IndexError> {
        let path = self.path();
        let fail = |source| IndexError::Write {
            path: path.clone(),
            source,
        };
        let file = IndexFile {
            version: SCHEMA_VERSION,
            credentials: records.to_vec(),
        };
        let mut json = serde_json::to_vec_pretty(&file)
            .map_err(io::Error::other)
            .map_err(fail)?;
        json.push(b'\n');
        replace_file(&path, &json).map_err(fail)
    }

    fn set_aside(&self) -> Result<PathBuf, IndexError> {
        let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = self.dir.join(format!("{FILE_NAME}.damaged-{stamp}"));
        fs::rename(self.path(), &aside).map_err(|source| IndexError::Write {
            path: self.path(),
            source,
        })?;
        Ok(aside)
    }
}

/// Replaces `path` with `bytes` in one step: a temporary file in the same
/// directory (created with mode 0600), synced, then renamed over it, so a
/// reader sees the old file or the new one, never half of either.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    persist(temp, path)
}

/// Renames `temp` over `path`. Windows refuses to replace a file another
/// process has open (a reader of the index, for a few milliseconds) with
/// "access denied": the rename is tried again for up to two seconds.
fn persist(mut temp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match temp.persist(path) {
            Ok(_) => return Ok(()),
            Err(err)
                if cfg!(windows)
                    && err.error.kind() == io::ErrorKind::PermissionDenied
                    && Instant::now() < deadline =>
            {
                temp = err.file;
                thread::sleep(Duration::from_millis(5));
            }
            Err(err) => return Err(err.error),
        }
    }
}

/// How much of the index the per-host read holds in memory at a time.
/// Loading a 3 MB index whole (ten thousand records) costs a fresh
/// allocation's page faults, more than everything else `get` does.
const SCAN_CHUNK: usize = 64 * 1024;
/// The longest record the per-host read looks for the bounds of.
const MAX_RECORD: u64 = 1 << 20;

/// The records of one host in a file laid out exactly as `Index::write`
/// lays it out, found without parsing any other and without loading the
/// file: there each record starts with a line `    {` and ends with a line
/// `    }`, and since a JSON string holds no raw newline, those lines cannot
/// occur inside a string. The file must be whole (its first and last lines
/// as written) and free of escape sequences (which could spell the host
/// differently). `None` when it is laid out otherwise, when a record found
/// does not parse, or when no record of this host is there (the full skim
/// then tells a miss from damage).
fn find_in_layout(
    file: &mut (impl Read + Seek),
    protocol: &str,
    host: &str,
    needle: &str,
    chunk: usize,
) -> Option<Vec<Record>> {
    let head = format!("{{\n  \"version\": {SCHEMA_VERSION},\n  \"credentials\": [\n");
    let places = scan(
        file,
        head.as_bytes(),
        b"\n  ]\n}\n",
        needle.as_bytes(),
        chunk,
    )?;
    let mut records = Vec::new();
    let mut last_start = None;
    for at in places {
        let (start, text) = record_around(file, at)?;
        if last_start == Some(start) {
            continue;
        }
        last_start = Some(start);
        let record: Record = serde_json::from_slice(&text).ok()?;
        if record.target.protocol == protocol && record.target.host == host {
            records.push(record);
        }
    }
    (!records.is_empty()).then_some(records)
}

/// Where `needle` occurs in a file that starts with `head`, ends with
/// `tail` and holds no backslash, reading `chunk` bytes at a time; `None`
/// for any other file.
fn scan(
    file: &mut (impl Read + Seek),
    head: &[u8],
    tail: &[u8],
    needle: &[u8],
    chunk: usize,
) -> Option<Vec<u64>> {
    let mut start = vec![0; head.len()];
    file.read_exact(&mut start).ok()?;
    if start != head {
        return None;
    }
    let finder = memchr::memmem::Finder::new(needle);
    // Carried from one chunk to the next: enough for a needle that spans
    // them, and for the tail once the file ends.
    let keep = needle.len().max(tail.len());
    let mut buf = vec![0; keep + chunk.max(1)];
    let (mut kept, mut base, mut places) = (0, head.len() as u64, Vec::new());
    loop {
        let read = fill(file, &mut buf[kept..]).ok()?;
        let filled = kept + read;
        if memchr::memchr(b'\\', &buf[kept..filled]).is_some() {
            return None;
        }
        // A place wholly inside the carried bytes was found last time.
        let new = finder
            .find_iter(&buf[..filled])
            .filter(|&at| at + needle.len() > kept);
        places.extend(new.map(|at| base + at as u64));
        let carry = keep.min(filled);
        buf.copy_within(filled - carry..filled, 0);
        base += (filled - carry) as u64;
        kept = carry;
        if filled < buf.len() {
            break;
        }
    }
    buf[..kept].ends_with(tail).then_some(places)
}

/// The record whose text holds the byte at `at`, and where it starts.
fn record_around(file: &mut (impl Read + Seek), at: u64) -> Option<(u64, Vec<u8>)> {
    const START: &[u8] = b"\n    {\n";
    const END: &[u8] = b"\n    }";
    let mut reach = 4096;
    loop {
        let from = at.saturating_sub(reach);
        let mut window = vec![0; usize::try_from(at - from + reach).ok()?];
        file.seek(SeekFrom::Start(from)).ok()?;
        let read = fill(file, &mut window).ok()?;
        window.truncate(read);
        let here = usize::try_from(at - from).ok()?;
        let start = memchr::memmem::rfind(&window[..here], START);
        let end = memchr::memmem::find(&window[here..], END);
        if let (Some(start), Some(end)) = (start, end) {
            let start = start + START.len() - 2;
            let end = here + end + END.len();
            return Some((from + start as u64, window[start..end].to_vec()));
        }
        if reach >= MAX_RECORD {
            return None;
        }
        reach *= 4;
    }
}

/// Reads until `buf` is full or the file ends; how much was read.
fn fill(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Traces what a read found, and hands the snapshot on.
fn traced(snapshot: Snapshot, scope: &str) -> Snapshot {
    crate::trace!(
        "index read for {scope}: {} records{}",
        snapshot.records.len(),
        snapshot
            .problem
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default()
    );
    snapshot
}

enum ParseProblem {
    Unreadable(io::Error),
    Damaged(serde_json::Error),
    Newer(u32),
}

impl ParseProblem {
    fn message(&self, path: &Path) -> String {
        match self {
            Self::Unreadable(err) => format!("cannot read the index {}: {err}", path.display()),
            Self::Damaged(err) => format!("the index {} is damaged ({err})", path.display()),
            Self::Newer(found) => format!(
                "the index {} was written by a newer git-credential-patrol (schema {found})",
                path.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::{Target, TokenKind};
    use crate::record::{ErasedBy, Erasure, Expiry};

    fn record(host: &str, user: &str) -> Record {
        Record::new(
            Target {
                protocol: "https".into(),
                host: host.into(),
                path: None,
            },
            user.into(),
            TokenKind::GithubClassic,
            "2026-01-01T00:00:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn records_survive_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        assert!(!index.read().is_usable());
        let mut original = record("github.com", "alice");
        original.expiry.git = Some(Expiry::At("2026-12-01T00:00:00Z".parse().unwrap()));
        original.expiry.manual = Some(Expiry::Never);
        let stored = original.clone();
        index
            .update(&mut |_| panic!("no warning expected"), |records| {
                records.push(stored);
                ((), true)
            })
            .unwrap();
        assert!(index.read().is_usable());
        assert_eq!(index.read().records, [original]);
        let text = fs::read_to_string(index.path()).unwrap();
        assert!(text.contains("\"manual\": \"never\""), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().join("data"));
        index
            .update(&mut |_| {}, |r| {
                r.push(record("h", "u"));
                ((), true)
            })
            .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&index.path()), 0o600);
        assert_eq!(mode(&dir.path().join("data")), 0o700);
    }

    #[test]
    fn a_damaged_index_is_set_aside_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().to_path_buf());
        fs::write(index.path(), "{not json").unwrap();
        assert!(!index.read().is_usable());
        assert!(index.read().problem.unwrap().contains("damaged"));
        let mut warnings = Vec::new();
        index
            .update(&mut |w| warnings.push(w.to_owned()), |r| {
                r.push(record("h", "u"));
                ((), true)
            })
            .unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("moved to"));
        assert_eq!(index.read().records.len(), 1);
        let aside = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains("damaged"));
        assert!(aside);
    }

    #[test]
    fn a_newer_schema_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().to_path_buf());
        fs::write(index.path(), r#"{"version": 99, "credentials": []}"#).unwrap();
        assert!(index.read().problem.unwrap().contains("newer"));
        let err = index.update(&mut |_| {}, |_| ((), true)).unwrap_err();
        assert!(matches!(err, IndexError::NewerSchema { found: 99, .. }));
        assert!(fs::read_to_string(index.path()).unwrap().contains("99"));
    }

    fn written(records: Vec<Record>) -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().to_path_buf());
        index
            .update(&mut |_| panic!("no warning expected"), |r| {
                *r = records;
                ((), true)
            })
            .unwrap();
        (dir, index)
    }

    #[test]
    fn one_host_is_read_as_the_full_read_sees_it() {
        let mut erased = record("a.example.com", "carol");
        erased.erased = Some(Erasure {
            at: "2026-02-01T00:00:00Z".parse().unwrap(),
            by: ErasedBy::Git,
        });
        erased.expiry.git = Some(Expiry::At("2026-12-01T00:00:00Z".parse().unwrap()));
        let (_dir, index) = written(vec![
            record("a.example.com", "alice"),
            // Names the host without being one of its records.
            record("b.example.com", "a.example.com"),
            record("xa.example.com", "bob"),
            erased,
            record("a.example.com", "bob"),
        ]);
        let all = index.read().records;
        for host in ["a.example.com", "b.example.com", "c.example.com"] {
            let expected: Vec<Record> = all
                .iter()
                .filter(|r| r.target.host == host)
                .cloned()
                .collect();
            assert_eq!(index.read_host("https", host).records, expected, "{host}");
        }
        assert!(index.read_host("http", "a.example.com").records.is_empty());
        // The layout shortcut, not only the skim, finds them, whatever
        // the chunks it reads the file in.
        let text = fs::read(index.path()).unwrap();
        for chunk in [1, 7, 100, 4096, SCAN_CHUNK] {
            let found = find_in_layout(
                &mut io::Cursor::new(&text),
                "https",
                "a.example.com",
                "\"a.example.com\"",
                chunk,
            );
            let users: Vec<String> = found.unwrap().into_iter().map(|r| r.username).collect();
            assert_eq!(users, ["alice", "carol", "bob"], "chunks of {chunk}");
        }
    }

    #[test]
    fn a_record_longer_than_the_first_look_is_still_read_whole() {
        let mut long = record("a.example.com", "alice");
        long.scopes = Some((0..2000).map(|n| format!("scope-{n}")).collect());
        let (_dir, index) = written(vec![record("b.example.com", "bob"), long.clone()]);
        let text = fs::read(index.path()).unwrap();
        assert!(text.len() > 4 * 4096, "{}", text.len());
        let found = find_in_layout(
            &mut io::Cursor::new(&text),
            "https",
            "a.example.com",
            "\"a.example.com\"",
            SCAN_CHUNK,
        );
        assert_eq!(found, Some(vec![long]));
    }

    #[test]
    fn one_host_of_a_damaged_index_is_left_to_the_full_read() {
        let (_dir, index) = written(vec![record("a.example.com", "alice")]);
        let text = fs::read_to_string(index.path()).unwrap();
        fs::write(index.path(), &text[..text.len() - 4]).unwrap();
        let snapshot = index.read_host("https", "a.example.com");
        assert!(snapshot.problem.unwrap().contains("damaged"));
        let escaped = text.replace("\"a.example.com\"", "\"\\u0061.example.com\"");
        for chunk in [1, 100, SCAN_CHUNK] {
            let found = find_in_layout(
                &mut io::Cursor::new(escaped.as_bytes()),
                "https",
                "a.example.com",
                "\"a.example.com\"",
                chunk,
            );
            assert_eq!(found, None, "chunks of {chunk}");
        }
        fs::write(index.path(), escaped).unwrap();
        assert_eq!(index.read_host("https", "a.example.com").records.len(), 1);
    }

    #[test]
    fn a_taken_lock_is_not_waited_for_when_asked_not_to() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::new(dir.path().to_path_buf());
        let held = index.lock(LOCK_WAIT).unwrap();
        let started = Instant::now();
        let result = index.update_if_unlocked(&mut |_| {}, |r| {
            r.push(record("h", "u"));
            ((), true)
        });
        assert!(matches!(result, Ok(None)));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(index.read().records.is_empty());
        drop(held);
        let result = index.update_if_unlocked(&mut |_| {}, |r| {
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
                        index
                            .update(&mut |_| {}, |r| {
                                r.push(record(&format!("h{t}-{i}"), "u"));
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
            100
        );
    }
}
