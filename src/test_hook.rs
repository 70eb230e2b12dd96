//! Crash points for the tests: a debug build aborts at the point named by
//! `GIT_CREDENTIAL_PATROL_TEST_CRASH_AT`, the way a power cut or a `kill -9`
//! would stop it, so the tests can check that nothing is lost wherever a
//! `store`, an `erase` or an `import` stops. A release build never reads the
//! variable.
//!
//! The points: `store-after-keychain` (the secret is written, the index is
//! not), `erase-after-keychain` (the secret is gone, the index does not say
//! so), `before-rename` and `after-rename` (around the rename that replaces
//! a file such as the index), `after-N` (the Nth credential an import
//! stored), `rewrite-partial` (half of a plaintext file's new text written)
//! and `rewrite` (the new text written, the old file still in place).
//!
//! It uses nothing of the crate, not even the trace, because the file
//! helpers (`fs`) that the trace opens its file with stop here too.

const VARIABLE: &str = "GIT_CREDENTIAL_PATROL_TEST_CRASH_AT";

/// Stops the process here, without any cleanup, when a debug build is told to.
pub fn crash_point(point: &str) {
    if cfg!(debug_assertions) && std::env::var_os(VARIABLE).is_some_and(|v| v == point) {
        std::process::abort();
    }
}
