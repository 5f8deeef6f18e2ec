//! Policy: what may be opened, from where, for whom and for how long (DESIGN §3), and
//! the pure decision that turns a grant request into a [`Grant`] or a [`Rejection`].
//!
//! The policy is JSON from `JIT_POLICY_FILE` and/or `JIT_POLICY` (the variable's
//! top-level keys override the file's). It is validated once, at cold start: a typo or
//! an impossible setting stops the function with a message naming the field, instead
//! of surfacing as odd decisions later.

use std::collections::BTreeMap;
use std::time::Duration;

use ipnet::{Ipv4Net, Ipv6Net};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::clock::{later, rfc3339};
use crate::command::{
    GrantRequest, checked_port, human_duration, parse_duration_text, parse_shorthand,
    validate_instance_name,
};
use crate::firewall::{PortRange, PortRule, RuleSet, Sources, canonical_ipv4, canonical_ipv6};
use crate::ledger::Grant;
use crate::rejection::{Code, Rejection};

/// A policy that cannot be used: the message names the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy: {0}")]
pub struct PolicyError(pub String);

/// Settings that may differ per instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub default_duration: Duration,
    pub max_duration: Duration,
    pub default_ports: Vec<PortRange>,
    pub allowed_ports: Vec<PortRange>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstancePolicy {
    pub limits: Limits,
    /// Declared baseline: enforced by every sweep, never captured.
    pub baseline: Option<RuleSet>,
    /// What `lockdown` applies; the baseline when absent.
    pub lockdown: Option<RuleSet>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub limits: Limits,
    pub allowed_ipv4: Vec<Ipv4Net>,
    pub allowed_ipv6: Vec<Ipv6Net>,
    pub widest_ipv4_prefix: u8,
    pub widest_ipv6_prefix: u8,
    pub allow_anywhere: bool,
    pub allow_lightsail_connect: bool,
    pub requesters: Option<Vec<String>>,
    pub require_reason: bool,
    pub managed_instances: Vec<String>,
    pub instances: BTreeMap<String, InstancePolicy>,
    pub sweep_concurrency: usize,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawPolicy {
    default_duration: Option<Value>,
    max_duration: Option<Value>,
    default_ports: Option<Vec<Value>>,
    allowed_ports: Option<Vec<Value>>,
    allowed_sources: Option<Vec<String>>,
    widest_ipv4_prefix: Option<u8>,
    widest_ipv6_prefix: Option<u8>,
    allow_anywhere: Option<bool>,
    allow_lightsail_connect: Option<bool>,
    requesters: Option<Vec<String>>,
    require_reason: Option<bool>,
    managed_instances: Option<Vec<String>>,
    instances: Option<BTreeMap<String, RawInstance>>,
    sweep_concurrency: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawInstance {
    default_duration: Option<Value>,
    max_duration: Option<Value>,
    default_ports: Option<Vec<Value>>,
    allowed_ports: Option<Vec<Value>>,
    baseline: Option<Vec<PortRule>>,
    lockdown: Option<Vec<PortRule>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_value(Value::Object(Default::default())).unwrap_or_else(|_| unreachable!())
    }
}

impl Policy {
    /// Load from the environment: `JIT_POLICY_FILE`, then `JIT_POLICY` on top.
    pub fn from_env() -> Result<Policy, PolicyError> {
        Policy::from_sources(
            std::env::var("JIT_POLICY_FILE").ok().as_deref(),
            std::env::var("JIT_POLICY").ok().as_deref(),
        )
    }

    /// The policy from a file path and/or inline JSON; the inline keys win.
    pub fn from_sources(file: Option<&str>, inline: Option<&str>) -> Result<Policy, PolicyError> {
        let file = file.filter(|s| !s.is_empty());
        let inline = inline.filter(|s| !s.trim().is_empty());
        let mut merged = serde_json::Map::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                PolicyError(format!("JIT_POLICY_FILE {path:?} cannot be read: {e}"))
            })?;
            merged.extend(object(&text, &format!("JIT_POLICY_FILE {path:?}"))?);
        }
        if let Some(text) = inline {
            merged.extend(object(text, "JIT_POLICY")?);
        }
        Policy::from_value(Value::Object(merged))
    }

    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_value(Value::Object(object(text, "policy")?))
    }

    pub fn from_value(value: Value) -> Result<Policy, PolicyError> {
        let raw: RawPolicy =
            serde_json::from_value(value).map_err(|e| PolicyError(e.to_string()))?;
        let limits = Limits {
            default_duration: duration_or(raw.default_duration.as_ref(), "defaultDuration", 3600)?,
            max_duration: duration_or(raw.max_duration.as_ref(), "maxDuration", 12 * 3600)?,
            default_ports: ports_or(raw.default_ports.as_deref(), "defaultPorts")?,
            allowed_ports: ports_or(raw.allowed_ports.as_deref(), "allowedPorts")?,
        };
        check_limits(&limits, "")?;
        let (allowed_ipv4, allowed_ipv6) = allowed_sources(raw.allowed_sources.as_deref())?;
        let widest_ipv4_prefix = raw.widest_ipv4_prefix.unwrap_or(24);
        let widest_ipv6_prefix = raw.widest_ipv6_prefix.unwrap_or(64);
        if widest_ipv4_prefix > 32 {
            return Err(PolicyError("widestIpv4Prefix must be 0 to 32".into()));
        }
        if widest_ipv6_prefix > 128 {
            return Err(PolicyError("widestIpv6Prefix must be 0 to 128".into()));
        }
        let mut managed_instances = Vec::new();
        for (i, name) in raw.managed_instances.unwrap_or_default().iter().enumerate() {
            validate_instance_name(name)
                .map_err(|r| PolicyError(format!("managedInstances[{i}]: {}", r.message)))?;
            managed_instances.push(name.clone());
        }
        let mut instances = BTreeMap::new();
        for (name, raw_instance) in raw.instances.unwrap_or_default() {
            validate_instance_name(&name)
                .map_err(|r| PolicyError(format!("instances.{name}: {}", r.message)))?;
            let instance = instance_policy(&name, raw_instance, &limits)?;
            instances.insert(name, instance);
        }
        let sweep_concurrency = raw.sweep_concurrency.unwrap_or(16);
        if !(1..=64).contains(&sweep_concurrency) {
            return Err(PolicyError("sweepConcurrency must be 1 to 64".into()));
        }
        Ok(Policy {
            limits,
            allowed_ipv4,
            allowed_ipv6,
            widest_ipv4_prefix,
            widest_ipv6_prefix,
            allow_anywhere: raw.allow_anywhere.unwrap_or(false),
            allow_lightsail_connect: raw.allow_lightsail_connect.unwrap_or(true),
            requesters: raw.requesters,
            require_reason: raw.require_reason.unwrap_or(false),
            managed_instances,
            instances,
            sweep_concurrency,
        })
    }

    /// Named in policy (in `managedInstances` or `instances`): managed without the tag.
    pub fn lists_instance(&self, instance: &str) -> bool {
        self.managed_instances.iter().any(|n| n == instance)
            || self.instances.contains_key(instance)
    }

    pub fn limits(&self, instance: &str) -> &Limits {
        self.instances
            .get(instance)
            .map_or(&self.limits, |i| &i.limits)
    }

    pub fn declared_baseline(&self, instance: &str) -> Option<&RuleSet> {
        self.instances
            .get(instance)
            .and_then(|i| i.baseline.as_ref())
    }

    pub fn lockdown_rules(&self, instance: &str) -> Option<&RuleSet> {
        self.instances
            .get(instance)
            .and_then(|i| i.lockdown.as_ref())
    }

    /// The policy decision for a grant: everything but what needs the instance's tags.
    pub fn decide_grant(
        &self,
        request: &GrantRequest,
        request_id: &str,
        now: Timestamp,
    ) -> Result<Grant, Rejection> {
        let requester = request.requester.clone().ok_or_else(|| {
            Rejection::new(
                Code::MissingField,
                "`requester` is required: it goes into the ledger and the audit log",
            )
        })?;
        if let Some(allowed) = &self.requesters
            && !allowed.iter().any(|a| a == &requester)
        {
            return Err(Rejection::new(
                Code::RequesterNotAllowed,
                format!("`requester` {requester:?} is not in the policy's requesters"),
            ));
        }
        if self.require_reason && request.reason.as_deref().is_none_or(str::is_empty) {
            return Err(Rejection::new(
                Code::ReasonRequired,
                "`reason` is required by policy",
            ));
        }
        let limits = self.limits(&request.instance_name);
        let ports = request
            .ports
            .clone()
            .unwrap_or_else(|| limits.default_ports.clone());
        for (i, port) in ports.iter().enumerate() {
            if !limits
                .allowed_ports
                .iter()
                .any(|allowed| port.within(allowed))
            {
                return Err(Rejection::new(
                    Code::PortNotAllowed,
                    format!(
                        "`ports[{i}]` {port} is not allowed on {}; allowed: {}",
                        request.instance_name,
                        list(&limits.allowed_ports)
                    ),
                ));
            }
        }
        let sources = self.check_sources(request)?;
        let duration = request.duration.unwrap_or(limits.default_duration);
        if duration > limits.max_duration {
            return Err(Rejection::new(
                Code::DurationTooLong,
                format!(
                    "`duration` {} is longer than the maximum {} for {}",
                    human_duration(duration),
                    human_duration(limits.max_duration),
                    request.instance_name
                ),
            ));
        }
        Ok(Grant {
            request_id: request_id.to_string(),
            granted_at: now,
            expires_at: later(now, duration),
            requester,
            ports,
            sources,
        })
    }

    fn check_sources(&self, request: &GrantRequest) -> Result<Sources, Rejection> {
        let mut sources = Sources::default();
        for (i, net) in request.sources.ipv4.iter().enumerate() {
            let field = format!("cidrs[{i}]");
            width(
                net.prefix_len(),
                self.widest_ipv4_prefix,
                self.allow_anywhere,
                &field,
                &net.to_string(),
                32,
            )?;
            if !self.allowed_ipv4.iter().any(|a| a.contains(net)) {
                return Err(not_allowed(&field, &net.to_string()));
            }
            sources.cidrs.insert(canonical_ipv4(&net.to_string()));
        }
        for (i, net) in request.sources.ipv6.iter().enumerate() {
            let field = format!("ipv6Cidrs[{i}]");
            width(
                net.prefix_len(),
                self.widest_ipv6_prefix,
                self.allow_anywhere,
                &field,
                &net.to_string(),
                128,
            )?;
            if !self.allowed_ipv6.iter().any(|a| a.contains(net)) {
                return Err(not_allowed(&field, &net.to_string()));
            }
            sources.ipv6_cidrs.insert(canonical_ipv6(&net.to_string()));
        }
        if !request.sources.aliases.is_empty() && !self.allow_lightsail_connect {
            return Err(Rejection::new(
                Code::SourceNotAllowed,
                "`cidrListAliases`: lightsail-connect is disabled by policy (allowLightsailConnect)",
            ));
        }
        sources
            .cidr_list_aliases
            .extend(request.sources.aliases.iter().cloned());
        Ok(sources)
    }

    /// The policy decision for `extend`: the new expiry, capped from the *original* grant
    /// time so repeated extensions cannot stretch access past the maximum.
    pub fn decide_extend(
        &self,
        instance: &str,
        grant: &Grant,
        duration: Option<Duration>,
        now: Timestamp,
    ) -> Result<Timestamp, Rejection> {
        let limits = self.limits(instance);
        let duration = duration.unwrap_or(limits.default_duration);
        let expires_at = later(now, duration);
        let cap = later(grant.granted_at, limits.max_duration);
        if expires_at > cap {
            return Err(Rejection::new(
                Code::DurationTooLong,
                format!(
                    "`duration` {} would end at {}, past {} (granted at {} + maximum {})",
                    human_duration(duration),
                    rfc3339(expires_at),
                    rfc3339(cap),
                    rfc3339(grant.granted_at),
                    human_duration(limits.max_duration)
                ),
            ));
        }
        Ok(expires_at)
    }
}

