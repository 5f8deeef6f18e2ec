//! Lightsail's tag rules, stated by the simulator itself.
//!
//! The ledger encodes grants and baselines into tags under its own copy of these rules
//! (`crate::ledger`). If the simulator checked tags with the ledger's functions, a wrong
//! rule there would pass on both sides and only real Lightsail would notice. So this
//! file is written from the service's documentation alone and shares nothing with the
//! encoder but the [`Tag`] type; the two copies must agree, and the tests make them.
//!
//! The rules, from the Lightsail Developer Guide (`amazon-lightsail-tags.md`) and the
//! `TagResource`/`Tag` member docs in the service model (see
//! `shared/reference/lightsail-firewall.md` §3):
//!
//! * at most **50 tags per resource**, counted after the write (overwriting a key that
//!   is already there adds nothing);
//! * a key is **1–128** Unicode characters, a value **0–256** (a key-only tag has none);
//! * keys and values use only letters, numbers, spaces and `+ - = . _ : / @`. The
//!   sources say "letters, numbers" without saying which alphabet; we read it as Unicode
//!   letters and numbers (`char::is_alphabetic`, `char::is_numeric`), because the
//!   lengths are counted in Unicode characters and because that is what the simulator
//!   has always accepted. "Spaces" means U+0020 only;
//! * the **`aws:` prefix is reserved** for keys and values, in any letter case.
//!
//! The model itself sets no constraint on `TagKey`, `TagValue` or `TagList`, and the
//! SDK checks nothing, so the service is the only place these rules hold — and the
//! simulator is its stand-in.

use crate::ledger::Tag;

pub const MAX_TAGS_PER_RESOURCE: usize = 50;
pub const MAX_KEY_LENGTH: usize = 128;
pub const MAX_VALUE_LENGTH: usize = 256;
const RESERVED_PREFIX: &str = "aws:";
const ALLOWED_PUNCTUATION: &str = "+-=._:/@";

/// Which rule a tag, or a resource's tag list, breaks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TagViolation {
    #[error("tag key must be 1-{MAX_KEY_LENGTH} characters, not {0}")]
    KeyLength(usize),
    #[error("tag value must be at most {MAX_VALUE_LENGTH} characters, not {0}")]
    ValueLength(usize),
    #[error("tags may contain only letters, numbers, spaces and + - = . _ : / @, not {0:?}")]
    Character(char),
    #[error("the aws: prefix is reserved")]
    ReservedPrefix,
    #[error(
        "a resource can have at most {MAX_TAGS_PER_RESOURCE} tags; this request would make {0}"
    )]
    TooManyTags(usize),
}

/// The first rule `tag` breaks, checked in the order lengths, characters, prefix.
pub fn check_tag(tag: &Tag) -> Result<(), TagViolation> {
    let value = tag.value.as_deref().unwrap_or("");
    let key_length = tag.key.chars().count();
    if key_length == 0 || key_length > MAX_KEY_LENGTH {
        return Err(TagViolation::KeyLength(key_length));
    }
    let value_length = value.chars().count();
    if value_length > MAX_VALUE_LENGTH {
        return Err(TagViolation::ValueLength(value_length));
    }
    if let Some(c) = tag.key.chars().chain(value.chars()).find(|c| !allowed(*c)) {
        return Err(TagViolation::Character(c));
    }
    if reserved(&tag.key) || reserved(value) {
        return Err(TagViolation::ReservedPrefix);
    }
    Ok(())
}

/// Whether a resource may carry `count` tags.
pub fn check_count(count: usize) -> Result<(), TagViolation> {
    if count > MAX_TAGS_PER_RESOURCE {
        return Err(TagViolation::TooManyTags(count));
    }
    Ok(())
}

fn allowed(c: char) -> bool {
    c.is_alphabetic() || c.is_numeric() || c == ' ' || ALLOWED_PUNCTUATION.contains(c)
}

fn reserved(text: &str) -> bool {
    text.get(..RESERVED_PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(RESERVED_PREFIX))
}

#[cfg(test)]
mod tests {
    //! Literal tags only: nothing here calls the ledger, so a rule the ledger gets wrong
    //! cannot make these pass.

    use super::*;

