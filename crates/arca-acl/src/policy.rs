//! Policy documents: names, parsing, the built-in policies, and the per-stanza rules the ACL
//! builder merges.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::error::PolicyError;
use crate::parse_util::{parse_absolute_time, parse_duration_str, parse_go_int, unix_seconds};
use crate::template;
use crate::tree::{Node, parse_document};

/// The built-in policy that allows everything. It has no text and cannot be written.
pub const ROOT_POLICY: &str = "root";
/// The policy attached to every token unless `no_default_policy`; editable, not deletable.
pub const DEFAULT_POLICY: &str = "default";
/// The internal policy of response-wrapping tokens; immutable and not assignable.
pub const RESPONSE_WRAPPING_POLICY: &str = "response-wrapping";

// Capability bits, in OpenBao's order (the order only matters for readability).
pub(crate) const DENY: u32 = 1;
pub(crate) const CREATE: u32 = 1 << 1;
pub(crate) const READ: u32 = 1 << 2;
pub(crate) const UPDATE: u32 = 1 << 3;
pub(crate) const DELETE: u32 = 1 << 4;
pub(crate) const LIST: u32 = 1 << 5;
pub(crate) const SUDO: u32 = 1 << 6;
pub(crate) const PATCH: u32 = 1 << 7;
pub(crate) const SCAN: u32 = 1 << 8;

/// Capability names and bits; the names sort alphabetically, which is the order
/// `sys/capabilities` reports them in.
pub(crate) const CAPABILITIES: [(&str, u32); 9] = [
    ("create", CREATE),
    ("delete", DELETE),
    ("deny", DENY),
    ("list", LIST),
    ("patch", PATCH),
    ("read", READ),
    ("scan", SCAN),
    ("sudo", SUDO),
    ("update", UPDATE),
];

fn capability_bit(name: &str) -> Option<u32> {
    CAPABILITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bit)| *bit)
}

/// Normalises a policy name the one way every caller must use (policy writes, token policy
/// lists, identity policies, ACL look-ups): surrounding whitespace removed, lower-cased.
///
/// Names that are empty, `.`/`..`, or hold a `/` or a control character are refused: OpenBao
/// accepts them, but they make storage keys and log lines ambiguous. A case or whitespace
/// variant of `root` normalises to `root` (CVE-2025-5999 was a variant that did not).
pub fn normalize_policy_name(name: &str) -> Result<String, PolicyError> {
    let normalized = name.trim().to_lowercase();
    if normalized.is_empty() {
        return Err(PolicyError::EmptyName);
    }
    if normalized == "."
        || normalized == ".."
        || normalized.chars().any(|c| c == '/' || c.is_control())
    {
        return Err(PolicyError::InvalidName);
    }
    Ok(normalized)
}

/// A value in `allowed_parameters` / `denied_parameters`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ParamValue {
    /// A string: matched with a leading and/or trailing `*` glob.
    Glob(String),
    /// A number or boolean, compared by its canonical text.
    Scalar(String),
    /// `null` matches only a `null` request value.
    Null,
    /// A list or an object, compared structurally.
    Json(serde_json::Value),
}

impl ParamValue {
    pub(crate) fn to_json(&self) -> serde_json::Value {
        match self {
            ParamValue::Glob(s) => serde_json::Value::String(s.clone()),
            ParamValue::Scalar(s) => {
                serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.clone()))
            }
            ParamValue::Null => serde_json::Value::Null,
            ParamValue::Json(v) => v.clone(),
        }
    }
}

/// Canonical text of a number, so `1`, `1.0` and `"1"` compare equal.
pub(crate) fn canonical_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            #[allow(clippy::cast_possible_truncation)]
            let i = f as i64;
            i.to_string()
        }
        _ => n.to_string(),
    }
}

/// The permissions of one stanza, and after merging, of one pattern.
#[derive(Clone, Debug, Default)]
pub(crate) struct Perms {
    pub caps: u32,
    pub min_wrapping_ttl: Duration,
    pub max_wrapping_ttl: Duration,
    /// Keys lower-cased; an empty list means "any value".
    pub allowed: BTreeMap<String, Vec<ParamValue>>,
    pub denied: BTreeMap<String, Vec<ParamValue>>,
    /// As written; compared lower-cased against request keys.
    pub required: Vec<String>,
    /// 0 or negative means none.
    pub pagination_limit: i64,
    pub response_keys_filter_path: Option<String>,
}

