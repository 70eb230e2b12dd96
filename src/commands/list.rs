//! `list [--json]`: every credential the index knows, most urgent first.
//! Exits 1 when any needs attention, so it can run from cron.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use crate::cli::ListArgs;
use crate::config::Policy;
use crate::credential::ForgeKind;
use crate::expiry::{self, Assessment, Status};
use crate::forge::{self, tokens, tokens::ExpiryAnswer};
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
    let mut settings: HashMap<String, (Policy, Option<ForgeKind>)> = HashMap::new();
    let mut rows: Vec<Row> = snapshot
        .records
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
                record.kind.name().to_owned(),
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
            kind: record.kind.name(),
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
