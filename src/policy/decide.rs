//! The pure policy decisions: a grant request becomes a [`Grant`] (or the
//! [`Rejection`] naming the first field that breaks policy), and an extension a new
//! expiry. No I/O, no clock: the caller passes `now`.

use std::time::Duration;

use ipnet::IpNet;
use jiff::Timestamp;

use super::Policy;
use crate::clock::{later, rfc3339};
use crate::command::{GrantRequest, human_duration};
use crate::firewall::{Family, PortRange, Sources};
use crate::ledger::Grant;
use crate::region::{InstanceRef, Region};
use crate::rejection::{Code, Rejection};

impl Policy {
    /// The policy decision for a grant: everything but what needs the instance's tags.
    pub fn decide_grant(
        &self,
        request: &GrantRequest,
        region: Region,
        request_id: &str,
        now: Timestamp,
    ) -> Result<Grant, Rejection> {
        let instance = InstanceRef::new(region, &request.instance_name);
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
        let limits = self.limits(instance);
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
                        instance,
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
                    instance
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
            break_glass: false,
            ended: None,
        })
    }

    fn check_sources(&self, request: &GrantRequest) -> Result<Sources, Rejection> {
        let mut sources = Sources::default();
        let requested = &request.sources;
        for (family, nets) in [(Family::V4, &requested.ipv4), (Family::V6, &requested.ipv6)] {
            for (i, net) in nets.iter().enumerate() {
                let field = format!("{}[{i}]", family.field());
                self.check_width(net, family, &field)?;
                if !self.allowed_sources.iter().any(|a| a.contains(net)) {
                    return Err(Rejection::new(
                        Code::SourceNotAllowed,
                        format!("`{field}` {net} is outside the policy's allowedSources"),
                    ));
                }
                sources.of_mut(family).insert(net.to_string());
            }
        }
        if !requested.aliases.is_empty() && !self.allow_lightsail_connect {
            return Err(Rejection::new(
                Code::SourceNotAllowed,
                "`cidrListAliases`: lightsail-connect is disabled by policy (allowLightsailConnect)",
            ));
        }
        sources
            .cidr_list_aliases
            .extend(requested.aliases.iter().cloned());
        Ok(sources)
    }

    /// `/0` needs `allowAnywhere`; any other prefix must be at least the family's widest.
    fn check_width(&self, net: &IpNet, family: Family, field: &str) -> Result<(), Rejection> {
        let prefix = net.prefix_len();
        let widest = self.widest_prefix(family);
        if prefix == 0 && !self.allow_anywhere {
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
                    "`{field}` {net} is wider than the policy's widest prefix /{widest} (a /{widest} or narrower, up to /{}, is accepted)",
                    family.bits()
                ),
            ));
        }
        Ok(())
    }

    /// The policy decision for `extend`: the new expiry, capped from the *original* grant
    /// time so repeated extensions cannot stretch access past the maximum.
    pub fn decide_extend(
        &self,
        instance: InstanceRef,
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

fn list(ports: &[PortRange]) -> String {
    ports
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Action, Command};
    use crate::firewall::Protocol;
    use crate::region::{InstanceRef, Region};
    use serde_json::Value;
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

    fn web_1() -> InstanceRef<'static> {
        InstanceRef::new(Region::US_EAST_1, "web-1")
    }

    fn decide(policy: &Policy, extra: Value) -> Result<Grant, Rejection> {
        let mut v = json!({"action": "grant", "instanceName": "web-1", "cidrs": ["203.0.113.7"], "requester": "alice"});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        policy.decide_grant(&grant_request(v), Region::US_EAST_1, "req-1", now())
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
        let home = |name| InstanceRef::new(Region::US_EAST_1, name);
        assert!(p.lists_instance(home("db-1")) && !p.lists_instance(home("web-1")));
    }

    #[test]
    fn extend_is_capped_from_the_original_grant_time() {
        let p = Policy::default();
        let g = decide(&p, json!({})).unwrap();
        let later_now = later(now(), Duration::from_secs(11 * 3600));
        assert!(
            p.decide_extend(web_1(), &g, Some(Duration::from_secs(3600)), later_now)
                .is_ok()
        );
        let e = p
            .decide_extend(web_1(), &g, Some(Duration::from_secs(7200)), later_now)
            .unwrap_err();
        assert_eq!(e.code, Code::DurationTooLong);
    }
}
