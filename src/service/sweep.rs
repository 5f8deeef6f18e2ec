//! `sweep` and `lockdown` across instances: the reconcile protocol for every managed
//! instance (or the named ones), with bounded concurrency.
//!
//! An unchanged instance costs nothing beyond its share of the paged read. A transient
//! failure on one instance does not stop the others; the command then reports a
//! transient failure so the schedule or queue runs it again (sweeps are idempotent).

use futures::StreamExt;
use futures::channel::mpsc;

use super::inventory::inventory;
use super::reconcile::{Ending, Plan, execute, plan};
use super::{App, Transient};
use crate::audit::Decision;
use crate::clock::Clock;
use crate::command::Selection;
use crate::ledger::Ledger;
use crate::lightsail::{Lightsail, LightsailError, Metered};
use crate::outcome::{InstanceFailure, Outcome};
use crate::rejection::Code;

enum Report {
    /// Not managed and not asked for by name: not this sweep's business.
    Unmanaged,
    /// Named in the command but not managed: reported, never touched.
    NotManaged(String),
    Done(Plan),
    Failed(String, LightsailError),
}

pub async fn sweep<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    ls: &Metered<'_, L>,
    selection: &Selection,
    ending: Ending<'_>,
    request_id: &str,
    dry_run: bool,
) -> Result<Outcome, Transient> {
    let now = app.clock.now();
    let named = selection.instance_names.as_deref();
    let concurrency = app.policy.sweep_concurrency;
    // Read ahead: the pages (sequential by nature) flow into a channel while instances
    // that changed are being written, so paging never waits for a free write slot.
    let (found_tx, found_rx) = mpsc::unbounded();
    let read_ahead = async move {
        let mut pages = inventory(ls, named, concurrency);
        while let Some(found) = pages.next().await {
            if found_tx.unbounded_send(found).is_err() {
                break;
            }
        }
    };
    let reconcile = found_rx
        .map(|found| async move {
            let instance = match found {
                Ok(instance) => instance,
                Err((name, err)) => return Report::Failed(name.unwrap_or_default(), err),
            };
            let ledger = Ledger::read(&instance.tags);
            if !app.is_managed(&instance, &ledger) {
                return match named {
                    Some(_) => Report::NotManaged(instance.name.clone()),
                    None => Report::Unmanaged,
                };
            }
            let plan = plan(&app.policy, &instance, ending, now);
            if dry_run {
                return Report::Done(plan);
            }
            match execute(ls, &plan, now).await {
                Ok(_) => Report::Done(plan),
                Err(err) => Report::Failed(plan.instance_name.clone(), err),
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<Report>>();
    let ((), reports) = futures::join!(read_ahead, reconcile);
    summarize(reports, ending, request_id, dry_run, ls.calls(), selection)
}

fn summarize(
    reports: Vec<Report>,
    ending: Ending<'_>,
    request_id: &str,
    dry_run: bool,
    api_calls: usize,
    selection: &Selection,
) -> Result<Outcome, Transient> {
    let mut plans = Vec::new();
    let mut failed = Vec::new();
    let mut transient = None;
    for report in reports {
        match report {
            Report::Unmanaged => {}
            Report::NotManaged(name) => failed.push(InstanceFailure {
                message: format!("{name} is not managed by lightsail-jit: left untouched"),
                instance_name: name,
                code: Code::InstanceNotManaged.as_str().to_string(),
            }),
            Report::Done(plan) => plans.push(plan),
            Report::Failed(name, err) => {
                tracing::warn!(instance = %name, error = %err, "reconcile failed");
                if err.is_transient() {
                    transient.get_or_insert(err);
                } else {
                    failed.push(InstanceFailure {
                        instance_name: name,
                        code: err.code,
                        message: err.message,
                    });
                }
            }
        }
    }
    plans.sort_by(|a, b| a.instance_name.cmp(&b.instance_name));
    let action = match ending {
        Ending::Lockdown => "lockdown",
        _ => "sweep",
    };
    if dry_run {
        return Ok(Outcome::Plan {
            request_id: request_id.to_string(),
            action,
            instances: plans
                .iter()
                .filter(|p| p.writes())
                .map(Plan::view)
                .collect(),
        });
    }
    for plan in &plans {
        let ended = plan.ended.iter().map(|g| (g, action));
        let expired = plan.expired.iter().map(|g| (g, "expired"));
        let removed = plan.removed.iter().map(|g| (g, "removed"));
        for (grant, decision) in ended.chain(expired).chain(removed) {
            Decision {
                decision,
                request_id: &grant.request_id,
                requester: selection.requester.as_deref().or(Some(&grant.requester)),
                instance: Some(&plan.instance_name),
                ports: &grant.ports,
                sources: Some(&grant.sources),
                expires_at: Some(grant.expires_at),
                reason: Some(decision),
                justification: selection.reason.as_deref(),
            }
            .log();
        }
        if plan.drift && plan.put.is_some() {
            tracing::warn!(instance = %plan.instance_name, "drift corrected: the firewall differed from baseline + grants");
        }
    }
    if let Some(err) = transient {
        return Err(Transient(err));
    }
    let instances = plans.len();
    Ok(match ending {
        Ending::Lockdown => Outcome::LockedDown {
            instances,
            ended: plans.iter().map(|p| p.ended.len()).sum(),
            api_calls,
            failed,
        },
        _ => Outcome::Swept {
            instances,
            expired: plans.iter().map(|p| p.expired.len()).sum(),
            drift_corrected: plans.iter().filter(|p| p.drift && p.put.is_some()).count(),
            api_calls,
            failed,
        },
    })
}
