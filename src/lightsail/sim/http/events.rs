//! EventBridge's `PutEvents` on the simulator's server: AWS JSON 1.1 with
//! `X-Amz-Target: AWSEvents.PutEvents`, answered by the in-memory
//! [`EventsSim`], so the real aws-sdk-eventbridge client meets EventBridge's rules on
//! loopback. Only the codec lives here; routing, SigV4 and wire faults are the server's,
//! shared with Lightsail.
//!
//! * Request: `{"Entries":[{"Source","DetailType","Detail","EventBusName",…}]}`. Members
//!   are read leniently, as the service does: a missing or non-string `Source`,
//!   `DetailType` or `Detail` is empty (the bus then fails that entry with
//!   `InvalidArgument`), a missing `EventBusName` is the `default` bus, and other
//!   members (`Time`, `Resources`, `TraceHeader`) are ignored.
//! * Answer: `{"FailedEntryCount":n,"Entries":[{"EventId"} | {"ErrorCode","ErrorMessage"}]}`
//!   in request order.
//! * Errors as Lightsail's are encoded here, `{"__type","message"}`: 400
//!   `ValidationException` (0 or more than 10 entries, over 256 KB, no bus name), 400
//!   `ThrottlingException`, 500 `InternalException` (the one error the PutEvents model
//!   declares), 400 with the code for other permanent ones.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::wire::{Reply, reply};
use crate::events::sim::EventsSim;
use crate::events::{BusError, EntryResult, EventBus, EventEntry};

/// `X-Amz-Target` of every EventBridge operation starts with this.
pub(super) const TARGET_PREFIX: &str = "AWSEvents.";

/// The bus name EventBridge uses when an entry names none.
const DEFAULT_BUS: &str = "default";

/// One EventBridge operation, answered by `bus`.
pub(super) async fn respond(bus: &EventsSim, operation: &str, request: &Value) -> Reply {
    if operation != "PutEvents" {
        return error_reply(&BusError::new(
            false,
            "UnknownOperationException",
            format!("operation {operation:?} is not simulated"),
        ));
    }
    let Some(entries) = request.get("Entries").and_then(Value::as_array) else {
        return error_reply(&BusError::new(
            false,
            "ValidationException",
            "1 validation error detected: Value null at 'entries' failed to satisfy \
             constraint: Member must not be null",
        ));
    };
    let entries: Vec<EventEntry> = entries.iter().map(entry).collect();
    match bus.put_events(&entries).await {
        Ok(results) => reply(StatusCode::OK, &answer(&results)),
        Err(err) => error_reply(&err),
    }
}

/// An injected 500, as EventBridge encodes its internal error.
pub(super) fn internal_error() -> Reply {
    error_reply(&BusError::new(
        true,
        "InternalException",
        "injected server error",
    ))
}

fn entry(value: &Value) -> EventEntry {
    let text = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    EventEntry {
        source: text("Source"),
        detail_type: text("DetailType"),
        detail: text("Detail"),
        event_bus_name: value
            .get("EventBusName")
            .and_then(Value::as_str)
            .unwrap_or(DEFAULT_BUS)
            .to_string(),
    }
}

fn answer(results: &[EntryResult]) -> Value {
    let entries: Vec<Value> = results
        .iter()
        .map(|result| match result {
            EntryResult::Published { event_id } => json!({"EventId": event_id}),
            EntryResult::Failed { code, message } => {
                json!({"ErrorCode": code, "ErrorMessage": message})
            }
        })
        .collect();
    let failed = results.iter().filter(|r| !r.is_published()).count();
    json!({"FailedEntryCount": failed, "Entries": entries})
}

fn error_reply(err: &BusError) -> Reply {
    let status = if err.transient && err.code != "ThrottlingException" {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    reply(status, &json!({"__type": err.code, "message": err.message}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_read_leniently_with_the_default_bus() {
        let e = entry(&json!({"Source": "s", "Detail": 7, "Time": 1}));
        assert_eq!(e.source, "s");
        assert_eq!(
            e.detail_type, "",
            "missing: the bus fails it as InvalidArgument"
        );
        assert_eq!(e.detail, "", "not a string: the same");
        assert_eq!(e.event_bus_name, "default");
    }

    #[test]
    fn answers_count_failed_entries_and_keep_order() {
        let body = answer(&[
            EntryResult::Published {
                event_id: "sim-event-1".into(),
            },
            EntryResult::Failed {
                code: "MalformedDetail".into(),
                message: "Detail is malformed.".into(),
            },
        ]);
        assert_eq!(
            body,
            json!({"FailedEntryCount": 1, "Entries": [{"EventId": "sim-event-1"},
                {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}]})
        );
    }

    #[test]
    fn throttles_and_validation_are_400_internal_errors_500() {
        let status = |transient, code| error_reply(&BusError::new(transient, code, "")).status();
        assert_eq!(status(true, "ThrottlingException"), StatusCode::BAD_REQUEST);
        assert_eq!(
            status(false, "ValidationException"),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(true, "InternalException"),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(internal_error().status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
