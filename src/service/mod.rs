//! The use cases (docs/DESIGN.md §5): grant, revoke, extend, sweep, lockdown, unlock and
//! status, over the [`Lightsail`] trait with an injected [`Clock`].
//!
//! [`App::dispatch`] is the command dispatcher: it builds the command's [`Ctx`], runs
//! the one use case the action names, and passes the result through the one
//! [`error_policy`]. A use case decides with the pure core (policy, ledger, rule sets),
//! performs the few calls the protocol orders, and stops early with `?` on a
//! [`Failure`]: a rejection (answered as an [`Outcome`]) or a [`Transient`] error
//! (which asks the caller to deliver the command again).
//!
//! Adding a command: see "Adding a command" in the README.

mod context;
mod extend;
mod failure;
mod grant;
mod inventory;
mod lockdown;
mod locked;
mod reconcile;
mod revoke;
mod status;
mod sweep;
mod unlock;

use crate::clock::Clock;
use crate::command::{Action, Command};
use crate::lightsail::{Lightsail, Metered};
use crate::outcome::Outcome;
use crate::policy::Policy;

pub use context::Ctx;
pub use failure::{Failure, Transient, error_policy};
pub use reconcile::{Ending, LINGER, Plan, apply, plan};

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
    pub async fn dispatch(
        &self,
        command: &Command,
        delivery_id: &str,
    ) -> Result<Outcome, Transient> {
        let ctx = Ctx {
            app: self,
            ls: Metered::new(&self.lightsail),
            request_id: command.request_id.as_deref().unwrap_or(delivery_id),
            dry_run: command.dry_run,
        };
        let result = match &command.action {
            Action::Grant(request) => grant::grant(&ctx, request).await,
            Action::Revoke(request) => revoke::revoke(&ctx, request).await,
            Action::Extend(request) => extend::extend(&ctx, request).await,
            Action::Sweep(selection) => sweep::sweep(&ctx, selection, Ending::Expired).await,
            Action::Lockdown(request) => lockdown::lockdown(&ctx, request).await,
            Action::Unlock(request) => unlock::unlock(&ctx, request).await,
            Action::Status(request) => status::status(&ctx, request).await,
        };
        error_policy(result, ctx.request_id, command.action.instance_name())
    }
}
