//! The reconcile protocol for one instance (docs/DESIGN.md §5): the pure [`plan`] and
//! the ordered [`apply`].
//!
//! desired = canonical(baseline ∪ rules of the grants that stay). The order of the
//! writes is the safety argument:
//!
//! 0. the end markers of grants this command ends early (`ledger::end`), so that an
//!    interrupted revoke or lockdown is still an end, and no racing `extend` undoes it;
//! 1. `PutInstancePublicPorts(desired)`, only if the live firewall differs;
//! 2. only after the Put succeeded, untag the grants that ended (and the captured
//!    baseline once no grant is left) — so a port is never open without a tag that a
//!    later sweep will close;
//! 3. re-read the instance and re-open any active grant whose rules the Put removed —
//!    a grant recorded while we were working (it wrote its tag after our read) is never
//!    dropped. If that grant raced our removal of the baseline tags, write them back.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::locked::in_force;
use super::verify::ensure_open;
use crate::firewall::{Diff, PortRange, PortRule, RuleSet};
use crate::ledger::{
    BASELINE_KEY, EndedBy, Grant, GrantEnd, LOCKDOWN_KEY, Ledger, LockdownRecord, ReplyTo, Tag,
    encode_baseline, encode_end, encode_lockdown,
};
use crate::lightsail::{Instance, Lightsail, LightsailError};
use crate::outcome::{BaselineOrigin, InstancePlan};
use crate::policy::{InstanceKey, Policy};
use crate::region::{InstanceRef, Region};

/// What a reconcile does besides closing what has expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending<'a> {
    /// Sweep: only expired grants end (and whatever a lockdown in force ends).
    Expired,
    /// Revoke one grant, or every grant on the instance; `by` is the revoke's request id
    /// (kept in the end markers, so a redelivery knows what it ended).
    Revoke { grant: Option<&'a str>, by: &'a str },
    /// Lockdown by command: record it, end every grant but break-glass ones, and hold
    /// the lockdown rules.
    Lockdown(&'a LockdownRecord),
    /// Unlock: lift the lockdown by command; the baseline and break-glass grants return.
    Unlock,
}

pub fn baseline_in_force(
    policy: &Policy,
    name: impl InstanceKey,
    ledger: &Ledger,
    actual: &RuleSet,
) -> (RuleSet, BaselineOrigin) {
    if let Some(declared) = policy.declared_baseline(name) {
        return (declared.clone(), BaselineOrigin::Declared);
    }
    if let Some(captured) = &ledger.baseline {
        return (captured.clone(), BaselineOrigin::Captured);
    }
    if ledger.grants.is_empty() {
        return (actual.clone(), BaselineOrigin::Live);
    }
    let mut granted = RuleSet::new();
    for grant in &ledger.grants {
        granted.union(&grant.rules());
    }
    (actual.minus(&granted), BaselineOrigin::Recovered)
}

/// How long a grant's tag outlives the grant's decision at least: the longest a Lambda
/// invocation can run. A grant can still be between its tag write and its last
/// `OpenInstancePublicPorts` until then, so removing its tag earlier could leave a port
/// open that no sweep knows about.
pub const LINGER: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Whether a grant's tag may be removed: it has ended and cannot be in flight any more,
/// nor can an `extend` that read it before its early end (which would otherwise write
/// the grant's tag back, without the end marker, after we removed both).
pub fn removable(grant: &Grant, now: Timestamp) -> bool {
    let settled = |since| now >= crate::clock::later(since, LINGER);
    !grant.is_active(now)
        && settled(grant.granted_at)
        && grant.ended.as_ref().is_none_or(|e| settled(e.at))
}

/// What one reconcile will do to one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub region: Region,
    pub instance_name: String,
    /// Grants this command ends early (revoke, lockdown).
    pub ended: Vec<Grant>,
    /// Grants an earlier delivery of this same command ended already (their end markers
    /// name it), or, for a revoke of one grant, that something else ended early: a
    /// redelivery answers and announces them as the first attempt would have.
    pub ended_earlier: Vec<Grant>,
    /// Grants whose time had passed and whose rules this reconcile closes.
    pub expired: Vec<Grant>,
    /// Grants whose tags this reconcile removes.
    pub removed: Vec<Grant>,
    pub put: Option<Vec<PortRule>>,
    pub diff: Diff,
    /// Lockdown tags removed before the Put (an unlock, a lockdown past its end): should
    /// the Put fail, the next sweep restores the baseline instead of locking again.
    pub lift: Vec<String>,
    pub untag: Vec<String>,
    /// Tags written first: end markers of grants ended early (their tags stay, still
    /// tracked) and a recovered baseline while grants remain.
    pub retag: Vec<Tag>,
    /// The live firewall differed from what the ledger explains.
    pub drift: bool,
    pub baseline: RuleSet,
    pub baseline_origin: BaselineOrigin,
    /// A lockdown (a window or a command) is in force after this reconcile: it sets the
    /// firewall, and only break-glass grants are re-opened after the Put.
    pub locked: bool,
    /// The lockdown by command in force after this reconcile.
    pub lockdown: Option<LockdownRecord>,
    /// A lockdown puts declared rules in place of a baseline that only the tags keep.
    pub keeps_baseline: bool,
    /// The lockdown by command this reconcile lifts (an unlock, its end passed).
    pub lifted: Option<LockdownRecord>,
    /// The `replyTo` kept with each grant, for the events about them.
    pub replies: BTreeMap<String, ReplyTo>,
}

