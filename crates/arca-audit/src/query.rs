//! Offline queries over audit logs: "who read this secret?" (`arca audit query`).
//!
//! Answers come from the records' clear fields only (time, operation, path, display name,
//! entity id, remote address, policies, error); values are never read or shown. Paths are
//! not HMAC'd in Vault's format, so `path` matches literally (a trailing `*` matches a
//! prefix). Accessors are HMAC'd by default: match them with the value
//! `sys/audit-hash/<device>` returns for the accessor (`hmac-sha256:…`), or with the raw
//! accessor on a device with `hmac_accessor=false`.
//!
//! Each request appears once: the response record when there is one (it carries the
//! outcome), otherwise the request record (`outcome` = `no response record`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::SystemTime;

use serde::Serialize;
use serde_json::Value;

use crate::chain::json_part;
use crate::format::parse_rfc3339;

/// What to look for; every set field must match.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The request path, literally (`secret/data/payments`); a trailing `*` matches a
    /// prefix.
    pub path: Option<String>,
    /// The token accessor as it appears in the log (HMAC'd or raw).
    pub accessor: Option<String>,
    /// The entity id.
    pub entity: Option<String>,
    /// The client address.
    pub remote_address: Option<String>,
    /// The operation (`read`, `update`, ...).
    pub operation: Option<String>,
    /// Only records at or after this time.
    pub since: Option<SystemTime>,
    /// Only records before this time.
    pub until: Option<SystemTime>,
}

/// One request that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The record's time.
    pub time: String,
    /// The request id.
    pub request_id: String,
    /// The operation.
    pub operation: String,
    /// The request path.
    pub path: String,
    /// The caller's display name.
    pub display_name: String,
    /// The caller's entity id.
    pub entity_id: String,
    /// The accessor as logged (HMAC'd unless the device logs it raw).
    pub accessor: String,
    /// The client address.
    pub remote_address: String,
    /// The caller's policies.
    pub policies: Vec<String>,
    /// `ok`, `error: <message>`, or `no response record`.
    pub outcome: String,
    /// The file holding the record.
    pub file: PathBuf,
    /// Its 1-based line number.
    pub line: u64,
}

/// Why a query could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
}

fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for k in path {
        match cur.get(k) {
            Some(n) => cur = n,
            None => return "",
        }
    }
    cur.as_str().unwrap_or_default()
}

impl Filter {
    fn matches(&self, v: &Value) -> bool {
        if let Some(p) = &self.path {
            let path = s(v, &["request", "path"]);
            let ok = match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == p,
            };
            if !ok {
                return false;
            }
        }
        if let Some(a) = &self.accessor
            && s(v, &["auth", "accessor"]) != a
            && s(v, &["request", "client_token_accessor"]) != a
        {
            return false;
        }
        if let Some(e) = &self.entity
            && s(v, &["auth", "entity_id"]) != e
        {
            return false;
        }
        if let Some(r) = &self.remote_address
            && s(v, &["request", "remote_address"]) != r
        {
            return false;
        }
        if let Some(o) = &self.operation
            && s(v, &["request", "operation"]) != o
        {
            return false;
        }
        if self.since.is_some() || self.until.is_some() {
            let Some(t) = parse_rfc3339(s(v, &["time"])) else {
                return false;
            };
            if self.since.is_some_and(|since| t < since) || self.until.is_some_and(|u| t >= u) {
                return false;
            }
        }
        true
    }
}

fn hit(v: &Value, outcome: String, file: &std::path::Path, line: u64) -> Hit {
    let accessor = match s(v, &["auth", "accessor"]) {
        "" => s(v, &["request", "client_token_accessor"]),
        a => a,
    };
    Hit {
        time: s(v, &["time"]).to_owned(),
        request_id: s(v, &["request", "id"]).to_owned(),
        operation: s(v, &["request", "operation"]).to_owned(),
        path: s(v, &["request", "path"]).to_owned(),
        display_name: s(v, &["auth", "display_name"]).to_owned(),
        entity_id: s(v, &["auth", "entity_id"]).to_owned(),
        accessor: accessor.to_owned(),
        remote_address: s(v, &["request", "remote_address"]).to_owned(),
        policies: v
            .get("auth")
            .and_then(|a| a.get("policies"))
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        outcome,
        file: file.to_owned(),
        line,
    }
}

/// Scans `paths` in order and returns the matching requests, sorted by time.
pub fn query(paths: &[PathBuf], filter: &Filter) -> Result<Vec<Hit>, QueryError> {
    let mut hits: Vec<(Option<SystemTime>, Hit)> = Vec::new();
    // Matching requests still waiting for their response record, by request id.
    let mut pending: HashMap<String, Hit> = HashMap::new();
    for path in paths {
        let io = |e: std::io::Error| QueryError::Io {
            path: path.clone(),
            reason: e.kind().to_string(),
        };
        let reader = BufReader::new(File::open(path).map_err(io)?);
        let mut no = 0u64;
        for line in reader.split(b'\n') {
            let line = line.map_err(io)?;
            no += 1;
            let Some(v) = json_part(&line).and_then(|j| serde_json::from_slice::<Value>(j).ok())
            else {
                continue;
            };
            let kind = s(&v, &["type"]);
            if kind != "request" && kind != "response" {
                continue;
            }
            let id = s(&v, &["request", "id"]).to_owned();
            if kind == "request" {
                if filter.matches(&v) {
                    pending.insert(id, hit(&v, "no response record".to_owned(), path, no));
                }
                continue;
            }
            pending.remove(&id);
            if filter.matches(&v) {
                let outcome = match s(&v, &["error"]) {
                    "" => "ok".to_owned(),
                    e => format!("error: {e}"),
                };
                let h = hit(&v, outcome, path, no);
                hits.push((parse_rfc3339(&h.time), h));
            }
        }
    }
    hits.extend(pending.into_values().map(|h| (parse_rfc3339(&h.time), h)));
    hits.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.line.cmp(&b.1.line)));
    Ok(hits.into_iter().map(|(_, h)| h).collect())
}
