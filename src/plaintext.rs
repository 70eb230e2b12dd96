//! The plaintext files of git's `credential-store` helper: where they are,
//! what their lines say, and how to take lines out of one without ever
//! losing the others.
//!
//! A line is a URL, `https://user:token@host[:port][/path]`, each part
//! percent-encoded (git-credential-store(1)). A line that does not parse
//! stays as it is; it is reported by its file and line number, never by its
//! content, which may hold a token.
//!
//! Lines are taken out the way git's own `credential-store` edits the file,
//! so that the two never lose each other's lines: a symbolic link is
//! followed to the file it names (a dotfiles repository's copy), which is
//! the file edited; `<file>.lock` is created exclusively, waiting at most
//! `credentialStore.lockTimeoutMS` while git holds it; the file is read
//! again under the lock, the lines that stay are written into the lock file
//! with the original's permissions, and the lock file is renamed over the
//! file. A crash at any moment leaves the old file or the new one, never
//! half of either (and perhaps a lock file, which git names too). A file
//! with several hard links is refused: its tokens would stay under the
//! other names. A file is read with the index's guards (`crate::fs`): what
//! the links lead to must be a regular file of bounded size, so a FIFO, a
//! device or a loop of links gets a message, not a hang.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use thiserror::Error;
use zeroize::Zeroizing;

use crate::credential::{Secrets, Target};
use crate::protocol::UrlParts;

/// How many symbolic links git's lock code follows before it gives up.
const MAX_LINKS: usize = 5;

/// A plaintext file larger than this is refused: git's `store` writes one
/// short line per credential, so thousands of them fit in far less.
const MAX_FILE: u64 = 16 << 20;

#[derive(Debug, Error)]
pub enum PlaintextError {
    #[error("cannot read {}: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot rewrite {}: {source}; the file is unchanged", .path.display())]
    Rewrite { path: PathBuf, source: io::Error },
    #[error(
        "{} exists: git (or another program) is writing {}; gave up after {waited_ms} ms \
         (credentialStore.lockTimeoutMS) and left the file unchanged. If no git is running, a \
         crash left the lock behind: remove it (`rm {}`) and run the command again",
        .lock.display(), .path.display(), crate::output::shell_word(&.lock.display().to_string())
    )]
    Locked {
        path: PathBuf,
        lock: PathBuf,
        waited_ms: u64,
    },
    #[error(
        "{} has {links} hard links: its tokens are also in the file under another name, which \
         would keep them in plain text; nothing was taken from it. Find the other names with \
         `find ~ -xdev -samefile {}`, delete all but one, and run the command again",
        .path.display(), crate::output::shell_word(&.path.display().to_string())
    )]
    HardLinks { path: PathBuf, links: u64 },
}

/// A plaintext file: the path git was given, and the file it edits there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreFile {
    /// The path as named (`~/.git-credentials`).
    pub named: PathBuf,
    /// The file after following symbolic links as git does; the same as
    /// `named` when it is no link.
    pub real: PathBuf,
}

impl StoreFile {
    /// Follows `named` through at most five symbolic links, each relative
    /// one read from its link's directory, as git's lock code does.
    pub fn resolve(named: &Path) -> Result<Self, PlaintextError> {
        let mut real = named.to_owned();
        for _ in 0..MAX_LINKS {
            match fs::symlink_metadata(&real) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target = fs::read_link(&real).map_err(|source| PlaintextError::Read {
                        path: real.clone(),
                        source,
                    })?;
                    real = directory_of(&real).join(target);
                }
                _ => break,
            }
        }
        Ok(Self {
            named: named.to_owned(),
            real,
        })
    }

    /// Whether `named` is a symbolic link.
    pub fn is_link(&self) -> bool {
        self.named != self.real
    }

    /// Refuses a file with more than one hard link.
    pub fn check_links(&self) -> Result<(), PlaintextError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            if let Ok(meta) = fs::metadata(&self.real)
                && meta.nlink() > 1
            {
                return Err(PlaintextError::HardLinks {
                    path: self.real.clone(),
                    links: meta.nlink(),
                });
            }
        }
        Ok(())
    }
}

/// `<file>.lock`, held: created exclusively, removed on drop unless it was
/// renamed over the file.
struct Lock {
    path: PathBuf,
    file: Option<fs::File>,
}

impl Lock {
    /// Takes the lock git's `credential-store` takes, waiting while another
    /// process holds it, at most `timeout`.
    fn take(real: &Path, timeout: Duration) -> Result<Self, PlaintextError> {
        let mut name = real.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(file) => {
                    return Ok(Self {
                        path,
                        file: Some(file),
                    });
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    let waited = started.elapsed();
                    if waited >= timeout {
                        return Err(PlaintextError::Locked {
                            path: real.to_owned(),
                            lock: path,
                            waited_ms: u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
                        });
                    }
                    std::thread::sleep(pause.min(timeout - waited));
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Err(source) => {
                    return Err(PlaintextError::Rewrite {
                        path: real.to_owned(),
                        source,
                    });
                }
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Fails when another process holds `file`'s lock for longer than
/// `timeout`; asked before anything is done to the file.
pub fn check_unlocked(file: &StoreFile, timeout: Duration) -> Result<(), PlaintextError> {
    Lock::take(&file.real, timeout).map(drop)
}

/// `credentialStore.lockTimeoutMS`, as git reads it: 1 second by default,
/// no waiting at 0, and a negative value waits as long as it takes.
pub fn lock_timeout() -> Duration {
    let millis = crate::git::run(["config", "--get", "credentialstore.locktimeoutms"])
        .ok()
        .filter(|o| o.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|text| text.trim().parse::<i64>().ok())
        .unwrap_or(1000);
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX))
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
        return Line::Unusable("a part of the URL decodes to invalid UTF-8 or a line break");
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
        secrets: Secrets::token_only(password),
    })
}

