//! `status`: the active grants with their expiry and the baseline in force, for one
//! instance or every managed one. Read-only.

use futures::TryStreamExt;

use super::inventory::inventory;
use super::reconcile::baseline_in_force;
use super::{App, Transient, read_managed, refused};
use crate::clock::Clock;
use crate::command::StatusRequest;
use crate::firewall::RuleSet;
use crate::ledger::Ledger;
use crate::lightsail::{Instance, Lightsail};
use crate::outcome::{GrantView, InstanceStatus, Outcome};

pub async fn status<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    ls: &impl Lightsail,
    request: &StatusRequest,
    request_id: &str,
) -> Result<Outcome, Transient> {
    let now = app.clock.now();
    let view = |instance: &Instance, ledger: &Ledger| {
        let actual = RuleSet::from_rules(&instance.ports);
        let (baseline, origin) = baseline_in_force(&app.policy, &instance.name, ledger, &actual);
        InstanceStatus {
            instance_name: instance.name.clone(),
            grants: ledger
                .grants
                .iter()
                .map(|g| GrantView::new(g, now))
                .collect(),
            baseline_origin: origin.as_str(),
            baseline: baseline.to_rules(),
            firewall: actual.to_rules(),
        }
    };
    if let Some(name) = &request.instance_name {
        return Ok(match read_managed(app, ls, name).await? {
            Ok((instance, ledger)) => Outcome::Status {
                instances: vec![view(&instance, &ledger)],
            },
            Err(e) => Outcome::rejected(request_id, Some(name), e),
        });
    }
    let instances: Vec<Instance> = match inventory(ls, None, 1).try_collect().await {
        Ok(all) => all,
        Err((_, err)) => {
            let rejection = refused(err, "*")?;
            return Ok(Outcome::rejected(request_id, None, rejection));
        }
    };
    let mut statuses = Vec::new();
    for instance in &instances {
        let ledger = Ledger::read(&instance.tags);
        if app.is_managed(instance, &ledger) {
            statuses.push(view(instance, &ledger));
        }
    }
    Ok(Outcome::Status {
        instances: statuses,
    })
}
