//! The timestamp a transport wrote on a delivery: the EventBridge event's `time`, or the
//! SQS record's `attributes.SentTimestamp` (epoch milliseconds as a string, as Lambda
//! delivers it).
//!
//! Why keep it: a grant's age is how we tell a request for access *now* from one
//! redelivered hours later (docs/DESIGN.md §3, "Freshness"). The command's own
//! `issuedAt` comes first; this stamp is the fallback when a policy lets a producer
//! leave it out. An EventBridge event inside an SQS body keeps the event's `time`,
//! which is when the producer put it on the bus, not when the rule moved it to the queue.
//!
//! Reading never fails the delivery: a stamp that is there but unreadable is kept as
//! [`SentAt::Unreadable`], because it only matters when it is the age's source (a
//! `grant` or `extend` without `issuedAt`), and a revoke must not be refused for it.

use jiff::Timestamp;
use serde_json::Value;

use crate::command::{parse_rfc3339, printable, type_name};

/// An EventBridge event's `time`.
const EVENT_TIME: &str = "time";
/// An SQS record's `attributes`, and the stamp in it.
const SQS_ATTRIBUTES: &str = "attributes";
const SENT_TIMESTAMP: &str = "SentTimestamp";

/// Which transport attribute a stamp is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// The EventBridge event's `time`.
    EventTime,
    /// The SQS record's `attributes.SentTimestamp`.
    SentTimestamp,
}

impl Attribute {
    /// How a message names it, e.g. "the EventBridge event's `time`".
    pub fn describe(self) -> String {
        match self {
            Attribute::EventTime => format!("the EventBridge event's `{EVENT_TIME}`"),
            Attribute::SentTimestamp => {
                format!("the SQS record's `{SQS_ATTRIBUTES}.{SENT_TIMESTAMP}`")
            }
        }
    }
}

/// The transport's timestamp on one delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SentAt {
    /// Invoked directly (the CLI or SDK, a Scheduler payload, a rule's constant
    /// `Input`): no transport stamp exists.
    Direct,
    /// The stamp, read.
    Stamped { attribute: Attribute, at: Timestamp },
    /// A stamp that is there but is not a time (`why` quotes it, escaped and short).
    Unreadable { attribute: Attribute, why: String },
    /// Through EventBridge or SQS without a stamp: the attributes looked for, in order.
    Missing(&'static [Attribute]),
}

/// What carried a payload to the function.
#[derive(Clone, Copy, Debug)]
pub(super) enum Carrier<'a> {
    /// The Lambda payload itself (a direct invocation or an EventBridge event).
    Lambda,
    /// The body of this SQS record.
    Sqs(&'a Value),
}

impl Carrier<'_> {
    /// The stamp of a plain command carried this way.
    pub(super) fn sent_at(self) -> SentAt {
        match self {
            Carrier::Lambda => SentAt::Direct,
            Carrier::Sqs(record) => {
                sent_timestamp(record).unwrap_or(SentAt::Missing(&[Attribute::SentTimestamp]))
            }
        }
    }

    /// The stamp of an EventBridge event carried this way: its `time`, else (inside
    /// SQS) the record's `SentTimestamp`.
    pub(super) fn event_sent_at(self, event: &Value) -> SentAt {
        if let Some(stamp) = event_time(event) {
            return stamp;
        }
        match self {
            Carrier::Lambda => SentAt::Missing(&[Attribute::EventTime]),
            Carrier::Sqs(record) => sent_timestamp(record).unwrap_or(SentAt::Missing(&[
                Attribute::EventTime,
                Attribute::SentTimestamp,
            ])),
        }
    }
}

/// The event's `time` (RFC 3339, as EventBridge writes it), if it has one.
fn event_time(event: &Value) -> Option<SentAt> {
    let attribute = Attribute::EventTime;
    let unreadable = |why: String| SentAt::Unreadable { attribute, why };
    Some(match event.get(EVENT_TIME).filter(|v| !v.is_null())? {
        Value::String(text) => match parse_rfc3339(text) {
            Ok(at) => SentAt::Stamped { attribute, at },
            Err(why) => unreadable(format!("{} {why}", printable(text, 40))),
        },
        other => unreadable(format!("is {}, not an RFC 3339 string", type_name(other))),
    })
}

/// The record's `attributes.SentTimestamp`, if it has one.
fn sent_timestamp(record: &Value) -> Option<SentAt> {
    let attribute = Attribute::SentTimestamp;
    let unreadable = |why: String| SentAt::Unreadable { attribute, why };
    let attributes = record.get(SQS_ATTRIBUTES).filter(|v| !v.is_null())?;
    let Value::Object(attributes) = attributes else {
        return Some(unreadable(format!(
            "cannot be read: `{SQS_ATTRIBUTES}` is {}, not an object",
            type_name(attributes)
        )));
    };
    Some(
        match attributes.get(SENT_TIMESTAMP).filter(|v| !v.is_null())? {
            Value::String(text) => match epoch_millis(text) {
                Some(at) => SentAt::Stamped { attribute, at },
                None => unreadable(format!(
                    "{} is not epoch milliseconds within years 0000 to 9999",
                    printable(text, 40)
                )),
            },
            other => unreadable(format!(
                "is {}, not a string of epoch milliseconds",
                type_name(other)
            )),
        },
    )
}

