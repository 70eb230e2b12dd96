//! The credential helpers git is configured to run, and the chain git builds
//! from them for a URL.
//!
//! Git reads every `credential.helper` and `credential.<url>.helper` entry
//! in configuration order (system, global, local, each file top to bottom),
//! keeps the ones whose URL matches, appends each value to the list, and
//! empties the list at an empty value (gitcredentials(7)). `git config
//! --get-urlmatch` returns only the most specific value, so the chain is
//! rebuilt here from all entries. On `get`, git asks the helpers in order
//! and stops at the first that answers with a username and password.
//!
//! How an entry is named to a person, and the `git config` commands that
//! hand its URL over to patrol or remove it, live here too: `install`,
//! `uninstall` and `doctor` all speak of entries.

use thiserror::Error;

use crate::output::shell_word;
use crate::protocol::UrlParts;
use crate::terminal::escape;
use crate::urlmatch::CredentialFields;

#[derive(Debug, Error)]
pub enum GitConfigError {
    #[error(transparent)]
    NotRunnable(#[from] crate::git::NotRunnable),
    #[error("`git config {args}` failed: {message}")]
    Failed { args: String, message: String },
}

/// One `credential[.<url>].helper` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelperEntry {
    /// `system`, `global`, `local`, `worktree` or `command`.
    pub scope: String,
    /// Where git read it: `file:PATH`, or `command line:`.
    pub origin: String,
    /// The `<url>` of `credential.<url>.helper`; `None` for all URLs.
    pub url: Option<String>,
    pub value: String,
}

impl HelperEntry {
    /// The configuration key as a person would type it.
    pub fn key(&self) -> String {
        match &self.url {
            Some(url) => format!("credential.{url}.helper"),
            None => "credential.helper".to_owned(),
        }
    }

    /// `/home/alice/.gitconfig (global)`.
    pub fn place(&self) -> String {
        let origin = self.origin.strip_prefix("file:").unwrap_or(&self.origin);
        escape(&format!("{origin} ({})", self.scope))
    }

    /// The file git read the entry from, when it came from one.
    pub fn file(&self) -> Option<&str> {
        self.origin.strip_prefix("file:")
    }

    pub fn kind(&self) -> HelperKind {
        HelperKind::of(&self.value)
    }

    /// Whether git uses this entry for `url`.
    pub fn applies_to(&self, url: &str) -> bool {
        self.url
            .as_deref()
            .is_none_or(|pattern| url_matches(pattern, url))
    }

    /// `` `store` (git's `store`: …) ``: the value and what it is, as
    /// `install` and `doctor` name an entry.
    pub fn described(&self) -> String {
        let kind = self.kind();
        if kind == HelperKind::Other {
            format!("`{}`", escape(&self.value))
        } else {
            format!("`{}` ({})", escape(&self.value), kind.description())
        }
    }

    /// The commands that make patrol the helper for the entry's URL.
    pub fn hand_over_commands(&self) -> String {
        let options = self.file_options();
        let key = shell_word(&self.key());
        format!(
            "      git config {options} --add {key} ''\n      git config {options} --add {key} patrol"
        )
    }

    /// The command that removes the entry.
    pub fn unset_command(&self) -> String {
        format!(
            "git config {} --fixed-value --unset {} {}",
            self.file_options(),
            shell_word(&self.key()),
            shell_word(&self.value)
        )
    }

    /// The `git config` options that select the file the entry came from.
    fn file_options(&self) -> String {
        match self.scope.as_str() {
            "system" | "global" | "local" => format!("--{}", self.scope),
            _ => match self.file() {
                Some(file) => format!("--file {}", shell_word(file)),
                None => "--global".into(),
            },
        }
    }
}

