//! Lockdown windows through the handler: while a window is in force no access is given,
//! access given before never reaches into it, the sweep keeps the instance at its
//! lockdown rules without calling it drift, and the baseline comes back when it ends.
//! The world starts on Monday 2026-11-23 at 10:00 UTC.

mod common;

use common::*;
use lightsail_jit::clock::ManualClock;
use lightsail_jit::firewall::{Protocol, RuleSet};
use lightsail_jit::handler::handle;
use lightsail_jit::lightsail::sim::Sim;
use lightsail_jit::policy::Policy;
use lightsail_jit::service::App;
use serde_json::{Value, json};

fn policy(windows: Value) -> Policy {
    Policy::from_value(json!({"lockdownWindows": windows})).unwrap()
}

/// web-1 alone gets a window and lockdown rules (443 from anywhere); the rest nothing.
fn web_policy(window: Value) -> Policy {
    Policy::from_value(json!({"instances": {"web-1": {
        "lockdownWindows": [window],
        "lockdown": [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                      "cidrs": ["0.0.0.0/0"], "ipv6Cidrs": ["::/0"]}]
    }}}))
    .unwrap()
}

/// An app over the same simulator with another policy, at `at`: as a cold start after a
/// policy change would see the instances.
fn app_at<'a>(sim: &'a Sim, policy: Policy, at: &str) -> App<&'a Sim, ManualClock> {
    App::new(
        sim,
        other_concerns(policy),
        ManualClock::new(at.parse().unwrap()),
    )
}

async fn run(app: &App<&Sim, ManualClock>, payload: Value) -> Value {
    handle(app, lambda_event(&payload, "lambda-req-1"))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_grant_inside_a_window_is_locked_down_and_writes_nothing() {
    let w = world_with(policy(json!([{"from": "09:00", "to": "11:00"}])));
    let out = ok(&w, grant("g1", "203.0.113.7", 600)).await;
    assert_eq!(out["error"]["code"], "LockedDown", "{out}");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(message.contains("every day 09:00-11:00 UTC"), "{message}");
    assert!(message.contains("until 2026-11-23T11:00:00Z"), "{message}");
    assert_no_write(&w.lightsail, "a grant in a window");
    // An hour later the window is over.
    advance(&w, 3600);
    assert_eq!(
        ok(&w, grant("g1", "203.0.113.7", 600)).await["status"],
        "granted"
    );
}

#[tokio::test]
async fn a_grant_reaching_into_a_window_ends_at_its_start_and_says_so() {
    let w = world_with(policy(
        json!([{"days": ["Mon"], "from": "10:30", "to": "12:00"}]),
    ));
    let out = ok(&w, grant("g1", "203.0.113.7", 3600)).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(out["expiresAt"], "2026-11-23T10:30:00Z");
    assert_eq!(
        out["cappedBy"], "lockdown window Mon 10:30-12:00 UTC",
        "{out}"
    );
    // A grant that ends before the window is not capped.
    let out = ok(&w, grant("g2", "198.51.100.9", 600)).await;
    assert_eq!(out["expiresAt"], "2026-11-23T10:10:00Z");
    assert!(out.get("cappedBy").is_none(), "{out}");
}

#[tokio::test]
async fn extend_inside_a_window_is_locked_down_and_before_it_is_capped() {
    let w = world_with(policy(json!([{"from": "10:30", "to": "12:00"}])));
    assert_eq!(
        ok(&w, grant("g1", "203.0.113.7", 600)).await["status"],
        "granted"
    );
    let extend = json!({"action": "extend", "instanceName": "web-1", "requestId": "g1",
                        "duration": "1h"});
    let out = ok(&w, extend.clone()).await;
    assert_eq!(out["status"], "extended", "{out}");
    assert_eq!(out["expiresAt"], "2026-11-23T10:30:00Z");
    assert_eq!(out["cappedBy"], "lockdown window every day 10:30-12:00 UTC");
    advance(&w, 31 * 60);
    let out = ok(&w, extend).await;
    assert_eq!(out["error"]["code"], "LockedDown", "{out}");
}

#[tokio::test]
async fn the_window_ends_grants_keeps_its_rules_and_gives_the_baseline_back() {
    // A grant made before web-1 had a window, reaching past the window's start.
    let w = world();
    assert_eq!(
        ok(&w, grant("early", "203.0.113.7", 3 * 3600)).await["status"],
        "granted"
    );
    let locked = RuleSet::from_rules(
        &web_policy(json!({"from": "10:30", "to": "12:00"}))
            .lockdown_rules(at_home("web-1"))
            .unwrap()
            .to_rules(),
    );

    // The first sweep in the window ends the grant and applies the lockdown rules.
    let inside = app_at(
        &w.lightsail,
        web_policy(json!({"from": "10:30", "to": "12:00"})),
        "2026-11-23T10:31:00Z",
    );
    let out = run(&inside, sweep()).await;
    assert_eq!(out["status"], "swept", "{out}");
    assert_eq!(w.lightsail.firewall("web-1"), locked);
    assert_eq!(out["driftCorrected"], 0, "a lockdown is not drift: {out}");
    // Ended by the window: its end marker says so, and its tag stays until no extension
    // that read it before the end can still be in flight.
    let tags = w.lightsail.tags("web-1");
    let marker = tags.iter().find(|t| t.key == "jit:end:early");
    assert_eq!(
        marker.and_then(|t| t.value.as_deref()),
        Some(
            format!(
                "v1 {} window",
                "2026-11-23T10:31:00Z"
                    .parse::<jiff::Timestamp>()
                    .unwrap()
                    .as_second()
            )
            .as_str()
        ),
        "{tags:?}"
    );
    let ledger = lightsail_jit::ledger::Ledger::read(&tags);
    use lightsail_jit::clock::Clock as _;
    assert_eq!(ledger.active(inside.clock.now()).count(), 0);
    let tags = tag_keys(&w, "web-1");
    assert!(
        tags.iter().any(|k| k.starts_with("jit:baseline")),
        "the baseline stays recorded while the window replaces it: {tags:?}"
    );
    // A grant is refused; the next sweep in the window has nothing to do.
    let out = run(&inside, grant("late", "198.51.100.9", 600)).await;
    assert_eq!(out["error"]["code"], "LockedDown", "{out}");
    let writes = writes_seen(&w.lightsail).len();
    inside.clock.advance(std::time::Duration::from_secs(600));
    let out = run(&inside, sweep()).await;
    assert_eq!(writes_seen(&w.lightsail).len(), writes, "{out}");
    assert_eq!(out["driftCorrected"], 0);

    // After the window the baseline is back, byte for byte, and that is not drift either.
    let after = app_at(
        &w.lightsail,
        web_policy(json!({"from": "10:30", "to": "12:00"})),
        "2026-11-23T12:20:00Z",
    );
    let out = run(&after, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline(), "{out}");
    assert_eq!(out["driftCorrected"], 0, "{out}");
    assert!(
        !tag_keys(&w, "web-1")
            .iter()
            .any(|k| k.starts_with("jit:") && k != "jit:managed"),
        "no grant and no baseline tag is left: {:?}",
        tag_keys(&w, "web-1")
    );
}

#[tokio::test]
async fn a_window_on_one_instance_leaves_the_others_alone() {
    let w = world_with(web_policy(json!({"from": "09:00", "to": "11:00"})));
    let out = ok(&w, grant_on("db-1", "d1", "203.0.113.7", 600)).await;
    assert_eq!(out["status"], "granted", "{out}");
    let out = ok(&w, grant("w1", "203.0.113.7", 600)).await;
    assert_eq!(out["error"]["code"], "LockedDown", "{out}");
    let db_before = ports(&w, "db-1");
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "db-1"), db_before, "db-1's grant stays open");
    let web = w.lightsail.firewall("web-1");
    assert!(
        web.iter()
            .all(|(range, _)| range.protocol == Protocol::Tcp && range.from_port == 443),
        "web-1 is at its lockdown rules: {web:?}"
    );
}

