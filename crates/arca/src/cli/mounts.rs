//! `secrets enable|disable|list|tune|move`, `auth enable|disable|list|tune` and
//! `lease lookup|renew|revoke`.

use std::collections::BTreeMap;

use arca_client::{Body, Client, Method};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::format::{table_output, wrap_at_length};
use super::ui::{Secret, output_data, output_secret};
use super::{
    Common, Ctx, GoDuration, ensure_trailing_slash, expect_args, go_bool, go_duration,
    sanitize_path, start,
};

/// `arca secrets ...`.
#[derive(Subcommand)]
// Parsed once per process; boxing every variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum SecretsCommand {
    /// Enable a secrets engine
    Enable(EnableArgs),
    /// Disable a secret engine
    Disable(PathArgs),
    /// List enabled secrets engines
    List(ListMountsArgs),
    /// Tune a secrets engine configuration
    Tune(TuneArgs),
    /// Move a secrets engine to a new path
    Move(PathArgs),
}

/// `arca auth ...`.
#[derive(Subcommand)]
// Parsed once per process; boxing every variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum AuthCommand {
    /// Enables a new auth method
    Enable(EnableArgs),
    /// Disables an auth method
    Disable(PathArgs),
    /// Lists enabled auth methods
    List(ListMountsArgs),
    /// Tunes an auth method configuration
    Tune(TuneArgs),
}

/// `arca lease ...`.
#[derive(Subcommand)]
// Parsed once per process; boxing every variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum LeaseCommand {
    /// Lookup the lease of a secret
    Lookup(PathArgs),
    /// Renews the lease of a secret
    Renew(LeaseRenewArgs),
    /// Revokes leases and secrets
    Revoke(LeaseRevokeArgs),
}

/// A command with positional arguments only.
#[derive(Args)]
pub struct PathArgs {
    #[command(flatten)]
    common: Common,
    /// Path(s).
    args: Vec<String>,
}

/// `secrets list` / `auth list`.
#[derive(Args)]
pub struct ListMountsArgs {
    #[command(flatten)]
    common: Common,
    #[arg(hide = true)]
    args: Vec<String>,
}

/// `secrets enable` / `auth enable`.
#[derive(Args)]
pub struct EnableArgs {
    #[command(flatten)]
    common: Common,
    /// Human-friendly description.
    #[arg(long = "description", value_name = "string")]
    description: Option<String>,
    /// Where to enable it (default: the type).
    #[arg(long = "path", value_name = "string")]
    path: Option<String>,
    /// Default lease TTL.
    #[arg(long = "default-lease-ttl", value_name = "duration", value_parser = go_duration)]
    default_lease_ttl: Option<GoDuration>,
    /// Maximum lease TTL.
    #[arg(long = "max-lease-ttl", value_name = "duration", value_parser = go_duration)]
    max_lease_ttl: Option<GoDuration>,
    #[command(flatten)]
    config: MountConfigFlags,
    /// Disable caching.
    #[arg(long = "force-no-cache", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    force_no_cache: Option<bool>,
    /// Name of the plugin.
    #[arg(long = "plugin-name", value_name = "string")]
    plugin_name: Option<String>,
    /// Semantic version of the plugin.
    #[arg(long = "plugin-version", value_name = "string")]
    plugin_version: Option<String>,
    /// Mount option as key=value (repeatable).
    #[arg(long = "options", value_name = "key=value")]
    options: Vec<String>,
    /// Local-only mount (not replicated).
    #[arg(long = "local", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    local: Option<bool>,
    /// Seal-wrap critical values.
    #[arg(long = "seal-wrap", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    seal_wrap: Option<bool>,
    /// Allow access to the external entropy source.
    #[arg(long = "external-entropy-access", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    external_entropy_access: Option<bool>,
    /// Token type for auth methods (auth enable only).
    #[arg(long = "token-type", value_name = "string")]
    token_type: Option<String>,
    /// Engine version (sets options version=N).
    #[arg(long = "version", value_name = "int", default_value_t = 0)]
    version: i64,
    /// The engine or method type.
    args: Vec<String>,
}

