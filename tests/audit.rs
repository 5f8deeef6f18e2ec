//! The audit trail through the handler: one JSON line per decision, with its fields.
//!
//! A test binary of its own, its tests one at a time: `tracing` caches per call site
//! whether anyone listens, and a call site first reached on another test's thread while
//! this test installs its subscriber can stay cached as "nobody" (seen in CI under
//! `cargo test`). Here no other thread logs.

mod common;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "current_thread")]
async fn every_decision_is_one_json_audit_line() {
    let capture = Capture::default();
    let _guard = capture.install();
    let w = world();
    ok(&w, grant("g1", "203.0.113.7", 3600)).await;
    ok(&w, grant("g2", "0.0.0.0/0", 3600)).await;
    advance(&w, 3601);
    ok(&w, sweep()).await;
    let audit = capture.audit();
    let decisions: Vec<&str> = audit
        .iter()
        .map(|v| v["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, vec!["granted", "rejected", "expired", "removed"]);
    let granted = &audit[0];
    assert_eq!(granted["requestId"], "g1");
    assert_eq!(granted["requester"], "alice");
    assert_eq!(granted["instance"], "web-1");
    assert_eq!(granted["rules"], "22/tcp");
    assert_eq!(granted["sources"], "203.0.113.7/32");
    assert_eq!(granted["expiresAt"], "2026-11-23T11:00:00Z");
    assert_eq!(granted["justification"], "test");
    assert_eq!(audit[1]["reason"], "SourceTooWide");
    assert_eq!(audit[2]["reason"], "expired");
}

#[tokio::test(flavor = "current_thread")]
async fn lockdowns_unlocks_and_break_glass_are_audited() {
    let capture = Capture::default();
    let _guard = capture.install();
    let w = world_with(lockdown_policy());
    ok(&w, grant("a", "203.0.113.7", 3600)).await;
    ok(&w, web_lockdown("night-1", json!({"duration": "1h"}))).await;
    ok(&w, break_glass("bg", "198.51.100.9", 600)).await;
    ok(&w, web_unlock()).await;
    ok(&w, web_lockdown("night-2", json!({"duration": "1h"}))).await;
    advance(&w, 3601);
    ok(&w, sweep()).await;
    let audit = capture.audit();
    let decisions: Vec<(&str, &str)> = audit
        .iter()
        .map(|v| {
            (
                v["decision"].as_str().unwrap(),
                v["requestId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &decisions[..5],
        [
            ("granted", "a"),
            ("locked", "night-1"),
            ("lockdown", "a"),
            ("breakGlass", "bg"),
            ("unlocked", "lambda-req-1"),
        ],
        "{audit:#?}"
    );
    let locked = &audit[1];
    assert_eq!(
        (locked["requester"].clone(), locked["justification"].clone()),
        (json!("ops"), json!("night"))
    );
    assert_eq!(locked["expiresAt"], "2026-11-23T11:00:00Z");
    assert_eq!(audit[3]["justification"], "pager: disk full");
    let ended_by_time = audit
        .iter()
        .filter(|v| v["decision"] == "unlocked" && v["reason"] == "expired")
        .count();
    assert_eq!(ended_by_time, 1, "night-2 ended by itself: {audit:#?}");
}

/// A grant too old to run is one `rejected` line like any other refusal: the code in
/// `reason`, the message (age, limit, source) in `justification`.
#[tokio::test(flavor = "current_thread")]
async fn a_stale_grant_is_one_rejected_line() {
    let capture = Capture::default();
    let _guard = capture.install();
    let w = world();
    let stale = "2026-11-23T09:00:00Z".parse().unwrap();
    ok(&w, issued(grant("g1", "203.0.113.7", 3600), stale)).await;
    let audit = capture.audit();
    assert_eq!(audit.len(), 1, "{audit:#?}");
    let line = &audit[0];
    assert_eq!(line["decision"], "rejected");
    assert_eq!(line["reason"], "CommandExpired");
    assert_eq!(line["requestId"], "g1");
    assert_eq!(line["requester"], "alice");
    assert_eq!(line["instance"], "web-1");
    assert_eq!(
        line["justification"],
        "this `grant` is 1h old by its `issuedAt` (2026-11-23T09:00:00Z), older than the policy's maxCommandAge 15m: a late delivery must not open access; send a new command"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn slack_requests_are_audited_refused_or_accepted_with_the_slack_user() {
    use common::slack::{body, signed, signed_at, slack_world};
    let capture = Capture::default();
    let _guard = capture.install();
    let w = slack_world(lightsail_jit::policy::Policy::default());
    let grant = body(
        "U0ALICE",
        "grant web-1 22 for 1h from 203.0.113.7 reason deploy",
    );
    let late = (1795428000 - 600).to_string();
    lightsail_jit::handler::handle(&w, lambda_event(&signed_at(&grant, &late), "r1"))
        .await
        .unwrap();
    lightsail_jit::handler::handle(&w, lambda_event(&signed(&grant), "r2"))
        .await
        .unwrap();
    let audit = capture.audit();
    let decisions: Vec<&str> = audit
        .iter()
        .map(|v| v["decision"].as_str().unwrap())
        .collect();
    assert_eq!(
        decisions,
        vec!["refused", "accepted", "granted"],
        "{audit:?}"
    );
    assert_eq!(audit[0]["status"], 401);
    assert!(
        audit[0]["reason"].as_str().unwrap().contains("timestamp"),
        "{}",
        audit[0]
    );
    assert_eq!(audit[1]["requester"], "slack:T0001:U0ALICE");
    assert_eq!(audit[1]["slackUser"], "alice");
    assert_eq!(audit[1]["action"], "grant");
    assert_eq!(audit[2]["requester"], "slack:T0001:U0ALICE");
}
