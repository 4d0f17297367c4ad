//! What the benchmark measures. Each [`Scenario`] is a name, the server mode it runs in, its client
//! counts, and a setup function that prepares the server (mount an engine, create a role, fetch a
//! secret-id, encrypt a ciphertext to decrypt, ...) and returns the request the clients then send in a
//! closed loop. A few measurements are not closed loops ([`Kind::Timed`]): they return one duration.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use http::Method;
use serde_json::{Value, json};

use crate::client::{Req, call};
use crate::load;
use crate::pg::Pg;

/// The dev root token both dev servers are started with.
pub const ROOT_TOKEN: &str = "bench-root";

/// Which server process a scenario runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `server -dev`: in-memory storage.
    Dev,
    /// Durable storage: Arca's embedded store, OpenBao's raft; initialised and unsealed by the bench.
    Persistent,
}

/// What a setup function gets: the server under test and the bench's shared material.
pub struct Ctx {
    pub addr: SocketAddr,
    /// A root token of this server.
    pub token: String,
    /// "arca" or "bao" (names files).
    pub name: &'static str,
    pub workdir: PathBuf,
    pub jwt: Arc<JwtKey>,
    pub pg: Pg,
}

impl Ctx {
    fn req(&self, method: Method, path: &str) -> Req {
        Req::new(method, format!("/v1/{path}")).token(&self.token)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        call(self.addr, &self.req(Method::POST, path).json(&body)).await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        call(self.addr, &self.req(Method::GET, path)).await
    }

    /// Mounts an engine or enables an auth method unless something is already mounted there (several
    /// scenarios share a mount).
    async fn ensure_mounted(&self, sys_path: &str, body: Value) -> Result<()> {
        match self.post(sys_path, body).await {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("already in use") => Ok(()),
            Err(e) => Err(e),
        }
    }
}

pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;
pub type SetupFn = for<'a> fn(&'a Ctx) -> BoxFut<'a, Req>;
pub type CleanupFn = for<'a> fn(&'a Ctx) -> BoxFut<'a, ()>;
pub type TimedFn = for<'a> fn(&'a Ctx) -> BoxFut<'a, Timed>;

/// The result of a [`Kind::Timed`] measurement.
#[derive(Debug, Clone)]
pub struct Timed {
    pub value: Duration,
    /// How it was obtained, for the report.
    pub note: String,
}

#[derive(Clone, Copy)]
pub enum Kind {
    /// Closed-loop load: `setup` once per server, then for each client count a warm-up and a timed
    /// run of the returned request; `cleanup` after the last client count.
    Load {
        setup: SetupFn,
        cleanup: Option<CleanupFn>,
    },
    /// One measurement returning a duration.
    Timed(TimedFn),
}

