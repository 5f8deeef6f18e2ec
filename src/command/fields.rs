//! A small walker over a JSON object that turns type mistakes into rejections naming
//! the field, and refuses fields it was never asked about (a typo such as `duraton`
//! must not silently fall back to a default).

use serde_json::{Map, Value};

pub use crate::rejection::type_name;
use crate::rejection::{Code, Rejection};

pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    known: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    pub fn new(value: &'a Value, what: &str) -> Result<Self, Rejection> {
        match value {
            Value::Object(object) => Ok(Fields {
                object,
                known: Vec::new(),
            }),
            other => Err(Rejection::new(
                Code::InvalidEnvelope,
                format!("{what} must be a JSON object, got {}", type_name(other)),
            )),
        }
    }

    /// The raw value of `name`, if present and not `null`.
    pub fn value(&mut self, name: &'static str) -> Option<&'a Value> {
        self.known.push(name);
        self.object.get(name).filter(|v| !v.is_null())
    }

    pub fn string(&mut self, name: &'static str) -> Result<Option<&'a str>, Rejection> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Rejection::invalid(
                name,
                &format!("a string, got {}", type_name(other)),
            )),
        }
    }

    pub fn required_string(&mut self, name: &'static str) -> Result<&'a str, Rejection> {
        self.string(name)?.ok_or_else(|| Rejection::missing(name))
    }

    pub fn bool(&mut self, name: &'static str) -> Result<bool, Rejection> {
        match self.value(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(Rejection::invalid(
                name,
                &format!("true or false, got {}", type_name(other)),
            )),
        }
    }

    /// An array of at most `max` items.
    pub fn array(
        &mut self,
        name: &'static str,
        max: usize,
    ) -> Result<Option<&'a Vec<Value>>, Rejection> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::Array(items)) if items.len() > max => Err(Rejection::new(
                Code::TooManyItems,
                format!(
                    "`{name}` has {} items; at most {max} are accepted",
                    items.len()
                ),
            )),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(Rejection::invalid(
                name,
                &format!("an array, got {}", type_name(other)),
            )),
        }
    }

    /// Call last: rejects any field that no accessor asked for.
    pub fn finish(self, action: &str) -> Result<(), Rejection> {
        match self
            .object
            .keys()
            .find(|k| !self.known.contains(&k.as_str()))
        {
            None => Ok(()),
            Some(unknown) => Err(Rejection::new(
                Code::UnknownField,
                format!(
                    "{} is not a field of `{action}` (accepted: {})",
                    printable(unknown, 40),
                    self.known.join(", ")
                ),
            )),
        }
    }
}

/// User text quoted in a message: escaped as `{:?}` would (so a control character
/// cannot forge a log line) and cut once the escaped text passes `max_chars`
/// characters (so a 1 MB or escape-laden input cannot flood a log line or a chat
/// message). Short plain text reads as `"text"`.
pub fn printable(text: &str, max_chars: usize) -> String {
    let mut shown = String::new();
    let mut width = 0;
    for c in text.chars() {
        let escaped: String = match c {
            '\'' => "'".into(),
            _ => c.escape_debug().collect(),
        };
        let chars = escaped.chars().count();
        if width + chars > max_chars {
            return format!("\"{shown}\"…");
        }
        width += chars;
        shown.push_str(&escaped);
    }
    format!("\"{shown}\"")
}
