//! git-credential-patrol: a git credential helper that keeps secrets in the
//! OS keychain, keeps a metadata index beside it, and warns at push time
//! before a token expires or falls due for rotation.
//!
//! Data flows one way: `cli` picks a command; a command in `commands` works
//! on credentials through the `keychain`, the `index`, the `expiry` policy
//! and `config`; nothing below `commands` knows about clap or stdout.
//!
//! The layers, top to bottom (`main.rs` sits above them all). A module uses
//! only modules of its own layer or below, no modules use each other in a
//! cycle, here or among the files of one folder, and nothing is re-exported
//! from outside a module's own folder (one name, one path);
//! `scripts/layers` checks all three, and fails on a module that no layer
//! names:
//!
//! 1. `commands`: one file per command; parses, calls, prints.
//! 2. `cli`: the command line's definitions.
//! 3. `storage`: every change of the keychain and the index, kept in step
//!    (`get`, `save`, `erase`, `rotate`, `import`, the rebuild of a lost
//!    index), with the decisions only one of them makes (what `get`
//!    answers, how `store` recognises it coming back).
//! 4. `matching`, `url_argument`, `expiry`, `forge`, `plaintext`: the
//!    decisions shared above (which credentials a request names, which one
//!    a URL typed by a person names, when to warn), what a forge says of a
//!    token, and git's own plaintext credential files.
//! 5. `config`, `config_sources`, `git_helpers`: the settings, read from
//!    git's configuration, and the helper chain git builds.
//! 6. `keychain`, `index`: where secrets and records are kept.
//! 7. `record`, `protocol`, `urlmatch`, `output`, `ics`, `git`: the
//!    index's records, git's credential protocol, git's URL matching of
//!    configuration keys, what a person reads, the calendar of expiry
//!    dates, and running git.
//! 8. `credential`: credentials, secrets and git's matching rule.
//! 9. `trace`, `terminal`, `fs`, `test_hook`, `memory`, `testing`: process
//!    plumbing used from anywhere (the trace, the escaping of text from
//!    outside, careful file I/O, crash points, core dumps off), and what
//!    the unit tests share (compiled only for them).

#![forbid(unsafe_code)]

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
pub mod ics;
pub mod index;
pub mod keychain;
pub mod matching;
pub mod memory;
pub mod output;
pub mod plaintext;
pub mod protocol;
pub mod record;
pub mod storage;
pub mod terminal;
pub mod test_hook;
#[cfg(test)]
pub mod testing;
pub mod trace;
pub mod url_argument;
pub mod urlmatch;

/// The version, with the git commit when built from a checkout.
pub const VERSION: &str = env!("PATROL_VERSION");

/// When the source was committed (RFC 3339), or empty when unknown: a clock
/// earlier than this is wrong.
pub const BUILD_DATE: &str = env!("PATROL_BUILD_DATE");
