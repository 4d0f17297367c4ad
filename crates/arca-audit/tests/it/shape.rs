//! Record shape: field names and nesting as Vault/OpenBao write them (vault-api.md §2.11).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use arca_audit::AuditResponse;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn request_and_response_records_have_vaults_shape() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;

    let mut e = entry(
        "8f4b4c1c-0000-4000-8000-000000000001",
        "secret/data/payments",
    );
    e.time = SystemTime::UNIX_EPOCH + Duration::new(1_795_821_339, 500_000_000);
    e.operation = "update".into();
    e.request_data = Some(
        json!({"data": {"card": "4111", "pin": 1234, "ok": true}})
            .as_object()
            .unwrap()
            .clone(),
    );
    e.headers = BTreeMap::from([("X-Custom".to_owned(), "v".to_owned())]);
    b.log_request(&e).await.unwrap();
    e.response = Some(AuditResponse {
        status: 200,
        data: Some(
            json!({"version": 3, "created_time": "2026-11-28T00:35:39Z"})
                .as_object()
                .unwrap()
                .clone(),
        ),
        secret_lease_id: String::new(),
        warnings: vec!["w1".into()],
        ..AuditResponse::default()
    });
    b.log_response(&e).await.unwrap();

    let h = |s: &str| {
        let b = b.clone();
        let s = s.to_owned();
        async move { Value::String(b.hash("file/", &s).await.unwrap()) }
    };
    let auth = json!({
        "client_token": h("hvs.token").await,
        "accessor": h("accessor-alice").await,
        "display_name": "userpass-alice",
        "policies": ["default", "payments"],
        "token_policies": ["default", "payments"],
        "policy_results": {
            "allowed": true,
            "granting_policies": [{"name": "payments", "namespace_id": "root", "type": "acl"}]
        },
        "entity_id": "entity-alice",
        "token_type": "service",
        "token_ttl": 3600
    });
    let request = json!({
        "id": "8f4b4c1c-0000-4000-8000-000000000001",
        "operation": "update",
        "mount_point": "secret/",
        "mount_type": "kv",
        "mount_accessor": "kv_1234",
        "client_token": h("hvs.token").await,
        "client_token_accessor": h("accessor-alice").await,
        "namespace": {"id": "root"},
        "path": "secret/data/payments",
        "data": {"data": {"card": h("4111").await, "pin": 1234, "ok": true}},
        "remote_address": "127.0.0.1",
        "remote_port": 50000,
        "headers": {"x-custom": [h("v").await]}
    });
    let recs = records(&log);
    assert_eq!(recs.len(), 2);
    assert_eq!(
        without_chain(recs[0].clone()),
        json!({
            "time": "2026-11-27T23:15:39.5Z",
            "type": "request",
            "auth": auth,
            "request": request,
        })
    );
    assert_eq!(
        without_chain(recs[1].clone()),
        json!({
            "time": "2026-11-27T23:15:39.5Z",
            "type": "response",
            "auth": auth,
            "request": request,
            "response": {
                "mount_point": "secret/",
                "mount_type": "kv",
                "mount_accessor": "kv_1234",
                "data": {"version": 3, "created_time": h("2026-11-28T00:35:39Z").await},
                "warnings": ["w1"]
            }
        })
    );
    // Field order follows OpenBao's structs (time, type, auth, request, response), with
    // the chain last.
    let line = &read_lines(&log)[2];
    let order: Vec<usize> = [
        "\"time\":",
        "\"type\":",
        "\"auth\":",
        "\"request\":",
        "\"response\":",
        "\"chain\":",
    ]
    .iter()
    .map(|k| line.find(k).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{line}");
}

#[tokio::test]
async fn unauthenticated_request_has_default_token_type_and_error() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;
    let mut e = entry("login-1", "auth/userpass/login/alice");
    e.auth = None;
    e.client_token = None;
    e.client_token_accessor.clear();
    e.request_data = Some(json!({"password": "hunter2"}).as_object().unwrap().clone());
    e.response = Some(AuditResponse {
        status: 400,
        error: Some("invalid username or password".into()),
        ..AuditResponse::default()
    });
    b.log_response(&e).await.unwrap();
    let r = &records(&log)[0];
    assert_eq!(r["auth"], json!({"token_type": "default"}));
    assert_eq!(r["error"], "invalid username or password");
    assert!(r["request"].get("client_token").is_none());
    assert_eq!(
        r["request"]["data"]["password"],
        Value::String(b.hash("file", "hunter2").await.unwrap())
    );
}

