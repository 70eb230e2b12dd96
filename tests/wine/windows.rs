//! The Windows build beyond git's suite: `list`, `expiry`, `erase URL`,
//! the warning during a real push, a secret longer than Credential Manager
//! keeps in one item, where the index lives, concurrent stores, and wine
//! prefixes made at once.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;

use crate::support::env::TestEnv;
use crate::support::git_server::{GitServer, bare_repo};
use crate::support::{assert_contains, now, run, text};

const TOKEN: &str = "ghp_TESTwindows00000000000000000000000";
const DAY: i64 = 86_400;

fn fill(env: &TestEnv, host: &str) -> String {
    text(
        &env.credential("fill", &[], &format!("protocol=https\nhost={host}\n"))
            .stdout,
    )
}

/// The Credential Manager items of the test's prefix, by target name: wine
/// keeps them in the registry, written out when its wineserver stops.
fn credential_manager_targets(env: &TestEnv) -> Vec<String> {
    env.wineserver("-k");
    // Up again, as before the helper's first run, for the runs to come.
    env.start_wine();
    let registry = fs::read_to_string(env.root().join("wine/user.reg")).unwrap();
    registry
        .lines()
        .filter_map(|line| {
            line.strip_prefix("[Software\\\\Wine\\\\Credential Manager\\\\Generic: ")
        })
        .filter_map(|rest| rest.rsplit_once("] ").map(|(target, _)| target.to_owned()))
        .collect()
}