/// The mount settings `enable` and `tune` take alike; each is sent only when given.
#[derive(Args)]
pub struct MountConfigFlags {
    /// Request key that audit devices will not HMAC (repeatable).
    #[arg(long = "audit-non-hmac-request-keys", value_name = "string")]
    audit_non_hmac_request_keys: Option<Vec<String>>,
    /// Response key that audit devices will not HMAC (repeatable).
    #[arg(long = "audit-non-hmac-response-keys", value_name = "string")]
    audit_non_hmac_response_keys: Option<Vec<String>>,
    /// Visibility in the UI listing endpoint ("unauth" or "hidden").
    #[arg(long = "listing-visibility", value_name = "string")]
    listing_visibility: Option<String>,
    /// Request header passed to the plugin (repeatable).
    #[arg(long = "passthrough-request-headers", value_name = "string")]
    passthrough_request_headers: Option<Vec<String>>,
    /// Response header the plugin may set (repeatable).
    #[arg(long = "allowed-response-headers", value_name = "string")]
    allowed_response_headers: Option<Vec<String>>,
}

impl MountConfigFlags {
    /// Adds the flags that were given to a mount `config` (or tune) body.
    fn insert_into(&self, m: &mut Map<String, Value>) {
        insert_opt(
            m,
            "audit_non_hmac_request_keys",
            self.audit_non_hmac_request_keys.clone(),
        );
        insert_opt(
            m,
            "audit_non_hmac_response_keys",
            self.audit_non_hmac_response_keys.clone(),
        );
        insert_opt(m, "listing_visibility", self.listing_visibility.clone());
        insert_opt(
            m,
            "passthrough_request_headers",
            self.passthrough_request_headers.clone(),
        );
        insert_opt(
            m,
            "allowed_response_headers",
            self.allowed_response_headers.clone(),
        );
    }
}

/// `secrets tune` / `auth tune`.
#[derive(Args)]
pub struct TuneArgs {
    #[command(flatten)]
    common: Common,
    /// New description.
    #[arg(long = "description", value_name = "string")]
    description: Option<String>,
    /// Default lease TTL ("system" resets it).
    #[arg(long = "default-lease-ttl", value_name = "duration", value_parser = go_duration)]
    default_lease_ttl: Option<GoDuration>,
    /// Maximum lease TTL ("system" resets it).
    #[arg(long = "max-lease-ttl", value_name = "duration", value_parser = go_duration)]
    max_lease_ttl: Option<GoDuration>,
    #[command(flatten)]
    config: MountConfigFlags,
    /// Mount option as key=value (repeatable).
    #[arg(long = "options", value_name = "key=value")]
    options: Vec<String>,
    /// Engine version (sets options version=N).
    #[arg(long = "version", value_name = "int", default_value_t = 0)]
    version: i64,
    /// Semantic version of the plugin.
    #[arg(long = "plugin-version", value_name = "string")]
    plugin_version: Option<String>,
    /// Token type (auth tune only).
    #[arg(long = "token-type", value_name = "string")]
    token_type: Option<String>,
    /// The mount path.
    args: Vec<String>,
}

/// `lease renew`.
#[derive(Args)]
pub struct LeaseRenewArgs {
    #[command(flatten)]
    common: Common,
    /// Requested extension.
    #[arg(long = "increment", value_name = "duration", value_parser = go_duration)]
    increment: Option<GoDuration>,
    /// Lease id.
    args: Vec<String>,
}

/// `lease revoke`.
#[derive(Args)]
pub struct LeaseRevokeArgs {
    #[command(flatten)]
    common: Common,
    /// Delete leases from storage without revoking their secrets (needs -prefix).
    #[arg(long = "force", short = 'f', num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    force: Option<bool>,
    /// Treat the id as a prefix.
    #[arg(long = "prefix", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    prefix: Option<bool>,
    /// Revoke synchronously.
    #[arg(long = "sync", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    sync: Option<bool>,
    /// Lease id or prefix.
    args: Vec<String>,
}

/// Runs a `secrets` subcommand.
pub async fn run_secrets(c: SecretsCommand) -> i32 {
    let r = match c {
        SecretsCommand::Enable(a) => enable(a, false).await,
        SecretsCommand::Disable(a) => disable(a, false).await,
        SecretsCommand::List(a) => list(a, false).await,
        SecretsCommand::Tune(a) => tune(a, false).await,
        SecretsCommand::Move(a) => move_mount(a).await,
    };
    r.unwrap_or_else(|code| code)
}

