//! PostgreSQL (`postgresql-database-plugin`) over tokio-postgres with a deadpool pool.
//!
//! Statements run through the simple query protocol (`batch_execute`), each statement list
//! in one transaction, with Vault's templating. Revocation first forbids new logins
//! (`NOLOGIN`), then terminates the user's sessions (`pg_terminate_backend`), then runs the
//! revocation statements or the default clean-up (revoke privileges, `DROP ROLE`).
//!
//! TLS: libpq's `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`) and
//! `sslrootcert`/`sslcert`/`sslkey` file parameters in the connection URL, or the PEM
//! settings `tls_ca`, `tls_certificate` and `private_key`.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio_postgres::config::SslMode;
use zeroize::Zeroizing;

use super::tls::{self, Verify};
use super::{Common, Database, DbError, get_str_opt};
use crate::template::{split_statements, substitute};

const DEFAULT_RENEW: &str = r#"ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';"#;
const DEFAULT_ROTATE: &str = r#"ALTER ROLE "{{username}}" WITH PASSWORD '{{password}}';"#;
/// Go's `2006-01-02 15:04:05-0700`.
const EXPIRATION_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day] [hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
);

pub struct Postgres {
    pool: Pool,
    secrets: Vec<Zeroizing<String>>,
}

/// libpq parameters tokio-postgres does not know, taken out of the URL.
#[derive(Default)]
struct TlsParams {
    sslmode: Option<String>,
    rootcert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

fn take_param(p: &mut TlsParams, key: &str, value: &str) -> bool {
    let v = Some(value.to_owned());
    match key {
        "sslmode" => p.sslmode = v,
        "sslrootcert" => p.rootcert = v,
        "sslcert" => p.cert = v,
        "sslkey" => p.key = v,
        _ => return false,
    }
    true
}

/// Removes the TLS parameters from a URL or key=value connection string.
fn split_tls(conn: &str) -> (String, TlsParams) {
    let mut p = TlsParams::default();
    if conn.contains("://") {
        let Some((base, query)) = conn.split_once('?') else {
            return (conn.to_owned(), p);
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                let v = percent_encoding::percent_decode_str(v).decode_utf8_lossy();
                !take_param(&mut p, k, &v)
            })
            .collect();
        if kept.is_empty() {
            (base.to_owned(), p)
        } else {
            (format!("{base}?{}", kept.join("&")), p)
        }
    } else {
        let kept: Vec<&str> = conn
            .split_whitespace()
            .filter(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                !take_param(&mut p, k.trim(), v.trim().trim_matches('\''))
            })
            .collect();
        (kept.join(" "), p)
    }
}

fn read_file(path: &str) -> Result<String, DbError> {
    std::fs::read_to_string(path)
        .map_err(|_| DbError::config("a TLS file named in the connection URL could not be read"))
}