/// How a pattern matches, computed from its text alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PathKind {
    /// `path` must equal the request path.
    Exact,
    /// `path` (the `*` removed) must be a prefix of the request path.
    Prefix,
    /// Has `+` segments; `path` keeps its trailing `*` if any.
    Segment,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CompiledPath {
    pub path: String,
    pub kind: PathKind,
}

/// Classifies a pattern as OpenBao does: one leading `/` dropped; `+*` refused; a pattern with a
/// `+` segment (`+`, `+/…`, `…/+…`) is a segment-wildcard pattern whatever else it holds; a
/// trailing `*` otherwise makes a prefix pattern. A `*` anywhere else is a literal character.
pub(crate) fn compile_path(key: &str) -> Result<CompiledPath, ()> {
    let path = key.strip_prefix('/').unwrap_or(key);
    if path.contains("+*") {
        return Err(());
    }
    let segment = path == "+" || path.contains("/+") || path.starts_with("+/");
    if segment {
        return Ok(CompiledPath {
            path: path.to_owned(),
            kind: PathKind::Segment,
        });
    }
    Ok(match path.strip_suffix('*') {
        Some(prefix) => CompiledPath {
            path: prefix.to_owned(),
            kind: PathKind::Prefix,
        },
        None => CompiledPath {
            path: path.to_owned(),
            kind: PathKind::Exact,
        },
    })
}

/// One `path` stanza.
#[derive(Clone, Debug)]
pub(crate) struct PathRule {
    /// The pattern as written (before templating and before the leading `/` is dropped).
    pub key: String,
    pub templated: bool,
    /// For untemplated patterns; templated ones are compiled per identity.
    pub compiled: CompiledPath,
    pub perms: Perms,
    pub expiration: Option<SystemTime>,
}

/// A parsed ACL policy.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The normalised name.
    pub name: String,
    /// The text as written, returned by `sys/policy` reads.
    pub raw: String,
    /// `allow_slashes_in_identity_templates` (set by the policy write, default false).
    pub allow_slashes_in_identity_templates: bool,
    /// `allow_wildcards_in_identity_templates` (set by the policy write, default false).
    pub allow_wildcards_in_identity_templates: bool,
    pub(crate) rules: Vec<PathRule>,
    pub(crate) is_root: bool,
}

impl Policy {
    /// The built-in `root` policy; the only way to obtain a policy that yields a root ACL.
    pub fn root() -> Policy {
        Policy {
            name: ROOT_POLICY.to_owned(),
            raw: String::new(),
            allow_slashes_in_identity_templates: false,
            allow_wildcards_in_identity_templates: false,
            rules: Vec::new(),
            is_root: true,
        }
    }

    /// True for [`Policy::root`].
    pub fn is_root(&self) -> bool {
        self.is_root
    }

    /// True when a pattern uses `{{…}}` directives: the ACL then depends on the token's
    /// identity, and a cache of ACLs must key on it.
    pub fn is_templated(&self) -> bool {
        self.rules.iter().any(|r| r.templated)
    }

    /// The stanza patterns as written, in document order (duplicates kept).
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.key.as_str())
    }
}

/// Parses an ACL policy (HCL, or JSON when the text starts with `{`).
///
/// The name is normalised with [`normalize_policy_name`]; `root` is refused (use
/// [`Policy::root`]). Unknown keys and capabilities are errors, as in OpenBao (which makes
/// Vault Enterprise's `subscribe` a 400). Stanzas whose `expiration` has passed are kept here
/// and left out when an ACL is built.
pub fn parse_policy(name: &str, text: &str) -> Result<Policy, PolicyError> {
    let name = normalize_policy_name(name)?;
    if name == ROOT_POLICY {
        return Err(PolicyError::RootPolicy);
    }
    let rules = parse_rules(text)?;
    Ok(Policy {
        name,
        raw: text.to_owned(),
        allow_slashes_in_identity_templates: false,
        allow_wildcards_in_identity_templates: false,
        rules,
        is_root: false,
    })
}

