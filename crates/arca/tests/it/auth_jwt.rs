//! The JWT auth method end to end: `arca server -dev`, a JWT mount configured through OIDC
//! discovery served by a tiny local HTTP server (discovery document + JWKS), tokens minted
//! here with an Ed25519 key, and logins over HTTP and with the real `bao` CLI
//! (`bao write auth/jwt/login role=... jwt=...`).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use rcgen::{KeyPair, PKCS_ED25519, SigningKey};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::compat_common::{arca_dev, bao, py};
use crate::support::{call, client};

const ROOT: &str = "jwt-e2e-root";

pub(crate) fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

/// An EdDSA compact JWS of `claims`.
fn mint(key: &KeyPair, claims: &Value) -> String {
    mint_kid(key, "e2e-1", claims)
}

/// An EdDSA compact JWS of `claims` whose header names `kid`.
pub(crate) fn mint_kid(key: &KeyPair, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    let msg = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let sig = key.sign(msg.as_bytes()).unwrap();
    format!("{msg}.{}", b64url(&sig))
}

/// Serves `/.well-known/openid-configuration` and `/keys` over plain HTTP on a loopback
/// port; returns the issuer URL.
async fn issuer(jwks: Value) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({"issuer": base, "jwks_uri": format!("{base}/keys")}).to_string();
    let keys = jwks.to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                break;
            };
            let (discovery, keys) = (discovery.clone(), keys.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut n = 0;
                while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(m) => n += m,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..n]);
                let path = head.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = match path {
                    "/.well-known/openid-configuration" => ("200 OK", discovery),
                    "/keys" => ("200 OK", keys),
                    _ => ("404 Not Found", "{}".to_owned()),
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    base
}

