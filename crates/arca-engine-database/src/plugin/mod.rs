//! Database plugins: what the engine asks of a database (create, renew, re-password and
//! delete a user), one implementation per database, and the connection settings they share.
//!
//! Plugins are built from a connection's stored `connection_details` and connect lazily; a
//! built plugin holds a pool and is cached by the engine per connection name.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

mod mysql;
mod postgres;
mod redis;
pub mod tls;

/// A failure talking to a database. The message has every secret the operation used
/// replaced by `[redacted]`, so it may be shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DbError {
    /// Safe text.
    pub message: String,
    /// Whether the settings are at fault (a 400) rather than the database (a 500).
    pub config: bool,
}

impl DbError {
    /// A settings problem with a fixed message.
    pub fn config(message: &str) -> Self {
        DbError {
            message: message.to_owned(),
            config: true,
        }
    }

    /// A database failure, with `secrets` scrubbed from its text.
    pub fn db(err: &dyn std::fmt::Display, secrets: &[&str]) -> Self {
        let mut message = err.to_string();
        for s in secrets {
            if s.len() >= 3 {
                message = message.replace(s, "[redacted]");
            }
        }
        DbError {
            message,
            config: false,
        }
    }
}

/// The plugins Arca has built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    /// `postgresql-database-plugin`.
    Postgres,
    /// `mysql-database-plugin` (MySQL and MariaDB), `mysql-aurora-database-plugin`,
    /// `mysql-rds-database-plugin`, `mysql-legacy-database-plugin`.
    Mysql {
        /// The legacy variant's 16-character usernames.
        legacy: bool,
    },
    /// `redis-database-plugin` and OpenBao's `valkey-database-plugin`.
    Redis,
}

impl PluginKind {
    /// The plugin for a `plugin_name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "postgresql-database-plugin" => PluginKind::Postgres,
            "mysql-database-plugin"
            | "mysql-aurora-database-plugin"
            | "mysql-rds-database-plugin" => PluginKind::Mysql { legacy: false },
            "mysql-legacy-database-plugin" => PluginKind::Mysql { legacy: true },
            "redis-database-plugin" | "valkey-database-plugin" => PluginKind::Redis,
            _ => return None,
        })
    }

    /// The plugin's username template when the connection sets none.
    pub fn default_username_template(self) -> &'static str {
        match self {
            PluginKind::Postgres => {
                r#"{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) (random 20) (unix_time) | truncate 63 }}"#
            }
            PluginKind::Mysql { legacy: false } => {
                r#"{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) (random 20) (unix_time) | truncate 32 }}"#
            }
            PluginKind::Mysql { legacy: true } => {
                r#"{{ printf "v-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}"#
            }
            PluginKind::Redis => {
                r#"{{ printf "V_%s_%s_%s_%s" (.DisplayName | truncate 15) (.RoleName | truncate 15) (random 20) (unix_time) | truncate 100 | uppercase }}"#
            }
        }
    }
}

/// What the engine asks of a database. Statement lists are the role's (or the connection's
/// root rotation statements); empty means the plugin's default.
#[async_trait]
pub trait Database: Send + Sync {
    /// Connects and checks the credentials.
    async fn verify(&self) -> Result<(), DbError>;
    /// Creates a user with the creation statements; on failure runs the rollback statements.
    async fn create_user(
        &self,
        creation: &[String],
        rollback: &[String],
        username: &str,
        password: &str,
        expiration: OffsetDateTime,
    ) -> Result<(), DbError>;
    /// Moves a user's expiry (renewal statements).
    async fn renew_user(
        &self,
        statements: &[String],
        username: &str,
        expiration: OffsetDateTime,
    ) -> Result<(), DbError>;
    /// Changes a user's password (rotation statements).
    async fn set_password(
        &self,
        statements: &[String],
        username: &str,
        password: &str,
    ) -> Result<(), DbError>;
    /// Drops a user (revocation statements) and ends its open sessions. A user that does
    /// not exist is already deleted.
    async fn delete_user(&self, statements: &[String], username: &str) -> Result<(), DbError>;
    /// Closes the pool.
    async fn close(&self);
}

