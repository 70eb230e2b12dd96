//! A keyring that keeps tokens only in memory (gnome-keyring's `session`
//! collection): nothing lost across a restart, and taken only when asked
//! for by name.

use std::fs;

use super::{assert_ok, global_config};
use crate::support::env::TestEnv;
use crate::support::fixtures::{
    ALICE, THREE, assert_nothing_lost, git_credentials, token, write_private,
};
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, text};

#[test]
fn with_only_the_in_memory_collection_no_token_is_lost_across_a_restart() {
    let mut env = TestEnv::with_keyring(Keyring::SessionOnly);
    env.config("credential.helper", "store");
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let before = global_config(&env);

    let out = env.patrol(&["install"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "only in memory");
    assert_contains!(stderr, "collection `session`");
    assert_contains!(stderr, "gnome-keyring-daemon --replace --unlock");
    assert_contains!(stderr, "patrol.allowMemoryOnly");
    assert_eq!(global_config(&env), before);

    let out = env.patrol(&["import"], "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_contains!(text(&out.stderr), "only in memory");
    assert!(!text(&out.stdout).contains("Deleted"));
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);

    // git's own store through patrol: nothing stored, and stderr says why.
    let out = env.patrol(
        &["store"],
        "protocol=https\nhost=example.com\nusername=dave\npassword=ghp_TESTdave0004\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_contains!(text(&out.stderr), "was not stored");
    assert_contains!(text(&out.stderr), "only in memory");
    let listed = env
        .command("secret-tool")
        .args(["search", "--all", "application", "git-credential-patrol"])
        .output()
        .unwrap();
    assert_eq!(text(&listed.stdout), "", "an item went to memory");

    let out = env.patrol(&["doctor"], "");
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert_contains!(
        stdout,
        "problem: the keychain would keep tokens only in memory"
    );
    assert_contains!(stdout, "--replace --unlock");
    assert!(!stdout.contains("No problems found"), "{stdout}");

    env.restart_keyring();
    assert_nothing_lost(&env, &file);
}

#[test]
fn memory_only_storage_is_taken_when_asked_for_by_name_and_import_keeps_the_file() {
    let env = TestEnv::with_keyring(Keyring::SessionOnly);
    env.config("patrol.allowMemoryOnly", "true");
    let file = git_credentials(&env);
    write_private(&file, THREE);
    let out = env.patrol(&["import"], "");
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert_contains!(
        stdout,
        "the line stays in the file, as the keychain keeps it only in memory"
    );
    assert_lacks!(stdout, "Deleted");
    assert_lacks!(stdout, "Removed");
    assert_eq!(fs::read_to_string(&file).unwrap(), THREE);
    assert_eq!(
        token(&env, "github.com", Some("alice")).unwrap(),
        format!("{ALICE}\n")
    );
    let out = env.patrol(&["doctor"], "");
    assert_contains!(
        text(&out.stdout),
        "note: the keychain keeps tokens only in memory"
    );
}
