//! JSON that refuses duplicate object keys.
//!
//! serde_json keeps the *last* of two equal keys; another reader (a ChatOps approval
//! step, a log viewer) may keep the first. `{"cidrs":["0.0.0.0/0"],"cidrs":["203.0.113.7"]}`
//! would then be approved as one request and executed as another. Every payload is
//! therefore read with this parser, which builds the same `serde_json::Value` but
//! remembers where the first duplicate key was, so the command can be rejected.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON document and the path of its first duplicate key, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct Strict {
    pub value: Value,
    pub duplicate: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StrictError {
    #[error("{0}")]
    Syntax(#[from] serde_json::Error),
    #[error("the key `{0}` appears twice")]
    Duplicate(String),
}

/// Parse `text`, failing on malformed JSON and on duplicate keys.
pub fn parse(text: &str) -> Result<Value, StrictError> {
    let strict: Strict = serde_json::from_str(text)?;
    match strict.duplicate {
        Some(path) => Err(StrictError::Duplicate(path)),
        None => Ok(strict.value),
    }
}

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let duplicate = RefCell::new(None);
        let value = Seed {
            path: String::new(),
            duplicate: &duplicate,
        }
        .deserialize(deserializer)?;
        Ok(Strict {
            value,
            duplicate: duplicate.into_inner(),
        })
    }
}

struct Seed<'a> {
    path: String,
    duplicate: &'a RefCell<Option<String>>,
}

impl Seed<'_> {
    fn child(&self, part: String) -> Seed<'_> {
        Seed {
            path: part,
            duplicate: self.duplicate,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            seq.next_element_seed(self.child(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            if object.contains_key(&key) {
                self.duplicate
                    .borrow_mut()
                    .get_or_insert_with(|| path.clone());
            }
            let value = map.next_value_seed(self.child(path))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_as_serde_json_without_duplicates() {
        let text = r#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":"d"}"#;
        assert_eq!(
            parse(text).unwrap(),
            serde_json::from_str::<Value>(text).unwrap()
        );
    }

    #[test]
    fn duplicates_are_found_at_any_depth() {
        let err = parse(r#"{"cidrs":["0.0.0.0/0"],"cidrs":["203.0.113.7"]}"#).unwrap_err();
        assert_eq!(err.to_string(), "the key `cidrs` appears twice");
        let err = parse(r#"{"ports":[{"protocol":"tcp","protocol":"udp"}]}"#).unwrap_err();
        assert_eq!(err.to_string(), "the key `ports[0].protocol` appears twice");
        assert!(matches!(parse("{\"a\":"), Err(StrictError::Syntax(_))));
    }
}
