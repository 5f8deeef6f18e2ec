//! The interleaving explorer behind tests/interleavings.rs: two commands on one
//! instance, run under every order in which their Lightsail calls can arrive.
//!
//! # How it works
//!
//! * **One call per step.** Each command runs through its own [`App`] whose Lightsail is
//!   an [`Actor`]: the shared simulator behind a gate. Before every call an actor waits
//!   for its [`Turn`], which resolves only when the [`Stepper`] hands that actor the
//!   permit, and consumes it. Giving actor *i* the permit and polling its future once
//!   lets exactly one of its calls through, plus the pure work up to its next call (or
//!   to its end). A step that makes no call fails the run.
//! * **No runtime.** [`run`] polls the two futures by hand on the test thread with a
//!   no-op waker, so nothing moves unless the explorer says so. The wakers an actor
//!   leaves while it waits are woken when it gets the permit, so combinators inside the
//!   service (`FuturesUnordered`) re-poll the right child.
//! * **A schedule** is the sequence of actors chosen, one per step. [`run`] replays a
//!   *prefix* of choices and then always picks the lowest ready actor, and records at
//!   every step which actors were ready. Everything it runs against is deterministic
//!   (the in-memory simulator, a [`ManualClock`] stopped at the world's time), so
//!   replaying a prefix on a fresh world reaches the same state; a replay that finds
//!   its choice not ready fails as "replay diverged".
//! * **Depth-first search.** [`explore`] starts from the empty prefix. After each run,
//!   for every step past the prefix and every ready actor not chosen there, it pushes
//!   "the run's choices up to that step, then the other actor" as a new prefix. Each
//!   prefix extends a different choice point, so every distinct schedule runs exactly
//!   once; the count printed is the number of schedules.
//! * **What is checked.** After *every* step: no port is open that no tag explains
//!   ([`no_untracked_port`]: the firewall is within baseline ∪ the rules of every grant
//!   tag, active or expired). After both commands end: one more sweep, on the real
//!   simulator, must converge the firewall to baseline ∪ the active grants, with
//!   baseline tags iff grant tags and no broken tag ([`converged`]); then the
//!   specification's own `check` judges the final state and both outcomes ([`Run`]).
//!
//! No fault is injected here (tests/faults.rs does that): every call succeeds, and
//! only the order varies.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::common::{World, web_baseline, world};
use lightsail_jit::clock::ManualClock;
use lightsail_jit::command::Command;
use lightsail_jit::firewall::{PortRule, RuleSet};
use lightsail_jit::handler::HandlerError;
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

/// One schedule as it ran: what a specification's `check` is given.
pub struct Run {
    /// The world's time (it does not move during a run).
    pub now: jiff::Timestamp,
    /// The actor chosen at each step (0 = the first command, 1 = the second).
    pub trace: Vec<usize>,
    /// The actors that were ready at each step.
    pub choices: Vec<Vec<usize>>,
    /// Each command's outcome as JSON, in the order the commands were given.
    pub outcomes: [Value; 2],
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
/// each final state after one more sweep. Prints `NAME: N interleavings explored, 0
/// failed` (CI shows that line) and returns the number of schedules.
pub fn explore(
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

/// Firewall = baseline ∪ active grants in the ledger; baseline tags iff grants do.
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
pub fn has_grant(sim: &Sim, run: &Run, id: &str) -> bool {
    Ledger::read(&sim.tags("web-1"))
        .grant(id)
        .is_some_and(|g| g.is_active(run.now))
}

/// Run a handler invocation to completion on a fresh current-thread runtime (for a
/// specification's `setup`, which is not async) and expect it to succeed.
pub fn block_on(f: impl Future<Output = Result<Value, HandlerError>>) -> Value {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
        .unwrap()
}
