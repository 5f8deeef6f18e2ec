//! Lockdown windows as the use cases meet them: while a window is in force on an
//! instance no new access is given, and access given before a window never reaches into
//! it. The sweep's side (closing what a window must close) is in `reconcile::plan`.
//!
//! A grant or extension that would run past the next window start is *accepted and
//! capped* at that start, rather than refused: the requester gets the access they can
//! have, and the answer says so (`cappedBy` names the window, `expiresAt` is its start),
//! so nothing ends silently.

use jiff::Timestamp;

use crate::clock::rfc3339;
use crate::policy::Policy;
use crate::rejection::{Code, Rejection};

/// `LockedDown` when a window is in force on `instance` at `now`.
pub fn refuse_while_locked(
    policy: &Policy,
    instance: &str,
    now: Timestamp,
) -> Result<(), Rejection> {
    match policy.window_in_force(instance, now) {
        None => Ok(()),
        Some(locked) => Err(Rejection::new(
            Code::LockedDown,
            format!(
                "{instance} is locked down by the lockdown window {} until {}; no grant or extension until then",
                locked.window.describe(),
                rfc3339(locked.occurrence.end)
            ),
        )),
    }
}

/// Cap `expires_at` at the next window start on `instance`; the window, as it reads,
/// when it did.
pub fn cap_at_next_window(
    policy: &Policy,
    instance: &str,
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