#[derive(Clone, Copy)]
pub struct Scenario {
    /// Short label, used in the report and in `--scenarios`.
    pub name: &'static str,
    pub mode: Mode,
    /// Client counts measured by default; `--concurrency` replaces them for every load scenario.
    pub clients: &'static [usize],
    /// Part of a run without `--scenarios`.
    pub default: bool,
    pub kind: Kind,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

const fn load(
    name: &'static str,
    mode: Mode,
    clients: &'static [usize],
    setup: SetupFn,
) -> Scenario {
    Scenario {
        name,
        mode,
        clients,
        default: true,
        kind: Kind::Load {
            setup,
            cleanup: None,
        },
    }
}

const fn extra(s: Scenario) -> Scenario {
    Scenario {
        default: false,
        ..s
    }
}

const ALL: &[usize] = &[1, 16, 64];
const SIXTEEN: &[usize] = &[16];

/// In run order within each mode. `kv/get+audit` runs right after its baseline
/// `kv/get-before-audit`; its cleanup disables the audit device before the next scenario.
pub const SCENARIOS: &[Scenario] = &[
    // Reference points from earlier runs, not asked for by the issues: only with --scenarios.
    extra(load("sys/health", Mode::Dev, &[1, 16], |_| {
        Box::pin(async { Ok(Req::get("/v1/sys/health")) })
    })),
    extra(load("token/lookup-self", Mode::Dev, &[1, 16], |c| {
        Box::pin(async { Ok(c.req(Method::GET, "auth/token/lookup-self")) })
    })),
    extra(load("token/create", Mode::Dev, &[1, 16], |c| {
        Box::pin(async {
            Ok(c.req(Method::POST, "auth/token/create")
                .json(&json!({"policies": ["default"], "ttl": "1h"})))
        })
    })),
    load("kv/get", Mode::Dev, ALL, |c| Box::pin(kv_get(c))),
    // The audit comparison: its baseline measured right before the audited run, both early,
    // before any scenario leaves work behind (the database scenarios' leases expire and are
    // revoked minutes later, PostgreSQL competing for the server's CPU; a run that measured
    // the pair after them saw Arca's baseline halved and a negative audit cost).
    load("kv/get-before-audit", Mode::Dev, SIXTEEN, |c| {
        Box::pin(kv_get(c))
    }),
    Scenario {
        name: "kv/get+audit",
        mode: Mode::Dev,
        clients: SIXTEEN,
        default: true,
        kind: Kind::Load {
            setup: |c| Box::pin(kv_get_audited(c)),
            cleanup: Some(|c| Box::pin(audit_off(c))),
        },
    },
    load("kv/put", Mode::Dev, ALL, |c| Box::pin(kv_put(c))),
    load("approle/login", Mode::Dev, SIXTEEN, |c| {
        Box::pin(approle_login(c))
    }),
    load("jwt/login", Mode::Dev, SIXTEEN, |c| Box::pin(jwt_login(c))),
    load("transit/encrypt-64B", Mode::Dev, ALL, |c| {
        Box::pin(transit_encrypt(c, 64))
    }),
    load("transit/decrypt-64B", Mode::Dev, ALL, |c| {
        Box::pin(transit_decrypt(c, 64))
    }),
    load("transit/encrypt-4KiB", Mode::Dev, ALL, |c| {
        Box::pin(transit_encrypt(c, 4096))
    }),
    load("transit/decrypt-4KiB", Mode::Dev, ALL, |c| {
        Box::pin(transit_decrypt(c, 4096))
    }),
    // One client: the figure that matters is the latency of one batch request.
    load("transit/encrypt-batch-1000", Mode::Dev, &[1], |c| {
        Box::pin(transit_batch(c))
    }),
    Scenario {
        name: "database/creds",
        mode: Mode::Dev,
        clients: SIXTEEN,
        default: true,
        kind: Kind::Load {
            setup: |c| Box::pin(db_creds(c)),
            cleanup: Some(|c| Box::pin(db_creds_cleanup(c))),
        },
    },
    Scenario {
        name: "database/revoke-1000-expired",
        mode: Mode::Dev,
        clients: &[],
        default: true,
        kind: Kind::Timed(|c| Box::pin(db_revoke_expired(c))),
    },
    load("durable/kv/put", Mode::Persistent, ALL, |c| {
        Box::pin(kv_put(c))
    }),
    extra(load("durable/kv/get", Mode::Persistent, SIXTEEN, |c| {
        Box::pin(kv_get(c))
    })),
];

/// A small secret, as an application would store it.
fn secret_body() -> Value {
    json!({"data": {"username": "app", "password": "Zs4cQ0t3XwM9pL2vB7nR1kD8hF6jY5aE"}})
}

async fn kv_get(c: &Ctx) -> Result<Req> {
    c.post("secret/data/bench-read", secret_body()).await?;
    Ok(c.req(Method::GET, "secret/data/bench-read"))
}

/// Each client writes its own key, so writes do not queue on one key's lock; every write adds a
/// version (KV v2 keeps the last 10 by default on both servers).
async fn kv_put(c: &Ctx) -> Result<Req> {
    Ok(c.req(Method::PUT, "secret/data/bench-{c}")
        .json(&secret_body()))
}

async fn approle_login(c: &Ctx) -> Result<Req> {
    c.ensure_mounted("sys/auth/approle", json!({"type": "approle"}))
        .await?;
    c.post(
        "auth/approle/role/bench",
        json!({"secret_id_num_uses": 0, "token_policies": ["default"], "token_ttl": "20m"}),
    )
    .await?;
    let role_id = c.get("auth/approle/role/bench/role-id").await?["data"]["role_id"]
        .as_str()
        .ok_or_else(|| anyhow!("no role_id"))?
        .to_owned();
    let secret_id = c
        .post("auth/approle/role/bench/secret-id", json!({}))
        .await?["data"]["secret_id"]
        .as_str()
        .ok_or_else(|| anyhow!("no secret_id"))?
        .to_owned();
    Ok(Req::new(Method::POST, "/v1/auth/approle/login")
        .json(&json!({"role_id": role_id, "secret_id": secret_id})))
}

/// An ES256 key made by the bench: the public half is configured as `jwt_validation_pubkeys`, the
/// private half signs one long-lived token that every login reuses.
pub struct JwtKey {
    pub public_pem: String,
    pub token: String,
    /// The uncompressed public point, to verify the token in the tests.
    #[cfg(test)]
    public_raw: Vec<u8>,
}

pub const JWT_AUDIENCE: &str = "arca-bench";

impl JwtKey {
    pub fn generate() -> Result<JwtKey> {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .context("generate ES256 key")?;
        // PKCS#8 DER, which jsonwebtoken takes for ECDSA without its PEM feature.
        let encoding = jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der());
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "iss": "https://ci.example.test",
            "sub": "repo:example/app:ref:refs/heads/main",
            "aud": JWT_AUDIENCE,
            "iat": now - 10,
            "nbf": now - 10,
            // Outlives any run.
            "exp": now + 24 * 3600,
        });
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
            &claims,
            &encoding,
        )
        .context("sign JWT")?;
        Ok(JwtKey {
            public_pem: key.public_key_pem(),
            token,
            #[cfg(test)]
            public_raw: key.public_key_raw().to_vec(),
        })
    }
}

