//! `check --token-env` against fake GitHub and GitLab APIs on loopback
//! (reached through a URL-scoped `patrol.<url>.apiUrl`): each kind of
//! problem with and without `GITHUB_ACTIONS=true`, the annotations parsed
//! back, the exit codes with `--fail-on`, the step summary, and the token
//! in none of the output, the index or the keychain.

use std::process::Output;

use chrono::{TimeDelta, Utc};
use serde_json::json;

use crate::support::env::{BIN, TestEnv};
use crate::support::fake_forge::{FakeForge, Reply};
use crate::support::keyring::Keyring;
use crate::support::{assert_contains, assert_lacks, run, text};

const CLASSIC: &str = "ghp_TESTci00000001";
const FINE: &str = "github_pat_TESTci00000001";
const GITLAB: &str = "glpat-TESTci00000001";

/// A runner: the fake forge is the API of `host`, and nothing is stored.
fn runner(forge: &FakeForge, host: &str) -> TestEnv {
    let env = TestEnv::new();
    env.config(&format!("patrol.https://{host}.apiUrl"), &forge.url());
    env
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    summary: String,
}

impl Run {
    /// The `::level title=…::message` lines, decoded.
    fn annotations(&self) -> Vec<(String, String, String)> {
        self.stdout
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("::")?;
                let (command, message) = rest.split_once("::")?;
                let (level, title) = command.split_once(" title=")?;
                Some((level.to_owned(), decode(title), decode(message)))
            })
            .collect()
    }
}

/// GitHub's workflow-command encoding, undone.
fn decode(text: &str) -> String {
    text.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

fn check(env: &TestEnv, token: &str, actions: bool, args: &[&str]) -> Run {
    let summary = env.root().join("summary.md");
    let _ = std::fs::remove_file(&summary);
    let mut command = env.command(BIN);
    command
        .args(["check", "--token-env", "PAT_TOKEN"])
        .args(args)
        .env("PAT_TOKEN", token);
    if actions {
        command
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary);
    }
    let out: Output = run(command, b"");
    let run = Run {
        code: out.status.code(),
        stdout: text(&out.stdout),
        stderr: text(&out.stderr),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
    };
    nothing_kept(env, token, &run);
    run
}

/// The token is in no output, and neither the index nor the keychain
/// learnt anything.
fn nothing_kept(env: &TestEnv, token: &str, run: &Run) {
    for place in [&run.stdout, &run.stderr, &run.summary] {
        assert!(!place.contains(token), "the token leaked: {place}");
    }
    assert!(
        !env.index_path().exists(),
        "check --token-env wrote the index"
    );
    for host in ["github.com", "gitlab.com"] {
        let got = env.patrol(&["get"], &format!("protocol=https\nhost={host}\n"));
        assert_eq!(
            text(&got.stdout),
            "",
            "the keychain holds a token for {host}"
        );
    }
}

fn github_user(scopes: Option<&str>, expires_in: Option<TimeDelta>) -> Reply {
    let mut reply = Reply::json(200, json!({ "login": "release-bot", "id": 7 }));
    if let Some(scopes) = scopes {
        reply = reply.header("X-OAuth-Scopes", scopes);
    }
    if let Some(delta) = expires_in {
        let at = (Utc::now() + delta)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        reply = reply.header("GitHub-Authentication-Token-Expiration", &at);
    }
    reply
}

const FULL: &str = "repo, workflow, write:packages, read:org";

/// One GitHub case: how the fake answers, the arguments, what must come out.
struct Case {
    what: &'static str,
    token: &'static str,
    routes: fn(&FakeForge),
    args: &'static [&'static str],
    code: i32,
    /// (level, problem code) of each annotation on Actions.
    annotations: &'static [(&'static str, &'static str)],
}

