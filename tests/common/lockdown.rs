//! The lockdown world the lockdown tests share: web-1 locks down to 443 from anywhere
//! (not its baseline, so the captured baseline must survive the lockdown), and on-call
//! may break glass for 30 minutes at most. And the commands those tests send.

use lightsail_jit::firewall::{PortRule, Protocol};
use lightsail_jit::policy::Policy;
use serde_json::{Value, json};

use super::{GrantCommand, rule};

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

/// A lockdown of web-1 by ops for the night; `extra` adds `duration`, `until`, …
pub fn web_lockdown(id: &str, extra: Value) -> Value {
    let mut command = json!({"action": "lockdown", "requestId": id, "instanceNames": ["web-1"],
                             "requester": "ops", "reason": "night"});
    for (k, v) in extra.as_object().into_iter().flatten() {
        command[k] = v.clone();
    }
    command
}

/// Ops lifting web-1's lockdown in the morning.
pub fn web_unlock() -> Value {
    json!({"action": "unlock", "instanceNames": ["web-1"], "requester": "ops", "reason": "morning"})
}

/// On-call's grant on web-1 from `cidr`, with a reason: break glass while it is locked.
pub fn break_glass(id: &str, cidr: &str, secs: u64) -> Value {
    GrantCommand::on("web-1")
        .id(id)
        .from(cidr)
        .for_secs(secs)
        .requester("oncall")
        .reason("pager: disk full")
        .json()
}
