//! Redis and Valkey (`redis-database-plugin`, `valkey-database-plugin`): users through the
//! ACL commands.
//!
//! Settings as Vault's plugin takes them: `host`, `port`, `username`, `password`, `tls`,
//! `insecure_tls`, `ca_cert` (PEM); a `connection_url` (`redis://` or `rediss://`, with
//! `{{username}}`/`{{password}}`) is accepted instead of host and port.
//!
//! Creation statements are one JSON list of ACL rules (`["~*", "+@read"]`, the default);
//! the user is created with `ACL SETUSER <name> ON ><password> <rules...>`. Rotation is
//! `ACL SETUSER <name> RESETPASS ><password>`; deletion `ACL DELUSER` (which also closes the
//! user's connections) followed by `CLIENT KILL USER` for servers that do not.
//!
//! Arca speaks RESP itself: the engine needs five commands on short-lived connections,
//! which does not justify a client library and its build cost.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use zeroize::Zeroizing;

use super::tls::{self, Verify};
use super::{Common, Database, DbError, get_bool, get_str_opt};

const DEFAULT_RULES: &str = r#"["~*", "+@read"]"#;
const TIMEOUT: Duration = Duration::from_secs(15);

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub struct Redis {
    host: String,
    port: u16,
    username: String,
    password: Zeroizing<String>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

#[derive(Debug, PartialEq)]
enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

struct Conn {
    io: BufReader<Box<dyn Stream>>,
}

impl Conn {
    async fn cmd(&mut self, args: &[&str]) -> Result<Reply, std::io::Error> {
        let mut buf = Zeroizing::new(format!("*{}\r\n", args.len()).into_bytes());
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        self.io.get_mut().write_all(&buf).await?;
        self.io.get_mut().flush().await?;
        Box::pin(self.read()).await
    }

    async fn line(&mut self) -> Result<String, std::io::Error> {
        let mut l = String::new();
        let n = self.io.read_line(&mut l).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        Ok(l.trim_end_matches(['\r', '\n']).to_owned())
    }

    async fn read(&mut self) -> Result<Reply, std::io::Error> {
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad RESP reply");
        let l = self.line().await?;
        let (kind, rest) = l.split_at_checked(1).ok_or_else(bad)?;
        Ok(match kind {
            "+" => Reply::Simple(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Int(rest.parse().map_err(|_| bad())?),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let n = usize::try_from(n).map_err(|_| bad())?;
                    let mut data = vec![0u8; n + 2];
                    self.io.read_exact(&mut data).await?;
                    data.truncate(n);
                    Reply::Bulk(Some(data))
                }
            }
            "*" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                let mut items = Vec::new();
                for _ in 0..n.max(0) {
                    items.push(Box::pin(self.read()).await?);
                }
                Reply::Array(items)
            }
            _ => return Err(bad()),
        })
    }
}

impl Redis {
    pub fn new(common: Common, details: &Map<String, Value>) -> Result<Self, DbError> {
        let ca = get_str_opt(details, "ca_cert")?;
        let insecure = get_bool(details, "insecure_tls")?;
        let mut use_tls = get_bool(details, "tls")?;
        let (mut host, mut port) = (
            get_str_opt(details, "host")?.unwrap_or_default(),
            match details.get("port") {
                None | Some(Value::Null) => 6379,
                Some(v) => arca_types::field::as_i64(v)
                    .ok()
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or_else(|| DbError::config("port is invalid"))?,
            },
        );
        let mut username = common.username.clone();
        let mut password = Zeroizing::new(common.password.to_string());
        if host.is_empty() && !common.connection_url.is_empty() {
            let url = common.rendered_url(true);
            let (scheme, rest) = url
                .split_once("://")
                .ok_or_else(|| DbError::config("connection_url could not be parsed"))?;
            use_tls = match scheme {
                "redis" => use_tls,
                "rediss" => true,
                _ => {
                    return Err(DbError::config(
                        "connection_url must be redis:// or rediss://",
                    ));
                }
            };
            let authority = rest.split('/').next().unwrap_or("");
            let hostport = match authority.rsplit_once('@') {
                Some((userinfo, hp)) => {
                    let dec = |s: &str| {
                        percent_encoding::percent_decode_str(s)
                            .decode_utf8_lossy()
                            .into_owned()
                    };
                    match userinfo.split_once(':') {
                        Some((u, p)) => {
                            if !u.is_empty() {
                                username = dec(u);
                            }
                            password = Zeroizing::new(dec(p));
                        }
                        None => password = Zeroizing::new(dec(userinfo)),
                    }
                    hp
                }
                None => authority,
            };
            match hostport.rsplit_once(':') {
                Some((h, p)) => {
                    host = h.to_owned();
                    port = p
                        .parse()
                        .map_err(|_| DbError::config("connection_url port is invalid"))?;
                }
                None => host = hostport.to_owned(),
            }
        }
        if host.is_empty() {
            return Err(DbError::config("host cannot be empty"));
        }
        let tls = if use_tls {
            let verify = if insecure {
                Verify::Nothing
            } else {
                Verify::Full
            };
            Some(tls::client_config(ca.as_deref(), verify, None)?)
        } else {
            None
        };
        Ok(Redis {
            host,
            port,
            username,
            password,
            tls,
        })
    }

