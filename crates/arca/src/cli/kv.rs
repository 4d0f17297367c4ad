//! `kv get|put|patch|list|delete|undelete|destroy|rollback|enable-versioning` and
//! `kv metadata get|put|delete`, with KV version detection through
//! `GET sys/internal/ui/mounts/<path>` as Vault's CLI does it: 200 with
//! `options.version == "2"` means v2 (`data/`, `metadata/`, ... are inserted after the
//! mount path the server reports), 404 means v1, anything else is an error.

use std::collections::BTreeMap;

use arca_client::{Body, Client, Error, Method};
use arca_types::envelope::ResponseEnvelope;
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::format::go_v;
use super::logical::{output_list_result, report};
use super::ui::{
    FieldSource, Secret, output_data, output_secret, print_raw_field, print_warnings, table_map,
};
use super::{Common, Ctx, GoDuration, go_bool, go_duration, sanitize_path, start};

/// `arca kv ...`.
#[derive(Subcommand)]
// Parsed once per process; boxing every variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum KvCommand {
    /// Retrieves data from the KV store
    Get(KvGetArgs),
    /// Sets or updates data in the KV store
    Put(KvPutArgs),
    /// Sets or updates data in the KV store without overwriting
    Patch(KvPatchArgs),
    /// List data or secrets
    List(KvPathArgs),
    /// Deletes versions in the KV store
    Delete(KvVersionsArgs),
    /// Undeletes versions in the KV store
    Undelete(KvVersionsArgs),
    /// Permanently removes one or more versions in the KV store
    Destroy(KvVersionsArgs),
    /// Rolls back to a previous version of data
    Rollback(KvRollbackArgs),
    /// Turns on versioning for a KV store
    #[command(name = "enable-versioning")]
    EnableVersioning(KvPathArgs),
    /// Interact with Arca's Key-Value storage metadata
    #[command(subcommand)]
    Metadata(KvMetadataCommand),
}

/// `arca kv metadata ...`.
#[derive(Subcommand)]
pub enum KvMetadataCommand {
    /// Retrieves key metadata from the KV store
    Get(KvPathArgs),
    /// Sets or updates key settings in the KV store
    Put(KvMetadataPutArgs),
    /// Deletes all versions and metadata for a key in the KV store
    Delete(KvPathArgs),
}

/// A KV command taking a path and `-mount`.
#[derive(Args)]
pub struct KvPathArgs {
    #[command(flatten)]
    common: Common,
    /// Path where the KV backend is mounted; the argument is then the secret path.
    #[arg(long = "mount", value_name = "string")]
    mount: Option<String>,
    /// Path.
    args: Vec<String>,
}

/// `kv get`.
#[derive(Args)]
pub struct KvGetArgs {
    #[command(flatten)]
    common: Common,
    /// Version to return.
    #[arg(long = "version", value_name = "int", default_value_t = 0)]
    version: i64,
    /// Path where the KV backend is mounted.
    #[arg(long = "mount", value_name = "string")]
    mount: Option<String>,
    /// Path.
    args: Vec<String>,
}

/// `kv put`.
#[derive(Args)]
pub struct KvPutArgs {
    #[command(flatten)]
    common: Common,
    /// Check-and-set: 0 writes only if the key does not exist, N only if the current
    /// version is N.
    #[arg(long = "cas", value_name = "int", default_value_t = -1, allow_negative_numbers = true)]
    cas: i64,
    /// Path where the KV backend is mounted.
    #[arg(long = "mount", value_name = "string")]
    mount: Option<String>,
    /// Path, then data.
    args: Vec<String>,
}

/// `kv patch`.
#[derive(Args)]
pub struct KvPatchArgs {
    #[command(flatten)]
    common: Common,
    /// Check-and-set version (0: no check).
    #[arg(long = "cas", value_name = "int", default_value_t = 0)]
    cas: i64,
    /// `patch` (HTTP PATCH only) or `rw` (read, then write).
    #[arg(long = "method", value_name = "string")]
    method: Option<String>,
    /// Path where the KV backend is mounted.
    #[arg(long = "mount", value_name = "string")]
    mount: Option<String>,
    /// Key to remove from data (repeatable).
    #[arg(long = "remove-data", value_name = "string")]
    remove_data: Vec<String>,
    /// Path, then data.
    args: Vec<String>,
}

/// `kv delete|undelete|destroy`.
#[derive(Args)]
pub struct KvVersionsArgs {
    #[command(flatten)]
    common: Common,
    /// Version numbers (comma-separated, repeatable).
    #[arg(long = "versions", value_name = "string")]
    versions: Vec<String>,
    /// Path where the KV backend is mounted.
    #[arg(long = "mount", value_name = "string")]
    mount: Option<String>,
    /// Path.
    args: Vec<String>,
}

