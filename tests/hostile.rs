//! The hostile-input corpus (`tests/hostile/corpus.json`): every case goes through the
//! real handler on a fresh world and must come back as a typed rejection with the
//! expected code, a short log-safe message (even for 1 MB inputs), no panic and no
//! Lightsail write. A second test sends every case in one SQS batch beside good
//! grants: the good records are processed, nothing is retried, and the only writes
//! are the good records'.
//!
//! The world is tests/common's (its clock at `START`, `requireIssuedAt` off): an
//! EventBridge wrapper carries `time` = START and an SQS record `SentTimestamp` = START
//! (in the mixed batch, an eventbridge case's record carries none: the event's `time`
//! is its stamp), so a case is judged by what it says, not by a missing transport time.
//!
//! Case format: `{"name", "via": "direct" | "eventbridge" | "sqs", "payload", "expect"}`
//! plus optionally
//! * `"fullEvent": true` (eventbridge): the payload is the whole event, not its detail;
//! * `{"rawBody": "..."}` as an sqs payload: the record's body is that string as is;
//! * `{"rawRecord": {...}}` as an sqs payload: the record itself (a messageId is added,
//!   nothing else: its `attributes`, if any, are the case's own);
//! * `"inflate"`: one spec or a list, applied to the payload before it is wrapped (see
//!   `tests/common/inflate.rs`);
//! * `"note"`: why the expected code is what it is (or a doubt about it).

mod common;

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;

use common::*;
use futures::FutureExt;
use lightsail_jit::envelope::Payload;
use lightsail_jit::handler::run;
use lightsail_jit::lightsail::sim::Op;
use lightsail_jit::rejection::Code;
use serde::Deserialize;
use serde_json::{Value, json};

/// Fewest cases the corpus may hold (the acceptance criterion).
const MIN_CASES: usize = 60;
/// Longest acceptable rejection message, whatever the size of the input.
const MAX_MESSAGE: usize = 600;
/// Longest acceptable whole outcome: nothing of a huge input may be echoed.
const MAX_OUTCOME: usize = 2_000;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    name: String,
    via: Via,
    payload: Value,
    expect: String,
    #[serde(default)]
    full_event: bool,
    #[serde(default)]
    inflate: Option<Inflates>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Via {
    Direct,
    Eventbridge,
    Sqs,
}

fn corpus() -> Vec<Case> {
    read_corpus("corpus.json")
}

/// The payload with its inflations applied (before any wrapping).
fn inflated(case: &Case) -> Result<Value, String> {
    inflate(&case.payload, case.inflate.as_ref())
}

/// The case as one SQS record with `message_id` (any case can travel in a queue).
fn sqs_record(case: &Case, n: usize, message_id: &str) -> Result<Value, String> {
    let payload = inflated(case)?;
    let body = match case.via {
        Via::Direct => payload.to_string(),
        Via::Eventbridge => eventbridge(case, n, payload).to_string(),
        Via::Sqs => {
            if let Some(raw) = payload.get("rawBody") {
                raw.as_str()
                    .ok_or_else(|| "rawBody must be a string".to_string())?
                    .to_string()
            } else if let Some(record) = payload.get("rawRecord") {
                let mut record = record.clone();
                record
                    .as_object_mut()
                    .ok_or_else(|| "rawRecord must be an object".to_string())?
                    .insert("messageId".into(), json!(message_id));
                return Ok(record);
            } else {
                payload.to_string()
            }
        }
    };
    // A plain command in a queue carries the queue's SentTimestamp (START); an event
    // carries its own `time`, so a case about a missing or bad `time` stays one.
    let mut record = match case.via {
        Via::Eventbridge => json!({"messageId": message_id}),
        Via::Direct | Via::Sqs => common::sqs_record(message_id, &Value::Null),
    };
    record["body"] = json!(body);
    Ok(record)
}

fn eventbridge(case: &Case, n: usize, payload: Value) -> Value {
    if case.full_event {
        payload
    } else {
        eventbridge_sent(&format!("ev-{n}"), payload, start())
    }
}

/// What the handler is invoked with.
fn lambda_payload(case: &Case, n: usize) -> Result<Value, String> {
    match case.via {
        Via::Direct => inflated(case),
        Via::Eventbridge => Ok(eventbridge(case, n, inflated(case)?)),
        Via::Sqs => Ok(json!({"Records": [sqs_record(case, n, &format!("m-{n}"))?]})),
    }
}