async fn jwt_login(c: &Ctx) -> Result<Req> {
    c.ensure_mounted("sys/auth/jwt", json!({"type": "jwt"}))
        .await?;
    c.post(
        "auth/jwt/config",
        json!({"jwt_validation_pubkeys": [c.jwt.public_pem], "jwt_supported_algs": ["ES256"]}),
    )
    .await?;
    c.post(
        "auth/jwt/role/bench",
        json!({"role_type": "jwt", "bound_audiences": [JWT_AUDIENCE], "user_claim": "sub",
               "token_policies": ["default"], "token_ttl": "20m"}),
    )
    .await?;
    Ok(Req::new(Method::POST, "/v1/auth/jwt/login")
        .json(&json!({"role": "bench", "jwt": c.jwt.token})))
}

/// `len` bytes of varied, deterministic plaintext, base64 as transit wants it.
fn plaintext(len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

async fn transit_key(c: &Ctx) -> Result<()> {
    c.ensure_mounted("sys/mounts/transit", json!({"type": "transit"}))
        .await?;
    // aes256-gcm96, the default type of both servers; creating it again is a no-op.
    c.post("transit/keys/bench", json!({})).await?;
    Ok(())
}

async fn transit_encrypt(c: &Ctx, len: usize) -> Result<Req> {
    transit_key(c).await?;
    Ok(c.req(Method::POST, "transit/encrypt/bench")
        .json(&json!({"plaintext": plaintext(len)})))
}

async fn transit_decrypt(c: &Ctx, len: usize) -> Result<Req> {
    transit_key(c).await?;
    let ct = c
        .post(
            "transit/encrypt/bench",
            json!({"plaintext": plaintext(len)}),
        )
        .await?["data"]["ciphertext"]
        .as_str()
        .ok_or_else(|| anyhow!("no ciphertext"))?
        .to_owned();
    Ok(c.req(Method::POST, "transit/decrypt/bench")
        .json(&json!({"ciphertext": ct})))
}

async fn transit_batch(c: &Ctx) -> Result<Req> {
    transit_key(c).await?;
    let item = json!({"plaintext": plaintext(64)});
    let batch: Vec<Value> = (0..1000).map(|_| item.clone()).collect();
    Ok(c.req(Method::POST, "transit/encrypt/bench")
        .json(&json!({"batch_input": batch})))
}

/// Role names appear in the generated usernames (`v-<display>-<role>-<random>-<time>`), which is how
/// the bench finds its own database users among everyone else's.
const DB_ROLE: &str = "benchdb";
const DB_EXPIRING_ROLE: &str = "benchexp";
const DB_EXPIRING_COUNT: u64 = 1000;

async fn db_setup(c: &Ctx, role: &str, ttl: &str) -> Result<()> {
    c.ensure_mounted("sys/mounts/database", json!({"type": "database"}))
        .await?;
    c.post(
        "database/config/bench-pg",
        json!({
            "plugin_name": "postgresql-database-plugin",
            "connection_url": c.pg.connection_url(),
            "username": c.pg.user,
            // The machine's PostgreSQL trusts loopback connections; a password is still required by
            // the plugins' URL templating.
            "password": "unused",
            "allowed_roles": [DB_ROLE, DB_EXPIRING_ROLE],
            "verify_connection": true,
        }),
    )
    .await?;
    c.post(
        &format!("database/roles/{role}"),
        json!({
            "db_name": "bench-pg",
            "creation_statements": [
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
            ],
            "default_ttl": ttl,
            "max_ttl": ttl,
        }),
    )
    .await?;
    Ok(())
}

async fn db_creds(c: &Ctx) -> Result<Req> {
    // Leftovers of an interrupted earlier run would count in the revocation measurement.
    c.pg.drop_roles(DB_ROLE).await?;
    c.pg.drop_roles(DB_EXPIRING_ROLE).await?;
    db_setup(c, DB_ROLE, "1h").await?;
    Ok(c.req(Method::GET, &format!("database/creds/{DB_ROLE}")))
}

/// Revokes every lease the scenario created (which drops its users), then drops whatever is left
/// directly, so PostgreSQL is as before even if revocation failed.
async fn db_creds_cleanup(c: &Ctx) -> Result<()> {
    let before = c.pg.count_roles(DB_ROLE).await?;
    let started = Instant::now();
    let revoked = c
        .post(
            &format!("sys/leases/revoke-prefix/database/creds/{DB_ROLE}"),
            json!({}),
        )
        .await;
    eprintln!(
        "{}: revoke-prefix of {before} database users took {:.1} s{}",
        c.name,
        started.elapsed().as_secs_f64(),
        revoked
            .as_ref()
            .err()
            .map(|e| format!(" and failed: {e:#}"))
            .unwrap_or_default()
    );
    let left = c.pg.drop_roles(DB_ROLE).await?;
    if left > 0 {
        eprintln!(
            "{}: dropped {left} database users left after revocation",
            c.name
        );
    }
    revoked.map(|_| ())
}

/// Issues 1,000 credentials at 16 clients under a short TTL, then waits until every lease is gone from
/// `sys/leases/lookup` and every user from `pg_roles`. The figure is the time from the expiry of the
/// last lease issued to that point: how long expired credentials outlive their lease.
///
/// The TTL must outlast the issuing, or the first leases expire (and are revoked) while the last are
/// still being issued. So a probe of 32 credentials first measures the issue rate, and the TTL is
/// 1.5× the expected issuing time plus 5 s (at least 10 s).
async fn db_revoke_expired(c: &Ctx) -> Result<Timed> {
    c.pg.drop_roles(DB_EXPIRING_ROLE).await?;
    db_setup(c, DB_ROLE, "1h").await?;
    let probe = c.req(Method::GET, &format!("database/creds/{DB_ROLE}"));
    let probe_n = 32;
    let probe_time = load::run_count(c.addr, 16, probe_n, Arc::new(move |_| probe.clone())).await?;
    db_creds_cleanup(c).await?;
    let per_cred = probe_time.as_secs_f64() / probe_n as f64;
    let ttl_secs = (per_cred * DB_EXPIRING_COUNT as f64 * 1.5 + 5.0)
        .clamp(10.0, 600.0)
        .ceil() as u64;
    let ttl = Duration::from_secs(ttl_secs);

    db_setup(c, DB_EXPIRING_ROLE, &format!("{ttl_secs}s")).await?;
    let req = c.req(Method::GET, &format!("database/creds/{DB_EXPIRING_ROLE}"));
    let issue_time = load::run_count(
        c.addr,
        16,
        DB_EXPIRING_COUNT,
        Arc::new(move |_| req.clone()),
    )
    .await?;
    let last_expiry = Instant::now() + ttl;
    let users_at_end = c.pg.count_roles(DB_EXPIRING_ROLE).await?;
    let list = Req::new(
        Method::from_bytes(b"LIST").context("LIST method")?,
        format!("/v1/sys/leases/lookup/database/creds/{DB_EXPIRING_ROLE}/"),
    )
    .token(&c.token);
    let deadline = last_expiry + Duration::from_secs(300);
    loop {
        let users = c.pg.count_roles(DB_EXPIRING_ROLE).await?;
        let leases = match call(c.addr, &list).await {
            Ok(v) => v["data"]["keys"].as_array().map_or(0, Vec::len),
            // An empty list is a 404.
            Err(e) if e.to_string().contains("404") => 0,
            Err(e) => return Err(e),
        };
        let now = Instant::now();
        if users == 0 && leases == 0 {
            let value = now.saturating_duration_since(last_expiry);
            let early = if now < last_expiry {
                " (all gone before the last expiry!)"
            } else {
                ""
            };
            return Ok(Timed {
                value,
                note: format!(
                    "{DB_EXPIRING_COUNT} leases, TTL {ttl_secs} s, issued at 16 clients in {:.1} s, \
                     {users_at_end} users when issuing ended{early}",
                    issue_time.as_secs_f64()
                ),
            });
        }
        if now > deadline {
            let left = c.pg.drop_roles(DB_EXPIRING_ROLE).await?;
            bail!(
                "{leases} leases and {users} users still there 300 s after the last expiry (dropped {left} users)"
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// KV v2 read with a file audit device enabled: the same request as `kv/get`, so the two figures
/// give audit's cost.
async fn kv_get_audited(c: &Ctx) -> Result<Req> {
    let file = c.workdir.join(format!("{}-audit.log", c.name));
    c.post(
        "sys/audit/bench-file",
        json!({"type": "file", "options": {"file_path": file}}),
    )
    .await?;
    kv_get(c).await
}

async fn audit_off(c: &Ctx) -> Result<()> {
    call(c.addr, &c.req(Method::DELETE, "sys/audit/bench-file")).await?;
    // Hundreds of MiB after a long run; nothing reads it.
    let _ = std::fs::remove_file(c.workdir.join(format!("{}-audit.log", c.name)));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn scenario_names_are_unique_and_client_counts_valid() {
        for (i, s) in SCENARIOS.iter().enumerate() {
            if let Kind::Load { .. } = s.kind {
                assert!(
                    !s.clients.is_empty() && !s.clients.contains(&0),
                    "{}",
                    s.name
                );
            }
            assert!(SCENARIOS[i + 1..].iter().all(|t| t.name != s.name));
        }
    }

    #[test]
    fn the_audit_cell_follows_its_baseline_before_the_database_scenarios() {
        let at = |n: &str| SCENARIOS.iter().position(|s| s.name == n).unwrap();
        assert_eq!(at("kv/get+audit"), at("kv/get-before-audit") + 1);
        assert!(at("kv/get+audit") < at("database/creds"));
        let audit = &SCENARIOS[at("kv/get+audit")];
        assert!(matches!(
            audit.kind,
            Kind::Load {
                cleanup: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn plaintext_has_the_requested_length() {
        let b = base64::engine::general_purpose::STANDARD;
        assert_eq!(b.decode(plaintext(64)).unwrap().len(), 64);
        assert_eq!(b.decode(plaintext(4096)).unwrap().len(), 4096);
    }

    #[test]
    fn jwt_is_signed_es256_for_the_bench_audience() {
        let k = JwtKey::generate().unwrap();
        let header = jsonwebtoken::decode_header(&k.token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
        assert!(k.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let key = jsonwebtoken::DecodingKey::from_ec_der(&k.public_raw);
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        v.set_audience(&[JWT_AUDIENCE]);
        jsonwebtoken::decode::<Value>(&k.token, &key, &v).unwrap();
    }
}
