//! `TestEnv`: a private world for one test. Its own HOME and XDG
//! directories, its own git configuration (`GIT_CONFIG_GLOBAL`,
//! `GIT_CONFIG_NOSYSTEM=1`), its own D-Bus session bus and, unless asked
//! otherwise, its own unlocked Secret Service: gnome-keyring, or KeePassXC
//! with a throwaway database when `PATROL_TEST_SECRET_SERVICE=keepassxc`
//! (scripts/test runs the keychain tests both ways). Nothing touches the
//! user's keyring or configuration; everything it starts is stopped on
//! drop, and HTTPS from the helper can only reach loopback.
//!
//! Under wine (`crate::UNDER_WINE`, the tests in tests/wine) the helper is
//! the Windows build, run by a shim in a wine prefix of the test's own: an
//! empty Windows user profile whose Credential Manager is the keychain.
//!
//! Here: the environment, what runs in it (patrol, git, `git credential`
//! the way git's own suite drives a helper) and where patrol keeps its
//! files in it. `keyring.rs` starts the bus and the Secret Service,
//! `wine.rs` the wine prefix.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

use pretty_assertions::assert_eq;
use tempfile::TempDir;

use super::keyring::Keyring;
use super::{make_executable, run, text, unindent};

pub const BIN: &str = env!("CARGO_BIN_EXE_git-credential-patrol");
/// A loopback address where nothing listens.
const NOWHERE: &str = "http://127.0.0.1:9";

pub struct TestEnv {
    pub(super) root: TempDir,
    pub(super) vars: HashMap<&'static str, OsString>,
    pub(super) daemons: Vec<Child>,
    /// What git and `patrol()` run: `BIN`, or the shim that runs the
    /// Windows build under wine.
    pub helper: PathBuf,
    pub(super) keyring: Keyring,
}

impl TestEnv {
    /// An environment with the Secret Service under test:
    /// `PATROL_TEST_SECRET_SERVICE` is `gnome-keyring` (the default) or
    /// `keepassxc`.
    pub fn new() -> Self {
        if crate::UNDER_WINE {
            Self::under_wine()
        } else {
            Self::with_keyring(Keyring::under_test())
        }
    }

