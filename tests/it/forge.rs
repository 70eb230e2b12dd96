//! Forge probes and `check`, against fake forges on loopback that answer
//! with the headers, bodies and errors GitHub and GitLab document: a token
//! is described on `store`, checked on `check`, rotated through GitLab's
//! API, and whatever a server does wrong (silence, redirects, 500s,
//! malformed headers or JSON, huge bodies) is bounded and reported in one
//! line.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::support::env::TestEnv;
use crate::support::fake_forge::{FakeForge, Reply};
use crate::support::{assert_contains, assert_lacks, text};

const CLASSIC: &str = "ghp_TESTforge0001";
const FINE: &str = "github_pat_TESTforge0001";
const HOST: &str = "git.example.com";
/// `apiUrl` is honoured only scoped to the credential's URL.
const API_URL: &str = "patrol.https://git.example.com.apiUrl";

fn store_input(token: &str) -> String {
    format!("protocol=https\nhost={HOST}\nusername=alice\npassword={token}\n")
}

fn env_for(forge: &FakeForge, kind: &str) -> TestEnv {
    let env = TestEnv::new();
    env.config("patrol.forge", kind);
    env.config(API_URL, &forge.url());
    env
}

fn github_user(scopes: Option<&str>, expiration: Option<&str>) -> Reply {
    let mut reply = Reply::json(200, json!({ "login": "alice-gh", "id": 1 }));
    if let Some(scopes) = scopes {
        reply = reply.header("X-OAuth-Scopes", scopes);
    }
    if let Some(expiration) = expiration {
        reply = reply.header("GitHub-Authentication-Token-Expiration", expiration);
    }
    reply
}

fn bad_credentials() -> Reply {
    Reply::json(
        401,
        json!({
            "message": "Bad credentials",
            "documentation_url": "https://docs.github.com/rest",
            "status": "401"
        }),
    )
}

fn record(env: &TestEnv) -> serde_json::Value {
    env.index()["credentials"][0].clone()
}

fn check(env: &TestEnv, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["check"];
    all.extend(args);
    let out = env.patrol(&all, "");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn check_json(env: &TestEnv, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut all = vec!["--json"];
    all.extend(args);
    let (code, stdout, stderr) = check(env, &all);
    let value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("check --json printed no JSON ({err}): {stdout}{stderr}"));
    (code, value)
}

fn codes(report: &serde_json::Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
#[should_panic(expected = "never requested")]
fn a_stub_that_is_never_hit_fails_the_test() {
    let forge = FakeForge::start();
    forge.expect("GET", "/user", github_user(None, None));
}

#[test]
fn store_describes_a_new_token_once_and_get_stays_offline() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        github_user(Some("repo, read:org"), Some("2099-12-01 00:00:00 UTC")),
    );
    let env = env_for(&forge, "github");
    env.approve(&store_input(CLASSIC));

    let record = record(&env);
    assert_eq!(record["account"], "alice-gh");
    assert_eq!(record["expiry"]["forge"], "2099-12-01T00:00:00Z");
    assert_eq!(record["scopes"], json!(["repo", "read:org"]));
    assert_eq!(record["probe"]["result"], "valid");
    let seen = forge.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].headers["authorization"],
        format!("Bearer {CLASSIC}")
    );
    assert!(
        seen[0].headers["user-agent"].starts_with("git-credential-patrol/"),
        "{:?}",
        seen[0].headers
    );

    // `get` never asks, and git handing back what `get` gave it (with our
    // state, or without) is no new token.
    let filled = env.credential(
        "fill",
        &[],
        &format!("capability[]=state\nprotocol=https\nhost={HOST}\n"),
    );
    let answer = text(&filled.stdout);
    assert_contains!(answer, CLASSIC);
    assert!(env.patrol(&["store"], &answer).status.success());
    env.approve(&store_input(CLASSIC));
    assert_eq!(forge.requests().len(), 1, "no probe for an unchanged token");

    // The forge's facts reach `list`.
    let out = env.patrol(&["list", "--json"], "");
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = &listing["credentials"][0];
    assert_eq!(entry["account"], "alice-gh");
    assert_eq!(entry["scopes"], json!(["repo", "read:org"]));
    assert_eq!(entry["expires_at"], "2099-12-01T00:00:00Z");
    assert_eq!(entry["expiry_source"], "forge");
    assert_eq!(entry["probe_result"], "valid");

    // A changed token is asked about again.
    env.approve(&store_input("ghp_TESTforge0002"));
    let seen = forge.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].headers["authorization"], "Bearer ghp_TESTforge0002");
}

#[test]
fn a_fine_grained_token_has_no_scopes_and_an_offset_expiry() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        github_user(None, Some("2099-04-26 20:23:26 +0200")),
    );
    let env = env_for(&forge, "github");
    env.approve(&store_input(FINE));
    let record = record(&env);
    assert_eq!(record["kind"], "github-fine-grained");
    assert_eq!(record["expiry"]["forge"], "2099-04-26T18:23:26Z");
    assert!(record.get("scopes").is_none(), "{record}");

    let (code, stdout, _) = check(&env, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_contains!(stdout, "scopes:   fine-grained: permissions per repository");
}