/// Every helper entry git sees from the current directory, in order.
pub fn read_entries() -> Result<Vec<HelperEntry>, GitConfigError> {
    let args = [
        "config",
        "-z",
        "--show-scope",
        "--show-origin",
        "--get-regexp",
        r"^credential\..*helper$",
    ];
    let output = crate::git::run(args)?;
    // Exit code 1: no such key, an empty list.
    if !output.success() && output.code() != Some(1) {
        return Err(GitConfigError::Failed {
            args: args[1..].join(" "),
            message: output.stderr_text(),
        });
    }
    let text = output.stdout_text();
    let mut fields = text.split('\0');
    let mut entries = Vec::new();
    while let (Some(scope), Some(origin), Some(pair)) =
        (fields.next(), fields.next(), fields.next())
    {
        // A key with no `=` is "true", which git rejects as a helper name.
        let Some((key, value)) = pair.split_once('\n') else {
            continue;
        };
        let Some(middle) = key
            .strip_prefix("credential.")
            .and_then(|k| k.strip_suffix("helper"))
        else {
            continue;
        };
        let url = match middle {
            "" => None,
            url => match url.strip_suffix('.') {
                Some(url) => Some(url.to_owned()),
                None => continue,
            },
        };
        entries.push(HelperEntry {
            scope: scope.to_owned(),
            origin: origin.to_owned(),
            url,
            value: value.to_owned(),
        });
    }
    Ok(entries)
}

/// The helpers git asks for `url`, in order.
pub fn chain_for<'e>(entries: &'e [HelperEntry], url: &str) -> Vec<&'e HelperEntry> {
    let mut chain = Vec::new();
    for entry in entries.iter().filter(|e| e.applies_to(url)) {
        if entry.value.is_empty() {
            chain.clear();
        } else {
            chain.push(entry);
        }
    }
    chain
}

/// Whether git applies a `credential.<pattern>.*` entry to a credential
/// for `url` (`urlmatch`'s rules for `credential`: a pattern with a scheme
/// is matched as a URL, one without as a partial URL whose parts must be
/// the credential's exactly).
pub fn url_matches(pattern: &str, url: &str) -> bool {
    let Some(parts) = UrlParts::parse(url) else {
        return false;
    };
    let Some(host) = parts.host.as_deref() else {
        return false;
    };
    CredentialFields {
        protocol: &parts.protocol,
        host,
        path: parts.path.as_deref(),
        username: parts.username.as_deref(),
    }
    .matched_by(pattern)
}

/// The helpers people already have, by what the value names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelperKind {
    Patrol,
    Store,
    Cache,
    CredentialManager,
    Osxkeychain,
    Wincred,
    Libsecret,
    GnomeKeyring,
    GithubCli,
    Oauth,
    Other,
}

impl HelperKind {
    pub fn of(value: &str) -> Self {
        let value = value.trim();
        let command = value.strip_prefix('!').unwrap_or(value).trim_start();
        let first = first_word(command);
        let name = first.rsplit(['/', '\\']).next().unwrap_or(&first);
        let name = name.strip_suffix(".exe").unwrap_or(name);
        let name = name.strip_prefix("git-credential-").unwrap_or(name);
        if value.starts_with('!') && name == "gh" && command.contains("auth git-credential") {
            return Self::GithubCli;
        }
        match name {
            "patrol" => Self::Patrol,
            "store" => Self::Store,
            "cache" => Self::Cache,
            "manager" | "manager-core" | "git-credential-manager" => Self::CredentialManager,
            "osxkeychain" => Self::Osxkeychain,
            "wincred" => Self::Wincred,
            "libsecret" => Self::Libsecret,
            "gnome-keyring" => Self::GnomeKeyring,
            "oauth" => Self::Oauth,
            _ => Self::Other,
        }
    }

    /// What the helper is, for a person.
    pub fn description(self) -> &'static str {
        match self {
            Self::Patrol => "git-credential-patrol",
            Self::Store => "git's `store`: tokens in plain text in ~/.git-credentials",
            Self::Cache => "git's `cache`: tokens in memory for a while",
            Self::CredentialManager => "Git Credential Manager",
            Self::Osxkeychain => "the macOS Keychain helper",
            Self::Wincred => "the Windows Credential Manager helper",
            Self::Libsecret => "the Secret Service helper (libsecret)",
            Self::GnomeKeyring => "the old GNOME Keyring helper",
            Self::GithubCli => "the GitHub CLI (`gh auth git-credential`)",
            Self::Oauth => "git-credential-oauth",
            Self::Other => "a helper patrol does not know",
        }
    }
}

