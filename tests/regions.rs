//! Several Regions (issue #15) through the handler: one function, a simulator per Region,
//! both holding an instance named web-1. A command naming a Region goes there and
//! nowhere else; one without goes home, or, when it is about every instance, to every
//! Region the policy manages. Outcomes, events and policy keys name the Region; a Region
//! the policy does not manage is refused before any call; another Region's client is
//! built only when a command first needs it. The world starts on 2026-11-23 at 10:00 UTC.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::*;
use lightsail_jit::clock::{Clock as _, ManualClock};
use lightsail_jit::events::Publisher;
use lightsail_jit::events::sim::{EventsSim, PublishedEvent};
use lightsail_jit::firewall::RuleSet;
use lightsail_jit::ledger::Ledger;
use lightsail_jit::lightsail::Regions;
use lightsail_jit::lightsail::sim::{Op, Sim, Timing};
use lightsail_jit::policy::Policy;
use lightsail_jit::service::App;
use serde_json::{Value, json};

const EU: &str = "eu-west-1";

fn eu() -> Region {
    Region::parse(EU).unwrap()
}

fn clock() -> ManualClock {
    ManualClock::new(START.parse().unwrap())
}

/// us-east-1 (home) and eu-west-1, and whatever else `extra` says.
fn two_region_policy(extra: Value) -> Policy {
    let mut policy = json!({"regions": ["us-east-1", EU]});
    for (k, v) in extra.as_object().into_iter().flatten() {
        policy[k] = v.clone();
    }
    other_concerns(Policy::from_value(policy).unwrap())
}

/// A function in us-east-1 managing it and eu-west-1, each Region with the default
/// instances: web-1 and db-1 managed, legacy-1 not.
fn two_regions() -> World {
    two_regions_with(two_region_policy(json!({})))
}

fn two_regions_with(policy: Policy) -> World {
    let home = Sim::new(instances());
    let eu_sim = Sim::in_region(eu(), instances());
    App::new(home, policy, clock()).with_regions(Regions::of([(eu(), eu_sim)]))
}

/// eu-west-1's simulator.
fn in_eu(w: &World) -> &Sim {
    w.regions.client(eu()).unwrap()
}

/// `command` with a `region`.
fn in_region(mut command: Value, region: &str) -> Value {
    command["region"] = json!(region);
    command
}

fn grant_keys_in(sim: &Sim, name: &str) -> Vec<String> {
    sim.tags(name)
        .into_iter()
        .map(|t| t.key)
        .filter(|k| k.starts_with("jit:grant:"))
        .collect()
}

fn has_tag(sim: &Sim, name: &str, key: &str) -> bool {
    sim.tags(name).iter().any(|t| t.key == key)
}

/// Request ids of the grants active now on `name` in `sim`.
fn active_in(w: &World, sim: &Sim, name: &str) -> Vec<String> {
    let now = w.clock.now();
    Ledger::read(&sim.tags(name))
        .active(now)
        .map(|g| g.request_id.clone())
        .collect()
}

fn baseline() -> RuleSet {
    RuleSet::from_rules(&web_baseline())
}

