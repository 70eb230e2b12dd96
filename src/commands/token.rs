//! `token URL [--user NAME]`: the secret on stdout, one line and nothing
//! else, for `export GITHUB_TOKEN=$(git credential-patrol token github.com)`.
//! Every message goes to stderr, so a script never captures one by mistake.

use std::io::Write;

use anyhow::{Result, anyhow};

use super::Context;
use crate::cli::TokenArgs;
use crate::keychain::Key;
use crate::output::{Messages, describe, rotate_command};
use crate::urlmatch::settings_url;

pub fn run(
    ctx: &Context,
    args: &TokenArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let snapshot = ctx.read_index(messages);
    // No credential at all is a failure (exit 1); several accounts without
    // `--user` is a usage problem (exit 2). The keychain alone still
    // answers for this exact URL when the index does not know it.
    let record = ctx.one_named(&snapshot.records, &args.url, args.user.as_deref(), messages)?;
    let settings = ctx.settings(
        &settings_url(&record.target, Some(&record.username)),
        messages,
    );
    let keychain = ctx.keychain(&settings)?;
    let key = Key::new(record.target.clone(), record.username.clone());
    let secrets = keychain.get(&key)?;
    let Some(token) = secrets.as_ref().and_then(|s| s.token()) else {
        return Err(anyhow!(
            "the index knows {}, but the keychain has no token for it; store one with `{}`",
            describe(&record.target, &record.username),
            rotate_command(&record)
        ));
    };
    writeln!(out, "{}", token.expose())?;
    out.flush()?;
    Ok(())
}