impl Postgres {
    pub fn new(common: Common, details: &Map<String, Value>) -> Result<Self, DbError> {
        if common.connection_url.is_empty() {
            return Err(DbError::config("connection_url cannot be empty"));
        }
        let url_form = common.connection_url.contains("://");
        let rendered = common.rendered_url(url_form);
        let (conn_str, params) = split_tls(&rendered);
        let mut cfg: tokio_postgres::Config = conn_str
            .parse()
            .map_err(|_| DbError::config("connection_url could not be parsed"))?;
        if cfg.get_user().is_none() && !common.username.is_empty() {
            cfg.user(&common.username);
        }
        if cfg.get_password().is_none() && !common.password.is_empty() {
            cfg.password(common.password.as_bytes());
        }
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(10));
        }
        let ca = match (get_str_opt(details, "tls_ca")?, &params.rootcert) {
            (Some(pem), _) => Some(pem),
            (None, Some(path)) => Some(read_file(path)?),
            (None, None) => None,
        };
        let cert = match (get_str_opt(details, "tls_certificate")?, &params.cert) {
            (Some(pem), _) => Some(pem),
            (None, Some(path)) => Some(read_file(path)?),
            _ => None,
        };
        let key = match (get_str_opt(details, "private_key")?, &params.key) {
            (Some(pem), _) => Some(Zeroizing::new(pem)),
            (None, Some(path)) => Some(Zeroizing::new(read_file(path)?)),
            _ => None,
        };
        let (mode, verify) = match params.sslmode.as_deref() {
            None | Some("prefer") | Some("allow") => (
                if ca.is_some() {
                    SslMode::Require
                } else {
                    SslMode::Prefer
                },
                if ca.is_some() {
                    Verify::Full
                } else {
                    Verify::Nothing
                },
            ),
            Some("disable") => (SslMode::Disable, Verify::Nothing),
            // libpq: `require` with a root certificate behaves like verify-ca.
            Some("require") => (
                SslMode::Require,
                if ca.is_some() {
                    Verify::Chain
                } else {
                    Verify::Nothing
                },
            ),
            Some("verify-ca") => (SslMode::Require, Verify::Chain),
            Some("verify-full") => (SslMode::Require, Verify::Full),
            Some(_) => return Err(DbError::config("unsupported sslmode")),
        };
        cfg.ssl_mode(mode);
        let identity = match (&cert, &key) {
            (Some(c), Some(k)) => Some((c.as_str(), k.as_str())),
            (None, None) => None,
            _ => {
                return Err(DbError::config(
                    "a TLS client certificate needs both a certificate and a private key",
                ));
            }
        };
        let tls_config = tls::client_config(ca.as_deref(), verify, identity)?;
        let connector = tokio_postgres_rustls::MakeRustlsConnect::new((*tls_config).clone());
        let manager = Manager::from_config(
            cfg,
            connector,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let mut builder = Pool::builder(manager)
            .max_size(common.max_open)
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(15)))
            .wait_timeout(Some(Duration::from_secs(15)))
            .recycle_timeout(Some(Duration::from_secs(5)));
        if let Some(life) = common.max_lifetime {
            builder = builder.pre_recycle(Hook::sync_fn(move |_, metrics| {
                if metrics.age() > life {
                    Err(HookError::Message(
                        "connection reached max_connection_lifetime".into(),
                    ))
                } else {
                    Ok(())
                }
            }));
        }
        let pool = builder
            .build()
            .map_err(|_| DbError::config("connection pool could not be built"))?;
        let mut secrets = vec![Zeroizing::new(common.password.to_string())];
        if let Some(k) = key {
            secrets.push(k);
        }
        Ok(Postgres { pool, secrets })
    }

    fn err(&self, e: &dyn std::fmt::Display, extra: &[&str]) -> DbError {
        let mut s: Vec<&str> = self.secrets.iter().map(|z| z.as_str()).collect();
        s.extend_from_slice(extra);
        DbError::db(e, &s)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        self.pool.get().await.map_err(|e| {
            // deadpool wraps the driver error; its text says why (refused, auth failed).
            let inner: String = match &e {
                deadpool_postgres::PoolError::Backend(b) => pg_message(b),
                other => other.to_string(),
            };
            self.err(&format!("unable to connect to the database: {inner}"), &[])
        })
    }

    /// Runs statement lists in one transaction with `values` substituted.
    async fn run(
        &self,
        lists: &[String],
        values: &[(&str, &str)],
        secret: &str,
    ) -> Result<(), DbError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| self.err(&pg_message(&e), &[secret]))?;
        for stmt in lists {
            // The simple query protocol takes several statements at once, so an entry is
            // sent whole (a `DO $$ ... END $$` body stays intact); a JSON list is split.
            let queries = if stmt.trim_start().starts_with('[') {
                split_statements(stmt)
            } else {
                vec![stmt.clone()]
            };
            for q in queries {
                let q = Zeroizing::new(substitute(&q, values));
                tx.batch_execute(&q)
                    .await
                    .map_err(|e| self.err(&pg_message(&e), &[secret]))?;
            }
        }
        tx.commit()
            .await
            .map_err(|e| self.err(&pg_message(&e), &[secret]))
    }

    async fn role_exists(
        &self,
        client: &deadpool_postgres::Object,
        username: &str,
    ) -> Result<bool, DbError> {
        let row = client
            .query_one(
                "SELECT exists (SELECT 1 FROM pg_roles WHERE rolname = $1)",
                &[&username],
            )
            .await
            .map_err(|e| self.err(&pg_message(&e), &[]))?;
        Ok(row.get(0))
    }
}

/// The server's message (`role "x" already exists`), or the client error's text.
fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn expiration(t: OffsetDateTime) -> String {
    t.format(EXPIRATION_FORMAT).unwrap_or_default()
}

#[async_trait]
impl Database for Postgres {
    async fn verify(&self) -> Result<(), DbError> {
        let client = self.client().await?;
        client
            .batch_execute("SELECT 1")
            .await
            .map_err(|e| self.err(&pg_message(&e), &[]))
    }

