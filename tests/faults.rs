//! The fault suite: seeded random scenarios (grants, break-glass grants, extends,
//! revokes, sweeps, lockdowns, unlocks, clock jumps, jumps to a lockdown window's edge)
//! against the simulator while faults strike — throttles and 5xx before a call, lost
//! responses after it (a crash after the tag write, after the Put, before the untag).
//! After every step the invariants of the product must hold:
//!
//! 1. an accepted grant is open until its expiry (unless it was revoked or ended by a
//!    lockdown, or a command touching it failed and was reported as transient); a
//!    break-glass grant is open until its expiry whatever lockdown or unlock comes;
//! 2. a lockdown that succeeded holds (its record is in the ledger, in force until its
//!    end) and an unlock that succeeded lifted it, faults or not in between;
//! 3. after a sweep (or lockdown, or unlock) that succeeded, nothing is open beyond what
//!    the ledger asks for — baseline + active grants, or, while a lockdown (record or
//!    policy window) is in force, the lockdown rules + active break-glass grants — and no
//!    ledger grant outlives what was accepted;
//! 4. after one with no fault, tags and firewall agree exactly; baseline tags exist
//!    exactly while grant tags do, or while a lockdown replaces a baseline that is not
//!    declared with other rules; no lockdown tag is left once its end has passed.
//!
//! The model of each instance's lockdown is `Lock`: what the last lockdown or unlock
//! that succeeded said, or `Unknown` after one that failed transiently (it may or may
//! not have landed): then the ledger, which is what the product reads, says.
//!
//! The run is deterministic (fixed seeds) and prints the steps run and faults struck.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use jiff::Timestamp;
use lightsail_jit::clock::{Clock, later, rfc3339};
use lightsail_jit::firewall::RuleSet;
use lightsail_jit::handler::handle;
use lightsail_jit::ledger::Ledger;
use lightsail_jit::lightsail::sim::{Op, OpenMode, Timing};
use lightsail_jit::policy::Policy;
use serde_json::{Value, json};

const SEEDS: [u64; 4] = [1, 7, 42, 2026];
const STEPS_PER_SEED: usize = 400;
const INSTANCES: [&str; 2] = ["web-1", "db-1"];
const SOURCES: [&str; 4] = [
    "203.0.113.7",
    "198.51.100.9",
    "192.0.2.44",
    "203.0.113.128/25",
];
const FAULT_OPS: [Op; 6] = [
    Op::GetInstance,
    Op::GetInstances,
    Op::Open,
    Op::Put,
    Op::Tag,
    Op::Untag,
];
/// The policy's `breakGlassRequesters`.
const BREAK_GLASS: &str = "oncall";
/// The policy's `breakGlassMaxDuration`.
const BREAK_GLASS_MAX_SECS: u64 = 45 * 60;

/// The fault world's policy: web-1 locks down to 443 from anywhere (not its baseline,
/// which is captured, never declared), every night 20:00–07:00 UTC too; db-1 locks down
/// to its baseline, and every day 12:00–14:00 UTC; on-call may break glass.
fn policy() -> Policy {
    Policy::from_value(json!({
        "breakGlassRequesters": [BREAK_GLASS],
        "breakGlassMaxDuration": format!("{BREAK_GLASS_MAX_SECS}s"),
        "instances": {
            "web-1": {
                "lockdown": [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                              "cidrs": ["0.0.0.0/0"], "ipv6Cidrs": ["::/0"]}],
                "lockdownWindows": [{"from": "20:00", "to": "07:00"}]
            },
            "db-1": {"lockdownWindows": [{"from": "12:00", "to": "14:00", "timeZone": "UTC"}]}
        }
    }))
    .unwrap()
}

/// What the test knows was promised: an accepted grant, on its instance, until `until`.
#[derive(Clone, Debug)]
struct Promise {
    instance: String,
    rules: RuleSet,
    until: Timestamp,
    /// Given during a lockdown to a break-glass requester: no lockdown ends it.
    break_glass: bool,
}

/// What the test knows of an instance's lockdown by command.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Lock {
    /// No lockdown record in force (an unlock succeeded, or none ever did).
    Unlocked,
    /// The lockdown `id` succeeded, in force until `until` (`None`: until an unlock).
    Locked {
        id: String,
        until: Option<Timestamp>,
    },
    /// A lockdown or unlock failed transiently: it may or may not have landed.
    Unknown,
}