#[tokio::test]
async fn login_response_auth_and_wrap_info_are_hashed() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;
    let mut e = entry("login-2", "auth/userpass/login/alice");
    e.response = Some(AuditResponse {
        status: 200,
        auth: Some(json!({
            "client_token": "hvs.new",
            "accessor": "acc-new",
            "policies": ["default"],
            "token_policies": ["default"],
            "metadata": {"username": "alice"},
            "lease_duration": 2764800,
            "renewable": true,
            "entity_id": "ent",
            "token_type": "service",
            "orphan": true
        })),
        secret_lease_id: "database/creds/ro/abc".into(),
        wrap_info: Some(json!({
            "token": "hvs.wrap",
            "accessor": "wrap-acc",
            "ttl": 60,
            "creation_time": "2026-11-28T00:00:00Z",
            "creation_path": "auth/userpass/login/alice",
            "wrapped_accessor": "acc-new"
        })),
        ..AuditResponse::default()
    });
    b.log_response(&e).await.unwrap();
    let r = &records(&log)[0]["response"];
    let b2 = b.clone();
    let h = move |s: &'static str| {
        let b = b2.clone();
        async move { b.hash("file", s).await }
    };
    assert_eq!(
        r["auth"],
        json!({
            "client_token": h("hvs.new").await.unwrap(),
            "accessor": h("acc-new").await.unwrap(),
            "policies": ["default"],
            "token_policies": ["default"],
            "metadata": {"username": "alice"},
            "entity_id": "ent",
            "token_type": "service",
            "token_ttl": 2764800
        })
    );
    assert_eq!(r["secret"], json!({"lease_id": "database/creds/ro/abc"}));
    assert_eq!(r["wrap_info"]["token"], h("hvs.wrap").await.unwrap());
    assert_eq!(r["wrap_info"]["accessor"], h("wrap-acc").await.unwrap());
    assert_eq!(
        r["wrap_info"]["wrapped_accessor"],
        h("acc-new").await.unwrap()
    );
    assert_eq!(r["wrap_info"]["ttl"], 60);
    assert_eq!(r["wrap_info"]["creation_path"], "auth/userpass/login/alice");
}

#[tokio::test]
async fn a_response_record_reusing_the_request_records_parts_is_the_same_record() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;

    let mut e = entry("8f4b4c1c-0000-4000-8000-000000000002", "secret/data/app");
    e.request_data = Some(json!({"k": "v"}).as_object().unwrap().clone());
    e.headers = BTreeMap::from([("X-Custom".to_owned(), "h".to_owned())]);
    let logged = b.log_request(&e).await.unwrap();
    e.response = Some(AuditResponse {
        status: 400,
        data: Some(json!({"password": "p"}).as_object().unwrap().clone()),
        warnings: vec!["w".into()],
        error: Some("bad".into()),
        ..AuditResponse::default()
    });
    b.log_response_after(&e, &logged).await.unwrap();
    b.log_response(&e).await.unwrap();

    let records: Vec<Value> = read_lines(&log)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] != "checkpoint")
        .map(|mut v| {
            v.as_object_mut().unwrap().remove("chain");
            v
        })
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records[1], records[2]);
    assert_eq!(records[1]["error"], "bad");
    assert_eq!(records[0]["auth"], records[1]["auth"]);
    assert_eq!(records[0]["request"], records[1]["request"]);
    // Field order as Vault writes it, whichever way the record was built.
    let lines = read_lines(&log);
    let reused = lines
        .iter()
        .find(|l| l.contains("\"type\":\"response\""))
        .unwrap();
    let order = [
        "{\"time\":",
        ",\"type\":",
        ",\"auth\":{",
        ",\"request\":{",
        ",\"response\":{",
        ",\"error\":",
        ",\"chain\":{",
    ];
    let at: Vec<usize> = order.iter().map(|k| reused.find(k).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{reused}");
}
