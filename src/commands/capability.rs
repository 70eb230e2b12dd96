//! `capability`: tells git which protocol extensions we speak.

use std::io::Write;

use anyhow::Result;

use crate::protocol::write_capabilities;

pub fn run(out: impl Write) -> Result<()> {
    write_capabilities(out)?;
    Ok(())
}
