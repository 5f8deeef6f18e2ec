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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// The only alias Lightsail supports: lets the console's browser SSH/RDP client in.
pub const LIGHTSAIL_CONNECT: &str = "lightsail-connect";

/// Lightsail's `NetworkProtocol`. The wire values are the variants' names in lower case,
/// derived alike by serde (JSON) and strum (text, tags, messages).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::Display,
    strum::VariantArray,
)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    All,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// ICMP rules carry type/code in from/to, where -1 means "any".
    pub fn is_icmp(self) -> bool {
        matches!(self, Protocol::Icmp | Protocol::Icmpv6)
    }
}

impl FromStr for Protocol {
    type Err = String;

    /// Case-insensitive, as the service accepts `TCP`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = <Protocol as strum::VariantArray>::VARIANTS;
        if let Some(found) = all.iter().find(|p| p.as_str().eq_ignore_ascii_case(s)) {
            return Ok(*found);
        }
        let shown: String = s.chars().take(20).collect();
        let more = if s.chars().count() > 20 { "…" } else { "" };
        let names: Vec<&str> = all.iter().map(|p| p.as_str()).collect();
        Err(format!(
            "unknown protocol {shown:?}{more} (expected one of {})",
            names.join(", ")
        ))
    }
}

/// A protocol and port range (or ICMP type/code): the identity of a Lightsail rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortRange {
    pub protocol: Protocol,
    pub from_port: i32,
    pub to_port: i32,
}

impl PortRange {
    pub fn new(protocol: Protocol, from_port: i32, to_port: i32) -> Self {
        PortRange {
            protocol,
            from_port,
            to_port,
        }
    }

    /// Whether every packet this range admits is admitted by `outer` too.
    pub fn within(&self, outer: &PortRange) -> bool {
        if outer.protocol == Protocol::All {
            return true;
        }
        if self.protocol != outer.protocol {
            return false;
        }
        let covers = |o: i32, s: i32| o == -1 || o == s;
        if self.protocol.is_icmp() {
            covers(outer.from_port, self.from_port) && covers(outer.to_port, self.to_port)
        } else {
            outer.from_port <= self.from_port && self.to_port <= outer.to_port
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.protocol.is_icmp() {
            let part = |v: i32| {
                if v == -1 {
                    "any".to_string()
                } else {
                    v.to_string()
                }
            };
            write!(
                f,
                "{} type {} code {}",
                self.protocol,
                part(self.from_port),
                part(self.to_port)
            )
        } else if self.protocol == Protocol::All {
            f.write_str("all")
        } else if self.from_port == self.to_port {
            write!(f, "{}/{}", self.from_port, self.protocol)
        } else {
            write!(f, "{}-{}/{}", self.from_port, self.to_port, self.protocol)
        }
    }
}

/// The sources of one rule, each list sorted and normalised.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sources {
    pub cidrs: BTreeSet<String>,
    pub ipv6_cidrs: BTreeSet<String>,
    pub cidr_list_aliases: BTreeSet<String>,
}

impl Sources {
    pub fn is_empty(&self) -> bool {
        self.cidrs.is_empty() && self.ipv6_cidrs.is_empty() && self.cidr_list_aliases.is_empty()
    }

    pub fn len(&self) -> usize {
        self.cidrs.len() + self.ipv6_cidrs.len() + self.cidr_list_aliases.len()
    }

    /// The set holding `family`'s networks.
    pub fn of_mut(&mut self, family: Family) -> &mut BTreeSet<String> {
        match family {
            Family::V4 => &mut self.cidrs,
            Family::V6 => &mut self.ipv6_cidrs,
        }
    }

    fn extend(&mut self, other: &Sources) {
        self.cidrs.extend(other.cidrs.iter().cloned());
        self.ipv6_cidrs.extend(other.ipv6_cidrs.iter().cloned());
        self.cidr_list_aliases
            .extend(other.cidr_list_aliases.iter().cloned());
    }

    fn minus(&self, other: &Sources) -> Sources {
        Sources {
            cidrs: self.cidrs.difference(&other.cidrs).cloned().collect(),
            ipv6_cidrs: self
                .ipv6_cidrs
                .difference(&other.ipv6_cidrs)
                .cloned()
                .collect(),
            cidr_list_aliases: self
                .cidr_list_aliases
                .difference(&other.cidr_list_aliases)
                .cloned()
                .collect(),
        }
    }

