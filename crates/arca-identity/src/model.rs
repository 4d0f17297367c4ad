//! Stored records and the input rules shared by the handlers.
//!
//! An entity is stored with its aliases embedded (an alias belongs to exactly one entity),
//! a group on its own. Nesting is stored on the member side (`parent_group_ids`), as
//! OpenBao does; `member_group_ids` is derived when a group is read.

use std::collections::BTreeMap;
use std::time::SystemTime;

use arca_logical::LogicalError;
use serde::{Deserialize, Serialize};

/// The only namespace this store serves.
pub(crate) const ROOT_NAMESPACE_ID: &str = "root";

/// Group type with explicitly managed members.
pub(crate) const GROUP_INTERNAL: &str = "internal";
/// Group type whose members come from an auth method's group aliases.
pub(crate) const GROUP_EXTERNAL: &str = "external";

/// An entity and its aliases.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct EntityRecord {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default)]
    pub aliases: Vec<AliasRecord>,
    pub creation_time: String,
    pub last_update_time: String,
}

/// An entity alias: one identity as an auth mount knows it.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AliasRecord {
    pub id: String,
    pub canonical_id: String,
    pub mount_accessor: String,
    /// The mount's type and path as last seen at login; only a fallback for responses
    /// when no [`crate::MountLookup`] is installed.
    #[serde(default)]
    pub mount_type: String,
    #[serde(default)]
    pub mount_path: String,
    pub name: String,
    /// Set by the auth method at login.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Set by operators through `identity/entity-alias`.
    #[serde(default)]
    pub custom_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub local: bool,
    pub creation_time: String,
    pub last_update_time: String,
}

/// A group.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct GroupRecord {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub group_type: String,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub member_entity_ids: Vec<String>,
    /// The groups this group is a member of.
    #[serde(default)]
    pub parent_group_ids: Vec<String>,
    pub creation_time: String,
    pub last_update_time: String,
    #[serde(default)]
    pub modify_index: u64,
    /// An external group's alias: the group name an auth mount reports at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<Box<AliasRecord>>,
}

/// Names and alias names are matched case-insensitively (OpenBao's default), but stored
/// as given.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// RFC 3339 in UTC with nanoseconds and trailing zeros trimmed (Go's `RFC3339Nano`).
pub(crate) fn format_time(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    dt.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// A new random identifier.
pub(crate) fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `<kind>_<8 hex>.root`: OpenBao appends the namespace id to generated names, the root
/// namespace included.
pub(crate) fn generated_name(kind: &str) -> String {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let hex: String = bytes[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{kind}_{hex}.{ROOT_NAMESPACE_ID}")
}

/// Trims, lower-cases, drops empty items, dedups and sorts (OpenBao's
/// `RemoveDuplicates(_, true)`).
pub(crate) fn normalize_policies(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = items
        .into_iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Trims, drops empty items, dedups and sorts, keeping case (identifiers).
pub(crate) fn normalize_ids(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = items
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

const META_MAX_PAIRS: usize = 64;
const META_KEY_MAX: usize = 128;
const META_VALUE_MAX: usize = 512;
const META_RESERVED_PREFIX: &str = "vault-";

fn meta_key_ok(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'/' | b'+' | b'_' | b'-'))
}

/// Entity and group metadata rules. Messages name the rule, never the offending value.
pub(crate) fn validate_metadata(meta: &BTreeMap<String, String>) -> Result<(), LogicalError> {
    if meta.len() > META_MAX_PAIRS {
        return Err(LogicalError::invalid(format!(
            "metadata cannot contain more than {META_MAX_PAIRS} key/value pairs"
        )));
    }
    for (key, value) in meta {
        if !meta_key_ok(key) {
            return Err(LogicalError::invalid(
                "invalid metadata: key is blank or contains invalid characters",
            ));
        }
        if key.len() > META_KEY_MAX {
            return Err(LogicalError::invalid(format!(
                "invalid metadata: key is too long (limit: {META_KEY_MAX} characters)"
            )));
        }
        if key.starts_with(META_RESERVED_PREFIX) {
            return Err(LogicalError::invalid(format!(
                "invalid metadata: key prefix \"{META_RESERVED_PREFIX}\" is reserved for internal use"
            )));
        }
        if value.len() > META_VALUE_MAX {
            return Err(LogicalError::invalid(format!(
                "invalid metadata: value is too long (limit: {META_VALUE_MAX} characters)"
            )));
        }
    }
    Ok(())
}

/// Alias `custom_metadata` rules (OpenBao's `custommetadata.Validate`).
pub(crate) fn validate_custom_metadata(
    meta: &BTreeMap<String, String>,
) -> Result<(), LogicalError> {
    if meta.len() > META_MAX_PAIRS {
        return Err(LogicalError::invalid(format!(
            "custom_metadata cannot contain more than {META_MAX_PAIRS} key/value pairs"
        )));
    }
    for (key, value) in meta {
        if key.is_empty() || key.len() > META_KEY_MAX {
            return Err(LogicalError::invalid(format!(
                "custom_metadata: key length must be between 1 and {META_KEY_MAX} characters"
            )));
        }
        if value.is_empty() || value.len() > META_VALUE_MAX {
            return Err(LogicalError::invalid(format!(
                "custom_metadata: value length must be between 1 and {META_VALUE_MAX} characters"
            )));
        }
        if key.chars().chain(value.chars()).any(char::is_control) {
            return Err(LogicalError::invalid(
                "custom_metadata: keys and values must be printable",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn go_rfc3339_nano() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 120_000_000);
        assert_eq!(format_time(t), "2023-11-14T22:13:20.12Z");
        assert_eq!(
            format_time(UNIX_EPOCH + Duration::from_secs(1)),
            "1970-01-01T00:00:01Z"
        );
    }

    #[test]
    fn names_and_policies() {
        let n = generated_name("entity");
        assert!(n.starts_with("entity_") && n.ends_with(".root") && n.len() == 7 + 8 + 5);
        assert_eq!(
            normalize_policies(vec![" B".into(), "a".into(), "b".into(), String::new()]),
            vec!["a", "b"]
        );
    }

    #[test]
    fn metadata_rules() {
        let ok: BTreeMap<String, String> = [("team".to_owned(), "x".to_owned())].into();
        assert!(validate_metadata(&ok).is_ok());
        let bad: BTreeMap<String, String> = [("a b".to_owned(), "x".to_owned())].into();
        assert!(validate_metadata(&bad).is_err());
        let reserved: BTreeMap<String, String> = [("vault-x".to_owned(), "x".to_owned())].into();
        assert!(validate_metadata(&reserved).is_err());
        let empty_value: BTreeMap<String, String> = [("k".to_owned(), String::new())].into();
        assert!(validate_custom_metadata(&empty_value).is_err());
    }
}
