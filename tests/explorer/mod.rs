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
//!   tag, active or expired, ∪ the lockdown rules the policy declares). After both
//!   commands end: one more sweep, on the real simulator, must converge the firewall to
//!   what the ledger asks for — baseline ∪ the active grants, or, while a lockdown (a
//!   record in force, or a policy window) holds, the lockdown rules ∪ the active
//!   break-glass grants — with baseline tags iff grant tags (or a lockdown replacing a
//!   baseline that is not declared), the captured baseline the real one, no lockdown tag
//!   past its end and no broken tag ([`converged`]); then the specification's own
//!   `check` judges the final state and both outcomes ([`Run`]).
//!
//! No fault is injected here (tests/faults.rs does that): every call succeeds, and
//! only the order varies.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::common::{World, at_home, web_baseline, world_with};
use lightsail_jit::clock::ManualClock;
use lightsail_jit::command::Command;
use lightsail_jit::firewall::{PortRule, RuleSet};
use lightsail_jit::handler::HandlerError;
use lightsail_jit::ledger::{Ledger, Tag};
use lightsail_jit::lightsail::sim::{OpenMode, Sim};
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
    /// web-1 once both commands ended, before the final sweep.
    pub after_both: Instance,
}

fn clock_at(now: jiff::Timestamp) -> ManualClock {
    ManualClock::new(now)
}

/// Firewall ⊆ baseline ∪ rules of every grant tag (active or expired but not yet
/// untagged) ∪ the lockdown rules declared in policy: nothing is open that no sweep
/// would know to close.
fn no_untracked_port(sim: &Sim, policy: &Policy, baseline: &RuleSet, label: &str) {
    let instance = sim.instance("web-1").unwrap();
    let ledger = Ledger::read(&instance.tags);
    let mut tracked = baseline.clone();
    for g in &ledger.grants {
        tracked.union(&g.rules());
    }
    if let Some(rules) = policy.lockdown_rules(at_home("web-1")) {
        tracked.union(rules);
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
    policy: &Policy,
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
                policy.clone(),
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
        no_untracked_port(sim, policy, baseline, &format!("{label} after {trace:?}"));
    }
    let after_both = sim.instance("web-1").unwrap();
    no_grant_short(&after_both, policy, now, label);
    Run {
        now,
        trace,
        choices,
        outcomes,
        after_both,
    }
}

/// Once both commands have answered, before any sweep: every active grant the ledger
/// keeps open (not locked out) is open whole, and so is what the baseline opens on the
/// ports those grants touch — whatever Open does to an existing rule.
fn no_grant_short(instance: &Instance, policy: &Policy, now: jiff::Timestamp, label: &str) {
    let ledger = Ledger::read(&instance.tags);
    let locked = ledger.lockdown.as_ref().is_some_and(|r| r.in_force(now))
        || policy.window_in_force(at_home("web-1"), now).is_some();
    let open = RuleSet::from_rules(&instance.ports);
    let mut wanted = RuleSet::new();
    for grant in ledger.active(now).filter(|g| !locked || g.break_glass) {
        wanted.union(&grant.rules());
    }
    if !locked {
        let baseline = ledger
            .baseline
            .clone()
            .unwrap_or_else(|| RuleSet::from_rules(&web_baseline()));
        for (range, sources) in baseline.iter() {
            if wanted.iter().any(|(r, _)| r == range) {
                wanted.add(*range, sources);
            }
        }
    }
    assert!(
        open.contains(&wanted),
        "{label}: after both answered, missing {:?} (open mode {:?}; tags {:?})",
        wanted.minus(&open),
        crate::common::open_mode(),
        instance.tags
    );
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
    explore_with(name, &Policy::default(), setup, commands, check)
}

/// [`explore`] under `policy`: the world, both commands and the final sweep use it.
pub fn explore_with(
    name: &str,
    policy: &Policy,
    setup: &dyn Fn(&World),
    commands: [Value; 2],
    check: &dyn Fn(&Sim, &Run),
) -> usize {
    let mut schedules = 0;
    for mode in [OpenMode::Merge, OpenMode::Replace] {
        crate::common::set_open_mode(mode);
        schedules += explore_in(name, policy, setup, &commands, check);
    }
    crate::common::set_open_mode(OpenMode::Merge);
    println!("{name}: {schedules} interleavings explored, 0 failed (Open merging and replacing)");
    schedules
}