    /// Every source as text, IPv4 first, then IPv6, then aliases.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.cidrs
            .iter()
            .chain(&self.ipv6_cidrs)
            .chain(&self.cidr_list_aliases)
            .map(String::as_str)
    }
}

/// One rule as Lightsail's `PortInfo`: the shape of every request and response.
///
/// All three source lists are always serialised, even when empty: an absent list may
/// mean "anywhere" to the real service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortRule {
    pub protocol: Protocol,
    pub from_port: i32,
    pub to_port: i32,
    #[serde(default)]
    pub cidrs: Vec<String>,
    #[serde(default)]
    pub ipv6_cidrs: Vec<String>,
    #[serde(default)]
    pub cidr_list_aliases: Vec<String>,
}

impl PortRule {
    pub fn new(range: PortRange, sources: &Sources) -> Self {
        PortRule {
            protocol: range.protocol,
            from_port: range.from_port,
            to_port: range.to_port,
            cidrs: sources.cidrs.iter().cloned().collect(),
            ipv6_cidrs: sources.ipv6_cidrs.iter().cloned().collect(),
            cidr_list_aliases: sources.cidr_list_aliases.iter().cloned().collect(),
        }
    }

    pub fn range(&self) -> PortRange {
        PortRange::new(self.protocol, self.from_port, self.to_port)
    }

    pub fn has_source(&self) -> bool {
        !(self.cidrs.is_empty() && self.ipv6_cidrs.is_empty() && self.cidr_list_aliases.is_empty())
    }
}

/// An address family: IPv4 sources go in `cidrs`, IPv6 sources in `ipv6Cidrs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(net: &IpNet) -> Family {
        match net {
            IpNet::V4(_) => Family::V4,
            IpNet::V6(_) => Family::V6,
        }
    }

    /// The field (of a command and of `PortInfo`) that holds this family's sources.
    pub fn field(self) -> &'static str {
        match self {
            Family::V4 => "cidrs",
            Family::V6 => "ipv6Cidrs",
        }
    }

    /// The longest prefix: a single address.
    pub fn bits(self) -> u8 {
        match self {
            Family::V4 => 32,
            Family::V6 => 128,
        }
    }
}

/// Normalise a source: a bare address becomes /32 or /128, host bits are cleared, and
/// IPv6 is printed in its compressed lowercase form. Text that is not an address or
/// network (the console can store `a-b` ranges) is kept as it is.
pub fn canonical_source(source: &str) -> String {
    let s = source.trim();
    if let Ok(net) = IpNet::from_str(s) {
        net.trunc().to_string()
    } else if let Ok(addr) = IpAddr::from_str(s) {
        IpNet::from(addr).to_string()
    } else {
        s.to_string()
    }
}

/// A firewall in canonical form: one entry per port range, never an entry without sources.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet(BTreeMap<PortRange, Sources>);

impl RuleSet {
    pub fn new() -> Self {
        RuleSet::default()
    }

    pub fn from_rules<'a>(rules: impl IntoIterator<Item = &'a PortRule>) -> Self {
        let mut set = RuleSet::new();
        for rule in rules {
            set.add_rule(rule);
        }
        set
    }

    pub fn add_rule(&mut self, rule: &PortRule) {
        let sources = Sources {
            cidrs: rule.cidrs.iter().map(|s| canonical_source(s)).collect(),
            ipv6_cidrs: rule
                .ipv6_cidrs
                .iter()
                .map(|s| canonical_source(s))
                .collect(),
            cidr_list_aliases: rule
                .cidr_list_aliases
                .iter()
                .map(|s| s.trim().to_string())
                .collect(),
        };
        self.add(rule.range(), &sources);
    }

    pub fn add(&mut self, range: PortRange, sources: &Sources) {
        if sources.is_empty() {
            return;
        }
        self.0.entry(range).or_default().extend(sources);
    }

    pub fn union(&mut self, other: &RuleSet) {
        for (range, sources) in &other.0 {
            self.add(*range, sources);
        }
    }

    /// What `self` admits that `other` does not, source by source.
    pub fn minus(&self, other: &RuleSet) -> RuleSet {
        let mut out = RuleSet::new();
        for (range, sources) in &self.0 {
            let rest = match other.0.get(range) {
                Some(theirs) => sources.minus(theirs),
                None => sources.clone(),
            };
            out.add(*range, &rest);
        }
        out
    }

    /// Whether every (range, source) of `other` is present here exactly.
    pub fn contains(&self, other: &RuleSet) -> bool {
        other.minus(self).is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&PortRange, &Sources)> {
        self.0.iter()
    }

    /// The rules in a stable order, each with its three source lists.
    pub fn to_rules(&self) -> Vec<PortRule> {
        self.0
            .iter()
            .map(|(range, sources)| PortRule::new(*range, sources))
            .collect()
    }

    /// Number of (range, source) pairs.
    pub fn source_count(&self) -> usize {
        self.0.values().map(Sources::len).sum()
    }
}

