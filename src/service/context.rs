//! What one command runs with: the [`App`] (policy, clock, Lightsail, events), the
//! command's Region(s), a metered view of Lightsail there for this command's
//! `apiCalls`, the effective `requestId`, `dryRun` and `replyTo`, and the decisions it
//! announces ([`Ctx::decide`]).
//!
//! Every use case takes one `&Ctx` and its own request, so adding a setting that all
//! commands need changes this file, not six signatures.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use jiff::Timestamp;

use super::App;
use super::failure::{Failure, refused};
use crate::announce::Announcement;
use crate::audit::Decision;
use crate::clock::Clock;
use crate::command::GrantId;
use crate::ledger::{Grant, Ledger, MANAGED_TAG, ReplyTo};
use crate::lightsail::{Instance, Lightsail, Metered};
use crate::policy::Policy;
use crate::region::{InstanceRef, Region};
use crate::rejection::{Code, Rejection};

pub struct Ctx<'a, L, C> {
    pub app: &'a App<L, C>,
    /// Where the instances the command names are: its `region`, or the function's own.
    pub region: Region,
    /// The Regions a command about every instance covers: its `region`, or every
    /// managed one.
    pub regions: Vec<Region>,
    /// Lightsail in `region`, counting this command's calls.
    pub ls: Metered<'a, L>,
    /// The count behind `ls` and every other Region's view ([`Ctx::ls_in`]).
    pub calls: &'a AtomicUsize,
    /// The command's `requestId`, or the delivery's id when it has none.
    pub request_id: &'a str,
    /// The envelope's id: the same on every redelivery (event ids are made of it).
    pub delivery_id: &'a str,
    pub dry_run: bool,
    /// The command's `replyTo`: echoed in its events (a grant keeps it for later ones).
    pub reply_to: Option<&'a ReplyTo>,
    /// What this command announces, published once it is done.
    pub news: Mutex<Vec<Announcement>>,
}

impl<'a, L: Lightsail, C: Clock> Ctx<'a, L, C> {
    /// Record a decision: its audit line now, its event (when a bus is configured) once
    /// the command is done. The one way a use case reports a decision.
    pub fn decide(&self, decision: Decision) {
        if let Some(news) = self.app.record(&decision, self.delivery_id)
            && let Ok(mut queue) = self.news.lock()
        {
            queue.push(news);
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.app.policy
    }

    pub fn now(&self) -> Timestamp {
        self.app.clock.now()
    }

    /// The instance `name` in the command's Region.
    pub fn instance<'n>(&self, name: &'n str) -> InstanceRef<'n> {
        InstanceRef::new(self.region, name)
    }

    /// Lightsail in `region`, counted with this command's other calls; its client is
    /// built now if this is the first command to go there.
    pub fn ls_in(&self, region: Region) -> Result<Metered<'a, L>, Rejection> {
        Ok(Metered::new(self.app.client(region)?, self.calls))
    }

    /// Managed: tagged `jit:managed`, or named in the policy.
    pub fn is_managed(&self, instance: &Instance, ledger: &Ledger) -> bool {
        ledger.managed || self.policy().lists_instance(instance)
    }

    /// Read a managed instance in the command's Region and its ledger, or the rejection
    /// that explains why it cannot be used.
    pub async fn read_managed(&self, name: &str) -> Result<(Instance, Ledger), Failure> {
        let at = self.instance(name);
        let instance = self.ls.get_instance(name).await.map_err(refused(at))?;
        let ledger = Ledger::read(&instance.tags);
        if !self.is_managed(&instance, &ledger) {
            return Err(Rejection::new(
                Code::InstanceNotManaged,
                format!(
                    "{at} is not managed by lightsail-jit: tag it with `{MANAGED_TAG}` or name it in the policy"
                ),
            )
            .into());
        }
        Ok((instance, ledger))
    }
}

/// The grant a `revoke` or `extend` names, or `UnknownGrant`.
pub fn named_grant<'l>(
    ledger: &'l Ledger,
    id: &GrantId,
    instance: InstanceRef,
) -> Result<&'l Grant, Rejection> {
    ledger.grant(id.as_str()).ok_or_else(|| {
        Rejection::new(
            Code::UnknownGrant,
            format!("`requestId` {:?} names no grant on {instance}", id.as_str()),
        )
    })
}
