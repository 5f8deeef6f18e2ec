//! `status`: the grants in the ledger (active and lingering) with their expiry and the
//! baseline in force, for one instance or every managed one. Read-only.

use futures::TryStreamExt;

use super::Ctx;
use super::failure::{Failure, refused};
use super::inventory::inventory;
use super::locked::in_force;
use super::reconcile::baseline_in_force;
use crate::clock::Clock;
use crate::command::StatusRequest;
use crate::firewall::RuleSet;
use crate::ledger::Ledger;
use crate::lightsail::{Instance, Lightsail};
use crate::outcome::{GrantView, InstanceStatus, Outcome};

pub async fn status<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    request: &StatusRequest,
) -> Result<Outcome, Failure> {
    let now = ctx.now();
    let view = |instance: &Instance, ledger: &Ledger| {
        let actual = RuleSet::from_rules(&instance.ports);
        let (baseline, origin) = baseline_in_force(ctx.policy(), &instance.name, ledger, &actual);
        InstanceStatus {
            instance_name: instance.name.clone(),
            grants: ledger
                .grants
                .iter()
                .map(|g| GrantView::new(g, now))
                .collect(),
            baseline_origin: origin,
            baseline: baseline.to_rules(),
            firewall: actual.to_rules(),
            lockdown: in_force(ctx.policy(), &instance.name, ledger, now).map(|l| l.view()),
            next_lockdown: ctx
                .policy()
                .next_window(&instance.name, now)
                .map(|(_, start)| start),
        }
    };
    if let Some(name) = &request.instance_name {
        let (instance, ledger) = ctx.read_managed(name).await?;
        return Ok(Outcome::Status {
            instances: vec![view(&instance, &ledger)],
        });
    }
    let instances: Vec<Instance> = inventory(&ctx.ls, None, 1)
        .try_collect()
        .await
        .map_err(|(_, err)| refused("*")(err))?;
    let statuses = instances
        .iter()
        .filter_map(|instance| {
            let ledger = Ledger::read(&instance.tags);
            ctx.is_managed(instance, &ledger)
                .then(|| view(instance, &ledger))
        })
        .collect();
    Ok(Outcome::Status {
        instances: statuses,
    })
}
