//! Settings: git's configuration, read with URL matching, under the
//! arguments of the helper line (`credential.helper = "patrol --warn-before=14d"`).
//!
//! One `git config -z --get-regexp '^patrol\.'` lists every `patrol.*`
//! entry in one child process (about a millisecond), once per process;
//! for each URL asked about, the entries that apply are chosen from that
//! list by git's own rule (`urlmatch`: the most specific wins), exactly as
//! `git config --get-urlmatch patrol URL` chooses them, so a setting can
//! be scoped to a host, an account (`https://bob@host`) or a path. The URL
//! carries the credential's user name and, where git sent one, its path.
//! On Linux git runs only when some source of git's configuration could
//! hold a `patrol` key at all (`config_sources`); otherwise the defaults
//! apply at once. A value that
//! does not parse is reported, naming the key and the value, and the
//! default is used: a typo in the helper's settings must never break a
//! push. Each such warning is given once per process, however many URLs
//! the process reads settings for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use chrono::TimeDelta;

use crate::credential::ForgeKind;
use crate::keychain::Backend;
use crate::terminal::escape;
use crate::urlmatch::{CredentialFields, NormalUrl, Specificity};

/// Settings given on the helper line; they win over git config.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub warn_before: Option<TimeDelta>,
    pub rotate_after: Option<TimeDelta>,
    pub warn_every: Option<TimeDelta>,
}

/// When to warn about a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub warn_before: TimeDelta,
    pub rotate_after: Option<TimeDelta>,
    pub warn_every: TimeDelta,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            warn_before: TimeDelta::days(7),
            rotate_after: None,
            warn_every: TimeDelta::hours(12),
        }
    }
}

/// Everything configurable, for one URL.
#[derive(Clone, Debug)]
pub struct Settings {
    pub policy: Policy,
    pub backend: Backend,
    pub keychain_timeout: Duration,
    /// `patrol.allowMemoryOnly`: the person accepts a keyring collection
    /// that is lost when its daemon stops (gnome-keyring's `session`).
    pub allow_memory_only: bool,
    /// `None`: not configured; the forge's default applies.
    pub probe: Option<bool>,
    pub forge: Option<ForgeKind>,
    /// `patrol.<url>.apiUrl`, once `scope_api_url` has seen that it comes
    /// from a key scoped to a URL that matches the credential's.
    pub api_url: Option<String>,
    /// The `apiUrl` that applies, which may be a bare `patrol.apiUrl`
    /// that applies to every host.
    unscoped_api_url: Option<String>,
    /// Whether that `apiUrl` came from a key scoped to a URL.
    api_url_scoped: bool,
    /// `patrol.apiUser`: the name the forge's API wants beside the token
    /// where it differs from git's (Bitbucket Cloud takes an API token
    /// with the Atlassian account's email).
    pub api_user: Option<String>,
    pub required_scopes: Vec<String>,
    /// `patrol.notifyEvery`: the least time between two desktop
    /// notifications about one credential.
    pub notify_every: TimeDelta,
}

impl Settings {
    /// Defaults, with no configuration read.
    pub fn defaults() -> Self {
        Self {
            policy: Policy::default(),
            backend: Backend::default(),
            keychain_timeout: default_keychain_timeout(),
            allow_memory_only: false,
            probe: None,
            forge: None,
            api_url: None,
            unscoped_api_url: None,
            api_url_scoped: false,
            api_user: None,
            required_scopes: Vec::new(),
            notify_every: TimeDelta::days(1),
        }
    }

    /// The settings that apply to `url`. Problems go to `warn`, each one
    /// once per process. `data_dir` keeps where git's system file is.
    pub fn load(
        url: &str,
        overrides: &Overrides,
        data_dir: &Path,
        warn: &mut dyn FnMut(&str),
    ) -> Self {
        static WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
        let mut once = |text: &str| {
            let new = WARNED
                .lock()
                .map_or(true, |mut warned| warned.insert(text.to_owned()));
            if new {
                warn(text);
            }
        };
        let mut settings = Self::defaults();
        let entries = patrol_entries(data_dir);
        for (name, applying) in applying_to(entries, url) {
            settings.apply(&format!("patrol.{name}"), applying.value, &mut once);
            if name == "apiurl" {
                settings.api_url_scoped = applying.scoped;
            }
        }
        let policy = &mut settings.policy;
        if let Some(value) = overrides.warn_before {
            policy.warn_before = value;
        }
        if let Some(value) = overrides.rotate_after {
            policy.rotate_after = Some(value);
        }
        if let Some(value) = overrides.warn_every {
            policy.warn_every = value;
        }
        settings
    }