#[test]
fn a_failed_probe_never_fails_the_store_and_is_retried_at_most_daily() {
    let forge = FakeForge::start();
    forge.expect("GET", "/user", Reply::text(500, "oops"));
    let env = env_for(&forge, "github");
    // `approve` insists on a silent success.
    env.approve(&store_input(CLASSIC));
    let record = record(&env);
    assert_eq!(record["probe"]["result"], "failed");
    let message = record["probe"]["message"].as_str().unwrap();
    assert_contains!(message, "GitHub answered 500");
    let filled = env.credential("fill", &[], &format!("protocol=https\nhost={HOST}\n"));
    assert_contains!(text(&filled.stdout), CLASSIC);

    // The same day: not again.
    env.approve(&store_input(CLASSIC));
    assert_eq!(forge.requests().len(), 1);

    // A day later, the expiry still unknown: once more.
    let mut index = env.index();
    index["credentials"][0]["probe"]["at"] = json!("2000-01-01T00:00:00Z");
    env.write_index(&index);
    env.approve(&store_input(CLASSIC));
    assert_eq!(forge.requests().len(), 2);
    assert_ne!(record_probe_at(&env), "2000-01-01T00:00:00Z");
}

fn record_probe_at(env: &TestEnv) -> String {
    record(env)["probe"]["at"].as_str().unwrap().to_owned()
}

#[test]
fn a_closed_port_does_not_fail_the_store_either() {
    let env = TestEnv::new();
    env.config("patrol.forge", "github");
    // Nothing listens on port 1 of the loopback.
    env.config(API_URL, "http://127.0.0.1:1");
    env.approve(&store_input(CLASSIC));
    let record = record(&env);
    assert_eq!(record["probe"]["result"], "failed");
    assert_contains!(
        record["probe"]["message"].as_str().unwrap(),
        "cannot connect to http://127.0.0.1:1",
        "{record}"
    );
}

#[test]
fn probe_false_turns_probing_off() {
    let forge = FakeForge::start();
    let env = env_for(&forge, "github");
    env.config("patrol.probe", "false");
    env.approve(&store_input(CLASSIC));
    assert!(forge.requests().is_empty());
    assert!(record(&env).get("probe").is_none());
}

