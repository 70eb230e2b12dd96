//! Crash points for the tests: a debug build aborts at the point named by
//! `GIT_CREDENTIAL_PATROL_TEST_CRASH_AT`, the way a power cut or a `kill -9`
//! would stop it, so the tests can check that nothing is lost wherever an
//! import stops. A release build never reads the variable.

const VARIABLE: &str = "GIT_CREDENTIAL_PATROL_TEST_CRASH_AT";

/// Stops the process here, without any cleanup, when a debug build is told to.
pub fn crash_point(point: &str) {
    if cfg!(debug_assertions) && std::env::var_os(VARIABLE).is_some_and(|v| v == point) {
        crate::trace!("crash point {point}: aborting");
        std::process::abort();
    }
}