    /// Honours `apiUrl` only when it comes from a `patrol.<url>.apiUrl`
    /// whose URL matches `url`: the API named there receives the token, and
    /// a bare `patrol.apiUrl` would receive the token of every host. A bare
    /// one is ignored, with a warning that says how to scope it.
    pub fn scope_api_url(&mut self, url: &str, warn: &mut dyn FnMut(&str)) {
        let Some(value) = self.unscoped_api_url.take() else {
            return;
        };
        if self.api_url_scoped {
            self.api_url = Some(value);
            return;
        }
        let origin = crate::protocol::UrlParts::parse(url)
            .map(|parts| format!("{}://{}", parts.protocol, parts.host.unwrap_or_default()))
            .unwrap_or_else(|| url.to_owned());
        let (value, origin) = (escape(&value), escape(&origin));
        warn(&format!(
            "ignoring patrol.apiUrl = {value}: set without a URL, it would receive the token \
             of every host; scope it to the forge's URL with \
             `git config --global patrol.{origin}.apiUrl {value}` and remove the bare one \
             (`git config --show-origin --get-all patrol.apiUrl` shows where it is set)"
        ));
    }

    fn apply(&mut self, key: &str, value: &str, warn: &mut dyn FnMut(&str)) {
        let mut bad = |expected: &str| {
            warn(&format!(
                "ignoring {key} = {value:?}: expected {expected}; using the default"
            ));
        };
        // git prints the variable name lowercased, with the URL part removed.
        match key.strip_prefix("patrol.").unwrap_or(key) {
            // 0: warnings start only at the expiry itself.
            "warnbefore" => match parse_duration(value) {
                Some(d) => self.policy.warn_before = d,
                None => bad(&format!("a duration: {DURATION_FORMS}")),
            },
            "rotateafter" => match parse_duration(value) {
                Some(d) if d > TimeDelta::zero() => self.policy.rotate_after = Some(d),
                _ => bad(&format!("a duration longer than 0: {DURATION_FORMS}")),
            },
            // 0: every `get` warns.
            "warnevery" => match parse_duration(value) {
                Some(d) => self.policy.warn_every = d,
                None => bad(&format!("a duration: {DURATION_FORMS}")),
            },
            "notifyevery" => match parse_duration(value) {
                Some(d) => self.notify_every = d,
                None => bad(&format!("a duration: {DURATION_FORMS}")),
            },
            "keychaintimeout" => match parse_duration(value).and_then(|d| d.to_std().ok()) {
                Some(d) if !d.is_zero() => self.keychain_timeout = d,
                _ => bad(&format!("a duration longer than 0: {DURATION_FORMS}")),
            },
            "backend" => match value.to_ascii_lowercase().as_str() {
                "secret-service" | "native" | "default" => self.backend = Backend::Native,
                "keyutils" => self.backend = Backend::Keyutils,
                _ => bad("`secret-service` or `keyutils`"),
            },
            "secretservicesession" => match value.to_ascii_lowercase().as_str() {
                "plain" => self.backend = Backend::Native,
                "dh" | "encrypted" => self.backend = Backend::SecretServiceEncrypted,
                _ => bad("`plain` or `dh`"),
            },
            "allowmemoryonly" => match parse_bool(value) {
                Some(b) => self.allow_memory_only = b,
                None => bad("true or false"),
            },
            "probe" => match parse_bool(value) {
                Some(b) => self.probe = Some(b),
                None => bad("true or false"),
            },
            "forge" => match ForgeKind::from_name(value) {
                Some(forge) => self.forge = Some(forge),
                None => bad(
                    "`github`, `gitlab`, `bitbucket`, `bitbucket-datacenter`, `azure-devops`, \
                     `gitea`, `gerrit`, `huggingface` or `none`",
                ),
            },
            "apiuser" => self.api_user = Some(value.trim().to_owned()).filter(|v| !v.is_empty()),
            "apiurl" => self.unscoped_api_url = Some(value.trim_end_matches('/').to_owned()),
            "requiredscopes" => {
                self.required_scopes = value
                    .split([',', ' '])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            _ => {}
        }
    }
}

/// A person at a desktop may need a while to type the keyring's password
/// into the unlock prompt; a headless machine can only fail, so it should
/// fail fast.
fn default_keychain_timeout() -> Duration {
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
    if desktop || cfg!(any(target_os = "macos", windows)) {
        Duration::from_secs(60)
    } else {
        Duration::from_secs(5)
    }
}

/// Every `patrol.*` entry of git's configuration, in the order git reads
/// them, as (key as git prints it, value); read once per process, so that
/// the settings of every URL a command asks about cost one `git config`.
/// No git, or no such keys: nothing.
fn patrol_entries(data_dir: &Path) -> &'static [(String, String)] {
    static ENTRIES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    ENTRIES.get_or_init(|| read_patrol_entries(data_dir))
}

