//! The Slack front door (issue #14) through the real handler: a Lambda Function URL
//! event carrying a signed slash command, on the simulator world (2026-11-23 10:00 UTC).
//!
//! Verified or refused: every refusal is an HTTP status with no Lightsail call. The
//! requester is Slack's (`slack:<team>:<user>`), whatever the text says. A retry of the
//! same request is the same grant. A command that cannot finish within Slack's budget is
//! handed on to the queue through the bus and answered "working on it".

mod common;

use std::sync::Arc;

use common::slack::*;
use common::*;
use lightsail_jit::events::Publisher;
use lightsail_jit::events::sim::EventsSim;
use lightsail_jit::handler::handle;
use lightsail_jit::ledger::Ledger;
use lightsail_jit::lightsail::sim::Op;
use lightsail_jit::policy::Policy;
use lightsail_jit::slack::verify::sign;
use serde_json::{Value, json};

async fn call(w: &World, event: Value) -> Value {
    handle(w, lambda_event(&event, "lambda-req-1"))
        .await
        .unwrap()
}

/// The message Slack would show, and the HTTP status.
async fn say(w: &World, event: Value) -> (u64, Value) {
    let answer = call(w, event).await;
    let status = answer["statusCode"].as_u64().unwrap();
    let message = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap_or(Value::Null);
    (status, message)
}

fn grant_text() -> &'static str {
    "grant web-1 22 for 1h from 203.0.113.7 reason deploy"
}

#[tokio::test]
async fn a_signed_grant_opens_and_answers_in_the_channel() {
    let w = slack_world(Policy::default());
    let (status, message) = say(&w, signed(&body("U0ALICE", grant_text()))).await;
    assert_eq!(status, 200);
    assert_eq!(message["response_type"], "in_channel", "{message}");
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("<@U0ALICE> was granted 22/tcp from 203.0.113.7/32 on *web-1* until 2026-11-23 11:00 UTC (in 1h)"),
        "{text}"
    );
    let ledger = Ledger::read(&w.lightsail.tags("web-1"));
    let grant = &ledger.grants[0];
    assert_eq!(grant.requester, "slack:T0001:U0ALICE");
    assert!(
        grant.request_id.starts_with("slack-"),
        "{}",
        grant.request_id
    );
    assert!(text.contains(&grant.request_id), "{text}");
    assert_eq!(
        ledger.reply_to(&grant.request_id).unwrap().as_value(),
        &json!({"channel": "C0123456", "responseUrl": "https://hooks.slack.com/commands/T0001/1234/abcd"})
    );
    assert!(
        w.lightsail
            .firewall("web-1")
            .contains(&ssh_from("203.0.113.7/32"))
    );
}

#[tokio::test]
async fn slacks_retry_of_the_same_request_is_the_same_grant() {
    let w = slack_world(Policy::default());
    let request = signed(&body("U0ALICE", grant_text()));
    say(&w, request.clone()).await;
    let (status, message) = say(&w, request).await;
    assert_eq!(status, 200);
    assert_eq!(message["response_type"], "in_channel", "{message}");
    assert_eq!(grant_keys(&w, "web-1").len(), 1, "one request, one grant");
    // A new request (another trigger) is a new grant.
    say(
        &w,
        signed(&body("U0ALICE", "grant web-1 22 for 30m from 203.0.113.7")),
    )
    .await;
    assert_eq!(grant_keys(&w, "web-1").len(), 2);
}

