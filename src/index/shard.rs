//! A shard's file: its name (one per protocol and host, safe on every file
//! system), its format (a schema version and the records), and reading one
//! with the guards every index file gets (no link followed, no FIFO, a
//! bounded size); a damaged one is set aside, never deleted.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::IndexError;
use crate::fs::{no_follow, regular};
use crate::record::Record;

/// Version 1 was the single `index.json`; version 2 is a shard.
pub(super) const SCHEMA_VERSION: u32 = 2;
pub(super) const SHARD_SUFFIX: &str = ".json";
/// A shard name longer than this is a hash instead.
const MAX_NAME: usize = 120;

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct IndexFile {
    pub(super) version: u32,
    #[serde(default)]
    pub(super) credentials: Vec<Record>,
}

/// A shard's file: its records as JSON, pretty, ending in a newline.
pub(super) fn shard_json(records: &[Record]) -> io::Result<Vec<u8>> {
    let file = IndexFile {
        version: SCHEMA_VERSION,
        credentials: records.to_vec(),
    };
    let mut json = serde_json::to_vec_pretty(&file).map_err(io::Error::other)?;
    json.push(b'\n');
    Ok(json)
}

/// The file name of the shard for `protocol` and `host`: the pair spelt
/// with only lower-case letters, digits, `.` and `-` kept (everything else,
/// upper-case letters included, as `%XX`, so that two hosts never share a
/// name on a file system that ignores case), or a hash when that is long.
pub(super) fn shard_name(protocol: &str, host: &str) -> String {
    let mut name = String::new();
    for (i, part) in [protocol, host].into_iter().enumerate() {
        if i > 0 {
            name.push('_');
        }
        for byte in part.bytes() {
            match byte {
                b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' => name.push(byte as char),
                _ => name.push_str(&format!("%{byte:02X}")),
            }
        }
    }
    if name.len() > MAX_NAME || name.starts_with('.') {
        let hash = Sha256::digest(format!("{protocol}://{host}").as_bytes());
        name = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    }
    name.push_str(SHARD_SUFFIX);
    name
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One index file, or `None` when there is none.
pub(super) fn read_file(path: &Path, limit: u64) -> Result<Option<IndexFile>, ParseProblem> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    no_follow(&mut options);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(ParseProblem::Unreadable(err)),
    };
    let len = regular(&file, limit).map_err(ParseProblem::Unreadable)?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    Read::by_ref(&mut file)
        .take(limit.max(1))
        .read_to_end(&mut bytes)
        .map_err(ParseProblem::Unreadable)?;
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

/// Renames a damaged file to `NAME.damaged-STAMP-RANDOM`: the random part
/// keeps a second file damaged in the same second from replacing the first.
pub(super) fn set_aside(path: &Path) -> Result<PathBuf, IndexError> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%SZ");
    let mut random = [0u8; 4];
    let _ = getrandom::fill(&mut random);
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let aside = path.with_file_name(format!("{}.damaged-{stamp}-{suffix}", file_name(path)));
    fs::rename(path, &aside).map_err(|source| IndexError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(aside)
}

pub(super) enum ParseProblem {
    Unreadable(io::Error),
    Damaged(serde_json::Error),
    Newer(u32),
}

impl ParseProblem {
    pub(super) fn message(&self, path: &Path) -> String {
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
