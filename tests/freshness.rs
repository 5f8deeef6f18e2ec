//! Freshness through the real handler (docs/DESIGN.md §3, "Freshness"): a `grant` or
//! `extend` older than `maxCommandAge` — by its `issuedAt`, else the EventBridge `time`,
//! else the SQS `SentTimestamp` — is `CommandExpired` and costs no Lightsail call;
//! what only closes or reads stays valid late; the shipped policy requires `issuedAt`.
//!
//! `deployed()` is the function as shipped (`world_as_deployed(Policy::default())`);
//! `lenient()` is tests/common's `world()`, with `requireIssuedAt` off. Both clocks
//! start at `START`, 2026-11-23T10:00:00Z.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use jiff::Timestamp;
use lightsail_jit::envelope::Payload;
use lightsail_jit::events::Publisher;
use lightsail_jit::events::sim::EventsSim;
use lightsail_jit::handler::run;
use lightsail_jit::lightsail::sim::{Op, Timing};
use lightsail_jit::policy::Policy;
use serde_json::{Value, json};

fn deployed() -> World {
    world_as_deployed(Policy::default())
}

fn lenient() -> World {
    world()
}

/// `START` moved by `secs` (negative: earlier).
fn start_plus(secs: i64) -> Timestamp {
    Timestamp::from_second(start().as_second() + secs).unwrap()
}

/// Sixteen minutes before START: a minute past the default `maxCommandAge`.
fn stale() -> Timestamp {
    start_plus(-16 * 60)
}

/// Alice's one-hour grant `id` on web-1, without `issuedAt`.
fn plain_grant(id: &str) -> Value {
    grant(id, "203.0.113.7", 3600)
}

/// Invoke with an SQS batch of `records`: nothing may be retried; the first record's
/// outcome, as its delivery answers it.
async fn via_sqs(w: &World, records: Vec<Value>) -> Value {
    let batch = json!({"Records": records});
    assert_eq!(
        ok(w, batch.clone()).await,
        json!({"batchItemFailures": []}),
        "a refused record is final"
    );
    let Ok(Payload::Batch(records)) = Payload::from_value(&batch, "inv") else {
        panic!("not a batch")
    };
    serde_json::to_value(run(w, &records[0].delivery).await.unwrap()).unwrap()
}

#[track_caller]
fn assert_refused(out: &Value, code: &str, mentions: &[&str]) {
    assert_eq!(out["status"], "rejected", "{out}");
    assert_eq!(out["error"]["code"], code, "{out}");
    let message = out["error"]["message"].as_str().unwrap();
    for m in mentions {
        assert!(message.contains(m), "{message:?} should mention {m:?}");
    }
}

/// A refused stale command writes nothing; a stale grant reads its instance once (was
/// it decided in time, and only its redelivery late? `grant::stale`), nothing else.
#[track_caller]
fn assert_no_call(w: &World, label: &str) {
    let calls = w.lightsail.calls();
    assert!(
        calls.iter().all(|c| c.op == Op::GetInstance),
        "{label}: a refused stale command only reads: {calls:?}"
    );
    assert_no_write(&w.lightsail, label);
}

#[tokio::test]
async fn a_stale_grant_is_refused_by_its_issued_at_without_a_lightsail_call() {
    let w = deployed();
    let out = ok(&w, issued(plain_grant("g1"), stale())).await;
    assert_refused(
        &out,
        "CommandExpired",
        &[
            "this `grant` is 16m old by its `issuedAt` (2026-11-23T09:44:00Z)",
            "maxCommandAge 15m",
        ],
    );
    assert_eq!(out["requestId"], "g1");
    assert_no_call(&w, "issuedAt");
}

#[tokio::test]
async fn a_stale_grant_is_refused_by_its_eventbridge_time() {
    let w = lenient();
    let out = ok(&w, eventbridge_sent("ev-1", plain_grant("g1"), stale())).await;
    assert_refused(
        &out,
        "CommandExpired",
        &["16m old by the EventBridge event's `time` (2026-11-23T09:44:00Z)"],
    );
    assert_no_call(&w, "EventBridge time");
}

#[tokio::test]
async fn a_stale_grant_is_refused_by_its_sqs_sent_timestamp() {
    let w = lenient();
    let out = via_sqs(&w, vec![sqs_record_sent("m1", &plain_grant("g1"), stale())]).await;
    assert_refused(
        &out,
        "CommandExpired",
        &["16m old by the SQS record's `attributes.SentTimestamp` (2026-11-23T09:44:00Z)"],
    );
    assert_no_call(&w, "SentTimestamp");
}

