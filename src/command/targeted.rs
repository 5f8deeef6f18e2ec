//! An instance plus who asks and why: the common base of `revoke` and `extend`.

use super::fields::Fields;
use super::validate::validate_instance_name;
use super::who_and_why;
use crate::rejection::Rejection;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Targeted {
    pub instance_name: String,
    pub requester: Option<String>,
    pub reason: Option<String>,
}

impl Targeted {
    pub(super) fn parse(f: &mut Fields) -> Result<Targeted, Rejection> {
        let instance_name = validate_instance_name(f.required_string("instanceName")?)?;
        let (requester, reason) = who_and_why(f)?;
        Ok(Targeted {
            instance_name,
            requester,
            reason,
        })
    }
}
