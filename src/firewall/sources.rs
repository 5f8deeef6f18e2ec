//! Who may connect through a rule: IPv4 and IPv6 networks and the `lightsail-connect`
//! alias, each normalised so the same firewall always reads the same.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

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

    pub(super) fn extend(&mut self, other: &Sources) {
        self.cidrs.extend(other.cidrs.iter().cloned());
        self.ipv6_cidrs.extend(other.ipv6_cidrs.iter().cloned());
        self.cidr_list_aliases
            .extend(other.cidr_list_aliases.iter().cloned());
    }

    pub(super) fn minus(&self, other: &Sources) -> Sources {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
