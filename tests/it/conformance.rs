//! The cases of git's external-helper suite (t/t0303-credential-external.sh
//! with t/lib-credential.sh), reproduced through real `git credential`
//! against a real Secret Service.

use crate::support::assert_lacks;
use crate::support::env::TestEnv;

const ASK_BOTH_EXAMPLE: &str = "
    askpass: Username for 'https://example.com':
    askpass: Password for 'https://askpass-username@example.com':
";

#[test]
fn has_no_existing_data() {
    let env = TestEnv::new();
    env.check(
        "fill",
        "protocol=https\nhost=example.com\n",
        "protocol=https\nhost=example.com\nusername=askpass-username\npassword=askpass-password\n",
        ASK_BOTH_EXAMPLE,
    );
}

fn with_store_user() -> TestEnv {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=example.com\nusername=store-user\npassword=store-pass\n");
    env
}

#[test]
fn stores_and_retrieves_password() {
    let env = with_store_user();
    env.check(
        "fill",
        "protocol=https\nhost=example.com\n",
        "protocol=https\nhost=example.com\nusername=store-user\npassword=store-pass\n",
        "",
    );
}

#[test]
fn requires_matching_protocol_host_and_username() {
    let env = with_store_user();
    env.check(
        "fill",
        "protocol=http\nhost=example.com\n",
        "protocol=http\nhost=example.com\nusername=askpass-username\npassword=askpass-password\n",
        "askpass: Username for 'http://example.com':\naskpass: Password for 'http://askpass-username@example.com':\n",
    );
    env.check(
        "fill",
        "protocol=https\nhost=other.tld\n",
        "protocol=https\nhost=other.tld\nusername=askpass-username\npassword=askpass-password\n",
        "askpass: Username for 'https://other.tld':\naskpass: Password for 'https://askpass-username@other.tld':\n",
    );
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=other\n",
        "protocol=https\nhost=example.com\nusername=other\npassword=askpass-password\n",
        "askpass: Password for 'https://other@example.com':\n",
    );
}

#[test]
fn requires_matching_path_with_use_http_path() {
    let env = TestEnv::new();
    let path = ["credential.useHttpPath=true"];
    env.check_with(
        "approve",
        &path,
        "protocol=http\nhost=path.tld\npath=foo.git\nusername=user\npassword=pass\n",
        "",
        "",
    );
    env.check_with(
        "fill",
        &path,
        "protocol=http\nhost=path.tld\npath=bar.git\n",
        "protocol=http\nhost=path.tld\npath=bar.git\nusername=askpass-username\npassword=askpass-password\n",
        "askpass: Username for 'http://path.tld/bar.git':\naskpass: Password for 'http://askpass-username@path.tld/bar.git':\n",
    );
    env.check_with(
        "fill",
        &path,
        "protocol=http\nhost=path.tld\npath=foo.git\n",
        "protocol=http\nhost=path.tld\npath=foo.git\nusername=user\npassword=pass\n",
        "",
    );
}

#[test]
fn can_forget_host() {
    let env = with_store_user();
    env.reject("protocol=https\nhost=example.com\n");
    env.check(
        "fill",
        "protocol=https\nhost=example.com\n",
        "protocol=https\nhost=example.com\nusername=askpass-username\npassword=askpass-password\n",
        ASK_BOTH_EXAMPLE,
    );
}

fn with_two_users() -> TestEnv {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=example.com\nusername=user1\npassword=pass1\n");
    env.approve("protocol=https\nhost=example.com\nusername=user2\npassword=pass2\n");
    env
}

#[test]
fn can_store_multiple_users() {
    let env = with_two_users();
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user1\n",
        "protocol=https\nhost=example.com\nusername=user1\npassword=pass1\n",
        "",
    );
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user2\n",
        "protocol=https\nhost=example.com\nusername=user2\npassword=pass2\n",
        "",
    );
}

