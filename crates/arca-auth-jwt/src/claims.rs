//! Claim lookup (plain names or JSON pointers), bound-claim matching and claim mappings,
//! with the value rules of Vault's JWT plugin.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::glob_match;

/// A claim by name, or by JSON pointer (RFC 6901) when the name starts with `/`
/// (`/kubernetes.io/namespace`). JSON `null` counts as absent.
pub(crate) fn get_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let v = match name.strip_prefix('/') {
        None => claims.get(name),
        Some(pointer) => {
            let mut cur: Option<&Value> = None;
            for (i, raw) in pointer.split('/').enumerate() {
                let token = raw.replace("~1", "/").replace("~0", "~");
                cur = if i == 0 {
                    claims.get(&token)
                } else {
                    match cur? {
                        Value::Object(m) => m.get(&token),
                        Value::Array(a) => token.parse::<usize>().ok().and_then(|n| a.get(n)),
                        _ => None,
                    }
                };
            }
            cur
        }
    };
    v.filter(|v| !v.is_null())
}

/// One claim value as Vault compares it: strings, booleans, and top-level numbers (which
/// Vault turns into their integer text); anything else never matches.
#[derive(Debug, PartialEq)]
enum Actual<'a> {
    Str(&'a str),
    Bool(bool),
    Num(String),
    Other,
}

fn integer_text(n: &serde_json::Number) -> String {
    match n.as_i64() {
        Some(i) => i.to_string(),
        None => (n.as_f64().unwrap_or(0.0) as i64).to_string(),
    }
}

fn one(v: &Value) -> Actual<'_> {
    match v {
        Value::String(s) => Actual::Str(s),
        Value::Bool(b) => Actual::Bool(*b),
        _ => Actual::Other,
    }
}

fn actual_values(v: &Value) -> Option<Vec<Actual<'_>>> {
    match v {
        Value::Array(a) => Some(a.iter().map(one).collect()),
        Value::String(_) | Value::Bool(_) => Some(vec![one(v)]),
        Value::Number(n) => Some(vec![Actual::Num(integer_text(n))]),
        _ => None,
    }
}

/// Whether a role's bound-claim value (a scalar or a list of scalars) is acceptable; with
/// globs every value must be a string.
pub(crate) fn valid_bound_value(v: &Value, glob: bool) -> bool {
    let scalar = |v: &Value| match v {
        Value::String(_) => true,
        Value::Bool(_) | Value::Number(_) => !glob,
        _ => false,
    };
    match v {
        Value::Array(a) => a.iter().all(scalar),
        other => scalar(other),
    }
}

fn matches(expected: &Value, actual: &Actual<'_>, glob: bool) -> bool {
    match (expected, actual) {
        (Value::String(e), Actual::Str(a)) if glob => glob_match(e, a),
        (Value::String(e), Actual::Str(a)) => e == a,
        (Value::Bool(e), Actual::Bool(a)) if !glob => e == a,
        (Value::Number(e), Actual::Num(a)) if !glob => e.to_string() == *a,
        _ => false,
    }
}

