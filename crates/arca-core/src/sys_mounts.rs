//! `sys/mounts`, `sys/auth`, `sys/remount` and `sys/internal/ui/mounts`.

use std::collections::BTreeMap;

use arca_logical::{
    BackendKind, FieldData, LogicalError, Operation, Request, Response, SystemView,
};
use serde_json::{Map, Value};

use crate::mounts::{MountConfig, MountEntry, Mounts, Route, system_entry};
use crate::{CoreError, Unsealed};

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

fn unsupported_op() -> CoreError {
    CoreError::client(LogicalError::unsupported_operation())
}

fn data(m: Map<String, Value>, f: &FieldData<'_>) -> Response {
    Response {
        data: Some(m),
        warnings: f.warnings(),
        ..Response::default()
    }
}

fn done(f: &FieldData<'_>) -> Response {
    Response {
        warnings: f.warnings(),
        ..Response::default()
    }
}

/// Decodes the mount `config` object (enable) or the top-level tune fields.
fn apply_config(
    cfg: &mut MountConfig,
    f: &FieldData<'_>,
    kind: BackendKind,
) -> Result<(), CoreError> {
    // The CLI sends every TTL it was not given as "": that means "leave it as it is".
    let ttl = |name: &str| -> Result<Option<u64>, CoreError> {
        match f.raw(name) {
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            _ => Ok(f.duration(name)?.map(|d| d.as_secs())),
        }
    };
    if let Some(d) = ttl("default_lease_ttl")? {
        cfg.default_lease_ttl = d;
    }
    if let Some(d) = ttl("max_lease_ttl")? {
        cfg.max_lease_ttl = d;
    }
    if let Some(b) = f.bool("force_no_cache")? {
        cfg.force_no_cache = b;
    }
    if let Some(v) = f.string("listing_visibility")? {
        if !matches!(v.as_str(), "" | "unauth" | "hidden") {
            return Err(CoreError::invalid(
                "listing_visibility must be \"unauth\", \"hidden\" or empty",
            ));
        }
        cfg.listing_visibility = v;
    }
    if let Some(v) = f.comma_list("audit_non_hmac_request_keys")? {
        cfg.audit_non_hmac_request_keys = v;
    }
    if let Some(v) = f.comma_list("audit_non_hmac_response_keys")? {
        cfg.audit_non_hmac_response_keys = v;
    }
    if let Some(v) = f.comma_list("passthrough_request_headers")? {
        cfg.passthrough_request_headers = v;
    }
    if let Some(v) = f.comma_list("allowed_response_headers")? {
        cfg.allowed_response_headers = v;
    }
    if let Some(v) = f.string("token_type")? {
        if kind != BackendKind::Credential && !v.is_empty() {
            return Err(CoreError::invalid(
                "token_type can only be set on auth mounts",
            ));
        }
        if !matches!(
            v.as_str(),
            "" | "default-service" | "default-batch" | "service" | "batch"
        ) {
            return Err(CoreError::invalid(format!("invalid token_type {v:?}")));
        }
        cfg.token_type = v;
    }
    if cfg.max_lease_ttl != 0 && cfg.default_lease_ttl > cfg.max_lease_ttl {
        return Err(CoreError::invalid(
            "default_lease_ttl cannot exceed max_lease_ttl",
        ));
    }
    f.mark_used(&[
        "options",
        "plugin_name",
        "plugin_version",
        "description",
        "audit_non_hmac_request_keys",
    ]);
    Ok(())
}

fn string_map(v: &Value) -> Result<BTreeMap<String, String>, CoreError> {
    arca_types::field::as_string_map(v)
        .map_err(|e| CoreError::invalid(format!("invalid options: {e}")))
}

fn mounts_of(u: &Unsealed, kind: BackendKind) -> Map<String, Value> {
    let mut m = Map::new();
    for (path, entry) in u.mounts.entries(kind) {
        m.insert(path, entry.info(kind));
    }
    if kind == BackendKind::Secrets {
        m.insert("sys/".into(), system_entry().info(kind));
    }
    m
}