/// Settings every plugin reads from `connection_details`.
pub struct Common {
    pub connection_url: String,
    pub username: String,
    pub password: Zeroizing<String>,
    pub max_open: usize,
    pub max_idle: Option<usize>,
    pub max_lifetime: Option<Duration>,
    pub disable_escaping: bool,
}

fn get_str(d: &Map<String, Value>, k: &str) -> Result<String, DbError> {
    match d.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(v) => arca_types::field::as_string(v)
            .map_err(|_| DbError::config("a connection setting has the wrong type")),
    }
}

pub(crate) fn get_bool(d: &Map<String, Value>, k: &str) -> Result<bool, DbError> {
    match d.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(v) => arca_types::field::as_bool(v)
            .map_err(|_| DbError::config("a boolean connection setting is invalid")),
    }
}

fn get_u64(d: &Map<String, Value>, k: &str) -> Result<Option<u64>, DbError> {
    match d.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => arca_types::field::as_i64(v)
            .map(|i| Some(u64::try_from(i.max(0)).unwrap_or(0)))
            .map_err(|_| DbError::config("a numeric connection setting is invalid")),
    }
}

impl Common {
    fn parse(d: &Map<String, Value>) -> Result<Self, DbError> {
        let max_open = get_u64(d, "max_open_connections")?.unwrap_or(4);
        let max_open = if max_open == 0 { 4 } else { max_open };
        let max_idle = get_u64(d, "max_idle_connections")?;
        let max_lifetime = match d.get("max_connection_lifetime") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let dur = arca_types::duration::parse_duration_value(v)
                    .map_err(|_| DbError::config("invalid max_connection_lifetime"))?;
                (!dur.is_zero()).then_some(dur)
            }
        };
        Ok(Common {
            connection_url: get_str(d, "connection_url")?,
            username: get_str(d, "username")?,
            password: Zeroizing::new(get_str(d, "password")?),
            max_open: usize::try_from(max_open).unwrap_or(4),
            max_idle: max_idle.and_then(|v| usize::try_from(v).ok()),
            max_lifetime,
            disable_escaping: get_bool(d, "disable_escaping")?,
        })
    }

    /// The connection URL with `{{username}}` and `{{password}}` filled in; escaped for a
    /// URL's user-info part unless `disable_escaping`.
    fn rendered_url(&self, url_form: bool) -> Zeroizing<String> {
        let enc = |s: &str| {
            if url_form && !self.disable_escaping {
                percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            } else {
                s.to_owned()
            }
        };
        let user = enc(&self.username);
        let pass = Zeroizing::new(enc(&self.password));
        Zeroizing::new(
            self.connection_url
                .replace("{{username}}", &user)
                .replace("{{password}}", &pass),
        )
    }
}

/// The plugin for `kind` over `details` (not yet connected).
pub fn build(kind: PluginKind, details: &Map<String, Value>) -> Result<Arc<dyn Database>, DbError> {
    let common = Common::parse(details)?;
    Ok(match kind {
        PluginKind::Postgres => Arc::new(postgres::Postgres::new(common, details)?),
        PluginKind::Mysql { .. } => Arc::new(mysql::Mysql::new(common, details)?),
        PluginKind::Redis => Arc::new(redis::Redis::new(common, details)?),
    })
}

/// The connection URL as `config/<name>` shows it: a literal password is masked.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, pass)) if !pass.contains("{{") => {
            format!("{scheme}://{user}:xxxxx@{host}{tail}")
        }
        _ => url.to_owned(),
    }
}

/// Whether a connection URL carries a literal (non-templated) password.
pub fn url_has_literal_password(url: &str) -> bool {
    redact_url(url) != url
}

/// A string setting, `None` when absent or empty.
pub(crate) fn get_str_opt(d: &Map<String, Value>, k: &str) -> Result<Option<String>, DbError> {
    let s = get_str(d, k)?;
    Ok((!s.is_empty()).then_some(s))
}