impl Plan {
    /// The instance this plan reconciles.
    pub fn instance(&self) -> InstanceRef<'_> {
        InstanceRef::new(self.region, &self.instance_name)
    }

    /// What the firewall must be after this reconcile: the Put's body, or, when no Put
    /// is due, the live firewall `actual` the plan was made from.
    pub fn desired(&self, actual: &RuleSet) -> RuleSet {
        match &self.put {
            Some(body) => RuleSet::from_rules(body),
            None => actual.clone(),
        }
    }

    pub fn writes(&self) -> bool {
        self.put.is_some()
            || !self.untag.is_empty()
            || !self.retag.is_empty()
            || !self.lift.is_empty()
    }

    /// Whether this reconcile recorded a lockdown.
    pub fn records_lockdown(&self) -> bool {
        self.retag.iter().any(|t| t.key == LOCKDOWN_KEY)
    }

    pub fn view(&self) -> InstancePlan {
        InstancePlan {
            region: self.region,
            instance_name: self.instance_name.clone(),
            open: Vec::new(),
            put_body: self.put.clone(),
            tags_to_write: self.retag.clone(),
            tags_to_remove: self.lift.iter().chain(&self.untag).cloned().collect(),
            diff: self.diff.clone(),
            ends: ids(&self.ended),
            expired: ids(&self.expired),
            removes: ids(&self.removed),
        }
    }
}

fn ids(grants: &[Grant]) -> Vec<String> {
    grants.iter().map(|g| g.request_id.clone()).collect()
}