#[tokio::test]
async fn status_shows_the_window_in_force_and_the_next_start() {
    let w = world_with(policy(json!([
        {"days": ["Mon"], "from": "09:00", "to": "11:00"},
        {"days": ["Tue"], "from": "20:00", "to": "07:00", "timeZone": "Europe/Berlin"}
    ])));
    let out = ok(&w, json!({"action": "status", "instanceName": "web-1"})).await;
    let web = &out["instances"][0];
    assert_eq!(
        web["lockdown"],
        json!({"source": "window", "since": "2026-11-23T09:00:00Z",
               "until": "2026-11-23T11:00:00Z", "requester": null,
               "reason": "Mon 09:00-11:00 UTC"}),
        "{out}"
    );
    // Tuesday 20:00 in Berlin (CET, UTC+1).
    assert_eq!(web["nextLockdown"], "2026-11-24T19:00:00Z", "{out}");
    let out = ok(&w, json!({"action": "status", "instanceName": "db-1"})).await;
    assert!(
        out["instances"][0]["lockdown"].is_object(),
        "top-level windows cover every instance"
    );
    advance(&w, 2 * 3600);
    let out = ok(&w, json!({"action": "status", "instanceName": "web-1"})).await;
    assert_eq!(out["instances"][0]["lockdown"], Value::Null, "{out}");
}

#[test]
fn an_invalid_window_stops_the_cold_start_naming_the_field() {
    let err = Policy::from_value(json!({"lockdownWindows": [
        {"from": "20:00", "to": "07:00"}, {"from": "25:00", "to": "07:00"}
    ]}))
    .unwrap_err();
    assert!(err.0.contains("lockdownWindows[1].from"), "{err}");
    let err = Policy::from_value(json!({"instances": {"web-1": {"lockdownWindows": [
        {"from": "20:00", "to": "07:00", "timeZone": "Nowhere/Atlantis"}
    ]}}}))
    .unwrap_err();
    assert!(
        err.0
            .contains("instances.web-1.lockdownWindows[0].timeZone"),
        "{err}"
    );
    let many: Vec<Value> = (0..1000)
        .map(|_| json!({"from": "20:00", "to": "07:00"}))
        .collect();
    let err = Policy::from_value(json!({"lockdownWindows": many})).unwrap_err();
    assert!(err.0.contains("at most 50"), "{err}");
}
