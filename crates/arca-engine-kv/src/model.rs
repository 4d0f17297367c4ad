//! KV version 2 records as stored, and the rules that act on them alone (pruning,
//! deletion times, rendering).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::timefmt::{format_go_seconds, format_rfc3339_nanos};

/// Versions kept per key when neither the key nor the mount sets `max_versions`.
pub(crate) const DEFAULT_MAX_VERSIONS: u32 = 10;

/// Mount-wide settings (`config`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct MountConfig {
    pub max_versions: u32,
    pub cas_required: bool,
    pub metadata_cas_required: bool,
    /// Seconds; 0 = unset, negative = disabled for every key.
    pub delete_version_after: i64,
}

impl MountConfig {
    pub(crate) fn delete_version_after_disabled(&self) -> bool {
        self.delete_version_after < 0
    }

    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("cas_required".into(), self.cas_required.into());
        m.insert(
            "delete_version_after".into(),
            format_go_seconds(self.delete_version_after).into(),
        );
        m.insert("max_versions".into(), self.max_versions.into());
        m.insert(
            "metadata_cas_required".into(),
            self.metadata_cas_required.into(),
        );
        m
    }
}

/// One version's bookkeeping. Times are nanoseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VersionMeta {
    pub created_time: i64,
    /// When the version is (or was) deleted; may lie in the future (`delete_version_after`).
    #[serde(default)]
    pub deletion_time: Option<i64>,
    #[serde(default)]
    pub destroyed: bool,
}

impl VersionMeta {
    /// Deleted as of `now`: its deletion time has come.
    pub(crate) fn is_deleted(&self, now: i64) -> bool {
        self.deletion_time.is_some_and(|t| t <= now)
    }

    /// Readable as of `now`.
    pub(crate) fn is_live(&self, now: i64) -> bool {
        !self.destroyed && !self.is_deleted(now)
    }
}

/// A secret's metadata (`metadata/<path>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct KeyMetadata {
    pub versions: BTreeMap<u64, VersionMeta>,
    pub current_version: u64,
    pub oldest_version: u64,
    pub created_time: Option<i64>,
    pub updated_time: Option<i64>,
    pub max_versions: u32,
    pub cas_required: bool,
    pub metadata_cas_required: bool,
    /// Seconds; 0 = use the mount's.
    pub delete_version_after: u64,
    pub custom_metadata: BTreeMap<String, String>,
    pub current_metadata_version: u64,
}

/// When a version created at `created` is deleted: after the smaller non-zero of the
/// mount's and the key's `delete_version_after`; never when both are zero or the mount
/// disabled it.
pub(crate) fn deletion_time(created: i64, config: &MountConfig, meta: &KeyMetadata) -> Option<i64> {
    if config.delete_version_after_disabled() {
        return None;
    }
    let mount = u64::try_from(config.delete_version_after).unwrap_or(0);
    let secs = match (mount, meta.delete_version_after) {
        (0, 0) => return None,
        (0, k) => k,
        (m, 0) => m,
        (m, k) => m.min(k),
    };
    let nanos = i64::try_from(u128::from(secs) * 1_000_000_000).unwrap_or(i64::MAX);
    Some(created.saturating_add(nanos))
}

impl KeyMetadata {
    /// Records a new version and moves the window of kept versions. Returns the numbers of
    /// the versions that fell out of it, whose data must be deleted.
    pub(crate) fn add_version(
        &mut self,
        created: i64,
        deletion: Option<i64>,
        config_max_versions: u32,
    ) -> Vec<u64> {
        self.current_version += 1;
        self.versions.insert(
            self.current_version,
            VersionMeta {
                created_time: created,
                deletion_time: deletion,
                destroyed: false,
            },
        );
        self.updated_time = Some(created);
        if self.created_time.is_none() {
            self.created_time = Some(created);
        }
        // OpenBao's rule: the larger of the key's and the mount's setting, else 10.
        let max = match self.max_versions.max(config_max_versions) {
            0 => DEFAULT_MAX_VERSIONS,
            m => m,
        };
        let max = u64::from(max);
        if self.current_version - self.oldest_version < max {
            return Vec::new();
        }
        let last_dropped = self.current_version - max;
        let dropped: Vec<u64> = self
            .versions
            .range(..=last_dropped)
            .map(|(n, _)| *n)
            .collect();
        for n in &dropped {
            self.versions.remove(n);
        }
        self.oldest_version = last_dropped + 1;
        dropped
    }

    fn custom_metadata_json(&self) -> Value {
        // Go renders a nil map as null; an empty map is never stored by OpenBao either.
        if self.custom_metadata.is_empty() {
            Value::Null
        } else {
            Value::Object(
                self.custom_metadata
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                    .collect(),
            )
        }
    }

