//! Status and warning decisions. Pure: the record, the policy and the clock
//! go in; a verdict comes out. Nothing here reads a file or the time.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::config::Policy;
use crate::record::{Expiry, ProbeOutcome, ProbeResult, Record};

/// What `list` shows, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Expired,
    /// The forge refused the token when last asked (invalid, revoked, or
    /// expired early): as dead as an expired one until it is accepted again.
    Refused,
    Expiring,
    RotationDue,
    Unknown,
    NoExpiry,
    /// An OAuth access token with a refresh token: the OAuth helper after
    /// patrol in git's chain renews it, and nobody needs to act.
    SelfRenewing,
    Ok,
    Erased,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Refused => "refused",
            Self::Expiring => "expiring",
            Self::RotationDue => "rotation-due",
            Self::Unknown => "unknown",
            Self::NoExpiry => "no-expiry",
            Self::SelfRenewing => "self-renewing",
            Self::Ok => "ok",
            Self::Erased => "erased",
        }
    }

    /// Whether a person should act now.
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            Self::Expired | Self::Refused | Self::Expiring | Self::RotationDue
        )
    }
}

/// The verdict on one credential at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assessment {
    pub status: Status,
    /// The effective expiry, when one is known.
    pub expires_at: Option<DateTime<Utc>>,
    /// When rotation is due, when `rotateAfter` is set.
    pub rotation_due_at: Option<DateTime<Utc>>,
    /// The date that matters most for the status: expiry or rotation.
    pub deadline: Option<DateTime<Utc>>,
}

/// How long after `get` handed git a refresh token the same access token may
/// still be expired before patrol calls the renewal failed: enough for the
/// OAuth helper's round trip and for parallel fetches that asked at once.
pub const RENEWAL_GRACE: TimeDelta = TimeDelta::minutes(10);

/// Whether the token is known to be dead, so that git must not be handed it
/// as usable: its effective expiry has passed, or the forge refused it. The
/// one definition, used by `get`'s answer, its warning, `list` and `check`
/// alike.
pub fn known_dead(record: &Record, now: DateTime<Utc>) -> bool {
    expired(record, now) || refusal(record).is_some()
}

/// Whether the token's effective expiry has passed.
pub fn expired(record: &Record, now: DateTime<Utc>) -> bool {
    matches!(record.expiry.effective(), Some((Expiry::At(at), _)) if at <= now)
}

/// The forge's refusal of the token, when the last answer it gave was one.
/// A later probe that succeeds, or git storing the token again after it
/// authenticated with it, clears it.
pub fn refusal(record: &Record) -> Option<&ProbeOutcome> {
    record
        .probe
        .as_ref()
        .filter(|probe| probe.result == ProbeResult::Rejected)
}

/// Whether a refreshable token's renewal evidently failed: `get` already
/// handed git its refresh token, a while ago, and no new token came back.
pub fn renewal_failed(record: &Record, now: DateTime<Utc>) -> bool {
    record.refreshable
        && known_dead(record, now)
        && record
            .refresh_offered_at
            .is_some_and(|offered| now - offered >= RENEWAL_GRACE)
}

pub fn assess(record: &Record, policy: &Policy, now: DateTime<Utc>) -> Assessment {
    let effective = record.expiry.effective().map(|(expiry, _)| expiry);
    let expires_at = match effective {
        Some(Expiry::At(at)) => Some(at),
        _ => None,
    };
    let rotation_due_at = policy
        .rotate_after
        .filter(|_| !record.target.is_certificate())
        .map(|after| {
            record
                .rotated_at
                .unwrap_or(record.stored_at)
                .max(record.stored_at)
                + after
        });
    let mut assessment = Assessment {
        status: Status::Ok,
        expires_at,
        rotation_due_at,
        deadline: None,
    };
    if record.erased.is_some() {
        assessment.status = Status::Erased;
        return assessment;
    }
    if record.refreshable && !renewal_failed(record, now) {
        assessment.status = Status::SelfRenewing;
        assessment.rotation_due_at = None;
        return assessment;
    }
    let within = |at: DateTime<Utc>| at - now <= policy.warn_before;
    (assessment.status, assessment.deadline) = match (expires_at, rotation_due_at) {
        (Some(at), _) if expired(record, now) => (Status::Expired, Some(at)),
        _ if refusal(record).is_some() => (Status::Refused, None),
        (Some(at), _) if within(at) => (Status::Expiring, Some(at)),
        (_, Some(due)) if within(due) => (Status::RotationDue, Some(due)),
        (Some(at), _) => (Status::Ok, Some(at)),
        (None, _) => match effective {
            Some(Expiry::Never) => (Status::NoExpiry, None),
            None if record.target.is_certificate() => (Status::NoExpiry, None),
            _ => (Status::Unknown, None),
        },
    };
    assessment
}