fn width(
    prefix: u8,
    widest: u8,
    anywhere: bool,
    field: &str,
    net: &str,
    bits: u8,
) -> Result<(), Rejection> {
    if prefix == 0 && !anywhere {
        return Err(Rejection::new(
            Code::SourceTooWide,
            format!(
                "`{field}` {net} opens to the whole internet; policy must set allowAnywhere to permit it"
            ),
        ));
    }
    if prefix != 0 && prefix < widest {
        return Err(Rejection::new(
            Code::SourceTooWide,
            format!(
                "`{field}` {net} is wider than the policy's widest prefix /{widest} (a /{widest} or narrower, up to /{bits}, is accepted)"
            ),
        ));
    }
    Ok(())
}

fn not_allowed(field: &str, net: &str) -> Rejection {
    Rejection::new(
        Code::SourceNotAllowed,
        format!("`{field}` {net} is outside the policy's allowedSources"),
    )
}

fn list(ports: &[PortRange]) -> String {
    ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn object(text: &str, origin: &str) -> Result<serde_json::Map<String, Value>, PolicyError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PolicyError(format!("{origin} must be a JSON object"))),
        Err(e) => Err(PolicyError(format!("{origin} is not valid JSON: {e}"))),
    }
}

fn duration_or(
    value: Option<&Value>,
    field: &str,
    default_secs: u64,
) -> Result<Duration, PolicyError> {
    match value {
        None => Ok(Duration::from_secs(default_secs)),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
            .ok_or_else(|| PolicyError(format!("{field} must be a positive number of seconds"))),
        Some(Value::String(s)) => parse_duration_text(s, field).map_err(|r| PolicyError(r.message)),
        Some(_) => Err(PolicyError(format!(
            "{field} must be a duration such as \"1h\" or 3600"
        ))),
    }
}

