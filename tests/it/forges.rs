//! The forges beside GitHub and GitLab (Bitbucket Cloud and Data Center,
//! Azure DevOps, Gitea and Forgejo, Gerrit, Hugging Face) and GitLab's
//! project and group tokens, against fake forges on loopback that answer
//! as each forge's documentation and clients describe: what a `store`
//! learns and how the token is sent, the forge's refusals (a revoked
//! token, a rate limit), a token in a form the API does not take, the
//! once-only hint where the expiry cannot be learnt, `check --token-env`,
//! and that no token reaches any host but the configured API.

use serde_json::json;

use crate::support::env::TestEnv;
use crate::support::fake_forge::{FakeForge, Reply};
use crate::support::{assert_contains, text};

const BITBUCKET_API_TOKEN: &str = "ATATTTESTbitbucket0001";
const BITBUCKET_APP_PASSWORD: &str = "ATBBTESTbitbucket0001";
const BITBUCKET_ACCESS_TOKEN: &str = "ATCTTTESTbitbucket0001";
/// base64("123456789012:TESTdcsecret0001"): a Data Center token carries its id.
const DATACENTER_TOKEN: &str = "MTIzNDU2Nzg5MDEyOlRFU1RkY3NlY3JldDAwMDE=";
const AZURE_PAT: &str = "TESTazurepat0001";
const GITEA_TOKEN: &str = "TESTgitea0001";
const GERRIT_TOKEN: &str = "TESTgerrit0001";
const HF_TOKEN: &str = "hf_TESTforge0001";

/// A fake forge and an environment whose `patrol.<url>.apiUrl` for `host`
/// points at it; `forge` names the forge where the host does not.
fn setup(host: &str, forge: Option<&str>) -> (FakeForge, TestEnv) {
    let fake = FakeForge::start();
    let env = TestEnv::new();
    env.config(&format!("patrol.https://{host}.apiUrl"), &fake.url());
    if let Some(forge) = forge {
        env.config(&format!("patrol.https://{host}.forge"), forge);
    }
    (fake, env)
}

fn store(env: &TestEnv, host: &str, user: &str, token: &str) {
    env.approve(&format!(
        "protocol=https\nhost={host}\nusername={user}\npassword={token}\n"
    ));
}

fn record(env: &TestEnv) -> serde_json::Value {
    env.index()["credentials"][0].clone()
}

/// `get` for `host`: (stdout, stderr).
/// `get` with its stderr read (as in a CI job's log), so that what it says
/// once is said once.
fn get(env: &TestEnv, host: &str) -> (String, String) {
    let mut command = env.command(crate::support::env::BIN);
    command.arg("get").env("CI", "true");
    let out = crate::support::run(command, format!("protocol=https\nhost={host}\n").as_bytes());
    assert!(out.status.success());
    (text(&out.stdout), text(&out.stderr))
}

