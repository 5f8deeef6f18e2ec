//! The reconcile protocol end to end on the simulator (docs/DESIGN.md §5): grants open exactly
//! what they ask, access ends at the first sweep after expiry, baselines come back byte
//! for byte, and races with a sweep never drop a recorded grant.

mod common;

use common::*;
use lightsail_jit::firewall::{Protocol, RuleSet};
use lightsail_jit::lightsail::sim::{Op, OpenMode, Timing};
use lightsail_jit::policy::Policy;
use serde_json::json;

#[tokio::test]
async fn grant_opens_exactly_the_requested_rules() {
    let w = world();
    let before = w.lightsail.firewall("web-1");
    let out = ok(&w, grant("g1", "203.0.113.7", 3600)).await;
    assert_eq!(out["status"], "granted");
    assert_eq!(out["expiresAt"], "2026-11-23T11:00:00Z");
    let mut expected = before.clone();
    expected.add_rule(&rule(Protocol::Tcp, 22, 22, &["203.0.113.7/32"], &[], &[]));
    assert_eq!(w.lightsail.firewall("web-1"), expected);
    assert_eq!(grant_keys(&w, "web-1"), vec!["jit:grant:g1"]);
    // Port 22 already has a rule (browser SSH): where Open replaced its sources, the
    // grant's check opens it once more, whole.
    let repair = usize::from(open_mode() == OpenMode::Replace);
    assert_eq!(w.lightsail.count(Op::Open), 1 + repair);
    assert_eq!(
        w.lightsail.count(Op::GetInstance),
        2 + repair,
        "read, check (and re-check)"
    );
    assert_eq!(
        w.lightsail.count(Op::Put),
        0,
        "a grant never replaces the firewall"
    );
}

