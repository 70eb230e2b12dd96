//! The one reader of a URL a person types on the command line (`rotate`,
//! `erase`, `token`, `expiry`, `check`), and the rule for which stored
//! credentials it names.
//!
//! People paste what they have: a bare host (`github.com`), a scheme with a
//! host, a remote URL with a path, `.git` and a trailing slash, a host in any
//! case, the default port written out, a user in the URL instead of
//! `--user`. All of these name the credential git would use for that URL.
//! An SSH remote (`git@github.com:alice/x.git`, `ssh://…`) names none: SSH
//! never asks a credential helper, and saying so beats "not stored".
//!
//! The splitting itself is git's (`protocol::UrlParts`); what is added here
//! is what git does before it asks a helper: the path is dropped unless
//! `credential.useHttpPath` keeps it, and what a person may write loosely
//! (case, default port) is compared loosely. A password in the URL is never
//! used and never repeated in a message.

use anyhow::anyhow;

use crate::credential::{Target, field_matches};
use crate::matching::matching_record;
use crate::output::BadInput;
use crate::protocol::UrlParts;
use crate::record::Record;
use crate::terminal::escape;
use crate::urlmatch::CredentialFields;

/// What a URL argument says, before git's configuration is applied.
#[derive(Debug, PartialEq, Eq)]
pub struct UrlArgument {
    /// Protocol, host as typed, and the path when one was given.
    pub target: Target,
    /// The user written in the URL (`https://alice@github.com`).
    pub user: Option<String>,
}

impl UrlArgument {
    /// Reads `text`; a bare host means `https`.
    pub fn parse(text: &str) -> Result<Self, BadInput> {
        let text = text.trim();
        if let Some(ssh) = ssh_form(text) {
            return Err(BadInput(format!(
                "{} is an SSH remote; SSH authenticates with keys and never asks a credential \
                 helper, so no token is stored for it (name the host's HTTPS URL instead, \
                 such as https://{})",
                escape(&ssh.shown),
                escape(&ssh.host)
            )));
        }
        if let Some(target) = certificate(text)? {
            return Ok(Self { target, user: None });
        }
        let full = if text.contains("://") {
            text.to_owned()
        } else {
            format!("https://{text}")
        };
        // A host with a `:` that is no port is a mistyped URL, maybe with a
        // password in it (`https://u:TOKEN/x@host`): refused, never echoed.
        let parts = UrlParts::parse(&full)
            .filter(|p| {
                p.host.as_deref().is_some_and(|h| {
                    let after_brackets = h.rsplit(']').next().unwrap_or(h);
                    !h.is_empty() && (!after_brackets.contains(':') || p.port().is_some())
                })
            })
            .ok_or_else(|| {
                BadInput(format!(
                    "{} is not a URL or host name (such as `github.com` or \
                     `https://github.com/OWNER/REPO.git`)",
                    escape(&redact_userinfo(text))
                ))
            })?;
        let path = parts
            .path
            .map(|p| p.trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty());
        Ok(Self {
            target: Target {
                protocol: parts.protocol.to_ascii_lowercase(),
                host: parts.host.unwrap_or_default(),
                path,
            },
            user: parts.username.filter(|u| !u.is_empty()),
        })
    }

    /// Whether git keeps the path of `target` (this URL's, its host as git
    /// sends it) when it asks a helper for `user`: only with
    /// `credential.useHttpPath` for http(s); always for the others
    /// (`cert://` paths, for one).
    fn keeps_path(
        target: &Target,
        user: Option<&str>,
        use_http_path: &dyn Fn(&CredentialFields) -> bool,
    ) -> bool {
        !matches!(target.protocol.as_str(), "http" | "https")
            || use_http_path(&CredentialFields {
                protocol: &target.protocol,
                host: &target.host,
                path: target.path.as_deref(),
                username: user,
            })
    }
}

/// `host` and `host:port` the way a person means them: case does not
/// matter, and the default port is the same as none.
pub fn same_host(protocol: &str, a: &str, b: &str) -> bool {
    normal_host(protocol, a) == normal_host(protocol, b)
}

