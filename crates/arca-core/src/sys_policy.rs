//! `sys/policy*`, `sys/policies/acl*`, `sys/capabilities*` and `sys/internal/ui/mounts*`.

use arca_logical::{BackendKind, LogicalError, Operation, Request, Response};
use serde_json::{Map, Value};

use crate::policies::PolicyStore;
use crate::{Core, CoreError, TokenEntry, Unsealed};

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

fn unsupported_op() -> CoreError {
    CoreError::client(LogicalError::unsupported_operation())
}

fn policy_fields(stored: &crate::policies::StoredPolicy, text_key: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), stored.name.clone().into());
    m.insert(text_key.into(), stored.policy.clone().into());
    m.insert("version".into(), stored.version.into());
    m.insert("modified".into(), stored.modified.clone().into());
    m.insert("cas_required".into(), stored.cas_required.into());
    m.insert("allow_wildcards_in_identity_templates".into(), false.into());
    m.insert("allow_slashes_in_identity_templates".into(), false.into());
    m
}

/// Handles the policy and capability endpoints; `None` if `path` is not one of them.
pub(crate) async fn handle(
    core: &Core,
    u: &Unsealed,
    path: &str,
    req: &Request,
    caller: Option<&TokenEntry>,
) -> Option<Result<Response, CoreError>> {
    let path = path.trim_end_matches('/');
    let result = if path == "policy" || path == "policies/acl" {
        list(u, path, req).await
    } else if let Some(name) = path.strip_prefix("policy/") {
        one(u, name, req, "rules").await
    } else if let Some(name) = path.strip_prefix("policies/acl/") {
        one(u, name, req, "policy").await
    } else if matches!(
        path,
        "capabilities" | "capabilities-self" | "capabilities-accessor"
    ) {
        capabilities(core, u, path, req, caller).await
    } else if path == "internal/ui/resultant-acl" {
        resultant_acl(core, u, req, caller).await
    } else if path == "internal/ui/mounts" || path.starts_with("internal/ui/mounts/") {
        ui_mounts(core, u, path, req, caller).await
    } else {
        return None;
    };
    Some(result)
}

async fn list(u: &Unsealed, path: &str, req: &Request) -> Result<Response, CoreError> {
    if !matches!(req.operation, Operation::Read | Operation::List) {
        return Err(unsupported_op());
    }
    let names = u.policies.list().await?;
    let mut m = Map::new();
    m.insert("keys".into(), names.clone().into());
    if path == "policy" {
        m.insert("policies".into(), names.into());
    }
    Ok(Response::with_data(m))
}

async fn one(
    u: &Unsealed,
    name: &str,
    req: &Request,
    text_key: &str,
) -> Result<Response, CoreError> {
    let f = req.fields();
    let name = PolicyStore::normalize(name)?;
    match req.operation {
        Operation::Read => {
            if name == "root" {
                // The root policy has no text; Vault answers with an empty rule set.
                let mut m = Map::new();
                m.insert("name".into(), "root".into());
                m.insert(text_key.into(), "".into());
                return Ok(Response::with_data(m));
            }
            match u.policies.read(&name).await? {
                Some(p) => Ok(Response {
                    data: Some(policy_fields(&p, text_key)),
                    warnings: f.warnings(),
                    ..Default::default()
                }),
                None => Err(CoreError::client(LogicalError::not_found())),
            }
        }
        op if is_write(op) => {
            let mut warnings = Vec::new();
            let text = match f.string("policy")? {
                Some(t) => t,
                None => match f.string("rules")? {
                    Some(t) if text_key == "rules" => {
                        warnings
                            .push("'rules' is deprecated, please use 'policy' instead".to_owned());
                        t
                    }
                    _ => {
                        return Err(CoreError::invalid(
                            "'policy' parameter not supplied or empty",
                        ));
                    }
                },
            };
            if text.trim().is_empty() {
                return Err(CoreError::invalid(
                    "'policy' parameter not supplied or empty",
                ));
            }
            let cas = f.u64("cas")?;
            u.policies.write(&name, &text, cas).await?;
            warnings.extend(f.warnings());
            Ok(Response {
                warnings,
                ..Default::default()
            })
        }
        Operation::Delete => {
            u.policies.delete(&name).await?;
            Ok(Response::default())
        }
        _ => Err(unsupported_op()),
    }
}

