//! The ledger: grants and captured baselines, stored as tags on the instance they open
//! (DESIGN §4).
//!
//! Keeping state on the instance means no database, an operator can read every grant in
//! the console, and IAM can scope the function by tag. The price is Lightsail's tag
//! rules, which shape the encoding:
//!
//! * key ≤ 128 and value ≤ 256 characters, at most 50 tags per resource (the user's own
//!   tags included);
//! * only letters, digits, spaces and `+ - = . _ : / @` (so no JSON, no commas);
//! * the `aws:` prefix is reserved.
//!
//! A grant is one tag, `jit:grant:<requestId>` =
//! `v1 <grantedAt> <expiresAt> <ports> <sources> <requester>` with epoch seconds, ports as
//! `proto.from.to` joined by `+`, sources joined by `+`, and the requester last (it may
//! contain spaces). A captured baseline is a header `jit:baseline` = `v1 <chunks>` plus
//! chunks `jit:baseline:<i>` holding `proto.from.to=src+src` entries separated by spaces.
//!
//! Decoding never fails as a whole: a tag that does not decode is reported as broken so
//! the sweep removes it (its rules, whatever they were, are not in the desired state).

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::firewall::{PortRange, Protocol, RuleSet, Sources};

/// The opt-in tag: an instance carrying it (any value) is managed.
pub const MANAGED_TAG: &str = "jit:managed";
pub const GRANT_PREFIX: &str = "jit:grant:";
pub const BASELINE_KEY: &str = "jit:baseline";
const BASELINE_CHUNK_PREFIX: &str = "jit:baseline:";
const VERSION: &str = "v1";

pub const MAX_TAGS: usize = 50;
pub const MAX_KEY_CHARS: usize = 128;
pub const MAX_VALUE_CHARS: usize = 256;

/// A Lightsail tag; the value is optional (a key-only tag).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Tag {
            key: key.into(),
            value: Some(value.into()),
        }
    }
}

/// Characters Lightsail accepts in tag keys and values.
pub fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, ' ' | '+' | '-' | '=' | '.' | '_' | ':' | '/' | '@')
}

/// Whether a tag satisfies Lightsail's rules (what the simulator enforces too).
pub fn tag_problem(tag: &Tag) -> Option<String> {
    let value = tag.value.as_deref().unwrap_or("");
    if tag.key.is_empty() || tag.key.chars().count() > MAX_KEY_CHARS {
        Some(format!("tag key must be 1-{MAX_KEY_CHARS} characters"))
    } else if value.chars().count() > MAX_VALUE_CHARS {
        Some(format!(
            "tag value must be at most {MAX_VALUE_CHARS} characters"
        ))
    } else if !tag.key.chars().all(is_tag_char) || !value.chars().all(is_tag_char) {
        Some("tags may contain only letters, numbers, spaces and + - = . _ : / @".into())
    } else if tag.key.starts_with("aws:") || value.starts_with("aws:") {
        Some("the aws: prefix is reserved".into())
    } else {
        None
    }
}

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
}

impl Grant {
    pub fn tag_key(&self) -> String {
        grant_key(&self.request_id)
    }

    pub fn is_active(&self, now: Timestamp) -> bool {
        self.expires_at > now
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

pub fn encode_grant(grant: &Grant) -> Result<Tag, EncodeError> {
    let key = grant.tag_key();
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(EncodeError::KeyTooLong(key));
    }
    let ports: Vec<String> = grant.ports.iter().map(|p| encode_range(*p)).collect();
    let sources = encode_sources(&grant.sources)?;
    let value = format!(
        "{VERSION} {} {} {} {} {}",
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
    if parts.next()? != VERSION {
        return None;
    }
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
    })
}

fn encode_range(p: PortRange) -> String {
    format!("{}.{}.{}", p.protocol, p.from_port, p.to_port)
}

fn decode_range(text: &str) -> Option<PortRange> {
    let mut parts = text.splitn(3, '.');
    let protocol: Protocol = parts.next()?.parse().ok()?;
    let from = parts.next()?.parse().ok()?;
    let to = parts.next()?.parse().ok()?;
    Some(PortRange::new(protocol, from, to))
}

