//! `lockdown`: record a lockdown on every selected instance and hold its lockdown rules
//! (default: the baseline). Every grant but break-glass ones ends now.
//!
//! The record (`jit:lockdown`, see `ledger::lockdown`) is what makes it hold: each later
//! sweep keeps the lockdown rules, each grant is refused, until its `until` passes or an
//! `unlock` lifts it. A redelivered command (same `requestId`) finds its record and
//! changes nothing, so a retried timed lockdown does not move its end.

use super::Ctx;
use super::failure::Failure;
use super::reconcile::Ending;
use super::sweep::sweep;
use crate::clock::{Clock, later, rfc3339};
use crate::command::{LockdownEnd, LockdownRequest};
use crate::ledger::LockdownRecord;
use crate::lightsail::Lightsail;
use crate::outcome::Outcome;
use crate::rejection::{Code, Rejection};

pub async fn lockdown<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    request: &LockdownRequest,
) -> Result<Outcome, Failure> {
    let now = ctx.now();
    let until = match request.end {
        LockdownEnd::Unlock => None,
        LockdownEnd::After(duration) => Some(later(now, duration)),
        LockdownEnd::At(until) if until > now => Some(until),
        LockdownEnd::At(until) => {
            return Err(Rejection::new(
                Code::InvalidField,
                format!(
                    "`until` {} is not in the future (now is {})",
                    rfc3339(until),
                    rfc3339(now)
                ),
            )
            .into());
        }
    };
    let selection = &request.selection;
    let record = LockdownRecord {
        request_id: ctx.request_id.to_string(),
        since: now,
        until,
        requester: selection.requester.clone(),
        reason: selection.reason.clone(),
    };
    sweep(ctx, selection, Ending::Lockdown(&record)).await
}
