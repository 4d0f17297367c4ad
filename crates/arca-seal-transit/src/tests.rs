#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;

use axum::Router;
use axum::extract::{Path as AxPath, State};
use axum::http::{HeaderMap, StatusCode as AxStatus};
use axum::routing::{get, put};

use super::*;

fn block(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn block_is_read_and_env_takes_precedence() {
    let b = block(json!({
        "address": "http://127.0.0.1:1",
        "token": "s.block",
        "key_name": "autounseal",
        "mount_path": "/transit/",
        "disable_renewal": "true",
        "tls_skip_verify": false,
    }));
    let c = TransitSealConfig::from_block(&b, no_env).unwrap();
    assert_eq!(c.address, "http://127.0.0.1:1");
    assert_eq!(c.token.as_str(), "s.block");
    assert_eq!(c.mount_path, "transit");
    assert!(c.disable_renewal && !c.tls_skip_verify);
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("s.block"), "the token is never printed");

    let env = |k: &str| match k {
        "VAULT_ADDR" => Some("http://10.0.0.1:8200".to_owned()),
        "BAO_TOKEN" => Some("s.env".to_owned()),
        "VAULT_TRANSIT_SEAL_KEY_NAME" => Some("other".to_owned()),
        "VAULT_TRANSIT_SEAL_MOUNT_PATH" => Some("t2/".to_owned()),
        _ => None,
    };
    let c = TransitSealConfig::from_block(&b, env).unwrap();
    assert_eq!(c.address, "http://10.0.0.1:8200");
    assert_eq!(c.token.as_str(), "s.env");
    assert_eq!(
        (c.key_name.as_str(), c.mount_path.as_str()),
        ("other", "t2")
    );

    // Everything from the environment.
    let env_only = |k: &str| match k {
        "BAO_ADDR" => Some("http://h:1".to_owned()),
        "VAULT_TOKEN" => Some("s.x".to_owned()),
        "VAULT_TRANSIT_SEAL_KEY_NAME" => Some("k".to_owned()),
        "VAULT_TRANSIT_SEAL_MOUNT_PATH" => Some("transit".to_owned()),
        _ => None,
    };
    TransitSealConfig::from_block(&Map::new(), env_only).unwrap();
}

#[test]
fn missing_or_unknown_keys_are_refused_without_echoing_values() {
    let err = TransitSealConfig::from_block(
        &block(json!({"address": "http://h:1", "token": "s.secret", "mount_path": "transit"})),
        no_env,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "seal \"transit\": key_name is required");
    let err = TransitSealConfig::from_block(
        &block(
            json!({"address": "http://h:1", "token": "s.secret", "key_name": "k",
                      "mount_path": "transit", "tokne": "s.secret"}),
        ),
        no_env,
    )
    .unwrap_err();
    assert!(!err.to_string().contains("s.secret"));
    let err = TransitSealConfig::from_block(
        &block(
            json!({"address": "http://h:1", "token": "t", "key_name": "k",
                      "mount_path": "transit", "tls_skip_verify": "maybe"}),
        ),
        no_env,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("tls_skip_verify must be a boolean")
    );
    let c = TransitSealConfig::from_block(
        &block(json!({"address": "not a url", "token": "t", "key_name": "k", "mount_path": "m"})),
        no_env,
    )
    .unwrap();
    assert!(TransitSeal::new(c).is_err());
}

/// A minimal transit engine: "encrypts" by base64-prefixing, checks the token and
/// namespace, counts renewals.
/// (key name, token header, namespace header) of each encrypt call.
type Seen = (String, Option<String>, Option<String>);

#[derive(Default)]
struct Fake {
    seen: Mutex<Vec<Seen>>,
    renewals: Mutex<u32>,
}

