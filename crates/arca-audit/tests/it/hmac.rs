//! Every sensitive string is HMAC'd with the device's salt; numbers and booleans are kept.

use arca_audit::{AuditError, HMAC_PREFIX};
use serde_json::{Value, json};

use crate::support::*;

/// Walks `v` and collects every string leaf under it.
fn string_leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(l) => l.iter().for_each(|i| string_leaves(i, out)),
        Value::Object(m) => m.values().for_each(|i| string_leaves(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_string_leaf_is_hashed_numbers_and_bools_kept() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[]).await;
    let data = json!({
        "password": "hunter2",
        "empty": "",
        "pin": 1234,
        "ratio": 0.5,
        "flag": false,
        "nothing": null,
        "list": ["a", 1, ["deep", true], {"k": "v"}],
        "nested": {"inner": {"secret": "s3cr3t", "n": 7}}
    });
    let mut e = entry("id-1", "secret/data/x");
    e.request_data = Some(data.as_object().unwrap().clone());
    let e = with_response(e, data.clone());
    b.log_request(&e).await.unwrap();
    b.log_response(&e).await.unwrap();
    let recs = records(&log);
    for r in &recs {
        for d in [&r["request"]["data"], &r["response"]["data"]] {
            if d.is_null() {
                continue;
            }
            let mut leaves = Vec::new();
            string_leaves(d, &mut leaves);
            assert_eq!(leaves.len(), 6, "{d}");
            for l in &leaves {
                assert!(
                    l.starts_with(HMAC_PREFIX) && l.len() == HMAC_PREFIX.len() + 64,
                    "{l}"
                );
            }
            assert_eq!(d["pin"], 1234);
            assert_eq!(d["ratio"], 0.5);
            assert_eq!(d["flag"], false);
            assert_eq!(d["nothing"], Value::Null);
            assert_eq!(d["list"][1], 1);
            assert_eq!(d["list"][2][1], true);
            assert_eq!(d["nested"]["inner"]["n"], 7);
            assert_eq!(d["password"], b.hash("file", "hunter2").await.unwrap());
            assert_eq!(d["empty"], b.hash("file", "").await.unwrap());
            assert_eq!(d["list"][2][0], b.hash("file", "deep").await.unwrap());
        }
        // Tokens and accessors are hashed everywhere they appear.
        assert_eq!(
            r["auth"]["client_token"],
            b.hash("file", "hvs.token").await.unwrap()
        );
        assert_eq!(
            r["auth"]["accessor"],
            b.hash("file", "accessor-alice").await.unwrap()
        );
        assert_eq!(
            r["request"]["client_token"],
            b.hash("file", "hvs.token").await.unwrap()
        );
        assert_eq!(
            r["request"]["client_token_accessor"],
            b.hash("file", "accessor-alice").await.unwrap()
        );
    }
    // No raw secret anywhere in the file.
    let raw = std::fs::read_to_string(&log).unwrap();
    for secret in [
        "hunter2",
        "s3cr3t",
        "hvs.token",
        "accessor-alice",
        "\"deep\"",
    ] {
        assert!(!raw.contains(secret), "{secret} leaked");
    }
}

#[tokio::test]
async fn salts_are_per_device_and_survive_restarts_but_not_reenable() {
    let dir = tmp();
    let state = state();
    let b = broker_on(state.clone()).await;
    enable_file(&b, &log_path(&dir), &[]).await;
    b.enable(
        "other",
        "file",
        "",
        opts(&[("file_path", "discard")]),
        false,
    )
    .await
    .unwrap();
    let h1 = b.hash("file/", "x").await.unwrap();
    assert_ne!(h1, b.hash("other", "x").await.unwrap());
    b.shutdown().await;
    // A new broker over the same state (a restart) keeps the salt of a device at the same
    // path, so yesterday's audit-hash still matches.
    let b2 = broker_on(state.clone()).await;
    enable_file(&b2, &log_path(&dir), &[]).await;
    assert_eq!(b2.hash("file", "x").await.unwrap(), h1);
    // Disabling forgets it: re-enabling creates a new salt (as in Vault).
    assert!(b2.disable("file/").await.unwrap());
    assert!(!b2.disable("file/").await.unwrap());
    enable_file(&b2, &log_path(&dir), &[]).await;
    assert_ne!(b2.hash("file", "x").await.unwrap(), h1);
    assert!(matches!(
        b2.hash("nope", "x").await,
        Err(AuditError::UnknownDevice)
    ));
}

#[tokio::test]
async fn hmac_accessor_false_keeps_accessors_and_non_hmac_keys_are_clear() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[("hmac_accessor", "false")]).await;
    let mut e = entry("id-2", "secret/data/x");
    e.request_data = Some(
        json!({"name": "visible", "password": "p"})
            .as_object()
            .unwrap()
            .clone(),
    );
    e.non_hmac_request_keys = vec!["name".into()];
    b.log_request(&e).await.unwrap();
    let r = &records(&log)[0];
    assert_eq!(r["auth"]["accessor"], "accessor-alice");
    assert_eq!(r["request"]["client_token_accessor"], "accessor-alice");
    assert_eq!(
        r["auth"]["client_token"],
        b.hash("file", "hvs.token").await.unwrap()
    );
    assert_eq!(r["request"]["data"]["name"], "visible");
    assert_eq!(
        r["request"]["data"]["password"],
        b.hash("file", "p").await.unwrap()
    );
}

#[tokio::test]
async fn log_raw_is_refused_unless_allowed() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    let o = opts(&[("file_path", log.to_str().unwrap()), ("log_raw", "true")]);
    let err = b
        .enable("file", "file", "", o.clone(), false)
        .await
        .unwrap_err();
    assert!(matches!(err, AuditError::LogRawRefused), "{err}");
    assert!(!b.is_enabled());
    b.allow_log_raw(true);
    b.enable("file", "file", "", o, false).await.unwrap();
    let mut e = entry("id-3", "secret/data/x");
    e.request_data = Some(json!({"password": "p"}).as_object().unwrap().clone());
    b.log_request(&e).await.unwrap();
    let r = &records(&log)[0];
    assert_eq!(r["request"]["data"]["password"], "p");
    assert_eq!(r["auth"]["client_token"], "hvs.token");
}

#[tokio::test]
async fn elide_list_responses_counts_keys() {
    let dir = tmp();
    let log = log_path(&dir);
    let b = broker().await;
    enable_file(&b, &log, &[("elide_list_responses", "true")]).await;
    let mut e = entry("id-4", "secret/metadata/");
    e.operation = "list".into();
    let e = with_response(e, json!({"keys": ["a", "b", "c"], "key_info": {"a": {}}}));
    b.log_response(&e).await.unwrap();
    let r = &records(&log)[0];
    assert_eq!(r["response"]["data"], json!({"keys": 3, "key_info": 1}));
}
