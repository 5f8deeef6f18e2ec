//! The lockdown world the lockdown tests share: web-1 locks down to 443 from anywhere
//! (not its baseline, so the captured baseline must survive the lockdown), and on-call
//! may break glass for 30 minutes at most.

use lightsail_jit::firewall::{PortRule, Protocol};
use lightsail_jit::policy::Policy;
use serde_json::json;

use super::rule;

pub fn lockdown_policy() -> Policy {
    Policy::from_value(json!({
        "breakGlassRequesters": ["oncall"],
        "breakGlassMaxDuration": "30m",
        "instances": {"web-1": {
            "lockdown": [{"protocol": "tcp", "fromPort": 443, "toPort": 443,
                          "cidrs": ["0.0.0.0/0"], "ipv6Cidrs": ["::/0"]}]
        }}
    }))
    .unwrap()
}

/// web-1's lockdown rules, as `lockdown_policy` declares them.
pub fn web_lockdown_rules() -> Vec<PortRule> {
    vec![rule(
        Protocol::Tcp,
        443,
        443,
        &["0.0.0.0/0"],
        &["::/0"],
        &[],
    )]
}