fn effective_tune(route_system: &dyn SystemView, entry: &MountEntry) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "default_lease_ttl".into(),
        route_system.default_lease_ttl().as_secs().into(),
    );
    m.insert(
        "max_lease_ttl".into(),
        route_system.max_lease_ttl().as_secs().into(),
    );
    m.insert("force_no_cache".into(), entry.config.force_no_cache.into());
    m.insert("description".into(), entry.description.clone().into());
    m.insert(
        "options".into(),
        entry.options.as_ref().map_or(Value::Null, |o| {
            serde_json::to_value(o).unwrap_or(Value::Null)
        }),
    );
    if !entry.config.listing_visibility.is_empty() {
        m.insert(
            "listing_visibility".into(),
            entry.config.listing_visibility.clone().into(),
        );
    }
    if !entry.config.token_type.is_empty() {
        m.insert("token_type".into(), entry.config.token_type.clone().into());
    }
    m
}

fn find_route(mounts: &Mounts, kind: BackendKind, rel: &str) -> Option<std::sync::Arc<Route>> {
    let rel = format!("{}/", rel.trim_matches('/'));
    let full = match kind {
        BackendKind::Secrets => rel,
        BackendKind::Credential => format!("auth/{rel}"),
    };
    mounts
        .router()
        .routes()
        .find(|r| r.kind == kind && r.full_path == full)
        .cloned()
}

/// Handles `sys/mounts*`, `sys/auth*` and `sys/remount*`; `None` if the path is not one.
pub(crate) async fn handle(
    u: &Unsealed,
    path: &str,
    req: &Request,
) -> Option<Result<Response, CoreError>> {
    let (kind, rest) = if path == "mounts" || path.starts_with("mounts/") {
        (
            BackendKind::Secrets,
            path.strip_prefix("mounts").unwrap_or_default(),
        )
    } else if path == "auth" || path.starts_with("auth/") {
        (
            BackendKind::Credential,
            path.strip_prefix("auth").unwrap_or_default(),
        )
    } else if path == "remount" || path.starts_with("remount/") {
        return Some(remount(u, path, req).await);
    } else {
        return None;
    };
    let rest = rest.trim_start_matches('/');
    // `sys/mounts/auth/<path>/...` addresses the auth mount (`bao auth tune` uses it).
    let (kind, rest) = match rest.strip_prefix("auth/") {
        Some(r) if kind == BackendKind::Secrets => (BackendKind::Credential, r),
        _ => (kind, rest),
    };
    Some(mounts_endpoint(u, kind, rest, req).await)
}

async fn mounts_endpoint(
    u: &Unsealed,
    kind: BackendKind,
    rest: &str,
    req: &Request,
) -> Result<Response, CoreError> {
    let f = req.fields();
    let op = req.operation;
    if rest.is_empty() {
        return match op {
            Operation::Read => Ok(data(mounts_of(u, kind), &f)),
            _ => Err(unsupported_op()),
        };
    }
    if let Some(mount) = rest
        .strip_suffix("/tune")
        .or_else(|| rest.strip_suffix("/tune/"))
    {
        return tune(u, kind, mount, req, &f).await;
    }
    match op {
        Operation::Read => {
            let route = find_route(&u.mounts, kind, rest).ok_or_else(|| {
                let what = if kind == BackendKind::Secrets {
                    "secret engine"
                } else {
                    "auth"
                };
                CoreError::invalid(format!("No {what} mount at {}/", rest.trim_matches('/')))
            })?;
            match route.entry.info(kind) {
                Value::Object(m) => Ok(data(m, &f)),
                _ => Err(CoreError::Corrupt("mount info")),
            }
        }
        op if is_write(op) => {
            let mut mount_type = f
                .string("type")?
                .filter(|t| !t.is_empty())
                .ok_or_else(|| CoreError::invalid("missing or invalid type"))?;
            let mut options: BTreeMap<String, String> = match f.raw("options") {
                Some(v) => string_map(v)?,
                None => BTreeMap::new(),
            };
            if mount_type == "kv-v2" {
                mount_type = "kv".to_owned();
                options.insert("version".to_owned(), "2".to_owned());
            }
            let mut entry = MountEntry::new(rest, &mount_type, kind)?;
            entry.description = f.string("description")?.unwrap_or_default();
            entry.local = f.bool("local")?.unwrap_or(false);
            entry.seal_wrap = f.bool("seal_wrap")?.unwrap_or(false);
            entry.external_entropy_access = f.bool("external_entropy_access")?.unwrap_or(false);
            if let Some(Value::Object(cfg)) = f.raw("config") {
                let cf = FieldData::new(cfg);
                apply_config(&mut entry.config, &cf, kind)?;
                if let Some(v) = cf.raw("options") {
                    options.extend(string_map(v)?);
                }
            }
            f.mark_used(&["plugin_name", "plugin_version"]);
            entry.options = Some(options);
            u.mounts.enable(kind, rest, entry).await?;
            Ok(done(&f))
        }
        Operation::Delete => {
            match (kind, rest.trim_matches('/')) {
                (BackendKind::Secrets, "sys") => {
                    return Err(CoreError::invalid("cannot unmount \"sys/\""));
                }
                (BackendKind::Credential, "token") => {
                    return Err(CoreError::invalid(
                        "token credential backend cannot be disabled",
                    ));
                }
                _ => {}
            }
            if let Some(entry) = u.mounts.disable(kind, rest).await? {
                let full = match kind {
                    BackendKind::Secrets => entry.path.clone(),
                    BackendKind::Credential => format!("auth/{}", entry.path),
                };
                tracing::info!(path = %full, "mount disabled");
            }
            Ok(done(&f))
        }
        _ => Err(unsupported_op()),
    }
}

