//! What `install` adds to one of git's configuration files, and
//! `installed.json`, the record of it beside the index (scope, file,
//! values; no secret), from which `uninstall` learns exactly what to take
//! out again. Git's configuration is changed only through `git config`,
//! each result checked.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use super::Context;
use crate::fs::replace_file;
use crate::output::shell_word;
use crate::terminal::escape;

const RECORD_NAME: &str = "installed.json";

/// What one `install` added to one configuration file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Installed {
    /// `system`, `global` or `local`.
    pub(super) scope: String,
    /// For `local`, the repository's configuration file; global and system
    /// files are found again by git itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) file: Option<PathBuf>,
    /// The values added to `credential.helper`, in order.
    pub(super) values: Vec<String>,
}

impl Installed {
    /// `the global configuration`, or the file of a local install.
    pub(super) fn place(&self) -> String {
        match &self.file {
            Some(file) => escape(&file.display().to_string()),
            None => format!("the {} configuration", self.scope),
        }
    }

    /// The `git config` options that select the file.
    pub(super) fn file_options(&self) -> Vec<String> {
        match &self.file {
            Some(file) => vec!["--file".into(), file.display().to_string()],
            None => vec![format!("--{}", self.scope)],
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) version: u32,
    pub(super) installed: Vec<Installed>,
}

pub(super) fn local_config_file() -> Result<PathBuf> {
    let output = crate::git::run(["rev-parse", "--path-format=absolute", "--git-common-dir"])?;
    if !output.success() {
        bail!("--local needs a repository: run it inside one, or use --global");
    }
    let dir = String::from_utf8(output.stdout).context("the repository's path is not UTF-8")?;
    Ok(Path::new(dir.trim_end_matches(['\n', '\r'])).join("config"))
}

/// Runs `git config OPTIONS ARGS`; an error carries git's own message.
pub(super) fn git_config(options: &[String], args: &[&str]) -> Result<()> {
    let output = crate::git::run(
        ["config"]
            .into_iter()
            .chain(options.iter().map(String::as_str))
            .chain(args.iter().copied()),
    )?;
    if output.success() {
        Ok(())
    } else {
        bail!(
            "`git config {} {}` failed: {}",
            options.join(" "),
            args.iter()
                .map(|a| shell_word(a))
                .collect::<Vec<_>>()
                .join(" "),
            output.stderr_text()
        )
    }
}

fn record_path(ctx: &Context) -> PathBuf {
    ctx.index.dir().join(RECORD_NAME)
}

pub(super) fn read_record(ctx: &Context) -> Result<Record> {
    let path = record_path(ctx);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is damaged; move it away to continue (it lists what install added to git's configuration)",
                path.display()
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Record::default()),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub(super) fn write_record(ctx: &Context, record: &Record) -> Result<()> {
    let path = record_path(ctx);
    if record.installed.is_empty() {
        return match fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(err).with_context(|| format!("cannot remove {}", path.display()))
            }
            _ => Ok(()),
        };
    }
    ctx.index.create_dir()?;
    let mut json = serde_json::to_vec_pretty(&Record {
        version: 1,
        installed: record.installed.clone(),
    })?;
    json.push(b'\n');
    replace_file(&path, &json).with_context(|| format!("cannot write {}", path.display()))
}
