//! `sys/locked-users`: the names locked out by failed logins across every auth mount, and
//! unlocking them. Each auth method keeps its own lockout records and serves them on its
//! mount (`locked-users`, `locked-users/<name>/unlock`); this gathers them the way Vault
//! reports them.

use arca_logical::{BackendKind, LogicalError, Operation, Request, Response};
use serde_json::{Map, Value, json};

use crate::{CoreError, Unsealed};

/// Handles `sys/locked-users[/...]`; `None` for other paths.
pub(crate) async fn handle(
    u: &Unsealed,
    path: &str,
    req: &Request,
) -> Option<Result<Response, CoreError>> {
    let rest = path.strip_prefix("locked-users")?;
    let rest = rest.trim_matches('/');
    Some(if rest.is_empty() {
        list(u, req).await
    } else {
        unlock(u, rest, req).await
    })
}

fn mount_request(
    req: &Request,
    op: Operation,
    path: String,
    mount: &crate::mounts::Route,
) -> Request {
    let mut r = Request::new(req.id.clone(), op, path);
    r.mount_point = mount.full_path.clone();
    r.mount_type = mount.entry.mount_type.clone();
    r.mount_accessor = mount.entry.accessor.clone();
    r.caller = req.caller.clone();
    r.sudo = req.sudo;
    r
}

async fn list(u: &Unsealed, req: &Request) -> Result<Response, CoreError> {
    if req.operation != Operation::Read {
        return Err(CoreError::client(LogicalError::unsupported_operation()));
    }
    let mut accessors = Map::new();
    let mut total = 0u64;
    for route in u
        .mounts
        .router()
        .routes()
        .filter(|r| r.kind == BackendKind::Credential)
    {
        if route.full_path == "auth/token/" {
            continue;
        }
        let r = mount_request(req, Operation::Read, "locked-users".to_owned(), route);
        // Methods without lockout answer 404 (no such path): nothing locked there.
        let Ok(Some(resp)) = route.backend.handle(&r).await else {
            continue;
        };
        let names: Vec<Value> = resp
            .data
            .as_ref()
            .and_then(|d| d.get("keys"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if names.is_empty() {
            continue;
        }
        total += names.len() as u64;
        accessors.insert(
            route.entry.accessor.clone(),
            json!({"counts": names.len(), "alias_identifiers": names}),
        );
    }
    let mut data = Map::new();
    let by_namespace = if accessors.is_empty() {
        Value::Array(Vec::new())
    } else {
        json!([{"namespace_id": "root", "namespace_path": "", "counts": total, "mount_accessors": accessors}])
    };
    data.insert("by_namespace".into(), by_namespace);
    data.insert("total".into(), total.into());
    Ok(Response::with_data(data))
}

/// `sys/locked-users/<mount accessor>/unlock/<alias identifier>`.
async fn unlock(u: &Unsealed, rest: &str, req: &Request) -> Result<Response, CoreError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(CoreError::client(LogicalError::unsupported_operation()));
    }
    let Some((accessor, name)) = rest.split_once("/unlock/") else {
        return Err(CoreError::client(LogicalError::unsupported_path()));
    };
    if name.is_empty() || name.contains('/') {
        return Err(CoreError::invalid("invalid alias identifier"));
    }
    let router = u.mounts.router();
    let route = router
        .by_accessor(accessor)
        .filter(|r| r.kind == BackendKind::Credential)
        .ok_or_else(|| CoreError::invalid("mount accessor not found"))?;
    let r = mount_request(
        req,
        Operation::Update,
        format!("locked-users/{name}/unlock"),
        route,
    );
    route.backend.handle(&r).await.map_err(CoreError::Client)?;
    Ok(Response::default())
}