fn github_cases() -> Vec<Case> {
    vec![
        Case {
            what: "expiring",
            token: CLASSIC,
            routes: |f| {
                f.expect(
                    "GET",
                    "/user",
                    github_user(Some(FULL), Some(TimeDelta::days(3))),
                );
            },
            args: &[],
            code: 1,
            annotations: &[("warning", "expiring")],
        },
        Case {
            what: "expired",
            token: CLASSIC,
            routes: |f| {
                f.expect(
                    "GET",
                    "/user",
                    github_user(Some(FULL), Some(TimeDelta::hours(-2))),
                );
            },
            args: &[],
            code: 1,
            annotations: &[("error", "expired")],
        },
        Case {
            what: "missing scope",
            token: CLASSIC,
            routes: |f| {
                f.expect(
                    "GET",
                    "/user",
                    github_user(Some("repo"), Some(TimeDelta::days(60))),
                );
            },
            args: &[],
            code: 1,
            annotations: &[("warning", "missing-scope")],
        },
        Case {
            what: "fine-grained, asked for classic scopes",
            token: FINE,
            routes: |f| {
                f.expect("GET", "/user", github_user(None, Some(TimeDelta::days(60))))
                    .expect(
                        "GET",
                        "/repos/octo-org/hello",
                        Reply::json(
                            200,
                            json!({ "permissions": { "push": true, "pull": true } }),
                        ),
                    )
                    .expect("POST", "/graphql", Reply::json(200, json!({ "data": {} })));
            },
            args: &["--repo", "octo-org/hello"],
            code: 1,
            annotations: &[("warning", "missing-scope")],
        },
        Case {
            what: "SSO required",
            token: CLASSIC,
            routes: |f| {
                f.expect(
                    "GET",
                    "/user",
                    github_user(Some(FULL), Some(TimeDelta::days(60))),
                )
                .expect(
                    "GET",
                    "/repos/octo-org/hello",
                    Reply::json(
                        403,
                        json!({ "message": "Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization." }),
                    )
                    .header(
                        "X-GitHub-SSO",
                        "required; url=https://github.com/orgs/octo-org/sso?authorization_request=TEST",
                    ),
                )
                .expect("POST", "/graphql", Reply::json(200, json!({ "data": {} })));
            },
            args: &["--repo", "octo-org/hello"],
            code: 1,
            annotations: &[("warning", "sso-required")],
        },
        Case {
            what: "invalid",
            token: CLASSIC,
            routes: |f| {
                f.expect(
                    "GET",
                    "/user",
                    Reply::json(401, json!({ "message": "Bad credentials" })),
                );
            },
            args: &[],
            code: 1,
            annotations: &[("error", "bad-credentials")],
        },
    ]
}

#[test]
fn github_tokens_from_the_environment_each_problem_with_and_without_actions() {
    for case in github_cases() {
        for actions in [false, true] {
            let forge = FakeForge::start();
            (case.routes)(&forge);
            let env = runner(&forge, "github.com");
            env.config("patrol.https://github.com.requiredScopes", FULL);
            let what = format!("{} (actions: {actions})", case.what);
            let run = check(&env, case.token, actions, case.args);
            assert_eq!(
                run.code,
                Some(case.code),
                "{what}: {}{}",
                run.stdout,
                run.stderr
            );
            assert!(
                run.stdout
                    .starts_with("https://github.com (the token in $PAT_TOKEN)")
                    || actions,
                "{what}: {}",
                run.stdout
            );
            let annotations = run.annotations();
            if actions {
                let got: Vec<(&str, &str)> = annotations
                    .iter()
                    .map(|(level, title, _)| {
                        (
                            level.as_str(),
                            title.strip_prefix("$PAT_TOKEN: ").unwrap_or(title),
                        )
                    })
                    .collect();
                assert_eq!(got, case.annotations, "{what}: {}", run.stdout);
                for (_, _, message) in &annotations {
                    assert_contains!(message, ". Fix: ", "{what}: {message}");
                    // The fix is about the CI secret, not the keychain.
                    if message.contains("then ") {
                        assert_contains!(
                            message,
                            "put it in the CI secret that sets $PAT_TOKEN",
                            "{what}: {message}"
                        );
                    }
                }
                assert!(
                    run.summary.starts_with(
                        "### git-credential-patrol: the token in `$PAT_TOKEN` for github.com"
                    ),
                    "{what}: {}",
                    run.summary
                );
                for (_, code) in case.annotations {
                    assert_contains!(run.summary, &format!("- **{code}**"), "{what}");
                }
            } else {
                assert!(annotations.is_empty(), "{what}: {}", run.stdout);
                assert_eq!(run.summary, "", "{what}");
            }
            forge.verify();
        }
    }
}

#[test]
fn fail_on_decides_whether_a_near_expiry_fails_the_run() {
    for (fail_on, expiring, invalid) in [("expiring", 1, 1), ("expired", 0, 1), ("never", 0, 0)] {
        let forge = FakeForge::start();
        forge.expect(
            "GET",
            "/user",
            github_user(Some(FULL), Some(TimeDelta::days(3))),
        );
        let env = runner(&forge, "github.com");
        let run = check(&env, CLASSIC, true, &["--fail-on", fail_on]);
        assert_eq!(run.code, Some(expiring), "{fail_on}: {}", run.stdout);
        // Reported either way.
        assert_eq!(run.annotations().len(), 1, "{fail_on}");
        let marked = if expiring == 1 {
            "fails the run"
        } else {
            "warning"
        };
        assert_contains!(run.summary, &format!("- **expiring** ({marked})"));

        let refused = FakeForge::start();
        refused.expect(
            "GET",
            "/user",
            Reply::json(401, json!({ "message": "Bad credentials" })),
        );
        env.config("patrol.https://github.com.apiUrl", &refused.url());
        let run = check(&env, CLASSIC, false, &["--fail-on", fail_on]);
        assert_eq!(run.code, Some(invalid), "{fail_on}: {}", run.stdout);
    }
}

