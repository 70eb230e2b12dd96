//! Whether git's configuration could set any `patrol.*` key at all, found
//! without running git, so that the common case (nothing configured for
//! patrol) costs no `git config` child on git's hot path.
//!
//! The question is narrow on purpose. Values, includes and URL matching
//! stay git's: whenever a `patrol` key could exist, `git config` is run as
//! before. Only absence is proved here, and it is provable from the bytes:
//!
//! - in a file, a key of the `patrol` section can only sit under a header
//!   that begins `[patrol` (git allows nothing between the bracket and the
//!   name, and folds its case), and another file can only be pulled in by a
//!   header that begins `[include` (`include`, `includeIf`);
//! - on git's command line (`git -c`, which git hands on to patrol in
//!   `GIT_CONFIG_PARAMETERS`, and `GIT_CONFIG_KEY_<n>`), a key names its
//!   section before its first dot.
//!
//! The files looked at are a superset of those `git config` reads: the
//! system file, both per-user files, and the configuration of every
//! repository above the working directory (git stops at the first).
//! Anything that cannot be settled (an unreadable file, a malformed
//! variable, a system file whose place git does not tell, as before git
//! 2.42) means "ask git". Linux only: elsewhere `git config` always runs
//! (on macOS, which git `/usr/bin/git` starts can change with
//! `xcode-select` while the executable stays the same).
//!
//! Where a git keeps its system file is compiled into it; `git var
//! GIT_CONFIG_SYSTEM` says where, and the answer is kept in the data
//! directory (`git-system-config.json`), tied to the identity of the git
//! executable, and asked again when that changes.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why git must be asked, for the trace; `None` when no source git reads
/// can set a `patrol` key.
pub fn must_ask_git(data_dir: &Path) -> Option<String> {
    let var = |name: &str| std::env::var_os(name);
    if let Some(why) = command_line(&var) {
        return Some(why);
    }
    let cwd = match std::env::current_dir() {
        Ok(cwd) => cwd,
        Err(err) => return Some(format!("the working directory is unknown: {err}")),
    };
    let system = match system_file(&var, data_dir) {
        Ok(system) => system,
        Err(why) => return Some(why),
    };
    let Some(user) = user_files(&var) else {
        return Some("GIT_CONFIG_GLOBAL is empty".to_owned());
    };
    let Some(repository) = repository_files(&var, &cwd) else {
        return Some("a .git file or a commondir cannot be followed".to_owned());
    };
    system
        .into_iter()
        .chain(user)
        .chain(repository)
        .find_map(|path| file_may_set_patrol(&path))
}

/// What `git -c` and `GIT_CONFIG_COUNT` bring. (`GIT_CONFIG` is no
/// source: only `git config` reads it, and patrol's `git config` runs
/// without it, as `crate::git` says.)
fn command_line(var: &dyn Fn(&str) -> Option<OsString>) -> Option<String> {
    if let Some(parameters) = var("GIT_CONFIG_PARAMETERS") {
        let keys = parameters.to_str().and_then(parameter_keys);
        match keys {
            None => return Some("GIT_CONFIG_PARAMETERS does not parse".to_owned()),
            Some(keys) if keys.iter().any(|key| may_set_patrol(key)) => {
                return Some("git -c names patrol or an include".to_owned());
            }
            Some(_) => {}
        }
    }
    if let Some(count) = var("GIT_CONFIG_COUNT") {
        let count = count.to_str().and_then(|c| c.parse::<u32>().ok());
        let Some(count) = count.filter(|&count| count <= MAX_COUNT) else {
            return Some("GIT_CONFIG_COUNT is not a small number".to_owned());
        };
        for n in 0..count {
            let key = var(&format!("GIT_CONFIG_KEY_{n}"));
            if key.is_none_or(|key| may_set_patrol(&key.to_string_lossy())) {
                return Some(format!("GIT_CONFIG_KEY_{n} names patrol or an include"));
            }
        }
    }
    None
}

/// More keys than anyone passes this way are left to git.
const MAX_COUNT: u32 = 1000;

