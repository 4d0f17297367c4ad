//! Field-by-field comparison of two JSON answers, for differential tests.
//!
//! Values that legitimately differ between two servers (request ids, timestamps, nonces,
//! cluster ids, keys and tokens) are *masked*: their presence and JSON type are still
//! compared, their values are not — and never printed, since some are secrets.

use std::fmt;

use serde_json::Value;

/// What differs at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffKind {
    /// Present only on the left (Arca), with its JSON type.
    OnlyLeft(&'static str),
    /// Present only on the right (OpenBao), with its JSON type.
    OnlyRight(&'static str),
    /// Present on both with different JSON types.
    Type {
        /// Left type.
        left: &'static str,
        /// Right type.
        right: &'static str,
    },
    /// Arrays of different lengths (the common prefix is compared element by element).
    Length {
        /// Left length.
        left: usize,
        /// Right length.
        right: usize,
    },
    /// Same type, different unmasked scalar values (compact JSON, shortened).
    Value {
        /// Left value.
        left: String,
        /// Right value.
        right: String,
    },
}

/// One difference: where (an RFC 6901 JSON pointer, `""` for the root) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// JSON pointer of the differing node.
    pub pointer: String,
    /// What differs.
    pub kind: DiffKind,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        match &self.kind {
            DiffKind::OnlyLeft(t) => write!(f, "{at}: only in arca ({t})"),
            DiffKind::OnlyRight(t) => write!(f, "{at}: only in openbao ({t})"),
            DiffKind::Type { left, right } => {
                write!(f, "{at}: type {left} (arca) vs {right} (openbao)")
            }
            DiffKind::Length { left, right } => {
                write!(f, "{at}: {left} elements (arca) vs {right} (openbao)")
            }
            DiffKind::Value { left, right } => {
                write!(f, "{at}: {left} (arca) vs {right} (openbao)")
            }
        }
    }
}

/// One line per difference, indented.
pub fn render(diffs: &[Difference]) -> String {
    diffs.iter().map(|d| format!("  {d}\n")).collect()
}

/// A comparison configuration. Patterns name nodes either by JSON pointer (starting with `/`;
/// a `*` segment matches any key or index) or by bare key name (matching that key at any
/// depth). A matched node covers its whole subtree.
#[derive(Debug, Clone, Default)]
pub struct JsonDiff {
    masked: Vec<String>,
    ignored: Vec<String>,
    shape_only: bool,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn pointer(path: &[String]) -> String {
    path.iter().map(|s| format!("/{}", escape(s))).collect()
}

fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

impl JsonDiff {
    /// Compares everything exactly.
    pub fn new() -> JsonDiff {
        JsonDiff::default()
    }

    /// Compares only presence and JSON type at these nodes, not values.
    pub fn mask(mut self, patterns: &[&str]) -> JsonDiff {
        self.masked.extend(patterns.iter().map(|p| (*p).to_owned()));
        self
    }

    /// Skips these nodes entirely (not even presence is compared).
    pub fn ignore(mut self, patterns: &[&str]) -> JsonDiff {
        self.ignored
            .extend(patterns.iter().map(|p| (*p).to_owned()));
        self
    }

    /// Masks every scalar: compares keys, nesting and types only.
    pub fn shape_only(mut self) -> JsonDiff {
        self.shape_only = true;
        self
    }

    fn matches(patterns: &[String], path: &[String]) -> bool {
        patterns.iter().any(|p| match p.strip_prefix('/') {
            Some(ptr) => {
                let segs: Vec<String> = ptr
                    .split('/')
                    .map(|s| s.replace("~1", "/").replace("~0", "~"))
                    .collect();
                segs.len() == path.len() && segs.iter().zip(path).all(|(s, k)| s == "*" || s == k)
            }
            None => path.last().is_some_and(|k| k == p),
        })
    }

    /// Every difference between `left` (Arca) and `right` (OpenBao), in document order.
    pub fn compare(&self, left: &Value, right: &Value) -> Vec<Difference> {
        let mut out = Vec::new();
        self.walk(&mut Vec::new(), left, right, &mut out);
        out
    }

    fn walk(&self, path: &mut Vec<String>, l: &Value, r: &Value, out: &mut Vec<Difference>) {
        let (lt, rt) = (type_name(l), type_name(r));
        if lt != rt {
            out.push(Difference {
                pointer: pointer(path),
                kind: DiffKind::Type {
                    left: lt,
                    right: rt,
                },
            });
            return;
        }
        if Self::matches(&self.masked, path) {
            return;
        }
        match (l, r) {
            (Value::Object(lm), Value::Object(rm)) => {
                let mut keys: Vec<&String> = lm.keys().chain(rm.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    path.push(k.clone());
                    if !Self::matches(&self.ignored, path) {
                        match (lm.get(k), rm.get(k)) {
                            (Some(a), Some(b)) => self.walk(path, a, b, out),
                            (Some(a), None) => out.push(Difference {
                                pointer: pointer(path),
                                kind: DiffKind::OnlyLeft(type_name(a)),
                            }),
                            (None, Some(b)) => out.push(Difference {
                                pointer: pointer(path),
                                kind: DiffKind::OnlyRight(type_name(b)),
                            }),
                            (None, None) => {}
                        }
                    }
                    path.pop();
                }
            }
            (Value::Array(la), Value::Array(ra)) => {
                if la.len() != ra.len() {
                    out.push(Difference {
                        pointer: pointer(path),
                        kind: DiffKind::Length {
                            left: la.len(),
                            right: ra.len(),
                        },
                    });
                }
                for (i, (a, b)) in la.iter().zip(ra).enumerate() {
                    path.push(i.to_string());
                    if !Self::matches(&self.ignored, path) {
                        self.walk(path, a, b, out);
                    }
                    path.pop();
                }
            }
            _ if !self.shape_only && l != r => out.push(Difference {
                pointer: pointer(path),
                kind: DiffKind::Value {
                    left: short(l),
                    right: short(r),
                },
            }),
            _ => {}
        }
    }

