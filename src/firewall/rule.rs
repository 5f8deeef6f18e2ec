//! Lightsail's `PortInfo`: the wire shape of a rule, as requests and responses carry it.

use serde::{Deserialize, Serialize};

use super::{PortRange, Protocol, Sources};

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