/// Reads a file: `Ok(None)` when it does not exist. Symbolic links are
/// followed as git follows them; what they lead to must be a regular file
/// of at most `MAX_FILE` bytes (a FIFO, a device or a loop of links is
/// refused, and nothing blocks).
pub fn read(path: &Path) -> Result<Option<Vec<NumberedLine>>, PlaintextError> {
    let real = StoreFile::resolve(path)?.real;
    let bytes = match read_bytes(&real) {
        Ok(bytes) => bytes,
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
    /// The file is gone (and the link that named it): nothing but blank
    /// lines was left.
    Deleted,
    /// The file now holds this many lines.
    Kept(usize),
}

/// Rewrites `file` without the lines `remove` selects, under git's lock.
/// The file is read again under the lock, so a line that another process
/// added since it was first read is kept. Only whole lines go, and only
/// lines that `remove` accepts, which callers decide by content (a
/// credential safely in the keychain). When nothing is left, the file is
/// removed, and so is the symbolic link that named it.
pub fn remove_lines(
    file: &StoreFile,
    timeout: Duration,
    remove: impl Fn(&str) -> bool,
) -> Result<Rewritten, PlaintextError> {
    let path = &file.real;
    let fail = |source| PlaintextError::Rewrite {
        path: path.to_owned(),
        source,
    };
    file.check_links()?;
    let mut lock = Lock::take(path, timeout)?;
    let original = read_bytes(path).map_err(fail)?;
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
        if file.is_link() {
            fs::remove_file(&file.named).map_err(|source| PlaintextError::Rewrite {
                path: file.named.clone(),
                source,
            })?;
            sync_dir(&file.named);
        }
        sync_dir(path);
        return Ok(Rewritten::Deleted);
    }
    let permissions = fs::metadata(path).map_err(fail)?.permissions();
    let Some(handle) = lock.file.as_mut() else {
        return Err(fail(io::Error::other("the lock was released early")));
    };
    let (first, rest) = kept.split_at(kept.len() / 2);
    io::Write::write_all(handle, first).map_err(fail)?;
    crate::test_hook::crash_point("rewrite-partial");
    io::Write::write_all(handle, rest).map_err(fail)?;
    handle.set_permissions(permissions).map_err(fail)?;
    handle.sync_all().map_err(fail)?;
    crate::test_hook::crash_point("rewrite");
    fs::rename(&lock.path, path).map_err(fail)?;
    lock.file = None;
    sync_dir(path);
    Ok(Rewritten::Kept(count))
}

/// The bytes of the file at `path`, with the index's guards: opened
/// without following a symbolic link or blocking, only a regular file of
/// at most `MAX_FILE` bytes, read into one buffer of its size that is wiped
/// when dropped (it holds tokens).
fn read_bytes(path: &Path) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    crate::fs::no_follow(&mut options);
    let file = options.open(path)?;
    let len = crate::fs::regular(&file, MAX_FILE)?;
    // One byte more than the file holds, so that reading to its end needs
    // no reallocation, which would leave a copy of the tokens behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(
        usize::try_from(len).unwrap_or(0).saturating_add(1),
    ));
    io::Read::read_to_end(&mut io::Read::take(file, MAX_FILE), &mut bytes)?;
    Ok(bytes)
}

/// The directory a file is in; `.` for a bare file name.
fn directory_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Makes a rename or a removal of `path` durable. Best effort: the file
/// is already replaced or gone, and a directory that cannot be synced
/// cannot undo that.
fn sync_dir(path: &Path) {
    let _ = crate::fs::sync_dir(directory_of(path));
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
            "https://alice:ghp_TESTsecret%ff@github.com",
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
        let file = StoreFile::resolve(&path).unwrap();
        let wait = Duration::from_millis(10);
        assert_eq!(
            remove_lines(&file, wait, |l| l.contains("@x")).unwrap(),
            Rewritten::Kept(2)
        );
        assert_eq!(
            fs::read(&path).unwrap(),
            b"bad \xff\nhttps://b:ghp_TESTb@y\n"
        );
        // A line that is not text is never taken, and comes back byte for byte.
        assert_eq!(
            remove_lines(&file, wait, |l| !l.is_empty()).unwrap(),
            Rewritten::Kept(1)
        );
        assert_eq!(fs::read(&path).unwrap(), b"bad \xff\n");

        fs::write(&path, "https://a:ghp_TESTa@x\n\n").unwrap();
        assert_eq!(
            remove_lines(&file, wait, |l| !l.is_empty()).unwrap(),
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
        let file = StoreFile::resolve(&path).unwrap();
        remove_lines(&file, Duration::from_millis(10), |l| l.contains("@x")).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
