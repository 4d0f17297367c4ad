//! Vault's JSON audit record: field names and order as OpenBao writes them, with every
//! sensitive string replaced by `hmac-sha256:<hex>` under the device's salt.
//!
//! HMAC rules (OpenBao `audit/hashstructure.go`, `sdk/helper/salt`):
//! - the HMAC key is the device's salt string (a UUID), the value is HMAC-SHA-256 of the
//!   string's UTF-8 bytes, written as `hmac-sha256:` and lowercase hex;
//! - client tokens always (when non-empty); accessors when `hmac_accessor` is true
//!   (the default); wrap-info tokens and accessors; header values;
//! - request and response data: every string leaf at any depth, in objects and lists,
//!   including `""`; object keys, numbers, booleans and nulls are kept; a leaf whose nearest
//!   object key is listed in the mount's `audit_non_hmac_*_keys` is kept;
//! - paths, operations, display names, policies, metadata, entity ids, lease ids, warnings
//!   and error messages are logged in clear, as in Vault;
//! - `log_raw` turns all hashing off.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::entry::{AuditAuth, AuditEntry, AuditResponse};

/// Prefix of every HMAC'd value.
pub const HMAC_PREFIX: &str = "hmac-sha256:";

/// A device's salt: the HMAC key for its records and for `sys/audit-hash`, prepared once
/// (a record has several HMACs; keying each one cost as much as hashing its value).
pub(crate) struct Salt {
    key: arca_crypto::HmacSha256Key,
}

impl Salt {
    pub(crate) fn new(key: Zeroizing<String>) -> Self {
        Self {
            key: arca_crypto::HmacSha256Key::new(key.as_bytes()),
        }
    }

    /// `hmac-sha256:<hex>` of `data`.
    pub(crate) fn hmac(&self, data: &str) -> String {
        let buf = self.hmac_buf(data);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// The same, in a stack buffer: the record serializer writes it without allocating.
    fn hmac_buf(&self, data: &str) -> [u8; HMAC_LEN] {
        let tag = self.key.sign(data.as_bytes());
        let mut out = [0u8; HMAC_LEN];
        let (prefix, hex) = out.split_at_mut(HMAC_PREFIX.len());
        prefix.copy_from_slice(HMAC_PREFIX.as_bytes());
        hex_into(&tag, hex);
        out
    }
}

const HMAC_LEN: usize = HMAC_PREFIX.len() + 64;

/// Lowercase hex of `bytes` into `out` (twice as long); a table lookup per nibble, no
/// allocation (`hex::encode` goes through `char` iteration, visible in profiles).
pub(crate) fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
}

/// How a device formats records (its options `log_raw`, `hmac_accessor`,
/// `elide_list_responses`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FormatConfig {
    pub(crate) raw: bool,
    pub(crate) hmac_accessor: bool,
    pub(crate) elide_list_responses: bool,
}

impl Default for FormatConfig {
    fn default() -> Self {
        Self {
            raw: false,
            hmac_accessor: true,
            elide_list_responses: false,
        }
    }
}

/// Whether a record is the request or the response of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordType {
    Request,
    Response,
}

struct Hasher<'a> {
    salt: &'a Salt,
    cfg: FormatConfig,
}

impl Hasher<'_> {
    fn token(&self, s: &str) -> String {
        if self.cfg.raw || s.is_empty() {
            s.to_owned()
        } else {
            self.salt.hmac(s)
        }
    }

    fn accessor(&self, s: &str) -> String {
        if self.cfg.hmac_accessor {
            self.token(s)
        } else {
            s.to_owned()
        }
    }

    /// Request or response data, HMAC'd while it is serialized: no copy of the tree.
    fn data<'a>(&'a self, data: Cow<'a, Map<String, Value>>, ignored: &'a [String]) -> Hashed<'a> {
        Hashed {
            data,
            salt: (!self.cfg.raw).then_some(self.salt),
            ignored,
        }
    }
}

/// Data whose string leaves are written as their HMAC (see [`hash_value`], which defines
/// the same transformation on a tree and is what the tests compare against).
struct Hashed<'a> {
    data: Cow<'a, Map<String, Value>>,
    /// `None`: `log_raw`, written as it is.
    salt: Option<&'a Salt>,
    ignored: &'a [String],
}