/// Whether reading the settings runs `git config`: on Linux not when no
/// source of git's configuration can set a `patrol` key
/// (`config_sources`), elsewhere always. Decided once per process, so a
/// caller can start work that overlaps git before it asks for settings.
pub fn runs_git_config(data_dir: &Path) -> bool {
    static RUNS: OnceLock<bool> = OnceLock::new();
    *RUNS.get_or_init(|| {
        #[cfg(target_os = "linux")]
        return match crate::config_sources::must_ask_git(data_dir) {
            Some(why) => {
                crate::trace!("git config: asked, as {why}");
                true
            }
            None => {
                crate::trace!("git config: not run, as no source of it can set a patrol key");
                false
            }
        };
        #[cfg(not(target_os = "linux"))]
        {
            let _ = data_dir;
            true
        }
    })
}

fn read_patrol_entries(data_dir: &Path) -> Vec<(String, String)> {
    if !runs_git_config(data_dir) {
        return Vec::new();
    }
    let Ok(output) = crate::git::run(["config", "-z", "--get-regexp", r"^patrol\."]) else {
        crate::trace!("git config: git could not be run; using defaults");
        return Vec::new();
    };
    crate::trace!(
        "git config --get-regexp patrol: {} bytes",
        output.stdout.len()
    );
    output
        .stdout_text()
        .split('\0')
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            // A key with no `=` is true, as git reads a boolean.
            let (key, value) = entry.split_once('\n').unwrap_or((entry, "true"));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// One entry chosen for a name.
struct Applying<'e> {
    value: &'e str,
    /// It came from `patrol.<url>.name`, not a bare `patrol.name`.
    scoped: bool,
    specificity: Specificity,
}

/// For each name, the entry that applies to `url`, as `git config
/// --get-urlmatch patrol URL` chooses it: the most specific match, the
/// later of two equally specific ones. A URL git cannot normalize gets
/// only the bare keys.
fn applying_to<'e>(entries: &'e [(String, String)], url: &str) -> BTreeMap<&'e str, Applying<'e>> {
    let url = NormalUrl::parse(url, false);
    let mut chosen: BTreeMap<&str, Applying> = BTreeMap::new();
    for (key, value) in entries {
        let Some((pattern, name)) = crate::urlmatch::split_key(key, "patrol") else {
            continue;
        };
        let specificity = match pattern {
            None => Specificity::default(),
            Some(pattern) => {
                let matched = NormalUrl::parse(pattern, true)
                    .and_then(|pattern| url.as_ref()?.matched_by(&pattern));
                let Some(specificity) = matched else {
                    continue;
                };
                specificity
            }
        };
        if chosen
            .get(name)
            .is_some_and(|earlier| earlier.specificity > specificity)
        {
            continue;
        }
        chosen.insert(
            name,
            Applying {
                value,
                scoped: pattern.is_some(),
                specificity,
            },
        );
    }
    chosen
}

/// Whether git keeps the path of a credential when it asks a helper:
/// `credential.useHttpPath` as git's `credential_apply_config` reads it,
/// every entry that applies (`urlmatch::CredentialFields::matched_by`) in
/// the order git reads them, the last one winning. One `git config` lists
/// them all; `git config --get-urlmatch` would take the most specific
/// instead, and match no bare host.
pub fn use_http_path(credential: &CredentialFields) -> bool {
    let Ok(output) = crate::git::run([
        "config",
        "-z",
        "--get-regexp",
        r"^credential\.(.*\.)?usehttppath$",
    ]) else {
        return false;
    };
    http_path_kept(&output.stdout_text(), credential)
}