fn normal_host(protocol: &str, host: &str) -> String {
    let host = host.to_ascii_lowercase();
    let default_port = match protocol {
        "https" => ":443",
        "http" => ":80",
        _ => return host,
    };
    match host.strip_suffix(default_port) {
        Some(bare) => bare.to_owned(),
        None => host,
    }
}

/// A client certificate, named by its file: `cert:///home/me/client.p12`,
/// or as git's prompt writes it, `cert:////home/me/client.p12` (git names it
/// by an empty host and the file's path). `None` for any other URL.
fn certificate(text: &str) -> Result<Option<Target>, BadInput> {
    let Some(rest) = text
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("cert://"))
        .map(|_| &text[7..])
    else {
        return Ok(None);
    };
    let file = rest.trim_start_matches('/');
    if file.is_empty() {
        return Err(BadInput(
            "a `cert://` URL names a certificate by its file, such as \
             cert:///home/me/client.p12"
                .into(),
        ));
    }
    Ok(Some(Target {
        protocol: "cert".into(),
        host: String::new(),
        path: Some(format!("/{file}")),
    }))
}

/// Whether a certificate's path as typed names the one stored: git sends
/// the file as configured, absolute or not, and a URL cannot tell the two
/// apart, so leading slashes do not count.
fn same_file(typed: Option<&str>, stored: Option<&str>) -> bool {
    let file = |path: Option<&str>| path.map(|p| p.trim_start_matches('/').to_owned());
    typed.is_none() || file(typed) == file(stored)
}

struct SshForm {
    /// The argument without its user, to name it in the message.
    shown: String,
    host: String,
}

/// `ssh://…`, `git+ssh://…`, `ssh+git://…`, or git's scp-like
/// `[user@]host:path` (a colon before any slash, and what follows it not a
/// port number).
fn ssh_form(text: &str) -> Option<SshForm> {
    if let Some((scheme, rest)) = text.split_once("://") {
        if !matches!(
            scheme.to_ascii_lowercase().as_str(),
            "ssh" | "git+ssh" | "ssh+git"
        ) {
            return None;
        }
        let authority = rest.split('/').next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        let host = host.split(':').next().unwrap_or_default().to_owned();
        return Some(SshForm {
            shown: redact_userinfo(text),
            host,
        });
    }
    // An IPv6 address's colons are inside its brackets.
    let start = if text.starts_with('[') {
        text.find(']')?
    } else {
        0
    };
    let colon = start + text[start..].find(':')?;
    if text[..colon].contains('/') {
        return None;
    }
    let after = &text[colon + 1..];
    // `user:password@host` is a URL without its scheme, not `host:path`.
    if after.contains('@') {
        return None;
    }
    let port = after.split('/').next().unwrap_or_default();
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let host = text[..colon]
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    Some(SshForm {
        shown: format!("{host}:{after}"),
        host,
    })
}

/// The URL with any `user[:password]@` left out: a message must never
/// repeat a password someone pasted. Everything up to the last `@` goes,
/// wherever it is: a mistyped URL may put a `/`, `?` or `#` inside the
/// password, and a message that shows too little beats one that shows it.
pub fn redact_userinfo(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), text),
    };
    match rest.rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => text.to_owned(),
    }
}

/// What a person names by URL and `--user`: the target git would ask a
/// helper about, the account, and the live records that match, most
/// recently stored or used first. With no path (or a path git drops), the
/// records of every path on the host qualify.
pub struct Named<'r> {
    pub target: Target,
    pub user: Option<String>,
    pub found: Vec<&'r Record>,
}