/// What a warning is about: the one reading of a credential's state that
/// `get`'s line on stderr and `notify`'s desktop notification both put into
/// words, so the two never disagree on what is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// The forge refused the token; `at` is when it answered so.
    Refused,
    /// Expired, and the refresh token `get` handed git brought no new token.
    NotRenewed,
    Expired,
    Expiring,
    RotationDue,
}

/// One warning that is due now: what it is about and the date it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Warning {
    pub due: Due,
    pub at: DateTime<Utc>,
}

/// How often one way of warning may repeat itself for one credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    /// When this way of warning last warned about the credential.
    pub last: Option<DateTime<Utc>>,
    /// The least time between two warnings.
    pub every: TimeDelta,
    /// Whether every chance warns in the last day before the deadline and
    /// after it: right for `get`, where the person is at the keyboard and
    /// about to fail; wrong for a desktop notification, which would nag.
    pub last_day_always: bool,
}

impl Throttle {
    /// `get`'s: `warnEvery`, and every `get` in the last day.
    pub fn get(record: &Record, policy: &Policy) -> Self {
        Self {
            last: record.last_warned_at,
            every: policy.warn_every,
            last_day_always: true,
        }
    }
}

/// The warning due now for `record`, if any: the decision `get` and
/// `notify` share. Only what needs a person (expired, refused, expiring
/// within `warnBefore`, due for rotation) warns, and at most once per
/// `throttle.every`, except where `throttle.last_day_always` lets the last
/// day before the deadline and after it through every time.
pub fn warning(
    record: &Record,
    policy: &Policy,
    now: DateTime<Utc>,
    throttle: Throttle,
) -> Option<Warning> {
    let assessment = assess(record, policy, now);
    let (due, at) = match (assessment.status, assessment.deadline) {
        (Status::Refused, _) => (Due::Refused, refusal(record)?.at),
        (Status::Expired, Some(at)) if renewal_failed(record, now) => (Due::NotRenewed, at),
        (Status::Expired, Some(at)) => (Due::Expired, at),
        (Status::Expiring, Some(at)) => (Due::Expiring, at),
        (Status::RotationDue, Some(at)) => (Due::RotationDue, at),
        _ => return None,
    };
    let last_day = assessment
        .deadline
        .is_some_and(|deadline| deadline - now <= TimeDelta::days(1));
    let throttled = !(throttle.last_day_always && last_day)
        && throttle
            .last
            .is_some_and(|last| now - last < throttle.every);
    (!throttled).then_some(Warning { due, at })
}

