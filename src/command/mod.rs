//! The input language: one JSON command with an `action` (docs/DESIGN.md §1).
//!
//! Parsing is strict and total: every input becomes either a typed [`Command`] or a
//! [`Rejection`] whose message names the field. Policy-dependent checks (allowed ports,
//! source width, maximum duration) happen later in [`crate::policy`]; this module only
//! decides what the command *says*.
//!
//! One file per action (`grant.rs`, `revoke.rs`, …, mirroring `service/`), each with its
//! request type and its parser; the shared readers are `fields` (a JSON object, field by
//! field), `ports`, `sources`, `duration` and `validate` (identity fields).

mod duration;
mod echo;
mod extend;
mod fields;
mod grant;
mod grant_id;
mod issued_at;
mod lockdown;
mod ports;
mod revoke;
mod sources;
mod status;
mod sweep;
mod targeted;
mod unlock;
mod validate;

use serde_json::Value;

pub use duration::{human as human_duration, parse_text as parse_duration_text};
pub use echo::Echo;
pub use extend::ExtendRequest;
pub use fields::{printable, type_name};
pub use grant::GrantRequest;
pub use grant_id::GrantId;
pub use issued_at::{ISSUED_AT, parse_rfc3339};
pub use lockdown::{LockdownEnd, LockdownRequest};
pub use ports::{checked as checked_port, parse_port, parse_shorthand};
pub use revoke::RevokeRequest;
pub use sources::RequestedSources;
pub use status::StatusRequest;
pub use sweep::Selection;
pub use targeted::Targeted;
pub use unlock::UnlockRequest;
pub use validate::{
    MAX_REASON, MAX_REQUEST_ID, MAX_REQUESTER, validate_instance_name, validate_reason,
    validate_request_id, validate_requester,
};

use crate::ledger::ReplyTo;
use crate::region::Region;
use crate::rejection::{Code, Rejection};
use fields::Fields;

/// Most items accepted in one list field; a bot sending thousands is broken or hostile.
pub const MAX_LIST_ITEMS: usize = 20;
/// Most instances one sweep, lockdown, unlock or status names explicitly.
pub const MAX_INSTANCE_NAMES: usize = 100;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// `requestId` as the sender wrote it: the idempotency key of a grant, and the id
    /// every outcome answers under (the delivery's id when absent).
    pub request_id: Option<String>,
    pub dry_run: bool,
    /// `replyTo`: where the sender wants to hear about it, echoed in every event.
    pub reply_to: Option<ReplyTo>,
    /// `issuedAt`: when the producer issued it; the age `grant` and `extend` are held to.
    pub issued_at: Option<jiff::Timestamp>,
    /// `region`: where the instances are. Absent: the function's own Region for a
    /// command about named instances, every managed Region for one about all of them.
    pub region: Option<Region>,
    pub action: Action,
}

/// What the command asks for. [`ActionName`] (derived) is the `action` field's value:
/// the variant's name in lower case, written nowhere else.
#[derive(Clone, Debug, PartialEq, Eq, strum::EnumDiscriminants)]
#[strum_discriminants(
    name(ActionName),
    derive(
        serde::Serialize,
        strum::EnumString,
        strum::IntoStaticStr,
        strum::Display,
        strum::VariantArray
    ),
    serde(rename_all = "lowercase"),
    strum(serialize_all = "lowercase")
)]
pub enum Action {
    Grant(GrantRequest),
    Revoke(RevokeRequest),
    Extend(ExtendRequest),
    Sweep(Selection),
    Lockdown(LockdownRequest),
    Unlock(UnlockRequest),
    Status(StatusRequest),
}

impl Action {
    pub fn name(&self) -> &'static str {
        ActionName::from(self).into()
    }

    /// The single instance this command is about, if any: SQS records for different
    /// instances run concurrently, those for the same one in order.
    pub fn instance_name(&self) -> Option<&str> {
        match self {
            Action::Grant(g) => Some(&g.instance_name),
            Action::Revoke(r) => Some(&r.target.instance_name),
            Action::Extend(e) => Some(&e.target.instance_name),
            Action::Status(s) => s.instance_name.as_deref(),
            Action::Sweep(_) | Action::Lockdown(_) | Action::Unlock(_) => None,
        }
    }

    /// Who sent the command, when it says.
    pub fn requester(&self) -> Option<&str> {
        match self {
            Action::Grant(g) => g.requester.as_deref(),
            Action::Revoke(r) => r.target.requester.as_deref(),
            Action::Extend(e) => e.target.requester.as_deref(),
            Action::Sweep(s) | Action::Lockdown(LockdownRequest { selection: s, .. }) => {
                s.requester.as_deref()
            }
            Action::Unlock(u) => u.selection.requester.as_deref(),
            Action::Status(_) => None,
        }
    }
}