/// Checks every bound claim: the claim must exist and one of its values must match one
/// of the bound values (exactly, or as a glob).
pub(crate) fn validate_bound_claims(
    bound: &Map<String, Value>,
    glob: bool,
    claims: &Map<String, Value>,
) -> Result<(), String> {
    for (name, expected) in bound {
        let Some(actual) = get_claim(claims, name) else {
            return Err(format!("claim {name:?} is missing"));
        };
        let Some(actual) = actual_values(actual) else {
            return Err("received claim is not a string, bool, int or list".to_owned());
        };
        let expected: Vec<&Value> = match expected {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let found = expected
            .iter()
            .any(|e| actual.iter().any(|a| matches(e, a, glob)));
        if !found {
            return Err(format!(
                "claim {name:?} does not match any associated bound claim values"
            ));
        }
    }
    Ok(())
}

/// Token metadata from `claim_mappings` (claim → metadata key). A mapped claim that is
/// present must be a string.
pub(crate) fn extract_metadata(
    claims: &Map<String, Value>,
    mappings: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (source, target) in mappings {
        if let Some(v) = get_claim(claims, source) {
            let Value::String(s) = v else {
                return Err(format!("error converting claim '{source}' to string"));
            };
            out.insert(target.clone(), s.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn json_pointer_lookup() {
        let c = obj(json!({
            "kubernetes.io": {"namespace": "ci", "serviceaccount": {"name": "runner"}},
            "a/b": {"~x": 1},
            "list": ["x", "y"],
            "nil": null,
        }));
        assert_eq!(
            get_claim(&c, "/kubernetes.io/serviceaccount/name"),
            Some(&json!("runner"))
        );
        assert_eq!(get_claim(&c, "/a~1b/~0x"), Some(&json!(1)));
        assert_eq!(get_claim(&c, "/list/1"), Some(&json!("y")));
        assert_eq!(get_claim(&c, "/list/9"), None);
        assert_eq!(get_claim(&c, "/kubernetes.io/missing"), None);
        assert_eq!(get_claim(&c, "kubernetes.io/namespace"), None);
        assert_eq!(get_claim(&c, "nil"), None);
    }

    #[test]
    fn bound_claims_exact_lists_and_globs() {
        let claims = obj(json!({
            "repository": "octo-org/octo-repo",
            "ref": "refs/heads/main",
            "groups": ["dev", "ops"],
            "admin": true,
            "run": 42,
            "ctx": {"env": "prod"},
        }));
        let ok = |bound: Value, glob: bool| validate_bound_claims(&obj(bound), glob, &claims);
        assert!(ok(json!({"repository": "octo-org/octo-repo"}), false).is_ok());
        assert!(
            ok(
                json!({"repository": ["other", "octo-org/octo-repo"]}),
                false
            )
            .is_ok()
        );
        assert!(ok(json!({"groups": "ops"}), false).is_ok());
        assert!(ok(json!({"groups": ["qa", "dev"]}), false).is_ok());
        assert!(ok(json!({"admin": true}), false).is_ok());
        assert!(ok(json!({"run": 42}), false).is_ok());
        assert!(ok(json!({"/ctx/env": "prod"}), false).is_ok());
        assert_eq!(
            ok(json!({"repository": "octo-org/*"}), false).unwrap_err(),
            "claim \"repository\" does not match any associated bound claim values"
        );
        assert!(ok(json!({"repository": "octo-org/*"}), true).is_ok());
        assert!(ok(json!({"ref": ["refs/tags/*", "refs/heads/ma*"]}), true).is_ok());
        assert!(ok(json!({"ref": "refs/tags/*"}), true).is_err());
        assert!(ok(json!({"groups": "o*"}), true).is_ok());
        assert_eq!(
            ok(json!({"missing": "x"}), false).unwrap_err(),
            "claim \"missing\" is missing"
        );
        assert!(ok(json!({"ctx": "x"}), false).is_err());
        // Every bound claim must match.
        assert!(
            ok(
                json!({"repository": "octo-org/octo-repo", "ref": "refs/heads/dev"}),
                false
            )
            .is_err()
        );
        // Types never cross: "true" is not true, "42" is not 42.
        assert!(ok(json!({"admin": "true"}), false).is_err());
        assert!(ok(json!({"run": "42"}), false).is_err());
    }

    #[test]
    fn bound_values_and_metadata() {
        assert!(valid_bound_value(&json!(["a", 1, true]), false));
        assert!(!valid_bound_value(&json!(["a", 1]), true));
        assert!(!valid_bound_value(&json!({"a": 1}), false));
        assert!(!valid_bound_value(&json!([["a"]]), false));

        let claims = obj(json!({"repo": "r", "n": 1, "k8s": {"ns": "ci"}}));
        let maps = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        let md = extract_metadata(
            &claims,
            &maps(&[
                ("repo", "repository"),
                ("/k8s/ns", "namespace"),
                ("absent", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(md.get("repository").unwrap(), "r");
        assert_eq!(md.get("namespace").unwrap(), "ci");
        assert!(!md.contains_key("x"));
        assert_eq!(
            extract_metadata(&claims, &maps(&[("n", "num")])).unwrap_err(),
            "error converting claim 'n' to string"
        );
    }
}
