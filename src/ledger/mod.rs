//! The ledger: grants and captured baselines, stored as tags on the instance they open
//! (docs/DESIGN.md §4).
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
//! A grant ended early (revoke, lockdown) also has `jit:end:<requestId>` (see `end`): a
//! tag that only endings write, so an extension racing the end cannot undo it.
//!
//! Decoding never fails as a whole: a tag that does not decode is reported as broken so
//! the sweep removes it (its rules, whatever they were, are not in the desired state).

//! One concept a file: `tag` (a tag and Lightsail's rules for it, as the encoder keeps
//! them), `grant` (a grant and its tag), `baseline` (a captured firewall in chunks),
//! `codec` (the text both share); this file reads a whole ledger back.

mod baseline;
mod codec;
mod end;
mod grant;
mod lockdown;
mod reply;
mod tag;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use crate::firewall::RuleSet;

use baseline::decode_baseline_chunk;

pub use baseline::encode_baseline;
pub use codec::EncodeError;
pub use end::{EndedBy, GrantEnd, decode_end, encode_end, end_key};
pub use grant::{Grant, decode_grant, encode_grant, grant_key};
pub use lockdown::{LockdownRecord, decode_lockdown, encode_lockdown};
pub use reply::{
    MAX_REPLY_BYTES, MAX_REPLY_DEPTH, MAX_REPLY_TAGS, ReplyTo, decode_reply, encode_reply,
    parse_reply_key, reply_key,
};
pub use tag::{MAX_KEY_CHARS, MAX_TAGS, MAX_VALUE_CHARS, Tag, is_tag_char, tag_problem};

/// The opt-in tag: an instance carrying it (any value) is managed.
pub const MANAGED_TAG: &str = "jit:managed";
pub const GRANT_PREFIX: &str = "jit:grant:";
pub const BASELINE_KEY: &str = "jit:baseline";
const BASELINE_CHUNK_PREFIX: &str = "jit:baseline:";
pub const LOCKDOWN_KEY: &str = "jit:lockdown";
pub const LOCKDOWN_REASON_KEY: &str = "jit:lockdown:reason";
pub const REPLY_PREFIX: &str = "jit:reply:";
pub const END_PREFIX: &str = "jit:end:";
const VERSION: &str = "v1";

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
    /// The lockdown by command recorded on the instance, in force or not.
    pub lockdown: Option<LockdownRecord>,
    /// Every `jit:lockdown*` key present, to remove when the lockdown ends.
    pub lockdown_keys: Vec<String>,
    /// The `replyTo` kept with each grant that has one, by request id.
    pub replies: BTreeMap<String, ReplyTo>,
    /// Every `jit:reply:*` key of a grant whose reply is kept, removed with its grant.
    pub reply_keys: BTreeMap<String, Vec<String>>,
    /// The `jit:end:*` key of each grant ended early, removed with its grant.
    pub end_keys: BTreeMap<String, String>,
    /// `jit:` tags that do not decode: removed by the next reconcile.
    pub broken_keys: Vec<String>,
    /// All tags on the instance, the user's included (Lightsail allows 50).
    pub tag_count: usize,
}

