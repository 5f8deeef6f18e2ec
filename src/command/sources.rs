//! Source addresses: IPv4 and IPv6 networks (a bare address means /32 or /128) and the
//! `lightsail-connect` alias. Parsed into typed networks ([`IpNet`], one implementation
//! for both families) so policy can reason about prefix width and containment;
//! normalised (host bits cleared) before use.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::fields::{printable, type_name};
use crate::firewall::{Family, LIGHTSAIL_CONNECT};
use crate::rejection::{Code, Rejection};

/// The sources a grant asks for, parsed and normalised. `ipv4` holds only IPv4
/// networks (from `cidrs`), `ipv6` only IPv6 ones (from `ipv6Cidrs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestedSources {
    pub ipv4: Vec<IpNet>,
    pub ipv6: Vec<IpNet>,
    pub aliases: Vec<String>,
}

impl RequestedSources {
    pub fn is_empty(&self) -> bool {
        self.ipv4.is_empty() && self.ipv6.is_empty() && self.aliases.is_empty()
    }
}

fn strings<'a>(items: &'a [Value], field: &str) -> Result<Vec<(String, &'a str)>, Rejection> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) => Ok((format!("{field}[{i}]"), s.as_str())),
            other => Err(Rejection::invalid(
                &format!("{field}[{i}]"),
                &format!("a string, got {}", type_name(other)),
            )),
        })
        .collect()
}

/// `cidrs` (IPv4) or `ipv6Cidrs` (IPv6): networks of that family, each once.
pub fn parse_net_list(items: &[Value], family: Family) -> Result<Vec<IpNet>, Rejection> {
    let mut out = Vec::new();
    for (field, text) in strings(items, family.field())? {
        let net = parse_net(text.trim())
            .filter(|net| Family::of(net) == family)
            .ok_or_else(|| not_a_network(&field, text, family))?;
        reject_special(net, &field)?;
        if !out.contains(&net) {
            out.push(net);
        }
    }
    Ok(out)
}

fn not_a_network(field: &str, text: &str, family: Family) -> Rejection {
    let (name, examples, other_family) = match family {
        Family::V4 => ("IPv4", "203.0.113.7 or 203.0.113.0/24", text.contains(':')),
        Family::V6 => (
            "IPv6",
            "2001:db8::1 or 2001:db8::/64",
            text.parse::<IpAddr>().is_ok_and(|a| a.is_ipv4())
                || text
                    .parse::<IpNet>()
                    .is_ok_and(|n| Family::of(&n) == Family::V4),
        ),
    };
    let hint = match (other_family, family) {
        (false, _) => "",
        (true, Family::V4) => " (IPv6 sources go in `ipv6Cidrs`)",
        (true, Family::V6) => " (IPv4 sources go in `cidrs`)",
    };
    Rejection::new(
        Code::InvalidCidr,
        format!(
            "`{field}`: {} is not an {name} address or CIDR such as {examples}{hint}",
            printable(text, 60)
        ),
    )
}

pub fn parse_alias_list(items: &[Value]) -> Result<Vec<String>, Rejection> {
    let mut out: Vec<String> = Vec::new();
    for (field, text) in strings(items, "cidrListAliases")? {
        if text != LIGHTSAIL_CONNECT {
            return Err(Rejection::new(
                Code::InvalidAlias,
                format!(
                    "`{field}`: {} is not a Lightsail alias; the only one is \"{LIGHTSAIL_CONNECT}\"",
                    printable(text, 60)
                ),
            ));
        }
        if !out.iter().any(|a| a == text) {
            out.push(text.to_string());
        }
    }
    Ok(out)
}

/// A network (host bits cleared) or a bare address (a host network).
fn parse_net(text: &str) -> Option<IpNet> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Some(net.trunc());
    }
    text.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Ranges that can never be the source of inbound internet traffic, with why. A
/// source is refused when it lies wholly inside one (so `0.0.0.0/1` is merely too
/// wide). A range only contains networks of its own family.
const SPECIAL: &[(&str, &str)] = &[
    ("0.0.0.0/8", "is in \"this network\" (0.0.0.0/8)"),
    ("127.0.0.0/8", "is loopback"),
    ("169.254.0.0/16", "is link-local"),
    ("224.0.0.0/4", "is multicast"),
    (
        "240.0.0.0/4",
        "is reserved (240.0.0.0/4, including broadcast)",
    ),
    ("::1/128", "is loopback"),
    (
        "::ffff:0:0/96",
        "is an IPv4-mapped address (put the IPv4 address in `cidrs`)",
    ),
    (
        "::/96",
        "is unspecified or an IPv4-compatible address (deprecated; put IPv4 in `cidrs`)",
    ),
    ("fe80::/10", "is link-local"),
    ("ff00::/8", "is multicast"),
];

fn reject_special(net: IpNet, field: &str) -> Result<(), Rejection> {
    let special = SPECIAL.iter().find(|(range, _)| {
        range
            .parse::<IpNet>()
            .is_ok_and(|range| range.contains(&net))
    });
    match special {
        Some((_, why)) => Err(Rejection::new(
            Code::InvalidCidr,
            format!("`{field}`: {net} {why} and cannot be a source of internet traffic"),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_addresses_become_host_networks() {
        let v4 = parse_net_list(
            &[json!("203.0.113.7"), json!("198.51.100.9/24")],
            Family::V4,
        )
        .unwrap();
        assert_eq!(
            v4,
            vec![
                "203.0.113.7/32".parse().unwrap(),
                "198.51.100.0/24".parse().unwrap()
            ]
        );
        let v6 = parse_net_list(&[json!("2001:DB8::7")], Family::V6).unwrap();
        assert_eq!(v6, vec!["2001:db8::7/128".parse::<IpNet>().unwrap()]);
    }

    #[test]
    fn bad_sources_are_rejected_with_hints() {
        let e = parse_net_list(&[json!("2001:db8::1")], Family::V4).unwrap_err();
        assert_eq!(e.code, Code::InvalidCidr);
        assert!(e.message.contains("ipv6Cidrs"), "{}", e.message);
        let e = parse_net_list(&[json!("::ffff:203.0.113.7")], Family::V6).unwrap_err();
        assert_eq!(e.code, Code::InvalidCidr);
        assert!(e.message.contains("IPv4-mapped"), "{}", e.message);
        assert_eq!(
            parse_net_list(&[json!("224.0.0.1")], Family::V4)
                .unwrap_err()
                .code,
            Code::InvalidCidr
        );
        assert_eq!(
            parse_net_list(&[json!("10.0.0.0/33")], Family::V4)
                .unwrap_err()
                .code,
            Code::InvalidCidr
        );
        assert_eq!(
            parse_net_list(&[json!(7)], Family::V4).unwrap_err().code,
            Code::InvalidField
        );
        assert_eq!(
            parse_alias_list(&[json!("everyone")]).unwrap_err().code,
            Code::InvalidAlias
        );
    }
}
