//! Typed, Vault-lenient access to request fields.
//!
//! Each getter decodes one field with Vault's coercions (`arca_types::field`): `"true"`
//! for booleans, `"1h"` or `3600` for durations, `"a,b"` for comma lists. `null` means
//! "not set". Fields never read are reported back as a warning, as Vault does.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use arca_types::{duration, field};
use serde_json::{Map, Value};

use crate::{LogicalError, LogicalResult};

/// The fields of one request.
pub struct FieldData<'a> {
    data: &'a Map<String, Value>,
    // A mutex, not a RefCell, so handlers holding fields across an await stay `Send`.
    used: Mutex<Vec<String>>,
}

fn bad(name: &str, err: &dyn std::fmt::Display) -> LogicalError {
    LogicalError::invalid(format!(
        "error converting input for field \"{name}\": {err}"
    ))
}

impl<'a> FieldData<'a> {
    /// Wraps request data.
    pub fn new(data: &'a Map<String, Value>) -> Self {
        Self {
            data,
            used: Mutex::new(Vec::new()),
        }
    }

    fn used_names(&self, f: impl FnOnce(&mut Vec<String>)) {
        match self.used.lock() {
            Ok(mut u) => f(&mut u),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// The raw value of a field (`None` for absent or `null`), marking it used.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.used_names(|u| u.push(name.to_owned()));
        self.data.get(name).filter(|v| !v.is_null())
    }

    /// Whether the field was sent (even as `null`).
    pub fn contains(&self, name: &str) -> bool {
        self.data.contains_key(name)
    }

    /// Marks fields as understood without reading them.
    pub fn mark_used(&self, names: &[&str]) {
        self.used_names(|u| u.extend(names.iter().map(|n| (*n).to_owned())));
    }

    /// A string field.
    pub fn string(&self, name: &str) -> LogicalResult<Option<String>> {
        self.raw(name)
            .map(|v| field::as_string(v).map_err(|e| bad(name, &e)))
            .transpose()
    }

    /// A boolean field.
    pub fn bool(&self, name: &str) -> LogicalResult<Option<bool>> {
        self.raw(name)
            .map(|v| field::as_bool(v).map_err(|e| bad(name, &e)))
            .transpose()
    }

    /// A signed integer field.
    pub fn i64(&self, name: &str) -> LogicalResult<Option<i64>> {
        self.raw(name)
            .map(|v| field::as_i64(v).map_err(|e| bad(name, &e)))
            .transpose()
    }

    /// An unsigned integer field.
    pub fn u64(&self, name: &str) -> LogicalResult<Option<u64>> {
        self.raw(name)
            .map(|v| field::as_u64(v).map_err(|e| bad(name, &e)))
            .transpose()
    }

    /// A duration field (`"1h"`, `"90s"`, `3600`).
    pub fn duration(&self, name: &str) -> LogicalResult<Option<Duration>> {
        self.raw(name)
            .map(|v| duration::parse_duration_value(v).map_err(|e| bad(name, &e)))
            .transpose()
    }

    /// A list of strings; a single string is one item.
    pub fn string_list(&self, name: &str) -> LogicalResult<Option<Vec<String>>> {
        self.raw(name)
            .map(|v| field::as_string_list(v).map_err(|e| bad(name, &e)))
            .transpose()
    }

    /// A list of strings where `"a,b"` is two items.
    pub fn comma_list(&self, name: &str) -> LogicalResult<Option<Vec<String>>> {
        self.raw(name)
            .map(|v| field::as_comma_string_list(v).map_err(|e| bad(name, &e)))
            .transpose()
    }

    /// A map of strings (`{"k":"v"}` or `"k=v,k2=v2"`).
    pub fn string_map(&self, name: &str) -> LogicalResult<Option<BTreeMap<String, String>>> {
        self.raw(name)
            .map(|v| field::as_string_map(v).map_err(|e| bad(name, &e)))
            .transpose()
    }

    /// `Endpoint ignored these unrecognized parameters: [...]` for fields never read.
    pub fn warnings(&self) -> Vec<String> {
        let used = match self.used.lock() {
            Ok(u) => u.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let unknown: Vec<&str> = self
            .data
            .keys()
            .map(String::as_str)
            .filter(|k| !used.iter().any(|u| u == k))
            .collect();
        if unknown.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "Endpoint ignored these unrecognized parameters: [{}]",
                unknown.join(" ")
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn lenient_fields_and_warnings() {
        let data =
            json!({"ttl": "1h", "n": "3", "on": "true", "list": "a,b", "none": null, "extra": 1});
        let data = data.as_object().unwrap();
        let f = FieldData::new(data);
        assert_eq!(f.duration("ttl").unwrap(), Some(Duration::from_secs(3600)));
        assert_eq!(f.u64("n").unwrap(), Some(3));
        assert_eq!(f.bool("on").unwrap(), Some(true));
        assert_eq!(
            f.comma_list("list").unwrap(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(f.string("none").unwrap(), None);
        assert_eq!(
            f.warnings(),
            vec!["Endpoint ignored these unrecognized parameters: [extra]"]
        );
        assert!(f.duration("list").is_err());
    }
}
