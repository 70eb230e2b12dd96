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

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_git-credential-patrol");
/// A loopback address where nothing listens.
const NOWHERE: &str = "http://127.0.0.1:9";

/// What the environment provides as a keychain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyring {
    /// A private bus with an unlocked gnome-keyring.
    Unlocked,
    /// A private bus with KeePassXC, headless, over an unlocked throwaway
    /// database whose group `SecretService` is exposed.
    KeePassXc,
    /// A private bus with gnome-keyring started by `--start` with no
    /// `--unlock` and no login keyring on disk, as D-Bus activation or a
    /// headless login leaves it: only its in-memory `session` collection.
    SessionOnly,
    /// A private bus and nothing providing the Secret Service.
    Missing,
    /// A private bus where nothing provides the Secret Service, but D-Bus
    /// activation would start a stand-in for it, which only leaves the file
    /// `activated` in the test's root and exits (see `activated`).
    Activatable,
    /// No session bus at all.
    NoBus,
}

pub struct TestEnv {
    root: TempDir,
    vars: HashMap<&'static str, OsString>,
    daemons: Vec<Child>,
    /// What git and `patrol()` run: `BIN`, or the shim that runs the
    /// Windows build under wine.
    pub helper: PathBuf,
    keyring: Keyring,
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

    /// The Windows build (`PATROL_WINDOWS_EXE`, or where
    /// `cargo build --target x86_64-pc-windows-gnu` puts it) under wine, in a
    /// fresh prefix made by scripts/xplat/wine-prefix. Git stays Linux git.
    fn under_wine() -> Self {
        let exe = std::env::var_os("PATROL_WINDOWS_EXE").map_or_else(
            || {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("target/x86_64-pc-windows-gnu/debug/git-credential-patrol.exe")
            },
            PathBuf::from,
        );
        assert!(
            exe.is_file(),
            "{} is missing: run scripts/test, which builds it",
            exe.display()
        );
        let mut env = Self::with_keyring(Keyring::NoBus);
        let prefix = env.root().join("wine");
        let xplat = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/xplat");
        let mut command = env.command(xplat.join("wine-prefix"));
        command.arg(&prefix);
        if let Some(home) = std::env::var_os("PATROL_XPLAT_HOME") {
            command.env("PATROL_XPLAT_HOME", home);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "wine-prefix: {}", text(&out.stderr));
        let bin = env.root().join("bin");
        fs::create_dir_all(&bin).unwrap();
        env.helper = bin.join("git-credential-patrol");
        fs::write(
            &env.helper,
            format!(
                "#!/bin/sh\nexec /usr/lib/wine/wine64 '{}' \"$@\"\n",
                exe.display()
            ),
        )
        .unwrap();
        make_executable(&env.helper);
        let path = env.path_with(&bin);
        env.vars.insert("PATH", path);
        env.vars.insert("WINEPREFIX", prefix.into());
        env.vars.insert("WINEDEBUG", "-all".into());
        env.start_wine();
        env
    }

    /// Runs the prefix's `wineserver` with `flag` (`-p` keeps it up, `-k`
    /// stops it, writing the registry out).
    pub fn wineserver(&self, flag: &str) {
        let status = self
            .command("/usr/lib/wine/wineserver64")
            .arg(flag)
            .status()
            .unwrap();
        assert!(status.success(), "wineserver {flag} failed");
    }

