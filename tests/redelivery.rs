//! Retried commands finish the job (issue #13): a `revoke`, `lockdown` or `unlock` that
//! failed midway is delivered again (same delivery id, as SQS and Lambda redeliver), and
//! the redelivery closes what the command should have closed and answers exactly what a
//! first attempt without the fault answers.
//!
//! Each case runs the command twice, on two identical worlds: once without a fault (the
//! reference answer), once with one injected fault at the named step and then the same
//! delivery again. The answers must be equal (except `apiCalls`), and so must the
//! firewall, before any sweep runs.

mod common;

use common::*;
use lightsail_jit::firewall::RuleSet;
use lightsail_jit::handler::handle;
use lightsail_jit::ledger::{EndedBy, Ledger};
use lightsail_jit::lightsail::sim::{Op, Timing};
use serde_json::{Value, json};

/// Every step a revoke or a lockdown writes or reads after its first read, and where the
/// fault strikes: before the call (nothing applied) or after it (applied, answer lost).
const FAULTS: [(Op, Timing); 6] = [
    (Op::Tag, Timing::Before),
    (Op::Tag, Timing::After),
    (Op::Put, Timing::Before),
    (Op::Put, Timing::After),
    (Op::GetInstance, Timing::After),
    (Op::Untag, Timing::After),
];

fn without_api_calls(mut out: Value) -> Value {
    if let Some(map) = out.as_object_mut() {
        map.remove("apiCalls");
    }
    out
}

/// Two grants on web-1, one of them long past its linger (so its tag could go at once).
async fn two_grants(w: &World) {
    ok(w, grant("old", "198.51.100.9", 7200)).await;
    advance(w, LINGER_SECS + 60);
    ok(w, grant("new", "203.0.113.7", 3600)).await;
}

/// `command` on a world prepared by `setup`: the reference answer and firewall, then for
/// every fault the answer and firewall of the failed delivery's redelivery.
async fn redelivered_like_the_first(
    setup: impl AsyncFn(&World),
    policy: impl Fn() -> lightsail_jit::policy::Policy,
    command: Value,
) -> usize {
    let reference = world_with(policy());
    setup(&reference).await;
    let expected = handle(&reference, lambda_event(&command, "delivery-1"))
        .await
        .unwrap();
    let expected_firewall = reference.lightsail.firewall("web-1");
    let mut struck = 0;
    for (op, timing) in FAULTS {
        let w = world_with(policy());
        setup(&w).await;
        w.lightsail.fail(op, 1, timing);
        let first = handle(&w, lambda_event(&command, "delivery-1")).await;
        if w.lightsail.faults_struck() == 0 {
            // This command makes no such call: nothing to redeliver.
            assert_eq!(first.unwrap(), expected);
            continue;
        }
        struck += 1;
        assert!(
            first.is_err(),
            "{op:?} {timing:?}: the fault is reported transient"
        );
        let again = handle(&w, lambda_event(&command, "delivery-1"))
            .await
            .unwrap();
        assert_eq!(
            without_api_calls(again.clone()),
            without_api_calls(expected.clone()),
            "{op:?} {timing:?}: the redelivery answers what the first attempt would"
        );
        assert_eq!(
            w.lightsail.firewall("web-1"),
            expected_firewall,
            "{op:?} {timing:?}: the redelivery closed what the command closes, before any sweep"
        );
    }
    struck
}

#[tokio::test]
async fn a_redelivered_revoke_of_one_grant_closes_it_and_answers_revoked() {
    let command = json!({"action": "revoke", "instanceName": "web-1", "requestId": "old"});
    let struck = redelivered_like_the_first(two_grants, world_policy, command).await;
    assert!(struck >= 4, "only {struck} faults struck");
}

#[tokio::test]
async fn a_redelivered_revoke_of_every_grant_answers_the_same_list() {
    let command = json!({"action": "revoke", "instanceName": "web-1"});
    let struck = redelivered_like_the_first(two_grants, world_policy, command).await;
    assert!(struck >= 4, "only {struck} faults struck");
    // And the reference answer is the one a person expects.
    let w = world();
    two_grants(&w).await;
    let out = ok(&w, json!({"action": "revoke", "instanceName": "web-1"})).await;
    assert_eq!(out["revoked"], json!(["new", "old"]), "{out}");
    assert_eq!(
        w.lightsail.firewall("web-1"),
        RuleSet::from_rules(&web_baseline())
    );
}