fn parse_rules(text: &str) -> Result<Vec<PathRule>, PolicyError> {
    let top = parse_document(text)?;
    let mut stanzas: Vec<(String, &Node)> = Vec::new();
    for (key, value) in &top {
        match key.as_str() {
            // A policy may name itself; the name it is stored under wins.
            "name" => {}
            "path" => collect_stanzas(value, &mut stanzas)?,
            _ => return Err(PolicyError::UnknownTopLevelKey),
        }
    }
    stanzas
        .into_iter()
        .enumerate()
        .map(|(i, (key, body))| parse_stanza(i + 1, key, body))
        .collect()
}

/// `path` holds an object of pattern → body (or a list of such objects, HCL1's JSON form for
/// repeated blocks); a body may itself be a list of bodies.
fn collect_stanzas<'a>(
    value: &'a Node,
    out: &mut Vec<(String, &'a Node)>,
) -> Result<(), PolicyError> {
    match value {
        Node::Object(entries) => {
            for (pattern, body) in entries {
                match body {
                    Node::List(bodies) => {
                        for b in bodies {
                            out.push((pattern.clone(), b));
                        }
                    }
                    _ => out.push((pattern.clone(), body)),
                }
            }
            Ok(())
        }
        Node::List(items) => {
            for item in items {
                collect_stanzas(item, out)?;
            }
            Ok(())
        }
        _ => Err(PolicyError::MalformedStanza {
            stanza: out.len() + 1,
        }),
    }
}

const PATH_KEYS: [&str; 13] = [
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "mfa_methods",
    "pagination_limit",
    "expiration",
    "list_scan_response_keys_filter_path",
    "control_group",
];

fn parse_stanza(stanza: usize, key: String, body: &Node) -> Result<PathRule, PolicyError> {
    let Node::Object(entries) = body else {
        return Err(PolicyError::MalformedStanza { stanza });
    };
    let invalid = |field: &'static str| PolicyError::InvalidValue { stanza, field };

    let templated =
        template::validate(&key).map_err(|()| PolicyError::UnbalancedTemplate { stanza })?;
    let compiled = compile_path(&key).map_err(|()| PolicyError::PlusGlob { stanza })?;

    let mut legacy: Option<&str> = None;
    let mut capabilities: Vec<&str> = Vec::new();
    let mut perms = Perms::default();
    let mut expiration = None;
    let mut filter_path = None;
    for (field, value) in entries {
        if !PATH_KEYS.contains(&field.as_str()) {
            return Err(PolicyError::UnknownPathKey { stanza });
        }
        match field.as_str() {
            "comment" => {}
            "policy" => match value {
                Node::String(s) => legacy = Some(s),
                _ => return Err(invalid("policy")),
            },
            "capabilities" => {
                capabilities = string_list(value).ok_or_else(|| invalid("capabilities"))?;
            }
            "allowed_parameters" => {
                parse_param_map(value, &mut perms.allowed)
                    .ok_or_else(|| invalid("allowed_parameters"))?;
            }
            "denied_parameters" => {
                parse_param_map(value, &mut perms.denied)
                    .ok_or_else(|| invalid("denied_parameters"))?;
            }
            "required_parameters" => {
                perms.required = string_list(value)
                    .ok_or_else(|| invalid("required_parameters"))?
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
            }
            "min_wrapping_ttl" => {
                perms.min_wrapping_ttl =
                    duration(value).ok_or_else(|| invalid("min_wrapping_ttl"))?;
            }
            "max_wrapping_ttl" => {
                perms.max_wrapping_ttl =
                    duration(value).ok_or_else(|| invalid("max_wrapping_ttl"))?;
            }
            // Vault Enterprise features OpenBao parses and ignores; so do we.
            "mfa_methods" => {
                string_list(value).ok_or_else(|| invalid("mfa_methods"))?;
            }
            "control_group" => {
                check_control_group(value).ok_or_else(|| invalid("control_group"))?
            }
            "pagination_limit" => {
                perms.pagination_limit =
                    integer(value).ok_or_else(|| invalid("pagination_limit"))?;
            }
            "expiration" => {
                expiration = match value {
                    Node::Null => None,
                    Node::String(s) if s.is_empty() => None,
                    Node::String(s) => {
                        Some(parse_absolute_time(s).ok_or_else(|| invalid("expiration"))?)
                    }
                    Node::Number(n) => Some(
                        n.as_i64()
                            .and_then(unix_seconds)
                            .ok_or_else(|| invalid("expiration"))?,
                    ),
                    _ => return Err(invalid("expiration")),
                };
            }
            "list_scan_response_keys_filter_path" => match value {
                Node::String(s) if s.is_empty() => filter_path = None,
                Node::String(s) => filter_path = Some(s.clone()),
                _ => return Err(invalid("list_scan_response_keys_filter_path")),
            },
            _ => return Err(PolicyError::UnknownPathKey { stanza }),
        }
    }

    // The legacy form maps onto capabilities; `deny` replaces, the others add.
    let mut names: Vec<&str> = capabilities;
    match legacy {
        None => {}
        Some("deny") => names = vec!["deny"],
        Some("read") => names.extend(["read", "list"]),
        Some("write") => names.extend(["create", "read", "update", "delete", "list"]),
        Some("sudo") => names.extend(["create", "read", "update", "delete", "list", "sudo"]),
        Some(_) => return Err(PolicyError::InvalidLegacyPolicy { stanza }),
    }
    // Stricter than OpenBao, which stops validating at the first `deny`: every name must be known.
    let mut caps = 0;
    for name in &names {
        caps |= capability_bit(name).ok_or(PolicyError::InvalidCapability { stanza })?;
    }

    if caps & DENY != 0 {
        // A deny stanza carries nothing else: OpenBao stops before reading the other fields.
        return Ok(PathRule {
            key,
            templated,
            compiled,
            perms: Perms {
                caps: DENY,
                ..Perms::default()
            },
            expiration,
        });
    }
    perms.caps = caps;
    if !perms.min_wrapping_ttl.is_zero()
        && !perms.max_wrapping_ttl.is_zero()
        && perms.max_wrapping_ttl < perms.min_wrapping_ttl
    {
        return Err(PolicyError::WrappingTtlBounds { stanza });
    }
    if filter_path.is_some() && caps & LIST == 0 {
        return Err(PolicyError::FilterPathWithoutList { stanza });
    }
    perms.response_keys_filter_path = filter_path;
    Ok(PathRule {
        key,
        templated,
        compiled,
        perms,
        expiration,
    })
}

