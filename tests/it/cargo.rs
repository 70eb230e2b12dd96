//! cargo's built-in git (libgit2) runs the helper's `get` itself and keeps
//! its stderr: a warning printed there reaches nobody. It must not count
//! against `patrol.warnEvery`, so the next `git` in a terminal still warns.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::support::env::{BIN, TestEnv};
use crate::support::git_server::{GitServer, bare_repo};
use crate::support::{assert_contains, assert_lacks, now, run, text};

const USER: &str = "alice";
const TOKEN: &str = "ghp_TESTcargolibgit2000000000000000000000";
const DAY: i64 = 86_400;

/// A crate in a repository on a loopback server, named by `localhost`:
/// libgit2 tells a helper the host only when it is a name, not an address.
fn served_crate(env: &TestEnv) -> (GitServer, String) {
    let srv = env.root().join("srv");
    fs::create_dir_all(&srv).unwrap();
    let bare = bare_repo(&srv, "dep.git");
    let server = GitServer::start(&srv);
    server.accept(USER, TOKEN);
    let port = server.host().rsplit(':').next().unwrap().to_owned();
    env.config("user.name", "Test");
    env.config("user.email", "test@example.com");
    let work = env.root().join("dep");
    fs::create_dir_all(work.join("src")).unwrap();
    fs::write(
        work.join("Cargo.toml"),
        "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    fs::write(work.join("src/lib.rs"), "").unwrap();
    let work = work.to_str().unwrap();
    for args in [
        vec!["init", "-q", "-b", "main", work],
        vec!["-C", work, "add", "."],
        vec!["-C", work, "commit", "-q", "-m", "dep"],
        vec!["-C", work, "push", "-q", bare.to_str().unwrap(), "main"],
    ] {
        let out = env.git(&args, "");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    (server, format!("http://localhost:{port}/dep.git"))
}

/// `cargo generate-lockfile` for a crate that depends on `url`, with
/// cargo's own git (libgit2), in a cargo home of this test's own.
fn cargo_fetch(env: &TestEnv, url: &str) -> std::process::Output {
    let project = env.root().join("app");
    fs::create_dir_all(project.join("src")).unwrap();
    fs::write(
        project.join("Cargo.toml"),
        format!(
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\ndep = {{ git = \"{url}\" }}\n"
        ),
    )
    .unwrap();
    fs::write(project.join("src/lib.rs"), "").unwrap();
    // The toolchain's own cargo and rustc: rustup's proxies would look for
    // their toolchains under this test's HOME.
    let cargo = Path::new(env!("CARGO"));
    let mut command = env.command(cargo);
    command
        .arg("generate-lockfile")
        .current_dir(&project)
        .env("CARGO_HOME", env.root().join("cargo-home"))
        .env("RUSTC", cargo.with_file_name("rustc"))
        .env("CARGO_NET_GIT_FETCH_WITH_CLI", "false")
        .env("CARGO_TERM_COLOR", "never")
        // A proxy setting makes cargo fetch through its curl transport,
        // which never asks for credentials; the server is on loopback.
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    run(command, b"")
}

/// `git clone` in a pseudo-terminal, as a person runs it; what the
/// terminal showed.
fn clone_in_terminal(env: &TestEnv, url: &str) -> String {
    let dest = env.root().join("clone");
    let line = format!("git clone -q {url} {}", dest.display());
    let mut command = env.command("script");
    command
        .args(["-qec", &line, "/dev/null"])
        .env("NO_COLOR", "1");
    let out = run(command, b"");
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}{}", text(&out.stderr));
    assert!(dest.join("Cargo.toml").exists(), "not cloned: {shown}");
    shown
}

#[test]
fn a_warning_cargo_hides_is_still_given_to_git_in_a_terminal() {
    let env = TestEnv::new();
    if Command::new("script").arg("--version").output().is_err() {
        panic!("`script` (util-linux) is needed; scripts/test installs it");
    }
    let (server, url) = served_crate(&env);
    env.config("credential.helper", BIN);
    let expiry = now() + 3 * DAY;
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let stored = env.patrol(
        &["store"],
        &format!(
            "protocol=http\nhost={host}\nusername={USER}\npassword={TOKEN}\n\
             password_expiry_utc={expiry}\n"
        ),
    );
    assert!(stored.status.success(), "{}", text(&stored.stderr));

    // cargo authenticates with what patrol gave it; the warning goes into
    // cargo's pipe and nowhere else.
    let cargo = cargo_fetch(&env, &url);
    assert!(
        cargo.status.success(),
        "cargo could not fetch: {}",
        text(&cargo.stderr)
    );
    assert!(server.refused().is_empty(), "{:?}", server.refused());
    assert_lacks!(
        text(&cargo.stderr),
        "expires in",
        "cargo showed the warning after all"
    );

    // The person's next git, in a terminal, is warned.
    let shown = clone_in_terminal(&env, &url);
    assert_contains!(
        shown,
        &format!("warning: the token for http://{host} (alice) expires in 3 days"),
        "no warning in the terminal: {shown}"
    );

    // That one was seen: the next clone inside warnEvery is quiet.
    fs::remove_dir_all(env.root().join("clone")).unwrap();
    let again = clone_in_terminal(&env, &url);
    assert!(!again.contains("warning:"), "{again}");
}