impl Serialize for Hashed<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.salt {
            None => self.data.serialize(s),
            Some(salt) => HashedMap {
                map: &self.data,
                salt,
                ignored: self.ignored,
            }
            .serialize(s),
        }
    }
}

struct HashedMap<'a> {
    map: &'a Map<String, Value>,
    salt: &'a Salt,
    ignored: &'a [String],
}

impl Serialize for HashedMap<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.map.len()))?;
        for (k, v) in self.map {
            m.serialize_entry(
                k,
                &HashedValue {
                    v,
                    key: Some(k),
                    salt: self.salt,
                    ignored: self.ignored,
                },
            )?;
        }
        m.end()
    }
}

struct HashedValue<'a> {
    v: &'a Value,
    /// The nearest object key above `v`.
    key: Option<&'a str>,
    salt: &'a Salt,
    ignored: &'a [String],
}

impl Serialize for HashedValue<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        match self.v {
            Value::String(v) => {
                if self
                    .key
                    .is_some_and(|k| self.ignored.iter().any(|i| i == k))
                {
                    s.serialize_str(v)
                } else {
                    let buf = self.salt.hmac_buf(v);
                    s.serialize_str(std::str::from_utf8(&buf).map_err(serde::ser::Error::custom)?)
                }
            }
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for v in items {
                    seq.serialize_element(&HashedValue { v, ..*self })?;
                }
                seq.end()
            }
            Value::Object(map) => HashedMap {
                map,
                salt: self.salt,
                ignored: self.ignored,
            }
            .serialize(s),
            Value::Null | Value::Bool(_) | Value::Number(_) => self.v.serialize(s),
        }
    }
}

/// Replaces every string leaf below `v` by its HMAC, except leaves whose nearest object key
/// is in `ignored`.
#[cfg(test)]
fn hash_value(salt: &Salt, v: &mut Value, key: Option<&str>, ignored: &[String]) {
    match v {
        Value::String(s) => {
            if !key.is_some_and(|k| ignored.iter().any(|i| i == k)) {
                *s = salt.hmac(s);
            }
        }
        Value::Array(items) => {
            for item in items {
                hash_value(salt, item, key, ignored);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                hash_value(salt, item, Some(k), ignored);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Vault's `elide_list_responses`: on list operations, `keys` becomes its length and
/// `key_info` its number of entries.
fn elide_list(data: &mut Map<String, Value>) {
    if let Some(Value::Array(keys)) = data.get("keys") {
        let n = keys.len();
        data.insert("keys".to_owned(), Value::from(n));
    }
    if let Some(Value::Object(info)) = data.get("key_info") {
        let n = info.len();
        data.insert("key_info".to_owned(), Value::from(n));
    }
}

// The output structs borrow from the entry: a record is formatted on every request, and
// copying each field into an owned string was a visible share of the audit cost.

#[derive(Serialize, Default)]
struct AuthOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    client_token: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    accessor: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    display_name: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    policies: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    token_policies: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    identity_policies: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_results: Option<PolicyResultsOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "is_zero")]
    remaining_uses: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    entity_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    token_type: &'a str,
    #[serde(skip_serializing_if = "is_zero")]
    token_ttl: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    token_issue_time: String,
}

#[derive(Serialize)]
struct PolicyResultsOut<'a> {
    allowed: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    #[serde(serialize_with = "granting_policies")]
    granting_policies: &'a [String],
}

/// `["a"]` → `[{"name":"a","namespace_id":"root","type":"acl"}]`, without building the list.
fn granting_policies<S: serde::Serializer>(names: &&[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(names.iter().map(|name| PolicyInfoOut {
        name,
        namespace_id: "root",
        kind: "acl",
    }))
}

#[derive(Serialize)]
struct PolicyInfoOut<'a> {
    name: &'a str,
    namespace_id: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct NamespaceOut {
    id: &'static str,
}

#[derive(Serialize)]
struct RequestOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    operation: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_point: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_type: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_accessor: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    client_token: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    client_token_accessor: &'a str,
    namespace: NamespaceOut,
    #[serde(skip_serializing_if = "str::is_empty")]
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Hashed<'a>>,
    #[serde(skip_serializing_if = "str::is_empty")]
    remote_address: &'a str,
    #[serde(skip_serializing_if = "is_zero_u16")]
    remote_port: u16,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize)]
