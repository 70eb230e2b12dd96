//! The integration tests: the built binary, driven by real git, against a
//! private Secret Service. One test binary; `support` holds the shared
//! harness.
//!
//! Every test runs in a `TestEnv`, which starts D-Bus and gnome-keyring, so
//! the binary exists on Linux only; elsewhere CI runs the unit tests and a
//! smoke test against the platform's keychain.

#![cfg(target_os = "linux")]

/// These tests drive this build's binary; tests/wine reuses some of them
/// for the Windows build.
const UNDER_WINE: bool = false;

mod adopt;
mod cargo;
mod certificate;
mod ci;
mod cli;
mod conformance;
#[cfg(debug_assertions)]
mod crash;
mod expiry;
mod faults;
mod forge;
mod forges;
mod generate;
mod helper;
mod keychain_items;
mod libgit2;
mod load;
mod notify;
mod own_connection;
mod providers;
mod rebuild;
mod security;
mod settings;
mod support;
mod url;
