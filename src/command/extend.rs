//! `extend`: move an active grant's expiry, within the policy maximum counted from the
//! original grant time.
//!
//! `{"action":"extend","instanceName":"web-1","requestId":"req-1","duration":"30m"}`

use std::time::Duration;

use super::duration;
use super::fields::Fields;
use super::grant_id::GrantId;
use super::targeted::Targeted;
use crate::rejection::{Code, Rejection};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtendRequest {
    pub target: Targeted,
    /// The grant to extend (the command's `requestId`, which is required).
    pub grant: GrantId,
    /// `None`: the policy's default duration, counted from now.
    pub duration: Option<Duration>,
}

impl ExtendRequest {
    pub(super) fn parse(
        f: &mut Fields,
        grant: Option<GrantId>,
    ) -> Result<ExtendRequest, Rejection> {
        let grant = grant.ok_or_else(|| {
            Rejection::new(
                Code::MissingField,
                "`requestId` is required: it names the grant to extend",
            )
        })?;
        let target = Targeted::parse(f)?;
        let duration = duration(f)?;
        Ok(ExtendRequest {
            target,
            grant,
            duration,
        })
    }
}