async fn capabilities(
    core: &Core,
    u: &Unsealed,
    path: &str,
    req: &Request,
    caller: Option<&TokenEntry>,
) -> Result<Response, CoreError> {
    if !is_write(req.operation) {
        return Err(unsupported_op());
    }
    let f = req.fields();
    let mut paths = f.comma_list("paths")?.unwrap_or_default();
    if let Some(p) = f.string("path")? {
        paths.push(p);
    }
    if paths.is_empty() {
        return Err(CoreError::invalid("paths must be supplied"));
    }
    let entry = match path {
        "capabilities-self" => caller.cloned(),
        "capabilities" => {
            let token = f
                .string("token")?
                .ok_or_else(|| CoreError::invalid("missing token"))?;
            u.tokens
                .lookup(&token)
                .await
                .map_err(|e| CoreError::Client(e.into()))?
        }
        _ => {
            let accessor = f
                .string("accessor")?
                .ok_or_else(|| CoreError::invalid("missing accessor"))?;
            u.tokens
                .lookup_accessor(&accessor)
                .await
                .map_err(|e| CoreError::Client(e.into()))?
        }
    };
    let entry = entry.ok_or_else(|| CoreError::invalid("invalid token"))?;
    let acl = core.acl_for(u, &entry).await?;
    let mut m = Map::new();
    for p in &paths {
        let p = p.trim_start_matches('/');
        m.insert(p.to_owned(), acl.capabilities(p).into());
    }
    if paths.len() == 1
        && let Some(caps) = m.values().next().cloned()
    {
        m.insert("capabilities".into(), caps);
    }
    Ok(Response {
        data: Some(m),
        warnings: f.warnings(),
        ..Default::default()
    })
}

/// `sys/internal/ui/mounts[/<path>]`: unauthenticated route that checks any token itself.
async fn ui_mounts(
    core: &Core,
    u: &Unsealed,
    path: &str,
    req: &Request,
    caller: Option<&TokenEntry>,
) -> Result<Response, CoreError> {
    if req.operation != Operation::Read {
        return Err(unsupported_op());
    }
    let acl = match caller {
        Some(e) => Some(core.acl_for(u, e).await?),
        None => None,
    };
    let router = u.mounts.router();
    let sub = path
        .strip_prefix("internal/ui/mounts")
        .unwrap_or_default()
        .trim_start_matches('/');
    if sub.is_empty() {
        let mut secret = Map::new();
        let mut auth = Map::new();
        for r in router.routes() {
            let visible = match &acl {
                Some(acl) => acl.has_mount_access(&r.full_path),
                None => r.entry.config.listing_visibility == "unauth",
            };
            if !visible {
                continue;
            }
            let target = if r.kind == BackendKind::Secrets {
                &mut secret
            } else {
                &mut auth
            };
            target.insert(r.entry.path.clone(), r.entry.info(r.kind));
        }
        let mut m = Map::new();
        m.insert("secret".into(), Value::Object(secret));
        m.insert("auth".into(), Value::Object(auth));
        return Ok(Response::with_data(m));
    }
    let Some(acl) = acl else {
        return Err(CoreError::client(LogicalError::permission_denied()));
    };
    let preflight = || {
        CoreError::client(LogicalError::new(
            arca_logical::ErrorKind::PermissionDenied,
            format!(
                "preflight capability check returned 403, please ensure client's policies grant access to path \"{}/\"",
                sub.trim_end_matches('/')
            ),
        ))
    };
    let route = router.route(sub).ok_or_else(preflight)?;
    if !acl.has_mount_access(&route.full_path) {
        return Err(preflight());
    }
    let mut info = match route.entry.info(route.kind) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    info.insert("path".into(), route.full_path.clone().into());
    Ok(Response::with_data(info))
}

/// `sys/internal/ui/resultant-acl`: the caller's effective rules, templates resolved.
async fn resultant_acl(
    core: &Core,
    u: &Unsealed,
    req: &Request,
    caller: Option<&TokenEntry>,
) -> Result<Response, CoreError> {
    if req.operation != Operation::Read {
        return Err(unsupported_op());
    }
    let entry = caller.ok_or_else(|| CoreError::client(LogicalError::permission_denied()))?;
    let acl = core.acl_for(u, entry).await?;
    match acl.resultant_acl() {
        Value::Object(m) => Ok(Response::with_data(m)),
        _ => Err(CoreError::Corrupt("resultant acl")),
    }
}
