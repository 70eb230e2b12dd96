//! What `get` tells git about a credential it found, and how `store`
//! recognises it when git hands it back: pure decisions, so that the one
//! rule (a token known to be dead is never handed to git as usable) is
//! tested without a keychain.
//!
//! The expiry git hears is the record's one effective expiry
//! (`Expiries::effective`), the same that `get` warns about and `list`
//! shows. A known-dead token's password is withheld on every git version:
//! git 2.40 and later would drop a password whose `password_expiry_utc` is
//! past anyway (and go on to the next helper, keeping `oauth_refresh_token`),
//! while git 2.39 and older ignore the expiry and would send the dead token.
//! Withholding it gives every version the newer behaviour without asking
//! which git is running, which would cost a child process.

use chrono::{DateTime, Utc};

use crate::credential::Secrets;
use crate::expiry;
use crate::record::{Expiry, Record};

/// What `get` prints.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// The fields to print: the stored secrets, with the effective expiry,
    /// and without a password or credential when the token is dead.
    pub secrets: Secrets,
    /// The token is known to be dead: git must ask elsewhere.
    pub dead: bool,
}

/// The `password_expiry_utc` patrol tells git: the record's effective
/// expiry, or, when the record knows none (or there is no record), what git
/// itself stored beside the secret.
pub fn told_expiry(record: Option<&Record>, secrets: &Secrets) -> Option<i64> {
    match record.and_then(|r| r.expiry.effective()) {
        Some((Expiry::At(at), _)) => Some(at.timestamp()),
        Some((Expiry::Never, _)) => None,
        None => secrets.password_expiry_utc,
    }
}

/// The answer for `stored`, found under `record` (or in the keychain alone).
pub fn decide(record: Option<&Record>, stored: Secrets, now: DateTime<Utc>) -> Answer {
    let expiry = told_expiry(record, &stored);
    let dead = record.is_some_and(|r| expiry::known_dead(r, now))
        || expiry.is_some_and(|at| at <= now.timestamp());
    let Secrets {
        password,
        oauth_refresh_token,
        auth,
        password_expiry_utc: _,
    } = stored;
    let secrets = if dead {
        Secrets {
            password: None,
            oauth_refresh_token,
            auth: None,
            password_expiry_utc: expiry,
        }
    } else {
        Secrets {
            password,
            oauth_refresh_token,
            auth,
            password_expiry_utc: expiry,
        }
    };
    Answer { secrets, dead }
}

/// What a `store` of the token the keychain holds (`held`) means: the
/// fields git sent, and for those it left out, what was held. Git before
/// 2.41 sends `store` after every successful use with the password alone,
/// no `password_expiry_utc` and no `oauth_refresh_token`; leaving a field
/// out never erases what is known about the same token, except a held
/// expiry already past: git stores only what the server just accepted.
/// Another token (`None` here) starts afresh.
pub fn filled_in(held: &Secrets, given: &Secrets, now: DateTime<Utc>) -> Option<Secrets> {
    let Secrets {
        password,
        oauth_refresh_token,
        auth,
        password_expiry_utc,
    } = given;
    if *password != held.password || *auth != held.auth {
        return None;
    }
    Some(Secrets {
        password: password.clone(),
        oauth_refresh_token: oauth_refresh_token
            .clone()
            .or_else(|| held.oauth_refresh_token.clone()),
        auth: auth.clone(),
        password_expiry_utc: password_expiry_utc
            .or(held.password_expiry_utc.filter(|&at| at > now.timestamp())),
    })
}

/// How what git stores differs from what the keychain holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Exactly what is stored, or what `get` told git about it.
    Unchanged,
    /// The same token, with a new expiry or refresh token from git.
    NewExpiry,
    /// Another token: what was known about the old one no longer applies.
    NewToken,
}