/// Runs an `auth` subcommand.
pub async fn run_auth(c: AuthCommand) -> i32 {
    let r = match c {
        AuthCommand::Enable(a) => enable(a, true).await,
        AuthCommand::Disable(a) => disable(a, true).await,
        AuthCommand::List(a) => list(a, true).await,
        AuthCommand::Tune(a) => tune(a, true).await,
    };
    r.unwrap_or_else(|code| code)
}

/// Runs a `lease` subcommand.
pub async fn run_lease(c: LeaseCommand) -> i32 {
    let r = match c {
        LeaseCommand::Lookup(a) => lease_lookup(a).await,
        LeaseCommand::Renew(a) => lease_renew(a).await,
        LeaseCommand::Revoke(a) => lease_revoke(a).await,
    };
    r.unwrap_or_else(|code| code)
}

fn string_map(
    ctx: &mut Ctx,
    pairs: &[String],
    flag: &str,
) -> Result<Option<BTreeMap<String, String>>, i32> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut m = BTreeMap::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            ctx.ui.error(&format!("missing = in KV pair for -{flag}"));
            return Err(1);
        };
        m.insert(k.to_owned(), v.to_owned());
    }
    Ok(Some(m))
}

fn insert_opt<T: Serialize>(m: &mut Map<String, Value>, k: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(k.to_owned(), json!(v));
    }
}

/// What a mount is called in messages.
fn kind_name(auth: bool) -> &'static str {
    if auth {
        "auth method"
    } else {
        "secrets engine"
    }
}

async fn enable(a: EnableArgs, auth: bool) -> Result<i32, i32> {
    let mut ctx = start(a.common.clone(), false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let mut options = string_map(&mut ctx, &a.options, "options")?;
    let client = ctx.client().map_err(|()| 2)?;
    let plugin_name = a.plugin_name.clone().unwrap_or_default();
    let mut kind = a.args[0].trim().to_owned();
    if kind == "plugin" {
        kind.clone_from(&plugin_name);
    }
    let mut path = a.path.clone().unwrap_or_default();
    if path.is_empty() {
        path = if kind == "plugin" {
            plugin_name.clone()
        } else {
            kind.clone()
        };
    }
    let path = ensure_trailing_slash(&path);
    if a.version > 0 {
        options
            .get_or_insert_with(BTreeMap::new)
            .insert("version".to_owned(), a.version.to_string());
    }
    let mut config = Map::new();
    config.insert("options".into(), Value::Null);
    config.insert(
        "default_lease_ttl".into(),
        json!(a.default_lease_ttl.unwrap_or_default().go_string()),
    );
    config.insert(
        "max_lease_ttl".into(),
        json!(a.max_lease_ttl.unwrap_or_default().go_string()),
    );
    config.insert(
        "force_no_cache".into(),
        json!(a.force_no_cache.unwrap_or(false)),
    );
    a.config.insert_into(&mut config);
    insert_opt(&mut config, "plugin_version", a.plugin_version.clone());
    if auth {
        insert_opt(&mut config, "token_type", a.token_type.clone());
    }
    let body = json!({
        "type": kind,
        "description": a.description.clone().unwrap_or_default(),
        "config": config,
        "local": a.local.unwrap_or(false),
        "seal_wrap": a.seal_wrap.unwrap_or(false),
        "external_entropy_access": a.external_entropy_access.unwrap_or(false),
        "options": options,
    });
    let endpoint = if auth {
        format!("sys/auth/{path}")
    } else {
        format!("sys/mounts/{path}")
    };
    if let Err(e) = client
        .call_json(Method::POST, &endpoint, &[], Body::Json(body))
        .await
    {
        if auth {
            ctx.ui.error(&format!("Error enabling {kind} auth: {e}"));
        } else {
            ctx.ui.error(&format!("Error enabling: {e}"));
        }
        return Err(2);
    }
    let mut thing = if auth {
        format!("{kind} auth method")
    } else {
        format!("{kind} secrets engine")
    };
    if kind == "plugin" {
        thing = format!("{plugin_name} plugin");
    }
    if let Some(v) = a.plugin_version.as_ref().filter(|v| !v.is_empty()) {
        thing.push_str(&format!(" version {v}"));
    }
    if auth {
        ctx.ui
            .output(&format!("Success! Enabled {thing} at: {path}"));
    } else {
        ctx.ui
            .output(&format!("Success! Enabled the {thing} at: {path}"));
    }
    Ok(0)
}

async fn disable(a: PathArgs, auth: bool) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let client = ctx.client().map_err(|()| 2)?;
    let path = ensure_trailing_slash(&sanitize_path(&a.args[0]));
    let endpoint = if auth {
        format!("sys/auth/{path}")
    } else {
        format!("sys/mounts/{path}")
    };
    if let Err(e) = client
        .call_json(Method::DELETE, &endpoint, &[], Body::Empty)
        .await
    {
        ctx.ui.error(&format!(
            "Error disabling {} at {path}: {e}",
            kind_name(auth)
        ));
        return Err(2);
    }
    let what = kind_name(auth);
    ctx.ui.output(&format!(
        "Success! Disabled the {what} (if it existed) at: {path}"
    ));
    Ok(0)
}

