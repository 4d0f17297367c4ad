//! `audit enable|disable|list` (the Vault/OpenBao commands, over `sys/audit`) and the
//! offline `audit verify` and `audit query`, which read audit log files with `arca-audit`
//! and need no server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use arca_client::{Body, Method};
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::format::table_output;
use super::ui::output_data;
use super::{Common, ensure_trailing_slash, expect_args, go_bool, kvargs, sanitize_path, start};

/// `arca audit ...`.
#[derive(Subcommand)]
// Parsed once per process; boxing every variant would only add noise.
#[allow(clippy::large_enum_variant)]
pub enum AuditCommand {
    /// Enables an audit device
    Enable(EnableArgs),
    /// Disables an audit device
    Disable(PathArgs),
    /// Lists enabled audit devices
    List(ListArgs),
    /// Verifies the hash chain and signed checkpoints of audit log files (offline)
    Verify(VerifyArgs),
    /// Finds requests in audit log files by path, accessor, entity or address (offline)
    Query(QueryArgs),
}

/// `audit enable`.
#[derive(Args)]
pub struct EnableArgs {
    #[command(flatten)]
    common: Common,
    /// Human-friendly description for the purpose of this audit device.
    #[arg(long = "description", value_name = "string")]
    description: Option<String>,
    /// Place where the audit device will be accessible (default: the type).
    #[arg(long = "path", value_name = "string")]
    path: Option<String>,
    /// Mark the audit device as a local-only device.
    #[arg(long = "local", num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    local: Option<bool>,
    /// TYPE [CONFIG K=V...]
    args: Vec<String>,
}

/// `audit disable`.
#[derive(Args)]
pub struct PathArgs {
    #[command(flatten)]
    common: Common,
    /// The device's path.
    args: Vec<String>,
}

/// `audit list`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    common: Common,
    #[arg(hide = true)]
    args: Vec<String>,
}

/// `audit verify`.
#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    common: Common,
    /// The checkpoint public key (`sys/audit` key export): a PEM file, or the key itself
    /// as PEM, base64 or hex.
    #[arg(long = "pubkey", value_name = "key")]
    pubkey: Option<String>,
    /// Log files, oldest first (audit.log.2 audit.log.1 audit.log).
    args: Vec<String>,
}

/// `audit query`.
#[derive(Args)]
pub struct QueryArgs {
    #[command(flatten)]
    common: Common,
    /// Request path, matched literally (a trailing * matches a prefix).
    #[arg(long = "path", value_name = "string")]
    path: Option<String>,
    /// Token accessor as it appears in the log (raw only with hmac_accessor=false).
    #[arg(long = "accessor", value_name = "string")]
    accessor: Option<String>,
    /// HMAC of the accessor from `arca write sys/audit-hash/<device> input=<accessor>`.
    #[arg(long = "accessor-hash", value_name = "hmac-sha256:...")]
    accessor_hash: Option<String>,
    /// Entity id.
    #[arg(long = "entity", value_name = "string")]
    entity: Option<String>,
    /// Client address.
    #[arg(long = "remote-address", value_name = "ip")]
    remote_address: Option<String>,
    /// Operation (read, update, list, delete, ...).
    #[arg(long = "operation", value_name = "string")]
    operation: Option<String>,
    /// Only records newer than this: a duration back from now (24h) or an RFC 3339 time.
    #[arg(long = "since", value_name = "duration|time")]
    since: Option<String>,
    /// Only records older than this: a duration back from now or an RFC 3339 time.
    #[arg(long = "until", value_name = "duration|time")]
    until: Option<String>,
    /// Log files.
    args: Vec<String>,
}

/// Runs an `audit` subcommand.
pub async fn run(c: AuditCommand) -> i32 {
    let r = match c {
        AuditCommand::Enable(a) => enable(a).await,
        AuditCommand::Disable(a) => disable(a).await,
        AuditCommand::List(a) => list(a).await,
        AuditCommand::Verify(a) => verify(a),
        AuditCommand::Query(a) => query(a),
    };
    r.unwrap_or_else(|code| code)
}

