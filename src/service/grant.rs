//! `grant`: validate → read instance → (capture baseline) → write the grant tag → open.
//!
//! During a lockdown only a break-glass requester is granted (`service::locked`).
//!
//! The tag is written before any port opens, so a port is never open without a record
//! that a sweep will close. Opening (`OpenInstancePublicPorts`) touches only the rules of
//! the grant's ports, which is safe beside concurrent grants and sweeps. Whether Open
//! adds to an existing rule or replaces its sources is not documented, so the grant
//! then re-reads the rules it touched and makes them whole (`verify`). A redelivered
//! request finds its own tag and only re-opens what is missing: one request, one grant,
//! one tag.

use std::collections::BTreeSet;

use futures::future::try_join_all;

use super::Ctx;
use super::failure::{Failure, refused};
use super::locked::{break_glass, cap_at_next_window, in_force, refusal};
use super::reconcile::baseline_in_force;
use super::verify::ensure_open;
use crate::audit::{Decision, Verdict};
use crate::clock::{Clock, rfc3339};
use crate::command::{ActionName, GrantRequest};
use crate::firewall::{Diff, PortRange, PortRule, RuleSet};
use crate::ledger::{
    EncodeError, Grant, Ledger, MAX_TAGS, ReplyTo, Tag, encode_baseline, encode_grant, encode_reply,
};
use crate::lightsail::{Instance, Lightsail, LightsailError};
use crate::outcome::{InstancePlan, Outcome};
use crate::region::InstanceRef;
use crate::rejection::{Code, Rejection};

pub async fn grant<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    request: &GrantRequest,
) -> Result<Outcome, Failure> {
    let name = request.instance_name.as_str();
    let now = ctx.now();
    let mut grant = ctx
        .policy()
        .decide_grant(request, ctx.region, ctx.request_id, now)?;
    let (instance, ledger) = ctx.read_managed(name).await?;
    // Before the redelivery check too: a redelivery must not re-open during a lockdown
    // (unless it is the same break-glass request again).
    let capped_by = match in_force(ctx.policy(), ctx.instance(name), &ledger, now) {
        Some(lockdown) => break_glass(
            ctx.policy(),
            request,
            ctx.instance(name),
            &lockdown,
            &mut grant,
        )?,
        None => cap_at_next_window(ctx.policy(), ctx.instance(name), now, &mut grant.expires_at),
    };
    let actual = RuleSet::from_rules(&instance.ports);

    if let Some(existing) = ledger.grant(ctx.request_id) {
        let reply_to = ledger.reply_to(ctx.request_id).or(ctx.reply_to);
        return redelivered(
            ctx,
            existing,
            (reply_to, request.reason.as_deref()),
            instance.clone(),
            now,
        )
        .await;
    }
    let existing_keys: BTreeSet<&str> = instance.tags.iter().map(|t| t.key.as_str()).collect();
    let tags = tags_to_write(ctx, &grant, &ledger, &actual, name, existing_keys)?;
    let rules = grant.rules().to_rules();
    if ctx.dry_run {
        return Ok(plan(
            ctx.request_id,
            ctx.instance(name),
            &actual,
            &grant,
            rules,
            tags,
        ));
    }
    ctx.ls
        .tag_resource(name, &tags)
        .await
        .map_err(refused(ctx.instance(name)))?;
    // The tag is written: if an Open fails, a redelivery re-opens, and the sweep closes
    // it at expiry.
    open_verified(ctx, name, &rules, &grant, instance)
        .await
        .map_err(refused(ctx.instance(name)))?;
    let verdict = match grant.break_glass {
        true => Verdict::BreakGlass,
        false => Verdict::Granted,
    };
    ctx.decide(Decision {
        justification: request.reason.as_deref(),
        reply_to: ctx.reply_to,
        capped_by: capped_by.as_deref(),
        ..Decision::about(verdict, &grant, ctx.instance(name))
    });
    Ok(Outcome::Granted {
        request_id: ctx.request_id.to_string(),
        region: ctx.region,
        instance_name: name.to_string(),
        expires_at: grant.expires_at,
        opened: rules,
        duplicate: false,
        capped_by,
        break_glass: grant.break_glass,
    })
}

/// A grant too old to be decided now (`CommandExpired`) may still be the redelivery of
/// one decided in time, whose first attempt failed after writing its tag: the sweep
/// would open that grant anyway, so it is finished and answered as granted (a
/// redelivery), not refused while it opens. Anything else is refused, with no write.
pub async fn stale<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    request: &GrantRequest,
    expired: Rejection,
) -> Result<Outcome, Failure> {
    let name = request.instance_name.as_str();
    let (instance, ledger) = match ctx.read_managed(name).await {
        Ok(read) => read,
        Err(Failure::Rejected(_)) => return Err(expired.into()),
        Err(transient) => return Err(transient),
    };
    let now = ctx.now();
    let Some(existing) = ledger.grant(ctx.request_id) else {
        return Err(expired.into());
    };
    if let Some(lockdown) = in_force(ctx.policy(), ctx.instance(name), &ledger, now)
        && !existing.break_glass
    {
        return Err(refusal(ctx.instance(name), &lockdown).into());
    }
    let reply_to = ledger.reply_to(ctx.request_id).or(ctx.reply_to);
    redelivered(
        ctx,
        existing,
        (reply_to, request.reason.as_deref()),
        instance.clone(),
        now,
    )
    .await
}