/// `api.MountConfigOutput`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct MountConfigOut {
    default_lease_ttl: i64,
    max_lease_ttl: i64,
    force_no_cache: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    audit_non_hmac_request_keys: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    audit_non_hmac_response_keys: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    listing_visibility: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    passthrough_request_headers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_response_headers: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    token_type: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed_managed_keys: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_lockout_config: Option<Value>,
}

/// `api.MountOutput`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct MountOut {
    uuid: String,
    #[serde(rename = "type")]
    kind: String,
    description: String,
    accessor: String,
    config: MountConfigOut,
    options: Option<BTreeMap<String, String>>,
    local: bool,
    seal_wrap: bool,
    external_entropy_access: bool,
    plugin_version: String,
    running_plugin_version: String,
    running_sha256: String,
    deprecation_status: String,
}

fn decode_mounts(v: Value) -> Result<BTreeMap<String, MountOut>, String> {
    let env = arca_client::parse_secret(v.to_string().as_bytes()).map_err(|e| e.to_string())?;
    let Some(Value::Object(data)) = env.and_then(|e| e.data) else {
        return Err("data from server response is empty".to_owned());
    };
    let mut out = BTreeMap::new();
    for (k, m) in data {
        if let Value::Object(_) = &m {
            let mut m = m;
            // Go decodes numbers and nulls leniently; a null options map stays null.
            if let Some(cfg) = m.get_mut("config").and_then(Value::as_object_mut) {
                cfg.retain(|_, v| !v.is_null());
            }
            let parsed: MountOut = serde_json::from_value(m).map_err(|e| e.to_string())?;
            out.insert(k, parsed);
        }
    }
    Ok(out)
}

fn calc_ttl(kind: &str, ttl: i64) -> String {
    match (kind, ttl) {
        ("system" | "cubbyhole", _) => String::new(),
        (_, 0) => "system".to_owned(),
        (_, t) => t.to_string(),
    }
}

fn go_string_map(m: Option<&BTreeMap<String, String>>) -> String {
    let items: Vec<String> = m
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect();
    format!("map[{}]", items.join(" "))
}