fn check_json(env: &TestEnv, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["check", "--json"];
    all.extend(args);
    let out = env.patrol(&all, "");
    let stdout = text(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|err| {
        panic!(
            "check --json printed no JSON ({err}): {stdout}{}",
            text(&out.stderr)
        )
    });
    (out.status.code(), value)
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

fn list_entry(env: &TestEnv) -> serde_json::Value {
    let out = env.patrol(&["list", "--json"], "");
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    listing["credentials"][0].clone()
}

fn bitbucket_user() -> Reply {
    Reply::json(
        200,
        json!({
            "type": "user",
            "username": "alice-bb",
            "display_name": "Alice",
            "uuid": "{0c6e6d5a-0000-0000-0000-000000000000}",
            "account_id": "557058:00000000-0000-0000-0000-000000000000"
        }),
    )
    .header(
        "X-OAuth-Scopes",
        "read:user:bitbucket, write:repository:bitbucket",
    )
    .header("X-Credential-Type", "api_token")
}

/// Bitbucket's 401, with its nested error.
fn bitbucket_unauthorized() -> Reply {
    Reply::json(
        401,
        json!({ "type": "error", "error": { "message": "Unauthorized" } }),
    )
}

#[test]
fn bitbucket_api_tokens_go_with_the_email_and_say_nothing_of_their_expiry() {
    let (forge, env) = setup("bitbucket.org", None);
    forge.expect("GET", "/user", bitbucket_user());
    env.config("patrol.https://bitbucket.org.apiUser", "alice@example.com");
    store(&env, "bitbucket.org", "alice", BITBUCKET_API_TOKEN);

    let seen = forge.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].headers["authorization"],
        "Basic YWxpY2VAZXhhbXBsZS5jb206QVRBVFRURVNUYml0YnVja2V0MDAwMQ=="
    );
    let record = record(&env);
    assert_eq!(record["kind"], "bitbucket-api");
    assert_eq!(record["account"], "alice-bb");
    assert_eq!(
        record["scopes"],
        json!(["read:user:bitbucket", "write:repository:bitbucket"])
    );
    assert_eq!(record["probe"]["result"], "valid");
    assert!(record["expiry"].get("forge").is_none(), "{record}");

    // The first `get` says once that the expiry is unknown, with the
    // command that sets it; the next push does not repeat it.
    let (stdout, first) = get(&env, "bitbucket.org");
    assert_contains!(stdout, BITBUCKET_API_TOKEN);
    assert_contains!(
        first,
        "git credential-patrol expiry https://bitbucket.org DATE"
    );
    assert_contains!(first, "Bitbucket does not tell");
    let (_, second) = get(&env, "bitbucket.org");
    assert!(!second.contains("credential-patrol expiry"), "{second}");

    let list = env.patrol(&["list"], "");
    assert_contains!(text(&list.stdout), "expiry unknown, forge cannot tell");
    let entry = list_entry(&env);
    assert_eq!(entry["forge"], "bitbucket");
    assert_eq!(entry["forge_tells_expiry"], false);
    assert_eq!(entry["account"], "alice-bb");
    assert_eq!(entry["expires_at"], json!(null));

    // Once a person sets it, nothing more is said.
    let set = env.patrol(&["expiry", "https://bitbucket.org", "2099-01-01"], "");
    assert!(set.status.success(), "{}", text(&set.stderr));
    assert_eq!(list_entry(&env)["expires_at"], "2099-01-01T00:00:00Z");
}

#[test]
fn a_bitbucket_api_token_without_an_email_is_not_sent_in_a_form_the_api_refuses() {
    let (forge, env) = setup("bitbucket.org", None);
    // Git's own user name for API tokens: the API would refuse it.
    store(
        &env,
        "bitbucket.org",
        "x-bitbucket-api-token-auth",
        BITBUCKET_API_TOKEN,
    );
    assert!(forge.requests().is_empty());
    let record = record(&env);
    assert_eq!(record["probe"]["result"], "failed", "{record}");

    let (code, report) = check_json(&env, &["bitbucket.org"]);
    assert!(forge.requests().is_empty());
    let report = &report["credentials"][0];
    assert_eq!(codes(report), ["cannot-ask"], "{report}");
    assert_eq!(report["valid"], json!(null));
    let fix = report["problems"][0]["fix"].as_str().unwrap();
    assert_contains!(
        fix,
        "git config --global patrol.https://bitbucket.org.apiUser EMAIL"
    );
    assert_eq!(code, Some(1));
    // The token is not held as refused: git still gets it.
    let (stdout, _) = get(&env, "bitbucket.org");
    assert_contains!(stdout, BITBUCKET_API_TOKEN);
}

#[test]
fn a_bitbucket_refusal_in_an_uncertain_form_is_no_verdict_on_the_token() {
    let (forge, env) = setup("bitbucket.org", None);
    forge.expect("GET", "/user", bitbucket_unauthorized());
    // No prefix: an older token, tried with the user name git stored.
    store(&env, "bitbucket.org", "alice", "TESTbitbucketlegacy0001");
    assert_eq!(
        forge.requests()[0].headers["authorization"],
        "Basic YWxpY2U6VEVTVGJpdGJ1Y2tldGxlZ2FjeTAwMDE="
    );
    assert_eq!(record(&env)["probe"]["result"], "failed");
    let (stdout, _) = get(&env, "bitbucket.org");
    assert_contains!(stdout, "TESTbitbucketlegacy0001");
}