fn storable(source: &str) -> Result<&str, EncodeError> {
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

fn encode_sources(sources: &Sources) -> Result<String, EncodeError> {
    let parts = sources
        .iter()
        .map(storable)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join("+"))
}

/// IPv6 sources contain `:`, IPv4 sources start with a digit, aliases are the rest.
fn decode_sources(text: &str) -> Option<Sources> {
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

/// A captured baseline as tags: a header and as many chunks as its rules need.
pub fn encode_baseline(baseline: &RuleSet) -> Result<Vec<Tag>, EncodeError> {
    let mut entries = Vec::new();
    for (range, sources) in baseline.iter() {
        let head = format!("{}=", encode_range(*range));
        let mut entry = head.clone();
        for source in sources.iter() {
            let source = storable(source)?;
            let sep = if entry == head { "" } else { "+" };
            if entry.len() + sep.len() + source.len() > MAX_VALUE_CHARS && entry != head {
                entries.push(std::mem::replace(&mut entry, head.clone()));
                entry.push_str(source);
            } else {
                entry.push_str(sep);
                entry.push_str(source);
            }
        }
        entries.push(entry);
    }
    let mut chunks: Vec<String> = Vec::new();
    for entry in entries {
        match chunks.last_mut() {
            Some(chunk) if chunk.len() + 1 + entry.len() <= MAX_VALUE_CHARS => {
                chunk.push(' ');
                chunk.push_str(&entry);
            }
            _ => chunks.push(entry),
        }
    }
    let mut tags = vec![Tag::new(
        BASELINE_KEY,
        format!("{VERSION} {}", chunks.len()),
    )];
    for (i, chunk) in chunks.into_iter().enumerate() {
        tags.push(Tag::new(format!("{BASELINE_CHUNK_PREFIX}{}", i + 1), chunk));
    }
    Ok(tags)
}

fn decode_baseline_chunk(text: &str, into: &mut RuleSet) -> Option<()> {
    for entry in text.split(' ') {
        let (range, sources) = entry.split_once('=')?;
        into.add(decode_range(range)?, &decode_sources(sources)?);
    }
    Some(())
}

/// Everything the function keeps on one instance, decoded from its tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    pub managed: bool,
    /// Valid grants, ordered by request id.
    pub grants: Vec<Grant>,
    /// The captured baseline, when its header and every chunk decoded.
    pub baseline: Option<RuleSet>,
    /// Every `jit:baseline*` key present, to remove when the last grant ends.
    pub baseline_keys: Vec<String>,
    /// `jit:` tags that do not decode: removed by the next reconcile.
    pub broken_keys: Vec<String>,
    /// All tags on the instance, the user's included (Lightsail allows 50).
    pub tag_count: usize,
}

