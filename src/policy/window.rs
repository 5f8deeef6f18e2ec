//! Lockdown windows: recurring periods of local wall-clock time during which an instance
//! stays locked down (policy `lockdownWindows`, top level and per instance).
//!
//! `{"days": ["Mon","Tue"], "from": "20:00", "to": "07:00", "timeZone": "Europe/Berlin"}`
//! — `days` optional (every day), `timeZone` an IANA name (default `UTC`).
//!
//! Why wall-clock time, and the rules at the edges:
//! - A window is what an operator reads on a clock in that zone ("20:00 to 07:00 in
//!   Berlin"), so it moves with daylight-saving time: the same window is 11 hours on most
//!   nights, 10 on the spring-forward night and 12 on the fall-back night.
//! - A window that crosses midnight (`to` earlier than `from`) belongs to the day it
//!   *starts* on: `Fri 20:00–07:00` runs from Friday evening into Saturday morning.
//! - A wall-clock time that does not exist that day (inside the hour a spring-forward
//!   skips) is read as the same time after the jump (02:30 → 03:30), and one that exists
//!   twice (the hour a fall-back repeats) as its first occurrence: the "compatible"
//!   rule of RFC 5545 and `java.time`, so a window never silently vanishes.
//! - `from == to` is refused: it could mean "never" or "all day", and a lockdown must
//!   not be ambiguous.
//!
//! Evaluation is pure: the caller passes the instant; the zone rules come from the time
//! zone database compiled into the binary (jiff's bundled tzdb), because Lambda's
//! `provided.al2023` runtime does not promise `/usr/share/zoneinfo`.

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde_json::Value;

use super::PolicyError;
use crate::command::printable;

/// The day names `days` accepts, Monday first.
const DAY_NAMES: [(&str, Weekday); 7] = [
    ("Mon", Weekday::Monday),
    ("Tue", Weekday::Tuesday),
    ("Wed", Weekday::Wednesday),
    ("Thu", Weekday::Thursday),
    ("Fri", Weekday::Friday),
    ("Sat", Weekday::Saturday),
    ("Sun", Weekday::Sunday),
];

/// Most windows one list may hold: a week of distinct windows per day is plenty.
pub const MAX_WINDOWS: usize = 50;

/// Most characters of escaped policy text one message quotes: even under the longest
/// path (a 255-character instance name) a message stays short, whatever the value.
const MAX_QUOTE: usize = 48;

fn quote(text: &str) -> String {
    printable(text, MAX_QUOTE)
}

/// One recurring lockdown window, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Which weekdays a window may *start* on; indexed Monday = 0.
    days: [bool; 7],
    from: Time,
    to: Time,
    zone: TimeZone,
    zone_name: String,
}

