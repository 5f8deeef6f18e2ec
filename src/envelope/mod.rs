//! Lambda payload → commands (docs/DESIGN.md §2).
//!
//! One function serves three triggers, told apart by shape:
//!
//! * `{"Records": [...]}` — an SQS batch; each body is a command or a whole EventBridge
//!   event (when a rule targets the queue);
//! * `{"detail-type", "source", "detail", ...}` — an EventBridge event; the command is
//!   `detail`, and `aws.events` / `Scheduled Event` means `sweep`;
//! * anything else — the command itself (direct invoke, Scheduler payload, rule `Input`).
//!
//! Classification never fails as a whole: a bad SQS body becomes a rejection for that
//! record only, so the good records of the batch still run.
//!
//! Each delivery also keeps the timestamp its transport wrote (`sent_at`, read in
//! [`sent_at`]), for the freshness check of `grant` and `extend`.

mod sent_at;

use serde_json::Value;

use crate::command::{Action, Command, Echo, Selection, printable};
use crate::rejection::{Code, Rejection};
use crate::strict_json::{self, Strict, StrictError};
use sent_at::Carrier;
pub use sent_at::{Attribute, SentAt};

/// One command to run, with the id that is its default `requestId`.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: String,
    pub command: Result<Command, Rejection>,
    /// What can be read of a refused command, to tell its sender (empty otherwise).
    pub echo: Echo,
    /// The transport's timestamp (EventBridge `time`, SQS `SentTimestamp`), or that it
    /// came directly and has none.
    pub sent_at: SentAt,
}

/// An SQS record: its `messageId` is what `batchItemFailures` reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub message_id: String,
    pub delivery: Delivery,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Single(Box<Delivery>),
    Batch(Vec<Record>),
}

/// A batch whose records cannot be reported one by one: the whole batch must fail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("SQS record {index} has no messageId; the batch cannot report it alone")]
pub struct UnreportableRecord {
    pub index: usize,
}

impl Payload {
    /// The deliveries in a payload as the strict parser read it: a payload that names a
    /// key twice anywhere is one rejected delivery (`DuplicateField`), whatever its shape.
    pub fn from_strict(
        payload: &Strict,
        invocation_id: &str,
    ) -> Result<Payload, UnreportableRecord> {
        match &payload.duplicate {
            Some(path) => Ok(Payload::Single(Box::new(Delivery {
                id: invocation_id.to_string(),
                echo: Echo::default(),
                command: Err(duplicate(path)),
                sent_at: SentAt::Direct,
            }))),
            None => Payload::from_value(&payload.value, invocation_id),
        }
    }

    /// The deliveries in a payload that is known to hold no duplicate key (a parsed
    /// value: SQS bodies, fuzzing, benchmarks). Entry points use [`Payload::from_strict`].
    pub fn from_value(payload: &Value, invocation_id: &str) -> Result<Payload, UnreportableRecord> {
        if let Some(records) = payload.get("Records") {
            let Some(records) = records.as_array() else {
                return Ok(Payload::Single(Box::new(Delivery {
                    id: invocation_id.to_string(),
                    echo: Echo::default(),
                    command: Err(Rejection::new(
                        Code::InvalidEnvelope,
                        "`Records` must be an array of SQS records",
                    )),
                    sent_at: SentAt::Direct,
                })));
            };
            return records
                .iter()
                .enumerate()
                .map(|(index, record)| sqs_record(record, index))
                .collect::<Result<Vec<_>, _>>()
                .map(Payload::Batch);
        }
        Ok(Payload::Single(Box::new(single(
            payload,
            invocation_id,
            Carrier::Lambda,
        ))))
    }
}

/// A payload that is an EventBridge event or a command, carried by `carrier`.
fn single(payload: &Value, fallback_id: &str, carrier: Carrier) -> Delivery {
    if is_eventbridge(payload) {
        eventbridge(payload, fallback_id, carrier)
    } else if let Some(key) = ["detail-type", "source", "detail"]
        .iter()
        .find(|k| payload.get(**k).is_some())
    {
        Delivery {
            id: fallback_id.to_string(),
            echo: Echo::default(),
            command: Err(Rejection::new(
                Code::InvalidEnvelope,
                format!(
                    "`{key}` suggests an EventBridge event, but it needs both `source` and `detail-type` (and the command in `detail`)"
                ),
            )),
            sent_at: carrier.sent_at(),
        }
    } else {
        parsed(fallback_id.to_string(), payload, carrier.sent_at())
    }
}

/// A command read from `value`, and when it is refused, what can be echoed of it.
fn parsed(id: String, value: &Value, sent_at: SentAt) -> Delivery {
    let command = Command::from_json(value);
    let echo = match command {
        Ok(_) => Echo::default(),
        Err(_) => Echo::read(value),
    };
    Delivery {
        id,
        command,
        echo,
        sent_at,
    }
}

fn is_eventbridge(value: &Value) -> bool {
    value.get("detail-type").is_some() && value.get("source").is_some()
}