#[test]
fn a_revoked_bitbucket_app_password_is_refused() {
    let (forge, env) = setup("bitbucket.org", None);
    forge.expect("GET", "/user", bitbucket_unauthorized());
    store(&env, "bitbucket.org", "alice", BITBUCKET_APP_PASSWORD);
    assert_eq!(
        forge.requests()[0].headers["authorization"],
        "Basic YWxpY2U6QVRCQlRFU1RiaXRidWNrZXQwMDAx"
    );
    let record = record(&env);
    assert_eq!(record["kind"], "bitbucket-app-password");
    assert_eq!(record["probe"]["result"], "rejected");
    assert_contains!(
        record["probe"]["message"].as_str().unwrap(),
        "Unauthorized",
        "{record}"
    );
    let (code, report) = check_json(&env, &["bitbucket.org"]);
    assert_eq!(code, Some(1));
    assert_eq!(codes(&report["credentials"][0]), ["bad-credentials"]);
}

#[test]
fn bitbucket_access_tokens_are_bearer_tokens_with_scopes_in_a_header() {
    let (forge, env) = setup("bitbucket.org", None);
    forge.expect(
        "GET",
        "/repositories?pagelen=1",
        Reply::json(200, json!({ "pagelen": 1, "values": [] }))
            .header("x-oauth-scopes", "repository:write")
            .header("x-credential-type", "repo_access_token"),
    );
    store(
        &env,
        "bitbucket.org",
        "x-token-auth",
        BITBUCKET_ACCESS_TOKEN,
    );
    assert_eq!(
        forge.requests()[0].headers["authorization"],
        format!("Bearer {BITBUCKET_ACCESS_TOKEN}")
    );
    let record = record(&env);
    assert_eq!(record["kind"], "bitbucket-access");
    assert_eq!(record["scopes"], json!(["repository:write"]));
    assert_eq!(record["probe"]["result"], "valid");
    assert!(record.get("account").is_none(), "{record}");
}

#[test]
fn a_rate_limited_bitbucket_says_so() {
    let (forge, env) = setup("bitbucket.org", None);
    forge.expect(
        "GET",
        "/user",
        Reply::json(
            429,
            json!({ "type": "error", "error": { "message": "Rate limit for this resource has been exceeded" } }),
        ),
    );
    env.config("patrol.probe", "false");
    store(&env, "bitbucket.org", "alice", BITBUCKET_APP_PASSWORD);
    let (_, report) = check_json(&env, &["bitbucket.org"]);
    assert_eq!(codes(&report["credentials"][0]), ["rate-limited"]);
    // A rate limit says nothing against the token.
    assert_eq!(report["credentials"][0]["valid"], json!(null));
}

#[test]
fn bitbucket_datacenter_lists_the_tokens_lifetime_and_permissions() {
    let (forge, env) = setup("git.example.com", Some("bitbucket-datacenter"));
    forge.expect(
        "GET",
        "/rest/api/1.0/application-properties",
        Reply::json(
            200,
            json!({ "version": "9.4.0", "buildNumber": "9004000", "displayName": "Bitbucket" }),
        )
        .header("X-AUSERNAME", "alice"),
    );
    forge.expect(
        "GET",
        "/rest/access-tokens/1.0/users/alice",
        Reply::json(
            200,
            json!({
                "size": 2, "limit": 25, "isLastPage": true, "start": 0,
                "values": [
                    { "id": "999999999999", "name": "other", "permissions": ["REPO_READ"],
                      "createdDate": 4_000_000_000_000i64, "expiryDays": 30 },
                    { "id": "123456789012", "name": "laptop",
                      "permissions": ["PROJECT_READ", "REPO_WRITE"],
                      "createdDate": 4_000_000_000_000i64, "expiryDays": 90,
                      "lastAuthenticated": 4_000_000_100_000i64,
                      "user": { "name": "alice", "slug": "alice" } }
                ]
            }),
        ),
    );
    store(&env, "git.example.com", "alice", DATACENTER_TOKEN);
    for seen in forge.requests() {
        assert_eq!(
            seen.headers["authorization"],
            format!("Bearer {DATACENTER_TOKEN}")
        );
    }
    let record = record(&env);
    assert_eq!(record["kind"], "bitbucket-datacenter");
    assert_eq!(record["account"], "alice");
    assert_eq!(record["token_name"], "laptop");
    assert_eq!(record["scopes"], json!(["PROJECT_READ", "REPO_WRITE"]));
    // 4,000,000,000 s after the epoch, plus 90 days.
    assert_eq!(record["expiry"]["forge"], "2096-12-31T07:06:40Z");
}

