//! The compiled ACL of a token and its evaluation, following OpenBao's `acl.go` step by step.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use crate::error::PolicyError;
use crate::params::{value_allowed, value_denied};
use crate::policy::{
    CAPABILITIES, CREATE, CompiledPath, DELETE, DENY, LIST, PATCH, PathKind, Perms, Policy, READ,
    ROOT_POLICY, SCAN, SUDO, UPDATE, compile_path, merge_param,
};
use crate::template::{self, Blocked, TemplateContext};

/// A request operation, as the router names it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Operation {
    /// GET: needs `read`.
    Read,
    /// A write to a path that does not exist yet (existence check): needs `create`.
    Create,
    /// A write to an existing path, or to a path without an existence check: needs `update`.
    Update,
    /// PATCH: needs `patch`.
    Patch,
    /// DELETE: needs `delete`.
    Delete,
    /// LIST: needs `list`.
    List,
    /// SCAN (OpenBao's recursive list): needs `scan`.
    Scan,
    /// `?help=1`: always allowed (sudo still applies, see [`AclRequest::sudo_required`]).
    Help,
    /// Lease renewal: needs `update`.
    Renew,
    /// Lease revocation: needs `update`.
    Revoke,
    /// Rollback: needs `update`.
    Rollback,
}

impl Operation {
    fn capability(self) -> Option<u32> {
        Some(match self {
            Operation::Read => READ,
            Operation::Create => CREATE,
            Operation::Update | Operation::Renew | Operation::Revoke | Operation::Rollback => {
                UPDATE
            }
            Operation::Patch => PATCH,
            Operation::Delete => DELETE,
            Operation::List => LIST,
            Operation::Scan => SCAN,
            Operation::Help => return None,
        })
    }

    fn is_listing(self) -> bool {
        matches!(self, Operation::List | Operation::Scan)
    }

    /// Operations whose parameters `allowed_`/`denied_`/`required_parameters` apply to.
    fn checks_parameters(self) -> bool {
        matches!(
            self,
            Operation::Read | Operation::Create | Operation::Update | Operation::Patch
        )
    }
}

/// What is being asked.
#[derive(Clone, Copy, Debug)]
pub struct AclRequest<'a> {
    /// The request path (namespace prefix included), leading `/`s are ignored. List requests
    /// carry their trailing `/`.
    pub path: &'a str,
    /// The operation.
    pub operation: Operation,
    /// The request's top-level parameters (the body, or the query for reads and lists).
    pub data: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// The wrapping TTL the client asked for (`X-Vault-Wrap-TTL`), if any.
    pub wrap_ttl: Option<Duration>,
    /// The path is root-protected (or the request needs sudo for another reason): the matched
    /// rule must also grant `sudo`.
    pub sudo_required: bool,
}

/// Why a request was denied; for logs and audit only (clients only ever see
/// "permission denied"). Holds no request data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Denial {
    /// No rule matches the path.
    NoMatchingRule,
    /// The matching rule is `deny`.
    ExplicitDeny,
    /// The matching rule lacks the operation's capability.
    MissingCapability,
    /// The rule has `min_`/`max_wrapping_ttl` and the request is not wrapped within them.
    WrappingTtl,
    /// A `required_parameters` key is missing.
    MissingRequiredParameter,
    /// A parameter (or value) is in `denied_parameters`.
    DeniedParameter,
    /// A parameter (or value) is not in `allowed_parameters`.
    ParameterNotAllowed,
    /// The list `limit` is over the rule's `pagination_limit`, or invalid.
    PaginationLimit,
    /// The path needs `sudo` and the rule does not grant it.
    SudoRequired,
}

/// The verdict on one request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AclResult {
    /// The request may proceed.
    pub allowed: bool,
    /// The matched rule grants `sudo` (always true for root).
    pub sudo: bool,
    /// The token has the root policy.
    pub is_root: bool,
    /// The policies that grant the operation's capability on the matched rule, sorted.
    pub granting_policies: Vec<String>,
    /// Why it was denied, when it was.
    pub denial: Option<Denial>,
    /// For list/scan under a `pagination_limit` (or a `limit=max`): the value the router must
    /// put in the request's `limit` parameter before handling it.
    pub limit_override: Option<String>,
    /// For list/scan: the rule's `list_scan_response_keys_filter_path`.
    pub response_keys_filter_path: Option<String>,
}