fn ports_or(values: Option<&[Value]>, field: &str) -> Result<Vec<PortRange>, PolicyError> {
    let Some(values) = values else {
        return Ok(vec![
            parse_shorthand("22/tcp", field).map_err(|r| PolicyError(r.message))?,
        ]);
    };
    if values.is_empty() {
        return Err(PolicyError(format!("{field} must list at least one port")));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            crate::command::parse_port(v, &format!("{field}[{i}]"))
                .map_err(|r| PolicyError(r.message))
        })
        .collect()
}

fn check_limits(limits: &Limits, at: &str) -> Result<(), PolicyError> {
    if limits.default_duration > limits.max_duration {
        return Err(PolicyError(format!(
            "{at}defaultDuration {} is longer than {at}maxDuration {}",
            human_duration(limits.default_duration),
            human_duration(limits.max_duration)
        )));
    }
    for (i, port) in limits.default_ports.iter().enumerate() {
        if !limits.allowed_ports.iter().any(|a| port.within(a)) {
            return Err(PolicyError(format!(
                "{at}defaultPorts[{i}] {port} is not within {at}allowedPorts"
            )));
        }
    }
    Ok(())
}

fn allowed_sources(values: Option<&[String]>) -> Result<(Vec<Ipv4Net>, Vec<Ipv6Net>), PolicyError> {
    let Some(values) = values else {
        return Ok((vec![Ipv4Net::default()], vec![Ipv6Net::default()]));
    };
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for (i, text) in values.iter().enumerate() {
        if let Ok(net) = text.parse::<Ipv4Net>() {
            v4.push(net.trunc());
        } else if let Ok(net) = text.parse::<Ipv6Net>() {
            v6.push(net.trunc());
        } else {
            return Err(PolicyError(format!(
                "allowedSources[{i}] {text:?} is not a CIDR"
            )));
        }
    }
    Ok((v4, v6))
}