/// `use_http_path` over the `git config -z --get-regexp` listing `listed`.
fn http_path_kept(listed: &str, credential: &CredentialFields) -> bool {
    let mut keep = false;
    for entry in listed.split('\0') {
        // Without a value git stops with an error; there is nothing to apply.
        let Some((key, value)) = entry.split_once('\n') else {
            continue;
        };
        let Some((pattern, "usehttppath")) = crate::urlmatch::split_key(key, "credential") else {
            continue;
        };
        if pattern.is_none_or(|pattern| credential.matched_by(pattern))
            && let Some(value) = parse_git_bool(value)
        {
            keep = value;
        }
    }
    keep
}

/// A boolean as git reads one (`git_config_bool`): the words, or a whole
/// number (with git's `k`, `m`, `g`), true when not 0. `None` where git
/// would stop with "bad boolean config value".
fn parse_git_bool(value: &str) -> Option<bool> {
    if let Some(word) = parse_bool(value) {
        return Some(word);
    }
    let trimmed = value.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    let digits = trimmed.strip_prefix(['-', '+']).unwrap_or(trimmed);
    (value.len() - trimmed.len() <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then(|| digits.bytes().any(|b| b != b'0'))
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" | "" => Some(false),
        _ => None,
    }
}

/// What `parse_duration` accepts, for messages about a value it refused.
pub const DURATION_FORMS: &str = "a whole number and a unit, such as `30s`, `90m`, `12h`, \
     `14d` or `2w` (or the words `seconds`, `minutes`, `hours`, `days`, `weeks`)";

