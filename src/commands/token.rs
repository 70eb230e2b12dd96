//! `token URL [--user NAME]`: the secret on stdout, one line and nothing
//! else, for `export GITHUB_TOKEN=$(git credential-patrol token github.com)`.
//! Every message goes to stderr, so a script never captures one by mistake.

use std::io::Write;

use anyhow::{Result, anyhow};

use super::{Context, describe, keychain_accounts, rotate_command};
use crate::cli::TokenArgs;
use crate::keychain::Key;
use crate::output::Messages;

pub fn run(
    ctx: &Context,
    args: &TokenArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let snapshot = ctx.read_index(messages);
    let named = ctx.named(&snapshot.records, &args.url, args.user.as_deref())?;
    let (target, user) = (&named.target, named.user.as_deref());
    // No credential at all is a failure (exit 1); several accounts without
    // `--user` is a usage problem (exit 2).
    if named.found.is_empty() {
        // The keychain alone can still answer for this exact URL, as it
        // does for git's `get`: the index may not know a stored secret.
        let settings = ctx.settings(&target.url(), messages);
        let keychain = ctx.keychain(&settings)?;
        let accounts = keychain_accounts(&keychain, target, user)?;
        if let [account] = accounts.as_slice()
            && let Some(secrets) = keychain.get(&Key::new(target.clone(), account.clone()))?
            && let Some(token) = secrets.token()
        {
            writeln!(out, "{}", token.expose())?;
            out.flush()?;
            return Ok(());
        }
        return Err(named.not_stored());
    }
    let record = named.one()?;
    let settings = ctx.settings(&record.target.url(), messages);
    let keychain = ctx.keychain(&settings)?;
    let key = Key::new(record.target.clone(), record.username.clone());
    let secrets = keychain.get(&key)?;
    let Some(token) = secrets.as_ref().and_then(|s| s.token()) else {
        return Err(anyhow!(
            "the index knows {}, but the keychain has no token for it; store one with `{}`",
            describe(&record.target, &record.username),
            rotate_command(record)
        ));
    };
    writeln!(out, "{}", token.expose())?;
    out.flush()?;
    Ok(())
}
