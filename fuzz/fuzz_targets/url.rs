//! `url=` is read exactly as git reads it: `UrlParts::parse` against a
//! reference port of git's `credential_from_url`.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../reference/git_url.rs"]
mod git_url;

fuzz_target!(|data: &[u8]| {
    if let Ok(url) = std::str::from_utf8(data) {
        git_url::compare(url);
    }
});