/// Compares field by field, without `..`, so that a new secret field must
/// be placed here before anything compiles. An expiry equal to the one
/// `get` told git (`answer::told_expiry`) is git handing ours back.
pub fn compare(record: Option<&Record>, stored: &Secrets, given: &Secrets) -> Change {
    let Secrets {
        password,
        oauth_refresh_token,
        auth,
        password_expiry_utc,
    } = given;
    if *password != stored.password || *auth != stored.auth {
        return Change::NewToken;
    }
    let told = told_expiry(record, stored);
    let same_expiry = *password_expiry_utc == stored.password_expiry_utc
        || (record.is_some() && *password_expiry_utc == told);
    if same_expiry && *oauth_refresh_token == stored.oauth_refresh_token {
        Change::Unchanged
    } else {
        Change::NewExpiry
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::credential::{Secret, TokenKind};
    use crate::testing::{https, now};

    fn record() -> Record {
        Record::new(
            https("github.com"),
            "alice".into(),
            TokenKind::GithubClassic,
            now() - TimeDelta::days(30),
        )
    }

    fn stored(expiry: Option<i64>) -> Secrets {
        Secrets {
            password: Some(Secret::new("ghp_TESTanswer")),
            oauth_refresh_token: None,
            auth: None,
            password_expiry_utc: expiry,
        }
    }

    fn days(n: i64) -> i64 {
        (now() + TimeDelta::days(n)).timestamp()
    }

    #[test]
    fn answers_follow_the_one_effective_expiry() {
        struct Case {
            what: &'static str,
            git: Option<i64>,
            manual: Option<Expiry>,
            forge: Option<Expiry>,
            told: Option<i64>,
            dead: bool,
        }
        let at = |n| Some(Expiry::At(DateTime::from_timestamp(days(n), 0).unwrap()));
        let cases = [
            Case {
                what: "git's own expiry, still ahead",
                git: Some(days(3)),
                manual: None,
                forge: None,
                told: Some(days(3)),
                dead: false,
            },
            Case {
                what: "expired elsewhere: set by hand, git's later",
                git: Some(days(3)),
                manual: at(-1),
                forge: None,
                told: Some(days(-1)),
                dead: true,
            },
            Case {
                what: "the forge beats a date set by hand",
                git: None,
                manual: at(-1),
                forge: at(30),
                told: Some(days(30)),
                dead: false,
            },
            Case {
                what: "never expires, by hand, beats git's",
                git: Some(days(-2)),
                manual: Some(Expiry::Never),
                forge: None,
                told: None,
                dead: false,
            },
            Case {
                what: "nothing known",
                git: None,
                manual: None,
                forge: None,
                told: None,
                dead: false,
            },
        ];
        for case in cases {
            let mut record = record();
            record.expiry.git = case
                .git
                .map(|t| Expiry::At(DateTime::from_timestamp(t, 0).unwrap()));
            record.expiry.manual = case.manual;
            record.expiry.forge = case.forge;
            let answer = decide(Some(&record), stored(case.git), now());
            assert_eq!(
                answer.secrets.password_expiry_utc, case.told,
                "{}",
                case.what
            );
            assert_eq!(answer.dead, case.dead, "{}", case.what);
            assert_eq!(
                answer.secrets.password.is_none(),
                case.dead,
                "{}",
                case.what
            );
        }
    }

    #[test]
    fn a_dead_token_keeps_its_refresh_token_and_loses_its_secrets() {
        let mut record = record();
        record.expiry.git = Some(Expiry::At(now() - TimeDelta::hours(1)));
        record.refreshable = true;
        let mut secrets = stored(Some(days(0) - 3600));
        secrets.oauth_refresh_token = Some(Secret::new("TESTrefresh"));
        secrets.auth = Some(("Bearer".into(), Secret::new("TESTbearer")));
        let answer = decide(Some(&record), secrets, now());
        assert!(answer.dead);
        assert_eq!(answer.secrets.password, None);
        assert_eq!(answer.secrets.auth, None);
        assert_eq!(
            answer.secrets.oauth_refresh_token,
            Some(Secret::new("TESTrefresh"))
        );
        assert_eq!(answer.secrets.password_expiry_utc, Some(days(0) - 3600));
    }

    #[test]
    fn store_tells_the_expiry_get_told_git_from_a_new_one() {
        let mut record = record();
        record.expiry.forge = Some(Expiry::At(DateTime::from_timestamp(days(30), 0).unwrap()));
        let held = stored(None);
        // git hands back the expiry `get` told it: nothing to write.
        assert_eq!(
            compare(Some(&record), &held, &stored(Some(days(30)))),
            Change::Unchanged
        );
        assert_eq!(
            compare(Some(&record), &held, &stored(None)),
            Change::Unchanged
        );
        // Another expiry for the same token is news, record or not.
        assert_eq!(
            compare(Some(&record), &held, &stored(Some(days(60)))),
            Change::NewExpiry
        );
        assert_eq!(
            compare(None, &held, &stored(Some(days(30)))),
            Change::NewExpiry
        );
        let mut bearer = held.clone();
        bearer.auth = Some(("Bearer".into(), Secret::new("TESTbearer")));
        assert_eq!(compare(Some(&record), &held, &bearer), Change::NewToken);
    }

    #[test]
    fn without_a_record_git_own_expiry_decides() {
        let live = decide(None, stored(Some(days(1))), now());
        assert!(!live.dead);
        assert_eq!(live.secrets.password_expiry_utc, Some(days(1)));
        let dead = decide(None, stored(Some(days(-1))), now());
        assert!(dead.dead);
        assert_eq!(dead.secrets.password, None);
        assert!(!decide(None, stored(None), now()).dead);
    }

    #[test]
    fn a_store_that_leaves_a_field_out_keeps_what_was_held() {
        let mut held = stored(Some(days(3)));
        held.oauth_refresh_token = Some(Secret::new("TESTrefresh"));
        // git 2.39: the password alone.
        let kept = filled_in(&held, &stored(None), now()).unwrap();
        assert_eq!(kept, held);
        assert_eq!(compare(None, &held, &kept), Change::Unchanged);
        // What git does send wins.
        let told = filled_in(&held, &stored(Some(days(9))), now()).unwrap();
        assert_eq!(told.password_expiry_utc, Some(days(9)));
        assert_eq!(told.oauth_refresh_token, held.oauth_refresh_token);
        // A past expiry is not kept: the server has just accepted the token.
        let past = filled_in(&stored(Some(days(-1))), &stored(None), now()).unwrap();
        assert_eq!(past.password_expiry_utc, None);
        // Another token starts afresh.
        let mut other = stored(None);
        other.password = Some(Secret::new("ghp_TESTother"));
        assert_eq!(filled_in(&held, &other, now()), None);
    }
}