impl AclResult {
    fn denied(denial: Denial, sudo: bool) -> AclResult {
        AclResult {
            sudo,
            denial: Some(denial),
            ..AclResult::default()
        }
    }
}

/// Merged permissions for one pattern.
#[derive(Clone, Debug)]
struct Entry {
    perms: Perms,
    /// Capability bit → the policies granting it.
    granting: BTreeMap<u32, Vec<String>>,
}

impl Entry {
    fn new(perms: &Perms, policy: &str) -> Entry {
        let mut entry = Entry {
            perms: perms.clone(),
            granting: BTreeMap::new(),
        };
        entry.add_granting(perms.caps, policy);
        entry
    }

    fn add_granting(&mut self, caps: u32, policy: &str) {
        for (_, bit) in CAPABILITIES {
            if caps & bit != 0 {
                let names = self.granting.entry(bit).or_default();
                if !names.iter().any(|n| n == policy) {
                    names.push(policy.to_owned());
                    names.sort();
                }
            }
        }
    }

    /// Merges another stanza with the identical pattern, as OpenBao's `NewACL` does.
    fn merge(&mut self, other: &Perms, policy: &str) {
        let mine = &mut self.perms;
        if mine.caps & DENY != 0 {
            return;
        }
        if other.caps & DENY != 0 {
            // Deny wins and discards the parameter lists; nothing else can be granted.
            mine.caps = DENY;
            mine.allowed.clear();
            mine.denied.clear();
            return;
        }
        mine.caps |= other.caps;
        // The smaller of two set bounds wins, for both min and max.
        if !other.max_wrapping_ttl.is_zero()
            && (mine.max_wrapping_ttl.is_zero() || other.max_wrapping_ttl < mine.max_wrapping_ttl)
        {
            mine.max_wrapping_ttl = other.max_wrapping_ttl;
        }
        if !other.min_wrapping_ttl.is_zero()
            && (mine.min_wrapping_ttl.is_zero() || other.min_wrapping_ttl < mine.min_wrapping_ttl)
        {
            mine.min_wrapping_ttl = other.min_wrapping_ttl;
        }
        for (key, values) in &other.allowed {
            merge_param(&mut mine.allowed, key.clone(), values.clone());
        }
        for (key, values) in &other.denied {
            merge_param(&mut mine.denied, key.clone(), values.clone());
        }
        for required in &other.required {
            if !mine.required.contains(required) {
                mine.required.push(required.clone());
            }
        }
        if other.pagination_limit > 0
            && (mine.pagination_limit <= 0 || other.pagination_limit < mine.pagination_limit)
        {
            mine.pagination_limit = other.pagination_limit;
        }
        if mine.response_keys_filter_path.is_none() {
            mine.response_keys_filter_path
                .clone_from(&other.response_keys_filter_path);
        }
        self.add_granting(other.caps, policy);
    }
}

/// A pattern with `+` segments.
#[derive(Clone, Debug)]
struct SegmentRule {
    /// Without the trailing `*`.
    wc_path: String,
    parts: Vec<String>,
    is_prefix: bool,
    /// Byte offset of the first `+`.
    first_wildcard: usize,
    wildcards: usize,
    entry: Entry,
}

impl SegmentRule {
    fn new(pattern: &str, entry: Entry) -> SegmentRule {
        let (wc_path, is_prefix) = match pattern.strip_suffix('*') {
            Some(p) => (p, true),
            None => (pattern, false),
        };
        let parts: Vec<String> = wc_path.split('/').map(str::to_owned).collect();
        SegmentRule {
            wc_path: wc_path.to_owned(),
            is_prefix,
            first_wildcard: pattern.find('+').unwrap_or(0),
            wildcards: parts.iter().filter(|p| *p == "+").count(),
            parts,
            entry,
        }
    }

    /// `+` matches any one segment (even an empty one); with a trailing `*` the last part is a
    /// prefix of its segment and any number of segments may follow.
    fn matches(&self, path_parts: &[&str]) -> bool {
        let n = self.parts.len();
        if path_parts.len() < n || (!self.is_prefix && path_parts.len() != n) {
            return false;
        }
        self.parts.iter().enumerate().all(|(i, part)| {
            part == "+"
                || part == path_parts[i]
                || (self.is_prefix && i == n - 1 && path_parts[i].starts_with(part.as_str()))
        })
    }
}

