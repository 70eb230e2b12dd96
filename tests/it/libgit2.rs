//! Programs built on libgit2 (pygit2 here) never run git's credential
//! helpers by themselves: the application answers libgit2's credential
//! callback. docs/adoption.md gives those users a recipe, `git
//! credential-patrol token URL` inside the callback; these tests run that
//! recipe with pygit2 against a loopback git server, and show that without
//! it the same clone is refused.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::support::env::{BIN, TestEnv};
use crate::support::git_server::{GitServer, bare_repo};
use crate::support::{assert_lacks, report_branch, run, text};

const USER: &str = "alice";
const TOKEN: &str = "ghp_TESTpygit2recipe0000000000000000000";

/// The recipe of docs/adoption.md, as a pygit2 program: clones `URL` into
/// `DEST` and asks patrol for the token only when libgit2 asks for one.
const RECIPE: &str = r#"
import os, subprocess, sys
import pygit2

url, dest, use_patrol = sys.argv[1], sys.argv[2], sys.argv[3] == "patrol"

class Patrol(pygit2.RemoteCallbacks):
    def credentials(self, url, username_from_url, allowed_types):
        if not allowed_types & pygit2.enums.CredentialType.USERPASS_PLAINTEXT:
            return None
        user = username_from_url or os.environ["PATROL_USER"]
        token = subprocess.run(
            ["git", "credential-patrol", "token", url, "--user", user],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        return pygit2.UserPass(user, token)

callbacks = Patrol() if use_patrol else None
try:
    pygit2.clone_repository(url, dest, callbacks=callbacks)
except pygit2.GitError as err:
    print("clone failed:", err, file=sys.stderr)
    sys.exit(1)
print("cloned", pygit2.Repository(dest).head.shorthand)
"#;

/// Whether Python can import pygit2 here; scripts/test installs it.
fn pygit2_available(env: &TestEnv) -> bool {
    let mut command = env.command("python3");
    command.args(["-c", "import pygit2"]);
    run(command, b"").status.success()
}

/// A server holding one pushed commit, with the token stored in patrol.
fn served_repository(env: &TestEnv) -> GitServer {
    let srv = env.root().join("srv");
    fs::create_dir_all(&srv).unwrap();
    bare_repo(&srv, "project.git");
    let server = GitServer::start(&srv);
    server.accept(USER, TOKEN);
    env.config("credential.helper", BIN);
    env.config("user.name", "Test");
    env.config("user.email", "test@example.com");
    let stored = env.patrol(
        &["store"],
        &format!(
            "protocol=http\nhost={}\nusername={USER}\npassword={TOKEN}\n",
            server.host()
        ),
    );
    assert!(stored.status.success(), "{}", text(&stored.stderr));
    let work = env.home().join("work");
    let work = work.to_str().unwrap();
    let url = server.url("project.git");
    for args in [
        vec!["init", "-q", "-b", "main", work],
        vec!["-C", work, "commit", "-q", "--allow-empty", "-m", "first"],
        vec!["-C", work, "push", "-q", &url, "main"],
    ] {
        let out = env.git(&args, "");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    server
}

fn clone_with_pygit2(env: &TestEnv, url: &str, dest: &Path, how: &str) -> Output {
    let helper_dir = Path::new(BIN).parent().unwrap();
    let mut command = env.command("python3");
    command
        .args(["-c", RECIPE, url, dest.to_str().unwrap(), how])
        .env("PATH", env.path_with(helper_dir))
        .env("PATROL_USER", USER);
    run(command, b"")
}

#[test]
fn pygit2_clones_with_the_token_patrol_hands_its_callback_and_not_without() {
    let env = TestEnv::new();
    if !pygit2_available(&env) {
        report_branch("pygit2 recipe: NOT TESTED, python3 cannot import pygit2");
        return;
    }
    report_branch("pygit2 recipe: tested with pygit2");
    let server = served_repository(&env);
    let url = server.url("project.git");

    // libgit2 alone never asks patrol: the clone is refused.
    let plain = clone_with_pygit2(&env, &url, &env.home().join("plain"), "plain");
    assert!(
        !plain.status.success(),
        "pygit2 cloned without credentials: {}",
        text(&plain.stdout)
    );

    let recipe = clone_with_pygit2(&env, &url, &env.home().join("recipe"), "patrol");
    assert!(
        recipe.status.success(),
        "the recipe failed: {}",
        text(&recipe.stderr)
    );
    assert_eq!(text(&recipe.stdout).trim(), "cloned main");
    assert_lacks!(text(&recipe.stdout), TOKEN, "the token was printed");
    assert_lacks!(text(&recipe.stderr), TOKEN, "the token was printed");
}
