//! `sweep` and `lockdown`: reconcile every managed instance, or the named ones.
//!
//! `{"action":"sweep"}` (what the schedule sends), `{"action":"lockdown",
//! "instanceNames":["web-1"],"requester":"ops","reason":"night"}`. Only a lockdown is
//! attributed (`requester`, `reason`): it ends grants early; a sweep only ends what
//! has expired.

use serde_json::Value;

use super::fields::{Fields, type_name};
use super::validate::validate_instance_name;
use super::{MAX_INSTANCE_NAMES, who_and_why};
use crate::rejection::Rejection;

/// Which instances a sweep or lockdown covers: `None` means every managed instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub instance_names: Option<Vec<String>>,
    pub requester: Option<String>,
    pub reason: Option<String>,
}

impl Selection {
    pub(super) fn parse(f: &mut Fields, attributed: bool) -> Result<Selection, Rejection> {
        let instance_names = match f.array("instanceNames", MAX_INSTANCE_NAMES)? {
            None => None,
            Some(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| match item {
                        Value::String(s) => validate_instance_name(s),
                        other => Err(Rejection::invalid(
                            &format!("instanceNames[{i}]"),
                            &format!("a string, got {}", type_name(other)),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let (requester, reason) = if attributed {
            who_and_why(f)?
        } else {
            (None, None)
        };
        Ok(Selection {
            instance_names,
            requester,
            reason,
        })
    }
}
