//! `revoke`: end one grant (the one `requestId` names) or every grant on an instance
//! now, and restore baseline + the grants that remain, through the reconcile protocol.
//!
//! Idempotent in its effect: the first thing a revoke writes is each grant's end marker,
//! naming the revoke. Should a later step fail, the redelivered revoke finds its markers,
//! closes what is still open, and answers the same `revoked` list as a first attempt
//! that had succeeded. A grant that some other command ended early is revoked the same
//! way (made sure to be closed); only a grant that simply ran out is `GrantExpired`.

use super::Ctx;
use super::context::named_grant;
use super::failure::{Failure, refused};
use super::reconcile::{Ending, apply, plan};
use crate::audit::{Decision, Verdict};
use crate::clock::{Clock, rfc3339};
use crate::command::{ActionName, RevokeRequest};
use crate::ledger::Grant;
use crate::lightsail::Lightsail;
use crate::outcome::Outcome;
use crate::rejection::{Code, Rejection};

pub async fn revoke<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    request: &RevokeRequest,
) -> Result<Outcome, Failure> {
    let target = &request.target;
    let name = target.instance_name.as_str();
    let (instance, ledger) = ctx.read_managed(name).await?;
    let now = ctx.now();
    if let Some(id) = &request.grant {
        let grant = named_grant(&ledger, id, ctx.instance(name))?;
        if !grant.is_active(now) && grant.ended.is_none() {
            return Err(Rejection::new(
                Code::GrantExpired,
                format!(
                    "grant {id} already ended at {}; nothing to revoke",
                    rfc3339(grant.expires_at)
                ),
            )
            .into());
        }
    }
    let ending = Ending::Revoke {
        grant: request.grant.as_ref().map(|id| id.as_str()),
        by: ctx.request_id,
    };
    let plan = plan(ctx.policy(), &instance, ending, now);
    if ctx.dry_run {
        return Ok(Outcome::Plan {
            request_id: ctx.request_id.to_string(),
            action: ActionName::Revoke,
            instances: vec![plan.view()],
        });
    }
    apply(&ctx.ls, ctx.policy(), &plan, now)
        .await
        .map_err(refused(ctx.instance(name)))?;
    // What this attempt ended, and what an earlier delivery of it ended already.
    let mut revoked: Vec<&Grant> = plan.ended.iter().chain(&plan.ended_earlier).collect();
    revoked.sort_by(|a, b| a.request_id.cmp(&b.request_id));
    for grant in &revoked {
        ctx.decide(Decision {
            requester: target.requester.as_deref().or(Some(&grant.requester)),
            reason: Some("revoked"),
            justification: target.reason.as_deref(),
            reply_to: ledger.reply_to(&grant.request_id).or(ctx.reply_to),
            ..Decision::about(Verdict::Revoked, grant, ctx.instance(name))
        });
    }
    Ok(Outcome::Revoked {
        request_id: ctx.request_id.to_string(),
        region: ctx.region,
        instance_name: name.to_string(),
        revoked: revoked.iter().map(|g| g.request_id.clone()).collect(),
        api_calls: ctx.ls.calls(),
    })
}