impl Ledger {
    pub fn read(tags: &[Tag]) -> Ledger {
        let mut ledger = Ledger {
            tag_count: tags.len(),
            ..Ledger::default()
        };
        let mut header: Option<usize> = None;
        let mut chunks: Vec<(usize, &str)> = Vec::new();
        for tag in tags {
            let value = tag.value.as_deref().unwrap_or("");
            if tag.key == MANAGED_TAG {
                ledger.managed = true;
            } else if tag.key.starts_with(GRANT_PREFIX) {
                match decode_grant(&tag.key, value) {
                    Some(grant) => ledger.grants.push(grant),
                    None => ledger.broken_keys.push(tag.key.clone()),
                }
            } else if tag.key == BASELINE_KEY {
                ledger.baseline_keys.push(tag.key.clone());
                header = value
                    .strip_prefix("v1 ")
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n <= MAX_TAGS);
            } else if let Some(index) = tag.key.strip_prefix(BASELINE_CHUNK_PREFIX) {
                ledger.baseline_keys.push(tag.key.clone());
                if let Ok(index) = index.parse::<usize>() {
                    chunks.push((index, value));
                }
            }
        }
        ledger
            .grants
            .sort_by(|a, b| a.request_id.cmp(&b.request_id));
        if let Some(count) = header {
            let indices: BTreeSet<usize> = chunks.iter().map(|(i, _)| *i).collect();
            let complete = indices == (1..=count).collect() && chunks.len() == count;
            let mut rules = RuleSet::new();
            if complete
                && chunks
                    .iter()
                    .all(|(_, text)| decode_baseline_chunk(text, &mut rules).is_some())
            {
                ledger.baseline = Some(rules);
            }
        }
        ledger
    }

    pub fn grant(&self, request_id: &str) -> Option<&Grant> {
        self.grants.iter().find(|g| g.request_id == request_id)
    }

    pub fn active(&self, now: Timestamp) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(move |g| g.is_active(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::PortRule;

    fn grant() -> Grant {
        let mut sources = Sources::default();
        sources.cidrs.insert("203.0.113.7/32".into());
        sources.ipv6_cidrs.insert("2001:db8::/64".into());
        sources.cidr_list_aliases.insert("lightsail-connect".into());
        Grant {
            request_id: "req-1".into(),
            granted_at: Timestamp::from_second(1_790_000_000).unwrap(),
            expires_at: Timestamp::from_second(1_790_003_600).unwrap(),
            requester: "Alice Smith".into(),
            ports: vec![
                PortRange::new(Protocol::Tcp, 22, 22),
                PortRange::new(Protocol::Icmp, 8, -1),
            ],
            sources,
        }
    }

    #[test]
    fn grant_round_trips_through_a_valid_tag() {
        let tag = encode_grant(&grant()).unwrap();
        assert_eq!(tag.key, "jit:grant:req-1");
        assert_eq!(tag_problem(&tag), None);
        assert_eq!(
            decode_grant(&tag.key, tag.value.as_deref().unwrap()),
            Some(grant())
        );
    }

    #[test]
    fn oversized_grant_is_refused() {
        let mut g = grant();
        for i in 0..20 {
            g.sources.ipv6_cidrs.insert(format!("2001:db8:{i:x}::/64"));
        }
        assert!(matches!(
            encode_grant(&g),
            Err(EncodeError::GrantTooLarge { .. })
        ));
    }

    #[test]
    fn baseline_round_trips_across_chunks() {
        let mut rules = vec![PortRule {
            protocol: Protocol::Tcp,
            from_port: 80,
            to_port: 80,
            cidrs: vec!["0.0.0.0/0".into()],
            ipv6_cidrs: vec!["::/0".into()],
            cidr_list_aliases: vec!["lightsail-connect".into()],
        }];
        rules.push(PortRule {
            protocol: Protocol::Tcp,
            from_port: 22,
            to_port: 22,
            cidrs: (0..40).map(|i| format!("198.51.{i}.0/24")).collect(),
            ipv6_cidrs: vec![],
            cidr_list_aliases: vec![],
        });
        let baseline = RuleSet::from_rules(&rules);
        let tags = encode_baseline(&baseline).unwrap();
        assert!(tags.len() > 2, "40 sources need more than one chunk");
        for tag in &tags {
            assert_eq!(tag_problem(tag), None, "{tag:?}");
        }
        let ledger = Ledger::read(&tags);
        assert_eq!(ledger.baseline, Some(baseline));
        assert_eq!(ledger.baseline_keys.len(), tags.len());
    }

    #[test]
    fn empty_baseline_is_recorded() {
        let tags = encode_baseline(&RuleSet::new()).unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(Ledger::read(&tags).baseline, Some(RuleSet::new()));
    }

    #[test]
    fn missing_chunk_means_no_baseline_and_broken_grants_are_reported() {
        let mut tags = encode_baseline(&RuleSet::from_rules(&[PortRule {
            protocol: Protocol::Tcp,
            from_port: 22,
            to_port: 22,
            cidrs: vec!["0.0.0.0/0".into()],
            ipv6_cidrs: vec![],
            cidr_list_aliases: vec![],
        }]))
        .unwrap();
        tags.pop();
        tags.push(Tag::new("jit:grant:bad", "v1 not numbers"));
        tags.push(Tag::new(MANAGED_TAG, ""));
        let ledger = Ledger::read(&tags);
        assert_eq!(ledger.baseline, None);
        assert_eq!(ledger.broken_keys, vec!["jit:grant:bad".to_string()]);
        assert!(ledger.managed);
        assert_eq!(ledger.baseline_keys, vec![BASELINE_KEY.to_string()]);
    }
}