    /// Asserts that Arca's and OpenBao's answers differ exactly at the `known` pointers
    /// (`(pointer, why)`), no more and no fewer: a new difference fails, and so does a known
    /// one that went away (so the list, and docs/compatibility.md, stay true).
    #[allow(clippy::panic, reason = "an assertion helper for tests")]
    #[track_caller]
    pub fn assert_matches(
        &self,
        what: &str,
        arca: &Value,
        openbao: &Value,
        known: &[(&str, &str)],
    ) {
        let diffs = self.compare(arca, openbao);
        let unexpected: Vec<Difference> = diffs
            .iter()
            .filter(|d| !known.iter().any(|(p, _)| *p == d.pointer))
            .cloned()
            .collect();
        let stale: Vec<String> = known
            .iter()
            .filter(|(p, _)| !diffs.iter().any(|d| d.pointer == *p))
            .map(|(p, why)| format!("  {p}  ({why})\n"))
            .collect();
        if unexpected.is_empty() && stale.is_empty() {
            return;
        }
        let mut msg = format!("{what}: arca and openbao answers differ\n");
        if !unexpected.is_empty() {
            msg.push_str("unexpected differences:\n");
            msg.push_str(&render(&unexpected));
        }
        if !stale.is_empty() {
            msg.push_str(
                "known differences no longer present (drop them from the test's list, and from \
                 docs/compatibility.md if listed there):\n",
            );
            msg.extend(stale);
        }
        panic!("{msg}");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    #[test]
    fn equal_documents_have_no_differences() {
        let v = json!({"a": [1, {"b": null}], "c": "x"});
        assert!(JsonDiff::new().compare(&v, &v).is_empty());
    }

    #[test]
    fn reports_missing_type_value_and_length_with_pointers() {
        let l = json!({"a": 1, "b": "x", "c": [1, 2], "d/e": true, "only_l": {}});
        let r = json!({"a": "1", "b": "y", "c": [1], "d/e": false, "only_r": null});
        let d = JsonDiff::new().compare(&l, &r);
        let text = render(&d);
        assert_eq!(
            text,
            "  /a: type number (arca) vs string (openbao)\n  \
             /b: \"x\" (arca) vs \"y\" (openbao)\n  \
             /c: 2 elements (arca) vs 1 (openbao)\n  \
             /d~1e: true (arca) vs false (openbao)\n  \
             /only_l: only in arca (object)\n  \
             /only_r: only in openbao (null)\n"
        );
    }

    #[test]
    fn masks_by_key_name_and_pointer_with_wildcards() {
        let l = json!({"request_id": "a", "data": {"keys": ["k1", "k2"], "term": 1}, "n": {"nonce": "x"}});
        let r = json!({"request_id": "b", "data": {"keys": ["k3", "k4"], "term": 1}, "n": {"nonce": "y"}});
        let cmp = JsonDiff::new().mask(&["request_id", "/data/keys/*", "nonce"]);
        assert!(cmp.compare(&l, &r).is_empty());
        // A mask still compares the type.
        let r2 = json!({"request_id": 7, "data": {"keys": ["k3", "k4"], "term": 1}, "n": {"nonce": "y"}});
        assert_eq!(cmp.compare(&l, &r2).len(), 1);
        // And does not hide a missing key.
        let r3 = json!({"data": {"keys": ["k3", "k4"], "term": 1}, "n": {"nonce": "y"}});
        assert_eq!(
            cmp.compare(&l, &r3),
            vec![Difference {
                pointer: "/request_id".into(),
                kind: DiffKind::OnlyLeft("string")
            }]
        );
    }

    #[test]
    fn ignore_hides_presence_too_and_shape_only_ignores_values() {
        let l = json!({"build_date": "x", "v": 1});
        let r = json!({"commit_date": "y", "v": 2});
        let cmp = JsonDiff::new().ignore(&["build_date", "/commit_date"]);
        assert_eq!(cmp.compare(&l, &r).len(), 1);
        assert!(cmp.shape_only().compare(&l, &r).is_empty());
    }

    #[test]
    fn masked_values_are_never_printed() {
        let l = json!({"root_token": "s.secretsecret"});
        let r = json!({"root_token": ["s.other"]});
        let text = render(&JsonDiff::new().mask(&["root_token"]).compare(&l, &r));
        assert!(
            !text.contains("secret") && !text.contains("other"),
            "{text}"
        );
    }

    #[test]
    fn assert_matches_accepts_exactly_the_known_list() {
        let l = json!({"a": 1, "extra": true});
        let r = json!({"a": 1});
        JsonDiff::new().assert_matches("t", &l, &r, &[("/extra", "Vault field")]);
        let stale = std::panic::catch_unwind(|| {
            JsonDiff::new().assert_matches("t", &r, &r, &[("/extra", "Vault field")]);
        });
        assert!(stale.is_err());
        let new = std::panic::catch_unwind(|| JsonDiff::new().assert_matches("t", &l, &r, &[]));
        assert!(new.is_err());
    }
}
