//! `sweep`, `lockdown` and `unlock` across instances: the reconcile protocol for every
//! managed instance (or the named ones), with bounded concurrency.
//!
//! Every Region the command covers is swept at once (`ctx.regions`). An unchanged
//! instance costs nothing beyond its share of the paged read. A transient failure on one
//! instance, or one whole Region, does not stop the others; the command then reports a
//! transient failure so the schedule or queue runs it again (sweeps are idempotent).

use futures::StreamExt;
use futures::channel::mpsc;

use super::Ctx;
use super::failure::{Failure, Transient, rejection};
use super::inventory::inventory;
use super::locked::{InForce, unlock_refusal};
use super::reconcile::{Ending, Plan, apply, plan};
use crate::announce::warn_now;
use crate::audit::{Decision, Verdict};
use crate::clock::Clock;
use crate::command::{ActionName, Selection};
use crate::ledger::{Grant, Ledger};
use crate::lightsail::{Lightsail, LightsailError};
use crate::outcome::{InstanceFailure, Outcome};
use crate::region::{InstanceRef, Region};
use crate::rejection::{Code, Rejection};

/// An instance by Region and name, as a report holds it.
type Named = (Region, String);

/// What became of one instance the inventory produced.
enum Report {
    /// Not managed and not asked for by name: not this sweep's business.
    Skipped,
    /// Named in the command but not managed: reported, never touched.
    NamedButUnmanaged(Named),
    /// Reconciled; with the grants whose expiry this sweep announces.
    Done(Box<Plan>, Vec<Grant>),
    /// Left as it is, for a reason the command's sender must hear (an unlock inside a
    /// lockdown window).
    Refused(Named, Rejection),
    /// A Region this function cannot reach (no client for it): none of its instances
    /// was read.
    Unreachable(Region, Rejection),
    /// A failed page names no instance: its name is empty.
    Failed(Named, LightsailError),
}

/// Every Region of the command at once, each paging and writing its own instances with
/// the policy's concurrency (Lightsail's limits are per Region): three Regions take
/// about as long as the slowest one. A Region that fails is reported beside the others'
/// results, which are decided and announced all the same.
pub async fn sweep<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    selection: &Selection,
    ending: Ending<'_>,
) -> Result<Outcome, Failure> {
    let now = ctx.now();
    let regions = ctx
        .regions
        .iter()
        .map(|&region| sweep_region(ctx, region, selection, ending, now));
    let reports = futures::future::join_all(regions)
        .await
        .into_iter()
        .flatten();
    summarize(ctx, reports.collect(), ending, selection)
}

async fn sweep_region<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    region: Region,
    selection: &Selection,
    ending: Ending<'_>,
    now: jiff::Timestamp,
) -> Vec<Report> {
    let ls = match ctx.ls_in(region) {
        Ok(ls) => ls,
        Err(why) => return vec![Report::Unreachable(region, why)],
    };
    let ls = &ls;
    let named = selection.instance_names.as_deref();
    let concurrency = ctx.policy().sweep_concurrency;
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
                Err((name, err)) => return Report::Failed((region, name.unwrap_or_default()), err),
            };
            let ledger = Ledger::read(&instance.tags);
            if !ctx.is_managed(&instance, &ledger) {
                return match named {
                    Some(_) => Report::NamedButUnmanaged((region, instance.name.clone())),
                    None => Report::Skipped,
                };
            }
            if ending == Ending::Unlock
                && let Some(window) = ctx.policy().window_in_force(&instance, now)
            {
                let at = InstanceRef::new(region, &instance.name);
                let why = unlock_refusal(at, &InForce::Window(window));
                return Report::Refused((region, instance.name.clone()), why);
            }
            let plan = plan(ctx.policy(), &instance, ending, now);
            if ctx.dry_run {
                return Report::Done(Box::new(plan), Vec::new());
            }
            match apply(ls, ctx.policy(), &plan, now).await {
                Ok(_) => {
                    let warned = expiring(ctx, &ledger, &plan, ending, now);
                    Report::Done(Box::new(plan), warned)
                }
                Err(err) => Report::Failed((region, plan.instance_name.clone()), err),
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<Report>>();
    let ((), reports) = futures::join!(read_ahead, reconcile);
    reports
}

