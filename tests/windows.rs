//! Lockdown windows against a second, naive formulation.
//!
//! The naive one reads the wall clock: "is it between `from` and `to` on a listed day
//! (or, for a window that crosses midnight, after `from` on a listed day or before `to`
//! the day after one)?". It knows nothing of occurrences, instants or daylight-saving
//! rules, so away from a zone's transitions both must agree on every instant; near a
//! transition the wall clock is ambiguous and the unit tests of `policy::window` pin the
//! behaviour night by night instead.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use lightsail_jit::policy::window::Window;
use proptest::prelude::*;
use serde_json::json;

const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
];
const DAYS: [(&str, Weekday); 7] = [
    ("Mon", Weekday::Monday),
    ("Tue", Weekday::Tuesday),
    ("Wed", Weekday::Wednesday),
    ("Thu", Weekday::Thursday),
    ("Fri", Weekday::Friday),
    ("Sat", Weekday::Saturday),
    ("Sun", Weekday::Sunday),
];

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn naive(zone: &TimeZone, days: &[Weekday], from: Time, to: Time, now: Timestamp) -> bool {
    let local = zone.to_datetime(now);
    let listed = |day: Weekday| days.contains(&day);
    let (today, time) = (local.date().weekday(), local.time());
    if from < to {
        listed(today) && from <= time && time < to
    } else {
        (listed(today) && time >= from) || (listed(today.previous()) && time < to)
    }
}

/// No transition of `zone` within a day and a bit of `now`.
fn far_from_transitions(zone: &TimeZone, now: Timestamp) -> bool {
    let margin = SignedDuration::from_hours(27);
    let near = |t: Timestamp| (t.duration_since(now)).abs() < margin;
    let before = zone.preceding(now).next().map(|t| t.timestamp());
    let after = zone.following(now).next().map(|t| t.timestamp());
    !before.is_some_and(near) && !after.is_some_and(near)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn windows_agree_with_the_wall_clock_away_from_transitions(
        zone in 0..ZONES.len(),
        day_mask in 1u8..128,
        from in 0u16..1440,
        to in 0u16..1440,
        second in 1_780_000_000i64..1_860_000_000,
    ) {
        prop_assume!(from != to);
        let days: Vec<(&str, Weekday)> =
            DAYS.iter().copied().enumerate().filter(|(i, _)| day_mask & (1 << i) != 0).map(|(_, d)| d).collect();
        let names: Vec<&str> = days.iter().map(|(n, _)| *n).collect();
        let window = Window::parse(
            &json!({"days": names, "from": clock(from), "to": clock(to), "timeZone": ZONES[zone]}),
            "lockdownWindows[0]",
        ).unwrap();
        let tz = TimeZone::get(ZONES[zone]).unwrap();
        let now = Timestamp::from_second(second).unwrap();
        prop_assume!(far_from_transitions(&tz, now));
        let time = |m: u16| Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).unwrap();
        let weekdays: Vec<Weekday> = days.iter().map(|(_, d)| *d).collect();
        let expected = naive(&tz, &weekdays, time(from), time(to), now);
        let occurrence = window.in_force(now);
        prop_assert_eq!(occurrence.is_some(), expected, "{} at {}", window.describe(), now);
        if let Some(o) = occurrence {
            prop_assert!(o.start <= now && now < o.end);
            prop_assert!(o.end.duration_since(o.start) <= SignedDuration::from_hours(25));
        }
        // The next start is in the future, and the window is in force from that instant.
        let next = window.next_start(now).unwrap();
        prop_assert!(next > now);
        prop_assert!(window.in_force(next).is_some_and(|o| o.end > next));
    }
}
