//! The file helpers every writer and careful reader of patrol's own files
//! shares: opening without following a symbolic link or blocking, refusing
//! anything but a regular file of bounded size, and replacing a file in one
//! durable step. The index, the trace file, the record of what `install`
//! wrote, the note of git's configuration sources and the rewrite of a
//! plaintext credential file all go through here.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// Opening never follows a symbolic link in the file's place, and never
/// blocks (a FIFO there would hold the opener until a writer came).
pub fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(options, libc::O_NOFOLLOW | libc::O_NONBLOCK);
    #[cfg(not(unix))]
    let _ = options;
}

/// Refuses anything but a regular file, and one larger than `limit` (when
/// not zero).
pub fn regular(file: &File, limit: u64) -> io::Result<u64> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::other("it is not a regular file"));
    }
    if limit > 0 && meta.len() > limit {
        return Err(io::Error::other(format!(
            "it is larger than {} MB",
            limit >> 20
        )));
    }
    Ok(meta.len())
}

/// Replaces `path` with `bytes` in one step: a temporary file in the same
/// directory (created with mode 0600), synced, renamed over it, and the
/// directory synced, so a reader sees the old file or the new one, never
/// half of either, and a crash right after cannot bring the old one back.
/// Every file patrol writes goes through here.
pub fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    crate::test_hook::crash_point("before-rename");
    persist(temp, path)?;
    crate::test_hook::crash_point("after-rename");
    sync_dir(dir)
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

/// Makes a rename or a removal in `dir` durable (a no-op where
/// directories cannot be opened, as on Windows). The index's writes and
/// the rewrite of a plaintext credential file both end with it.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On Windows (scripts/test runs these tests under wine too) a reader's
    /// open handle makes renaming over the file fail until it is closed.
    #[test]
    fn a_file_being_read_is_still_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shard.json");
        std::fs::write(&path, b"old").unwrap();
        let reader = File::open(&path).unwrap();
        let release = thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            drop(reader);
        });
        replace_file(&path, b"new").unwrap();
        release.join().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
