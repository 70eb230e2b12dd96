//! `url=` read as git reads it: `UrlParts::parse` against the reference port
//! of git's `credential_from_url` that the `url` fuzz target also uses, on
//! crafted URLs and on a fixed, bounded stream of generated ones, so the
//! comparison runs with every `cargo test` and not only under the fuzzer.

#[path = "../../fuzz/reference/git_url.rs"]
mod git_url;

use git_url::{GitCredential, compare, credential_from_url};

#[test]
fn crafted_urls_read_as_git_reads_them() {
    for url in [
        "https://alice:@evil.example#@github.com",
        "https://alice:@evil.example?@github.com",
        "https://a@b@host/p",
        "https://u:p:q@h:8443/x",
        "https://h/a%20b:c%20d",
        "https://h%41:443",
        "https://h/%00/%zz/%4",
        "https://h//a//",
        "https://h/%2F%2F",
        "cert:///etc/cert.pem",
        "https://",
        "a/b://c",
        "https://h/%0a",
        "https://h/%ff",
        "https://u%3Ax:p%40w@h",
        "://h",
        "no-scheme",
    ] {
        compare(url);
    }
    assert_eq!(
        credential_from_url(b"https://alice:@evil.example#@github.com").unwrap(),
        GitCredential {
            protocol: Some(b"https".to_vec()),
            host: Some(b"evil.example".to_vec()),
            path: Some(b"#@github.com".to_vec()),
            username: Some(b"alice".to_vec()),
            password: Some(Vec::new()),
        }
    );
}

#[test]
fn generated_urls_read_as_git_reads_them() {
    const PIECES: &[&str] = &[
        "https://", "://", "h", "x.y", "@", ":", "/", "//", "?", "#", "%", "%4", "%41", "%2f",
        "%3A", "%40", "%00", "%0a", "%0D", "%ff", "%c3%a9", "é", "1", "\r", " ",
    ];
    // A fixed linear congruential sequence: the same URLs on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % bound
    };
    for _ in 0..50_000 {
        let mut url = String::new();
        for _ in 0..next(10) + 1 {
            url.push_str(PIECES[next(PIECES.len())]);
        }
        compare(&url);
    }
}
