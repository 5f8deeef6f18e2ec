//! The text shared by grant and baseline tags: port ranges as `proto.from.to`, sources
//! joined by `+`, and the error for what cannot be written within Lightsail's limits.

use super::tag::{MAX_KEY_CHARS, MAX_VALUE_CHARS, is_tag_char};
use crate::firewall::{PortRange, Protocol, Sources};

/// Why a grant or baseline cannot be written as tags.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error(
        "the grant needs {chars} characters in its tag; Lightsail allows {MAX_VALUE_CHARS} (use fewer ports or sources, or a CIDR range)"
    )]
    GrantTooLarge { chars: usize },
    #[error("the tag key {0:?} is longer than {MAX_KEY_CHARS} characters")]
    KeyTooLong(String),
    #[error("the firewall source {0:?} cannot be stored in a tag")]
    UnstorableSource(String),
}

pub(super) fn encode_range(p: PortRange) -> String {
    format!("{}.{}.{}", p.protocol, p.from_port, p.to_port)
}

pub(super) fn decode_range(text: &str) -> Option<PortRange> {
    let mut parts = text.splitn(3, '.');
    let protocol: Protocol = parts.next()?.parse().ok()?;
    let from = parts.next()?.parse().ok()?;
    let to = parts.next()?.parse().ok()?;
    Some(PortRange::new(protocol, from, to))
}

pub(super) fn storable(source: &str) -> Result<&str, EncodeError> {
    let ok = !source.is_empty()
        && source
            .chars()
            .all(|c| is_tag_char(c) && !matches!(c, ' ' | '+' | '='));
    if ok {
        Ok(source)
    } else {
        Err(EncodeError::UnstorableSource(source.to_string()))
    }
}

pub(super) fn encode_sources(sources: &Sources) -> Result<String, EncodeError> {
    let parts = sources
        .iter()
        .map(storable)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join("+"))
}

/// IPv6 sources contain `:`, IPv4 sources start with a digit, aliases are the rest.
pub(super) fn decode_sources(text: &str) -> Option<Sources> {
    let mut sources = Sources::default();
    for source in text.split('+') {
        if source.is_empty() {
            return None;
        }
        if source.contains(':') {
            sources.ipv6_cidrs.insert(source.to_string());
        } else if source.starts_with(|c: char| c.is_ascii_digit()) {
            sources.cidrs.insert(source.to_string());
        } else {
            sources.cidr_list_aliases.insert(source.to_string());
        }
    }
    Some(sources)
}