/// A rule moves the event into the queue later; the event's own time counts.
#[tokio::test]
async fn an_eventbridge_event_in_sqs_is_as_old_as_the_event_not_the_message() {
    let w = lenient();
    let event = eventbridge_sent("ev-1", plain_grant("g1"), stale());
    let out = via_sqs(&w, vec![sqs_record_sent("m1", &event, start())]).await;
    assert_refused(&out, "CommandExpired", &["EventBridge event's `time`"]);
    assert_no_call(&w, "EventBridge in SQS");

    let fresh = eventbridge_sent("ev-2", plain_grant("g2"), start());
    let out = via_sqs(&w, vec![sqs_record_sent("m2", &fresh, stale())]).await;
    assert_eq!(
        out["status"], "granted",
        "a fresh event in an old message: {out}"
    );
}

/// The redrive the issue is about: the dead-letter queue sends the Monday grant again
/// with a new messageId and a fresh SentTimestamp; only `issuedAt` remembers.
#[tokio::test]
async fn a_redriven_sqs_grant_keeps_its_issued_at_and_is_refused() {
    let w = deployed();
    let monday = start_plus(-4 * 86_400);
    let command = issued(plain_grant("chg-1"), monday);
    let out = via_sqs(&w, vec![sqs_record_sent("redriven-1", &command, start())]).await;
    assert_refused(
        &out,
        "CommandExpired",
        &["96h old by its `issuedAt` (2026-11-19T10:00:00Z)"],
    );
    assert_no_call(&w, "a redriven grant");
}

#[tokio::test]
async fn a_fresh_grant_is_granted_up_to_max_command_age_and_a_minute_of_skew() {
    let w = deployed();
    let out = ok(&w, issued(plain_grant("now"), start())).await;
    assert_eq!(out["status"], "granted", "{out}");
    let out = ok(&w, issued(plain_grant("edge"), start_plus(-15 * 60))).await;
    assert_eq!(out["status"], "granted", "exactly maxCommandAge old: {out}");
    let out = ok(&w, issued(plain_grant("skew"), start_plus(60))).await;
    assert_eq!(out["status"], "granted", "a minute ahead is skew: {out}");
    let calls = w.lightsail.calls().len();
    let out = ok(&w, issued(plain_grant("ahead"), start_plus(61))).await;
    assert_refused(
        &out,
        "InvalidField",
        &["`issuedAt` 2026-11-23T10:01:01Z is 1m 1s in the future"],
    );
    assert_eq!(
        w.lightsail.calls().len(),
        calls,
        "no call for a future grant"
    );
    assert_eq!(
        active_grants(&w, "web-1"),
        vec!["edge", "now", "skew"],
        "exactly the fresh ones"
    );
}

/// The age is judged when the command runs, on the function's clock.
#[tokio::test]
async fn the_same_command_is_fresh_at_fifteen_minutes_and_stale_a_second_later() {
    let command = issued(plain_grant("g1"), start());
    let w = deployed();
    advance(&w, 15 * 60);
    assert_eq!(ok(&w, command.clone()).await["status"], "granted");
    let w = deployed();
    advance(&w, 15 * 60 + 1);
    assert_refused(&ok(&w, command).await, "CommandExpired", &["15m 1s old"]);
    assert_no_call(&w, "a second too late");
}

#[tokio::test]
async fn a_stale_extend_is_refused_and_the_grant_keeps_its_end() {
    let w = deployed();
    let out = ok(&w, issued(plain_grant("g1"), start())).await;
    assert_eq!(out["expiresAt"], "2026-11-23T11:00:00Z");
    advance(&w, 20 * 60);
    w.lightsail.clear_calls();
    let extend = json!({"action": "extend", "instanceName": "web-1", "requestId": "g1",
                        "duration": "2h", "issuedAt": START});
    let out = ok(&w, extend.clone()).await;
    assert_refused(&out, "CommandExpired", &["this `extend` is 20m old"]);
    assert_no_call(&w, "a stale extend");
    let fresh = issued(extend, now_of(&w));
    let out = ok(&w, fresh).await;
    assert_eq!(out["status"], "extended", "{out}");
    assert_eq!(out["expiresAt"], "2026-11-23T12:20:00Z");
}

#[tokio::test]
async fn a_stale_dry_run_is_refused_too() {
    let w = deployed();
    let dry = GrantCommand::on("web-1")
        .from("203.0.113.7")
        .requester("alice")
        .dry_run()
        .json();
    let out = ok(&w, issued(dry, stale())).await;
    assert_refused(&out, "CommandExpired", &["16m old"]);
    assert_no_call(&w, "a stale dry run");
}