/// Open `rules` (when there are any), re-read, and make every range of `grant` hold
/// what the ledger asks for, whatever Open did to an existing rule (`verify`). With
/// nothing to open, the read in hand is checked instead (a redelivery of a grant whose
/// first attempt stopped between its Open and its check).
async fn open_verified<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    name: &str,
    rules: &[PortRule],
    grant: &Grant,
    read: Instance,
) -> Result<(), LightsailError> {
    // The baseline as read before the Open (what the grant wrote beside its tag).
    let (baseline, _) = baseline_in_force(
        ctx.policy(),
        ctx.instance(name),
        &Ledger::read(&read.tags),
        &RuleSet::from_rules(&read.ports),
    );
    let fresh = match rules.is_empty() {
        true => read,
        false => {
            open_all(&ctx.ls, name, rules).await?;
            ctx.ls.get_instance(name).await?
        }
    };
    let ranges: BTreeSet<PortRange> = grant.ports.iter().copied().collect();
    ensure_open(
        &ctx.ls,
        ctx.policy(),
        &ranges,
        fresh,
        Some(&baseline),
        ctx.now(),
    )
    .await?;
    Ok(())
}

/// Open every rule concurrently (one rule per port, so their order does not matter).
/// One `OpenInstancePublicPorts` per port, each with every source of the grant.
async fn open_all(
    ls: &impl Lightsail,
    name: &str,
    rules: &[PortRule],
) -> Result<(), LightsailError> {
    try_join_all(
        rules
            .iter()
            .map(|rule| ls.open_instance_public_ports(name, rule)),
    )
    .await
    .map(|_| ())
}

/// The grant's tag, plus the baseline's: captured now if there is none, or written again
/// as read (so a sweep that drops it concurrently cannot leave this grant without one).
fn tags_to_write<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    grant: &Grant,
    ledger: &Ledger,
    actual: &RuleSet,
    name: &str,
    keys: BTreeSet<&str>,
) -> Result<Vec<Tag>, Rejection> {
    let mut tags = vec![encode_grant(grant).map_err(too_large)?];
    // Kept beside the grant, by the same call: its later events echo it too.
    if let Some(reply) = ctx.reply_to {
        tags.extend(encode_reply(&grant.request_id, reply));
    }
    if ctx.policy().declared_baseline(ctx.instance(name)).is_none() {
        let (baseline, _) = baseline_in_force(ctx.policy(), ctx.instance(name), ledger, actual);
        let baseline_tags = encode_baseline(&baseline).map_err(|e| {
            Rejection::new(
                Code::LightsailRefused,
                format!("the firewall of {name} cannot be captured: {e}"),
            )
        })?;
        tags.extend(baseline_tags);
    }
    let new_keys = tags.iter().filter(|t| !keys.contains(t.key.as_str()));
    let after = keys.len() + new_keys.count();
    if after > MAX_TAGS {
        return Err(Rejection::new(
            Code::LedgerFull,
            format!(
                "{name} has {} tags; this grant needs {} more and Lightsail allows {MAX_TAGS}. Revoke a grant or remove a tag",
                ledger.tag_count,
                after.saturating_sub(ledger.tag_count)
            ),
        ));
    }
    Ok(tags)
}

fn too_large(e: EncodeError) -> Rejection {
    let code = match e {
        EncodeError::KeyTooLong(_) => Code::InvalidRequestId,
        _ => Code::GrantTooLarge,
    };
    Rejection::new(code, e.to_string())
}

/// The same request again: nothing new is recorded; what is missing is re-opened, and
/// the grant is announced again under the same event id (the first announcement may
/// never have gone out; consumers drop the duplicate).
async fn redelivered<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    existing: &Grant,
    (reply_to, reason): (Option<&ReplyTo>, Option<&str>),
    read: Instance,
    now: jiff::Timestamp,
) -> Result<Outcome, Failure> {
    let name = read.name.clone();
    let name = name.as_str();
    if !existing.is_active(now) {
        return Err(Rejection::new(
            Code::GrantExpired,
            format!(
                "request {} was granted already and expired at {}",
                existing.request_id,
                rfc3339(existing.expires_at)
            ),
        )
        .into());
    }
    let missing = existing
        .rules()
        .minus(&RuleSet::from_rules(&read.ports))
        .to_rules();
    if !ctx.dry_run {
        open_verified(ctx, name, &missing, existing, read)
            .await
            .map_err(refused(ctx.instance(name)))?;
        let verdict = match existing.break_glass {
            true => Verdict::BreakGlass,
            false => Verdict::Granted,
        };
        ctx.decide(Decision {
            reply_to,
            justification: reason,
            ..Decision::about(verdict, existing, ctx.instance(name))
        });
    }
    Ok(Outcome::Granted {
        request_id: existing.request_id.clone(),
        region: ctx.region,
        instance_name: name.to_string(),
        expires_at: existing.expires_at,
        opened: missing,
        duplicate: true,
        capped_by: None,
        break_glass: existing.break_glass,
    })
}

fn plan(
    request_id: &str,
    name: InstanceRef,
    actual: &RuleSet,
    grant: &Grant,
    open: Vec<PortRule>,
    tags: Vec<Tag>,
) -> Outcome {
    let mut after = actual.clone();
    after.union(&grant.rules());
    Outcome::Plan {
        request_id: request_id.to_string(),
        action: ActionName::Grant,
        instances: vec![InstancePlan {
            open,
            tags_to_write: tags,
            diff: Diff::between(actual, &after),
            ..InstancePlan::empty(name)
        }],
    }
}
