//! The terminal side of the CLI: where messages go (stdout/stderr, colours), the Go
//! client's `Secret` as the CLI prints it, and the output functions shared by every
//! command (`OutputSecret`, `OutputList`, `OutputData`, `PrintRawField` in Vault's CLI).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use arca_types::envelope::ResponseEnvelope;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::format::{
    self, HOPE_DELIM, go_quote_list, go_v, human_duration, human_duration_value, json_indent,
    looks_like_duration, table_output, wrap_at_length_with_padding,
};

/// Output formats the CLI knows.
pub const FORMATS: &[&str] = &["table", "json", "yaml", "yml", "raw"];

/// Message sink with the Vault CLI's conventions: `output`/`info` to stdout, `error`/`warn`
/// to stderr (red/yellow on a terminal in table mode), each with a trailing newline.
pub struct Ui {
    /// `table`, `json`, `yaml`/`yml` or `raw`.
    pub format: String,
    /// `-detailed`: lists print the whole response.
    pub detailed: bool,
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    color: bool,
    /// fatih/color's `NoColor`: stdout is not a terminal (or `NO_COLOR`/`TERM=dumb`); raw
    /// values are then printed without a trailing newline.
    no_color: bool,
}

impl Ui {
    /// A UI on the process's stdout and stderr.
    pub fn stdio(format: String, detailed: bool) -> Ui {
        let env = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        let no_color = env("NO_COLOR")
            || std::env::var("TERM").is_ok_and(|t| t == "dumb")
            || !std::io::stdout().is_terminal();
        let cli_no_color = [
            "ARCA_CLI_NO_COLOR",
            "VAULT_CLI_NO_COLOR",
            "BAO_CLI_NO_COLOR",
        ]
        .iter()
        .any(|k| env(k));
        let color = !no_color && !cli_no_color && format == "table";
        Ui {
            format,
            detailed,
            out: Box::new(std::io::stdout()),
            err: Box::new(std::io::stderr()),
            color,
            no_color,
        }
    }

    /// A UI writing into the given sinks (tests).
    #[cfg(test)]
    pub fn with_writers(format: &str, out: Box<dyn Write>, err: Box<dyn Write>) -> Ui {
        Ui {
            format: format.to_owned(),
            detailed: false,
            out,
            err,
            color: false,
            no_color: true,
        }
    }

    /// A line on stdout.
    pub fn output(&mut self, s: &str) {
        let _ = writeln!(self.out, "{s}");
    }

    /// A line on stdout (Vault's `Info`).
    pub fn info(&mut self, s: &str) {
        self.output(s);
    }

    /// A line on stderr, red on a terminal.
    pub fn error(&mut self, s: &str) {
        if self.color {
            let _ = writeln!(self.err, "\x1b[91m{s}\x1b[0m");
        } else {
            let _ = writeln!(self.err, "{s}");
        }
    }

    /// A line on stderr, yellow on a terminal.
    pub fn warn(&mut self, s: &str) {
        if self.color {
            let _ = writeln!(self.err, "\x1b[93m{s}\x1b[0m");
        } else {
            let _ = writeln!(self.err, "{s}");
        }
    }

    /// Text on stdout without the trailing newline when piped (Vault's `PrintRaw`).
    pub fn raw(&mut self, s: &str) -> i32 {
        if self.no_color {
            let _ = write!(self.out, "{s}");
        } else {
            let _ = writeln!(self.out, "{s}");
        }
        0
    }

    /// Text written as is to stdout (prompts).
    pub fn print(&mut self, s: &str) {
        let _ = write!(self.out, "{s}");
        let _ = self.out.flush();
    }

    /// Whether the output format is `table`.
    pub fn is_table(&self) -> bool {
        self.format == "table"
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}

// ---------------------------------------------------------------------------------------
// The Go client's Secret

/// `api.SecretAuth`, in its JSON field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SecretAuth {
    /// The token.
    pub client_token: String,
    /// Its accessor.
    pub accessor: String,
    /// All policies.
    pub policies: Option<Vec<String>>,
    /// Policies attached to the token.
    pub token_policies: Option<Vec<String>>,
    /// Policies from the identity system.
    pub identity_policies: Option<Vec<String>>,
    /// Token metadata.
    pub metadata: Option<BTreeMap<String, Value>>,
    /// Whether the token is an orphan.
    pub orphan: bool,
    /// Identity entity.
    pub entity_id: String,
    /// TTL in seconds.
    pub lease_duration: i64,
    /// Whether it can be renewed.
    pub renewable: bool,
    /// MFA requirement (not supported yet).
    pub mfa_requirement: Option<Value>,
}

