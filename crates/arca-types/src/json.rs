//! Strict, bounded decoding of request data: JSON bodies, form bodies and
//! query strings, into the `serde_json` object that backends receive.
//!
//! JSON bodies are the main untrusted input of the server, so decoding is
//! bounded *while* parsing, not after (security model §0 item 5): nesting
//! depth, the number of object members and array elements, and an estimate of
//! the decoded size are all checked before anything beyond them is allocated,
//! which bounds memory amplification by a small constant. Duplicate object
//! keys are rejected at every depth (`serde_json` would silently keep the last
//! one, and different layers disagreeing on which one wins is a classic
//! bypass). Input must be UTF-8 and strings may not contain lone surrogates.
//!
//! Error messages never contain input content (no key names, no values).
//!
//! This relies on `serde_json` without its `arbitrary_precision` feature
//! (numbers beyond 64 bits become `f64`); a unit test fails if some other
//! crate in the workspace turns that feature on.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The JSON object type handed to backends.
pub type Map = serde_json::Map<String, Value>;

/// Bounds applied while decoding a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Maximum nesting of objects and arrays; the top-level object is depth 1.
    /// `serde_json` itself stops at 127, so larger values act as 127.
    pub max_depth: usize,
    /// Maximum number of object members plus array elements in the whole
    /// document.
    pub max_keys: usize,
    /// Maximum estimated size of the decoded value in bytes: string and key
    /// lengths plus a fixed cost per value and per key.
    pub max_decoded_bytes: usize,
}

impl Default for JsonLimits {
    /// Depth 64, 100,000 keys and elements, and 32.5 MiB decoded (Vault's
    /// `max_request_json_memory` default, 34,078,720 bytes).
    fn default() -> Self {
        JsonLimits {
            max_depth: 64,
            max_keys: 100_000,
            max_decoded_bytes: 32 * 1024 * 1024 + 512 * 1024,
        }
    }
}

/// Why a request body or query string was rejected. Every variant is a client
/// error (HTTP 400; [`BodyError::TooLarge`] may reasonably be 413). Messages
/// never contain input content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Malformed JSON, including trailing data, invalid escapes, lone
    /// surrogates, raw control characters in strings and out-of-range numbers.
    #[error("failed to decode JSON input: syntax error at line {line} column {column}")]
    Syntax { line: usize, column: usize },
    /// The body ended in the middle of a value (Vault's exact message).
    #[error("failed to decode JSON input: unexpected EOF")]
    UnexpectedEof,
    /// The same key twice in one object (compared after unescaping).
    #[error("failed to decode JSON input: duplicate object key")]
    DuplicateKey,
    /// Nesting beyond [`JsonLimits::max_depth`].
    #[error("failed to decode JSON input: nesting too deep")]
    TooDeep,
    /// More members and elements than [`JsonLimits::max_keys`].
    #[error("failed to decode JSON input: too many object keys or array elements")]
    TooManyKeys,
    /// Decoded size beyond [`JsonLimits::max_decoded_bytes`].
    #[error("failed to decode JSON input: decoded size too large")]
    TooLarge,
    /// The body is not valid UTF-8.
    #[error("failed to decode JSON input: invalid UTF-8")]
    InvalidUtf8,
    /// The top-level value is neither an object nor `null`.
    #[error("failed to decode JSON input: request body must be a JSON object")]
    NotAnObject,
    /// A form body or query string has a `%` not followed by two hex digits.
    #[error("failed to parse request parameters: invalid percent-encoding")]
    InvalidEscape,
    /// A form body or query string decodes to invalid UTF-8.
    #[error("failed to parse request parameters: invalid UTF-8")]
    InvalidParamUtf8,
    /// A `;` in a form body or query string (Go rejects it as a separator).
    #[error("failed to parse request parameters: invalid semicolon separator")]
    InvalidSeparator,
    /// More than [`MAX_PARAMS`] parameters in a form body or query string.
    #[error("failed to parse request parameters: too many parameters")]
    TooManyParams,
}

/// Maximum number of `key=value` pairs in a form body or query string.
pub const MAX_PARAMS: usize = 100_000;

