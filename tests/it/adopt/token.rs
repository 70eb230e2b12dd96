//! `token` for scripts: the secret alone on stdout.

use std::fs;

use super::assert_ok;
use crate::support::env::TestEnv;
use crate::support::fixtures::{ALICE, token};
use crate::support::{assert_contains, text};

#[test]
fn token_prints_the_secret_alone_for_scripts() {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=github.com\nusername=alice\npassword=ghp_TESTalice0001\n");
    env.approve("protocol=https\nhost=github.com\nusername=bob\npassword=ghp_TESTbob0002\n");
    let out = env.patrol(&["token", "https://github.com", "--user", "bob"], "");
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "ghp_TESTbob0002\n");
    assert_eq!(text(&out.stderr), "");
    assert_eq!(
        token(&env, "https://alice@github.com", None).unwrap(),
        format!("{ALICE}\n")
    );

    // Two accounts and no --user: a usage problem.
    let out = env.patrol(&["token", "github.com"], "");
    assert_eq!(out.status.code(), Some(2));
    assert_contains!(text(&out.stderr), "--user");
    assert_eq!(text(&out.stdout), "");

    // Without the index, the keychain alone answers for one account.
    fs::remove_dir_all(env.index_dir()).unwrap();
    assert_eq!(
        token(&env, "github.com", Some("bob")).unwrap(),
        "ghp_TESTbob0002\n"
    );

    // Nothing stored: exit 1, a message, nothing on stdout.
    let out = env.patrol(&["token", "gitlab.com"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_contains!(
        text(&out.stderr),
        "no stored credential for https://gitlab.com"
    );
}
