//! Every interleaving of two concurrent commands on one instance, explored exhaustively.
//!
//! Each command runs against the shared simulator through an [`Actor`] that lets exactly
//! one Lightsail call through per step; a depth-first search over "which command makes
//! the next call" replays every distinct schedule. After *every* step we check that no
//! port is open without a tag that a sweep would close; after both commands finish, one
//! more sweep must converge the firewall to baseline + the grants in the ledger, and a
//! grant that was reported granted must not have been lost. This is docs/DESIGN.md §5's
//! ordering argument, as a test.

mod common;
mod explorer;

use common::*;
use explorer::{block_on, explore, has_grant};
use serde_json::json;

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

#[test]
fn lockdown_racing_a_grant_either_ends_it_or_leaves_it_whole() {
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
            assert!(!has_grant(sim, run, "a"));
            let _ = has_grant(sim, run, "new");
        },
    );
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