#[tokio::test]
async fn first_sweep_after_expiry_restores_the_baseline_byte_for_byte() {
    let w = world_with(Policy::from_json(r#"{"allowedPorts": ["22", "8000-8999"]}"#).unwrap());
    let original_tags = w.lightsail.tags("web-1");
    let two_ports = GrantCommand::on("web-1")
        .id("g1")
        .ports(&["22", "8080/tcp"])
        .from("203.0.113.7")
        .ipv6_from("2001:db8::/64")
        .lasting("1h")
        .requester("alice");
    let out = ok(&w, two_ports.json()).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(
        ok(&w, grant("g2", "198.51.100.0/24", 30 * 60)).await["status"],
        "granted"
    );
    advance(&w, 30 * 60 - 1);
    let out = ok(&w, sweep()).await;
    assert_eq!(
        out["expired"], 0,
        "nothing has expired a second before g2's end"
    );
    // Where Open replaced sources, each grant's check re-opened SSH whole once.
    let repairs = if open_mode() == OpenMode::Replace {
        2
    } else {
        0
    };
    assert_eq!(
        w.lightsail.writes(),
        5 + repairs,
        "only the grants wrote: a tag each and one open per port"
    );
    advance(&w, 3600);
    let out = ok(&w, sweep()).await;
    assert_eq!(out["status"], "swept");
    assert_eq!(out["expired"], 2);
    assert_eq!(out["driftCorrected"], 0);
    assert_eq!(ports(&w, "web-1"), web_baseline(), "restored byte for byte");
    assert_eq!(
        w.lightsail.tags("web-1"),
        original_tags,
        "ledger and baseline tags are gone, the user's stay"
    );
}

#[tokio::test]
async fn overlapping_grants_the_first_to_expire_keeps_the_second_open() {
    let w = world();
    ok(&w, grant("short", "203.0.113.7", 600)).await;
    ok(&w, grant("long", "203.0.113.7", 3600)).await;
    ok(&w, grant("other", "198.51.100.9", 600)).await;
    advance(&w, 601);
    let out = ok(&w, sweep()).await;
    assert_eq!(
        out["expired"], 1,
        "only `other` lost access: `long` keeps 203.0.113.7 open"
    );
    let mut expected = RuleSet::from_rules(&web_baseline());
    expected.add_rule(&rule(Protocol::Tcp, 22, 22, &["203.0.113.7/32"], &[], &[]));
    assert_eq!(
        w.lightsail.firewall("web-1"),
        expected,
        "the long grant's source stays open"
    );
    assert_eq!(active_grants(&w, "web-1"), vec!["long"]);
    advance(&w, 3600);
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline());
}

#[tokio::test]
async fn revoke_ends_one_grant_and_keeps_the_others() {
    let w = world();
    ok(&w, grant("a", "203.0.113.7", 3600)).await;
    ok(&w, grant("b", "198.51.100.9", 3600)).await;
    let out = ok(&w, json!({"action": "revoke", "instanceName": "web-1", "requestId": "a", "requester": "alice"})).await;
    assert_eq!(out["status"], "revoked");
    assert_eq!(out["revoked"], json!(["a"]));
    let mut expected = RuleSet::from_rules(&web_baseline());
    expected.add_rule(&rule(Protocol::Tcp, 22, 22, &["198.51.100.9/32"], &[], &[]));
    assert_eq!(w.lightsail.firewall("web-1"), expected);
    assert_eq!(active_grants(&w, "web-1"), vec!["b"]);
    assert!(
        grant_keys(&w, "web-1").contains(&"jit:grant:a".to_string()),
        "a revoked grant lingers as a tombstone"
    );
    let out = ok(&w, json!({"action": "revoke", "instanceName": "web-1"})).await;
    assert_eq!(out["revoked"], json!(["b"]));
    assert_eq!(ports(&w, "web-1"), web_baseline());
    assert!(active_grants(&w, "web-1").is_empty());
    advance(&w, LINGER_SECS);
    assert_eq!(
        ok(&w, sweep()).await["expired"],
        0,
        "access already ended at the revoke"
    );
    assert_eq!(
        tag_keys(&w, "web-1"),
        vec!["jit:managed", "owner"],
        "tombstones and baseline go after the window"
    );
}

#[tokio::test]
async fn lockdown_ends_every_grant_everywhere() {
    let w = world();
    ok(&w, grant("a", "203.0.113.7", 3600)).await;
    let bobs = GrantCommand::on("db-1")
        .id("b")
        .from("198.51.100.9")
        .requester("bob");
    ok(&w, bobs.json()).await;
    let out = ok(
        &w,
        json!({"action": "lockdown", "requester": "night", "reason": "22:00"}),
    )
    .await;
    assert_eq!(out["status"], "lockedDown");
    assert_eq!(out["instances"], 2, "only managed instances");
    assert_eq!(out["ended"], 2);
    assert_eq!(ports(&w, "web-1"), web_baseline());
    assert!(active_grants(&w, "web-1").is_empty() && active_grants(&w, "db-1").is_empty());
    assert_eq!(
        ports(&w, "db-1"),
        vec![rule(Protocol::Icmp, 8, -1, &["0.0.0.0/0"], &[], &[])]
    );
}

#[tokio::test]
async fn lockdown_applies_declared_lockdown_rules() {
    let policy = Policy::from_json(
        r#"{"instances": {"web-1": {"lockdown": [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrs": ["0.0.0.0/0"]}]}}}"#,
    )
    .unwrap();
    let w = world_with(policy);
    ok(&w, grant("a", "203.0.113.7", 3600)).await;
    ok(
        &w,
        json!({"action": "lockdown", "instanceNames": ["web-1"]}),
    )
    .await;
    assert_eq!(
        ports(&w, "web-1"),
        vec![rule(Protocol::Tcp, 443, 443, &["0.0.0.0/0"], &[], &[])]
    );
}

#[tokio::test]
async fn duplicate_delivery_yields_one_grant_and_one_tag() {
    let w = world();
    let record = sqs_record("m-1", &grant("dup", "203.0.113.7", 3600));
    let batch = json!({"Records": [record]});
    assert_eq!(
        ok(&w, batch.clone()).await,
        json!({"batchItemFailures": []})
    );
    let first = w.lightsail.firewall("web-1");
    let out = ok(&w, grant("dup", "203.0.113.7", 3600)).await;
    assert_eq!(out["status"], "granted");
    assert_eq!(out["duplicate"], true);
    assert_eq!(
        out["opened"],
        json!([]),
        "nothing was missing, nothing re-opened"
    );
    ok(&w, batch).await;
    assert_eq!(grant_keys(&w, "web-1"), vec!["jit:grant:dup"]);
    assert_eq!(w.lightsail.firewall("web-1"), first);
    assert_eq!(
        w.lightsail.count(Op::Tag),
        1,
        "the second and third delivery wrote no tag"
    );
}

#[tokio::test]
async fn redelivery_after_a_lost_open_reopens_the_rule() {
    let w = world();
    w.lightsail.fail(Op::Open, 1, Timing::Before);
    let err = invoke(&w, grant("g", "203.0.113.7", 3600))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("transient"), "{err}");
    assert_eq!(
        grant_keys(&w, "web-1"),
        vec!["jit:grant:g"],
        "the tag was written first"
    );
    let out = ok(&w, grant("g", "203.0.113.7", 3600)).await;
    assert_eq!(out["duplicate"], true);
    assert_eq!(out["opened"][0]["cidrs"], json!(["203.0.113.7/32"]));
    assert!(
        w.lightsail
            .firewall("web-1")
            .contains(&ssh_from("203.0.113.7/32"))
    );
}