/// Run one case on a fresh world; `Err` lists what went wrong.
async fn check(case: &Case, n: usize) -> Result<(), String> {
    if !Code::ALL.iter().any(|c| c.as_str() == case.expect) {
        return Err(format!(
            "`expect` {:?} is not a rejection code",
            case.expect
        ));
    }
    let w = world();
    let payload = lambda_payload(case, n)?;
    let answer = invoke(&w, payload.clone())
        .await
        .map_err(|e| format!("handler returned Err: {e}"))?;
    let outcome = if case.via == Via::Sqs {
        if answer != json!({"batchItemFailures": []}) {
            return Err(format!("a rejected record must not be retried: {answer}"));
        }
        let Ok(Payload::Batch(records)) = Payload::from_value(&payload, "inv") else {
            return Err("the SQS payload is not classified as a batch".into());
        };
        let outcome = run(&w, &records[0].delivery)
            .await
            .map_err(|e| format!("record failed transiently: {e}"))?;
        serde_json::to_value(&outcome).map_err(|e| e.to_string())?
    } else {
        answer
    };
    let shown = outcome.to_string();
    let short = |s: &str| s.chars().take(300).collect::<String>();
    let mut problems = Vec::new();
    if outcome["status"] != "rejected" {
        problems.push(format!("status is not rejected: {}", short(&shown)));
    }
    if outcome["error"]["code"] != case.expect.as_str() {
        problems.push(format!(
            "code {} instead of {}: {}",
            outcome["error"]["code"],
            case.expect,
            short(&shown)
        ));
    }
    let message = outcome["error"]["message"].as_str().unwrap_or("");
    if message.trim().is_empty() {
        problems.push("empty message".into());
    }
    if message.len() >= MAX_MESSAGE {
        problems.push(format!(
            "message is {} bytes: {}…",
            message.len(),
            short(message)
        ));
    }
    if message.chars().any(char::is_control) {
        problems.push(format!("message holds control characters: {message:?}"));
    }
    if shown.len() >= MAX_OUTCOME {
        problems.push(format!(
            "outcome is {} bytes: {}…",
            shown.len(),
            short(&shown)
        ));
    }
    let writes = writes_seen(&w.lightsail);
    if !writes.is_empty() {
        problems.push(format!("{} Lightsail writes: {writes:?}", writes.len()));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[tokio::test]
async fn every_hostile_input_is_a_typed_rejection_without_writes() {
    let cases = corpus();
    let mut failures = Vec::new();
    let mut names = BTreeSet::new();
    for (n, case) in cases.iter().enumerate() {
        if !names.insert(case.name.as_str()) {
            failures.push(format!("{}: duplicate case name", case.name));
            continue;
        }
        match AssertUnwindSafe(check(case, n)).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(problem)) => failures.push(format!("{}: {problem}", case.name)),
            Err(_) => failures.push(format!("{}: PANICKED", case.name)),
        }
    }
    let passed = cases.len() - failures.len();
    println!("hostile corpus: {passed} passed, {} failed", failures.len());
    assert!(
        failures.is_empty(),
        "{} hostile case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        passed >= MIN_CASES,
        "the corpus holds {passed} cases; at least {MIN_CASES} are required"
    );
}

/// The good grants of the mixed batch: (requestId, instance).
const GOOD: [(&str, &str); 3] = [("good-1", "web-1"), ("good-2", "db-1"), ("good-3", "web-1")];

fn good_record(request_id: &str, instance: &str) -> Value {
    let body = GrantCommand::on(instance)
        .id(request_id)
        .from("203.0.113.7")
        .lasting("1h")
        .requester("alice")
        .reason("hostile batch")
        .json();
    common::sqs_record(&format!("msg-{request_id}"), &body)
}

#[tokio::test]
async fn one_batch_of_every_case_processes_only_the_good_records() {
    let cases = corpus();
    let mut records = Vec::new();
    let mut good = GOOD.iter();
    for (n, case) in cases.iter().enumerate() {
        // Good records at the start, in the middle and at the end of the batch.
        if n == 0 || n == cases.len() / 2 {
            let (id, instance) = good.next().unwrap();
            records.push(good_record(id, instance));
        }
        let record =
            sqs_record(case, n, &format!("m-{n}")).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        records.push(record);
    }
    let (id, instance) = good.next().unwrap();
    records.push(good_record(id, instance));
    let batch_len = records.len();
    assert_eq!(batch_len, cases.len() + 3, "three good records");

    let w = world();
    let out = ok(&w, json!({"Records": records})).await;
    assert_eq!(
        out,
        json!({"batchItemFailures": []}),
        "rejections are final and the good records succeed: nothing to retry"
    );
    assert_eq!(
        grant_keys(&w, "web-1"),
        vec!["jit:grant:good-1", "jit:grant:good-3"]
    );
    assert_eq!(grant_keys(&w, "db-1"), vec!["jit:grant:good-2"]);
    assert!(grant_keys(&w, "legacy-1").is_empty());

    let writes = writes_seen(&w.lightsail);
    assert_eq!(
        w.lightsail.count(Op::Tag),
        3,
        "one TagResource per good grant: {writes:?}"
    );
    assert_eq!(
        w.lightsail.count(Op::Open),
        3,
        "one OpenInstancePublicPorts per good grant (22/tcp): {writes:?}"
    );
    assert_eq!(w.lightsail.count(Op::Put), 0, "{writes:?}");
    assert_eq!(w.lightsail.count(Op::Untag), 0, "{writes:?}");
    for call in &writes {
        assert!(call.ok, "every write succeeded: {call:?}");
        let instance = call.instance.as_deref().unwrap_or("");
        assert!(
            GOOD.iter().any(|(_, i)| *i == instance),
            "a write on behalf of a bad record: {call:?}"
        );
    }
    let on = |name: &str| writes_seen_on(&w.lightsail, name).len();
    assert_eq!(on("web-1"), 4, "two grants on web-1: {writes:?}");
    assert_eq!(on("db-1"), 2, "one grant on db-1: {writes:?}");
}
