//! The input language: one JSON command with an `action` (DESIGN §1).
//!
//! Parsing is strict and total: every input becomes either a typed [`Command`] or a
//! [`Rejection`] whose message names the field. Policy-dependent checks (allowed ports,
//! source width, maximum duration) happen later in [`crate::policy`]; this module only
//! decides what the command *says*.

mod duration;
mod fields;
mod ports;
mod sources;

use std::time::Duration;

use serde_json::Value;

pub use duration::{human as human_duration, parse_text as parse_duration_text};
pub use fields::printable;
pub use ports::{checked as checked_port, parse_port, parse_shorthand};
pub use sources::RequestedSources;

use crate::firewall::PortRange;
use crate::ledger::is_tag_char;
use crate::rejection::{Code, Rejection};
use fields::{Fields, type_name};

/// Most items accepted in one list field; a bot sending thousands is broken or hostile.
pub const MAX_LIST_ITEMS: usize = 20;
/// Most instances one sweep, lockdown or status names explicitly.
pub const MAX_INSTANCE_NAMES: usize = 100;
/// Longest request id: it becomes part of a tag key (≤ 128 characters in all).
pub const MAX_REQUEST_ID: usize = 100;
pub const MAX_REQUESTER: usize = 64;
pub const MAX_REASON: usize = 256;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// `requestId` as the sender wrote it: the idempotency key of a grant, the grant
    /// named by `revoke` and `extend`.
    pub request_id: Option<String>,
    pub dry_run: bool,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Grant(GrantRequest),
    Revoke(Targeted),
    Extend(ExtendRequest),
    Sweep(Selection),
    Lockdown(Selection),
    Status(StatusRequest),
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Grant(_) => "grant",
            Action::Revoke(_) => "revoke",
            Action::Extend(_) => "extend",
            Action::Sweep(_) => "sweep",
            Action::Lockdown(_) => "lockdown",
            Action::Status(_) => "status",
        }
    }

    /// The single instance this command is about, if any: SQS records for different
    /// instances run concurrently, those for the same one in order.
    pub fn instance_name(&self) -> Option<&str> {
        match self {
            Action::Grant(g) => Some(&g.instance_name),
            Action::Revoke(t) => Some(&t.instance_name),
            Action::Extend(e) => Some(&e.target.instance_name),
            Action::Status(s) => s.instance_name.as_deref(),
            Action::Sweep(_) | Action::Lockdown(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRequest {
    pub instance_name: String,
    /// `None`: the policy's default ports.
    pub ports: Option<Vec<PortRange>>,
    pub sources: RequestedSources,
    /// `None`: the policy's default duration.
    pub duration: Option<Duration>,
    pub requester: Option<String>,
    pub reason: Option<String>,
}

/// An instance plus who asks and why (revoke, and the base of extend).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targeted {
    pub instance_name: String,
    pub requester: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendRequest {
    pub target: Targeted,
    pub duration: Option<Duration>,
}

/// Which instances a sweep or lockdown covers: `None` means every managed instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub instance_names: Option<Vec<String>>,
    pub requester: Option<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRequest {
    pub instance_name: Option<String>,
}

impl Command {
    /// Parse one command object.
    pub fn from_json(value: &Value) -> Result<Command, Rejection> {
        let mut f = Fields::new(value, "a command")?;
        let action = f.required_string("action")?;
        let request_id = f
            .string("requestId")?
            .map(validate_request_id)
            .transpose()?;
        let dry_run = f.bool("dryRun")?;
        let action = match action {
            "grant" => Action::Grant(grant(&mut f)?),
            "revoke" => Action::Revoke(targeted(&mut f)?),
            "extend" => {
                if request_id.is_none() {
                    return Err(Rejection::new(
                        Code::MissingField,
                        "`requestId` is required: it names the grant to extend",
                    ));
                }
                let target = targeted(&mut f)?;
                let duration = duration(&mut f)?;
                Action::Extend(ExtendRequest { target, duration })
            }
            "sweep" => Action::Sweep(selection(&mut f, false)?),
            "lockdown" => Action::Lockdown(selection(&mut f, true)?),
            "status" => Action::Status(StatusRequest {
                instance_name: f
                    .string("instanceName")?
                    .map(validate_instance_name)
                    .transpose()?,
            }),
            other => {
                return Err(Rejection::new(
                    Code::UnknownAction,
                    format!(
                        "`action` {} is not one of grant, revoke, extend, sweep, lockdown, status",
                        printable(other, 40)
                    ),
                ));
            }
        };
        f.finish(action.name())?;
        Ok(Command {
            request_id,
            dry_run,
            action,
        })
    }
}

fn grant(f: &mut Fields) -> Result<GrantRequest, Rejection> {
    let instance_name = validate_instance_name(f.required_string("instanceName")?)?;
    let ports = match f.array("ports", MAX_LIST_ITEMS)? {
        None => None,
        Some(items) if items.is_empty() => {
            return Err(Rejection::new(
                Code::InvalidPort,
                "`ports` is empty; leave it out to get the policy's default ports",
            ));
        }
        Some(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| parse_port(item, &format!("ports[{i}]")))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let sources = RequestedSources {
        ipv4: match f.array("cidrs", MAX_LIST_ITEMS)? {
            Some(items) => sources::parse_ipv4_list(items)?,
            None => Vec::new(),
        },
        ipv6: match f.array("ipv6Cidrs", MAX_LIST_ITEMS)? {
            Some(items) => sources::parse_ipv6_list(items)?,
            None => Vec::new(),
        },
        aliases: match f.array("cidrListAliases", MAX_LIST_ITEMS)? {
            Some(items) => sources::parse_alias_list(items)?,
            None => Vec::new(),
        },
    };
    if sources.is_empty() {
        return Err(Rejection::new(
            Code::NoSource,
            "a grant needs at least one source in `cidrs`, `ipv6Cidrs` or `cidrListAliases`",
        ));
    }
    let duration = duration(f)?;
    let (requester, reason) = who_and_why(f)?;
    Ok(GrantRequest {
        instance_name,
        ports,
        sources,
        duration,
        requester,
        reason,
    })
}

fn targeted(f: &mut Fields) -> Result<Targeted, Rejection> {
    let instance_name = validate_instance_name(f.required_string("instanceName")?)?;
    let (requester, reason) = who_and_why(f)?;
    Ok(Targeted {
        instance_name,
        requester,
        reason,
    })
}

fn selection(f: &mut Fields, audited: bool) -> Result<Selection, Rejection> {
    let instance_names = match f.array("instanceNames", MAX_INSTANCE_NAMES)? {
        None => None,
        Some(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => validate_instance_name(s),
                    other => Err(Rejection::invalid(
                        &format!("instanceNames[{i}]"),
                        &format!("a string, got {}", type_name(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let (requester, reason) = if audited {
        who_and_why(f)?
    } else {
        (None, None)
    };
    Ok(Selection {
        instance_names,
        requester,
        reason,
    })
}

fn duration(f: &mut Fields) -> Result<Option<Duration>, Rejection> {
    f.value("duration")
        .map(|v| duration::parse_duration(v, "duration"))
        .transpose()
}

fn who_and_why(f: &mut Fields) -> Result<(Option<String>, Option<String>), Rejection> {
    let requester = f.string("requester")?.map(validate_requester).transpose()?;
    let reason = f.string("reason")?.map(validate_reason).transpose()?;
    Ok((requester, reason))
}

/// Lightsail resource names: 2–255 characters of letters, digits, `_`, `-` and `.`,
/// starting and ending with a letter, digit or `_`.
pub fn validate_instance_name(name: &str) -> Result<String, Rejection> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let ok = (2..=255).contains(&name.len())
        && name.chars().all(|c| word(c) || c == '-' || c == '.')
        && name.starts_with(word)
        && name.ends_with(word);
    if ok {
        Ok(name.to_string())
    } else {
        Err(Rejection::new(
            Code::InvalidInstanceName,
            format!(
                "`instanceName` {} is not a Lightsail instance name (2-255 letters, digits, '_', '-', '.', starting and ending with a letter or digit)",
                printable(name, 60)
            ),
        ))
    }
}

/// A request id becomes part of a tag key, so it must use tag characters (no spaces).
pub fn validate_request_id(id: &str) -> Result<String, Rejection> {
    let len = id.chars().count();
    if len == 0 || len > MAX_REQUEST_ID || !id.chars().all(|c| c != ' ' && is_tag_char(c)) {
        return Err(Rejection::new(
            Code::InvalidRequestId,
            format!(
                "`requestId` {} must be 1-{MAX_REQUEST_ID} characters of letters, digits and + - = . _ : / @",
                printable(id, 60)
            ),
        ));
    }
    Ok(id.to_string())
}

/// A requester is stored in the grant's tag value, so it must use tag characters.
pub fn validate_requester(who: &str) -> Result<String, Rejection> {
    let who = who.trim();
    let len = who.chars().count();
    if len == 0 || len > MAX_REQUESTER || !who.chars().all(is_tag_char) {
        return Err(Rejection::new(
            Code::InvalidRequester,
            format!(
                "`requester` {} must be 1-{MAX_REQUESTER} characters of letters, digits, spaces and + - = . _ : / @",
                printable(who, 60)
            ),
        ));
    }
    Ok(who.to_string())
}

/// A reason only goes to the audit log, but it must still be readable there.
pub fn validate_reason(why: &str) -> Result<String, Rejection> {
    let why = why.trim();
    if why.chars().count() > MAX_REASON || why.chars().any(|c| c.is_control() || is_invisible(c)) {
        return Err(Rejection::new(
            Code::InvalidReason,
            format!(
                "`reason` must be at most {MAX_REASON} characters without control or invisible formatting characters"
            ),
        ));
    }
    Ok(why.to_string())
}

/// Formatting characters that can hide or reorder text in a log or chat message
/// (zero-width, bidirectional overrides, line/paragraph separators, BOM, soft hyphen).
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Command, Rejection> {
        Command::from_json(&v)
    }

    fn code(v: Value) -> Code {
        parse(v).unwrap_err().code
    }

    #[test]
    fn full_grant() {
        let c = parse(json!({
            "action": "grant", "instanceName": "web-1", "ports": ["22", "60000-61000/udp"],
            "cidrs": ["203.0.113.7"], "ipv6Cidrs": ["2001:db8::/64"],
            "cidrListAliases": ["lightsail-connect"], "duration": "1h30m",
            "requester": "alice", "reason": "hotfix", "requestId": "req-1", "dryRun": true
        }))
        .unwrap();
        assert_eq!(c.request_id.as_deref(), Some("req-1"));
        assert!(c.dry_run);
        let Action::Grant(g) = c.action else {
            panic!("not a grant")
        };
        assert_eq!(g.instance_name, "web-1");
        assert_eq!(g.ports.unwrap().len(), 2);
        assert_eq!(g.sources.ipv4[0].to_string(), "203.0.113.7/32");
        assert_eq!(g.duration, Some(Duration::from_secs(5400)));
        assert_eq!(g.requester.as_deref(), Some("alice"));
    }

    #[test]
    fn every_action_parses() {
        assert_eq!(
            parse(json!({"action": "revoke", "instanceName": "web-1"}))
                .unwrap()
                .action
                .name(),
            "revoke"
        );
        assert_eq!(
            parse(json!({"action": "extend", "instanceName": "web-1", "requestId": "r", "duration": 60})).unwrap().action.name(),
            "extend"
        );
        assert_eq!(
            parse(json!({"action": "sweep"})).unwrap().action.name(),
            "sweep"
        );
        assert_eq!(
            parse(json!({"action": "lockdown", "instanceNames": ["a1", "b2"]}))
                .unwrap()
                .action
                .name(),
            "lockdown"
        );
        assert_eq!(
            parse(json!({"action": "status"})).unwrap().action.name(),
            "status"
        );
    }

    #[test]
    fn rejections_name_the_field() {
        assert_eq!(code(json!({"action": "fly"})), Code::UnknownAction);
        assert_eq!(code(json!({"instanceName": "web-1"})), Code::MissingField);
        assert_eq!(
            code(json!({"action": "grant", "cidrs": ["1.2.3.4"]})),
            Code::MissingField
        );
        assert_eq!(
            code(json!({"action": "grant", "instanceName": "web-1"})),
            Code::NoSource
        );
        assert_eq!(
            code(json!({"action": "grant", "instanceName": "-x", "cidrs": ["1.2.3.4"]})),
            Code::InvalidInstanceName
        );
        assert_eq!(
            code(
                json!({"action": "grant", "instanceName": "web-1", "cidrs": ["1.2.3.4"], "duraton": "1h"})
            ),
            Code::UnknownField
        );
        assert_eq!(
            code(json!({"action": "extend", "instanceName": "web-1"})),
            Code::MissingField
        );
        assert_eq!(
            code(
                json!({"action": "grant", "instanceName": "web-1", "cidrs": ["1.2.3.4"], "requestId": "a b"})
            ),
            Code::InvalidRequestId
        );
        assert_eq!(
            code(
                json!({"action": "grant", "instanceName": "web-1", "cidrs": ["1.2.3.4"], "requester": "eve;rm"})
            ),
            Code::InvalidRequester
        );
        assert_eq!(
            code(
                json!({"action": "grant", "instanceName": "web-1", "cidrs": ["1.2.3.4"], "reason": "a\u{0}b"})
            ),
            Code::InvalidReason
        );
        assert_eq!(
            code(json!({"action": "sweep", "instanceNames": "web-1"})),
            Code::InvalidField
        );
        assert_eq!(
            code(json!({"action": "grant", "instanceName": "web-1", "cidrs": vec!["1.2.3.4"; 21]})),
            Code::TooManyItems
        );
        assert_eq!(code(json!("grant")), Code::InvalidEnvelope);
        let e = parse(json!({"action": "grant", "instanceName": "web-1", "cidrs": ["1.2.3.4"], "ports": ["22", "99999"]})).unwrap_err();
        assert!(e.message.contains("ports[1]"), "{}", e.message);
    }

    #[test]
    fn instance_names_may_contain_periods() {
        assert!(validate_instance_name("web.example-1").is_ok());
        assert!(validate_instance_name("a").is_err());
        assert!(validate_instance_name("web-").is_err());
        assert!(validate_instance_name("wéb-1").is_err());
    }
}