    pub fn with_keyring(keyring: Keyring) -> Self {
        let root = tempfile::Builder::new()
            .prefix("patrol-test")
            .tempdir()
            .unwrap();
        let home = root.path().join("home");
        let runtime = root.path().join("run");
        for dir in [&home, &runtime] {
            fs::create_dir_all(dir).unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
        }
        let askpass = root.path().join("askpass");
        // The same answers as git's own t/lib-credential.sh.
        fs::write(
            &askpass,
            "#!/bin/sh\necho >&2 askpass: $*\nwhat=$(echo $1 | cut -d\" \" -f1 | tr A-Z a-z | tr -cd a-z)\necho \"askpass-$what\"\n",
        )
        .unwrap();
        make_executable(&askpass);

        let bin_dir = Path::new(BIN).parent().unwrap();
        let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        let mut vars: HashMap<&'static str, OsString> = HashMap::from([
            ("PATH", path),
            ("HOME", home.clone().into()),
            ("XDG_CONFIG_HOME", home.join(".config").into()),
            ("XDG_DATA_HOME", home.join(".local/share").into()),
            ("XDG_CACHE_HOME", home.join(".cache").into()),
            ("XDG_RUNTIME_DIR", runtime.clone().into()),
            ("GIT_CONFIG_GLOBAL", home.join(".gitconfig").into()),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("GIT_ASKPASS", askpass.into()),
            ("GIT_TERMINAL_PROMPT", "0".into()),
            ("LANG", "C".into()),
            ("LC_ALL", "C".into()),
            // A token stored for a host patrol knows by name (github.com,
            // bitbucket.org, …) is described by the forge's API: in tests that request goes to a loopback port
            // where nothing listens, never off this machine. Fake forges on
            // loopback are reached directly, as proxies never apply there.
            ("HTTPS_PROXY", NOWHERE.into()),
            ("https_proxy", NOWHERE.into()),
        ]);
        let mut env = TestEnv {
            root,
            vars: HashMap::new(),
            daemons: Vec::new(),
            helper: PathBuf::from(BIN),
            keyring,
        };
        if keyring != Keyring::NoBus {
            let address = env.start_bus(&vars);
            vars.insert("DBUS_SESSION_BUS_ADDRESS", address.into());
        }
        env.vars = vars;
        match keyring {
            Keyring::Unlocked => env.start_keyring(true),
            Keyring::SessionOnly => env.start_keyring(false),
            Keyring::KeePassXc => env.start_keepassxc(),
            Keyring::Missing | Keyring::Activatable | Keyring::NoBus => {}
        }
        env
    }

    /// The address of this environment's session bus.
    pub fn bus_address(&self) -> String {
        self.vars["DBUS_SESSION_BUS_ADDRESS"]
            .to_string_lossy()
            .into_owned()
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// Where a version-1 index (one file for everything) was kept.
    pub fn index_path(&self) -> PathBuf {
        self.data_dir().join("index.json")
    }

    pub fn data_dir(&self) -> PathBuf {
        if let Some(prefix) = self.vars.get("WINEPREFIX") {
            // %APPDATA% of the prefix's one user (named after the Unix user).
            let users = Path::new(prefix).join("drive_c/users");
            let user = fs::read_dir(&users)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .find(|dir| !dir.ends_with("Public"))
                .expect("the wine prefix has a user profile");
            return user.join("AppData/Roaming/git-credential-patrol/data");
        }
        self.home().join(".local/share/git-credential-patrol")
    }

    /// The directory of the index's shards, one per protocol and host.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir().join("index")
    }

    /// Every shard's file, in name order.
    pub fn shards(&self) -> Vec<PathBuf> {
        let mut shards: Vec<PathBuf> = fs::read_dir(self.index_dir())
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .collect()
            })
            .unwrap_or_default();
        shards.sort();
        shards
    }

    /// The shard for `protocol` and `host`, named as the index names it.
    pub fn shard_path(&self, protocol: &str, host: &str) -> PathBuf {
        let escape = |part: &str| {
            part.bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        self.index_dir()
            .join(format!("{}_{}.json", escape(protocol), escape(host)))
    }

    /// Every file of the index (shards and marker), for comparing.
    pub fn index_bytes(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(self.index_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| (p.clone(), fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    }

    /// Writes `index` (as `index()` returns it) back, one shard per host.
    pub fn write_index(&self, index: &serde_json::Value) {
        let mut shards: std::collections::BTreeMap<PathBuf, Vec<serde_json::Value>> =
            Default::default();
        for record in index["credentials"].as_array().unwrap() {
            let path = self.shard_path(
                record["protocol"].as_str().unwrap(),
                record["host"].as_str().unwrap(),
            );
            shards.entry(path).or_default().push(record.clone());
        }
        for (path, credentials) in shards {
            let file = serde_json::json!({"version": 2, "credentials": credentials});
            fs::write(path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
        }
    }

    /// The index as JSON: every shard's records in one list, as
    /// `{"credentials": [...]}`.
    pub fn index(&self) -> serde_json::Value {
        let mut credentials = Vec::new();
        for shard in self.shards() {
            let file: serde_json::Value =
                serde_json::from_str(&fs::read_to_string(shard).unwrap()).unwrap();
            credentials.extend(file["credentials"].as_array().unwrap().iter().cloned());
        }
        serde_json::json!({ "credentials": credentials })
    }

    /// A command in this environment and nothing of the caller's.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .envs(&self.vars)
            .current_dir(self.home());
        command
    }

    /// Sets a variable for every command run in this environment.
    pub fn set_var(&mut self, name: &'static str, value: &str) {
        self.vars.insert(name, value.into());
    }

    /// Gives this environment a system-wide git configuration of its own
    /// (`GIT_CONFIG_SYSTEM`, in the test's directory) in place of none, for
    /// `--system`; returns its path.
    pub fn use_system_config(&mut self) -> PathBuf {
        let path = self.root().join("system-gitconfig");
        self.vars.remove("GIT_CONFIG_NOSYSTEM");
        self.vars.insert("GIT_CONFIG_SYSTEM", path.clone().into());
        path
    }

    /// This environment's `PATH` with `dir` in front: for a stand-in of a
    /// program that patrol runs.
    pub fn path_with(&self, dir: &Path) -> OsString {
        let rest = self.vars.get("PATH").cloned().unwrap_or_default();
        std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)))
            .unwrap()
    }

    /// The git this environment runs: the first on its `PATH`.
    pub fn real_git(&self) -> PathBuf {
        let mut command = self.command("sh");
        command.args(["-c", "command -v git"]);
        let out = run(command, b"");
        PathBuf::from(text(&out.stdout).trim())
    }

    /// Runs our binary with `args`, feeding `stdin`.
    pub fn patrol(&self, args: &[&str], stdin: &str) -> Output {
        let mut command = self.command(&self.helper);
        command.args(args);
        run(command, stdin.as_bytes())
    }

    /// Runs git with `args`, feeding `stdin`.
    pub fn git(&self, args: &[&str], stdin: &str) -> Output {
        let mut command = self.command("git");
        command.args(args);
        run(command, stdin.as_bytes())
    }

    /// `git config --global KEY VALUE` in this environment.
    pub fn config(&self, key: &str, value: &str) {
        let out = self.git(&["config", "--global", key, value], "");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `git -c credential.helper=patrol [extra -c] credential OP`, the way
    /// git's own t/lib-credential.sh drives a helper.
    pub fn credential(&self, op: &str, extra: &[&str], stdin: &str) -> Output {
        let mut args = vec!["-c", "credential.helper=", "-c"];
        let helper = format!("credential.helper={}", self.helper.display());
        args.push(&helper);
        for setting in extra {
            args.push("-c");
            args.push(setting);
        }
        args.extend(["credential", op]);
        self.git(&args, stdin)
    }

    /// Like git's `check`: runs the operation, then compares stdout and
    /// stderr with what is expected, showing a diff when they differ.
    pub fn check(&self, op: &str, stdin: &str, stdout: &str, stderr: &str) {
        self.check_with(op, &[], stdin, stdout, stderr);
    }

    pub fn check_with(&self, op: &str, extra: &[&str], stdin: &str, stdout: &str, stderr: &str) {
        let out = self.credential(op, extra, &unindent(stdin));
        let (got_out, got_err) = (text(&out.stdout), text(&out.stderr));
        assert!(
            out.status.success(),
            "git credential {op} failed: {got_err}"
        );
        assert_eq!(unindent(stdout), got_out, "stdout of git credential {op}");
        assert_eq!(unindent(stderr), got_err, "stderr of git credential {op}");
    }

    pub fn approve(&self, stdin: &str) {
        self.check("approve", stdin, "", "");
    }

    pub fn reject(&self, stdin: &str) {
        self.check("reject", stdin, "", "");
    }

    /// Starts a process that stays in the background until the test ends.
    pub fn spawn_daemon(&mut self, mut command: Command) {
        self.daemons.push(command.spawn().unwrap());
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // A keyring that replaced ours (`--replace`) is not our child.
        // KeePassXC is always ours, and answers SIGTERM with a dialog
        // asking whether to save, which nobody sees: it is killed below.
        if !matches!(self.keyring, Keyring::NoBus | Keyring::KeePassXc) && !self.daemons.is_empty()
        {
            self.stop_secret_service();
        }
        for daemon in self.daemons.iter_mut().rev() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
        if self.vars.contains_key("WINEPREFIX") {
            // The prefix's wineserver stays up until told (`start_wine`);
            // -k stops it and its system processes, and waits.
            let _ = self
                .command("/usr/lib/wine/wineserver64")
                .arg("-k")
                .status();
        }
    }
}
