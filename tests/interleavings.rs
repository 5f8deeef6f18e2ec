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

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use common::*;
use lightsail_jit::clock::ManualClock;
use lightsail_jit::command::Command;
use lightsail_jit::firewall::{PortRule, RuleSet};
use lightsail_jit::ledger::{Ledger, Tag};
use lightsail_jit::lightsail::sim::Sim;
use lightsail_jit::lightsail::{Instance, Lightsail, LightsailError, Page};
use lightsail_jit::outcome::Outcome;
use lightsail_jit::policy::Policy;
use lightsail_jit::service::{App, Transient};
use serde_json::{Value, json};

/// Who may make the next call, and the wakers of calls waiting for their turn (so
/// combinators such as `FuturesUnordered` re-poll them).
#[derive(Default)]
struct Stepper {
    permit: Mutex<Option<usize>>,
    waiting: Mutex<[Vec<Waker>; 2]>,
}

impl Stepper {
    fn allow(&self, actor: usize) {
        *self.permit.lock().unwrap() = Some(actor);
        for waker in std::mem::take(&mut self.waiting.lock().unwrap()[actor]) {
            waker.wake();
        }
    }
}

/// Resolves when the stepper hands this actor the permit (consuming it).
struct Turn<'a> {
    stepper: &'a Stepper,
    actor: usize,
}

impl Future for Turn<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut permit = self.stepper.permit.lock().unwrap();
        if *permit == Some(self.actor) {
            *permit = None;
            Poll::Ready(())
        } else {
            self.stepper.waiting.lock().unwrap()[self.actor].push(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The simulator as seen by one actor: every call waits for its turn.
struct Actor<'a> {
    sim: &'a Sim,
    stepper: &'a Stepper,
    id: usize,
}

impl Actor<'_> {
    fn turn(&self) -> Turn<'_> {
        Turn {
            stepper: self.stepper,
            actor: self.id,
        }
    }
}

impl Lightsail for Actor<'_> {
    async fn get_instance(&self, name: &str) -> Result<Instance, LightsailError> {
        self.turn().await;
        self.sim.get_instance(name).await
    }
    async fn get_instances(&self, token: Option<&str>) -> Result<Page, LightsailError> {
        self.turn().await;
        self.sim.get_instances(token).await
    }
    async fn open_instance_public_ports(
        &self,
        name: &str,
        rule: &PortRule,
    ) -> Result<(), LightsailError> {
        self.turn().await;
        self.sim.open_instance_public_ports(name, rule).await
    }
    async fn put_instance_public_ports(
        &self,
        name: &str,
        rules: &[PortRule],
    ) -> Result<(), LightsailError> {
        self.turn().await;
        self.sim.put_instance_public_ports(name, rules).await
    }
    async fn tag_resource(&self, name: &str, tags: &[Tag]) -> Result<(), LightsailError> {
        self.turn().await;
        self.sim.tag_resource(name, tags).await
    }
    async fn untag_resource(&self, name: &str, keys: &[String]) -> Result<(), LightsailError> {
        self.turn().await;
        self.sim.untag_resource(name, keys).await
    }
}

type Running<'a> = Pin<Box<dyn Future<Output = Result<Outcome, Transient>> + 'a>>;

struct Run {
    now: jiff::Timestamp,
    trace: Vec<usize>,
    choices: Vec<Vec<usize>>,
    outcomes: [Value; 2],
}

fn clock_at(now: jiff::Timestamp) -> ManualClock {
    ManualClock::new(now)
}

/// Firewall ⊆ baseline ∪ rules of every grant tag (active or expired but not yet
/// untagged): nothing is open that no sweep would know to close.
fn no_untracked_port(sim: &Sim, baseline: &RuleSet, label: &str) {
    let instance = sim.instance("web-1").unwrap();
    let ledger = Ledger::read(&instance.tags);
    let mut tracked = baseline.clone();
    for g in &ledger.grants {
        tracked.union(&g.rules());
    }
    let open = RuleSet::from_rules(&instance.ports);
    assert!(
        tracked.contains(&open),
        "{label}: untracked rules open: {:?}",
        open.minus(&tracked)
    );
}