/// Revoke, lockdown, unlock, sweep and status only close or read: a week late, with a
/// stale `issuedAt` and a stale transport time, they still run.
#[tokio::test]
async fn what_only_closes_or_reads_stays_valid_late() {
    let w = deployed();
    let long = GrantCommand::on("web-1")
        .id("g1")
        .from("203.0.113.7")
        .lasting("12h")
        .requester("alice")
        .json();
    assert_eq!(ok(&w, issued(long, start())).await["status"], "granted");
    advance(&w, 3600);
    let week_ago = start_plus(-7 * 86_400);
    let late = |command: Value| eventbridge_sent("ev-late", issued(command, week_ago), week_ago);

    let out = ok(
        &w,
        late(json!({"action": "status", "instanceName": "web-1"})),
    )
    .await;
    assert_eq!(out["status"], "status", "{out}");
    let out = ok(
        &w,
        late(json!({"action": "revoke", "instanceName": "web-1", "requestId": "g1"})),
    )
    .await;
    assert_eq!(out["status"], "revoked", "{out}");
    assert_eq!(out["revoked"], json!(["g1"]));
    let out = via_sqs(
        &w,
        vec![sqs_record_sent(
            "m-lock",
            &issued(web_lockdown("night-1", json!({"duration": "1h"})), week_ago),
            week_ago,
        )],
    )
    .await;
    assert_eq!(out["status"], "lockedDown", "{out}");
    let out = ok(&w, late(web_unlock())).await;
    assert_eq!(out["status"], "unlocked", "{out}");
    let out = ok(&w, late(json!({"action": "sweep"}))).await;
    assert_eq!(out["status"], "swept", "{out}");
    let scheduled = json!({"version": "0", "id": "sched-late", "detail-type": "Scheduled Event",
                           "source": "aws.events", "time": "2026-11-16T10:00:00Z", "detail": {}});
    assert_eq!(ok(&w, scheduled).await["status"], "swept");
}

#[tokio::test]
async fn the_shipped_policy_requires_issued_at_on_grant_and_extend() {
    let w = deployed();
    let mentions = ["`issuedAt` is required on `", "requireIssuedAt"];
    let out = ok(&w, plain_grant("g1")).await;
    assert_refused(&out, "MissingField", &mentions);
    let out = ok(&w, eventbridge_sent("ev-1", plain_grant("g2"), start())).await;
    assert_refused(&out, "MissingField", &mentions);
    let out = via_sqs(&w, vec![sqs_record("m1", &plain_grant("g3"))]).await;
    assert_refused(&out, "MissingField", &mentions);
    let extend = json!({"action": "extend", "instanceName": "web-1", "requestId": "g1"});
    assert_refused(&ok(&w, extend).await, "MissingField", &mentions);
    assert_no_call(&w, "commands without issuedAt");
    let revoke = json!({"action": "revoke", "instanceName": "web-1"});
    assert_eq!(
        ok(&w, revoke).await["status"],
        "revoked",
        "a revoke needs no issuedAt"
    );
}

#[tokio::test]
async fn without_require_issued_at_a_direct_grant_has_no_age() {
    let w = lenient();
    advance(&w, 30 * 86_400);
    let out = ok(&w, plain_grant("g1")).await;
    assert_eq!(
        out["status"], "granted",
        "nothing says when it was sent: accepted, as documented: {out}"
    );
}

#[tokio::test]
async fn without_require_issued_at_a_transport_time_must_be_there_and_readable() {
    let w = lenient();
    let mut no_time = eventbridge_sent("ev-1", plain_grant("g1"), start());
    no_time.as_object_mut().unwrap().remove("time");
    assert_refused(
        &ok(&w, no_time.clone()).await,
        "InvalidEnvelope",
        &["has no `issuedAt`", "the EventBridge event's `time`"],
    );
    let bare = json!({"messageId": "m1", "body": plain_grant("g2").to_string()});
    assert_refused(
        &via_sqs(&w, vec![bare]).await,
        "InvalidEnvelope",
        &["`attributes.SentTimestamp`"],
    );
    let bad = json!({"messageId": "m2", "body": plain_grant("g3").to_string(),
                     "attributes": {"SentTimestamp": "yesterday"}});
    assert_refused(
        &via_sqs(&w, vec![bad]).await,
        "InvalidEnvelope",
        &["`attributes.SentTimestamp` \"yesterday\" is not epoch milliseconds"],
    );
    let ahead = sqs_record_sent("m3", &plain_grant("g4"), start_plus(3600));
    assert_refused(
        &via_sqs(&w, vec![ahead]).await,
        "InvalidEnvelope",
        &["`attributes.SentTimestamp` 2026-11-23T11:00:00Z is 1h in the future"],
    );
    let mut future_event = eventbridge_sent("ev-2", plain_grant("g5"), start_plus(120));
    future_event["time"] = json!("2026-11-23T10:02:00Z");
    assert_refused(
        &ok(&w, future_event).await,
        "InvalidEnvelope",
        &["the EventBridge event's `time` 2026-11-23T10:02:00Z is 2m in the future"],
    );
    assert_no_call(&w, "no usable transport time");

    // An event in SQS without `time` falls back to the record's SentTimestamp.
    let out = via_sqs(&w, vec![sqs_record("m4", &no_time)]).await;
    assert_eq!(out["status"], "granted", "{out}");
    // With issuedAt, a missing transport time does not matter.
    let bare = json!({"messageId": "m5", "body": issued(plain_grant("g6"), start()).to_string()});
    assert_eq!(via_sqs(&w, vec![bare]).await["status"], "granted");
}