struct SecretOut<'a> {
    lease_id: &'a str,
}

#[derive(Serialize)]
struct ResponseOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_point: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_type: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    mount_accessor: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<SecretOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Hashed<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    wrap_info: Option<Value>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_u16(n: &u16) -> bool {
    *n == 0
}

/// The `auth` and `request` members of a record, `"auth":{…},"request":{…}` (no braces).
/// Both records of an exchange carry them unchanged, so the response record reuses what
/// the request record formatted: half the HMACs and the larger half of the formatting.
pub(crate) fn format_shared(
    entry: &AuditEntry,
    salt: &Salt,
    cfg: FormatConfig,
) -> Result<Vec<u8>, serde_json::Error> {
    let h = Hasher { salt, cfg };
    // The token and accessor usually appear in `auth` and `request` alike: HMAC them once.
    let token = entry
        .client_token
        .as_deref()
        .map(|t| h.token(t))
        .unwrap_or_default();
    let accessor = h.accessor(&entry.client_token_accessor);
    let auth = auth_out(
        &h,
        entry.auth.as_ref(),
        (entry.client_token.as_deref().unwrap_or_default(), &token),
        (&entry.client_token_accessor, &accessor),
    );
    let request = RequestOut {
        id: &entry.request_id,
        operation: &entry.operation,
        mount_point: &entry.mount_point,
        mount_type: &entry.mount_type,
        mount_accessor: &entry.mount_accessor,
        client_token: &token,
        client_token_accessor: &accessor,
        namespace: NamespaceOut { id: "root" },
        path: &entry.path,
        data: entry
            .request_data
            .as_ref()
            .filter(|d| !d.is_empty())
            .map(|d| h.data(Cow::Borrowed(d), &entry.non_hmac_request_keys)),
        remote_address: &entry.remote_address,
        remote_port: entry.remote_port,
        headers: entry
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), vec![h.token_always(v)]))
            .collect(),
    };
    // Records of a KV read are ~1.5 KiB: one allocation instead of a doubling series.
    let mut out = Vec::with_capacity(1536);
    out.extend_from_slice(b"\"auth\":");
    serde_json::to_writer(&mut out, &auth)?;
    out.extend_from_slice(b",\"request\":");
    serde_json::to_writer(&mut out, &request)?;
    Ok(out)
}

/// A whole record (one JSON object, no newline, no chain fields) around `shared` (from
/// [`format_shared`] for the same entry and device): the members in Vault's order, `time`, `type`, `auth`, `request`, `response`, `error`.
pub(crate) fn format_with_shared(
    entry: &AuditEntry,
    kind: RecordType,
    shared: &[u8],
    salt: &Salt,
    cfg: FormatConfig,
) -> Result<Vec<u8>, serde_json::Error> {
    let h = Hasher { salt, cfg };
    let mut out = Vec::with_capacity(shared.len() + 768);
    out.extend_from_slice(b"{\"time\":");
    serde_json::to_writer(&mut out, &rfc3339_nano(entry.time))?;
    out.extend_from_slice(match kind {
        RecordType::Request => b",\"type\":\"request\",",
        RecordType::Response => b",\"type\":\"response\",",
    });
    out.extend_from_slice(shared);
    if kind == RecordType::Response {
        let empty = AuditResponse::default();
        out.extend_from_slice(b",\"response\":");
        serde_json::to_writer(&mut out, &response_out(&h, entry, &empty))?;
    }
    let error = entry
        .response
        .as_ref()
        .and_then(|r| r.error.as_deref())
        .unwrap_or_default();
    if !error.is_empty() {
        out.extend_from_slice(b",\"error\":");
        serde_json::to_writer(&mut out, error)?;
    }
    out.push(b'}');
    Ok(out)
}

impl Hasher<'_> {
    /// Header values: HMAC'd even when empty (as data leaves are).
    fn token_always(&self, s: &str) -> String {
        if self.cfg.raw {
            s.to_owned()
        } else {
            self.salt.hmac(s)
        }
    }
}

