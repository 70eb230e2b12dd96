//! Changes of the index alone, which no keychain write goes with: an
//! expiry a person sets by hand (`expiry`), and what the forge said of
//! each token `check` asked about.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::warn_index;
use crate::forge::{self, Facts, ProbeError};
use crate::index::{Index, IndexError};
use crate::output::Messages;
use crate::record::Expiry;

/// Records `expiry` as set by hand for the record `id`; the warnings start
/// again from it.
pub fn set_manual_expiry(
    index: &Index,
    id: &str,
    expiry: Expiry,
    messages: &mut Messages<impl Write>,
) -> Result<(), IndexError> {
    index.update(&mut warn_index(messages), |records| {
        let found = records.iter_mut().find(|r| r.id == id);
        let changed = found.is_some();
        if let Some(record) = found {
            record.expiry.manual = Some(expiry);
            record.last_warned_at = None;
        }
        ((), changed)
    })
}

/// Records what the forge answered about each record (by id), at `now`.
pub fn record_outcomes(
    index: &Index,
    outcomes: &[(String, Result<Facts, ProbeError>)],
    now: DateTime<Utc>,
    messages: &mut Messages<impl Write>,
) -> Result<(), IndexError> {
    index.update(&mut warn_index(messages), |records| {
        for (id, outcome) in outcomes {
            if let Some(record) = records.iter_mut().find(|r| &r.id == id) {
                forge::record_outcome(record, outcome, now);
            }
        }
        ((), true)
    })
}