#[test]
fn a_revoked_bitbucket_datacenter_token_is_refused() {
    let (forge, env) = setup("git.example.com", Some("bitbucket-datacenter"));
    forge.expect(
        "GET",
        "/rest/api/1.0/application-properties",
        Reply::json(
            401,
            json!({ "errors": [{ "context": null, "message": "Authentication failed. Please check your credentials and try again.", "exceptionName": "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException" }] }),
        ),
    );
    store(&env, "git.example.com", "alice", DATACENTER_TOKEN);
    assert_eq!(record(&env)["probe"]["result"], "rejected");
}

fn azure_connection_data() -> Reply {
    Reply::json(
        200,
        json!({
            "authenticatedUser": {
                "id": "00000000-0000-0000-0000-000000000001",
                "descriptor": "Microsoft.IdentityModel.Claims.ClaimsIdentity;TEST\\alice@example.com",
                "subjectDescriptor": "aad.TEST",
                "providerDisplayName": "Alice",
                "isActive": true,
                "properties": { "Account": { "$type": "System.String", "$value": "alice@example.com" } }
            },
            "authorizedUser": { "id": "00000000-0000-0000-0000-000000000001" },
            "instanceId": "00000000-0000-0000-0000-000000000002",
            "locationServiceData": {}
        }),
    )
}

#[test]
fn azure_devops_names_the_account_and_cannot_tell_the_expiry() {
    let (forge, env) = setup("dev.azure.com", None);
    forge.expect("GET", "/_apis/connectionData", azure_connection_data());
    store(&env, "dev.azure.com", "contoso", AZURE_PAT);
    assert_eq!(
        forge.requests()[0].headers["authorization"],
        "Basic OlRFU1RhenVyZXBhdDAwMDE="
    );
    let record = record(&env);
    assert_eq!(record["account"], "alice@example.com");
    assert_eq!(record["kind"], "azure-devops-pat");

    let (_, report) = check_json(&env, &["dev.azure.com"]);
    assert_eq!(report["credentials"][0]["forge_tells_expiry"], false);
    assert_eq!(report["credentials"][0]["valid"], true);
    let out = env.patrol(&["check", "dev.azure.com"], "");
    assert_contains!(
        text(&out.stdout),
        "expires:  unknown, the forge cannot tell"
    );

    let (_, first) = get(&env, "dev.azure.com");
    assert_contains!(
        first,
        "git credential-patrol expiry https://dev.azure.com DATE"
    );
    let (_, second) = get(&env, "dev.azure.com");
    assert!(!second.contains("credential-patrol expiry"), "{second}");
    assert_eq!(list_entry(&env)["forge_tells_expiry"], false);
}

#[test]
fn azure_devops_without_its_organization_is_not_asked() {
    // (Were anything sent, TestEnv's proxy keeps it on this machine.)
    let env = TestEnv::new();
    store(&env, "dev.azure.com", "contoso", AZURE_PAT);
    assert_eq!(
        record(&env).get("probe"),
        None,
        "nothing was asked on store"
    );
    let (_, report) = check_json(&env, &["dev.azure.com"]);
    let report = &report["credentials"][0];
    assert_contains!(
        report["notes"].to_string(),
        "git config --global credential.https://dev.azure.com.useHttpPath true",
        "{report}"
    );
    assert_eq!(report["valid"], json!(null));
}

