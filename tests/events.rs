//! Outcome events (issue #12) through the handler, on the in-memory bus: every decision
//! is one event with the documented fields; `replyTo` goes from the command to the
//! grant's later events; a redelivery announces under the same event id; a bus that
//! fails changes no decision; a bad `replyTo` writes nothing and announces only its
//! rejection; a sweep batches its events. The world starts on 2026-11-23 at 10:00 UTC.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use lightsail_jit::events::Publisher;
use lightsail_jit::events::sim::{EventsSim, PublishedEvent};
use lightsail_jit::lightsail::sim::Sim;
use lightsail_jit::policy::Policy;
use lightsail_jit::service::App;
use serde_json::{Value, json};

const BUS: &str = "jit-bus";

fn with_bus(world: World) -> (World, Arc<EventsSim>) {
    let bus = Arc::new(EventsSim::new());
    (world.with_events(Publisher::new(bus.clone(), BUS)), bus)
}

fn thread() -> Value {
    json!({"threadTs": "1717171717.000200", "channel": "C0123456"})
}

fn with(mut command: Value, field: &str, value: Value) -> Value {
    command[field] = value;
    command
}

fn detail(event: &PublishedEvent) -> Value {
    serde_json::from_str(&event.entry.detail).unwrap()
}

fn types(bus: &EventsSim) -> Vec<String> {
    bus.events()
        .iter()
        .map(|e| e.entry.detail_type.clone())
        .collect()
}

const COMMON: [&str; 11] = [
    "eventId",
    "summary",
    "requestId",
    "region",
    "instanceName",
    "requester",
    "rules",
    "sources",
    "expiresAt",
    "reason",
    "replyTo",
];

fn keys(detail: &Value) -> BTreeSet<String> {
    detail.as_object().unwrap().keys().cloned().collect()
}

fn expected_keys(extra: &[&str]) -> BTreeSet<String> {
    COMMON.iter().chain(extra).map(|k| k.to_string()).collect()
}

#[tokio::test]
async fn a_grant_announces_one_event_with_every_documented_field() {
    let (w, bus) = with_bus(world());
    let out = ok(
        &w,
        with(grant("chg-1001", "203.0.113.7", 3600), "replyTo", thread()),
    )
    .await;
    assert_eq!(out["status"], "granted", "{out}");
    let events = bus.events();
    assert_eq!(types(&bus), ["JIT Access Granted"]);
    let event = &events[0];
    assert_eq!(event.entry.source, "lightsail-jit");
    assert_eq!(event.entry.event_bus_name, BUS);
    let d = detail(event);
    assert_eq!(keys(&d), expected_keys(&["breakGlass", "cappedBy"]), "{d}");
    assert_eq!(d["requestId"], "chg-1001");
    assert_eq!(d["region"], "us-east-1");
    assert_eq!(d["instanceName"], "web-1");
    assert_eq!(d["requester"], "alice");
    assert_eq!(d["rules"], json!(["22/tcp"]));
    assert_eq!(d["sources"], json!(["203.0.113.7/32"]));
    assert_eq!(d["expiresAt"], "2026-11-23T11:00:00Z");
    assert_eq!(d["reason"], "test");
    assert_eq!(d["breakGlass"], false);
    assert_eq!(d["cappedBy"], Value::Null);
    // Verbatim: the same object, in the sender's key order.
    assert_eq!(
        serde_json::to_string(&d["replyTo"]).unwrap(),
        r#"{"threadTs":"1717171717.000200","channel":"C0123456"}"#
    );
    let id = d["eventId"].as_str().unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert!(
        d["summary"]
            .as_str()
            .unwrap()
            .contains("alice was granted 22/tcp from 203.0.113.7/32 on web-1"),
        "{d}"
    );
}