impl Lock {
    fn in_force(&self, now: Timestamp) -> Option<bool> {
        match self {
            Lock::Unlocked => Some(false),
            Lock::Locked { until, .. } => Some(until.is_none_or(|u| u > now)),
            Lock::Unknown => None,
        }
    }
}

#[derive(Default)]
struct Counts {
    /// Revokes that failed transiently and were delivered again.
    revokes_redelivered: usize,
    lockdowns: usize,
    unlocks: usize,
    break_glass: usize,
    locked_out: usize,
    edges: usize,
}

struct Scenario {
    world: World,
    rng: fastrand::Rng,
    promised: BTreeMap<String, Promise>,
    /// Every grant id ever attempted, with the longest expiry it may legitimately have.
    attempted: BTreeMap<String, Option<Timestamp>>,
    baselines: BTreeMap<String, RuleSet>,
    locks: BTreeMap<String, Lock>,
    counts: Counts,
    steps: usize,
    next_id: usize,
}

impl Scenario {
    fn new(seed: u64) -> Self {
        let world = world_with(policy());
        let baselines = INSTANCES
            .iter()
            .map(|n| (n.to_string(), world.lightsail.firewall(n)))
            .collect();
        Scenario {
            world,
            rng: fastrand::Rng::with_seed(seed),
            promised: BTreeMap::new(),
            attempted: BTreeMap::new(),
            baselines,
            locks: INSTANCES
                .iter()
                .map(|n| (n.to_string(), Lock::Unlocked))
                .collect(),
            counts: Counts::default(),
            steps: 0,
            next_id: 0,
        }
    }

    fn now(&self) -> Timestamp {
        self.world.clock.now()
    }

    fn policy(&self) -> &Policy {
        &self.world.policy
    }

