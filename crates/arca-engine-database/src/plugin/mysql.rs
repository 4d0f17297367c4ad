//! MySQL and MariaDB (`mysql-database-plugin` and variants) over mysql_async.
//!
//! `connection_url` is Go's DSN (`{{username}}:{{password}}@tcp(127.0.0.1:3306)/`, as Vault
//! documents it) or a `mysql://` URL. Statements are split on `;` and run one by one (DDL
//! commits implicitly in MySQL anyway). Revocation runs the revocation statements (default:
//! revoke everything and `DROP USER '{{name}}'@'%'`), then kills the user's open
//! connections (`KILL CONNECTION`). MySQL has no account expiry, so renewal is a no-op
//! unless the role has renew statements.
//!
//! TLS: the DSN's `tls=` parameter (`true`, `skip-verify`, `preferred`, `false`) and the
//! settings `tls_ca` (PEM), `tls_certificate_key` (PEM certificate and key), `tls_server_name`
//! and `tls_skip_verify`.

use std::time::Duration;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{ClientIdentity, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{Common, Database, DbError, get_bool, get_str_opt};
use crate::template::{split_statements, substitute};

const DEFAULT_REVOKE: &str =
    "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'; DROP USER '{{name}}'@'%'";
const DEFAULT_ROTATE: &str = "ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}'";
const EXPIRATION_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

pub struct Mysql {
    pool: Pool,
    secrets: Vec<Zeroizing<String>>,
}

/// The parts of a Go MySQL DSN.
#[derive(Debug, Default, PartialEq)]
struct Dsn {
    user: String,
    pass: String,
    host: String,
    port: u16,
    socket: Option<String>,
    db: String,
    params: Vec<(String, String)>,
}

fn parse_dsn(s: &str) -> Result<Dsn, DbError> {
    let bad = || DbError::config("connection_url could not be parsed");
    let (main, query) = s.split_once('?').unwrap_or((s, ""));
    let slash = main.rfind('/').ok_or_else(bad)?;
    let (before, db) = (&main[..slash], &main[slash + 1..]);
    let (creds, net) = match before.rfind('@') {
        Some(i) => (&before[..i], &before[i + 1..]),
        None => ("", before),
    };
    let (user, pass) = creds.split_once(':').unwrap_or((creds, ""));
    let mut d = Dsn {
        user: user.to_owned(),
        pass: pass.to_owned(),
        host: "127.0.0.1".to_owned(),
        port: 3306,
        db: db.to_owned(),
        ..Dsn::default()
    };
    if let Some(addr) = net.strip_prefix("tcp(").and_then(|r| r.strip_suffix(')')) {
        let (h, p) = match addr.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => (h, p.parse().map_err(|_| bad())?),
            Some((_, p)) => ("127.0.0.1", p.parse().map_err(|_| bad())?),
            None => (addr, 3306),
        };
        d.host = h.trim_start_matches('[').trim_end_matches(']').to_owned();
        d.port = p;
    } else if let Some(path) = net.strip_prefix("unix(").and_then(|r| r.strip_suffix(')')) {
        d.socket = Some(path.to_owned());
    } else if !net.is_empty() && net != "tcp" {
        return Err(bad());
    }
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        d.params.push((k.to_owned(), v.to_owned()));
    }
    Ok(d)
}

fn my_message(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("{} ({}): {}", s.code, s.state, s.message),
        other => other.to_string(),
    }
}

impl Mysql {
    pub fn new(common: Common, details: &Map<String, Value>) -> Result<Self, DbError> {
        if common.connection_url.is_empty() {
            return Err(DbError::config("connection_url cannot be empty"));
        }
        let url_form = common.connection_url.starts_with("mysql://");
        let rendered = common.rendered_url(url_form);
        let (mut builder, tls_param) = if url_form {
            let opts = Opts::from_url(&rendered)
                .map_err(|_| DbError::config("connection_url could not be parsed"))?;
            (OptsBuilder::from_opts(opts), None)
        } else {
            let d = parse_dsn(&rendered)?;
            let mut b = OptsBuilder::default()
                .ip_or_hostname(d.host.clone())
                .tcp_port(d.port)
                .user((!d.user.is_empty()).then(|| d.user.clone()))
                .pass((!d.pass.is_empty()).then(|| d.pass.clone()))
                .db_name((!d.db.is_empty()).then(|| d.db.clone()));
            if let Some(sock) = &d.socket {
                b = b.socket(Some(sock.clone()));
            }
            let tls = d
                .params
                .iter()
                .find(|(k, _)| k == "tls")
                .map(|(_, v)| v.clone());
            (b, tls)
        };
        if !common.username.is_empty() && !common.connection_url.contains("{{username}}") {
            builder = builder.user(Some(common.username.clone()));
        }
        if !common.password.is_empty() && !common.connection_url.contains("{{password}}") {
            builder = builder.pass(Some(common.password.to_string()));
        }
        // Never switch to the local socket behind the operator's back: the socket may
        // authenticate differently (unix_socket plugin) from the configured account.
        builder = builder.prefer_socket(false);

        let ca = get_str_opt(details, "tls_ca")?;
        let cert_key = get_str_opt(details, "tls_certificate_key")?.map(Zeroizing::new);
        let server_name = get_str_opt(details, "tls_server_name")?;
        let skip_verify = get_bool(details, "tls_skip_verify")?;
        let want_tls = match tls_param.as_deref() {
            Some("true" | "custom") => true,
            Some("skip-verify" | "preferred") => true,
            Some("false") => false,
            Some(_) => {
                return Err(DbError::config(
                    "unsupported tls parameter in connection_url",
                ));
            }
            None => ca.is_some() || cert_key.is_some(),
        };
        if want_tls {
            let mut ssl = SslOpts::default();
            if let Some(ca) = &ca {
                ssl = ssl
                    .with_root_certs(vec![ca.as_bytes().to_vec().into()])
                    .with_disable_built_in_roots(true);
            }
            if let Some(pem) = &cert_key {
                // One PEM with the certificate chain and the key, as Vault takes it.
                ssl = ssl.with_client_identity(Some(ClientIdentity::new(
                    pem.as_bytes().to_vec().into(),
                    pem.as_bytes().to_vec().into(),
                )));
            }
            if let Some(name) = server_name {
                ssl = ssl.with_danger_tls_hostname_override(Some(name));
            }
            if skip_verify || matches!(tls_param.as_deref(), Some("skip-verify" | "preferred")) {
                ssl = ssl.with_danger_accept_invalid_certs(true);
            }
            builder = builder.ssl_opts(Some(ssl));
        }

        let max = common.max_open.max(1);
        let min = common.max_idle.unwrap_or(0).min(max);
        let constraints = PoolConstraints::new(min, max)
            .ok_or_else(|| DbError::config("invalid connection pool limits"))?;
        let mut pool_opts = PoolOpts::default()
            .with_constraints(constraints)
            .with_inactive_connection_ttl(Duration::from_secs(60));
        if let Some(life) = common.max_lifetime {
            pool_opts = pool_opts.with_abs_conn_ttl(Some(life));
        }
        builder = builder.pool_opts(pool_opts);
        let pool = Pool::new(builder);
        let mut secrets = vec![Zeroizing::new(common.password.to_string())];
        if let Some(k) = cert_key {
            secrets.push(k);
        }
        Ok(Mysql { pool, secrets })
    }