#[tokio::test]
async fn reply_to_goes_from_the_grant_to_its_warning_and_its_expiry_and_then_away() {
    let (w, bus) = with_bus(world());
    ok(
        &w,
        with(grant("chg-1", "203.0.113.7", 600), "replyTo", thread()),
    )
    .await;
    assert!(tag_keys(&w, "web-1").contains(&"jit:reply:0:chg-1".to_string()));
    bus.clear();
    // 10:04: six minutes left, no warning yet (warnBefore is 5m).
    advance(&w, 240);
    ok(&w, sweep()).await;
    assert!(types(&bus).is_empty(), "{:?}", types(&bus));
    // 10:05:30: the minute holding 10:05, the warning instant: one warning.
    advance(&w, 90);
    ok(&w, sweep()).await;
    assert_eq!(types(&bus), ["JIT Access Expiring"]);
    // 10:06:30: the next sweep does not warn again.
    advance(&w, 60);
    ok(&w, sweep()).await;
    assert_eq!(types(&bus).len(), 1);
    // 10:11: expired and closed.
    advance(&w, 270);
    ok(&w, sweep()).await;
    assert_eq!(types(&bus), ["JIT Access Expiring", "JIT Access Expired"]);
    for event in bus.events() {
        let d = detail(&event);
        assert_eq!(d["replyTo"], thread(), "{d}");
        assert_eq!(d["requestId"], "chg-1");
        assert_eq!(d["expiresAt"], "2026-11-23T10:10:00Z");
    }
    // Once the grant's tag goes (after LINGER), its reply tags go with it.
    advance(&w, 3600);
    ok(&w, sweep()).await;
    assert!(
        !tag_keys(&w, "web-1")
            .iter()
            .any(|k| k.starts_with("jit:reply:") || k.starts_with("jit:grant:")),
        "{:?}",
        tag_keys(&w, "web-1")
    );
    assert_eq!(types(&bus).len(), 2, "removing a tag is not news");
}

#[tokio::test]
async fn a_revoke_announces_with_the_grant_s_reply_to_and_who_revoked() {
    let (w, bus) = with_bus(world());
    ok(
        &w,
        with(grant("chg-1", "203.0.113.7", 3600), "replyTo", thread()),
    )
    .await;
    bus.clear();
    let revoke = json!({"action": "revoke", "instanceName": "web-1", "requestId": "chg-1",
                        "requester": "bob", "reason": "done"});
    let out = ok(&w, revoke).await;
    assert_eq!(out["status"], "revoked", "{out}");
    assert_eq!(types(&bus), ["JIT Access Revoked"]);
    let d = detail(&bus.events()[0]);
    assert_eq!(keys(&d), expected_keys(&["endedBy", "revokedBy"]), "{d}");
    assert_eq!(
        (d["requester"].clone(), d["revokedBy"].clone()),
        (json!("alice"), json!("bob"))
    );
    assert_eq!(d["endedBy"], "revoke");
    assert_eq!(d["replyTo"], thread());
}

#[tokio::test]
async fn a_redelivered_grant_is_announced_again_under_the_same_event_id() {
    let (w, bus) = with_bus(world());
    let command = with(grant("chg-1", "203.0.113.7", 3600), "replyTo", thread());
    ok(&w, command.clone()).await;
    let out = ok(&w, command).await;
    assert_eq!(out["duplicate"], true, "{out}");
    let events = bus.events();
    assert_eq!(events.len(), 2);
    assert_eq!(
        detail(&events[0]),
        detail(&events[1]),
        "the same news, the same id"
    );
    assert_eq!(grant_keys(&w, "web-1"), ["jit:grant:chg-1"]);
}

