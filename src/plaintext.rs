//! The plaintext files of git's `credential-store` helper: where they are,
//! what their lines say, and how to take lines out of one without ever
//! losing the others.
//!
//! A line is a URL, `https://user:token@host[:port][/path]`, each part
//! percent-encoded (git-credential-store(1)). A line is taken out only by an
//! atomic rewrite: the lines that stay go to a temporary file in the same
//! directory, with the original's permissions, which then replaces the
//! original by rename. A crash at any moment leaves either the old file or
//! the new one, never half of either. A line that does not parse stays as it
//! is; it is reported by its file and line number, never by its content,
//! which may hold a token.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;
use zeroize::Zeroizing;

use crate::credential::{Secret, Secrets, Target};
use crate::protocol::UrlParts;

/// Prefix of the temporary file a rewrite writes beside the original; one
/// left behind by a crash holds only lines the original still has.
const TEMP_PREFIX: &str = ".patrol-rewrite-";

#[derive(Debug, Error)]
pub enum PlaintextError {
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot rewrite {}: {source}; the file is unchanged", .path.display())]
    Rewrite { path: PathBuf, source: io::Error },
}

/// The files git's `store` reads when given no `--file`, in its order:
/// `~/.git-credentials`, then `$XDG_CONFIG_HOME/git/credentials` (by default
/// `~/.config/git/credentials`).
pub fn default_files() -> Vec<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()));
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|x| !x.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    home.map(|h| h.join(".git-credentials"))
        .into_iter()
        .chain(xdg.map(|x| x.join("git").join("credentials")))
        .collect()
}

/// The file git's `store` writes to when given no `--file`: the first of
/// [`default_files`] that exists, else `~/.git-credentials`.
pub fn store_file() -> PathBuf {
    let files = default_files();
    files
        .iter()
        .find(|f| f.exists())
        .or(files.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from(".git-credentials"))
}

/// One credential read from a line.
pub struct Entry {
    pub target: Target,
    pub username: String,
    pub secrets: Secrets,
}

/// What one line of a file holds.
pub enum Line {
    Blank,
    Credential(Entry),
    /// Why the line cannot be used; never the line itself.
    Unusable(&'static str),
}

/// One line, 1-based `number`, with its exact text for the rewrite.
pub struct NumberedLine {
    pub number: usize,
    pub text: Zeroizing<String>,
    pub line: Line,
}

/// Parses one line the way git's `store` does.
pub fn parse_line(text: &str) -> Line {
    let text = text.trim_end_matches('\r');
    if text.trim().is_empty() {
        return Line::Blank;
    }
    if !text.contains("://") {
        return Line::Unusable("not a URL");
    }
    let Some(parts) = UrlParts::parse(text) else {
        return Line::Unusable("not a URL git can read (bad percent-encoding or protocol)");
    };
    let Some(host) = parts.host else {
        return Line::Unusable("the URL has no host");
    };
    let Some(password) = parts.password else {
        return Line::Unusable("the URL has no password");
    };
    Line::Credential(Entry {
        target: Target {
            protocol: parts.protocol,
            host,
            path: parts.path,
        },
        username: parts.username.unwrap_or_default(),
        secrets: Secrets {
            password: Some(Secret::new(password)),
            ..Secrets::default()
        },
    })
}

/// Reads a file: `Ok(None)` when it does not exist.
pub fn read(path: &Path) -> Result<Option<Vec<NumberedLine>>, PlaintextError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PlaintextError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut pieces: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if pieces.last().is_some_and(|last| last.is_empty()) {
        pieces.pop();
    }
    let lines = pieces
        .into_iter()
        .enumerate()
        .map(|(i, raw)| match std::str::from_utf8(raw) {
            Ok(text) => NumberedLine {
                number: i + 1,
                text: Zeroizing::new(text.to_owned()),
                line: parse_line(text),
            },
            Err(_) => NumberedLine {
                number: i + 1,
                text: Zeroizing::new(String::from_utf8_lossy(raw).into_owned()),
                line: Line::Unusable("not valid UTF-8"),
            },
        })
        .collect();
    Ok(Some(lines))
}

/// What a rewrite did.
#[derive(Debug, PartialEq, Eq)]
pub enum Rewritten {
    /// The file is gone: nothing but blank lines was left.
    Deleted,
    /// The file now holds this many lines.
    Kept(usize),
}