    /// The `metadata` object of a data read or write for version `n`.
    pub(crate) fn version_json(&self, n: u64, v: &VersionMeta) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "created_time".into(),
            format_rfc3339_nanos(v.created_time).into(),
        );
        m.insert("custom_metadata".into(), self.custom_metadata_json());
        m.insert(
            "deletion_time".into(),
            optional_time(v.deletion_time).into(),
        );
        m.insert("destroyed".into(), v.destroyed.into());
        m.insert("version".into(), n.into());
        m
    }

    /// The `data` of `GET metadata/<path>`.
    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let versions: Map<String, Value> = self
            .versions
            .iter()
            .map(|(n, v)| {
                let mut vm = Map::new();
                vm.insert(
                    "created_time".into(),
                    format_rfc3339_nanos(v.created_time).into(),
                );
                vm.insert(
                    "deletion_time".into(),
                    optional_time(v.deletion_time).into(),
                );
                vm.insert("destroyed".into(), v.destroyed.into());
                (n.to_string(), Value::Object(vm))
            })
            .collect();
        let mut m = Map::new();
        m.insert("cas_required".into(), self.cas_required.into());
        m.insert(
            "created_time".into(),
            optional_time(self.created_time).into(),
        );
        m.insert(
            "current_metadata_version".into(),
            self.current_metadata_version.into(),
        );
        m.insert("current_version".into(), self.current_version.into());
        m.insert("custom_metadata".into(), self.custom_metadata_json());
        let dva = i64::try_from(self.delete_version_after).unwrap_or(i64::MAX);
        m.insert("delete_version_after".into(), format_go_seconds(dva).into());
        m.insert("max_versions".into(), self.max_versions.into());
        m.insert(
            "metadata_cas_required".into(),
            self.metadata_cas_required.into(),
        );
        m.insert("oldest_version".into(), self.oldest_version.into());
        m.insert(
            "updated_time".into(),
            optional_time(self.updated_time).into(),
        );
        m.insert("versions".into(), Value::Object(versions));
        m
    }
}

fn optional_time(t: Option<i64>) -> String {
    t.map(format_rfc3339_nanos).unwrap_or_default()
}

/// Version data with its leaves replaced by `null`, down to `max_depth` levels (0 = no
/// limit); an empty object counts as a leaf. Used by `subkeys/`.
pub(crate) fn subkeys(data: &Map<String, Value>, max_depth: i64) -> Map<String, Value> {
    fn walk(map: &Map<String, Value>, depth: i64, max_depth: i64) -> Map<String, Value> {
        map.iter()
            .map(|(k, v)| {
                let next = depth + 1;
                let value = match v {
                    Value::Object(inner)
                        if !inner.is_empty() && (max_depth == 0 || next <= max_depth) =>
                    {
                        Value::Object(walk(inner, next, max_depth))
                    }
                    _ => Value::Null,
                };
                (k.clone(), value)
            })
            .collect()
    }
    walk(data, 1, max_depth)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn pruning_window_matches_openbao() {
        let mut m = KeyMetadata {
            max_versions: 2,
            ..KeyMetadata::default()
        };
        assert!(m.add_version(1, None, 0).is_empty());
        assert_eq!((m.oldest_version, m.versions.len()), (0, 1));
        // current - oldest = 2 - 0 >= 2: version 0 (none) drops, oldest moves to 1.
        assert!(m.add_version(2, None, 0).is_empty());
        assert_eq!(m.oldest_version, 1);
        assert_eq!(m.add_version(3, None, 0), vec![1]);
        assert_eq!(m.oldest_version, 2);
        assert_eq!(m.versions.keys().copied().collect::<Vec<_>>(), vec![2, 3]);
        // Lowering the limit drops several at once.
        m.max_versions = 1;
        m.add_version(4, None, 0);
        assert_eq!(m.versions.keys().copied().collect::<Vec<_>>(), vec![4]);
        // The mount's setting wins when larger.
        let mut m = KeyMetadata {
            max_versions: 1,
            ..KeyMetadata::default()
        };
        for t in 0..5 {
            m.add_version(t, None, 3);
        }
        assert_eq!(m.versions.len(), 3);
        // Default 10.
        let mut m = KeyMetadata::default();
        for t in 0..15 {
            m.add_version(t, None, 0);
        }
        assert_eq!(
            m.versions.keys().copied().collect::<Vec<_>>(),
            (6..=15).collect::<Vec<_>>()
        );
        assert_eq!(m.created_time, Some(0));
        assert_eq!(m.updated_time, Some(14));
    }

    #[test]
    fn deletion_time_is_smallest_nonzero() {
        let sec = 1_000_000_000;
        let c = |mount: i64| MountConfig {
            delete_version_after: mount,
            ..MountConfig::default()
        };
        let k = |key: u64| KeyMetadata {
            delete_version_after: key,
            ..KeyMetadata::default()
        };
        assert_eq!(deletion_time(0, &c(0), &k(0)), None);
        assert_eq!(deletion_time(0, &c(10), &k(0)), Some(10 * sec));
        assert_eq!(deletion_time(0, &c(0), &k(5)), Some(5 * sec));
        assert_eq!(deletion_time(0, &c(10), &k(5)), Some(5 * sec));
        assert_eq!(deletion_time(0, &c(3), &k(5)), Some(3 * sec));
        assert_eq!(deletion_time(0, &c(-1), &k(5)), None);
    }

    #[test]
    fn subkeys_depth() {
        let data = json!({"a": 1, "b": {"c": {"d": 2}, "e": []}, "f": {}});
        let data = data.as_object().unwrap();
        assert_eq!(
            Value::Object(subkeys(data, 0)),
            json!({"a": null, "b": {"c": {"d": null}, "e": null}, "f": null})
        );
        assert_eq!(
            Value::Object(subkeys(data, 1)),
            json!({"a": null, "b": null, "f": null})
        );
        assert_eq!(
            Value::Object(subkeys(data, 2)),
            json!({"a": null, "b": {"c": null, "e": null}, "f": null})
        );
    }
}