#[test]
fn an_unknown_host_is_not_probed_by_default() {
    let forge = FakeForge::start();
    let env = TestEnv::new();
    // An API URL alone does not make a host a forge.
    env.config(API_URL, &forge.url());
    env.approve(&store_input(CLASSIC));
    assert!(forge.requests().is_empty());
    // Neither does `check` ask a host whose forge is unknown.
    env.approve(
        "protocol=https\nhost=plain.example.com\nusername=bob\npassword=TESTpassword0001\n",
    );
    let (code, stdout, _) = check(&env, &["plain.example.com"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_contains!(
        stdout,
        "note:     the forge of plain.example.com is unknown"
    );
    assert!(forge.requests().is_empty());
}

#[test]
fn a_proxy_is_never_used_for_loopback() {
    let proxy = FakeForge::start();
    let forge = FakeForge::start();
    forge.expect("GET", "/user", github_user(Some("repo"), None));
    let env = env_for(&forge, "github");
    env.config("patrol.probe", "false");
    env.approve(&store_input(CLASSIC));
    let mut command = env.command(crate::support::env::BIN);
    command.arg("check");
    for var in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"] {
        command.env(var, proxy.url());
    }
    let out = crate::support::run(command, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        proxy.requests().is_empty(),
        "the token went through a proxy"
    );
}

#[test]
fn check_reports_bad_credentials_with_the_fix_and_never_the_token() {
    let forge = FakeForge::start();
    forge.expect("GET", "/user", bad_credentials());
    let env = env_for(&forge, "github");
    env.approve(&store_input(CLASSIC));
    assert_eq!(record(&env)["probe"]["result"], "rejected");

    let mut command = env.command(crate::support::env::BIN);
    command
        .args(["check", HOST])
        .env("GIT_CREDENTIAL_PATROL_TRACE", "1");
    let out = crate::support::run(command, b"");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_contains!(stdout, "valid:    no (GitHub refused it)");
    assert_contains!(
        stdout,
        "problem:  GitHub answered \"Bad credentials\": the token is invalid, expired or revoked"
    );
    assert_contains!(
        stdout,
        &format!(
            "fix:    create a new classic token at \
             https://{HOST}/settings/tokens/new?description=git, then run: \
             git credential-patrol rotate https://{HOST} --user alice"
        )
    );
    assert!(stdout.ends_with("1 problem found.\n"), "{stdout}");
    for place in [&stdout, &stderr, &env.index().to_string()] {
        assert!(!place.contains("ghp_TEST"), "the token leaked: {place}");
    }

    let (code, report) = check_json(&env, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(report["version"], 1);
    let credential = &report["credentials"][0];
    assert_eq!(credential["valid"], false);
    assert_eq!(credential["forge"], "github");
    assert_eq!(codes(credential), ["bad-credentials"]);
}

#[test]
fn check_repo_names_the_missing_permission_and_read_org() {
    let forge = FakeForge::start();
    forge
        .expect("GET", "/user", github_user(Some("repo"), None))
        .expect(
            "GET",
            "/repos/octo-org/hello",
            Reply::json(
                403,
                json!({ "message": "Resource not accessible by personal access token" }),
            )
            .header("X-Accepted-GitHub-Permissions", "contents=read"),
        )
        .expect(
            "POST",
            "/graphql",
            Reply::json(
                200,
                json!({ "errors": [{
                    "type": "INSUFFICIENT_SCOPES",
                    "message": "Your token has not been granted the required scopes to execute this query. The 'login' field requires one of the following scopes: ['read:org'], but your token has only been granted the: ['repo'] scopes."
                }]}),
            ),
        );
    let env = env_for(&forge, "github");
    env.config("patrol.probe", "false");
    env.config("patrol.requiredScopes", "repo, workflow");
    env.approve(&store_input(CLASSIC));

    let (code, report) = check_json(&env, &[HOST, "--repo", "octo-org/hello"]);
    assert_eq!(code, Some(1));
    let credential = &report["credentials"][0];
    assert_eq!(credential["valid"], true);
    assert_eq!(credential["account"], "alice-gh");
    assert_eq!(credential["expires_at"], serde_json::Value::Null);
    assert_eq!(credential["expiry_source"], "forge");
    assert_eq!(credential["repository"]["reachable"], false);
    assert_eq!(credential["graphql"], false);
    assert_eq!(
        codes(credential),
        ["missing-scope", "missing-permission", "graphql-read-org"]
    );
    let problems = credential["problems"].to_string();
    assert_contains!(problems, "contents=read");
    assert_contains!(problems, "workflow");
    let graphql = forge
        .requests()
        .into_iter()
        .find(|r| r.path == "/graphql")
        .unwrap();
    assert_contains!(graphql.body, "viewer");

    let (_, stdout, _) = check(&env, &[HOST, "--repo", "octo-org/hello"]);
    assert_contains!(stdout, "Resource not accessible by personal access token");
    assert_contains!(stdout, "without the `workflow` scope");
    assert!(stdout.ends_with("3 problems found.\n"), "{stdout}");
}

#[test]
fn check_is_quiet_when_all_is_well_and_flags_what_expires_within() {
    let soon = (Utc::now() + TimeDelta::days(20))
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let forge = FakeForge::start();
    forge
        .expect(
            "GET",
            "/user",
            github_user(Some("repo, read:org, workflow, write:packages"), Some(&soon)),
        )
        .expect(
            "GET",
            "/repos/octo-org/hello",
            Reply::json(
                200,
                json!({ "full_name": "octo-org/hello", "permissions": { "admin": false, "push": true, "pull": true } }),
            ),
        )
        .expect(
            "POST",
            "/graphql",
            Reply::json(200, json!({ "data": { "viewer": { "login": "alice-gh" } } })),
        );
    let env = env_for(&forge, "github");
    env.config("patrol.requiredScopes", "repo read:org");
    env.approve(&store_input(CLASSIC));

    let (code, stdout, stderr) = check(&env, &["--repo", "octo-org/hello"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_contains!(stdout, "valid:    yes (GitHub account alice-gh)");
    assert_contains!(stdout, "scopes:   repo, read:org, workflow, write:packages");
    assert_contains!(stdout, "reaches:  octo-org/hello (push, pull)");
    assert_contains!(stdout, "graphql:  works");
    assert!(stdout.ends_with("No problems found.\n"), "{stdout}");

    let (code, report) = check_json(&env, &["--expiring-within", "30d"]);
    assert_eq!(code, Some(1));
    let credential = &report["credentials"][0];
    assert_eq!(codes(credential), ["expiring"]);
    assert_eq!(credential["status"], "ok");
    assert_eq!(credential["scopes"][3], "write:packages");
    assert!(report["checked_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn a_forge_that_never_answers_is_abandoned_in_bounded_time() {
    let forge = FakeForge::start();
    forge.expect("GET", "/user", Reply::Silence);
    let env = env_for(&forge, "github");
    let started = Instant::now();
    let stored = env.patrol(&["store"], &store_input(CLASSIC));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(stored.status.success());
    assert_contains!(text(&stored.stderr), "it is asked again on a later store");
    assert_eq!(record(&env)["probe"]["result"], "failed");

    let started = Instant::now();
    let (code, stdout, _) = check(&env, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(1));
    assert_contains!(
        stdout,
        &format!(
            "problem:  no complete answer from {} within 5.0 s",
            forge.url()
        )
    );

    // Headers, then a body that never comes: the same bound holds.
    let stalling = FakeForge::start();
    stalling.expect("GET", "/user", Reply::Stall);
    env.config(API_URL, &stalling.url());
    let started = Instant::now();
    let (code, stdout, _) = check(&env, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(1));
    assert_contains!(
        stdout,
        &format!(
            "problem:  no complete answer from {} within 5.0 s",
            stalling.url()
        )
    );
}

#[test]
fn a_redirect_is_not_followed_and_the_token_never_reaches_the_other_host() {
    let elsewhere = FakeForge::start();
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        Reply::text(302, "").header("Location", &format!("{}/user", elsewhere.url())),
    );
    let env = env_for(&forge, "github");
    env.config("patrol.probe", "false");
    env.approve(&store_input(CLASSIC));
    let (code, stdout, _) = check(&env, &[]);
    assert_eq!(code, Some(1));
    assert_contains!(
        stdout,
        &format!(
            "GitHub answered 302 with a redirect to {}/user; it was not followed",
            elsewhere.url()
        )
    );
    assert!(elsewhere.requests().is_empty());
}

#[test]
fn whatever_a_server_sends_is_bounded_and_reported_in_one_line() {
    let cases: Vec<(&str, Reply, &str)> = vec![
        (
            "a 500",
            Reply::text(500, "<html>oops</html>"),
            "GitHub answered 500",
        ),
        (
            "malformed JSON",
            Reply::text(200, "{\"login\": "),
            "GitHub sent an answer that could not be read",
        ),
        (
            "malformed headers",
            Reply::Raw(b"HTTP/1.1 200 OK\r\nthis is no header\r\n\r\n{}".to_vec()),
            "the request to http://127.0.0.1:",
        ),
        (
            "a huge body",
            Reply::Huge(5 * 1024 * 1024),
            "sent more than 1024 KiB",
        ),
        (
            "an odd status",
            Reply::json(299, json!({ "message": "\u{1b}]0;pwned\u{7}" })),
            "GitHub answered 299 (\\u{1b}]0;pwned\\u{7})",
        ),
    ];
    let env = TestEnv::new();
    env.config("patrol.forge", "github");
    env.config("patrol.probe", "false");
    env.approve(&store_input(CLASSIC));
    for (what, reply, expected) in cases {
        let forge = FakeForge::start();
        forge.expect("GET", "/user", reply);
        env.config(API_URL, &forge.url());
        let (code, stdout, stderr) = check(&env, &[]);
        assert_eq!(code, Some(1), "{what}: {stdout}{stderr}");
        let problem: Vec<&str> = stdout.lines().filter(|l| l.contains("problem:")).collect();
        assert_eq!(problem.len(), 1, "{what}: {stdout}");
        assert_contains!(problem[0], expected, "{what}: {stdout}");
        assert!(!stdout.contains('\u{1b}'), "{what}: {stdout}");
        // The index survives, with the failure recorded.
        assert_eq!(record(&env)["probe"]["result"], "failed", "{what}");
    }

    let forge = FakeForge::start();
    forge.expect("GET", "/user", github_user(Some("repo"), Some("soon")));
    env.config(API_URL, &forge.url());
    let (code, stdout, _) = check(&env, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_contains!(
        stdout,
        "note:     GitHub sent an expiry that could not be read: soon"
    );
    assert_contains!(stdout, "expires:  unknown");
}

#[test]
fn plain_http_to_a_host_that_is_not_loopback_is_refused() {
    let env = TestEnv::new();
    env.config("patrol.forge", "github");
    env.config(API_URL, "http://git.example.com/api/v3");
    env.approve(&store_input(CLASSIC));
    let (code, stdout, _) = check(&env, &[]);
    assert_eq!(code, Some(1));
    assert_contains!(stdout, "plain HTTP is only allowed to a loopback address");
}

#[test]
fn gitlab_tokens_are_described_and_rotated_through_the_api() {
    let forge = FakeForge::start();
    forge
        .expect(
            "GET",
            "/personal_access_tokens/self",
            Reply::json(
                200,
                json!({
                    "id": 42, "name": "laptop", "revoked": false, "active": true,
                    "created_at": "2026-01-01T00:00:00.000Z",
                    "scopes": ["api", "write_repository"], "user_id": 7,
                    "last_used_at": null, "expires_at": "2099-01-31"
                }),
            ),
        )
        .expect(
            "GET",
            "/user",
            Reply::json(200, json!({ "id": 7, "username": "alice-gl" })),
        )
        .expect(
            "POST",
            "/personal_access_tokens/self/rotate",
            Reply::json(
                200,
                json!({
                    "id": 43, "name": "laptop", "revoked": false, "active": true,
                    "scopes": ["api", "write_repository"], "user_id": 7,
                    "expires_at": "2099-03-01", "token": "glpat-TESTrotated0002"
                }),
            ),
        );
    let env = env_for(&forge, "gitlab");
    env.approve(&store_input("glpat-TESTforge0001"));
    let stored = record(&env);
    assert_eq!(stored["account"], "alice-gl");
    assert_eq!(stored["token_name"], "laptop");
    assert_eq!(stored["scopes"], json!(["api", "write_repository"]));
    assert_eq!(stored["expiry"]["forge"], "2099-01-31T00:00:00Z");

    let out = env.patrol(&["rotate", HOST, "--expires-at", "2099-03-01"], "");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_contains!(stdout, "GitLab revoked the old token");
    let rotation = forge
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        rotation.headers["authorization"],
        "Bearer glpat-TESTforge0001"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&rotation.body).unwrap(),
        json!({ "expires_at": "2099-03-01" })
    );
    let filled = env.credential("fill", &[], &format!("protocol=https\nhost={HOST}\n"));
    assert_contains!(text(&filled.stdout), "password=glpat-TESTrotated0002");
    let rotated = record(&env);
    assert!(rotated["rotated_at"].is_string(), "{rotated}");
    assert_eq!(rotated["expiry"]["forge"], "2099-03-01T00:00:00Z");
    let raw = env.index().to_string();
    assert!(!raw.contains("glpat-TEST"), "{raw}");
}

#[test]
fn gitlab_rotation_refused_changes_nothing_and_names_the_way_by_hand() {
    let forge = FakeForge::start();
    forge.expect(
        "POST",
        "/personal_access_tokens/self/rotate",
        Reply::json(403, json!({ "message": "403 Forbidden" })),
    );
    let env = env_for(&forge, "gitlab");
    env.config("patrol.probe", "false");
    env.approve(&store_input("glpat-TESTforge0001"));
    let out = env.patrol(&["rotate", HOST], "");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_contains!(stderr, "`api` (or `self_rotate`) scope");
    assert_contains!(
        stderr,
        &format!("git credential-patrol rotate https://{HOST} --user alice --manual")
    );
    let filled = env.credential("fill", &[], &format!("protocol=https\nhost={HOST}\n"));
    assert_contains!(text(&filled.stdout), "glpat-TESTforge0001");
}

#[test]
fn rotate_manual_on_gitlab_takes_a_token_made_by_hand_and_never_calls_the_rotation_api() {
    let forge = FakeForge::start();
    // The new token is described (validated) before it is stored.
    forge
        .expect(
            "GET",
            "/personal_access_tokens/self",
            Reply::json(
                200,
                json!({
                    "id": 44, "name": "by-hand", "revoked": false, "active": true,
                    "scopes": ["write_repository"], "user_id": 7,
                    "expires_at": "2099-05-01"
                }),
            ),
        )
        .expect(
            "GET",
            "/user",
            Reply::json(200, json!({ "id": 7, "username": "alice" })),
        );
    let env = env_for(&forge, "gitlab");
    env.config("patrol.probe", "false");
    env.approve(&store_input("glpat-TESTforge0001"));
    env.config("patrol.probe", "true");

    let out = env.patrol(&["rotate", HOST, "--manual"], "glpat-TESTbyhand0002\n");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_contains!(
        stdout,
        &format!("Create a new token at https://{HOST}/-/user_settings/personal_access_tokens")
    );
    assert_contains!(stdout, "Now revoke the old token at");
    assert!(!stdout.contains("TEST"), "{stdout}");
    let methods: Vec<String> = forge.requests().into_iter().map(|r| r.method).collect();
    assert!(
        methods.iter().all(|m| m == "GET"),
        "only the new token was described: {methods:?}"
    );
    let filled = env.credential("fill", &[], &format!("protocol=https\nhost={HOST}\n"));
    assert_contains!(text(&filled.stdout), "password=glpat-TESTbyhand0002");
    let rotated = record(&env);
    assert!(rotated["rotated_at"].is_string(), "{rotated}");
    assert_eq!(rotated["token_name"], "by-hand");
    assert_eq!(rotated["expiry"]["forge"], "2099-05-01T00:00:00Z");
}

#[test]
fn rotate_refuses_a_token_the_forge_rejects_and_keeps_one_it_accepts() {
    let forge = FakeForge::start();
    forge.expect("GET", "/user", bad_credentials());
    let env = env_for(&forge, "github");
    env.config("patrol.probe", "false");
    env.approve(&store_input(CLASSIC));
    env.config("patrol.probe", "true");

    let out = env.patrol(&["rotate", HOST], "ghp_TESTforge0002\n");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_contains!(stderr, "GitHub rejected the token (Bad credentials)");
    assert_contains!(stderr, "it was not stored");
    let filled = env.credential("fill", &[], &format!("protocol=https\nhost={HOST}\n"));
    assert_contains!(text(&filled.stdout), CLASSIC);

    let good = FakeForge::start();
    good.expect(
        "GET",
        "/user",
        github_user(Some("repo"), Some("2099-12-01 00:00:00 UTC")),
    );
    env.config(API_URL, &good.url());
    let out = env.patrol(&["rotate", HOST], "ghp_TESTforge0003\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rotated = record(&env);
    assert_eq!(rotated["account"], "alice-gh");
    assert_eq!(rotated["expiry"]["forge"], "2099-12-01T00:00:00Z");
    assert!(rotated["rotated_at"].is_string());
}

#[test]
fn github_com_and_gitlab_com_are_asked_at_their_own_apis_only() {
    // The proxy sees where the helper connects (a CONNECT for the TLS
    // tunnel) and refuses, so nothing leaves this machine; the token itself
    // would travel only inside the tunnel.
    let proxy = FakeForge::start();
    proxy
        .expect("CONNECT", "api.github.com:443", Reply::text(403, ""))
        .expect("CONNECT", "gitlab.com:443", Reply::text(403, ""));
    let env = TestEnv::new();
    for (host, token) in [
        ("github.com", CLASSIC),
        ("gitlab.com", "glpat-TESTforge0001"),
    ] {
        let mut command = env.command(crate::support::env::BIN);
        command
            .arg("store")
            .env("HTTPS_PROXY", proxy.url())
            .env("https_proxy", proxy.url());
        let input = format!("protocol=https\nhost={host}\nusername=alice\npassword={token}\n");
        let out = crate::support::run(command, input.as_bytes());
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stderr), "", "a failed probe is silent on store");
    }
    let mut tunnels: Vec<String> = proxy
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    tunnels.sort();
    assert_eq!(
        tunnels,
        ["CONNECT api.github.com:443", "CONNECT gitlab.com:443"],
        "each token went to its own forge's API, once, and nowhere else"
    );
    for request in proxy.requests() {
        assert!(
            !request.headers.contains_key("authorization"),
            "{request:?}"
        );
        assert!(!format!("{request:?}").contains("TEST"), "{request:?}");
    }
    let index = env.index();
    for record in index["credentials"].as_array().unwrap() {
        assert_eq!(record["probe"]["result"], "failed", "{record}");
    }
}

#[test]
fn the_expiry_a_forge_reports_feeds_the_warning_on_push() {
    let soon = (Utc::now() + TimeDelta::days(3))
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string();
    let forge = FakeForge::start();
    forge.expect("GET", "/user", github_user(None, Some(&soon)));
    let env = env_for(&forge, "github");
    env.approve(&store_input(FINE));
    let filled = env.credential("fill", &[], &format!("protocol=https\nhost={HOST}\n"));
    let stderr = text(&filled.stderr);
    assert_contains!(
        stderr,
        &format!("warning: the token for https://{HOST} (alice) expires in")
    );
    assert_contains!(
        stderr,
        &format!("https://{HOST}/settings/personal-access-tokens")
    );
    assert_eq!(forge.requests().len(), 1, "get never asks the forge");
}

#[test]
fn gitlab_check_explains_a_token_that_cannot_describe_itself_and_a_revoked_one() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/personal_access_tokens/self",
        Reply::json(403, json!({ "error": "insufficient_scope" })),
    );
    let env = env_for(&forge, "gitlab");
    env.config("patrol.probe", "false");
    env.approve(&store_input("glpat-TESTforge0001"));
    let (code, report) = check_json(&env, &[]);
    assert_eq!(code, Some(1));
    let credential = &report["credentials"][0];
    assert_eq!(credential["forge"], "gitlab");
    assert_eq!(credential["valid"], serde_json::Value::Null);
    assert_eq!(codes(credential), ["insufficient-scope"]);
    assert_contains!(
        credential["problems"][0]["fix"].as_str().unwrap(),
        "git credential-patrol expiry",
        "{credential}"
    );

    let revoked = FakeForge::start();
    revoked.expect(
        "GET",
        "/personal_access_tokens/self",
        Reply::json(
            200,
            json!({ "id": 1, "name": "old", "revoked": true, "active": false, "scopes": ["api"], "expires_at": null }),
        ),
    );
    env.config(API_URL, &revoked.url());
    let (code, stdout, _) = check(&env, &[]);
    assert_eq!(code, Some(1));
    assert_contains!(stdout, "valid:    no (GitLab refused it)");
    assert_contains!(stdout, "GitLab answered \"the token is revoked\"");
    assert_contains!(
        stdout,
        &format!(
            "create a new personal access token at \
             https://{HOST}/-/user_settings/personal_access_tokens?name=git, then run: \
             git credential-patrol rotate https://{HOST} --user alice --manual"
        )
    );
}

/// Like `env_for`, with the API URL scoped to the credential's URL, the
/// only way `patrol.apiUrl` is meant to be set.
fn env_scoped(forge: &FakeForge, kind: &str) -> TestEnv {
    let env = TestEnv::new();
    env.config(&format!("patrol.https://{HOST}.forge"), kind);
    env.config(&format!("patrol.https://{HOST}.apiUrl"), &forge.url());
    env
}

fn fixes(report: &serde_json::Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["fix"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_fine_grained_token_asked_for_scopes_is_sent_to_the_classic_page() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        github_user(None, Some("2099-01-01 00:00:00 UTC")),
    );
    let env = env_scoped(&forge, "github");
    env.config(
        &format!("patrol.https://{HOST}.requiredScopes"),
        "repo, workflow",
    );
    env.config("patrol.probe", "false");
    env.approve(&store_input(FINE));
    let (code, report) = check_json(&env, &[]);
    assert_eq!(code, Some(1));
    let credential = &report["credentials"][0];
    assert_eq!(codes(credential), ["missing-scope"]);
    let fix = &fixes(credential)[0];
    assert_contains!(
        fix,
        &format!(
            "create a new classic token at https://{HOST}/settings/tokens/new?scopes=repo,workflow"
        )
    );
    assert!(!fix.contains("personal-access-tokens"), "{fix}");
}

#[test]
fn a_gitlab_token_lacking_a_scope_needs_a_new_token_not_an_edit() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/personal_access_tokens/self",
        Reply::json(
            200,
            json!({ "id": 1, "name": "laptop", "active": true, "revoked": false,
                    "scopes": ["read_repository", "read_api"], "expires_at": "2099-01-01" }),
        ),
    );
    let env = env_scoped(&forge, "gitlab");
    env.config(
        &format!("patrol.https://{HOST}.requiredScopes"),
        "write_repository",
    );
    env.config("patrol.probe", "false");
    env.approve(&store_input("glpat-TESTforge0002"));
    let (code, stdout, _) = check(&env, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert_contains!(
        stdout,
        &format!(
            "fix:    GitLab cannot add scopes to an existing personal access token: create a \
             new personal access token at https://{HOST}/-/user_settings/personal_access_tokens\
             ?scopes=read_repository,read_api,write_repository&name=laptop with \
             read_repository, read_api, write_repository, then run: \
             git credential-patrol rotate https://{HOST} --user alice --manual"
        )
    );
    assert!(!stdout.contains("can be edited"), "{stdout}");
}