/// Decide, without I/O, what reconciling `instance` at `now` requires.
pub fn plan(policy: &Policy, instance: &Instance, ending: Ending, now: Timestamp) -> Plan {
    let name = instance.name.as_str();
    let ledger = Ledger::read(&instance.tags);
    let actual = RuleSet::from_rules(&instance.ports);
    let (baseline, baseline_origin) = baseline_in_force(policy, instance, &ledger, &actual);

    // The lockdown by command after this reconcile: the one this command records (the
    // one already recorded when this is its redelivery), none after an unlock, else the
    // ledger's while in force.
    let recorded = ledger.lockdown.as_ref();
    let (command_lockdown, records_new) = match ending {
        Ending::Lockdown(record) => match recorded.filter(|r| r.request_id == record.request_id) {
            Some(same) => (Some(same), false),
            None => (Some(record), true),
        },
        Ending::Unlock => (None, false),
        _ => (recorded, false),
    };
    let command_lockdown = command_lockdown.filter(|r| r.in_force(now));
    // A lockdown in force ends every grant but break-glass ones, whatever the command:
    // grants active when it starts end at its first reconcile.
    let window = policy.window_in_force(instance, now);
    let locked = window.is_some() || command_lockdown.is_some();
    let revoked = |g: &Grant| match ending {
        Ending::Revoke { grant, .. } => grant.is_none_or(|id| g.request_id == id),
        Ending::Expired | Ending::Lockdown(_) | Ending::Unlock => false,
    };
    let targeted = |g: &Grant| (locked && !g.break_glass) || revoked(g);
    // What each ending records as its cause: the revoke, else the lockdown in force.
    let ended_by = |g: &Grant| match (ending, command_lockdown) {
        (Ending::Revoke { by, .. }, _) if revoked(g) => EndedBy::revoke(by),
        (_, Some(record)) => EndedBy::lockdown(&record.request_id),
        (_, None) => EndedBy::Window,
    };
    let ended: Vec<Grant> = ledger
        .grants
        .iter()
        .filter(|g| targeted(g) && g.is_active(now))
        .cloned()
        .collect();
    let staying = |g: &&Grant| g.is_active(now) && !targeted(g);
    let this_command = match ending {
        Ending::Revoke { by, .. } => Some(EndedBy::revoke(by)),
        Ending::Lockdown(record) => Some(EndedBy::lockdown(&record.request_id)),
        Ending::Expired | Ending::Unlock => None,
    };
    let ended_earlier: Vec<Grant> = ledger
        .grants
        .iter()
        .filter(|g| {
            let Some(end) = g.ended.as_ref().filter(|_| !g.is_active(now)) else {
                return false;
            };
            Some(&end.by) == this_command.as_ref()
                || matches!(ending, Ending::Revoke { grant: Some(id), .. } if g.request_id == id)
        })
        .cloned()
        .collect();

    // Desired is computed from the ledger alone, never from the live firewall: whatever
    // is open that no staying grant and no baseline explains gets closed (drift, a lost
    // untag, a hand-opened port). A lockdown swaps the baseline for its own rules and
    // keeps only break-glass grants.
    let lockdown_rules = policy.lockdown_rules(instance);
    let mut desired = match locked {
        true => lockdown_rules.unwrap_or(&baseline).clone(),
        false => baseline.clone(),
    };
    for grant in ledger.grants.iter().filter(staying) {
        desired.union(&grant.rules());
    }
    // Drift is measured against every grant in the ledger, expired ones included: a
    // grant whose time just passed is not drift, it is what this reconcile closes.
    let mut explained = baseline.clone();
    for grant in &ledger.grants {
        explained.union(&grant.rules());
    }
    let diff = Diff::between(&actual, &desired);
    let closing = RuleSet::from_rules(&diff.close);
    // `expired` counts only grants whose access this reconcile actually closes: a grant
    // that expired long ago, or whose rules another grant still opens, closes nothing.
    // A grant this command ended on an earlier delivery is announced as that end again.
    let expired: Vec<Grant> = ledger
        .grants
        .iter()
        .filter(|g| !g.is_active(now) && g.rules().minus(&closing) != g.rules())
        .filter(|g| !ended_earlier.iter().any(|e| e.request_id == g.request_id))
        .cloned()
        .collect();

    // A grant ended now gets its end marker, written before the Put; its tag stays until
    // it can no longer be in flight, nor an extension that read it before this end (see
    // `removable`). Markers are never removed in the reconcile that writes them.
    let mut retag = Vec::new();
    let mut removed = Vec::new();
    for grant in &ledger.grants {
        if ended.iter().any(|e| e.request_id == grant.request_id) {
            let end = GrantEnd {
                at: now,
                by: ended_by(grant),
            };
            retag.push(encode_end(&grant.request_id, &end));
        } else if removable(grant, now) {
            removed.push(grant.clone());
        }
    }
    // The lockdown record: written first when this command starts one; lifted first when
    // none is in force any more (an unlock, its end passed, a stray reason tag).
    let mut lift = Vec::new();
    if let (true, Some(record)) = (records_new, command_lockdown) {
        let tags = encode_lockdown(record);
        let stale = ledger.lockdown_keys.iter();
        lift.extend(
            stale
                .filter(|k| !tags.iter().any(|t| &t.key == *k))
                .cloned(),
        );
        retag.extend(tags);
    } else if command_lockdown.is_none() {
        lift.extend(ledger.lockdown_keys.iter().cloned());
    }
    // A grant's reply tags go with its tag, in the same call.
    let mut untag: Vec<String> = Vec::new();
    for grant in &removed {
        untag.push(grant.tag_key());
        untag.extend(ledger.companion_keys(&grant.request_id).cloned());
    }
    untag.extend(ledger.broken_keys.iter().cloned());
    // The captured baseline goes with the last grant tag (the live firewall is the
    // baseline again once no grant is left). A recovered one is written back while grants
    // remain, so the next reconcile does not have to guess again.
    //
    // While a lockdown puts declared lockdown rules in place of a baseline that is only
    // live or captured, the baseline is kept in tags (captured now if need be): after
    // the lockdown the live firewall is the lockdown's, and only the tags know what to
    // restore.
    let lockdown_replaces_baseline = locked
        && baseline_origin != BaselineOrigin::Declared
        && lockdown_rules.is_some_and(|rules| rules != &baseline);
    let grants_left = ledger.grants.len() - removed.len();
    if lockdown_replaces_baseline {
        if ledger.baseline.is_none() {
            retag.extend(encode_baseline(&baseline).unwrap_or_default());
        }
    } else if grants_left == 0 {
        untag.extend(ledger.baseline_keys.iter().cloned());
    } else if baseline_origin == BaselineOrigin::Recovered {
        retag.extend(encode_baseline(&baseline).unwrap_or_default());
    }
    // A firewall that is the instance's declared lockdown rules, plus at most what its
    // grants open, was set by a lockdown (a window or a command, with break-glass
    // grants): restoring the baseline after it is not drift.
    let set_by_lockdown = lockdown_rules.is_some_and(|rules| {
        let mut with_grants = rules.clone();
        for grant in &ledger.grants {
            with_grants.union(&grant.rules());
        }
        rules.minus(&actual).is_empty() && actual.minus(&with_grants).is_empty()
    });
    Plan {
        region: instance.region,
        instance_name: name.to_string(),
        put: (actual != desired).then(|| desired.to_rules()),
        diff,
        lift,
        untag,
        retag,
        drift: actual != explained && !set_by_lockdown,
        ended,
        ended_earlier,
        expired,
        removed,
        baseline,
        baseline_origin,
        locked,
        lockdown: command_lockdown.cloned(),
        keeps_baseline: lockdown_replaces_baseline,
        lifted: recorded.filter(|_| command_lockdown.is_none()).cloned(),
        replies: ledger.replies.clone(),
    }
}

