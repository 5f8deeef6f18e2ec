//! Loading the policy: JSON from `JIT_POLICY_FILE` and/or `JIT_POLICY` (the variable's
//! top-level keys override the file's), validated once, at cold start.
//!
//! Every setting is checked here, with the field's path in the message
//! (`instances.web-1.defaultDuration`), so a typo or an impossible setting stops the
//! cold start instead of surfacing later as odd decisions. Unknown keys are refused for
//! the same reason.

use std::collections::BTreeMap;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use serde_json::Value;

use super::freshness::{
    DEFAULT_MAX_COMMAND_AGE, LONGEST_MAX_COMMAND_AGE, MAX_COMMAND_AGE, REQUIRE_ISSUED_AT,
};
use super::window::{MAX_WINDOWS, Window};
use super::{InstancePolicy, Limits, Policy, PolicyError};
use crate::command::{
    checked_port, human_duration, parse_duration_text, parse_port, parse_shorthand, printable,
    type_name, validate_instance_name, validate_requester,
};
use crate::firewall::{PortRange, PortRule, RuleSet};
use crate::region::{Region, split_key};

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
    /// Read by hand, so a wrong entry names its index.
    regions: Option<Value>,
    managed_instances: Option<Vec<String>>,
    instances: Option<BTreeMap<String, RawInstance>>,
    sweep_concurrency: Option<usize>,
    lockdown_windows: Option<Value>,
    break_glass_requesters: Option<Vec<String>>,
    break_glass_max_duration: Option<Value>,
    warn_before: Option<Value>,
    max_command_age: Option<Value>,
    /// Read by hand, so a wrong type names the key (serde's message would not).
    require_issued_at: Option<Value>,
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
    lockdown_windows: Option<Value>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_value(Value::Object(Default::default())).unwrap_or_else(|_| unreachable!())
    }
}

impl Policy {
    /// Load from the environment: `JIT_POLICY_FILE`, then `JIT_POLICY` on top, for a
    /// function running in `home`.
    pub fn from_env(home: Region) -> Result<Policy, PolicyError> {
        Policy::from_sources(
            std::env::var("JIT_POLICY_FILE").ok().as_deref(),
            std::env::var("JIT_POLICY").ok().as_deref(),
            home,
        )
    }

    /// The policy from a file path and/or inline JSON; the inline keys win.
    pub fn from_sources(
        file: Option<&str>,
        inline: Option<&str>,
        home: Region,
    ) -> Result<Policy, PolicyError> {
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
        Policy::from_value_in(Value::Object(merged), home)
    }

