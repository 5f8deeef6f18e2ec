//! Sample events as if sent now: `jit-local` (and the tests that replay `events/`)
//! rewrite the times a producer and a transport would write at sending, so a sample
//! recorded once stays a fresh request on any clock (docs/DESIGN.md §3, "Freshness").
//!
//! Only times that are there are rewritten — a command's `issuedAt`, an EventBridge
//! event's `time`, an SQS record's `attributes.SentTimestamp`, also inside SQS bodies —
//! so a file without `issuedAt` is refused exactly as Lambda would refuse it. A body
//! that is not a JSON object, or names a key twice, is left byte for byte as it is.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::strict_json;

/// `payload` with every time it carries set to `now`.
pub fn restamp(payload: &Value, now: Timestamp) -> Value {
    let mut payload = payload.clone();
    if let Some(records) = payload.get_mut("Records").and_then(Value::as_array_mut) {
        for record in records {
            restamp_record(record, now);
        }
    } else {
        restamp_message(&mut payload, now);
    }
    payload
}

fn restamp_record(record: &mut Value, now: Timestamp) {
    if let Some(sent) = record.pointer_mut("/attributes/SentTimestamp") {
        *sent = json!(now.as_millisecond().to_string());
    }
    let Some(body) = record.get_mut("body") else {
        return;
    };
    let Some(text) = body.as_str() else {
        return;
    };
    let Ok(mut message) = strict_json::parse(text) else {
        return;
    };
    if message.is_object() {
        let before = message.clone();
        restamp_message(&mut message, now);
        if message != before {
            *body = json!(message.to_string());
        }
    }
}

/// An EventBridge event (its `time`, and the command in `detail`) or a command.
fn restamp_message(message: &mut Value, now: Timestamp) {
    let is_event = message.get("detail-type").is_some() && message.get("source").is_some();
    if is_event {
        if let Some(time) = message.get_mut("time") {
            *time = json!(rfc3339(now));
        }
        if let Some(detail) = message.get_mut("detail") {
            restamp_command(detail, now);
        }
    } else {
        restamp_command(message, now);
    }
}

fn restamp_command(command: &mut Value, now: Timestamp) {
    if let Some(issued_at) = command.get_mut("issuedAt") {
        *issued_at = json!(rfc3339(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-23T13:00:00Z".parse().unwrap()
    }

    #[test]
    fn commands_events_and_records_carry_now() {
        let command = json!({"action": "grant", "issuedAt": "2026-11-23T10:00:00Z"});
        assert_eq!(
            restamp(&command, now()),
            json!({"action": "grant", "issuedAt": "2026-11-23T13:00:00Z"})
        );
        let event = json!({"source": "bot", "detail-type": "x", "time": "2026-11-23T10:00:00Z",
                           "detail": {"action": "grant", "issuedAt": "2026-11-23T10:00:00Z"}});
        let event = restamp(&event, now());
        assert_eq!(event["time"], "2026-11-23T13:00:00Z");
        assert_eq!(event["detail"]["issuedAt"], "2026-11-23T13:00:00Z");
        let batch = json!({"Records": [
            {"messageId": "1", "attributes": {"SentTimestamp": "1795428000000"},
             "body": "{\"action\":\"grant\",\"issuedAt\":\"2026-11-23T10:00:00Z\"}"},
            {"messageId": "2", "body": "{\"source\":\"bot\",\"detail-type\":\"x\",\"time\":\"2026-11-23T10:00:00Z\",\"detail\":{}}"}
        ]});
        let batch = restamp(&batch, now());
        assert_eq!(
            batch["Records"][0]["attributes"]["SentTimestamp"],
            "1795438800000"
        );
        let body: Value =
            serde_json::from_str(batch["Records"][0]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["issuedAt"], "2026-11-23T13:00:00Z");
        let body: Value =
            serde_json::from_str(batch["Records"][1]["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["time"], "2026-11-23T13:00:00Z");
    }

    #[test]
    fn only_times_that_are_there_and_only_readable_bodies() {
        let command = json!({"action": "grant", "instanceName": "web-1"});
        assert_eq!(restamp(&command, now()), command, "no issuedAt is added");
        let batch = json!({"Records": [
            {"messageId": "1", "body": "{\"action\": \"status\"}"},
            {"messageId": "2", "body": "{\"issuedAt\":\"a\",\"issuedAt\":\"b\"}"},
            {"messageId": "3", "body": "not json"},
            {"messageId": "4"}
        ]});
        assert_eq!(restamp(&batch, now()), batch, "left byte for byte");
    }
}
