//! `role/<name>`: what a token must look like to log in, and the token it gets.

use std::collections::BTreeMap;
use std::time::Duration;

use arca_auth_common::{Legacy, TokenParams, trimmed_list};
use arca_logical::{FieldData, LogicalError, LogicalResult, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::claims::valid_bound_value;
use crate::{JwtBackend, JwtError, list_response, warnings_only};

const ROLE_PREFIX: &str = "role/";

/// The legacy field names the JWT plugin still accepts.
pub(crate) const LEGACY: Legacy = Legacy::ALL;

/// A stored role (field names as in Vault's API; durations in seconds).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Role {
    #[serde(flatten)]
    pub token: TokenParams,
    /// Legacy `num_uses`, echoed while it was the key last written.
    #[serde(skip_serializing_if = "is_zero")]
    pub num_uses: u64,
    pub role_type: String,
    pub expiration_leeway: i64,
    pub not_before_leeway: i64,
    pub clock_skew_leeway: i64,
    pub bound_audiences: Vec<String>,
    pub bound_subject: String,
    pub bound_claims_type: String,
    pub bound_claims: Option<Map<String, Value>>,
    pub claim_mappings: Option<BTreeMap<String, String>>,
    pub oauth2_metadata: Vec<String>,
    pub user_claim: String,
    pub user_claim_json_pointer: bool,
    pub groups_claim: String,
    pub oidc_scopes: Vec<String>,
    pub allowed_redirect_uris: Vec<String>,
    /// Whether `allowed_redirect_uris` was written (a read shows `[]` then, `null` when it
    /// never was, as OpenBao does).
    pub allowed_redirect_uris_set: bool,
    pub callback_mode: String,
    pub poll_interval: i64,
    pub verbose_oidc_logging: bool,
    pub max_age: u64,
    pub token_policies_template_claims: bool,
    pub oidc_disable_confirmation: bool,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl Role {
    /// Whether bound claims are globs.
    pub(crate) fn glob_claims(&self) -> bool {
        self.bound_claims_type == "glob"
    }
}

/// A role by its (lower-case) name.
pub(crate) async fn load(b: &JwtBackend, name: &str) -> LogicalResult<Option<Role>> {
    match b.storage.get(&format!("{ROLE_PREFIX}{name}")).await? {
        None => Ok(None),
        Some(raw) => {
            let mut r: Role =
                serde_json::from_slice(&raw).map_err(|_| JwtError::Corrupt("role"))?;
            if r.role_type.is_empty() {
                r.role_type = "jwt".into();
            }
            if r.bound_claims_type.is_empty() {
                r.bound_claims_type = "string".into();
            }
            Ok(Some(r))
        }
    }
}

pub(crate) async fn list(b: &JwtBackend) -> LogicalResult<Option<Response>> {
    let keys = b.storage.list(ROLE_PREFIX).await?;
    Ok(list_response(keys))
}

pub(crate) async fn delete(b: &JwtBackend, name: &str) -> LogicalResult<Option<Response>> {
    b.storage.delete(&format!("{ROLE_PREFIX}{name}")).await?;
    Ok(None)
}

fn null_if_empty<T: Serialize>(v: &[T]) -> Value {
    if v.is_empty() { Value::Null } else { json!(v) }
}

pub(crate) async fn read(b: &JwtBackend, name: &str) -> LogicalResult<Option<Response>> {
    let Some(r) = load(b, name).await? else {
        return Ok(None);
    };
    let mut d = Map::new();
    d.insert("role_type".into(), json!(r.role_type));
    d.insert("expiration_leeway".into(), json!(r.expiration_leeway));
    d.insert("not_before_leeway".into(), json!(r.not_before_leeway));
    d.insert("clock_skew_leeway".into(), json!(r.clock_skew_leeway));
    d.insert("bound_audiences".into(), null_if_empty(&r.bound_audiences));
    d.insert("bound_subject".into(), json!(r.bound_subject));
    d.insert("bound_claims_type".into(), json!(r.bound_claims_type));
    d.insert("bound_claims".into(), json!(r.bound_claims));
    d.insert("claim_mappings".into(), json!(r.claim_mappings));
    d.insert("oauth2_metadata".into(), null_if_empty(&r.oauth2_metadata));
    d.insert("user_claim".into(), json!(r.user_claim));
    d.insert(
        "user_claim_json_pointer".into(),
        json!(r.user_claim_json_pointer),
    );
    d.insert("groups_claim".into(), json!(r.groups_claim));
    d.insert(
        "allowed_redirect_uris".into(),
        if r.allowed_redirect_uris_set {
            json!(r.allowed_redirect_uris)
        } else {
            null_if_empty(&r.allowed_redirect_uris)
        },
    );
    d.insert(
        "callback_mode".into(),
        json!(if r.callback_mode.is_empty() {
            "client"
        } else {
            r.callback_mode.as_str()
        }),
    );
    d.insert("oidc_scopes".into(), null_if_empty(&r.oidc_scopes));
    d.insert("verbose_oidc_logging".into(), json!(r.verbose_oidc_logging));
    d.insert("max_age".into(), json!(r.max_age));
    d.insert(
        "token_policies_template_claims".into(),
        json!(r.token_policies_template_claims),
    );
    d.insert(
        "oidc_disable_confirmation".into(),
        json!(r.oidc_disable_confirmation),
    );
    r.token.populate_data(&mut d, LEGACY);
    if r.poll_interval > 0 {
        d.insert("poll_interval".into(), json!(r.poll_interval));
    }
    if r.num_uses > 0 {
        d.insert("num_uses".into(), json!(r.num_uses));
    }
    Ok(Some(Response::with_data(d)))
}

/// A signed duration in seconds (`60`, `"60"`, `"1m"`, `-1`).
fn signed_seconds(f: &FieldData<'_>, name: &str) -> LogicalResult<Option<i64>> {
    match f.i64(name) {
        Ok(v) => Ok(v),
        Err(_) => Ok(f
            .duration(name)?
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))),
    }
}

