//! Port specifications: Lightsail `PortInfo` objects or the shorthands people type
//! (`"22"`, `"22/tcp"`, `"60000-61000/udp"`, `"all"`, `"icmp"`).

use serde_json::Value;

use super::fields::{Fields, printable, type_name};
use crate::firewall::{PortRange, Protocol};
use crate::rejection::{Code, Rejection};

/// Parse one item of a `ports` list; `field` names it in messages (e.g. `ports[2]`).
pub fn parse_port(item: &Value, field: &str) -> Result<PortRange, Rejection> {
    match item {
        Value::String(text) => parse_shorthand(text, field),
        Value::Number(n) => match n.as_i64() {
            Some(port) => checked(
                PortRange::new(Protocol::Tcp, clamp(port), clamp(port)),
                field,
            ),
            None => Err(invalid_port(
                field,
                &format!("{n} is not a whole port number"),
            )),
        },
        Value::Object(_) => parse_object(item, field),
        other => Err(Rejection::invalid(
            field,
            &format!(
                "a port string like \"22/tcp\" or a {{protocol, fromPort, toPort}} object, got {}",
                type_name(other)
            ),
        )),
    }
}

/// Parse a shorthand port string.
pub fn parse_shorthand(text: &str, field: &str) -> Result<PortRange, Rejection> {
    let spec = text.trim().to_ascii_lowercase();
    match spec.as_str() {
        "all" => return Ok(PortRange::new(Protocol::All, 0, 65535)),
        "icmp" => return Ok(PortRange::new(Protocol::Icmp, -1, -1)),
        "icmpv6" => return Ok(PortRange::new(Protocol::Icmpv6, -1, -1)),
        _ => {}
    }
    let (ports, protocol) = match spec.split_once('/') {
        Some((ports, proto)) => (ports, proto),
        None => (spec.as_str(), "tcp"),
    };
    let protocol = match protocol {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => {
            return Err(invalid_port(
                field,
                &format!(
                    "{} has an unknown protocol; shorthands are PORT[/tcp|/udp], FROM-TO[/tcp|/udp], all, icmp, icmpv6",
                    printable(text, 40)
                ),
            ));
        }
    };
    let number = |s: &str| -> Result<i32, Rejection> {
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        digits
            .then(|| s.parse::<u32>().ok())
            .flatten()
            .map(|n| clamp(i64::from(n)))
            .ok_or_else(|| {
                invalid_port(
                    field,
                    &format!(
                        "{} is not a port or range such as 22 or 60000-61000",
                        printable(text, 40)
                    ),
                )
            })
    };
    let range = match ports.split_once('-') {
        Some((from, to)) => PortRange::new(protocol, number(from)?, number(to)?),
        None => {
            let port = number(ports)?;
            PortRange::new(protocol, port, port)
        }
    };
    checked(range, field)
}

fn parse_object(item: &Value, field: &str) -> Result<PortRange, Rejection> {
    let mut fields = Fields::new(item, field)?;
    let protocol_text = fields
        .string("protocol")
        .map_err(|r| reword(r, field))?
        .ok_or_else(|| Rejection::missing(&format!("{field}.protocol")))?;
    let protocol: Protocol = protocol_text
        .parse()
        .map_err(|e: String| invalid_port(field, &e))?;
    let mut number = |name: &'static str| -> Result<i32, Rejection> {
        match fields.value(name) {
            None => Err(Rejection::missing(&format!("{field}.{name}"))),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(clamp)
                .ok_or_else(|| invalid_port(field, &format!("{name} {n} is not a whole number"))),
            Some(other) => Err(Rejection::invalid(
                &format!("{field}.{name}"),
                &format!("a number, got {}", type_name(other)),
            )),
        }
    };
    let from = number("fromPort")?;
    let to = number("toPort")?;
    fields.finish(field)?;
    checked(PortRange::new(protocol, from, to), field)
}

/// Enforce Lightsail's limits: ports 0–65535 with from ≤ to; ICMP type/code −1–255.
pub fn checked(range: PortRange, field: &str) -> Result<PortRange, Rejection> {
    let (from, to) = (range.from_port, range.to_port);
    if range.protocol.is_icmp() {
        let ok = |v: i32| (-1..=255).contains(&v);
        if !ok(from) || !ok(to) {
            return Err(invalid_port(
                field,
                &format!(
                    "{} type {from} / code {to} is out of range: ICMP type (fromPort) and code (toPort) must be -1 (any) to 255",
                    range.protocol
                ),
            ));
        }
        return Ok(range);
    }
    if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) {
        return Err(invalid_port(
            field,
            &format!("ports must be 0 to 65535, got {from}-{to}"),
        ));
    }
    if from > to {
        return Err(invalid_port(
            field,
            &format!("fromPort {from} is greater than toPort {to}"),
        ));
    }
    Ok(range)
}

/// Out-of-range numbers saturate so they are reported, not wrapped.
fn clamp(n: i64) -> i32 {
    n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

fn invalid_port(field: &str, why: &str) -> Rejection {
    Rejection::new(Code::InvalidPort, format!("`{field}`: {why}"))
}

fn reword(r: Rejection, field: &str) -> Rejection {
    Rejection::new(r.code, format!("in `{field}`: {}", r.message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(v: Value) -> PortRange {
        parse_port(&v, "ports[0]").unwrap()
    }

    fn code(v: Value) -> Code {
        parse_port(&v, "ports[0]").unwrap_err().code
    }

    #[test]
    fn shorthands() {
        assert_eq!(ok(json!("22")), PortRange::new(Protocol::Tcp, 22, 22));
        assert_eq!(ok(json!(22)), PortRange::new(Protocol::Tcp, 22, 22));
        assert_eq!(
            ok(json!("443/TCP")),
            PortRange::new(Protocol::Tcp, 443, 443)
        );
        assert_eq!(
            ok(json!("60000-61000/udp")),
            PortRange::new(Protocol::Udp, 60000, 61000)
        );
        assert_eq!(ok(json!("all")), PortRange::new(Protocol::All, 0, 65535));
        assert_eq!(ok(json!("icmp")), PortRange::new(Protocol::Icmp, -1, -1));
    }

    #[test]
    fn objects_follow_port_info() {
        assert_eq!(
            ok(json!({"protocol": "icmp", "fromPort": 8, "toPort": -1})),
            PortRange::new(Protocol::Icmp, 8, -1)
        );
        assert_eq!(
            ok(json!({"protocol": "tcp", "fromPort": 8000, "toPort": 8080})),
            PortRange::new(Protocol::Tcp, 8000, 8080)
        );
    }

    #[test]
    fn bad_ports_are_rejected() {
        assert_eq!(code(json!("70000")), Code::InvalidPort);
        assert_eq!(code(json!("-1")), Code::InvalidPort);
        assert_eq!(code(json!("+22")), Code::InvalidPort);
        assert_eq!(code(json!("30-20/tcp")), Code::InvalidPort);
        assert_eq!(code(json!("22/sctp")), Code::InvalidPort);
        assert_eq!(code(json!(99999999999i64)), Code::InvalidPort);
        assert_eq!(
            code(json!({"protocol": "icmp", "fromPort": 300, "toPort": 0})),
            Code::InvalidPort
        );
        assert_eq!(
            code(json!({"protocol": "tcp", "fromPort": 22})),
            Code::MissingField
        );
        assert_eq!(
            code(json!({"protocol": "tcp", "fromPort": "22", "toPort": 22})),
            Code::InvalidField
        );
        assert_eq!(code(json!(true)), Code::InvalidField);
    }
}
