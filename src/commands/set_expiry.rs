//! `expiry URL DATE|never`: an expiry set by hand, for forges that do not
//! report one. It outranks what git or the forge said, until the token is
//! replaced.
//!
//! A date in the past makes git drop the token at once, so it is taken only
//! when the person says so: `--allow-past`, or "y" at a terminal. A typo
//! such as 2019 for 2029 is refused, naming the date.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::Context;
use crate::cli::ExpiryArgs;
use crate::config::parse_duration;
use crate::expiry::relative;
use crate::output::BadInput;
use crate::output::{self, Messages, describe, rotate_command};
use crate::record::Expiry;
use crate::storage;

pub fn run(
    ctx: &Context,
    args: &ExpiryArgs,
    input: impl BufRead,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let expiry = parse_expiry(&args.date, ctx.now)?;
    let snapshot = ctx.read_index(messages);
    let record = ctx.one_named(&snapshot.records, &args.url, args.user.as_deref(), messages)?;
    if let Expiry::At(at) = expiry
        && at <= ctx.now
        && !args.allow_past
    {
        confirm_past(at, ctx.now, input, &mut out)?;
    }
    let (id, who, forge_said) = (
        record.id.clone(),
        describe(&record.target, &record.username),
        record.expiry.forge,
    );
    storage::set_manual_expiry(&ctx.index, &id, expiry, messages)?;
    match expiry {
        Expiry::Never => writeln!(
            out,
            "The token for {who} is now recorded as never expiring."
        )?,
        Expiry::At(at) if at <= ctx.now => {
            writeln!(
                out,
                "The token for {who} is now recorded as expired {} ({}).",
                relative(at, ctx.now),
                output::date_time(at)
            )?;
            writeln!(
                out,
                "Git now treats it as expired and asks for a new token on the next push; or run: {}",
                rotate_command(&record)
            )?;
        }
        Expiry::At(at) => writeln!(
            out,
            "The token for {who} is now recorded as expiring {} ({}).",
            relative(at, ctx.now),
            output::date_time(at)
        )?,
    }
    // The forge's answer outranks a date set by hand; saying only "now
    // recorded" would promise a date that is not the one used.
    if let Some(said) = forge_said {
        let when = match said {
            Expiry::Never => "never expires".to_owned(),
            Expiry::At(at) => format!(
                "expires {} ({})",
                relative(at, ctx.now),
                output::date_time(at)
            ),
        };
        messages.warning(&format!(
            "the forge reported that this token {when}, and the forge's answer is the one \
             used; yours applies if the forge stops saying (`git credential-patrol check` asks \
             it again)"
        ));
    }
    Ok(())
}

/// A date in the past is taken only when a person at a terminal answers
/// yes; otherwise it is refused, naming the date and the flag that says so.
fn confirm_past(
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    mut input: impl BufRead,
    mut out: impl Write,
) -> Result<()> {
    let when = format!("{} ({})", output::date_time(at), relative(at, now));
    let refused = || {
        BadInput(format!(
            "{when} is in the past, so git would stop using the token at once; nothing \
             changed. If the token really has expired, run the command again with --allow-past"
        ))
    };
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        return Err(refused().into());
    }
    write!(
        out,
        "{when} is in the past; record the token as already expired? [y/N] "
    )?;
    out.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(refused().into())
    }
}

/// `never`, `2026-12-31` (midnight UTC, the start of that day), an RFC 3339
/// time, or a duration from now such as `30d`.
pub fn parse_expiry(text: &str, now: DateTime<Utc>) -> Result<Expiry, BadInput> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("never") {
        return Ok(Expiry::Never);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Expiry::At(at.with_timezone(&Utc)));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(Expiry::At(date.and_time(chrono::NaiveTime::MIN).and_utc()));
    }
    if let Some(duration) = parse_duration(text) {
        return Ok(Expiry::At(now + duration));
    }
    Err(BadInput(format!(
        "{} is not a date: use `2026-12-31`, an RFC 3339 time (`2026-12-31T18:00:00Z`), \
         a duration from now ({}), or `never`",
        crate::terminal::escape(&format!("{text:?}")),
        crate::config::DURATION_FORMS
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_arguments() {
        let now: DateTime<Utc> = "2026-06-01T10:00:00Z".parse().unwrap();
        let at = |s: &str| Expiry::At(s.parse().unwrap());
        assert_eq!(parse_expiry("never", now).unwrap(), Expiry::Never);
        assert_eq!(
            parse_expiry("2026-12-31", now).unwrap(),
            at("2026-12-31T00:00:00Z")
        );
        assert_eq!(
            parse_expiry("2026-12-31T12:00:00+02:00", now).unwrap(),
            at("2026-12-31T10:00:00Z")
        );
        assert_eq!(
            parse_expiry("30d", now).unwrap(),
            at("2026-07-01T10:00:00Z")
        );
        assert!(parse_expiry("next tuesday", now).is_err());
        assert!(parse_expiry("2026-13-01", now).is_err());
    }
}
