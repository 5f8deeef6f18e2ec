//! Core throughput (issue target 6): the pure work a sweep or an SQS batch does per item,
//! with no I/O.
//!
//! * `canonicalise_diff/10000`: canonicalise the live firewall and the desired rule set of
//!   10,000 instances (bare addresses, host bits, IPv6 spelling, split rules) and diff them;
//! * `ledger_decode/10000`: decode 10,000 instances' tags into ledgers (grants + a
//!   captured baseline + the user's own tags);
//! * `sweep_plan/10000`: the whole per-instance CPU of a sweep (ledger + canonical sets +
//!   diff + tag plan) for 10,000 instances;
//! * `sqs_batch/10`: parse an SQS batch of 10 grant records with the duplicate-key-refusing
//!   parser and read it into deliveries of commands (`Payload::from_value`).
//!
//! `cargo bench --bench core` measures; `cargo bench --bench core -- --test` (what CI
//! runs) executes each benchmark once so they never rot. Inputs are generated from a
//! fixed seed, so every run measures the same work.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use lightsail_jit::envelope::Payload;
use lightsail_jit::firewall::{Diff, PortRange, PortRule, Protocol, RuleSet, Sources};
use lightsail_jit::ledger::{Grant, Ledger, MANAGED_TAG, Tag, encode_baseline, encode_grant};
use lightsail_jit::lightsail::Instance;
use lightsail_jit::policy::Policy;
use lightsail_jit::service::{Ending, plan};
use lightsail_jit::strict_json;

const INSTANCES: usize = 10_000;
/// A fixed "now" (2026-11-23T10:00:00Z) so grants are active or expired the same way every run.
const NOW: i64 = 1_795_428_000;

/// A small deterministic generator (xorshift64*), so the inputs need no extra crate.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn ipv4(&mut self) -> String {
        let (a, b, c) = (self.below(223) + 1, self.below(256), self.below(256));
        match self.below(4) {
            // A bare address: canonicalised to /32.
            0 => format!("{a}.{b}.{c}.{}", self.below(256)),
            // Host bits set: cleared by canonicalisation.
            1 => format!("{a}.{b}.{c}.{}/24", self.below(256)),
            2 => format!("{a}.{b}.0.0/16"),
            _ => format!("{a}.{b}.{c}.{}/32", self.below(256)),
        }
    }

    fn ipv6(&mut self) -> String {
        let (a, b) = (self.below(0xffff), self.below(0xffff));
        match self.below(3) {
            // Uncompressed, upper case: printed compressed and lower case.
            0 => format!("2001:0DB8:{a:04X}:{b:04X}:0000:0000:0000:0001"),
            1 => format!("2001:db8:{a:x}:{b:x}::/64"),
            _ => format!("2001:db8:{a:x}::/48"),
        }
    }
}

fn port_range(g: &mut Gen) -> PortRange {
    match g.below(6) {
        0 => PortRange::new(Protocol::Tcp, 22, 22),
        1 => PortRange::new(Protocol::Tcp, 80, 80),
        2 => PortRange::new(Protocol::Tcp, 443, 443),
        3 => PortRange::new(Protocol::Udp, 60000, 61000),
        4 => PortRange::new(Protocol::Icmp, 8, -1),
        _ => PortRange::new(Protocol::Tcp, 3000 + g.below(100) as i32, 3100),
    }
}

/// A live firewall as Lightsail returns it: 3–6 rules, some ranges split in two rules,
/// sources in arbitrary spelling.
fn live_rules(g: &mut Gen) -> Vec<PortRule> {
    let n = 3 + g.below(4) as usize;
    (0..n)
        .map(|_| {
            let range = port_range(g);
            let cidrs = (0..1 + g.below(3)).map(|_| g.ipv4()).collect();
            let ipv6_cidrs = (0..g.below(3)).map(|_| g.ipv6()).collect();
            let cidr_list_aliases = if range.from_port == 22 && g.below(2) == 0 {
                vec!["lightsail-connect".to_string()]
            } else {
                Vec::new()
            };
            PortRule {
                protocol: range.protocol,
                from_port: range.from_port,
                to_port: range.to_port,
                cidrs,
                ipv6_cidrs,
                cidr_list_aliases,
            }
        })
        .collect()
}

/// The desired rules: most instances match their live firewall, one in ten has drifted
/// (an extra source) and one in ten lost a rule.
fn desired_rules(g: &mut Gen, live: &[PortRule]) -> Vec<PortRule> {
    let mut desired = live.to_vec();
    match g.below(10) {
        0 => desired[0].cidrs.push(g.ipv4()),
        1 => {
            desired.pop();
        }
        _ => desired.reverse(),
    }
    desired
}

fn grant(g: &mut Gen, i: usize, j: usize) -> Grant {
    let granted_at = NOW - 3600 - g.below(7200) as i64;
    let mut sources = Sources::default();
    for _ in 0..1 + g.below(2) {
        sources
            .cidrs
            .insert(lightsail_jit::firewall::canonical_source(&g.ipv4()));
    }
    if g.below(3) == 0 {
        sources
            .ipv6_cidrs
            .insert(lightsail_jit::firewall::canonical_source(&g.ipv6()));
    }
    Grant {
        request_id: format!("chg-{i}-{j}"),
        granted_at: Timestamp::from_second(granted_at).expect("valid time"),
        expires_at: Timestamp::from_second(granted_at + 3600 + g.below(7200) as i64)
            .expect("valid time"),
        requester: "alice@example.com".to_string(),
        ports: vec![PortRange::new(Protocol::Tcp, 22, 22)],
        sources,
        break_glass: false,
        ended: None,
    }
}