async fn list(a: ListMountsArgs, auth: bool) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 0, 0)?;
    let client = ctx.client().map_err(|()| 2)?;
    let endpoint = if auth { "sys/auth" } else { "sys/mounts" };
    let what = if auth {
        "enabled authentications"
    } else {
        "secrets engines"
    };
    let v = client
        .call_json(Method::GET, endpoint, &[], Body::Empty)
        .await
        .map_err(|e| {
            ctx.ui.error(&format!("Error listing {what}: {e}"));
            2
        })?;
    let mounts = decode_mounts(v).map_err(|e| {
        ctx.ui.error(&format!("Error listing {what}: {e}"));
        2
    })?;
    if !ctx.ui.is_table() {
        return Ok(output_data(&mut ctx.ui, &mounts));
    }
    let mut out = Vec::new();
    if ctx.ui.detailed {
        let col = if auth { "Token Type" } else { "Force No Cache" };
        out.push(format!("Path | Plugin | Accessor | Default TTL | Max TTL | {col} | Replication | Seal Wrap | External Entropy Access | Options | Description | UUID | Version | Running Version | Running SHA256 | Deprecation Status"));
        for (path, m) in &mounts {
            let sixth = if auth {
                m.config.token_type.clone()
            } else {
                m.config.force_no_cache.to_string()
            };
            out.push(format!(
                "{path} | {} | {} | {} | {} | {sixth} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {}",
                m.kind,
                m.accessor,
                calc_ttl(&m.kind, m.config.default_lease_ttl),
                calc_ttl(&m.kind, m.config.max_lease_ttl),
                if m.local { "local" } else { "replicated" },
                m.seal_wrap,
                m.external_entropy_access,
                go_string_map(m.options.as_ref()),
                m.description,
                m.uuid,
                m.plugin_version,
                m.running_plugin_version,
                m.running_sha256,
                m.deprecation_status,
            ));
        }
    } else if auth {
        out.push("Path | Type | Accessor | Description | Version".to_owned());
        for (path, m) in &mounts {
            out.push(format!(
                "{path} | {} | {} | {} | {}",
                m.kind, m.accessor, m.description, m.plugin_version
            ));
        }
    } else {
        out.push("Path | Type | Accessor | Description".to_owned());
        for (path, m) in &mounts {
            out.push(format!(
                "{path} | {} | {} | {}",
                m.kind, m.accessor, m.description
            ));
        }
    }
    let t = table_output(&out, "|");
    ctx.ui.output(&t);
    Ok(0)
}

