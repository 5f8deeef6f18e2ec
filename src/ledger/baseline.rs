//! A captured baseline as tags: a header `jit:baseline` = `v1 <chunks>` and chunks
//! `jit:baseline:<i>` of `proto.from.to=src+src` entries separated by spaces.

use super::codec::{EncodeError, decode_range, decode_sources, encode_range, storable};
use super::tag::{MAX_VALUE_CHARS, Tag};
use super::{BASELINE_CHUNK_PREFIX, BASELINE_KEY, VERSION};
use crate::firewall::RuleSet;

/// A captured baseline as tags: a header and as many chunks as its rules need.
///
/// Two packings, both bounded by Lightsail's 256 characters per value: a rule whose
/// sources do not fit one value is split into several entries with the same range
/// (decoding unions them back), then entries are packed greedily into as few chunks as
/// fit, because every chunk is one of the instance's 50 tags. The header carries the
/// count so a reader can tell a complete baseline from a partly written one.
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

pub(super) fn decode_baseline_chunk(text: &str, into: &mut RuleSet) -> Option<()> {
    for entry in text.split(' ') {
        let (range, sources) = entry.split_once('=')?;
        into.add(decode_range(range)?, &decode_sources(sources)?);
    }
    Some(())
}
