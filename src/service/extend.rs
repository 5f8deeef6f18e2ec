//! `extend`: move an active grant's expiry. Only the grant's tag is rewritten; nothing
//! is re-opened. The new expiry is capped by the policy maximum counted from the
//! *original* grant time, so a chain of extensions cannot keep a port open forever.

use super::Ctx;
use super::context::named_grant;
use super::failure::{Failure, refused};
use super::locked::{cap_at_next_window, in_force, refusal};
use crate::audit::{Decision, Verdict};
use crate::clock::{Clock, rfc3339};
use crate::command::{ActionName, ExtendRequest};
use crate::ledger::{Grant, encode_grant};
use crate::lightsail::Lightsail;
use crate::outcome::{InstancePlan, Outcome};
use crate::rejection::{Code, Rejection};

pub async fn extend<L: Lightsail, C: Clock>(
    ctx: &Ctx<'_, L, C>,
    request: &ExtendRequest,
) -> Result<Outcome, Failure> {
    let target = &request.target;
    let name = target.instance_name.as_str();
    let id = &request.grant;
    let (_, ledger) = ctx.read_managed(name).await?;
    let grant = named_grant(&ledger, id, ctx.instance(name))?;
    let now = ctx.now();
    // Before the expiry check: inside a lockdown, when access is possible again is the
    // useful answer. Break-glass grants are not extended either: ask for a new one.
    if let Some(lockdown) = in_force(ctx.policy(), ctx.instance(name), &ledger, now) {
        return Err(refusal(ctx.instance(name), &lockdown).into());
    }
    if !grant.is_active(now) {
        return Err(Rejection::new(
            Code::GrantExpired,
            format!(
                "grant {id} expired at {}; request a new one",
                rfc3339(grant.expires_at)
            ),
        )
        .into());
    }
    let mut expires_at =
        ctx.policy()
            .decide_extend(ctx.instance(name), grant, request.duration, now)?;
    let capped_by = cap_at_next_window(ctx.policy(), ctx.instance(name), now, &mut expires_at);
    // An extension is an ordinary decision (none is given during a lockdown), so an
    // extended break-glass grant is an ordinary grant: the next lockdown ends it.
    let extended = Grant {
        expires_at,
        break_glass: false,
        ..grant.clone()
    };
    let tag =
        encode_grant(&extended).map_err(|e| Rejection::new(Code::GrantTooLarge, e.to_string()))?;
    if ctx.dry_run {
        return Ok(Outcome::Plan {
            request_id: id.to_string(),
            action: ActionName::Extend,
            instances: vec![InstancePlan {
                tags_to_write: vec![tag],
                ..InstancePlan::empty(ctx.instance(name))
            }],
        });
    }
    ctx.ls
        .tag_resource(name, &[tag])
        .await
        .map_err(refused(ctx.instance(name)))?;
    ctx.decide(Decision {
        requester: target.requester.as_deref().or(Some(&grant.requester)),
        justification: target.reason.as_deref(),
        reply_to: ledger.reply_to(&grant.request_id).or(ctx.reply_to),
        capped_by: capped_by.as_deref(),
        ..Decision::about(Verdict::Extended, &extended, ctx.instance(name))
    });
    Ok(Outcome::Extended {
        request_id: id.to_string(),
        region: ctx.region,
        instance_name: name.to_string(),
        expires_at,
        capped_by,
    })
}
