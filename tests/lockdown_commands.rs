//! Lockdowns by command through the handler: a `lockdown` is recorded on the instance and
//! holds — every sweep keeps its rules, grants and extends are refused — until its end or
//! an `unlock`; break-glass requesters may still be granted, and the sweep keeps their
//! grants open. The world starts on Monday 2026-11-23 at 10:00 UTC.

mod common;

use common::*;
use lightsail_jit::firewall::{Protocol, RuleSet};
use lightsail_jit::ledger::Tag;
use lightsail_jit::lightsail::Lightsail;
use lightsail_jit::lightsail::sim::Sim;
use lightsail_jit::policy::Policy;
use serde_json::{Value, json};

fn jit_keys(w: &World) -> Vec<String> {
    tag_keys(w, "web-1")
        .into_iter()
        .filter(|k| k.starts_with("jit:") && k != "jit:managed")
        .collect()
}

#[tokio::test]
async fn a_timed_lockdown_holds_until_its_end_then_the_baseline_is_back() {
    let w = world_with(lockdown_policy());
    ok(&w, grant("before", "203.0.113.7", 3 * 3600)).await;
    let out = ok(&w, web_lockdown("night-1", json!({"duration": "2h"}))).await;
    assert_eq!(out["status"], "lockedDown", "{out}");
    assert_eq!(
        (out["instances"].clone(), out["ended"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(out["until"], "2026-11-23T12:00:00Z");
    assert_eq!(ports(&w, "web-1"), web_lockdown_rules());
    let value = w.lightsail.tags("web-1");
    assert!(
        value.contains(&Tag::new(
            "jit:lockdown",
            "v1 1795428000 1795435200 night-1 ops"
        )),
        "{value:?}"
    );
    assert!(value.contains(&Tag::new("jit:lockdown:reason", "night")));

    // Ten minutes later: the sweep keeps the lockdown (no write, no drift) ...
    advance(&w, 600);
    let writes = writes_seen(&w.lightsail).len();
    let out = ok(&w, sweep()).await;
    assert_eq!(out["driftCorrected"], 0, "{out}");
    assert_eq!(ports(&w, "web-1"), web_lockdown_rules());
    assert_eq!(
        writes_seen(&w.lightsail).len(),
        writes,
        "a held lockdown costs no write"
    );
    // ... and even a hand-opened port is closed again.
    let by_hand = rule(Protocol::Tcp, 22, 22, &["0.0.0.0/0"], &[], &[]);
    w.lightsail
        .open_instance_public_ports("web-1", &by_hand)
        .await
        .unwrap();
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_lockdown_rules());

    // Grants and extends are refused, naming the lockdown and its end.
    let out = ok(&w, grant("during", "203.0.113.7", 600)).await;
    assert_eq!(out["error"]["code"], "LockedDown", "{out}");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("a lockdown by ops") && message.contains("until 2026-11-23T12:00:00Z"),
        "{message}"
    );
    let extend = json!({"action": "extend", "instanceName": "web-1", "requestId": "before", "duration": "1h"});
    assert_eq!(ok(&w, extend).await["error"]["code"], "LockedDown");

    // At its end the first sweep restores the baseline, byte for byte, and tidies up.
    advance(&w, 110 * 60);
    let out = ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline(), "{out}");
    assert_eq!(
        out["driftCorrected"], 0,
        "the end of a lockdown is not drift: {out}"
    );
    assert_eq!(jit_keys(&w), Vec::<String>::new());
    assert_eq!(
        ok(&w, grant("after", "203.0.113.7", 600)).await["status"],
        "granted"
    );
}