/// Rewrites `path` without the lines `remove` selects. The file is read
/// again here, so a line that another process appended since it was first
/// read is kept. Only whole lines go, and only lines that `remove` accepts,
/// which callers decide by content (a credential safely in the keychain).
pub fn remove_lines(
    path: &Path,
    remove: impl Fn(&str) -> bool,
) -> Result<Rewritten, PlaintextError> {
    let fail = |source| PlaintextError::Rewrite {
        path: path.to_owned(),
        source,
    };
    let original = Zeroizing::new(fs::read(path).map_err(fail)?);
    // Bytes, not text: a kept line that is not valid UTF-8 must come back
    // exactly as it was.
    let mut kept = Zeroizing::new(Vec::with_capacity(original.len()));
    let mut count = 0;
    for line in original.split_inclusive(|b| *b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        if std::str::from_utf8(bare).is_ok_and(&remove) {
            continue;
        }
        kept.extend_from_slice(line);
        if !bare.trim_ascii().is_empty() {
            count += 1;
        }
    }
    if count == 0 {
        crate::test_hook::crash_point("rewrite");
        fs::remove_file(path).map_err(fail)?;
        sync_dir(path);
        return Ok(Rewritten::Deleted);
    }
    let dir = directory_of(path);
    let permissions = fs::metadata(path).map_err(fail)?.permissions();
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(fail)?;
    io::Write::write_all(&mut temp, &kept).map_err(fail)?;
    temp.as_file().set_permissions(permissions).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    crate::test_hook::crash_point("rewrite");
    temp.persist(path).map_err(|err| fail(err.error))?;
    sync_dir(path);
    Ok(Rewritten::Kept(count))
}

/// Removes temporary files that an interrupted rewrite left beside `path`.
/// Each holds a subset of lines the original still has, so nothing is lost.
pub fn remove_leftovers(path: &Path) {
    let Ok(entries) = fs::read_dir(directory_of(path)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            crate::trace!("removing a leftover {}", entry.path().display());
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The directory a file is in; `.` for a bare file name.
fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes a rename or a removal durable. Best effort: not every platform
/// lets a directory be opened.
fn sync_dir(path: &Path) {
    let _ = fs::File::open(directory_of(path)).and_then(|d| d.sync_all());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(text: &str) -> Entry {
        match parse_line(text) {
            Line::Credential(entry) => entry,
            _ => panic!("not a credential"),
        }
    }

    #[test]
    fn lines_are_read_the_way_git_writes_them() {
        let e = entry("https://alice%40work:ghp_TEST%2Fa%3Ab@github.com");
        assert_eq!(e.target.url(), "https://github.com");
        assert_eq!(e.username, "alice@work");
        assert_eq!(
            e.secrets.password.as_ref().unwrap().expose(),
            "ghp_TEST/a:b"
        );
        let e = entry("https://bob:glpat-TESTx@gitlab.example.com:8443/group/repo.git\r");
        assert_eq!(e.target.host, "gitlab.example.com:8443");
        assert_eq!(e.target.path.as_deref(), Some("group/repo.git"));
        assert_eq!(e.secrets.password.unwrap().expose(), "glpat-TESTx");
    }

    #[test]
    fn unusable_lines_say_why_without_the_secret() {
        for text in [
            "garbage ghp_TESTsecret",
            "https://alice:ghp_TESTsecret%zz@github.com",
            "https://alice@github.com",
            "https://alice:ghp_TESTsecret@",
        ] {
            match parse_line(text) {
                Line::Unusable(why) => assert!(!why.contains("ghp_TEST"), "{why}"),
                _ => panic!("{text} should be unusable"),
            }
        }
        assert!(matches!(parse_line("  "), Line::Blank));
    }

    #[test]
    fn removing_every_line_deletes_the_file_and_keeps_the_rest_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        fs::write(
            &path,
            b"https://a:ghp_TESTa@x\nbad \xff\nhttps://b:ghp_TESTb@y\n",
        )
        .unwrap();
        let lines = read(&path).unwrap().unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].number, 2);
        assert_eq!(
            remove_lines(&path, |l| l.contains("@x")).unwrap(),
            Rewritten::Kept(2)
        );
        assert_eq!(
            fs::read(&path).unwrap(),
            b"bad \xff\nhttps://b:ghp_TESTb@y\n"
        );
        // A line that is not text is never taken, and comes back byte for byte.
        assert_eq!(
            remove_lines(&path, |l| !l.is_empty()).unwrap(),
            Rewritten::Kept(1)
        );
        assert_eq!(fs::read(&path).unwrap(), b"bad \xff\n");

        fs::write(&path, "https://a:ghp_TESTa@x\n\n").unwrap();
        assert_eq!(
            remove_lines(&path, |l| !l.is_empty()).unwrap(),
            Rewritten::Deleted
        );
        assert!(!path.exists());
        assert!(read(&path).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_rewrite_keeps_the_files_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        fs::write(&path, "https://a:ghp_TESTa@x\nhttps://b:ghp_TESTb@y\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        remove_lines(&path, |l| l.contains("@x")).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
