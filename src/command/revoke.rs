//! `revoke`: end one grant (`requestId`) or every grant on an instance, now.
//!
//! `{"action":"revoke","instanceName":"web-1","requestId":"req-1","requester":"alice"}`

use super::fields::Fields;
use super::grant_id::GrantId;
use super::targeted::Targeted;
use crate::rejection::Rejection;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeRequest {
    pub target: Targeted,
    /// The grant to end; `None` ends every grant on the instance.
    pub grant: Option<GrantId>,
}

impl RevokeRequest {
    pub(super) fn parse(
        f: &mut Fields,
        grant: Option<GrantId>,
    ) -> Result<RevokeRequest, Rejection> {
        Ok(RevokeRequest {
            target: Targeted::parse(f)?,
            grant,
        })
    }
}
