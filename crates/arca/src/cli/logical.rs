//! `read`, `write`, `list`, `delete`, `patch` and `print token`.

use arca_client::{Body, Error, Method};
use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::kvargs;
use super::ui::{FieldSource, Secret, output_data, output_list, output_secret, print_raw_field};
use super::{Common, Ctx, go_bool, sanitize_path, start};

/// `arca read PATH [K=V...]`.
#[derive(Args)]
pub struct ReadArgs {
    #[command(flatten)]
    common: Common,
    /// Path, then optional query parameters as key=value.
    args: Vec<String>,
}

/// `arca write PATH [DATA...]` (and `patch`).
#[derive(Args)]
pub struct WriteArgs {
    #[command(flatten)]
    common: Common,
    /// Allow the operation to continue with no key=value pairs.
    #[arg(long = "force", short = 'f', num_args = 0..=1, default_missing_value = "true",
          require_equals = true, value_parser = go_bool)]
    force: Option<bool>,
    /// Path, then data as key=value, key=@file, @file.json or - (stdin).
    args: Vec<String>,
}

/// `arca patch PATH [DATA...]`: the same arguments as `write`.
pub type PatchArgs = WriteArgs;

/// `arca list PATH`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    common: Common,
    /// Last seen key on applicable endpoints.
    #[arg(long = "after", value_name = "string")]
    after: Option<String>,
    /// Limits the number of list responses on applicable endpoints.
    #[arg(long = "limit", value_name = "int")]
    limit: Option<i64>,
    /// Path.
    args: Vec<String>,
}

/// `arca delete PATH [K=V...]`.
#[derive(Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    common: Common,
    /// Path, then optional query parameters as key=value.
    args: Vec<String>,
}

/// `arca print ...`.
#[derive(Subcommand)]
pub enum PrintCommand {
    /// Prints the contents of the token in use
    Token(PrintTokenArgs),
}

/// `arca print token`.
#[derive(Args)]
pub struct PrintTokenArgs {
    #[command(flatten)]
    common: Common,
    #[arg(hide = true)]
    args: Vec<String>,
}

/// Prints an API error as Vault does and, for writes that still returned data, the data.
pub fn report(ctx: &mut Ctx, prefix: &str, e: &Error) -> i32 {
    ctx.ui.error(&format!("{prefix}: {e}"));
    if let Error::Api(a) = e
        && let Some(s) = &a.secret
    {
        output_secret(&mut ctx.ui, &Secret::from_envelope(s.clone()));
    }
    2
}

/// Vault's `handleWriteSecretOutput`.
pub fn write_output(ctx: &mut Ctx, path: &str, r: Result<Option<Secret>, Error>) -> i32 {
    match r {
        Err(e) => report(ctx, &format!("Error writing data to {path}"), &e),
        Ok(None) => {
            if ctx.ui.is_table() {
                ctx.ui.info(&format!("Success! Data written to: {path}"));
            }
            0
        }
        Ok(Some(s)) => {
            if let Some(f) = ctx.field().map(str::to_owned) {
                return print_raw_field(&mut ctx.ui, FieldSource::Secret(&s), &f);
            }
            output_secret(&mut ctx.ui, &s)
        }
    }
}

fn not_enough(ctx: &mut Ctx, expected: &str, got: usize) -> i32 {
    ctx.ui.error(&format!(
        "Not enough arguments (expected {expected}, got {got})"
    ));
    1
}

fn parse_data(ctx: &mut Ctx, args: &[String]) -> Result<Option<Map<String, Value>>, i32> {
    let stdin = ctx.stdin();
    let mut buf = Vec::new();
    // Only read stdin when an argument asks for it.
    let wants_stdin = args.iter().any(|a| a == "-" || a.ends_with("=-"));
    if wants_stdin {
        let _ = std::io::Read::read_to_end(stdin, &mut buf);
    }
    kvargs::parse(args, &mut buf.as_slice()).map_err(|e| {
        ctx.ui.error(&format!("Failed to parse K=V data: {e}"));
        1
    })
}

fn parse_query(ctx: &mut Ctx, args: &[String], what: &str) -> Result<Vec<(String, String)>, i32> {
    let wants_stdin = args.iter().any(|a| a == "-" || a.ends_with("=-"));
    let mut buf = Vec::new();
    if wants_stdin {
        let _ = std::io::Read::read_to_end(ctx.stdin(), &mut buf);
    }
    kvargs::parse_string_lists(args, &mut buf.as_slice()).map_err(|e| {
        ctx.ui.error(&format!("{what}: {e}"));
        1
    })
}

/// `arca read`.
pub async fn read(a: ReadArgs) -> i32 {
    let mut ctx = match start(a.common, true) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(first) = a.args.first() else {
        return not_enough(&mut ctx, "1", 0);
    };
    let path = sanitize_path(first);
    let query = match parse_query(&mut ctx, &a.args[1..], "Failed to parse K=V data") {
        Ok(q) => q,
        Err(code) => return code,
    };
    let Ok(client) = ctx.client() else {
        return 2;
    };
    if ctx.ui.format == "raw" {
        let resp = match client.send(Method::GET, &path, &query, Body::Empty).await {
            Ok(r) => r,
            Err(e) => {
                ctx.ui.error(&format!("Error reading: {path}: {e}"));
                return 2;
            }
        };
        let resp = match resp.error_for_status() {
            Ok(r) => r,
            Err(e) => {
                ctx.ui.error(&format!("Error reading: {path}: {e}"));
                return 2;
            }
        };
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        ctx.ui.output(&text);
        return 0;
    }
    match client.read(&path, &query).await {
        Err(e) => {
            ctx.ui.error(&format!("Error reading {path}: {e}"));
            2
        }
        Ok(None) => {
            ctx.ui.error(&format!("No value found at {path}"));
            2
        }
        Ok(Some(env)) => {
            let s = Secret::from_envelope(env);
            if let Some(f) = ctx.field().map(str::to_owned) {
                return print_raw_field(&mut ctx.ui, FieldSource::Secret(&s), &f);
            }
            output_secret(&mut ctx.ui, &s)
        }
    }
}