/// One occurrence of a window: `start <= t < end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Occurrence {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Window {
    /// Parse `lockdownWindows[i]`; `at` is that path, so every message names the field.
    pub fn parse(value: &Value, at: &str) -> Result<Window, PolicyError> {
        let fail = |field: &str, why: String| PolicyError(format!("{at}.{field} {why}"));
        let Value::Object(map) = value else {
            return Err(PolicyError(format!(
                "{at} must be an object with from, to, and optionally days and timeZone"
            )));
        };
        if let Some(unknown) = map
            .keys()
            .find(|k| !["days", "from", "to", "timeZone"].contains(&k.as_str()))
        {
            // A plain key reads as a path (`.form`); a long or odd one is quoted and cut.
            let quoted = quote(unknown);
            let key = if quoted.len() == unknown.len() + 2 {
                unknown.clone()
            } else {
                quoted
            };
            return Err(PolicyError(format!(
                "{at}.{key} is not a window field (days, from, to, timeZone)"
            )));
        }
        let time = |field: &str| -> Result<Time, PolicyError> {
            match map.get(field) {
                None | Some(Value::Null) => Err(fail(field, "is required (\"HH:MM\")".into())),
                Some(Value::String(text)) => parse_clock(text).ok_or_else(|| {
                    fail(
                        field,
                        format!(
                            "{} is not a time of day \"HH:MM\" from 00:00 to 23:59",
                            quote(text)
                        ),
                    )
                }),
                Some(_) => Err(fail(field, "must be a string \"HH:MM\"".into())),
            }
        };
        let (from, to) = (time("from")?, time("to")?);
        if from == to {
            return Err(fail(
                "to",
                "equals from: a window must have a length (for whole days, two windows: 00:00-12:00 and 12:00-00:00)"
                    .into(),
            ));
        }
        let zone_name = match map.get("timeZone") {
            None | Some(Value::Null) => "UTC".to_string(),
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(fail("timeZone", "must be an IANA name string".into())),
        };
        let zone = TimeZone::get(&zone_name).map_err(|_| {
            fail(
                "timeZone",
                format!(
                    "{} is not an IANA time zone such as Europe/Berlin or UTC",
                    quote(&zone_name)
                ),
            )
        })?;
        let days = match map.get("days") {
            None | Some(Value::Null) => [true; 7],
            Some(Value::Array(items)) => parse_days(items, at)?,
            Some(_) => {
                return Err(fail(
                    "days",
                    "must be a list such as [\"Mon\",\"Tue\"]".into(),
                ));
            }
        };
        Ok(Window {
            days,
            from,
            to,
            zone,
            zone_name,
        })
    }

    /// The occurrence in force at `now`, if any; when two overlap (a window of nearly a
    /// day that a fall-back night lengthens past the next start), the one that ends later.
    pub fn in_force(&self, now: Timestamp) -> Option<Occurrence> {
        let today = self.zone.to_datetime(now).date();
        // A window lasts at most a day (25 hours on a fall-back night), so only one that
        // started today or yesterday can still be running.
        [today.yesterday().ok()?, today]
            .into_iter()
            .filter_map(|date| self.occurrence(date))
            .filter(|o| o.start <= now && now < o.end)
            .max_by_key(|o| o.end)
    }

    /// The start of the first occurrence after `now` (within the next eight days, which
    /// covers every window since each names at least one weekday).
    pub fn next_start(&self, now: Timestamp) -> Option<Timestamp> {
        let mut date = self.zone.to_datetime(now).date().yesterday().ok()?;
        for _ in 0..10 {
            if let Some(o) = self.occurrence(date)
                && o.start > now
            {
                return Some(o.start);
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// The occurrence that starts on `date`, if the window runs that day. `None` too when
    /// a daylight-saving jump leaves it no time at all (e.g. 02:30–03:00 on a night that
    /// skips from 02:00 to 03:00).
    fn occurrence(&self, date: Date) -> Option<Occurrence> {
        if !self.days[weekday_index(date.weekday())] {
            return None;
        }
        let end_date = if self.to < self.from {
            date.tomorrow().ok()?
        } else {
            date
        };
        let start = self.zone.to_timestamp(date.to_datetime(self.from)).ok()?;
        let end = self.zone.to_timestamp(end_date.to_datetime(self.to)).ok()?;
        (start < end).then_some(Occurrence { start, end })
    }

    /// How the window reads, for messages: `Mon,Fri 20:00-07:00 Europe/Berlin`.
    pub fn describe(&self) -> String {
        let days: Vec<&str> = DAY_NAMES
            .iter()
            .filter(|(_, day)| self.days[weekday_index(*day)])
            .map(|(name, _)| *name)
            .collect();
        let days = if days.len() == 7 {
            "every day".to_string()
        } else {
            days.join(",")
        };
        format!(
            "{days} {}-{} {}",
            self.from.strftime("%H:%M"),
            self.to.strftime("%H:%M"),
            self.zone_name
        )
    }
}

fn weekday_index(day: Weekday) -> usize {
    usize::from(day.to_monday_zero_offset().unsigned_abs())
}

/// `HH:MM`, exactly: two digits, a colon, two digits.
fn parse_clock(text: &str) -> Option<Time> {
    let (hours, minutes) = text.split_once(':')?;
    let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return None;
    }
    let (h, m): (i8, i8) = (hours.parse().ok()?, minutes.parse().ok()?);
    Time::new(h, m, 0, 0).ok()
}

fn parse_days(items: &[Value], at: &str) -> Result<[bool; 7], PolicyError> {
    if items.is_empty() {
        return Err(PolicyError(format!(
            "{at}.days is empty; leave it out for every day"
        )));
    }
    let mut days = [false; 7];
    for (i, item) in items.iter().enumerate() {
        let name = item.as_str().unwrap_or("");
        let Some((_, day)) = DAY_NAMES.iter().find(|(n, _)| *n == name) else {
            let shown = match item {
                Value::String(text) => quote(text),
                Value::Array(_) => "a list".to_string(),
                Value::Object(_) => "an object".to_string(),
                // null, a boolean or a number: short.
                other => other.to_string(),
            };
            return Err(PolicyError(format!(
                "{at}.days[{i}] {shown} is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun"
            )));
        };
        let slot = &mut days[weekday_index(*day)];
        if *slot {
            return Err(PolicyError(format!(
                "{at}.days[{i}] {name} is listed twice"
            )));
        }
        *slot = true;
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn window(v: Value) -> Window {
        Window::parse(&v, "lockdownWindows[0]").unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn error(v: Value) -> String {
        Window::parse(&v, "lockdownWindows[1]").unwrap_err().0
    }

    #[test]
    fn a_night_window_crosses_midnight_and_belongs_to_its_start_day() {
        let w = window(json!({"days": ["Fri"], "from": "20:00", "to": "07:00"}));
        // Friday 2026-12-04.
        assert_eq!(w.in_force(at("2026-12-04T19:59:59Z")), None);
        let o = w.in_force(at("2026-12-04T20:00:00Z")).unwrap();
        assert_eq!(
            (o.start, o.end),
            (at("2026-12-04T20:00:00Z"), at("2026-12-05T07:00:00Z"))
        );
        assert!(
            w.in_force(at("2026-12-05T06:59:59Z")).is_some(),
            "Saturday morning"
        );
        assert_eq!(
            w.in_force(at("2026-12-05T07:00:00Z")),
            None,
            "the end is excluded"
        );
        assert_eq!(
            w.in_force(at("2026-12-05T21:00:00Z")),
            None,
            "Saturday is not listed"
        );
        assert_eq!(
            w.next_start(at("2026-12-05T07:00:00Z")),
            Some(at("2026-12-11T20:00:00Z"))
        );
    }

    #[test]
    fn spring_forward_night_is_an_hour_shorter_in_berlin() {
        // 2027-03-28: Berlin skips 02:00 -> 03:00 (UTC+1 -> UTC+2).
        let w = window(json!({"from": "20:00", "to": "07:00", "timeZone": "Europe/Berlin"}));
        let o = w.in_force(at("2027-03-28T01:30:00Z")).unwrap();
        assert_eq!(o.start, at("2027-03-27T19:00:00Z"), "20:00 CET");
        assert_eq!(o.end, at("2027-03-28T05:00:00Z"), "07:00 CEST");
        assert_eq!(o.end.duration_since(o.start).as_secs(), 10 * 3600);
    }

    #[test]
    fn fall_back_night_is_an_hour_longer_in_berlin() {
        // 2027-10-31: Berlin repeats 02:00-03:00 (UTC+2 -> UTC+1).
        let w = window(json!({"from": "20:00", "to": "07:00", "timeZone": "Europe/Berlin"}));
        let o = w.in_force(at("2027-10-31T02:30:00Z")).unwrap();
        assert_eq!(o.start, at("2027-10-30T18:00:00Z"), "20:00 CEST");
        assert_eq!(o.end, at("2027-10-31T06:00:00Z"), "07:00 CET");
        assert_eq!(o.end.duration_since(o.start).as_secs(), 12 * 3600);
    }

    #[test]
    fn a_start_inside_the_skipped_hour_starts_after_the_jump() {
        // New York, 2027-03-14: 02:00 -> 03:00. A 02:30 start is read as 03:30 EDT.
        let w = window(json!({"from": "02:30", "to": "05:00", "timeZone": "America/New_York"}));
        let o = w.in_force(at("2027-03-14T08:00:00Z")).unwrap();
        assert_eq!(o.start, at("2027-03-14T07:30:00Z"), "03:30 EDT");
        assert_eq!(o.end, at("2027-03-14T09:00:00Z"), "05:00 EDT");
        assert_eq!(w.in_force(at("2027-03-14T07:29:59Z")), None);
        // The next day the window is back to 02:30 EDT.
        assert_eq!(
            w.next_start(at("2027-03-14T09:00:00Z")),
            Some(at("2027-03-15T06:30:00Z"))
        );
    }

    #[test]
    fn a_window_inside_the_skipped_hour_has_no_time_that_night() {
        let w = window(json!({"from": "02:10", "to": "02:50", "timeZone": "America/New_York"}));
        // 02:10 -> 03:10 and 02:50 -> 03:50 after the jump: still 40 minutes.
        let o = w.in_force(at("2027-03-14T07:20:00Z")).unwrap();
        assert_eq!(o.end.duration_since(o.start).as_secs(), 40 * 60);
        let gone = window(json!({"from": "02:30", "to": "03:00", "timeZone": "America/New_York"}));
        // 02:30 -> 03:30, after its own end at 03:00: no occurrence that night.
        assert_eq!(gone.in_force(at("2027-03-14T07:15:00Z")), None);
        assert_eq!(gone.in_force(at("2027-03-14T07:45:00Z")), None);
    }

    #[test]
    fn invalid_windows_name_the_field() {
        assert!(error(json!({"from": "25:00", "to": "07:00"})).contains("lockdownWindows[1].from"));
        assert!(error(json!({"from": "8:00", "to": "07:00"})).contains("lockdownWindows[1].from"));
        assert!(error(json!({"from": "20:00"})).contains("lockdownWindows[1].to is required"));
        assert!(
            error(json!({"from": "20:00", "to": "20:00"}))
                .contains("lockdownWindows[1].to equals from")
        );
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "timeZone": "Mars/Olympus"}))
                .contains("lockdownWindows[1].timeZone")
        );
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "days": []})).contains("days is empty")
        );
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "days": ["Mon", "Mon"]}))
                .contains("days[1] Mon is listed twice")
        );
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "days": ["Monday"]}))
                .contains("lockdownWindows[1].days[0]")
        );
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "tz": "UTC"}))
                .contains("lockdownWindows[1].tz")
        );
        assert!(error(json!("20:00-07:00")).contains("lockdownWindows[1] must be an object"));
    }

    #[test]
    fn two_windows_cover_whole_days_as_the_from_equals_to_message_says() {
        let morning = window(json!({"from": "00:00", "to": "12:00"}));
        let rest = window(json!({"from": "12:00", "to": "00:00"}));
        let start = at("2026-12-04T00:00:00Z").as_second();
        for second in (0..2 * 86_400).step_by(59) {
            let now = Timestamp::from_second(start + second).unwrap();
            assert!(
                morning.in_force(now).is_some() || rest.in_force(now).is_some(),
                "{now}"
            );
        }
    }

    #[test]
    fn messages_quote_huge_or_odd_values_briefly() {
        let huge = "a".repeat(1_000_000);
        let odd = "\u{10ffff}".repeat(10_000);
        for (v, field) in [
            (
                json!({"from": huge, "to": "07:00"}),
                "lockdownWindows[1].from \"aaa",
            ),
            (
                json!({"from": "20:00", "to": odd}),
                "lockdownWindows[1].to \"\\u{10ffff}",
            ),
            (
                json!({"from": "20:00", "to": "07:00", "timeZone": huge}),
                "lockdownWindows[1].timeZone \"aaa",
            ),
            (
                json!({"from": "20:00", "to": "07:00", "days": [huge]}),
                "lockdownWindows[1].days[0] \"aaa",
            ),
            (
                json!({"from": "20:00", "to": "07:00", "days": ["Mon", [huge]]}),
                "lockdownWindows[1].days[1] a list",
            ),
            (
                json!({huge.clone(): 1, "from": "20:00", "to": "07:00"}),
                "lockdownWindows[1].\"aaa",
            ),
        ] {
            let message = error(v);
            assert!(message.contains(field), "{message}");
            assert!(
                message.len() < 200,
                "{} bytes: {message:.300}",
                message.len()
            );
            assert!(!message.chars().any(char::is_control), "{message:?}");
        }
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "timeZone": "UTC\n"}))
                .contains(r#""UTC\n""#)
        );
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "days": [{"a": 1}]}))
                .contains("days[0] an object")
        );
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "days": [1]}))
                .contains("days[0] 1 is not")
        );
        assert!(
            error(json!({"from": "20:00", "to": "07:00", "ti\nme": 1}))
                .contains(r#"lockdownWindows[1]."ti\nme" is not"#)
        );
        // Short values read as before.
        assert!(
            error(json!({"from": "25:00", "to": "07:00"}))
                .contains(r#"lockdownWindows[1].from "25:00" is not"#)
        );
        assert_eq!(quote(&"é".repeat(48)), format!("\"{}\"", "é".repeat(48)));
        assert_eq!(quote(&"é".repeat(49)), format!("\"{}\"…", "é".repeat(48)));
    }

    #[test]
    fn descriptions_read_like_the_policy() {
        let w = window(
            json!({"days": ["Sat", "Sun"], "from": "00:00", "to": "23:59", "timeZone": "Asia/Tokyo"}),
        );
        assert_eq!(w.describe(), "Sat,Sun 00:00-23:59 Asia/Tokyo");
        assert_eq!(
            window(json!({"from": "20:00", "to": "07:00"})).describe(),
            "every day 20:00-07:00 UTC"
        );
    }
}