impl<'r> Named<'r> {
    /// Reads `url` and `--user` and finds what they name. A path counts
    /// where `credential.useHttpPath` makes it part of the stored
    /// credential (`use_http_path` answers that as git does); where git
    /// drops it, every path of the host qualifies, unless a record was
    /// stored under exactly that path (while git kept paths): then that
    /// record is the one named.
    pub fn find(
        records: &'r [Record],
        url: &str,
        user: Option<&str>,
        use_http_path: &dyn Fn(&CredentialFields) -> bool,
    ) -> Result<Self, BadInput> {
        let argument = UrlArgument::parse(url)?;
        let user = match (user, argument.user.as_deref()) {
            (Some(flag), Some(in_url)) if flag != in_url => {
                return Err(BadInput(format!(
                    "the URL names the user {} but --user names {}; give one of them",
                    escape(in_url),
                    escape(flag)
                )));
            }
            (Some(flag), _) => Some(flag.to_owned()),
            (None, in_url) => in_url.map(str::to_owned),
        };
        let mut target = argument.target.clone();
        // The form git itself sends for most remotes, for messages and for
        // a keychain looked up without the index.
        target.host = normal_host(&target.protocol, &target.host);
        // Asking git costs a child process; without a path there is nothing to ask.
        let typed_path = target.path.clone();
        if target.path.is_some()
            && !UrlArgument::keeps_path(&target, user.as_deref(), use_http_path)
        {
            target.path = None;
        }
        let on_host = |path: Option<&str>| {
            matching_record(records, |record| {
                record.target.protocol == target.protocol
                    && same_host(&target.protocol, &record.target.host, &target.host)
                    && if target.is_certificate() {
                        same_file(path, record.target.path.as_deref())
                    } else {
                        field_matches(path, record.target.path.as_deref())
                    }
                    && field_matches(user.as_deref(), Some(&record.username))
            })
        };
        let mut found = on_host(target.path.as_deref());
        if found.len() > 1 && target.path.is_none() && typed_path.is_some() {
            let exact: Vec<&Record> = found
                .iter()
                .copied()
                .filter(|record| record.target.path == typed_path)
                .collect();
            if !exact.is_empty() {
                found = exact;
                target.path = typed_path;
            }
        }
        Ok(Self {
            target,
            user,
            found,
        })
    }

