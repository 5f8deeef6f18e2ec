//! `grant`: open ports on one instance, from the given sources, for a while.
//!
//! `{"action":"grant","instanceName":"web-1","ports":["22"],"cidrs":["203.0.113.7"],
//! "duration":"1h","requester":"alice","reason":"hotfix"}` — `ports` and `duration`
//! default from policy; at least one source is required.

use std::time::Duration;

use super::fields::Fields;
use super::sources::{self, RequestedSources};
use super::validate::validate_instance_name;
use super::{MAX_LIST_ITEMS, duration, parse_port, who_and_why};
use crate::firewall::{Family, PortRange};
use crate::rejection::{Code, Rejection};

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

impl GrantRequest {
    pub(super) fn parse(f: &mut Fields) -> Result<GrantRequest, Rejection> {
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
                Some(items) => sources::parse_net_list(items, Family::V4)?,
                None => Vec::new(),
            },
            ipv6: match f.array("ipv6Cidrs", MAX_LIST_ITEMS)? {
                Some(items) => sources::parse_net_list(items, Family::V6)?,
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
}
