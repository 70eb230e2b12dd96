//! A client certificate's passphrase (`http.sslCert` with
//! `http.sslCertPasswordProtected`): git asks its helpers for it as
//! `protocol=cert`, an empty `host=` and the file's `path=`, and stores it
//! after a connection succeeds. patrol keeps it like any credential, keyed
//! by the path, and never asks a forge about it.

use std::fs;

use crate::support::env::{BIN, TestEnv};
use crate::support::git_server::{GitServer, bare_repo};
use crate::support::{assert_contains, assert_lacks, make_executable, run, text};

const USER: &str = "alice";
const TOKEN: &str = "ghp_TESTcertificatetoken000000000000000";
const PASSPHRASE: &str = "TEST-passphrase";

struct Setup {
    env: TestEnv,
    server: GitServer,
    cert: String,
}

/// A loopback server holding one repository, patrol as the only helper with
/// the server's token stored, and a certificate git is told is protected.
/// Curl never sends the certificate over plain HTTP, but git asks for its
/// passphrase before the first request all the same.
fn setup() -> Setup {
    let env = TestEnv::new();
    let srv = env.root().join("srv");
    fs::create_dir_all(&srv).unwrap();
    bare_repo(&srv, "project.git");
    let server = GitServer::start(&srv);
    server.accept(USER, TOKEN);
    let cert = env.home().join("certs/client.p12");
    fs::create_dir_all(cert.parent().unwrap()).unwrap();
    fs::write(&cert, "not a real certificate").unwrap();
    let cert = cert.to_str().unwrap().to_owned();
    env.config("credential.helper", BIN);
    env.config("http.sslCert", &cert);
    env.config("http.sslCertPasswordProtected", "true");
    // Every host is GitHub (nothing listens at its API), except the
    // server's own: a passphrase asked about would show a probe.
    env.config("patrol.forge", "github");
    env.config("patrol.apiUrl", "http://127.0.0.1:9/api/v3");
    env.config(&format!("patrol.{}.forge", server.url("")), "none");
    let stored = env.patrol(
        &["store"],
        &format!(
            "protocol=http\nhost={}\nusername={USER}\npassword={TOKEN}\n",
            server.host()
        ),
    );
    assert!(stored.status.success(), "{}", text(&stored.stderr));
    Setup { env, server, cert }
}

impl Setup {
    /// `git clone` into `dest` with an askpass that answers `answer` and
    /// notes every prompt it was shown; returns git's output and the prompts.
    fn clone(&self, dest: &str, answer: &str) -> (std::process::Output, String) {
        let log = self.env.root().join(format!("asked-{dest}"));
        let askpass = self.env.root().join(format!("askpass-{dest}"));
        fs::write(
            &askpass,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\nprintf '%s\\n' '{answer}'\n",
                log.display()
            ),
        )
        .unwrap();
        make_executable(&askpass);
        let mut command = self.env.command("git");
        command
            .args(["clone", "-q", &self.server.url("project.git"), dest])
            .env("GIT_ASKPASS", &askpass);
        let out = run(command, b"");
        (out, fs::read_to_string(&log).unwrap_or_default())
    }
}

#[test]
fn a_certificate_passphrase_is_stored_returned_listed_and_erased_by_its_path() {
    let setup = setup();
    let env = &setup.env;

    // The first clone asks the person once; git then stores the answer.
    let (first, asked) = setup.clone("first", PASSPHRASE);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(
        asked,
        format!("Password for 'cert:///{}': \n", setup.cert),
        "git asks for the passphrase by the certificate's path"
    );
    assert_lacks!(text(&first.stderr), "git-credential-patrol", "patrol spoke");

    // The next one is answered by patrol alone.
    let (second, asked) = setup.clone("second", "wrong");
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert_eq!(asked, "", "the passphrase was asked for again");

    // The keychain gives back exactly what git stored, by the path.
    let fill = env.credential(
        "fill",
        &[],
        &format!("protocol=cert\nhost=\nusername=\npath={}\n", setup.cert),
    );
    assert_contains!(text(&fill.stdout), &format!("password={PASSPHRASE}\n"));

    // Listed as what it is; no forge was asked about it.
    let list = env.patrol(&["list"], "");
    let line = text(&list.stdout)
        .lines()
        .find(|l| l.starts_with("cert:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    assert_eq!(
        line,
        format!(
            "cert:///{} certificate never no-expiry just now",
            setup.cert
        )
    );
    let json: serde_json::Value =
        serde_json::from_slice(&env.patrol(&["list", "--json"], "").stdout).unwrap();
    let cert = json["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["protocol"] == "cert")
        .unwrap();
    assert_eq!(cert["path"], setup.cert.as_str());
    assert_eq!(cert["host"], "");
    assert_eq!(cert["forge"], "none");
    assert_eq!(
        cert["probed_at"],
        serde_json::Value::Null,
        "a forge was asked"
    );

    let check = env.patrol(&["check", &format!("cert://{}", setup.cert)], "");
    assert!(check.status.success(), "{}", text(&check.stderr));
    for line in [
        "  kind:     certificate\n",
        "  expires:  never\n",
        "  note:     a client certificate's passphrase: no forge issued it, so none is asked\n",
    ] {
        assert_contains!(text(&check.stdout), line);
    }

    // Named by its file, as a person writes it or as git's prompt does.
    let rotate = env.patrol(&["rotate", &format!("cert://{}", setup.cert)], "");
    assert_eq!(rotate.status.code(), Some(2));
    assert_contains!(
        text(&rotate.stderr),
        "a client certificate's passphrase, not a token"
    );
    let erase = env.patrol(&["erase", &format!("cert:///{}", setup.cert)], "");
    assert!(erase.status.success(), "{}", text(&erase.stderr));
    assert_eq!(
        text(&erase.stdout),
        format!(
            "Removed the certificate passphrase for cert:///{} from the keychain.\n",
            setup.cert
        )
    );

    // Erased, it is asked for again.
    let (third, asked) = setup.clone("third", PASSPHRASE);
    assert!(third.status.success(), "{}", text(&third.stderr));
    assert!(asked.starts_with("Password for 'cert:"), "{asked}");
}

#[test]
fn git_rejects_a_certificate_passphrase_by_its_path_alone() {
    let setup = setup();
    let env = &setup.env;
    let other = format!("{}.old", setup.cert);
    for path in [&setup.cert, &other] {
        env.approve(&format!(
            "protocol=cert\nhost=\nusername=\npath={path}\npassword={PASSPHRASE}\n"
        ));
    }
    env.reject(&format!(
        "protocol=cert\nhost=\nusername=\npath={}\n",
        setup.cert
    ));
    let fill = |path: &str| {
        text(
            &env.credential(
                "fill",
                &[],
                &format!("protocol=cert\nhost=\nusername=\npath={path}\n"),
            )
            .stdout,
        )
    };
    assert!(!fill(&setup.cert).contains(PASSPHRASE), "not erased");
    assert_contains!(fill(&other), &format!("password={PASSPHRASE}\n"));
}