/// What turns `actual` into `desired`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diff {
    pub open: Vec<PortRule>,
    pub close: Vec<PortRule>,
}

impl Diff {
    pub fn between(actual: &RuleSet, desired: &RuleSet) -> Diff {
        Diff {
            open: desired.minus(actual).to_rules(),
            close: actual.minus(desired).to_rules(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty() && self.close.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: Protocol, from: i32, to: i32, v4: &[&str], v6: &[&str]) -> PortRule {
        PortRule {
            protocol: p,
            from_port: from,
            to_port: to,
            cidrs: v4.iter().map(|s| s.to_string()).collect(),
            ipv6_cidrs: v6.iter().map(|s| s.to_string()).collect(),
            cidr_list_aliases: vec![],
        }
    }

    #[test]
    fn canonical_sources_are_normalised() {
        assert_eq!(canonical_source("203.0.113.7"), "203.0.113.7/32");
        assert_eq!(canonical_source(" 10.1.2.3/24 "), "10.1.2.0/24");
        assert_eq!(
            canonical_source("192.0.2.1-192.0.2.9"),
            "192.0.2.1-192.0.2.9"
        );
        assert_eq!(canonical_source("2001:DB8::1"), "2001:db8::1/128");
        assert_eq!(canonical_source("2001:db8:0:0:1::/64"), "2001:db8::/64");
    }

    #[test]
    fn split_and_reordered_rules_compare_equal() {
        let a = RuleSet::from_rules(&[
            rule(
                Protocol::Tcp,
                22,
                22,
                &["198.51.100.1", "203.0.113.0/24"],
                &[],
            ),
            rule(Protocol::Tcp, 80, 80, &["0.0.0.0/0"], &["::/0"]),
        ]);
        let b = RuleSet::from_rules(&[
            rule(Protocol::Tcp, 80, 80, &[], &["::/0"]),
            rule(Protocol::Tcp, 22, 22, &["203.0.113.9/24"], &[]),
            rule(Protocol::Tcp, 80, 80, &["0.0.0.0/0"], &[]),
            rule(Protocol::Tcp, 22, 22, &["198.51.100.1/32"], &[]),
        ]);
        assert_eq!(a, b);
        assert!(Diff::between(&a, &b).is_empty());
    }

    #[test]
    fn diff_names_each_source_to_open_and_close() {
        let actual =
            RuleSet::from_rules(&[rule(Protocol::Tcp, 22, 22, &["1.1.1.1", "2.2.2.2"], &[])]);
        let desired =
            RuleSet::from_rules(&[rule(Protocol::Tcp, 22, 22, &["2.2.2.2", "3.3.3.3"], &[])]);
        let diff = Diff::between(&actual, &desired);
        assert_eq!(
            diff.open,
            vec![rule(Protocol::Tcp, 22, 22, &["3.3.3.3/32"], &[])]
        );
        assert_eq!(
            diff.close,
            vec![rule(Protocol::Tcp, 22, 22, &["1.1.1.1/32"], &[])]
        );
    }

    #[test]
    fn rules_without_sources_are_dropped() {
        let set = RuleSet::from_rules(&[rule(Protocol::Udp, 53, 53, &[], &[])]);
        assert!(set.is_empty());
        assert!(set.to_rules().is_empty());
    }

    #[test]
    fn port_range_containment() {
        let ssh = PortRange::new(Protocol::Tcp, 22, 22);
        assert!(ssh.within(&PortRange::new(Protocol::Tcp, 0, 1024)));
        assert!(ssh.within(&PortRange::new(Protocol::All, 0, 65535)));
        assert!(!ssh.within(&PortRange::new(Protocol::Udp, 0, 65535)));
        assert!(!PortRange::new(Protocol::Tcp, 20, 23).within(&ssh));
        let ping = PortRange::new(Protocol::Icmp, 8, -1);
        assert!(ping.within(&PortRange::new(Protocol::Icmp, -1, -1)));
        assert!(!PortRange::new(Protocol::Icmp, -1, -1).within(&ping));
    }
}
