//! Adoption: `install` and `uninstall` against real git configuration,
//! `import` from real plaintext files into the private Secret Service
//! (crashes included), `token` for scripts, and `doctor`; and the
//! keychains other than an unlocked Secret Service that adoption meets: the
//! kernel keyring and a collection kept only in memory.

mod doctor;
mod import;
mod install;
mod kernel_keyring;
mod memory_only;
mod token;
mod uninstall;

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::support::env::TestEnv;
use crate::support::text;

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The values of `credential.helper` in the global file, in order.
fn global_helpers(env: &TestEnv) -> Vec<String> {
    let out = env.git(
        &["config", "--global", "-z", "--get-all", "credential.helper"],
        "",
    );
    text(&out.stdout)
        .split_terminator('\0')
        .map(str::to_owned)
        .collect()
}

fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Asks git itself, through the configuration `install` wrote.
fn fill_through_git(env: &TestEnv, host: &str) -> String {
    let out = env.git(
        &["credential", "fill"],
        &format!("protocol=https\nhost={host}\n"),
    );
    text(&out.stdout)
}

/// The global configuration file's bytes, `None` when there is none.
fn global_config(env: &TestEnv) -> Option<Vec<u8>> {
    fs::read(env.home().join(".gitconfig")).ok()
}