async fn fake_server() -> (String, Arc<Fake>) {
    let state = Arc::new(Fake::default());
    async fn encrypt(
        State(s): State<Arc<Fake>>,
        AxPath(key): AxPath<String>,
        headers: HeaderMap,
        axum::Json(body): axum::Json<Value>,
    ) -> (AxStatus, axum::Json<Value>) {
        let h = |n: &str| headers.get(n).map(|v| v.to_str().unwrap().to_owned());
        s.seen
            .lock()
            .unwrap()
            .push((key.clone(), h("x-vault-token"), h("x-vault-namespace")));
        if h("x-vault-token").as_deref() != Some("s.good") {
            return (
                AxStatus::FORBIDDEN,
                axum::Json(json!({"errors": ["permission denied"]})),
            );
        }
        let pt = body["plaintext"].as_str().unwrap();
        (
            AxStatus::OK,
            axum::Json(json!({"data": {"ciphertext": format!("vault:v1:{pt}")}})),
        )
    }
    async fn decrypt(axum::Json(body): axum::Json<Value>) -> (AxStatus, axum::Json<Value>) {
        match body["ciphertext"]
            .as_str()
            .unwrap()
            .strip_prefix("vault:v1:")
        {
            Some(pt) => (AxStatus::OK, axum::Json(json!({"data": {"plaintext": pt}}))),
            None => (
                AxStatus::BAD_REQUEST,
                axum::Json(json!({"errors": ["invalid ciphertext"]})),
            ),
        }
    }
    async fn lookup() -> axum::Json<Value> {
        axum::Json(json!({"data": {"renewable": true, "ttl": 6}}))
    }
    async fn renew(State(s): State<Arc<Fake>>) -> axum::Json<Value> {
        *s.renewals.lock().unwrap() += 1;
        axum::Json(json!({"auth": {"renewable": true, "lease_duration": 6}}))
    }
    let app = Router::new()
        .route("/v1/transit/encrypt/{key}", put(encrypt))
        .route("/v1/transit/decrypt/{key}", put(decrypt))
        .route("/v1/auth/token/lookup-self", get(lookup))
        .route("/v1/auth/token/renew-self", put(renew))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

fn seal_for(address: &str, token: &str, extra: Value) -> TransitSeal {
    let mut b = block(json!({
        "address": address, "token": token, "key_name": "autounseal", "mount_path": "transit/",
    }));
    b.extend(block(extra));
    TransitSeal::new(TransitSealConfig::from_block(&b, no_env).unwrap()).unwrap()
}

#[tokio::test]
async fn encrypt_decrypt_round_trip_with_token_and_namespace() {
    let (addr, fake) = fake_server().await;
    let seal = seal_for(&addr, "s.good", json!({"namespace": "ns1/"}));
    let ct = seal.encrypt(b"root key bytes").await.unwrap();
    assert!(ct.starts_with(b"vault:v1:"));
    assert_eq!(
        seal.decrypt(&ct).await.unwrap().as_slice(),
        b"root key bytes"
    );
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0],
        (
            "autounseal".to_owned(),
            Some("s.good".to_owned()),
            Some("ns1/".to_owned())
        )
    );
    let err = seal.decrypt(b"garbage").await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("invalid ciphertext"));
}

#[tokio::test]
async fn errors_say_whether_to_retry() {
    let (addr, _) = fake_server().await;
    let bad = seal_for(&addr, "s.bad", json!({}));
    let err = bad.encrypt(b"x").await.unwrap_err();
    assert!(matches!(err, TransitSealError::Status { status: 403, .. }));
    assert!(!err.to_string().contains("s.bad"));

    // Nothing listens on this port.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let err = seal_for(&dead, "s.good", json!({}))
        .encrypt(b"x")
        .await
        .unwrap_err();
    assert!(matches!(err, TransitSealError::Unreachable(_)));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn token_is_renewed_unless_disabled() {
    let (addr, fake) = fake_server().await;
    let seal = Arc::new(seal_for(&addr, "s.good", json!({})));
    let task = seal.spawn_renewal().unwrap();
    tokio::time::sleep(Duration::from_millis(5500)).await;
    assert!(*fake.renewals.lock().unwrap() >= 1);
    task.abort();

    let off = Arc::new(seal_for(
        &addr,
        "s.good",
        json!({"disable_renewal": "true"}),
    ));
    assert!(off.spawn_renewal().is_none());
}