#[tokio::test]
async fn the_text_cannot_set_the_requester() {
    let w = slack_world(Policy::from_json(r#"{"requesters": ["slack:T0001:U0ALICE"]}"#).unwrap());
    for text in [
        "grant web-1 22 from 203.0.113.7 reason requester=mallory",
        "grant web-1 22 from 203.0.113.7 reason \"requester\": \"mallory\"",
        "grant web-1 22 from 203.0.113.7 requester mallory",
    ] {
        let (status, _) = say(&w, signed(&body("U0ALICE", text))).await;
        assert_eq!(status, 200);
    }
    let ledger = Ledger::read(&w.lightsail.tags("web-1"));
    assert!(!ledger.grants.is_empty());
    assert!(
        ledger
            .grants
            .iter()
            .all(|g| g.requester == "slack:T0001:U0ALICE"),
        "{:?}",
        ledger.grants
    );
    // The policy's requesters hold Slack identities: another user is refused.
    w.lightsail.clear_calls();
    let (_, message) = say(&w, signed(&body("U0MALLORY", grant_text()))).await;
    assert_eq!(message["response_type"], "ephemeral");
    assert!(
        message["text"]
            .as_str()
            .unwrap()
            .contains("RequesterNotAllowed"),
        "{message}"
    );
    assert_no_write(&w.lightsail, "a requester the policy does not list");
}

#[tokio::test]
async fn every_unverified_request_is_refused_without_a_lightsail_call() {
    let w = slack_world(Policy::default());
    let good = body("U0ALICE", grant_text());
    let sig = sign(SECRET.as_bytes(), SIGNED_AT, good.as_bytes());
    let headers = |ts: &str, sig: &str| {
        json!({"content-type": "application/x-www-form-urlencoded",
               "x-slack-request-timestamp": ts, "x-slack-signature": sig})
    };
    let tampered = good.replace("203.0.113.7", "203.0.113.8");
    let old = (1795428000 - 301).to_string();
    let future = (1795428000 + 301).to_string();
    let mut get = signed(&good);
    get["requestContext"]["http"]["method"] = json!("GET");
    let mut json_type = signed(&good);
    json_type["headers"]["content-type"] = json!("application/json");
    let mut unsigned = signed(&good);
    unsigned["headers"]
        .as_object_mut()
        .unwrap()
        .remove("x-slack-signature");
    let huge = body("U0ALICE", &"x".repeat(20_000));
    let cases: Vec<(&str, Value, u64)> = vec![
        (
            "a body changed by one byte",
            url_event(&tampered, headers(SIGNED_AT, &sig), false),
            401,
        ),
        (
            "the timestamp swapped",
            url_event(&good, headers("1795428001", &sig), false),
            401,
        ),
        (
            "a wrong secret",
            url_event(
                &good,
                headers(
                    SIGNED_AT,
                    &sign(b"another-secret", SIGNED_AT, good.as_bytes()),
                ),
                false,
            ),
            401,
        ),
        ("an old timestamp", signed_at(&good, &old), 401),
        ("a future timestamp", signed_at(&good, &future), 401),
        ("no signature", unsigned, 401),
        ("a GET", get, 405),
        ("a JSON content type", json_type, 400),
        ("a body over the limit", signed(&huge), 413),
    ];
    for (label, event, want) in cases {
        w.lightsail.clear_calls();
        let answer = call(&w, event).await;
        assert_eq!(answer["statusCode"], want, "{label}: {answer}");
        assert!(w.lightsail.calls().is_empty(), "{label}: no Lightsail call");
    }
    assert!(grant_keys(&w, "web-1").is_empty());
}

#[tokio::test]
async fn without_a_signing_secret_every_slack_request_is_refused() {
    let w = world();
    let answer = call(&w, signed(&body("U0ALICE", grant_text()))).await;
    assert_eq!(answer["statusCode"], 401);
    assert!(
        answer["body"]
            .as_str()
            .unwrap()
            .contains("SLACK_SIGNING_SECRET")
    );
    assert!(w.lightsail.calls().is_empty());
}

#[tokio::test]
async fn a_base64_body_and_mixed_case_headers_are_read_as_slack_sent_them() {
    let w = slack_world(Policy::default());
    let b = body("U0ALICE", grant_text());
    let event = url_event(
        &b,
        json!({"Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Request-Timestamp": SIGNED_AT,
               "X-Slack-Signature": sign(SECRET.as_bytes(), SIGNED_AT, b.as_bytes())}),
        true,
    );
    let (status, message) = say(&w, event).await;
    assert_eq!(status, 200);
    assert_eq!(message["response_type"], "in_channel", "{message}");
}

#[tokio::test]
async fn help_parse_errors_and_refused_commands_are_ephemeral_and_write_nothing() {
    let w = slack_world(Policy::default());
    let (_, help) = say(&w, signed(&body("U0ALICE", "help"))).await;
    assert_eq!(help["response_type"], "ephemeral");
    assert!(help["text"].as_str().unwrap().contains("checkip"), "{help}");
    let (_, bad) = say(&w, signed(&body("U0ALICE", "grant web-1 22"))).await;
    assert_eq!(bad["response_type"], "ephemeral");
    assert!(bad["text"].as_str().unwrap().contains("from"), "{bad}");
    let (_, wide) = say(
        &w,
        signed(&body("U0ALICE", "grant web-1 22 from 0.0.0.0/0")),
    )
    .await;
    assert_eq!(wide["response_type"], "ephemeral");
    assert!(
        wide["text"].as_str().unwrap().contains("SourceTooWide"),
        "{wide}"
    );
    assert_no_write(&w.lightsail, "help, a parse error and a too-wide source");
}

#[tokio::test]
async fn status_is_ephemeral_and_revoke_is_in_channel() {
    let w = slack_world(Policy::default());
    say(&w, signed(&body("U0ALICE", grant_text()))).await;
    let (_, status) = say(&w, signed(&body("U0ALICE", "status web-1"))).await;
    assert_eq!(status["response_type"], "ephemeral");
    assert!(
        status["text"]
            .as_str()
            .unwrap()
            .contains("slack:T0001:U0ALICE"),
        "{status}"
    );
    let (_, revoked) = say(&w, signed(&body("U0ALICE", "revoke web-1"))).await;
    assert_eq!(revoked["response_type"], "in_channel");
    assert!(
        revoked["text"].as_str().unwrap().contains("revoked"),
        "{revoked}"
    );
    assert!(active_grants(&w, "web-1").is_empty());
}

/// A Lightsail that does not answer within the budget (the Tag call is held): the
/// command is handed on to the bus as a `JIT Command` with everything Slack vouched for,
/// and the answer says it is being worked on. The handed-on command, delivered back as
/// the queue would, makes the grant, whose event carries the same `replyTo`.
#[tokio::test(start_paused = true)]
async fn a_command_that_cannot_finish_in_time_is_handed_on_and_finished_from_the_queue() {
    let bus = Arc::new(EventsSim::new());
    let w = slack_world(Policy::default()).with_events(Publisher::new(bus.clone(), "jit-bus"));
    let held = w.lightsail.pause_before(Op::Tag);
    let (status, message) = say(&w, signed(&body("U0ALICE", grant_text()))).await;
    assert_eq!(status, 200);
    assert!(
        message["text"].as_str().unwrap().contains("working on it"),
        "{message}"
    );
    let events = bus.events();
    assert_eq!(events.len(), 1, "{events:?}");
    let entry = &events[0].entry;
    assert_eq!(
        (entry.source.as_str(), entry.detail_type.as_str()),
        ("lightsail-jit", "JIT Command")
    );
    let command: Value = serde_json::from_str(&entry.detail).unwrap();
    assert_eq!(command["requester"], "slack:T0001:U0ALICE");
    assert_eq!(command["issuedAt"], START);
    assert_eq!(command["replyTo"]["channel"], "C0123456");
    assert!(
        grant_keys(&w, "web-1").is_empty(),
        "the held attempt wrote nothing"
    );
    held.release();
    // The queue delivers it (an EventBridge event in SQS, a few seconds later).
    let queued = json!({"Records": [{"messageId": "m-1", "body": json!({
        "version": "0", "id": "ev-1", "source": "lightsail-jit", "detail-type": "JIT Command",
        "time": START, "detail": command}).to_string(),
        "attributes": {"SentTimestamp": "1795428001000"}}]});
    let answer = handle(&w, lambda_event(&queued, "lambda-req-2"))
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    let ledger = Ledger::read(&w.lightsail.tags("web-1"));
    assert_eq!(ledger.grants.len(), 1);
    assert_eq!(
        ledger.grants[0].request_id,
        command["requestId"].as_str().unwrap()
    );
    let granted = bus
        .events()
        .into_iter()
        .find(|e| e.entry.detail_type == "JIT Access Granted")
        .unwrap();
    let detail: Value = serde_json::from_str(&granted.entry.detail).unwrap();
    assert_eq!(detail["replyTo"], command["replyTo"]);
}

/// Past the budget with a bus that refuses the hand-off: the user is told it may not
/// have taken effect (not a made-up rejection code), and nothing was queued.
#[tokio::test(start_paused = true)]
async fn a_hand_off_the_bus_refuses_is_said_plainly() {
    let bus = Arc::new(EventsSim::new());
    let w = slack_world(Policy::default()).with_events(Publisher::new(bus.clone(), "jit-bus"));
    let _held = w.lightsail.pause_before(Op::Tag);
    bus.fail(2, false);
    let (status, message) = say(&w, signed(&body("U0ALICE", grant_text()))).await;
    assert_eq!(status, 200);
    assert_eq!(message["response_type"], "ephemeral", "{message}");
    let text = message["text"].as_str().unwrap();
    assert!(
        text.contains("could not be queued") && text.contains("/jit status"),
        "{text}"
    );
    assert!(!text.contains("LightsailRefused"), "{text}");
    assert!(bus.events().is_empty());
}
