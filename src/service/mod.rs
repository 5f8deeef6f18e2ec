//! The use cases (docs/DESIGN.md §5): grant, revoke, extend, sweep, lockdown, unlock and
//! status, over the [`Lightsail`] trait with an injected [`Clock`].
//!
//! [`App::deliver`] is the command dispatcher: it admits the command (its freshness),
//! builds the command's [`Ctx`], runs the one use case the action names, and passes the
//! result through the one [`error_policy`]. A use case decides with the pure core (policy, ledger, rule sets),
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
mod verify;

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use crate::announce::{Announcement, announce};
use crate::audit::Decision;
use crate::clock::Clock;
use crate::command::{Action, Command, Echo};
use crate::envelope::SentAt;
use crate::events::{Delivered, Publisher};
use crate::lightsail::{Lightsail, Metered, Regions};
use crate::outcome::Outcome;
use crate::policy::Policy;
use crate::region::{InstanceRef, Region};
use crate::rejection::{Code, Rejection};

pub use context::Ctx;
pub use failure::{Failure, Transient, error_policy};
pub use reconcile::{Ending, LINGER, Plan, apply, plan};

/// Everything a command needs, built once per cold start.
pub struct App<L, C> {
    /// Lightsail in the function's own Region (`policy.home`).
    pub lightsail: L,
    /// Lightsail in the policy's other `regions`, each built on first use.
    pub regions: Regions<L>,
    pub policy: Policy,
    pub clock: C,
    /// Where decisions are published (`JIT_EVENT_BUS`); `None`: nowhere.
    pub events: Option<Publisher>,
    /// The Slack app's signing secret (`SLACK_SIGNING_SECRET`); `None`: every Slack
    /// request is refused.
    #[cfg(feature = "slack")]
    pub slack: Option<crate::slack::verify::SigningSecret>,
}

impl<L: Lightsail, C: Clock> App<L, C> {
    pub fn new(lightsail: L, policy: Policy, clock: C) -> Self {
        App {
            lightsail,
            regions: Regions::default(),
            policy,
            clock,
            events: None,
            #[cfg(feature = "slack")]
            slack: None,
        }
    }

    /// Serve the `/jit` slash command, verifying every request with `secret`.
    #[cfg(feature = "slack")]
    pub fn with_slack(self, secret: crate::slack::verify::SigningSecret) -> Self {
        App {
            slack: Some(secret),
            ..self
        }
    }

    /// Reach the policy's Regions other than home with these clients.
    pub fn with_regions(self, regions: Regions<L>) -> Self {
        App { regions, ..self }
    }

    /// Lightsail in `region`, if the policy manages it: the home client, or another
    /// Region's, built now if this is its first use.
    pub fn client(&self, region: Region) -> Result<&L, Rejection> {
        if !self.policy.manages(region) {
            return Err(region_not_managed(region, &self.policy));
        }
        if region == self.policy.home {
            return Ok(&self.lightsail);
        }
        self.regions.client(region).ok_or_else(|| {
            Rejection::new(
                Code::RegionNotManaged,
                format!("no Lightsail client was configured for {region} (App::with_regions)"),
            )
        })
    }

    /// Publish every decision on `publisher`'s bus.
    pub fn with_events(self, publisher: Publisher) -> Self {
        App {
            events: Some(publisher),
            ..self
        }
    }

    /// Run one delivered command: first its freshness (`grant` and `extend` must still
    /// be a request for access now, `policy::freshness`), then the use case. A stale
    /// command is refused like any other rejection (answer, audit line, `JIT Access
    /// Rejected` event) with no Lightsail write; a stale grant reads its instance first,
    /// in case it is the late redelivery of one decided in time (`grant::stale`). Every
    /// entry point comes here,
    /// through `handler::run`.
    pub async fn deliver(
        &self,
        command: &Command,
        delivery_id: &str,
        sent_at: &SentAt,
    ) -> Result<Outcome, Transient> {
        let admitted = self
            .policy
            .check_freshness(command, sent_at, self.clock.now());
        self.run(command, delivery_id, admitted).await
    }

    /// Run one command that needs no admission: its age is not checked. For a caller
    /// that holds a command rather than a delivery (the interleaving explorer, benches);
    /// entry points use [`App::deliver`]. `delivery_id` is the envelope's id (SQS
    /// messageId, EventBridge id or Lambda request id): the default `requestId`.
    pub async fn dispatch(
        &self,
        command: &Command,
        delivery_id: &str,
    ) -> Result<Outcome, Transient> {
        self.run(command, delivery_id, Ok(())).await
    }

