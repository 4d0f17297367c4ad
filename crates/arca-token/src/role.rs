//! Token roles (`auth/token/roles/<name>`): constraints and defaults for
//! `auth/token/create/<name>`.

use arca_logical::{FieldData, LogicalError, LogicalResult, Operation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::util::{
    check_policy_names, dedup_lower, is_valid_path_suffix, normalize_cidrs, sanitize_policies,
};

/// Which token type a role issues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleTokenType {
    /// Service unless the request asks for batch.
    #[default]
    DefaultService,
    /// Batch unless the request asks for service.
    DefaultBatch,
    /// Always service.
    Service,
    /// Always batch.
    Batch,
}

impl RoleTokenType {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleTokenType::DefaultService => "default-service",
            RoleTokenType::DefaultBatch => "default-batch",
            RoleTokenType::Service => "service",
            RoleTokenType::Batch => "batch",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            // `default` is what tokenutil-style clients send; it means the default here.
            "default-service" | "default" | "" => RoleTokenType::DefaultService,
            "default-batch" => RoleTokenType::DefaultBatch,
            "service" => RoleTokenType::Service,
            "batch" => RoleTokenType::Batch,
            _ => return None,
        })
    }
}

/// A stored token role. Durations are in seconds. The legacy fields (`period`,
/// `explicit_max_ttl`, `bound_cidrs`) are kept as written so reads echo them, as Vault does;
/// the `token_*` fields are the effective values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenRole {
    /// The role name.
    pub name: String,
    /// Policies tokens may get (normalised); empty = no constraint.
    pub allowed_policies: Vec<String>,
    /// Policies tokens may never get.
    pub disallowed_policies: Vec<String>,
    /// Globs of allowed policies.
    pub allowed_policies_glob: Vec<String>,
    /// Globs of disallowed policies.
    pub disallowed_policies_glob: Vec<String>,
    /// Tokens are orphans.
    pub orphan: bool,
    /// Tokens may be renewed.
    pub renewable: bool,
    /// Appended to the token path (`auth/token/create/<role>/<suffix>`).
    pub path_suffix: String,
    /// Entity aliases (globs) allowed in `entity_alias`, lower-cased.
    pub allowed_entity_aliases: Vec<String>,
    /// Legacy `period` as written.
    pub period: u64,
    /// Effective period.
    pub token_period: u64,
    /// Legacy `explicit_max_ttl` as written.
    pub explicit_max_ttl: u64,
    /// Effective explicit max TTL.
    pub token_explicit_max_ttl: u64,
    /// Legacy `bound_cidrs` as written.
    pub bound_cidrs: Vec<String>,
    /// Effective bound CIDRs.
    pub token_bound_cidrs: Vec<String>,
    /// The token type to issue.
    pub token_type: RoleTokenType,
    /// Don't add `default` to the tokens' policies.
    pub token_no_default_policy: bool,
    /// Use limit of the tokens; 0 = unlimited.
    pub token_num_uses: u64,
}

impl TokenRole {
    /// Whether the role constrains policies at all.
    pub(crate) fn has_policy_rules(&self) -> bool {
        !(self.allowed_policies.is_empty()
            && self.disallowed_policies.is_empty()
            && self.allowed_policies_glob.is_empty()
            && self.disallowed_policies_glob.is_empty())
    }

    /// The role as `GET auth/token/roles/<name>` shows it.
    pub(crate) fn to_data(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("allowed_policies".into(), json!(self.allowed_policies));
        m.insert(
            "disallowed_policies".into(),
            json!(self.disallowed_policies),
        );
        m.insert(
            "allowed_policies_glob".into(),
            json!(self.allowed_policies_glob),
        );
        m.insert(
            "disallowed_policies_glob".into(),
            json!(self.disallowed_policies_glob),
        );
        m.insert("orphan".into(), json!(self.orphan));
        m.insert("renewable".into(), json!(self.renewable));
        m.insert("path_suffix".into(), json!(self.path_suffix));
        // Vault shows an unset list as null here (the other lists are always set).
        m.insert(
            "allowed_entity_aliases".into(),
            if self.allowed_entity_aliases.is_empty() {
                Value::Null
            } else {
                json!(self.allowed_entity_aliases)
            },
        );
        m.insert("period".into(), json!(self.period));
        m.insert("token_period".into(), json!(self.token_period));
        m.insert("explicit_max_ttl".into(), json!(self.explicit_max_ttl));
        m.insert(
            "token_explicit_max_ttl".into(),
            json!(self.token_explicit_max_ttl),
        );
        m.insert("token_type".into(), json!(self.token_type.as_str()));
        m.insert(
            "token_no_default_policy".into(),
            json!(self.token_no_default_policy),
        );
        if !self.token_bound_cidrs.is_empty() {
            m.insert("token_bound_cidrs".into(), json!(self.token_bound_cidrs));
        }
        if !self.bound_cidrs.is_empty() {
            m.insert("bound_cidrs".into(), json!(self.bound_cidrs));
        }
        if self.token_num_uses > 0 {
            m.insert("token_num_uses".into(), json!(self.token_num_uses));
        }
        m
    }