async fn tune(
    u: &Unsealed,
    kind: BackendKind,
    mount: &str,
    req: &Request,
    f: &FieldData<'_>,
) -> Result<Response, CoreError> {
    match req.operation {
        Operation::Read => {
            let route = find_route(&u.mounts, kind, mount).ok_or_else(|| {
                CoreError::invalid(format!(
                    "cannot fetch sysview for path \"{}/\"",
                    mount.trim_matches('/')
                ))
            })?;
            Ok(data(effective_tune(route.system.as_ref(), &route.entry), f))
        }
        op if is_write(op) => {
            let description = f.string("description")?;
            let options = match f.raw("options") {
                Some(v) => Some(string_map(v)?),
                None => None,
            };
            let mut cfg_probe = MountConfig::default();
            apply_config(&mut cfg_probe, f, kind)?;
            u.mounts
                .update(kind, mount, |entry| {
                    apply_config(&mut entry.config, f, kind)?;
                    if let Some(d) = description {
                        entry.description = d;
                    }
                    if let Some(new) = options {
                        let current = entry.options.get_or_insert_with(BTreeMap::new);
                        if entry.mount_type == "kv"
                            && let Some(v) = new.get("version")
                        {
                            let old = current.get("version").map(String::as_str).unwrap_or("1");
                            if v.as_str() < old {
                                return Err(CoreError::invalid(
                                    "cannot downgrade mount from KV version 2 to 1",
                                ));
                            }
                        }
                        current.extend(new);
                    }
                    Ok(())
                })
                .await?;
            Ok(done(f))
        }
        _ => Err(unsupported_op()),
    }
}

async fn remount(u: &Unsealed, path: &str, req: &Request) -> Result<Response, CoreError> {
    let f = req.fields();
    if let Some(id) = path.strip_prefix("remount/status/") {
        // Moves complete synchronously, so every known id reports success.
        let mut info = Map::new();
        info.insert("status".into(), "success".into());
        let mut m = Map::new();
        m.insert("migration_id".into(), id.into());
        m.insert("migration_info".into(), Value::Object(info));
        return Ok(data(m, &f));
    }
    if path != "remount" || !is_write(req.operation) {
        return Err(unsupported_op());
    }
    let from = f.string("from")?.ok_or_else(|| {
        CoreError::invalid("both 'from' and 'to' path must be specified as a string")
    })?;
    let to = f.string("to")?.ok_or_else(|| {
        CoreError::invalid("both 'from' and 'to' path must be specified as a string")
    })?;
    u.mounts.remount(&from, &to).await?;
    let mut m = Map::new();
    m.insert("migration_id".into(), arca_crypto::random_uuid()?.into());
    Ok(Response {
        data: Some(m),
        warnings: vec!["Mount move has been queued. Progress will be reported in Vault's server log, tagged with the returned migration_id".to_owned()],
        ..Response::default()
    })
}
