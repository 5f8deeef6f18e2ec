//! Firewall rules and the canonical rule set.
//!
//! Lightsail describes a firewall as a list of `PortInfo`s, but the same firewall can be
//! written many ways: sources in any order, one rule split in two, a bare address
//! instead of a /32. To decide whether an instance needs a write at all we compare
//! *canonical* sets: one entry per (protocol, fromPort, toPort) holding sorted,
//! normalised sources. An unchanged instance then costs one read and no write.
//!
//! Sources that do not parse as a network (the console can store `a-b` ranges) are kept
//! verbatim, so a baseline we did not write is restored byte for byte.
//!
//! One concept a file: `port` (protocol and port range: a rule's identity),
//! `sources` (who may connect, normalised), `rule` (Lightsail's `PortInfo`, the wire
//! shape) and `rule_set` (the canonical firewall and the diff between two).

mod port;
mod rule;
mod rule_set;
mod sources;

pub use port::{PortRange, Protocol};
pub use rule::PortRule;
pub use rule_set::{Diff, RuleSet};
pub use sources::{Family, Sources, canonical_source};

/// The only alias Lightsail supports: lets the console's browser SSH/RDP client in.
pub const LIGHTSAIL_CONNECT: &str = "lightsail-connect";

#[cfg(test)]
pub(crate) fn test_rule(p: Protocol, from: i32, to: i32, v4: &[&str], v6: &[&str]) -> PortRule {
    PortRule {
        protocol: p,
        from_port: from,
        to_port: to,
        cidrs: v4.iter().map(|s| s.to_string()).collect(),
        ipv6_cidrs: v6.iter().map(|s| s.to_string()).collect(),
        cidr_list_aliases: vec![],
    }
}