/// Whether a configuration key (`section.name`, or
/// `section.subsection.name`) is patrol's or pulls in another file.
fn may_set_patrol(key: &str) -> bool {
    let section = key.split('.').next().unwrap_or_default();
    section.eq_ignore_ascii_case("patrol")
        || section.eq_ignore_ascii_case("include")
        || section.eq_ignore_ascii_case("includeif")
}

/// The keys in `GIT_CONFIG_PARAMETERS`: single-quoted words, each either
/// `'key=value'` or `'key'='value'` (or `'key'=`), separated by spaces, in
/// git's shell quoting, where `'\''` stands for a quote and `'\!'` for an
/// exclamation mark. `None` for anything git would call bogus.
fn parameter_keys(text: &str) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (word, after) = quoted_word(rest)?;
        rest = match after.strip_prefix('=') {
            Some(value) if value.starts_with('\'') => {
                keys.push(word);
                quoted_word(value)?.1
            }
            Some(value) => {
                keys.push(word);
                value
            }
            None => {
                keys.push(word.split('=').next().unwrap_or_default().to_owned());
                after
            }
        };
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            return None;
        }
        rest = rest.trim_start();
    }
    Some(keys)
}

/// One single-quoted word at the start of `text`, and what follows it.
fn quoted_word(text: &str) -> Option<(String, &str)> {
    let mut rest = text.strip_prefix('\'')?;
    let mut word = String::new();
    loop {
        let end = rest.find('\'')?;
        word.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.as_bytes() {
            [b'\\', escaped @ (b'\'' | b'!'), b'\'', ..] => {
                word.push(char::from(*escaped));
                rest = &rest[3..];
            }
            _ => return Some((word, rest)),
        }
    }
}

/// The system file `git config` reads, if any. An error says why it is
/// not known.
fn system_file(
    var: &dyn Fn(&str) -> Option<OsString>,
    data_dir: &Path,
) -> Result<Option<PathBuf>, String> {
    // git reads it unless GIT_CONFIG_NOSYSTEM is true; a value that is not
    // plainly true keeps it in the set, which can only cost a `git config`.
    let skipped = var("GIT_CONFIG_NOSYSTEM").is_some_and(|value| {
        let value = value.to_string_lossy().to_ascii_lowercase();
        ["1", "true", "yes", "on"].contains(&value.as_str())
    });
    if skipped {
        return Ok(None);
    }
    match var("GIT_CONFIG_SYSTEM") {
        Some(path) if path.is_empty() => Err("GIT_CONFIG_SYSTEM is empty".to_owned()),
        Some(path) => Ok(Some(PathBuf::from(path))),
        None => compiled_system_file(data_dir).map(Some),
    }
}

/// What `git var GIT_CONFIG_SYSTEM` says for the git on `PATH`, from the
/// data directory's note when it was made for this very executable.
fn compiled_system_file(data_dir: &Path) -> Result<PathBuf, String> {
    let git = crate::git::executable().ok_or("git is not on PATH")?;
    let identity = Identity::of(&git).ok_or("git's executable cannot be examined")?;
    let note_path = data_dir.join(SYSTEM_NOTE);
    // Patrol's own file: never through a link in its place.
    let noted = read_bounded(&note_path, false)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<SystemNote>(&bytes).ok())
        .filter(|note| note.git == git && note.identity == identity);
    let system = match noted {
        Some(note) => note.system,
        None => {
            let system = ask_git_for_system_file();
            crate::trace!(
                "git var GIT_CONFIG_SYSTEM for {}: {system:?}",
                git.display()
            );
            // Kept only where patrol has a data directory already: a first
            // `get` creates nothing.
            if data_dir.is_dir() {
                let note = SystemNote {
                    version: 1,
                    git,
                    identity,
                    system: system.clone(),
                };
                if let Ok(bytes) = serde_json::to_vec(&note) {
                    let _ = crate::fs::replace_file(&note_path, &bytes);
                }
            }
            system
        }
    };
    system.ok_or_else(|| "this git does not say where its system file is".to_owned())
}

