//! The use cases (DESIGN §5): grant, revoke, extend, sweep, lockdown and status, over the
//! [`Lightsail`] trait with an injected [`Clock`].
//!
//! Each use case decides with the pure core (policy, ledger, rule sets) and performs the
//! few calls the protocol orders. A rejection is an [`Outcome`]; the only error is
//! [`Transient`], which asks the caller to deliver the command again.

mod extend;
mod grant;
mod inventory;
mod reconcile;
mod revoke;
mod status;
mod sweep;

use crate::clock::Clock;
use crate::command::{Action, Command};
use crate::ledger::Ledger;
use crate::lightsail::{ErrorKind, Instance, Lightsail, LightsailError, Metered};
use crate::outcome::Outcome;
use crate::policy::Policy;
use crate::rejection::{Code, Rejection};

pub use reconcile::{Ending, Plan, execute, plan};

/// A failure worth retrying: the command was not (completely) carried out.
#[derive(Debug, thiserror::Error)]
#[error("transient failure, try again: {0}")]
pub struct Transient(pub LightsailError);

/// Everything a command needs, built once per cold start.
pub struct App<L, C> {
    pub lightsail: L,
    pub policy: Policy,
    pub clock: C,
}

impl<L: Lightsail, C: Clock> App<L, C> {
    pub fn new(lightsail: L, policy: Policy, clock: C) -> Self {
        App {
            lightsail,
            policy,
            clock,
        }
    }

    /// Run one command. `delivery_id` is the envelope's id (SQS messageId, EventBridge
    /// id or Lambda request id): the default `requestId`.
    pub async fn execute(
        &self,
        command: &Command,
        delivery_id: &str,
    ) -> Result<Outcome, Transient> {
        let request_id = command.request_id.as_deref().unwrap_or(delivery_id);
        let ls = Metered::new(&self.lightsail);
        let outcome = match &command.action {
            Action::Grant(g) => grant::grant(self, &ls, g, request_id, command.dry_run).await,
            Action::Revoke(r) => {
                revoke::revoke(
                    self,
                    &ls,
                    r,
                    command.request_id.as_deref(),
                    request_id,
                    command.dry_run,
                )
                .await
            }
            Action::Extend(e) => extend::extend(self, &ls, e, request_id, command.dry_run).await,
            Action::Sweep(s) => {
                sweep::sweep(self, &ls, s, Ending::Expired, request_id, command.dry_run).await
            }
            Action::Lockdown(s) => {
                sweep::sweep(self, &ls, s, Ending::Lockdown, request_id, command.dry_run).await
            }
            Action::Status(s) => status::status(self, &ls, s, request_id).await,
        }?;
        if let Outcome::Rejected {
            error,
            instance_name,
            ..
        } = &outcome
        {
            crate::audit::Decision::rejected(request_id, instance_name.as_deref(), error).log();
        }
        Ok(outcome)
    }

    fn is_managed(&self, instance: &Instance, ledger: &Ledger) -> bool {
        ledger.managed || self.policy.names(&instance.name)
    }
}

/// A Lightsail error as the command's result: transient ones are retried, the rest
/// become a rejection naming what Lightsail said.
pub(crate) fn refused(err: LightsailError, instance: &str) -> Result<Rejection, Transient> {
    match err.kind {
        ErrorKind::Transient => Err(Transient(err)),
        ErrorKind::NotFound => Ok(Rejection::new(
            Code::InstanceNotFound,
            format!("`instanceName` {instance:?}: no such Lightsail instance in this Region"),
        )),
        ErrorKind::InvalidInput | ErrorKind::Refused => Ok(Rejection::new(
            Code::LightsailRefused,
            format!(
                "Lightsail refused {} on {instance}: {}: {}",
                err.operation, err.code, err.message
            ),
        )),
    }
}

/// Read a managed instance, or the rejection that explains why it cannot be used.
pub(crate) async fn read_managed<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    ls: &impl Lightsail,
    name: &str,
) -> Result<Result<(Instance, Ledger), Rejection>, Transient> {
    let instance = match ls.get_instance(name).await {
        Ok(instance) => instance,
        Err(err) => return refused(err, name).map(Err),
    };
    let ledger = Ledger::read(&instance.tags);
    if !app.is_managed(&instance, &ledger) {
        return Ok(Err(Rejection::new(
            Code::InstanceNotManaged,
            format!(
                "{name} is not managed by lightsail-jit: tag it with `{}` or name it in the policy",
                crate::ledger::MANAGED_TAG
            ),
        )));
    }
    Ok(Ok((instance, ledger)))
}
