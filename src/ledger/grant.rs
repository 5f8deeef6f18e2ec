//! A grant and its tag: `jit:grant:<requestId>` =
//! `v1 <grantedAt> <expiresAt> <ports> <sources> <requester>`.
//!
//! A break-glass grant (given during a lockdown, kept open by it) writes
//! `v1-breakglass` instead of `v1`: the kind is part of the record, so a sweep never
//! has to guess it from the times, and an operator reads it in the console. A reader
//! that knows only `v1` treats it as broken and closes it: the safe direction.
//!
//! A grant ended early keeps its tag as it was; its end is a tag of its own
//! (`ledger::end`), which [`Ledger::read`](super::Ledger::read) puts in [`Grant::ended`].

use jiff::Timestamp;
use serde::Serialize;

use super::codec::{EncodeError, decode_range, decode_sources, encode_range, encode_sources};
use super::end::GrantEnd;
use super::tag::{MAX_KEY_CHARS, MAX_VALUE_CHARS, Tag};
use super::{GRANT_PREFIX, VERSION};
use crate::firewall::{PortRange, RuleSet, Sources};

/// One access grant: these ports, from these sources, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub request_id: String,
    #[serde(serialize_with = "crate::clock::serialize_second")]
    pub granted_at: Timestamp,
    #[serde(serialize_with = "crate::clock::serialize_second")]
    pub expires_at: Timestamp,
    pub requester: String,
    pub ports: Vec<PortRange>,
    pub sources: Sources,
    /// Given during a lockdown to a `breakGlassRequesters` member: lockdowns keep it open.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
    /// Ended early by a revoke or a lockdown (its `jit:end:*` marker): over from then on,
    /// whatever `expires_at` says. Never part of the grant's own tag.
    #[serde(skip)]
    pub ended: Option<GrantEnd>,
}

const BREAK_GLASS_VERSION: &str = "v1-breakglass";

impl Grant {
    pub fn tag_key(&self) -> String {
        grant_key(&self.request_id)
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.ends_at() > now
    }

    /// When access ends: the expiry, or the early end when that came first.
    pub fn ends_at(&self) -> Timestamp {
        match &self.ended {
            Some(end) => end.at.min(self.expires_at),
            None => self.expires_at,
        }
    }

    /// Every port of the grant from every source of the grant.
    pub fn rules(&self) -> RuleSet {
        let mut set = RuleSet::new();
        for port in &self.ports {
            set.add(*port, &self.sources);
        }
        set
    }
}

pub fn grant_key(request_id: &str) -> String {
    format!("{GRANT_PREFIX}{request_id}")
}

pub fn encode_grant(grant: &Grant) -> Result<Tag, EncodeError> {
    let key = grant.tag_key();
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(EncodeError::KeyTooLong(key));
    }
    let ports: Vec<String> = grant.ports.iter().map(|p| encode_range(*p)).collect();
    let sources = encode_sources(&grant.sources)?;
    let version = match grant.break_glass {
        true => BREAK_GLASS_VERSION,
        false => VERSION,
    };
    let value = format!(
        "{version} {} {} {} {} {}",
        grant.granted_at.as_second(),
        grant.expires_at.as_second(),
        ports.join("+"),
        sources,
        grant.requester
    );
    let chars = value.chars().count();
    if chars > MAX_VALUE_CHARS {
        return Err(EncodeError::GrantTooLarge { chars });
    }
    Ok(Tag::new(key, value))
}

pub fn decode_grant(key: &str, value: &str) -> Option<Grant> {
    let request_id = key.strip_prefix(GRANT_PREFIX)?;
    if request_id.is_empty() {
        return None;
    }
    let mut parts = value.splitn(6, ' ');
    let break_glass = match parts.next()? {
        VERSION => false,
        BREAK_GLASS_VERSION => true,
        _ => return None,
    };
    let granted_at = Timestamp::from_second(parts.next()?.parse().ok()?).ok()?;
    let expires_at = Timestamp::from_second(parts.next()?.parse().ok()?).ok()?;
    let ports = parts
        .next()?
        .split('+')
        .map(decode_range)
        .collect::<Option<Vec<_>>>()?;
    let sources = decode_sources(parts.next()?)?;
    let requester = parts.next()?.to_string();
    if ports.is_empty() || sources.is_empty() || requester.is_empty() {
        return None;
    }
    Some(Grant {
        request_id: request_id.to_string(),
        granted_at,
        expires_at,
        requester,
        ports,
        sources,
        break_glass,
        ended: None,
    })
}
