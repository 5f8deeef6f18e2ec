//! The audit trail: one structured log line per decision.
//!
//! Lines go through `tracing` with the fields as fields (not formatted text), so with
//! `AWS_LAMBDA_LOG_FORMAT=JSON` each decision is one JSON object in CloudWatch,
//! correlated with the invocation's `requestId` span by the runtime. Query them with
//! `fields.decision` in Logs Insights.

use jiff::Timestamp;

use crate::clock::rfc3339;
use crate::firewall::{PortRange, Sources};
use crate::ledger::Grant;
use crate::rejection::Rejection;

/// The `decision` field: what happened to a grant or a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "camelCase")]
pub enum Verdict {
    Granted,
    /// Granted during a lockdown to a `breakGlassRequesters` member.
    BreakGlass,
    Rejected,
    Revoked,
    Extended,
    /// A sweep closed the access of a grant whose time had passed.
    Expired,
    /// The tag of an ended grant was removed (it can no longer be in flight).
    Removed,
    /// A lockdown ended the grant early.
    Lockdown,
    /// A `lockdown` command was recorded on an instance.
    Locked,
    /// A lockdown by command was lifted: by `unlock`, or by a sweep after its end.
    Unlocked,
}

/// What was decided about one grant or one instance.
pub struct Decision<'a> {
    pub decision: Verdict,
    pub request_id: &'a str,
    pub requester: Option<&'a str>,
    pub instance: Option<&'a str>,
    pub ports: &'a [PortRange],
    pub sources: Option<&'a Sources>,
    pub expires_at: Option<Timestamp>,
    /// The rejection code or the cause (`expired`, `revoked`, `lockdown`).
    pub reason: Option<&'a str>,
    /// The requester's free-text justification.
    pub justification: Option<&'a str>,
}

impl<'a> Decision<'a> {
    /// A decision about `grant` on `instance`, attributed to the grant's requester.
    pub fn about(decision: Verdict, grant: &'a Grant, instance: &'a str) -> Self {
        Decision {
            decision,
            request_id: &grant.request_id,
            requester: Some(&grant.requester),
            instance: Some(instance),
            ports: &grant.ports,
            sources: Some(&grant.sources),
            expires_at: Some(grant.expires_at),
            reason: None,
            justification: None,
        }
    }

    /// A refused command: no grant, the code as the reason, the message as detail.
    pub fn rejected(
        request_id: &'a str,
        instance: Option<&'a str>,
        rejection: &'a Rejection,
    ) -> Self {
        Decision {
            decision: Verdict::Rejected,
            request_id,
            requester: None,
            instance,
            ports: &[],
            sources: None,
            expires_at: None,
            reason: Some(rejection.code.as_str()),
            justification: Some(&rejection.message),
        }
    }

    /// A decision about an instance as a whole (a lockdown recorded or lifted).
    pub fn instance(
        decision: Verdict,
        request_id: &'a str,
        requester: Option<&'a str>,
        instance: &'a str,
    ) -> Self {
        Decision {
            decision,
            request_id,
            requester,
            instance: Some(instance),
            ports: &[],
            sources: None,
            expires_at: None,
            reason: None,
            justification: None,
        }
    }

    pub fn log(&self) {
        let rules: Vec<String> = self.ports.iter().map(ToString::to_string).collect();
        let sources: Vec<&str> = self.sources.map(|s| s.iter().collect()).unwrap_or_default();
        tracing::info!(
            target: "audit",
            audit = true,
            decision = <&str>::from(self.decision),
            requestId = self.request_id,
            requester = self.requester.unwrap_or(""),
            instance = self.instance.unwrap_or(""),
            rules = rules.join(",").as_str(),
            sources = sources.join(",").as_str(),
            expiresAt = self.expires_at.map(rfc3339).unwrap_or_default().as_str(),
            reason = self.reason.unwrap_or(""),
            justification = self.justification.unwrap_or(""),
            "decision"
        );
    }
}
