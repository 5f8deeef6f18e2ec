//! The ledger's encoder against the simulator's own tag rules.
//!
//! The ledger (`lightsail_jit::ledger`) and the simulator
//! (`lightsail_jit::lightsail::sim::tag_rules`) each state Lightsail's tag rules, written
//! apart on purpose. These tests feed what the encoder writes — and what the handler
//! lets through to the encoder — into the simulator, so a rule the encoder gets wrong
//! (a character too many, a limit too high or too low) is refused here, not first by
//! real Lightsail after a port was opened. Nothing here asks the ledger whether a tag
//! is valid.

mod common;

use std::collections::BTreeSet;

use jiff::Timestamp;
use lightsail_jit::firewall::{PortRange, Protocol, RuleSet, Sources};
use lightsail_jit::ledger::{EncodeError, Grant, MANAGED_TAG, Tag, encode_baseline, encode_grant};
use lightsail_jit::lightsail::Instance;
use lightsail_jit::lightsail::sim::model::Model;
use lightsail_jit::lightsail::sim::tag_rules::{self, MAX_TAGS_PER_RESOURCE, MAX_VALUE_LENGTH};
use serde_json::json;

/// A fresh simulator with one managed instance, `web-1`.
fn model() -> Model {
    Model::new([Instance {
        name: "web-1".into(),
        tags: vec![Tag {
            key: MANAGED_TAG.into(),
            value: None,
        }],
        ..Instance::default()
    }])
}

fn sources(cidrs: &[String], ipv6_cidrs: &[String], aliases: &[String]) -> Sources {
    let set = |xs: &[String]| xs.iter().cloned().collect::<BTreeSet<_>>();
    Sources {
        cidrs: set(cidrs),
        ipv6_cidrs: set(ipv6_cidrs),
        cidr_list_aliases: set(aliases),
    }
}

/// Long IPv6 sources, already canonical (no zero group to compress), 42 characters each.
fn ipv6_hosts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("2001:db8:aaaa:bbbb:cccc:dddd:eeee:{:x}/128", 0xf000 + i))
        .collect()
}

fn grant(request_id: &str, requester: &str, sources: Sources) -> Grant {
    let at = 1_790_000_000;
    Grant {
        request_id: request_id.into(),
        granted_at: Timestamp::from_second(at).unwrap(),
        expires_at: Timestamp::from_second(at + 3600).unwrap(),
        requester: requester.into(),
        ports: vec![
            PortRange::new(Protocol::Tcp, 22, 22),
            PortRange::new(Protocol::Udp, 60000, 61000),
        ],
        sources,
        break_glass: false,
        ended: None,
    }
}