    fn err(&self, e: &dyn std::fmt::Display, extra: &[&str]) -> DbError {
        let mut s = vec![self.password.as_str()];
        s.extend_from_slice(extra);
        DbError::db(e, &s)
    }

    async fn connect(&self) -> Result<Conn, DbError> {
        let fut = async {
            let tcp = TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| self.err(&format!("unable to connect to the database: {e}"), &[]))?;
            let stream: Box<dyn Stream> = match &self.tls {
                None => Box::new(tcp),
                Some(cfg) => {
                    let name = rustls_pki_types::ServerName::try_from(self.host.clone())
                        .map_err(|_| DbError::config("host is not a valid TLS server name"))?;
                    let s = tokio_rustls::TlsConnector::from(Arc::clone(cfg))
                        .connect(name, tcp)
                        .await
                        .map_err(|e| self.err(&format!("TLS handshake failed: {e}"), &[]))?;
                    Box::new(s)
                }
            };
            let mut conn = Conn {
                io: BufReader::new(stream),
            };
            if !self.password.is_empty() {
                let reply = if self.username.is_empty() {
                    conn.cmd(&["AUTH", &self.password]).await
                } else {
                    conn.cmd(&["AUTH", &self.username, &self.password]).await
                }
                .map_err(|e| self.err(&e, &[]))?;
                if let Reply::Error(m) = reply {
                    return Err(self.err(&format!("unable to connect to the database: {m}"), &[]));
                }
            }
            Ok(conn)
        };
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| self.err(&"unable to connect to the database: timed out", &[]))?
    }

    async fn ok(&self, conn: &mut Conn, args: &[&str], secret: &str) -> Result<Reply, DbError> {
        let r = tokio::time::timeout(TIMEOUT, conn.cmd(args))
            .await
            .map_err(|_| self.err(&"redis command timed out", &[]))?
            .map_err(|e| self.err(&e, &[secret]))?;
        match r {
            Reply::Error(m) => Err(self.err(&m, &[secret])),
            other => Ok(other),
        }
    }
}

#[async_trait]
impl Database for Redis {
    async fn verify(&self) -> Result<(), DbError> {
        let mut c = self.connect().await?;
        self.ok(&mut c, &["PING"], "").await.map(|_| ())
    }

    async fn create_user(
        &self,
        creation: &[String],
        _rollback: &[String],
        username: &str,
        password: &str,
        _exp: OffsetDateTime,
    ) -> Result<(), DbError> {
        let rules_text = creation.first().map_or(DEFAULT_RULES, String::as_str);
        let rules: Vec<String> = serde_json::from_str(rules_text)
            .map_err(|_| DbError::config("creation_statements must be a JSON list of ACL rules"))?;
        let pass_arg = Zeroizing::new(format!(">{password}"));
        let mut args = vec!["ACL", "SETUSER", username, "ON", pass_arg.as_str()];
        args.extend(rules.iter().map(String::as_str));
        let mut c = self.connect().await?;
        self.ok(&mut c, &args, password).await.map(|_| ())
    }

    async fn renew_user(&self, _: &[String], _: &str, _: OffsetDateTime) -> Result<(), DbError> {
        // Redis users have no expiry; the lease alone bounds them.
        Ok(())
    }

    async fn set_password(
        &self,
        _statements: &[String],
        username: &str,
        password: &str,
    ) -> Result<(), DbError> {
        let mut c = self.connect().await?;
        let exists = !matches!(
            self.ok(&mut c, &["ACL", "GETUSER", username], "").await?,
            Reply::Bulk(None)
        );
        if !exists {
            return Err(self.err(&"user does not exist", &[]));
        }
        let pass_arg = Zeroizing::new(format!(">{password}"));
        self.ok(
            &mut c,
            &["ACL", "SETUSER", username, "RESETPASS", pass_arg.as_str()],
            password,
        )
        .await
        .map(|_| ())
    }

    async fn delete_user(&self, _statements: &[String], username: &str) -> Result<(), DbError> {
        let mut c = self.connect().await?;
        self.ok(&mut c, &["ACL", "DELUSER", username], "").await?;
        // DELUSER already disconnects the user on Redis 7; older servers and forks may not.
        if let Err(e) = self
            .ok(&mut c, &["CLIENT", "KILL", "USER", username], "")
            .await
        {
            tracing::debug!(error = %e, "CLIENT KILL USER failed (no sessions left)");
        }
        Ok(())
    }

    async fn close(&self) {}
}
