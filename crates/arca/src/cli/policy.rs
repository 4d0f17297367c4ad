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

/// `policy fmt`: validates the policy as the server would (`arca-acl`), then rewrites it in
/// the layout of HCL1's printer, which Vault's CLI uses: a blank line between blocks,
/// consecutive one-line attributes aligned on `=`, lists on one line. Comments cannot be
/// kept yet, so a file with comments is left unchanged with an error; so is a file in
/// HCL1-only syntax, which the HCL2 parser behind the formatter does not read.
fn fmt(a: PolicyArgs) -> Result<i32, i32> {
    let mut ctx = start(a.common, false)?;
    expect_args(&mut ctx.ui, &a.args, 1, 1)?;
    let path = expand_home(a.args[0].trim());
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ctx.ui.error(&format!("Error reading source file: {e}"));
        1
    })?;
    arca_acl::parse_policy("fmt", &text).map_err(|e| {
        ctx.ui.error(&e.to_string());
        1
    })?;
    if has_comments(&text) {
        ctx.ui.error(
            "Error printing result: policies with comments cannot be formatted yet; the file \
             was left unchanged",
        );
        return Err(1);
    }
    let body: hcl::Body = hcl::parse(&text).map_err(|e| {
        ctx.ui.error(&format!("Error printing result: {e}"));
        1
    })?;
    let items: Vec<hcl::Structure> = body.into_iter().collect();
    let mut out = String::new();
    print_body(&mut out, &items, 0, true);
    std::fs::write(&path, out).map_err(|e| {
        ctx.ui.error(&format!("Error writing result: {e}"));
        1
    })?;
    ctx.ui.output(&format!("Success! Formatted policy: {path}"));
    Ok(0)
}

/// Whether HCL text has a `#`, `//` or `/*` comment outside string literals.
fn has_comments(text: &str) -> bool {
    let b = text.as_bytes();
    let (mut i, mut in_str) = (0, false);
    while i < b.len() {
        match (in_str, b[i]) {
            (true, b'\\') => i += 1,
            (true, b'"') | (false, b'"') => in_str = !in_str,
            (false, b'#') => return true,
            (false, b'/') if matches!(b.get(i + 1), Some(b'/' | b'*')) => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn hcl_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_multiline(e: &hcl::Expression) -> bool {
    match e {
        hcl::Expression::Object(o) => !o.is_empty(),
        hcl::Expression::Array(a) => a.iter().any(is_multiline),
        _ => false,
    }
}

fn print_expr(out: &mut String, e: &hcl::Expression, indent: usize) {
    use hcl::Expression as E;
    match e {
        E::Null => out.push_str("null"),
        E::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        E::Number(n) => out.push_str(&n.to_string()),
        E::String(s) => out.push_str(&hcl_quote(s)),
        E::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                print_expr(out, item, indent);
            }
            out.push(']');
        }
        E::Object(o) if o.is_empty() => out.push_str("{}"),
        E::Object(o) => {
            out.push_str("{\n");
            let entries: Vec<(String, &hcl::Expression)> = o
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        hcl::ObjectKey::Identifier(id) => id.to_string(),
                        hcl::ObjectKey::Expression(hcl::Expression::String(s)) => hcl_quote(s),
                        hcl::ObjectKey::Expression(other) => {
                            hcl::format::to_string(other).unwrap_or_default()
                        }
                        _ => String::new(),
                    };
                    (key, v)
                })
                .collect();
            print_assignments(out, &entries, indent + 2);
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
        other => out.push_str(&hcl::format::to_string(other).unwrap_or_default()),
    }
}

/// `key = value` lines: runs of one-line values aligned on `=`, multi-line values set apart
/// by blank lines.
fn print_assignments(out: &mut String, entries: &[(String, &hcl::Expression)], indent: usize) {
    let pad = " ".repeat(indent);
    let mut i = 0;
    let mut first = true;
    while i < entries.len() {
        if is_multiline(entries[i].1) {
            if !first {
                out.push('\n');
            }
            out.push_str(&format!("{pad}{} = ", entries[i].0));
            print_expr(out, entries[i].1, indent);
            out.push('\n');
            i += 1;
            first = false;
            if i < entries.len() {
                out.push('\n');
                first = true;
            }
            continue;
        }
        let run_end = (i..entries.len())
            .find(|&j| is_multiline(entries[j].1))
            .unwrap_or(entries.len());
        let width = entries[i..run_end]
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        for (k, v) in &entries[i..run_end] {
            let gap = " ".repeat(width - k.chars().count());
            out.push_str(&format!("{pad}{k}{gap} = "));
            print_expr(out, v, indent);
            out.push('\n');
        }
        first = false;
        i = run_end;
    }
}

fn print_body(out: &mut String, items: &[hcl::Structure], indent: usize, top: bool) {
    let pad = " ".repeat(indent);
    let mut pending: Vec<(String, &hcl::Expression)> = Vec::new();
    let mut wrote = false;
    let flush =
        |out: &mut String, pending: &mut Vec<(String, &hcl::Expression)>, wrote: &mut bool| {
            if !pending.is_empty() {
                if *wrote {
                    out.push('\n');
                }
                print_assignments(out, pending, indent);
                pending.clear();
                *wrote = true;
            }
        };
    for item in items {
        match item {
            hcl::Structure::Attribute(a) => pending.push((a.key.to_string(), &a.expr)),
            hcl::Structure::Block(b) => {
                flush(out, &mut pending, &mut wrote);
                if wrote {
                    out.push('\n');
                }
                out.push_str(&pad);
                out.push_str(b.identifier.as_str());
                for l in &b.labels {
                    out.push(' ');
                    match l {
                        hcl::BlockLabel::String(s) => out.push_str(&hcl_quote(s)),
                        hcl::BlockLabel::Identifier(id) => out.push_str(id.as_str()),
                    }
                }
                let inner: Vec<hcl::Structure> = b.body.iter().cloned().collect();
                if inner.is_empty() {
                    out.push_str(" {}\n");
                } else {
                    out.push_str(" {\n");
                    print_body(out, &inner, indent + 2, false);
                    out.push_str(&pad);
                    out.push_str("}\n");
                }
                wrote = true;
            }
        }
    }
    flush(out, &mut pending, &mut wrote);
    let _ = top;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn fmt_text(text: &str) -> String {
        let body: hcl::Body = hcl::parse(text).unwrap();
        let items: Vec<hcl::Structure> = body.into_iter().collect();
        let mut out = String::new();
        print_body(&mut out, &items, 0, true);
        out
    }

    #[test]
    fn formats_like_hcl1_printer() {
        let src = "path \"secret/*\" {\ncapabilities = [\"read\",\"list\"]\n  }\npath \"sys/mounts\" { capabilities = [\"read\"] }\npath \"a/b\" {\n  capabilities=[\"create\"]\n  allowed_parameters = {\n    \"foo\" = []\n  }\n}\npath \"x\" {\n policy = \"deny\"\n capabilities = []\n}\n";
        assert_eq!(
            fmt_text(src),
            "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n\npath \"sys/mounts\" {\n  capabilities = [\"read\"]\n}\n\npath \"a/b\" {\n  capabilities = [\"create\"]\n\n  allowed_parameters = {\n    \"foo\" = []\n  }\n}\n\npath \"x\" {\n  policy       = \"deny\"\n  capabilities = []\n}\n"
        );
    }

    #[test]
    fn comments_are_detected_outside_strings() {
        assert!(has_comments("# c\npath \"a\" {}"));
        assert!(has_comments("path \"a\" {} // c"));
        assert!(!has_comments("path \"a/#/b//c\" {}"));
    }
}
