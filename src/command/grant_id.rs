//! The grant a `revoke` or `extend` names.
//!
//! A grant is identified by the `requestId` it was granted under, which is also the
//! idempotency key of the grant command and the `requestId` of every outcome. Giving the
//! *target* its own type keeps "the grant this command acts on" from being confused with
//! "the id this command answers under" — for `revoke` they can differ (a revoke without
//! `requestId` ends every grant and answers under its delivery's id).

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId(String);

impl GrantId {
    /// A request id that passed `validate_request_id`, as a grant's identity.
    pub(super) fn from_valid(request_id: String) -> GrantId {
        GrantId(request_id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GrantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