/// `14 days`, `14d`, `12 hours`, `90m`, `2 weeks`, `30s`, or `0` (no unit
/// needed for nothing); at most ten years.
pub fn parse_duration(text: &str) -> Option<TimeDelta> {
    let text = text.trim();
    if text == "0" {
        return Some(TimeDelta::zero());
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    };
    let total = number.checked_mul(seconds)?;
    (total <= 10 * 366 * 86_400).then(|| TimeDelta::seconds(total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn durations_in_the_forms_people_write() {
        assert_eq!(parse_duration("14 days"), Some(TimeDelta::days(14)));
        assert_eq!(parse_duration("14d"), Some(TimeDelta::days(14)));
        assert_eq!(parse_duration("12 hours"), Some(TimeDelta::hours(12)));
        assert_eq!(parse_duration(" 2 weeks "), Some(TimeDelta::weeks(2)));
        assert_eq!(parse_duration("30s"), Some(TimeDelta::seconds(30)));
        assert_eq!(parse_duration("0"), Some(TimeDelta::zero()));
        assert_eq!(parse_duration("0h"), Some(TimeDelta::zero()));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("14"), None);
        assert_eq!(parse_duration("14 fortnights"), None);
        assert_eq!(parse_duration("-3d"), None);
        assert_eq!(parse_duration("99999999999999999 days"), None);
    }

    #[test]
    fn bad_values_are_reported_and_defaults_kept() {
        let mut settings = Settings::defaults();
        let mut warnings = Vec::new();
        settings.apply("patrol.warnbefore", "fortnight", &mut |w| {
            warnings.push(w.to_owned())
        });
        assert_eq!(settings.policy.warn_before, TimeDelta::days(7));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("patrol.warnbefore") && warnings[0].contains("fortnight"));
        assert!(warnings[0].contains(DURATION_FORMS), "{}", warnings[0]);
        settings.apply("patrol.rotateafter", "0", &mut |w| {
            warnings.push(w.to_owned())
        });
        assert_eq!(settings.policy.rotate_after, None);
        assert!(warnings[1].contains("longer than 0"), "{}", warnings[1]);
    }

    /// Git's own `--get-urlmatch` and `applying_to` choose the same value
    /// for every name, over layouts of hosts, globs, ports, users, paths
    /// and bare keys, in both orders.
    #[test]
    #[cfg_attr(windows, ignore = "needs git for Windows on PATH")]
    fn settings_are_chosen_as_git_config_get_urlmatch_chooses_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        let layout = "[patrol]\n a = bare\n b = bare\n c = bare\n d = bare\n\
            [patrol \"https://h.example.com\"]\n a = host\n b = host\n\
            [patrol \"https://*.example.com\"]\n a = glob\n e = glob\n\
            [patrol \"https://bob@h.example.com\"]\n b = bob\n c = bob\n\
            [patrol \"https://h.example.com/org\"]\n c = org\n d = org\n\
            [patrol \"https://bob@h.example.com/org/a.git\"]\n d = bob-a\n\
            [patrol \"https://H.EXAMPLE.COM:443/org/\"]\n e = org-again\n\
            [patrol \"h.example.com\"]\n a = bare-host\n\
            [patrol \"http://h.example.com\"]\n a = http\n\
            [patrol \"https://h.example.com:8443\"]\n a = port\n";
        let reversed: String = {
            let sections: Vec<&str> = layout.split_inclusive('\n').collect();
            let mut blocks: Vec<String> = Vec::new();
            for line in sections {
                if line.starts_with('[') {
                    blocks.push(String::new());
                }
                blocks.last_mut().unwrap().push_str(line);
            }
            blocks.reverse();
            blocks.concat()
        };
        for text in [layout.to_owned(), reversed] {
            fs::write(&file, &text).unwrap();
            let git = |args: &[&str]| {
                let mut all = vec!["config", "--file", file.to_str().unwrap()];
                all.extend(args);
                crate::git::run(all).unwrap().stdout_text().into_owned()
            };
            let entries: Vec<(String, String)> = git(&["-z", "--get-regexp", r"^patrol\."])
                .split('\0')
                .filter(|e| !e.is_empty())
                .map(|e| {
                    let (k, v) = e.split_once('\n').unwrap();
                    (k.to_owned(), v.to_owned())
                })
                .collect();
            for url in [
                "https://h.example.com",
                "https://h.example.com:443/org/a.git",
                "https://bob@h.example.com",
                "https://bob@h.example.com/org/a.git",
                "https://bob@h.example.com/org/b.git",
                "https://alice@h.example.com/org",
                "https://other.example.com/org",
                "https://h.example.com:8443/x",
                "http://h.example.com",
                "https://example.com",
            ] {
                let theirs = git(&["-z", "--get-urlmatch", "patrol", url]);
                let mut theirs: Vec<String> = theirs
                    .split('\0')
                    .filter(|e| !e.is_empty())
                    .map(str::to_owned)
                    .collect();
                theirs.sort();
                let ours: Vec<String> = applying_to(&entries, url)
                    .into_iter()
                    .map(|(name, applying)| format!("patrol.{name}\n{}", applying.value))
                    .collect();
                assert_eq!(ours, theirs, "{url} in\n{text}");
            }
        }
    }

    /// Whether git keeps the path, seen from a helper that reports what
    /// git sends it, against `http_path_kept` over the same entries.
    #[test]
    #[cfg_attr(windows, ignore = "needs git for Windows on PATH")]
    fn use_http_path_is_decided_as_git_decides_it() {
        use std::process::Command;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config");
        let layouts = [
            "[credential \"h.example.com\"]\n useHttpPath = true\n",
            "[credential \"H.example.com\"]\n useHttpPath = true\n",
            "[credential \"h.example.com:443\"]\n useHttpPath = true\n",
            "[credential \"*.example.com\"]\n useHttpPath = true\n",
            "[credential \"https://*.example.com\"]\n useHttpPath = true\n",
            "[credential \"https://h.example.com/org\"]\n useHttpPath = true\n\
             [credential \"https://h.example.com\"]\n useHttpPath = false\n",
            "[credential \"https://h.example.com\"]\n useHttpPath = false\n\
             [credential \"https://h.example.com/org\"]\n useHttpPath = true\n",
            "[credential]\n useHttpPath = yes\n[credential \"http://h.example.com\"]\n useHttpPath = 0\n",
            "[credential \"https://bob@h.example.com\"]\n useHttpPath = 1\n",
            "[credential \"h.example.com/org/a.git\"]\n useHttpPath = on\n",
            "[credential \"https://\"]\n useHttpPath = true\n",
        ];
        let mut decisions = BTreeSet::new();
        for layout in layouts {
            fs::write(&file, layout).unwrap();
            let git = |args: &[&str], input: &str| {
                let mut command = Command::new("git");
                command
                    .args(args)
                    .env("GIT_CONFIG_GLOBAL", &file)
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .env("GIT_TERMINAL_PROMPT", "0")
                    .env_remove("GIT_ASKPASS")
                    .env_remove("SSH_ASKPASS")
                    .current_dir(dir.path())
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = command.spawn().unwrap();
                use std::io::Write as _;
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(input.as_bytes())
                    .unwrap();
                let out = child.wait_with_output().unwrap();
                (
                    String::from_utf8_lossy(&out.stdout).into_owned(),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                )
            };
            let listed = git(
                &[
                    "config",
                    "-z",
                    "--get-regexp",
                    r"^credential\.(.*\.)?usehttppath$",
                ],
                "",
            )
            .0;
            for (url, user) in [
                ("https://h.example.com/org/a.git", None),
                ("https://bob@h.example.com/org/a.git", Some("bob")),
                ("http://h.example.com/org/a.git", None),
            ] {
                let helper =
                    "credential.helper=!f() { cat >&2; echo username=u; echo password=p; }; f";
                let seen = git(
                    &["-c", helper, "credential", "fill"],
                    &format!("url={url}\n"),
                )
                .1;
                let git_keeps = seen.contains("path=org/a.git");
                let protocol = url.split("://").next().unwrap();
                let ours = http_path_kept(
                    &listed,
                    &CredentialFields {
                        protocol,
                        host: "h.example.com",
                        path: Some("org/a.git"),
                        username: user,
                    },
                );
                assert_eq!(ours, git_keeps, "{url} with\n{layout}");
                decisions.insert(git_keeps);
            }
        }
        assert_eq!(decisions.len(), 2, "git kept the path in some cases only");
    }

    #[test]
    fn booleans_are_read_as_git_reads_them() {
        for (value, expected) in [
            ("true", Some(true)),
            ("Yes", Some(true)),
            ("on", Some(true)),
            ("1", Some(true)),
            ("2", Some(true)),
            ("1k", Some(true)),
            ("-1", Some(true)),
            ("false", Some(false)),
            ("", Some(false)),
            ("0", Some(false)),
            ("0k", Some(false)),
            ("maybe", None),
            ("1kk", None),
        ] {
            assert_eq!(parse_git_bool(value), expected, "{value}");
        }
    }

    #[test]
    fn zero_means_every_time() {
        let mut settings = Settings::defaults();
        settings.apply("patrol.warnevery", "0", &mut |w| panic!("{w}"));
        assert_eq!(settings.policy.warn_every, TimeDelta::zero());
    }

    #[test]
    fn every_key_is_understood() {
        let mut settings = Settings::defaults();
        let mut warn = |w: &str| panic!("unexpected warning: {w}");
        for (key, value) in [
            ("patrol.warnbefore", "14 days"),
            ("patrol.rotateafter", "90 days"),
            ("patrol.warnevery", "1h"),
            ("patrol.notifyevery", "3d"),
            ("patrol.keychaintimeout", "2s"),
            ("patrol.backend", "keyutils"),
            ("patrol.probe", "false"),
            ("patrol.forge", "gitlab"),
            ("patrol.apiurl", "http://127.0.0.1:8080/api/v4/"),
            ("patrol.requiredscopes", "repo, read:org"),
        ] {
            settings.apply(key, value, &mut warn);
        }
        assert_eq!(settings.policy.warn_before, TimeDelta::days(14));
        assert_eq!(settings.policy.rotate_after, Some(TimeDelta::days(90)));
        assert_eq!(settings.policy.warn_every, TimeDelta::hours(1));
        assert_eq!(settings.notify_every, TimeDelta::days(3));
        assert_eq!(settings.keychain_timeout, Duration::from_secs(2));
        assert_eq!(settings.backend, Backend::Keyutils);
        assert_eq!(settings.probe, Some(false));
        assert_eq!(settings.forge, Some(ForgeKind::Gitlab));
        assert_eq!(
            settings.unscoped_api_url.as_deref(),
            Some("http://127.0.0.1:8080/api/v4")
        );
        assert_eq!(settings.api_url, None, "not before its scope is known");
        assert_eq!(settings.required_scopes, ["repo", "read:org"]);
    }
}
