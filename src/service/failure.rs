//! The one error path of the use cases (controller-rs: `reconcile` + one `error_policy`).
//!
//! A use case either answers an [`Outcome`] or stops with a [`Failure`], carried by `?`:
//! rejected (the command was wrong or not allowed; retrying cannot help) or transient
//! (Lightsail was unavailable; deliver the command again). [`error_policy`] turns a
//! failure into the command's result in exactly one place, so every rejection is
//! answered and audited the same way, whichever use case refused.

use super::Ctx;
use crate::audit::Decision;
use crate::clock::Clock;
use crate::command::Action;
use crate::lightsail::Lightsail;
use crate::lightsail::{ErrorKind, LightsailError};
use crate::outcome::Outcome;
use crate::region::InstanceRef;
use crate::rejection::{Code, Rejection};

/// A failure worth retrying: the command was not (completely) carried out.
#[derive(Debug, thiserror::Error)]
#[error("transient failure, try again: {0}")]
pub struct Transient(pub LightsailError);

/// Why a use case stopped without an outcome of its own.
#[derive(Debug)]
pub enum Failure {
    Rejected(Rejection),
    Transient(Transient),
}

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Self {
        Failure::Rejected(rejection)
    }
}

impl From<Transient> for Failure {
    fn from(transient: Transient) -> Self {
        Failure::Transient(transient)
    }
}

/// A Lightsail error about `instance` as a failure: transient ones are retried, the
/// rest become a rejection naming what Lightsail said. Use as `.map_err(refused(name))?`.
pub fn refused(instance: InstanceRef<'_>) -> impl FnOnce(LightsailError) -> Failure + '_ {
    move |err| match err.kind {
        ErrorKind::Transient => Failure::Transient(Transient(err)),
        _ => Failure::Rejected(rejection(&err, instance)),
    }
}

/// The rejection a permanent Lightsail error stands for: the instance is missing, or
/// Lightsail refused (our code, with Lightsail's code and message in the text).
pub fn rejection(err: &LightsailError, instance: InstanceRef) -> Rejection {
    match err.kind {
        ErrorKind::NotFound => Rejection::new(
            Code::InstanceNotFound,
            format!(
                "`instanceName` {:?}: no such Lightsail instance in {}",
                instance.name, instance.region
            ),
        ),
        ErrorKind::Transient | ErrorKind::InvalidInput | ErrorKind::Refused => Rejection::new(
            Code::LightsailRefused,
            format!(
                "Lightsail refused {} on {instance}: {}: {}",
                err.operation, err.code, err.message
            ),
        ),
    }
}

/// The command's result: an outcome, a rejection answered (and audited) as an
/// outcome, or a transient failure the caller must retry.
pub fn error_policy<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    result: Result<Outcome, Failure>,
    action: &Action,
) -> Result<Outcome, Transient> {
    let instance = action.instance_name().map(|name| ctx.instance(name));
    match result {
        Ok(outcome) => Ok(outcome),
        Err(Failure::Transient(transient)) => Err(transient),
        Err(Failure::Rejected(error)) => {
            ctx.decide(Decision {
                requester: action.requester(),
                reply_to: ctx.reply_to,
                command: Some(action.name()),
                ..Decision::rejected(ctx.request_id, instance, &error)
            });
            Ok(Outcome::rejected(ctx.request_id, instance, error))
        }
    }
}