/// Every value length from well under to well over the limit, one character at a time:
/// the encoder must write exactly the values the simulator accepts — not one character
/// more (a raised limit), and not refuse any it would accept (a lowered one).
#[test]
fn grant_values_fill_the_limit_and_never_pass_it() {
    let ipv6 = ipv6_hosts(4);
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for n in 1..=120 {
        let g = grant(
            "req-1",
            &"a".repeat(n),
            sources(&["203.0.113.7/32".into()], &ipv6, &[]),
        );
        match encode_grant(&g) {
            Ok(tag) => {
                let length = tag.value.as_deref().unwrap_or("").chars().count();
                if let Err(e) = model().tag("web-1", std::slice::from_ref(&tag)) {
                    panic!("the simulator refuses an encoded grant ({length} characters): {e:?}");
                }
                accepted.push(length);
            }
            Err(EncodeError::GrantTooLarge { chars }) => {
                let as_long = Tag::new("k", "v".repeat(chars));
                assert!(
                    tag_rules::check_tag(&as_long).is_err(),
                    "the encoder refused a {chars}-character value the simulator accepts"
                );
                refused.push(chars);
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted.iter().max(), Some(&MAX_VALUE_LENGTH));
    assert_eq!(refused.iter().min(), Some(&(MAX_VALUE_LENGTH + 1)));
}

/// A firewall of `ranges` rules, each with `per_range` IPv4 and IPv6 sources and, on
/// every other rule, the `lightsail-connect` alias.
fn firewall(ranges: i32, per_range: usize) -> RuleSet {
    let mut rules = RuleSet::new();
    for r in 0..ranges {
        let range = PortRange::new(Protocol::Tcp, 1000 + r, 1000 + r * 3);
        let ipv4: Vec<String> = (0..per_range)
            .map(|i| format!("198.51.{r}.{i}/32"))
            .collect();
        let alias = if r % 2 == 0 {
            vec!["lightsail-connect".to_string()]
        } else {
            vec![]
        };
        rules.add(range, &sources(&ipv4, &ipv6_hosts(per_range), &alias));
    }
    rules
}

/// Baselines of every size up to one that needs many chunks: each chunk is a tag the
/// simulator accepts, and a baseline that fits on the instance is accepted whole, in
/// one TagResource next to the opt-in tag. (One that does not fit is the grant path's
/// to refuse; see `the_handler_only_lets_through_baselines_that_fit`.)
#[test]
fn encoded_baselines_are_accepted_whole() {
    let mut written = 0;
    for ranges in [1, 2, 7, 20, 40] {
        for per_range in [1, 5, 12, 60] {
            let tags = match encode_baseline(&firewall(ranges, per_range)) {
                Ok(tags) => tags,
                Err(e) => panic!("{ranges} ranges x {per_range} sources: {e}"),
            };
            for tag in &tags {
                if let Err(e) = tag_rules::check_tag(tag) {
                    panic!("{ranges} ranges x {per_range} sources: {tag:?}: {e}");
                }
            }
            if tags.len() < MAX_TAGS_PER_RESOURCE {
                if let Err(e) = model().tag("web-1", &tags) {
                    panic!(
                        "{ranges} ranges x {per_range} sources: the simulator refuses the baseline's {} tags: {e:?}",
                        tags.len()
                    );
                }
                written += 1;
            }
        }
    }
    assert!(written > 0, "no baseline fitted: the test proves nothing");
}

/// Sources with every printable ASCII character and a few beyond: what the encoder
/// agrees to store, the simulator must accept.
#[test]
fn every_source_the_encoder_stores_is_accepted() {
    let mut stored = 0;
    for c in odd_characters() {
        let alias = format!("x{c}y");
        let g = grant("req-1", "alice", sources(&[], &[], &[alias]));
        match encode_grant(&g) {
            Ok(tag) => {
                if let Err(e) = model().tag("web-1", std::slice::from_ref(&tag)) {
                    panic!(
                        "the encoder stored the source \"x{c}y\", the simulator refuses it: {e:?}"
                    );
                }
                stored += 1;
            }
            Err(EncodeError::UnstorableSource(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(stored > 0, "no source was stored: the test proves nothing");
}

/// The same law end to end: whatever the handler accepts as a requester or a request
/// id, the simulator accepts in the tag it becomes. A rejection up front is fine; a
/// refused TagResource is not.
#[tokio::test]
async fn the_handler_only_lets_through_what_lightsail_stores() {
    let mut wrote = 0;
    for c in odd_characters() {
        for (field, text) in [
            ("requester", format!("ops{c}team")),
            ("requestId", format!("r{c}1")),
        ] {
            let world = common::world();
            let mut payload = common::grant("req-1", "203.0.113.7/32", 600);
            payload[field] = json!(text);
            let _ = common::invoke(&world, payload).await;
            let calls = world.lightsail.calls();
            if let Some(failed) = calls.iter().find(|call| !call.ok) {
                panic!("{field} {text:?} was let through and the simulator refused {failed:?}");
            }
            if world.lightsail.writes() > 0 {
                wrote += 1;
            }
        }
    }
    assert!(wrote > 0, "no grant was written: the test proves nothing");
}

/// Whether the command wrote; panics if the simulator refused any call, because then the
/// handler let through (`what`) something Lightsail would not store.
fn wrote_without_refusal(world: &common::World, what: &str) -> bool {
    if let Some(failed) = world.lightsail.calls().iter().find(|call| !call.ok) {
        panic!("{what} was let through and the simulator refused {failed:?}");
    }
    world.lightsail.writes() > 0
}

/// The same for the grant's size: requesters of every length with many IPv6 sources.
#[tokio::test]
async fn the_handler_only_lets_through_grants_that_fit() {
    let (mut wrote, mut held_back) = (0, 0);
    for n in 1..=64 {
        let world = common::world();
        let payload = json!({"action": "grant", "instanceName": "web-1", "requestId": "req-1",
            "ipv6Cidrs": ipv6_hosts(4), "cidrs": ["203.0.113.7/32"], "duration": 600,
            "requester": "a".repeat(n), "reason": "test"});
        let _ = common::invoke(&world, payload).await;
        if wrote_without_refusal(&world, &format!("a {n}-character requester")) {
            wrote += 1;
        } else {
            held_back += 1;
        }
    }
    assert!(
        wrote > 0 && held_back > 0,
        "wrote {wrote}, held back {held_back}: the sizes never crossed the limit"
    );
}

/// And for the baseline a first grant captures: firewalls from small to too large to
/// store next to the instance's other tags.
#[tokio::test]
async fn the_handler_only_lets_through_baselines_that_fit() {
    let (mut wrote, mut held_back) = (0, 0);
    for ranges in 1..=5 {
        for per_range in [1, 20, 60] {
            let world = common::world();
            world.lightsail.insert(common::managed(
                "web-1",
                firewall(ranges, per_range).to_rules(),
            ));
            let _ = common::invoke(&world, common::grant("req-1", "203.0.113.7/32", 600)).await;
            let what = format!("{ranges} ranges x {per_range} sources");
            if wrote_without_refusal(&world, &what) {
                wrote += 1;
            } else {
                held_back += 1;
            }
        }
    }
    assert!(
        wrote > 0 && held_back > 0,
        "wrote {wrote}, held back {held_back}: the baselines never crossed the limit"
    );
}

fn odd_characters() -> impl Iterator<Item = char> {
    (' '..='~').chain(['é', 'ß', '日', '٣', '\u{a0}', '\t', '👍', '，'])
}
