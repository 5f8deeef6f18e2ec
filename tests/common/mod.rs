//! Shared test world: the simulator seeded with a known firewall, a manual clock, and
//! helpers that drive the real handler with JSON payloads. Builders for grant commands
//! and instances are in [`builders`]; the simulator's call log, read as "the writes
//! Lightsail saw", is in [`calls`]; the times envelopes carry, in [`stamps`].
//!
//! The suites here are about other concerns than a command's age, so [`world`] and
//! [`world_with`] turn the policy's `requireIssuedAt` off: their direct grants need no
//! `issuedAt` (a direct invocation has no age), while their EventBridge and SQS grants
//! are still held to their transport's timestamp. The freshness suite uses
//! [`world_as_deployed`], which takes the policy exactly as given.
#![allow(dead_code)]

mod audit;
mod builders;
mod calls;
mod inflate;
mod lockdown;
pub mod slack;
mod stamps;

// Re-exported for `use common::*`; a test target that uses none of them is fine.
#[allow(unused_imports)]
pub use audit::Capture;
#[allow(unused_imports)]
pub use builders::{GrantCommand, InstanceBuilder};
#[allow(unused_imports)]
pub use calls::{assert_no_write, successful_writes, writes_seen, writes_seen_on};
#[allow(unused_imports)]
pub use inflate::{Inflates, inflate, read_corpus};
#[allow(unused_imports)]
pub use lockdown::{break_glass, lockdown_policy, web_lockdown, web_lockdown_rules, web_unlock};
#[allow(unused_imports)]
pub use stamps::{
    eventbridge_sent, issued, now_of, sent_timestamp, sqs_record, sqs_record_sent, start,
};

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use aws_sdk_lightsail::config::{BehaviorVersion, Credentials};

use lambda_runtime::{Context, LambdaEvent};
use lightsail_jit::clock::ManualClock;
use lightsail_jit::firewall::{PortRule, Protocol};
use lightsail_jit::handler::{HandlerError, handle};
use lightsail_jit::lightsail::Instance;
use lightsail_jit::lightsail::sim::http::SimServer;
use lightsail_jit::lightsail::sim::{OpenMode, Sim};
use lightsail_jit::policy::Policy;
pub use lightsail_jit::region::{InstanceRef, Region};
use lightsail_jit::service::App;
use lightsail_jit::strict_json::Strict;
use serde_json::{Value, json};

pub type World = App<Sim, ManualClock>;

pub const START: &str = "2026-11-23T10:00:00Z";

pub fn rule(
    protocol: Protocol,
    from: i32,
    to: i32,
    v4: &[&str],
    v6: &[&str],
    aliases: &[&str],
) -> PortRule {
    let strings = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
    PortRule {
        protocol,
        from_port: from,
        to_port: to,
        cidrs: strings(v4),
        ipv6_cidrs: strings(v6),
        cidr_list_aliases: strings(aliases),
    }
}

/// SSH (22/tcp) from one IPv4 source, as a rule set: what a grant of the default port
/// opens.
pub fn ssh_from(cidr: &str) -> lightsail_jit::firewall::RuleSet {
    lightsail_jit::firewall::RuleSet::from_rules(&[rule(Protocol::Tcp, 22, 22, &[cidr], &[], &[])])
}

/// web-1's firewall before any grant, written in canonical order so a restored
/// firewall can be compared byte for byte: browser SSH, public web on IPv4 and IPv6,
/// and IPv6 ping.
pub fn web_baseline() -> Vec<PortRule> {
    vec![
        rule(Protocol::Tcp, 22, 22, &[], &[], &["lightsail-connect"]),
        rule(Protocol::Tcp, 80, 80, &["0.0.0.0/0"], &["::/0"], &[]),
        rule(Protocol::Tcp, 443, 443, &["0.0.0.0/0"], &["::/0"], &[]),
        rule(Protocol::Icmpv6, 128, 0, &[], &["::/0"], &[]),
    ]
}

/// A managed instance of the web team's with `ports` as its firewall.
pub fn managed(name: &str, ports: Vec<PortRule>) -> Instance {
    InstanceBuilder::managed(name)
        .tag("owner", "web-team")
        .ports(ports)
        .build()
}

/// The Region of every default world: the simulator's and the policy's home.
pub const HOME: Region = Region::US_EAST_1;

/// `name` in [`HOME`], as policy lookups take an instance.
pub fn at_home(name: &str) -> InstanceRef<'_> {
    InstanceRef::new(HOME, name)
}

/// The default world's instances: web-1 and db-1 managed, legacy-1 never opted in.
pub fn instances() -> Vec<Instance> {
    vec![
        managed("web-1", web_baseline()),
        managed(
            "db-1",
            vec![rule(Protocol::Icmp, 8, -1, &["0.0.0.0/0"], &[], &[])],
        ),
        InstanceBuilder::unmanaged("legacy-1")
            .port(rule(Protocol::Tcp, 22, 22, &["0.0.0.0/0"], &[], &[]))
            .build(),
    ]
}

/// The default policy, for suites about other concerns (see the module doc).
pub fn world() -> World {
    world_with(Policy::default())
}