/// One exploration, in the open mode `world_with` uses on this thread.
fn explore_in(
    name: &str,
    policy: &Policy,
    setup: &dyn Fn(&World),
    commands: &[Value; 2],
    check: &dyn Fn(&Sim, &Run),
) -> usize {
    let commands = commands.clone().map(|c| Command::from_json(&c).unwrap());
    let baseline = RuleSet::from_rules(&web_baseline());
    let mut stack: Vec<Vec<usize>> = vec![Vec::new()];
    let mut schedules = 0;
    while let Some(prefix) = stack.pop() {
        let world = world_with(policy.clone());
        setup(&world);
        let label = format!("{name} {prefix:?}");
        let run = run(&world, policy, &commands, &prefix, &baseline, &label);
        // The whole schedule, for the checks after the run: the prefix, then the lowest
        // ready actor at each step.
        let label = format!("{name} {:?}", run.trace);
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
            policy.clone(),
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
        converged(
            &world.lightsail,
            policy,
            &baseline,
            world.clock.now(),
            &label,
        );
        check(&world.lightsail, &run);
        schedules += 1;
    }
    schedules
}

/// Firewall = baseline ∪ active grants in the ledger — or, while a lockdown is in
/// force, its rules (default: the baseline) ∪ active break-glass grants; baseline tags
/// iff grants do, or while a lockdown replaces a baseline that is not declared.
fn converged(sim: &Sim, policy: &Policy, baseline: &RuleSet, now: jiff::Timestamp, label: &str) {
    let instance = sim.instance("web-1").unwrap();
    let ledger = Ledger::read(&instance.tags);
    let locked = ledger.lockdown.as_ref().is_some_and(|r| r.in_force(now))
        || policy.window_in_force(at_home("web-1"), now).is_some();
    let mut desired = match locked {
        true => policy
            .lockdown_rules(at_home("web-1"))
            .unwrap_or(baseline)
            .clone(),
        false => baseline.clone(),
    };
    for g in ledger.active(now).filter(|g| !locked || g.break_glass) {
        desired.union(&g.rules());
    }
    assert_eq!(
        RuleSet::from_rules(&instance.ports),
        desired,
        "{label}: not converged (locked: {locked})"
    );
    assert!(ledger.broken_keys.is_empty(), "{label}: broken tags");
    // reconcile's `lockdown_replaces_baseline`: after such a lockdown the live firewall
    // is the lockdown's, and only the tags know what to restore.
    let replaces = locked
        && policy.declared_baseline(at_home("web-1")).is_none()
        && policy
            .lockdown_rules(at_home("web-1"))
            .is_some_and(|r| r != baseline);
    assert_eq!(
        ledger.baseline.is_some(),
        !ledger.grants.is_empty() || replaces,
        "{label}: baseline tags iff grants, or a lockdown replacing the baseline (locked: {locked})"
    );
    assert!(
        ledger.baseline.as_ref().is_none_or(|b| b == baseline),
        "{label}: the captured baseline is not web-1's: {:?}",
        ledger.baseline
    );
    assert!(
        ledger.lockdown.as_ref().is_none_or(|r| r.in_force(now))
            && (ledger.lockdown.is_some() || ledger.lockdown_keys.is_empty()),
        "{label}: lockdown tags past their end: {:?}",
        ledger.lockdown_keys
    );
}

/// Run one more command against a run's final state (after the final sweep), as a later
/// invocation would: for a specification that asks what comes next.
pub fn dispatch(sim: &Sim, policy: &Policy, now: jiff::Timestamp, command: Value) -> Value {
    let app = App::new(sim, policy.clone(), clock_at(now));
    let command = Command::from_json(&command).unwrap();
    let outcome = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(app.dispatch(&command, "later"))
        .expect("no faults are injected here");
    serde_json::to_value(outcome).unwrap()
}

/// The grant is in the ledger and still active at the run's time (a revoked grant
/// lingers, with its end marker, until it cannot be in flight any more).
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
