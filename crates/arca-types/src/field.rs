//! Vault-lenient coercions for typed request fields (Vault's framework
//! `FieldData`), which clients depend on: `"true"` for a bool, `"3600"` for an
//! int, `"a,b"` for a list, and the same values arriving as form-encoded
//! strings.
//!
//! JSON `null` is not handled here: callers treat a `null` field as "not set"
//! before coercing, so every function below rejects `null`.
//!
//! Where Vault's behaviour comes from Go's weak decoding it is kept (an empty
//! string is `false` / `0` / an empty list; a bool in a string field is `"1"`
//! or `"0"`), with two deliberate differences: numeric strings are decimal only
//! (Vault also takes `0x10` and octal `010`), and key/value pair strings are
//! split on commas (`"k=v,k2=v2"`; Vault takes only one pair per string).

use std::collections::BTreeMap;

use serde_json::Value;

/// Why a field value could not be coerced. Messages name the expected type and
/// never contain the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    #[error("expected a boolean")]
    ExpectedBool,
    #[error("expected an integer")]
    ExpectedInteger,
    #[error("integer out of range")]
    IntegerOutOfRange,
    #[error("expected a string")]
    ExpectedString,
    #[error("expected a string or a list of strings")]
    ExpectedStringList,
    #[error("expected an object of strings or key=value pairs")]
    ExpectedStringMap,
    /// A `key=value` item without `=` or with an empty key.
    #[error("expected key=value pairs with non-empty keys")]
    InvalidKeyValuePair,
}

/// A boolean: JSON `true`/`false`; a string Go's `strconv.ParseBool` accepts
/// (`1 t T TRUE true True 0 f F FALSE false False`); the empty string (false);
/// or the numbers 0 and 1.
pub fn as_bool(v: &Value) -> Result<bool, FieldError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" | "" => Ok(false),
            _ => Err(FieldError::ExpectedBool),
        },
        Value::Number(n) => match n.as_u64() {
            Some(0) => Ok(false),
            Some(1) => Ok(true),
            _ => Err(FieldError::ExpectedBool),
        },
        _ => Err(FieldError::ExpectedBool),
    }
}

/// A signed integer: an integral JSON number, a decimal string with an
/// optional sign, the empty string (0), or a bool (1/0), as Vault's weak
/// decoding does.
pub fn as_i64(v: &Value) -> Result<i64, FieldError> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if n.as_u64().is_some() {
                Err(FieldError::IntegerOutOfRange)
            } else {
                // i64::MIN is -2^63 exactly; the upper bound 2^63 is exclusive.
                integral_f64(n, -9_223_372_036_854_775_808.0, 9_223_372_036_854_775_808.0)
                    .map(|f| f as i64)
            }
        }
        Value::String(s) => parse_decimal(s),
        Value::Bool(b) => Ok(i64::from(*b)),
        _ => Err(FieldError::ExpectedInteger),
    }
}

/// An unsigned integer, with the same rules as [`as_i64`]; negative values
/// are [`FieldError::IntegerOutOfRange`].
pub fn as_u64(v: &Value) -> Result<u64, FieldError> {
    match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Ok(u)
            } else if n.as_i64().is_some() {
                Err(FieldError::IntegerOutOfRange)
            } else {
                integral_f64(n, 0.0, 18_446_744_073_709_551_616.0).map(|f| f as u64)
            }
        }
        // A negative number is out of range, not malformed.
        Value::String(s)
            if s.len() > 1 && s.starts_with('-') && s[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            Err(FieldError::IntegerOutOfRange)
        }
        Value::String(s) => parse_decimal(s),
        Value::Bool(b) => Ok(u64::from(*b)),
        _ => Err(FieldError::ExpectedInteger),
    }
}

/// A string. Numbers are printed in decimal, and bools become `"1"`/`"0"`
/// as Vault's weak decoding does. Arrays, objects and `null` are errors.
pub fn as_string(v: &Value) -> Result<String, FieldError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(true) => Ok("1".to_owned()),
        Value::Bool(false) => Ok("0".to_owned()),
        _ => Err(FieldError::ExpectedString),
    }
}

