//! git-credential-patrol: a git credential helper that keeps secrets in the
//! OS keychain, keeps a metadata index beside it, and warns at push time
//! before a token expires or falls due for rotation.
//!
//! Data flows one way: `cli` picks a command; a command in `commands` works
//! on credentials through the `keychain`, the `index`, the `expiry` policy
//! and `config`; nothing below `commands` knows about clap or stdout.

#![forbid(unsafe_code)]

pub mod answer;
pub mod cli;
pub mod commands;
pub mod config;
#[cfg(target_os = "linux")]
pub mod config_sources;
pub mod credential;
pub mod expiry;
pub mod forge;
pub mod fs;
pub mod git;
pub mod git_helpers;
pub mod index;
pub mod keychain;
pub mod matching;
pub mod memory;
pub mod output;
pub mod plaintext;
pub mod protocol;
pub mod record;
pub mod storage;
pub mod test_hook;
pub mod trace;

/// The version, with the git commit when built from a checkout.
pub const VERSION: &str = env!("PATROL_VERSION");

/// When the source was committed (RFC 3339), or empty when unknown: a clock
/// earlier than this is wrong.
pub const BUILD_DATE: &str = env!("PATROL_BUILD_DATE");