/// `(region, instanceName)` of each entry of a list in an outcome.
fn placed(entries: &Value) -> BTreeSet<(String, String)> {
    entries
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {entries}"))
        .iter()
        .map(|e| {
            (
                e["region"].as_str().unwrap().to_string(),
                e["instanceName"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(r, n)| (r.to_string(), n.to_string()))
        .collect()
}

fn with_bus(world: World) -> (World, Arc<EventsSim>) {
    let bus = Arc::new(EventsSim::new());
    (
        world.with_events(Publisher::new(bus.clone(), "jit-bus")),
        bus,
    )
}

fn detail(event: &PublishedEvent) -> Value {
    serde_json::from_str(&event.entry.detail).unwrap()
}

fn events_of(bus: &EventsSim, detail_type: &str) -> Vec<Value> {
    bus.events()
        .iter()
        .filter(|e| e.entry.detail_type == detail_type)
        .map(detail)
        .collect()
}

fn revoke(id: &str) -> Value {
    json!({"action": "revoke", "instanceName": "web-1", "requestId": id, "requester": "bob"})
}

#[tokio::test]
async fn grant_in_one_region_never_touches_the_other() {
    let w = two_regions();
    let eu_sim = in_eu(&w);
    let out = ok(&w, in_region(grant("g-eu", "203.0.113.7", 600), EU)).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(
        (out["region"].clone(), out["instanceName"].clone()),
        (json!(EU), json!("web-1"))
    );
    assert!(
        eu_sim
            .firewall("web-1")
            .contains(&ssh_from("203.0.113.7/32")),
        "{:?}",
        eu_sim.firewall("web-1")
    );
    assert_eq!(grant_keys_in(eu_sim, "web-1"), ["jit:grant:g-eu"]);
    assert_eq!(
        w.lightsail.calls(),
        [],
        "the home Region saw no call at all"
    );
    assert_eq!(w.lightsail.firewall("web-1"), baseline());

    // Without `region`: home, and only home.
    let eu_calls = eu_sim.calls().len();
    let out = ok(&w, grant("g-home", "198.51.100.9", 600)).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(out["region"], "us-east-1");
    assert_eq!(eu_sim.calls().len(), eu_calls, "eu-west-1 saw no call");
    let home = w.lightsail.firewall("web-1");
    assert!(home.contains(&ssh_from("198.51.100.9/32")), "{home:?}");
    assert!(!home.contains(&ssh_from("203.0.113.7/32")), "{home:?}");
    assert!(
        !eu_sim
            .firewall("web-1")
            .contains(&ssh_from("198.51.100.9/32"))
    );
    assert_eq!(grant_keys(&w, "web-1"), ["jit:grant:g-home"]);
    assert_eq!(grant_keys_in(eu_sim, "web-1"), ["jit:grant:g-eu"]);

    // Naming home explicitly is the same as saying nothing.
    let out = ok(
        &w,
        in_region(grant_on("db-1", "g-db", "198.51.100.9", 600), "us-east-1"),
    )
    .await;
    assert_eq!(out["region"], "us-east-1", "{out}");
    assert_eq!(grant_keys(&w, "db-1"), ["jit:grant:g-db"]);
    assert_eq!(grant_keys_in(eu_sim, "db-1"), Vec::<String>::new());
}

#[tokio::test]
async fn sweep_covers_every_region_and_keeps_them_apart() {
    let w = two_regions();
    let eu_sim = in_eu(&w);
    ok(&w, grant("short", "203.0.113.7", 600)).await;
    ok(&w, in_region(grant("long", "198.51.100.9", 3600), EU)).await;
    advance(&w, 601);

    let out = ok(&w, sweep()).await;
    assert_eq!(out["status"], "swept", "{out}");
    assert_eq!(out["expired"], 1, "{out}");
    assert_eq!(out["instances"], 4, "web-1 and db-1 in each Region: {out}");
    assert_eq!(out.get("failed"), None, "{out}");
    assert_eq!(ports(&w, "web-1"), web_baseline(), "home's grant is closed");
    assert_eq!(active_grants(&w, "web-1"), Vec::<String>::new());
    let eu_fw = eu_sim.firewall("web-1");
    assert!(eu_fw.contains(&ssh_from("198.51.100.9/32")), "{eu_fw:?}");
    assert!(!eu_fw.contains(&ssh_from("203.0.113.7/32")), "{eu_fw:?}");
    assert_eq!(active_in(&w, eu_sim, "web-1"), ["long"]);

    // Nothing changed since: the next sweep writes nothing in either Region.
    let writes = (w.lightsail.writes(), eu_sim.writes());
    let out = ok(&w, sweep()).await;
    assert_eq!(out["expired"], 0, "{out}");
    assert_eq!((w.lightsail.writes(), eu_sim.writes()), writes);

    // At the long grant's end, eu-west-1's firewall is restored in its turn.
    advance(&w, 3000);
    let out = ok(&w, sweep()).await;
    assert_eq!(out["expired"], 1, "{out}");
    assert_eq!(eu_sim.instance("web-1").unwrap().ports, web_baseline());
    assert_eq!(ports(&w, "web-1"), web_baseline());
}

#[tokio::test]
async fn revoke_names_its_region() {
    let w = two_regions();
    let eu_sim = in_eu(&w);
    ok(&w, grant("same", "203.0.113.7", 3600)).await;
    ok(&w, in_region(grant("same", "198.51.100.9", 3600), EU)).await;

    let out = ok(&w, in_region(revoke("same"), EU)).await;
    assert_eq!(out["status"], "revoked", "{out}");
    assert_eq!(out["region"], EU);
    assert_eq!(out["instanceName"], "web-1");
    assert_eq!(out["revoked"], json!(["same"]));
    assert_eq!(eu_sim.firewall("web-1"), baseline());
    assert_eq!(active_in(&w, eu_sim, "web-1"), Vec::<String>::new());
    assert_eq!(active_grants(&w, "web-1"), ["same"], "home's grant is open");
    assert!(
        w.lightsail
            .firewall("web-1")
            .contains(&ssh_from("203.0.113.7/32"))
    );

    // Without `region` the same requestId names home's grant.
    let out = ok(&w, revoke("same")).await;
    assert_eq!(out["status"], "revoked", "{out}");
    assert_eq!(out["region"], "us-east-1");
    assert_eq!(w.lightsail.firewall("web-1"), baseline());
    assert_eq!(active_grants(&w, "web-1"), Vec::<String>::new());
}

#[tokio::test]
async fn status_lists_both_instances_with_their_regions() {
    let w = two_regions();
    let eu_sim = in_eu(&w);
    ok(&w, in_region(grant("eu-only", "198.51.100.9", 3600), EU)).await;

    let out = ok(&w, json!({"action": "status"})).await;
    assert_eq!(out["status"], "status", "{out}");
    let listed = out["instances"].as_array().unwrap();
    assert_eq!(listed.len(), 4, "{out}");
    assert_eq!(
        placed(&out["instances"]),
        pairs(&[
            ("us-east-1", "web-1"),
            ("us-east-1", "db-1"),
            (EU, "web-1"),
            (EU, "db-1"),
        ])
    );
    for entry in listed {
        let grants = entry["grants"].as_array().unwrap().len();
        let eu_web = entry["region"] == EU && entry["instanceName"] == "web-1";
        assert_eq!(grants, usize::from(eu_web), "{entry}");
    }

    let out = ok(
        &w,
        json!({"action": "status", "instanceName": "web-1", "region": EU}),
    )
    .await;
    assert_eq!(placed(&out["instances"]), pairs(&[(EU, "web-1")]), "{out}");
    assert_eq!(out["instances"][0]["grants"][0]["requestId"], "eu-only");

    // The same name at home: home's web-1, which has no grant.
    let out = ok(&w, json!({"action": "status", "instanceName": "web-1"})).await;
    assert_eq!(
        placed(&out["instances"]),
        pairs(&[("us-east-1", "web-1")]),
        "{out}"
    );
    assert_eq!(out["instances"][0]["grants"], json!([]));

    // Every instance of one Region: the other is not read.
    let eu_calls = eu_sim.calls().len();
    let out = ok(&w, json!({"action": "status", "region": "us-east-1"})).await;
    assert_eq!(
        placed(&out["instances"]),
        pairs(&[("us-east-1", "web-1"), ("us-east-1", "db-1")]),
        "{out}"
    );
    assert_eq!(eu_sim.calls().len(), eu_calls);
}

#[tokio::test]
async fn lockdown_covers_every_region_and_unlock_lifts_both() {
    let w = two_regions();
    let eu_sim = in_eu(&w);
    ok(&w, grant("a", "203.0.113.7", 3600)).await;
    ok(&w, in_region(grant("b", "198.51.100.9", 3600), EU)).await;

    let lockdown =
        json!({"action": "lockdown", "requestId": "night", "requester": "ops", "reason": "night"});
    let out = ok(&w, lockdown).await;
    assert_eq!(out["status"], "lockedDown", "{out}");
    assert_eq!(out["ended"], 2, "one grant in each Region: {out}");
    assert_eq!(out["instances"], 4, "{out}");
    for (label, sim) in [("us-east-1", &w.lightsail), (EU, eu_sim)] {
        assert_eq!(sim.firewall("web-1"), baseline(), "{label}");
        assert!(has_tag(sim, "web-1", "jit:lockdown"), "{label}");
        assert_eq!(active_in(&w, sim, "web-1"), Vec::<String>::new(), "{label}");
    }
    for command in [
        grant("c", "203.0.113.7", 600),
        in_region(grant("c", "203.0.113.7", 600), EU),
    ] {
        let out = ok(&w, command.clone()).await;
        assert_eq!(out["error"]["code"], "LockedDown", "{command}: {out}");
    }

    let unlock = json!({"action": "unlock", "requester": "ops", "reason": "morning"});
    let out = ok(&w, unlock).await;
    assert_eq!(out["status"], "unlocked", "{out}");
    assert_eq!(out["instances"], 4, "{out}");
    for (label, sim) in [("us-east-1", &w.lightsail), (EU, eu_sim)] {
        assert!(!has_tag(sim, "web-1", "jit:lockdown"), "{label}");
        assert_eq!(sim.firewall("web-1"), baseline(), "{label}");
    }

    // A lockdown of one Region touches only that one.
    w.lightsail.clear_calls();
    let out = ok(
        &w,
        json!({"action": "lockdown", "region": EU, "requestId": "eu-night"}),
    )
    .await;
    assert_eq!(out["status"], "lockedDown", "{out}");
    assert_eq!(out["instances"], 2, "{out}");
    assert!(has_tag(eu_sim, "web-1", "jit:lockdown"));
    assert!(!has_tag(&w.lightsail, "web-1", "jit:lockdown"));
    assert_eq!(w.lightsail.calls(), [], "home saw no call");
    let out = ok(&w, grant("d", "203.0.113.7", 600)).await;
    assert_eq!(out["status"], "granted", "home is not locked: {out}");
    let out = ok(&w, in_region(grant("d", "203.0.113.7", 600), EU)).await;
    assert_eq!(out["error"]["code"], "LockedDown", "{out}");
}

#[tokio::test]
async fn a_region_outage_during_a_sweep() {
    let (w, bus) = with_bus(two_regions());
    let eu_sim = in_eu(&w);
    ok(&w, grant("home-g", "203.0.113.7", 600)).await;
    ok(&w, in_region(grant("eu-g", "198.51.100.9", 600), EU)).await;
    advance(&w, 601);
    eu_sim.fail(Op::GetInstances, 100, Timing::Before);
    bus.clear();
    let eu_writes = eu_sim.writes();

    let result = invoke(&w, sweep()).await;
    assert!(result.is_err(), "transient: Lambda retries: {result:?}");
    assert_eq!(ports(&w, "web-1"), web_baseline(), "home was reconciled");
    assert_eq!(active_grants(&w, "web-1"), Vec::<String>::new());
    assert!(
        eu_sim
            .firewall("web-1")
            .contains(&ssh_from("198.51.100.9/32")),
        "eu-west-1 could not be read, so nothing was written there"
    );
    assert_eq!(eu_sim.writes(), eu_writes, "no write in eu-west-1");
    assert!(eu_sim.count(Op::GetInstances) >= 1, "it was tried");
    let expired = events_of(&bus, "JIT Access Expired");
    assert_eq!(expired.len(), 1, "home's expiry is announced all the same");
    assert_eq!(
        (
            expired[0]["region"].clone(),
            expired[0]["requestId"].clone()
        ),
        (json!("us-east-1"), json!("home-g"))
    );

    // eu-west-1 is back: the next sweep finishes it.
    eu_sim.clear_faults();
    let out = ok(&w, sweep()).await;
    assert_eq!(out["expired"], 1, "{out}");
    assert_eq!(out.get("failed"), None, "{out}");
    assert_eq!(eu_sim.instance("web-1").unwrap().ports, web_baseline());
    let expired = events_of(&bus, "JIT Access Expired");
    assert_eq!(expired.len(), 2, "{expired:?}");
    assert_eq!(
        (
            expired[1]["region"].clone(),
            expired[1]["requestId"].clone()
        ),
        (json!(EU), json!("eu-g"))
    );
}

#[tokio::test]
async fn an_unmanaged_region_is_refused_before_any_call() {
    let w = two_regions();
    let eu_sim = in_eu(&w);
    for (region, says) in [
        ("eu-west-2", "does not manage eu-west-2"),
        ("mars-1", "is not a Lightsail Region"),
    ] {
        for command in [
            grant("g", "203.0.113.7", 600),
            revoke("g"),
            json!({"action": "sweep"}),
            json!({"action": "status"}),
            json!({"action": "status", "instanceName": "web-1"}),
            json!({"action": "lockdown", "instanceNames": ["web-1"]}),
            json!({"action": "unlock", "requester": "ops"}),
        ] {
            let command = in_region(command, region);
            let out = ok(&w, command.clone()).await;
            assert_eq!(out["status"], "rejected", "{command}: {out}");
            assert_eq!(out["error"]["code"], "RegionNotManaged", "{command}: {out}");
            let message = out["error"]["message"].as_str().unwrap();
            assert!(message.contains(says), "{command}: {message}");
        }
    }
    let out = ok(&w, in_region(grant("g", "203.0.113.7", 600), "eu-west-2")).await;
    let message = out["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("us-east-1, eu-west-1"),
        "names the Regions that are managed: {message}"
    );
    assert_eq!(w.lightsail.calls(), [], "no call at home");
    assert_eq!(eu_sim.calls(), [], "no call in eu-west-1");

    // A function in us-east-1 managing only eu-west-1: a command without `region`
    // means us-east-1, which it does not manage.
    let w = two_regions_with(other_concerns(
        Policy::from_value(json!({"regions": [EU]})).unwrap(),
    ));
    let eu_sim = in_eu(&w);
    let out = ok(&w, grant("g", "203.0.113.7", 600)).await;
    assert_eq!(out["error"]["code"], "RegionNotManaged", "{out}");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("does not manage us-east-1")
            && message.contains("name one of them as the command's `region`"),
        "{message}"
    );
    assert_eq!(w.lightsail.calls(), []);
    assert_eq!(eu_sim.calls(), []);
    let out = ok(&w, in_region(grant("g", "203.0.113.7", 600), EU)).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(out["region"], EU);
    assert_eq!(w.lightsail.calls(), [], "still nothing at home");
}

/// The scheduled sweep of a function whose own Region is not one of `regions` (the
/// policy loader allows it: "a stack in one Region managing another's instances") must
/// sweep the Regions it manages, not refuse itself.
#[tokio::test]
async fn a_function_managing_only_other_regions_still_sweeps_them() {
    let w = two_regions_with(other_concerns(
        Policy::from_value(json!({"regions": [EU]})).unwrap(),
    ));
    let eu_sim = in_eu(&w);
    ok(&w, in_region(grant("g", "203.0.113.7", 600), EU)).await;
    advance(&w, 601);
    let out = ok(&w, sweep()).await;
    assert_eq!(out["status"], "swept", "{out}");
    assert_eq!(out["expired"], 1, "{out}");
    assert_eq!(eu_sim.instance("web-1").unwrap().ports, web_baseline());
    let out = ok(&w, json!({"action": "status"})).await;
    assert_eq!(
        placed(&out["instances"]),
        pairs(&[(EU, "web-1"), (EU, "db-1")]),
        "{out}"
    );
    assert_eq!(w.lightsail.calls(), [], "home is not managed: never called");
}

#[tokio::test]
async fn policy_keys_name_their_region() {
    let policy = two_region_policy(json!({
        "managedInstances": ["eu-west-1/legacy-1"],
        "instances": {"eu-west-1/web-1": {"maxDuration": "30m", "defaultDuration": "15m"}}
    }));
    assert_eq!(policy.home, HOME);
    assert_eq!(policy.regions, [HOME, eu()]);
    assert_eq!(policy.managed_instances, [(eu(), "legacy-1".to_string())]);
    assert!(policy.lists_instance(InstanceRef::new(eu(), "legacy-1")));
    assert!(!policy.lists_instance(at_home("legacy-1")));
    assert!(policy.lists_instance(InstanceRef::new(eu(), "web-1")));
    assert!(!policy.lists_instance(at_home("web-1")));

    let w = two_regions_with(policy);
    let eu_sim = in_eu(&w);
    // legacy-1 has no opt-in tag in either Region; the policy names eu-west-1's.
    let legacy = || grant_on("legacy-1", "g", "203.0.113.7", 600);
    let out = ok(&w, in_region(legacy(), EU)).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(grant_keys_in(eu_sim, "legacy-1"), ["jit:grant:g"]);
    let out = ok(&w, legacy()).await;
    assert_eq!(out["error"]["code"], "InstanceNotManaged", "{out}");
    assert_eq!(out["region"], "us-east-1", "{out}");
    let message = out["error"]["message"].as_str().unwrap();
    assert!(message.contains("legacy-1 (us-east-1)"), "{message}");
    assert_eq!(writes_seen(&w.lightsail), [], "nothing written at home");

    // eu-west-1/web-1's own maxDuration; home's web-1 keeps the top-level one.
    let long = || grant("long", "198.51.100.9", 3600);
    let out = ok(&w, in_region(long(), EU)).await;
    assert_eq!(out["status"], "rejected", "{out}");
    assert_eq!(out["region"], EU, "{out}");
    let out = ok(&w, long()).await;
    assert_eq!(out["status"], "granted", "{out}");

    // A sweep naming legacy-1 at home reports it unmanaged, naming the Region.
    let out = ok(
        &w,
        json!({"action": "sweep", "instanceNames": ["legacy-1"]}),
    )
    .await;
    assert_eq!(out["failed"][0]["code"], "InstanceNotManaged", "{out}");
    assert_eq!(out["failed"][0]["region"], "us-east-1", "{out}");
    assert_eq!(out["failed"][0]["instanceName"], "legacy-1", "{out}");
    let out = ok(
        &w,
        json!({"action": "sweep", "instanceNames": ["legacy-1"], "region": EU}),
    )
    .await;
    assert_eq!(out.get("failed"), None, "{out}");
    assert_eq!(out["instances"], 1, "{out}");
}

#[test]
fn invalid_regions_and_keys_name_the_field() {
    let err = |policy: Value| Policy::from_value(policy).unwrap_err().0;
    let cases = [
        (
            json!({"regions": ["us-east-1", "eu-west-9"]}),
            &["regions[1]", "\"eu-west-9\" is not a Lightsail Region"][..],
        ),
        (
            json!({"regions": ["us-east-1", "us-east-1"]}),
            &["regions[1]", "listed twice"],
        ),
        (json!({"regions": []}), &["regions must name 1 to", "not 0"]),
        (
            json!({"regions": "us-east-1"}),
            &["regions must be an array"],
        ),
        (json!({"regions": [1]}), &["regions[0] must be a string"]),
        (
            json!({"regions": ["us-east-1"], "instances": {"eu-west-2/web-1": {}}}),
            &[
                "instances.\"eu-west-2/web-1\"",
                "eu-west-2 is not one of `regions`",
            ],
        ),
        (
            json!({"regions": ["us-east-1", EU], "managedInstances": ["web-1", "eu-west-2/web-1"]}),
            &["managedInstances[1]", "eu-west-2 is not one of `regions`"],
        ),
        (
            json!({"instances": {"mars-1/web-1": {}}}),
            &[
                "instances.\"mars-1/web-1\"",
                "\"mars-1\" is not a Lightsail Region",
            ],
        ),
        (
            json!({"instances": {"web-1": {}, "us-east-1/web-1": {}}}),
            &["instances.", "names the same instance as another key"],
        ),
        (
            json!({"regions": [EU], "managedInstances": ["web-1"]}),
            &[
                "managedInstances[0]",
                "us-east-1 is not one of `regions` (eu-west-1)",
                "write region/name",
            ],
        ),
    ];
    for (policy, says) in cases {
        let message = err(policy.clone());
        for part in says {
            assert!(
                message.contains(part),
                "{policy}: {message:?} lacks {part:?}"
            );
        }
    }

    // Defaults: home alone, and a bare key means home, whichever it is.
    let p = Policy::default();
    assert_eq!((p.home, p.regions.clone()), (HOME, vec![HOME]));
    let p = Policy::from_value_in(json!({"managedInstances": ["web-1"]}), eu()).unwrap();
    assert_eq!((p.home, p.regions.clone()), (eu(), vec![eu()]));
    assert_eq!(p.managed_instances, [(eu(), "web-1".to_string())]);
    let p = Policy::from_value(json!({"regions": [EU, "us-east-1"]})).unwrap();
    assert_eq!(p.regions, [eu(), HOME], "in the policy's order");
}

/// [`two_regions`] with eu-west-1's simulator made on first use, and how many times it
/// was made.
fn lazy_two_regions() -> (World, Arc<AtomicUsize>) {
    let builds = Arc::new(AtomicUsize::new(0));
    let counter = builds.clone();
    let regions = Regions::lazy([eu()], move |region| {
        counter.fetch_add(1, Ordering::SeqCst);
        Sim::in_region(region, instances())
    });
    let policy = two_region_policy(json!({}));
    let w = App::new(Sim::new(instances()), policy, clock()).with_regions(regions);
    (w, builds)
}

#[tokio::test]
async fn other_regions_clients_are_built_on_first_use() {
    let (w, builds) = lazy_two_regions();
    assert_eq!(w.regions.built(), 0);
    assert_eq!(builds.load(Ordering::SeqCst), 0);

    let out = ok(&w, grant("home", "203.0.113.7", 600)).await;
    assert_eq!(out["status"], "granted", "{out}");
    let out = ok(&w, json!({"action": "status", "region": "us-east-1"})).await;
    assert_eq!(out["instances"].as_array().unwrap().len(), 2, "{out}");
    let out = ok(&w, in_region(grant("x", "203.0.113.7", 600), "eu-west-2")).await;
    assert_eq!(out["error"]["code"], "RegionNotManaged", "{out}");
    assert_eq!(w.regions.built(), 0, "nothing went to eu-west-1 yet");
    assert_eq!(builds.load(Ordering::SeqCst), 0);

    let out = ok(&w, in_region(grant("eu-1", "203.0.113.7", 600), EU)).await;
    assert_eq!(out["status"], "granted", "{out}");
    assert_eq!(w.regions.built(), 1);
    let out = ok(&w, in_region(grant("eu-2", "198.51.100.9", 600), EU)).await;
    assert_eq!(out["status"], "granted", "{out}");
    ok(&w, sweep()).await;
    assert_eq!(w.regions.built(), 1);
    assert_eq!(builds.load(Ordering::SeqCst), 1, "built once, then reused");
    let eu_sim = w.regions.client(eu()).unwrap();
    assert_eq!(
        grant_keys_in(eu_sim, "web-1"),
        ["jit:grant:eu-1", "jit:grant:eu-2"]
    );
    assert_eq!(grant_keys(&w, "web-1"), ["jit:grant:home"]);
    assert!(
        w.regions
            .client(Region::parse("eu-west-2").unwrap())
            .is_none()
    );
}

#[tokio::test]
async fn a_sweep_covering_every_region_builds_each_client_once() {
    let (w, builds) = lazy_two_regions();
    let out = ok(&w, sweep()).await;
    assert_eq!(out["instances"], 4, "{out}");
    let out = ok(&w, sweep()).await;
    assert_eq!(out["instances"], 4, "{out}");
    assert_eq!(builds.load(Ordering::SeqCst), 1);
    assert_eq!(w.regions.built(), 1);
}

#[tokio::test]
async fn events_name_the_region() {
    let (w, bus) = with_bus(two_regions());
    ok(&w, grant("chg-1", "203.0.113.7", 3600)).await;
    ok(&w, in_region(grant("chg-1", "203.0.113.7", 3600), EU)).await;
    let granted = events_of(&bus, "JIT Access Granted");
    assert_eq!(granted.len(), 2, "{granted:?}");
    let (home, there) = (&granted[0], &granted[1]);
    assert_eq!(home["region"], "us-east-1");
    assert_eq!(there["region"], EU);
    for d in &granted {
        assert_eq!(d["instanceName"], "web-1", "{d}");
        assert_eq!(d["requestId"], "chg-1", "{d}");
    }
    assert_ne!(
        home["eventId"], there["eventId"],
        "the same grant id on two instances is two decisions"
    );
    let summary = |d: &Value| d["summary"].as_str().unwrap().to_string();
    assert!(
        summary(home).contains("on web-1 (us-east-1)"),
        "{}",
        summary(home)
    );
    assert!(
        summary(there).contains("on web-1 (eu-west-1)"),
        "{}",
        summary(there)
    );

    // A redelivery of the eu-west-1 grant is announced under eu-west-1's id.
    let out = ok(&w, in_region(grant("chg-1", "203.0.113.7", 3600), EU)).await;
    assert_eq!(out["duplicate"], true, "{out}");
    let granted = events_of(&bus, "JIT Access Granted");
    assert_eq!(granted.len(), 3);
    assert_eq!(granted[2]["eventId"], there["eventId"]);

    // A revoke in eu-west-1 and a refusal there name it too.
    ok(&w, in_region(revoke("chg-1"), EU)).await;
    let revoked = events_of(&bus, "JIT Access Revoked");
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["region"], EU);
    assert!(
        summary(&revoked[0]).contains("web-1 (eu-west-1)"),
        "{}",
        summary(&revoked[0])
    );
    ok(&w, in_region(grant("wide", "0.0.0.0/0", 600), EU)).await;
    let rejected = events_of(&bus, "JIT Access Rejected");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["region"], EU);
    assert!(
        summary(&rejected[0]).contains("on web-1 (eu-west-1) rejected"),
        "{}",
        summary(&rejected[0])
    );

    // Expiry, by the sweep that covers both Regions: one event each.
    bus.clear();
    advance(&w, 3601);
    ok(&w, sweep()).await;
    let expired = events_of(&bus, "JIT Access Expired");
    let regions: BTreeSet<String> = expired
        .iter()
        .map(|d| d["region"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(expired.len(), 1, "eu-west-1's was revoked: {expired:?}");
    assert_eq!(regions, BTreeSet::from(["us-east-1".to_string()]));

    // A Region that cannot be read names no instance: which one was meant is unknown
    // (it is not the home Region's web-1).
    bus.clear();
    let out = ok(&w, in_region(grant("mars", "203.0.113.7", 600), "mars-1")).await;
    assert_eq!(out["error"]["code"], "RegionNotManaged", "{out}");
    let rejected = events_of(&bus, "JIT Access Rejected");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["region"], Value::Null, "{}", rejected[0]);
    assert_eq!(rejected[0]["instanceName"], Value::Null, "{}", rejected[0]);
    assert_eq!(rejected[0]["requestId"], "mars");
}

/// One SQS batch about web-1 in two Regions: two instances, each granted in its own
/// Region; web-1 without `region` and web-1 named in the home Region are one instance,
/// whose records apply in the batch's order (the revoke finds the grant before it).
#[tokio::test]
async fn sqs_lanes_are_per_region_and_name() {
    let w = two_regions();
    let record = |id: &str, body: Value| sqs_record(id, &body);
    let batch = json!({"Records": [
        record("m1", grant("chg-1", "203.0.113.7", 3600)),
        record("m2", in_region(grant("chg-2", "203.0.113.8", 3600), EU)),
        record("m3", in_region(revoke("chg-1"), "us-east-1")),
    ]});
    let out = ok(&w, batch).await;
    assert_eq!(out["batchItemFailures"], json!([]), "{out}");
    assert_eq!(active_in(&w, &w.lightsail, "web-1"), Vec::<String>::new());
    assert_eq!(active_in(&w, in_eu(&w), "web-1"), vec!["chg-2".to_string()]);
}

#[tokio::test]
async fn dry_run_plans_name_their_region() {
    let w = two_regions();
    let eu_sim = in_eu(&w);
    ok(&w, grant("home-g", "203.0.113.7", 600)).await;
    ok(&w, in_region(grant("eu-g", "198.51.100.9", 600), EU)).await;
    advance(&w, 601);
    let writes = (w.lightsail.writes(), eu_sim.writes());

    let plan = ok(&w, json!({"action": "sweep", "dryRun": true})).await;
    assert_eq!(plan["status"], "plan", "{plan}");
    assert_eq!(
        placed(&plan["instances"]),
        pairs(&[("us-east-1", "web-1"), (EU, "web-1")]),
        "{plan}"
    );
    for entry in plan["instances"].as_array().unwrap() {
        let id = match entry["region"].as_str().unwrap() {
            EU => "eu-g",
            _ => "home-g",
        };
        assert_eq!(entry["expired"], json!([id]), "{entry}");
    }
    let plan = ok(&w, json!({"action": "sweep", "dryRun": true, "region": EU})).await;
    assert_eq!(
        placed(&plan["instances"]),
        pairs(&[(EU, "web-1")]),
        "{plan}"
    );
    assert_eq!(
        (w.lightsail.writes(), eu_sim.writes()),
        writes,
        "a dry run writes nothing"
    );

    let out = ok(&w, sweep()).await;
    assert_eq!(out["expired"], 2, "{out}");
}

/// A Region of the policy's that the function has no client for is reported as failed,
/// naming the Region, and the other Regions are swept all the same.
#[tokio::test]
async fn a_region_without_a_client_is_reported_not_skipped() {
    let w = App::new(Sim::new(instances()), two_region_policy(json!({})), clock());
    ok(&w, grant("g", "203.0.113.7", 600)).await;
    advance(&w, 601);
    let out = ok(&w, sweep()).await;
    assert_eq!(out["status"], "swept", "{out}");
    assert_eq!(out["expired"], 1, "{out}");
    assert_eq!(ports(&w, "web-1"), web_baseline());
    assert_eq!(placed(&out["failed"]), pairs(&[(EU, "*")]), "{out}");
    assert_eq!(out["failed"][0]["code"], "RegionNotManaged", "{out}");
}