/// A list of strings (Vault `TypeStringSlice`): an array whose items are
/// coerced with [`as_string`], or a single scalar as a one-item list; a
/// string is *not* split on commas. Items are trimmed of surrounding
/// whitespace; the empty string is the empty list.
pub fn as_string_list(v: &Value) -> Result<Vec<String>, FieldError> {
    match v {
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                as_string(item)
                    .map(|s| s.trim().to_owned())
                    .map_err(|_| FieldError::ExpectedStringList)
            })
            .collect(),
        other => as_string(other)
            .map(|s| vec![s.trim().to_owned()])
            .map_err(|_| FieldError::ExpectedStringList),
    }
}

/// A comma-separated list (Vault `TypeCommaStringSlice`): a string (or
/// scalar) is split on `,`; an array is taken item by item without
/// splitting. Items are trimmed and empty items dropped.
pub fn as_comma_string_list(v: &Value) -> Result<Vec<String>, FieldError> {
    let items = match v {
        Value::Array(_) => as_string_list(v)?,
        other => as_string(other)
            .map_err(|_| FieldError::ExpectedStringList)?
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect(),
    };
    Ok(items.into_iter().filter(|s| !s.is_empty()).collect())
}

/// A string map (Vault `TypeKVPairs`): an object whose values are coerced
/// with [`as_string`]; or `key=value` items, either as an array of strings or
/// as one comma-separated string (`"k=v,k2=v2"`). Each item is split at its
/// first `=`; keys and values are trimmed; empty items are skipped; an item
/// without `=` or with an empty key is an error. A later duplicate key wins.
pub fn as_string_map(v: &Value) -> Result<BTreeMap<String, String>, FieldError> {
    match v {
        Value::Object(obj) => obj
            .iter()
            .map(|(k, v)| {
                as_string(v)
                    .map(|s| (k.clone(), s))
                    .map_err(|_| FieldError::ExpectedStringMap)
            })
            .collect(),
        Value::String(s) => pairs(s.split(',')),
        Value::Array(items) => {
            let strings = items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.as_str()),
                    _ => Err(FieldError::ExpectedStringMap),
                })
                .collect::<Result<Vec<_>, _>>()?;
            pairs(strings.into_iter())
        }
        _ => Err(FieldError::ExpectedStringMap),
    }
}

fn pairs<'a>(items: impl Iterator<Item = &'a str>) -> Result<BTreeMap<String, String>, FieldError> {
    let mut map = BTreeMap::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (key, value) = item
            .split_once('=')
            .ok_or(FieldError::InvalidKeyValuePair)?;
        let key = key.trim();
        if key.is_empty() {
            return Err(FieldError::InvalidKeyValuePair);
        }
        map.insert(key.to_owned(), value.trim().to_owned());
    }
    Ok(map)
}

/// Parses a decimal integer string; the empty string is zero (Vault).
fn parse_decimal<T>(s: &str) -> Result<T, FieldError>
where
    T: std::str::FromStr<Err = std::num::ParseIntError> + Default,
{
    if s.is_empty() {
        return Ok(T::default());
    }
    s.parse()
        .map_err(|e: std::num::ParseIntError| match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                FieldError::IntegerOutOfRange
            }
            _ => FieldError::ExpectedInteger,
        })
}