#[tokio::test]
async fn a_redelivered_lockdown_answers_the_grants_it_ended() {
    let command = web_lockdown("night-1", json!({"duration": "2h"}));
    let struck = redelivered_like_the_first(two_grants, lockdown_policy, command.clone()).await;
    assert!(struck >= 4, "only {struck} faults struck");
    let w = world_with(lockdown_policy());
    two_grants(&w).await;
    let out = ok(&w, command).await;
    assert_eq!(out["ended"], 2, "{out}");
}

#[tokio::test]
async fn a_redelivered_unlock_restores_the_baseline() {
    async fn locked(w: &World) {
        two_grants(w).await;
        ok(w, web_lockdown("night-1", json!({"duration": "2h"}))).await;
        assert_eq!(
            w.lightsail.firewall("web-1"),
            RuleSet::from_rules(&web_lockdown_rules())
        );
    }
    let struck = redelivered_like_the_first(locked, lockdown_policy, web_unlock()).await;
    assert!(struck >= 2, "only {struck} faults struck");
}

/// The end marker names the revoke, so the redelivery of *another* revoke-all does not
/// claim grants this one ended.
#[tokio::test]
async fn another_revoke_does_not_claim_what_this_one_ended() {
    let w = world();
    two_grants(&w).await;
    let revoke_all = json!({"action": "revoke", "instanceName": "web-1"});
    let first = handle(&w, lambda_event(&revoke_all, "delivery-1"))
        .await
        .unwrap();
    assert_eq!(first["revoked"], json!(["new", "old"]));
    let ledger = Ledger::read(&w.lightsail.tags("web-1"));
    let end = ledger.grant("new").unwrap().ended.clone().unwrap();
    assert_eq!(end.by, EndedBy::revoke("delivery-1"));
    let other = handle(&w, lambda_event(&revoke_all, "delivery-2"))
        .await
        .unwrap();
    assert_eq!(other["status"], "revoked");
    assert_eq!(other["revoked"], json!([]), "{other}");
    // A revoke naming a grant that a lockdown or another revoke ended: made sure of, and
    // answered revoked (it is over, and closed).
    let named = json!({"action": "revoke", "instanceName": "web-1", "requestId": "new"});
    let out = handle(&w, lambda_event(&named, "delivery-3"))
        .await
        .unwrap();
    assert_eq!(out["revoked"], json!(["new"]), "{out}");
}

/// A grant that simply ran out is not revoked: `GrantExpired`, and nothing is written.
#[tokio::test]
async fn a_revoke_of_a_grant_that_ran_out_is_grant_expired() {
    let w = world();
    ok(&w, grant("short", "203.0.113.7", 60)).await;
    advance(&w, 120);
    w.lightsail.clear_calls();
    let out = ok(
        &w,
        json!({"action": "revoke", "instanceName": "web-1", "requestId": "short"}),
    )
    .await;
    assert_eq!(out["error"]["code"], "GrantExpired", "{out}");
    assert_no_write(&w.lightsail, "a revoke of an expired grant");
}

/// What the previous version wrote for a revoked grant — its own tag rewritten with an
/// expiry of "then" — still reads as ended, and a sweep removes it after its linger.
#[tokio::test]
async fn a_tombstone_of_the_previous_version_still_reads_as_ended() {
    let w = world();
    ok(&w, grant("a", "203.0.113.7", 3600)).await;
    let tag = w
        .lightsail
        .tags("web-1")
        .into_iter()
        .find(|t| t.key == "jit:grant:a")
        .unwrap();
    let value = tag.value.unwrap();
    let parts: Vec<&str> = value.splitn(4, ' ').collect();
    let tombstone = format!("{} {} {} {}", parts[0], parts[1], parts[1], parts[3]);
    use lightsail_jit::lightsail::Lightsail as _;
    w.lightsail
        .tag_resource(
            "web-1",
            &[lightsail_jit::ledger::Tag::new("jit:grant:a", tombstone)],
        )
        .await
        .unwrap();
    assert!(active_grants(&w, "web-1").is_empty());
    ok(&w, sweep()).await;
    assert_eq!(
        w.lightsail.firewall("web-1"),
        RuleSet::from_rules(&web_baseline())
    );
    advance(&w, LINGER_SECS);
    ok(&w, sweep()).await;
    assert_eq!(grant_keys(&w, "web-1"), Vec::<String>::new());
}

fn world_policy() -> lightsail_jit::policy::Policy {
    lightsail_jit::policy::Policy::default()
}