/// `policy` for suites about other concerns: `requireIssuedAt` off, all else as given.
pub fn other_concerns(policy: Policy) -> Policy {
    Policy {
        require_issued_at: false,
        ..policy
    }
}

/// A world under `policy` with `requireIssuedAt` off ([`other_concerns`]).
pub fn world_with(policy: Policy) -> World {
    world_as_deployed(other_concerns(policy))
}

/// A world under exactly `policy`: `world_as_deployed(Policy::default())` is the
/// function as shipped (`requireIssuedAt` on, `maxCommandAge` 15m).
pub fn world_as_deployed(policy: Policy) -> World {
    let sim = Sim::new(instances());
    sim.set_open_mode(open_mode());
    App::new(sim, policy, ManualClock::new(START.parse().unwrap()))
}

thread_local! {
    static OPEN_MODE: std::cell::Cell<OpenMode> = const { std::cell::Cell::new(OpenMode::Merge) };
}

/// What Open does to an existing rule in the worlds this thread builds from now on
/// (Lightsail does not document it; the suites run in both modes).
pub fn set_open_mode(mode: OpenMode) {
    OPEN_MODE.with(|m| m.set(mode));
}

pub fn open_mode() -> OpenMode {
    OPEN_MODE.with(|m| m.get())
}

/// Run a test (a `#[tokio::test]` function, which is a plain `fn()`) again with Open
/// replacing the sources of an existing rule.
pub fn in_replace_mode(test: fn()) {
    set_open_mode(OpenMode::Replace);
    test();
    set_open_mode(OpenMode::Merge);
}

pub fn advance(world: &World, secs: u64) {
    world.clock.advance(Duration::from_secs(secs));
}

/// `payload` as Lambda hands it to the function: its text read by the strict parser,
/// exactly as every front reads it.
pub fn lambda_event(payload: &Value, request_id: &str) -> LambdaEvent<Strict> {
    let strict: Strict = serde_json::from_str(&payload.to_string()).unwrap();
    let mut context = Context::default();
    context.request_id = request_id.into();
    LambdaEvent::new(strict, context)
}

/// Invoke the handler exactly as Lambda would, with `payload` as the event.
pub async fn invoke(world: &World, payload: Value) -> Result<Value, HandlerError> {
    handle(world, lambda_event(&payload, "lambda-req-1")).await
}

/// Invoke and expect an `Ok` outcome.
pub async fn ok(world: &World, payload: Value) -> Value {
    match invoke(world, payload.clone()).await {
        Ok(v) => v,
        Err(e) => panic!("{payload} failed: {e}"),
    }
}

/// Alice's grant `id` on web-1 from `cidr` for `duration` seconds (the default ports).
pub fn grant(id: &str, cidr: &str, duration: u64) -> Value {
    grant_on("web-1", id, cidr, duration)
}

/// The same grant on another instance.
pub fn grant_on(instance: &str, id: &str, cidr: &str, duration: u64) -> Value {
    GrantCommand::on(instance)
        .id(id)
        .from(cidr)
        .for_secs(duration)
        .requester("alice")
        .reason("test")
        .json()
}

pub fn sweep() -> Value {
    json!({"version": "0", "id": "sched-1", "detail-type": "Scheduled Event", "source": "aws.events",
           "time": START, "detail": {}})
}

pub fn tag_keys(world: &World, name: &str) -> Vec<String> {
    world
        .lightsail
        .tags(name)
        .into_iter()
        .map(|t| t.key)
        .collect()
}

pub fn grant_keys(world: &World, name: &str) -> Vec<String> {
    tag_keys(world, name)
        .into_iter()
        .filter(|k| k.starts_with("jit:grant:"))
        .collect()
}

pub fn ports(world: &World, name: &str) -> Vec<PortRule> {
    world.lightsail.instance(name).unwrap().ports
}

/// Request ids of the grants active now (ended grants linger, with their end markers,
/// until they cannot be in flight any more).
pub fn active_grants(world: &World, name: &str) -> Vec<String> {
    use lightsail_jit::clock::Clock as _;
    let now = world.clock.now();
    lightsail_jit::ledger::Ledger::read(&world.lightsail.tags(name))
        .active(now)
        .map(|g| g.request_id.clone())
        .collect()
}

/// Wait for a gate, failing (not hanging) if the gated call never comes.
pub async fn reached(gate: &lightsail_jit::lightsail::sim::Gate) {
    tokio::time::timeout(std::time::Duration::from_secs(5), gate.reached())
        .await
        .expect("the gated call never happened");
}

/// Past the linger window: every ended grant's tag may now be removed.
pub const LINGER_SECS: u64 = 15 * 60;

/// The simulator served over HTTP on a free loopback port.
pub async fn sim_server(instances: Vec<Instance>) -> SimServer {
    SimServer::start(
        Sim::new(instances),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap()
}

/// The real SDK's configuration pointed at `url` with test credentials; callers add
/// what they test (retries, timeouts, the HTTPS client).
pub fn sdk_config(url: &str) -> aws_sdk_lightsail::config::Builder {
    aws_sdk_lightsail::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_lightsail::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
}