/// Decimal digits only (no sign, no space, no fraction), within jiff's range.
fn epoch_millis(text: &str) -> Option<Timestamp> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Timestamp::from_millisecond(text.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Delivery, Payload};
    use serde_json::json;

    const TEN: &str = "2026-11-23T10:00:00Z";
    /// 2026-11-23T10:00:00Z in epoch milliseconds.
    const TEN_MS: &str = "1795428000000";

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn one(payload: Value) -> Delivery {
        match Payload::from_value(&payload, "inv").unwrap() {
            Payload::Single(d) => *d,
            Payload::Batch(mut records) => records.remove(0).delivery,
        }
    }

    fn event(time: Option<Value>) -> Value {
        let mut event = json!({"id": "ev-1", "source": "chatops", "detail-type": "JitRequest",
                               "detail": {"action": "status"}});
        if let Some(time) = time {
            event["time"] = time;
        }
        event
    }

    fn record(body: &Value, attributes: Option<Value>) -> Value {
        let mut record = json!({"messageId": "m1", "body": body.to_string()});
        if let Some(attributes) = attributes {
            record["attributes"] = attributes;
        }
        json!({"Records": [record]})
    }

    fn stamped(attribute: Attribute, text: &str) -> SentAt {
        SentAt::Stamped {
            attribute,
            at: at(text),
        }
    }

    #[test]
    fn the_constant_is_the_test_worlds_start() {
        assert_eq!(epoch_millis(TEN_MS), Some(at(TEN)));
    }

    #[test]
    fn a_direct_invocation_has_no_stamp() {
        assert_eq!(one(json!({"action": "status"})).sent_at, SentAt::Direct);
    }

    #[test]
    fn an_eventbridge_event_carries_its_time() {
        let d = one(event(Some(json!("2026-11-23T11:00:00+01:00"))));
        assert_eq!(d.sent_at, stamped(Attribute::EventTime, TEN));
        assert_eq!(
            one(event(None)).sent_at,
            SentAt::Missing(&[Attribute::EventTime])
        );
        assert_eq!(
            one(event(Some(Value::Null))).sent_at,
            SentAt::Missing(&[Attribute::EventTime])
        );
        let SentAt::Unreadable { attribute, why } = one(event(Some(json!("yesterday")))).sent_at
        else {
            panic!("not unreadable")
        };
        assert_eq!(attribute, Attribute::EventTime);
        assert!(why.contains("\"yesterday\""), "{why}");
        assert!(matches!(
            one(event(Some(json!(1_795_428_000)))).sent_at,
            SentAt::Unreadable { .. }
        ));
    }

    #[test]
    fn an_sqs_record_carries_its_sent_timestamp() {
        let body = json!({"action": "status"});
        let d = one(record(&body, Some(json!({"SentTimestamp": TEN_MS}))));
        assert_eq!(d.sent_at, stamped(Attribute::SentTimestamp, TEN));
        assert_eq!(
            one(record(&body, None)).sent_at,
            SentAt::Missing(&[Attribute::SentTimestamp])
        );
        assert_eq!(
            one(record(&body, Some(json!({"ApproximateReceiveCount": "1"})))).sent_at,
            SentAt::Missing(&[Attribute::SentTimestamp])
        );
        for bad in [
            json!({"SentTimestamp": "-1"}),
            json!({"SentTimestamp": ""}),
            json!({"SentTimestamp": " 1795428000000"}),
            json!({"SentTimestamp": "1795428000000.5"}),
            json!({"SentTimestamp": "1e12"}),
            json!({"SentTimestamp": "99999999999999999"}),
            json!({"SentTimestamp": "9".repeat(1 << 20)}),
            json!({"SentTimestamp": 1_795_428_000_000_u64}),
            json!("SentTimestamp=1795428000000"),
        ] {
            let SentAt::Unreadable { attribute, why } =
                one(record(&body, Some(bad.clone()))).sent_at
            else {
                panic!("{bad}: not unreadable")
            };
            assert_eq!(attribute, Attribute::SentTimestamp, "{bad}");
            assert!(why.len() < 120, "{bad}: {why}");
        }
    }

    #[test]
    fn an_eventbridge_event_in_sqs_keeps_its_time_over_the_sent_timestamp() {
        let attributes = json!({"SentTimestamp": "1795431600000"});
        let d = one(record(&event(Some(json!(TEN))), Some(attributes.clone())));
        assert_eq!(
            d.sent_at,
            stamped(Attribute::EventTime, TEN),
            "the event's time, not the queue's 11:00"
        );
        let d = one(record(&event(None), Some(attributes)));
        assert_eq!(
            d.sent_at,
            stamped(Attribute::SentTimestamp, "2026-11-23T11:00:00Z"),
            "without a time, the record's SentTimestamp"
        );
        assert_eq!(
            one(record(&event(None), None)).sent_at,
            SentAt::Missing(&[Attribute::EventTime, Attribute::SentTimestamp])
        );
        let d = one(record(
            &event(Some(json!("garbage"))),
            Some(json!({"SentTimestamp": TEN_MS})),
        ));
        assert!(
            matches!(
                d.sent_at,
                SentAt::Unreadable {
                    attribute: Attribute::EventTime,
                    ..
                }
            ),
            "a time that is there is the stamp, even unreadable: {:?}",
            d.sent_at
        );
    }

    #[test]
    fn a_rejected_envelope_still_knows_its_stamp() {
        let d = one(record(
            &json!("not an object"),
            Some(json!({"SentTimestamp": TEN_MS})),
        ));
        assert!(d.command.is_err());
        assert_eq!(d.sent_at, stamped(Attribute::SentTimestamp, TEN));
    }
}