fn rules(rules: &[PortRule], field: &str) -> Result<RuleSet, PolicyError> {
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("{field}[{i}]");
        checked_port(rule.range(), &at).map_err(|r| PolicyError(r.message))?;
        if !rule.has_source() {
            return Err(PolicyError(format!(
                "{at} has no source (cidrs, ipv6Cidrs or cidrListAliases)"
            )));
        }
    }
    Ok(RuleSet::from_rules(rules))
}

fn instance_policy(
    name: &str,
    raw: RawInstance,
    base: &Limits,
) -> Result<InstancePolicy, PolicyError> {
    let at = format!("instances.{name}.");
    let limits = Limits {
        default_duration: match raw.default_duration {
            Some(v) => duration_or(Some(&v), &format!("{at}defaultDuration"), 0)?,
            None => base.default_duration,
        },
        max_duration: match raw.max_duration {
            Some(v) => duration_or(Some(&v), &format!("{at}maxDuration"), 0)?,
            None => base.max_duration,
        },
        default_ports: match raw.default_ports {
            Some(v) => ports_or(Some(&v), &format!("{at}defaultPorts"))?,
            None => base.default_ports.clone(),
        },
        allowed_ports: match raw.allowed_ports {
            Some(v) => ports_or(Some(&v), &format!("{at}allowedPorts"))?,
            None => base.allowed_ports.clone(),
        },
    };
    check_limits(&limits, &at)?;
    Ok(InstancePolicy {
        limits,
        baseline: raw
            .baseline
            .as_deref()
            .map(|r| rules(r, &format!("{at}baseline")))
            .transpose()?,
        lockdown: raw
            .lockdown
            .as_deref()
            .map(|r| rules(r, &format!("{at}lockdown")))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Action, Command};
    use crate::firewall::Protocol;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-23T10:00:00Z".parse().unwrap()
    }

    fn grant_request(v: Value) -> GrantRequest {
        match Command::from_json(&v).unwrap().action {
            Action::Grant(g) => g,
            other => panic!("{other:?}"),
        }
    }

    fn decide(policy: &Policy, extra: Value) -> Result<Grant, Rejection> {
        let mut v = json!({"action": "grant", "instanceName": "web-1", "cidrs": ["203.0.113.7"], "requester": "alice"});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        policy.decide_grant(&grant_request(v), "req-1", now())
    }

    #[test]
    fn defaults_match_the_design_table() {
        let p = Policy::default();
        assert_eq!(p.limits.default_duration, Duration::from_secs(3600));
        assert_eq!(p.limits.max_duration, Duration::from_secs(43200));
        assert_eq!(
            p.limits.default_ports,
            vec![PortRange::new(Protocol::Tcp, 22, 22)]
        );
        assert_eq!(
            p.limits.allowed_ports,
            vec![PortRange::new(Protocol::Tcp, 22, 22)]
        );
        assert_eq!((p.widest_ipv4_prefix, p.widest_ipv6_prefix), (24, 64));
        assert!(!p.allow_anywhere);
        assert!(p.requesters.is_none());
        assert!(!p.require_reason);
        let g = decide(&p, json!({})).unwrap();
        assert_eq!(g.ports, vec![PortRange::new(Protocol::Tcp, 22, 22)]);
        assert_eq!(rfc3339(g.expires_at), "2026-11-23T11:00:00Z");
    }

    #[test]
    fn decisions_reject_with_the_right_code() {
        let p = Policy::default();
        let code = |extra: Value| decide(&p, extra).unwrap_err().code;
        assert_eq!(code(json!({"ports": ["80"]})), Code::PortNotAllowed);
        assert_eq!(code(json!({"cidrs": ["0.0.0.0/0"]})), Code::SourceTooWide);
        assert_eq!(code(json!({"cidrs": ["10.0.0.0/8"]})), Code::SourceTooWide);
        assert_eq!(
            code(json!({"cidrs": [], "ipv6Cidrs": ["::/0"]})),
            Code::SourceTooWide
        );
        assert_eq!(
            code(json!({"cidrs": [], "ipv6Cidrs": ["2001:db8::/48"]})),
            Code::SourceTooWide
        );
        assert_eq!(code(json!({"duration": "13h"})), Code::DurationTooLong);
        assert_eq!(code(json!({"requester": null})), Code::MissingField);
        assert!(
            decide(&p, json!({"duration": 5})).is_ok(),
            "seconds are accepted"
        );
        assert!(decide(&p, json!({"cidrs": ["198.51.100.0/24"]})).is_ok());
    }

    #[test]
    fn policy_settings_change_decisions() {
        let p = Policy::from_json(
            r#"{"requesters": ["alice"], "requireReason": true, "allowedPorts": ["22", "8000-9000/tcp"],
                "allowedSources": ["203.0.113.0/24"], "allowAnywhere": true,
                "instances": {"db-1": {"maxDuration": "30m", "defaultDuration": "10m"}}}"#,
        )
        .unwrap();
        let code = |extra: Value| decide(&p, extra).unwrap_err().code;
        assert_eq!(
            code(json!({"requester": "bob", "reason": "x"})),
            Code::RequesterNotAllowed
        );
        assert_eq!(code(json!({})), Code::ReasonRequired);
        assert_eq!(
            code(json!({"reason": "x", "cidrs": ["198.51.100.1"]})),
            Code::SourceNotAllowed
        );
        assert!(decide(&p, json!({"reason": "x", "ports": ["8080"]})).is_ok());
        assert_eq!(
            code(json!({"reason": "x", "instanceName": "db-1", "duration": "1h"})),
            Code::DurationTooLong
        );
        assert!(p.lists_instance("db-1") && !p.lists_instance("web-1"));
    }

    #[test]
    fn extend_is_capped_from_the_original_grant_time() {
        let p = Policy::default();
        let g = decide(&p, json!({})).unwrap();
        let later_now = later(now(), Duration::from_secs(11 * 3600));
        assert!(
            p.decide_extend("web-1", &g, Some(Duration::from_secs(3600)), later_now)
                .is_ok()
        );
        let e = p
            .decide_extend("web-1", &g, Some(Duration::from_secs(7200)), later_now)
            .unwrap_err();
        assert_eq!(e.code, Code::DurationTooLong);
    }

    #[test]
    fn invalid_policy_names_the_field() {
        let err = |text: &str| Policy::from_json(text).unwrap_err().0;
        assert!(err(r#"{"maxDuraton": "1h"}"#).contains("maxDuraton"));
        assert!(err(r#"{"maxDuration": "soon"}"#).contains("maxDuration"));
        assert!(
            err(r#"{"defaultDuration": "2h", "maxDuration": "1h"}"#).contains("defaultDuration")
        );
        assert!(err(r#"{"defaultPorts": ["80"]}"#).contains("defaultPorts[0]"));
        assert!(err(r#"{"allowedSources": ["nope"]}"#).contains("allowedSources[0]"));
        assert!(err(r#"{"widestIpv4Prefix": 40}"#).contains("widestIpv4Prefix"));
        assert!(err(r#"{"instances": {"web-1": {"baseline": [{"protocol": "tcp", "fromPort": 22, "toPort": 22}]}}}"#)
            .contains("instances.web-1.baseline[0]"));
        assert!(
            err(r#"{"instances": {"web-1": {"maxDuration": "1h", "defaultDuration": "2h"}}}"#)
                .contains("instances.web-1.defaultDuration")
        );
        assert!(err("[1]").contains("JSON object"));
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    #[test]
    fn inline_policy_overrides_the_file_key_by_key() {
        let path = std::env::temp_dir().join(format!("jit-policy-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"maxDuration": "2h", "requireReason": true}"#).unwrap();
        let file = path.to_str().unwrap();
        let p = Policy::from_sources(Some(file), Some(r#"{"maxDuration": "4h"}"#)).unwrap();
        assert_eq!(p.limits.max_duration, Duration::from_secs(4 * 3600));
        assert!(
            p.require_reason,
            "keys the variable does not set come from the file"
        );
        assert_eq!(Policy::from_sources(None, None).unwrap(), Policy::default());
        let err = Policy::from_sources(Some("/nonexistent/policy.json"), None).unwrap_err();
        assert!(err.0.contains("JIT_POLICY_FILE"), "{err}");
        let err = Policy::from_sources(None, Some("{not json")).unwrap_err();
        assert!(err.0.contains("JIT_POLICY"), "{err}");
        std::fs::remove_file(path).unwrap();
    }
}