#[test]
fn a_refused_token_is_listed_as_such_withheld_from_git_until_it_works_again() {
    let forge = FakeForge::start();
    forge.expect("GET", "/user", bad_credentials());
    let mut env = env_scoped(&forge, "github");
    env.config("patrol.warnEvery", "12 hours");
    env.approve(&store_input(CLASSIC));
    // Warnings are read (a CI log), so they count against warnEvery.
    env.set_var("CI", "true");

    // list: the status, its date and the forge's words; exit 1.
    let out = env.patrol(&["list"], "");
    let table = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{table}");
    let today = Utc::now().format("%Y-%m-%d").to_string();
    assert_contains!(
        table,
        &format!("refused on {today}: GitHub rejected the token (Bad credentials)")
    );
    let out = env.patrol(&["list", "--json"], "");
    assert_eq!(out.status.code(), Some(1));
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entry = &listing["credentials"][0];
    assert_eq!(entry["status"], "refused");
    assert_eq!(entry["probe_result"], "rejected");
    assert_eq!(
        entry["probe_message"],
        "GitHub rejected the token (Bad credentials)"
    );

    // get: the password withheld, whatever git's version, and a warning
    // once per warnEvery.
    let request = format!("protocol=https\nhost={HOST}\n");
    let out = env.patrol(&["get"], &request);
    let (answer, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(!answer.contains("password="), "{answer}");
    assert_contains!(answer, "username=alice");
    assert_contains!(
        stderr,
        &format!("warning: the forge refused the token for https://{HOST} (alice) ")
    );
    assert_contains!(stderr, ": GitHub rejected the token (Bad credentials)");
    assert_contains!(
        stderr,
        "hint: patrol no longer gives it to git, so git asks for a new one"
    );
    assert_contains!(
        stderr,
        &format!(
            "hint: or, before your next push: create a new classic token at \
             https://{HOST}/settings/tokens/new?description=git, then run: \
             git credential-patrol rotate https://{HOST} --user alice"
        )
    );
    let again = env.patrol(&["get"], &request);
    assert_eq!(text(&again.stderr), "", "one warning per warnEvery");
    assert!(!text(&again.stdout).contains("password="));

    // git stores it again after it authenticated with it: it works.
    let approved = env.credential("approve", &[], &store_input(CLASSIC));
    assert_contains!(
        text(&approved.stderr),
        &format!(
            "warning: the server accepted the token for https://{HOST} (alice), which the \
             forge's API refused on {today}; it is no longer held as refused"
        )
    );
    let out = env.patrol(&["list", "--json"], "");
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(listing["credentials"][0]["status"], "refused");
    let out = env.patrol(&["get"], &request);
    assert_contains!(text(&out.stdout), &format!("password={CLASSIC}"));
}

#[test]
fn a_probe_that_succeeds_clears_a_refusal() {
    let forge = FakeForge::start();
    forge.expect("GET", "/user", bad_credentials());
    let env = env_scoped(&forge, "github");
    env.approve(&store_input(CLASSIC));
    assert_eq!(env.patrol(&["list"], "").status.code(), Some(1));
    let accepted = FakeForge::start();
    accepted.expect("GET", "/user", github_user(Some("repo"), None));
    env.config(&format!("patrol.https://{HOST}.apiUrl"), &accepted.url());
    let (code, stdout, _) = check(&env, &[]);
    assert_eq!(code, Some(0), "{stdout}");
    let out = env.patrol(&["list", "--json"], "");
    assert_eq!(out.status.code(), Some(0));
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listing["credentials"][0]["status"], "no-expiry");
}