    fn err(&self, e: &dyn std::fmt::Display, extra: &[&str]) -> DbError {
        let mut s: Vec<&str> = self.secrets.iter().map(|z| z.as_str()).collect();
        s.extend_from_slice(extra);
        DbError::db(e, &s)
    }

    async fn conn(&self) -> Result<mysql_async::Conn, DbError> {
        tokio::time::timeout(Duration::from_secs(15), self.pool.get_conn())
            .await
            .map_err(|_| self.err(&"unable to connect to the database: timed out", &[]))?
            .map_err(|e| {
                self.err(
                    &format!("unable to connect to the database: {}", my_message(&e)),
                    &[],
                )
            })
    }

    async fn run(
        &self,
        lists: &[String],
        values: &[(&str, &str)],
        secret: &str,
    ) -> Result<(), DbError> {
        let mut conn = self.conn().await?;
        for stmt in lists {
            for q in split_statements(stmt) {
                let q = Zeroizing::new(substitute(&q, values));
                conn.query_drop(q.as_str())
                    .await
                    .map_err(|e| self.err(&my_message(&e), &[secret]))?;
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Database for Mysql {
    async fn verify(&self) -> Result<(), DbError> {
        let mut conn = self.conn().await?;
        conn.query_drop("SELECT 1")
            .await
            .map_err(|e| self.err(&my_message(&e), &[]))
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
        let exp = exp.format(EXPIRATION_FORMAT).unwrap_or_default();
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
        if statements.is_empty() {
            return Ok(());
        }
        let exp = exp.format(EXPIRATION_FORMAT).unwrap_or_default();
        let values = [
            ("name", username),
            ("username", username),
            ("expiration", exp.as_str()),
        ];
        self.run(statements, &values, "").await
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
        let mut conn = self.conn().await?;
        let exists: Option<u64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM mysql.user WHERE user = ?",
                (username,),
            )
            .await
            .map_err(|e| self.err(&my_message(&e), &[]))?;
        if exists.unwrap_or(0) > 0 {
            let default = [DEFAULT_REVOKE.to_owned()];
            let stmts = if statements.is_empty() {
                &default[..]
            } else {
                statements
            };
            drop(conn);
            let values = [("name", username), ("username", username)];
            self.run(stmts, &values, "").await?;
            conn = self.conn().await?;
        }
        // Dropping a user leaves its sessions open; end them.
        let ids: Vec<u64> = conn
            .exec("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()", (username,))
            .await
            .map_err(|e| self.err(&my_message(&e), &[]))?;
        for id in ids {
            if let Err(e) = conn.query_drop(format!("KILL CONNECTION {id}")).await {
                // The session may have ended by itself in between (unknown thread id).
                tracing::debug!(error = %my_message(&e), "KILL CONNECTION failed");
            }
        }
        Ok(())
    }

    async fn close(&self) {
        let pool = self.pool.clone();
        if let Err(e) = pool.disconnect().await {
            tracing::debug!(error = %e, "closing the MySQL pool failed");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn go_dsn() {
        let d =
            parse_dsn("root:pw@tcp(127.0.0.1:3307)/test?tls=skip-verify&parseTime=true").unwrap();
        assert_eq!(
            (
                d.user.as_str(),
                d.pass.as_str(),
                d.host.as_str(),
                d.port,
                d.db.as_str()
            ),
            ("root", "pw", "127.0.0.1", 3307, "test")
        );
        assert_eq!(d.params[0], ("tls".to_owned(), "skip-verify".to_owned()));
        let d = parse_dsn("u@tcp(db.example)/").unwrap();
        assert_eq!(
            (d.host.as_str(), d.port, d.pass.as_str()),
            ("db.example", 3306, "")
        );
        let d = parse_dsn("u:p@unix(/run/mysqld.sock)/x").unwrap();
        assert_eq!(d.socket.as_deref(), Some("/run/mysqld.sock"));
        assert!(parse_dsn("nonsense").is_err());
    }
}