#[tokio::test]
async fn an_open_ended_lockdown_holds_until_web_unlock() {
    let w = world_with(lockdown_policy());
    let out = ok(&w, web_lockdown("hold", json!({}))).await;
    assert_eq!(out["until"], Value::Null, "{out}");
    advance(&w, 3 * 24 * 3600);
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_lockdown_rules(), "three days later");
    let out = ok(&w, grant("g", "203.0.113.7", 600)).await;
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("until an unlock"),
        "{out}"
    );

    let out = ok(&w, web_unlock()).await;
    assert_eq!(out["status"], "unlocked", "{out}");
    assert_eq!(out["instances"], 1);
    assert!(out["apiCalls"].as_u64().unwrap() >= 3, "{out}");
    assert_eq!(ports(&w, "web-1"), web_baseline());
    assert_eq!(jit_keys(&w), Vec::<String>::new());
    let out = ok(&w, sweep()).await;
    assert_eq!(out["driftCorrected"], 0, "{out}");
    assert_eq!(
        ok(&w, grant("g", "203.0.113.7", 600)).await["status"],
        "granted"
    );
}

#[tokio::test]
async fn unlock_removes_the_record_before_restoring_so_a_failed_restore_still_ends_it() {
    use lightsail_jit::lightsail::sim::{Op, Timing};
    let w = world_with(lockdown_policy());
    ok(&w, web_lockdown("hold", json!({}))).await;
    w.lightsail.fail(Op::Put, 1, Timing::Before);
    assert!(
        invoke(&w, web_unlock()).await.is_err(),
        "a transient failure"
    );
    assert_eq!(
        jit_keys(&w)
            .iter()
            .filter(|k| k.starts_with("jit:lockdown"))
            .count(),
        0
    );
    // The next sweep (not another unlock) finishes the job.
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline());
    assert_eq!(jit_keys(&w), Vec::<String>::new());
}

#[tokio::test]
async fn a_redelivered_lockdown_keeps_its_first_end_and_writes_nothing() {
    let w = world_with(lockdown_policy());
    let first = ok(&w, web_lockdown("night-1", json!({"duration": "1h"}))).await;
    advance(&w, 20 * 60);
    let writes = writes_seen(&w.lightsail).len();
    let again = ok(&w, web_lockdown("night-1", json!({"duration": "1h"}))).await;
    assert_eq!(again["until"], first["until"], "{again}");
    assert_eq!(writes_seen(&w.lightsail).len(), writes);
    // A new lockdown (another requestId) replaces the record: the last command wins.
    let out = ok(
        &w,
        web_lockdown("night-2", json!({"until": "2026-11-23T18:00:00+01:00"})),
    )
    .await;
    assert_eq!(out["until"], "2026-11-23T17:00:00Z", "{out}");
    let tags = w.lightsail.tags("web-1");
    let record = tags.iter().find(|t| t.key == "jit:lockdown").unwrap();
    assert!(
        record.value.as_deref().unwrap().contains(" night-2 "),
        "{record:?}"
    );
}

#[tokio::test]
async fn bad_lockdowns_and_unlocks_are_refused_without_a_write() {
    let w = world_with(lockdown_policy());
    let cases = [
        (
            web_lockdown(
                "x",
                json!({"duration": "1h", "until": "2026-11-24T07:00:00Z"}),
            ),
            "InvalidField",
            "`duration` and `until`",
        ),
        (
            web_lockdown("x", json!({"until": "2026-11-23T09:00:00Z"})),
            "InvalidField",
            "not in the future",
        ),
        (
            web_lockdown("x", json!({"until": "tomorrow"})),
            "InvalidField",
            "`until`",
        ),
        (
            web_lockdown("x", json!({"until": "2026-11-24T07:00:00"})),
            "InvalidField",
            "offset",
        ),
        (
            web_lockdown("x", json!({"duration": "-1h"})),
            "InvalidDuration",
            "duration",
        ),
        (
            json!({"action": "unlock", "instanceNames": ["web-1"]}),
            "MissingField",
            "`requester`",
        ),
        (
            json!({"action": "unlock", "requester": "ops", "until": "x"}),
            "UnknownField",
            "until",
        ),
    ];
    for (command, code, says) in cases {
        let out = ok(&w, command.clone()).await;
        assert_eq!(out["error"]["code"], code, "{command}: {out}");
        let message = out["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{command}: {message}");
    }
    assert_no_write(&w.lightsail, "refused lockdowns and unlocks");
}