/// `token` and `accessor` are the request's raw values with their HMACs, reused when the
/// auth block carries the same values.
fn auth_out<'a>(
    h: &Hasher<'_>,
    auth: Option<&'a AuditAuth>,
    token: (&str, &'a str),
    accessor: (&str, &'a str),
) -> AuthOut<'a> {
    let Some(a) = auth else {
        // Vault formats an empty logical.Auth: only the zero token type shows.
        return AuthOut {
            token_type: "default",
            ..AuthOut::default()
        };
    };
    AuthOut {
        client_token: if a.client_token == token.0 {
            Cow::Borrowed(token.1)
        } else {
            Cow::Owned(h.token(&a.client_token))
        },
        accessor: if a.accessor == accessor.0 {
            Cow::Borrowed(accessor.1)
        } else {
            Cow::Owned(h.accessor(&a.accessor))
        },
        display_name: &a.display_name,
        policies: &a.policies,
        token_policies: &a.token_policies,
        identity_policies: &a.identity_policies,
        policy_results: a
            .policy_results
            .as_ref()
            .map(|(allowed, granting)| PolicyResultsOut {
                allowed: *allowed,
                granting_policies: granting,
            }),
        metadata: Some(&a.metadata).filter(|m| !m.is_empty()),
        remaining_uses: a.remaining_uses,
        entity_id: &a.entity_id,
        token_type: if a.token_type.is_empty() {
            "default"
        } else {
            &a.token_type
        },
        token_ttl: a.token_ttl.as_secs(),
        token_issue_time: a.token_issue_time.map(rfc3339_secs).unwrap_or_default(),
    }
}

fn response_out<'a>(
    h: &'a Hasher<'_>,
    entry: &'a AuditEntry,
    empty: &'a AuditResponse,
) -> ResponseOut<'a> {
    let r = entry.response.as_ref().unwrap_or(empty);
    let data = r.data.as_ref().filter(|d| !d.is_empty()).map(|d| {
        let d = if h.cfg.elide_list_responses && entry.operation == "list" {
            let mut d = d.clone();
            elide_list(&mut d);
            Cow::Owned(d)
        } else {
            Cow::Borrowed(d)
        };
        h.data(d, &entry.non_hmac_response_keys)
    });
    ResponseOut {
        mount_point: &entry.mount_point,
        mount_type: &entry.mount_type,
        mount_accessor: &entry.mount_accessor,
        auth: r.auth.as_ref().map(|a| response_auth(h, a)),
        secret: Some(r.secret_lease_id.as_str())
            .filter(|l| !l.is_empty())
            .map(|lease_id| SecretOut { lease_id }),
        data,
        warnings: &r.warnings,
        wrap_info: r.wrap_info.as_ref().map(|w| wrap_info(h, w)),
    }
}