#[test]
fn without_a_username_the_most_recently_stored_answers() {
    let env = with_two_users();
    env.check(
        "fill",
        "protocol=https\nhost=example.com\n",
        "protocol=https\nhost=example.com\nusername=user2\npassword=pass2\n",
        "",
    );
}

#[test]
fn can_forget_user_and_remembers_the_other() {
    let env = with_two_users();
    env.reject("protocol=https\nhost=example.com\nusername=user1\n");
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user1\n",
        "protocol=https\nhost=example.com\nusername=user1\npassword=askpass-password\n",
        "askpass: Password for 'https://user1@example.com':\n",
    );
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user2\n",
        "protocol=https\nhost=example.com\nusername=user2\npassword=pass2\n",
        "",
    );
}

#[test]
fn overwrites_on_store() {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=example.com\nusername=user-overwrite\npassword=pass1\n");
    env.approve("protocol=https\nhost=example.com\nusername=user-overwrite\npassword=pass2\n");
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user-overwrite\n",
        "protocol=https\nhost=example.com\nusername=user-overwrite\npassword=pass2\n",
        "",
    );
    env.reject("protocol=https\nhost=example.com\nusername=user-overwrite\npassword=pass2\n");
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user-overwrite\n",
        "protocol=https\nhost=example.com\nusername=user-overwrite\npassword=askpass-password\n",
        "askpass: Password for 'https://user-overwrite@example.com':\n",
    );
}

#[test]
fn does_not_erase_a_password_distinct_from_input() {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=example.com\nusername=user-distinct-pass\npassword=pass1\n");
    env.reject("protocol=https\nhost=example.com\nusername=user-distinct-pass\npassword=pass2\n");
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user-distinct-pass\n",
        "protocol=https\nhost=example.com\nusername=user-distinct-pass\npassword=pass1\n",
        "",
    );
}

#[test]
fn can_store_empty_username_and_password() {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=sso.tld\nusername=\npassword=\n");
    env.check(
        "fill",
        "protocol=https\nhost=sso.tld\n",
        "protocol=https\nhost=sso.tld\nusername=\npassword=\n",
        "",
    );
}

#[test]
fn erases_all_matching_credentials() {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=example.com\nusername=user1\npassword=pass1\n");
    env.approve("protocol=https\nhost=example.com\nusername=user2\npassword=pass1\n");
    env.reject("protocol=https\nhost=example.com\n");
    env.check(
        "fill",
        "protocol=https\nhost=example.com\n",
        "protocol=https\nhost=example.com\nusername=askpass-username\npassword=askpass-password\n",
        ASK_BOTH_EXAMPLE,
    );
}

#[test]
fn is_not_confused_by_a_long_wwwauth_header() {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=victim.example.com\nusername=user\npassword=to-be-stolen\n");
    let long = "a".repeat(1024 - 23);
    let header = format!("wwwauth[]=basic realm={long}host=victim.example.com");
    env.check(
        "fill",
        &format!("protocol=https\nhost=badguy.example.com\n{header}\n"),
        &format!(
            "protocol=https\nhost=badguy.example.com\nusername=askpass-username\npassword=askpass-password\n{header}\n"
        ),
        "askpass: Username for 'https://badguy.example.com':\naskpass: Password for 'https://askpass-username@badguy.example.com':\n",
    );
}

#[test]
fn stores_and_returns_password_expiry_utc_exactly() {
    let env = TestEnv::new();
    env.approve(
        "protocol=https\nhost=example.com\nusername=user-expiry\npassword=pass\npassword_expiry_utc=9999999999\n",
    );
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user-expiry\n",
        "protocol=https\nhost=example.com\nusername=user-expiry\npassword=pass\npassword_expiry_utc=9999999999\n",
        "",
    );
}