impl Ledger {
    /// Decode every `jit:` tag. Never fails as a whole: what does not decode is listed
    /// (`broken_keys`) for the next reconcile to remove, and the rest still counts.
    pub fn read(tags: &[Tag]) -> Ledger {
        let mut ledger = Ledger {
            tag_count: tags.len(),
            ..Ledger::default()
        };
        let mut header: Option<usize> = None;
        let mut chunks: Vec<(usize, &str)> = Vec::new();
        let mut lockdown: Option<&str> = None;
        let mut lockdown_reason: Option<&str> = None;
        let mut replies: BTreeMap<&str, Vec<(usize, &str, &str)>> = BTreeMap::new();
        let mut ends: Vec<(&str, GrantEnd, &str)> = Vec::new();
        for tag in tags {
            let value = tag.value.as_deref().unwrap_or("");
            if tag.key == MANAGED_TAG {
                ledger.managed = true;
            } else if tag.key.starts_with(GRANT_PREFIX) {
                // A grant tag that does not decode opens nothing in the desired state, so
                // the next reconcile closes whatever it opened, and removes the tag.
                match decode_grant(&tag.key, value) {
                    Some(grant) => ledger.grants.push(grant),
                    None => ledger.broken_keys.push(tag.key.clone()),
                }
            } else if tag.key == LOCKDOWN_KEY {
                ledger.lockdown_keys.push(tag.key.clone());
                lockdown = Some(value);
            } else if tag.key == LOCKDOWN_REASON_KEY {
                ledger.lockdown_keys.push(tag.key.clone());
                lockdown_reason = Some(value);
            } else if tag.key.starts_with(END_PREFIX) {
                match decode_end(&tag.key, value) {
                    Some((id, end)) => ends.push((id, end, &tag.key)),
                    None => ledger.broken_keys.push(tag.key.clone()),
                }
            } else if tag.key.starts_with(REPLY_PREFIX) {
                match parse_reply_key(&tag.key) {
                    Some((index, id)) => replies
                        .entry(id)
                        .or_default()
                        .push((index, &tag.key, value)),
                    None => ledger.broken_keys.push(tag.key.clone()),
                }
            } else if tag.key == BASELINE_KEY {
                // Every baseline key is remembered, decodable or not, so the last grant's
                // end removes all of them and no stale chunk survives into a later capture.
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
        // An end marker counts beside its grant; alone it is debris (its grant's tag was
        // removed by a call that had not seen it).
        for (id, end, key) in ends {
            match ledger.grants.iter_mut().find(|g| g.request_id == id) {
                Some(grant) => {
                    grant.ended = Some(end);
                    ledger.end_keys.insert(id.to_string(), key.to_string());
                }
                None => ledger.broken_keys.push(key.to_string()),
            }
        }
        // A reply is kept only whole and beside its grant (both are written and removed
        // by one call): anything else is debris for the next reconcile to remove.
        for (id, chunks) in replies {
            let keys: Vec<String> = chunks.iter().map(|(_, key, _)| key.to_string()).collect();
            let values: Vec<(usize, &str)> = chunks.iter().map(|(i, _, v)| (*i, *v)).collect();
            match (ledger.grant(id).is_some(), decode_reply(&values)) {
                (true, Some(reply)) => {
                    ledger.replies.insert(id.to_string(), reply);
                    ledger.reply_keys.insert(id.to_string(), keys);
                }
                _ => ledger.broken_keys.extend(keys),
            }
        }
        // Fail closed: a lockdown tag that does not decode still holds the instance.
        ledger.lockdown = lockdown.map(|value| {
            decode_lockdown(value, lockdown_reason).unwrap_or_else(LockdownRecord::unreadable)
        });
        // The baseline counts only when the header's chunk count matches exactly the
        // chunks present (1..=count, none twice) and every chunk decodes: a half-written
        // or half-removed baseline would restore a firewall nobody had. Without one, the
        // reconcile recovers it as the live firewall minus every grant's rules.
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

    /// The `replyTo` kept with the grant `request_id`.
    pub fn reply_to(&self, request_id: &str) -> Option<&ReplyTo> {
        self.replies.get(request_id)
    }

    /// The tags that keep the grant's `replyTo` (none when it has none).
    pub fn reply_keys(&self, request_id: &str) -> &[String] {
        self.reply_keys.get(request_id).map_or(&[], Vec::as_slice)
    }

    /// The tags that go with the grant's own when it is removed: its `replyTo` and its end.
    pub fn companion_keys(&self, request_id: &str) -> impl Iterator<Item = &String> {
        self.reply_keys(request_id)
            .iter()
            .chain(self.end_keys.get(request_id))
    }

    pub fn active(&self, now: Timestamp) -> impl Iterator<Item = &Grant> {
        self.grants.iter().filter(move |g| g.is_active(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::{PortRange, PortRule, Protocol, Sources};

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
            break_glass: false,
            ended: None,
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

    #[test]
    fn an_end_marker_ends_its_grant_whatever_the_grant_tag_says() {
        let at = Timestamp::from_second(1_790_001_000).unwrap();
        let end = GrantEnd {
            at,
            by: EndedBy::revoke("r-1"),
        };
        // An extension wrote the grant's tag after the revoke: a later expiry.
        let mut extended = grant();
        extended.expires_at = Timestamp::from_second(1_790_009_000).unwrap();
        let tags = vec![encode_grant(&extended).unwrap(), encode_end("req-1", &end)];
        let ledger = Ledger::read(&tags);
        let read = ledger.grant("req-1").unwrap();
        assert_eq!(read.ended, Some(end));
        assert_eq!(
            read.expires_at, extended.expires_at,
            "the tag is read as written"
        );
        assert_eq!(read.ends_at(), at);
        assert!(read.is_active(Timestamp::from_second(1_790_000_999).unwrap()));
        assert!(!read.is_active(at));
        assert_eq!(ledger.end_keys["req-1"], "jit:end:req-1");
        let companions: Vec<&String> = ledger.companion_keys("req-1").collect();
        assert_eq!(companions, vec!["jit:end:req-1"]);
        assert!(ledger.broken_keys.is_empty());
    }

    #[test]
    fn an_end_marker_without_its_grant_or_unreadable_is_debris() {
        let end = GrantEnd {
            at: Timestamp::from_second(1_790_001_000).unwrap(),
            by: EndedBy::Window,
        };
        let tags = vec![
            encode_end("gone", &end),
            Tag::new("jit:end:req-1", "v1 yesterday window"),
            encode_grant(&grant()).unwrap(),
        ];
        let ledger = Ledger::read(&tags);
        assert_eq!(ledger.grant("req-1").unwrap().ended, None);
        assert_eq!(
            ledger.broken_keys,
            vec!["jit:end:req-1".to_string(), "jit:end:gone".to_string()]
        );
    }
}
