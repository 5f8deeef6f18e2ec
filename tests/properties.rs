//! Generative tests (proptest): the laws the core must keep for *every* input, not just
//! the examples we thought of.

use std::collections::BTreeSet;

use ipnet::{Ipv4Net, Ipv6Net};
use jiff::Timestamp;
use lightsail_jit::command::Command;
use lightsail_jit::envelope::Payload;
use lightsail_jit::firewall::{PortRange, PortRule, Protocol, RuleSet, Sources};
use lightsail_jit::ledger::{
    Grant, Ledger, MAX_KEY_CHARS, MAX_TAGS, MAX_VALUE_CHARS, Tag, decode_grant, encode_baseline,
    encode_grant, tag_problem,
};
use lightsail_jit::lightsail::Instance;
use lightsail_jit::lightsail::sim::Sim;
use lightsail_jit::policy::Policy;
use lightsail_jit::service::{Ending, plan};
use proptest::prelude::*;
use serde_json::Value;

fn range() -> impl Strategy<Value = PortRange> {
    prop_oneof![
        (0..=65535i32, 0..=200i32).prop_map(|(from, span)| PortRange::new(
            Protocol::Tcp,
            from,
            (from + span).min(65535)
        )),
        (0..=65535i32).prop_map(|p| PortRange::new(Protocol::Udp, p, p)),
        (-1..=255i32, -1..=255i32).prop_map(|(t, c)| PortRange::new(Protocol::Icmp, t, c)),
        (-1..=255i32, -1..=255i32).prop_map(|(t, c)| PortRange::new(Protocol::Icmpv6, t, c)),
        Just(PortRange::new(Protocol::All, 0, 65535)),
    ]
}

fn ipv4() -> impl Strategy<Value = String> {
    (any::<u32>(), 0..=32u8)
        .prop_map(|(a, p)| Ipv4Net::new(a.into(), p).unwrap().trunc().to_string())
}

fn ipv6() -> impl Strategy<Value = String> {
    (any::<u128>(), 0..=128u8)
        .prop_map(|(a, p)| Ipv6Net::new(a.into(), p).unwrap().trunc().to_string())
}

fn sources() -> impl Strategy<Value = Sources> {
    (
        prop::collection::btree_set(ipv4(), 0..4),
        prop::collection::btree_set(ipv6(), 0..4),
        any::<bool>(),
    )
        .prop_filter("a source", |(v4, v6, alias)| {
            !v4.is_empty() || !v6.is_empty() || *alias
        })
        .prop_map(|(cidrs, ipv6_cidrs, alias)| Sources {
            cidrs,
            ipv6_cidrs,
            cidr_list_aliases: if alias {
                BTreeSet::from(["lightsail-connect".to_string()])
            } else {
                BTreeSet::new()
            },
        })
}

fn grant() -> impl Strategy<Value = Grant> {
    (
        "[A-Za-z0-9._:/@+=-]{1,100}",
        "[A-Za-z0-9 ._:/@+=-]{1,64}",
        prop::collection::vec(range(), 1..4),
        sources(),
        1_700_000_000i64..1_900_000_000,
        1i64..86_400,
        any::<bool>(),
    )
        .prop_map(
            |(request_id, requester, ports, sources, at, secs, break_glass)| Grant {
                request_id,
                granted_at: Timestamp::from_second(at).unwrap(),
                expires_at: Timestamp::from_second(at + secs).unwrap(),
                requester,
                ports,
                sources,
                break_glass,
                ended: None,
            },
        )
}