/// `arca write`.
pub async fn write(a: WriteArgs) -> i32 {
    send_data(a, false).await
}

/// `arca patch`.
pub async fn patch(a: PatchArgs) -> i32 {
    send_data(a, true).await
}

/// `write` and `patch`: the same arguments and output, another HTTP method.
async fn send_data(a: WriteArgs, patch: bool) -> i32 {
    let mut ctx = match start(a.common, false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match a.args.len() {
        0 => return not_enough(&mut ctx, "1", 0),
        1 if a.force != Some(true) => {
            ctx.ui.error("Must supply data or use -force");
            return 1;
        }
        _ => {}
    }
    let path = sanitize_path(&a.args[0]);
    let data = match parse_data(&mut ctx, &a.args[1..]) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let Ok(client) = ctx.client() else {
        return 2;
    };
    let body = data.map(Value::Object);
    let r = if patch {
        client.patch(&path, body.as_ref()).await
    } else {
        client.write(&path, body.as_ref()).await
    };
    write_output(&mut ctx, &path, r.map(|o| o.map(Secret::from_envelope)))
}

/// `arca list`.
pub async fn list(a: ListArgs) -> i32 {
    let mut ctx = match start(a.common, false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let Err(code) = super::expect_args(&mut ctx.ui, &a.args, 1, 1) {
        return code;
    }
    let Ok(client) = ctx.client() else {
        return 2;
    };
    let path = sanitize_path(&a.args[0]);
    let after = a.after.clone().unwrap_or_default();
    let limit = a.limit.unwrap_or(-1);
    let r = if after.is_empty() && limit <= 0 {
        client.list(&path).await
    } else {
        let q = vec![
            ("after".to_owned(), after),
            ("limit".to_owned(), limit.to_string()),
        ];
        client.list_with(&path, &q).await
    };
    let secret = match r {
        Ok(s) => s.map(Secret::from_envelope),
        Err(e) => {
            ctx.ui.error(&format!("Error listing {path}: {e}"));
            return 2;
        }
    };
    output_list_result(&mut ctx, &path, secret, true)
}

/// The shared tail of `list` and `kv list`.
pub fn output_list_result(
    ctx: &mut Ctx,
    path: &str,
    secret: Option<Secret>,
    show_dataless: bool,
) -> i32 {
    if let Some(s) = &secret
        && s.wrap_info.as_ref().is_some_and(|w| w.ttl != 0)
    {
        return output_secret(&mut ctx.ui, s);
    }
    let has_keys = secret
        .as_ref()
        .and_then(|s| s.get("keys"))
        .is_some_and(Value::is_array);
    if !ctx.ui.is_table() && (secret.as_ref().is_none_or(|s| s.data.is_none()) || !has_keys) {
        output_data(&mut ctx.ui, &Map::new());
        return 2;
    }
    let Some(secret) = secret else {
        ctx.ui.error(&format!("No value found at {path}"));
        return 2;
    };
    if secret.data.is_none() {
        if show_dataless {
            return output_secret(&mut ctx.ui, &secret);
        }
        ctx.ui.error(&format!("No value found at {path}"));
        return 2;
    }
    if !has_keys {
        ctx.ui.error(&format!("No entries found at {path}"));
        return 2;
    }
    output_list(&mut ctx.ui, &secret)
}

/// `arca delete`.
pub async fn delete(a: DeleteArgs) -> i32 {
    let mut ctx = match start(a.common, false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(first) = a.args.first() else {
        return not_enough(&mut ctx, "at least 1", 0);
    };
    let Ok(client) = ctx.client() else {
        return 2;
    };
    let path = sanitize_path(first);
    let query = match parse_query(&mut ctx, &a.args[1..], "Failed to parse string list data") {
        Ok(q) => q,
        Err(code) => return code,
    };
    match client.delete(&path, &query).await {
        Err(e) => report(&mut ctx, &format!("Error deleting {path}"), &e),
        Ok(None) => {
            if ctx.ui.is_table() {
                ctx.ui
                    .info(&format!("Success! Data deleted (if it existed) at: {path}"));
            }
            0
        }
        Ok(Some(env)) => {
            let s = Secret::from_envelope(env);
            if let Some(f) = ctx.field().map(str::to_owned) {
                return print_raw_field(&mut ctx.ui, FieldSource::Secret(&s), &f);
            }
            output_secret(&mut ctx.ui, &s)
        }
    }
}

/// `arca print token`.
pub async fn print(c: PrintCommand) -> i32 {
    match c {
        PrintCommand::Token(a) => {
            let mut ctx = match start(a.common, false) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match ctx.token() {
                Ok(t) => {
                    let text = t
                        .as_ref()
                        .map(|t| t.expose().to_owned())
                        .unwrap_or_default();
                    ctx.ui.output(&text);
                    0
                }
                Err(()) => 2,
            }
        }
    }
}