#[tokio::test]
async fn a_sweep_of_unchanged_instances_writes_nothing() {
    let w = world();
    ok(&w, grant("g", "203.0.113.7", 3600)).await;
    w.lightsail.clear_calls();
    let out = ok(&w, sweep()).await;
    assert_eq!(out["apiCalls"], 1, "one paged read of three instances");
    assert_no_write(&w.lightsail, "a sweep of unchanged instances");
    assert_eq!(w.lightsail.calls().len(), 1);
}

#[tokio::test]
async fn a_grant_recorded_between_a_sweeps_read_and_its_put_survives() {
    let w = world();
    ok(&w, grant("old", "198.51.100.9", 60)).await;
    advance(&w, 61);
    let gate = w.lightsail.pause_before(Op::Put);
    let racing_grant = grant("new", "203.0.113.7", 3600);
    let racer = async {
        reached(&gate).await;
        let out = ok(&w, racing_grant).await;
        gate.release();
        out
    };
    let (swept, granted) = tokio::join!(ok(&w, sweep()), racer);
    assert_eq!(granted["status"], "granted");
    assert_eq!(swept["expired"], 1);
    let mut expected = RuleSet::from_rules(&web_baseline());
    expected.add_rule(&rule(Protocol::Tcp, 22, 22, &["203.0.113.7/32"], &[], &[]));
    assert_eq!(
        w.lightsail.firewall("web-1"),
        expected,
        "the sweep re-opened the racing grant"
    );
    assert_eq!(active_grants(&w, "web-1"), vec!["new"]);
    assert!(
        tag_keys(&w, "web-1").contains(&"jit:baseline".to_string()),
        "baseline kept while a grant is active"
    );
    advance(&w, 3601);
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline());
}

#[tokio::test]
async fn a_grant_recorded_between_a_sweeps_put_and_its_untag_keeps_its_baseline() {
    let w = world();
    ok(&w, grant("old", "198.51.100.9", 60)).await;
    advance(&w, LINGER_SECS + 1);
    let gate = w.lightsail.pause_before(Op::Untag);
    let racer = async {
        reached(&gate).await;
        let out = ok(&w, grant("new", "203.0.113.7", 3600)).await;
        gate.release();
        out
    };
    let (_, granted) = tokio::join!(ok(&w, sweep()), racer);
    assert_eq!(granted["status"], "granted");
    assert!(
        tag_keys(&w, "web-1").contains(&"jit:baseline".to_string()),
        "the sweep wrote the baseline back"
    );
    advance(&w, 3601);
    ok(&w, sweep()).await;
    assert_eq!(
        ports(&w, "web-1"),
        web_baseline(),
        "and the later sweep restores it exactly"
    );
    assert_eq!(tag_keys(&w, "web-1"), vec!["jit:managed", "owner"]);
}

#[tokio::test]
async fn a_lost_put_response_converges_on_the_next_sweep() {
    let w = world();
    ok(&w, grant("g", "203.0.113.7", 60)).await;
    advance(&w, 61);
    w.lightsail.fail(Op::Put, 1, Timing::After);
    assert!(
        invoke(&w, sweep()).await.is_err(),
        "the sweep reports a transient failure"
    );
    assert_eq!(
        grant_keys(&w, "web-1"),
        vec!["jit:grant:g"],
        "no untag before a confirmed Put"
    );
    let out = ok(&w, sweep()).await;
    assert_eq!(out["expired"], 0, "the lost Put had already closed it");
    assert_eq!(ports(&w, "web-1"), web_baseline());
    advance(&w, LINGER_SECS);
    ok(&w, sweep()).await;
    assert!(grant_keys(&w, "web-1").is_empty());
}

