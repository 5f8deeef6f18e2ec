//! The audit trail: one structured log line per decision.
//!
//! Lines go through `tracing` with the fields as fields (not formatted text), so with
//! `AWS_LAMBDA_LOG_FORMAT=JSON` each decision is one JSON object in CloudWatch,
//! correlated with the invocation's `requestId` span by the runtime. Query them with
//! `fields.decision` in Logs Insights.

use jiff::Timestamp;

use crate::clock::rfc3339;
use crate::firewall::{PortRange, Sources};
use crate::ledger::{Grant, ReplyTo};
use crate::region::InstanceRef;
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
    /// A sweep warned that a grant ends within the policy's `warnBefore`.
    Expiring,
    /// The tag of an ended grant was removed (it can no longer be in flight).
    Removed,
    /// A lockdown ended the grant early.
    Lockdown,
    /// A `lockdown` command was recorded on an instance.
    Locked,
    /// A lockdown by command was lifted: by `unlock`, or by a sweep after its end.
    Unlocked,
}

/// What was decided about one grant or one instance. The same value is the audit line
/// and, when a bus is configured, the event (`announce`): every decision is both.
pub struct Decision<'a> {
    pub decision: Verdict,
    pub request_id: &'a str,
    /// Who made the decision happen (the requester, or who revoked or extended).
    pub requester: Option<&'a str>,
    /// The grant's own requester, when the decision is about a grant.
    pub owner: Option<&'a str>,
    pub instance: Option<InstanceRef<'a>>,
    pub ports: &'a [PortRange],
    pub sources: Option<&'a Sources>,
    pub expires_at: Option<Timestamp>,
    /// The rejection code or the cause (`expired`, `revoked`, `lockdown`).
    pub reason: Option<&'a str>,
    /// The requester's free-text justification.
    pub justification: Option<&'a str>,
    // Only the event carries these (the audit line says them in the fields above).
    /// Where the sender wants to hear about it: the command's, or the grant's kept one.
    pub reply_to: Option<&'a ReplyTo>,
    /// The rejection, for a refused command.
    pub error: Option<&'a Rejection>,
    /// The refused command's action, when it was readable.
    pub command: Option<&'a str>,
    pub break_glass: bool,
    /// What shortened a grant or an extension (`Outcome::Granted::capped_by`).
    pub capped_by: Option<&'a str>,
}

impl<'a> Decision<'a> {
    /// A decision about `grant` on `instance`, attributed to the grant's requester.
    pub fn about(decision: Verdict, grant: &'a Grant, instance: InstanceRef<'a>) -> Self {
        Decision {
            decision,
            request_id: &grant.request_id,
            requester: Some(&grant.requester),
            owner: Some(&grant.requester),
            instance: Some(instance),
            ports: &grant.ports,
            sources: Some(&grant.sources),
            expires_at: Some(grant.expires_at),
            break_glass: grant.break_glass,
            ..Decision::empty(decision, &grant.request_id)
        }
    }

    /// A refused command: no grant, the code as the reason, the message as detail.
    pub fn rejected(
        request_id: &'a str,
        instance: Option<InstanceRef<'a>>,
        rejection: &'a Rejection,
    ) -> Self {
        Decision {
            instance,
            reason: Some(rejection.code.as_str()),
            justification: Some(&rejection.message),
            error: Some(rejection),
            ..Decision::empty(Verdict::Rejected, request_id)
        }
    }

    /// A decision about an instance as a whole (a lockdown recorded or lifted).
    pub fn instance(
        decision: Verdict,
        request_id: &'a str,
        requester: Option<&'a str>,
        instance: InstanceRef<'a>,
    ) -> Self {
        Decision {
            requester,
            instance: Some(instance),
            ..Decision::empty(decision, request_id)
        }
    }

    /// A decision with nothing but its verdict and request id.
    fn empty(decision: Verdict, request_id: &'a str) -> Self {
        Decision {
            decision,
            request_id,
            requester: None,
            owner: None,
            instance: None,
            ports: &[],
            sources: None,
            expires_at: None,
            reason: None,
            justification: None,
            reply_to: None,
            error: None,
            command: None,
            break_glass: false,
            capped_by: None,
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
            region = self.instance.map(|i| i.region.as_str()).unwrap_or(""),
            instance = self.instance.map(|i| i.name).unwrap_or(""),
            rules = rules.join(",").as_str(),
            sources = sources.join(",").as_str(),
            expiresAt = self.expires_at.map(rfc3339).unwrap_or_default().as_str(),
            reason = self.reason.unwrap_or(""),
            justification = self.justification.unwrap_or(""),
            "decision"
        );
    }
}