    fn key_only(key: &str) -> Tag {
        Tag {
            key: key.into(),
            value: None,
        }
    }

    #[test]
    fn refused_tags_name_the_rule_they_break() {
        let cases: Vec<(&str, Tag, TagViolation)> = vec![
            ("empty key", key_only(""), TagViolation::KeyLength(0)),
            (
                "129-character key",
                key_only(&"k".repeat(129)),
                TagViolation::KeyLength(129),
            ),
            (
                "129 two-byte characters",
                key_only(&"é".repeat(129)),
                TagViolation::KeyLength(129),
            ),
            (
                "257-character value",
                Tag::new("k", "v".repeat(257)),
                TagViolation::ValueLength(257),
            ),
            ("# in a key", key_only("a#b"), TagViolation::Character('#')),
            (", in a key", key_only("a,b"), TagViolation::Character(',')),
            ("; in a key", key_only("a;b"), TagViolation::Character(';')),
            ("! in a key", key_only("a!b"), TagViolation::Character('!')),
            (
                "# in a value",
                Tag::new("k", "a#b"),
                TagViolation::Character('#'),
            ),
            (
                ", in a value",
                Tag::new("k", "a,b"),
                TagViolation::Character(','),
            ),
            (
                "; in a value",
                Tag::new("k", "a;b"),
                TagViolation::Character(';'),
            ),
            (
                "! in a value",
                Tag::new("k", "a!b"),
                TagViolation::Character('!'),
            ),
            (
                "JSON",
                Tag::new("k", "{\"a\":1}"),
                TagViolation::Character('{'),
            ),
            (
                "a tab",
                Tag::new("k", "a\tb"),
                TagViolation::Character('\t'),
            ),
            (
                "a newline",
                Tag::new("k", "a\nb"),
                TagViolation::Character('\n'),
            ),
            (
                "a no-break space",
                Tag::new("k", "a\u{a0}b"),
                TagViolation::Character('\u{a0}'),
            ),
            (
                "an emoji",
                Tag::new("k", "ok👍"),
                TagViolation::Character('👍'),
            ),
            (
                "aws: key",
                key_only("aws:owner"),
                TagViolation::ReservedPrefix,
            ),
            (
                "AWS: key",
                key_only("AWS:owner"),
                TagViolation::ReservedPrefix,
            ),
            (
                "Aws: key",
                key_only("Aws:owner"),
                TagViolation::ReservedPrefix,
            ),
            (
                "aws: value",
                Tag::new("k", "aws:x"),
                TagViolation::ReservedPrefix,
            ),
        ];
        for (why, tag, expected) in cases {
            assert_eq!(check_tag(&tag), Err(expected), "{why}: {tag:?}");
        }
    }

    #[test]
    fn accepted_tags_use_every_allowed_kind_of_character() {
        let cases: Vec<(&str, Tag)> = vec![
            ("one-character key", key_only("k")),
            ("128-character key", key_only(&"k".repeat(128))),
            ("128 two-byte characters", key_only(&"é".repeat(128))),
            ("256-character value", Tag::new("k", "v".repeat(256))),
            ("256 two-byte characters", Tag::new("k", "é".repeat(256))),
            ("empty value", Tag::new("k", "")),
            ("every punctuation mark", Tag::new("+-=._:/@", "+-=._:/@")),
            ("spaces", Tag::new("a b", " a b ")),
            ("digits", Tag::new("0123456789", "0123456789")),
            (
                "letters in other scripts",
                Tag::new("Ünïcödé", "日本語 Ελληνικά"),
            ),
            ("aws without the colon", Tag::new("aws", "awsome")),
            ("aws: inside a key", key_only("team:aws:x")),
            (
                "an IPv6 source",
                Tag::new("jit:grant:r-1", "2001:db8::/32+::/0"),
            ),
        ];
        for (why, tag) in cases {
            assert_eq!(check_tag(&tag), Ok(()), "{why}: {tag:?}");
        }
    }

    #[test]
    fn fifty_tags_fit_and_fifty_one_do_not() {
        assert_eq!(check_count(0), Ok(()));
        assert_eq!(check_count(50), Ok(()));
        assert_eq!(check_count(51), Err(TagViolation::TooManyTags(51)));
    }
}