async fn enable(a: EnableArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common.clone(), false)?;
    let Some(kind) = a.args.first().map(|t| t.trim().to_owned()) else {
        ctx.ui.error(
            "Error enabling audit device: audit type missing. Valid types include 'file', 'socket' and 'syslog'.",
        );
        return Err(1);
    };
    let path = ensure_trailing_slash(a.path.as_deref().filter(|p| !p.is_empty()).unwrap_or(&kind));
    let rest = a.args.get(1..).unwrap_or_default().to_vec();
    let options = match kvargs::parse_strings(&rest, ctx.stdin()) {
        Ok(o) => o.into_iter().collect::<BTreeMap<String, String>>(),
        Err(e) => {
            ctx.ui.error(&format!("Failed to parse K=V data: {e}"));
            return Err(1);
        }
    };
    let client = ctx.client().map_err(|()| 2)?;
    let body = json!({
        "type": kind,
        "description": a.description.clone().unwrap_or_default(),
        "options": options,
        "local": a.local.unwrap_or(false),
    });
    if let Err(e) = client
        .call_json(
            Method::PUT,
            &format!("sys/audit/{path}"),
            &[],
            Body::Json(body),
        )
        .await
    {
        ctx.ui.error(&format!("Error enabling audit device: {e}"));
        return Err(2);
    }
    ctx.ui.output(&format!(
        "Success! Enabled the {kind} audit device at: {path}"
    ));
    Ok(0)
}

async fn disable(a: PathArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let path = ensure_trailing_slash(&sanitize_path(&a.args[0]));
    let client = ctx.client().map_err(|()| 2)?;
    if let Err(e) = client
        .call_json(
            Method::DELETE,
            &format!("sys/audit/{path}"),
            &[],
            Body::Empty,
        )
        .await
    {
        ctx.ui.error(&format!("Error disabling audit device: {e}"));
        return Err(2);
    }
    ctx.ui.output(&format!(
        "Success! Disabled audit device (if it was enabled) at: {path}"
    ));
    Ok(0)
}

/// `api.Audit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct AuditOut {
    #[serde(rename = "type")]
    kind: String,
    description: String,
    options: BTreeMap<String, String>,
    local: bool,
    path: String,
}

fn decode_audits(v: Value) -> Result<BTreeMap<String, AuditOut>, String> {
    let env = arca_client::parse_secret(v.to_string().as_bytes()).map_err(|e| e.to_string())?;
    let Some(Value::Object(data)) = env.and_then(|e| e.data) else {
        return Err("data from server response is empty".to_owned());
    };
    let mut out = BTreeMap::new();
    for (k, m) in data {
        if m.is_object() {
            let parsed: AuditOut = serde_json::from_value(m).map_err(|e| e.to_string())?;
            out.insert(k, parsed);
        }
    }
    Ok(out)
}

async fn list(a: ListArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 0, 0)?;
    let client = ctx.client().map_err(|()| 2)?;
    let audits = client
        .call_json(Method::GET, "sys/audit", &[], Body::Empty)
        .await
        .map_err(|e| e.to_string())
        .and_then(decode_audits)
        .map_err(|e| {
            ctx.ui.error(&format!("Error listing audits: {e}"));
            2
        })?;
    if !ctx.ui.is_table() {
        return Ok(output_data(&mut ctx.ui, &audits));
    }
    if audits.is_empty() {
        ctx.ui.output("No audit devices are enabled.");
        return Err(2);
    }
    let mut lines = Vec::new();
    if ctx.ui.detailed {
        lines.push("Path | Type | Description | Replication | Options".to_owned());
        for (path, d) in &audits {
            let opts: Vec<String> = d.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            lines.push(format!(
                "{path} | {} | {} | {} | {}",
                d.kind,
                d.description,
                if d.local { "local" } else { "replicated" },
                opts.join(" ")
            ));
        }
    } else {
        lines.push("Path | Type | Description".to_owned());
        for d in audits.values() {
            lines.push(format!("{} | {} | {}", d.path, d.kind, d.description));
        }
    }
    ctx.ui.output(&table_output(&lines, "|"));
    Ok(0)
}