fn rule_set() -> impl Strategy<Value = RuleSet> {
    prop::collection::vec((range(), sources()), 0..6).prop_map(|entries| {
        let mut set = RuleSet::new();
        for (range, sources) in entries {
            set.add(range, &sources);
        }
        set
    })
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("grant"),
            Just("revoke"),
            Just("extend"),
            Just("sweep"),
            Just("lockdown"),
            Just("status"),
            Just("22"),
            Just("all"),
            Just("icmp"),
            Just("web-1"),
            Just("203.0.113.7"),
            Just("::/0"),
            Just("1h"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        let key = prop_oneof![
            Just("action"),
            Just("instanceName"),
            Just("ports"),
            Just("cidrs"),
            Just("ipv6Cidrs"),
            Just("cidrListAliases"),
            Just("duration"),
            Just("requester"),
            Just("reason"),
            Just("requestId"),
            Just("dryRun"),
            Just("instanceNames"),
            Just("protocol"),
            Just("fromPort"),
            Just("toPort"),
            Just("Records"),
            Just("body"),
            Just("messageId"),
            Just("detail"),
            Just("detail-type"),
            Just("source"),
        ]
        .prop_map(str::to_string);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn the_tag_codec_round_trips_every_grant_within_lightsail_limits(g in grant()) {
        match encode_grant(&g) {
            Ok(tag) => {
                prop_assert_eq!(tag_problem(&tag), None);
                prop_assert!(tag.key.chars().count() <= MAX_KEY_CHARS);
                let value = tag.value.clone().unwrap();
                prop_assert!(value.chars().count() <= MAX_VALUE_CHARS);
                prop_assert_eq!(decode_grant(&tag.key, &value), Some(g));
            }
            Err(e) => {
                // Only a grant whose value would exceed Lightsail's limit is refused: the
                // value is `<version> <granted> <expires> <ports> <sources> <requester>`
                // (version `v1`, or `v1-breakglass`: 13 characters; two 10-digit times;
                // five spaces), each port `protocol.from.to` and each source followed by a
                // `+` (one too many of each is counted).
                let sources: usize = g.sources.iter().map(|s| s.len() + 1).sum();
                let ports: usize = g
                    .ports
                    .iter()
                    .map(|p| {
                        p.protocol.as_str().len() + format!(".{}.{}+", p.from_port, p.to_port).len()
                    })
                    .sum();
                let version = if g.break_glass { 13 } else { 2 };
                let fixed = version + 2 * 10 + 5 - 2;
                prop_assert!(
                    fixed + sources + g.requester.len() + ports > MAX_VALUE_CHARS,
                    "refused: {e}; {sources} + {} + {ports}",
                    g.requester.len()
                );
            }
        }
    }

    #[test]
    fn captured_baselines_round_trip_in_valid_tags(rules in rule_set()) {
        let tags = encode_baseline(&rules).unwrap();
        prop_assert!(tags.len() < MAX_TAGS);
        for tag in &tags {
            prop_assert_eq!(tag_problem(tag), None);
        }
        prop_assert_eq!(Ledger::read(&tags).baseline, Some(rules));
    }

    #[test]
    fn decoding_any_tags_never_panics(tags in prop::collection::vec(("jit:(grant:|baseline:?)[ -~]{0,12}", prop::option::of("[ -~]{0,60}")), 0..8)) {
        let tags: Vec<Tag> = tags.into_iter().map(|(key, value)| Tag { key, value }).collect();
        let ledger = Ledger::read(&tags);
        for g in &ledger.grants {
            let tag = encode_grant(g);
            if let Ok(tag) = tag {
                let decoded = decode_grant(&tag.key, tag.value.as_deref().unwrap());
                prop_assert_eq!(decoded.as_ref(), Some(g));
            }
        }
    }

    #[test]
    fn canonicalisation_is_idempotent_and_order_insensitive(rules in prop::collection::vec((range(), sources()), 0..6), seed in any::<u64>()) {
        let as_rules: Vec<PortRule> = rules.iter().map(|(r, s)| PortRule::new(*r, s)).collect();
        let set = RuleSet::from_rules(&as_rules);
        prop_assert_eq!(RuleSet::from_rules(&set.to_rules()), set.clone());
        let mut shuffled = as_rules.clone();
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (state >> 33) as usize % (i + 1));
        }
        for rule in &mut shuffled {
            rule.cidrs.reverse();
            rule.ipv6_cidrs.reverse();
        }
        prop_assert_eq!(RuleSet::from_rules(&shuffled), set);
    }

    #[test]
    fn desired_state_never_keeps_an_expired_grants_source(
        baseline in rule_set(),
        grants in prop::collection::vec(grant(), 0..4),
        live in rule_set(),
        now in 1_700_000_000i64..1_900_100_000,
    ) {
        let now = Timestamp::from_second(now).unwrap();
        let (instance, grants) = instance_with(&baseline, grants, &live);
        let p = plan(&Policy::default(), &instance, Ending::Expired, now);
        let desired = p.put.as_ref().map(RuleSet::from_rules).unwrap_or_else(|| RuleSet::from_rules(&instance.ports));
        let mut allowed = baseline.clone();
        for g in grants.iter().filter(|g| g.is_active(now)) {
            allowed.union(&g.rules());
        }
        prop_assert!(allowed.contains(&desired), "desired {:?} exceeds baseline + active grants", desired.minus(&allowed));
        prop_assert_eq!(desired, allowed);
    }

    #[test]
    fn one_reconcile_reaches_desired_from_any_firewall(
        baseline in rule_set(),
        grants in prop::collection::vec(grant(), 0..4),
        live in rule_set(),
        now in 1_700_000_000i64..1_900_100_000,
    ) {
        let now = Timestamp::from_second(now).unwrap();
        let (instance, _) = instance_with(&baseline, grants, &live);
        let policy = Policy::default();
        let first = plan(&policy, &instance, Ending::Expired, now);
        let desired = first.put.as_ref().map(RuleSet::from_rules).unwrap_or_else(|| RuleSet::from_rules(&instance.ports));
        let sim = Sim::new([instance]);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(lightsail_jit::service::apply(&sim, &policy, &first, now)).unwrap();
        prop_assert_eq!(sim.firewall("web-1"), desired);
        let again = plan(&policy, &sim.instance("web-1").unwrap(), Ending::Expired, now);
        prop_assert!(!again.writes(), "a second reconcile has nothing to do: {:?}", again);
    }

    #[test]
    fn the_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let _ = Payload::from_value(&value, "fuzz");
        }
        let body = String::from_utf8_lossy(&bytes).to_string();
        let _ = Payload::from_value(&serde_json::json!({"Records": [{"messageId": "m", "body": body}]}), "fuzz");
    }

    #[test]
    fn the_parser_never_panics_on_json_shaped_like_commands(value in json()) {
        let _ = Command::from_json(&value);
        let _ = Payload::from_value(&value, "fuzz");
        let _ = Payload::from_value(&serde_json::json!({"Records": [{"messageId": "m", "body": value.to_string()}]}), "fuzz");
    }
}

/// web-1 with `baseline` captured in tags, `grants` in tags (unique ids), `live` as its firewall.
fn instance_with(baseline: &RuleSet, grants: Vec<Grant>, live: &RuleSet) -> (Instance, Vec<Grant>) {
    let mut tags = vec![Tag {
        key: "jit:managed".into(),
        value: None,
    }];
    tags.extend(encode_baseline(baseline).unwrap());
    let mut kept = Vec::new();
    for (i, mut g) in grants.into_iter().enumerate() {
        g.request_id = format!("g{i}");
        if let Ok(tag) = encode_grant(&g) {
            tags.push(tag);
            kept.push(g);
        }
    }
    (
        Instance {
            name: "web-1".into(),
            tags,
            ports: live.to_rules(),
            ..Instance::default()
        },
        kept,
    )
}
