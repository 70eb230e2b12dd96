//! `list [--json | --ics [--output FILE]]`: every credential the index
//! knows, most urgent first, or their expiry and rotation dates as a
//! calendar. Exits 1 when any needs attention, so it can run from cron.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use crate::cli::ListArgs;
use crate::config::Policy;
use crate::credential::ForgeKind;
use crate::expiry::{self, Assessment, Status};
use crate::forge::{self, tokens, tokens::ExpiryAnswer};
use crate::ics;
use crate::output::{self, Messages};
use crate::record::{ErasedBy, ExpirySource, ProbeResult, Record};
use crate::urlmatch::settings_url;

pub fn run(
    ctx: &Context,
    args: &ListArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    let snapshot = ctx.read_index(messages);
    let (rows, _) = assessed(ctx, &snapshot.records, messages);

    if args.json {
        let listing = Listing {
            version: 1,
            credentials: rows.iter().map(|(r, a, f)| Entry::new(r, a, *f)).collect(),
        };
        output::json(&mut out, &listing)?;
    } else if rows.is_empty() {
        writeln!(
            out,
            "No credentials stored yet. Git stores one the first time you push over HTTPS."
        )?;
    } else {
        table(&mut out, &rows, ctx.now)?;
    }
    out.flush()?;
    let attention = rows.iter().any(|(_, a, _)| a.status.needs_attention());
    Ok(if attention {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `list --ics`: the calendar, on `out` unescaped (it escapes its own text,
/// and its line ends are CRLF) or into `args.output`.
pub fn calendar(
    ctx: &Context,
    args: &ListArgs,
    mut out: impl Write,
    messages: &mut Messages<impl Write>,
) -> Result<ExitCode> {
    let snapshot = ctx.read_index(messages);
    let (rows, settings) = assessed(ctx, &snapshot.records, messages);
    let calendar = ics::calendar(&events(&rows, &settings), ctx.now);
    match &args.output {
        Some(path) => crate::fs::replace_file(path, calendar.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out.write_all(calendar.as_bytes())?,
    }
    out.flush()?;
    // An export that succeeded: what needs attention is in the calendar.
    Ok(ExitCode::SUCCESS)
}

/// The settings that apply to each URL, by URL.
type SettingsByUrl = HashMap<String, (Policy, Option<ForgeKind>)>;

/// Every record with its verdict and forge, most urgent first, and the
/// settings that gave them.
fn assessed<'a>(
    ctx: &Context,
    records: &'a [Record],
    messages: &mut Messages<impl Write>,
) -> (Vec<Row<'a>>, SettingsByUrl) {
    let mut settings: SettingsByUrl = HashMap::new();
    let mut rows: Vec<Row> = records
        .iter()
        .map(|record| {
            let url = settings_url(&record.target, Some(&record.username));
            let (policy, configured) = settings.entry(url).or_insert_with_key(|url| {
                let settings = ctx.settings(url, messages);
                (settings.policy, settings.forge)
            });
            let forge = forge::kind_of(&record.target, *configured);
            (record, expiry::assess(record, policy, ctx.now), forge)
        })
        .collect();
    rows.sort_by_key(|(record, a, _)| {
        (
            a.status,
            a.deadline.unwrap_or(DateTime::<Utc>::MAX_UTC),
            record.target.url(),
        )
    });
    (rows, settings)
}

/// The calendar's events: one per credential that has an expiry or rotation
/// date and needs a person to renew it (not erased, not self-renewing), on
/// the sooner of the two, with its reminder `warnBefore` ahead.
fn events(rows: &[Row], settings: &SettingsByUrl) -> Vec<ics::Event> {
    rows.iter()
        .filter(|(_, a, _)| !matches!(a.status, Status::Erased | Status::SelfRenewing))
        .filter_map(|(record, assessment, _)| {
            let (date, what) = match (assessment.expires_at, assessment.rotation_due_at) {
                (Some(at), Some(due)) if due < at => (due, "is due for rotation"),
                (Some(at), _) => (at, "expires"),
                (None, Some(due)) => (due, "is due for rotation"),
                (None, None) => return None,
            };
            let url = record.target.url();
            let warn_before = settings
                .get(&settings_url(&record.target, Some(&record.username)))
                .map_or_else(|| Policy::default().warn_before, |(p, _)| p.warn_before);
            let account = if record.username.is_empty() {
                url.clone()
            } else {
                format!("{} on {url}", record.username)
            };
            Some(ics::Event {
                uid: calendar_uid(record),
                date: date.date_naive(),
                summary: format!("Git token for {account} {what}"),
                description: format!("Renew it before then: {}", output::rotate_command(record)),
                alarm_before: warn_before,
            })
        })
        .collect()
}

/// A credential's event UID: a digest of its URL and account, so that it
/// stays the same from one export to the next and names no account.
fn calendar_uid(record: &Record) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{}", record.target.url(), record.username));
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}@git-credential-patrol")
}

/// A credential, its verdict, and the forge of its host.
type Row<'a> = (&'a Record, Assessment, ForgeKind);

fn table(out: &mut impl Write, rows: &[Row], now: DateTime<Utc>) -> Result<()> {
    let header = ["URL", "ACCOUNT", "KIND", "EXPIRES", "STATUS", "LAST USED"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|(record, assessment, forge)| {
            let expires = match (assessment.expires_at, record.expiry.effective()) {
                (Some(at), _) => {
                    format!("{} ({})", at.format("%Y-%m-%d"), expiry::relative(at, now))
                }
                (None, Some(_)) => "never".into(),
                (None, None) if assessment.status == Status::NoExpiry => "never".into(),
                (None, None) if !tells_expiry(*forge, record) => {
                    "expiry unknown, forge cannot tell".into()
                }
                (None, None) => "unknown".into(),
            };
            let status = match (&record.erased, assessment.status) {
                (Some(erasure), _) => match erasure.by {
                    ErasedBy::Git => format!(
                        "erased: rejected by the server on {} and removed",
                        erasure.at.format("%Y-%m-%d")
                    ),
                    ErasedBy::User => format!(
                        "erased: removed by you on {}",
                        erasure.at.format("%Y-%m-%d")
                    ),
                },
                (None, Status::RotationDue) => format!(
                    "rotation-due {}",
                    assessment
                        .deadline
                        .map(|d| expiry::relative(d, now))
                        .unwrap_or_default()
                ),
                (None, Status::Refused) => match expiry::refusal(record) {
                    Some(refusal) => format!(
                        "refused on {}{}",
                        refusal.at.format("%Y-%m-%d"),
                        refusal
                            .message
                            .as_deref()
                            .map(|m| format!(": {}", crate::terminal::escape(m)))
                            .unwrap_or_default()
                    ),
                    None => Status::Refused.name().to_owned(),
                },
                (None, status) => status.name().to_owned(),
            };
            [
                crate::terminal::escape(&record.target.url()),
                account(record),
                record.kind_name().to_owned(),
                expires,
                status,
                record
                    .last_used_at
                    .map(|at| expiry::relative(at, now))
                    .unwrap_or_else(|| "never".into()),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |out: &mut dyn Write, row: &[&str]| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, &header)?;
    for row in &cells {
        line(out, &row.each_ref().map(String::as_str))?;
    }
    Ok(())
}

/// Whether the forge of a credential's host can tell its token's expiry.
fn tells_expiry(forge: ForgeKind, record: &Record) -> bool {
    forge == ForgeKind::None || tokens::row(forge, record.kind).expiry != ExpiryAnswer::CannotTell
}

/// The account git stored, and the forge's name for it when that differs.
fn account(record: &Record) -> String {
    match record.account.as_deref() {
        Some(account) if record.username.is_empty() => crate::terminal::escape(account),
        Some(account) if account != record.username => format!(
            "{} ({})",
            crate::terminal::escape(&record.username),
            crate::terminal::escape(account)
        ),
        _ => crate::terminal::escape(&record.username),
    }
}

#[derive(Serialize)]
struct Listing<'a> {
    version: u32,
    credentials: Vec<Entry<'a>>,
}

/// One credential in `list --json`; docs/json.md documents every field.
#[derive(Serialize)]
struct Entry<'a> {
    url: String,
    protocol: &'a str,
    host: &'a str,
    path: Option<&'a str>,
    username: &'a str,
    kind: &'static str,
    status: &'static str,
    expires_at: Option<DateTime<Utc>>,
    expiry_source: Option<ExpirySource>,
    rotation_due_at: Option<DateTime<Utc>>,
    stored_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    rotated_at: Option<DateTime<Utc>>,
    erased_at: Option<DateTime<Utc>>,
    erased_by: Option<ErasedBy>,
    account: Option<&'a str>,
    token_name: Option<&'a str>,
    scopes: Option<&'a [String]>,
    /// The forge of the host (`patrol.forge`'s names), `none` for none.
    forge: &'static str,
    /// False where the forge cannot tell a token its expiry (Bitbucket
    /// Cloud, Azure DevOps); `None` for a host of no known forge.
    forge_tells_expiry: Option<bool>,
    probed_at: Option<DateTime<Utc>>,
    probe_result: Option<ProbeResult>,
    /// The forge's words, when it refused the token or answered oddly.
    probe_message: Option<&'a str>,
}

impl<'a> Entry<'a> {
    fn new(record: &'a Record, assessment: &Assessment, forge: ForgeKind) -> Self {
        Self {
            url: record.target.url(),
            protocol: &record.target.protocol,
            host: &record.target.host,
            path: record.target.path.as_deref(),
            username: &record.username,
            kind: record.kind_name(),
            status: assessment.status.name(),
            expires_at: assessment.expires_at,
            expiry_source: record.expiry.effective().map(|(_, source)| source),
            rotation_due_at: assessment.rotation_due_at,
            stored_at: record.stored_at,
            last_used_at: record.last_used_at,
            rotated_at: record.rotated_at,
            erased_at: record.erased.as_ref().map(|e| e.at),
            erased_by: record.erased.as_ref().map(|e| e.by),
            account: record.account.as_deref(),
            token_name: record.token_name.as_deref(),
            scopes: record.scopes.as_deref(),
            forge: forge.name(),
            forge_tells_expiry: (forge != ForgeKind::None).then(|| tells_expiry(forge, record)),
            probed_at: record.probe.as_ref().map(|p| p.at),
            probe_result: record.probe.as_ref().map(|p| p.result),
            probe_message: record.probe.as_ref().and_then(|p| p.message.as_deref()),
        }
    }
}
