//! The common `token_*` fields of auth-method roles and users (Vault's `tokenutil`).

use std::net::IpAddr;
use std::time::Duration;

use arca_logical::{Auth, FieldData, LogicalError, LogicalResult, Response, TokenType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cidr;

/// The `token_type` a role asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenTypeSetting {
    /// Whatever the mount's tuning says (service unless tuned otherwise).
    #[default]
    Default,
    /// Service tokens.
    Service,
    /// Batch tokens.
    Batch,
}

impl TokenTypeSetting {
    /// `default`, `service` or `batch`, as a read shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenTypeSetting::Default => "default",
            TokenTypeSetting::Service => "service",
            TokenTypeSetting::Batch => "batch",
        }
    }
}

/// Which legacy (pre-`token_*`) field names an endpoint accepts. A legacy name written
/// alone sets both the legacy and the new value; the new name wins when both are sent,
/// and a read echoes the legacy key only while it was the one last written (Vault's
/// `tokenutil.UpgradeValue`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Legacy {
    /// `policies` for `token_policies`.
    pub policies: bool,
    /// `ttl` for `token_ttl`.
    pub ttl: bool,
    /// `max_ttl` for `token_max_ttl`.
    pub max_ttl: bool,
    /// `period` for `token_period`.
    pub period: bool,
    /// `bound_cidrs` for `token_bound_cidrs`.
    pub bound_cidrs: bool,
}

