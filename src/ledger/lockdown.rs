//! A lockdown started by command, as tags on the instance it holds:
//!
//! * `jit:lockdown` = `v1 <since> <until|-> <requestId> [<requester>]` (epoch seconds,
//!   `-` for a lockdown that holds until `unlock`; the requester last, it may contain
//!   spaces);
//! * `jit:lockdown:reason` = the reason, when there is one, in tag characters.
//!
//! Recording it on the instance (not in the invocation) is what makes it *hold*: every
//! later sweep, on any cold start, reads it and keeps the lockdown rules in place, and
//! every grant sees it. The request id makes a redelivered `lockdown` a no-op instead of
//! a lockdown whose end moves with each retry.
//!
//! A `jit:lockdown` tag that does not decode is read as a lockdown without end: the
//! ledger fails closed, and `unlock` removes it.

use jiff::Timestamp;

use super::tag::{MAX_VALUE_CHARS, Tag, is_tag_char};
use super::{LOCKDOWN_KEY, LOCKDOWN_REASON_KEY, VERSION};

/// A lockdown by command: since when, until when (`None`: until `unlock`), by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockdownRecord {
    pub request_id: String,
    pub since: Timestamp,
    pub until: Option<Timestamp>,
    pub requester: Option<String>,
    pub reason: Option<String>,
}

impl LockdownRecord {
    /// In force until its end. Not "since": another invocation's clock may run a little
    /// behind the one that wrote the record, and must not read it as not yet begun.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.until.is_none_or(|until| until > now)
    }

    /// What a `jit:lockdown` tag that does not decode stands for: a lockdown without
    /// end, since an unknown time (shown as the epoch).
    pub fn unreadable() -> Self {
        LockdownRecord {
            request_id: String::new(),
            since: Timestamp::UNIX_EPOCH,
            until: None,
            requester: None,
            reason: Some("the jit:lockdown tag cannot be read; unlock to end it".into()),
        }
    }
}

/// The record as tags. It always fits: a request id (≤ 100 characters) and a requester
/// (≤ 64) are validated where they enter, so the value stays under Lightsail's 256
/// characters (the test `the_longest_record_fits` holds that).
pub fn encode_lockdown(record: &LockdownRecord) -> Vec<Tag> {
    let until = record
        .until
        .map_or_else(|| "-".to_string(), |t| t.as_second().to_string());
    let mut value = format!(
        "{VERSION} {} {until} {}",
        record.since.as_second(),
        record.request_id
    );
    if let Some(requester) = &record.requester {
        value.push(' ');
        value.push_str(requester);
    }
    let mut tags = vec![Tag::new(LOCKDOWN_KEY, value)];
    if let Some(reason) = record.reason.as_deref().map(reason_value)
        && !reason.is_empty()
    {
        tags.push(Tag::new(LOCKDOWN_REASON_KEY, reason));
    }
    tags
}

pub fn decode_lockdown(value: &str, reason: Option<&str>) -> Option<LockdownRecord> {
    let mut parts = value.splitn(5, ' ');
    if parts.next()? != VERSION {
        return None;
    }
    let since = Timestamp::from_second(parts.next()?.parse().ok()?).ok()?;
    let until = match parts.next()? {
        "-" => None,
        secs => Some(Timestamp::from_second(secs.parse().ok()?).ok()?),
    };
    let request_id = parts.next().filter(|id| !id.is_empty())?.to_string();
    let requester = parts.next().filter(|r| !r.is_empty()).map(str::to_string);
    Some(LockdownRecord {
        request_id,
        since,
        until,
        requester,
        reason: reason.filter(|r| !r.is_empty()).map(str::to_string),
    })
}

/// A reason as a tag value can hold it: characters Lightsail refuses become `_`, at most
/// 256 of them, never starting with the reserved `aws:`. The full reason is in the audit
/// log; the tag is for whoever reads the instance in the console.
fn reason_value(reason: &str) -> String {
    let mut value: String = reason
        .trim()
        .chars()
        .map(|c| if is_tag_char(c) { c } else { '_' })
        .take(MAX_VALUE_CHARS)
        .collect();
    if value.to_ascii_lowercase().starts_with("aws:") {
        value.insert(0, '_');
        value = value.chars().take(MAX_VALUE_CHARS).collect();
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tag_problem;

    fn record() -> LockdownRecord {
        LockdownRecord {
            request_id: "night-2026-12-02".into(),
            since: Timestamp::from_second(1_790_000_000).unwrap(),
            until: Some(Timestamp::from_second(1_790_032_400).unwrap()),
            requester: Some("ops team".into()),
            reason: Some("night".into()),
        }
    }

    #[test]
    fn round_trips_timed_and_open_ended() {
        let tags = encode_lockdown(&record());
        assert_eq!(tags[0].key, "jit:lockdown");
        assert_eq!(
            tags[0].value.as_deref(),
            Some("v1 1790000000 1790032400 night-2026-12-02 ops team")
        );
        let decoded = decode_lockdown(tags[0].value.as_deref().unwrap(), tags[1].value.as_deref());
        assert_eq!(decoded, Some(record()));
        let open = LockdownRecord {
            until: None,
            requester: None,
            reason: None,
            ..record()
        };
        let tags = encode_lockdown(&open);
        assert_eq!(tags.len(), 1, "no reason, no reason tag");
        assert_eq!(
            decode_lockdown(tags[0].value.as_deref().unwrap(), None),
            Some(open)
        );
    }

    #[test]
    fn a_reason_is_kept_within_the_tag_rules() {
        let long = LockdownRecord {
            reason: Some(format!("aws:{}", "ü, \"x\";".repeat(100))),
            ..record()
        };
        let tags = encode_lockdown(&long);
        for tag in &tags {
            assert_eq!(tag_problem(tag), None, "{tag:?}");
        }
        let reason = tags[1].value.as_deref().unwrap();
        assert!(reason.starts_with("_aws:ü_ _x__ü"), "{reason}");
        assert_eq!(reason.chars().count(), MAX_VALUE_CHARS);
    }

    #[test]
    fn the_longest_record_fits() {
        use crate::command::{MAX_REQUEST_ID, MAX_REQUESTER};
        let longest = LockdownRecord {
            request_id: "r".repeat(MAX_REQUEST_ID),
            since: Timestamp::MIN,
            until: Some(Timestamp::MAX),
            requester: Some("w".repeat(MAX_REQUESTER)),
            reason: Some("x".repeat(10 * MAX_VALUE_CHARS)),
        };
        for tag in encode_lockdown(&longest) {
            assert_eq!(tag_problem(&tag), None, "{tag:?}");
        }
    }

    #[test]
    fn in_force_until_its_end() {
        let r = record();
        assert!(r.in_force(r.since));
        assert!(!r.in_force(r.until.unwrap()));
        assert!(r.in_force(Timestamp::from_second(1_789_999_999).unwrap()));
        assert!(
            LockdownRecord {
                until: None,
                ..record()
            }
            .in_force(Timestamp::MAX)
        );
    }

    #[test]
    fn junk_does_not_decode() {
        for junk in [
            "", "v1", "v2 1 - r", "v1 x - r", "v1 1 y r", "v1 1 -", "v1 1 - ",
        ] {
            assert_eq!(decode_lockdown(junk, None), None, "{junk:?}");
        }
    }
}