/// `kv rollback`.
#[derive(Args)]
pub struct KvRollbackArgs {
    #[command(flatten)]
    common: Common,
    /// Version to make current again.
    #[arg(long = "version", value_name = "int")]
    version: Option<i64>,
    /// Path where the KV backend is mounted.
    #[arg(long = "mount", value_name = "string")]
    mount: Option<String>,
    /// Path.
    args: Vec<String>,
}

/// `kv metadata put`.
#[derive(Args)]
pub struct KvMetadataPutArgs {
    #[command(flatten)]
    common: Common,
    /// Number of versions to keep.
    #[arg(long = "max-versions", value_name = "int", default_value_t = -1, allow_negative_numbers = true)]
    max_versions: i64,
    /// Require check-and-set on writes.
    #[arg(long = "cas-required", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    cas_required: Option<bool>,
    /// Time after which a version is deleted.
    #[arg(long = "delete-version-after", value_name = "duration", value_parser = go_duration)]
    delete_version_after: Option<GoDuration>,
    /// Custom metadata as key=value (repeatable).
    #[arg(long = "custom-metadata", value_name = "key=value")]
    custom_metadata: Vec<String>,
    /// Path where the KV backend is mounted.
    #[arg(long = "mount", value_name = "string")]
    mount: Option<String>,
    /// Path.
    args: Vec<String>,
}

/// Runs a `kv` subcommand.
pub async fn run(cmd: KvCommand) -> i32 {
    let r = match cmd {
        KvCommand::Get(a) => get(a).await,
        KvCommand::Put(a) => put(a).await,
        KvCommand::Patch(a) => patch(a).await,
        KvCommand::List(a) => list(a).await,
        KvCommand::Delete(a) => delete(a).await,
        KvCommand::Undelete(a) => versions_op(a, "undelete").await,
        KvCommand::Destroy(a) => versions_op(a, "destroy").await,
        KvCommand::Rollback(a) => rollback(a).await,
        KvCommand::EnableVersioning(a) => enable_versioning(a).await,
        KvCommand::Metadata(KvMetadataCommand::Get(a)) => metadata_get(a).await,
        KvCommand::Metadata(KvMetadataCommand::Put(a)) => metadata_put(a).await,
        KvCommand::Metadata(KvMetadataCommand::Delete(a)) => metadata_delete(a).await,
    };
    r.unwrap_or_else(|code| code)
}

// ---------------------------------------------------------------------------------------
// Helpers

/// Go's `path.Join` for relative paths: non-empty parts joined with `/`, then cleaned.
pub fn path_join(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    if joined.is_empty() {
        return String::new();
    }
    let rooted = joined.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_owned(),
        (false, false) => body,
    }
}

/// Vault's `addPrefixToKVPath` (without `skipIfExists`).
pub fn add_prefix_to_kv_path(path: &str, mount_path: &str, api_prefix: &str) -> String {
    if path == mount_path || path == mount_path.trim_end_matches('/') {
        return path_join(&[mount_path, api_prefix]);
    }
    let mut mount = mount_path.to_owned();
    let mut suffix = path.strip_prefix(mount.as_str()).unwrap_or(path).to_owned();
    while suffix == path {
        // The mount path may carry namespace segments the typed path lacks.
        let Some((_, rest)) = mount.split_once('/') else {
            break;
        };
        if rest.is_empty() {
            break;
        }
        mount = rest.trim_end_matches('/').to_owned();
        suffix = suffix
            .strip_prefix(mount.as_str())
            .unwrap_or(&suffix)
            .to_owned();
    }
    path_join(&[&mount, api_prefix, &suffix])
}

/// Vault's `padEqualSigns`.
fn pad_equal_signs(header: &str, total: usize) -> String {
    let mut eq = total as i64 - (header.len() as i64 + 2);
    if eq <= 0 {
        eq = 4;
    }
    if eq % 2 != 0 {
        eq += 1;
    }
    let side = "=".repeat(usize::try_from(eq / 2).unwrap_or(2));
    format!("{side} {header} {side}")
}

/// Vault's `getHeaderForMap`.
fn header_for_map(header: &str, data: &Map<String, Value>) -> String {
    let max_key = data.keys().map(String::len).max().unwrap_or(0);
    pad_equal_signs(header, max_key + 4 + 5)
}

/// Vault's `outputPath`.
fn output_path(ctx: &mut Ctx, path: &str, title: &str) {
    ctx.ui.info(&pad_equal_signs(title, path.len()));
    ctx.ui.info(path);
    ctx.ui.info("");
}

/// The mount a KV path lives on and whether it is version 2.
struct Kv {
    mount_path: String,
    v2: bool,
}

