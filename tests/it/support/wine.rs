//! `TestEnv` under wine (`crate::UNDER_WINE`, the tests in tests/wine): the
//! helper is the Windows build, run by a shim in a wine prefix of the
//! test's own, an empty Windows user profile whose Credential Manager is
//! the keychain; git stays Linux git.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::env::TestEnv;
use super::keyring::Keyring;
use super::{make_executable, text};

impl TestEnv {
    /// The Windows build (`PATROL_WINDOWS_EXE`, or where
    /// `cargo build --target x86_64-pc-windows-gnu` puts it) under wine, in a
    /// fresh prefix made by scripts/xplat/wine-prefix. Git stays Linux git.
    pub(super) fn under_wine() -> Self {
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
}