#[tokio::test]
async fn unlock_cannot_end_a_window() {
    let mut policy = lockdown_policy();
    let windowed = Policy::from_value(json!({"instances": {"web-1": {
        "lockdownWindows": [{"from": "09:00", "to": "11:00"}]}}}))
    .unwrap();
    let web = |p: &Policy| p.instances[&HOME]["web-1"].lockdown_windows.clone();
    let windows = web(&windowed);
    let home = policy.instances.get_mut(&HOME).unwrap();
    home.get_mut("web-1").unwrap().lockdown_windows = windows;
    let w = world_with(policy);
    ok(&w, sweep()).await;
    w.lightsail.clear_calls();
    let out = ok(&w, web_unlock()).await;
    assert_eq!(out["status"], "rejected", "{out}");
    assert_eq!(out["error"]["code"], "LockedDown");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("every day 09:00-11:00 UTC")
            && message.contains("until 2026-11-23T11:00:00Z"),
        "{message}"
    );
    assert_no_write(&w.lightsail, "an unlock inside a window");
    // Unlocking everything names web-1 and still unlocks db-1.
    ok(
        &w,
        json!({"action": "lockdown", "instanceNames": ["db-1"], "requester": "ops"}),
    )
    .await;
    let out = ok(&w, json!({"action": "unlock", "requester": "ops"})).await;
    assert_eq!(out["status"], "unlocked", "{out}");
    assert_eq!(out["instances"], 1);
    assert_eq!(out["failed"][0]["instanceName"], "web-1");
    assert_eq!(out["failed"][0]["code"], "LockedDown");
    assert!(!tag_keys(&w, "db-1").contains(&"jit:lockdown".to_string()));
}

#[tokio::test]
async fn break_glass_is_granted_during_a_lockdown_capped_and_kept_open_by_sweeps() {
    let w = world_with(lockdown_policy());
    ok(&w, web_lockdown("hold", json!({}))).await;
    let writes_before = writes_seen(&w.lightsail).len();
    // Not a break-glass requester; a break-glass requester without a reason.
    assert_eq!(
        ok(&w, grant("alice", "203.0.113.7", 600)).await["error"]["code"],
        "LockedDown"
    );
    let mut no_reason = break_glass("bg", "198.51.100.9", 600);
    no_reason.as_object_mut().unwrap().remove("reason");
    let out = ok(&w, no_reason).await;
    assert_eq!(out["error"]["code"], "ReasonRequired", "{out}");
    assert_eq!(
        writes_seen(&w.lightsail).len(),
        writes_before,
        "refused grants write nothing"
    );

    let out = ok(&w, break_glass("bg", "198.51.100.9", 7200)).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(out["expiresAt"], "2026-11-23T10:30:00Z");
    assert_eq!(out["cappedBy"], "breakGlassMaxDuration 30m");
    assert_eq!(out["breakGlass"], true);
    let bg = rule(Protocol::Tcp, 22, 22, &["198.51.100.9/32"], &[], &[]);
    let mut locked_with_bg = RuleSet::from_rules(&web_lockdown_rules());
    locked_with_bg.add_rule(&bg);
    assert_eq!(w.lightsail.firewall("web-1"), locked_with_bg);
    let status = ok(&w, json!({"action": "status", "instanceName": "web-1"})).await;
    assert_eq!(
        status["instances"][0]["grants"][0]["breakGlass"], true,
        "{status}"
    );

    // Sweeps and a second lockdown keep it open; it is not drift.
    advance(&w, 300);
    let out = ok(&w, sweep()).await;
    assert_eq!(out["driftCorrected"], 0, "{out}");
    assert_eq!(w.lightsail.firewall("web-1"), locked_with_bg);
    let out = ok(&w, web_lockdown("again", json!({"duration": "1h"}))).await;
    assert_eq!(out["ended"], 0, "{out}");
    assert_eq!(w.lightsail.firewall("web-1"), locked_with_bg);
    // Unlock: baseline + the break-glass grant still running.
    ok(&w, web_unlock()).await;
    let mut open_with_bg = RuleSet::from_rules(&web_baseline());
    open_with_bg.add_rule(&bg);
    assert_eq!(w.lightsail.firewall("web-1"), open_with_bg);
    // At its expiry the sweep closes it like any grant.
    advance(&w, 26 * 60);
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline());
}

