//! `status`: the ledger and baseline of one instance, or of every managed one.
//!
//! `{"action":"status","instanceName":"web-1"}`. Read-only.

use super::fields::Fields;
use super::validate::validate_instance_name;
use crate::rejection::Rejection;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRequest {
    pub instance_name: Option<String>,
}

impl StatusRequest {
    pub(super) fn parse(f: &mut Fields) -> Result<StatusRequest, Rejection> {
        Ok(StatusRequest {
            instance_name: f
                .string("instanceName")?
                .map(validate_instance_name)
                .transpose()?,
        })
    }
}
