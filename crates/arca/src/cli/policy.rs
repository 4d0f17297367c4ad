//! `policy list|read|write|delete|fmt`.

use arca_client::{Body, Method};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::ui::output_data;
use super::{Common, expect_args, start};

/// `arca policy ...`.
#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Lists the installed policies
    List(PolicyArgs),
    /// Prints the contents of a policy
    Read(PolicyArgs),
    /// Uploads a named policy from a file
    Write(PolicyArgs),
    /// Deletes a policy by name
    Delete(PolicyArgs),
    /// Formats a policy on disk
    Fmt(PolicyArgs),
}

/// Arguments of the policy commands.
#[derive(Args)]
pub struct PolicyArgs {
    #[command(flatten)]
    common: Common,
    /// Policy name and, for `write`, the file (`-` for stdin).
    args: Vec<String>,
}

/// Runs a `policy` subcommand.
pub async fn run(c: PolicyCommand) -> i32 {
    let r = match c {
        PolicyCommand::List(a) => list(a).await,
        PolicyCommand::Read(a) => read(a).await,
        PolicyCommand::Write(a) => write(a).await,
        PolicyCommand::Delete(a) => delete(a).await,
        PolicyCommand::Fmt(a) => fmt(a),
    };
    r.unwrap_or_else(|code| code)
}

async fn list(a: PolicyArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    if !a.args.is_empty() {
        ctx.ui.error(&format!(
            "Too many arguments (expected 0, got {})",
            a.args.len()
        ));
        return Err(1);
    }
    let client = ctx.client().map_err(|()| 2)?;
    let v = client
        .call_json(
            Method::GET,
            "sys/policies/acl",
            &[("list".to_owned(), "true".to_owned())],
            Body::Empty,
        )
        .await
        .map_err(|e| {
            ctx.ui.error(&format!("Error listing policies: {e}"));
            2
        })?;
    let keys: Vec<String> = v
        .get("data")
        .and_then(|d| d.get("keys"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if ctx.ui.is_table() {
        for p in &keys {
            ctx.ui.output(p);
        }
        return Ok(0);
    }
    Ok(output_data(&mut ctx.ui, &keys))
}

async fn read(a: PolicyArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let client = ctx.client().map_err(|()| 2)?;
    let name = a.args[0].trim().to_lowercase();
    let resp = client
        .send(
            Method::GET,
            &format!("sys/policies/acl/{name}"),
            &[],
            Body::Empty,
        )
        .await;
    // Vault's api: a 404 means "no such policy", not an error.
    let rules = match resp {
        Ok(r) if r.status == 404 => String::new(),
        Ok(r) => {
            let r = r.error_for_status().map_err(|e| {
                ctx.ui
                    .error(&format!("Error reading policy named {name}: {e}"));
                2
            })?;
            let v = r.json().map_err(|e| {
                ctx.ui
                    .error(&format!("Error reading policy named {name}: {e}"));
                2
            })?;
            v.get("data")
                .and_then(|d| d.get("policy"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        }
        Err(e) => {
            ctx.ui
                .error(&format!("Error reading policy named {name}: {e}"));
            return Err(2);
        }
    };
    if rules.is_empty() {
        ctx.ui.error(&format!("No policy named: {name}"));
        return Err(2);
    }
    if ctx.ui.is_table() {
        ctx.ui.output(rules.trim());
        return Ok(0);
    }
    Ok(output_data(&mut ctx.ui, &json!({"policy": rules})))
}

async fn write(a: PolicyArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 2, 2)?;
    let client = ctx.client().map_err(|()| 2)?;
    let given = a.args[0].clone();
    let name = given.to_lowercase().trim().to_owned();
    let path = a.args[1].trim().to_owned();
    let rules = if path == "-" {
        ctx.read_stdin().map_err(|e| {
            ctx.ui.error(&format!("Error reading policy: {e}"));
            2
        })?
    } else {
        std::fs::read_to_string(&path).map_err(|e| {
            ctx.ui.error(&format!("Error opening policy file: {e}"));
            2
        })?
    };
    client
        .call_json(
            Method::PUT,
            &format!("sys/policies/acl/{name}"),
            &[],
            Body::Json(json!({"policy": rules})),
        )
        .await
        .map_err(|e| {
            ctx.ui.error(&format!("Error uploading policy: {e}"));
            2
        })?;
    if given != name {
        ctx.ui.warn(&format!(
            "Policy name was converted from \"{given}\" to \"{name}\""
        ));
    }
    ctx.ui.output(&format!("Success! Uploaded policy: {name}"));
    Ok(0)
}

async fn delete(a: PolicyArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let client = ctx.client().map_err(|()| 2)?;
    let name = a.args[0].trim().to_lowercase();
    client
        .call_json(
            Method::DELETE,
            &format!("sys/policies/acl/{name}"),
            &[],
            Body::Empty,
        )
        .await
        .map_err(|e| {
            ctx.ui.error(&format!("Error deleting {name}: {e}"));
            2
        })?;
    ctx.ui.output(&format!("Success! Deleted policy: {name}"));
    Ok(0)
}

/// Expands a leading `~/`.
fn expand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => p.to_owned(),
    }
}

/// `policy fmt`: parses the HCL policy and rewrites it in canonical HCL formatting. Only
/// the HCL syntax is checked here; the server validates the policy language.
fn fmt(a: PolicyArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let path = expand_home(a.args[0].trim());
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ctx.ui.error(&format!("Error reading source file: {e}"));
        1
    })?;
    let body: hcl::Body = hcl::parse(&text).map_err(|e| {
        ctx.ui.error(&format!("Failed to parse policy: {e}"));
        1
    })?;
    let mut out = hcl::format::to_string(&body).map_err(|e| {
        ctx.ui.error(&format!("Error printing result: {e}"));
        1
    })?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    std::fs::write(&path, out).map_err(|e| {
        ctx.ui.error(&format!("Error writing result: {e}"));
        1
    })?;
    ctx.ui.output(&format!("Success! Formatted policy: {path}"));
    Ok(0)
}
