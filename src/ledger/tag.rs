//! A Lightsail tag and Lightsail's rules for tags, as the encoder keeps them.
//!
//! The simulator states the same rules apart (`lightsail::sim::tag_rules`), so a rule
//! this file gets wrong is caught there instead of passing on both sides.

use serde::{Deserialize, Serialize};

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