/// Ordering key among non-exact candidates: the greatest wins. In order: a later first
/// wildcard, no trailing glob, fewer `+`, a longer pattern, the lexicographically greater.
type Priority<'a> = (usize, bool, Reverse<usize>, usize, &'a str);

/// A token's ACL, compiled from its policies. Cheap to evaluate; build it once per policy set
/// (and identity, for templated policies) and keep it until [`Acl::valid_until`].
#[derive(Clone, Debug)]
pub struct Acl {
    root: bool,
    exact: HashMap<String, Entry>,
    prefix: HashMap<String, Entry>,
    /// Distinct prefix lengths, longest first.
    prefix_lens: Vec<usize>,
    segment: Vec<SegmentRule>,
    valid_until: Option<SystemTime>,
}

impl Acl {
    /// Builds the ACL of a set of policies at the current time. See [`Acl::new_at`].
    pub fn new(policies: &[&Policy], ctx: &TemplateContext) -> Result<Acl, PolicyError> {
        Acl::new_at(policies, ctx, SystemTime::now())
    }

    /// Builds the ACL of a set of policies as of `now`.
    ///
    /// Stanzas with the identical pattern are merged (capabilities unioned, `deny` overriding
    /// everything, parameter lists merged, the smaller wrapping bounds kept); expired stanzas
    /// and templated stanzas that cannot be resolved for `ctx` are left out. [`Policy::root`]
    /// gives the root ACL, and is an error together with any other policy.
    pub fn new_at(
        policies: &[&Policy],
        ctx: &TemplateContext,
        now: SystemTime,
    ) -> Result<Acl, PolicyError> {
        if policies.iter().any(|p| p.is_root()) {
            if policies.iter().all(|p| p.is_root()) {
                return Ok(Acl::root());
            }
            return Err(PolicyError::RootWithOtherPolicies);
        }
        let mut acl = Acl {
            root: false,
            exact: HashMap::new(),
            prefix: HashMap::new(),
            prefix_lens: Vec::new(),
            segment: Vec::new(),
            valid_until: None,
        };
        let mut segment: HashMap<String, Entry> = HashMap::new();
        for policy in policies {
            let blocked = Blocked {
                slashes: !policy.allow_slashes_in_identity_templates,
                wildcards: !policy.allow_wildcards_in_identity_templates,
            };
            for rule in &policy.rules {
                if let Some(expiration) = rule.expiration {
                    if now > expiration {
                        continue;
                    }
                    acl.valid_until =
                        Some(acl.valid_until.map_or(expiration, |t| t.min(expiration)));
                }
                let templated_path;
                let compiled: &CompiledPath = if rule.templated {
                    let Some(substituted) = template::substitute(&rule.key, ctx, now, blocked)
                    else {
                        continue;
                    };
                    if substituted.uses_time {
                        // The pattern changes every second: never reuse this ACL.
                        acl.valid_until = Some(now);
                    }
                    templated_path =
                        compile_path(&substituted.text).map_err(|()| PolicyError::TemplatedPath)?;
                    &templated_path
                } else {
                    &rule.compiled
                };
                let map = match compiled.kind {
                    PathKind::Exact => &mut acl.exact,
                    PathKind::Prefix => &mut acl.prefix,
                    PathKind::Segment => &mut segment,
                };
                match map.get_mut(&compiled.path) {
                    Some(entry) => entry.merge(&rule.perms, &policy.name),
                    None => {
                        map.insert(compiled.path.clone(), Entry::new(&rule.perms, &policy.name));
                    }
                }
            }
        }
        let mut lens: Vec<usize> = acl.prefix.keys().map(String::len).collect();
        lens.sort_unstable_by(|a, b| b.cmp(a));
        lens.dedup();
        acl.prefix_lens = lens;
        let mut segment: Vec<(String, Entry)> = segment.into_iter().collect();
        segment.sort_by(|a, b| a.0.cmp(&b.0));
        acl.segment = segment
            .into_iter()
            .map(|(pattern, entry)| SegmentRule::new(&pattern, entry))
            .collect();
        Ok(acl)
    }

    /// The ACL of the root policy: everything is allowed, sudo included.
    pub fn root() -> Acl {
        Acl {
            root: true,
            exact: HashMap::new(),
            prefix: HashMap::new(),
            prefix_lens: Vec::new(),
            segment: Vec::new(),
            valid_until: None,
        }
    }