const SYSTEM_NOTE: &str = "git-system-config.json";

/// Where a git executable keeps its system file (`None`: it does not say).
#[derive(serde::Serialize, serde::Deserialize)]
struct SystemNote {
    version: u32,
    git: PathBuf,
    identity: Identity,
    system: Option<PathBuf>,
}

/// Which file an executable is: a new build or an upgrade changes it.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq, Debug)]
struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    modified_ns: i128,
}

impl Identity {
    fn of(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(path).ok()?;
        Some(Self {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        })
    }
}

/// The compiled-in system file: asked with the variables that would
/// override it removed. Git before 2.42 has no such variable.
fn ask_git_for_system_file() -> Option<PathBuf> {
    let output = crate::git::run_without(
        &["GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_SYSTEM"],
        ["var", "GIT_CONFIG_SYSTEM"],
    )
    .ok()?;
    let path = output.stdout_text().trim_end_matches('\n').to_owned();
    (output.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

/// The per-user files: `GIT_CONFIG_GLOBAL` alone when it is set, otherwise
/// `~/.gitconfig` and git's file under the XDG configuration directory.
/// `None` when they cannot be named.
fn user_files(var: &dyn Fn(&str) -> Option<OsString>) -> Option<Vec<PathBuf>> {
    if let Some(global) = var("GIT_CONFIG_GLOBAL") {
        return (!global.is_empty()).then(|| vec![PathBuf::from(global)]);
    }
    let mut files = Vec::new();
    // Git joins the names as strings: a `HOME` set but empty is `/.gitconfig`.
    if let Some(home) = var("HOME") {
        for name in ["/.gitconfig", "/.config/git/config"] {
            let mut path = home.clone();
            path.push(name);
            files.push(PathBuf::from(path));
        }
    }
    if let Some(xdg) = var("XDG_CONFIG_HOME").filter(|xdg| !xdg.is_empty()) {
        files.push(PathBuf::from(xdg).join("git/config"));
    }
    Some(files)
}

/// The configuration of the repository `GIT_DIR` names, or of every
/// repository in `cwd` and above it: git stops at the first it accepts,
/// and reading more than git does can only cost a `git config`. `None`
/// when a `.git` file or a `commondir` cannot be followed.
fn repository_files(var: &dyn Fn(&str) -> Option<OsString>, cwd: &Path) -> Option<Vec<PathBuf>> {
    let mut git_dirs = Vec::new();
    if let Some(common) = var("GIT_COMMON_DIR") {
        git_dirs.push(cwd.join(common));
    }
    if let Some(git_dir) = var("GIT_DIR") {
        git_dirs.push(cwd.join(git_dir));
    } else {
        for dir in cwd.ancestors() {
            let dot_git = dir.join(".git");
            match fs::metadata(&dot_git) {
                Ok(meta) if meta.is_file() => git_dirs.push(followed(&dot_git)?),
                Ok(_) => git_dirs.push(dot_git),
                Err(_) => {}
            }
            // A bare repository, or the inside of a `.git` directory: git
            // takes no directory without a `HEAD` for one.
            if dir.join("HEAD").symlink_metadata().is_ok() {
                git_dirs.push(dir.to_path_buf());
            }
        }
    }
    let mut files = Vec::new();
    for git_dir in git_dirs {
        if let Some(common) = read_bounded(&git_dir.join("commondir"), true).ok()? {
            let common = String::from_utf8_lossy(&common).trim_end().to_owned();
            files.push(git_dir.join(common).join("config"));
        }
        files.push(git_dir.join("config"));
        files.push(git_dir.join("config.worktree"));
    }
    Some(files)
}

/// The directory a `.git` file points to (`gitdir: PATH`, relative to the
/// file's own directory).
fn followed(dot_git: &Path) -> Option<PathBuf> {
    let text = String::from_utf8(read_bounded(dot_git, true).ok()??).ok()?;
    let target = text
        .strip_prefix("gitdir: ")?
        .trim_end_matches(['\n', '\r']);
    Some(dot_git.parent()?.join(target))
}

/// A file's bytes, `None` when there is none. Anything but a regular file
/// of at most `MAX_FILE` bytes is an error: a directory, or a FIFO (opened
/// without waiting for a writer). Links are followed where git follows
/// them (`follow`): configuration files are often links to a dotfiles
/// repository.
fn read_bounded(path: &Path, follow: bool) -> io::Result<Option<Vec<u8>>> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    if follow {
        options.custom_flags(libc::O_NONBLOCK);
    } else {
        crate::fs::no_follow(&mut options);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    crate::fs::regular(&file, MAX_FILE)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Larger configuration files are left to git.
const MAX_FILE: u64 = 1 << 20;

/// Why the file at `path` may set a `patrol` key; `None` when it cannot
/// (it is missing, or holds no `[patrol` and no `[include` header).
fn file_may_set_patrol(path: &Path) -> Option<String> {
    let bytes = match read_bounded(path, true) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        // Git would complain about a directory named `config`, and should
        // be the one to say so.
        Err(err) => return Some(format!("{} cannot be read: {err}", path.display())),
    };
    ["[patrol", "[include"]
        .iter()
        .find(|header| contains_ignoring_case(&bytes, header.as_bytes()))
        .map(|header| format!("{} has a {header} header", path.display()))
}

fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::process::Command;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), OsString::from(value)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn command_line_keys_are_read_as_git_quotes_them() {
        // `git -c credential.helper=patrol -c 'user.name=it'\''s' ...`
        assert_eq!(
            parameter_keys("'credential.helper'='patrol' 'user.name'='it'\\''s' 'core.bare'="),
            Some(vec![
                "credential.helper".to_owned(),
                "user.name".to_owned(),
                "core.bare".to_owned()
            ])
        );
        // The form before git 2.31.
        assert_eq!(
            parameter_keys("'credential.helper=patrol' 'patrol.warnBefore=3d'"),
            Some(vec![
                "credential.helper".to_owned(),
                "patrol.warnBefore".to_owned()
            ])
        );
        assert_eq!(parameter_keys(""), Some(Vec::new()));
        for bogus in ["credential.helper=patrol", "'unterminated", "'a'='b'c"] {
            assert_eq!(parameter_keys(bogus), None, "{bogus}");
        }
    }

    #[test]
    fn only_patrol_keys_and_includes_on_the_command_line_ask_git() {
        let cases = [
            ("'credential.helper'='patrol'", false),
            (
                "'credential.helper'='' 'credential.helper'='patrol --warn-before=3d'",
                false,
            ),
            ("'Patrol.warnBefore'='3d'", true),
            ("'patrol.https://example.com.forge'='github'", true),
            ("'include.path'='/elsewhere'", true),
            ("'includeIf.onbranch:main.path'='/elsewhere'", true),
            ("'a'='it'\\'' patrol.x'", false),
            ("not quoted", true),
        ];
        for (parameters, asks) in cases {
            let var = vars(&[("GIT_CONFIG_PARAMETERS", parameters)]);
            assert_eq!(command_line(&var).is_some(), asks, "{parameters}");
        }
        let counted = |key: &str| {
            vars(&[
                ("GIT_CONFIG_COUNT", "2"),
                ("GIT_CONFIG_KEY_0", "http.extraHeader"),
                ("GIT_CONFIG_KEY_1", key),
            ])
        };
        assert!(command_line(&counted("core.askPass")).is_none());
        assert!(command_line(&counted("PATROL.probe")).is_some());
        assert!(command_line(&vars(&[("GIT_CONFIG_COUNT", "1")])).is_some());
        assert!(command_line(&vars(&[("GIT_CONFIG_COUNT", "x")])).is_some());
        assert!(command_line(&vars(&[("GIT_CONFIG", "/some/file")])).is_none());
        assert!(command_line(&vars(&[])).is_none());
    }

    #[test]
    fn a_file_asks_git_for_a_patrol_or_include_header_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        assert_eq!(file_may_set_patrol(&file), None, "a missing file");
        let cases = [
            ("[credential]\n\thelper = patrol\n", false),
            ("[user]\n\tname = patrol\n# [patrolling]\n", true),
            ("[patrol]\n\twarnBefore = 3d\n", true),
            (
                "  [PaTrOl \"https://example.com\"]\n\tforge = github\n",
                true,
            ),
            ("[core] [patrol] probe = false\n", true),
            ("[patrol.https://example.com]\n\tprobe = false\n", true),
            ("[include]\n\tpath = more\n", true),
            ("[includeIf \"gitdir:~/work/\"]\n\tpath = more\n", true),
            // Not a header git accepts: `[ patrol]` is a syntax error.
            ("[ patrol]\n", false),
        ];
        for (text, asks) in cases {
            std::fs::write(&file, text).unwrap();
            assert_eq!(file_may_set_patrol(&file).is_some(), asks, "{text}");
        }
        // Followed through a link, as git follows it.
        let target = dir.path().join("dotfiles-gitconfig");
        std::fs::write(&target, "[patrol]\n\tprobe = false\n").unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&target, &file).unwrap();
        assert!(file_may_set_patrol(&file).is_some(), "a link");
        // What cannot be read as a small regular file is left to git,
        // and a FIFO does not hold patrol.
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir(&file).unwrap();
        assert!(
            file_may_set_patrol(&file).is_some(),
            "a directory in its place"
        );
        let fifo = dir.path().join("fifo");
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        assert!(file_may_set_patrol(&fifo).is_some(), "a FIFO");
        let large = dir.path().join("large");
        std::fs::write(&large, vec![b'#'; (MAX_FILE + 1) as usize]).unwrap();
        assert!(file_may_set_patrol(&large).is_some(), "a large file");
    }

    #[test]
    fn the_per_user_files_follow_git_config_global_or_home_and_xdg() {
        let global = vars(&[("GIT_CONFIG_GLOBAL", "/g"), ("HOME", "/h")]);
        assert_eq!(user_files(&global), Some(vec![PathBuf::from("/g")]));
        assert_eq!(user_files(&vars(&[("GIT_CONFIG_GLOBAL", "")])), None);
        let home = vars(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")]);
        assert_eq!(
            user_files(&home),
            Some(vec![
                PathBuf::from("/h/.gitconfig"),
                PathBuf::from("/h/.config/git/config"),
                PathBuf::from("/x/git/config"),
            ])
        );
        let empty_home = vars(&[("HOME", "")]);
        assert_eq!(
            user_files(&empty_home),
            Some(vec![
                PathBuf::from("/.gitconfig"),
                PathBuf::from("/.config/git/config"),
            ])
        );
    }

    #[test]
    fn every_repository_above_the_directory_is_read_with_its_worktree_and_common_dir() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        // A main repository, and a linked worktree of it inside.
        let main = root.join("main/.git");
        std::fs::create_dir_all(main.join("worktrees/side")).unwrap();
        std::fs::write(main.join("worktrees/side/commondir"), "../..\n").unwrap();
        let side = root.join("main/side");
        std::fs::create_dir_all(side.join("src")).unwrap();
        std::fs::write(
            side.join(".git"),
            format!("gitdir: {}\n", main.join("worktrees/side").display()),
        )
        .unwrap();
        let files = repository_files(&vars(&[]), &side.join("src")).unwrap();
        for expected in [
            main.join("worktrees/side/config.worktree"),
            main.join("worktrees/side/../../config"),
            main.join("config"),
        ] {
            assert!(files.contains(&expected), "{expected:?} in {files:?}");
        }
        // GIT_DIR replaces the search.
        let var = vars(&[("GIT_DIR", "elsewhere.git")]);
        assert_eq!(
            repository_files(&var, root).unwrap(),
            vec![
                root.join("elsewhere.git/config"),
                root.join("elsewhere.git/config.worktree")
            ]
        );
        // A `.git` file that is not git's cannot be followed: ask git.
        std::fs::write(side.join(".git"), "not a gitdir line\n").unwrap();
        assert_eq!(repository_files(&vars(&[]), &side), None);
    }
}