/// Decodes a JSON request body into an object.
///
/// An empty or all-whitespace body and the literal `null` give `Ok(None)`
/// ("no data"; `bao write -force` sends `null`). Any other top-level value
/// than an object is [`BodyError::NotAnObject`]. See the module docs for the
/// checks applied.
pub fn decode_json_body(body: &[u8], limits: &JsonLimits) -> Result<Option<Map>, BodyError> {
    if body
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return Ok(None);
    }
    // Checked up front so that bad bytes are reported as such, not as syntax.
    let text = std::str::from_utf8(body).map_err(|_| BodyError::InvalidUtf8)?;
    let mut budget = Budget {
        limits: *limits,
        depth: 0,
        entries: 0,
        bytes: 0,
        failure: None,
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = de::Deserializer::deserialize_any(&mut deserializer, TopVisitor(&mut budget));
    let map = match parsed {
        Ok(map) => map,
        // A limit we enforce is recorded in the budget; anything else is
        // serde_json's own error.
        Err(err) => return Err(budget.failure.take().unwrap_or_else(|| from_serde(&err))),
    };
    deserializer.end().map_err(|err| from_serde(&err))?;
    Ok(map)
}

/// Decodes an `application/x-www-form-urlencoded` body. A key given once maps
/// to a string, a repeated key to an array of strings in order.
pub fn decode_form_body(body: &[u8]) -> Result<Map, BodyError> {
    decode_pairs(body)
}

/// Decodes a URL query string (without the leading `?`) with the same rules
/// as [`decode_form_body`]: `+` is a space, `%XX` is decoded, a key without
/// `=` has the empty string as its value, empty pairs (`a=1&&b=2`) are
/// skipped, and the result must be UTF-8.
pub fn decode_query(query: &str) -> Result<Map, BodyError> {
    decode_pairs(query.as_bytes())
}

fn decode_pairs(input: &[u8]) -> Result<Map, BodyError> {
    let mut map = Map::new();
    let mut count = 0usize;
    for pair in input.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        if pair.contains(&b';') {
            return Err(BodyError::InvalidSeparator);
        }
        count += 1;
        if count > MAX_PARAMS {
            return Err(BodyError::TooManyParams);
        }
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = decode_component(key)?;
        let value = Value::String(decode_component(value)?);
        match map.get_mut(&key) {
            None => {
                map.insert(key, value);
            }
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
        }
    }
    Ok(map)
}

fn decode_component(raw: &[u8]) -> Result<String, BodyError> {
    let bytes = crate::path::percent_decode(raw, true).ok_or(BodyError::InvalidEscape)?;
    String::from_utf8(bytes).map_err(|_| BodyError::InvalidParamUtf8)
}

fn from_serde(err: &serde_json::Error) -> BodyError {
    match err.classify() {
        serde_json::error::Category::Eof => BodyError::UnexpectedEof,
        // serde_json's own depth guard fires only when `max_depth` > 127.
        _ if err.to_string().starts_with("recursion limit exceeded") => BodyError::TooDeep,
        _ => BodyError::Syntax {
            line: err.line(),
            column: err.column(),
        },
    }
}

/// Estimated bytes per decoded value (the `Value` itself, as stored in a
/// `Vec` or map node).
const VALUE_COST: usize = std::mem::size_of::<Value>();
/// Estimated bytes per object key on top of its length (the `String` header
/// plus map node overhead).
const KEY_COST: usize = std::mem::size_of::<String>() + 2 * std::mem::size_of::<usize>();

/// What has been spent so far while decoding one document.
struct Budget {
    limits: JsonLimits,
    depth: usize,
    entries: usize,
    bytes: usize,
    /// The limit that stopped decoding; serde only carries a string error.
    failure: Option<BodyError>,
}

impl Budget {
    fn fail<E: de::Error>(&mut self, err: BodyError) -> E {
        self.failure = Some(err);
        E::custom("request body rejected")
    }

    fn charge<E: de::Error>(&mut self, bytes: usize) -> Result<(), E> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.limits.max_decoded_bytes {
            return Err(self.fail(BodyError::TooLarge));
        }
        Ok(())
    }

    fn count_entry<E: de::Error>(&mut self) -> Result<(), E> {
        self.entries += 1;
        if self.entries > self.limits.max_keys {
            return Err(self.fail(BodyError::TooManyKeys));
        }
        Ok(())
    }

    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(self.fail(BodyError::TooDeep));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn visit_object<'de, A: MapAccess<'de>>(&mut self, mut access: A) -> Result<Map, A::Error> {
        self.enter()?;
        let mut map = Map::new();
        while let Some(key) = access.next_key_seed(KeySeed(&mut *self))? {
            if map.contains_key(&key) {
                return Err(self.fail(BodyError::DuplicateKey));
            }
            let value = access.next_value_seed(ValueSeed(&mut *self))?;
            map.insert(key, value);
        }
        self.leave();
        Ok(map)
    }
}