    /// Applies a create or update request to the role (`self` is the stored role, or a
    /// fresh one named after the path on create). Returns warnings. `system_max` is the
    /// token mount's maximum TTL in seconds.
    pub(crate) fn apply(
        &mut self,
        op: Operation,
        f: &FieldData<'_>,
        system_max: u64,
    ) -> LogicalResult<Vec<String>> {
        let creating = op == Operation::Create;
        let mut warnings = Vec::new();

        match f.bool("orphan")? {
            Some(v) => self.orphan = v,
            None if creating => self.orphan = false,
            None => {}
        }
        match f.bool("renewable")? {
            Some(v) => self.renewable = v,
            None if creating => self.renewable = true,
            None => {}
        }
        if let Some(suffix) = f.string("path_suffix")? {
            if !suffix.is_empty() && !is_valid_path_suffix(&suffix) {
                return Err(LogicalError::invalid(
                    "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w",
                ));
            }
            self.path_suffix = suffix;
        }
        if let Some(v) = f.comma_list("allowed_policies")? {
            check_policy_names(&v).map_err(LogicalError::from)?;
            self.allowed_policies = sanitize_policies(&v, false);
        }
        if let Some(v) = f.comma_list("disallowed_policies")? {
            check_policy_names(&v).map_err(LogicalError::from)?;
            self.disallowed_policies = dedup_lower(&v);
        }
        if let Some(v) = f.comma_list("allowed_policies_glob")? {
            self.allowed_policies_glob = sanitize_policies(&v, false);
        }
        if let Some(v) = f.comma_list("disallowed_policies_glob")? {
            self.disallowed_policies_glob = dedup_lower(&v);
        }

        if f.contains("token_type") {
            let Some(raw) = f.string("token_type")? else {
                return Err(LogicalError::invalid("Invalid 'token_type' value: null"));
            };
            self.token_type = RoleTokenType::parse(&raw)
                .ok_or_else(|| LogicalError::invalid("invalid 'token_type' value"))?;
        }
        if let Some(v) = f.bool("token_no_default_policy")? {
            self.token_no_default_policy = v;
        }
        if let Some(v) = f.i64("token_num_uses")? {
            self.token_num_uses = u64::try_from(v)
                .map_err(|_| LogicalError::invalid("'token_num_uses' cannot be negative"))?;
        }

        // token_* wins over the legacy name; the legacy value is kept only when it was the
        // one given, so reads echo what was written.
        let token_period = f.duration("token_period")?;
        let legacy_period = f.duration("period")?;
        match (token_period, legacy_period) {
            (Some(p), legacy) => {
                if legacy.is_some() {
                    warnings.push("Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated value".to_owned());
                }
                self.token_period = p.as_secs();
                self.period = 0;
            }
            (None, Some(p)) => {
                self.period = p.as_secs();
                self.token_period = self.period;
            }
            (None, None) => {}
        }

        let token_cidrs = f.comma_list("token_bound_cidrs")?;
        let legacy_cidrs = f.comma_list("bound_cidrs")?;
        match (token_cidrs, legacy_cidrs) {
            (Some(c), legacy) => {
                if legacy.is_some() {
                    warnings.push("Both 'token_bound_cidrs' and deprecated 'bound_cidrs' value supplied, ignoring the deprecated value".to_owned());
                }
                self.token_bound_cidrs =
                    normalize_cidrs(&c, "token_bound_cidrs").map_err(LogicalError::from)?;
                self.bound_cidrs = Vec::new();
            }
            (None, Some(c)) => {
                self.bound_cidrs =
                    normalize_cidrs(&c, "bound_cidrs").map_err(LogicalError::from)?;
                self.token_bound_cidrs = self.bound_cidrs.clone();
            }
            (None, None) => {}
        }

        let token_emax = f.duration("token_explicit_max_ttl")?;
        let legacy_emax = f.duration("explicit_max_ttl")?;
        match (token_emax, legacy_emax) {
            (Some(e), legacy) => {
                if legacy.is_some() {
                    warnings.push("Both 'token_explicit_max_ttl' and deprecated 'explicit_max_ttl' value supplied, ignoring the deprecated value".to_owned());
                }
                self.token_explicit_max_ttl = e.as_secs();
                self.explicit_max_ttl = 0;
            }
            (None, Some(e)) => {
                self.explicit_max_ttl = e.as_secs();
                self.token_explicit_max_ttl = self.explicit_max_ttl;
            }
            (None, None) => {}
        }
        if system_max > 0 && self.token_explicit_max_ttl > system_max {
            warnings.push(format!(
                "Given explicit max TTL of {} is greater than system/mount allowed value of {} seconds; until this is fixed attempting to create tokens against this role will result in an error",
                self.token_explicit_max_ttl, system_max
            ));
        }

        if let Some(v) = f.comma_list("allowed_entity_aliases")? {
            self.allowed_entity_aliases = dedup_lower(&v);
        }

        if matches!(
            self.token_type,
            RoleTokenType::Batch | RoleTokenType::DefaultBatch
        ) {
            if self.token_period != 0 {
                return Err(LogicalError::invalid(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
                ));
            }
            if self.token_num_uses != 0 {
                return Err(LogicalError::invalid(
                    "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
                ));
            }
        }
        if self.token_type == RoleTokenType::Batch {
            if !self.orphan {
                return Err(LogicalError::invalid(
                    "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens",
                ));
            }
            if self.renewable {
                return Err(LogicalError::invalid(
                    "'token_type' cannot be 'batch' when role is set to generate renewable tokens",
                ));
            }
            if self.token_explicit_max_ttl != 0 {
                return Err(LogicalError::invalid(
                    "'token_type' cannot be 'batch' when role is set to generate tokens with an explicit max TTL",
                ));
            }
        }
        Ok(warnings)
    }
}
