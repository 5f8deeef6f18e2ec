//! `unlock`: lift the lockdowns by command on every selected instance. The reconcile
//! then restores the baseline plus the break-glass grants still running.
//!
//! The record is removed *before* the firewall is restored: should the restore fail, the
//! next sweep finishes it (the instance is no longer locked), instead of locking it
//! again. An instance inside a lockdown window is left as it is and named in `failed`
//! (the whole command is refused when that is every instance): a window is policy, and
//! only a policy change ends it.

use super::Ctx;
use super::failure::Failure;
use super::reconcile::Ending;
use super::sweep::sweep;
use crate::clock::Clock;
use crate::command::UnlockRequest;
use crate::lightsail::Lightsail;
use crate::outcome::Outcome;

pub async fn unlock<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    request: &UnlockRequest,
) -> Result<Outcome, Failure> {
    sweep(ctx, &request.selection, Ending::Unlock).await
}