/// The top level: an object or `null`, nothing else.
struct TopVisitor<'a>(&'a mut Budget);

impl TopVisitor<'_> {
    fn not_an_object<E: de::Error>(self) -> Result<Option<Map>, E> {
        Err(self.0.fail(BodyError::NotAnObject))
    }
}

impl<'de> Visitor<'de> for TopVisitor<'_> {
    type Value = Option<Map>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        self.0.charge(VALUE_COST)?;
        self.0.visit_object(access).map(Some)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.not_an_object()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.not_an_object()
    }
}

/// An object value.
struct ValueSeed<'a>(&'a mut Budget);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor(self.0))
    }
}

/// An array element: counted before it is parsed.
struct ElementSeed<'a>(&'a mut Budget);

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.0.count_entry()?;
        deserializer.deserialize_any(ValueVisitor(self.0))
    }
}

/// An object key: counted, and charged before it is copied.
struct KeySeed<'a>(&'a mut Budget);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        self.0.count_entry()?;
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<String, E> {
        self.0.charge(KEY_COST.saturating_add(key.len()))?;
        Ok(key.to_owned())
    }
}

struct ValueVisitor<'a>(&'a mut Budget);

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.charge(VALUE_COST)?;
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        self.0.charge(VALUE_COST)?;
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Value, E> {
        self.0.charge(VALUE_COST)?;
        Ok(Value::from(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Value, E> {
        self.0.charge(VALUE_COST)?;
        Ok(Value::from(n))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        self.0.charge(VALUE_COST)?;
        // serde_json never yields a non-finite float, which would become null.
        Ok(Value::from(n))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        self.0.charge(VALUE_COST.saturating_add(s.len()))?;
        Ok(Value::String(s.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        self.0.charge(VALUE_COST)?;
        self.0.enter()?;
        let mut items = Vec::new();
        while let Some(item) = access.next_element_seed(ElementSeed(&mut *self.0))? {
            items.push(item);
        }
        self.0.leave();
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Value, A::Error> {
        self.0.charge(VALUE_COST)?;
        self.0.visit_object(access).map(Value::Object)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn decode(body: &str) -> Result<Option<Map>, BodyError> {
        decode_json_body(body.as_bytes(), &JsonLimits::default())
    }

    fn object(v: Value) -> Option<Map> {
        match v {
            Value::Object(m) => Some(m),
            _ => unreachable!("test helper takes objects"),
        }
    }

    fn nested_arrays(depth: usize) -> String {
        format!(
            "{{\"a\":{}{}}}",
            "[".repeat(depth - 1),
            "]".repeat(depth - 1)
        )
    }

    fn nested_objects(depth: usize) -> String {
        format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
    }

    #[test]
    fn no_data_bodies() {
        for body in ["", " ", " \t\r\n ", "null", " null\n", "\nnull "] {
            assert_eq!(decode(body), Ok(None), "{body:?}");
        }
        assert_eq!(decode("{}"), Ok(Some(Map::new())));
        assert_eq!(decode(" {} \n"), Ok(Some(Map::new())));
    }

    #[test]
    fn ordinary_objects() {
        let body = r#"{"policies":["default","app"],"ttl":"1h0m0s","n":3,"neg":-4,"f":1.5,
            "b":true,"none":null,"nested":{"x":{"y":[1,{"z":"w"}]}},"esc":"a\"b\\c\u00e9\ud83d\ude00\n"}"#;
        let want = json!({
            "policies": ["default", "app"], "ttl": "1h0m0s", "n": 3, "neg": -4, "f": 1.5,
            "b": true, "none": null, "nested": {"x": {"y": [1, {"z": "w"}]}},
            "esc": "a\"b\\cé😀\n"
        });
        assert_eq!(decode(body), Ok(object(want)));
    }

    #[test]
    fn numbers_keep_serde_json_behaviour() {
        let m =
            decode(r#"{"a":1,"b":18446744073709551615,"c":18446744073709551616,"d":-0,"e":1e2}"#)
                .unwrap()
                .unwrap();
        // Also guards against `arbitrary_precision` being enabled in the workspace,
        // which would make numbers arrive as maps.
        assert_eq!(m["a"], json!(1));
        assert!(m["a"].is_u64());
        assert_eq!(m["b"], json!(u64::MAX));
        assert!(m["c"].is_f64());
        assert_eq!(m["e"], json!(100.0));
        assert!(matches!(
            decode(r#"{"a":1e400}"#),
            Err(BodyError::Syntax { .. })
        ));
    }

    #[test]
    fn top_level_must_be_an_object() {
        for body in [
            "[]", "[1,2]", "\"s\"", "1", "-1", "1.5", "true", "false", "[[[[[[",
        ] {
            assert_eq!(decode(body), Err(BodyError::NotAnObject), "{body:?}");
        }
    }

    #[test]
    fn malformed_json() {
        assert_eq!(decode("{"), Err(BodyError::UnexpectedEof));
        assert_eq!(decode(r#"{"a":1"#), Err(BodyError::UnexpectedEof));
        assert_eq!(decode(r#"{"a":"#), Err(BodyError::UnexpectedEof));
        assert_eq!(decode(r#"{"a":"x"#), Err(BodyError::UnexpectedEof));
        assert_eq!(decode("nul"), Err(BodyError::UnexpectedEof));
        for body in [
            r#"{"a":}"#,
            r#"{"a":1}x"#,
            r#"{"a":1} {}"#,
            r#"{"a":1}null"#,
            r#"{'a':1}"#,
            r#"{a:1}"#,
            r#"{"a":1,}"#,
            r#"{"a":[1,]}"#,
            r#"{"a" 1}"#,
            r#"{1:1}"#,
            r#"{"a":01}"#,
            r#"{"a":NaN}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"raw\u{1}control\"}",
            "\u{feff}{}",
            "nulll",
            "{}}",
        ] {
            assert!(
                matches!(decode(body), Err(BodyError::Syntax { .. })),
                "{body:?}: {:?}",
                decode(body)
            );
        }
        assert_eq!(
            decode("{\n\"a\":}"),
            Err(BodyError::Syntax { line: 2, column: 5 })
        );
    }

    #[test]
    fn lone_surrogates_are_rejected() {
        for body in [
            r#"{"a":"\ud800"}"#,
            r#"{"a":"\udc00"}"#,
            r#"{"a":"\ud800\u0041"}"#,
            r#"{"a":"\ud800x"}"#,
            r#"{"\ud800":1}"#,
        ] {
            assert!(
                matches!(decode(body), Err(BodyError::Syntax { .. })),
                "{body:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        for body in [
            &b"{\"a\":\"\xff\"}"[..],
            b"{\"\xc3\":1}",
            b"{\"a\":1}\xff",
            b"\xed\xa0\x80",
            b"{\"a\":\"\xed\xa0\x80\"}",
        ] {
            assert_eq!(
                decode_json_body(body, &JsonLimits::default()),
                Err(BodyError::InvalidUtf8)
            );
        }
    }

    #[test]
    fn duplicate_keys_at_any_depth() {
        for body in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"b":2,"a":1}"#,
            r#"{"x":{"a":1,"a":2}}"#,
            r#"{"x":[{"a":1},{"b":1,"b":1}]}"#,
            r#"{"a":1,"\u0061":2}"#,
            r#"{"":1,"":2}"#,
        ] {
            assert_eq!(decode(body), Err(BodyError::DuplicateKey), "{body:?}");
        }
        // Same key in different objects is fine.
        assert!(decode(r#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#).is_ok());
    }

    #[test]
    fn depth_limit() {
        assert!(decode(&nested_arrays(64)).is_ok());
        assert_eq!(decode(&nested_arrays(65)), Err(BodyError::TooDeep));
        assert!(decode(&nested_objects(64)).is_ok());
        assert_eq!(decode(&nested_objects(65)), Err(BodyError::TooDeep));
        for depth in [10_000, 1_000_000] {
            assert_eq!(decode(&nested_arrays(depth)), Err(BodyError::TooDeep));
            assert_eq!(decode(&nested_objects(depth)), Err(BodyError::TooDeep));
            // Unterminated, as an attacker would send it.
            assert_eq!(
                decode(&format!("{{\"a\":{}", "[".repeat(depth))),
                Err(BodyError::TooDeep)
            );
            assert_eq!(decode(&"{\"a\":".repeat(depth)), Err(BodyError::TooDeep));
        }
        let shallow = JsonLimits {
            max_depth: 2,
            ..JsonLimits::default()
        };
        assert!(decode_json_body(br#"{"a":{"b":1}}"#, &shallow).is_ok());
        assert_eq!(
            decode_json_body(br#"{"a":{"b":[]}}"#, &shallow),
            Err(BodyError::TooDeep)
        );
        // Above serde_json's own guard (127) the error is still TooDeep.
        let deep = JsonLimits {
            max_depth: 10_000,
            ..JsonLimits::default()
        };
        assert!(decode_json_body(nested_arrays(127).as_bytes(), &deep).is_ok());
        assert_eq!(
            decode_json_body(nested_arrays(200).as_bytes(), &deep),
            Err(BodyError::TooDeep)
        );
        assert_eq!(
            decode_json_body(nested_objects(200).as_bytes(), &deep),
            Err(BodyError::TooDeep)
        );
    }

    #[test]
    fn deep_input_on_a_small_stack() {
        // Tokio workers have 2 MiB stacks; prove we need far less, even with
        // serde_json's own maximum depth.
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let deep = JsonLimits {
                    max_depth: 10_000,
                    ..JsonLimits::default()
                };
                let a = decode_json_body(nested_arrays(1_000_000).as_bytes(), &deep);
                let b = decode_json_body(nested_objects(1_000_000).as_bytes(), &deep);
                let c = decode(&nested_arrays(64));
                (a, b, c.is_ok())
            })
            .unwrap();
        let (a, b, c) = handle.join().unwrap();
        assert_eq!(a, Err(BodyError::TooDeep));
        assert_eq!(b, Err(BodyError::TooDeep));
        assert!(c);
    }

    #[test]
    fn key_limit_counts_members_and_elements() {
        let limits = JsonLimits {
            max_keys: 4,
            ..JsonLimits::default()
        };
        assert!(decode_json_body(br#"{"a":1,"b":2,"c":3,"d":4}"#, &limits).is_ok());
        assert_eq!(
            decode_json_body(br#"{"a":1,"b":2,"c":3,"d":4,"e":5}"#, &limits),
            Err(BodyError::TooManyKeys)
        );
        assert!(decode_json_body(br#"{"a":[1,2,3]}"#, &limits).is_ok());
        assert_eq!(
            decode_json_body(br#"{"a":[1,2,3,4]}"#, &limits),
            Err(BodyError::TooManyKeys)
        );
        assert_eq!(
            decode_json_body(br#"{"a":{"b":{"c":{"d":{"e":1}}}}}"#, &limits),
            Err(BodyError::TooManyKeys)
        );
        // Amplification: 3 input bytes per empty array would otherwise be 32+ bytes each.
        let body = format!("{{\"a\":[{}[]]}}", "[],".repeat(200_000));
        assert_eq!(decode(&body), Err(BodyError::TooManyKeys));
        // Exactly at the default limit: one member plus 99,999 elements.
        let body = format!("{{\"a\":[{}0]}}", "0,".repeat(99_998));
        assert!(decode(&body).is_ok());
        let body = format!("{{\"a\":[{}0]}}", "0,".repeat(99_999));
        assert_eq!(decode(&body), Err(BodyError::TooManyKeys));
    }

    #[test]
    fn decoded_size_limit() {
        let limits = JsonLimits {
            max_decoded_bytes: 1000,
            ..JsonLimits::default()
        };
        let ok = format!("{{\"a\":\"{}\"}}", "x".repeat(500));
        assert!(decode_json_body(ok.as_bytes(), &limits).is_ok());
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(1000));
        assert_eq!(
            decode_json_body(big.as_bytes(), &limits),
            Err(BodyError::TooLarge)
        );
        let big_key = format!("{{\"{}\":1}}", "k".repeat(1000));
        assert_eq!(
            decode_json_body(big_key.as_bytes(), &limits),
            Err(BodyError::TooLarge)
        );
        // Many small values add up.
        let many = format!("{{\"a\":[{}0]}}", "0,".repeat(100));
        assert_eq!(
            decode_json_body(many.as_bytes(), &limits),
            Err(BodyError::TooLarge)
        );
        // Default: a single 33 MiB string is over 32.5 MiB.
        let huge = format!("{{\"a\":\"{}\"}}", "x".repeat(33 * 1024 * 1024));
        assert_eq!(decode(&huge), Err(BodyError::TooLarge));
    }

    #[test]
    fn messages_never_echo_input() {
        let cases = [
            r#"{"hunter2":1,"hunter2":2}"#,
            r#"{"a":"hunter2"#,
            r#"{"a":hunter2}"#,
            r#"["hunter2"]"#,
            r#"{"a":"hunter2"} hunter2"#,
        ];
        for body in cases {
            let msg = decode(body).unwrap_err().to_string();
            assert!(msg.starts_with("failed to decode JSON input: "), "{msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
        }
        let msg = decode_query("hunter2=%zz").unwrap_err().to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
        assert_eq!(
            decode("{").unwrap_err().to_string(),
            "failed to decode JSON input: unexpected EOF"
        );
    }

    #[test]
    fn form_bodies() {
        let m = decode_form_body(b"policies=default&ttl=5m").unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"policies": "default", "ttl": "5m"})
        );
        let m = decode_form_body(b"p=a&p=b&q=1&p=c").unwrap();
        assert_eq!(Value::Object(m), json!({"p": ["a", "b", "c"], "q": "1"}));
        let m = decode_form_body(b"a+b=c+d%20e%2B&flag&empty=&=v&&").unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"a b": "c d e+", "flag": "", "empty": "", "": "v"})
        );
        let m = decode_form_body(b"k=%C3%A9%3D%26").unwrap();
        assert_eq!(Value::Object(m), json!({"k": "é=&"}));
        assert_eq!(decode_form_body(b""), Ok(Map::new()));
        assert_eq!(decode_form_body(b"a=%zz"), Err(BodyError::InvalidEscape));
        assert_eq!(decode_form_body(b"a=%2"), Err(BodyError::InvalidEscape));
        assert_eq!(decode_form_body(b"a=%ff"), Err(BodyError::InvalidParamUtf8));
        assert_eq!(
            decode_form_body(b"a=\xff"),
            Err(BodyError::InvalidParamUtf8)
        );
        assert_eq!(
            decode_form_body(b"a=1;b=2"),
            Err(BodyError::InvalidSeparator)
        );
    }

    #[test]
    fn query_strings() {
        let m = decode_query("list=true&after=app%2F&limit=10").unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"list": "true", "after": "app/", "limit": "10"})
        );
        let m = decode_query("key=a&key=b").unwrap();
        assert_eq!(Value::Object(m), json!({"key": ["a", "b"]}));
        let m = decode_query("help").unwrap();
        assert_eq!(Value::Object(m), json!({"help": ""}));
        assert_eq!(decode_query(""), Ok(Map::new()));
        assert_eq!(
            decode_query("a=%ED%A0%80"),
            Err(BodyError::InvalidParamUtf8)
        );
        assert_eq!(decode_query("a=%"), Err(BodyError::InvalidEscape));
        assert_eq!(decode_query("a;b"), Err(BodyError::InvalidSeparator));
    }

    #[test]
    fn parameter_count_limit() {
        let ok = "a=1&".repeat(MAX_PARAMS);
        let m = decode_query(&ok).unwrap();
        assert_eq!(m["a"].as_array().map(Vec::len), Some(MAX_PARAMS));
        let too_many = format!("{ok}a=1");
        assert_eq!(decode_query(&too_many), Err(BodyError::TooManyParams));
        assert_eq!(
            decode_form_body(too_many.as_bytes()),
            Err(BodyError::TooManyParams)
        );
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(any::<String>(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Fragments that keep random input close to JSON so the parser goes deep.
    const TOKENS: &[&str] = &[
        "{", "}", "[", "]", ",", ":", "\"", "\"a\"", "\"b\"", "1", "-", ".5", "e9", "null", "true",
        " ", "\\", "\\u", "d800", "\\n", "\u{e9}", "\u{0}", "x",
    ];

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_json_body(&body, &JsonLimits::default());
            let _ = decode_form_body(&body);
        }

        #[test]
        fn json_like_input_never_panics(parts in proptest::collection::vec(proptest::sample::select(TOKENS), 0..64)) {
            let body = parts.concat();
            let tight = JsonLimits { max_depth: 3, max_keys: 5, max_decoded_bytes: 200 };
            let _ = decode_json_body(body.as_bytes(), &JsonLimits::default());
            let _ = decode_json_body(body.as_bytes(), &tight);
        }

        #[test]
        fn agrees_with_serde_json_on_valid_objects(
            map in proptest::collection::btree_map(any::<String>(), arb_value(), 0..8)
        ) {
            let value = Value::Object(map.into_iter().collect());
            let text = serde_json::to_string(&value).unwrap();
            let expected: Value = serde_json::from_str(&text).unwrap();
            let got = decode_json_body(text.as_bytes(), &JsonLimits::default()).unwrap();
            prop_assert_eq!(got.map(Value::Object), Some(expected));
        }

        #[test]
        fn query_strings_never_panic(q in any::<String>()) {
            let _ = decode_query(&q);
        }
    }
}