#[test]
fn check_user_needs_a_url_or_a_token_from_the_environment() {
    let env = TestEnv::new();
    let out = env.patrol(&["check", "--user", "alice"], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_contains!(text(&out.stderr), "give the URL too");
}

#[test]
fn azure_devops_refuses_with_its_sign_in_page() {
    let (forge, env) = setup("dev.azure.com", None);
    forge.expect(
        "GET",
        "/_apis/connectionData",
        Reply::text(
            203,
            "<html><head><title>Azure DevOps Services | Sign In</title></head></html>",
        )
        .header("Content-Type", "text/html; charset=utf-8"),
    );
    store(&env, "dev.azure.com", "contoso", AZURE_PAT);
    let record = record(&env);
    assert_eq!(record["probe"]["result"], "rejected", "{record}");
    assert_contains!(record["probe"]["message"].as_str().unwrap(), "sign-in page");
}

#[test]
fn gitea_tokens_go_in_giteas_form_and_never_expire() {
    let (forge, env) = setup("codeberg.org", None);
    forge.expect(
        "GET",
        "/user",
        Reply::json(
            200,
            json!({ "id": 7, "login": "alice-cb", "full_name": "Alice", "email": "alice@example.com" }),
        ),
    );
    store(&env, "codeberg.org", "alice", GITEA_TOKEN);
    assert_eq!(
        forge.requests()[0].headers["authorization"],
        format!("token {GITEA_TOKEN}")
    );
    let record = record(&env);
    assert_eq!(record["account"], "alice-cb");
    assert_eq!(record["kind"], "gitea");
    assert_eq!(record["expiry"]["forge"], "never");

    let (_, first) = get(&env, "codeberg.org");
    assert_contains!(first, "no expiry");
    assert_contains!(
        first,
        "git config --global patrol.https://codeberg.org.rotateAfter"
    );
    let (_, second) = get(&env, "codeberg.org");
    assert!(!second.contains("rotateAfter"), "{second}");
    let entry = list_entry(&env);
    assert_eq!(entry["status"], "no-expiry");
    assert_eq!(entry["forge"], "gitea");
}

#[test]
fn gitea_with_rotate_after_set_says_nothing_on_get() {
    let (forge, env) = setup("gitea.com", None);
    forge.expect(
        "GET",
        "/user",
        Reply::json(200, json!({ "login": "alice" })),
    );
    env.config("patrol.rotateAfter", "90 days");
    store(&env, "gitea.com", "alice", GITEA_TOKEN);
    let (_, stderr) = get(&env, "gitea.com");
    assert_eq!(stderr, "");
}

#[test]
fn a_gitea_token_without_read_user_works_but_its_account_is_unknown() {
    let (forge, env) = setup("git.example.com", Some("forgejo"));
    forge.expect(
        "GET",
        "/user",
        Reply::json(
            403,
            json!({ "message": "token does not have at least one of required scope(s): [read:user]", "url": "https://git.example.com/api/swagger" }),
        ),
    );
    store(&env, "git.example.com", "alice", GITEA_TOKEN);
    let record = record(&env);
    assert_eq!(record["probe"]["result"], "valid", "{record}");
    assert!(record.get("account").is_none());
}

#[test]
fn a_revoked_gitea_token_is_refused() {
    let (forge, env) = setup("codeberg.org", None);
    forge.expect(
        "GET",
        "/user",
        Reply::json(401, json!({ "message": "user does not exist [uid: 0, name: ]", "url": "https://codeberg.org/api/swagger" })),
    );
    store(&env, "codeberg.org", "alice", GITEA_TOKEN);
    assert_eq!(record(&env)["probe"]["result"], "rejected");
}

/// Gerrit's answer: `)]}'`, a line break, then the JSON.
fn gerrit(status: u16, body: serde_json::Value) -> Reply {
    Reply::Answer {
        status,
        headers: vec![(
            "Content-Type".into(),
            "application/json; charset=UTF-8".into(),
        )],
        body: format!(")]}}'\n{body}").into_bytes(),
    }
}

#[test]
fn gerrit_tokens_go_with_the_user_name_and_their_expiry_is_listed() {
    let (forge, env) = setup("review.example.com", Some("gerrit"));
    forge.expect(
        "GET",
        "/a/accounts/self",
        gerrit(
            200,
            json!({ "_account_id": 1000096, "name": "Alice", "email": "alice@example.com", "username": "alice" }),
        ),
    );
    forge.expect(
        "GET",
        "/a/accounts/self/tokens",
        gerrit(
            200,
            json!([{ "id": "laptop", "expiration": "2099-06-01 14:30:00.000000000" }]),
        ),
    );
    store(&env, "review.example.com", "alice", GERRIT_TOKEN);
    for seen in forge.requests() {
        assert_eq!(
            seen.headers["authorization"],
            "Basic YWxpY2U6VEVTVGdlcnJpdDAwMDE="
        );
    }
    let record = record(&env);
    assert_eq!(record["account"], "alice");
    assert_eq!(record["kind"], "gerrit");
    assert_eq!(record["expiry"]["forge"], "2099-06-01T14:30:00Z");
}

#[test]
fn an_older_gerrits_http_password_never_expires() {
    let (forge, env) = setup("review.example.com", Some("gerrit"));
    forge.expect(
        "GET",
        "/a/accounts/self",
        gerrit(200, json!({ "_account_id": 1000096, "username": "alice" })),
    );
    forge.expect(
        "GET",
        "/a/accounts/self/tokens",
        Reply::text(404, "Not found: tokens"),
    );
    store(&env, "review.example.com", "alice", GERRIT_TOKEN);
    assert_eq!(record(&env)["expiry"]["forge"], "never");
    let (_, report) = check_json(&env, &["review.example.com"]);
    let notes = report["credentials"][0]["notes"].to_string();
    assert_contains!(notes, "never expire");
    assert_contains!(notes, "rotateAfter");
}

#[test]
fn a_revoked_gerrit_token_is_refused() {
    let (forge, env) = setup("review.example.com", Some("gerrit"));
    forge.expect("GET", "/a/accounts/self", Reply::text(401, "Unauthorized"));
    store(&env, "review.example.com", "alice", GERRIT_TOKEN);
    assert_eq!(record(&env)["probe"]["result"], "rejected");
}

fn whoami() -> Reply {
    Reply::json(
        200,
        json!({
            "type": "user",
            "id": "0123456789abcdef01234567",
            "name": "alice-hf",
            "fullname": "Alice",
            "email": "alice@example.com",
            "emailVerified": true,
            "isPro": false,
            "orgs": [],
            "auth": {
                "type": "access_token",
                "accessToken": {
                    "displayName": "laptop",
                    "role": "write",
                    "createdAt": "2026-01-01T00:00:00.000Z",
                    "expiration": "2099-01-31T00:00:00.000Z"
                }
            }
        }),
    )
}

#[test]
fn hugging_face_describes_the_token_it_is_asked_with() {
    let (forge, env) = setup("huggingface.co", None);
    forge.expect("GET", "/whoami-v2", whoami());
    store(&env, "huggingface.co", "alice-hf", HF_TOKEN);
    assert_eq!(
        forge.requests()[0].headers["authorization"],
        format!("Bearer {HF_TOKEN}")
    );
    let entry = list_entry(&env);
    assert_eq!(entry["kind"], "huggingface");
    assert_eq!(entry["account"], "alice-hf");
    assert_eq!(entry["token_name"], "laptop");
    assert_eq!(entry["scopes"], json!(["write"]));
    assert_eq!(entry["expires_at"], "2099-01-31T00:00:00Z");
    assert_eq!(entry["expiry_source"], "forge");
    assert_eq!(entry["forge_tells_expiry"], true);
    // Nothing to say on `get`: the forge told the expiry.
    let (_, stderr) = get(&env, "huggingface.co");
    assert_eq!(stderr, "");
}

#[test]
fn hugging_face_refusals_and_rate_limits() {
    let (forge, env) = setup("huggingface.co", None);
    forge.expect(
        "GET",
        "/whoami-v2",
        Reply::json(
            401,
            json!({ "error": "Invalid credentials in Authorization header" }),
        ),
    );
    store(&env, "huggingface.co", "alice-hf", HF_TOKEN);
    let record = record(&env);
    assert_eq!(record["probe"]["result"], "rejected");
    assert_contains!(
        record["probe"]["message"].as_str().unwrap(),
        "Invalid credentials"
    );

    let (limited, env) = setup("hf.co", None);
    limited.expect(
        "GET",
        "/whoami-v2",
        Reply::json(429, json!({ "error": "Too many requests" })),
    );
    store(&env, "hf.co", "alice-hf", HF_TOKEN);
    let (_, report) = check_json(&env, &["hf.co"]);
    assert_eq!(codes(&report["credentials"][0]), ["rate-limited"]);
}

#[test]
fn gitlab_project_tokens_are_known_by_their_bot_and_role() {
    let (forge, env) = setup("gitlab.example.com", Some("gitlab"));
    forge.expect(
        "GET",
        "/personal_access_tokens/self",
        Reply::json(
            200,
            json!({ "id": 77, "name": "deploy-bot", "revoked": false, "created_at": "2026-01-01T00:00:00.000Z",
                    "scopes": ["read_repository", "write_repository"], "user_id": 900,
                    "active": true, "expires_at": "2099-02-01" }),
        ),
    );
    forge.expect(
        "GET",
        "/user",
        Reply::json(
            200,
            json!({ "id": 900, "username": "project_42_bot_5f1c2b", "bot": true }),
        ),
    );
    // A server from before `self` was supported there, as GitLab's issue
    // 523871 shows it.
    forge.expect(
        "GET",
        "/projects/42/access_tokens/self",
        Reply::json(
            404,
            json!({ "message": "404 Could not find project access token with token_id: self Not Found" }),
        ),
    );
    forge.expect(
        "GET",
        "/projects/42/access_tokens/77",
        Reply::json(
            200,
            json!({ "id": 77, "name": "deploy-bot", "scopes": ["read_repository", "write_repository"],
                    "expires_at": "2099-02-01", "active": true, "revoked": false, "access_level": 40,
                    "user_id": 900 }),
        ),
    );
    store(
        &env,
        "gitlab.example.com",
        "deploy",
        "glpat-TESTproject0001",
    );
    let record = record(&env);
    assert_eq!(record["kind"], "gitlab-project");
    assert_eq!(record["account"], "project_42_bot_5f1c2b");
    assert_eq!(record["expiry"]["forge"], "2099-02-01T00:00:00Z");
    let (_, report) = check_json(&env, &["gitlab.example.com"]);
    let notes = report["credentials"][0]["notes"].to_string();
    assert_contains!(
        notes,
        "a project access token of project 42 with the Maintainer role"
    );
}

#[test]
fn check_token_env_asks_every_forge() {
    // Hugging Face, a token in a CI secret.
    let (forge, env) = setup("huggingface.co", None);
    forge.expect("GET", "/whoami-v2", whoami());
    let mut command = env.command(crate::support::env::BIN);
    command
        .args([
            "check",
            "--token-env",
            "HF_TOKEN",
            "--host",
            "huggingface.co",
            "--json",
        ])
        .env("HF_TOKEN", HF_TOKEN);
    let out = command.output().unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out.stderr)));
    let report = &report["credentials"][0];
    assert_eq!(report["forge"], "huggingface");
    assert_eq!(report["valid"], true);
    assert_eq!(report["account"], "alice-hf");
    assert_eq!(out.status.code(), Some(0), "{report}");

    // Gerrit wants the user name, which --user gives.
    let (forge, env) = setup("review.example.com", Some("gerrit"));
    forge.expect(
        "GET",
        "/a/accounts/self",
        gerrit(200, json!({ "_account_id": 1, "username": "alice" })),
    );
    forge.expect(
        "GET",
        "/a/accounts/self/tokens",
        gerrit(200, json!([{ "id": "ci" }])),
    );
    let mut command = env.command(crate::support::env::BIN);
    command
        .args([
            "check",
            "--token-env",
            "GERRIT_TOKEN",
            "--host",
            "review.example.com",
            "--user",
            "alice",
            "--json",
        ])
        .env("GERRIT_TOKEN", GERRIT_TOKEN);
    let out = command.output().unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out.stderr)));
    assert_eq!(report["credentials"][0]["valid"], true, "{report}");
    assert_eq!(
        forge.requests()[0].headers["authorization"],
        "Basic YWxpY2U6VEVTVGdlcnJpdDAwMDE="
    );
}

