//! The in-memory Lightsail: the [`model`] behind the [`Lightsail`] trait, plus what tests
//! need to see and steer it.
//!
//! * a **call log** (every call, failed ones included), so a test can assert "zero
//!   writes" or count API calls;
//! * **faults**: the next N calls of an operation fail, either before the change is
//!   applied or after it (a lost response: the write happened, the caller saw an error);
//! * **gates**: pause the next call of an operation until the test releases it, so a
//!   test can run a real grant *between* a sweep's read and its Put.
//!
//! Lightsail's tag rules are stated apart, in [`tag_rules`], from the service's own
//! documentation rather than the ledger's code: the simulator is the oracle the tag
//! encoder is tested against, so it must not share the encoder's mistakes.
//!
//! Locks are never held across an `.await`.

#[cfg(feature = "sim-http")]
pub mod http;
pub mod model;
pub mod tag_rules;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Deserialize;
use tokio::sync::Notify;

use crate::firewall::{PortRule, RuleSet};
use crate::ledger::Tag;
use crate::lightsail::{ErrorKind, Instance, Lightsail, LightsailError, Page};
use crate::region::Region;
pub use model::{Model, ModelError, OpenMode};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    GetInstance,
    GetInstances,
    Open,
    Put,
    Tag,
    Untag,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::GetInstance => "GetInstance",
            Op::GetInstances => "GetInstances",
            Op::Open => "OpenInstancePublicPorts",
            Op::Put => "PutInstancePublicPorts",
            Op::Tag => "TagResource",
            Op::Untag => "UntagResource",
        }
    }

    pub fn is_write(self) -> bool {
        matches!(self, Op::Open | Op::Put | Op::Tag | Op::Untag)
    }
}

/// One call as the simulator saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    pub op: Op,
    pub instance: Option<String>,
    pub ok: bool,
}

/// When an injected fault strikes relative to the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Nothing is applied (throttled, 5xx before processing, connection refused).
    Before,
    /// The change is applied but the caller gets an error (response lost, timeout).
    After,
}

#[derive(Clone, Debug)]
struct Fault {
    op: Op,
    instance: Option<String>,
    remaining: usize,
    timing: Timing,
    kind: ErrorKind,
    code: &'static str,
}

/// A paused call: `reached` fires when the call arrives, the call waits for `release`.
#[derive(Clone, Default)]
pub struct Gate {
    reached: Arc<Notify>,
    release: Arc<Notify>,
}

impl Gate {
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    pub fn release(&self) {
        self.release.notify_one();
    }
}

#[derive(Default)]
struct State {
    model: Model,
    calls: Vec<Call>,
    faults: Vec<Fault>,
    gates: VecDeque<(Op, Option<String>, Gate)>,
    struck: usize,
    /// Answer "not found" as real Lightsail may: `code: DoesNotExist`.
    does_not_exist_code: bool,
    /// The Region this simulator is: every instance is read back as being in it.
    region: Region,
}

#[derive(Default)]
pub struct Sim {
    state: Mutex<State>,
}

/// A fixture: the instances to seed the simulator with, and optionally other Regions'
/// (`"regions": {"eu-west-1": {"instances": [...]}}`), each its own world.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub instances: Vec<Instance>,
    #[serde(default)]
    pub regions: BTreeMap<String, RegionFixture>,
}

/// One other Region's instances.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionFixture {
    pub instances: Vec<Instance>,
}

impl Sim {
    /// us-east-1's Lightsail with these instances.
    pub fn new(instances: impl IntoIterator<Item = Instance>) -> Self {
        Sim::in_region(Region::US_EAST_1, instances)
    }

    /// `region`'s Lightsail with these instances: each is read back as being in it.
    pub fn in_region(region: Region, instances: impl IntoIterator<Item = Instance>) -> Self {
        let placed = instances.into_iter().map(|i| Instance { region, ..i });
        Sim {
            state: Mutex::new(State {
                region,
                model: Model::new(placed),
                ..State::default()
            }),
        }
    }

    pub fn from_fixture_json(text: &str) -> Result<Self, serde_json::Error> {
        Ok(Sim::regions_from_fixture_json(text)?.0)
    }

