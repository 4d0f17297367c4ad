//! `sys/leases/*` and Vault's legacy `sys/renew`, `sys/revoke`, `sys/revoke-prefix`,
//! `sys/revoke-force`, with Vault's request fields, response shapes and errors. The core
//! has already checked the token, the ACL and sudo.

use std::collections::BTreeMap;
use std::time::SystemTime;

use arca_logical::{FieldData, LogicalError, Operation, Request, Response, SecretInfo};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ExpirationManager;
use crate::entry::LeaseEntry;
use crate::error::ExpirationError;

/// Irrevocable leases listed by `GET sys/leases?type=irrevocable` without a `limit`.
const DEFAULT_IRREVOCABLE_LIMIT: usize = 10_000;

#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Lookup,
    LookupList(&'a str),
    Renew(Option<&'a str>),
    Revoke(Option<&'a str>),
    RevokePrefix(&'a str),
    RevokeForce(&'a str),
    Tidy,
    Count,
    Irrevocable,
    /// Under `leases/` but no such endpoint.
    Unknown,
}

fn route(sys_path: &str) -> Option<Route<'_>> {
    let (legacy, rest) = match sys_path.strip_prefix("leases") {
        Some("") => return Some(Route::Irrevocable),
        Some(r) => (false, r.strip_prefix('/')?),
        None => (true, sys_path),
    };
    let (head, tail) = match rest.split_once('/') {
        Some((h, t)) => (h, Some(t)),
        None => (rest, None),
    };
    Some(match (head, tail) {
        ("renew", t) => Route::Renew(t),
        ("revoke", t) => Route::Revoke(t),
        ("revoke-prefix", Some(t)) => Route::RevokePrefix(t),
        ("revoke-force", Some(t)) => Route::RevokeForce(t),
        _ if legacy => return None,
        ("lookup", None) => Route::Lookup,
        ("lookup", Some(t)) => Route::LookupList(t),
        ("tidy", None) => Route::Tidy,
        ("count", None) => Route::Count,
        _ => Route::Unknown,
    })
}

pub(crate) fn rfc3339(t: SystemTime) -> Value {
    OffsetDateTime::from(t)
        .format(&Rfc3339)
        .map_or(Value::Null, Value::String)
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

fn with_warnings(mut resp: Response, f: &FieldData<'_>) -> Response {
    resp.warnings.extend(f.warnings());
    resp
}

/// `lease_id` from the body, else from the path suffix.
fn lease_id_of(f: &FieldData<'_>, url: Option<&str>) -> Result<String, LogicalError> {
    f.mark_used(&["url_lease_id"]);
    let id = match f.string("lease_id")? {
        Some(id) if !id.is_empty() => id,
        _ => url.unwrap_or_default().to_owned(),
    };
    if id.is_empty() {
        return Err(LogicalError::invalid("lease_id must be specified"));
    }
    Ok(id)
}

impl ExpirationManager {
    /// Whether [`handle_sys`](Self::handle_sys) serves `sys_path` (the path after `sys/`):
    /// `leases`, everything under `leases/`, and the legacy `renew[/…]`, `revoke[/…]`,
    /// `revoke-prefix/…`, `revoke-force/…`.
    pub fn is_sys_path(sys_path: &str) -> bool {
        route(sys_path).is_some()
    }

    /// Serves every lease endpoint. `sys_path` is the path after `sys/`
    /// (`leases/renew`, `renew/<id>`, `leases/lookup/` for a LIST).
    ///
    /// `revoke`/`revoke-prefix` with `sync=false` and `tidy` answer `202 Accepted`, as
    /// Vault does.
    pub async fn handle_sys(
        &self,
        sys_path: &str,
        req: &Request,
    ) -> Result<Option<Response>, LogicalError> {
        let Some(route) = route(sys_path) else {
            return Err(LogicalError::unsupported_path());
        };
        if matches!(
            req.operation,
            Operation::Create | Operation::Update | Operation::Patch
        ) && sys_path.ends_with('/')
        {
            return Err(LogicalError::invalid(
                "cannot write to a path ending in '/'",
            ));
        }
        let op = req.operation;
        match route {
            Route::Unknown => Err(LogicalError::unsupported_path()),
            Route::Lookup if is_write(op) => self.sys_lookup(req).await,
            Route::LookupList(prefix) if op == Operation::List => {
                let keys = self.list_prefix(prefix).await?;
                let mut d = Map::new();
                d.insert("keys".into(), json!(keys));
                Ok(Some(Response::with_data(d)))
            }
            Route::Renew(url) if is_write(op) => self.sys_renew(req, url).await,
            Route::Revoke(url) if is_write(op) => {
                let f = req.fields();
                let id = lease_id_of(&f, url)?;
                if f.bool("sync")?.unwrap_or(true) {
                    self.revoke(&id).await?;
                    Ok(None)
                } else {
                    self.revoke_lazy(&id).await?;
                    Ok(Some(accepted(Vec::new())))
                }
            }
            Route::RevokePrefix(prefix) if is_write(op) => {
                let f = req.fields();
                f.mark_used(&["prefix"]);
                if f.bool("sync")?.unwrap_or(true) {
                    self.revoke_prefix(prefix, false).await?;
                    Ok(None)
                } else {
                    self.revoke_prefix_lazy(prefix).await?;
                    Ok(Some(accepted(Vec::new())))
                }
            }
            Route::RevokeForce(prefix) if is_write(op) => {
                self.revoke_prefix(prefix, true).await?;
                Ok(None)
            }
            Route::Tidy if is_write(op) => {
                let this = self.weak.upgrade().ok_or_else(LogicalError::sealed)?;
                self.spawn_tracked(async move {
                    if let Err(e) = this.tidy().await {
                        tracing::error!(error = %e, "lease tidy failed");
                    }
                });
                Ok(Some(accepted(vec![
                    "Lease tidy started in the background; its results are written to the server log."
                        .to_owned(),
                ])))
            }
            Route::Count if op == Operation::Read => Ok(self.sys_count(req)?),
            Route::Irrevocable if op == Operation::Read => Ok(self.sys_irrevocable(req)?),
            _ => Err(LogicalError::unsupported_operation()),
        }
    }

    async fn sys_lookup(&self, req: &Request) -> Result<Option<Response>, LogicalError> {
        let f = req.fields();
        let id = f.string("lease_id")?.unwrap_or_default();
        if id.is_empty() {
            return Err(LogicalError::invalid("lease_id must be specified"));
        }
        let Some(le) = self.lookup(&id).await? else {
            return Err(LogicalError::invalid("invalid lease"));
        };
        let d = self.lookup_data(&id, &le);
        Ok(Some(with_warnings(Response::with_data(d), &f)))
    }

    fn lookup_data(&self, id: &str, le: &LeaseEntry) -> Map<String, Value> {
        let now = self.clock.now();
        let mut d = Map::new();
        d.insert("id".into(), id.into());
        d.insert("issue_time".into(), rfc3339(le.issue_time));
        d.insert(
            "expire_time".into(),
            if le.expires() {
                rfc3339(le.expire_time)
            } else {
                Value::Null
            },
        );
        d.insert(
            "last_renewal".into(),
            le.last_renewal.map_or(Value::Null, rfc3339),
        );
        d.insert(
            "renewable".into(),
            self.check_renewable(le, now).is_ok().into(),
        );
        d.insert("ttl".into(), le.ttl_secs(now).into());
        d.insert("path".into(), le.path.clone().into());
        if let Some(e) = &le.last_error {
            d.insert("revoke_error".into(), e.clone().into());
        }
        d
    }

    async fn sys_renew(
        &self,
        req: &Request,
        url: Option<&str>,
    ) -> Result<Option<Response>, LogicalError> {
        let f = req.fields();
        let id = lease_id_of(&f, url)?;
        let increment = f.duration("increment")?.unwrap_or_default();
        let r = self
            .renew_inner(&id, increment, false)
            .await
            .map_err(|e| match e {
                // Renewal of an unknown lease is a client error in Vault, not a 404.
                ExpirationError::NotFound => LogicalError::invalid("lease not found"),
                e => LogicalError::from(e),
            })?;
        let resp = Response {
            data: r.data,
            warnings: r.warnings,
            secret: Some(SecretInfo {
                lease_id: r.lease_id,
                ttl: r.ttl,
                renewable: r.renewable,
                leased: true,
                ..SecretInfo::default()
            }),
            ..Response::default()
        };
        Ok(Some(with_warnings(resp, &f)))
    }

    /// `true` when the request asks for `type=irrevocable` (the only type Vault serves).
    fn wants_irrevocable(f: &FieldData<'_>) -> Result<bool, LogicalError> {
        f.mark_used(&["include_child_namespaces"]);
        Ok(f.string("type")?
            .is_some_and(|t| t.eq_ignore_ascii_case("irrevocable")))
    }

    fn sys_count(&self, req: &Request) -> Result<Option<Response>, LogicalError> {
        let f = req.fields();
        if !Self::wants_irrevocable(&f)? {
            return Ok(None);
        }
        let failing = self.failing_leases();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for le in &failing {
            *counts.entry(le.mount_point.clone()).or_default() += 1;
        }
        let mut d = Map::new();
        d.insert("lease_count".into(), failing.len().into());
        d.insert("counts".into(), json!(counts));
        Ok(Some(with_warnings(Response::with_data(d), &f)))
    }

    fn sys_irrevocable(&self, req: &Request) -> Result<Option<Response>, LogicalError> {
        let f = req.fields();
        if !Self::wants_irrevocable(&f)? {
            return Ok(None);
        }
        let limit = match f.string("limit")?.unwrap_or_default().as_str() {
            "" => Some(DEFAULT_IRREVOCABLE_LIMIT),
            l if l.eq_ignore_ascii_case("none") => None,
            l => match l.parse::<usize>() {
                Ok(n) if n >= 1 => Some(n),
                _ => {
                    return Err(LogicalError::invalid(
                        "limit must be 'none' or a positive integer",
                    ));
                }
            },
        };
        let failing = self.failing_leases();
        let total = failing.len();
        let shown: Vec<Value> = failing
            .iter()
            .take(limit.unwrap_or(usize::MAX))
            .map(|le| {
                json!({
                    "lease_id": le.lease_id,
                    "mount_id": le.mount_point,
                    "error": le.last_error.clone().unwrap_or_default(),
                })
            })
            .collect();
        let mut resp = Response::with_data(Map::new());
        if shown.len() < total {
            resp.warnings.push(
                "More irrevocable leases exist than were listed; set limit=none to list them all."
                    .to_owned(),
            );
        }
        if let Some(d) = resp.data.as_mut() {
            d.insert("lease_count".into(), shown.len().into());
            d.insert("leases".into(), Value::Array(shown));
        }
        Ok(Some(with_warnings(resp, &f)))
    }
}

/// A 202 envelope: the work continues in the background.
fn accepted(warnings: Vec<String>) -> Response {
    Response {
        warnings,
        status: arca_logical::ResponseStatus::Accepted,
        ..Response::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("leases/lookup"), Some(Route::Lookup));
        assert_eq!(route("leases/lookup/"), Some(Route::LookupList("")));
        assert_eq!(
            route("leases/lookup/db/creds/"),
            Some(Route::LookupList("db/creds/"))
        );
        assert_eq!(route("leases/renew"), Some(Route::Renew(None)));
        assert_eq!(
            route("leases/renew/db/creds/x"),
            Some(Route::Renew(Some("db/creds/x")))
        );
        assert_eq!(
            route("renew/db/creds/x"),
            Some(Route::Renew(Some("db/creds/x")))
        );
        assert_eq!(route("revoke"), Some(Route::Revoke(None)));
        assert_eq!(route("revoke-prefix/db/"), Some(Route::RevokePrefix("db/")));
        assert_eq!(
            route("leases/revoke-force/db"),
            Some(Route::RevokeForce("db"))
        );
        assert_eq!(route("leases/tidy"), Some(Route::Tidy));
        assert_eq!(route("leases/count"), Some(Route::Count));
        assert_eq!(route("leases"), Some(Route::Irrevocable));
        assert_eq!(route("leases/nope"), Some(Route::Unknown));
        assert_eq!(route("leases/revoke-prefix"), Some(Route::Unknown));
        assert_eq!(route("renewal"), None);
        assert_eq!(route("revoke-prefix"), None);
        assert_eq!(route("leasesx"), None);
        assert_eq!(route("mounts"), None);
        assert_eq!(route("tidy"), None);
    }
}