impl Command {
    /// Parse one command object.
    pub fn from_json(value: &Value) -> Result<Command, Rejection> {
        let mut f = Fields::new(value, "a command")?;
        let name = f.required_string("action")?;
        let request_id = f
            .string("requestId")?
            .map(validate_request_id)
            .transpose()?;
        let dry_run = f.bool("dryRun")?;
        let reply_to = f.value("replyTo").map(ReplyTo::from_value).transpose()?;
        let issued_at = issued_at::parse(&mut f)?;
        let region = f.string("region")?.map(region).transpose()?;
        let grant = || request_id.clone().map(GrantId::from_valid);
        let action = match name.parse::<ActionName>() {
            Ok(ActionName::Grant) => Action::Grant(GrantRequest::parse(&mut f)?),
            Ok(ActionName::Revoke) => Action::Revoke(RevokeRequest::parse(&mut f, grant())?),
            Ok(ActionName::Extend) => Action::Extend(ExtendRequest::parse(&mut f, grant())?),
            Ok(ActionName::Sweep) => Action::Sweep(Selection::parse(&mut f, false)?),
            Ok(ActionName::Lockdown) => Action::Lockdown(LockdownRequest::parse(&mut f)?),
            Ok(ActionName::Unlock) => Action::Unlock(UnlockRequest::parse(&mut f)?),
            Ok(ActionName::Status) => Action::Status(StatusRequest::parse(&mut f)?),
            Err(_) => return Err(unknown_action(name)),
        };
        f.finish(action.name())?;
        Ok(Command {
            request_id,
            dry_run,
            reply_to,
            issued_at,
            region,
            action,
        })
    }

    /// Whether the command is about every instance (no `instanceNames`, no
    /// `instanceName`): then, without `region`, it covers every managed Region.
    pub fn covers_every_instance(&self) -> bool {
        match &self.action {
            Action::Sweep(s) => s.instance_names.is_none(),
            Action::Lockdown(l) => l.selection.instance_names.is_none(),
            Action::Unlock(u) => u.selection.instance_names.is_none(),
            Action::Status(s) => s.instance_name.is_none(),
            Action::Grant(_) | Action::Revoke(_) | Action::Extend(_) => false,
        }
    }
}

/// `region`: a Lightsail Region; any other name is refused as not managed (no policy
/// could list it).
fn region(name: &str) -> Result<Region, Rejection> {
    Region::parse(name).ok_or_else(|| {
        Rejection::new(
            Code::RegionNotManaged,
            format!(
                "`region` {} is not a Lightsail Region ({})",
                printable(name, 40),
                crate::region::known()
            ),
        )
    })
}

fn unknown_action(name: &str) -> Rejection {
    let all: Vec<&str> = <ActionName as strum::VariantArray>::VARIANTS
        .iter()
        .map(|a| a.into())
        .collect();
    Rejection::new(
        Code::UnknownAction,
        format!(
            "`action` {} is not one of {}",
            printable(name, 40),
            all.join(", ")
        ),
    )
}

fn duration(f: &mut Fields) -> Result<Option<std::time::Duration>, Rejection> {
    f.value("duration")
        .map(|v| duration::parse_duration(v, "duration"))
        .transpose()
}

fn who_and_why(f: &mut Fields) -> Result<(Option<String>, Option<String>), Rejection> {
    let requester = f.string("requester")?.map(validate_requester).transpose()?;
    let reason = f.string("reason")?.map(validate_reason).transpose()?;
    Ok((requester, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

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
    fn issued_at_is_accepted_on_every_action() {
        let at: jiff::Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        for command in [
            json!({"action": "grant", "instanceName": "web-1", "cidrs": ["1.2.3.4"]}),
            json!({"action": "revoke", "instanceName": "web-1"}),
            json!({"action": "extend", "instanceName": "web-1", "requestId": "r"}),
            json!({"action": "sweep"}),
            json!({"action": "lockdown"}),
            json!({"action": "unlock", "requester": "ops"}),
            json!({"action": "status"}),
        ] {
            let mut stamped = command.clone();
            stamped["issuedAt"] = json!("2026-11-23T11:00:00+01:00");
            assert_eq!(parse(stamped).unwrap().issued_at, Some(at), "{command}");
            assert_eq!(parse(command.clone()).unwrap().issued_at, None, "{command}");
        }
        let e = parse(json!({"action": "sweep", "issuedAt": 1_790_157_600})).unwrap_err();
        assert_eq!(e.code, Code::InvalidField);
        assert!(e.message.contains("issuedAt"), "{}", e.message);
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
}