/// `api.SecretWrapInfo`, in its JSON field order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WrapInfo {
    /// Wrapping token.
    pub token: String,
    /// Its accessor.
    pub accessor: String,
    /// TTL in seconds.
    pub ttl: i64,
    /// RFC 3339 creation time.
    pub creation_time: String,
    /// Path that was wrapped.
    pub creation_path: String,
    /// Accessor of a wrapped token.
    pub wrapped_accessor: String,
}

/// `api.Secret`: what `-format=json` prints, with Go's field order and omissions.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Secret {
    /// Request id.
    pub request_id: String,
    /// Lease id.
    pub lease_id: String,
    /// Lease TTL in seconds.
    pub lease_duration: i64,
    /// Whether the lease is renewable.
    pub renewable: bool,
    /// Payload.
    pub data: Option<Map<String, Value>>,
    /// Warnings.
    pub warnings: Option<Vec<String>>,
    /// Authentication result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<SecretAuth>,
    /// Wrapping information.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrap_info: Option<WrapInfo>,
}

impl Secret {
    /// Converts the client's envelope, leniently (a malformed `auth` or `wrap_info` is
    /// dropped rather than failing the command).
    pub fn from_envelope(e: ResponseEnvelope) -> Secret {
        Secret {
            request_id: e.request_id,
            lease_id: e.lease_id,
            lease_duration: i64::try_from(e.lease_duration).unwrap_or(i64::MAX),
            renewable: e.renewable,
            data: match e.data {
                Some(Value::Object(m)) => Some(m),
                _ => None,
            },
            warnings: e.warnings,
            auth: e.auth.and_then(|a| serde_json::from_value(a).ok()),
            wrap_info: e.wrap_info.and_then(|w| serde_json::from_value(w).ok()),
        }
    }

    /// A secret carrying only `data`.
    pub fn with_data(data: Map<String, Value>) -> Secret {
        Secret {
            data: Some(data),
            ..Secret::default()
        }
    }

    /// `data[key]`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.data.as_ref().and_then(|d| d.get(key))
    }
}

// ---------------------------------------------------------------------------------------
// Output

/// Vault's `printWarnings`.
pub fn print_warnings(ui: &mut Ui, secret: &Secret) {
    if let Some(w) = &secret.warnings
        && !w.is_empty()
    {
        ui.warn("WARNING! The following warnings were returned from Arca:\n");
        for warning in w {
            ui.warn(&wrap_at_length_with_padding(&format!("* {warning}"), 2));
            ui.warn("");
        }
    }
}

fn formatted<T: Serialize + ?Sized>(ui: &mut Ui, v: &T) -> Result<String, String> {
    match ui.format.as_str() {
        "json" => Ok(json_indent(v)),
        "yaml" | "yml" => Ok(format::yaml(v).trim().to_owned()),
        "raw" => Err(
            "This command does not support the -format=raw option; only `arca read` does.".into(),
        ),
        other => Err(format!("Invalid output format: {other}")),
    }
}

fn finish(ui: &mut Ui, r: Result<String, String>) -> i32 {
    match r {
        Ok(s) => {
            ui.output(&s);
            0
        }
        Err(e) if e.starts_with("Invalid output format") => {
            ui.error(&e);
            1
        }
        Err(e) => {
            ui.error(&format!("Could not parse output: {e}"));
            1
        }
    }
}

/// Vault's `OutputSecret`.
pub fn output_secret(ui: &mut Ui, secret: &Secret) -> i32 {
    if ui.is_table() {
        table_secret(ui, secret);
        return 0;
    }
    let r = formatted(ui, secret);
    finish(ui, r)
}

