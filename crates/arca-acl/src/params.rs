//! Matching request values against `allowed_parameters` / `denied_parameters` lists.
//!
//! Vault compares a request value with each list entry: strings with a leading/trailing `*`
//! glob, anything else by deep equality. That makes `"a,b"`, `["a","b"]` and `["a"]` vs `"a"`
//! different values, although the request framework decodes all of them into the same list
//! (`TypeCommaStringSlice`), which lets a list or comma string slip past a denied value. Arca
//! gives the same verdict whichever way a value arrives:
//!
//! - a value is cut into **parts**: a string at its commas; a list into its elements (string
//!   elements cut at their commas too); numbers and booleans become their text; an empty list is
//!   the one part `""`;
//! - **allowed**: every part must match an entry, both as written and with surrounding spaces
//!   trimmed (the framework trims list items);
//! - **denied**: the value is denied when any part matches, as written or trimmed, or when the
//!   whole value (a string, or the list joined with commas) matches.
//!
//! So `"a,b"` and `["a","b"]` always get the same verdict, and so do `x` and `[x]`.

use serde_json::Value;

use crate::policy::{ParamValue, canonical_number};

/// One thing to compare against the list.
enum Part<'a> {
    Str(&'a str),
    Owned(String),
    Null,
    Json(&'a Value),
}

impl Part<'_> {
    fn matches(&self, entry: &ParamValue) -> bool {
        match (self, entry) {
            (Part::Str(s), _) => str_matches(s, entry),
            (Part::Owned(s), _) => str_matches(s, entry),
            (Part::Null, ParamValue::Null) => true,
            (Part::Json(v), ParamValue::Json(w)) => *v == w,
            _ => false,
        }
    }
}

fn str_matches(s: &str, entry: &ParamValue) -> bool {
    match entry {
        ParamValue::Glob(pattern) => glob_match(pattern, s),
        ParamValue::Scalar(text) => s == text,
        _ => false,
    }
}

/// Vault's `GlobbedStringsMatch`: `*x*` contains, `*x` suffix, `x*` prefix; a pattern shorter
/// than two characters (so a lone `*`) only matches itself.
pub(crate) fn glob_match(pattern: &str, value: &str) -> bool {
    if pattern.len() < 2 {
        return value == pattern;
    }
    let starts = pattern.starts_with('*');
    let ends = pattern.ends_with('*');
    match (starts, ends) {
        (true, true) => value.contains(&pattern[1..pattern.len() - 1]),
        (true, false) => value.ends_with(&pattern[1..]),
        (false, true) => value.starts_with(&pattern[..pattern.len() - 1]),
        (false, false) => value == pattern,
    }
}

fn parts(value: &Value) -> Vec<Part<'_>> {
    fn scalar<'a>(value: &'a Value, out: &mut Vec<Part<'a>>) {
        match value {
            Value::String(s) => out.extend(s.split(',').map(Part::Str)),
            Value::Number(n) => out.push(Part::Owned(canonical_number(n))),
            Value::Bool(b) => out.push(Part::Owned(b.to_string())),
            Value::Null => out.push(Part::Null),
            Value::Array(_) | Value::Object(_) => out.push(Part::Json(value)),
        }
    }
    let mut out = Vec::new();
    match value {
        Value::Array(items) if items.is_empty() => out.push(Part::Str("")),
        Value::Array(items) => {
            for item in items {
                scalar(item, &mut out);
            }
        }
        other => scalar(other, &mut out),
    }
    out
}

/// The whole value as one string: a string itself, or a list of scalars joined with commas.
fn whole(value: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(canonical_number(n)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        Value::Array(items) => items
            .iter()
            .map(text)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        other => text(other),
    }
}

fn any_matches(part: &Part<'_>, list: &[ParamValue]) -> bool {
    list.iter().any(|entry| part.matches(entry))
}

fn trimmed<'a>(part: &'a Part<'a>) -> Option<Part<'a>> {
    let s = match part {
        Part::Str(s) => *s,
        Part::Owned(s) => s.as_str(),
        _ => return None,
    };
    let t = s.trim();
    (t.len() != s.len()).then_some(Part::Str(t))
}

/// Whether `value` passes an `allowed_parameters` list (an empty list allows any value).
pub(crate) fn value_allowed(value: &Value, list: &[ParamValue]) -> bool {
    if list.is_empty() {
        return true;
    }
    parts(value)
        .iter()
        .all(|part| any_matches(part, list) && trimmed(part).is_none_or(|t| any_matches(&t, list)))
}

/// Whether `value` hits a `denied_parameters` list (an empty list denies any value).
pub(crate) fn value_denied(value: &Value, list: &[ParamValue]) -> bool {
    if list.is_empty() {
        return true;
    }
    let part_hit = parts(value).iter().any(|part| {
        any_matches(part, list) || trimmed(part).is_some_and(|t| any_matches(&t, list))
    });
    part_hit || whole(value).is_some_and(|w| any_matches(&Part::Owned(w), list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_follow_vault() {
        assert!(glob_match("*", "*"));
        assert!(!glob_match("*", "anything"));
        assert!(glob_match("**", "anything"));
        assert!(glob_match("bad*", "bad glob"));
        assert!(glob_match("*good3", "glob good3"));
        assert!(glob_match("*mid*", "a mid b"));
        assert!(!glob_match("good", "good1"));
        assert!(glob_match("", ""));
    }
}