#[test]
fn a_new_store_replaces_password_and_expiry_together() {
    let env = TestEnv::new();
    env.approve(
        "protocol=https\nhost=example.com\nusername=user-expiry-overwrite\npassword=pass1\npassword_expiry_utc=9999999998\n",
    );
    env.approve(
        "protocol=https\nhost=example.com\nusername=user-expiry-overwrite\npassword=pass2\npassword_expiry_utc=9999999999\n",
    );
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user-expiry-overwrite\n",
        "protocol=https\nhost=example.com\nusername=user-expiry-overwrite\npassword=pass2\npassword_expiry_utc=9999999999\n",
        "",
    );
    env.approve(
        "protocol=https\nhost=example.com\nusername=user-expiry-overwrite\npassword=pass3\n",
    );
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user-expiry-overwrite\n",
        "protocol=https\nhost=example.com\nusername=user-expiry-overwrite\npassword=pass3\n",
        "",
    );
}

#[test]
fn stores_and_returns_oauth_refresh_token() {
    let env = TestEnv::new();
    env.approve(
        "protocol=https\nhost=example.com\nusername=user4\npassword=pass\noauth_refresh_token=xyzzy\n",
    );
    env.check(
        "fill",
        "protocol=https\nhost=example.com\nusername=user4\n",
        "protocol=https\nhost=example.com\nusername=user4\npassword=pass\noauth_refresh_token=xyzzy\n",
        "",
    );
    // The refresh token is a secret: the keychain has it, the index not.
    let index = env.index().to_string();
    assert_lacks!(index, "xyzzy");
    assert_lacks!(index, "pass\"");
}

#[test]
fn stores_and_returns_authtype_credentials_to_callers_that_announce_it() {
    let env = TestEnv::new();
    env.check(
        "approve",
        "capability[]=authtype\nauthtype=Bearer\ncredential=random-token\nprotocol=https\nhost=git.example.com\n",
        "",
        "",
    );
    env.check(
        "fill",
        "capability[]=authtype\nprotocol=https\nhost=git.example.com\n",
        "capability[]=authtype\nauthtype=Bearer\ncredential=random-token\nprotocol=https\nhost=git.example.com\n",
        "",
    );
    env.check(
        "approve",
        "capability[]=authtype\nauthtype=Bearer\ncredential=other-token\nprotocol=https\nhost=git.example.com\nusername=foobar\n",
        "",
        "",
    );
    env.check(
        "fill",
        "capability[]=authtype\nprotocol=https\nhost=git.example.com\nusername=foobar\n",
        "capability[]=authtype\nauthtype=Bearer\ncredential=other-token\nprotocol=https\nhost=git.example.com\nusername=foobar\n",
        "",
    );
    env.check(
        "fill",
        "capability[]=authtype\nprotocol=https\nhost=git.example.com\nusername=barbaz\n",
        "protocol=https\nhost=git.example.com\nusername=barbaz\npassword=askpass-password\n",
        "askpass: Password for 'https://barbaz@git.example.com':\n",
    );
}

#[test]
fn authtype_credentials_are_not_given_to_callers_that_do_not_announce_it() {
    let env = TestEnv::new();
    env.approve(
        "capability[]=authtype\nauthtype=Bearer\ncredential=random-token\nprotocol=https\nhost=git.example.com\n",
    );
    env.check(
        "fill",
        "protocol=https\nhost=git.example.com\n",
        "protocol=https\nhost=git.example.com\nusername=askpass-username\npassword=askpass-password\n",
        "askpass: Username for 'https://git.example.com':\naskpass: Password for 'https://askpass-username@git.example.com':\n",
    );
}

#[test]
fn ephemeral_credentials_are_not_stored() {
    let env = TestEnv::new();
    env.approve(
        "capability[]=authtype\nauthtype=Bearer\ncredential=git2-token\nprotocol=https\nhost=git2.example.com\nephemeral=1\n",
    );
    env.check(
        "fill",
        "capability[]=authtype\nprotocol=https\nhost=git2.example.com\n",
        "protocol=https\nhost=git2.example.com\nusername=askpass-username\npassword=askpass-password\n",
        "askpass: Username for 'https://git2.example.com':\naskpass: Password for 'https://askpass-username@git2.example.com':\n",
    );
}
