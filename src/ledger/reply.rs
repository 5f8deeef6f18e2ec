//! A command's `replyTo`, and a grant's kept as tags: `jit:reply:<i>:<requestId>`.
//!
//! `replyTo` is where a chat bot wants to hear about a request (a channel and a thread,
//! a response URL): a JSON object of at most 1 KB that the function never interprets and
//! echoes in every event about the request. A grant's events come later too (expiring,
//! expired, revoked, from sweeps on other cold starts), so the grant's `replyTo` is kept
//! where the grant is: on the instance, beside the grant's tag, written by the same
//! `TagResource` call and removed by the same `UntagResource` call. Lightsail sees both
//! or neither, so a reply tag without its grant is debris, and the next reconcile removes
//! it.
//!
//! **Why base64 in chunks.** Tag values admit only letters, digits, spaces and
//! `+ - = . _ : / @`: no braces, quotes or commas, so JSON cannot be stored as it is.
//! Standard base64 uses exactly letters, digits, `+`, `/` and `=`, all of them allowed,
//! and needs no codec of our own. A value holds 256 characters, so the text goes in
//! chunks: chunk 0 is `v1 <chunks> <base64…>`, chunks 1… carry the rest. A typical Slack
//! `{"channel":…,"threadTs":…}` (≤ 187 bytes) costs one tag; the largest accepted
//! `replyTo` (1 KB) costs [`MAX_REPLY_TAGS`] = 6, counted against Lightsail's 50 like
//! any other tag (`LedgerFull`). The index comes before the request id in the key so
//! that a request id, which may contain `:`, never makes a key ambiguous; with a request
//! id of at most 100 characters the key stays within Lightsail's 128.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::tag::{MAX_VALUE_CHARS, Tag};
use super::{REPLY_PREFIX, VERSION};
use crate::rejection::{Code, Rejection};

/// The most bytes a `replyTo` may take as compact JSON.
pub const MAX_REPLY_BYTES: usize = 1024;
/// The deepest a `replyTo` may nest (the object itself is level 1).
pub const MAX_REPLY_DEPTH: usize = 8;
/// Tags the largest `replyTo` needs: ⌈(5 + 4·⌈1024/3⌉) / 256⌉.
pub const MAX_REPLY_TAGS: usize = 6;

/// A valid `replyTo`: a JSON object within the limits, kept as the sender wrote it
/// (key order included) and echoed as that same JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyTo {
    value: Value,
    /// Compact JSON text: what the size limit counts and what the tags store.
    text: String,
}

impl ReplyTo {
    /// Accept `value` as the `replyTo` field, or say exactly what is wrong with it.
    pub fn from_value(value: &Value) -> Result<ReplyTo, Rejection> {
        let invalid = |why: String| Rejection::new(Code::InvalidReplyTo, why);
        if !value.is_object() {
            return Err(invalid(format!(
                "`replyTo` must be a JSON object (it is echoed in every event about the request), got {}",
                crate::rejection::type_name(value)
            )));
        }
        let depth = depth(value);
        if depth > MAX_REPLY_DEPTH {
            return Err(invalid(format!(
                "`replyTo` nests {depth} levels deep; at most {MAX_REPLY_DEPTH} are accepted"
            )));
        }
        let text = value.to_string();
        if text.len() > MAX_REPLY_BYTES {
            return Err(invalid(format!(
                "`replyTo` is {} bytes as compact JSON; at most {MAX_REPLY_BYTES} are accepted",
                text.len()
            )));
        }
        Ok(ReplyTo {
            value: value.clone(),
            text,
        })
    }

    pub fn as_value(&self) -> &Value {
        &self.value
    }

    /// The compact JSON text.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl Serialize for ReplyTo {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// Levels of nesting: a scalar is 0, `{}` is 1, `{"a":[1]}` is 2. Iterative, so a
/// hostile value cannot exhaust the stack (serde_json's parser already stops at 128).
fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1)];
    while let Some((value, level)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => Box::new(map.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        deepest = deepest.max(level);
        stack.extend(children.map(|child| (child, level + 1)));
    }
    deepest
}

pub fn reply_key(index: usize, request_id: &str) -> String {
    format!("{REPLY_PREFIX}{index}:{request_id}")
}

/// The index and request id of a `jit:reply:<i>:<requestId>` key.
pub fn parse_reply_key(key: &str) -> Option<(usize, &str)> {
    let (index, request_id) = key.strip_prefix(REPLY_PREFIX)?.split_once(':')?;
    let valid_index = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
    let index = index.parse().ok().filter(|_| valid_index)?;
    (!request_id.is_empty()).then_some((index, request_id))
}

/// The tags that keep `reply` for the grant `request_id`: at most [`MAX_REPLY_TAGS`].
pub fn encode_reply(request_id: &str, reply: &ReplyTo) -> Vec<Tag> {
    let data = BASE64.encode(reply.text.as_bytes());
    // The header's digit count is fixed (1-6 chunks), so the first chunk's room is known.
    let header_len = format!("{VERSION} 0 ").len();
    let first_room = MAX_VALUE_CHARS - header_len;
    let rest = data.len().saturating_sub(first_room);
    let chunks = 1 + rest.div_ceil(MAX_VALUE_CHARS);
    let (first, mut tail) = data.split_at(first_room.min(data.len()));
    let mut tags = vec![Tag::new(
        reply_key(0, request_id),
        format!("{VERSION} {chunks} {first}"),
    )];
    for index in 1..chunks {
        let (chunk, more) = tail.split_at(MAX_VALUE_CHARS.min(tail.len()));
        tags.push(Tag::new(reply_key(index, request_id), chunk.to_string()));
        tail = more;
    }
    tags
}