fn table_secret(ui: &mut Ui, secret: &Secret) {
    print_warnings(ui, secret);
    let d = HOPE_DELIM;
    let mut out: Vec<String> = Vec::new();
    if secret.lease_duration > 0 {
        if secret.lease_id.is_empty() {
            out.push(format!(
                "refresh_interval {d} {}",
                human_duration(secret.lease_duration)
            ));
        } else {
            out.push(format!("lease_id {d} {}", secret.lease_id));
            out.push(format!(
                "lease_duration {d} {}",
                human_duration(secret.lease_duration)
            ));
            out.push(format!("lease_renewable {d} {}", secret.renewable));
        }
    }
    if let Some(a) = &secret.auth {
        out.push(format!("token {d} {}", a.client_token));
        out.push(format!("token_accessor {d} {}", a.accessor));
        if a.lease_duration == 0 {
            out.push(format!("token_duration {d} ∞"));
        } else {
            out.push(format!(
                "token_duration {d} {}",
                human_duration(a.lease_duration)
            ));
        }
        out.push(format!("token_renewable {d} {}", a.renewable));
        out.push(format!(
            "token_policies {d} {}",
            go_quote_list(a.token_policies.as_deref())
        ));
        out.push(format!(
            "identity_policies {d} {}",
            go_quote_list(a.identity_policies.as_deref())
        ));
        out.push(format!(
            "policies {d} {}",
            go_quote_list(a.policies.as_deref())
        ));
        for (k, v) in a.metadata.iter().flatten() {
            out.push(format!("token_meta_{k} {d} {}", go_v(v)));
        }
    }
    if let Some(w) = &secret.wrap_info {
        out.push(format!("wrapping_token: {d} {}", w.token));
        out.push(format!("wrapping_accessor: {d} {}", w.accessor));
        out.push(format!("wrapping_token_ttl: {d} {}", human_duration(w.ttl)));
        out.push(format!(
            "wrapping_token_creation_time: {d} {}",
            go_time_string(&w.creation_time)
        ));
        out.push(format!(
            "wrapping_token_creation_path: {d} {}",
            w.creation_path
        ));
        if !w.wrapped_accessor.is_empty() {
            out.push(format!("wrapped_accessor: {d} {}", w.wrapped_accessor));
        }
    }
    if let Some(data) = &secret.data {
        push_map_rows(&mut out, data);
    }
    if out.is_empty() {
        return;
    }
    out.insert(0, format!("Key{d}Value"));
    let t = table_output(&out, d);
    ui.output(&t);
}

fn push_map_rows(out: &mut Vec<String>, data: &Map<String, Value>) {
    for (k, v) in data {
        let v = if looks_like_duration(k) {
            human_duration_value(v)
        } else {
            v.clone()
        };
        out.push(format!("{k} {HOPE_DELIM} {}", go_v(&v)));
    }
}

/// Vault's `TableFormatter.OutputMap`.
pub fn table_map(ui: &mut Ui, data: &Map<String, Value>) {
    let mut out = Vec::new();
    push_map_rows(&mut out, data);
    if out.is_empty() {
        return;
    }
    out.insert(0, format!("Key{HOPE_DELIM}Value"));
    let t = table_output(&out, HOPE_DELIM);
    ui.output(&t);
}

/// Vault's `OutputList` for a list response: the sorted `keys` under a `Keys` header (with
/// the `key_info` columns when `-detailed`).
pub fn output_list(ui: &mut Ui, secret: &Secret) -> i32 {
    let keys = secret.get("keys").cloned().unwrap_or(Value::Null);
    if !ui.is_table() {
        let r = if ui.detailed {
            formatted(ui, secret)
        } else {
            formatted(ui, &keys)
        };
        return finish(ui, r);
    }
    print_warnings(ui, secret);
    let Value::Array(list) = keys else {
        ui.error(
            "Could not parse output: error: table formatter cannot output list for this data type",
        );
        return 1;
    };
    if list.is_empty() {
        return 0;
    }
    let mut names = Vec::with_capacity(list.len());
    for v in &list {
        match v {
            Value::String(s) => names.push(s.clone()),
            other => {
                ui.error(&format!(
                    "Could not parse output: {} is not a string",
                    go_v(other)
                ));
                return 1;
            }
        }
    }
    names.sort();
    let info = if ui.detailed {
        secret
            .get("key_info")
            .and_then(Value::as_object)
            .filter(|m| !m.is_empty())
    } else {
        None
    };
    let mut header = "Keys".to_owned();
    let mut rows = names.clone();
    if let Some(info) = info {
        let mut headers: Vec<String> = Vec::new();
        for (key, vals) in info {
            if names.binary_search(key).is_err() {
                continue;
            }
            if let Some(obj) = vals.as_object() {
                for h in obj.keys() {
                    if !headers.contains(h) {
                        headers.push(h.clone());
                    }
                }
            }
        }
        headers.sort();
        if !headers.is_empty() {
            header = format!("{header}{HOPE_DELIM}{}", headers.join(HOPE_DELIM));
            for row in &mut rows {
                let mut cells = vec![row.clone()];
                if let Some(obj) = info.get(row.as_str()).and_then(Value::as_object) {
                    for h in &headers {
                        match obj.get(h) {
                            Some(v) => {
                                let v = if looks_like_duration(h) {
                                    human_duration_value(v)
                                } else {
                                    v.clone()
                                };
                                cells.push(go_v(&v));
                            }
                            None => cells.push("n/a".to_owned()),
                        }
                    }
                }
                *row = cells.join(HOPE_DELIM);
            }
        }
    }
    let mut lines = vec![header];
    lines.extend(rows);
    let t = table_output(&lines, HOPE_DELIM);
    ui.output(&t);
    0
}

