//! `grant`: validate → read instance → (capture baseline) → write the grant tag → open.
//!
//! The tag is written before any port opens, so a port is never open without a record
//! that a sweep will close. Opening is additive (`OpenInstancePublicPorts`), which is
//! safe beside concurrent grants and sweeps. A redelivered request finds its own tag and
//! only re-opens what is missing: one request, one grant, one tag.

use std::collections::BTreeSet;

use futures::future::try_join_all;

use super::{App, Transient, read_managed, refused};
use crate::audit::Decision;
use crate::clock::{Clock, rfc3339};
use crate::command::GrantRequest;
use crate::firewall::{Diff, PortRule, RuleSet};
use crate::ledger::{EncodeError, Grant, Ledger, MAX_TAGS, Tag, encode_baseline, encode_grant};
use crate::lightsail::{Lightsail, LightsailError};
use crate::outcome::{InstancePlan, Outcome};
use crate::rejection::{Code, Rejection};

pub async fn grant<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    ls: &impl Lightsail,
    request: &GrantRequest,
    request_id: &str,
    dry_run: bool,
) -> Result<Outcome, Transient> {
    let name = request.instance_name.as_str();
    let reject = |e: Rejection| Ok(Outcome::rejected(request_id, Some(name), e));
    let now = app.clock.now();
    let grant = match app.policy.decide_grant(request, request_id, now) {
        Ok(grant) => grant,
        Err(e) => return reject(e),
    };
    let (instance, ledger) = match read_managed(app, ls, name).await? {
        Ok(found) => found,
        Err(e) => return reject(e),
    };
    let actual = RuleSet::from_rules(&instance.ports);

    if let Some(existing) = ledger.grant(request_id) {
        return redelivered(ls, existing, &actual, name, dry_run, now).await;
    }
    let existing_keys: Vec<String> = instance.tags.iter().map(|t| t.key.clone()).collect();
    let tags = match tags_to_write(app, &grant, &ledger, &actual, name, &existing_keys) {
        Ok(tags) => tags,
        Err(e) => return reject(e),
    };
    let rules = opening(&grant);
    if dry_run {
        return Ok(plan(request_id, name, &actual, &grant, rules, tags));
    }
    if let Err(err) = ls.tag_resource(name, &tags).await {
        return reject(refused(err, name)?);
    }
    if let Err(err) = open_all(ls, name, &rules).await {
        // The tag is written: a redelivery re-opens, and the sweep closes it at expiry.
        return reject(refused(err, name)?);
    }
    Decision {
        decision: "granted",
        request_id,
        requester: Some(&grant.requester),
        instance: Some(name),
        ports: &grant.ports,
        sources: Some(&grant.sources),
        expires_at: Some(grant.expires_at),
        reason: None,
        justification: request.reason.as_deref(),
    }
    .log();
    Ok(Outcome::Granted {
        request_id: request_id.to_string(),
        instance_name: name.to_string(),
        expires_at: grant.expires_at,
        opened: rules,
        duplicate: false,
    })
}

/// Open every rule concurrently: Open is additive, so their order does not matter.
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

/// One `OpenInstancePublicPorts` per port, each with every source of the grant.
fn opening(grant: &Grant) -> Vec<PortRule> {
    grant.rules().to_rules()
}

/// The grant's tag, plus the baseline's: captured now if there is none, or written again
/// as read (so a sweep that drops it concurrently cannot leave this grant without one).
fn tags_to_write<L, C>(
    app: &App<L, C>,
    grant: &Grant,
    ledger: &Ledger,
    actual: &RuleSet,
    name: &str,
    existing_keys: &[String],
) -> Result<Vec<Tag>, Rejection> {
    let mut tags = vec![encode_grant(grant).map_err(too_large)?];
    if app.policy.declared_baseline(name).is_none() {
        let (baseline, _) = super::reconcile::baseline_in_force(&app.policy, name, ledger, actual);
        let baseline_tags = encode_baseline(&baseline).map_err(|e| {
            Rejection::new(
                Code::LightsailRefused,
                format!("the firewall of {name} cannot be captured: {e}"),
            )
        })?;
        tags.extend(baseline_tags);
    }
    let mut keys: BTreeSet<&str> = existing_keys.iter().map(String::as_str).collect();
    keys.extend(tags.iter().map(|t| t.key.as_str()));
    let after = keys.len();
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

async fn redelivered(
    ls: &impl Lightsail,
    existing: &Grant,
    actual: &RuleSet,
    name: &str,
    dry_run: bool,
    now: jiff::Timestamp,
) -> Result<Outcome, Transient> {
    let request_id = existing.request_id.as_str();
    if !existing.is_active(now) {
        return Ok(Outcome::rejected(
            request_id,
            Some(name),
            Rejection::new(
                Code::GrantExpired,
                format!(
                    "request {request_id} was granted already and expired at {}",
                    rfc3339(existing.expires_at)
                ),
            ),
        ));
    }
    let missing = existing.rules().minus(actual).to_rules();
    if !dry_run && let Err(err) = open_all(ls, name, &missing).await {
        return Ok(Outcome::rejected(
            request_id,
            Some(name),
            refused(err, name)?,
        ));
    }
    Ok(Outcome::Granted {
        request_id: request_id.to_string(),
        instance_name: name.to_string(),
        expires_at: existing.expires_at,
        opened: missing,
        duplicate: true,
    })
}

fn plan(
    request_id: &str,
    name: &str,
    actual: &RuleSet,
    grant: &Grant,
    open: Vec<PortRule>,
    tags: Vec<Tag>,
) -> Outcome {
    let mut after = actual.clone();
    after.union(&grant.rules());
    Outcome::Plan {
        request_id: request_id.to_string(),
        action: "grant",
        instances: vec![InstancePlan {
            open,
            tags_to_write: tags,
            diff: Diff::between(actual, &after),
            ..InstancePlan::empty(name)
        }],
    }
}
