//! Hostile corpora as data: reading a corpus file, and `inflate`, which turns a small
//! case into a huge one (a 1 MB string, a 100,000-item list, a 1 MB key) so the corpus
//! files stay readable.
//!
//! `{"path", "char", "count"}` puts `char` repeated `count` times at the JSON pointer
//! `path`; `{"path", "item", "count"}` puts an array of `count` copies of `item` there;
//! `"asKey": true` renames the key at `path` to the repeated string instead. A case
//! carries one spec or a list, applied in order.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Inflates {
    One(Inflate),
    Many(Vec<Inflate>),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Inflate {
    path: String,
    count: usize,
    #[serde(default)]
    char: Option<String>,
    #[serde(default)]
    item: Option<Value>,
    #[serde(default)]
    as_key: bool,
}

/// `tests/hostile/<file>`, parsed.
pub fn read_corpus<T: DeserializeOwned>(file: &str) -> T {
    let path = format!("{}/tests/hostile/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `value` with every inflation of `specs` applied.
pub fn inflate(value: &Value, specs: Option<&Inflates>) -> Result<Value, String> {
    let mut value = value.clone();
    let specs = match specs {
        None => &[][..],
        Some(Inflates::One(spec)) => std::slice::from_ref(spec),
        Some(Inflates::Many(specs)) => specs.as_slice(),
    };
    for spec in specs {
        apply(&mut value, spec)?;
    }
    Ok(value)
}

/// Undo JSON-pointer escaping of one segment.
fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
}

fn apply(value: &mut Value, spec: &Inflate) -> Result<(), String> {
    let big = || -> Result<String, String> {
        let c = spec
            .char
            .as_deref()
            .ok_or_else(|| format!("inflate {}: needs `char` or `item`", spec.path))?;
        Ok(c.repeat(spec.count))
    };
    if spec.as_key {
        let (parent, key) = spec
            .path
            .rsplit_once('/')
            .ok_or_else(|| format!("inflate {}: not a pointer", spec.path))?;
        let object = value
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("inflate {}: parent is not an object", spec.path))?;
        let moved = object
            .remove(&unescape(key))
            .ok_or_else(|| format!("inflate {}: no such key", spec.path))?;
        object.insert(big()?, moved);
        return Ok(());
    }
    let slot = value
        .pointer_mut(&spec.path)
        .ok_or_else(|| format!("inflate {}: no such place in the case", spec.path))?;
    *slot = match &spec.item {
        Some(item) => Value::Array(vec![item.clone(); spec.count]),
        None => Value::String(big()?),
    };
    Ok(())
}
