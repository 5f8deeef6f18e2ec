//! `extend`: move an active grant's expiry. Only the grant's tag is rewritten; nothing
//! is re-opened. The new expiry is capped by the policy maximum counted from the
//! *original* grant time, so a chain of extensions cannot keep a port open forever.

use super::{App, Transient, read_managed, refused};
use crate::audit::Decision;
use crate::clock::{Clock, rfc3339};
use crate::command::ExtendRequest;
use crate::ledger::{Grant, encode_grant};
use crate::lightsail::Lightsail;
use crate::outcome::{InstancePlan, Outcome};
use crate::rejection::{Code, Rejection};

pub async fn extend<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    ls: &impl Lightsail,
    request: &ExtendRequest,
    grant_id: &str,
    dry_run: bool,
) -> Result<Outcome, Transient> {
    let name = request.target.instance_name.as_str();
    let reject = |e: Rejection| Ok(Outcome::rejected(grant_id, Some(name), e));
    let (_, ledger) = match read_managed(app, ls, name).await? {
        Ok(found) => found,
        Err(e) => return reject(e),
    };
    let Some(grant) = ledger.grant(grant_id) else {
        return reject(Rejection::new(
            Code::UnknownGrant,
            format!("`requestId` {grant_id:?} names no grant on {name}"),
        ));
    };
    let now = app.clock.now();
    if !grant.is_active(now) {
        return reject(Rejection::new(
            Code::GrantExpired,
            format!(
                "grant {grant_id} expired at {}; request a new one",
                rfc3339(grant.expires_at)
            ),
        ));
    }
    let expires_at = match app.policy.decide_extend(name, grant, request.duration, now) {
        Ok(at) => at,
        Err(e) => return reject(e),
    };
    let extended = Grant {
        expires_at,
        ..grant.clone()
    };
    let tag = match encode_grant(&extended) {
        Ok(tag) => tag,
        Err(e) => return reject(Rejection::new(Code::GrantTooLarge, e.to_string())),
    };
    if dry_run {
        return Ok(Outcome::Plan {
            request_id: grant_id.to_string(),
            action: "extend",
            instances: vec![InstancePlan {
                tags_to_write: vec![tag],
                ..InstancePlan::empty(name)
            }],
        });
    }
    if let Err(err) = ls.tag_resource(name, &[tag]).await {
        return reject(refused(err, name)?);
    }
    Decision {
        decision: "extended",
        request_id: grant_id,
        requester: request
            .target
            .requester
            .as_deref()
            .or(Some(&grant.requester)),
        instance: Some(name),
        ports: &grant.ports,
        sources: Some(&grant.sources),
        expires_at: Some(expires_at),
        reason: None,
        justification: request.target.reason.as_deref(),
    }
    .log();
    Ok(Outcome::Extended {
        request_id: grant_id.to_string(),
        instance_name: name.to_string(),
        expires_at,
    })
}