    async fn create_user(
        &self,
        creation: &[String],
        rollback: &[String],
        username: &str,
        password: &str,
        exp: OffsetDateTime,
    ) -> Result<(), DbError> {
        if creation.is_empty() {
            return Err(DbError::config("empty creation statements"));
        }
        let exp = expiration(exp);
        let values = [
            ("name", username),
            ("username", username),
            ("password", password),
            ("expiration", exp.as_str()),
        ];
        match self.run(creation, &values, password).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if !rollback.is_empty() {
                    let values = [("name", username), ("username", username)];
                    if let Err(re) = self.run(rollback, &values, password).await {
                        tracing::warn!(error = %re, "rollback statements failed after a failed user creation");
                    }
                }
                Err(e)
            }
        }
    }

    async fn renew_user(
        &self,
        statements: &[String],
        username: &str,
        exp: OffsetDateTime,
    ) -> Result<(), DbError> {
        let default = [DEFAULT_RENEW.to_owned()];
        let stmts = if statements.is_empty() {
            &default[..]
        } else {
            statements
        };
        let exp = expiration(exp);
        let values = [
            ("name", username),
            ("username", username),
            ("expiration", exp.as_str()),
        ];
        self.run(stmts, &values, "").await
    }

    async fn set_password(
        &self,
        statements: &[String],
        username: &str,
        password: &str,
    ) -> Result<(), DbError> {
        if password.is_empty() {
            return Err(DbError::config("missing password"));
        }
        let default = [DEFAULT_ROTATE.to_owned()];
        let stmts = if statements.is_empty() {
            &default[..]
        } else {
            statements
        };
        let values = [
            ("name", username),
            ("username", username),
            ("password", password),
        ];
        self.run(stmts, &values, password).await
    }

    async fn delete_user(&self, statements: &[String], username: &str) -> Result<(), DbError> {
        let client = self.client().await?;
        if !self.role_exists(&client, username).await? {
            return Ok(());
        }
        let ident = quote_ident(username);
        // No new sessions, then end the open ones, so nothing survives the revocation.
        client
            .batch_execute(&format!("ALTER ROLE {ident} NOLOGIN"))
            .await
            .map_err(|e| self.err(&pg_message(&e), &[]))?;
        client
            .query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()",
                &[&username],
            )
            .await
            .map_err(|e| self.err(&pg_message(&e), &[]))?;
        if !statements.is_empty() {
            drop(client);
            let values = [("name", username), ("username", username)];
            return self.run(statements, &values, "").await;
        }
        // The default clean-up: revoke what can be revoked (errors do not stop it), then
        // drop the role; only the drop decides success.
        let mut stmts = Vec::new();
        let rows = client
            .query(
                "SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee = $1",
                &[&username],
            )
            .await
            .map_err(|e| self.err(&pg_message(&e), &[]))?;
        for r in rows {
            let schema: String = r.get(0);
            let s = quote_ident(&schema);
            stmts.push(format!(
                "REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA {s} FROM {ident}"
            ));
            stmts.push(format!("REVOKE USAGE ON SCHEMA {s} FROM {ident}"));
        }
        stmts.push(format!(
            "REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM {ident}"
        ));
        stmts.push(format!(
            "REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM {ident}"
        ));
        stmts.push(format!("REVOKE USAGE ON SCHEMA public FROM {ident}"));
        let db: String = client
            .query_one("SELECT current_database()", &[])
            .await
            .map_err(|e| self.err(&pg_message(&e), &[]))?
            .get(0);
        stmts.push(format!(
            "REVOKE CONNECT ON DATABASE {} FROM {ident}",
            quote_ident(&db)
        ));
        for s in stmts {
            if let Err(e) = client.batch_execute(&s).await {
                tracing::debug!(error = %pg_message(&e), "a default revocation statement failed");
            }
        }
        client
            .batch_execute(&format!("DROP ROLE IF EXISTS {ident}"))
            .await
            .map_err(|e| self.err(&pg_message(&e), &[]))
    }

    async fn close(&self) {
        self.pool.close();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tls_params_are_taken_out() {
        let (u, p) = split_tls(
            "postgres://u:p@h:5432/db?sslmode=verify-full&application_name=x&sslrootcert=/ca.pem",
        );
        assert_eq!(u, "postgres://u:p@h:5432/db?application_name=x");
        assert_eq!(p.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(p.rootcert.as_deref(), Some("/ca.pem"));
        let (u, p) = split_tls("host=h user=u sslmode=disable dbname=d");
        assert_eq!(u, "host=h user=u dbname=d");
        assert_eq!(p.sslmode.as_deref(), Some("disable"));
        let (u, _) = split_tls("postgres://h/db?sslmode=require");
        assert_eq!(u, "postgres://h/db");
    }

    #[test]
    fn expiration_format_is_gos() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_821_617).unwrap();
        assert_eq!(expiration(t), "2026-11-27 23:20:17+0000");
    }
}