/// Refused like any rejection: the answer names the grant, and the sender's thread hears
/// why (`JIT Access Rejected` with the command's echo).
#[tokio::test]
async fn a_stale_grant_is_announced_as_rejected() {
    let bus = Arc::new(EventsSim::new());
    let w = deployed().with_events(Publisher::new(bus.clone(), "jit-bus"));
    let command = GrantCommand::on("web-1")
        .id("chg-7")
        .from("203.0.113.7")
        .requester("alice")
        .set("replyTo", json!({"channel": "C0123456"}))
        .json();
    let out = ok(&w, issued(command, stale())).await;
    assert_refused(&out, "CommandExpired", &[]);
    assert_eq!(out["instanceName"], "web-1");
    let events = bus.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].entry.detail_type, "JIT Access Rejected");
    let detail: Value = serde_json::from_str(&events[0].entry.detail).unwrap();
    assert_eq!(detail["error"]["code"], "CommandExpired");
    assert_eq!(detail["requestId"], "chg-7");
    assert_eq!(detail["instanceName"], "web-1");
    assert_eq!(detail["requester"], "alice");
    assert_eq!(detail["command"], "grant");
    assert_eq!(detail["replyTo"], json!({"channel": "C0123456"}));
    assert_no_call(&w, "an announced stale grant");
}

/// The samples are recorded at START; sent as recorded three hours later, the grants in
/// them are stale (jit-local and the e2e script send them restamped).
#[tokio::test]
async fn the_samples_as_recorded_go_stale() {
    let sample = |name: &str| -> Value {
        let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let w = deployed();
    w.clock.advance(Duration::from_secs(3 * 3600));
    for name in [
        "grant-eventbridge.json",
        "grant-dry-run.json",
        "extend.json",
    ] {
        let out = ok(&w, sample(name)).await;
        assert_refused(&out, "CommandExpired", &["3h old by its `issuedAt`"]);
    }
    let out = ok(&w, sample("sqs-batch.json")).await;
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_no_call(&w, "stale samples");
    let restamped = lightsail_jit::local::restamp(&sample("grant-eventbridge.json"), now_of(&w));
    assert_eq!(ok(&w, restamped).await["status"], "granted");
}

/// The first attempt wrote the grant's tag, then failed (its Open was throttled); its
/// redelivery comes after `maxCommandAge` (SQS waits out the visibility timeout). The
/// grant was decided in time and the next sweep would open it anyway: the redelivery
/// finishes it and says so, instead of answering "expired" while the port opens.
#[tokio::test]
async fn a_late_redelivery_of_a_grant_decided_in_time_is_finished_not_refused() {
    let w = deployed();
    let command = json!({"action": "grant", "instanceName": "web-1", "requestId": "late-1",
                         "ports": ["22"], "cidrs": ["203.0.113.7"], "duration": "1h",
                         "requester": "alice", "reason": "deploy", "issuedAt": START});
    w.lightsail.fail(Op::Open, 1, Timing::Before);
    assert!(
        invoke(&w, command.clone()).await.is_err(),
        "the Open fails transiently"
    );
    assert_eq!(grant_keys(&w, "web-1"), vec!["jit:grant:late-1"]);
    advance(&w, 18 * 60);
    let out = ok(&w, command).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(out["duplicate"], true, "{out}");
    let mut expected = lightsail_jit::firewall::RuleSet::from_rules(&web_baseline());
    expected.add_rule(&rule(
        lightsail_jit::firewall::Protocol::Tcp,
        22,
        22,
        &["203.0.113.7/32"],
        &[],
        &[],
    ));
    assert_eq!(w.lightsail.firewall("web-1"), expected);
    // A stale grant that was never decided is refused, and writes nothing.
    w.lightsail.clear_calls();
    let never = json!({"action": "grant", "instanceName": "web-1", "requestId": "late-2",
                       "ports": ["22"], "cidrs": ["198.51.100.9"], "duration": "1h",
                       "requester": "alice", "reason": "deploy", "issuedAt": START});
    let out = ok(&w, never).await;
    assert_refused(&out, "CommandExpired", &[]);
    assert_no_call(&w, "a stale grant never decided");
}