/// Steps 1-3 of the protocol: the tags that must come first, the Put, the untags.
async fn write(ls: &impl Lightsail, plan: &Plan) -> Result<(), LightsailError> {
    let name = plan.instance_name.as_str();
    // End markers and a lockdown record before the Put: a crash in between must not leave
    // an ended grant active, or a lockdown unrecorded.
    if !plan.retag.is_empty() {
        ls.tag_resource(name, &plan.retag).await?;
    }
    if !plan.lift.is_empty() {
        ls.untag_resource(name, &plan.lift).await?;
    }
    if let Some(body) = &plan.put {
        ls.put_instance_public_ports(name, body).await?;
    }
    if !plan.untag.is_empty() {
        ls.untag_resource(name, &plan.untag).await?;
    }
    Ok(())
}

/// Carry a plan out in protocol order. Returns how many rules had to be re-opened for
/// grants that raced this reconcile.
pub async fn apply(
    ls: &impl Lightsail,
    policy: &Policy,
    plan: &Plan,
    now: Timestamp,
) -> Result<usize, LightsailError> {
    write(ls, plan).await?;
    let name = plan.instance_name.as_str();
    let dropped_baseline = plan.untag.iter().any(|k| k.starts_with(BASELINE_KEY));
    if plan.put.is_none() && !dropped_baseline {
        return Ok(0);
    }
    let mut fresh = ls.get_instance(name).await?;
    let ledger = Ledger::read(&fresh.tags);
    // A lockdown or an unlock that raced this reconcile (it wrote its record after our
    // read): the state it asks for is the one to leave, so reconcile once more from the
    // fresh read.
    let fresh_locked = in_force(policy, plan.instance(), &ledger, now).is_some();
    if fresh_locked != plan.locked {
        // A lockdown now in force, and the baseline tags this reconcile read are gone
        // (it dropped them from a stale plan, or a racing unlock did): write them back
        // first, or the lockdown's firewall would be captured as the baseline.
        if fresh_locked
            && ledger.baseline.is_none()
            && plan.baseline_origin != BaselineOrigin::Declared
            && let Ok(tags) = encode_baseline(&plan.baseline)
        {
            ls.tag_resource(name, &tags).await?;
            fresh
                .tags
                .retain(|t| !ledger.baseline_keys.contains(&t.key));
            fresh.tags.extend(tags);
        }
        write(ls, &self::plan(policy, &fresh, Ending::Expired, now)).await?;
        return Ok(0);
    }
    let actual = RuleSet::from_rules(&fresh.ports);
    let ended: BTreeSet<&str> = plan.ended.iter().map(|g| g.request_id.as_str()).collect();
    let survivors: Vec<&Grant> = ledger
        .active(now)
        .filter(|g| (!plan.locked || g.break_glass) && !ended.contains(g.request_id.as_str()))
        .collect();
    // Re-open the ranges the Put took from a racing grant, each with its whole desired
    // source list (whatever Open does to an existing rule: see `verify`).
    let ranges: BTreeSet<PortRange> = survivors
        .iter()
        .flat_map(|g| {
            g.rules()
                .minus(&actual)
                .iter()
                .map(|(range, _)| *range)
                .collect::<Vec<_>>()
        })
        .collect();
    let reopened = match ranges.is_empty() {
        true => 0,
        false => {
            let baseline =
                (plan.baseline_origin != BaselineOrigin::Declared).then_some(&plan.baseline);
            ensure_open(ls, policy, &ranges, fresh.clone(), baseline, now).await?
        }
    };
    // A grant that raced our untag of the baseline, or an unlock that dropped it while
    // this lockdown replaced it: without the tags, the baseline would be lost.
    if (!survivors.is_empty() || plan.keeps_baseline)
        && ledger.baseline.is_none()
        && plan.baseline_origin != BaselineOrigin::Declared
        && let Ok(tags) = encode_baseline(&plan.baseline)
    {
        ls.tag_resource(name, &tags).await?;
    }
    Ok(reopened)
}