#[test]
fn json_is_the_document_of_check_and_warn_before_applies() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        github_user(Some(FULL), Some(TimeDelta::days(10))),
    );
    let env = runner(&forge, "github.com");
    // Ten days out: not within the default week, within a configured fortnight.
    let run = check(&env, CLASSIC, true, &["--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    env.config("patrol.https://github.com.warnBefore", "14 days");
    let run = check(&env, CLASSIC, true, &["--json"]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["version"], 1);
    let credential = &report["credentials"][0];
    assert_eq!(credential["url"], "https://github.com");
    assert_eq!(credential["token_env"], "PAT_TOKEN");
    assert_eq!(credential["account"], "release-bot");
    assert_eq!(credential["valid"], true);
    assert_eq!(credential["problems"][0]["code"], "expiring");
    assert!(run.annotations().is_empty(), "no annotations inside JSON");
}

/// What the fake GitLab answers, the exit code, the annotations.
type GitlabCase = (
    &'static str,
    Reply,
    i32,
    &'static [(&'static str, &'static str)],
);

#[test]
fn gitlab_tokens_from_the_environment() {
    let day = |n: i64| {
        (Utc::now() + TimeDelta::days(n))
            .format("%Y-%m-%d")
            .to_string()
    };
    let describe = |scopes: &[&str], expires: &str, active: bool| {
        Reply::json(
            if active { 200 } else { 401 },
            if active {
                json!({ "id": 1, "name": "release", "active": true, "revoked": false,
                        "scopes": scopes, "expires_at": expires })
            } else {
                json!({ "message": "401 Unauthorized" })
            },
        )
    };
    let cases: [GitlabCase; 4] = [
        (
            "expiring",
            describe(&["api"], &day(3), true),
            1,
            &[("warning", "expiring")],
        ),
        (
            "expired",
            describe(&["api"], &day(-1), true),
            1,
            &[("error", "expired")],
        ),
        (
            "missing scope",
            describe(&["read_repository"], &day(60), true),
            1,
            &[("warning", "missing-scope")],
        ),
        (
            "invalid",
            describe(&[], "", false),
            1,
            &[("error", "bad-credentials")],
        ),
    ];
    for (what, reply, code, annotations) in cases {
        for actions in [false, true] {
            let forge = FakeForge::start();
            forge.expect("GET", "/personal_access_tokens/self", reply.clone());
            let env = runner(&forge, "gitlab.com");
            env.config(
                "patrol.https://gitlab.com.requiredScopes",
                "write_repository",
            );
            let run = check(&env, GITLAB, actions, &["--host", "gitlab.com"]);
            assert_eq!(run.code, Some(code), "{what}: {}{}", run.stdout, run.stderr);
            let got: Vec<(String, String)> = run
                .annotations()
                .into_iter()
                .map(|(level, title, _)| (level, title.replace("$PAT_TOKEN: ", "")))
                .collect();
            let want: Vec<(String, String)> = if actions {
                annotations
                    .iter()
                    .map(|(l, c)| ((*l).to_owned(), (*c).to_owned()))
                    .collect()
            } else {
                Vec::new()
            };
            assert_eq!(got, want, "{what} (actions: {actions}): {}", run.stdout);
            if what == "missing scope" {
                assert_contains!(
                    run.stdout,
                    "GitLab cannot add scopes to an existing personal access token"
                );
            }
            assert_contains!(run.stdout, "https://gitlab.com (the token in $PAT_TOKEN)");
            forge.verify();
        }
    }
}

#[test]
fn an_unset_or_empty_variable_is_a_usage_error_naming_it() {
    let env = TestEnv::new();
    let mut command = env.command(BIN);
    command.args(["check", "--token-env", "PAT_TOKEN"]);
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2));
    assert_contains!(
        text(&out.stderr),
        "the environment variable PAT_TOKEN is not set"
    );
    let mut command = env.command(BIN);
    command
        .args(["check", "--token-env", "PAT_TOKEN"])
        .env("PAT_TOKEN", "");
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2));
    assert_contains!(text(&out.stderr), "PAT_TOKEN is empty");
    let mut command = env.command(BIN);
    command
        .args(["check", "--token-env", "PAT_TOKEN"])
        .env("PAT_TOKEN", "ghp_TESTci with a space");
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(2));
    assert_lacks!(text(&out.stderr), "ghp_TEST");
}