/// The same commands with a healthy bus and with a failing one: the same answers, the
/// same firewalls, the same tags.
#[tokio::test]
async fn a_failing_or_partly_failing_bus_changes_no_decision() {
    let script = || {
        vec![
            (0, with(grant("a", "203.0.113.7", 600), "replyTo", thread())),
            (0, grant("b", "198.51.100.9", 3600)),
            (0, grant_on("web-1", "c", "203.0.113.0/33", 60)),
            (330, sweep()),
            (300, sweep()),
            (
                0,
                json!({"action": "revoke", "instanceName": "web-1", "requestId": "b", "requester": "bob"}),
            ),
        ]
    };
    let (healthy, healthy_bus) = with_bus(world());
    let mut answers = Vec::new();
    for (secs, command) in script() {
        advance(&healthy, secs);
        answers.push(invoke(&healthy, command).await.map_err(|e| e.to_string()));
    }
    assert!(healthy_bus.events().len() >= 5, "{:?}", types(&healthy_bus));

    for fault in ["whole calls", "entries"] {
        let (w, bus) = with_bus(world());
        match fault {
            "whole calls" => bus.fail(usize::MAX, false),
            _ => bus.fail_entries(|_| true, "InternalFailure"),
        }
        let mut seen = Vec::new();
        for (secs, command) in script() {
            advance(&w, secs);
            seen.push(invoke(&w, command).await.map_err(|e| e.to_string()));
        }
        assert_eq!(seen, answers, "{fault}");
        assert!(bus.events().is_empty(), "{fault}");
        for name in ["web-1", "db-1"] {
            assert_eq!(ports(&w, name), ports(&healthy, name), "{fault}: {name}");
            assert_eq!(
                tag_keys(&w, name),
                tag_keys(&healthy, name),
                "{fault}: {name}"
            );
        }
        if fault == "entries" {
            // A transient entry failure is sent once more, then given up.
            let calls = bus.calls();
            let first = calls.iter().filter(|c| c.entries.len() == 1).count();
            assert_eq!(calls.len(), first, "one entry per call in this script");
            assert_eq!(
                calls.len() % 2,
                0,
                "every failed entry retried exactly once: {}",
                calls.len()
            );
        }
    }
}

#[tokio::test]
async fn a_bad_reply_to_writes_nothing_and_announces_only_its_rejection() {
    let mut deep = json!({"channel": "C1"});
    for _ in 0..8 {
        deep = json!({ "a": deep });
    }
    for (bad, says) in [
        (json!("C0123456"), "got a string"),
        (json!(["C0123456"]), "got an array"),
        (json!({"x": "a".repeat(1 << 20)}), "at most 1024"),
        (deep, "9 levels"),
    ] {
        let (w, bus) = with_bus(world());
        let out = ok(&w, with(grant("chg-1", "203.0.113.7", 600), "replyTo", bad)).await;
        assert_eq!(out["status"], "rejected", "{out}");
        assert_eq!(out["error"]["code"], "InvalidReplyTo");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("`replyTo`") && message.contains(says),
            "{message}"
        );
        assert!(message.len() < 200, "no echo of the value: {message}");
        assert!(writes_seen(&w.lightsail).is_empty());
        assert_eq!(types(&bus), ["JIT Access Rejected"]);
        let d = detail(&bus.events()[0]);
        assert_eq!(keys(&d), expected_keys(&["error", "command"]), "{d}");
        assert_eq!(d["replyTo"], Value::Null);
        assert_eq!(d["error"]["code"], "InvalidReplyTo");
        assert_eq!(
            (d["requestId"].clone(), d["instanceName"].clone()),
            (json!("chg-1"), json!("web-1"))
        );
    }
}

#[tokio::test]
async fn a_refused_grant_is_answered_in_its_thread() {
    let (w, bus) = with_bus(world());
    let out = ok(
        &w,
        with(
            with(grant("chg-9", "203.0.113.7", 600), "ports", json!(["23"])),
            "replyTo",
            thread(),
        ),
    )
    .await;
    assert_eq!(out["status"], "rejected", "{out}");
    let d = detail(&bus.events()[0]);
    assert_eq!(d["replyTo"], thread());
    assert_eq!(d["command"], "grant");
    assert_eq!(d["requester"], "alice");
    assert_eq!(d["error"]["code"], out["error"]["code"]);
    // A command that does not even parse still reaches its thread.
    bus.clear();
    let out = ok(
        &w,
        with(
            with(grant("chg-10", "203.0.113.7", 600), "duraton", json!("1h")),
            "replyTo",
            thread(),
        ),
    )
    .await;
    assert_eq!(out["error"]["code"], "UnknownField", "{out}");
    let d = detail(&bus.events()[0]);
    assert_eq!(
        (d["replyTo"].clone(), d["requestId"].clone()),
        (thread(), json!("chg-10"))
    );
}

