//! What tests in several modules share: the credentials of a git
//! `store` file and where each one ended up after an import, the plaintext
//! file's place and mode, `token` for one URL, and where the kernel
//! keyring can run without touching the user's keyrings.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::env::TestEnv;
use super::{report_branch, run, text};

pub const ALICE: &str = "ghp_TESTalice0001";
pub const BOB: &str = "glpat-TESTbob0002";
pub const CAROL: &str = "ghp_TESTcarol/0003";

/// Three credentials as git's `store` writes them: percent-encoded, one
/// with a port and a path.
pub const THREE: &str = "https://alice:ghp_TESTalice0001@github.com\n\
                     https://bob:glpat-TESTbob0002@gitlab.example.com:8443/group/repo.git\n\
                     https://carol%40work:ghp_TESTcarol%2F0003@github.com\n";

pub fn write_private(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    set_mode(path, 0o600);
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

pub fn git_credentials(env: &TestEnv) -> PathBuf {
    env.home().join(".git-credentials")
}

/// `token URL [--user USER]`: the secret, or `None` with the exit code.
pub fn token(env: &TestEnv, url: &str, user: Option<&str>) -> Result<String, Output> {
    let mut args = vec!["token", url];
    if let Some(user) = user {
        args.extend(["--user", user]);
    }
    let out = env.patrol(&args, "");
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(out)
    }
}

/// Every credential of `THREE` is in the keychain, in the file, or both.
/// Where one credential is after an import was stopped, said exactly:
/// what `token` read from the keychain (or how it failed, which is not
/// taken for a loss of its own) and whether its line is still in the file.
/// The credential is lost only when it is in neither.
pub fn whereabouts(
    env: &TestEnv,
    url: &str,
    user: &str,
    secret: &str,
    in_file: bool,
) -> (bool, String) {
    let keychain = match token(env, url, Some(user)) {
        Ok(got) if got == format!("{secret}\n") => "in the keychain".to_owned(),
        Ok(_) => "another token in the keychain".to_owned(),
        Err(out) => format!(
            "`token` exited {:?}: {}",
            out.status.code(),
            text(&out.stderr).trim()
        ),
    };
    let lost = !in_file && keychain != "in the keychain";
    let file = if in_file { "in" } else { "not in" };
    (
        lost,
        format!("{user} at {url}: {keychain}; {file} the file"),
    )
}

/// Asserts that each of `THREE` is in the keychain or still in the file,
/// and says where each one is when one is in neither.
pub fn assert_nothing_lost(env: &TestEnv, file: &Path) {
    let left = fs::read_to_string(file).unwrap_or_default();
    let found: Vec<(bool, String)> = [
        ("github.com", "alice", ALICE, "ghp_TESTalice0001@github.com"),
        ("gitlab.example.com:8443", "bob", BOB, "glpat-TESTbob0002@"),
        ("github.com", "carol@work", CAROL, "ghp_TESTcarol%2F0003@"),
    ]
    .into_iter()
    .map(|(url, user, secret, line)| whereabouts(env, url, user, secret, left.contains(line)))
    .collect();
    assert!(
        found.iter().all(|(lost, _)| !lost),
        "a token is neither in the keychain nor in the file:\n{}",
        found
            .into_iter()
            .map(|(_, said)| said)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Where a test can run the kernel keyring without touching the user's own
/// keyrings, most private first.
#[derive(Clone, Copy, Debug)]
pub enum Private {
    /// A new user namespace (so a persistent keyring of its own, which the
    /// keyutils store links every key into) and a new session keyring.
    Namespace,
    /// A new session keyring; the user's persistent keyring, when the
    /// kernel offers one, is linked into it, and our erase removes the key
    /// from there too.
    Session,
}

impl Private {
    /// Where the test ran, as scripts/test's summary says it.
    pub fn place(self) -> &'static str {
        match self {
            Self::Namespace => "a private user namespace and session keyring",
            Self::Session => "a private session keyring",
        }
    }

    pub fn wrapper(self) -> &'static [&'static str] {
        match self {
            Self::Namespace => &[
                "unshare",
                "--user",
                "--map-current-user",
                "keyctl",
                "session",
                "-",
            ],
            Self::Session => &["keyctl", "session", "-"],
        }
    }

    /// The most private place this kernel allows for the test of `branch`,
    /// reported in scripts/test's summary either way: `None` (reported as
    /// NOT TESTED, which is no pass) when there is none.
    pub fn for_branch(env: &TestEnv, branch: &str) -> Option<Self> {
        match Self::find(env) {
            Ok(private) => {
                report_branch(&format!("{branch}: tested in {}", private.place()));
                Some(private)
            }
            Err(why) => {
                report_branch(&format!(
                    "{branch}: NOT TESTED, the kernel refuses a private keyring ({why})"
                ));
                None
            }
        }
    }

    /// The most private place this kernel allows, or why there is none.
    pub fn find(env: &TestEnv) -> Result<Self, String> {
        let mut refusals = Vec::new();
        for private in [Self::Namespace, Self::Session] {
            let wrapper = private.wrapper();
            let mut command = env.command(wrapper[0]);
            command.args(&wrapper[1..]).args(["keyctl", "show", "@s"]);
            let out = run(command, b"");
            if out.status.success() {
                return Ok(private);
            }
            refusals.push(format!("{private:?}: {}", text(&out.stderr).trim()));
        }
        Err(refusals.join("; "))
    }
}
