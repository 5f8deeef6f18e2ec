//! `revoke`: end one grant (by `requestId`) or every grant on an instance now, and
//! restore baseline + the grants that remain, through the reconcile protocol.

use super::reconcile::{Ending, execute, plan};
use super::{App, Transient, read_managed, refused};
use crate::audit::Decision;
use crate::clock::{Clock, rfc3339};
use crate::command::Targeted;
use crate::lightsail::Lightsail;
use crate::lightsail::Metered;
use crate::outcome::Outcome;
use crate::rejection::{Code, Rejection};

pub async fn revoke<L: Lightsail, C: Clock>(
    app: &App<L, C>,
    ls: &Metered<'_, L>,
    target: &Targeted,
    grant_id: Option<&str>,
    request_id: &str,
    dry_run: bool,
) -> Result<Outcome, Transient> {
    let name = target.instance_name.as_str();
    let reject = |e: Rejection| Ok(Outcome::rejected(request_id, Some(name), e));
    let (instance, ledger) = match read_managed(app, ls, name).await? {
        Ok(found) => found,
        Err(e) => return reject(e),
    };
    let now = app.clock.now();
    if let Some(id) = grant_id {
        match ledger.grant(id) {
            None => {
                return reject(Rejection::new(
                    Code::UnknownGrant,
                    format!("`requestId` {id:?} names no grant on {name}"),
                ));
            }
            Some(grant) if !grant.is_active(now) => {
                return reject(Rejection::new(
                    Code::GrantExpired,
                    format!(
                        "grant {id} already ended at {}; nothing to revoke",
                        rfc3339(grant.expires_at)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let plan = plan(&app.policy, &instance, Ending::Revoke(grant_id), now);
    if dry_run {
        return Ok(Outcome::Plan {
            request_id: request_id.to_string(),
            action: "revoke",
            instances: vec![plan.view()],
        });
    }
    if let Err(err) = execute(ls, &plan, now).await {
        return reject(refused(err, name)?);
    }
    for grant in &plan.ended {
        Decision {
            decision: "revoked",
            request_id: &grant.request_id,
            requester: target.requester.as_deref().or(Some(&grant.requester)),
            instance: Some(name),
            ports: &grant.ports,
            sources: Some(&grant.sources),
            expires_at: Some(grant.expires_at),
            reason: Some(if grant.is_active(now) {
                "revoked"
            } else {
                "expired"
            }),
            justification: target.reason.as_deref(),
        }
        .log();
    }
    Ok(Outcome::Revoked {
        request_id: request_id.to_string(),
        instance_name: name.to_string(),
        revoked: plan.ended.iter().map(|g| g.request_id.clone()).collect(),
        api_calls: ls.calls(),
    })
}