#[tokio::test]
async fn a_lockdown_and_its_unlock_are_announced_per_instance() {
    let (w, bus) = with_bus(world_with(lockdown_policy()));
    ok(&w, grant("before", "203.0.113.7", 3600)).await;
    bus.clear();
    ok(
        &w,
        with(
            web_lockdown("night-1", json!({"duration": "2h"})),
            "replyTo",
            thread(),
        ),
    )
    .await;
    assert_eq!(types(&bus), ["JIT Lockdown Started", "JIT Access Revoked"]);
    let events = bus.events();
    let started = detail(&events[0]);
    assert_eq!(keys(&started), expected_keys(&["until"]), "{started}");
    assert_eq!(started["until"], "2026-11-23T12:00:00Z");
    assert_eq!(started["replyTo"], thread());
    let revoked = detail(&events[1]);
    assert_eq!(revoked["endedBy"], "lockdown");
    bus.clear();
    ok(&w, with(web_unlock(), "replyTo", thread())).await;
    assert_eq!(types(&bus), ["JIT Lockdown Ended"]);
    let ended = detail(&bus.events()[0]);
    assert_eq!(
        keys(&ended),
        expected_keys(&["until", "endedBy"]),
        "{ended}"
    );
    assert_eq!(
        (ended["endedBy"].clone(), ended["requester"].clone()),
        (json!("unlock"), json!("ops"))
    );
}

#[tokio::test]
async fn a_timed_lockdown_that_ends_by_itself_is_announced_by_the_sweep() {
    let (w, bus) = with_bus(world_with(lockdown_policy()));
    ok(&w, web_lockdown("night-1", json!({"duration": "1h"}))).await;
    bus.clear();
    advance(&w, 3601);
    ok(&w, sweep()).await;
    assert_eq!(types(&bus), ["JIT Lockdown Ended"]);
    let d = detail(&bus.events()[0]);
    assert_eq!(
        (d["endedBy"].clone(), d["requestId"].clone()),
        (json!("expired"), json!("night-1"))
    );
}

#[tokio::test]
async fn a_sweep_of_1000_instances_with_100_expirations_costs_at_most_10_calls() {
    let instances: Vec<_> = (0..1000)
        .map(|i| managed(&format!("i-{i:04}"), web_baseline()))
        .collect();
    let w = App::new(
        Sim::new(instances),
        other_concerns(Policy::default()),
        lightsail_jit::clock::ManualClock::new(START.parse().unwrap()),
    );
    let (w, bus) = with_bus(w);
    for i in 0..100 {
        ok(
            &w,
            grant_on(
                &format!("i-{:04}", i * 10),
                &format!("g-{i}"),
                "203.0.113.7",
                600,
            ),
        )
        .await;
    }
    bus.clear();
    advance(&w, 601);
    let out = ok(&w, sweep()).await;
    assert_eq!(out["expired"], 100, "{out}");
    assert_eq!(bus.events().len(), 100);
    assert!(bus.calls().len() <= 10, "{} calls", bus.calls().len());
}

#[test]
fn every_detail_type_has_a_sample_with_the_keys_the_code_writes() {
    use lightsail_jit::announce::DetailType;
    let extra = |t: DetailType| -> &[&str] {
        match t {
            DetailType::Granted => &["breakGlass", "cappedBy"],
            DetailType::Rejected => &["error", "command"],
            DetailType::Revoked => &["endedBy", "revokedBy"],
            DetailType::LockdownStarted => &["until"],
            DetailType::LockdownEnded => &["until", "endedBy"],
            _ => &[],
        }
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("events/outcomes");
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(event["source"], "lightsail-jit", "{path:?}");
        let name = event["detail-type"].as_str().unwrap();
        let t = *DetailType::ALL
            .iter()
            .find(|t| t.as_str() == name)
            .unwrap_or_else(|| panic!("{path:?}: unknown detail type {name}"));
        assert_eq!(keys(&event["detail"]), expected_keys(extra(t)), "{path:?}");
        seen.insert(name.to_string());
    }
    let all: BTreeSet<String> = DetailType::ALL
        .iter()
        .map(|t| t.as_str().to_string())
        .collect();
    assert_eq!(seen, all);
}