#[tokio::test]
async fn break_glass_expires_inside_the_lockdown_back_to_its_rules() {
    let w = world_with(lockdown_policy());
    ok(&w, web_lockdown("hold", json!({}))).await;
    ok(&w, break_glass("bg", "198.51.100.9", 600)).await;
    advance(&w, 601);
    let out = ok(&w, sweep()).await;
    assert_eq!(out["expired"], 1, "{out}");
    assert_eq!(ports(&w, "web-1"), web_lockdown_rules());
    // A redelivery of the expired break-glass request opens nothing.
    let out = ok(&w, break_glass("bg", "198.51.100.9", 600)).await;
    assert_eq!(out["error"]["code"], "GrantExpired", "{out}");
    assert_eq!(ports(&w, "web-1"), web_lockdown_rules());
}

#[tokio::test]
async fn status_shows_a_lockdown_by_command() {
    let w = world_with(lockdown_policy());
    ok(&w, web_lockdown("night-1", json!({"duration": "9h"}))).await;
    let out = ok(&w, json!({"action": "status", "instanceName": "web-1"})).await;
    assert_eq!(
        out["instances"][0]["lockdown"],
        json!({"source": "command", "since": "2026-11-23T10:00:00Z",
               "until": "2026-11-23T19:00:00Z", "requester": "ops", "reason": "night"}),
        "{out}"
    );
    let out = ok(&w, json!({"action": "status", "instanceName": "db-1"})).await;
    assert_eq!(out["instances"][0]["lockdown"], Value::Null);
}

#[tokio::test]
async fn dry_runs_of_lockdown_and_unlock_plan_exactly_and_write_nothing() {
    let w = world_with(lockdown_policy());
    ok(&w, grant("a", "203.0.113.7", 3600)).await;
    w.lightsail.clear_calls();
    let mut command = web_lockdown("night-1", json!({"duration": "1h"}));
    command["dryRun"] = json!(true);
    let out = ok(&w, command).await;
    assert_eq!(out["status"], "plan", "{out}");
    assert_eq!(out["action"], "lockdown");
    let plan = &out["instances"][0];
    assert_eq!(plan["ends"], json!(["a"]));
    assert_eq!(
        plan["putBody"],
        serde_json::to_value(web_lockdown_rules()).unwrap()
    );
    let written: Vec<&str> = plan["tagsToWrite"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert!(
        written.contains(&"jit:lockdown") && written.contains(&"jit:end:a"),
        "{written:?}"
    );
    assert_no_write(&w.lightsail, "a dry-run lockdown");

    ok(&w, web_lockdown("night-1", json!({"duration": "1h"}))).await;
    w.lightsail.clear_calls();
    let mut command = web_unlock();
    command["dryRun"] = json!(true);
    let out = ok(&w, command).await;
    assert_eq!(out["action"], "unlock", "{out}");
    let plan = &out["instances"][0];
    let removed = plan["tagsToRemove"].as_array().unwrap();
    assert!(removed.contains(&json!("jit:lockdown")), "{plan}");
    assert_eq!(
        plan["putBody"],
        serde_json::to_value(web_baseline()).unwrap()
    );
    assert_no_write(&w.lightsail, "a dry-run unlock");
}

#[tokio::test]
async fn an_unreadable_lockdown_tag_fails_closed_until_web_unlock() {
    let mut instances = instances();
    instances[0]
        .tags
        .push(Tag::new("jit:lockdown", "v9 garbage"));
    let w = lightsail_jit::service::App::new(
        Sim::new(instances),
        other_concerns(lockdown_policy()),
        lightsail_jit::clock::ManualClock::new(START.parse().unwrap()),
    );
    assert_eq!(
        ok(&w, grant("g", "203.0.113.7", 600)).await["error"]["code"],
        "LockedDown"
    );
    ok(&w, sweep()).await;
    assert_eq!(
        ports(&w, "web-1"),
        web_lockdown_rules(),
        "held as a lockdown without end"
    );
    ok(&w, web_unlock()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline());
    assert_eq!(jit_keys(&w), Vec::<String>::new());
}