    /// True for the root ACL.
    pub fn is_root(&self) -> bool {
        self.root
    }

    /// The last instant this ACL is exact for: the earliest `expiration` among its stanzas, or
    /// the build time when a `{{time.*}}` template was used. `None`: valid until the policies
    /// or the identity change.
    pub fn valid_until(&self) -> Option<SystemTime> {
        self.valid_until
    }

    /// Decides one request.
    pub fn evaluate(&self, req: &AclRequest<'_>) -> AclResult {
        if self.root {
            return AclResult {
                allowed: true,
                sudo: true,
                is_root: true,
                granting_policies: vec![ROOT_POLICY.to_owned()],
                ..AclResult::default()
            };
        }
        let Some(bit) = req.operation.capability() else {
            // Help: allowed without a rule (OpenBao), but never grants sudo.
            if req.sudo_required {
                return AclResult::denied(Denial::SudoRequired, false);
            }
            return AclResult {
                allowed: true,
                ..AclResult::default()
            };
        };
        let path = req.path.trim_start_matches('/');
        let Some(entry) = self.lookup(path, req.operation) else {
            return AclResult::denied(Denial::NoMatchingRule, false);
        };
        let perms = &entry.perms;
        let sudo = perms.caps & SUDO != 0;
        if perms.caps & bit == 0 {
            let denial = if perms.caps & DENY != 0 {
                Denial::ExplicitDeny
            } else {
                Denial::MissingCapability
            };
            return AclResult::denied(denial, sudo);
        }
        let mut result = AclResult {
            sudo,
            granting_policies: entry.granting.get(&bit).cloned().unwrap_or_default(),
            ..AclResult::default()
        };
        if let Some(denial) = check_wrapping(perms, req.wrap_ttl) {
            result.denial = Some(denial);
            return result;
        }
        let empty = serde_json::Map::new();
        let data = req.data.unwrap_or(&empty);
        if req.operation.checks_parameters() {
            if let Some(denial) = check_parameters(perms, data) {
                result.denial = Some(denial);
                return result;
            }
        } else if req.operation.is_listing() {
            match check_pagination(perms, data) {
                Ok(limit) => result.limit_override = limit,
                Err(denial) => {
                    result.denial = Some(denial);
                    return result;
                }
            }
            result
                .response_keys_filter_path
                .clone_from(&perms.response_keys_filter_path);
        }
        if req.sudo_required && !sudo {
            result.denial = Some(Denial::SudoRequired);
            return result;
        }
        result.allowed = true;
        result
    }

    /// The capabilities on `path`, for `sys/capabilities*`: sorted names, `["deny"]` when
    /// nothing (or `deny`) matches, `["root"]` for root. Looked up the way a list request is, so
    /// `secret/` also finds a `secret` rule.
    pub fn capabilities(&self, path: &str) -> Vec<String> {
        if self.root {
            return vec![ROOT_POLICY.to_owned()];
        }
        let path = path.trim_start_matches('/');
        let caps = self
            .lookup(path, Operation::List)
            .map_or(0, |e| e.perms.caps);
        capability_names(caps)
    }

    /// Whether the token may see a mount in `sys/internal/ui/mounts`: some non-deny capability
    /// on the mount path itself, on any exact or glob rule under it, or on a `+` rule that can
    /// match something under it (OpenBao's `hasMountAccess`). `mount_path` ends with `/`.
    pub fn has_mount_access(&self, mount_path: &str) -> bool {
        if self.root {
            return true;
        }
        let mount_path = mount_path.trim_start_matches('/');
        if self.capabilities(mount_path) != ["deny"] {
            return true;
        }
        let grants = |e: &Entry| e.perms.caps & DENY == 0 && e.perms.caps != 0;
        if self
            .exact
            .iter()
            .chain(self.prefix.iter())
            .any(|(p, e)| p.starts_with(mount_path) && grants(e))
        {
            return true;
        }
        let with_slash;
        let mount_path = if mount_path.ends_with('/') {
            mount_path
        } else {
            with_slash = format!("{mount_path}/");
            &with_slash
        };
        let path_parts: Vec<&str> = mount_path.split('/').collect();
        let last = path_parts.len() - 2;
        self.segment.iter().any(|rule| {
            if !grants(&rule.entry) {
                return false;
            }
            let mut segments: Vec<&str> = Vec::new();
            for (i, part) in rule.parts.iter().enumerate() {
                if part == "+" || part == path_parts[i] {
                    segments.push(path_parts[i]);
                } else if rule.is_prefix
                    && i == rule.parts.len() - 1
                    && path_parts[i].starts_with(part.as_str())
                {
                    segments.extend(&path_parts[i..]);
                }
                if i == last {
                    let joined = format!("{}/", segments.join("/"));
                    return joined.starts_with(mount_path);
                }
            }
            false
        })
    }

