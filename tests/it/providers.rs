//! What differs between Secret Service providers: KeePassXC next to
//! gnome-keyring. A token is replaced in place, the secret holds git's
//! fields alone (what a person copies from the password manager), and a
//! secret the provider refuses or would change is not stored at all.

use crate::support::env::TestEnv;
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, text};

const ALICE: &str =
    "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0001\n";

fn get(env: &TestEnv) -> String {
    let out = env.patrol(&["get"], "protocol=https\nhost=example.com\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn store(env: &TestEnv, password: &str) -> std::process::Output {
    env.patrol(
        &["store"],
        &format!("protocol=https\nhost=example.com\nusername=alice\npassword={password}\n"),
    )
}

/// How many of our items the Secret Service holds.
fn items(env: &TestEnv) -> usize {
    let out = env.call_secret_service(
        "/org/freedesktop/secrets",
        "org.freedesktop.Secret.Service.SearchItems",
        &["dict:string:string:application,git-credential-patrol"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .matches("object path \"/org/freedesktop/secrets/collection/")
        .count()
}

#[test]
fn a_token_is_replaced_in_place_without_a_prompt() {
    let env = TestEnv::new();
    env.approve(ALICE);
    let out = store(&env, "ghp_TESTalice0002");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    assert_contains!(get(&env), "password=ghp_TESTalice0002\n");
    assert_eq!(items(&env), 1);
}

#[test]
fn the_password_a_person_sees_in_keepassxc_is_the_token_alone() {
    let env = TestEnv::with_keyring(Keyring::KeePassXc);
    env.approve(ALICE);
    env.assert_kdbx_field(
        "git: https://example.com (alice)",
        "Password",
        "ghp_TESTalice0001\n",
    );
    // Git's own fields follow the password, the way git-credential-libsecret
    // keeps them; nothing of patrol's.
    env.approve(
        "protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice0002\n\
         password_expiry_utc=2000000000\noauth_refresh_token=TESTrefresh\n",
    );
    env.assert_kdbx_field(
        "git: https://example.com (alice)",
        "Password",
        "ghp_TESTalice0002\npassword_expiry_utc=2000000000\noauth_refresh_token=TESTrefresh\n",
    );
}

#[test]
fn a_secret_keepassxc_refuses_leaves_no_item_and_a_true_message() {
    let env = TestEnv::with_keyring(Keyring::KeePassXc);
    let out = store(&env, "{REF:P@I:0123456789ABCDEF}");
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert_contains!(err, "KeePassXC");
    assert!(!err.contains("locked"), "{err}");
    assert!(!err.contains("gnome-keyring"), "{err}");
    assert_eq!(items(&env), 0, "no half-made item: {err}");
    assert_eq!(get(&env), "");

    // Refused for an existing item, the token before it stays.
    env.approve(ALICE);
    let out = store(&env, "{REF:P@I:0123456789ABCDEF}");
    assert!(!out.status.success());
    assert_contains!(text(&out.stderr), "the previous one, if any, is unchanged");
    assert_contains!(get(&env), "password=ghp_TESTalice0001\n");
    assert_eq!(items(&env), 1);
}

#[test]
fn a_secret_keepassxc_would_change_is_not_stored() {
    let env = TestEnv::with_keyring(Keyring::KeePassXc);
    let out = store(&env, "ghp_TEST{TITLE}x");
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert_contains!(err, "KeePassXC would hand back a different secret");
    assert_contains!(err, "{TITLE}");
    assert_lacks!(err, "ghp_TEST", "the secret is never shown");
    assert_eq!(items(&env), 0);
    assert_eq!(get(&env), "");
}

/// `secret-tool` on our item: what another program sees.
fn secret_tool(env: &TestEnv, args: &[&str], stdin: &str) -> String {
    let mut command = env.command("secret-tool");
    command.args(args).args([
        "service",
        "git-credential-patrol:https://example.com",
        "username",
        "alice",
        "application",
        "git-credential-patrol",
    ]);
    let out = crate::support::run(command, stdin.as_bytes());
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

#[test]
fn an_item_with_an_earlier_versions_lines_is_read_and_rewritten() {
    // secret-tool replaces an item with `CreateItem(replace)`, which
    // KeePassXC 2.7.4 answers with an access dialog: gnome-keyring only.
    let env = TestEnv::with_keyring(Keyring::Unlocked);
    env.approve(ALICE);
    // The secret as earlier versions wrote it, ending with lines that name
    // the item.
    secret_tool(
        &env,
        &["store", "--label=git: https://example.com (alice)"],
        "ghp_TESTalice0001\nservice=git-credential-patrol:https://example.com\nusername=alice",
    );
    let answer = get(&env);
    assert_contains!(answer, "password=ghp_TESTalice0001\n");
    assert!(!answer.contains("service="), "{answer}");
    // Stored again unchanged, it is written in today's form.
    env.approve(ALICE);
    assert_eq!(secret_tool(&env, &["lookup"], ""), "ghp_TESTalice0001");
}

#[test]
fn doctor_names_the_provider_and_its_traps() {
    let env = TestEnv::with_keyring(Keyring::KeePassXc);
    let report = text(&env.patrol(&["doctor"], "").stdout);
    assert_contains!(report, "ok: the Secret Service is provided by KeePassXC\n");
    assert_contains!(report, "Recycle Bin");

    let env = TestEnv::with_keyring(Keyring::Unlocked);
    let report = text(&env.patrol(&["doctor"], "").stdout);
    assert_contains!(
        report,
        "ok: the Secret Service is provided by GNOME Keyring\n"
    );
    assert!(!report.contains("KeePassXC"), "{report}");
}