/// A float-backed JSON number (fractional, exponent or beyond 64 bits) that is
/// integral and within `[min, max)`.
fn integral_f64(n: &serde_json::Number, min: f64, max: f64) -> Result<f64, FieldError> {
    match n.as_f64() {
        Some(f) if f.is_finite() && f.fract() == 0.0 => {
            if f >= min && f < max {
                Ok(f)
            } else {
                Err(FieldError::IntegerOutOfRange)
            }
        }
        _ => Err(FieldError::ExpectedInteger),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn bools() {
        for v in [
            json!(true),
            json!("true"),
            json!("1"),
            json!("t"),
            json!("T"),
            json!("TRUE"),
            json!("True"),
            json!(1),
        ] {
            assert_eq!(as_bool(&v), Ok(true), "{v}");
        }
        for v in [
            json!(false),
            json!("false"),
            json!("0"),
            json!("f"),
            json!("F"),
            json!("FALSE"),
            json!("False"),
            json!(0),
            json!(""),
        ] {
            assert_eq!(as_bool(&v), Ok(false), "{v}");
        }
        for v in [
            json!("yes"),
            json!("tRuE"),
            json!(" true"),
            json!(2),
            json!(-1),
            json!(1.5),
            json!(null),
            json!([true]),
            json!({}),
        ] {
            assert_eq!(as_bool(&v), Err(FieldError::ExpectedBool), "{v}");
        }
    }

    #[test]
    fn signed_integers() {
        assert_eq!(as_i64(&json!(42)), Ok(42));
        assert_eq!(as_i64(&json!(-42)), Ok(-42));
        assert_eq!(as_i64(&json!("42")), Ok(42));
        assert_eq!(as_i64(&json!("+42")), Ok(42));
        assert_eq!(as_i64(&json!("-42")), Ok(-42));
        assert_eq!(as_i64(&json!("")), Ok(0));
        assert_eq!(as_i64(&json!(true)), Ok(1));
        assert_eq!(as_i64(&json!(3.0)), Ok(3));
        assert_eq!(as_i64(&json!(i64::MIN as f64)), Ok(i64::MIN));
        assert_eq!(as_i64(&json!(i64::MAX)), Ok(i64::MAX));
        assert_eq!(as_i64(&json!(u64::MAX)), Err(FieldError::IntegerOutOfRange));
        assert_eq!(as_i64(&json!(1e19)), Err(FieldError::IntegerOutOfRange));
        assert_eq!(
            as_i64(&json!("9223372036854775808")),
            Err(FieldError::IntegerOutOfRange)
        );
        assert_eq!(as_i64(&json!(1.5)), Err(FieldError::ExpectedInteger));
        assert_eq!(as_i64(&json!("1.5")), Err(FieldError::ExpectedInteger));
        assert_eq!(as_i64(&json!(" 1")), Err(FieldError::ExpectedInteger));
        assert_eq!(as_i64(&json!("0x10")), Err(FieldError::ExpectedInteger));
        assert_eq!(as_i64(&json!("abc")), Err(FieldError::ExpectedInteger));
        assert_eq!(as_i64(&json!(null)), Err(FieldError::ExpectedInteger));
        assert_eq!(as_i64(&json!([1])), Err(FieldError::ExpectedInteger));
    }

    #[test]
    fn unsigned_integers() {
        assert_eq!(as_u64(&json!(42)), Ok(42));
        assert_eq!(as_u64(&json!(u64::MAX)), Ok(u64::MAX));
        assert_eq!(as_u64(&json!("18446744073709551615")), Ok(u64::MAX));
        assert_eq!(as_u64(&json!("")), Ok(0));
        assert_eq!(as_u64(&json!(false)), Ok(0));
        assert_eq!(as_u64(&json!(1e3)), Ok(1000));
        assert_eq!(as_u64(&json!(-1)), Err(FieldError::IntegerOutOfRange));
        assert_eq!(as_u64(&json!(-1.0)), Err(FieldError::IntegerOutOfRange));
        assert_eq!(as_u64(&json!("-1")), Err(FieldError::IntegerOutOfRange));
        assert_eq!(as_u64(&json!("-")), Err(FieldError::ExpectedInteger));
        assert_eq!(
            as_u64(&json!("18446744073709551616")),
            Err(FieldError::IntegerOutOfRange)
        );
        assert_eq!(as_u64(&json!(2e19)), Err(FieldError::IntegerOutOfRange));
        assert_eq!(as_u64(&json!(0.5)), Err(FieldError::ExpectedInteger));
    }

    #[test]
    fn strings() {
        assert_eq!(as_string(&json!("x")), Ok("x".to_owned()));
        assert_eq!(as_string(&json!(5)), Ok("5".to_owned()));
        assert_eq!(as_string(&json!(-5)), Ok("-5".to_owned()));
        assert_eq!(as_string(&json!(1.5)), Ok("1.5".to_owned()));
        assert_eq!(as_string(&json!(true)), Ok("1".to_owned()));
        assert_eq!(as_string(&json!(false)), Ok("0".to_owned()));
        assert_eq!(as_string(&json!(null)), Err(FieldError::ExpectedString));
        assert_eq!(as_string(&json!(["x"])), Err(FieldError::ExpectedString));
        assert_eq!(
            as_string(&json!({"a": "b"})),
            Err(FieldError::ExpectedString)
        );
    }

    #[test]
    fn string_lists() {
        let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(as_string_list(&json!(["a", " b "])), Ok(s(&["a", "b"])));
        assert_eq!(
            as_string_list(&json!(["a", 1, true])),
            Ok(s(&["a", "1", "1"]))
        );
        assert_eq!(
            as_string_list(&json!("default,app")),
            Ok(s(&["default,app"]))
        );
        assert_eq!(as_string_list(&json!("")), Ok(vec![]));
        assert_eq!(as_string_list(&json!([])), Ok(vec![]));
        assert_eq!(as_string_list(&json!(7)), Ok(s(&["7"])));
        assert_eq!(
            as_string_list(&json!(["a", ["b"]])),
            Err(FieldError::ExpectedStringList)
        );
        assert_eq!(
            as_string_list(&json!(["a", null])),
            Err(FieldError::ExpectedStringList)
        );
        assert_eq!(
            as_string_list(&json!({})),
            Err(FieldError::ExpectedStringList)
        );
        assert_eq!(
            as_string_list(&json!(null)),
            Err(FieldError::ExpectedStringList)
        );
    }

    #[test]
    fn comma_string_lists() {
        let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(as_comma_string_list(&json!("a,b")), Ok(s(&["a", "b"])));
        assert_eq!(
            as_comma_string_list(&json!(" a , b ,, ")),
            Ok(s(&["a", "b"]))
        );
        assert_eq!(as_comma_string_list(&json!("a")), Ok(s(&["a"])));
        assert_eq!(as_comma_string_list(&json!("")), Ok(vec![]));
        assert_eq!(as_comma_string_list(&json!(",")), Ok(vec![]));
        assert_eq!(
            as_comma_string_list(&json!(["a,b", " c", ""])),
            Ok(s(&["a,b", "c"]))
        );
        assert_eq!(as_comma_string_list(&json!(5)), Ok(s(&["5"])));
        assert_eq!(
            as_comma_string_list(&json!(null)),
            Err(FieldError::ExpectedStringList)
        );
        assert_eq!(
            as_comma_string_list(&json!({"a": 1})),
            Err(FieldError::ExpectedStringList)
        );
        assert_eq!(
            as_comma_string_list(&json!([{}])),
            Err(FieldError::ExpectedStringList)
        );
    }

    #[test]
    fn string_maps() {
        let m = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            as_string_map(&json!({"a": "1", "b": 2, "c": true})),
            Ok(m(&[("a", "1"), ("b", "2"), ("c", "1")]))
        );
        assert_eq!(
            as_string_map(&json!("a=1,b=2")),
            Ok(m(&[("a", "1"), ("b", "2")]))
        );
        assert_eq!(
            as_string_map(&json!(" a = 1 , b=x=y ,")),
            Ok(m(&[("a", "1"), ("b", "x=y")]))
        );
        assert_eq!(
            as_string_map(&json!(["a=1,2", "b="])),
            Ok(m(&[("a", "1,2"), ("b", "")]))
        );
        assert_eq!(as_string_map(&json!("a=1,a=2")), Ok(m(&[("a", "2")])));
        assert_eq!(as_string_map(&json!("")), Ok(m(&[])));
        assert_eq!(as_string_map(&json!({})), Ok(m(&[])));
        assert_eq!(
            as_string_map(&json!("a")),
            Err(FieldError::InvalidKeyValuePair)
        );
        assert_eq!(
            as_string_map(&json!("=1")),
            Err(FieldError::InvalidKeyValuePair)
        );
        assert_eq!(
            as_string_map(&json!({"a": {"b": "c"}})),
            Err(FieldError::ExpectedStringMap)
        );
        assert_eq!(
            as_string_map(&json!({"a": null})),
            Err(FieldError::ExpectedStringMap)
        );
        assert_eq!(
            as_string_map(&json!([1])),
            Err(FieldError::ExpectedStringMap)
        );
        assert_eq!(as_string_map(&json!(1)), Err(FieldError::ExpectedStringMap));
    }

    #[test]
    fn messages_name_the_type_not_the_value() {
        let msg = as_bool(&json!("hunter2")).unwrap_err().to_string();
        assert_eq!(msg, "expected a boolean");
        let msg = as_string_map(&json!("hunter2")).unwrap_err().to_string();
        assert!(!msg.contains("hunter2"), "{msg}");
    }
}