    /// The one record found, or why there is not exactly one: none is a
    /// failure (exit 1), several is a question of usage (exit 2).
    pub fn one(&self) -> anyhow::Result<&'r Record> {
        match self.found.as_slice() {
            [one] => Ok(*one),
            [] => Err(self.not_stored()),
            several if several.iter().any(|r| r.target.path.is_some()) => {
                Err(self.several_paths(several).into())
            }
            several => {
                let accounts: Vec<String> = several.iter().map(|r| r.username.clone()).collect();
                Err(self.several(&accounts).into())
            }
        }
    }

    /// "Several accounts", naming them and the option that chooses one.
    pub fn several(&self, accounts: &[String]) -> BadInput {
        BadInput(format!(
            "{} has several accounts ({}); name one with --user",
            escape(&self.target.url()),
            accounts
                .iter()
                .map(|a| escape(a))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// "Several credentials", when they differ by path: `--user` cannot
    /// choose among them, their URLs can.
    fn several_paths(&self, several: &[&Record]) -> BadInput {
        let named: Vec<String> = several
            .iter()
            .map(|r| format!("{} for {}", escape(&r.target.url()), escape(&r.username)))
            .collect();
        BadInput(format!(
            "{} has several credentials ({}); name one by its URL with its path \
             (and --user where the accounts differ)",
            escape(&self.target.url()),
            named.join(", ")
        ))
    }

    /// "Not stored", naming what was looked for and where to look.
    pub fn not_stored(&self) -> anyhow::Error {
        anyhow!(
            "no stored credential for {}{}; `git credential-patrol list` shows what is stored",
            escape(&self.target.url()),
            self.user
                .as_deref()
                .map(|u| format!(" and user {}", escape(u)))
                .unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::TokenKind;

    fn target(text: &str) -> Target {
        UrlArgument::parse(text).unwrap().target
    }

    #[test]
    fn a_pasted_password_is_never_echoed() {
        for text in [
            "https://u:ghp_TESTsecret@host%zz",
            "https://u:ghp_TEST/secret@host",
            "https://u:ghp_TEST?secret@host/x@y",
            "u:ghp_TESTsecret@host",
            "ssh://u:ghp_TESTsecret@host/x",
        ] {
            let shown = redact_userinfo(text);
            assert!(!shown.contains("ghp_TEST"), "{text} -> {shown}");
        }
        for text in ["https://u:ghp_TEST/secret@host", "u:ghp_TEST#x@host"] {
            let err = UrlArgument::parse(text).unwrap_err().to_string();
            assert!(!err.contains("ghp_TEST"), "{err}");
        }
        assert_eq!(
            redact_userinfo("https://github.com/a"),
            "https://github.com/a"
        );
        assert_eq!(
            redact_userinfo("https://u@github.com"),
            "https://github.com"
        );
    }

    #[test]
    fn a_certificate_is_named_by_its_file() {
        for given in [
            "cert:///home/me/client.p12",
            "cert:////home/me/client.p12",
            "CERT://home/me/client.p12",
        ] {
            assert_eq!(
                target(given),
                Target {
                    protocol: "cert".into(),
                    host: String::new(),
                    path: Some("/home/me/client.p12".into()),
                },
                "{given}"
            );
        }
        assert!(UrlArgument::parse("cert:///").is_err());
        // git sends the path as configured; a relative one is the same file.
        assert!(same_file(Some("/client.p12"), Some("client.p12")));
        assert!(!same_file(Some("/a/client.p12"), Some("/b/client.p12")));
    }

    #[test]
    fn the_forms_people_paste() {
        for (given, url) in [
            ("github.com", "https://github.com"),
            (" github.com ", "https://github.com"),
            ("https://github.com", "https://github.com"),
            ("https://github.com/", "https://github.com"),
            ("HTTPS://GitHub.com", "https://GitHub.com"),
            (
                "https://github.com/alice/x.git",
                "https://github.com/alice/x.git",
            ),
            (
                "https://github.com/alice/x.git/",
                "https://github.com/alice/x.git",
            ),
            ("github.com:443", "https://github.com:443"),
            ("http://127.0.0.1:8080/r", "http://127.0.0.1:8080/r"),
            ("[::1]:8443", "https://[::1]:8443"),
        ] {
            assert_eq!(target(given).url(), url, "{given}");
        }
        let with_user = UrlArgument::parse("https://alice:ghp_TESTx@github.com/x").unwrap();
        assert_eq!(with_user.user.as_deref(), Some("alice"));
        assert_eq!(with_user.target.url(), "https://github.com/x");
    }

    #[test]
    fn ssh_remotes_are_named_and_refused() {
        for given in [
            "git@github.com:alice/x.git",
            "github.com:alice/x.git",
            "ssh://git@github.com/alice/x.git",
            "ssh://git@github.com:22/alice/x.git",
            "git+ssh://github.com/alice/x.git",
        ] {
            let err = UrlArgument::parse(given).unwrap_err().0;
            assert!(err.contains("is an SSH remote"), "{given}: {err}");
            assert!(err.contains("https://github.com)"), "{given}: {err}");
            assert!(!err.contains("git@"), "the user is not repeated: {err}");
        }
    }

    #[test]
    fn what_is_not_a_url_is_refused_without_its_password() {
        for given in ["", "https://", "https://alice:ghp_TESTsecret@/x"] {
            let err = UrlArgument::parse(given).unwrap_err().0;
            assert!(err.contains("is not a URL or host name"), "{err}");
            assert!(!err.contains("ghp_TEST"), "{err}");
        }
    }

    #[test]
    fn hosts_compare_without_case_or_default_port() {
        assert!(same_host("https", "GitHub.com", "github.com:443"));
        assert!(same_host("http", "h:80", "H"));
        assert!(!same_host("http", "h:443", "h"));
        assert!(!same_host("https", "h:8443", "h"));
    }

    fn record(host: &str, path: Option<&str>, user: &str) -> Record {
        Record::new(
            Target {
                protocol: "https".into(),
                host: host.into(),
                path: path.map(str::to_owned),
            },
            user.into(),
            TokenKind::GithubClassic,
            "2026-06-01T00:00:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn the_path_counts_only_where_git_keeps_it() {
        let records = [
            record("github.com", None, "alice"),
            record("gitlab.com", Some("g/p.git"), "bob"),
        ];
        let never = |_: &CredentialFields| false;
        let always = |_: &CredentialFields| true;
        let found = |url: &str, use_http_path: &dyn Fn(&CredentialFields) -> bool| {
            Named::find(&records, url, None, use_http_path)
                .unwrap()
                .found
                .iter()
                .map(|r| r.username.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            found("https://GitHub.com:443/alice/x.git/", &never),
            ["alice"]
        );
        assert_eq!(found("github.com", &always), ["alice"]);
        assert_eq!(
            found("https://github.com/alice/x.git", &always),
            Vec::<String>::new(),
            "with useHttpPath the stored credential has a path"
        );
        assert_eq!(found("https://gitlab.com/g/p.git", &always), ["bob"]);
        assert_eq!(
            found("https://gitlab.com/g/other.git", &always),
            Vec::<String>::new()
        );
        assert_eq!(found("gitlab.com", &never), ["bob"]);
        let named = Named::find(&records, "https://GitHub.com:443/x", None, &never).unwrap();
        assert_eq!(
            named.target.url(),
            "https://github.com",
            "as git would send it"
        );
    }

    #[test]
    fn a_url_names_the_credential_stored_under_its_path() {
        let records = [
            record("h.example.com", Some("org/a.git"), "u"),
            record("h.example.com", Some("org/b.git"), "u"),
        ];
        let asked = std::cell::RefCell::new(Vec::new());
        let never = |fields: &CredentialFields| {
            asked.borrow_mut().push((
                fields.host.to_owned(),
                fields.path.map(str::to_owned),
                fields.username.map(str::to_owned),
            ));
            false
        };
        let named = Named::find(
            &records,
            "https://u@H.example.com:443/org/a.git/",
            None,
            &never,
        )
        .unwrap();
        assert_eq!(
            named.one().unwrap().target.path.as_deref(),
            Some("org/a.git")
        );
        assert_eq!(
            asked.borrow().as_slice(),
            [(
                "h.example.com".to_owned(),
                Some("org/a.git".to_owned()),
                Some("u".to_owned())
            )],
            "git is asked about the credential it would send"
        );
        let err = Named::find(&records, "h.example.com", None, &never)
            .unwrap()
            .one()
            .unwrap_err();
        assert!(err.is::<BadInput>());
        assert!(
            err.to_string().contains(
                "(https://h.example.com/org/a.git for u, https://h.example.com/org/b.git for u); \
                 name one by its URL with its path"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_user_comes_from_the_url_or_the_flag_and_they_must_agree() {
        let records = [
            record("github.com", None, "alice"),
            record("github.com", None, "bob"),
        ];
        let never = |_: &CredentialFields| false;
        let named = Named::find(&records, "https://bob@github.com", None, &never).unwrap();
        assert_eq!(named.one().unwrap().username, "bob");
        let named = Named::find(&records, "github.com", Some("alice"), &never).unwrap();
        assert_eq!(named.one().unwrap().username, "alice");
        let err = Named::find(&records, "https://bob@github.com", Some("alice"), &never)
            .err()
            .unwrap();
        assert!(err.0.contains("--user names alice"), "{}", err.0);
        let several = Named::find(&records, "github.com", None, &never).unwrap();
        let err = several.one().unwrap_err();
        assert!(err.is::<BadInput>(), "several accounts is a usage problem");
        let none = Named::find(&records, "https://carol:pw@github.com", None, &never).unwrap();
        let err = none.one().unwrap_err();
        assert!(!err.is::<BadInput>(), "not stored is a failure, exit 1");
        assert_eq!(
            err.to_string(),
            "no stored credential for https://github.com and user carol; \
             `git credential-patrol list` shows what is stored"
        );
    }
}