/// Vault's `kvPreflightVersionRequest`.
async fn preflight(client: &Client, path: &str) -> Result<Kv, Error> {
    let mut c = client.clone();
    c.set_wrap_ttl(None);
    let resp = c
        .send(
            Method::GET,
            &format!("sys/internal/ui/mounts/{path}"),
            &[],
            Body::Empty,
        )
        .await?;
    if resp.status == 404 {
        return Ok(Kv {
            mount_path: String::new(),
            v2: false,
        });
    }
    let resp = resp.error_for_status()?;
    let Some(env) = arca_client::parse_secret(&resp.body)? else {
        return Err(Error::Message(
            "nil response from pre-flight request".into(),
        ));
    };
    let data = env.data.unwrap_or(Value::Null);
    let mount_path = data
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let v2 = data
        .get("options")
        .and_then(|o| o.get("version"))
        .and_then(Value::as_str)
        == Some("2");
    Ok(Kv { mount_path, v2 })
}

/// Resolves the typed path (or `-mount` plus path) to the mount and the path to use:
/// with `-mount`, a v2 path is prefixed with the mount path.
async fn resolve(
    ctx: &mut Ctx,
    client: &Client,
    path: &str,
    mount: Option<&str>,
) -> Result<(Kv, String), i32> {
    let mount = mount.filter(|m| !m.is_empty());
    let target = match mount {
        Some(m) => sanitize_path(m),
        None => path.to_owned(),
    };
    let kv = preflight(client, &target).await.map_err(|e| {
        ctx.ui.error(&e.to_string());
        2
    })?;
    let partial = match mount {
        Some(_) if kv.v2 => path_join(&[&kv.mount_path, path]),
        _ => path.to_owned(),
    };
    Ok((kv, partial))
}

/// The v1 path: with `-mount`, joined to the mount path.
fn v1_path(kv: &Kv, partial: &str, mount: Option<&str>) -> String {
    if mount.is_some_and(|m| !m.is_empty()) {
        path_join(&[&kv.mount_path, partial])
    } else {
        partial.to_owned()
    }
}

fn one_arg(ctx: &mut Ctx, args: &[String]) -> Result<(), i32> {
    super::expect_args(&mut ctx.ui, args, 1, 1)
}

/// Vault's `kvReadRequest`: a read whose 404 with data (a deleted version) is returned.
async fn kv_read(
    client: &Client,
    path: &str,
    version: Option<i64>,
) -> Result<Option<Secret>, Error> {
    let q: Vec<(String, String)> = version
        .map(|v| vec![("version".to_owned(), v.to_string())])
        .unwrap_or_default();
    Ok(client.read(path, &q).await?.map(Secret::from_envelope))
}

fn put_output(ctx: &mut Ctx, full_path: &str, secret: Option<Secret>) -> i32 {
    let Some(secret) = secret else {
        if ctx.ui.is_table() {
            ctx.ui
                .info(&format!("Success! Data written to: {full_path}"));
        }
        return 0;
    };
    if let Some(f) = ctx.field().map(str::to_owned) {
        return print_raw_field(&mut ctx.ui, FieldSource::Secret(&secret), &f);
    }
    if secret.wrap_info.as_ref().is_some_and(|w| w.ttl != 0) {
        return output_secret(&mut ctx.ui, &secret);
    }
    if ctx.ui.is_table() {
        output_path(ctx, full_path, "Secret Path");
        let meta = secret.data.clone().unwrap_or_default();
        ctx.ui.info(&header_for_map("Metadata", &meta));
        table_map(&mut ctx.ui, &meta);
        return 0;
    }
    output_secret(&mut ctx.ui, &secret)
}

fn parse_kv_data(ctx: &mut Ctx, args: &[String]) -> Result<Option<Map<String, Value>>, i32> {
    let wants_stdin = args.iter().any(|a| a == "-" || a.ends_with("=-"));
    let mut buf = Vec::new();
    if wants_stdin {
        let _ = std::io::Read::read_to_end(ctx.stdin(), &mut buf);
    }
    super::kvargs::parse(args, &mut buf.as_slice()).map_err(|e| {
        ctx.ui.error(&format!("Failed to parse K=V data: {e}"));
        1
    })
}