/// Run both commands, choosing who calls next from `prefix` then the lowest ready actor.
fn run(
    world: &World,
    commands: &[Command; 2],
    prefix: &[usize],
    baseline: &RuleSet,
    label: &str,
) -> Run {
    use lightsail_jit::clock::Clock as _;
    let sim = &world.lightsail;
    let now = world.clock.now();
    let stepper = Stepper::default();
    let apps: Vec<App<Actor<'_>, ManualClock>> = (0..2)
        .map(|id| {
            App::new(
                Actor {
                    sim,
                    stepper: &stepper,
                    id,
                },
                Policy::default(),
                clock_at(now),
            )
        })
        .collect();
    let mut running: Vec<Option<Running<'_>>> = (0..2)
        .map(|i| {
            Some(
                Box::pin(apps[i].dispatch(&commands[i], ["delivery-a", "delivery-b"][i]))
                    as Running<'_>,
            )
        })
        .collect();
    let mut outcomes = [Value::Null, Value::Null];
    let mut cx = Context::from_waker(Waker::noop());
    let mut poll = |i: usize, running: &mut Vec<Option<Running<'_>>>, outcomes: &mut [Value; 2]| {
        if let Some(fut) = running[i].as_mut()
            && let Poll::Ready(result) = fut.as_mut().poll(&mut cx)
        {
            outcomes[i] =
                serde_json::to_value(result.expect("no faults are injected here")).unwrap();
            running[i] = None;
        }
    };
    for i in 0..2 {
        poll(i, &mut running, &mut outcomes);
    }
    let (mut trace, mut choices) = (Vec::new(), Vec::new());
    loop {
        let ready: Vec<usize> = (0..2).filter(|i| running[*i].is_some()).collect();
        if ready.is_empty() {
            break;
        }
        let choice = prefix.get(trace.len()).copied().unwrap_or(ready[0]);
        assert!(ready.contains(&choice), "{label}: replay diverged");
        stepper.allow(choice);
        poll(choice, &mut running, &mut outcomes);
        assert!(
            stepper.permit.lock().unwrap().is_none(),
            "{label}: the step made no call"
        );
        choices.push(ready);
        trace.push(choice);
        no_untracked_port(sim, baseline, &format!("{label} after {trace:?}"));
    }
    Run {
        now,
        trace,
        choices,
        outcomes,
    }
}

/// Explore every schedule of `commands` on a world prepared by `setup`; `check` judges
/// each final state after one more sweep. Returns the number of schedules.
fn explore(
    name: &str,
    setup: &dyn Fn(&World),
    commands: [Value; 2],
    check: &dyn Fn(&Sim, &Run),
) -> usize {
    let commands = commands.map(|c| Command::from_json(&c).unwrap());
    let baseline = RuleSet::from_rules(&web_baseline());
    let mut stack: Vec<Vec<usize>> = vec![Vec::new()];
    let mut schedules = 0;
    while let Some(prefix) = stack.pop() {
        let world = world();
        setup(&world);
        let label = format!("{name} {prefix:?}");
        let run = run(&world, &commands, &prefix, &baseline, &label);
        for step in prefix.len()..run.trace.len() {
            for &other in &run.choices[step] {
                if other != run.trace[step] {
                    let mut next = run.trace[..step].to_vec();
                    next.push(other);
                    stack.push(next);
                }
            }
        }
        use lightsail_jit::clock::Clock as _;
        let sweeper = App::new(
            &world.lightsail,
            Policy::default(),
            clock_at(world.clock.now()),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let swept = runtime.block_on(sweeper.dispatch(
            &Command::from_json(&json!({"action": "sweep"})).unwrap(),
            "final",
        ));
        assert!(swept.is_ok(), "{label}: final sweep failed");
        converged(&world.lightsail, &baseline, world.clock.now(), &label);
        check(&world.lightsail, &run);
        schedules += 1;
    }
    println!("{name}: {schedules} interleavings explored, 0 failed");
    schedules
}

/// Firewall = baseline ∪ active grants in the ledger; baseline tags exist iff grants do.
fn converged(sim: &Sim, baseline: &RuleSet, now: jiff::Timestamp, label: &str) {
    let instance = sim.instance("web-1").unwrap();
    let ledger = Ledger::read(&instance.tags);
    let mut desired = baseline.clone();
    for g in ledger.active(now) {
        desired.union(&g.rules());
    }
    assert_eq!(
        RuleSet::from_rules(&instance.ports),
        desired,
        "{label}: not converged"
    );
    assert!(ledger.broken_keys.is_empty(), "{label}: broken tags");
    assert_eq!(
        ledger.baseline.is_some(),
        !ledger.grants.is_empty(),
        "{label}: baseline tags iff grants"
    );
}

/// The grant is in the ledger and still active at the run's time (a revoked grant
/// lingers as an expired tombstone until it cannot be in flight any more).
fn has_grant(sim: &Sim, run: &Run, id: &str) -> bool {
    Ledger::read(&sim.tags("web-1"))
        .grant(id)
        .is_some_and(|g| g.is_active(run.now))
}

/// An expired grant the sweep must end (so it has Put and untag to do).
fn expired_grant(w: &World) {
    let mut g = grant("old", "198.51.100.9", 60);
    g["requestId"] = json!("old");
    let out = futures_block_on(invoke(w, g));
    assert_eq!(out["status"], "granted");
    advance(w, 61);
}

fn futures_block_on(
    f: impl Future<Output = Result<Value, lightsail_jit::handler::HandlerError>>,
) -> Value {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
        .unwrap()
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
            futures_block_on(invoke(w, grant("keep", "203.0.113.7", 7200)));
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
            futures_block_on(invoke(w, grant("a", "198.51.100.9", 3600)));
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
            futures_block_on(invoke(w, grant("a", "198.51.100.9", 3600)));
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
