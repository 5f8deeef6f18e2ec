//! The times a producer and a transport write on a command, at the test world's clock:
//! a grant through EventBridge or SQS is held to its transport's timestamp
//! (`policy::freshness`), so every envelope the suites build carries one. `START` for
//! a world that has not moved; [`now_of`] for one whose clock advanced.

use jiff::Timestamp;
use lightsail_jit::clock::{Clock, rfc3339};
use serde_json::{Value, json};

use super::{START, World};

pub fn start() -> Timestamp {
    START.parse().unwrap()
}

/// The world's clock now.
pub fn now_of(world: &World) -> Timestamp {
    world.clock.now()
}

/// SQS's `SentTimestamp` for `at`: epoch milliseconds as a string.
pub fn sent_timestamp(at: Timestamp) -> String {
    at.as_millisecond().to_string()
}

/// An SQS record carrying `body`, sent at START.
pub fn sqs_record(message_id: &str, body: &Value) -> Value {
    sqs_record_sent(message_id, body, start())
}

/// An SQS record carrying `body`, sent at `at`.
pub fn sqs_record_sent(message_id: &str, body: &Value, at: Timestamp) -> Value {
    json!({"messageId": message_id, "body": body.to_string(),
           "attributes": {"SentTimestamp": sent_timestamp(at), "ApproximateReceiveCount": "1"}})
}

/// A bot's EventBridge event with `detail` as the command, put on the bus at `at`.
pub fn eventbridge_sent(id: &str, detail: Value, at: Timestamp) -> Value {
    json!({"version": "0", "id": id, "source": "chatops", "detail-type": "JitRequest",
           "time": rfc3339(at), "detail": detail})
}

/// `command` with `issuedAt` set to `at`.
pub fn issued(mut command: Value, at: Timestamp) -> Value {
    command["issuedAt"] = json!(rfc3339(at));
    command
}