    /// A policy read for a function in `us-east-1` ([`Region::US_EAST_1`]): tests and
    /// tools. The function reads its own with [`Policy::from_env`].
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_json_in(text, Region::US_EAST_1)
    }

    /// The policy JSON `text` says, for a function running in `home`.
    pub fn from_json_in(text: &str, home: Region) -> Result<Policy, PolicyError> {
        Policy::from_value_in(Value::Object(object(text, "policy")?), home)
    }

    /// [`Policy::from_value_in`] `us-east-1`.
    pub fn from_value(value: Value) -> Result<Policy, PolicyError> {
        Policy::from_value_in(value, Region::US_EAST_1)
    }

    /// The policy `value` says, for a function running in `home`.
    pub fn from_value_in(value: Value, home: Region) -> Result<Policy, PolicyError> {
        let raw: RawPolicy =
            serde_json::from_value(value).map_err(|e| PolicyError(e.to_string()))?;
        let limits = Limits {
            default_duration: duration_or(raw.default_duration.as_ref(), "defaultDuration", 3600)?,
            max_duration: duration_or(raw.max_duration.as_ref(), "maxDuration", 12 * 3600)?,
            default_ports: ports_or(raw.default_ports.as_deref(), "defaultPorts")?,
            allowed_ports: ports_or(raw.allowed_ports.as_deref(), "allowedPorts")?,
        };
        check_limits(&limits, "")?;
        let allowed_sources = allowed_sources(raw.allowed_sources.as_deref())?;
        let widest_ipv4_prefix = raw.widest_ipv4_prefix.unwrap_or(24);
        let widest_ipv6_prefix = raw.widest_ipv6_prefix.unwrap_or(64);
        if widest_ipv4_prefix > 32 {
            return Err(PolicyError("widestIpv4Prefix must be 0 to 32".into()));
        }
        if widest_ipv6_prefix > 128 {
            return Err(PolicyError("widestIpv6Prefix must be 0 to 128".into()));
        }
        let regions = regions(raw.regions.as_ref(), home)?;
        let mut managed_instances = Vec::new();
        for (i, key) in raw.managed_instances.unwrap_or_default().iter().enumerate() {
            let at = format!("managedInstances[{i}]");
            managed_instances.push(instance_key(key, home, &regions, &at)?);
        }
        let mut instances: BTreeMap<Region, BTreeMap<String, InstancePolicy>> = BTreeMap::new();
        for (key, raw_instance) in raw.instances.unwrap_or_default() {
            let at = format!("instances.{}", printable(&key, 60));
            let (region, name) = instance_key(&key, home, &regions, &at)?;
            let instance = instance_policy(&key, raw_instance, &limits)?;
            let in_region = instances.entry(region).or_default();
            if in_region.insert(name, instance).is_some() {
                return Err(PolicyError(format!(
                    "{at}: names the same instance as another key (a bare name is {home}'s)"
                )));
            }
        }
        let lockdown_windows = windows(raw.lockdown_windows.as_ref(), "lockdownWindows")?;
        let mut break_glass_requesters = Vec::new();
        for (i, who) in raw
            .break_glass_requesters
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let who = validate_requester(who)
                .map_err(|r| PolicyError(format!("breakGlassRequesters[{i}]: {}", r.message)))?;
            break_glass_requesters.push(who);
        }
        let break_glass_max_duration = duration_or(
            raw.break_glass_max_duration.as_ref(),
            "breakGlassMaxDuration",
            3600,
        )?;
        let warn_before = warn_before(raw.warn_before.as_ref(), limits.max_duration)?;
        let max_command_age = max_command_age(raw.max_command_age.as_ref())?;
        let require_issued_at = match raw.require_issued_at {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => b,
            Some(other) => {
                return Err(PolicyError(format!(
                    "{REQUIRE_ISSUED_AT} must be true or false, not {}",
                    type_name(&other)
                )));
            }
        };
        let sweep_concurrency = raw.sweep_concurrency.unwrap_or(16);
        if !(1..=64).contains(&sweep_concurrency) {
            return Err(PolicyError("sweepConcurrency must be 1 to 64".into()));
        }
        Ok(Policy {
            limits,
            allowed_sources,
            widest_ipv4_prefix,
            widest_ipv6_prefix,
            allow_anywhere: raw.allow_anywhere.unwrap_or(false),
            allow_lightsail_connect: raw.allow_lightsail_connect.unwrap_or(true),
            requesters: raw.requesters,
            require_reason: raw.require_reason.unwrap_or(false),
            home,
            regions,
            managed_instances,
            instances,
            sweep_concurrency,
            lockdown_windows,
            break_glass_requesters,
            break_glass_max_duration,
            warn_before,
            max_command_age,
            require_issued_at,
        })
    }
}

/// Most Regions one function manages: every Lightsail Region there is.
const MAX_REGIONS: usize = crate::region::LIGHTSAIL_REGIONS.len();

/// `regions`: Lightsail Regions, each once, at least one; `[home]` when absent. Home
/// need not be among them (a stack in one Region managing another's instances); it must
/// be a Lightsail Region when it is the default.
fn regions(value: Option<&Value>, home: Region) -> Result<Vec<Region>, PolicyError> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(vec![home]);
    };
    let Value::Array(items) = value else {
        return Err(PolicyError(format!(
            "regions must be an array of Lightsail Regions such as [\"us-east-1\"], not {}",
            type_name(value)
        )));
    };
    if items.is_empty() || items.len() > MAX_REGIONS {
        return Err(PolicyError(format!(
            "regions must name 1 to {MAX_REGIONS} Regions, not {}",
            items.len()
        )));
    }
    let mut regions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let region = match item {
            Value::String(name) => Region::parse(name).ok_or_else(|| {
                PolicyError(format!(
                    "regions[{i}]: {} is not a Lightsail Region ({})",
                    printable(name, 40),
                    crate::region::known()
                ))
            })?,
            other => {
                return Err(PolicyError(format!(
                    "regions[{i}] must be a string, not {}",
                    type_name(other)
                )));
            }
        };
        if regions.contains(&region) {
            return Err(PolicyError(format!(
                "regions[{i}]: {region} is listed twice"
            )));
        }
        regions.push(region);
    }
    Ok(regions)
}