async fn tune(a: TuneArgs, auth: bool) -> Result<i32, i32> {
    let mut ctx = start(a.common.clone(), false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let client = ctx.client().map_err(|()| 2)?;
    let mut options = string_map(&mut ctx, &a.options, "options")?;
    if a.version > 0 {
        options
            .get_or_insert_with(BTreeMap::new)
            .insert("version".to_owned(), a.version.to_string());
    }
    let mut body = Map::new();
    body.insert("options".into(), json!(options));
    body.insert(
        "default_lease_ttl".into(),
        json!(a.default_lease_ttl.unwrap_or_default().to_api()),
    );
    body.insert(
        "max_lease_ttl".into(),
        json!(a.max_lease_ttl.unwrap_or_default().to_api()),
    );
    body.insert("force_no_cache".into(), json!(false));
    insert_opt(&mut body, "description", a.description.clone());
    a.config.insert_into(&mut body);
    insert_opt(&mut body, "plugin_version", a.plugin_version.clone());
    if auth {
        insert_opt(&mut body, "token_type", a.token_type.clone());
    }
    let mount_path = ensure_trailing_slash(&sanitize_path(&a.args[0]));
    let endpoint = if auth {
        format!("sys/mounts/auth/{mount_path}/tune")
    } else {
        format!("sys/mounts/{mount_path}/tune")
    };
    if let Err(e) = client
        .call_json(
            Method::POST,
            &endpoint,
            &[],
            Body::Json(Value::Object(body)),
        )
        .await
    {
        ctx.ui.error(&format!(
            "Error tuning {} {mount_path}: {e}",
            kind_name(auth)
        ));
        return Err(2);
    }
    let what = kind_name(auth);
    ctx.ui
        .output(&format!("Success! Tuned the {what} at: {mount_path}"));
    Ok(0)
}

async fn move_mount(a: PathArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 2, 2)?;
    let source = ensure_trailing_slash(&a.args[0]);
    let dest = ensure_trailing_slash(&a.args[1]);
    let client = ctx.client().map_err(|()| 2)?;
    let v = client
        .call_json(
            Method::POST,
            "sys/remount",
            &[],
            Body::Json(json!({"from": source, "to": dest})),
        )
        .await
        .map_err(|e| {
            ctx.ui.error(&format!(
                "Error moving secrets engine {source} to {dest}: {e}"
            ));
            2
        })?;
    let id = v
        .get("data")
        .and_then(|d| d.get("migration_id"))
        .or_else(|| v.get("migration_id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    ctx.ui.output(&format!(
        "Started moving secrets engine {source} to {dest}, with migration ID {id}"
    ));
    loop {
        let st = client
            .call_json(
                Method::GET,
                &format!("sys/remount/status/{id}"),
                &[],
                Body::Empty,
            )
            .await
            .map_err(|e| {
                ctx.ui.error(&format!(
                    "Error checking migration status of secrets engine {source} to {dest}: {e}"
                ));
                2
            })?;
        let status = st
            .get("data")
            .and_then(|d| d.get("migration_info"))
            .and_then(|i| i.get("status"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        match status {
            "success" => {
                ctx.ui.output(&format!(
                    "Success! Finished moving secrets engine {source} to {dest}, with migration ID {id}"
                ));
                return Ok(0);
            }
            "failure" => {
                ctx.ui.error(&format!(
                    "Failure! Error encountered moving secrets engine {source} to {dest}, with migration ID {id}"
                ));
                return Ok(0);
            }
            _ => {
                ctx.ui.output(&format!(
                    "Waiting for terminal status in migration of secrets engine {source} to {dest}, with migration ID {id}"
                ));
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    }
}

async fn lease_call(
    client: &Client,
    path: &str,
    body: Value,
) -> Result<Secret, arca_client::Error> {
    let r = client
        .send(Method::PUT, path, &[], Body::Json(body))
        .await?
        .error_for_status()?;
    Ok(arca_client::parse_secret(&r.body)?
        .map(Secret::from_envelope)
        .unwrap_or_default())
}

fn lease_id(ctx: &mut Ctx, args: &[String], expected: &str) -> Result<String, i32> {
    match args {
        [] => {
            ctx.ui.error("Missing ID!");
            Err(1)
        }
        [id] => Ok(id.trim().to_owned()),
        more => {
            ctx.ui.error(&format!(
                "Too many arguments (expected {expected}, got {})",
                more.len()
            ));
            Err(1)
        }
    }
}

async fn lease_lookup(a: PathArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    let id = lease_id(&mut ctx, &a.args, "1")?;
    let client = ctx.client().map_err(|()| 2)?;
    let s = lease_call(&client, "sys/leases/lookup", json!({"lease_id": id}))
        .await
        .map_err(|e| {
            ctx.ui
                .error(&format!("error looking up lease id {id}: {e}"));
            2
        })?;
    Ok(output_secret(&mut ctx.ui, &s))
}

async fn lease_renew(a: LeaseRenewArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    let id = lease_id(&mut ctx, &a.args, "1-2")?;
    let client = ctx.client().map_err(|()| 2)?;
    let inc = a.increment.unwrap_or_default().secs().max(0);
    let s = lease_call(
        &client,
        "sys/leases/renew",
        json!({"increment": inc, "lease_id": id}),
    )
    .await
    .map_err(|e| {
        ctx.ui.error(&format!("Error renewing {id}: {e}"));
        2
    })?;
    Ok(output_secret(&mut ctx.ui, &s))
}

async fn lease_revoke(a: LeaseRevokeArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let (force, prefix, sync) = (
        a.force == Some(true),
        a.prefix == Some(true),
        a.sync == Some(true),
    );
    if force && !prefix {
        ctx.ui
            .error("Specifying -force requires also specifying -prefix");
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    let id = a.args[0].trim().to_owned();
    if force {
        ctx.ui.warn(&wrap_at_length(
            "Warning! Force-removing leases can cause Arca to become out of sync with \
             secret engines!",
        ));
    }
    let (path, body) = if force {
        (format!("sys/leases/revoke-force/{id}"), Body::Empty)
    } else if prefix {
        (
            format!("sys/leases/revoke-prefix/{id}"),
            Body::Json(json!({"sync": sync})),
        )
    } else {
        (
            format!("sys/leases/revoke/{id}"),
            Body::Json(json!({"sync": sync})),
        )
    };
    if let Err(e) = client.call_json(Method::PUT, &path, &[], body).await {
        let msg = if force {
            format!("Error force revoking leases with prefix {id}: {e}")
        } else if prefix {
            format!("Error revoking leases with prefix {id}: {e}")
        } else {
            format!("Error revoking lease {id}: {e}")
        };
        ctx.ui.error(&msg);
        return Err(2);
    }
    if force {
        ctx.ui.output(&format!(
            "Success! Force revoked any leases with prefix: {id}"
        ));
    } else if sync && prefix {
        ctx.ui
            .output(&format!("Success! Revoked any leases with prefix: {id}"));
    } else if sync {
        ctx.ui.output(&format!("Success! Revoked lease: {id}"));
    } else {
        ctx.ui
            .output("All revocation operations queued successfully!");
    }
    Ok(0)
}