/// The first shell word, with simple quotes removed.
fn first_word(command: &str) -> String {
    let mut word = String::new();
    let mut quote = None;
    for c in command.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => break,
            (_, c) => word.push(c),
        }
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: Option<&str>, value: &str) -> HelperEntry {
        HelperEntry {
            scope: "global".into(),
            origin: "file:/home/a/.gitconfig".into(),
            url: url.map(str::to_owned),
            value: value.into(),
        }
    }

    #[test]
    fn helpers_are_recognised_by_name() {
        for (value, kind) in [
            ("patrol", HelperKind::Patrol),
            ("patrol --warn-before=14d", HelperKind::Patrol),
            ("/opt/bin/git-credential-patrol", HelperKind::Patrol),
            ("!'/my dir/git-credential-patrol'", HelperKind::Patrol),
            ("store --file ~/.creds", HelperKind::Store),
            ("cache --timeout=3600", HelperKind::Cache),
            ("manager", HelperKind::CredentialManager),
            ("manager-core", HelperKind::CredentialManager),
            (
                "/usr/local/share/gcm-core/git-credential-manager",
                HelperKind::CredentialManager,
            ),
            ("osxkeychain", HelperKind::Osxkeychain),
            ("wincred", HelperKind::Wincred),
            (
                "/usr/share/doc/git/contrib/credential/libsecret/git-credential-libsecret",
                HelperKind::Libsecret,
            ),
            ("!gh auth git-credential", HelperKind::GithubCli),
            ("!/usr/bin/gh auth git-credential", HelperKind::GithubCli),
            ("oauth", HelperKind::Oauth),
            ("!f() { echo password=x; }; f", HelperKind::Other),
        ] {
            assert_eq!(HelperKind::of(value), kind, "{value}");
        }
    }

    #[test]
    fn urls_match_the_way_git_matches_them() {
        assert!(url_matches("https://github.com", "https://github.com"));
        assert!(url_matches(
            "https://github.com",
            "https://github.com/a/b.git"
        ));
        assert!(url_matches("https://github.com/", "https://github.com"));
        assert!(url_matches("https://github.com:443", "https://github.com"));
        assert!(url_matches(
            "https://*.example.com",
            "https://git.example.com"
        ));
        assert!(url_matches(
            "https://github.com/org",
            "https://github.com/org/r"
        ));
        assert!(url_matches("github.com", "https://github.com"));
        assert!(!url_matches(
            "https://github.com/org",
            "https://github.com/other"
        ));
        assert!(!url_matches(
            "https://github.com/org",
            "https://github.com/organ"
        ));
        assert!(!url_matches("http://github.com", "https://github.com"));
        assert!(!url_matches("https://github.com", "https://gitlab.com"));
        assert!(!url_matches(
            "https://github.com:8443",
            "https://github.com"
        ));
        assert!(!url_matches("https://*.example.com", "https://example.com"));
        assert!(!url_matches("https://bob@github.com", "https://github.com"));
        // Without a scheme, git compares the parts byte for byte.
        for never in ["GitHub.com", "github.com:443", "*.com", "github.com/org"] {
            assert!(!url_matches(never, "https://github.com/org/r"), "{never}");
        }
    }

    #[test]
    fn an_empty_value_resets_the_chain() {
        let entries = [
            entry(None, "store"),
            entry(None, ""),
            entry(None, "patrol"),
            entry(Some("https://github.com"), ""),
            entry(Some("https://github.com"), "!gh auth git-credential"),
            entry(Some("https://gitlab.com"), "oauth"),
        ];
        let values = |url| -> Vec<String> {
            chain_for(&entries, url)
                .iter()
                .map(|e| e.value.clone())
                .collect()
        };
        assert_eq!(values("https://example.com"), ["patrol"]);
        assert_eq!(values("https://github.com"), ["!gh auth git-credential"]);
        assert_eq!(values("https://gitlab.com"), ["patrol", "oauth"]);
    }
}