/// The auth block of a login response in Vault's `AuditAuth` shape: the HTTP rendering's
/// `lease_duration` becomes `token_ttl`; fields audit records do not carry are dropped.
fn response_auth(h: &Hasher<'_>, a: &Value) -> Value {
    let mut out = Map::new();
    let Value::Object(src) = a else {
        return Value::Object(out);
    };
    let s = |k: &str| src.get(k).and_then(Value::as_str).unwrap_or_default();
    let put_str = |out: &mut Map<String, Value>, k: &str, v: String| {
        if !v.is_empty() {
            out.insert(k.to_owned(), Value::String(v));
        }
    };
    put_str(&mut out, "client_token", h.token(s("client_token")));
    put_str(&mut out, "accessor", h.accessor(s("accessor")));
    put_str(&mut out, "display_name", s("display_name").to_owned());
    for k in ["policies", "token_policies", "identity_policies"] {
        if let Some(Value::Array(l)) = src.get(k)
            && !l.is_empty()
        {
            out.insert(k.to_owned(), Value::Array(l.clone()));
        }
    }
    if let Some(Value::Object(m)) = src.get("metadata")
        && !m.is_empty()
    {
        out.insert("metadata".to_owned(), Value::Object(m.clone()));
    }
    if let Some(n) = src.get("num_uses").and_then(Value::as_u64)
        && n > 0
    {
        out.insert("num_uses".to_owned(), Value::from(n));
    }
    put_str(&mut out, "entity_id", s("entity_id").to_owned());
    let token_type = match s("token_type") {
        "" => "default",
        t => t,
    };
    out.insert("token_type".to_owned(), Value::from(token_type));
    let ttl = src
        .get("token_ttl")
        .or_else(|| src.get("lease_duration"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if ttl > 0 {
        out.insert("token_ttl".to_owned(), Value::from(ttl));
    }
    put_str(
        &mut out,
        "token_issue_time",
        s("token_issue_time").to_owned(),
    );
    Value::Object(out)
}

/// `wrap_info` with its token HMAC'd and its accessors HMAC'd unless `hmac_accessor=false`.
fn wrap_info(h: &Hasher<'_>, w: &Value) -> Value {
    let mut w = w.clone();
    if let Value::Object(m) = &mut w {
        if let Some(Value::String(t)) = m.get_mut("token") {
            *t = h.token_always(t);
        }
        if h.cfg.hmac_accessor {
            if let Some(Value::String(a)) = m.get_mut("accessor") {
                *a = h.token_always(a);
            }
            if let Some(Value::String(a)) = m.get_mut("wrapped_accessor")
                && !a.is_empty()
            {
                *a = h.token(a);
            }
        }
    }
    w
}

/// Go's `time.RFC3339Nano` in UTC: fractional seconds without trailing zeros, none when
/// zero.
pub(crate) fn rfc3339_nano(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    let mut out = rfc3339_secs(t);
    out.pop(); // the 'Z'
    let nanos = dt.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// RFC 3339 in UTC, whole seconds (`2026-11-28T10:00:00Z`).
pub(crate) fn rfc3339_secs(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// Parses what [`rfc3339_nano`] writes (and any RFC 3339 time).
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let dt = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    Some(dt.into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_formats_like_go() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_795_821_339, 535_136_500);
        assert_eq!(rfc3339_nano(t), "2026-11-27T23:15:39.5351365Z");
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_795_821_339, 0);
        assert_eq!(rfc3339_nano(t), "2026-11-27T23:15:39Z");
        assert_eq!(parse_rfc3339("2026-11-27T23:15:39Z"), Some(t));
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".*".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{0,6}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Same shape, every string replaced by its HMAC, everything else identical.
    fn hashed_like(orig: &Value, hashed: &Value, salt: &Salt) -> bool {
        match (orig, hashed) {
            (Value::String(a), Value::String(b)) => *b == salt.hmac(a),
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| hashed_like(x, y, salt))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, x)| b.get(k).is_some_and(|y| hashed_like(x, y, salt)))
            }
            (a, b) => a == b,
        }
    }

    proptest::proptest! {
        #[test]
        fn every_string_leaf_is_hashed(v in json_value()) {
            let salt = Salt::new(Zeroizing::new("s".to_owned()));
            let mut h = v.clone();
            hash_value(&salt, &mut h, None, &[]);
            proptest::prop_assert!(hashed_like(&v, &h, &salt));
        }

        #[test]
        fn streaming_hash_writes_the_hashed_tree(v in json_value()) {
            // What the record serializer writes equals the tree with every leaf hashed.
            let salt = Salt::new(Zeroizing::new("s".to_owned()));
            let ignored = vec!["a".to_owned()];
            let map = match v {
                Value::Object(m) => m,
                other => [("k".to_owned(), other)].into_iter().collect(),
            };
            let mut tree = Value::Object(map.clone());
            hash_value(&salt, &mut tree, None, &ignored);
            let h = Hasher { salt: &salt, cfg: FormatConfig::default() };
            let streamed = serde_json::to_string(&h.data(Cow::Borrowed(&map), &ignored)).unwrap();
            proptest::prop_assert_eq!(streamed, tree.to_string());
        }
    }

    #[test]
    fn salt_hmac_matches_go_helper() {
        // HMAC-SHA256(key="salt", "hunter2"), computed independently.
        let s = Salt::new(Zeroizing::new("salt".to_owned()));
        let got = s.hmac("hunter2");
        assert!(got.starts_with(HMAC_PREFIX));
        assert_eq!(got.len(), HMAC_PREFIX.len() + 64);
        assert_eq!(
            got,
            format!(
                "{HMAC_PREFIX}{}",
                hex::encode(arca_crypto::hmac_sha256(b"salt", b"hunter2"))
            )
        );
    }
}
