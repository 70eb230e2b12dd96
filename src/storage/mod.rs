//! The storage core: the keychain and the index kept in step. Every change
//! of either goes through here: `get` (locate the credential, decide what
//! git is told, note what the index should remember), `save` (git's
//! `store`, `import`), `erase`, `rotate`, and the `rebuild` that finds
//! again the credentials the keychain holds and the index does not (after
//! the index was lost, a shard damaged, or a store cut short), so that
//! nothing stays hidden. Commands read their arguments, call these, and
//! print; nothing here knows about clap or the process's stdio.
//!
//! It works over the `SecretStore` seam, so that `keychain::memory` runs
//! every decision here in a unit test, on every OS.

mod erase;
mod get;
mod import;
mod notes;
mod rebuild;
mod rotate;
mod save;

use std::io::Write;

use chrono::{DateTime, Utc};

pub use get::Answered;
pub use import::Imported;
pub use notes::{record_outcomes, set_manual_expiry};
pub use rebuild::{Adopted, one_named, read_index};
pub use rotate::RotateError;
pub use save::{Change, KeychainWrite, Saved, StoreDecision, decide_store};

use crate::index::Index;
use crate::keychain::SecretStore;
use crate::output::Messages;

/// The keychain and the index, at one moment.
pub struct Storage<'a> {
    pub index: &'a Index,
    pub keychain: &'a dyn SecretStore,
    pub now: DateTime<Utc>,
}

/// Index problems are worth a warning, never a failure.
fn warn_index<W: Write>(messages: &mut Messages<W>) -> impl FnMut(&str) + '_ {
    move |w: &str| messages.warning(w)
}