fn verify(a: VerifyArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    if a.args.is_empty() {
        ctx.ui
            .error("Not enough arguments (expected at least 1 log file, got 0)");
        return Err(1);
    }
    // A readable file holds the key; anything else is the key itself.
    let key = a
        .pubkey
        .as_ref()
        .map(|k| std::fs::read_to_string(k).unwrap_or_else(|_| k.clone()));
    let files: Vec<PathBuf> = a.args.iter().map(PathBuf::from).collect();
    let report = match arca_audit::verify::verify_file(&files, key.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            ctx.ui.error(&format!("Error verifying audit log: {e}"));
            return Err(1);
        }
    };
    if ctx.ui.is_table() {
        if report.is_ok() {
            ctx.ui.output(&report.to_string());
        } else {
            ctx.ui.error(&report.to_string());
        }
    } else {
        let v = json!({
            "ok": report.is_ok(),
            "summary": report.to_string(),
            "lines": report.lines,
            "records": report.records,
            "checkpoints": report.checkpoints,
            "signatures_verified": report.signatures_verified,
            "first_seq": report.first_seq,
            "last_seq": report.last_seq,
            "lines_after_checkpoint": report.lines_after_checkpoint,
            "last_checkpoint": report.last_checkpoint.as_ref().map(|c| json!({
                "file": c.file.display().to_string(),
                "line": c.line,
                "seq": c.seq,
                "time": c.time,
                "verified": c.verified,
            })),
            "problem": report.problem.as_ref().map(|p| json!({
                "file": p.file.display().to_string(),
                "line": p.line,
                "kind": p.kind.to_string(),
                "detail": p.detail,
            })),
        });
        output_data(&mut ctx.ui, &v);
    }
    Ok(if report.is_ok() { 0 } else { 2 })
}

/// `24h` (back from now) or an RFC 3339 time.
fn parse_when(s: &str, now: SystemTime) -> Option<SystemTime> {
    if let Ok(d) = arca_types::duration::parse_duration(s) {
        return now.checked_sub(d);
    }
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let secs = t.unix_timestamp();
    let base = if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    Some(base + Duration::from_nanos(u64::from(t.nanosecond())))
}

fn query(a: QueryArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common.clone(), false)?;
    if a.args.is_empty() {
        ctx.ui
            .error("Not enough arguments (expected at least 1 log file, got 0)");
        return Err(1);
    }
    if a.accessor.is_some() && a.accessor_hash.is_some() {
        ctx.ui
            .error("-accessor and -accessor-hash cannot be used together");
        return Err(1);
    }
    let now = SystemTime::now();
    let mut when = |flag: &str, v: &Option<String>| -> Result<Option<SystemTime>, i32> {
        match v {
            None => Ok(None),
            Some(s) => parse_when(s, now).map(Some).ok_or_else(|| {
                ctx.ui.error(&format!(
                    "Invalid -{flag}: expected a duration (24h) or an RFC 3339 time"
                ));
                1
            }),
        }
    };
    let since = when("since", &a.since)?;
    let until = when("until", &a.until)?;
    let filter = arca_audit::query::Filter {
        path: a.path.clone(),
        accessor: a.accessor_hash.clone().or_else(|| a.accessor.clone()),
        entity: a.entity.clone(),
        remote_address: a.remote_address.clone(),
        operation: a.operation.clone(),
        since,
        until,
    };
    let files: Vec<PathBuf> = a.args.iter().map(PathBuf::from).collect();
    let hits = match arca_audit::query::query(&files, &filter) {
        Ok(h) => h,
        Err(e) => {
            ctx.ui.error(&format!("Error querying audit log: {e}"));
            return Err(1);
        }
    };
    if !ctx.ui.is_table() {
        return Ok(output_data(&mut ctx.ui, &hits));
    }
    if hits.is_empty() {
        ctx.ui.output("No matching requests found.");
        return Err(2);
    }
    let mut lines =
        vec!["Time | Operation | Path | Display Name | Entity ID | Remote Address | Outcome | Request ID".to_owned()];
    for h in &hits {
        lines.push(format!(
            "{} | {} | {} | {} | {} | {} | {} | {}",
            h.time,
            h.operation,
            h.path,
            h.display_name,
            h.entity_id,
            h.remote_address,
            h.outcome,
            h.request_id
        ));
    }
    ctx.ui.output(&table_output(&lines, "|"));
    Ok(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn when_accepts_durations_and_times() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100_000);
        assert_eq!(
            parse_when("24h", now),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(100_000 - 86_400))
        );
        assert_eq!(
            parse_when("1970-01-02T00:00:00Z", now),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(86_400))
        );
        assert_eq!(parse_when("yesterday", now), None);
    }
}