/// Vault's `OutputData`: JSON/YAML of anything; in table mode, maps as `Key Value` rows and
/// other shapes as an error.
pub fn output_data<T: Serialize + ?Sized>(ui: &mut Ui, v: &T) -> i32 {
    if ui.is_table() {
        match serde_json::to_value(v) {
            Ok(Value::Object(m)) => {
                table_map(ui, &m);
                return 0;
            }
            Ok(Value::Array(items)) if items.iter().all(Value::is_string) => {
                let lines: Vec<String> = items.iter().map(go_v).collect();
                let t = table_output(&lines, "|");
                ui.output(&t);
                return 0;
            }
            _ => {
                ui.error("Could not parse output: cannot use the table formatter for this type");
                return 1;
            }
        }
    }
    let r = formatted(ui, v);
    finish(ui, r)
}

/// Where `-field` looks.
pub enum FieldSource<'a> {
    /// A response (auth and wrap fields have their own names).
    Secret(&'a Secret),
    /// A plain map.
    Map(&'a Map<String, Value>),
}

/// Vault's `RawSecretField`.
fn raw_secret_field(s: &Secret, field: &str) -> Option<Value> {
    let data = |f: &str| s.get(f).filter(|v| !v.is_null()).cloned();
    let list = |l: &Option<Vec<String>>| {
        Some(Value::Array(
            l.iter()
                .flatten()
                .map(|p| Value::String(p.clone()))
                .collect(),
        ))
    };
    if let Some(a) = &s.auth {
        return match field {
            "token" => Some(Value::String(a.client_token.clone())),
            "token_accessor" => Some(Value::String(a.accessor.clone())),
            "token_duration" => Some(Value::from(a.lease_duration)),
            "token_renewable" => Some(Value::Bool(a.renewable)),
            "token_policies" => list(&a.token_policies),
            "identity_policies" => list(&a.identity_policies),
            "policies" => list(&a.policies),
            f => data(f),
        };
    }
    if let Some(w) = &s.wrap_info {
        return match field {
            "wrapping_token" => Some(Value::String(w.token.clone())),
            "wrapping_accessor" => Some(Value::String(w.accessor.clone())),
            "wrapping_token_ttl" => Some(Value::from(w.ttl)),
            "wrapping_token_creation_time" => Some(Value::String(w.creation_time.clone())),
            "wrapping_token_creation_path" => Some(Value::String(w.creation_path.clone())),
            "wrapped_accessor" => Some(Value::String(w.wrapped_accessor.clone())),
            f => data(f),
        };
    }
    match field {
        "lease_duration" | "refresh_interval" => Some(Value::from(s.lease_duration)),
        "lease_id" => Some(Value::String(s.lease_id.clone())),
        "request_id" => Some(Value::String(s.request_id.clone())),
        "renewable" => Some(Value::Bool(s.renewable)),
        "data" => match s.get("data") {
            Some(v) => (!v.is_null()).then(|| v.clone()),
            None => s.data.clone().map(Value::Object),
        },
        f => data(f),
    }
}

/// Vault's `PrintRawField`.
pub fn print_raw_field(ui: &mut Ui, src: FieldSource<'_>, field: &str) -> i32 {
    let (val, type_name) = match &src {
        FieldSource::Secret(s) => (raw_secret_field(s, field), "secret"),
        FieldSource::Map(m) => (m.get(field).filter(|v| !v.is_null()).cloned(), "map"),
    };
    let Some(val) = val else {
        ui.error(&format!("Field \"{field}\" not present in {type_name}"));
        return 1;
    };
    if let FieldSource::Secret(s) = &src
        && ui.is_table()
    {
        print_warnings(ui, s);
    }
    match ui.format.as_str() {
        "" | "table" | "raw" => ui.raw(&go_v(&val)),
        "json" => ui.raw(&json_indent(&val)),
        "yaml" | "yml" => ui.raw(&format::yaml(&val)),
        other => {
            ui.error(&format!("Invalid output format: {other}"));
            1
        }
    }
}

/// Go's `time.Time.String()` of an RFC 3339 time: `2006-01-02 15:04:05.999999999 -0700 MST`
/// (the zone abbreviation is `UTC` for UTC and the offset otherwise, as Go prints for a
/// parsed fixed zone). Unparseable input is returned as it is.
pub fn go_time_string(rfc3339: &str) -> String {
    use time::format_description::well_known::Rfc3339;
    let Ok(t) = time::OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return rfc3339.to_owned();
    };
    let off = t.offset();
    let (h, m, _) = off.as_hms();
    let sign = if off.is_negative() { '-' } else { '+' };
    let offset = format!("{sign}{:02}{:02}", h.unsigned_abs(), m.unsigned_abs());
    let zone = if off.is_utc() {
        "UTC".to_owned()
    } else {
        offset.clone()
    };
    let mut frac = String::new();
    if t.nanosecond() != 0 {
        frac = format!(".{:09}", t.nanosecond());
        while frac.ends_with('0') {
            frac.pop();
        }
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}{frac} {offset} {zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use serde_json::json;

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn ui(format: &str) -> (Ui, Buf, Buf) {
        let (o, e) = (Buf::default(), Buf::default());
        (
            Ui::with_writers(format, Box::new(o.clone()), Box::new(e.clone())),
            o,
            e,
        )
    }

    fn secret(v: Value) -> Secret {
        let env = arca_client::parse_secret(v.to_string().as_bytes())
            .unwrap()
            .unwrap();
        Secret::from_envelope(env)
    }

    #[test]
    fn secret_table_and_json() {
        let s = secret(
            json!({"request_id": "r", "lease_id": "", "lease_duration": 2764800,
            "renewable": false, "data": {"foo": "bar", "ttl": 60, "empty": ""},
            "warnings": null, "auth": null, "wrap_info": null}),
        );
        let (mut u, o, _) = ui("table");
        output_secret(&mut u, &s);
        assert_eq!(
            o.text(),
            "Key                 Value\n---                 -----\nrefresh_interval    768h\nempty               n/a\nfoo                 bar\nttl                 1m\n"
        );
        let (mut u, o, _) = ui("json");
        output_secret(&mut u, &s);
        assert_eq!(
            o.text(),
            "{\n  \"request_id\": \"r\",\n  \"lease_id\": \"\",\n  \"lease_duration\": 2764800,\n  \"renewable\": false,\n  \"data\": {\n    \"empty\": \"\",\n    \"foo\": \"bar\",\n    \"ttl\": 60\n  },\n  \"warnings\": null\n}\n"
        );
    }

    #[test]
    fn auth_table() {
        let s = secret(json!({"request_id": "r", "auth": {"client_token": "s.x",
            "accessor": "acc", "policies": ["root"], "token_policies": ["root"],
            "metadata": null, "lease_duration": 0, "renewable": false, "entity_id": "",
            "token_type": "service", "orphan": true}}));
        let (mut u, o, _) = ui("table");
        output_secret(&mut u, &s);
        assert_eq!(
            o.text(),
            "Key                  Value\n---                  -----\ntoken                s.x\ntoken_accessor       acc\ntoken_duration       ∞\ntoken_renewable      false\ntoken_policies       [\"root\"]\nidentity_policies    []\npolicies             [\"root\"]\n"
        );
        let (mut u, o, _) = ui("table");
        assert_eq!(print_raw_field(&mut u, FieldSource::Secret(&s), "token"), 0);
        assert_eq!(o.text(), "s.x");
        let (mut u, _, e) = ui("table");
        assert_eq!(print_raw_field(&mut u, FieldSource::Secret(&s), "nope"), 1);
        assert_eq!(e.text(), "Field \"nope\" not present in secret\n");
    }

    #[test]
    fn list_table_and_warnings() {
        let s = secret(json!({"request_id": "r", "data": {"keys": ["b", "a/"]},
            "warnings": ["careful"]}));
        let (mut u, o, e) = ui("table");
        output_list(&mut u, &s);
        assert_eq!(o.text(), "Keys\n----\na/\nb\n");
        assert_eq!(
            e.text(),
            "WARNING! The following warnings were returned from Arca:\n\n  * careful\n\n"
        );
        let (mut u, o, _) = ui("json");
        output_list(&mut u, &s);
        assert_eq!(o.text(), "[\n  \"b\",\n  \"a/\"\n]\n");
    }

    #[test]
    fn go_time() {
        assert_eq!(
            go_time_string("2026-11-28T02:25:15.348734246Z"),
            "2026-11-28 02:25:15.348734246 +0000 UTC"
        );
        assert_eq!(
            go_time_string("2026-11-28T02:25:15+02:00"),
            "2026-11-28 02:25:15 +0200 +0200"
        );
    }
}
