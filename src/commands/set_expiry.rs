//! `expiry URL DATE|never`: an expiry set by hand, for forges that do not
//! report one. It outranks what git or the forge said, until the token is
//! replaced.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};

use super::{BadInput, Context, describe, resolve};
use crate::cli::ExpiryArgs;
use crate::config::parse_duration;
use crate::expiry::relative;
use crate::output::{self, Messages};
use crate::record::Expiry;

pub fn run(
    ctx: &Context,
    args: &ExpiryArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<()> {
    let expiry = parse_expiry(&args.date, ctx.now)?;
    let snapshot = ctx.read_index(messages);
    let record = resolve(&snapshot.records, &args.url, args.user.as_deref())?;
    let (id, who) = (
        record.id.clone(),
        describe(&record.target, &record.username),
    );
    ctx.index
        .update(&mut Context::warn_index(messages), |records| {
            let found = records.iter_mut().find(|r| r.id == id);
            let changed = found.is_some();
            if let Some(record) = found {
                record.expiry.manual = Some(expiry);
                record.last_warned_at = None;
            }
            ((), changed)
        })?;
    match expiry {
        Expiry::Never => writeln!(
            out,
            "The token for {who} is now recorded as never expiring."
        )?,
        Expiry::At(at) => writeln!(
            out,
            "The token for {who} is now recorded as expiring {} ({}).",
            relative(at, ctx.now),
            output::date_time(at)
        )?,
    }
    Ok(())
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
        "{text:?} is not a date: use `2026-12-31`, an RFC 3339 time, a duration such as `30d`, or `never`"
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