/// One instance's tags: the opt-in tag, two user tags, and for two in three instances
/// 1–3 grants plus a captured baseline.
fn instance_tags(g: &mut Gen, i: usize, live: &[PortRule]) -> Vec<Tag> {
    let mut tags = vec![
        Tag {
            key: MANAGED_TAG.to_string(),
            value: None,
        },
        Tag::new("env", "prod"),
        Tag::new("team", format!("team-{}", g.below(20))),
    ];
    if g.below(3) != 0 {
        for j in 0..1 + g.below(3) as usize {
            tags.push(encode_grant(&grant(g, i, j)).expect("grant fits a tag"));
        }
        tags.extend(encode_baseline(&RuleSet::from_rules(live)).expect("baseline fits"));
    }
    tags
}

fn instances() -> Vec<Instance> {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    (0..INSTANCES)
        .map(|i| {
            let ports = live_rules(&mut g);
            let tags = instance_tags(&mut g, i, &ports);
            Instance {
                name: format!("web-{i:05}"),
                tags,
                ports,
                ..Instance::default()
            }
        })
        .collect()
}

fn canonicalise_diff(c: &mut Criterion) {
    let mut g = Gen(0x1234_5678_9abc_def1);
    let pairs: Vec<(Vec<PortRule>, Vec<PortRule>)> = (0..INSTANCES)
        .map(|_| {
            let live = live_rules(&mut g);
            let desired = desired_rules(&mut g, &live);
            (live, desired)
        })
        .collect();
    let mut group = c.benchmark_group("canonicalise_diff");
    group.throughput(Throughput::Elements(INSTANCES as u64));
    slow(&mut group);
    group.bench_function("10000", |b| {
        b.iter(|| {
            let mut changed = 0usize;
            for (live, desired) in &pairs {
                let actual = RuleSet::from_rules(live);
                let wanted = RuleSet::from_rules(desired);
                if actual != wanted {
                    let diff = Diff::between(&actual, &wanted);
                    changed += usize::from(!diff.is_empty());
                }
            }
            black_box(changed)
        })
    });
    group.finish();
}

fn ledger_decode(c: &mut Criterion) {
    let tags: Vec<Vec<Tag>> = instances().into_iter().map(|i| i.tags).collect();
    let mut group = c.benchmark_group("ledger_decode");
    group.throughput(Throughput::Elements(INSTANCES as u64));
    slow(&mut group);
    group.bench_function("10000", |b| {
        b.iter(|| {
            let mut grants = 0usize;
            for t in &tags {
                grants += Ledger::read(black_box(t)).grants.len();
            }
            black_box(grants)
        })
    });
    group.finish();
}

fn sweep_plan(c: &mut Criterion) {
    let instances = instances();
    let policy = Policy::default();
    let now = Timestamp::from_second(NOW).expect("valid time");
    let mut group = c.benchmark_group("sweep_plan");
    group.throughput(Throughput::Elements(INSTANCES as u64));
    slow(&mut group);
    group.bench_function("10000", |b| {
        b.iter(|| {
            let mut writes = 0usize;
            for instance in &instances {
                writes += usize::from(plan(&policy, instance, Ending::Expired, now).writes());
            }
            black_box(writes)
        })
    });
    group.finish();
}

fn sqs_batch_text() -> String {
    let records: Vec<serde_json::Value> = (0..10)
        .map(|i| {
            let body = serde_json::json!({
                "action": "grant",
                "instanceName": format!("web-{i}"),
                "ports": ["22/tcp"],
                "cidrs": [format!("203.0.113.{}", 10 + i)],
                "duration": "1h",
                "requester": "alice",
                "reason": "hotfix INC-1234",
            });
            serde_json::json!({
                "messageId": format!("2e1424d4-f796-459a-8184-9c92662be6{i:02}"),
                "receiptHandle": "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq...",
                "body": body.to_string(),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1790157600000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1790157600001"
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:lightsail-jit-commands",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

fn sqs_batch(c: &mut Criterion) {
    let text = sqs_batch_text();
    // The benchmark must measure the success path: every record a valid grant.
    match Payload::from_value(&strict_json::parse(&text).expect("valid JSON"), "bench") {
        Ok(Payload::Batch(records)) => {
            assert_eq!(records.len(), 10);
            assert!(records.iter().all(|r| r.delivery.command.is_ok()));
        }
        other => panic!("expected a batch of 10 commands, got {other:?}"),
    }
    let mut group = c.benchmark_group("sqs_batch");
    group.throughput(Throughput::Elements(10));
    group.bench_function("10", |b| {
        b.iter_batched(
            || text.clone(),
            |text| {
                let value = strict_json::parse(black_box(&text)).expect("valid JSON");
                black_box(Payload::from_value(&value, "bench").expect("classified"))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A 10,000-instance iteration takes tens to hundreds of milliseconds: sample each
/// iteration on its own (flat) and take 10 samples, so a run stays within seconds.
fn slow(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
}

fn config() -> Criterion {
    // Small samples: these run on a 2-core machine next to other work, and `--test`
    // (CI) runs each once anyway.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = core;
    config = config();
    targets = canonicalise_diff, ledger_decode, sweep_plan, sqs_batch
}
criterion_main!(core);
