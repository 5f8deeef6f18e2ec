//! Source addresses: IPv4 and IPv6 networks (a bare address means /32 or /128) and the
//! `lightsail-connect` alias. Parsed into typed networks so policy can reason about
//! prefix width and containment; normalised (host bits cleared) before use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};
use serde_json::Value;

use super::fields::{printable, type_name};
use crate::firewall::LIGHTSAIL_CONNECT;
use crate::rejection::{Code, Rejection};

/// The sources a grant asks for, parsed and normalised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestedSources {
    pub ipv4: Vec<Ipv4Net>,
    pub ipv6: Vec<Ipv6Net>,
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

pub fn parse_ipv4_list(items: &[Value]) -> Result<Vec<Ipv4Net>, Rejection> {
    let mut out = Vec::new();
    for (field, text) in strings(items, "cidrs")? {
        let net = parse_ipv4(text.trim()).ok_or_else(|| {
            Rejection::new(
                Code::InvalidCidr,
                format!(
                    "`{field}`: {} is not an IPv4 address or CIDR such as 203.0.113.7 or 203.0.113.0/24{}",
                    printable(text, 60),
                    if text.contains(':') { " (IPv6 sources go in `ipv6Cidrs`)" } else { "" }
                ),
            )
        })?;
        reject_odd_ipv4(net, &field)?;
        push_unique(&mut out, net);
    }
    Ok(out)
}

pub fn parse_ipv6_list(items: &[Value]) -> Result<Vec<Ipv6Net>, Rejection> {
    let mut out = Vec::new();
    for (field, text) in strings(items, "ipv6Cidrs")? {
        let net = parse_ipv6(text.trim()).ok_or_else(|| {
            Rejection::new(
                Code::InvalidCidr,
                format!(
                    "`{field}`: {} is not an IPv6 address or CIDR such as 2001:db8::1 or 2001:db8::/64{}",
                    printable(text, 60),
                    if text.parse::<IpAddr>().is_ok_and(|a| a.is_ipv4())
                        || text.parse::<Ipv4Net>().is_ok()
                    {
                        " (IPv4 sources go in `cidrs`)"
                    } else {
                        ""
                    }
                ),
            )
        })?;
        reject_odd_ipv6(net, &field)?;
        push_unique(&mut out, net);
    }
    Ok(out)
}

pub fn parse_alias_list(items: &[Value]) -> Result<Vec<String>, Rejection> {
    let mut out = Vec::new();
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
        push_unique(&mut out, text.to_string());
    }
    Ok(out)
}

fn push_unique<T: PartialEq>(out: &mut Vec<T>, item: T) {
    if !out.contains(&item) {
        out.push(item);
    }
}

fn parse_ipv4(text: &str) -> Option<Ipv4Net> {
    if let Ok(net) = text.parse::<Ipv4Net>() {
        return Some(net.trunc());
    }
    text.parse::<Ipv4Addr>().ok().map(Ipv4Net::from)
}

fn parse_ipv6(text: &str) -> Option<Ipv6Net> {
    if let Ok(net) = text.parse::<Ipv6Net>() {
        return Some(net.trunc());
    }
    text.parse::<Ipv6Addr>().ok().map(Ipv6Net::from)
}

/// Ranges that can never be the source of inbound internet traffic, with why. A
/// source is refused when it lies wholly inside one (so `0.0.0.0/1` is merely too wide).
const SPECIAL_IPV4: &[(&str, &str)] = &[
    ("0.0.0.0/8", "is in \"this network\" (0.0.0.0/8)"),
    ("127.0.0.0/8", "is loopback"),
    ("169.254.0.0/16", "is link-local"),
    ("224.0.0.0/4", "is multicast"),
    (
        "240.0.0.0/4",
        "is reserved (240.0.0.0/4, including broadcast)",
    ),
];

const SPECIAL_IPV6: &[(&str, &str)] = &[
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

fn special<N: std::str::FromStr + Copy>(
    table: &[(&str, &'static str)],
    within: impl Fn(N) -> bool,
) -> Option<&'static str> {
    table
        .iter()
        .find(|(range, _)| range.parse::<N>().ok().is_some_and(&within))
        .map(|(_, why)| *why)
}

fn reject_odd_ipv4(net: Ipv4Net, field: &str) -> Result<(), Rejection> {
    match special(SPECIAL_IPV4, |range: Ipv4Net| range.contains(&net)) {
        Some(why) => Err(Rejection::new(
            Code::InvalidCidr,
            format!("`{field}`: {net} {why} and cannot be a source of internet traffic"),
        )),
        None => Ok(()),
    }
}

fn reject_odd_ipv6(net: Ipv6Net, field: &str) -> Result<(), Rejection> {
    match special(SPECIAL_IPV6, |range: Ipv6Net| range.contains(&net)) {
        Some(why) => Err(Rejection::new(
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
        let v4 = parse_ipv4_list(&[json!("203.0.113.7"), json!("198.51.100.9/24")]).unwrap();
        assert_eq!(
            v4,
            vec![
                "203.0.113.7/32".parse().unwrap(),
                "198.51.100.0/24".parse().unwrap()
            ]
        );
        let v6 = parse_ipv6_list(&[json!("2001:DB8::7")]).unwrap();
        assert_eq!(v6, vec!["2001:db8::7/128".parse::<Ipv6Net>().unwrap()]);
    }

    #[test]
    fn bad_sources_are_rejected_with_hints() {
        let e = parse_ipv4_list(&[json!("2001:db8::1")]).unwrap_err();
        assert_eq!(e.code, Code::InvalidCidr);
        assert!(e.message.contains("ipv6Cidrs"), "{}", e.message);
        let e = parse_ipv6_list(&[json!("::ffff:203.0.113.7")]).unwrap_err();
        assert_eq!(e.code, Code::InvalidCidr);
        assert!(e.message.contains("IPv4-mapped"), "{}", e.message);
        assert_eq!(
            parse_ipv4_list(&[json!("224.0.0.1")]).unwrap_err().code,
            Code::InvalidCidr
        );
        assert_eq!(
            parse_ipv4_list(&[json!("10.0.0.0/33")]).unwrap_err().code,
            Code::InvalidCidr
        );
        assert_eq!(
            parse_ipv4_list(&[json!(7)]).unwrap_err().code,
            Code::InvalidField
        );
        assert_eq!(
            parse_alias_list(&[json!("everyone")]).unwrap_err().code,
            Code::InvalidAlias
        );
    }
}