/// A `managedInstances` entry or an `instances` key: `region/name`, or a bare name in
/// `home`; its Region must be one of `regions`.
fn instance_key(
    key: &str,
    home: Region,
    regions: &[Region],
    at: &str,
) -> Result<(Region, String), PolicyError> {
    let (region, name) = split_key(key, home).map_err(|why| PolicyError(format!("{at}: {why}")))?;
    let name =
        validate_instance_name(name).map_err(|r| PolicyError(format!("{at}: {}", r.message)))?;
    if !regions.contains(&region) {
        return Err(PolicyError(format!(
            "{at}: {region} is not one of `regions` ({}){}",
            region_list(regions),
            match key.contains('/') {
                true => "",
                false => "; a bare name means the function's own Region: write region/name",
            }
        )));
    }
    Ok((region, name))
}

/// Regions for a message: `us-east-1, eu-west-1`.
pub fn region_list(regions: &[Region]) -> String {
    let names: Vec<&str> = regions.iter().map(|r| r.as_str()).collect();
    names.join(", ")
}

/// `maxCommandAge`: a duration, more than zero (zero would refuse every grant: there is
/// no "off") and at most 24h (a day-old command is not a request for access now).
fn max_command_age(value: Option<&Value>) -> Result<Duration, PolicyError> {
    let age =
        duration_or(value, MAX_COMMAND_AGE, DEFAULT_MAX_COMMAND_AGE.as_secs()).map_err(|e| {
            PolicyError(format!(
                "{} (0 is not allowed: it would refuse every grant)",
                e.0
            ))
        })?;
    if age > LONGEST_MAX_COMMAND_AGE {
        return Err(PolicyError(format!(
            "{MAX_COMMAND_AGE} {} is longer than {}: a command that old is not a request for access now",
            human_duration(age),
            human_duration(LONGEST_MAX_COMMAND_AGE)
        )));
    }
    Ok(age)
}

/// `warnBefore`: a duration (default 5m), or `0` / `"0"` for no expiry warnings. At
/// most `maxDuration` (a longer one could never be given).
fn warn_before(value: Option<&Value>, max: Duration) -> Result<Duration, PolicyError> {
    let off = match value {
        Some(Value::Number(n)) => n.as_u64() == Some(0),
        Some(Value::String(s)) => s.trim() == "0",
        _ => false,
    };
    if off {
        return Ok(Duration::ZERO);
    }
    let warn = duration_or(value, "warnBefore", 300)
        .map_err(|e| PolicyError(format!("{} (or 0 for no expiry warnings)", e.0)))?;
    if warn > max {
        return Err(PolicyError(format!(
            "warnBefore {} is longer than maxDuration {}",
            human_duration(warn),
            human_duration(max)
        )));
    }
    Ok(warn)
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
        .map(|(i, v)| parse_port(v, &format!("{field}[{i}]")).map_err(|r| PolicyError(r.message)))
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

/// `allowedSources`, host bits cleared; absent means anywhere (`0.0.0.0/0` and `::/0`).
fn allowed_sources(values: Option<&[String]>) -> Result<Vec<IpNet>, PolicyError> {
    let Some(values) = values else {
        return Ok(vec![
            IpNet::V4(Default::default()),
            IpNet::V6(Default::default()),
        ]);
    };
    values
        .iter()
        .enumerate()
        .map(|(i, text)| {
            text.parse::<IpNet>()
                .map(|net| net.trunc())
                .map_err(|_| PolicyError(format!("allowedSources[{i}] {text:?} is not a CIDR")))
        })
        .collect()
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
        lockdown_windows: windows(
            raw.lockdown_windows.as_ref(),
            &format!("{at}lockdownWindows"),
        )?,
    })
}