/// `strutil.ParseStringSlice(v, ",")` over every `-versions` flag.
fn parse_versions(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .flat_map(|f| f.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Commands

async fn get(a: KvGetArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    one_arg(&mut ctx, &a.args)?;
    let client = ctx.client().map_err(|()| 2)?;
    let mount = a.mount.as_deref();
    let typed = a.args[0].trim_start_matches('/').to_owned();
    let (kv, partial) = resolve(&mut ctx, &client, &typed, mount).await?;
    let (full, version) = if kv.v2 {
        (
            add_prefix_to_kv_path(&partial, &kv.mount_path, "data"),
            (a.version > 0).then_some(a.version),
        )
    } else {
        (v1_path(&kv, &partial, mount), None)
    };
    let secret = match kv_read(&client, &full, version).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            ctx.ui.error(&format!("No value found at {full}"));
            return Err(2);
        }
        Err(e) => return Err(report(&mut ctx, &format!("Error reading {full}"), &e)),
    };
    if let Some(field) = ctx.field().map(str::to_owned) {
        if !kv.v2 {
            return Ok(print_raw_field(
                &mut ctx.ui,
                FieldSource::Secret(&secret),
                &field,
            ));
        }
        return match secret.get("data") {
            Some(Value::Object(inner)) => {
                if field == "data" && !inner.contains_key("data") {
                    Ok(print_raw_field(
                        &mut ctx.ui,
                        FieldSource::Secret(&secret),
                        &field,
                    ))
                } else {
                    Ok(print_raw_field(
                        &mut ctx.ui,
                        FieldSource::Map(inner),
                        &field,
                    ))
                }
            }
            Some(v) if !v.is_null() => {
                let empty = Map::new();
                Ok(print_raw_field(
                    &mut ctx.ui,
                    FieldSource::Map(&empty),
                    &field,
                ))
            }
            _ => {
                ctx.ui.error(&format!("No data found at {full}"));
                Err(2)
            }
        };
    }
    if secret.wrap_info.is_some() || !ctx.ui.is_table() {
        return Ok(output_secret(&mut ctx.ui, &secret));
    }
    print_warnings(&mut ctx.ui, &secret);
    if kv.v2 {
        output_path(&mut ctx, &full, "Secret Path");
    }
    if let Some(Value::Object(meta)) = secret.get("metadata") {
        ctx.ui.info(&header_for_map("Metadata", meta));
        table_map(&mut ctx.ui, meta);
        ctx.ui.info("");
    } else if let Some(meta) = secret.get("metadata").filter(|m| !m.is_null()) {
        // Vault's CLI would fail on a non-object; print it as a value instead.
        ctx.ui.info(&go_v(meta));
    }
    let data: Option<Map<String, Value>> = if kv.v2 {
        match secret.get("data") {
            Some(Value::Object(m)) => Some(m.clone()),
            _ => None,
        }
    } else {
        secret.data.clone()
    };
    if let Some(d) = data {
        ctx.ui.info(&header_for_map("Data", &d));
        table_map(&mut ctx.ui, &d);
    }
    Ok(0)
}

async fn put(a: KvPutArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    match a.args.len() {
        0 => {
            ctx.ui.error("Not enough arguments (expected >1, got 0)");
            return Err(1);
        }
        1 => {
            ctx.ui.error("Must supply data");
            return Err(1);
        }
        _ => {}
    }
    let client = ctx.client().map_err(|()| 2)?;
    let data = parse_kv_data(&mut ctx, &a.args[1..])?;
    let mount = a.mount.as_deref();
    let typed = sanitize_path(&a.args[0]);
    let (kv, partial) = resolve(&mut ctx, &client, &typed, mount).await?;
    let (full, body) = if kv.v2 {
        let mut options = Map::new();
        if a.cas > -1 {
            options.insert("cas".into(), json!(a.cas));
        }
        (
            add_prefix_to_kv_path(&partial, &kv.mount_path, "data"),
            json!({"data": data, "options": options}),
        )
    } else {
        (
            v1_path(&kv, &partial, mount),
            data.map(Value::Object).unwrap_or(Value::Null),
        )
    };
    match client.write(&full, Some(&body)).await {
        Ok(s) => Ok(put_output(&mut ctx, &full, s.map(Secret::from_envelope))),
        Err(e) => Err(report(
            &mut ctx,
            &format!("Error writing data to {full}"),
            &e,
        )),
    }
}