impl Legacy {
    /// No legacy names.
    pub const NONE: Legacy = Legacy {
        policies: false,
        ttl: false,
        max_ttl: false,
        period: false,
        bound_cidrs: false,
    };
    /// userpass users: `policies`, `ttl`, `max_ttl`, `bound_cidrs`.
    pub const USERPASS: Legacy = Legacy {
        policies: true,
        ttl: true,
        max_ttl: true,
        period: false,
        bound_cidrs: true,
    };
    /// Every legacy name (cert entries, JWT roles).
    pub const ALL: Legacy = Legacy {
        policies: true,
        ttl: true,
        max_ttl: true,
        period: true,
        bound_cidrs: true,
    };
    /// AppRole roles: `policies`, `period`.
    pub const APPROLE: Legacy = Legacy {
        policies: true,
        ttl: false,
        max_ttl: false,
        period: true,
        bound_cidrs: false,
    };
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The token settings of a role or user, as stored. Durations are whole seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenParams {
    /// CIDR blocks the issued token may be used from (canonical form).
    #[serde(default)]
    pub token_bound_cidrs: Vec<String>,
    /// Hard cap on the token's life, seconds (0 = none).
    #[serde(default)]
    pub token_explicit_max_ttl: u64,
    /// Maximum TTL over renewals, seconds (0 = the mount's).
    #[serde(default)]
    pub token_max_ttl: u64,
    /// Whether `default` is left out of the token's policies.
    #[serde(default)]
    pub token_no_default_policy: bool,
    /// Periodic tokens: each renewal grants this, seconds (0 = not periodic).
    #[serde(default)]
    pub token_period: u64,
    /// Policies of the issued token (normalised, sorted, deduplicated).
    #[serde(default)]
    pub token_policies: Vec<String>,
    /// Service, batch or the mount's default.
    #[serde(default)]
    pub token_type: TokenTypeSetting,
    /// Initial TTL, seconds (0 = the mount's default).
    #[serde(default)]
    pub token_ttl: u64,
    /// Uses of the issued token (0 = unlimited).
    #[serde(default)]
    pub token_num_uses: u64,
    /// Bind the token to the login's source address (OpenBao).
    #[serde(default)]
    pub token_strictly_bind_ip: bool,
    /// Legacy `policies`, echoed on reads while it was the key last written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Legacy `ttl`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ttl: u64,
    /// Legacy `max_ttl`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_ttl: u64,
    /// Legacy `period`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub period: u64,
    /// Legacy `bound_cidrs`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bound_cidrs: Vec<String>,
}

/// Vault's `policyutil.ParsePolicies` without adding `default`: names trimmed and
/// lower-cased, empty names dropped, sorted, deduplicated.
pub fn parse_policies(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = list
        .iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `token_policies` as written: OpenBao's `tokenutil` keeps the list in the order given
/// (reads echo it so); names are still trimmed and lower-cased, empty names and repeats
/// dropped. Tokens sort their policies anyway.
fn ordered_policies(list: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for p in list.iter().map(|p| p.trim().to_lowercase()) {
        if !p.is_empty() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Vault's `policyutil.EquivalentPolicies`: the same set once normalised, ignoring
/// `default`.
pub fn equivalent_policies(a: &[String], b: &[String]) -> bool {
    let strip = |v: &[String]| {
        let mut p = parse_policies(v);
        p.retain(|x| x != "default");
        p
    };
    strip(a) == strip(b)
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

fn bad(msg: &str) -> LogicalError {
    LogicalError::invalid(msg)
}

fn cidrs(list: &[String], field: &str) -> LogicalResult<Vec<String>> {
    cidr::canonical(list)
        .ok_or_else(|| LogicalError::invalid(format!("invalid CIDR block in \"{field}\"")))
}

/// One legacy duration pair: the legacy name alone sets both; with the new name the
/// legacy echo follows it if both were sent, and is cleared otherwise.
fn upgrade_duration(
    f: &FieldData<'_>,
    old_key: &str,
    new_key: &str,
    old: &mut u64,
    new: &mut u64,
) -> LogicalResult<()> {
    let new_sent = f.raw(new_key).is_some();
    match f.duration(old_key)? {
        Some(d) if !new_sent => {
            *old = secs(d);
            *new = *old;
        }
        Some(_) => *old = *new,
        None if new_sent => *old = 0,
        None => {}
    }
    Ok(())
}

impl TokenParams {
    /// Applies the token fields present in `f` (and the legacy names `legacy` allows),
    /// then checks the combination. Returns warnings for the response.
    pub fn update(&mut self, f: &FieldData<'_>, legacy: Legacy) -> LogicalResult<Vec<String>> {
        let mut warnings = Vec::new();
        if let Some(v) = f.comma_list("token_bound_cidrs")? {
            self.token_bound_cidrs = cidrs(&v, "token_bound_cidrs")?;
        }
        if let Some(d) = f.duration("token_explicit_max_ttl")? {
            self.token_explicit_max_ttl = secs(d);
        }
        if let Some(d) = f.duration("token_max_ttl")? {
            self.token_max_ttl = secs(d);
        }
        if let Some(b) = f.bool("token_no_default_policy")? {
            self.token_no_default_policy = b;
        }
        if let Some(d) = f.duration("token_period")? {
            self.token_period = secs(d);
        }
        if let Some(p) = f.comma_list("token_policies")? {
            self.token_policies = ordered_policies(&p);
        }
        if let Some(t) = f.string("token_type")? {
            self.token_type = match t.as_str() {
                "" | "default" => TokenTypeSetting::Default,
                "service" => TokenTypeSetting::Service,
                "batch" => TokenTypeSetting::Batch,
                "default-service" => {
                    warnings.push(
                        "default-service has no useful meaning; adjusting to service".to_owned(),
                    );
                    TokenTypeSetting::Service
                }
                "default-batch" => {
                    warnings
                        .push("default-batch has no useful meaning; adjusting to batch".to_owned());
                    TokenTypeSetting::Batch
                }
                _ => return Err(bad("invalid 'token_type' value")),
            };
        }
        if let Some(d) = f.duration("token_ttl")? {
            self.token_ttl = secs(d);
        }
        if let Some(n) = f.i64("token_num_uses")? {
            self.token_num_uses =
                u64::try_from(n).map_err(|_| bad("'token_num_uses' cannot be negative"))?;
        }
        if let Some(b) = f.bool("token_strictly_bind_ip")? {
            self.token_strictly_bind_ip = b;
        }
        self.upgrade_legacy(f, legacy)?;

        let batch = self.token_type == TokenTypeSetting::Batch;
        if batch && self.token_period != 0 {
            return Err(bad(
                "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
            ));
        }
        if batch && self.token_num_uses != 0 {
            return Err(bad(
                "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
            ));
        }
        if self.token_ttl > 0 && self.token_max_ttl > 0 && self.token_ttl > self.token_max_ttl {
            return Err(bad("'token_ttl' cannot be greater than 'token_max_ttl'"));
        }
        if self.token_strictly_bind_ip && !self.token_bound_cidrs.is_empty() {
            return Err(bad(
                "'token_strictly_bind_ip' conflicts with 'token_bound_cidrs'; set only one",
            ));
        }
        Ok(warnings)
    }

    /// Vault's `UpgradeValue` for each legacy pair `legacy` enables.
    fn upgrade_legacy(&mut self, f: &FieldData<'_>, legacy: Legacy) -> LogicalResult<()> {
        if legacy.policies {
            let new_sent = f.raw("token_policies").is_some();
            match f.comma_list("policies")? {
                Some(old) if !new_sent => {
                    self.policies = parse_policies(&old);
                    self.token_policies = self.policies.clone();
                }
                Some(_) => self.policies = self.token_policies.clone(),
                None if new_sent => self.policies.clear(),
                None => {}
            }
        }
        if legacy.ttl {
            upgrade_duration(f, "ttl", "token_ttl", &mut self.ttl, &mut self.token_ttl)?;
        }
        if legacy.max_ttl {
            upgrade_duration(
                f,
                "max_ttl",
                "token_max_ttl",
                &mut self.max_ttl,
                &mut self.token_max_ttl,
            )?;
        }
        if legacy.period {
            upgrade_duration(
                f,
                "period",
                "token_period",
                &mut self.period,
                &mut self.token_period,
            )?;
        }
        if legacy.bound_cidrs {
            let new_sent = f.raw("token_bound_cidrs").is_some();
            match f.comma_list("bound_cidrs")? {
                Some(old) if !new_sent => {
                    self.bound_cidrs = cidrs(&old, "bound_cidrs")?;
                    self.token_bound_cidrs = self.bound_cidrs.clone();
                }
                Some(_) => self.bound_cidrs = self.token_bound_cidrs.clone(),
                None if new_sent => self.bound_cidrs.clear(),
                None => {}
            }
        }
        Ok(())
    }

    /// Adds every `token_*` key to a read's data (Vault's `PopulateTokenData`), and the
    /// legacy keys `legacy` allows that are set.
    pub fn populate_data(&self, m: &mut Map<String, Value>, legacy: Legacy) {
        m.insert(
            "token_bound_cidrs".into(),
            self.token_bound_cidrs.clone().into(),
        );
        m.insert(
            "token_explicit_max_ttl".into(),
            self.token_explicit_max_ttl.into(),
        );
        m.insert("token_max_ttl".into(), self.token_max_ttl.into());
        m.insert(
            "token_no_default_policy".into(),
            self.token_no_default_policy.into(),
        );
        m.insert("token_period".into(), self.token_period.into());
        m.insert("token_policies".into(), self.token_policies.clone().into());
        m.insert("token_type".into(), self.token_type.as_str().into());
        m.insert("token_ttl".into(), self.token_ttl.into());
        m.insert("token_num_uses".into(), self.token_num_uses.into());
        m.insert(
            "token_strictly_bind_ip".into(),
            self.token_strictly_bind_ip.into(),
        );
        if legacy.policies && !self.policies.is_empty() {
            m.insert("policies".into(), self.token_policies.clone().into());
        }
        if legacy.ttl && self.ttl > 0 {
            m.insert("ttl".into(), self.ttl.into());
        }
        if legacy.max_ttl && self.max_ttl > 0 {
            m.insert("max_ttl".into(), self.max_ttl.into());
        }
        if legacy.period && self.period > 0 {
            m.insert("period".into(), self.period.into());
        }
        if legacy.bound_cidrs && !self.bound_cidrs.is_empty() {
            m.insert("bound_cidrs".into(), self.bound_cidrs.clone().into());
        }
    }

    /// The answer to a renewal that is allowed: `auth` with this role's current
    /// `token_ttl`, `token_max_ttl` and `token_period`.
    pub fn renewed(&self, auth: &Auth) -> Response {
        let mut renewed = auth.clone();
        renewed.ttl = Duration::from_secs(self.token_ttl);
        renewed.max_ttl = Duration::from_secs(self.token_max_ttl);
        renewed.period = Duration::from_secs(self.token_period);
        Response {
            auth: Some(renewed),
            ..Response::default()
        }
    }

    /// Fills a login's `auth` with these settings (Vault's `PopulateTokenAuth`): policies,
    /// TTLs, period, use limit, token type, bound CIDRs and `renewable = true`. With
    /// `token_strictly_bind_ip` the token is bound to `remote`, which must then be known.
    pub fn populate_auth(&self, auth: &mut Auth, remote: Option<IpAddr>) -> LogicalResult<()> {
        auth.bound_cidrs = self.token_bound_cidrs.clone();
        auth.explicit_max_ttl = Duration::from_secs(self.token_explicit_max_ttl);
        auth.max_ttl = Duration::from_secs(self.token_max_ttl);
        auth.no_default_policy = self.token_no_default_policy;
        auth.period = Duration::from_secs(self.token_period);
        auth.policies = self.token_policies.clone();
        auth.renewable = true;
        auth.token_type = match self.token_type {
            TokenTypeSetting::Batch => TokenType::Batch,
            TokenTypeSetting::Service | TokenTypeSetting::Default => TokenType::Service,
        };
        // A role's explicit choice wins over a mount's `default-service`/`default-batch`.
        auth.token_type_explicit = self.token_type != TokenTypeSetting::Default;
        auth.ttl = Duration::from_secs(self.token_ttl);
        auth.num_uses = self.token_num_uses;
        if self.token_strictly_bind_ip {
            let ip = remote
                .ok_or_else(|| LogicalError::invalid("failed to get connection information"))?;
            auth.bound_cidrs = vec![ip.to_string()];
        }
        Ok(())
    }

    /// The field names [`TokenParams::update`] reads, for endpoints that must mark them
    /// as understood without applying them.
    pub fn field_names(legacy: Legacy) -> Vec<&'static str> {
        let mut v = vec![
            "token_bound_cidrs",
            "token_explicit_max_ttl",
            "token_max_ttl",
            "token_no_default_policy",
            "token_period",
            "token_policies",
            "token_type",
            "token_ttl",
            "token_num_uses",
            "token_strictly_bind_ip",
        ];
        for (on, name) in [
            (legacy.policies, "policies"),
            (legacy.ttl, "ttl"),
            (legacy.max_ttl, "max_ttl"),
            (legacy.period, "period"),
            (legacy.bound_cidrs, "bound_cidrs"),
        ] {
            if on {
                v.push(name);
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    fn apply(p: &mut TokenParams, body: Value, legacy: Legacy) -> LogicalResult<Vec<String>> {
        let m = body.as_object().unwrap().clone();
        let f = FieldData::new(&m);
        p.update(&f, legacy)
    }

    #[test]
    fn decodes_every_field() {
        let mut p = TokenParams::default();
        apply(
            &mut p,
            json!({
                "token_bound_cidrs": "127.0.0.1/32, 10.0.0.0/8",
                "token_explicit_max_ttl": "2h",
                "token_max_ttl": 7200,
                "token_no_default_policy": "true",
                "token_period": "0",
                "token_policies": "Web, app,app",
                "token_type": "service",
                "token_ttl": "1h",
                "token_num_uses": "3",
            }),
            Legacy::NONE,
        )
        .unwrap();
        assert_eq!(p.token_bound_cidrs, vec!["127.0.0.1", "10.0.0.0/8"]);
        assert_eq!(p.token_explicit_max_ttl, 7200);
        assert_eq!(p.token_max_ttl, 7200);
        assert!(p.token_no_default_policy);
        assert_eq!(p.token_policies, vec!["web", "app"]);
        assert_eq!(p.token_type, TokenTypeSetting::Service);
        assert_eq!((p.token_ttl, p.token_num_uses), (3600, 3));

        let mut m = Map::new();
        p.populate_data(&mut m, Legacy::USERPASS);
        assert_eq!(m["token_ttl"], json!(3600));
        assert_eq!(m["token_type"], json!("service"));
        assert!(!m.contains_key("policies"));

        let mut auth = Auth::default();
        p.populate_auth(&mut auth, None).unwrap();
        assert_eq!(auth.ttl, Duration::from_secs(3600));
        assert_eq!(auth.policies, vec!["web", "app"]);
        assert!(auth.renewable && auth.no_default_policy);
        assert_eq!(auth.num_uses, 3);
    }

    #[test]
    fn validation_messages() {
        let cases = [
            (
                json!({"token_type": "batch", "token_period": 60}),
                "'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
            ),
            (
                json!({"token_type": "batch", "token_num_uses": 1}),
                "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
            ),
            (
                json!({"token_ttl": 100, "token_max_ttl": 10}),
                "'token_ttl' cannot be greater than 'token_max_ttl'",
            ),
            (
                json!({"token_num_uses": -1}),
                "'token_num_uses' cannot be negative",
            ),
            (json!({"token_type": "weird"}), "invalid 'token_type' value"),
            (
                json!({"token_bound_cidrs": "nope"}),
                "invalid CIDR block in \"token_bound_cidrs\"",
            ),
            (
                json!({"token_strictly_bind_ip": true, "token_bound_cidrs": "10.0.0.0/8"}),
                "'token_strictly_bind_ip' conflicts with 'token_bound_cidrs'; set only one",
            ),
        ];
        for (body, msg) in cases {
            let err = apply(&mut TokenParams::default(), body, Legacy::NONE).unwrap_err();
            assert_eq!(err.message, msg);
        }
        let w = apply(
            &mut TokenParams::default(),
            json!({"token_type": "default-batch"}),
            Legacy::NONE,
        )
        .unwrap();
        assert_eq!(
            w,
            vec!["default-batch has no useful meaning; adjusting to batch"]
        );
    }

    #[test]
    fn legacy_names_upgrade_like_vault() {
        let mut p = TokenParams::default();
        apply(
            &mut p,
            json!({"policies": "a,b", "ttl": "1h"}),
            Legacy::USERPASS,
        )
        .unwrap();
        assert_eq!(p.token_policies, vec!["a", "b"]);
        assert_eq!(p.policies, vec!["a", "b"]);
        assert_eq!((p.token_ttl, p.ttl), (3600, 3600));
        let mut m = Map::new();
        p.populate_data(&mut m, Legacy::USERPASS);
        assert_eq!(m["policies"], json!(["a", "b"]));
        assert_eq!(m["ttl"], json!(3600));

        // Writing the new name alone clears the legacy echo.
        apply(
            &mut p,
            json!({"token_policies": "c", "token_ttl": 60}),
            Legacy::USERPASS,
        )
        .unwrap();
        assert!(p.policies.is_empty());
        assert_eq!((p.token_ttl, p.ttl), (60, 0));

        // Both: the new name wins, the legacy echo follows it.
        apply(
            &mut p,
            json!({"token_policies": "d", "policies": "e"}),
            Legacy::USERPASS,
        )
        .unwrap();
        assert_eq!(p.token_policies, vec!["d"]);
        assert_eq!(p.policies, vec!["d"]);

        // A legacy name the endpoint does not know is left alone (and warned about).
        let mut q = TokenParams::default();
        let body = json!({"period": 60});
        let m = body.as_object().unwrap().clone();
        let f = FieldData::new(&m);
        q.update(&f, Legacy::USERPASS).unwrap();
        assert_eq!(q.token_period, 0);
        assert_eq!(f.warnings().len(), 1);
    }

    #[test]
    fn strictly_bind_ip_uses_the_remote_address() {
        let p = TokenParams {
            token_strictly_bind_ip: true,
            ..TokenParams::default()
        };
        let mut auth = Auth::default();
        assert!(p.populate_auth(&mut auth, None).is_err());
        p.populate_auth(&mut auth, Some("10.1.2.3".parse().unwrap()))
            .unwrap();
        assert_eq!(auth.bound_cidrs, vec!["10.1.2.3"]);
    }

    #[test]
    fn policy_equivalence_ignores_default_and_case() {
        let v = |x: &[&str]| x.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(equivalent_policies(&v(&["App", "default"]), &v(&["app"])));
        assert!(!equivalent_policies(&v(&["app"]), &v(&["app", "web"])));
    }
}
