//! iCalendar (RFC 5545) text for `list --ics`: a calendar people import or
//! subscribe to, so that expiry and rotation dates sit beside their other
//! appointments. Only the format lives here: the command chooses the events.
//! Lines end in CRLF, are folded at 75 octets without splitting a character,
//! and every text value is escaped, since host, path and account come from
//! outside.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

/// One all-day event with a reminder before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The same for the same credential in every export, so that importing
    /// the calendar again updates the event instead of adding a second one.
    pub uid: String,
    pub date: NaiveDate,
    pub summary: String,
    pub description: String,
    /// How long before the day the reminder fires.
    pub alarm_before: TimeDelta,
}

/// The calendar holding `events`, stamped with `now`.
pub fn calendar(events: &[Event], now: DateTime<Utc>) -> String {
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//git-credential-patrol//token expiry//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        "X-WR-CALNAME:Git credentials".to_owned(),
    ];
    for event in events {
        let next_day = event.date.succ_opt().unwrap_or(event.date);
        lines.extend([
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}", text(&event.uid)),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART;VALUE=DATE:{}", event.date.format("%Y%m%d")),
            format!("DTEND;VALUE=DATE:{}", next_day.format("%Y%m%d")),
            format!("SUMMARY:{}", text(&event.summary)),
            format!("DESCRIPTION:{}", text(&event.description)),
            "TRANSP:TRANSPARENT".to_owned(),
            "BEGIN:VALARM".to_owned(),
            "ACTION:DISPLAY".to_owned(),
            format!("DESCRIPTION:{}", text(&event.summary)),
            format!("TRIGGER:-{}", duration(event.alarm_before)),
            "END:VALARM".to_owned(),
            "END:VEVENT".to_owned(),
        ]);
    }
    lines.push("END:VCALENDAR".to_owned());
    let mut out = String::new();
    for line in &lines {
        fold(&mut out, line);
    }
    out
}

/// A TEXT value escaped as RFC 5545 section 3.3.11 asks; other control
/// characters, which the format cannot carry, become spaces.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A positive duration (RFC 5545 section 3.3.6) in whole days where it is
/// whole days, in seconds otherwise.
fn duration(span: TimeDelta) -> String {
    let seconds = span.num_seconds().max(0);
    if seconds % 86_400 == 0 {
        format!("P{}D", seconds / 86_400)
    } else {
        format!("PT{seconds}S")
    }
}

/// Appends `line` folded at 75 octets (section 3.1): each continuation
/// starts with a space, and no UTF-8 character is split.
fn fold(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    let _ = write!(out, "\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(summary: &str) -> Event {
        Event {
            uid: "abc@git-credential-patrol".into(),
            date: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
            summary: summary.into(),
            description: "run it".into(),
            alarm_before: TimeDelta::days(7),
        }
    }

    #[test]
    fn an_event_is_a_whole_day_with_a_reminder() {
        let ics = calendar(&[event("expires")], crate::testing::now());
        assert!(ics.contains("DTSTART;VALUE=DATE:20260630\r\n"));
        assert!(ics.contains("DTEND;VALUE=DATE:20260701\r\n"));
        assert!(ics.contains("DTSTAMP:20260615T120000Z\r\n"));
        assert!(ics.contains("TRIGGER:-P7D\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'));
    }

    #[test]
    fn text_is_escaped_and_lines_fold_at_75_octets_between_characters() {
        assert_eq!(text("a;b,c\\d\ne\u{7}"), "a\\;b\\,c\\\\d\\ne ");
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "é".repeat(80));
        fold(&mut out, &long);
        for line in out.split("\r\n").filter(|line| !line.is_empty()) {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
        }
        assert_eq!(out.replace("\r\n ", ""), format!("{long}\r\n"));
        assert_eq!(duration(TimeDelta::hours(36)), "PT129600S");
    }
}
