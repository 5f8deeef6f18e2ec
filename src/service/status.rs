//! `status`: the grants in the ledger (active and lingering) with their expiry and the
//! baseline in force, for one instance or every managed one in the command's Regions.
//! Read-only.

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
use crate::region::InstanceRef;

pub async fn status<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    request: &StatusRequest,
) -> Result<Outcome, Failure> {
    let now = ctx.now();
    let view = |instance: &Instance, ledger: &Ledger| {
        let actual = RuleSet::from_rules(&instance.ports);
        let (baseline, origin) = baseline_in_force(ctx.policy(), instance, ledger, &actual);
        InstanceStatus {
            region: instance.region,
            instance_name: instance.name.clone(),
            grants: ledger
                .grants
                .iter()
                .map(|g| GrantView::new(g, now))
                .collect(),
            baseline_origin: origin,
            baseline: baseline.to_rules(),
            firewall: actual.to_rules(),
            lockdown: in_force(
                ctx.policy(),
                InstanceRef::new(instance.region, &instance.name),
                ledger,
                now,
            )
            .map(|l| l.view()),
            next_lockdown: ctx
                .policy()
                .next_window(instance, now)
                .map(|(_, start)| start),
        }
    };
    if let Some(name) = &request.instance_name {
        let (instance, ledger) = ctx.read_managed(name).await?;
        return Ok(Outcome::Status {
            instances: vec![view(&instance, &ledger)],
        });
    }
    // Every Region at once; status answers whole or not at all (a Region that cannot be
    // read fails it, naming the Region).
    let regions = ctx.regions.iter().map(|&region| async move {
        let ls = ctx.ls_in(region)?;
        inventory(&ls, None, 1)
            .try_collect::<Vec<Instance>>()
            .await
            .map_err(|(_, err)| refused(InstanceRef::new(region, "*"))(err))
    });
    let read = futures::future::try_join_all(regions).await?;
    let statuses = read
        .iter()
        .flatten()
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
