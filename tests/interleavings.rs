//! Every interleaving of two concurrent commands on one instance, explored exhaustively.
//!
//! Each command runs against the shared simulator through an [`Actor`] that lets exactly
//! one Lightsail call through per step; a depth-first search over "which command makes
//! the next call" replays every distinct schedule. After *every* step we check that no
//! port is open without a tag that a sweep would close; after both commands finish, one
//! more sweep must converge the firewall to baseline + the grants in the ledger, and a
//! grant that was reported granted must not have been lost. This is docs/DESIGN.md §5's
//! ordering argument, as a test.
//!
//! Lockdowns hold (issue #11): a lockdown racing a grant, an unlock or another lockdown,
//! an unlock racing a sweep or a grant — whichever wins, the final state is one the
//! ledger explains (lockdown record ⇒ lockdown rules ∪ break-glass grants; none ⇒
//! baseline ∪ grants), and a break-glass grant is never lost.

mod common;
mod explorer;

use common::*;
use explorer::{Run, block_on, dispatch, explore, explore_with, has_grant};
use lightsail_jit::firewall::RuleSet;
use lightsail_jit::ledger::{Grant, Ledger, LockdownRecord};
use lightsail_jit::lightsail::sim::Sim;
use lightsail_jit::policy::Policy;
use serde_json::json;

fn lockdown_rules() -> RuleSet {
    RuleSet::from_rules(&web_lockdown_rules())
}

fn baseline() -> RuleSet {
    RuleSet::from_rules(&web_baseline())
}

fn ledger(sim: &Sim) -> Ledger {
    Ledger::read(&sim.tags("web-1"))
}

fn grant_rules(sim: &Sim, id: &str) -> RuleSet {
    ledger(sim).grant(id).map(Grant::rules).unwrap()
}

/// The lockdown record in force at the run's time.
fn in_force(sim: &Sim, run: &Run) -> Option<LockdownRecord> {
    ledger(sim).lockdown.filter(|r| r.in_force(run.now))
}

fn firewall(sim: &Sim) -> RuleSet {
    sim.firewall("web-1")
}

/// An expired grant the sweep must end (so it has Put and untag to do).
fn expired_grant(w: &World) {
    let out = block_on(invoke(w, grant("old", "198.51.100.9", 60)));
    assert_eq!(out["status"], "granted");
    advance(w, 61);
}

#[test]
fn grant_racing_a_sweep_is_never_lost() {
    let n = explore(
        "grant ∥ sweep",
        &|w| expired_grant(w),
        [
            grant("new", "203.0.113.7", 3600),
            json!({"action": "sweep"}),
        ],
        &|sim, run| {
            assert_eq!(run.outcomes[0]["status"], "granted");
            assert!(
                has_grant(sim, run, "new"),
                "{:?}: the racing grant was lost",
                run.trace
            );
            assert!(!has_grant(sim, run, "old"));
        },
    );
    assert!(
        n >= 20,
        "only {n} schedules: the explorer is not interleaving"
    );
}

#[test]
fn two_sweeps_racing_converge() {
    explore(
        "sweep ∥ sweep",
        &|w| {
            block_on(invoke(w, grant("keep", "203.0.113.7", 7200)));
            expired_grant(w);
        },
        [json!({"action": "sweep"}), json!({"action": "sweep"})],
        &|sim, run| {
            assert!(has_grant(sim, run, "keep"), "{:?}", run.trace);
            assert!(!has_grant(sim, run, "old"));
        },
    );
}

