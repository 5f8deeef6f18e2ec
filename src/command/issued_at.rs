//! `issuedAt`: when the producer issued the command, so a late delivery (an SQS
//! dead-letter redrive, an EventBridge retry hours later) can be told from a request for
//! access *now* (docs/DESIGN.md §3, "Freshness").
//!
//! Accepted on every action, so a producer may always send it; only `grant` and `extend`
//! are held to it (`policy::freshness`). The text must be RFC 3339 exactly — `Z` or a
//! numeric offset within ±23:59, seconds required — because jiff alone reads a wider
//! ISO 8601 (`+25:00`, a space for `T`, no offset minutes, `[zone]` annotations…) and a
//! timestamp that two readers may read differently is not evidence of anything.
//!
//! A leap second (`23:59:60`) is read as jiff reads it: clamped to `:59`. That is at
//! most one second early, which no age bound measured in minutes can notice, and
//! refusing it would refuse a valid RFC 3339 time.

use jiff::Timestamp;
use serde_json::Value;

use super::fields::{Fields, printable, type_name};
use crate::rejection::Rejection;

/// The field's wire name, written once.
pub const ISSUED_AT: &str = "issuedAt";

/// Longest RFC 3339 text: `YYYY-MM-DDTHH:MM:SS.fffffffff+HH:MM` (nanoseconds, jiff's
/// finest). Anything longer is refused before any parsing.
const MAX_LEN: usize = 35;

/// `issuedAt` if present (`null` is absent): an RFC 3339 string, else `InvalidField`.
pub(super) fn parse(f: &mut Fields) -> Result<Option<Timestamp>, Rejection> {
    match f.value(ISSUED_AT) {
        None => Ok(None),
        Some(Value::String(text)) => parse_rfc3339(text).map(Some).map_err(|why| {
            Rejection::invalid(
                ISSUED_AT,
                &format!("{EXPECTED}: {} {why}", printable(text, 40)),
            )
        }),
        Some(other) => Err(Rejection::invalid(
            ISSUED_AT,
            &format!(
                "a string, {EXPECTED}, got {}{}",
                type_name(other),
                match other {
                    Value::Number(_) => " (epoch numbers are not accepted)",
                    _ => "",
                }
            ),
        )),
    }
}

const EXPECTED: &str =
    "an RFC 3339 time with `Z` or a numeric offset such as \"2026-11-23T10:00:00Z\"";

