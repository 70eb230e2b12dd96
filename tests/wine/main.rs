//! The Windows build, run by wine on Linux and driven by Linux git through
//! a shim: git's external-helper suite (tests/it/conformance.rs, shared
//! with the Linux tests), and what is particular to Windows. Each test has
//! a wine prefix of its own, so no test sees another's credentials.
//!
//! Not part of a plain `cargo test` (`test = false` in Cargo.toml): it needs
//! wine and the Windows build, which scripts/test installs and builds
//! before running `cargo test --test wine`.

#![cfg(target_os = "linux")]

/// `TestEnv::new` runs the Windows build under wine.
const UNDER_WINE: bool = true;

#[path = "../it/conformance.rs"]
mod conformance;
// The harness is shared with tests/it, which uses more of it than this does.
#[allow(dead_code)]
#[path = "../it/support/mod.rs"]
mod support;
mod windows;
