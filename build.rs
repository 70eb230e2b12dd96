//! Puts the git commit into `--version`, and its date into the binary for
//! `doctor`'s clock check, when built from a checkout of this project (not
//! when a source tarball is unpacked inside some other repository).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| git(&manifest_dir, args);
    let in_checkout = git(&["rev-parse", "--show-toplevel"])
        .and_then(|top| Path::new(&top).canonicalize().ok())
        .is_some_and(|top| Some(top) == manifest_dir.canonicalize().ok());
    let commit = in_checkout
        .then(|| git(&["rev-parse", "--short=10", "HEAD"]))
        .flatten();
    let full = match &commit {
        Some(hash) => format!("{version} ({hash})"),
        None => version.to_owned(),
    };
    println!("cargo:rustc-env=PATROL_VERSION={full}");
    // The commit's date, not the build's, so that a build is reproducible.
    let date = in_checkout
        .then(|| git(&["log", "-1", "--format=%cI"]))
        .flatten()
        .unwrap_or_default();
    println!("cargo:rustc-env=PATROL_BUILD_DATE={date}");
    println!("cargo:rerun-if-changed=build.rs");
    if commit.is_some() {
        // Ask git where HEAD and its branch live: in a worktree they are not
        // under the checkout's `.git/`. Only existing files: cargo reruns the
        // script every time for a missing one. A loose ref that is packed
        // away disappears, which counts as a change too.
        let branch = git(&["symbolic-ref", "-q", "HEAD"]);
        let watched = ["HEAD", "packed-refs"]
            .into_iter()
            .map(str::to_owned)
            .chain(branch);
        for name in watched {
            let path = git(&["rev-parse", "--path-format=absolute", "--git-path", &name]);
            if let Some(path) = path.filter(|path| Path::new(path).exists()) {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
}
