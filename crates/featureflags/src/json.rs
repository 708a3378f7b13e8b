//! Strict JSON parsing for every document a caller hands the engine (configs, analysis
//! input, engine options).
//!
//! `serde_json` keeps the last of two equal keys in an object, so a config holding the
//! flag `kill` twice, or two `flags` objects, would load with one of them silently gone.
//! Here a duplicate key is an error that names its JSON path. The path of any error is
//! assembled only while the error unwinds, so a valid document costs nothing extra.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a document is not acceptable JSON, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// JSON path of the offending value (`flags.kill`, `variants[2]`), `$` for the root.
    pub path: String,
    /// What is wrong, with the line and column.
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Parses `bytes` as one JSON value, rejecting duplicate object keys.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    let trail = RefCell::new(Trail::default());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Strict { trail: &trail }.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        let trail = trail.into_inner();
        let message = if trail.duplicate {
            format!("duplicate key at line {} column {}", e.line(), e.column())
        } else {
            format!("invalid JSON: {e}")
        };
        JsonError { path: trail.path(), message }
    })
}

/// The path to the failing value, innermost segment first, filled while the error unwinds.
#[derive(Default)]
struct Trail {
    segments: Vec<Segment>,
    duplicate: bool,
}

enum Segment {
    Key(String),
    Index(usize),
}

impl Trail {
    fn path(&self) -> String {
        if self.segments.is_empty() {
            return "$".into();
        }
        let mut path = String::new();
        for segment in self.segments.iter().rev() {
            match segment {
                Segment::Key(key) if path.is_empty() => path.push_str(key),
                Segment::Key(key) => {
                    path.push('.');
                    path.push_str(key);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        path
    }
}

#[derive(Clone, Copy)]
struct Strict<'t> {
    trail: &'t RefCell<Trail>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
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
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            match seq.next_element_seed(self) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return Ok(Value::Array(items)),
                Err(e) => {
                    self.trail.borrow_mut().segments.push(Segment::Index(items.len()));
                    return Err(e);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                let mut trail = self.trail.borrow_mut();
                trail.duplicate = true;
                trail.segments.push(Segment::Key(key));
                return Err(de::Error::custom("duplicate key"));
            }
            match map.next_value_seed(self) {
                Ok(value) => {
                    object.insert(key, value);
                }
                Err(e) => {
                    self.trail.borrow_mut().segments.push(Segment::Key(key));
                    return Err(e);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse_strict(text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn duplicate_keys_are_rejected_with_their_path() {
        assert_eq!(
            error(r#"{"flags": {"kill": {"enabled": true}, "kill": {"enabled": false}}}"#),
            "flags.kill: duplicate key at line 1 column 44"
        );
        assert_eq!(error(r#"{"a": [{}, {"b": {"c": 1, "c": 2}}]}"#), "a[1].b.c: duplicate key at line 1 column 29");
        assert_eq!(error(r#"{"flags": {}, "flags": {}}"#), "flags: duplicate key at line 1 column 21");
    }

    #[test]
    fn syntax_errors_name_the_enclosing_value() {
        assert_eq!(error(r#"{"flags": {"x": [1, }}"#), "flags.x[1]: invalid JSON: expected value at line 1 column 21");
        assert_eq!(error("{} x"), "$: invalid JSON: trailing characters at line 1 column 4");
    }

    #[test]
    fn values_match_serde_json() {
        let text = r#"{"a": [1, -2, 3.5, 1e300, "s\u00e9", null, true, {"z": 1, "y": 2}], "b": 18446744073709551615}"#;
        let strict = parse_strict(text.as_bytes()).unwrap();
        assert_eq!(strict, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(strict.to_string(), serde_json::from_str::<Value>(text).unwrap().to_string());
    }

    #[test]
    fn numbers_parse_exactly() {
        let v = parse_strict(b"110000.00000000001").unwrap();
        assert_eq!(v.as_f64(), Some(110000.00000000001));
        assert_eq!(v.to_string(), "110000.00000000001");
    }
}
