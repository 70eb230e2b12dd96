//! `store`: git calls it after every successful authentication, almost
//! always with the credential `get` just gave it. It reads the request and
//! hands it to `storage::Storage::save`, which recognises that case (by our
//! `state[]`, else by comparing with the keychain) and writes only a new or
//! changed secret, in a single keychain call.

use std::io::{BufRead, Write};

use anyhow::Result;

use super::Context;
use crate::output::BadInput;
use crate::output::Messages;
use crate::protocol::Request;

pub fn run(ctx: &Context, input: impl BufRead, messages: &mut Messages<impl Write>) -> Result<()> {
    let request = Request::read(input).map_err(|e| BadInput(e.to_string()))?;
    if request.ephemeral {
        return Ok(());
    }
    let target = request.target().ok_or_else(|| {
        BadInput(
            if request.protocol.as_deref().unwrap_or_default().is_empty() {
                "nothing stored: the request has no `protocol`".into()
            } else {
                "nothing stored: the request has neither a `host` nor a `path`".into()
            },
        )
    })?;
    let secrets = request.secrets();
    if secrets.is_empty() {
        return Err(BadInput(
            "nothing stored: the request has no `password` (nor `authtype` with `credential`)"
                .into(),
        )
        .into());
    }
    let username = request.username.clone().unwrap_or_default();
    ctx.save(&target, &username, &secrets, request.our_state(), messages)?;
    Ok(())
}