/// For every forge: the configured API answers every request with a
/// redirect to another server, which must never be asked, by `store` or by
/// `check`; and nothing else is asked either.
#[test]
fn no_token_reaches_any_host_but_the_configured_api() {
    let cases: [(&str, Option<&str>, &str, &str); 8] = [
        ("bitbucket.org", None, "alice", BITBUCKET_APP_PASSWORD),
        (
            "bitbucket.org",
            None,
            "x-token-auth",
            BITBUCKET_ACCESS_TOKEN,
        ),
        (
            "git.example.com",
            Some("bitbucket-datacenter"),
            "alice",
            DATACENTER_TOKEN,
        ),
        ("dev.azure.com", None, "contoso", AZURE_PAT),
        ("codeberg.org", None, "alice", GITEA_TOKEN),
        ("review.example.com", Some("gerrit"), "alice", GERRIT_TOKEN),
        ("huggingface.co", None, "alice", HF_TOKEN),
        (
            "gitlab.example.com",
            Some("gitlab"),
            "alice",
            "glpat-TESTleak0001",
        ),
    ];
    for (host, forge, user, token) in cases {
        let elsewhere = FakeForge::start();
        let (api, env) = setup(host, forge);
        api.otherwise(
            Reply::text(302, "").header("Location", &format!("{}/stolen", elsewhere.url())),
        );
        store(&env, host, user, token);
        let _ = check_json(&env, &[host]);
        assert!(
            elsewhere.requests().is_empty(),
            "{host}: a redirect was followed"
        );
        let seen = api.requests();
        assert!(!seen.is_empty(), "{host}: the API was not asked");
        for request in &seen {
            assert!(!request.path.contains(token), "{host}: {}", request.path);
        }
        let record = record(&env);
        let message = record["probe"]["message"].as_str().unwrap_or_default();
        assert!(!message.contains(token), "{host}: {message}");
        assert_contains!(message, "not followed", "{host}: {record}");
    }
}