fn eventbridge(event: &Value, fallback_id: &str, carrier: Carrier) -> Delivery {
    let sent_at = carrier.event_sent_at(event);
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .unwrap_or(fallback_id)
        .to_string();
    let source = event.get("source").and_then(Value::as_str).unwrap_or("");
    let detail_type = event
        .get("detail-type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let scheduled = source == "aws.events" && detail_type == "Scheduled Event";
    let command = match event.get("detail") {
        _ if scheduled => Ok(Command {
            request_id: None,
            dry_run: false,
            reply_to: None,
            issued_at: None,
            region: None,
            action: Action::Sweep(Selection::default()),
        }),
        Some(detail @ Value::Object(_)) => return parsed(id, detail, sent_at),
        Some(_) | None => Err(Rejection::new(
            Code::InvalidEnvelope,
            format!(
                "EventBridge event (source {}, detail-type {}) has no `detail` object holding the command",
                printable(source, 60),
                printable(detail_type, 60)
            ),
        )),
    };
    Delivery {
        id,
        command,
        echo: Echo::default(),
        sent_at,
    }
}

/// Readers disagree on which of two equal keys counts, so neither may.
pub fn duplicate(path: &str) -> Rejection {
    Rejection::new(
        Code::DuplicateField,
        format!(
            "the key {} appears twice; send each field once",
            printable(path, 60)
        ),
    )
}

fn sqs_record(record: &Value, index: usize) -> Result<Record, UnreportableRecord> {
    let message_id = record
        .get("messageId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or(UnreportableRecord { index })?
        .to_string();
    let carrier = Carrier::Sqs(record);
    let delivery = match record.get("body").and_then(Value::as_str) {
        None => Delivery {
            id: message_id.clone(),
            echo: Echo::default(),
            command: Err(Rejection::new(
                Code::InvalidEnvelope,
                "SQS record has no string `body`",
            )),
            sent_at: carrier.sent_at(),
        },
        Some(body) => match strict_json::parse(body) {
            Ok(value) => single(&value, &message_id, carrier),
            Err(StrictError::Duplicate(path)) => Delivery {
                id: message_id.clone(),
                echo: Echo::default(),
                command: Err(duplicate(&path)),
                sent_at: carrier.sent_at(),
            },
            Err(StrictError::Syntax(e)) => Delivery {
                id: message_id.clone(),
                echo: Echo::default(),
                command: Err(Rejection::new(
                    Code::MalformedJson,
                    format!(
                        "SQS body is not JSON ({e}); it starts {}",
                        printable(body, 40)
                    ),
                )),
                sent_at: carrier.sent_at(),
            },
        },
    };
    Ok(Record {
        message_id,
        delivery,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn single_of(v: Value) -> Delivery {
        match Payload::from_value(&v, "inv-1").unwrap() {
            Payload::Single(d) => *d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn direct_command_uses_the_invocation_id() {
        let d = single_of(json!({"action": "status"}));
        assert_eq!(d.id, "inv-1");
        assert_eq!(d.command.unwrap().action.name(), "status");
    }

    #[test]
    fn eventbridge_detail_and_schedule() {
        let d = single_of(
            json!({"id": "ev-1", "source": "chatops", "detail-type": "JitRequest",
                                 "detail": {"action": "revoke", "instanceName": "web-1"}}),
        );
        assert_eq!(d.id, "ev-1");
        assert_eq!(d.command.unwrap().action.name(), "revoke");
        let d = single_of(
            json!({"id": "ev-2", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}),
        );
        assert_eq!(d.command.unwrap().action.name(), "sweep");
        let d = single_of(json!({"id": "ev-3", "source": "chatops", "detail-type": "JitRequest"}));
        assert_eq!(d.command.unwrap_err().code, Code::InvalidEnvelope);
    }

    #[test]
    fn sqs_bodies_are_commands_or_events() {
        let payload = json!({"Records": [
            {"messageId": "m1", "body": "{\"action\":\"status\"}"},
            {"messageId": "m2", "body": "{\"id\":\"ev-9\",\"source\":\"x\",\"detail-type\":\"y\",\"detail\":{\"action\":\"sweep\"}}"},
            {"messageId": "m3", "body": "not json"},
            {"messageId": "m4"}
        ]});
        let Payload::Batch(records) = Payload::from_value(&payload, "inv").unwrap() else {
            panic!()
        };
        assert_eq!(records[0].delivery.id, "m1");
        assert_eq!(records[1].delivery.id, "ev-9");
        assert_eq!(
            records[1].delivery.command.as_ref().unwrap().action.name(),
            "sweep"
        );
        assert_eq!(
            records[2].delivery.command.as_ref().unwrap_err().code,
            Code::MalformedJson
        );
        assert_eq!(
            records[3].delivery.command.as_ref().unwrap_err().code,
            Code::InvalidEnvelope
        );
        assert_eq!(
            Payload::from_value(&json!({"Records": [{"body": "{}"}]}), "inv"),
            Err(UnreportableRecord { index: 0 })
        );
    }
}