#[test]
fn bare_required_scopes_of_github_are_not_asked_of_a_gitlab_token() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/personal_access_tokens/self",
        Reply::json(
            200,
            json!({ "id": 1, "name": "laptop", "active": true, "revoked": false,
                    "scopes": ["api"], "expires_at": null }),
        ),
    );
    let env = env_scoped(&forge, "gitlab");
    env.config("patrol.requiredScopes", "repo, read:org");
    env.config("patrol.probe", "false");
    env.approve(&store_input("glpat-TESTforge0003"));
    let (code, report) = {
        let out = env.patrol(&["check", "--json"], "");
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr
                .matches("patrol.requiredScopes names repo, read:org")
                .count(),
            1,
            "{stderr}"
        );
        assert_contains!(
            stderr,
            "git config --global patrol.https://github.com.requiredScopes repo,read:org"
        );
        (
            out.status.code(),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        )
    };
    let credential = &report["credentials"][0];
    assert!(codes(credential).is_empty(), "{credential}");
    assert_eq!(code, Some(0));
    let text = serde_json::to_string(credential).unwrap();
    assert!(!text.contains("read:org"), "{text}");
}

#[test]
fn a_github_looking_token_on_another_host_is_neither_probed_nor_sent_to_a_made_up_page() {
    // A server at the credential's own host: nothing may reach it.
    let forge = FakeForge::start();
    let host = forge.url().trim_start_matches("http://").to_owned();
    let env = TestEnv::new();
    let later = Utc::now().timestamp() + 60 * 86_400;
    let stored = env.patrol(
        &["store"],
        &format!(
            "protocol=http\nhost={host}\nusername=alice\npassword={CLASSIC}\n\
             password_expiry_utc={later}\n"
        ),
    );
    assert!(stored.status.success(), "{}", text(&stored.stderr));

    let (code, stdout, stderr) = check(&env, &[]);
    assert_eq!(
        code,
        Some(0),
        "an unknown forge is no problem: {stdout}{stderr}"
    );
    let declare = format!("git config --global patrol.http://{host}.forge github");
    assert_contains!(stdout, &declare);

    let get = || {
        let args = ["--warn-before=90d", "--warn-every=0s", "get"];
        text(
            &env.patrol(&args, &format!("protocol=http\nhost={host}\n"))
                .stderr,
        )
    };
    let warned = get();
    assert_contains!(warned, "expires");
    assert_contains!(warned, &declare);
    assert_lacks!(warned, "https://", "the scheme is never changed");
    assert!(!warned.contains("/settings/tokens"), "{warned}");
    assert!(forge.requests().is_empty(), "{:?}", forge.requests());

    // Declared, the same host gets its page on its own scheme.
    env.config(&format!("patrol.http://{host}.forge"), "github");
    let warned = get();
    assert_contains!(warned, &format!("http://{host}/settings/tokens"));
}