#[test]
fn a_runner_without_any_keychain_is_enough_and_only_the_host_api_is_asked() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        github_user(Some(FULL), Some(TimeDelta::days(60))),
    );
    let env = TestEnv::with_keyring(Keyring::Missing);
    env.config("patrol.https://github.com.apiUrl", &forge.url());
    // An apiUrl for another host is never used for this one.
    let elsewhere = FakeForge::start();
    env.config("patrol.https://gitlab.com.apiUrl", &elsewhere.url());
    let summary = env.root().join("summary.md");
    std::fs::write(&summary, "an earlier step's summary\n").unwrap();
    let mut command = env.command(BIN);
    command
        .args(["check", "--token-env", "PAT_TOKEN"])
        .env("PAT_TOKEN", CLASSIC)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(command, b"");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.ends_with("No problems found.\n"), "{stdout}");
    assert_lacks!(stdout, "::", "no annotation without a problem");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.starts_with("an earlier step's summary\n### git-credential-patrol"),
        "the summary is appended: {summary}"
    );
    assert_contains!(summary, "| valid | yes (account release-bot) |");
    assert_contains!(summary, "No problems found.");
    assert!(!stdout.contains(CLASSIC) && !stderr.contains(CLASSIC));
    assert!(elsewhere.requests().is_empty());
    let seen = forge.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].headers["authorization"],
        format!("Bearer {CLASSIC}")
    );
    assert!(!env.index_path().exists());
}

#[test]
fn settings_from_git_environment_configuration_as_the_action_passes_them() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        github_user(Some("repo"), Some(TimeDelta::days(60))),
    );
    let env = runner(&forge, "github.com");
    let mut command = env.command(BIN);
    command
        .args(["check", "--token-env", "PAT_TOKEN"])
        .env("PAT_TOKEN", CLASSIC)
        .env("GIT_CONFIG_COUNT", "1")
        .env(
            "GIT_CONFIG_KEY_0",
            "patrol.https://github.com.requiredScopes",
        )
        .env("GIT_CONFIG_VALUE_0", "repo, workflow");
    let out = run(command, b"");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_contains!(
        stdout,
        "the token lacks the scopes patrol.requiredScopes asks for: workflow"
    );
}

#[test]
fn a_host_whose_forge_is_unknown_is_a_usage_error_not_a_silent_pass() {
    let env = TestEnv::new();
    let mut command = env.command(BIN);
    command
        .args([
            "check",
            "--token-env",
            "PAT_TOKEN",
            "--host",
            "git.example.com",
        ])
        .env("PAT_TOKEN", "TESTci-no-prefix-0001");
    let out = run(command, b"");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_contains!(
        stderr,
        "git config --global patrol.https://git.example.com.forge github"
    );
    assert!(!stderr.contains("TESTci-no-prefix"), "{stderr}");
}

#[test]
fn a_token_given_as_the_variables_name_is_refused_and_never_shown() {
    let env = TestEnv::new();
    for (name, why) in [
        (GITLAB, "is not a valid environment variable name"),
        (
            "ghp_TEST with space",
            "is not a valid environment variable name",
        ),
        (CLASSIC, "begins as a token does"),
        (FINE, "begins as a token does"),
    ] {
        let mut command = env.command(BIN);
        command.args(["check", "--token-env", name]);
        let out = run(command, b"");
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_contains!(stderr, why);
        assert_contains!(stderr, "not the token itself");
        for shown in [&stdout, &stderr] {
            assert!(!shown.contains("TEST"), "{name} was shown: {shown}");
        }
    }
}

#[test]
fn the_tokens_variable_reaches_no_child_process() {
    let forge = FakeForge::start();
    forge.expect(
        "GET",
        "/user",
        github_user(Some(FULL), Some(TimeDelta::days(60))),
    );
    let env = runner(&forge, "github.com");
    // A `git` first on PATH writes down its own environment, then runs the
    // real git.
    let spy = env.root().join("spy");
    std::fs::create_dir_all(&spy).unwrap();
    let log = env.root().join("children.log");
    std::fs::write(
        spy.join("git"),
        format!(
            "#!/bin/sh\nenv >> '{}'\necho --- >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            log.display(),
            env.real_git().display()
        ),
    )
    .unwrap();
    crate::support::make_executable(&spy.join("git"));
    let mut command = env.command(BIN);
    command
        .args(["check", "--token-env", "PAT_TOKEN"])
        .env("PAT_TOKEN", CLASSIC)
        .env("PATH", env.path_with(&spy));
    let out = run(command, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let seen = std::fs::read_to_string(&log).expect("check ran git");
    assert_contains!(seen, "GIT_CONFIG");
    assert_lacks!(seen, CLASSIC, "a child saw the token");
    assert_lacks!(seen, "PAT_TOKEN=", "a child saw the token");
}