fn claims(iss: &str, extra: Value) -> Value {
    let t = now();
    let mut c = json!({
        "iss": iss,
        "aud": "arca-e2e",
        "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
        "repository": "octo-org/octo-repo",
        "ref": "refs/heads/main",
        "actor": "octocat",
        "iat": t - 5,
        "nbf": t - 5,
        "exp": t + 300,
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut c, extra) {
        m.extend(e);
    }
    c
}

#[tokio::test]
async fn jwt_login_over_http_and_with_the_bao_cli() {
    let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "e2e-1", "use": "sig",
                                "x": b64url(key.public_key_raw())}]});
    let iss = issuer(jwks).await;
    let server = arca_dev(ROOT);
    let c = client();
    let url = |p: &str| server.url(p);
    let root = Some(ROOT);

    let (st, b) = call(
        &c,
        "POST",
        &url("sys/auth/jwt"),
        root,
        Some(json!({"type": "jwt"})),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let (st, b) = call(
        &c,
        "POST",
        &url("auth/jwt/config"),
        root,
        Some(json!({"oidc_discovery_url": iss, "bound_issuer": iss})),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let (st, b) = call(&c, "GET", &url("auth/jwt/config"), root, None).await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["data"]["status"], "valid");
    let (st, b) = call(
        &c,
        "POST",
        &url("auth/jwt/role/ci"),
        root,
        Some(json!({
            "role_type": "jwt",
            "user_claim": "repository",
            "bound_audiences": "arca-e2e",
            "bound_claims_type": "glob",
            "bound_claims": {"ref": ["refs/heads/main", "refs/tags/v*"]},
            "claim_mappings": {"actor": "actor", "ref": "ref"},
            "token_policies": "ci",
            "token_ttl": "10m",
        })),
    )
    .await;
    assert_eq!(st, 204, "{b}");

    // Over HTTP, as Agent and the SDKs do.
    let jwt = mint(&key, &claims(&iss, json!({})));
    let (st, login) = call(
        &c,
        "PUT",
        &url("auth/jwt/login"),
        None,
        Some(json!({"role": "ci", "jwt": jwt})),
    )
    .await;
    assert_eq!(st, 200, "{login}");
    assert_eq!(login["data"], Value::Null);
    assert_eq!(
        login["auth"]["metadata"],
        json!({"role": "ci", "actor": "octocat", "ref": "refs/heads/main"})
    );
    assert_eq!(login["auth"]["policies"], json!(["ci", "default"]));
    assert_eq!(login["auth"]["lease_duration"], json!(600));
    assert_eq!(login["auth"]["orphan"], json!(true));
    let token = login["auth"]["client_token"].as_str().unwrap().to_owned();
    let (st, me) = call(
        &c,
        "GET",
        &url("auth/token/lookup-self"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["data"]["display_name"], "jwt-octo-org/octo-repo");
    assert_ne!(me["data"]["entity_id"], "");

    // Failures are 400s with the validator's reason.
    let expired = mint(
        &key,
        &claims(
            &iss,
            json!({"exp": now() - 3600, "iat": now() - 7200, "nbf": now() - 7200}),
        ),
    );
    let (st, b) = call(
        &c,
        "PUT",
        &url("auth/jwt/login"),
        None,
        Some(json!({"role": "ci", "jwt": expired})),
    )
    .await;
    assert_eq!(st, 400, "{b}");
    assert_eq!(
        b["errors"][0],
        "error validating token: invalid expiration time (exp) claim: token is expired"
    );
    let pr = mint(&key, &claims(&iss, json!({"ref": "refs/pull/1/merge"})));
    let (st, b) = call(
        &c,
        "PUT",
        &url("auth/jwt/login"),
        None,
        Some(json!({"role": "ci", "jwt": pr})),
    )
    .await;
    assert_eq!(st, 400, "{b}");
    assert_eq!(
        b["errors"][0],
        "error validating claims: claim \"ref\" does not match any associated bound claim values"
    );

    // The `oidc` type name mounts the same method.
    let (st, b) = call(
        &c,
        "POST",
        &url("sys/auth/oidc"),
        root,
        Some(json!({"type": "oidc"})),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let (st, b) = call(&c, "GET", &url("sys/auth"), root, None).await;
    assert_eq!(st, 200);
    assert_eq!(b["data"]["oidc/"]["type"], "oidc");
    assert_eq!(b["data"]["jwt/"]["type"], "jwt");

    // The real bao CLI: `bao write auth/jwt/login role=ci jwt=...`.
    let Some(py) = py() else { return };
    let jwt = mint(&key, &claims(&iss, json!({"ref": "refs/tags/v1.0.0"})));
    let out = bao(
        &py,
        &server.addr,
        None,
        &[
            "write",
            "-format=json",
            "auth/jwt/login",
            "role=ci",
            &format!("jwt={jwt}"),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["auth"]["metadata"]["ref"], "refs/tags/v1.0.0");
    assert_eq!(v["auth"]["token_policies"], json!(["ci", "default"]));
    assert!(
        v["auth"]["client_token"]
            .as_str()
            .unwrap()
            .starts_with("s.")
    );

    let bad = mint(
        &KeyPair::generate_for(&PKCS_ED25519).unwrap(),
        &claims(&iss, json!({})),
    );
    let out = bao(
        &py,
        &server.addr,
        None,
        &["write", "auth/jwt/login", "role=ci", &format!("jwt={bad}")],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("no known key successfully validated the token signature"),
        "{}",
        out.stderr
    );
}

/// A JWKS endpoint (`/keys`) whose document the test can swap, counting the fetches.
struct Jwks {
    url: String,
    doc: std::sync::Arc<std::sync::Mutex<Value>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Jwks {
    async fn serve(doc: Value) -> Jwks {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/keys", listener.local_addr().unwrap());
        let doc = std::sync::Arc::new(std::sync::Mutex::new(doc));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (d, h) = (doc.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    break;
                };
                let (d, h) = (d.clone(), h.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut n = 0;
                    while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf[n..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(m) => n += m,
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..n]);
                    let (status, body) = if head.split_whitespace().nth(1) == Some("/keys") {
                        h.fetch_add(1, Ordering::SeqCst);
                        ("200 OK", d.lock().unwrap().to_string())
                    } else {
                        ("404 Not Found", "{}".to_owned())
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        Jwks { url, doc, hits }
    }

    fn set(&self, doc: Value) {
        *self.doc.lock().unwrap() = doc;
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn jwk(key: &KeyPair, kid: &str) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
           "x": b64url(key.public_key_raw())})
}

/// The issuer rotates its signing key: logins keep working across the rotation (an unknown
/// `kid` makes Arca fetch the set again, at most once a second), and once the old key has
/// left the set and the set has been fetched again, tokens signed with it are refused.
#[tokio::test]
async fn jwks_key_rotation_keeps_logins_working() {
    let (a, b, c) = (
        KeyPair::generate_for(&PKCS_ED25519).unwrap(),
        KeyPair::generate_for(&PKCS_ED25519).unwrap(),
        KeyPair::generate_for(&PKCS_ED25519).unwrap(),
    );
    let jwks = Jwks::serve(json!({"keys": [jwk(&a, "key-a")]})).await;
    let iss = "https://issuer.rotation.test";
    let server = arca_dev(ROOT);
    let http = client();
    let url = |p: &str| server.url(p);
    let root = Some(ROOT);
    let (st, body) = call(
        &http,
        "POST",
        &url("sys/auth/jwt"),
        root,
        Some(json!({"type": "jwt"})),
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let (st, body) = call(
        &http,
        "POST",
        &url("auth/jwt/config"),
        root,
        Some(json!({"jwks_url": jwks.url, "bound_issuer": iss})),
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let (st, body) = call(
        &http,
        "POST",
        &url("auth/jwt/role/ci"),
        root,
        Some(json!({"role_type": "jwt", "user_claim": "repository",
                    "bound_audiences": "arca-e2e", "token_policies": "ci"})),
    )
    .await;
    assert_eq!(st, 204, "{body}");
    let login = |key: &KeyPair, kid: &str| {
        let jwt = mint_kid(key, kid, &claims(iss, json!({})));
        let (h, u) = (http.clone(), url("auth/jwt/login"));
        async move { call(&h, "PUT", &u, None, Some(json!({"role": "ci", "jwt": jwt}))).await }
    };
    let refused = |body: &Value| {
        assert_eq!(
            body["errors"][0],
            "error validating token: error verifying token signature: no known key successfully validated the token signature",
            "{body}"
        );
    };

    // Key A: fetched once, then served from the cache.
    for _ in 0..3 {
        let (st, body) = login(&a, "key-a").await;
        assert_eq!(st, 200, "{body}");
    }
    let after_a = jwks.hits();
    assert!(after_a <= 2, "config check + first login, got {after_a}");

    // The issuer publishes B beside A: a B token names an unknown kid, the set is fetched
    // again (once the one-second refetch interval has passed) and the login works; A too.
    jwks.set(json!({"keys": [jwk(&a, "key-a"), jwk(&b, "key-b")]}));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, body) = login(&b, "key-b").await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(jwks.hits(), after_a + 1);
    let (st, body) = login(&a, "key-a").await;
    assert_eq!(st, 200, "{body}");
    let (st, body) = login(&b, "key-b").await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(jwks.hits(), after_a + 1, "known kids do not refetch");

    // The issuer moves on to C and drops A and B: the first C token refetches the set, and
    // from then on A and B tokens are refused.
    jwks.set(json!({"keys": [jwk(&c, "key-c")]}));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (st, body) = login(&c, "key-c").await;
    assert_eq!(st, 200, "{body}");
    for (key, kid) in [(&a, "key-a"), (&b, "key-b")] {
        let (st, body) = login(key, kid).await;
        assert_eq!(st, 400, "{body}");
        refused(&body);
    }
    // A token naming C's kid but signed by A is refused too.
    let (st, body) = login(&a, "key-c").await;
    assert_eq!(st, 400, "{body}");
    refused(&body);

    // Unknown kids refetch at most once a second, so a flood of them cannot make Arca
    // hammer the issuer.
    let before = jwks.hits();
    for i in 0..5 {
        let (st, _) = login(&a, &format!("random-{i}")).await;
        assert_eq!(st, 400);
    }
    assert!(
        jwks.hits() <= before + 1,
        "{} fetches",
        jwks.hits() - before
    );
}
