//! Policy: what may be opened, from where, for whom and for how long (docs/DESIGN.md §3).
//!
//! Three concepts, one file each:
//! - this file, the validated policy as types, with the lookups the use cases need;
//! - `load`: JSON from `JIT_POLICY_FILE` and/or `JIT_POLICY` (the variable's top-level
//!   keys override the file's), validated once, at cold start — a typo or an impossible
//!   setting stops the function with a message naming the field, instead of surfacing
//!   as odd decisions later;
//! - `decide`: the pure decisions that turn a grant or extend request into a
//!   [`crate::ledger::Grant`] or an expiry, or a [`crate::rejection::Rejection`];
//! - `freshness`: whether a grant or extend is still a request for access now, by its
//!   age (`maxCommandAge`, `requireIssuedAt`).

mod decide;
pub mod freshness;
mod load;
pub mod window;

use std::collections::BTreeMap;
use std::time::Duration;

use ipnet::IpNet;
use jiff::Timestamp;

use crate::firewall::{Family, PortRange, RuleSet};
use crate::region::{InstanceRef, Region};
use window::{Occurrence, Window};

pub use load::region_list;

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
    /// This instance's own windows, in force besides the top-level ones.
    pub lockdown_windows: Vec<Window>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub limits: Limits,
    /// `allowedSources`: IPv4 and IPv6 networks a source must lie within.
    pub allowed_sources: Vec<IpNet>,
    pub widest_ipv4_prefix: u8,
    pub widest_ipv6_prefix: u8,
    pub allow_anywhere: bool,
    pub allow_lightsail_connect: bool,
    pub requesters: Option<Vec<String>>,
    pub require_reason: bool,
    /// The function's own Region: what a command without `region`, and a policy key
    /// without `region/`, mean.
    pub home: Region,
    /// `regions`: the Regions this function manages (default: `home` alone), in the
    /// policy's order.
    pub regions: Vec<Region>,
    pub managed_instances: Vec<(Region, String)>,
    /// `instances`, by Region then name (`eu-west-1/web-1`; a bare name is `home`'s).
    pub instances: BTreeMap<Region, BTreeMap<String, InstancePolicy>>,
    pub sweep_concurrency: usize,
    /// `lockdownWindows`: in force on every managed instance.
    pub lockdown_windows: Vec<Window>,
    /// `breakGlassRequesters`: who may still be granted access during a lockdown.
    pub break_glass_requesters: Vec<String>,
    /// `breakGlassMaxDuration`: the longest a break-glass grant lasts (default 1h).
    pub break_glass_max_duration: Duration,
    /// `warnBefore`: how long before its end a grant is announced as expiring (default
    /// 5m; zero: never).
    pub warn_before: Duration,
    /// `maxCommandAge`: the oldest a grant or extend may be when it runs (default 15m).
    pub max_command_age: Duration,
    /// `requireIssuedAt`: grant and extend must carry `issuedAt` (default true).
    pub require_issued_at: bool,
}

/// A lockdown window in force on an instance now: which window, and this occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowInForce<'a> {
    pub window: &'a Window,
    pub occurrence: Occurrence,
}

/// Which instance a policy lookup is about: an [`InstanceRef`] or a Lightsail instance
/// (which knows its Region). Never a bare name: which Region that would mean is the
/// caller's to say.
pub trait InstanceKey {
    fn region(&self, home: Region) -> Region;
    fn name(&self) -> &str;
}

impl InstanceKey for InstanceRef<'_> {
    fn region(&self, _: Region) -> Region {
        self.region
    }
    fn name(&self) -> &str {
        self.name
    }
}

impl Policy {
    /// One of `regions`: commands may name it, sweeps cover it.
    pub fn manages(&self, region: Region) -> bool {
        self.regions.contains(&region)
    }

    fn instance(&self, key: &impl InstanceKey) -> Option<&InstancePolicy> {
        self.instances.get(&key.region(self.home))?.get(key.name())
    }

    /// Named in policy (in `managedInstances` or `instances`): managed without the tag.
    pub fn lists_instance(&self, key: impl InstanceKey) -> bool {
        let region = key.region(self.home);
        self.managed_instances
            .iter()
            .any(|(r, n)| *r == region && n == key.name())
            || self.instance(&key).is_some()
    }

    pub fn limits(&self, key: impl InstanceKey) -> &Limits {
        self.instance(&key).map_or(&self.limits, |i| &i.limits)
    }

    pub fn declared_baseline(&self, key: impl InstanceKey) -> Option<&RuleSet> {
        self.instance(&key).and_then(|i| i.baseline.as_ref())
    }

    pub fn lockdown_rules(&self, key: impl InstanceKey) -> Option<&RuleSet> {
        self.instance(&key).and_then(|i| i.lockdown.as_ref())
    }

    /// Every window that applies to the instance: the top-level ones and its own.
    pub fn windows(&self, key: impl InstanceKey) -> impl Iterator<Item = &Window> {
        let own = self.instance(&key).map(|i| i.lockdown_windows.as_slice());
        self.lockdown_windows.iter().chain(own.unwrap_or_default())
    }

    /// The window locking the instance down at `now`, if any; of several, the one that
    /// ends last (the instance stays locked until then).
    pub fn window_in_force(
        &self,
        key: impl InstanceKey,
        now: Timestamp,
    ) -> Option<WindowInForce<'_>> {
        self.windows(key)
            .filter_map(|window| {
                window
                    .in_force(now)
                    .map(|occurrence| WindowInForce { window, occurrence })
            })
            .max_by_key(|w| w.occurrence.end)
    }

    /// The first window start on the instance after `now`.
    pub fn next_window(
        &self,
        key: impl InstanceKey,
        now: Timestamp,
    ) -> Option<(&Window, Timestamp)> {
        self.windows(key)
            .filter_map(|window| window.next_start(now).map(|start| (window, start)))
            .min_by_key(|(_, start)| *start)
    }

    pub fn may_break_glass(&self, requester: &str) -> bool {
        self.break_glass_requesters.iter().any(|r| r == requester)
    }

    /// `widestIpv4Prefix` or `widestIpv6Prefix`: the shortest prefix a source may have.
    pub fn widest_prefix(&self, family: Family) -> u8 {
        match family {
            Family::V4 => self.widest_ipv4_prefix,
            Family::V6 => self.widest_ipv6_prefix,
        }
    }
}