    /// The merged rules for `sys/internal/ui/resultant-acl`:
    /// `{"root":bool, "exact_paths":{…}, "glob_paths":{…}}` (glob keys without their `*`;
    /// `+` patterns are not listed, as in OpenBao).
    pub fn resultant_acl(&self) -> serde_json::Value {
        if self.root {
            return serde_json::json!({ "root": true });
        }
        let render = |map: &HashMap<String, Entry>| -> serde_json::Map<String, serde_json::Value> {
            let mut sorted: Vec<(&String, &Entry)> = map.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            sorted
                .into_iter()
                .map(|(path, entry)| (path.clone(), render_perms(&entry.perms)))
                .collect()
        };
        serde_json::json!({
            "root": false,
            "exact_paths": render(&self.exact),
            "glob_paths": render(&self.prefix),
        })
    }

    /// Finds the one rule that governs `path`: exact first (for list/scan also without the
    /// trailing `/`), then the best glob/`+` rule, then for list/scan the best one for the path
    /// without its trailing `/`.
    fn lookup(&self, path: &str, op: Operation) -> Option<&Entry> {
        if let Some(entry) = self.exact.get(path) {
            return Some(entry);
        }
        let trimmed = path.strip_suffix('/');
        if op.is_listing()
            && let Some(entry) = self.exact.get(trimmed.unwrap_or(path))
        {
            return Some(entry);
        }
        if let Some(entry) = self.non_exact(path) {
            return Some(entry);
        }
        match trimmed {
            Some(trimmed) if op.is_listing() => self.non_exact(trimmed),
            _ => None,
        }
    }

    fn non_exact(&self, path: &str) -> Option<&Entry> {
        let mut best: Option<(Priority<'_>, &Entry)> = self
            .prefix_lens
            .iter()
            .filter_map(|&len| {
                let prefix = path.get(..len)?;
                let entry = self.prefix.get(prefix)?;
                Some(((len, false, Reverse(0), len, prefix), entry))
            })
            .next();
        if self.segment.is_empty() {
            return best.map(|(_, e)| e);
        }
        let parts: Vec<&str> = path.split('/').collect();
        for rule in &self.segment {
            if !rule.matches(&parts) {
                continue;
            }
            let priority: Priority<'_> = (
                rule.first_wildcard,
                !rule.is_prefix,
                Reverse(rule.wildcards),
                rule.wc_path.len(),
                rule.wc_path.as_str(),
            );
            if best.as_ref().is_none_or(|(b, _)| priority > *b) {
                best = Some((priority, &rule.entry));
            }
        }
        best.map(|(_, e)| e)
    }
}

fn capability_names(caps: u32) -> Vec<String> {
    if caps & DENY != 0 {
        return vec!["deny".to_owned()];
    }
    let names: Vec<String> = CAPABILITIES
        .iter()
        .filter(|(_, bit)| caps & bit != 0)
        .map(|(name, _)| (*name).to_owned())
        .collect();
    if names.is_empty() {
        vec!["deny".to_owned()]
    } else {
        names
    }
}

