#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arca_core::{Core, CoreConfig};
use arca_storage::InMemStorage;
use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::*;

struct Test {
    app: Router,
    token: String,
}

async fn dev() -> Test {
    let core = Core::new(
        Arc::new(InMemStorage::new()),
        CoreConfig {
            raw_storage_endpoint: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let creds = core.dev_setup(Some("root")).await.unwrap();
    Test {
        app: router(
            core,
            HttpOptions {
                max_request_size: 1024 * 1024,
                ..Default::default()
            },
        ),
        token: creds.root_token.to_string(),
    }
}

async fn call(app: &Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, headers, body)
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn with_token(method: &str, path: &str, token: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("X-Vault-Token", token)
        .body(body.into())
        .unwrap()
}

#[tokio::test]
async fn uninitialised_server_status_codes() {
    let core = Core::new(Arc::new(InMemStorage::new()), CoreConfig::default())
        .await
        .unwrap();
    let app = router(core, HttpOptions::default());
    let (s, _, b) = call(&app, get("/v1/sys/health")).await;
    assert_eq!(s, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(b["initialized"], false);
    let (s, _, b) = call(&app, get("/v1/sys/init")).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"initialized": false})));
    let (s, _, b) = call(&app, get("/v1/sys/seal-status")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((b["t"].clone(), b["n"].clone()), (json!(0), json!(0)));
    let (s, _, b) = call(
        &app,
        with_token("PUT", "/v1/sys/unseal", "", r#"{"key":"abcd"}"#),
    )
    .await;
    assert_eq!(
        (s, b),
        (
            StatusCode::BAD_REQUEST,
            json!({"errors": ["Vault is not initialized"]})
        )
    );
    let (s, _, b) = call(
        &app,
        with_token("GET", "/v1/sys/key-status", "x", Body::empty()),
    )
    .await;
    assert_eq!(
        (s, b),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"errors": ["Vault is sealed"]})
        )
    );
}

#[tokio::test]
async fn health_codes_and_unknown_params() {
    let t = dev().await;
    let (s, h, b) = call(&t.app, get("/v1/sys/health")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(b["sealed"], false);
    assert_eq!(b["replication_dr_mode"], "disabled");
    let agent = "/v1/sys/health?drsecondarycode=299&haunhealhty=299&performancestandbycode=299&removedcode=299&sealedcode=299&standbycode=299&uninitcode=299";
    assert_eq!(call(&t.app, get(agent)).await.0, StatusCode::OK);
    assert_eq!(
        call(&t.app, get("/v1/sys/health?activecode=204")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&t.app, get("/v1/sys/health?activecode=abc")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        call(&t.app, get("/v1/sys/health?sealedcode=1000")).await.0,
        StatusCode::BAD_REQUEST
    );
    let head = Request::head("/v1/sys/health").body(Body::empty()).unwrap();
    let (s, _, b) = call(&t.app, head).await;
    assert_eq!((s, b), (StatusCode::OK, Value::Null));
    let ns = Request::get("/v1/sys/health")
        .header("X-Vault-Namespace", "team")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&t.app, ns).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn envelope_legacy_fields_and_bearer() {
    let t = dev().await;
    let req = Request::get("/v1/sys/key-status")
        .header("Authorization", format!("Bearer {}", t.token))
        .body(Body::empty())
        .unwrap();
    let (s, _, b) = call(&t.app, req).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"]["term"], 1);
    assert_eq!(b["term"], 1, "legacy top-level copy");
    assert_eq!(b["lease_id"], "");
    assert_eq!(b["warnings"], Value::Null);
    assert_eq!(b["wrap_info"], Value::Null);
    assert_eq!(b["request_id"].as_str().unwrap().len(), 36);
    // X-Vault-Token wins over Bearer.
    let req = Request::get("/v1/sys/key-status")
        .header("X-Vault-Token", "wrong")
        .header("Authorization", format!("Bearer {}", t.token))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&t.app, req).await.0, StatusCode::FORBIDDEN);
    let (s, _, b) = call(&t.app, get("/v1/sys/key-status")).await;
    assert_eq!(
        (s, b),
        (
            StatusCode::FORBIDDEN,
            json!({"errors": ["permission denied"]})
        )
    );
}