#[tokio::test]
async fn an_instance_without_the_opt_in_tag_is_rejected_and_never_touched() {
    let w = world();
    let eves = GrantCommand::on("legacy-1")
        .from("203.0.113.7")
        .requester("eve");
    let out = ok(&w, eves.json()).await;
    assert_eq!(out["error"]["code"], "InstanceNotManaged");
    ok(&w, sweep()).await;
    assert_no_write(&w.lightsail, "grant and sweep beside legacy-1");
    let out = ok(&w, json!({"action": "lockdown"})).await;
    assert_eq!(out["instances"], 2, "the managed ones: {out}");
    assert_eq!(
        writes_seen_on(&w.lightsail, "legacy-1"),
        vec![],
        "a lockdown of everything records itself on managed instances only"
    );
    ok(&w, json!({"action": "unlock", "requester": "ops"})).await;
    assert_eq!(writes_seen_on(&w.lightsail, "legacy-1"), vec![]);
    w.lightsail.clear_calls();
    let out = ok(
        &w,
        json!({"action": "sweep", "instanceNames": ["legacy-1"]}),
    )
    .await;
    assert_eq!(out["failed"][0]["code"], "InstanceNotManaged");
    assert_no_write(&w.lightsail, "a sweep naming legacy-1");
}

#[tokio::test]
async fn policy_named_instances_are_managed_without_the_tag() {
    let w = world_with(Policy::from_json(r#"{"managedInstances": ["legacy-1"]}"#).unwrap());
    let eves = GrantCommand::on("legacy-1")
        .from("203.0.113.7")
        .requester("eve");
    let out = ok(&w, eves.json()).await;
    assert_eq!(out["status"], "granted");
}

#[tokio::test]
async fn dry_runs_plan_exactly_and_write_nothing() {
    let w = world();
    ok(&w, grant("g", "198.51.100.9", 60)).await;
    advance(&w, 61);
    let before = w.lightsail.writes();
    let plan = ok(&w, json!({"action": "sweep", "dryRun": true})).await;
    assert_eq!(plan["status"], "plan");
    assert_eq!(plan["instances"].as_array().unwrap().len(), 1);
    assert_eq!(plan["instances"][0]["expired"], json!(["g"]));
    assert_eq!(plan["instances"][0]["ends"], json!([]));
    assert_eq!(
        plan["instances"][0]["diff"]["close"][0]["cidrs"],
        json!(["198.51.100.9/32"])
    );
    let dry = GrantCommand::on("db-1")
        .from("192.0.2.1")
        .requester("x")
        .dry_run();
    let dry_grant = ok(&w, dry.json()).await;
    assert_eq!(
        dry_grant["instances"][0]["tagsToWrite"][0]["key"],
        "jit:grant:lambda-req-1"
    );
    for payload in [
        json!({"action": "lockdown", "dryRun": true}),
        json!({"action": "revoke", "instanceName": "web-1", "dryRun": true}),
        json!({"action": "extend", "instanceName": "web-1", "requestId": "g", "dryRun": true}),
    ] {
        assert_ne!(
            ok(&w, payload.clone()).await["status"],
            "granted",
            "{payload}"
        );
    }
    assert_eq!(w.lightsail.writes(), before, "no dry run wrote");
    let out = ok(&w, sweep()).await;
    assert_eq!(out["expired"], 1);
    let put_body: Vec<_> = plan["instances"][0]["putBody"].as_array().unwrap().clone();
    assert_eq!(
        serde_json::to_value(ports(&w, "web-1")).unwrap(),
        json!(put_body),
        "the plan's Put body is what the sweep wrote"
    );
}

#[tokio::test]
async fn extend_moves_the_expiry_without_reopening() {
    let w = world();
    ok(&w, grant("g", "203.0.113.7", 3600)).await;
    advance(&w, 1800);
    let opens = w.lightsail.count(Op::Open);
    let out = ok(
        &w,
        json!({"action": "extend", "instanceName": "web-1", "requestId": "g", "duration": "2h"}),
    )
    .await;
    assert_eq!(out["status"], "extended");
    assert_eq!(out["expiresAt"], "2026-11-23T12:30:00Z");
    assert_eq!(w.lightsail.count(Op::Open), opens);
    advance(&w, 3600);
    assert_eq!(
        ok(&w, sweep()).await["expired"],
        0,
        "the old expiry no longer ends it"
    );
    advance(&w, 3601);
    assert_eq!(ok(&w, sweep()).await["expired"], 1);
    let out = ok(
        &w,
        json!({"action": "extend", "instanceName": "web-1", "requestId": "g"}),
    )
    .await;
    assert_eq!(out["error"]["code"], "UnknownGrant");
}

#[tokio::test]
async fn declared_baselines_are_enforced_by_every_sweep() {
    let policy = Policy::from_json(
        r#"{"instances": {"db-1": {"baseline": [{"protocol": "icmp", "fromPort": 8, "toPort": -1, "cidrs": ["0.0.0.0/0"]}]}}}"#,
    )
    .unwrap();
    let w = world_with(policy);
    use lightsail_jit::lightsail::Lightsail as _;
    w.lightsail
        .open_instance_public_ports(
            "db-1",
            &rule(Protocol::Tcp, 3306, 3306, &["0.0.0.0/0"], &[], &[]),
        )
        .await
        .unwrap();
    let out = ok(&w, sweep()).await;
    assert_eq!(out["driftCorrected"], 1);
    assert_eq!(
        ports(&w, "db-1"),
        vec![rule(Protocol::Icmp, 8, -1, &["0.0.0.0/0"], &[], &[])]
    );
    let bobs = GrantCommand::on("db-1")
        .from("203.0.113.7")
        .requester("bob");
    ok(&w, bobs.json()).await;
    assert!(
        !tag_keys(&w, "db-1")
            .iter()
            .any(|k| k.starts_with("jit:baseline")),
        "declared baselines are never captured"
    );
}

#[tokio::test]
async fn a_lost_baseline_is_recovered_without_keeping_granted_rules() {
    let w = world();
    ok(&w, grant("g", "203.0.113.7", 60)).await;
    use lightsail_jit::lightsail::Lightsail as _;
    w.lightsail
        .untag_resource("web-1", &["jit:baseline".into(), "jit:baseline:1".into()])
        .await
        .unwrap();
    advance(&w, 61);
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline());
    assert!(
        tag_keys(&w, "web-1").contains(&"jit:baseline".to_string()),
        "recovered baseline written back while g lingers"
    );
    advance(&w, LINGER_SECS);
    ok(&w, sweep()).await;
    assert_eq!(ports(&w, "web-1"), web_baseline());
    assert_eq!(tag_keys(&w, "web-1"), vec!["jit:managed", "owner"]);
}

#[tokio::test]
async fn sweeps_page_through_every_instance_with_bounded_concurrency() {
    use lightsail_jit::lightsail::sim::Sim;
    use lightsail_jit::service::App;
    let many: Vec<_> = (0..61)
        .map(|i| managed(&format!("i-{i:03}"), web_baseline()))
        .collect();
    let w = App::new(
        Sim::new(many),
        other_concerns(Policy::default()),
        lightsail_jit::clock::ManualClock::new(START.parse().unwrap()),
    );
    w.lightsail.set_page_size(7);
    for i in (0..61).step_by(6) {
        let g = grant_on(&format!("i-{i:03}"), &format!("g{i}"), "203.0.113.7", 60);
        assert_eq!(ok(&w, g).await["status"], "granted");
    }
    advance(&w, 61);
    w.lightsail.clear_calls();
    let out = ok(&w, sweep()).await;
    assert_eq!(out["instances"], 61);
    assert_eq!(out["expired"], 11);
    assert_eq!(
        w.lightsail.count(Op::GetInstances),
        9,
        "61 instances at 7 a page"
    );
    assert_eq!(
        out["apiCalls"],
        9 + 11 * 2,
        "pages + (Put, re-read) per changed instance"
    );
    for i in 0..61 {
        assert_eq!(ports(&w, &format!("i-{i:03}")), web_baseline());
    }
    advance(&w, LINGER_SECS);
    let out = ok(&w, sweep()).await;
    assert_eq!(
        out["apiCalls"],
        9 + 11 * 2,
        "pages + (untag, re-read) per instance whose ledger goes"
    );
    assert_eq!(w.lightsail.count(Op::Put), 11, "no second Put");
    assert_eq!(
        ok(&w, sweep()).await["apiCalls"],
        9,
        "then nothing but the paged read"
    );
}

/// Every test above again, with Open replacing the sources of an existing rule instead
/// of adding to them (Lightsail does not document which): the protocol must hold either way.
mod replace_mode {
    use super::common::in_replace_mode;

    #[test]
    fn grant_opens_exactly_the_requested_rules() {
        in_replace_mode(super::grant_opens_exactly_the_requested_rules);
    }

    #[test]
    fn first_sweep_after_expiry_restores_the_baseline_byte_for_byte() {
        in_replace_mode(super::first_sweep_after_expiry_restores_the_baseline_byte_for_byte);
    }

    #[test]
    fn overlapping_grants_the_first_to_expire_keeps_the_second_open() {
        in_replace_mode(super::overlapping_grants_the_first_to_expire_keeps_the_second_open);
    }

    #[test]
    fn revoke_ends_one_grant_and_keeps_the_others() {
        in_replace_mode(super::revoke_ends_one_grant_and_keeps_the_others);
    }

    #[test]
    fn lockdown_ends_every_grant_everywhere() {
        in_replace_mode(super::lockdown_ends_every_grant_everywhere);
    }

    #[test]
    fn lockdown_applies_declared_lockdown_rules() {
        in_replace_mode(super::lockdown_applies_declared_lockdown_rules);
    }

    #[test]
    fn duplicate_delivery_yields_one_grant_and_one_tag() {
        in_replace_mode(super::duplicate_delivery_yields_one_grant_and_one_tag);
    }

    #[test]
    fn redelivery_after_a_lost_open_reopens_the_rule() {
        in_replace_mode(super::redelivery_after_a_lost_open_reopens_the_rule);
    }

    #[test]
    fn a_sweep_of_unchanged_instances_writes_nothing() {
        in_replace_mode(super::a_sweep_of_unchanged_instances_writes_nothing);
    }

    #[test]
    fn a_grant_recorded_between_a_sweeps_read_and_its_put_survives() {
        in_replace_mode(super::a_grant_recorded_between_a_sweeps_read_and_its_put_survives);
    }

    #[test]
    fn a_grant_recorded_between_a_sweeps_put_and_its_untag_keeps_its_baseline() {
        in_replace_mode(
            super::a_grant_recorded_between_a_sweeps_put_and_its_untag_keeps_its_baseline,
        );
    }

    #[test]
    fn a_lost_put_response_converges_on_the_next_sweep() {
        in_replace_mode(super::a_lost_put_response_converges_on_the_next_sweep);
    }

    #[test]
    fn an_instance_without_the_opt_in_tag_is_rejected_and_never_touched() {
        in_replace_mode(super::an_instance_without_the_opt_in_tag_is_rejected_and_never_touched);
    }

    #[test]
    fn policy_named_instances_are_managed_without_the_tag() {
        in_replace_mode(super::policy_named_instances_are_managed_without_the_tag);
    }

    #[test]
    fn dry_runs_plan_exactly_and_write_nothing() {
        in_replace_mode(super::dry_runs_plan_exactly_and_write_nothing);
    }

    #[test]
    fn extend_moves_the_expiry_without_reopening() {
        in_replace_mode(super::extend_moves_the_expiry_without_reopening);
    }

    #[test]
    fn declared_baselines_are_enforced_by_every_sweep() {
        in_replace_mode(super::declared_baselines_are_enforced_by_every_sweep);
    }

    #[test]
    fn a_lost_baseline_is_recovered_without_keeping_granted_rules() {
        in_replace_mode(super::a_lost_baseline_is_recovered_without_keeping_granted_rules);
    }

    #[test]
    fn sweeps_page_through_every_instance_with_bounded_concurrency() {
        in_replace_mode(super::sweeps_page_through_every_instance_with_bounded_concurrency);
    }
}