/// A list of strings; a lone string is read as a one-element list, as HCL1's decoder does.
fn string_list(value: &Node) -> Option<Vec<&str>> {
    match value {
        Node::String(s) => Some(vec![s.as_str()]),
        Node::List(items) => items
            .iter()
            .map(|item| match item {
                Node::String(s) => Some(s.as_str()),
                _ => None,
            })
            .collect(),
        Node::Null => Some(Vec::new()),
        _ => None,
    }
}

/// `key = [values]` pairs; keys are lower-cased. A key given twice in one stanza merges the way
/// two policies do (an empty list, "any value", wins).
fn parse_param_map(value: &Node, out: &mut BTreeMap<String, Vec<ParamValue>>) -> Option<()> {
    let entries: Vec<&(String, Node)> = match value {
        Node::Object(entries) => entries.iter().collect(),
        // HCL1's JSON form may split one map over a list of objects.
        Node::List(items) => {
            let mut all = Vec::new();
            for item in items {
                match item {
                    Node::Object(entries) => all.extend(entries.iter()),
                    _ => return None,
                }
            }
            all
        }
        Node::Null => Vec::new(),
        _ => return None,
    };
    for (key, values) in entries {
        let values: Vec<ParamValue> = match values {
            Node::List(items) => items.iter().map(param_value).collect(),
            Node::Null => Vec::new(),
            other => vec![param_value(other)],
        };
        merge_param(out, key.to_lowercase(), values);
    }
    Some(())
}

pub(crate) fn merge_param(
    map: &mut BTreeMap<String, Vec<ParamValue>>,
    key: String,
    values: Vec<ParamValue>,
) {
    match map.get_mut(&key) {
        Some(existing) if existing.is_empty() => {}
        Some(_) if values.is_empty() => {
            map.insert(key, Vec::new());
        }
        Some(existing) => existing.extend(values),
        None => {
            map.insert(key, values);
        }
    }
}