fn render_perms(perms: &Perms) -> serde_json::Value {
    // OpenBao's order for this endpoint.
    const ORDER: [(&str, u32); 8] = [
        ("create", CREATE),
        ("delete", DELETE),
        ("list", LIST),
        ("read", READ),
        ("sudo", SUDO),
        ("update", UPDATE),
        ("patch", PATCH),
        ("scan", SCAN),
    ];
    let mut caps: Vec<&str> = ORDER
        .iter()
        .filter(|(_, bit)| perms.caps & bit != 0)
        .map(|(n, _)| *n)
        .collect();
    if perms.caps & DENY != 0 || caps.is_empty() {
        caps = vec!["deny"];
    }
    let mut out = serde_json::Map::new();
    out.insert("capabilities".into(), serde_json::json!(caps));
    if !perms.min_wrapping_ttl.is_zero() {
        out.insert(
            "min_wrapping_ttl".into(),
            perms.min_wrapping_ttl.as_secs().into(),
        );
    }
    if !perms.max_wrapping_ttl.is_zero() {
        out.insert(
            "max_wrapping_ttl".into(),
            perms.max_wrapping_ttl.as_secs().into(),
        );
    }
    let params = |map: &BTreeMap<String, Vec<crate::policy::ParamValue>>| -> serde_json::Value {
        map.iter()
            .map(|(k, vs)| {
                (
                    k.clone(),
                    serde_json::Value::Array(vs.iter().map(|v| v.to_json()).collect()),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    if !perms.allowed.is_empty() {
        out.insert("allowed_parameters".into(), params(&perms.allowed));
    }
    if !perms.denied.is_empty() {
        out.insert("denied_parameters".into(), params(&perms.denied));
    }
    if !perms.required.is_empty() {
        out.insert(
            "required_parameters".into(),
            serde_json::json!(perms.required),
        );
    }
    serde_json::Value::Object(out)
}

/// A rule with wrapping bounds demands a wrapped request within them.
fn check_wrapping(perms: &Perms, wrap_ttl: Option<Duration>) -> Option<Denial> {
    let max = perms.max_wrapping_ttl;
    let min = perms.min_wrapping_ttl;
    if !max.is_zero() && wrap_ttl.is_none_or(|ttl| ttl > max) {
        return Some(Denial::WrappingTtl);
    }
    if !min.is_zero() && wrap_ttl.is_none_or(|ttl| ttl < min) {
        return Some(Denial::WrappingTtl);
    }
    // Merging can leave max < min even though each stanza was checked when written.
    if !min.is_zero() && !max.is_zero() && max < min {
        return Some(Denial::WrappingTtl);
    }
    None
}

fn check_parameters(
    perms: &Perms,
    data: &serde_json::Map<String, serde_json::Value>,
) -> Option<Denial> {
    // Request keys are looked up as given; the policy's names are lower-cased.
    if perms
        .required
        .iter()
        .any(|p| !data.contains_key(&p.to_lowercase()))
    {
        return Some(Denial::MissingRequiredParameter);
    }
    if data.is_empty() {
        return None;
    }
    if !perms.denied.is_empty() {
        if perms.denied.contains_key("*") {
            return Some(Denial::DeniedParameter);
        }
        for (key, value) in data {
            if let Some(list) = perms.denied.get(&key.to_lowercase())
                && value_denied(value, list)
            {
                return Some(Denial::DeniedParameter);
            }
        }
    }
    if perms.allowed.is_empty() {
        return None;
    }
    let allow_all = perms.allowed.contains_key("*");
    if allow_all && perms.allowed.len() == 1 {
        return None;
    }
    for (key, value) in data {
        match perms.allowed.get(&key.to_lowercase()) {
            None if !allow_all => return Some(Denial::ParameterNotAllowed),
            Some(list) if !value_allowed(value, list) => {
                return Some(Denial::ParameterNotAllowed);
            }
            _ => {}
        }
    }
    None
}

const LIMIT: &str = "limit";

/// OpenBao's pagination rules; `Ok(Some(v))` asks the router to set `limit` to `v`.
fn check_pagination(
    perms: &Perms,
    data: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<String>, Denial> {
    let limit = perms.pagination_limit;
    let given = data.get(LIMIT);
    if limit <= 0 {
        // `limit=max` without a policy limit means "no limit".
        return Ok(match given {
            Some(serde_json::Value::String(s)) if s == "max" => Some("0".to_owned()),
            _ => None,
        });
    }
    let Some(given) = given else {
        // Pagination-unaware callers keep working unless the policy requires `limit`.
        if perms.required.iter().any(|p| p.to_lowercase() == LIMIT) {
            return Err(Denial::PaginationLimit);
        }
        return Ok(Some(limit.to_string()));
    };
    let parsed = match given {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) if s.is_empty() => Some(0),
        serde_json::Value::String(s) => crate::parse_util::parse_go_int(s),
        _ => None,
    };
    match parsed {
        None => match given {
            serde_json::Value::String(s) if s == "max" => Ok(Some(limit.to_string())),
            _ => Err(Denial::PaginationLimit),
        },
        Some(v) if v > limit || v < 0 => Err(Denial::PaginationLimit),
        Some(0) => Ok(Some(limit.to_string())),
        Some(_) => Ok(None),
    }
}