#[tokio::test]
async fn raw_writes_lists_and_verbs() {
    let t = dev().await;
    let tok = &t.token;
    let (s, _, b) = call(
        &t.app,
        with_token("PUT", "/v1/sys/raw/app/a", tok, r#"{"value":"1"}"#),
    )
    .await;
    assert_eq!((s, b), (StatusCode::NO_CONTENT, Value::Null));
    // Form encoding, POST = PUT.
    let form = Request::post("/v1/sys/raw/app/b")
        .header("X-Vault-Token", tok)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from("value=2"))
        .unwrap();
    assert_eq!(call(&t.app, form).await.0, StatusCode::NO_CONTENT);
    let (s, _, b) = call(
        &t.app,
        with_token("LIST", "/v1/sys/raw/app", tok, Body::empty()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"]["keys"], json!(["a", "b"]));
    let (_, _, b2) = call(
        &t.app,
        with_token("GET", "/v1/sys/raw/app?list=true", tok, Body::empty()),
    )
    .await;
    assert_eq!(b2["data"]["keys"], json!(["a", "b"]));
    let (s, _, b) = call(
        &t.app,
        with_token("LIST", "/v1/sys/raw/nothing", tok, Body::empty()),
    )
    .await;
    assert_eq!((s, b), (StatusCode::NOT_FOUND, json!({"errors": []})));
    let (s, _, b) = call(
        &t.app,
        with_token("GET", "/v1/sys/raw/app/b", tok, Body::empty()),
    )
    .await;
    assert_eq!(
        (s, b["data"]["value"].clone()),
        (StatusCode::OK, json!("2"))
    );
    // Unknown parameters are a warning on responses with a body; a 204 stays a 204.
    let (s, _, b) = call(
        &t.app,
        with_token(
            "PUT",
            "/v1/sys/raw/app/c",
            tok,
            r#"{"value":"3","extra":1}"#,
        ),
    )
    .await;
    assert_eq!((s, b), (StatusCode::NO_CONTENT, Value::Null));
    let (s, _, b) = call(
        &t.app,
        with_token("GET", "/v1/sys/raw/app/c?extra=1", tok, Body::empty()),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["warnings"],
        json!(["Endpoint ignored these unrecognized parameters: [extra]"])
    );
    // Empty and null bodies are "no data".
    let (s, _, b) = call(&t.app, with_token("PUT", "/v1/sys/raw/app/d", tok, "null")).await;
    assert_eq!(
        (s, b),
        (
            StatusCode::BAD_REQUEST,
            json!({"errors": ["no value provided"]})
        )
    );
    let (s, _, _) = call(&t.app, with_token("PUT", "/v1/sys/rotate", tok, "")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(
        &t.app,
        with_token("OPTIONS", "/v1/sys/raw/app/a", tok, Body::empty()),
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    let (s, _, _) = call(&t.app, with_token("PATCH", "/v1/sys/raw/app/a", tok, "{}")).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _, b) = call(
        &t.app,
        with_token("PUT", "/v1/sys/raw/app/", tok, r#"{"value":"x"}"#),
    )
    .await;
    assert_eq!(
        (s, b),
        (
            StatusCode::BAD_REQUEST,
            json!({"errors": ["cannot write to a path ending in '/'"]})
        )
    );
    let (s, _, b) = call(&t.app, with_token("GET", "/v1/nope/x", tok, Body::empty())).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        b["errors"][0],
        "no handler for route \"nope/x\". route entry not found."
    );
}

#[tokio::test]
async fn bad_input_is_4xx_and_stores_nothing() {
    let t = dev().await;
    let tok = &t.token;
    let deep_array = "[".repeat(10_000) + &"]".repeat(10_000);
    let deep_object = format!(
        "{{\"value\":{}{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_001)
    );
    let cases: Vec<(&str, Body, StatusCode)> = vec![
        (
            "malformed",
            Body::from("{\"value\":"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "wrong type",
            Body::from(r#"{"value":{"nested":true}}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not an object",
            Body::from("[1,2]"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "duplicate keys",
            Body::from(r#"{"value":"a","value":"b"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "invalid utf-8",
            Body::from(b"{\"value\":\"\xff\xfe\"}".to_vec()),
            StatusCode::BAD_REQUEST,
        ),
        (
            "lone surrogate",
            Body::from(r#"{"value":"\ud800"}"#),
            StatusCode::BAD_REQUEST,
        ),
        (
            "deep array",
            Body::from(deep_array),
            StatusCode::BAD_REQUEST,
        ),
        (
            "deep object",
            Body::from(deep_object),
            StatusCode::BAD_REQUEST,
        ),
        (
            "too large",
            Body::from(format!("{{\"value\":\"{}\"}}", "x".repeat(2 * 1024 * 1024))),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (name, body, want) in cases {
        let (s, _, b) = call(&t.app, with_token("PUT", "/v1/sys/raw/bad/key", tok, body)).await;
        assert_eq!(s, want, "{name}: {b}");
        assert!(b["errors"].is_array(), "{name}: error shape");
    }
    for path in [
        "/v1/sys/raw/bad/../key",
        "/v1/sys/raw/bad/%2e%2e/key",
        "/v1/sys/raw/bad/%2E%2e/key",
        "/v1/sys/raw/bad/./key",
        "/v1/sys/raw//bad/key",
        "/v1/sys/raw/bad%00/key",
        "/v1/sys/raw/bad/%ff/key",
    ] {
        let (s, _, b) = call(&t.app, with_token("PUT", path, tok, r#"{"value":"x"}"#)).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {b}");
        assert!(b["errors"].is_array());
    }
    let (s, _, _) = call(
        &t.app,
        with_token("LIST", "/v1/sys/raw/bad", tok, Body::empty()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "nothing was stored");
}

#[tokio::test]
async fn legacy_quorum_endpoints_disabled_by_default() {
    let t = dev().await;
    let (s, _, b) = call(
        &t.app,
        with_token("PUT", "/v1/sys/generate-root/attempt", "", "{}"),
    )
    .await;
    assert_eq!(
        (s, b),
        (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"errors": ["unsupported operation"]})
        )
    );
    let (s, _, _) = call(&t.app, with_token("PUT", "/v1/sys/rekey/init", "", "{}")).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn seal_over_http() {
    let t = dev().await;
    let (s, _, _) = call(
        &t.app,
        with_token("PUT", "/v1/sys/seal", &t.token, Body::empty()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, b) = call(&t.app, get("/v1/sys/seal-status")).await;
    assert_eq!((s, b["sealed"].clone()), (StatusCode::OK, json!(true)));
    assert_eq!(
        call(&t.app, get("/v1/sys/health")).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    // Without HA storage the leader endpoint answers the same while sealed, as OpenBao.
    let (s, _, b) = call(&t.app, get("/v1/sys/leader")).await;
    assert_eq!((s, b), (StatusCode::OK, json!({"ha_enabled": false})));
}