    /// Starts the prefix's wineserver and its system processes (services,
    /// winedevice, plugplay, rpcss), once, before any helper runs; Drop
    /// stops them. Wine processes starting together in a prefix without a
    /// wineserver race to set up its directory, and one of them gives up.
    /// The system processes keep the stderr of the Windows program that
    /// started them; left to start with a helper, they would be stopped
    /// after each helper's exit and started again with the next one's, and
    /// wine's winedevice.exe now and then crashes while stopping ("Unhandled
    /// page fault on read access to 0000000000000008" in ntoskrnl.exe, a
    /// process of wine's, not the helper), which then showed up in what git
    /// printed. So the wineserver stays up (`-p`) and the system processes
    /// are started by `cmd /c exit`, with their stderr in `wine-system.log`.
    pub fn start_wine(&self) {
        self.wineserver("-p");
        let log_path = self.root().join("wine-system.log");
        // A prefix's first start (wineboot) now and then fails on a loaded
        // machine; the next one finds it set up. Three tries, then the log.
        for _ in 0..3 {
            let log = fs::File::options()
                .create(true)
                .append(true)
                .open(&log_path)
                .unwrap();
            let status = self
                .command("/usr/lib/wine/wine64")
                .args(["cmd", "/c", "exit"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .status()
                .unwrap();
            if status.success() {
                return;
            }
        }
        panic!(
            "wine did not start in the prefix: {}",
            fs::read_to_string(&log_path).unwrap_or_default()
        );
    }

    /// Stops the keyring daemon, whoever started it (a fix run by a test
    /// may have replaced ours), and starts it again the way D-Bus would
    /// after a reboot, with no password: a login keyring on disk stays
    /// locked, and without one there is only the in-memory collection.
    pub fn restart_keyring(&mut self) {
        self.stop_secret_service();
        self.start_keyring(false);
    }

    /// Kills the process that owns the Secret Service's name on this test's
    /// private bus, and waits until the name is free.
    pub fn stop_secret_service(&mut self) {
        let Some(pid) = self.secret_service_pid() else {
            return;
        };
        let _ = Command::new("kill").arg(pid.to_string()).status();
        if let Some(at) = self.daemons.iter().position(|d| d.id() == pid) {
            let _ = self.daemons.remove(at).wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.secret_service_pid().is_some() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn secret_service_pid(&self) -> Option<u32> {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .ok()?;
        text(&out.stdout).split_whitespace().last()?.parse().ok()
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

    /// Whether D-Bus activation started the Secret Service's stand-in
    /// (`Keyring::Activatable`).
    pub fn activated(&self) -> bool {
        self.root().join("activated").exists()
    }

    fn start_bus(&mut self, vars: &HashMap<&'static str, OsString>) -> String {
        // No service directories, except for the stand-in of `Activatable`:
        // nothing else is started by D-Bus activation, so a "missing"
        // keyring stays missing and no daemon outlives the test.
        let services = if self.keyring == Keyring::Activatable {
            let dir = self.root().join("services");
            fs::create_dir_all(&dir).unwrap();
            let stand_in = self.root().join("secret-service-stand-in");
            let marker = self.root().join("activated");
            fs::write(
                &stand_in,
                format!(
                    "#!/bin/sh
touch '{}'
",
                    marker.display()
                ),
            )
            .unwrap();
            make_executable(&stand_in);
            fs::write(
                dir.join("org.freedesktop.secrets.service"),
                format!(
                    "[D-BUS Service]\nName=org.freedesktop.secrets\nExec={}\n",
                    stand_in.display()
                ),
            )
            .unwrap();
            format!("  <servicedir>{}</servicedir>\n", dir.display())
        } else {
            String::new()
        };
        let config = self.root().join("bus.conf");
        let socket = self.root().join("bus");
        fs::write(
            &config,
            format!(
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"
 \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <policy context=\"default\">
    <allow send_destination=\"*\" eavesdrop=\"true\"/>
    <allow eavesdrop=\"true\"/>
    <allow own=\"*\"/>
  </policy>
  <!-- A real session bus's limits; the built-in ones refuse connections
       when dozens of clients start at once. -->
  <limit name=\"max_incomplete_connections\">1000</limit>
  <limit name=\"max_connections_per_user\">100000</limit>
  <limit name=\"max_replies_per_connection\">50000</limit>
  <limit name=\"max_match_rules_per_connection\">50000</limit>
{services}</busconfig>
",
                socket.display()
            ),
        )
        .unwrap();
        let mut daemon = Command::new("dbus-daemon")
            .args(["--nofork", "--print-address=1"])
            .arg(format!("--config-file={}", config.display()))
            .env_clear()
            .envs(vars)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon is needed for the tests: run scripts/test, which installs it");
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        self.daemons.push(daemon);
        assert!(!line.trim().is_empty(), "dbus-daemon printed no address");
        line.trim().to_owned()
    }

    /// `unlock`: with the password `test` on stdin, which creates the
    /// login keyring when there is none.
    fn start_keyring(&mut self, unlock: bool) {
        let args: &[&str] = if unlock {
            &["--foreground", "--unlock", "--components=secrets"]
        } else {
            // `--start` keeps the daemon replaceable by `--replace`, as it
            // is on a real machine.
            &["--start", "--foreground", "--components=secrets"]
        };
        let mut daemon = self
            .command("gnome-keyring-daemon")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "gnome-keyring-daemon is needed for the tests: run scripts/test, which installs it",
            );
        // The password of the throwaway login keyring, then EOF.
        let password: &[u8] = if unlock { b"test" } else { b"" };
        daemon.stdin.take().unwrap().write_all(password).unwrap();
        self.daemons.push(daemon);
        self.wait_for_name("org.freedesktop.secrets");
    }

    /// Waits until the Secret Service's `login` collection exists and is
    /// unlocked: `gnome-keyring-daemon --replace --unlock` returns before
    /// the daemon it starts has taken over.
    pub fn wait_for_unlocked_login(&self) {
        self.wait_for_unlocked("login");
    }

    /// One call to the Secret Service with `dbus-send`: `method` (with its
    /// interface) on the object at `path`, with `dbus-send`'s typed
    /// arguments; D-Bus activation applies, as for any client.
    pub fn call_secret_service(&self, path: &str, method: &str, args: &[&str]) -> Output {
        self.command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                path,
                method,
            ])
            .args(args)
            .output()
            .unwrap()
    }

    /// Waits, at most twenty seconds, until the Secret Service's collection
    /// `name` exists and is unlocked.
    fn wait_for_unlocked(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let out = self.call_secret_service(
                &format!("/org/freedesktop/secrets/collection/{name}"),
                "org.freedesktop.DBus.Properties.Get",
                &["string:org.freedesktop.Secret.Collection", "string:Locked"],
            );
            if text(&out.stdout).contains("boolean false") {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("the collection {name} was never unlocked on the test bus");
    }

    /// The database KeePassXC serves, in this environment.
    pub fn kdbx(&self) -> PathBuf {
        self.root().join("db.kdbx")
    }

    /// KeePassXC the way `../shared/secret-services/with-keepassxc` starts
    /// it: headless, its Secret Service integration on and its per-access
    /// confirmations off, over a copy of a database whose group
    /// `SecretService` is exposed.
    fn start_keepassxc(&mut self) {
        fs::copy(keepassxc_template(), self.kdbx()).unwrap();
        let config = self.home().join(".config/keepassxc");
        fs::create_dir_all(&config).unwrap();
        fs::write(config.join("keepassxc.ini"), KEEPASSXC_INI).unwrap();
        let mut daemon = self
            .command("keepassxc")
            .env("QT_QPA_PLATFORM", "offscreen")
            .arg("--pw-stdin")
            .arg(self.kdbx())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("keepassxc is needed for these tests: run scripts/test, which installs it");
        daemon
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{KEEPASSXC_PASSWORD}\n").as_bytes())
            .unwrap();
        self.daemons.push(daemon);
        self.wait_for_name("org.freedesktop.secrets");
        // KeePassXC takes the name before it has unlocked the database
        // (`db`, after the file's name); until then its collection is
        // locked, and a new item would wait for an unlock dialog that
        // nobody sees.
        self.wait_for_unlocked("db");
    }

    /// Asserts that a field of the KeePassXC database's entry titled
    /// `title` in the exposed group is `expected`, as `keepassxc-cli show
    /// -s -a FIELD` prints it, once KeePassXC has saved the database (within
    /// ten seconds).
    pub fn assert_kdbx_field(&self, title: &str, field: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut command = self.command("keepassxc-cli");
            command
                .args(["show", "-q", "-s", "-a", field])
                .arg(self.kdbx())
                .arg(format!("SecretService/{title}"));
            let out = run(command, format!("{KEEPASSXC_PASSWORD}\n").as_bytes());
            let got = text(&out.stdout);
            if out.status.success() && got == expected {
                return;
            }
            if Instant::now() > deadline {
                assert_eq!(got, expected, "{field} of {title}: {}", text(&out.stderr));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits, at most ten seconds, until a bus name has an owner.
    pub fn wait_for_name(&self, name: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let out = self
                .command("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                ])
                .arg(format!("string:{name}"))
                .output()
                .unwrap();
            if text(&out.stdout).contains("boolean true") {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!("{name} never appeared on the test bus");
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

impl Keyring {
    /// The Secret Service `TestEnv::new` starts.
    pub fn under_test() -> Self {
        match std::env::var("PATROL_TEST_SECRET_SERVICE").as_deref() {
            Ok("keepassxc") => Keyring::KeePassXc,
            Ok("gnome-keyring") | Err(_) => Keyring::Unlocked,
            Ok(other) => panic!(
                "PATROL_TEST_SECRET_SERVICE is `gnome-keyring` or `keepassxc`, not `{other}`"
            ),
        }
    }
}

const KEEPASSXC_PASSWORD: &str = "testpw";

/// with-keepassxc's settings: the integration on, no confirmations, no
/// notifications, no tray, no update check.
const KEEPASSXC_INI: &str = "[General]
ConfigVersion=2
RememberLastDatabases=false
SingleInstance=false
UpdateCheckMessageShown=true

[FdoSecrets]
Enabled=true
ShowNotification=false
ConfirmAccessItem=false
ConfirmDeleteItem=false
UnlockBeforeSearch=false

[GUI]
CheckForUpdates=false
MinimizeOnStartup=false
ShowTrayIcon=false
";

/// A database with the group `SecretService` exposed over the Secret
/// Service (its custom data `FDO_SECRETS_EXPOSED_GROUP` holds the group's
/// UUID in braces), made once per test run with keepassxc-cli: key
/// derivation makes it slow enough to be worth sharing, as a template that
/// each test copies.
fn keepassxc_template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("keepassxc-template-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let cli = |args: &[&str], stdin: String| {
            let mut command = Command::new("keepassxc-cli");
            command.args(args).env("QT_QPA_PLATFORM", "offscreen");
            let out = run(command, stdin.as_bytes());
            assert!(
                out.status.success(),
                "keepassxc-cli {args:?}: {}",
                text(&out.stderr)
            );
            out.stdout
        };
        let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
        let twice = format!("{KEEPASSXC_PASSWORD}\n{KEEPASSXC_PASSWORD}\n");
        let once = format!("{KEEPASSXC_PASSWORD}\n");
        let _ = fs::remove_file(path("base.kdbx"));
        cli(
            &["db-create", "-q", "-p", "-t", "100", &path("base.kdbx")],
            twice.clone(),
        );
        cli(
            &["mkdir", "-q", &path("base.kdbx"), "SecretService"],
            once.clone(),
        );
        let xml = text(&cli(
            &["export", "-q", "-f", "xml", &path("base.kdbx")],
            once,
        ));
        fs::write(path("exposed.xml"), expose_group(&xml)).unwrap();
        let _ = fs::remove_file(path("exposed.kdbx"));
        cli(
            &[
                "import",
                "-q",
                "-p",
                "-t",
                "100",
                &path("exposed.xml"),
                &path("exposed.kdbx"),
            ],
            twice,
        );
        let _ = fs::remove_file(path("exposed.xml"));
        dir.join("exposed.kdbx")
    })
}

/// The exported XML with the group `SecretService` exposed.
fn expose_group(xml: &str) -> String {
    use base64::Engine as _;
    let name = xml
        .find("<Name>SecretService</Name>")
        .expect("the exported database has the group SecretService");
    let start = xml[..name].rfind("<UUID>").unwrap() + "<UUID>".len();
    let end = start + xml[start..].find("</UUID>").unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&xml[start..end])
        .unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "{{{}-{}-{}-{}-{}}}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    let item = format!(
        "<CustomData><Item><Key>FDO_SECRETS_EXPOSED_GROUP</Key><Value>{uuid}</Value></Item></CustomData>"
    );
    let meta_end = xml.find("</Meta>").unwrap();
    match xml[..meta_end].find("<CustomData/>") {
        Some(at) => format!("{}{item}{}", &xml[..at], &xml[at + "<CustomData/>".len()..]),
        None => format!("{}{item}{}", &xml[..meta_end], &xml[meta_end..]),
    }
}

/// Runs a command with `stdin` fed from a thread (so a child that writes a
/// lot before reading cannot deadlock us), at most sixty seconds.
pub fn run(mut command: Command, stdin: &[u8]) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} ran for more than 60 s");
        }
        thread::sleep(Duration::from_millis(2));
    };
    let _ = feeder.join();
    Output {
        status,
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// Says which branch a test that adapts to the machine ran (the kernel
/// keyring where the kernel allows a private one): on stderr, and as a line
/// appended to the file `PATROL_TEST_OUTCOMES` names. scripts/test prints
/// that file in its summary, because a test that checked nothing on this
/// machine still passes, and the harness hides a passing test's stderr.
pub fn report_branch(line: &str) {
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("PATROL_TEST_OUTCOMES") {
        // One write of a short line to a file opened for appending: lines
        // from tests running in parallel do not interleave.
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(format!("{line}\n").as_bytes()))
            .unwrap_or_else(|e| panic!("PATROL_TEST_OUTCOMES={path:?}: {e}"));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Heredoc-style text: the common leading whitespace removed, a final
/// newline kept when there is any content.
pub fn unindent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().skip_while(|l| l.trim().is_empty()).collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: String = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

pub fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }
}