#[test]
fn revoke_racing_a_grant_either_ends_it_or_leaves_it_whole() {
    explore(
        "revoke ∥ grant",
        &|w| {
            block_on(invoke(w, grant("a", "198.51.100.9", 3600)));
        },
        [
            json!({"action": "revoke", "instanceName": "web-1"}),
            grant("new", "203.0.113.7", 3600),
        ],
        &|sim, run| {
            assert_eq!(run.outcomes[1]["status"], "granted");
            let revoked: Vec<&str> = run.outcomes[0]["revoked"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert!(revoked.contains(&"a") && !has_grant(sim, run, "a"));
            assert_eq!(
                has_grant(sim, run, "new"),
                !revoked.contains(&"new"),
                "{:?}: revoked {revoked:?}",
                run.trace
            );
        },
    );
}

/// Extending grant `a` by two hours (its policy maximum allows it).
fn extend_a() -> serde_json::Value {
    json!({"action": "extend", "instanceName": "web-1", "requestId": "a", "duration": "2h"})
}

/// Whatever the extension answered, a grant its racing revoke or lockdown ended stays
/// ended: the final sweep leaves nothing of it open.
fn ended_for_good(sim: &Sim, run: &Run, extended: &serde_json::Value) {
    let trace = &run.trace;
    assert!(
        matches!(extended["status"].as_str(), Some("extended" | "rejected")),
        "{trace:?}: {extended}"
    );
    if extended["status"] == "rejected" {
        assert_eq!(
            extended["error"]["code"], "GrantExpired",
            "{trace:?}: {extended}"
        );
    }
    // Right after both commands, before any sweep could repair it: a grant active here
    // is opened again by the next sweep after the lockdown ends.
    let after_both = Ledger::read(&run.after_both.tags);
    assert!(
        after_both.grant("a").is_none_or(|g| !g.is_active(run.now)),
        "{trace:?}: the extension brought the ended grant back (extend answered {})",
        extended["status"]
    );
    assert!(
        !has_grant(sim, run, "a"),
        "{trace:?}: active after the sweep"
    );
    assert!(
        firewall(sim).minus(&baseline()).is_empty() || in_force(sim, run).is_some(),
        "{trace:?}: the ended grant is open again: {:?}",
        firewall(sim)
    );
}

#[test]
fn extend_racing_a_revoke_never_brings_the_grant_back() {
    let n = explore(
        "extend ∥ revoke",
        &|w| {
            block_on(invoke(w, grant("a", "198.51.100.9", 3600)));
        },
        [
            json!({"action": "revoke", "instanceName": "web-1", "requestId": "a"}),
            extend_a(),
        ],
        &|sim, run| {
            assert_eq!(run.outcomes[0]["status"], "revoked", "{}", run.outcomes[0]);
            assert_eq!(run.outcomes[0]["revoked"], json!(["a"]));
            ended_for_good(sim, run, &run.outcomes[1]);
            assert_eq!(firewall(sim), baseline(), "{:?}", run.trace);
        },
    );
    assert!(n >= 5, "only {n} schedules");
}

#[test]
fn extend_racing_a_lockdown_never_brings_the_grant_back() {
    let n = explore(
        "extend ∥ lockdown",
        &|w| {
            block_on(invoke(w, grant("a", "198.51.100.9", 3600)));
        },
        [
            json!({"action": "lockdown", "instanceNames": ["web-1"], "duration": "1h"}),
            extend_a(),
        ],
        &|sim, run| {
            assert_eq!(
                run.outcomes[0]["status"], "lockedDown",
                "{}",
                run.outcomes[0]
            );
            assert!(in_force(sim, run).is_some(), "{:?}", run.trace);
            let extended = &run.outcomes[1];
            if extended["status"] == "rejected" && extended["error"]["code"] == "LockedDown" {
                assert!(!has_grant(sim, run, "a"));
            } else {
                ended_for_good(sim, run, extended);
            }
            assert_eq!(firewall(sim), baseline(), "{:?}", run.trace);
            // After the lockdown's end, the baseline alone: the extension did not outlive it.
            let later =
                run.now + jiff::SignedDuration::from_hours(1) + jiff::SignedDuration::from_secs(60);
            let swept = dispatch(sim, &Policy::default(), later, json!({"action": "sweep"}));
            assert_eq!(swept["status"], "swept", "{swept}");
            assert_eq!(
                firewall(sim),
                baseline(),
                "{:?}: open after the lockdown",
                run.trace
            );
        },
    );
    assert!(n >= 5, "only {n} schedules");
}

#[test]
fn lockdown_racing_a_grant_ends_it_or_refuses_it_and_holds() {
    explore(
        "lockdown ∥ grant",
        &|w| {
            block_on(invoke(w, grant("a", "198.51.100.9", 3600)));
        },
        [
            json!({"action": "lockdown", "instanceNames": ["web-1"]}),
            grant("new", "203.0.113.7", 3600),
        ],
        &|sim, run| {
            assert_eq!(run.outcomes[0]["status"], "lockedDown");
            // The lockdown is recorded (open-ended) and holds.
            let record = in_force(sim, run).expect("the lockdown is recorded");
            assert_eq!(
                (record.request_id.as_str(), record.until),
                ("delivery-a", None)
            );
            assert!(!has_grant(sim, run, "a"));
            // The racing grant read the ledger before the record (granted, then ended by
            // the lockdown or the sweep after it) or after it (refused, nothing written).
            let new = ledger(sim).grant("new").cloned();
            match run.outcomes[1]["status"].as_str() {
                Some("granted") => assert!(
                    new.is_some_and(|g| !g.is_active(run.now)),
                    "{:?}: granted, not ended",
                    run.trace
                ),
                Some("rejected") => {
                    assert_eq!(run.outcomes[1]["error"]["code"], "LockedDown");
                    assert!(new.is_none(), "{:?}: refused, yet recorded", run.trace);
                }
                _ => panic!("{:?}: {}", run.trace, run.outcomes[1]),
            }
            assert!(!has_grant(sim, run, "new"), "{:?}", run.trace);
            assert_eq!(
                firewall(sim),
                baseline(),
                "{:?}: the lockdown holds",
                run.trace
            );
        },
    );
}

#[test]
fn a_break_glass_grant_racing_a_lockdown_survives() {
    let n = explore_with(
        "lockdown ∥ breakglass",
        &lockdown_policy(),
        &|w| {
            block_on(invoke(w, grant("a", "203.0.113.7", 3600)));
            block_on(invoke(
                w,
                web_lockdown("night-1", json!({"duration": "2h"})),
            ));
            // An expired break-glass grant, so the racing lockdown has a Put to do.
            block_on(invoke(w, break_glass("bg-old", "192.0.2.44", 60)));
            advance(w, 61);
        },
        [
            web_lockdown("night-2", json!({"duration": "4h"})),
            break_glass("bg", "198.51.100.9", 3600),
        ],
        &|sim, run| {
            let trace = &run.trace;
            let (locked, granted) = (&run.outcomes[0], &run.outcomes[1]);
            assert_eq!(locked["status"], "lockedDown", "{locked}");
            assert_eq!(locked["ended"], 0, "{trace:?}: {locked}");
            assert_eq!(in_force(sim, run).unwrap().request_id, "night-2");
            // Locked down either way: on-call breaks glass, capped at 30 minutes.
            assert_eq!(granted["status"], "granted", "{trace:?}: {granted}");
            assert_eq!(granted["breakGlass"], true, "{trace:?}: {granted}");
            assert_eq!(granted["cappedBy"], "breakGlassMaxDuration 30m");
            assert!(ledger(sim).grant("bg").unwrap().break_glass);
            // Open once both ended (the lockdown re-opens it if its Put closed it), and
            // after the sweep: the lockdown rules and the break-glass grant, nothing else.
            let bg = grant_rules(sim, "bg");
            let after_both = RuleSet::from_rules(&run.after_both.ports);
            assert!(after_both.contains(&bg), "{trace:?}: {after_both:?}");
            assert!(has_grant(sim, run, "bg") && !has_grant(sim, run, "bg-old"));
            let mut expected = lockdown_rules();
            expected.union(&bg);
            assert_eq!(firewall(sim), expected, "{trace:?}");
        },
    );
    assert!(n >= 20, "only {n} schedules");
}

#[test]
fn on_call_racing_the_first_lockdown_is_break_glass_iff_it_read_the_record() {
    explore_with(
        "lockdown ∥ oncall",
        &lockdown_policy(),
        &|w| {
            block_on(invoke(w, grant("a", "203.0.113.7", 3600)));
        },
        [
            web_lockdown("night-1", json!({"duration": "2h"})),
            break_glass("oc", "198.51.100.9", 3600),
        ],
        &|sim, run| {
            let trace = &run.trace;
            let granted = &run.outcomes[1];
            assert_eq!(run.outcomes[0]["status"], "lockedDown");
            assert!(in_force(sim, run).is_some() && !has_grant(sim, run, "a"));
            // Granted either way: before the record as an ordinary grant (which the
            // lockdown ends), after it as break glass (which the lockdown keeps).
            assert_eq!(granted["status"], "granted", "{trace:?}: {granted}");
            let oc = ledger(sim).grant("oc").cloned().unwrap();
            assert_eq!(granted["breakGlass"] == true, oc.break_glass, "{granted}");
            assert_eq!(
                granted.get("cappedBy").is_some(),
                oc.break_glass,
                "{granted}"
            );
            assert_eq!(
                has_grant(sim, run, "oc"),
                oc.break_glass,
                "{trace:?}: open after the sweep iff break glass"
            );
            let mut expected = lockdown_rules();
            if oc.break_glass {
                expected.union(&oc.rules());
            }
            assert_eq!(firewall(sim), expected, "{trace:?}");
        },
    );
}

#[test]
fn unlock_racing_a_sweep_brings_the_baseline_back() {
    let n = explore_with(
        "unlock ∥ sweep",
        &lockdown_policy(),
        &|w| {
            block_on(invoke(w, grant("a", "203.0.113.7", 3600)));
            block_on(invoke(
                w,
                web_lockdown("night-1", json!({"duration": "2h"})),
            ));
            block_on(invoke(w, break_glass("bg", "198.51.100.9", 1800)));
            // An expired break-glass grant, so the sweep has a Put to do.
            block_on(invoke(w, break_glass("bg-old", "192.0.2.44", 60)));
            advance(w, 61);
        },
        [web_unlock(), json!({"action": "sweep"})],
        &|sim, run| {
            let trace = &run.trace;
            let unlocked = &run.outcomes[0];
            assert_eq!(unlocked["status"], "unlocked", "{unlocked}");
            assert_eq!(unlocked["instances"], 1, "{unlocked}");
            assert!(unlocked.get("failed").is_none(), "{unlocked}");
            assert_eq!(run.outcomes[1]["status"], "swept");
            let after = ledger(sim);
            assert!(after.lockdown.is_none() && after.lockdown_keys.is_empty());
            // The baseline is back, and the break-glass grant open until its expiry —
            // already once both ended, whichever Put came last.
            let mut expected = baseline();
            expected.union(&grant_rules(sim, "bg"));
            assert_eq!(
                RuleSet::from_rules(&run.after_both.ports),
                expected,
                "{trace:?}: once both ended"
            );
            assert_eq!(firewall(sim), expected, "{trace:?}");
            assert!(has_grant(sim, run, "bg") && !has_grant(sim, run, "bg-old"));
        },
    );
    assert!(n >= 20, "only {n} schedules");
}

#[test]
fn unlock_racing_a_grant_refuses_it_or_keeps_it() {
    explore_with(
        "unlock ∥ grant",
        &lockdown_policy(),
        &|w| {
            block_on(invoke(
                w,
                web_lockdown("night-1", json!({"duration": "2h"})),
            ));
        },
        [web_unlock(), grant("new", "203.0.113.7", 3600)],
        &|sim, run| {
            let trace = &run.trace;
            assert_eq!(run.outcomes[0]["status"], "unlocked");
            assert!(ledger(sim).lockdown.is_none());
            let mut expected = baseline();
            match run.outcomes[1]["status"].as_str() {
                // It read the record before the unlock lifted it.
                Some("rejected") => {
                    assert_eq!(run.outcomes[1]["error"]["code"], "LockedDown");
                    assert!(ledger(sim).grant("new").is_none(), "{trace:?}");
                }
                Some("granted") => {
                    assert!(has_grant(sim, run, "new"), "{trace:?}: lost");
                    expected.union(&grant_rules(sim, "new"));
                }
                _ => panic!("{trace:?}: {}", run.outcomes[1]),
            }
            assert_eq!(firewall(sim), expected, "{trace:?}");
        },
    );
}

#[test]
fn lockdown_racing_an_unlock_leaves_one_or_the_other() {
    let policy = lockdown_policy();
    let n = explore_with(
        "lockdown ∥ unlock",
        &policy,
        &|w| {
            block_on(invoke(
                w,
                web_lockdown("night-1", json!({"duration": "2h"})),
            ));
        },
        [web_lockdown("night-2", json!({})), web_unlock()],
        &|sim, run| {
            let trace = &run.trace;
            assert_eq!(
                run.outcomes[0]["status"], "lockedDown",
                "{}",
                run.outcomes[0]
            );
            assert_eq!(run.outcomes[1]["status"], "unlocked", "{}", run.outcomes[1]);
            // Whichever won, the firewall is what the ledger says: locked by the second
            // lockdown (the first is lifted or replaced), or unlocked.
            let after = ledger(sim);
            match &after.lockdown {
                Some(record) => {
                    assert_eq!(record.request_id, "night-2", "{trace:?}");
                    assert_eq!(firewall(sim), lockdown_rules(), "{trace:?}");
                }
                None => {
                    assert!(after.lockdown_keys.is_empty(), "{trace:?}");
                    assert_eq!(firewall(sim), baseline(), "{trace:?}");
                }
            }
            // And the baseline can still come back: an unlock now restores it exactly.
            let out = dispatch(sim, &policy, run.now, web_unlock());
            assert_eq!(out["status"], "unlocked", "{out}");
            assert_eq!(firewall(sim), baseline(), "{trace:?}: the baseline is lost");
        },
    );
    assert!(n >= 20, "only {n} schedules");
}

#[test]
fn two_grants_racing_both_survive() {
    explore(
        "grant ∥ grant",
        &|_| {},
        [
            grant("one", "203.0.113.7", 3600),
            grant("two", "198.51.100.9", 3600),
        ],
        &|sim, run| {
            assert!(
                has_grant(sim, run, "one") && has_grant(sim, run, "two"),
                "{:?}",
                run.trace
            );
        },
    );
}