/// `bound_claims` as an object, also accepted as a JSON string (the CLI's `key=@file`).
fn bound_claims_field(f: &FieldData<'_>) -> LogicalResult<Option<Map<String, Value>>> {
    let bad = || LogicalError::invalid("error converting input for field \"bound_claims\"");
    match f.raw("bound_claims") {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(Map::new())),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            _ => Err(bad()),
        },
        Some(_) => Err(bad()),
    }
}

pub(crate) async fn write(
    b: &JwtBackend,
    req: &Request,
    name: &str,
) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let mut r = load(b, name).await?.unwrap_or_default();

    // As in Vault, fields with a default fall back to it on every write that omits them.
    let role_type = f.string("role_type")?.unwrap_or_default();
    r.role_type = match role_type.as_str() {
        "" => "oidc".into(),
        "jwt" | "oidc" => role_type,
        _ => return Err(LogicalError::invalid("invalid 'role_type'")),
    };

    let mut warnings = r.token.update(&f, LEGACY)?;
    let new_uses_sent = f.raw("token_num_uses").is_some();
    match f.i64("num_uses")? {
        Some(n) if !new_uses_sent => {
            let n = u64::try_from(n)
                .map_err(|_| LogicalError::invalid("'num_uses' cannot be negative"))?;
            r.num_uses = n;
            r.token.token_num_uses = n;
        }
        Some(_) => r.num_uses = r.token.token_num_uses,
        None if new_uses_sent => r.num_uses = 0,
        None => {}
    }
    let mount_max = b.system.max_lease_ttl();
    if Duration::from_secs(r.token.token_period) > mount_max {
        return Err(LogicalError::invalid(
            "'period' is greater than the backend's maximum lease TTL",
        ));
    }

    if let Some(v) = signed_seconds(&f, "expiration_leeway")? {
        r.expiration_leeway = v;
    }
    if let Some(v) = signed_seconds(&f, "not_before_leeway")? {
        r.not_before_leeway = v;
    }
    if let Some(v) = signed_seconds(&f, "clock_skew_leeway")? {
        r.clock_skew_leeway = v;
    }
    if let Some(v) = trimmed_list(&f, "bound_audiences")? {
        r.bound_audiences = v;
    }
    if let Some(v) = f.string("bound_subject")? {
        r.bound_subject = v;
    }
    if let Some(v) = f.bool("verbose_oidc_logging")? {
        r.verbose_oidc_logging = v;
    }
    if let Some(v) = f.duration("max_age")? {
        r.max_age = v.as_secs();
    }
    if let Some(v) = f.bool("token_policies_template_claims")? {
        r.token_policies_template_claims = v;
    }
    if r.token_policies_template_claims {
        return Err(LogicalError::invalid(
            "'token_policies_template_claims' is not supported",
        ));
    }

    let claims_type = f.string("bound_claims_type")?.unwrap_or_default();
    r.bound_claims_type = match claims_type.as_str() {
        "" => "string".into(),
        "string" | "glob" => claims_type,
        _ => return Err(LogicalError::invalid("invalid 'bound_claims_type'")),
    };
    if let Some(bound) = bound_claims_field(&f)? {
        r.bound_claims = Some(bound);
    }
    if let Some(bound) = &r.bound_claims {
        let glob = r.glob_claims();
        if !bound.values().all(|v| valid_bound_value(v, glob)) {
            return Err(LogicalError::invalid(if glob {
                "claim is not a string or list of strings"
            } else {
                "claim is not a string, bool, number or list"
            }));
        }
    }

    if let Some(mappings) = f.string_map("claim_mappings")? {
        let mut targets = std::collections::BTreeSet::new();
        for target in mappings.values() {
            if target == "role" {
                return Err(LogicalError::invalid(
                    "metadata key \"role\" is reserved and may not be a mapping destination",
                ));
            }
            if !targets.insert(target.as_str()) {
                return Err(LogicalError::invalid(
                    "multiple keys are mapped to the same metadata key",
                ));
            }
        }
        r.claim_mappings = Some(mappings);
    }

    if let Some(v) = trimmed_list(&f, "oauth2_metadata")? {
        if v.iter()
            .any(|m| !matches!(m.as_str(), "id_token" | "refresh_token" | "access_token"))
        {
            return Err(LogicalError::invalid("Unrecognized oauth2 metadata name"));
        }
        r.oauth2_metadata = v;
    }
    if let Some(v) = f.string("user_claim")? {
        r.user_claim = v;
    }
    if r.user_claim.is_empty() {
        return Err(LogicalError::invalid(
            "a user claim must be defined on the role",
        ));
    }
    if let Some(v) = f.bool("user_claim_json_pointer")? {
        r.user_claim_json_pointer = v;
    }
    if let Some(v) = f.string("groups_claim")? {
        r.groups_claim = v;
    }
    if let Some(v) = trimmed_list(&f, "oidc_scopes")? {
        r.oidc_scopes = v;
    }
    if let Some(v) = trimmed_list(&f, "allowed_redirect_uris")? {
        r.allowed_redirect_uris = v;
        r.allowed_redirect_uris_set = true;
    }
    if let Some(v) = f.i64("poll_interval")? {
        r.poll_interval = v;
    }
    let mode = f.string("callback_mode")?.unwrap_or_default();
    r.callback_mode = match mode.as_str() {
        "" => "client".into(),
        "client" | "direct" | "device" => mode,
        _ => return Err(LogicalError::invalid("invalid 'callback_mode'")),
    };
    r.oidc_disable_confirmation = f.bool("oidc_disable_confirmation")?.unwrap_or(false);

    if r.role_type == "oidc" && r.allowed_redirect_uris.is_empty() {
        return Err(LogicalError::invalid(
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
        ));
    }
    if r.role_type != "oidc"
        && r.bound_audiences.is_empty()
        && r.token.token_bound_cidrs.is_empty()
        && r.bound_subject.is_empty()
        && r.bound_claims.as_ref().is_none_or(Map::is_empty)
    {
        return Err(LogicalError::invalid(
            "must have at least one bound constraint when creating/updating a role",
        ));
    }

    if Duration::from_secs(r.token.token_max_ttl) > mount_max {
        warnings.push(
            "token max ttl is greater than the system or backend mount's maximum TTL value; issued tokens' max TTL value will be truncated".to_owned(),
        );
    }
    if r.verbose_oidc_logging {
        warnings.push(
            "verbose_oidc_logging has been enabled for this role. This is not recommended in production since sensitive information may be present in OIDC responses.".to_owned(),
        );
    }
    f.mark_used(&["name"]);
    warnings.extend(f.warnings());

    let bytes = serde_json::to_vec(&r).map_err(|_| JwtError::Encode("role"))?;
    b.storage
        .put(&format!("{ROLE_PREFIX}{name}"), &bytes)
        .await?;
    Ok(warnings_only(warnings))
}
