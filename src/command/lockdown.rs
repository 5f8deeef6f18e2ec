//! `lockdown`: end every grant on the instances and hold their lockdown rules, for a
//! while or until `unlock`.
//!
//! `{"action":"lockdown","instanceNames":["web-1"],"duration":"9h","requester":"ops",
//! "reason":"night"}` — `duration` or `until` (RFC 3339) bound it; with neither it holds
//! until an `unlock`. Leaving out `instanceNames` locks every managed instance.

use std::time::Duration;

use jiff::Timestamp;

use super::duration;
use super::fields::{Fields, printable};
use super::sweep::Selection;
use crate::rejection::{Code, Rejection};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockdownRequest {
    pub selection: Selection,
    pub end: LockdownEnd,
}

/// When a lockdown by command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockdownEnd {
    /// No `duration` or `until`: it holds until `unlock`.
    Unlock,
    /// `duration`: counted from when the command runs.
    After(Duration),
    /// `until`: an instant (which must be in the future when the command runs).
    At(Timestamp),
}

impl LockdownRequest {
    pub(super) fn parse(f: &mut Fields) -> Result<LockdownRequest, Rejection> {
        let selection = Selection::parse(f, true)?;
        let duration = duration(f)?;
        let until = f.string("until")?.map(parse_until).transpose()?;
        let end = match (duration, until) {
            (Some(_), Some(_)) => {
                return Err(Rejection::new(
                    Code::InvalidField,
                    "`duration` and `until` both say when the lockdown ends: send one of them",
                ));
            }
            (Some(duration), None) => LockdownEnd::After(duration),
            (None, Some(until)) => LockdownEnd::At(until),
            (None, None) => LockdownEnd::Unlock,
        };
        Ok(LockdownRequest { selection, end })
    }
}

/// An RFC 3339 instant with its offset (`2026-12-03T07:00:00+01:00`), to the second.
fn parse_until(text: &str) -> Result<Timestamp, Rejection> {
    let parsed: Timestamp = text.trim().parse().map_err(|_| {
        Rejection::new(
            Code::InvalidField,
            format!(
                "`until` {} must be an RFC 3339 time with an offset, such as \"2026-12-03T07:00:00+01:00\"",
                printable(text, 40)
            ),
        )
    })?;
    Ok(Timestamp::from_second(parsed.as_second()).unwrap_or(parsed))
}