async fn patch(a: KvPatchArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    if a.args.is_empty() {
        ctx.ui.error("Not enough arguments (expected >1, got 0)");
        return Err(1);
    }
    if a.remove_data.is_empty() && a.args.len() == 1 {
        ctx.ui.error("Must supply data");
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    let mut new_data = parse_kv_data(&mut ctx, &a.args[1..])?.unwrap_or_default();
    let mount = a.mount.as_deref();
    let typed = sanitize_path(&a.args[0]);
    let (kv, partial) = resolve(&mut ctx, &client, &typed, mount).await?;
    if !kv.v2 {
        ctx.ui
            .error("K/V engine mount must be version 2 for patch support");
        return Err(2);
    }
    let full = add_prefix_to_kv_path(&partial, &kv.mount_path, "data");
    for k in &a.remove_data {
        // A null in a JSON merge patch removes the key.
        new_data.insert(k.clone(), Value::Null);
    }
    let secret = match a.method.as_deref().unwrap_or("") {
        "rw" => read_then_write(&mut ctx, &client, &full, new_data).await?,
        "patch" => merge_patch(&mut ctx, &client, &full, new_data, a.cas, false).await?,
        "" => merge_patch(&mut ctx, &client, &full, new_data, a.cas, true).await?,
        other => {
            ctx.ui.error(&format!(
                "Unsupported method provided to -method flag: {other}"
            ));
            return Err(2);
        }
    };
    let Some(secret) = secret else {
        return Ok(0);
    };
    if let Some(f) = ctx.field().map(str::to_owned) {
        return Ok(print_raw_field(
            &mut ctx.ui,
            FieldSource::Secret(&secret),
            &f,
        ));
    }
    if secret.wrap_info.as_ref().is_some_and(|w| w.ttl != 0) || !ctx.ui.is_table() {
        return Ok(output_secret(&mut ctx.ui, &secret));
    }
    output_path(&mut ctx, &full, "Secret Path");
    let meta = secret.data.clone().unwrap_or_default();
    ctx.ui.info(&header_for_map("Metadata", &meta));
    table_map(&mut ctx.ui, &meta);
    Ok(0)
}

/// Outcome of a patch step: `Ok(None)` when it printed everything already.
async fn read_then_write(
    ctx: &mut Ctx,
    client: &Client,
    path: &str,
    new_data: Map<String, Value>,
) -> Result<Option<Secret>, i32> {
    let secret = kv_read(client, path, None).await.map_err(|e| {
        ctx.ui
            .error(&format!("Error doing pre-read at {path}: {e}"));
        2
    })?;
    let Some(secret) = secret.filter(|s| s.data.is_some()) else {
        ctx.ui.error(&format!("No value found at {path}"));
        return Err(2);
    };
    let meta = object_field(ctx, &secret, "metadata", path, "patch")?;
    let mut data = object_field(ctx, &secret, "data", path, "patch")?;
    data.extend(new_data);
    let body = json!({"data": data, "options": {"cas": meta.get("version").cloned().unwrap_or(Value::Null)}});
    match client.write(path, Some(&body)).await {
        Err(e) => {
            ctx.ui.error(&format!("Error writing data to {path}: {e}"));
            Err(2)
        }
        Ok(answer) => patch_written(ctx, path, answer),
    }
}

/// The answer to a write of versions or metadata, as Vault's `kv` prints it (the data
/// of an answer, if any, without `-field`).
fn write_answer(
    ctx: &mut Ctx,
    path: &str,
    r: Result<Option<ResponseEnvelope>, Error>,
) -> Result<i32, i32> {
    match r {
        Err(e) => Err(report(ctx, &format!("Error writing data to {path}"), &e)),
        Ok(None) => {
            if ctx.ui.is_table() {
                ctx.ui.info(&format!("Success! Data written to: {path}"));
            }
            Ok(0)
        }
        Ok(Some(env)) => Ok(output_secret(&mut ctx.ui, &Secret::from_envelope(env))),
    }
}

/// A successful `kv patch` write (by PATCH or by read-then-write): `Some` secret for the
/// caller to print, `None` when it is already printed.
fn patch_written(
    ctx: &mut Ctx,
    path: &str,
    answer: Option<ResponseEnvelope>,
) -> Result<Option<Secret>, i32> {
    let Some(env) = answer else {
        if ctx.ui.is_table() {
            ctx.ui.info(&format!("Success! Data written to: {path}"));
        }
        return Ok(None);
    };
    let s = Secret::from_envelope(env);
    if let Some(f) = ctx.field().map(str::to_owned) {
        let code = print_raw_field(&mut ctx.ui, FieldSource::Secret(&s), &f);
        return if code == 0 { Ok(None) } else { Err(code) };
    }
    Ok(Some(s))
}

/// The object a KV v2 read holds under `key` (`data` or `metadata`), which `kv patch`
/// and `kv rollback` (`op`) need to exist.
fn object_field(
    ctx: &mut Ctx,
    secret: &Secret,
    key: &str,
    path: &str,
    op: &str,
) -> Result<Map<String, Value>, i32> {
    let label = if key == "data" { "Data" } else { "Metadata" };
    match secret.get(key) {
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(v) if !v.is_null() => {
            ctx.ui.error(&format!(
                "{label} found at {path} is not the expected type (JSON object)"
            ));
            Err(2)
        }
        _ => {
            ctx.ui.error(&format!(
                "No {key} found at {path}; {op} only works on existing data"
            ));
            Err(2)
        }
    }
}

async fn merge_patch(
    ctx: &mut Ctx,
    client: &Client,
    path: &str,
    new_data: Map<String, Value>,
    cas: i64,
    rw_fallback: bool,
) -> Result<Option<Secret>, i32> {
    let mut options = Map::new();
    if cas > 0 {
        options.insert("cas".into(), json!(cas));
    }
    let body = json!({"data": new_data.clone(), "options": options});
    match client.patch(path, Some(&body)).await {
        Err(e) => match e.status() {
            Some(405) if rw_fallback => read_then_write(ctx, client, path, new_data).await,
            Some(403) if rw_fallback => {
                ctx.ui.warn(&format!(
                    "Data was written to {path} but we recommend that you add the \"patch\" \
                     capability to your ACL policy in order to use HTTP PATCH in the future."
                ));
                read_then_write(ctx, client, path, new_data).await
            }
            _ => {
                ctx.ui.error(&format!("Error writing data to {path}: {e}"));
                Err(2)
            }
        },
        Ok(answer) => patch_written(ctx, path, answer),
    }
}

async fn list(a: KvPathArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    let args = match a.args.len() {
        0 if a.mount.as_deref().is_some_and(|m| !m.is_empty()) => vec![String::new()],
        0 => {
            ctx.ui.error("Not enough arguments (expected 1, got 0)");
            return Err(1);
        }
        1 => a.args.clone(),
        n => {
            ctx.ui
                .error(&format!("Too many arguments (expected 1, got {n})"));
            return Err(1);
        }
    };
    let client = ctx.client().map_err(|()| 2)?;
    let mount = a.mount.as_deref();
    let typed = sanitize_path(&args[0]);
    let (kv, partial) = resolve(&mut ctx, &client, &typed, mount).await?;
    let full = if kv.v2 {
        add_prefix_to_kv_path(&partial, &kv.mount_path, "metadata")
    } else {
        v1_path(&kv, &partial, mount)
    };
    let secret = match client.list(&full).await {
        Ok(s) => s.map(Secret::from_envelope),
        Err(e) => {
            ctx.ui.error(&format!("Error listing {full}: {e}"));
            return Err(2);
        }
    };
    Ok(output_list_result(&mut ctx, &full, secret, false))
}

async fn delete(a: KvVersionsArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    one_arg(&mut ctx, &a.args)?;
    let client = ctx.client().map_err(|()| 2)?;
    let mount = a.mount.as_deref();
    let typed = sanitize_path(&a.args[0]);
    let (kv, partial) = resolve(&mut ctx, &client, &typed, mount).await?;
    let (full, r) = if kv.v2 {
        let full = add_prefix_to_kv_path(&partial, &kv.mount_path, "data");
        let versions = parse_versions(&a.versions);
        let r = if versions.is_empty() {
            client.delete(&full, &[]).await
        } else {
            let p = add_prefix_to_kv_path(&partial, &kv.mount_path, "delete");
            client.write(&p, Some(&json!({"versions": versions}))).await
        };
        (full, r)
    } else {
        let full = v1_path(&kv, &partial, mount);
        let r = client.delete(&full, &[]).await;
        (full, r)
    };
    match r {
        Err(e) => Err(report(&mut ctx, &format!("Error deleting {full}"), &e)),
        Ok(None) => {
            if ctx.ui.is_table() {
                ctx.ui
                    .info(&format!("Success! Data deleted (if it existed) at: {full}"));
            }
            Ok(0)
        }
        Ok(Some(env)) => {
            let s = Secret::from_envelope(env);
            if let Some(f) = ctx.field().map(str::to_owned) {
                return Ok(print_raw_field(&mut ctx.ui, FieldSource::Secret(&s), &f));
            }
            Ok(output_secret(&mut ctx.ui, &s))
        }
    }
}

/// `kv undelete` and `kv destroy`.
async fn versions_op(a: KvVersionsArgs, op: &str) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    one_arg(&mut ctx, &a.args)?;
    if a.versions.is_empty() {
        ctx.ui.error(&format!(
            "No versions provided, use the \"-versions\" flag to specify the version to {op}."
        ));
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    let mount = a.mount.as_deref();
    let typed = sanitize_path(&a.args[0]);
    let (kv, partial) = resolve(&mut ctx, &client, &typed, mount).await?;
    if !kv.v2 {
        let name = if op == "undelete" {
            "Undelete"
        } else {
            "Destroy"
        };
        ctx.ui
            .error(&format!("{name} not supported on KV Version 1"));
        return Err(1);
    }
    let path = add_prefix_to_kv_path(&partial, &kv.mount_path, op);
    let body = json!({"versions": parse_versions(&a.versions)});
    let r = client.write(&path, Some(&body)).await;
    write_answer(&mut ctx, &path, r)
}

async fn rollback(a: KvRollbackArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    if a.args.len() != 1 {
        ctx.ui.error(&format!(
            "Invalid number of arguments (expected 1, got {})",
            a.args.len()
        ));
        return Err(1);
    }
    let Some(version) = a.version else {
        ctx.ui.error("Version flag must be specified");
        return Err(1);
    };
    if version <= 0 {
        ctx.ui
            .error(&format!("Invalid value {version} for the version flag"));
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    let mount = a.mount.as_deref();
    let typed = sanitize_path(&a.args[0]);
    let (kv, partial) = resolve(&mut ctx, &client, &typed, mount).await?;
    if !kv.v2 {
        ctx.ui
            .error("K/V engine mount must be version 2 for rollback support");
        return Err(2);
    }
    let full = add_prefix_to_kv_path(&partial, &kv.mount_path, "data");
    let pre_read = |ctx: &mut Ctx, r: Result<Option<Secret>, Error>| -> Result<Secret, i32> {
        let s = r.map_err(|e| {
            ctx.ui
                .error(&format!("Error doing pre-read at {full}: {e}"));
            2
        })?;
        let Some(s) = s.filter(|s| s.data.is_some()) else {
            ctx.ui.error(&format!("No value found at {full}"));
            return Err(2);
        };
        object_field(ctx, &s, "metadata", &full, "rollback")?;
        Ok(s)
    };
    let current = pre_read(&mut ctx, kv_read(&client, &full, None).await)?;
    let cas = current
        .get("metadata")
        .and_then(|m| m.get("version"))
        .cloned()
        .unwrap_or(Value::Null);
    let target = pre_read(&mut ctx, kv_read(&client, &full, Some(version)).await)?;
    let meta = target.get("metadata").cloned().unwrap_or(Value::Null);
    if meta
        .get("deletion_time")
        .and_then(Value::as_str)
        .is_some_and(|d| !d.is_empty())
    {
        ctx.ui
            .error("Cannot roll back to a version that has been deleted");
        return Err(2);
    }
    if meta.get("destroyed").and_then(Value::as_bool) == Some(true) {
        ctx.ui
            .error("Cannot roll back to a version that has been destroyed");
        return Err(2);
    }
    let data = object_field(&mut ctx, &target, "data", &full, "rollback")?;
    let body = json!({"data": data, "options": {"cas": cas}});
    match client.write(&full, Some(&body)).await {
        Err(e) => {
            ctx.ui.error(&format!("Error writing data to {full}: {e}"));
            Err(2)
        }
        Ok(None) => {
            if ctx.ui.is_table() {
                ctx.ui.info(&format!("Success! Data written to: {full}"));
            }
            Ok(0)
        }
        Ok(Some(env)) => {
            let s = Secret::from_envelope(env);
            if let Some(f) = ctx.field().map(str::to_owned) {
                return Ok(print_raw_field(&mut ctx.ui, FieldSource::Secret(&s), &f));
            }
            Ok(output_secret(&mut ctx.ui, &s))
        }
    }
}

async fn enable_versioning(a: KvPathArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    one_arg(&mut ctx, &a.args)?;
    let client = ctx.client().map_err(|()| 2)?;
    let mount_path = super::ensure_trailing_slash(&sanitize_path(&a.args[0]));
    let body = json!({"options": {"version": "2"}, "default_lease_ttl": "",
        "max_lease_ttl": "", "force_no_cache": false});
    client
        .call_json(
            Method::POST,
            &format!("sys/mounts/{mount_path}/tune"),
            &[],
            Body::Json(body),
        )
        .await
        .map_err(|e| {
            ctx.ui
                .error(&format!("Error tuning secrets engine {mount_path}: {e}"));
            2
        })?;
    ctx.ui.output(&format!(
        "Success! Tuned the secrets engine at: {mount_path}"
    ));
    Ok(0)
}

/// The `metadata/` path of a `kv metadata` command's argument, which must be on a KV v2
/// mount.
async fn metadata_path(
    ctx: &mut Ctx,
    client: &Client,
    arg: &str,
    mount: Option<&str>,
) -> Result<String, i32> {
    let typed = sanitize_path(arg);
    let (kv, partial) = resolve(ctx, client, &typed, mount).await?;
    if !kv.v2 {
        ctx.ui.error("Metadata not supported on KV Version 1");
        return Err(1);
    }
    Ok(add_prefix_to_kv_path(&partial, &kv.mount_path, "metadata"))
}

async fn metadata_get(a: KvPathArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    one_arg(&mut ctx, &a.args)?;
    let client = ctx.client().map_err(|()| 2)?;
    let full = metadata_path(&mut ctx, &client, &a.args[0], a.mount.as_deref()).await?;
    let mut secret = match client.read(&full, &[]).await {
        Ok(Some(env)) => Secret::from_envelope(env),
        Ok(None) => {
            ctx.ui.error(&format!("No value found at {full}"));
            return Err(2);
        }
        Err(e) => {
            ctx.ui.error(&format!("Error reading {full}: {e}"));
            return Err(2);
        }
    };
    if secret.wrap_info.is_some() || !ctx.ui.is_table() {
        return Ok(output_secret(&mut ctx.ui, &secret));
    }
    let versions = match secret.data.as_mut().and_then(|d| d.remove("versions")) {
        Some(Value::Object(v)) => v,
        _ => {
            ctx.ui.error(&format!("No value found at {full}"));
            output_secret(&mut ctx.ui, &secret);
            return Err(2);
        }
    };
    output_path(&mut ctx, &full, "Metadata Path");
    let data = secret.data.clone().unwrap_or_default();
    ctx.ui.info(&header_for_map("Metadata", &data));
    output_secret(&mut ctx.ui, &secret);
    let mut numbered: BTreeMap<i64, &Value> = BTreeMap::new();
    for (k, v) in &versions {
        match k.parse::<i64>() {
            Ok(n) => {
                numbered.insert(n, v);
            }
            Err(_) => {
                ctx.ui.error(&format!("Error parsing version {k}"));
                return Err(2);
            }
        }
    }
    for (n, v) in numbered {
        let empty = Map::new();
        let m = v.as_object().unwrap_or(&empty);
        ctx.ui
            .info(&format!("\n{}", header_for_map(&format!("Version {n}"), m)));
        output_data(&mut ctx.ui, v);
    }
    Ok(0)
}

async fn metadata_put(a: KvMetadataPutArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    one_arg(&mut ctx, &a.args)?;
    let mut custom = Map::new();
    for kv in &a.custom_metadata {
        let Some((k, v)) = kv.split_once('=') else {
            ctx.ui.error("missing = in KV pair for -custom-metadata");
            return Err(1);
        };
        custom.insert(k.to_owned(), Value::String(v.to_owned()));
    }
    let client = ctx.client().map_err(|()| 2)?;
    let full = metadata_path(&mut ctx, &client, &a.args[0], a.mount.as_deref()).await?;
    let mut data = Map::new();
    if a.max_versions >= 0 {
        data.insert("max_versions".into(), json!(a.max_versions));
    }
    if let Some(d) = a.delete_version_after.filter(|d| d.nanos >= 0) {
        data.insert("delete_version_after".into(), json!(d.go_string()));
    }
    if let Some(b) = a.cas_required {
        data.insert("cas_required".into(), json!(b));
    }
    if !custom.is_empty() {
        data.insert("custom_metadata".into(), Value::Object(custom));
    }
    let r = client.write(&full, Some(&Value::Object(data))).await;
    write_answer(&mut ctx, &full, r)
}

async fn metadata_delete(a: KvPathArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    one_arg(&mut ctx, &a.args)?;
    let client = ctx.client().map_err(|()| 2)?;
    let full = metadata_path(&mut ctx, &client, &a.args[0], a.mount.as_deref()).await?;
    if let Err(e) = client.delete(&full, &[]).await {
        return Err(report(&mut ctx, &format!("Error deleting {full}"), &e));
    }
    ctx.ui
        .info(&format!("Success! Data deleted (if it existed) at: {full}"));
    Ok(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn kv_paths_like_vault() {
        assert_eq!(
            add_prefix_to_kv_path("secret/app", "secret/", "data"),
            "secret/data/app"
        );
        assert_eq!(
            add_prefix_to_kv_path("secret", "secret/", "metadata"),
            "secret/metadata"
        );
        assert_eq!(
            add_prefix_to_kv_path("secret/", "secret/", "data"),
            "secret/data"
        );
        assert_eq!(
            add_prefix_to_kv_path("kvx/a/b", "kvx/", "data"),
            "kvx/data/a/b"
        );
        // A namespace-prefixed mount path whose namespace is not in the typed path.
        assert_eq!(
            add_prefix_to_kv_path("secret/x", "ns1/secret/", "data"),
            "secret/data/x"
        );
        assert_eq!(path_join(&["secret/", "a//b/"]), "secret/a/b");
        assert_eq!(path_join(&["", "foo"]), "foo");
        assert_eq!(path_join(&["", ""]), "");
    }

    #[test]
    fn headers() {
        assert_eq!(pad_equal_signs("Secret Path", 15), "= Secret Path =");
        let mut m = Map::new();
        m.insert("custom_metadata".into(), Value::Null);
        assert_eq!(header_for_map("Metadata", &m), "======= Metadata =======");
        let mut m = Map::new();
        m.insert("user".into(), Value::Null);
        m.insert("n".into(), Value::Null);
        assert_eq!(header_for_map("Data", &m), "==== Data ====");
        assert_eq!(
            parse_versions(&["1, 2".into(), "3".into()]),
            ["1", "2", "3"]
        );
    }
}