    fn ledger(&self, name: &str) -> Ledger {
        Ledger::read(&self.world.lightsail.tags(name))
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.usize(..items.len())]
    }

    fn known_id(&mut self) -> Option<String> {
        let ids: Vec<String> = self.attempted.keys().cloned().collect();
        (!ids.is_empty()).then(|| ids[self.rng.usize(..ids.len())].clone())
    }

    /// One instance, or (`None`, as `instanceNames` left out) every managed one.
    fn pick_targets(&mut self) -> (Option<String>, Vec<String>) {
        if self.rng.bool() {
            let name = self.pick(&INSTANCES).to_string();
            (Some(name.clone()), vec![name])
        } else {
            (None, INSTANCES.iter().map(|n| n.to_string()).collect())
        }
    }

    /// Whether a lockdown is in force on `name` now, as the product decides it: a policy
    /// window, or the lockdown record — as the model knows it, or, when the model does
    /// not know (`Unknown`), as the ledger says (and from then on the model knows).
    fn locked(&mut self, name: &str) -> bool {
        let now = self.now();
        if self.locks[name] == Lock::Unknown {
            let record = self.ledger(name).lockdown.filter(|r| r.in_force(now));
            let lock = match record {
                Some(r) => Lock::Locked {
                    id: r.request_id,
                    until: r.until,
                },
                None => Lock::Unlocked,
            };
            self.locks.insert(name.to_string(), lock);
        }
        let window = self.policy().window_in_force(at_home(name), now).is_some();
        window || self.locks[name].in_force(now) == Some(true)
    }

    /// Maybe arm one fault for the coming step; returns whether one was armed.
    fn arm_fault(&mut self) -> bool {
        if self.rng.u8(..100) >= 35 {
            return false;
        }
        let op = *self.pick(&FAULT_OPS);
        let timing = if self.rng.bool() {
            Timing::Before
        } else {
            Timing::After
        };
        self.world.lightsail.fail(op, 1, timing);
        true
    }

    async fn step(&mut self) {
        self.steps += 1;
        let faulty = self.arm_fault();
        match self.rng.u8(..100) {
            0..=32 => self.grant().await,
            33..=41 => self.extend().await,
            42..=50 => self.revoke().await,
            51..=74 => self.sweep(faulty).await,
            75..=78 => self.lockdown(faulty).await,
            79..=81 => self.unlock(faulty).await,
            82..=83 => self.window_edge(faulty).await,
            _ => advance(&self.world, self.rng.u64(1..=1800)),
        }
        self.world.lightsail.clear_faults();
        self.check_promises();
        self.check_locks();
    }

    async fn grant(&mut self) {
        self.next_id += 1;
        let id = format!("g{}", self.next_id);
        let instance = self.pick(&INSTANCES).to_string();
        let source = self.pick(&SOURCES).to_string();
        let secs = self.rng.u64(1..=7200);
        // Mostly an ordinary requester; sometimes on-call, with or without a reason.
        let (requester, reason) = match self.rng.u8(..10) {
            0..=6 => ("fuzz", None),
            7..=8 => (BREAK_GLASS, Some("pager")),
            _ => (BREAK_GLASS, None),
        };
        let mut command = GrantCommand::on(&instance)
            .id(&id)
            .from(&source)
            .for_secs(secs)
            .requester(requester);
        if let Some(reason) = reason {
            command = command.reason(reason);
        }
        let now = self.now();
        let locked = self.locked(&instance);
        let cap = later(now, Duration::from_secs(secs));
        self.attempted.insert(id.clone(), Some(cap));
        // A failed grant may have opened before it failed. Where Open replaces the
        // sources of an existing rule, that Open may have narrowed another grant's rule,
        // and the grant's redelivery (which SQS or Lambda makes) is what repairs it: so
        // in that mode it is delivered again. Where Open adds, it is left failed, so the
        // suite also covers partial grants that only the sweep cleans up.
        let command = command.json();
        let out = match invoke(&self.world, command.clone()).await {
            Ok(out) => out,
            Err(_) if open_mode() == OpenMode::Replace => {
                self.world.lightsail.clear_faults();
                match invoke(&self.world, command).await {
                    Ok(out) => out,
                    Err(e) => panic!(
                        "step {}: a grant redelivered without faults failed: {e}",
                        self.steps
                    ),
                }
            }
            Err(_) => return,
        };
        let step = self.steps;
        let code = out["error"]["code"].as_str().unwrap_or_default();
        let break_glass = locked && requester == BREAK_GLASS;
        if locked && !break_glass {
            assert_eq!(
                code, "LockedDown",
                "step {step}: a grant on {instance} during a lockdown: {out}"
            );
            self.counts.locked_out += 1;
            return;
        }
        if break_glass && reason.is_none() {
            assert_eq!(
                code, "ReasonRequired",
                "step {step}: break glass without a reason: {out}"
            );
            return;
        }
        assert_eq!(
            out["status"], "granted",
            "step {step}: a valid grant on {instance} (locked: {locked}) is granted or fails transiently: {out}"
        );
        assert_eq!(
            out["breakGlass"] == true,
            break_glass,
            "step {step}: break glass iff granted during a lockdown to on-call: {out}"
        );
        let until: Timestamp = out["expiresAt"].as_str().unwrap().parse().unwrap();
        if break_glass {
            self.counts.break_glass += 1;
            let longest = later(now, Duration::from_secs(BREAK_GLASS_MAX_SECS));
            assert!(until <= longest, "step {step}: break glass too long: {out}");
            // (A redelivery answers the grant as recorded, without saying what capped it.)
            if out["duplicate"] != true {
                assert_eq!(
                    out.get("cappedBy").is_some(),
                    secs > BREAK_GLASS_MAX_SECS,
                    "step {step}: {out}"
                );
            }
        } else if let Some((_, start)) = self.policy().next_window(at_home(&instance), now) {
            assert!(
                until <= start,
                "step {step}: a grant reaches into the window starting {start}: {out}"
            );
        }
        let recorded = self.ledger(&instance).grant(&id).cloned();
        assert!(
            recorded
                .as_ref()
                .is_some_and(|g| g.break_glass == break_glass && g.expires_at == until),
            "step {step}: granted {id} is not recorded as answered: {out}"
        );
        // What it opens, as recorded (a redelivery's `opened` lists only what was missing).
        let rules = recorded.map(|g| g.rules()).unwrap_or_default();
        self.promised.insert(
            id,
            Promise {
                instance,
                rules,
                until,
                break_glass,
            },
        );
    }

    async fn extend(&mut self) {
        let Some(id) = self.known_id() else { return };
        let Some(promise) = self.promised.get(&id).cloned() else {
            return;
        };
        let secs = self.rng.u64(1..=7200);
        let command = json!({"action": "extend", "instanceName": promise.instance, "requestId": id, "duration": secs});
        let now = self.now();
        let locked = self.locked(&promise.instance);
        let proposed = later(now, Duration::from_secs(secs));
        let longest = self
            .attempted
            .get(&id)
            .copied()
            .flatten()
            .map_or(proposed, |t| t.max(proposed));
        self.attempted.insert(id.clone(), Some(longest));
        let step = self.steps;
        match invoke(&self.world, command).await {
            Ok(out) if out["status"] == "extended" => {
                assert!(
                    !locked,
                    "step {step}: {id} extended during a lockdown: {out}"
                );
                let until: Timestamp = out["expiresAt"].as_str().unwrap().parse().unwrap();
                if let Some((_, start)) = self.policy().next_window(at_home(&promise.instance), now)
                {
                    assert!(
                        until <= start,
                        "step {step}: an extension reaches into the window starting {start}: {out}"
                    );
                }
                self.promised.insert(id, Promise { until, ..promise });
            }
            Ok(out) => {
                let code = out["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                match code.as_str() {
                    // Inside a lockdown, nothing is extended, break-glass grants neither.
                    "LockedDown" => assert!(locked, "step {step}: {out}"),
                    "GrantExpired" | "DurationTooLong" => {
                        assert!(!locked, "step {step}: LockedDown comes first: {out}")
                    }
                    // Its tag may be gone only once it has expired and lingered.
                    "UnknownGrant" => assert!(
                        promise.until <= now,
                        "step {step}: active grant {id} lost: {out}"
                    ),
                    _ => panic!("step {step}: unexpected extend outcome {out}"),
                }
            }
            // Unknown whether the new expiry landed: the old promise still holds.
            Err(_) => {}
        }
    }

    /// A revoke, delivered again (same delivery id, as SQS or Lambda would) when it fails
    /// transiently. Once it answers `revoked`, what it revoked is closed already — not
    /// only after the next sweep — and a redelivery answers what a first attempt would.
    async fn revoke(&mut self) {
        self.next_id += 1;
        let delivery = format!("revoke-{}", self.next_id);
        let instance = self.pick(&INSTANCES).to_string();
        let target = if self.rng.bool() {
            self.known_id()
        } else {
            None
        };
        let mut command = json!({"action": "revoke", "instanceName": instance});
        if let Some(id) = &target {
            command["requestId"] = json!(id);
        }
        let now = self.now();
        let ended: Vec<String> = self
            .promised
            .iter()
            .filter(|(id, p)| p.instance == instance && target.as_ref().is_none_or(|t| t == *id))
            .map(|(id, _)| id.clone())
            .collect();
        let mut result = handle(&self.world, lambda_event(&command, &delivery)).await;
        if result.is_err() {
            self.world.lightsail.clear_faults();
            self.counts.revokes_redelivered += 1;
            result = handle(&self.world, lambda_event(&command, &delivery)).await;
            assert!(
                result.is_ok(),
                "step {}: a revoke redelivered without faults failed: {result:?}",
                self.steps
            );
        }
        if let Ok(out) = &result {
            assert_ne!(out["status"], "granted", "{out}");
            if out["status"] == "revoked" {
                let revoked: BTreeSet<&str> = out["revoked"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                for id in ended.iter().filter(|id| self.promised[*id].until > now) {
                    assert!(
                        revoked.contains(id.as_str()),
                        "step {}: revoke {delivery} of {target:?} answered without {id}: {out}",
                        self.steps
                    );
                }
                self.check_closed(&instance, &revoked);
            }
        }
        // Succeeded or not, these grants may have ended: no longer promised.
        for id in ended {
            self.promised.remove(&id);
        }
    }

    /// What the revoked grants opened is closed now, except what the baseline (or the
    /// lockdown rules in force) or a grant still active opens too.
    fn check_closed(&self, name: &str, revoked: &BTreeSet<&str>) {
        let now = self.now();
        let ledger = self.ledger(name);
        let locked = ledger.lockdown.as_ref().is_some_and(|r| r.in_force(now))
            || self.policy().window_in_force(at_home(name), now).is_some();
        let baseline = &self.baselines[name];
        let mut kept = match locked {
            true => self
                .policy()
                .lockdown_rules(at_home(name))
                .unwrap_or(baseline)
                .clone(),
            false => baseline.clone(),
        };
        for grant in ledger.active(now) {
            assert!(
                !revoked.contains(grant.request_id.as_str()),
                "step {}: {} answered revoked, yet active",
                self.steps,
                grant.request_id
            );
            kept.union(&grant.rules());
        }
        let open = self.world.lightsail.firewall(name);
        for id in revoked {
            let grant = ledger
                .grant(id)
                .unwrap_or_else(|| panic!("step {}: revoked {id} left no end marker", self.steps));
            let only_its = grant.rules().minus(&kept);
            assert_eq!(
                only_its.minus(&open),
                only_its,
                "step {}: {name}: revoked {id} is still open before any sweep",
                self.steps
            );
        }
    }

    /// A lockdown by command: timed (a duration, or an `until`) or, now and then, until
    /// an unlock; on one instance or on every one.
    async fn lockdown(&mut self, faulty: bool) {
        self.next_id += 1;
        let id = format!("L{}", self.next_id);
        let now = self.now();
        let (named, targets) = self.pick_targets();
        let mut command = json!({"action": "lockdown", "requestId": id, "requester": "fuzz"});
        if let Some(name) = &named {
            command["instanceNames"] = json!([name]);
        }
        if self.rng.bool() {
            command["reason"] = json!("fuzz lockdown");
        }
        let secs = self.rng.u64(600..=3 * 3600);
        let until = match self.rng.u8(..10) {
            0..=1 => None,
            2..=4 => {
                let at = later(now, Duration::from_secs(secs));
                command["until"] = json!(rfc3339(at));
                Some(at)
            }
            _ => {
                command["duration"] = json!(secs);
                Some(later(now, Duration::from_secs(secs)))
            }
        };
        // What it must end: every active grant on its instances but break-glass ones.
        let ending: Vec<String> = targets
            .iter()
            .flat_map(|t| {
                self.ledger(t)
                    .active(now)
                    .filter(|g| !g.break_glass)
                    .map(|g| g.request_id.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        let result = invoke(&self.world, command.clone()).await;
        let step = self.steps;
        // Succeeded or not, the grants it targets may have ended: no longer promised.
        // Break-glass grants stay promised: no lockdown closes them, half done or not.
        self.promised
            .retain(|_, p| p.break_glass || !targets.contains(&p.instance));
        let Ok(out) = result else {
            for t in &targets {
                self.locks.insert(t.clone(), Lock::Unknown);
            }
            return;
        };
        self.counts.lockdowns += 1;
        assert_eq!(out["status"], "lockedDown", "step {step}: {command}: {out}");
        assert_eq!(out["instances"], json!(targets.len()), "step {step}: {out}");
        assert_eq!(out["ended"], json!(ending.len()), "step {step}: {out}");
        assert_eq!(
            out["until"],
            until.map_or(Value::Null, |u| json!(rfc3339(u))),
            "step {step}: {command}: {out}"
        );
        for t in &targets {
            let ledger = self.ledger(t);
            for g in &ending {
                assert!(
                    ledger.grant(g).is_none_or(|g| !g.is_active(now)),
                    "step {step}: lockdown {id} left {g} active on {t}"
                );
            }
            self.locks.insert(
                t.clone(),
                Lock::Locked {
                    id: id.clone(),
                    until,
                },
            );
            // A lockdown is a reconcile: the instance is at its lockdown rules now.
            self.check_instance(t, !faulty);
        }
    }

    /// An unlock by "fuzz", of one instance or of every one. Inside a window an instance
    /// is refused (`LockedDown`) and left as it is; the lockdown record stays.
    async fn unlock(&mut self, faulty: bool) {
        let now = self.now();
        let (named, targets) = self.pick_targets();
        let mut command = json!({"action": "unlock", "requester": "fuzz"});
        if let Some(name) = &named {
            command["instanceNames"] = json!([name]);
        }
        if self.rng.bool() {
            command["reason"] = json!("fuzz unlock");
        }
        let (windowed, lifted): (Vec<String>, Vec<String>) = targets
            .iter()
            .cloned()
            .partition(|t| self.policy().window_in_force(at_home(t), now).is_some());
        let result = invoke(&self.world, command.clone()).await;
        let step = self.steps;
        let Ok(out) = result else {
            for t in &lifted {
                self.locks.insert(t.clone(), Lock::Unknown);
            }
            return;
        };
        self.counts.unlocks += 1;
        if lifted.is_empty() {
            assert_eq!(
                out["error"]["code"], "LockedDown",
                "step {step}: every instance inside a window: {command}: {out}"
            );
            return;
        }
        assert_eq!(out["status"], "unlocked", "step {step}: {command}: {out}");
        assert_eq!(out["instances"], json!(lifted.len()), "step {step}: {out}");
        let refused: Vec<(String, String)> = out["failed"]
            .as_array()
            .map(|failed| {
                failed
                    .iter()
                    .map(|f| {
                        (
                            f["instanceName"].as_str().unwrap().to_string(),
                            f["code"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let expected: Vec<(String, String)> = windowed
            .iter()
            .map(|t| (t.clone(), "LockedDown".to_string()))
            .collect();
        assert_eq!(refused, expected, "step {step}: {out}");
        for t in &lifted {
            let ledger = self.ledger(t);
            assert!(
                ledger.lockdown.is_none() && ledger.lockdown_keys.is_empty(),
                "step {step}: unlock left lockdown tags on {t}: {:?}",
                ledger.lockdown_keys
            );
            self.locks.insert(t.clone(), Lock::Unlocked);
            self.check_instance(t, !faulty);
        }
    }

    /// Jump to just before or after the next edge of a lockdown window (its start, or
    /// the end of the one in force), then sweep.
    async fn window_edge(&mut self, faulty: bool) {
        let name = self.pick(&INSTANCES).to_string();
        let now = self.now();
        let edge = match self.policy().window_in_force(at_home(&name), now) {
            Some(w) => w.occurrence.end,
            None => match self.policy().next_window(at_home(&name), now) {
                Some((_, start)) => start,
                None => return,
            },
        };
        let target = edge.as_second() + self.rng.i64(-90..=90);
        let secs = (target - now.as_second()).max(1);
        advance(&self.world, secs as u64);
        self.counts.edges += 1;
        self.sweep(faulty).await;
    }

    async fn sweep(&mut self, faulty: bool) {
        let result = invoke(&self.world, sweep()).await;
        let Ok(out) = result else { return };
        assert_eq!(out["status"], "swept", "{out}");
        self.check_converged(!faulty);
    }

    /// Invariant 1: every promise still in force is open.
    fn check_promises(&self) {
        let now = self.now();
        for (id, promise) in &self.promised {
            if promise.until > now {
                let open = self.world.lightsail.firewall(&promise.instance);
                assert!(
                    open.contains(&promise.rules),
                    "step {}: accepted grant {id} is not open: {promise:?}",
                    self.steps
                );
            }
        }
    }

    /// Invariant 2: a lockdown that succeeded holds, an unlock that succeeded lifted it.
    fn check_locks(&self) {
        let now = self.now();
        for name in INSTANCES {
            let lock = &self.locks[name];
            let Some(expected) = lock.in_force(now) else {
                continue;
            };
            let record = self.ledger(name).lockdown.filter(|r| r.in_force(now));
            assert_eq!(
                record.is_some(),
                expected,
                "step {}: {name}: the model says {lock:?}, the ledger {record:?}",
                self.steps
            );
            if let (Lock::Locked { id, until }, Some(record)) = (lock, &record) {
                assert_eq!(
                    (&record.request_id, record.until),
                    (id, *until),
                    "step {}: {name}: the lockdown record changed",
                    self.steps
                );
            }
        }
    }

    /// Invariants 3 and 4 on every instance, after a successful sweep.
    fn check_converged(&self, quiet: bool) {
        for name in INSTANCES {
            self.check_instance(name, quiet);
        }
    }

    /// Invariants 3 and 4 on one instance, after a successful reconcile of it.
    fn check_instance(&self, name: &str, quiet: bool) {
        let now = self.now();
        let step = self.steps;
        let policy = self.policy();
        let instance = self.world.lightsail.instance(name).unwrap();
        let ledger = Ledger::read(&instance.tags);
        let baseline = &self.baselines[name];
        let record = ledger.lockdown.as_ref().filter(|r| r.in_force(now));
        let locked = record.is_some() || policy.window_in_force(at_home(name), now).is_some();
        // Locked: the lockdown rules (default: the baseline) and break-glass grants only.
        let mut desired = match locked {
            true => policy
                .lockdown_rules(at_home(name))
                .unwrap_or(baseline)
                .clone(),
            false => baseline.clone(),
        };
        for grant in ledger.active(now) {
            let cap = self.attempted.get(&grant.request_id).copied().flatten();
            assert!(
                cap.is_some_and(|cap| grant.expires_at <= cap),
                "step {step}: {} outlives what was accepted",
                grant.request_id
            );
            if !locked || grant.break_glass {
                desired.union(&grant.rules());
            }
        }
        let open = RuleSet::from_rules(&instance.ports);
        assert!(
            desired.contains(&open),
            "step {step}: {name} (locked: {locked}) has rules beyond what the ledger asks for: {:?}",
            open.minus(&desired)
        );
        if !quiet {
            return;
        }
        assert_eq!(
            open, desired,
            "step {step}: {name} (locked: {locked}): firewall and ledger disagree after a quiet reconcile"
        );
        assert!(ledger.broken_keys.is_empty());
        // The captured baseline goes with the last grant tag — except while a lockdown
        // puts other rules in place of a baseline that is not declared: then only the
        // tags know what to restore, and they keep it (reconcile's
        // `lockdown_replaces_baseline`).
        let replaces = locked
            && policy.declared_baseline(at_home(name)).is_none()
            && policy
                .lockdown_rules(at_home(name))
                .is_some_and(|r| r != baseline);
        assert_eq!(
            ledger.baseline.is_some(),
            !ledger.grants.is_empty() || replaces,
            "step {step}: {name}: baseline tags iff grant tags or a lockdown replaces the baseline \
             (locked: {locked}, grants: {})",
            ledger.grants.len()
        );
        assert!(
            ledger.baseline.as_ref().is_none_or(|b| b == baseline),
            "step {step}: {name}: the captured baseline is not the baseline: {:?}",
            ledger.baseline
        );
        // A lockdown record past its end is lifted, stray reason tag and all.
        assert!(
            ledger.lockdown.as_ref().is_none_or(|r| r.in_force(now))
                && (ledger.lockdown.is_some() || ledger.lockdown_keys.is_empty()),
            "step {step}: {name}: lockdown tags left after their end: {:?}",
            ledger.lockdown
        );
    }
}

#[tokio::test]
async fn invariants_hold_under_random_faults() {
    let (mut steps, mut faults) = (0, 0);
    let mut counts = Counts::default();
    // Every seed twice: with Open adding sources to an existing rule, and replacing them.
    for (mode, seed) in [OpenMode::Merge, OpenMode::Replace]
        .into_iter()
        .flat_map(|mode| SEEDS.map(|seed| (mode, seed)))
    {
        set_open_mode(mode);
        let mut s = Scenario::new(seed);
        for _ in 0..STEPS_PER_SEED {
            s.step().await;
        }
        // The end: everything expires, the clock leaves every window, an unlock lifts
        // what holds until one, and a quiet sweep restores every baseline exactly.
        advance(&s.world, 13 * 3600 + LINGER_SECS);
        while let Some(end) = INSTANCES
            .iter()
            .filter_map(|n| s.policy().window_in_force(at_home(n), s.now()))
            .map(|w| w.occurrence.end)
            .max()
        {
            advance(&s.world, (end.as_second() - s.now().as_second()) as u64 + 1);
        }
        let out: Value = ok(
            &s.world,
            json!({"action": "unlock", "requester": "fuzz", "reason": "the end"}),
        )
        .await;
        assert_eq!(out["status"], "unlocked", "seed {seed}: {out}");
        assert_eq!(out.get("failed"), None, "seed {seed}: {out}");
        let out: Value = ok(&s.world, sweep()).await;
        assert_eq!(out["status"], "swept");
        s.check_converged(true);
        for name in INSTANCES {
            assert_eq!(
                s.world.lightsail.firewall(name),
                s.baselines[name],
                "seed {seed}: {name} back to baseline"
            );
            let keys: BTreeSet<String> = tag_keys(&s.world, name)
                .into_iter()
                .filter(|k| {
                    ["jit:g", "jit:b", "jit:l", "jit:e", "jit:r"]
                        .iter()
                        .any(|prefix| k.starts_with(prefix))
                })
                .collect();
            assert!(
                keys.is_empty(),
                "seed {seed}: {name} still has ledger tags {keys:?}"
            );
        }
        steps += s.steps;
        faults += s.world.lightsail.faults_struck();
        counts.revokes_redelivered += s.counts.revokes_redelivered;
        counts.lockdowns += s.counts.lockdowns;
        counts.unlocks += s.counts.unlocks;
        counts.break_glass += s.counts.break_glass;
        counts.locked_out += s.counts.locked_out;
        counts.edges += s.counts.edges;
    }
    set_open_mode(OpenMode::Merge);
    println!(
        "fault suite: {steps} steps, {faults} faults injected, 0 invariant violations (Open merging and replacing)"
    );
    println!(
        "fault suite: {} revokes failed transiently and were redelivered, each then revoked and closed",
        counts.revokes_redelivered
    );
    println!(
        "fault suite: {} lockdowns and {} unlocks answered, {} break-glass grants, {} grants locked out, {} window edges",
        counts.lockdowns, counts.unlocks, counts.break_glass, counts.locked_out, counts.edges
    );
    assert!(steps >= 3000);
    assert!(
        faults >= 100,
        "only {faults} faults struck: the suite is not exercising failure"
    );
    assert!(
        counts.revokes_redelivered >= 10,
        "only {} revokes were redelivered",
        counts.revokes_redelivered
    );
    assert!(
        counts.lockdowns >= 20
            && counts.unlocks >= 10
            && counts.break_glass >= 10
            && counts.locked_out >= 20
            && counts.edges >= 10,
        "the suite is not exercising lockdowns: {} lockdowns, {} unlocks, {} break-glass, {} locked out, {} edges",
        counts.lockdowns,
        counts.unlocks,
        counts.break_glass,
        counts.locked_out,
        counts.edges
    );
}

/// One instance refused by its window, another failing transiently, in one unlock: the
/// answer must be the transient failure (so the unlock is delivered again), not a final
/// `rejected` that leaves the other instance locked with nobody told to retry.
#[tokio::test]
async fn an_unlock_refused_by_a_window_does_not_hide_a_transient_failure() {
    let w = world_with(policy());
    // 20:30 UTC: web-1 is inside its window, db-1 is not.
    advance(&w, 10 * 3600 + 1800);
    let lockdown = json!({"action": "lockdown", "requestId": "L1", "instanceNames": ["db-1"],
                          "requester": "fuzz", "duration": "1h"});
    assert_eq!(ok(&w, lockdown).await["status"], "lockedDown");
    let unlock = json!({"action": "unlock", "requester": "fuzz"});
    // db-1's lift (the untag of its lockdown tags, before its Put) fails.
    w.lightsail.fail_on(Op::Untag, "db-1", 1, Timing::Before);
    let result = invoke(&w, unlock.clone()).await;
    assert!(
        result.is_err(),
        "db-1's unlock failed transiently, yet the answer is final: {result:?}"
    );
    // Delivered again, it lifts db-1 and names web-1 as refused.
    let out = ok(&w, unlock).await;
    assert_eq!(out["status"], "unlocked", "{out}");
    assert_eq!(out["instances"], 1, "{out}");
    assert_eq!(out["failed"][0]["instanceName"], "web-1", "{out}");
    assert_eq!(out["failed"][0]["code"], "LockedDown", "{out}");
    assert_eq!(Ledger::read(&w.lightsail.tags("db-1")).lockdown, None);
}
