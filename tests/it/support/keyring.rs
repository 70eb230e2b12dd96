//! The keychain a `TestEnv` provides: its private D-Bus session bus and,
//! on it, an unlocked gnome-keyring, KeePassXC over a throwaway database,
//! a keyring with only its in-memory collection, nothing, or a stand-in
//! that D-Bus activation starts; and the calls tests make to it with
//! `dbus-send` and `keepassxc-cli`. Every daemon started here is stopped
//! when the environment is dropped.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use pretty_assertions::assert_eq;

use super::env::TestEnv;
use super::{make_executable, run, text};

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

impl TestEnv {
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

    /// Whether D-Bus activation started the Secret Service's stand-in
    /// (`Keyring::Activatable`).
    pub fn activated(&self) -> bool {
        self.root().join("activated").exists()
    }

    pub(super) fn start_bus(&mut self, vars: &HashMap<&'static str, OsString>) -> String {
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
    pub(super) fn start_keyring(&mut self, unlock: bool) {
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
    pub(super) fn start_keepassxc(&mut self) {
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
