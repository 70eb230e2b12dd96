//! Any bytes as a git-credential-store file: reading never panics, a
//! credential read from a line carries no byte that could break the
//! protocol, and removing the credential lines keeps every other line
//! byte for byte (or deletes the file when only blank lines are left).

#![no_main]

use std::time::Duration;

use git_credential_patrol::plaintext::{self, Line, Rewritten};
use libfuzzer_sys::fuzz_target;

fn is_credential(text: &str) -> bool {
    matches!(plaintext::parse_line(text), Line::Credential(_))
}

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("credentials");
    std::fs::write(&path, data).expect("write the file");

    let lines = plaintext::read(&path).expect("read").expect("the file exists");
    for line in &lines {
        if let Line::Credential(entry) = &line.line {
            let fields = [
                entry.target.protocol.as_str(),
                entry.target.host.as_str(),
                entry.target.path.as_deref().unwrap_or(""),
                entry.username.as_str(),
                entry.secrets.password.as_ref().map_or("", |p| p.expose()),
            ];
            for field in fields {
                assert!(!field.contains(['\0', '\r', '\n']), "a field breaks the protocol");
            }
        }
    }

    let expected: Vec<u8> = data
        .split_inclusive(|b| *b == b'\n')
        .filter(|line| {
            let bare = line.strip_suffix(b"\n").unwrap_or(line);
            !std::str::from_utf8(bare).is_ok_and(is_credential)
        })
        .flatten()
        .copied()
        .collect();
    let file = plaintext::StoreFile::resolve(&path).expect("resolve");
    let rewritten =
        plaintext::remove_lines(&file, Duration::ZERO, is_credential).expect("rewrite");
    match rewritten {
        Rewritten::Deleted => {
            assert!(!path.exists());
            assert!(expected.split(|b| *b == b'\n').all(|l| l.trim_ascii().is_empty()));
        }
        Rewritten::Kept(_) => assert_eq!(std::fs::read(&path).expect("read back"), expected),
    }
});