#[test]
fn a_bare_api_url_receives_no_token() {
    // The server a bare `patrol.apiUrl` names: nothing may reach it.
    let listener = FakeForge::start();
    let env = TestEnv::new();
    env.config("patrol.apiUrl", &listener.url());
    // The real forges' APIs are reached only through a proxy on a closed
    // loopback port, so nothing leaves this machine.
    let offline = |mut command: std::process::Command| {
        command.env("HTTPS_PROXY", "http://127.0.0.1:1");
        crate::support::run(command, b"")
    };
    let mut store = env.command(crate::support::env::BIN);
    store.arg("store");
    store.env("HTTPS_PROXY", "http://127.0.0.1:1");
    let stored = crate::support::run(
        store,
        format!("protocol=https\nhost=github.com\nusername=alice\npassword={CLASSIC}\n").as_bytes(),
    );
    let warned = text(&stored.stderr);
    assert!(stored.status.success(), "{warned}");
    assert_contains!(warned, "ignoring patrol.apiUrl");
    assert_contains!(
        warned,
        "git config --global patrol.https://github.com.apiUrl http://127.0.0.1:"
    );
    let mut checking = env.command(crate::support::env::BIN);
    checking.arg("check");
    let checked = offline(checking);
    assert_contains!(text(&checked.stderr), "ignoring patrol.apiUrl");
    let gitlab = env.patrol(
        &["store"],
        "protocol=https\nhost=gitlab.com\nusername=alice\npassword=glpat-TESTforge0001\n",
    );
    assert!(gitlab.status.success());
    let mut rotate = env.command(crate::support::env::BIN);
    rotate.args(["rotate", "gitlab.com"]);
    offline(rotate);
    assert!(
        listener.requests().is_empty(),
        "a bare apiUrl received a token: {:?}",
        listener.requests()
    );

    // Scoped to the credential's URL, it is honoured.
    env.config("patrol.https://github.com.apiUrl", &listener.url());
    listener.expect("GET", "/user", github_user(Some("repo"), None));
    let (_, stdout, stderr) = check(&env, &["github.com"]);
    assert!(!stderr.contains("ignoring patrol.apiUrl"), "{stderr}");
    assert_contains!(stdout, "valid:    yes");
}