/// Every forge's rate limit (429) is said as one, and says nothing against
/// the token: it is not held as refused, and git still gets it.
#[test]
fn every_forge_rate_limit_is_no_refusal() {
    let cases: [(&str, Option<&str>, &str, &str, &str); 6] = [
        (
            "git.example.com",
            Some("bitbucket-datacenter"),
            "alice",
            DATACENTER_TOKEN,
            "/rest/api/1.0/application-properties",
        ),
        (
            "dev.azure.com",
            None,
            "contoso",
            AZURE_PAT,
            "/_apis/connectionData",
        ),
        ("codeberg.org", None, "alice", GITEA_TOKEN, "/user"),
        (
            "review.example.com",
            Some("gerrit"),
            "alice",
            GERRIT_TOKEN,
            "/a/accounts/self",
        ),
        ("huggingface.co", None, "alice", HF_TOKEN, "/whoami-v2"),
        (
            "bitbucket.org",
            None,
            "alice",
            BITBUCKET_APP_PASSWORD,
            "/user",
        ),
    ];
    for (host, forge, user, token, path) in cases {
        let (api, env) = setup(host, forge);
        api.expect(
            "GET",
            path,
            Reply::text(429, "Too Many Requests").header("Retry-After", "60"),
        );
        store(&env, host, user, token);
        assert_eq!(record(&env)["probe"]["result"], "failed", "{host}");
        let (_, report) = check_json(&env, &[host]);
        let report = &report["credentials"][0];
        assert_eq!(codes(report), ["rate-limited"], "{host}: {report}");
        assert_eq!(report["valid"], json!(null), "{host}");
        let (stdout, _) = get(&env, host);
        assert_contains!(stdout, token, "{host}: {stdout}");
    }
}

/// Gerrit takes a token only with the account's user name: without one,
/// nothing is sent (a 401 for a missing name would read as a revoked
/// token), and the check says what to give.
#[test]
fn gerrit_without_a_user_name_is_not_asked() {
    let (forge, env) = setup("review.example.com", Some("gerrit"));
    let mut command = env.command(crate::support::env::BIN);
    command
        .args([
            "check",
            "--token-env",
            "GERRIT_TOKEN",
            "--host",
            "review.example.com",
            "--json",
        ])
        .env("GERRIT_TOKEN", GERRIT_TOKEN);
    let out = command.output().unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out.stderr)));
    let report = &report["credentials"][0];
    assert_eq!(codes(report), ["cannot-ask"], "{report}");
    assert_eq!(report["valid"], json!(null));
    assert!(forge.requests().is_empty());
}