#[test]
fn list_expiry_and_erase_by_url() {
    let env = TestEnv::new();
    env.approve(&format!(
        "protocol=https\nhost=example.com\nusername=alice\npassword={TOKEN}\npassword_expiry_utc={}\n",
        now() + 2 * DAY
    ));
    let out = env.patrol(&["list"], "");
    assert_eq!(out.status.code(), Some(1), "something needs attention");
    let table = text(&out.stdout);
    assert_contains!(table, "https://example.com");
    assert_contains!(table, "alice");
    assert_contains!(table, "expiring");

    let out = env.patrol(&["expiry", "example.com", "never"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value =
        serde_json::from_slice(&env.patrol(&["list", "--json"], "").stdout).unwrap();
    assert_eq!(json["credentials"][0]["status"], "no-expiry", "{json}");
    assert_eq!(json["credentials"][0]["expiry_source"], "manual", "{json}");

    let out = env.patrol(&["erase", "https://example.com"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!fill(&env, "example.com").contains(TOKEN));
    let listing = text(&env.patrol(&["list"], "").stdout);
    assert_contains!(listing, "erased: removed by you");
    assert!(
        credential_manager_targets(&env).is_empty(),
        "{:?}",
        credential_manager_targets(&env)
    );
}

#[test]
fn a_push_warns_before_the_token_expires() {
    let env = TestEnv::new();
    let srv = env.root().join("srv");
    fs::create_dir_all(&srv).unwrap();
    bare_repo(&srv, "project.git");
    let server = GitServer::start(&srv);
    server.accept("alice", TOKEN);
    env.config("credential.helper", env.helper.to_str().unwrap());
    env.config("user.name", "Test");
    env.config("user.email", "test@example.com");
    let work = env.home().join("work");
    let work = work.to_str().unwrap();
    for args in [
        vec!["init", "-q", "-b", "main", work],
        vec!["-C", work, "commit", "-q", "--allow-empty", "-m", "first"],
        vec![
            "-C",
            work,
            "remote",
            "add",
            "origin",
            &server.url("project.git"),
        ],
    ] {
        let out = env.git(&args, "");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = env.patrol(
        &["store"],
        &format!(
            "protocol=http\nhost={}\nusername=alice\npassword={TOKEN}\npassword_expiry_utc={}\n",
            server.host(),
            now() + 3 * DAY
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let mut push = env.command("git");
    push.args(["-C", work, "push", "origin", "main"]);
    let out = run(push, b"");
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_contains!(
        stderr,
        &format!(
            "warning: the token for http://{} (alice) expires in 3 days",
            server.host()
        )
    );
    assert!(server.refused().is_empty(), "{:?}", server.refused());
}

/// Credential Manager keeps 2,560 bytes in one credential; a 4 KB token
/// (a JWT, say) is split across items and comes back whole.
#[test]
fn a_4_kb_secret_is_stored_and_returned_whole() {
    let env = TestEnv::new();
    let token: String = (0..4096)
        .map(|i| char::from(b'A' + (i % 26) as u8))
        .collect::<String>()
        .replacen("AAAA", "TEST", 1);
    env.approve(&format!(
        "protocol=https\nhost=jwt.example\nusername=alice\npassword={token}\n"
    ));
    let got = fill(&env, "jwt.example");
    assert_eq!(
        got,
        format!("protocol=https\nhost=jwt.example\nusername=alice\npassword={token}\n")
    );
    let mut targets = credential_manager_targets(&env);
    targets.sort();
    assert_eq!(
        targets,
        [
            "alice.git-credential-patrol:https://jwt.example",
            "alice.git-credential-patrol:https://jwt.example (part 1)",
            "alice.git-credential-patrol:https://jwt.example (part 2)",
        ]
    );

    // A short one in its place leaves one item.
    env.approve("protocol=https\nhost=jwt.example\nusername=alice\npassword=ghp_TESTshort\n");
    assert_contains!(fill(&env, "jwt.example"), "password=ghp_TESTshort\n");
    assert_eq!(
        credential_manager_targets(&env),
        ["alice.git-credential-patrol:https://jwt.example"]
    );
    env.reject("protocol=https\nhost=jwt.example\n");
    assert!(credential_manager_targets(&env).is_empty());
}

/// The index is under %APPDATA%, where the `directories` crate puts it, and
/// sixteen `store`s at once from as many processes lose nothing: four
/// accounts on each of four hosts, so that stores share each host's shard.
#[test]
fn sixteen_parallel_stores_lose_nothing() {
    let env = Arc::new(TestEnv::new());
    // The index is made first, by one process. Making it lists Credential
    // Manager, and wine 8's CredEnumerateW overruns its buffer when another
    // process writes an item meanwhile (it sizes the list in one pass over
    // the registry and fills it in a second), which corrupted the lister's
    // heap about once in 15 runs (docs/testing.md).
    let out = env.patrol(&["list"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(env.data_dir().is_dir(), "{}", env.data_dir().display());
    let stores: Vec<_> = (0..16)
        .map(|i| {
            let env = Arc::clone(&env);
            thread::spawn(move || {
                let out = env.patrol(
                    &["store"],
                    &format!(
                        "protocol=https\nhost=host{}.example\nusername=user{i}\npassword=ghp_TEST{i:04}\n",
                        i % 4
                    ),
                );
                assert!(out.status.success(), "{}", text(&out.stderr));
            })
        })
        .collect();
    for store in stores {
        store.join().unwrap();
    }
    let dir = env.data_dir();
    assert!(
        dir.ends_with("AppData/Roaming/git-credential-patrol/data"),
        "{}",
        dir.display()
    );
    let mut stored: Vec<(String, String)> = env.index()["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|record| {
            (
                record["host"].as_str().unwrap().to_owned(),
                record["username"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    stored.sort();
    let mut expected: Vec<(String, String)> = (0..16)
        .map(|i| (format!("host{}.example", i % 4), format!("user{i}")))
        .collect();
    expected.sort();
    assert_eq!(stored, expected);
    for i in 0..16 {
        let got = text(
            &env.credential(
                "fill",
                &[],
                &format!(
                    "protocol=https\nhost=host{}.example\nusername=user{i}\n",
                    i % 4
                ),
            )
            .stdout,
        );
        assert_contains!(got, &format!("password=ghp_TEST{i:04}\n"), "user{i}: {got}");
    }
    assert_eq!(credential_manager_targets(&env).len(), 16);
    for shard in env.shards() {
        assert!(!fs::read_to_string(&shard).unwrap().contains("ghp_TEST"));
    }
}

/// Without its index (lost, or damaged), the Windows build still finds the
/// accounts stored for a host by searching Credential Manager, whose
/// target names are `ACCOUNT.git-credential-patrol:URL`.
#[test]
fn accounts_are_found_in_credential_manager_without_the_index() {
    let env = TestEnv::new();
    for user in ["alice", "bob.smith@example.com"] {
        env.approve(&format!(
            "protocol=https\nhost=github.com\nusername={user}\npassword=ghp_TEST{}\n",
            user.len()
        ));
    }
    fs::remove_dir_all(env.data_dir()).unwrap();
    let got = fill(&env, "github.com");
    assert_contains!(got, "password=ghp_TEST");
    let mut targets = credential_manager_targets(&env);
    targets.sort();
    assert_eq!(
        targets,
        [
            "alice.git-credential-patrol:https://github.com",
            "bob.smith@example.com.git-credential-patrol:https://github.com",
        ]
    );
    env.reject("protocol=https\nhost=github.com\n");
    assert!(
        credential_manager_targets(&env).is_empty(),
        "{:?}",
        credential_manager_targets(&env)
    );
}

/// The tests make their wine prefixes in parallel, and in a new checkout
/// the first ones find no template prefix to copy: one of them makes it,
/// the others wait for it (they used to make it in the same directory at
/// once, and all but one failed).
#[test]
fn prefixes_made_at_once_without_a_template_all_work() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = std::env::var_os("PATROL_XPLAT_HOME")
        .map_or_else(|| manifest.join("target/xplat"), PathBuf::from);
    let root = tempfile::tempdir().unwrap();
    let home = root.path().join("xplat");
    fs::create_dir_all(&home).unwrap();
    fs::copy(
        shared.join("bcryptprimitives.dll"),
        home.join("bcryptprimitives.dll"),
    )
    .unwrap();
    let makers: Vec<_> = (0..4)
        .map(|i| {
            let prefix = root.path().join(format!("prefix{i}"));
            let child = Command::new(manifest.join("scripts/xplat/wine-prefix"))
                .arg(&prefix)
                .env("PATROL_XPLAT_HOME", &home)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (prefix, child)
        })
        .collect();
    for (prefix, child) in makers {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let dll = prefix.join("drive_c/windows/system32/bcryptprimitives.dll");
        assert!(dll.is_file(), "{}", dll.display());
        assert!(prefix.join("user.reg").is_file(), "{}", prefix.display());
    }
}

/// When Credential Manager cannot list its items, `erase` still removes
/// the credentials the index knows and says what it could not do. Wine
/// fails the listing (`ERROR_FILE_NOT_FOUND`) on an item that has a target
/// name and nothing else, as a write cut short leaves it.
#[test]
fn erase_removes_what_the_index_knows_when_credential_manager_cannot_list() {
    let env = TestEnv::new();
    env.approve("protocol=https\nhost=example.com\nusername=alice\npassword=ghp_TESTalice\n");
    // Bob's store stops after its keychain write: the index does not know
    // him, and the note it leaves makes `erase` ask Credential Manager too.
    let mut store = env.command(&env.helper);
    store.arg("store").env(
        "GIT_CREDENTIAL_PATROL_TEST_CRASH_AT",
        "store-after-keychain",
    );
    let out = run(
        store,
        b"protocol=https\nhost=example.com\nusername=bob\npassword=ghp_TESTbob\n",
    );
    assert!(!out.status.success(), "the store was not stopped");
    let status = env
        .command("/usr/lib/wine/wine64")
        .args([
            "reg",
            "add",
            r"HKCU\Software\Wine\Credential Manager\Generic: cut short",
            "/ve",
            "/d",
            "cut short",
            "/f",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "reg add failed");

    let out = env.credential("reject", &[], "protocol=https\nhost=example.com\n");
    let stderr = text(&out.stderr);
    assert_contains!(
        stderr,
        "warning: erased only the credentials the index knows for https://example.com: \
             the keychain could not list its own"
    );
    let targets = credential_manager_targets(&env);
    assert!(
        !targets.contains(&"alice.git-credential-patrol:https://example.com".to_owned()),
        "{targets:?}"
    );
}

/// Wine's schtasks parses a task definition as Task Scheduler does and keeps
/// what it implements of it (the description and the settings; not the
/// calendar trigger, nor the command, which it writes back empty), and
/// its `/Query` answers 0 for any name: what can be checked here is that
/// the definition is read without error, registered, and deleted again.
#[test]
fn schedule_registers_a_task_that_wine_reads_and_remove_deletes_it() {
    let env = TestEnv::new();
    let task = env
        .root()
        .join("wine/drive_c/windows/system32/tasks/git-credential-patrol notify");
    let out = env.patrol(&["schedule"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(
        text(&out.stdout),
        "the task \"git-credential-patrol notify\" in Task Scheduler"
    );
    let stored = fs::read_to_string(&task).unwrap();
    for kept in [
        "<Description>Warn about expiring git tokens (git-credential-patrol notify)</Description>",
        "<StartWhenAvailable>true</StartWhenAvailable>",
        "<ExecutionTimeLimit>PT10M</ExecutionTimeLimit>",
        "<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>",
    ] {
        assert_contains!(stored, kept, "{kept}\n{stored}");
    }
    // Again: the same task, replaced.
    assert!(env.patrol(&["schedule"], "").status.success());
    let out = env.patrol(&["schedule", "--remove"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!task.exists());
    // Nothing left to remove is no failure, for `uninstall` too.
    let out = env.patrol(&["schedule", "--remove"], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_contains!(text(&out.stdout), "No daily notify job was scheduled");
}

#[test]
fn notify_prints_what_is_due_and_exits_1() {
    let env = TestEnv::new();
    env.approve(&format!(
        "protocol=https\nhost=example.com\nusername=alice\npassword={TOKEN}\npassword_expiry_utc={}\n",
        now() + 2 * DAY
    ));
    let out = env.patrol(&["notify"], "");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert_contains!(stderr, "Git token for example.com expires");
    assert_contains!(
        stderr,
        "Fix: git credential-patrol rotate https://example.com"
    );
    // Within notifyEvery: nothing more.
    let out = env.patrol(&["notify"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
