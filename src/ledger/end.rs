//! A grant ended early, as its own tag: `jit:end:<requestId>` =
//! `v1 <endedAt> revoke <revokeId>` | `v1 <endedAt> lockdown <lockdownId>` |
//! `v1 <endedAt> window`.
//!
//! **Why a tag of its own.** An `extend` reads the grant, then rewrites the grant's tag
//! with the later expiry. Had the revoke ended the grant by rewriting that same tag (an
//! expiry of "now"), an extension that read the grant just before the revoke would
//! overwrite the revoke's end and the next sweep would open the port again. No command
//! but an ending ever writes `jit:end:*`, and the ledger reads a grant with an end marker
//! as ended at the marker's time whatever its expiry says: a revoke always wins.
//!
//! **Why it names the command.** A revoke whose firewall write failed after the marker
//! went on is delivered again. The marker tells that redelivery which grants *it* ended,
//! so it closes what is still open and answers the same `revoked` list as a first
//! attempt that had succeeded.
//!
//! The marker lives as long as its grant's tag and is removed by the same call; a marker
//! without a grant is debris that the next reconcile removes.
//!
//! A command's id is stored as it is when it is a valid `requestId` (the usual case: the
//! sender's id, or an SQS/EventBridge/Lambda UUID); any other delivery id is stored as
//! `sha256:<32 hex digits>` of it, which still tells a redelivery from another command.

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::tag::{Tag, is_tag_char};
use super::{END_PREFIX, VERSION};

/// What ended a grant before its expiry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndedBy {
    /// The `revoke` whose request id this is.
    Revoke(String),
    /// The `lockdown` command whose request id this is.
    Lockdown(String),
    /// A lockdown window of the policy.
    Window,
}

impl EndedBy {
    /// Ended by the revoke `request_id`: a redelivery of the revoke, or the revoke itself.
    pub fn revoke(request_id: &str) -> EndedBy {
        EndedBy::Revoke(command_ref(request_id))
    }

    /// Ended by the lockdown command `request_id`.
    pub fn lockdown(request_id: &str) -> EndedBy {
        EndedBy::Lockdown(command_ref(request_id))
    }
}

/// When and by what a grant was ended early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantEnd {
    pub at: Timestamp,
    pub by: EndedBy,
}

/// How a command's id is kept in a marker: as it is when it is tag-safe (no space, at
/// most [`MAX_REQUEST_ID`](crate::command::MAX_REQUEST_ID) characters), else a digest.
fn command_ref(id: &str) -> String {
    let safe = !id.is_empty()
        && id.chars().count() <= crate::command::MAX_REQUEST_ID
        && id.chars().all(|c| c != ' ' && is_tag_char(c));
    if safe {
        return id.to_string();
    }
    let digest = Sha256::digest(id.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

const REVOKE: &str = "revoke";
const LOCKDOWN: &str = "lockdown";
const WINDOW: &str = "window";

pub fn end_key(request_id: &str) -> String {
    format!("{END_PREFIX}{request_id}")
}

/// The marker ending grant `request_id`. It always fits a tag value: a command's request
/// id is at most 100 characters of tag characters (validated where it enters).
pub fn encode_end(request_id: &str, end: &GrantEnd) -> Tag {
    let at = end.at.as_second();
    let value = match &end.by {
        EndedBy::Revoke(id) => format!("{VERSION} {at} {REVOKE} {id}"),
        EndedBy::Lockdown(id) => format!("{VERSION} {at} {LOCKDOWN} {id}"),
        EndedBy::Window => format!("{VERSION} {at} {WINDOW}"),
    };
    Tag::new(end_key(request_id), value)
}

/// The grant id and the end of a `jit:end:*` tag, or `None` when it does not decode.
pub fn decode_end<'k>(key: &'k str, value: &str) -> Option<(&'k str, GrantEnd)> {
    let request_id = key.strip_prefix(END_PREFIX).filter(|id| !id.is_empty())?;
    let mut parts = value.splitn(4, ' ');
    if parts.next()? != VERSION {
        return None;
    }
    let at = Timestamp::from_second(parts.next()?.parse().ok()?).ok()?;
    let command = |id: Option<&str>| id.filter(|id| !id.is_empty()).map(str::to_string);
    let by = match (parts.next()?, parts.next()) {
        (REVOKE, id) => EndedBy::Revoke(command(id)?),
        (LOCKDOWN, id) => EndedBy::Lockdown(command(id)?),
        (WINDOW, None) => EndedBy::Window,
        _ => return None,
    };
    Some((request_id, GrantEnd { at, by }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tag_problem;

    fn at() -> Timestamp {
        Timestamp::from_second(1_790_000_000).unwrap()
    }

    #[test]
    fn every_kind_round_trips_through_a_valid_tag() {
        for by in [
            EndedBy::Revoke("revoke-1".into()),
            EndedBy::Lockdown("night:2026-11-23".into()),
            EndedBy::Window,
        ] {
            let end = GrantEnd { at: at(), by };
            let tag = encode_end("req-1", &end);
            assert_eq!(tag.key, "jit:end:req-1");
            assert_eq!(tag_problem(&tag), None, "{tag:?}");
            let value = tag.value.as_deref().unwrap();
            assert_eq!(decode_end(&tag.key, value), Some(("req-1", end)));
        }
        let revoke = encode_end(
            "a",
            &GrantEnd {
                at: at(),
                by: EndedBy::Revoke("r".into()),
            },
        );
        assert_eq!(revoke.value.as_deref(), Some("v1 1790000000 revoke r"));
    }

    #[test]
    fn an_id_that_is_not_tag_safe_is_kept_as_a_digest() {
        let by = EndedBy::revoke("a b{c}");
        let EndedBy::Revoke(kept) = &by else { panic!() };
        assert!(
            kept.starts_with("sha256:") && kept.len() == 7 + 32,
            "{kept}"
        );
        assert_eq!(by, EndedBy::revoke("a b{c}"));
        assert_ne!(by, EndedBy::revoke("a b{d}"));
        assert_eq!(EndedBy::revoke("r-1"), EndedBy::Revoke("r-1".into()));
        let tag = encode_end("g", &GrantEnd { at: at(), by });
        assert_eq!(tag_problem(&tag), None);
        let long = "x".repeat(101);
        assert_ne!(EndedBy::lockdown(&long), EndedBy::Lockdown(long.clone()));
    }

    #[test]
    fn the_longest_marker_fits() {
        let id = "i".repeat(crate::command::MAX_REQUEST_ID);
        let tag = encode_end(
            &id,
            &GrantEnd {
                at: Timestamp::MAX,
                by: EndedBy::Lockdown(id.clone()),
            },
        );
        assert_eq!(tag_problem(&tag), None);
    }

    #[test]
    fn what_does_not_decode_is_refused() {
        for (key, value) in [
            ("jit:end:", "v1 1790000000 window"),
            ("jit:end:a", "v2 1790000000 window"),
            ("jit:end:a", "v1 soon window"),
            ("jit:end:a", "v1 1790000000"),
            ("jit:end:a", "v1 1790000000 revoke"),
            ("jit:end:a", "v1 1790000000 revoke "),
            ("jit:end:a", "v1 1790000000 lockdown"),
            ("jit:end:a", "v1 1790000000 window extra"),
            ("jit:end:a", "v1 1790000000 expired r"),
            ("jit:grant:a", "v1 1790000000 window"),
        ] {
            assert_eq!(decode_end(key, value), None, "{key} = {value}");
        }
    }
}