/// An RFC 3339 `date-time` (section 5.6), or why not (a phrase for a message).
pub fn parse_rfc3339(text: &str) -> Result<Timestamp, &'static str> {
    if text.len() > MAX_LEN || !text.is_ascii() {
        return Err("is not an RFC 3339 time");
    }
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| b.get(i).is_some_and(|x| x.eq_ignore_ascii_case(&c));
    let shape = digits(0..4)
        && at(4, b'-')
        && digits(5..7)
        && at(7, b'-')
        && digits(8..10)
        && at(10, b'T')
        && digits(11..13)
        && at(13, b':')
        && digits(14..16)
        && at(16, b':')
        && digits(17..19);
    if !shape {
        return Err("is not an RFC 3339 time (YYYY-MM-DDTHH:MM:SS)");
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return Err("has a fraction of a second that is not 1 to 9 digits");
        }
        rest = &fraction[n..];
    }
    match rest {
        [z] if z.eq_ignore_ascii_case(&b'Z') => {}
        [sign, h1, h2, b':', m1, m2]
            if matches!(sign, b'+' | b'-')
                && [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let hours = (h1 - b'0') * 10 + (h2 - b'0');
            let minutes = (m1 - b'0') * 10 + (m2 - b'0');
            if hours > 23 || minutes > 59 {
                return Err("has an offset outside -23:59 to +23:59");
            }
        }
        [] => return Err("has no offset: add `Z` or one such as +01:00"),
        _ => return Err("does not end in `Z` or an offset such as +01:00"),
    }
    text.parse::<Timestamp>()
        .map_err(|_| "is not a valid date and time (or is outside years 0000 to 9999)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::Code;
    use serde_json::json;

    fn read(v: Value) -> Result<Option<Timestamp>, Rejection> {
        let object = json!({ "issuedAt": v });
        let mut f = Fields::new(&object, "a command").unwrap();
        parse(&mut f)
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn rfc3339_with_z_or_an_offset() {
        let ten = at("2026-11-23T10:00:00Z");
        assert_eq!(read(json!("2026-11-23T10:00:00Z")).unwrap(), Some(ten));
        assert_eq!(read(json!("2026-11-23T11:00:00+01:00")).unwrap(), Some(ten));
        assert_eq!(read(json!("2026-11-23T04:30:00-05:30")).unwrap(), Some(ten));
        assert_eq!(read(json!("2026-11-23t10:00:00z")).unwrap(), Some(ten));
        assert_eq!(read(json!("2026-11-23T10:00:00-00:00")).unwrap(), Some(ten));
        assert_eq!(
            read(json!("2026-11-23T10:00:00.123456789Z")).unwrap(),
            Some(at("2026-11-23T10:00:00.123456789Z"))
        );
        assert_eq!(
            read(json!("2026-11-23T10:00:00+23:59")).unwrap(),
            Some(at("2026-11-22T10:01:00Z"))
        );
        assert_eq!(read(Value::Null).unwrap(), None, "null is absent");
    }

    #[test]
    fn a_leap_second_is_read_as_the_second_before() {
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z"),
            Ok(at("2016-12-31T23:59:59Z"))
        );
        assert_eq!(
            parse_rfc3339("2017-01-01T00:59:60+01:00"),
            Ok(at("2016-12-31T23:59:59Z"))
        );
        assert!(parse_rfc3339("2016-12-31T23:59:61Z").is_err());
    }

    #[test]
    fn years_0000_to_9999_within_jiffs_range() {
        assert_eq!(
            parse_rfc3339("0000-01-01T00:00:00Z"),
            Ok(at("0000-01-01T00:00:00Z"))
        );
        // jiff's last instant is 9999-12-30T22:00:00Z: every offset must still give a
        // civil time in year 9999.
        assert!(parse_rfc3339("9999-12-31T23:59:59Z").is_err());
        assert!(parse_rfc3339("9999-12-30T21:59:59Z").is_ok());
    }

    #[test]
    fn anything_else_is_invalid_field_naming_issued_at() {
        for bad in [
            json!(""),
            json!("now"),
            json!("2026-11-23"),
            json!("2026-11-23T10:00:00"),
            json!("2026-11-23T10:00Z"),
            json!("2026-11-23 10:00:00Z"),
            json!("20261123T100000Z"),
            json!("2026-11-23T10:00:00+25:00"),
            json!("2026-11-23T10:00:00+24:00"),
            json!("2026-11-23T10:00:00+01:60"),
            json!("2026-11-23T10:00:00+01"),
            json!("2026-11-23T10:00:00+0100"),
            json!("2026-11-23T10:00:00Z[Europe/Berlin]"),
            json!("2026-11-23T10:00:00.Z"),
            json!("2026-11-23T10:00:00.1234567890Z"),
            json!("2026-02-30T10:00:00Z"),
            json!("2026-11-23T24:00:00Z"),
            json!(" 2026-11-23T10:00:00Z"),
            json!("+002026-11-23T10:00:00Z"),
            json!("２０２６-11-23T10:00:00Z"),
            json!("x".repeat(1 << 20)),
            json!(1_790_157_600),
            json!(1_790_157_600_000_u64),
            json!(true),
            json!({"at": "2026-11-23T10:00:00Z"}),
            json!(["2026-11-23T10:00:00Z"]),
        ] {
            let e = read(bad.clone()).unwrap_err();
            assert_eq!(e.code, Code::InvalidField, "{bad}");
            assert!(e.message.contains("`issuedAt`"), "{bad}: {}", e.message);
            assert!(e.message.len() < 300, "{bad}: {}", e.message);
        }
        let e = read(json!("2026-11-23T10:00:00+25:00")).unwrap_err();
        assert!(e.message.contains("offset outside"), "{}", e.message);
        let e = read(json!("2026-11-23T10:00:00")).unwrap_err();
        assert!(e.message.contains("no offset"), "{}", e.message);
        let e = read(json!(1_790_157_600)).unwrap_err();
        assert_eq!(
            e.message,
            "`issuedAt` must be a string, an RFC 3339 time with `Z` or a numeric offset such as \"2026-11-23T10:00:00Z\", got a number (epoch numbers are not accepted)"
        );
        let e = read(json!("2026-11-23T10:00:00+25:00")).unwrap_err();
        assert_eq!(
            e.message,
            "`issuedAt` must be an RFC 3339 time with `Z` or a numeric offset such as \"2026-11-23T10:00:00Z\": \"2026-11-23T10:00:00+25:00\" has an offset outside -23:59 to +23:59"
        );
    }
}