/// `lockdownWindows`: a list (`null` = none), bounded, each window validated.
fn windows(value: Option<&Value>, field: &str) -> Result<Vec<Window>, PolicyError> {
    let values = match value {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(values)) => values.as_slice(),
        Some(other) => {
            return Err(PolicyError(format!(
                "{field} must be a list of windows, not {}",
                type_name(other)
            )));
        }
    };
    if values.len() > MAX_WINDOWS {
        return Err(PolicyError(format!(
            "{field} has {} windows; at most {MAX_WINDOWS}",
            values.len()
        )));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| Window::parse(v, &format!("{field}[{i}]")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_policy_overrides_the_file_key_by_key() {
        let path = std::env::temp_dir().join(format!("jit-policy-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"maxDuration": "2h", "requireReason": true}"#).unwrap();
        let file = path.to_str().unwrap();
        let p = Policy::from_sources(
            Some(file),
            Some(r#"{"maxDuration": "4h"}"#),
            Region::US_EAST_1,
        )
        .unwrap();
        assert_eq!(p.limits.max_duration, Duration::from_secs(4 * 3600));
        assert!(
            p.require_reason,
            "keys the variable does not set come from the file"
        );
        assert_eq!(
            Policy::from_sources(None, None, Region::US_EAST_1).unwrap(),
            Policy::default()
        );
        let err = Policy::from_sources(Some("/nonexistent/policy.json"), None, Region::US_EAST_1)
            .unwrap_err();
        assert!(err.0.contains("JIT_POLICY_FILE"), "{err}");
        let err = Policy::from_sources(None, Some("{not json"), Region::US_EAST_1).unwrap_err();
        assert!(err.0.contains("JIT_POLICY"), "{err}");
        std::fs::remove_file(path).unwrap();
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
        assert!(
            err(r#"{"breakGlassRequesters": ["ok", "semi;colon"]}"#)
                .contains("breakGlassRequesters[1]")
        );
        assert!(err(r#"{"breakGlassMaxDuration": "0s"}"#).contains("breakGlassMaxDuration"));
        let p = Policy::from_json(r#"{"breakGlassRequesters": [" oncall "]}"#).unwrap();
        assert!(p.may_break_glass("oncall") && !p.may_break_glass("alice"));
        assert_eq!(p.break_glass_max_duration, Duration::from_secs(3600));
    }

    #[test]
    fn max_command_age_is_positive_and_at_most_a_day() {
        let err = |text: &str| Policy::from_json(text).unwrap_err().0;
        for zero in [
            r#"{"maxCommandAge": 0}"#,
            r#"{"maxCommandAge": "0"}"#,
            r#"{"maxCommandAge": "0s"}"#,
        ] {
            let e = err(zero);
            assert!(
                e.contains("maxCommandAge") && e.contains("0 is not allowed"),
                "{zero}: {e}"
            );
        }
        let e = err(r#"{"maxCommandAge": "25h"}"#);
        assert!(e.contains("maxCommandAge 25h is longer than 24h"), "{e}");
        assert!(err(r#"{"maxCommandAge": "soon"}"#).contains("maxCommandAge"));
        assert!(err(r#"{"maxCommandAge": true}"#).contains("maxCommandAge"));
        let e = err(r#"{"requireIssuedAt": "no"}"#);
        assert_eq!(e, "requireIssuedAt must be true or false, not a string");
        let p = Policy::from_json(r#"{"maxCommandAge": "24h", "requireIssuedAt": false}"#).unwrap();
        assert_eq!(p.max_command_age, Duration::from_secs(86_400));
        assert!(!p.require_issued_at);
        let p = Policy::from_json(r#"{"maxCommandAge": 60}"#).unwrap();
        assert_eq!(p.max_command_age, Duration::from_secs(60));
    }
}