fn param_value(node: &Node) -> ParamValue {
    match node {
        Node::String(s) => ParamValue::Glob(s.clone()),
        Node::Number(n) => ParamValue::Scalar(canonical_number(n)),
        Node::Bool(b) => ParamValue::Scalar(b.to_string()),
        Node::Null => ParamValue::Null,
        Node::List(_) | Node::Object(_) => ParamValue::Json(node.to_json()),
    }
}

/// `ParseDurationSecond`: a number is seconds, a string is Go's syntax.
fn duration(value: &Node) -> Option<Duration> {
    match value {
        Node::Null => Some(Duration::ZERO),
        Node::Number(n) => {
            if let Some(u) = n.as_u64() {
                Some(Duration::from_secs(u))
            } else {
                // Go truncates a float number of seconds to whole seconds.
                let f = n.as_f64()?;
                if f.is_finite() && (0.0..9.0e9).contains(&f) {
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    let secs = f as u64;
                    Some(Duration::from_secs(secs))
                } else {
                    None
                }
            }
        }
        Node::String(s) => parse_duration_str(s),
        _ => None,
    }
}

fn integer(value: &Node) -> Option<i64> {
    match value {
        Node::Null => Some(0),
        Node::Number(n) => n.as_i64(),
        Node::String(s) if s.is_empty() => Some(0),
        Node::String(s) => parse_go_int(s),
        _ => None,
    }
}

/// Vault Enterprise control groups: only the shape is checked (OpenBao ignores them too).
fn check_control_group(value: &Node) -> Option<()> {
    let bodies: Vec<&Node> = match value {
        Node::List(items) => items.iter().collect(),
        other => vec![other],
    };
    for body in bodies {
        let Node::Object(entries) = body else {
            return None;
        };
        for (key, value) in entries {
            match key.as_str() {
                "ttl" => {
                    duration(value)?;
                }
                "self_auth_allowed" | "factor" => {}
                _ => return None,
            }
        }
    }
    Some(())
}

/// The built-in `default` policy: the grants of OpenBao 2.7's, which clients rely on
/// (vault-api.md §4.3, §11 item 14).
pub fn default_policy_text() -> &'static str {
    DEFAULT_POLICY_TEXT
}

const DEFAULT_POLICY_TEXT: &str = r#"# Built-in "default" policy. Tokens get it unless created with no_default_policy.
# It may be edited but not deleted.

# The token itself: look up, renew, revoke.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "auth/token/revoke-self" {
  capabilities = ["update"]
}

# What may this token do on a path?
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# The token's own identity entity, by id and by name.
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}

# The merged ACL, for the web UI.
path "sys/internal/ui/resultant-acl" {
  capabilities = ["read"]
}

# Leases: renew one given its id in the body, look one up.
path "sys/leases/renew" {
  capabilities = ["update"]
}
path "sys/leases/lookup" {
  capabilities = ["update"]
}

# The token's private storage.
path "cubbyhole/*" {
  capabilities = ["create", "read", "update", "delete", "list"]
}

# Response wrapping: wrap, look up and unwrap.
path "sys/wrapping/wrap" {
  capabilities = ["update"]
}
path "sys/wrapping/lookup" {
  capabilities = ["update"]
}
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}

# Hashing tool.
path "sys/tools/hash" {
  capabilities = ["update"]
}
path "sys/tools/hash/*" {
  capabilities = ["update"]
}

# OIDC provider authorization endpoint.
path "identity/oidc/provider/+/authorize" {
  capabilities = ["read", "update"]
}
"#;

/// The internal policy of response-wrapping tokens: they may only read their cubbyhole
/// response and unwrap.
pub fn response_wrapping_policy_text() -> &'static str {
    RESPONSE_WRAPPING_POLICY_TEXT
}

const RESPONSE_WRAPPING_POLICY_TEXT: &str = r#"path "cubbyhole/response" {
  capabilities = ["create", "read"]
}
path "sys/wrapping/unwrap" {
  capabilities = ["update"]
}
"#;
