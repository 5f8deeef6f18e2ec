//! Outcomes: the JSON a command answers with (docs/DESIGN.md §2).
//!
//! Every outcome carries a `status`. `rejected` is a normal outcome (the command was
//! wrong; retrying cannot help), so the Lambda returns it as `Ok`. Only transient
//! failures become an `Err`, which makes Lambda, SQS or EventBridge deliver again.

use jiff::Timestamp;
use serde::Serialize;

use crate::clock::{serialize_optional_second, serialize_second};
use crate::command::ActionName;
use crate::firewall::{Diff, PortRange, PortRule, Sources};
use crate::ledger::{Grant, Tag};
use crate::region::{InstanceRef, Region};
use crate::rejection::{Code, Rejection};

#[derive(Clone, Debug, PartialEq, Serialize, strum::IntoStaticStr)]
#[serde(tag = "status", rename_all = "camelCase")]
#[strum(serialize_all = "camelCase")]
pub enum Outcome {
    #[serde(rename_all = "camelCase")]
    Granted {
        request_id: String,
        region: Region,
        instance_name: String,
        #[serde(serialize_with = "serialize_second")]
        expires_at: Timestamp,
        opened: Vec<PortRule>,
        /// The same request was delivered before: nothing new was recorded.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
        /// What ends this grant early: the next lockdown window (`expiresAt` is its
        /// start), or `breakGlassMaxDuration`.
        #[serde(skip_serializing_if = "Option::is_none")]
        capped_by: Option<String>,
        /// Given during a lockdown to a break-glass requester: the lockdown keeps it open.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        break_glass: bool,
    },
    #[serde(rename_all = "camelCase")]
    Rejected {
        request_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        region: Option<Region>,
        #[serde(skip_serializing_if = "Option::is_none")]
        instance_name: Option<String>,
        error: Rejection,
    },
    #[serde(rename_all = "camelCase")]
    Revoked {
        request_id: String,
        region: Region,
        instance_name: String,
        revoked: Vec<String>,
        api_calls: usize,
    },
    #[serde(rename_all = "camelCase")]
    Extended {
        request_id: String,
        region: Region,
        instance_name: String,
        #[serde(serialize_with = "serialize_second")]
        expires_at: Timestamp,
        /// The lockdown window that ends the grant early: `expiresAt` is its start.
        #[serde(skip_serializing_if = "Option::is_none")]
        capped_by: Option<String>,
    },
    #[serde(rename_all = "camelCase")]
    Swept {
        instances: usize,
        expired: usize,
        drift_corrected: usize,
        api_calls: usize,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        failed: Vec<InstanceFailure>,
    },
    #[serde(rename_all = "camelCase")]
    LockedDown {
        instances: usize,
        ended: usize,
        /// When the lockdown ends by itself, or `null`: it holds until `unlock`.
        #[serde(serialize_with = "serialize_optional_second")]
        until: Option<Timestamp>,
        api_calls: usize,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        failed: Vec<InstanceFailure>,
    },
    #[serde(rename_all = "camelCase")]
    Unlocked {
        instances: usize,
        api_calls: usize,
        /// Instances left locked: inside a lockdown window (`LockedDown`), or refused.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        failed: Vec<InstanceFailure>,
    },
    #[serde(rename_all = "camelCase")]
    Status { instances: Vec<InstanceStatus> },
    /// `dryRun: true`: what the command would do. Nothing was written.
    #[serde(rename_all = "camelCase")]
    Plan {
        request_id: String,
        action: ActionName,
        instances: Vec<InstancePlan>,
    },
}

impl Outcome {
    pub fn rejected(request_id: &str, instance: Option<InstanceRef>, error: Rejection) -> Outcome {
        Outcome::Rejected {
            request_id: request_id.to_string(),
            region: instance.map(|i| i.region),
            instance_name: instance.map(|i| i.name.to_string()),
            error,
        }
    }

    /// The `status` field: serde and strum derive it from the variant's name alike.
    pub fn status(&self) -> &'static str {
        self.into()
    }
}