    /// The command's use case, unless `admitted` already refused it; either way through
    /// the one error policy, and its decisions published.
    async fn run(
        &self,
        command: &Command,
        delivery_id: &str,
        admitted: Result<(), Rejection>,
    ) -> Result<Outcome, Transient> {
        let region = command.region.unwrap_or(self.policy.home);
        // The Region comes first: a command for a Region this function does not manage
        // is refused whatever else it says. A refused command makes no call, so its
        // context may hold the home client; so may one covering every managed Region,
        // which reaches each through its own view (`Ctx::ls_in`), home managed or not.
        let (regions, client) = match (command.region, command.covers_every_instance()) {
            (None, true) => (self.policy.regions.clone(), Ok(&self.lightsail)),
            _ => (vec![region], self.client(region)),
        };
        let (client, admitted) = match client {
            Ok(client) => (client, admitted),
            Err(refusal) => (&self.lightsail, Err(refusal)),
        };
        let calls = AtomicUsize::new(0);
        let ctx = Ctx {
            app: self,
            region,
            regions,
            ls: Metered::new(client, &calls),
            calls: &calls,
            request_id: command.request_id.as_deref().unwrap_or(delivery_id),
            delivery_id,
            dry_run: command.dry_run,
            reply_to: command.reply_to.as_ref(),
            news: Mutex::new(Vec::new()),
        };
        let result = match admitted {
            // A stale grant may be the redelivery of one decided in time: see `grant::stale`.
            Err(rejection) if rejection.code == Code::CommandExpired => match &command.action {
                Action::Grant(request) => grant::stale(&ctx, request, rejection).await,
                _ => Err(rejection.into()),
            },
            Err(rejection) => Err(rejection.into()),
            Ok(()) => match &command.action {
                Action::Grant(request) => grant::grant(&ctx, request).await,
                Action::Revoke(request) => revoke::revoke(&ctx, request).await,
                Action::Extend(request) => extend::extend(&ctx, request).await,
                Action::Sweep(selection) => sweep::sweep(&ctx, selection, Ending::Expired).await,
                Action::Lockdown(request) => lockdown::lockdown(&ctx, request).await,
                Action::Unlock(request) => unlock::unlock(&ctx, request).await,
                Action::Status(request) => status::status(&ctx, request).await,
            },
        };
        let answer = error_policy(&ctx, result, &command.action);
        // After the decisions took effect, whatever the answer: a sweep that failed on
        // one instance still announces what it did on the others.
        let news = ctx.news.into_inner().unwrap_or_default();
        self.publish(&news).await;
        answer
    }

    /// A delivery whose command could not be read: answered as rejected, and announced
    /// with what could be read of it (`Echo`), so the sender hears why.
    pub async fn refuse(&self, delivery_id: &str, echo: &Echo, rejection: &Rejection) -> Outcome {
        let request_id = echo.request_id.as_deref().unwrap_or(delivery_id);
        let region = echo.region.unwrap_or(self.policy.home);
        let instance = echo
            .instance_name
            .as_deref()
            .map(|name| InstanceRef::new(region, name));
        let decision = Decision {
            requester: echo.requester.as_deref(),
            reply_to: echo.reply_to.as_ref(),
            command: echo.action.as_deref(),
            ..Decision::rejected(request_id, instance, rejection)
        };
        if let Some(news) = self.record(&decision, delivery_id) {
            self.publish(&[news]).await;
        }
        Outcome::rejected(delivery_id, None, rejection.clone())
    }

    /// A decision's audit line, written now, and its event when there is a bus to carry
    /// it: the one place that makes both from the same value.
    fn record(&self, decision: &Decision, delivery_id: &str) -> Option<Announcement> {
        decision.log();
        self.events.as_ref()?;
        announce(decision, delivery_id)
    }

    async fn publish(&self, news: &[Announcement]) -> Delivered {
        match &self.events {
            Some(publisher) => publisher.publish(news).await,
            None => Delivered::default(),
        }
    }
}

/// `RegionNotManaged`: the message says which Regions are.
fn region_not_managed(region: Region, policy: &Policy) -> Rejection {
    Rejection::new(
        Code::RegionNotManaged,
        format!(
            "this function does not manage {region}: it manages {} (the policy's `regions`){}",
            crate::policy::region_list(&policy.regions),
            match region == policy.home {
                true => "; name one of them as the command's `region`",
                false => "",
            }
        ),
    )
}
