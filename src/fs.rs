//! The file helpers every writer and careful reader of patrol's own files
//! shares: opening without following a symbolic link or blocking, refusing
//! anything but a regular file of bounded size, and replacing a file in one
//! durable step. The index, the trace file, the record of what `install`
//! wrote, the note of git's configuration sources and the rewrite of a
//! plaintext credential file all go through here.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
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
    persist(temp.into_temp_path(), path)?;
    crate::test_hook::crash_point("after-rename");
    sync_dir(dir)
}

/// Replaces several files of the directory `dir` (`files`: each path and
/// its new bytes), each in one step as `replace_file` does, with the syncs
/// done once for all: every temporary file is written, then all of them
/// made durable together (one `syncfs` on Linux, each file synced
/// elsewhere), then each renamed over its file, then the directory synced.
/// A rebuild writes thousands of shards; one sync per file and per rename
/// would cost seconds. A crash part-way leaves some files replaced and
/// others not, each whole.
pub fn replace_files(dir: &Path, files: &[(PathBuf, Vec<u8>)]) -> io::Result<()> {
    if let [(path, bytes)] = files {
        return replace_file(path, bytes);
    }
    if files.is_empty() {
        return Ok(());
    }
    // Creating a file waits on the file system's journal: several threads
    // at once overlap those waits.
    let share = files.len().div_ceil(WRITERS);
    let written = thread::scope(|scope| {
        let writers: Vec<_> = files
            .chunks(share)
            .map(|part| scope.spawn(move || write_temporaries(dir, part)))
            .collect();
        let mut written = Vec::with_capacity(files.len());
        for writer in writers {
            written.extend(
                writer
                    .join()
                    .map_err(|_| io::Error::other("a writer failed"))??,
            );
        }
        Ok::<_, io::Error>(written)
    })?;
    #[cfg(target_os = "linux")]
    rustix::fs::syncfs(File::open(dir)?)?;
    crate::test_hook::crash_point("before-rename");
    for (temp, path) in written {
        persist(temp, path)?;
    }
    crate::test_hook::crash_point("after-rename");
    sync_dir(dir)
}

/// Threads that write the temporary files of `replace_files`.
const WRITERS: usize = 8;

/// Each of `files` written to a temporary file in `dir`, closed (thousands
/// of open files would pass the process's limit), and synced where
/// `syncfs` will not do it for all of them.
fn write_temporaries<'a>(
    dir: &Path,
    files: &'a [(PathBuf, Vec<u8>)],
) -> io::Result<Vec<(tempfile::TempPath, &'a Path)>> {
    let mut written = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        temp.write_all(bytes)?;
        #[cfg(not(target_os = "linux"))]
        temp.as_file().sync_all()?;
        written.push((temp.into_temp_path(), path.as_path()));
    }
    Ok(written)
}

/// Renames the closed temporary file `temp` over `path`. Windows refuses
/// to replace a file another process has open (a reader of the index, for a
/// few milliseconds) with "access denied": the rename is tried again for up
/// to two seconds.
fn persist(mut temp: tempfile::TempPath, path: &Path) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match temp.persist(path) {
            Ok(()) => return Ok(()),
            Err(err)
                if cfg!(windows)
                    && err.error.kind() == io::ErrorKind::PermissionDenied
                    && Instant::now() < deadline =>
            {
                temp = err.path;
                thread::sleep(Duration::from_millis(5));
            }
            Err(err) => return Err(err.error),
        }
    }
}

/// Creates `dir` and its missing parents, private to the user (0700 where
/// modes exist).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
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

    #[test]
    fn many_files_are_replaced_together_and_left_private() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1.json"), b"old").unwrap();
        let files: Vec<(PathBuf, Vec<u8>)> = (0..1500)
            .map(|n| {
                (
                    dir.path().join(format!("{n}.json")),
                    format!("{n}").into_bytes(),
                )
            })
            .collect();
        // More than the usual limit of 1,024 open files.
        replace_files(dir.path(), &files).unwrap();
        for (path, bytes) in &files {
            assert_eq!(&std::fs::read(path).unwrap(), bytes);
        }
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 1500, "no temporary file is left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files[7].0).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
