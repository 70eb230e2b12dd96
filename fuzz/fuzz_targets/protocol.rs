//! Any bytes git (or anything else) could send: parsing never panics, an
//! expiry read is a moment after 1970 (git's "never" is none), and what
//! parses writes back to the same request.

#![no_main]

use git_credential_patrol::protocol::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(first) = Request::read(data) else {
        return;
    };
    assert!(first.password_expiry_utc.is_none_or(|expiry| expiry > 0));
    let mut written = Vec::new();
    first.write(&mut written).expect("writing to memory cannot fail");
    let second = Request::read(written.as_slice()).expect("what we write, we read");
    assert_eq!(first, second);
});