fn summarize<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    reports: Vec<Report>,
    ending: Ending<'_>,
    selection: &Selection,
) -> Result<Outcome, Failure> {
    let mut plans = Vec::new();
    let mut failed = Vec::new();
    let mut refused = Vec::new();
    let mut transient = None;
    for report in reports {
        match report {
            Report::Skipped => {}
            Report::NamedButUnmanaged((region, name)) => failed.push(InstanceFailure {
                message: format!(
                    "{} is not managed by lightsail-jit: left untouched",
                    InstanceRef::new(region, &name)
                ),
                region,
                instance_name: name,
                code: Code::InstanceNotManaged,
            }),
            Report::Done(plan, warned) => plans.push((*plan, warned)),
            Report::Refused(name, why) => refused.push((name, why)),
            Report::Unreachable(region, why) => failed.push(InstanceFailure {
                region,
                instance_name: "*".into(),
                code: why.code,
                message: why.message,
            }),
            Report::Failed((region, name), err) => {
                tracing::warn!(%region, instance = %name, error = %err, "reconcile failed");
                if err.is_transient() {
                    transient.get_or_insert(err);
                } else {
                    // A failed page names no instance: the message says every instance.
                    let name = if name.is_empty() { "*".into() } else { name };
                    let why = rejection(&err, InstanceRef::new(region, &name));
                    failed.push(InstanceFailure {
                        region,
                        instance_name: name,
                        code: why.code,
                        message: why.message,
                    });
                }
            }
        }
    }
    plans.sort_by(|a, b| a.0.instance().cmp(&b.0.instance()));
    refused.sort_by(|a, b| a.0.cmp(&b.0));
    // Nothing could be done and every instance was refused (an unlock of instances
    // inside a window): the command as a whole is refused. Not when another failed
    // transiently: then it must be delivered again.
    if plans.is_empty() && failed.is_empty() && transient.is_none() && !refused.is_empty() {
        let message: Vec<String> = refused.into_iter().map(|(_, why)| why.message).collect();
        return Err(Rejection::new(Code::LockedDown, message.join("; ")).into());
    }
    for ((region, name), why) in refused {
        failed.push(InstanceFailure {
            region,
            instance_name: name,
            code: why.code,
            message: why.message,
        });
    }
    let action = match ending {
        Ending::Lockdown(_) => ActionName::Lockdown,
        Ending::Unlock => ActionName::Unlock,
        _ => ActionName::Sweep,
    };
    if ctx.dry_run {
        return Ok(Outcome::Plan {
            request_id: ctx.request_id.to_string(),
            action,
            instances: plans
                .iter()
                .map(|(plan, _)| plan)
                .filter(|p| p.writes())
                .map(Plan::view)
                .collect(),
        });
    }
    for (plan, warned) in &plans {
        audit_lockdown(ctx, plan, ending, selection);
        // Grants end early in a sweep or lockdown only because a lockdown is in force.
        let ended = plan.ended.iter().chain(&plan.ended_earlier);
        let ended = ended.map(|g| (g, Verdict::Lockdown));
        let expired = plan.expired.iter().map(|g| (g, Verdict::Expired));
        let removed = plan.removed.iter().map(|g| (g, Verdict::Removed));
        let expiring = warned.iter().map(|g| (g, Verdict::Expiring));
        for (grant, verdict) in ended.chain(expired).chain(removed).chain(expiring) {
            ctx.decide(Decision {
                requester: selection.requester.as_deref().or(Some(&grant.requester)),
                reason: Some(verdict.into()),
                justification: selection.reason.as_deref(),
                reply_to: plan.replies.get(&grant.request_id),
                ..Decision::about(verdict, grant, plan.instance())
            });
        }
        if plan.drift && plan.put.is_some() {
            tracing::warn!(region = %plan.region, instance = %plan.instance_name, "drift corrected: the firewall differed from baseline + grants");
        }
    }
    if let Some(err) = transient {
        return Err(Transient(err).into());
    }
    let api_calls = ctx.ls.calls();
    let instances = plans.len();
    let plans: Vec<Plan> = plans.into_iter().map(|(plan, _)| plan).collect();
    Ok(match ending {
        Ending::Lockdown(record) => Outcome::LockedDown {
            instances,
            ended: plans
                .iter()
                .map(|p| p.ended.len() + p.ended_earlier.len())
                .sum(),
            // A redelivery answers the end first recorded, not one counted from now.
            until: plans
                .iter()
                .find_map(|p| p.lockdown.as_ref())
                .unwrap_or(record)
                .until,
            api_calls,
            failed,
        },
        Ending::Unlock => Outcome::Unlocked {
            instances,
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

/// The audit line of a lockdown recorded or lifted on one instance: by this command, or
/// by a sweep after the lockdown's end.
fn audit_lockdown<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    plan: &Plan,
    ending: Ending,
    selection: &Selection,
) {
    let lifted = plan.lifted.as_ref().filter(|_| !plan.lift.is_empty());
    let (verdict, reason, record) = match (ending, lifted) {
        // Announced on every delivery of the lockdown (the event id is the same), so a
        // redelivery makes up for an announcement that did not go out.
        (Ending::Lockdown(record), _)
            if plan
                .lockdown
                .as_ref()
                .is_some_and(|l| l.request_id == record.request_id) =>
        {
            (Verdict::Locked, None, plan.lockdown.as_ref())
        }
        (_, None) => return,
        (Ending::Unlock, Some(record)) => (Verdict::Unlocked, None, Some(record)),
        // Any other reconcile lifts a record only once its end has passed: the
        // lockdown's own decision, attributed to it.
        (_, Some(record)) => (Verdict::Unlocked, Some("expired"), Some(record)),
    };
    let by_itself = reason == Some("expired");
    let request_id = match (by_itself, record) {
        (true, Some(record)) if !record.request_id.is_empty() => record.request_id.as_str(),
        _ => ctx.request_id,
    };
    let requester = match by_itself {
        true => record.and_then(|r| r.requester.as_deref()),
        false => selection.requester.as_deref(),
    };
    ctx.decide(Decision {
        reason,
        justification: match by_itself {
            true => record.and_then(|r| r.reason.as_deref()),
            false => selection.reason.as_deref(),
        },
        expires_at: record.and_then(|l| l.until),
        reply_to: ctx.reply_to.filter(|_| !by_itself),
        ..Decision::instance(verdict, request_id, requester, plan.instance())
    });
}

/// The grants whose expiry this sweep announces (`announce::warn_now`): only a sweep
/// warns, and only about grants that stay open after it.
fn expiring<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    ledger: &Ledger,
    plan: &Plan,
    ending: Ending,
    now: jiff::Timestamp,
) -> Vec<Grant> {
    if ending != Ending::Expired || ctx.app.events.is_none() {
        return Vec::new();
    }
    let warn_before = ctx.policy().warn_before;
    ledger
        .active(now)
        .filter(|g| !plan.ended.iter().any(|e| e.request_id == g.request_id))
        .filter(|g| warn_now(g, now, warn_before))
        .cloned()
        .collect()
}
