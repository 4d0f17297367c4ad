//! `login` (`{role, jwt}`) and renewal of the tokens it issued.

use std::collections::BTreeMap;
use std::net::IpAddr;

use arca_auth_common::cidr::remote_allowed;
use arca_logical::{Alias, Auth, LogicalError, LogicalResult, Request, Response};
use serde_json::{Map, Value, json};

use crate::JwtBackend;
use crate::claims::{extract_metadata, get_claim, validate_bound_claims};
use crate::config::{self, JwtConfig};
use crate::role::{self, Role};
use crate::validate::{self, Expected, audiences};

/// The role named in a login (lower-cased) or the configuration's `default_role`.
pub(crate) async fn resolve_role(
    b: &JwtBackend,
    cfg: &JwtConfig,
    requested: Option<String>,
) -> LogicalResult<(String, Role)> {
    let name = requested
        .map(|r| r.trim().to_ascii_lowercase())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| cfg.default_role.clone());
    if name.is_empty() {
        return Err(LogicalError::invalid("missing role"));
    }
    if name.contains('/') {
        return Err(LogicalError::invalid("role could not be found"));
    }
    match role::load(b, &name).await? {
        Some(r) => Ok((name, r)),
        None => Err(LogicalError::invalid("role could not be found")),
    }
}

/// The entity alias (from `user_claim`), the metadata (`role` plus the claim mappings) and
/// the group names (from `groups_claim`). Errors are client-facing messages.
pub(crate) fn create_identity(
    claims: &Map<String, Value>,
    role_name: &str,
    role: &Role,
) -> Result<(Alias, Vec<String>), String> {
    let user = if role.user_claim_json_pointer {
        get_claim(claims, &role.user_claim)
    } else {
        claims.get(&role.user_claim).filter(|v| !v.is_null())
    };
    let Some(user) = user else {
        return Err(format!("claim {:?} not found in token", role.user_claim));
    };
    let Value::String(user) = user else {
        return Err(format!(
            "claim {:?} could not be converted to string",
            role.user_claim
        ));
    };
    let mut metadata = match &role.claim_mappings {
        Some(m) => extract_metadata(claims, m)?,
        None => BTreeMap::new(),
    };
    metadata.insert("role".into(), role_name.to_owned());

    let mut groups = Vec::new();
    if !role.groups_claim.is_empty() {
        let Some(raw) = get_claim(claims, &role.groups_claim) else {
            return Err(format!(
                "failed to fetch groups: {:?} claim not found in token",
                role.groups_claim
            ));
        };
        let list: Vec<&Value> = match raw {
            Value::Array(a) => a.iter().collect(),
            Value::String(_) | Value::Bool(_) | Value::Number(_) => vec![raw],
            _ => {
                return Err(format!(
                    "{:?} claim could not be converted to string list",
                    role.groups_claim
                ));
            }
        };
        for g in list {
            match g {
                Value::String(s) if s.is_empty() => {}
                Value::String(s) => groups.push(s.clone()),
                _ => return Err("value in groups claim could not be parsed as string".into()),
            }
        }
    }
    Ok((
        Alias {
            name: user.clone(),
            metadata,
        },
        groups,
    ))
}

/// The `auth` of a successful login: display name and alias from the user claim,
/// metadata from the claim mappings, token settings from the role.
pub(crate) fn build_auth(
    role_name: &str,
    role: &Role,
    alias: Alias,
    groups: Vec<String>,
    extra_metadata: BTreeMap<String, String>,
    remote: Option<IpAddr>,
) -> LogicalResult<Auth> {
    let mut metadata = alias.metadata.clone();
    metadata.extend(extra_metadata);
    let mut auth = Auth {
        display_name: alias.name.clone(),
        metadata,
        alias: Some(alias),
        ..Auth::default()
    };
    auth.internal_data.insert("role".into(), json!(role_name));
    auth.internal_data
        .insert("role_type".into(), json!("native"));
    // The core makes the entity a member of the external groups aliased with these names.
    auth.group_aliases = groups
        .into_iter()
        .map(|name| Alias {
            name,
            metadata: BTreeMap::new(),
        })
        .collect();
    role.token.populate_auth(&mut auth, remote)?;
    Ok(auth)
}

pub(crate) async fn login(b: &JwtBackend, req: &Request) -> LogicalResult<Option<Response>> {
    let f = req.fields();
    let Some(cfg) = config::load(b).await? else {
        return Err(LogicalError::invalid("could not load configuration"));
    };
    let (role_name, role) = resolve_role(b, &cfg, f.string("role")?).await?;
    if role.role_type == "oidc" {
        return Err(LogicalError::invalid(
            "role with oidc role_type is not allowed",
        ));
    }
    let token = f.string("jwt")?.unwrap_or_default();
    if token.is_empty() {
        return Err(LogicalError::invalid("missing token"));
    }
    let remote = req.remote_addr.map(|a| a.ip());
    if !remote_allowed(&role.token.token_bound_cidrs, remote) {
        return Err(LogicalError::permission_denied());
    }

    let expected = Expected {
        issuer: &cfg.bound_issuer,
        subject: &role.bound_subject,
        audiences: &role.bound_audiences,
        algs: &cfg.jwt_supported_algs,
        expiration_leeway: role.expiration_leeway,
        not_before_leeway: role.not_before_leeway,
        clock_skew_leeway: role.clock_skew_leeway,
        now: b.system.now(),
    };
    let claims = validate::validate(&b.keys, &cfg, &token, &expected)
        .await
        .map_err(|e| LogicalError::invalid(format!("error validating token: {e}")))?;

    let aud = audiences(&claims).unwrap_or_default();
    if !aud.is_empty() && role.bound_audiences.is_empty() {
        return Err(LogicalError::invalid(
            "audience claim found in JWT but no audiences bound to the role",
        ));
    }
    let (alias, groups) =
        create_identity(&claims, &role_name, &role).map_err(LogicalError::invalid)?;
    if let Some(bound) = &role.bound_claims {
        validate_bound_claims(bound, role.glob_claims(), &claims)
            .map_err(|e| LogicalError::invalid(format!("error validating claims: {e}")))?;
    }
    let auth = build_auth(&role_name, &role, alias, groups, BTreeMap::new(), remote)?;
    Ok(Some(Response {
        auth: Some(auth),
        ..Response::default()
    }))
}

/// Renewal: the role must still exist; its current TTLs apply.
pub(crate) async fn renew(b: &JwtBackend, auth: &Auth) -> LogicalResult<Option<Response>> {
    // The core keeps a token's metadata, not the method's internal data: the role is
    // also in the metadata (`role`, which claim mappings cannot overwrite).
    let name = auth
        .internal_data
        .get("role")
        .and_then(Value::as_str)
        .or_else(|| auth.metadata.get("role").map(String::as_str))
        .unwrap_or_default();
    if name.is_empty() {
        return Err(LogicalError::invalid(
            "failed to fetch role_name during renewal",
        ));
    }
    let Some(role) = role::load(b, name).await? else {
        return Err(LogicalError::invalid("role does not exist during renewal"));
    };
    Ok(Some(role.token.renewed(auth)))
}