/// "just now", "in 3 hours", "41 hours ago", "in 3 days", "2 weeks ago":
/// the distance between `now` and `at`, rounded to the nearest whole unit,
/// in the largest unit that still reads plainly. Hours run up to two days,
/// so "2 days" always means at least 48 hours.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let delta = at - now;
    let span = delta.abs();
    if span < TimeDelta::minutes(1) {
        return if delta > TimeDelta::zero() {
            "in under a minute".into()
        } else {
            "just now".into()
        };
    }
    // Rounded to the nearest: a token stored "for 3 days" a minute ago
    // expires "in 3 days", not "in 2 days".
    let round = |unit: TimeDelta| (span + unit / 2).num_seconds() / unit.num_seconds();
    let minutes = round(TimeDelta::minutes(1));
    let hours = round(TimeDelta::hours(1));
    let days = round(TimeDelta::days(1));
    let (amount, unit) = if minutes < 60 {
        (minutes, "minute")
    } else if hours < 48 {
        (hours, "hour")
    } else if days < 14 {
        (days, "day")
    } else if days < 60 {
        ((days + 3) / 7, "week")
    } else if days < 730 {
        // Months of 30.44 days, in whole days: 10,000 of them are 304,375.
        ((days * 10_000 + 152_187) / 304_375, "month")
    } else {
        ((days * 100 + 18_262) / 36_525, "year")
    };
    let plural = if amount == 1 { "" } else { "s" };
    if delta > TimeDelta::zero() {
        format!("in {amount} {unit}{plural}")
    } else {
        format!("{amount} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::TokenKind;
    use crate::record::{ErasedBy, Erasure};
    use crate::testing::{https, now};

    fn record(expiry: Option<Expiry>) -> Record {
        let mut record = Record::new(
            https("github.com"),
            "alice".into(),
            TokenKind::GithubClassic,
            now() - TimeDelta::days(30),
        );
        record.expiry.git = expiry;
        record
    }

    /// Whether `get` warns now.
    fn warns(record: &Record, policy: &Policy, now: DateTime<Utc>) -> bool {
        warning(record, policy, now, Throttle::get(record, policy)).is_some()
    }

    fn at(days: i64) -> Option<Expiry> {
        Some(Expiry::At(now() + TimeDelta::days(days)))
    }

    #[test]
    fn statuses_follow_the_expiry() {
        let policy = Policy::default();
        let status = |expiry| assess(&record(expiry), &policy, now()).status;
        assert_eq!(status(at(30)), Status::Ok);
        assert_eq!(status(at(7)), Status::Expiring);
        assert_eq!(status(at(3)), Status::Expiring);
        assert_eq!(status(at(-1)), Status::Expired);
        assert_eq!(status(Some(Expiry::Never)), Status::NoExpiry);
        assert_eq!(status(None), Status::Unknown);
    }

    #[test]
    fn rotation_falls_due_after_rotate_after() {
        let policy = Policy {
            rotate_after: Some(TimeDelta::days(35)),
            ..Policy::default()
        };
        // Stored 30 days ago: rotation is due in 5 days, inside the 7-day window.
        let assessment = assess(&record(Some(Expiry::Never)), &policy, now());
        assert_eq!(assessment.status, Status::RotationDue);
        assert_eq!(assessment.deadline, Some(now() + TimeDelta::days(5)));
        // An expiry sooner than rotation is the more urgent news.
        assert_eq!(
            assess(&record(at(2)), &policy, now()).status,
            Status::Expiring
        );
        // A recent rotation moves the date.
        let mut rotated = record(None);
        rotated.rotated_at = Some(now());
        assert_eq!(assess(&rotated, &policy, now()).status, Status::Unknown);
    }

    #[test]
    fn a_refused_token_is_dead_until_accepted_and_warned_about_per_warn_every() {
        let policy = Policy::default();
        let mut refused = record(at(30));
        refused.probe = Some(ProbeOutcome {
            at: now() - TimeDelta::hours(2),
            result: ProbeResult::Rejected,
            message: Some("GitHub rejected the token (Bad credentials)".into()),
        });
        let assessment = assess(&refused, &policy, now());
        assert_eq!(assessment.status, Status::Refused);
        assert!(assessment.status.needs_attention());
        assert!(known_dead(&refused, now()));
        assert!(warns(&refused, &policy, now()));
        refused.last_warned_at = Some(now() - TimeDelta::hours(1));
        assert!(!warns(&refused, &policy, now()));
        refused.last_warned_at = Some(now() - TimeDelta::hours(12));
        assert!(warns(&refused, &policy, now()));
        // An expiry that passed says more than the refusal.
        refused.expiry.git = at(-1);
        assert_eq!(assess(&refused, &policy, now()).status, Status::Expired);
        // Accepted again: alive.
        let mut accepted = record(at(30));
        accepted.probe = Some(ProbeOutcome {
            at: now(),
            result: ProbeResult::Valid,
            message: None,
        });
        assert_eq!(assess(&accepted, &policy, now()).status, Status::Ok);
        assert!(!known_dead(&accepted, now()));
    }

    #[test]
    fn erased_records_say_so() {
        let mut erased = record(at(-3));
        erased.erased = Some(Erasure {
            at: now(),
            by: ErasedBy::Git,
        });
        assert_eq!(
            assess(&erased, &Policy::default(), now()).status,
            Status::Erased
        );
    }

    #[test]
    fn warnings_are_throttled_except_in_the_last_day() {
        let policy = Policy::default();
        let mut rec = record(at(5));
        assert!(warns(&rec, &policy, now()));
        rec.last_warned_at = Some(now() - TimeDelta::hours(1));
        assert!(!warns(&rec, &policy, now()));
        rec.last_warned_at = Some(now() - TimeDelta::hours(13));
        assert!(warns(&rec, &policy, now()));

        let mut tomorrow = record(Some(Expiry::At(now() + TimeDelta::hours(20))));
        tomorrow.last_warned_at = Some(now() - TimeDelta::minutes(1));
        assert!(warns(&tomorrow, &policy, now()));

        let mut expired = record(at(-1));
        expired.last_warned_at = Some(now());
        assert!(warns(&expired, &policy, now()));

        let fine = record(at(60));
        assert!(!warns(&fine, &policy, now()));
    }

    #[test]
    fn a_refreshable_token_renews_itself_until_renewal_evidently_failed() {
        let policy = Policy {
            rotate_after: Some(TimeDelta::days(1)),
            ..Policy::default()
        };
        let mut rec = record(at(-1));
        rec.refreshable = true;
        let status = |rec: &Record| assess(rec, &policy, now()).status;
        assert_eq!(status(&rec), Status::SelfRenewing);
        rec.refresh_offered_at = Some(now() - TimeDelta::minutes(1));
        assert_eq!(status(&rec), Status::SelfRenewing, "within the grace");
        rec.refresh_offered_at = Some(now() - RENEWAL_GRACE);
        assert_eq!(status(&rec), Status::Expired);
        assert!(renewal_failed(&rec, now()));
        let mut renewed = record(at(1));
        renewed.refreshable = true;
        renewed.refresh_offered_at = Some(now() - TimeDelta::days(2));
        assert_eq!(status(&renewed), Status::SelfRenewing);
        assert!(!warns(&renewed, &policy, now()));
    }

    #[test]
    fn known_dead_follows_the_effective_expiry() {
        let mut rec = record(at(3));
        assert!(!known_dead(&rec, now()));
        rec.expiry.manual = at(-1);
        assert!(known_dead(&rec, now()));
        rec.expiry.forge = at(5);
        assert!(!known_dead(&rec, now()));
        assert_eq!(
            assess(&rec, &Policy::default(), now()).expires_at,
            Some(now() + TimeDelta::days(5))
        );
    }

    #[test]
    fn each_boundary_falls_on_the_side_the_documentation_gives() {
        let policy = Policy::default();
        let second = TimeDelta::seconds(1);
        // A token is expired from its expiry's very second on.
        let expiring_now = record(Some(Expiry::At(now())));
        assert!(expired(&expiring_now, now()));
        assert!(!expired(&expiring_now, now() - second));
        assert_eq!(
            assess(&expiring_now, &policy, now()).status,
            Status::Expired
        );
        // Warnings start exactly `warn_before` ahead.
        let edge = record(Some(Expiry::At(now() + policy.warn_before + second)));
        assert_eq!(assess(&edge, &policy, now()).status, Status::Ok);
        assert_eq!(
            assess(&edge, &policy, now() + second).status,
            Status::Expiring
        );
        // The last day starts exactly a day before the deadline, and there
        // every `get` warns, whatever `warn_every` says.
        let mut last_day = record(Some(Expiry::At(now() + TimeDelta::days(1))));
        last_day.last_warned_at = Some(now());
        assert!(warns(&last_day, &policy, now()));
        assert!(!warns(&last_day, &policy, now() - second));
        // `warn_every` after the last warning, the next one is due.
        let mut throttled = record(at(5));
        throttled.last_warned_at = Some(now() - policy.warn_every);
        assert!(warns(&throttled, &policy, now()));
        throttled.last_warned_at = Some(now() - policy.warn_every + second);
        assert!(!warns(&throttled, &policy, now()));
        // A renewal failed exactly `RENEWAL_GRACE` after the refresh token
        // was handed over, not a second sooner.
        let mut renewing = record(at(-1));
        renewing.refreshable = true;
        renewing.refresh_offered_at = Some(now() - RENEWAL_GRACE + second);
        assert!(!renewal_failed(&renewing, now()));
        // Rotation counts from the later of storing and rotating.
        let rotating = Policy {
            rotate_after: Some(TimeDelta::days(35)),
            ..Policy::default()
        };
        let mut older_rotation = record(None);
        older_rotation.rotated_at = Some(older_rotation.stored_at - TimeDelta::days(100));
        assert_eq!(
            assess(&older_rotation, &rotating, now()).rotation_due_at,
            Some(older_rotation.stored_at + TimeDelta::days(35))
        );
    }

    #[test]
    fn status_names_are_the_json_names_and_attention_is_for_what_a_person_must_do() {
        for (status, attention) in [
            (Status::Expired, true),
            (Status::Refused, true),
            (Status::Expiring, true),
            (Status::RotationDue, true),
            (Status::Unknown, false),
            (Status::NoExpiry, false),
            (Status::SelfRenewing, false),
            (Status::Ok, false),
            (Status::Erased, false),
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                status.name(),
                "{status:?}"
            );
            assert_eq!(status.needs_attention(), attention, "{status:?}");
        }
    }

    #[test]
    fn the_warning_names_what_is_due_and_its_date() {
        let policy = Policy {
            rotate_after: Some(TimeDelta::days(35)),
            ..Policy::default()
        };
        let due = |rec: &Record| warning(rec, &policy, now(), Throttle::get(rec, &policy));
        let expiring = record(at(3));
        assert_eq!(
            due(&expiring),
            Some(Warning {
                due: Due::Expiring,
                at: now() + TimeDelta::days(3)
            })
        );
        let expired = record(at(-2));
        assert_eq!(due(&expired).map(|w| w.due), Some(Due::Expired));
        let rotation = record(Some(Expiry::Never));
        assert_eq!(
            due(&rotation),
            Some(Warning {
                due: Due::RotationDue,
                at: rotation.stored_at + TimeDelta::days(35)
            })
        );
        let mut refused = record(at(30));
        refused.probe = Some(ProbeOutcome {
            at: now() - TimeDelta::hours(2),
            result: ProbeResult::Rejected,
            message: None,
        });
        assert_eq!(
            due(&refused),
            Some(Warning {
                due: Due::Refused,
                at: now() - TimeDelta::hours(2)
            })
        );
        let mut not_renewed = record(at(-1));
        not_renewed.refreshable = true;
        not_renewed.refresh_offered_at = Some(now() - TimeDelta::hours(1));
        assert_eq!(due(&not_renewed).map(|w| w.due), Some(Due::NotRenewed));
        for healthy in [record(at(60)), record(None)] {
            assert_eq!(
                warning(
                    &healthy,
                    &Policy::default(),
                    now(),
                    Throttle::get(&healthy, &Policy::default())
                ),
                None
            );
        }
    }

    #[test]
    fn a_throttle_without_the_last_day_rule_holds_to_its_interval() {
        let policy = Policy::default();
        let daily = |last| Throttle {
            last,
            every: TimeDelta::days(1),
            last_day_always: false,
        };
        // Expiring in an hour and notified ten minutes ago: no second
        // notification, where `get` would warn again.
        let mut soon = record(Some(Expiry::At(now() + TimeDelta::hours(1))));
        soon.last_warned_at = Some(now() - TimeDelta::minutes(10));
        assert!(warns(&soon, &policy, now()));
        let notified = Some(now() - TimeDelta::minutes(10));
        assert_eq!(warning(&soon, &policy, now(), daily(notified)), None);
        let yesterday = Some(now() - TimeDelta::days(1));
        assert!(warning(&soon, &policy, now(), daily(yesterday)).is_some());
        assert!(warning(&soon, &policy, now(), daily(None)).is_some());
        // The two throttles are independent: `get`'s warning leaves the
        // notification due.
        let expired = record(at(-3));
        assert!(warning(&expired, &policy, now(), daily(None)).is_some());
    }

    #[test]
    fn relative_times_read_plainly_at_every_boundary() {
        let later = |delta: TimeDelta| relative(now() + delta, now());
        let earlier = |delta: TimeDelta| relative(now() - delta, now());
        let (s, m, h, d) = (
            TimeDelta::seconds,
            TimeDelta::minutes,
            TimeDelta::hours,
            TimeDelta::days,
        );
        for (delta, future, past) in [
            (s(0), "just now", "just now"),
            (s(59), "in under a minute", "just now"),
            (s(60), "in 1 minute", "1 minute ago"),
            (s(89), "in 1 minute", "1 minute ago"),
            (s(90), "in 2 minutes", "2 minutes ago"),
            (m(59), "in 59 minutes", "59 minutes ago"),
            (m(59) + s(29), "in 59 minutes", "59 minutes ago"),
            (m(59) + s(30), "in 1 hour", "1 hour ago"),
            (h(1), "in 1 hour", "1 hour ago"),
            (h(3), "in 3 hours", "3 hours ago"),
            (h(41), "in 41 hours", "41 hours ago"),
            (h(47) + m(29), "in 47 hours", "47 hours ago"),
            (h(47) + m(30), "in 2 days", "2 days ago"),
            (d(3) - m(1), "in 3 days", "3 days ago"),
            (d(3), "in 3 days", "3 days ago"),
            (d(13) + h(11), "in 13 days", "13 days ago"),
            (d(13) + h(12), "in 2 weeks", "2 weeks ago"),
            (d(17), "in 2 weeks", "2 weeks ago"),
            (d(18), "in 3 weeks", "3 weeks ago"),
            (d(59), "in 8 weeks", "8 weeks ago"),
            (d(60), "in 2 months", "2 months ago"),
            (d(365), "in 12 months", "12 months ago"),
            (d(729), "in 24 months", "24 months ago"),
            (d(730), "in 2 years", "2 years ago"),
            (d(2525), "in 7 years", "7 years ago"),
        ] {
            assert_eq!(later(delta), future, "{delta}");
            assert_eq!(earlier(delta), past, "{delta}");
        }
    }
}
