//! Durations as people and bots write them: `"30m"`, `"2h"`, `"1h30m"`, ISO-8601
//! `"PT1H"`, or whole seconds as a number (or a string of digits).
//!
//! Parsing is jiff's (it reads both the friendly and the ISO-8601 forms); this module
//! only adds the product rules: whole seconds, strictly positive.

use std::time::Duration;

use jiff::SignedDuration;
use serde_json::Value;

use super::fields::{printable, type_name};
use crate::rejection::{Code, Rejection};

pub fn parse_duration(value: &Value, field: &str) -> Result<Duration, Rejection> {
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(secs) => positive(secs, field),
            None => Err(invalid(
                field,
                &format!("{n} is not a positive whole number of seconds"),
            )),
        },
        Value::String(text) => parse_text(text, field),
        other => Err(Rejection::invalid(
            field,
            &format!(
                "a duration such as \"1h30m\", \"PT1H\" or 3600, got {}",
                type_name(other)
            ),
        )),
    }
}

pub fn parse_text(text: &str, field: &str) -> Result<Duration, Rejection> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u64>() {
            Ok(secs) => positive(secs, field),
            Err(_) => Err(invalid(
                field,
                &format!("{} seconds is out of range", printable(text, 30)),
            )),
        };
    }
    let parsed: SignedDuration = text.parse().map_err(|_| {
        invalid(
            field,
            &format!(
                "{} is not a duration such as \"30m\", \"1h30m\", \"PT1H\" or a number of seconds",
                printable(text, 40)
            ),
        )
    })?;
    if parsed.is_negative() || parsed.is_zero() {
        return Err(invalid(
            field,
            &format!("{} must be greater than zero", printable(text, 40)),
        ));
    }
    if parsed.subsec_nanos() != 0 {
        return Err(invalid(
            field,
            &format!("{} must be whole seconds", printable(text, 40)),
        ));
    }
    positive(parsed.as_secs().unsigned_abs(), field)
}

fn positive(secs: u64, field: &str) -> Result<Duration, Rejection> {
    if secs == 0 {
        Err(invalid(field, "must be greater than zero"))
    } else {
        Ok(Duration::from_secs(secs))
    }
}

fn invalid(field: &str, why: &str) -> Rejection {
    Rejection::new(Code::InvalidDuration, format!("`{field}`: {why}"))
}

/// `3600` → `"1h"`, `5400` → `"1h 30m"`: for messages.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let parts: Vec<String> = [(h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(v: Value) -> u64 {
        parse_duration(&v, "duration").unwrap().as_secs()
    }

    fn code(v: Value) -> Code {
        parse_duration(&v, "duration").unwrap_err().code
    }

    #[test]
    fn every_documented_form() {
        assert_eq!(secs(json!("30m")), 1800);
        assert_eq!(secs(json!("2h")), 7200);
        assert_eq!(secs(json!("1h30m")), 5400);
        assert_eq!(secs(json!("PT1H")), 3600);
        assert_eq!(secs(json!("PT1H30M")), 5400);
        assert_eq!(secs(json!(5)), 5);
        assert_eq!(secs(json!("5")), 5);
        assert_eq!(secs(json!("3s")), 3);
    }

    #[test]
    fn nonsense_is_invalid() {
        for bad in [
            json!("0"),
            json!(0),
            json!("-1h"),
            json!("PT0S"),
            json!("soon"),
            json!(""),
            json!(-5),
            json!(1.5),
            json!("1000y"),
            json!("500ms"),
        ] {
            assert_eq!(code(bad.clone()), Code::InvalidDuration, "{bad}");
        }
        assert_eq!(code(json!(true)), Code::InvalidField);
    }

    #[test]
    fn human_form() {
        assert_eq!(human(Duration::from_secs(5400)), "1h 30m");
        assert_eq!(human(Duration::from_secs(43200)), "12h");
        assert_eq!(human(Duration::from_secs(7)), "7s");
    }
}