/// The `replyTo` kept in `chunks` (index, value), or `None` when any chunk is missing,
/// extra or undecodable: a reply that cannot be read whole is not echoed in part.
pub fn decode_reply(chunks: &[(usize, &str)]) -> Option<ReplyTo> {
    let mut ordered: Vec<(usize, &str)> = chunks.to_vec();
    ordered.sort_by_key(|(index, _)| *index);
    let (_, head) = ordered.first().filter(|(index, _)| *index == 0)?;
    let mut header = head.splitn(3, ' ');
    if header.next()? != VERSION {
        return None;
    }
    let count: usize = header.next()?.parse().ok()?;
    let complete = ordered.len() == count
        && ordered
            .iter()
            .enumerate()
            .all(|(i, (index, _))| i == *index);
    if !complete || count > MAX_REPLY_TAGS {
        return None;
    }
    let mut data = header.next()?.to_string();
    for (_, chunk) in &ordered[1..] {
        data.push_str(chunk);
    }
    let text = String::from_utf8(BASE64.decode(data).ok()?).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    ReplyTo::from_value(&value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::tag_problem;
    use serde_json::json;

    fn chunks(tags: &[Tag]) -> Vec<(usize, &str)> {
        tags.iter()
            .map(|t| {
                let (index, _) = parse_reply_key(&t.key).unwrap();
                (index, t.value.as_deref().unwrap())
            })
            .collect()
    }

    #[test]
    fn a_slack_thread_fits_one_tag_and_round_trips_with_its_key_order() {
        let value = json!({"threadTs": "1717171717.000200", "channel": "C0123456"});
        let reply = ReplyTo::from_value(&value).unwrap();
        let tags = encode_reply("chg-1001", &reply);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].key, "jit:reply:0:chg-1001");
        assert_eq!(tag_problem(&tags[0]), None);
        let back = decode_reply(&chunks(&tags)).unwrap();
        assert_eq!(
            back.text(),
            r#"{"threadTs":"1717171717.000200","channel":"C0123456"}"#
        );
    }

    #[test]
    fn the_largest_reply_takes_six_valid_tags_and_round_trips() {
        let filler = "é".repeat((MAX_REPLY_BYTES - 8) / 2);
        let value = json!({ "x": filler });
        let reply = ReplyTo::from_value(&value).unwrap();
        assert!(
            reply.text().len() > MAX_REPLY_BYTES - 2,
            "{}",
            reply.text().len()
        );
        let id = "r".repeat(100);
        let tags = encode_reply(&id, &reply);
        assert_eq!(tags.len(), MAX_REPLY_TAGS);
        for tag in &tags {
            assert_eq!(tag_problem(tag), None, "{tag:?}");
        }
        assert_eq!(decode_reply(&chunks(&tags)), Some(reply));
    }

    #[test]
    fn a_missing_extra_or_altered_chunk_reads_as_nothing() {
        let reply = ReplyTo::from_value(&json!({"url": "x".repeat(600)})).unwrap();
        let tags = encode_reply("r", &reply);
        let all = chunks(&tags);
        assert!(all.len() >= 3);
        assert_eq!(decode_reply(&all[..all.len() - 1]), None);
        assert_eq!(decode_reply(&all[1..]), None);
        let mut extra = all.clone();
        extra.push((all.len(), "QUJD"));
        assert_eq!(decode_reply(&extra), None);
        let mut altered = all.clone();
        altered[1].1 = "!!!!";
        assert_eq!(decode_reply(&altered), None);
        assert_eq!(decode_reply(&[(0, "v2 1 e30=")]), None);
        assert_eq!(
            decode_reply(&[(0, "v1 1 e30=")]).map(|r| r.text().to_string()),
            Some("{}".into()),
            "`{{}}` is a valid (empty) replyTo"
        );
    }

    #[test]
    fn keys_parse_only_with_a_numeric_index_and_a_request_id() {
        assert_eq!(parse_reply_key("jit:reply:3:a:b"), Some((3, "a:b")));
        assert_eq!(parse_reply_key("jit:reply:x:a"), None);
        assert_eq!(parse_reply_key("jit:reply:+1:a"), None);
        assert_eq!(parse_reply_key("jit:reply:1:"), None);
        assert_eq!(parse_reply_key("jit:reply:1"), None);
        assert_eq!(parse_reply_key("jit:grant:1:a"), None);
    }

    #[test]
    fn hostile_values_are_refused_naming_the_field_and_the_limit() {
        let message = |v: Value| ReplyTo::from_value(&v).unwrap_err();
        for (value, says) in [
            (json!("C123"), "got a string"),
            (json!(["C123"]), "got an array"),
            (json!(null), "got null"),
            (json!({"x": "a".repeat(2000)}), "at most 1024"),
        ] {
            let r = message(value);
            assert_eq!(r.code, Code::InvalidReplyTo);
            assert!(
                r.message.contains("`replyTo`") && r.message.contains(says),
                "{r:?}"
            );
        }
        let mut deep = json!({});
        for _ in 0..MAX_REPLY_DEPTH {
            deep = json!({ "a": deep });
        }
        let r = message(deep);
        assert!(r.message.contains("9 levels"), "{r:?}");
        let mut just = json!(1);
        for _ in 0..MAX_REPLY_DEPTH {
            just = json!({ "a": just });
        }
        assert!(ReplyTo::from_value(&just).is_ok());
    }
}
