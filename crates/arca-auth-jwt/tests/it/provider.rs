//! A local identity provider for the tests: OIDC discovery, a JWKS endpoint that counts
//! its hits, and the authorize and token endpoints of the authorization-code flow with
//! PKCE. Served over plain HTTP, or HTTPS with a self-signed certificate (for
//! `oidc_discovery_ca_pem`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::keys::{TestKey, b64url};

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

pub struct ProviderState {
    pub jwks: Mutex<Value>,
    pub jwks_hits: AtomicUsize,
    issuer: Mutex<String>,
    base: Mutex<String>,
    /// Signs ID tokens.
    pub signer: Mutex<Option<Arc<TestKey>>>,
    pub client_id: String,
    pub client_secret: String,
    /// The clock ID tokens are issued at.
    pub now: i64,
    grants: Mutex<HashMap<String, Grant>>,
    next_code: AtomicUsize,
    /// Extra ID token claims (`email`, `groups`, ...).
    pub id_claims: Mutex<Value>,
    /// Issue ID tokens with a nonce other than the one requested.
    pub tamper_nonce: AtomicBool,
    /// Token requests seen (for assertions on what Arca sent).
    pub token_requests: Mutex<Vec<HashMap<String, String>>>,
}

pub struct Provider {
    pub base: String,
    pub issuer: String,
    pub state: Arc<ProviderState>,
    /// The CA certificate clients must trust (HTTPS only).
    pub ca_pem: Option<String>,
}

fn json_resp(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn json_ok(v: Value) -> Response {
    json_resp(StatusCode::OK, v)
}

fn form_decode(s: &str) -> HashMap<String, String> {
    fn dec(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let h = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(h, 16).unwrap());
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect()
}

async fn discovery(State(s): State<Arc<ProviderState>>) -> Response {
    let base = s.base.lock().unwrap().clone();
    let issuer = s.issuer.lock().unwrap().clone();
    json_ok(json!({
        "issuer": issuer,
        "jwks_uri": format!("{base}/keys"),
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    }))
}

async fn keys(State(s): State<Arc<ProviderState>>) -> Response {
    s.jwks_hits.fetch_add(1, Ordering::SeqCst);
    json_ok(s.jwks.lock().unwrap().clone())
}

async fn authorize(
    State(s): State<Arc<ProviderState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code"
        || get("code_challenge_method") != "S256"
        || get("client_id") != s.client_id
        || !get("scope").split(' ').any(|x| x == "openid")
    {
        return (StatusCode::BAD_REQUEST, "bad authorize request").into_response();
    }
    let code = format!("code-{}", s.next_code.fetch_add(1, Ordering::SeqCst));
    s.grants.lock().unwrap().insert(
        code.clone(),
        Grant {
            nonce: get("nonce"),
            challenge: get("code_challenge"),
            redirect_uri: get("redirect_uri"),
        },
    );
    let mut location = get("redirect_uri");
    location.push_str(if location.contains('?') { "&" } else { "?" });
    location.push_str(&format!("code={code}&state={}", get("state")));
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn token_error(msg: &str) -> Response {
    json_resp(StatusCode::BAD_REQUEST, json!({"error": msg}))
}

async fn token(State(s): State<Arc<ProviderState>>, headers: HeaderMap, body: String) -> Response {
    let form = form_decode(&body);
    s.token_requests.lock().unwrap().push(form.clone());
    // RFC 6749 §2.3.1: both parts are form-encoded before Basic encoding.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            let (id, secret) = pair.split_once(':')?;
            let d = form_decode(&format!("id={id}&secret={secret}"));
            Some((d["id"].clone(), d["secret"].clone()))
        });
    if basic != Some((s.client_id.clone(), s.client_secret.clone())) {
        return token_error("invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_error("unsupported_grant_type");
    }
    let Some(grant) = form
        .get("code")
        .and_then(|c| s.grants.lock().unwrap().remove(c))
    else {
        return token_error("invalid_grant");
    };
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return token_error("invalid_grant");
    }
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    if b64url(digest.as_ref()) != grant.challenge {
        return token_error("invalid_grant");
    }
    let issuer = s.issuer.lock().unwrap().clone();
    let nonce = if s.tamper_nonce.load(Ordering::SeqCst) {
        "not-the-nonce".to_owned()
    } else {
        grant.nonce
    };
    let mut claims = json!({
        "iss": issuer,
        "sub": "person-1",
        "aud": s.client_id,
        "iat": s.now - 5,
        "exp": s.now + 300,
        "nonce": nonce,
    });
    if let (Value::Object(c), Value::Object(extra)) =
        (&mut claims, s.id_claims.lock().unwrap().clone())
    {
        c.extend(extra);
    }
    let signer = s
        .signer
        .lock()
        .unwrap()
        .clone()
        .expect("provider has a signing key");
    let id_token = signer.sign(&claims);
    json_ok(json!({
        "access_token": "access-123",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
}

impl Provider {
    /// Starts a provider whose issuer is `<base><issuer_path>`.
    pub async fn start(issuer_path: &str, tls: bool, now: i64) -> Provider {
        let state = Arc::new(ProviderState {
            jwks: Mutex::new(json!({"keys": []})),
            jwks_hits: AtomicUsize::new(0),
            issuer: Mutex::new(String::new()),
            base: Mutex::new(String::new()),
            signer: Mutex::new(None),
            client_id: "arca-client".into(),
            client_secret: "s3cr3t value/+=".into(),
            now,
            grants: Mutex::new(HashMap::new()),
            next_code: AtomicUsize::new(1),
            id_claims: Mutex::new(json!({})),
            tamper_nonce: AtomicBool::new(false),
            token_requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route(
                &format!("{issuer_path}/.well-known/openid-configuration"),
                get(discovery),
            )
            .route("/keys", get(keys))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (base, ca_pem) = if tls {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            let certs = vec![rustls_pki_types::CertificateDer::from(cert.der().to_vec())];
            let key_der = rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
            let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key_der)
            .unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
            tokio::spawn(async move {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        break;
                    };
                    let acceptor = acceptor.clone();
                    let app = app.clone();
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let svc = hyper_util::service::TowerToHyperService::new(app);
                        let _ = hyper_util::server::conn::auto::Builder::new(
                            hyper_util::rt::TokioExecutor::new(),
                        )
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                    });
                }
            });
            (format!("https://{addr}"), Some(cert.pem()))
        } else {
            tokio::spawn(async move {
                let _ = axum::serve(listener, app).await;
            });
            (format!("http://{addr}"), None)
        };
        let issuer = format!("{base}{issuer_path}");
        *state.base.lock().unwrap() = base.clone();
        *state.issuer.lock().unwrap() = issuer.clone();
        Provider {
            base,
            issuer,
            state,
            ca_pem,
        }
    }

    pub fn set_jwks(&self, keys: &[&TestKey]) {
        *self.state.jwks.lock().unwrap() = crate::keys::jwks(keys);
    }

    pub fn hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/keys", self.base)
    }
}
