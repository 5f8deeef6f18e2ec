//! A rule's identity: Lightsail's protocol and a port range (or ICMP type/code).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
        let (last, rest) = names.split_last().unwrap_or((&"", &[]));
        Err(format!(
            "unknown protocol {shown:?}{more} (expected {} or {last})",
            rest.join(", ")
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn protocols_parse_case_insensitively_and_list_every_name_when_unknown() {
        assert_eq!("TCP".parse::<Protocol>(), Ok(Protocol::Tcp));
        assert_eq!("icmpv6".parse::<Protocol>(), Ok(Protocol::Icmpv6));
        assert_eq!(Protocol::All.to_string(), "all");
        let err = "sctp".parse::<Protocol>().unwrap_err();
        assert_eq!(
            err,
            "unknown protocol \"sctp\" (expected tcp, udp, icmp, icmpv6 or all)"
        );
    }
}
