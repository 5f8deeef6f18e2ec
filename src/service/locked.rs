//! An instance under lockdown, as the use cases meet it: while a lockdown is in force (a
//! policy window, or a `lockdown` command recorded in the instance's ledger) no new
//! access is given but break-glass, and access given before a window never reaches into
//! it. The sweep's side (closing what a lockdown must close) is in `reconcile::plan`.
//!
//! A grant or extension that would run past the next window start is *accepted and
//! capped* at that start, rather than refused: the requester gets the access they can
//! have, and the answer says so (`cappedBy` names the window, `expiresAt` is its start),
//! so nothing ends silently. A break-glass grant is capped the same way by
//! `breakGlassMaxDuration`.

use jiff::Timestamp;

use crate::clock::{later, rfc3339};
use crate::command::{GrantRequest, human_duration};
use crate::ledger::{Grant, Ledger, LockdownRecord};
use crate::outcome::{LockdownSource, LockdownView};
use crate::policy::{Policy, WindowInForce};
use crate::region::InstanceRef;
use crate::rejection::{Code, Rejection};

/// A lockdown in force on one instance now.
#[derive(Clone, Copy, Debug)]
pub enum InForce<'a> {
    Window(WindowInForce<'a>),
    Command(&'a LockdownRecord),
}

impl InForce<'_> {
    /// When it ends by itself; `None` for a lockdown that holds until `unlock`.
    pub fn until(&self) -> Option<Timestamp> {
        match self {
            InForce::Window(w) => Some(w.occurrence.end),
            InForce::Command(record) => record.until,
        }
    }

    /// The lockdown, as a sentence's object: "the lockdown window …", "a lockdown by …".
    pub fn describe(&self) -> String {
        match self {
            InForce::Window(w) => format!("the lockdown window {}", w.window.describe()),
            InForce::Command(record) => match &record.requester {
                Some(who) => format!("a lockdown by {who}"),
                None => "a lockdown".to_string(),
            },
        }
    }

    fn ends(&self) -> String {
        match self.until() {
            Some(until) => format!("until {}", rfc3339(until)),
            None => "until an unlock".to_string(),
        }
    }

    pub fn view(&self) -> LockdownView {
        match self {
            InForce::Window(w) => LockdownView {
                source: LockdownSource::Window,
                since: w.occurrence.start,
                until: Some(w.occurrence.end),
                requester: None,
                reason: Some(w.window.describe()),
            },
            InForce::Command(record) => LockdownView {
                source: LockdownSource::Command,
                since: record.since,
                until: record.until,
                requester: record.requester.clone(),
                reason: record.reason.clone(),
            },
        }
    }
}

/// The lockdown in force on `instance` at `now`; of a window and a command, the one that
/// ends last (the instance stays locked until then).
pub fn in_force<'a>(
    policy: &'a Policy,
    instance: InstanceRef,
    ledger: &'a Ledger,
    now: Timestamp,
) -> Option<InForce<'a>> {
    let window = policy.window_in_force(instance, now).map(InForce::Window);
    let command = ledger
        .lockdown
        .as_ref()
        .filter(|record| record.in_force(now))
        .map(InForce::Command);
    let ends = |l: &InForce| l.until().unwrap_or(Timestamp::MAX);
    match (window, command) {
        (Some(w), Some(c)) => Some(if ends(&c) >= ends(&w) { c } else { w }),
        (w, c) => w.or(c),
    }
}

/// `LockedDown`, naming the lockdown and when it ends.
pub fn refusal(instance: InstanceRef, lockdown: &InForce) -> Rejection {
    Rejection::new(
        Code::LockedDown,
        format!(
            "{instance} is locked down by {} {}; no grant or extension until then",
            lockdown.describe(),
            lockdown.ends()
        ),
    )
}

/// `LockedDown` for an `unlock` of an instance inside a window.
pub fn unlock_refusal(instance: InstanceRef, lockdown: &InForce) -> Rejection {
    Rejection::new(
        Code::LockedDown,
        format!(
            "{instance} is inside {} {}: unlock ends lockdowns by command, not policy windows",
            lockdown.describe(),
            lockdown.ends()
        ),
    )
}

/// A grant asked for during `lockdown`: refused, unless its requester may break glass.
/// A break-glass grant needs a reason and lasts at most `breakGlassMaxDuration`; the
/// answer is what caps it, if anything did.
pub fn break_glass(
    policy: &Policy,
    request: &GrantRequest,
    name: InstanceRef,
    lockdown: &InForce,
    grant: &mut Grant,
) -> Result<Option<String>, Rejection> {
    if !policy.may_break_glass(&grant.requester) {
        return Err(refusal(name, lockdown));
    }
    if request.reason.as_deref().is_none_or(str::is_empty) {
        return Err(Rejection::new(
            Code::ReasonRequired,
            format!(
                "{name} is locked down by {} {}: a break-glass grant needs a `reason`",
                lockdown.describe(),
                lockdown.ends()
            ),
        ));
    }
    grant.break_glass = true;
    let longest = later(grant.granted_at, policy.break_glass_max_duration);
    if grant.expires_at <= longest {
        return Ok(None);
    }
    grant.expires_at = longest;
    Ok(Some(format!(
        "breakGlassMaxDuration {}",
        human_duration(policy.break_glass_max_duration)
    )))
}

/// Cap `expires_at` at the next window start on `instance`; the window, as it reads,
/// when it did.
pub fn cap_at_next_window(
    policy: &Policy,
    instance: InstanceRef,
    now: Timestamp,
    expires_at: &mut Timestamp,
) -> Option<String> {
    let (window, start) = policy.next_window(instance, now)?;
    if start >= *expires_at {
        return None;
    }
    *expires_at = start;
    Some(format!("lockdown window {}", window.describe()))
}