    /// The home Region's simulator and one per other Region the fixture names.
    pub fn regions_from_fixture_json(
        text: &str,
    ) -> Result<(Self, BTreeMap<String, Sim>), serde_json::Error> {
        let fixture: Fixture = serde_json::from_str(text)?;
        let regions = fixture
            .regions
            .into_iter()
            .map(|(region, f)| {
                let placed = Region::parse(&region).map(|r| Sim::in_region(r, f.instances));
                placed.map(|sim| (region.clone(), sim)).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "regions: {region:?} is not a Lightsail Region"
                    ))
                })
            })
            .collect::<Result<_, serde_json::Error>>()?;
        Ok((Sim::new(fixture.instances), regions))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_page_size(&self, size: usize) {
        self.lock().model.page_size = size;
    }

    /// Whether Open adds its sources to an existing rule (the default) or replaces them.
    pub fn set_open_mode(&self, mode: OpenMode) {
        self.lock().model.open_mode = mode;
    }

    pub fn insert(&self, instance: Instance) {
        let mut state = self.lock();
        let region = state.region;
        state.model.insert(Instance { region, ..instance });
    }

    /// Answer missing instances with `"code":"DoesNotExist"` instead of the shape name.
    pub fn use_does_not_exist_code(&self) {
        self.lock().does_not_exist_code = true;
    }

    pub fn instance(&self, name: &str) -> Option<Instance> {
        self.lock().model.instance(name).cloned()
    }

    pub fn instances(&self) -> Vec<Instance> {
        self.lock().model.instances().cloned().collect()
    }

    /// The instance's firewall in canonical form (empty if it does not exist).
    pub fn firewall(&self, name: &str) -> RuleSet {
        self.instance(name)
            .map(|i| RuleSet::from_rules(&i.ports))
            .unwrap_or_default()
    }

    pub fn tags(&self, name: &str) -> Vec<Tag> {
        self.instance(name).map(|i| i.tags).unwrap_or_default()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn count(&self, op: Op) -> usize {
        self.lock().calls.iter().filter(|c| c.op == op).count()
    }

    pub fn writes(&self) -> usize {
        self.lock().calls.iter().filter(|c| c.op.is_write()).count()
    }

    pub fn clear_calls(&self) {
        self.lock().calls.clear();
    }

    /// The next `times` calls of `op` fail with a transient error.
    pub fn fail(&self, op: Op, times: usize, timing: Timing) {
        self.fail_with(op, times, timing, ErrorKind::Transient, "ServiceException");
    }

    pub fn fail_with(
        &self,
        op: Op,
        times: usize,
        timing: Timing,
        kind: ErrorKind,
        code: &'static str,
    ) {
        self.lock().faults.push(Fault {
            op,
            instance: None,
            remaining: times,
            timing,
            kind,
            code,
        });
    }

    /// The next `times` calls of `op` on `instance` fail with a transient error.
    pub fn fail_on(&self, op: Op, instance: &str, times: usize, timing: Timing) {
        self.lock().faults.push(Fault {
            op,
            instance: Some(instance.to_string()),
            remaining: times,
            timing,
            kind: ErrorKind::Transient,
            code: "ServiceException",
        });
    }

    /// Drop every fault not yet triggered.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// How many injected faults have struck so far.
    pub fn faults_struck(&self) -> usize {
        self.lock().struck
    }

    /// Pause the next call of `op` until the returned gate is released.
    pub fn pause_before(&self, op: Op) -> Gate {
        self.pause(op, None)
    }

    /// Pause the next call of `op` on `instance` until the returned gate is released.
    pub fn pause_before_on(&self, op: Op, instance: &str) -> Gate {
        self.pause(op, Some(instance.to_string()))
    }

    fn pause(&self, op: Op, instance: Option<String>) -> Gate {
        let gate = Gate::default();
        self.lock().gates.push_back((op, instance, gate.clone()));
        gate
    }

    async fn call<T>(
        &self,
        op: Op,
        instance: Option<&str>,
        apply: impl FnOnce(&mut Model) -> Result<T, ModelError>,
    ) -> Result<T, LightsailError> {
        let gate = {
            let mut state = self.lock();
            let position = state
                .gates
                .iter()
                .position(|(o, i, _)| *o == op && matches(i, instance));
            position
                .and_then(|p| state.gates.remove(p))
                .map(|(_, _, g)| g)
        };
        if let Some(gate) = gate {
            gate.reached.notify_one();
            gate.release.notified().await;
        }
        let mut state = self.lock();
        let fault = state
            .faults
            .iter_mut()
            .find(|f| f.op == op && f.remaining > 0 && matches(&f.instance, instance))
            .map(|f| {
                f.remaining -= 1;
                f.clone()
            });
        if fault.is_some() {
            state.struck += 1;
        }
        let outcome = match fault {
            Some(f) if f.timing == Timing::Before => Err(injected(op, &f)),
            Some(f) => apply(&mut state.model)
                .map_err(|e| error(op, e))
                .and_then(|_| Err(injected(op, &f))),
            None => {
                let does_not_exist = state.does_not_exist_code;
                apply(&mut state.model).map_err(|mut e| {
                    if does_not_exist && e.kind == ErrorKind::NotFound {
                        e.code = "DoesNotExist";
                    }
                    error(op, e)
                })
            }
        };
        state.calls.push(Call {
            op,
            instance: instance.map(str::to_string),
            ok: outcome.is_ok(),
        });
        outcome
    }
}

/// A filter of `None` matches every instance.
fn matches(filter: &Option<String>, instance: Option<&str>) -> bool {
    filter.as_deref().is_none_or(|f| Some(f) == instance)
}

fn injected(op: Op, fault: &Fault) -> LightsailError {
    LightsailError::new(
        op.name(),
        fault.kind,
        fault.code,
        "injected by the simulator",
    )
}

fn error(op: Op, e: ModelError) -> LightsailError {
    LightsailError::new(op.name(), e.kind, e.code, e.message)
}

impl Lightsail for Sim {
    async fn get_instance(&self, name: &str) -> Result<Instance, LightsailError> {
        self.call(Op::GetInstance, Some(name), |m| m.get_instance(name))
            .await
    }

    async fn get_instances(&self, page_token: Option<&str>) -> Result<Page, LightsailError> {
        self.call(Op::GetInstances, None, |m| m.get_instances(page_token))
            .await
    }

    async fn open_instance_public_ports(
        &self,
        name: &str,
        rule: &PortRule,
    ) -> Result<(), LightsailError> {
        self.call(Op::Open, Some(name), |m| m.open(name, rule))
            .await
    }

    async fn put_instance_public_ports(
        &self,
        name: &str,
        rules: &[PortRule],
    ) -> Result<(), LightsailError> {
        self.call(Op::Put, Some(name), |m| m.put(name, rules)).await
    }

    async fn tag_resource(&self, name: &str, tags: &[Tag]) -> Result<(), LightsailError> {
        self.call(Op::Tag, Some(name), |m| m.tag(name, tags)).await
    }

    async fn untag_resource(&self, name: &str, keys: &[String]) -> Result<(), LightsailError> {
        self.call(Op::Untag, Some(name), |m| m.untag(name, keys))
            .await
    }
}