/// An instance a sweep or lockdown could not finish, for a permanent reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceFailure {
    pub region: Region,
    pub instance_name: String,
    /// Our code (`LightsailRefused`, `InstanceNotFound`, …); Lightsail's is in `message`.
    pub code: Code,
    pub message: String,
}

/// The exact plan for one instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstancePlan {
    pub region: Region,
    pub instance_name: String,
    /// `OpenInstancePublicPorts` calls (grant).
    pub open: Vec<PortRule>,
    /// The `PutInstancePublicPorts` body, when the firewall must be replaced.
    pub put_body: Option<Vec<PortRule>>,
    pub tags_to_write: Vec<Tag>,
    pub tags_to_remove: Vec<String>,
    /// Against the live firewall.
    pub diff: Diff,
    /// Grants this command ends early (revoke, lockdown).
    pub ends: Vec<String>,
    /// Expired grants whose access this command closes.
    pub expired: Vec<String>,
    /// Ended grants whose tags this command removes (they can no longer be in flight).
    pub removes: Vec<String>,
}

impl InstancePlan {
    /// A plan that does nothing to `instance`, to build on.
    pub fn empty(instance: InstanceRef) -> Self {
        InstancePlan {
            region: instance.region,
            instance_name: instance.name.to_string(),
            open: Vec::new(),
            put_body: None,
            tags_to_write: Vec::new(),
            tags_to_remove: Vec::new(),
            diff: Diff::default(),
            ends: Vec::new(),
            expired: Vec::new(),
            removes: Vec::new(),
        }
    }
}

/// Where the baseline in force comes from (`baselineOrigin` in `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BaselineOrigin {
    /// `instances.<name>.baseline` in policy: enforced by every sweep.
    Declared,
    /// Captured into tags at the first grant.
    Captured,
    /// Grants exist but the captured baseline is gone: the live firewall minus every
    /// grant's rules (so nothing a grant opened survives its end).
    Recovered,
    /// No grants and nothing declared: the live firewall is the baseline.
    Live,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStatus {
    pub region: Region,
    pub instance_name: String,
    pub grants: Vec<GrantView>,
    /// Where the baseline in force comes from: `declared` (policy), `captured` (tags),
    /// `recovered` (tags lost; firewall minus grants) or `live` (no grants: the firewall).
    pub baseline_origin: BaselineOrigin,
    pub baseline: Vec<PortRule>,
    pub firewall: Vec<PortRule>,
    /// The lockdown in force now, or `null`.
    pub lockdown: Option<LockdownView>,
    /// When the next lockdown window starts, or `null` when none applies.
    #[serde(serialize_with = "serialize_optional_second")]
    pub next_lockdown: Option<Timestamp>,
}

/// Where a lockdown comes from (`source` in `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LockdownSource {
    /// A policy `lockdownWindows` entry.
    Window,
    /// A `lockdown` command, recorded in the instance's `jit:lockdown` tag.
    Command,
}

/// A lockdown in force on an instance, as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockdownView {
    pub source: LockdownSource,
    #[serde(serialize_with = "serialize_second")]
    pub since: Timestamp,
    #[serde(serialize_with = "serialize_optional_second")]
    pub until: Option<Timestamp>,
    /// Who sent the `lockdown` command (`null` for a window).
    pub requester: Option<String>,
    /// For a window, the window as it reads (`every day 20:00-07:00 Europe/Berlin`); for
    /// a command, its `reason`.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantView {
    pub request_id: String,
    pub requester: String,
    #[serde(serialize_with = "serialize_second")]
    pub granted_at: Timestamp,
    #[serde(serialize_with = "serialize_second")]
    pub expires_at: Timestamp,
    pub active: bool,
    pub ports: Vec<PortRange>,
    pub sources: Sources,
    /// Given during a lockdown to a break-glass requester (absent otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
}

impl GrantView {
    pub fn new(grant: &Grant, now: Timestamp) -> Self {
        GrantView {
            request_id: grant.request_id.clone(),
            requester: grant.requester.clone(),
            granted_at: grant.granted_at,
            expires_at: grant.expires_at,
            active: grant.is_active(now),
            ports: grant.ports.clone(),
            sources: grant.sources.clone(),
            break_glass: grant.break_glass,
        }
    }
}
