//! `unlock`: end the lockdowns started by command; the baseline and any break-glass
//! grant still running come back. A lockdown window is policy, not a command: `unlock`
//! cannot end it.
//!
//! `{"action":"unlock","instanceNames":["web-1"],"requester":"ops","reason":"morning"}`
//! — without `instanceNames`, every managed instance. `requester` is required: lifting a
//! lockdown is always attributed.

use super::fields::Fields;
use super::sweep::Selection;
use crate::rejection::{Code, Rejection};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnlockRequest {
    pub selection: Selection,
}

impl UnlockRequest {
    pub(super) fn parse(f: &mut Fields) -> Result<UnlockRequest, Rejection> {
        let selection = Selection::parse(f, true)?;
        if selection.requester.is_none() {
            return Err(Rejection::new(
                Code::MissingField,
                "`requester` is required: an unlock goes into the audit log under a name",
            ));
        }
        Ok(UnlockRequest { selection })
    }
}