#[test]
fn a_forge_that_trickles_its_answer_is_abandoned_at_the_deadline() {
    let forge = FakeForge::start();
    forge.expect("GET", "/user", Reply::Trickle(Duration::from_millis(300)));
    let env = env_for(&forge, "github");
    let started = Instant::now();
    let stored = env.patrol(&["store"], &store_input(CLASSIC));
    let elapsed = started.elapsed();
    let stderr = text(&stored.stderr);
    assert!(stored.status.success(), "{stderr}");
    assert!(
        elapsed < Duration::from_secs(8),
        "store held git for {elapsed:?}"
    );
    assert_contains!(
        stderr,
        &format!("no complete answer from {} within 5.0 s", forge.url())
    );
    assert_contains!(
        stderr,
        "git credential-patrol check https://git.example.com"
    );
    let record = record(&env);
    assert_eq!(
        record["probe"]["result"], "failed",
        "retried later: {record}"
    );

    let started = Instant::now();
    let (code, stdout, _) = check(&env, &[]);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code, Some(1), "{stdout}");
}

#[test]
fn one_budget_covers_all_the_requests_of_a_store() {
    // GitLab is asked twice; the first answer takes 4 s and the second
    // trickles: the store ends when its one budget of 5 s does.
    let forge = FakeForge::start();
    forge
        .expect(
            "GET",
            "/personal_access_tokens/self",
            Reply::Late(
                Duration::from_secs(4),
                Box::new(Reply::json(
                    200,
                    json!({ "id": 1, "name": "laptop", "revoked": false, "active": true,
                            "scopes": ["api"], "expires_at": "2099-01-31" }),
                )),
            ),
        )
        .expect("GET", "/user", Reply::Trickle(Duration::from_millis(300)));
    let env = env_for(&forge, "gitlab");
    let started = Instant::now();
    let stored = env.patrol(&["store"], &store_input("glpat-TESTforge0001"));
    let elapsed = started.elapsed();
    assert!(stored.status.success(), "{}", text(&stored.stderr));
    assert!(
        elapsed < Duration::from_secs(7),
        "store held git for {elapsed:?}"
    );
    let record = record(&env);
    assert_eq!(
        record["expiry"]["forge"], "2099-01-31T00:00:00Z",
        "{record}"
    );
}
