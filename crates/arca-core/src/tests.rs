#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arca_logical::{ClientToken, ErrorKind, Operation, Request};
use arca_storage::{InMemStorage, Storage};
use arca_types::sys::{InitRequest, UnsealRequest};
use base64::Engine as _;
use serde_json::{Value, json};

use super::*;

async fn new_core(storage: Arc<dyn Storage>) -> Arc<Core> {
    Core::new(
        storage,
        CoreConfig {
            raw_storage_endpoint: true,
            ..CoreConfig::default()
        },
    )
    .await
    .unwrap()
}

async fn init(core: &Core, n: u64, t: u64) -> InitResponse {
    core.init(InitRequest {
        secret_shares: Some(n),
        secret_threshold: Some(t),
        ..Default::default()
    })
    .await
    .unwrap()
}

async fn unseal_with(core: &Core, keys: &[String]) -> SealStatus {
    let mut status = core.seal_status().await;
    for k in keys {
        status = core
            .unseal(UnsealRequest {
                key: Some(k.clone()),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    status
}

fn req(op: Operation, path: &str, token: &str, data: Value) -> Request {
    let mut r = Request::new("test", op, path);
    r.token = Some(ClientToken::new(token.to_owned()));
    if let Value::Object(m) = data {
        r.data = m;
    }
    r
}

#[tokio::test]
async fn init_unseal_seal_restart() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let core = new_core(Arc::clone(&storage)).await;
    assert!(!core.is_initialized());
    let resp = init(&core, 5, 3).await;
    assert_eq!(resp.keys.len(), 5);
    assert_eq!(resp.keys[0].len(), 66, "32-byte share plus x byte, hex");
    assert!(resp.root_token.starts_with("s.") && resp.root_token.len() == 26);
    assert!(core.is_sealed());

    let again = core
        .init(InitRequest {
            secret_shares: Some(1),
            secret_threshold: Some(1),
            ..Default::default()
        })
        .await;
    assert_eq!(again.unwrap_err().message, "Vault is already initialized");

    // Sealed: logical requests get 503.
    let err = core
        .handle(req(
            Operation::Read,
            "sys/key-status",
            &resp.root_token,
            json!({}),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Sealed);

    // Progress, duplicate shares ignored, nonce kept.
    let s1 = unseal_with(&core, &resp.keys[..1]).await;
    assert_eq!((s1.sealed, s1.progress), (true, 1));
    let s1b = unseal_with(&core, &resp.keys[..1]).await;
    assert_eq!(s1b.progress, 1);
    assert_eq!(s1.nonce, s1b.nonce);
    // base64 form of another share works too.
    let s2 = unseal_with(&core, &resp.keys_base64[1..2]).await;
    assert_eq!(s2.progress, 2);
    let s3 = unseal_with(&core, &resp.keys[2..3]).await;
    assert!(!s3.sealed);
    assert_eq!(s3.progress, 0);
    assert!(s3.cluster_name.is_some());

    let ks = core
        .handle(req(
            Operation::Read,
            "sys/key-status",
            &resp.root_token,
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(ks.data.unwrap()["term"], 1);

    core.handle(req(
        Operation::Update,
        "sys/raw/app/value",
        &resp.root_token,
        json!({"value": "v1"}),
    ))
    .await
    .unwrap();
    core.handle(req(
        Operation::Update,
        "sys/seal",
        &resp.root_token,
        json!({}),
    ))
    .await
    .unwrap();
    assert!(core.is_sealed());

    // A new core over the same storage unseals with another subset and sees the data.
    let core2 = new_core(Arc::clone(&storage)).await;
    assert!(core2.is_initialized());
    let s = unseal_with(
        &core2,
        &[
            resp.keys[4].clone(),
            resp.keys[3].clone(),
            resp.keys[1].clone(),
        ],
    )
    .await;
    assert!(!s.sealed);
    let v = core2
        .handle(req(
            Operation::Read,
            "sys/raw/app/value",
            &resp.root_token,
            json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(v.data.unwrap()["value"], "v1");
}

#[tokio::test]
async fn wrong_shares_reset_progress() {
    let core = new_core(Arc::new(InMemStorage::new())).await;
    let resp = init(&core, 3, 2).await;
    unseal_with(&core, &resp.keys[..1]).await;
    let mut bad = hex::decode(&resp.keys[1]).unwrap();
    bad[0] ^= 0xff;
    let err = core
        .unseal(UnsealRequest {
            key: Some(hex::encode(bad)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    let st = core.seal_status().await;
    assert!(st.sealed);
    assert_eq!(st.progress, 0);
    assert_eq!(st.nonce, "");

    for bad in ["zz", "abcd", &"a".repeat(100)] {
        let err = core
            .unseal(UnsealRequest {
                key: Some(bad.into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{bad}");
    }
    let err = core.unseal(UnsealRequest::default()).await.unwrap_err();
    assert!(err.message.contains("'key' must be specified"));
}

#[tokio::test]
async fn init_parameter_validation() {
    let core = new_core(Arc::new(InMemStorage::new())).await;
    for (n, t) in [(0, 0), (3, 4), (3, 1), (256, 2)] {
        let err = core
            .init(InitRequest {
                secret_shares: Some(n),
                secret_threshold: Some(t),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{n}/{t}");
    }
    assert!(!core.is_initialized());
}

#[tokio::test]
async fn unknown_token_is_denied() {
    let core = new_core(Arc::new(InMemStorage::new())).await;
    let resp = init(&core, 1, 1).await;
    unseal_with(&core, &resp.keys).await;
    let err = core
        .handle(req(Operation::Read, "sys/key-status", "s.nope", json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::PermissionDenied);
    let mut r = req(Operation::Read, "sys/key-status", "", json!({}));
    r.token = None;
    assert_eq!(
        core.handle(r).await.unwrap_err().kind,
        ErrorKind::PermissionDenied
    );
    let err = core
        .handle(req(
            Operation::Read,
            "secret/foo",
            &resp.root_token,
            json!({}),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.contains("no handler for route"));
}

#[tokio::test]
async fn rotate_keyring_and_root_key() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let core = new_core(Arc::clone(&storage)).await;
    let resp = init(&core, 1, 1).await;
    unseal_with(&core, &resp.keys).await;
    let tok = &resp.root_token;
    core.handle(req(
        Operation::Update,
        "sys/raw/k",
        tok,
        json!({"value": "before"}),
    ))
    .await
    .unwrap();
    core.handle(req(Operation::Update, "sys/rotate", tok, json!({})))
        .await
        .unwrap();
    let ks = core
        .handle(req(Operation::Read, "sys/key-status", tok, json!({})))
        .await
        .unwrap();
    assert_eq!(ks.data.unwrap()["term"], 2);
    core.handle(req(Operation::Update, "sys/rotate/root", tok, json!({})))
        .await
        .unwrap();
    core.handle(req(Operation::Update, "sys/seal", tok, json!({})))
        .await
        .unwrap();
    let core2 = new_core(storage).await;
    unseal_with(&core2, &resp.keys).await;
    let v = core2
        .handle(req(Operation::Read, "sys/raw/k", tok, json!({})))
        .await
        .unwrap();
    assert_eq!(v.data.unwrap()["value"], "before");
}

#[tokio::test]
async fn raw_refuses_seal_material() {
    let core = new_core(Arc::new(InMemStorage::new())).await;
    let resp = init(&core, 1, 1).await;
    unseal_with(&core, &resp.keys).await;
    for p in [
        "sys/raw/core/keyring",
        "sys/raw/core/root-key",
        "sys/raw/core/seal-config",
    ] {
        let err = core
            .handle(req(
                Operation::Update,
                p,
                &resp.root_token,
                json!({"value": "x"}),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{p}");
    }
}

#[tokio::test]
async fn rekey_with_verification_then_unseal_with_new_shares() {
    let storage: Arc<dyn Storage> = Arc::new(InMemStorage::new());
    let core = new_core(Arc::clone(&storage)).await;
    let resp = init(&core, 3, 2).await;
    unseal_with(&core, &resp.keys[..2]).await;
    let tok = &resp.root_token;
    let init = core
        .handle(req(
            Operation::Update,
            "sys/rotate/root/init",
            tok,
            json!({"secret_shares": 4, "secret_threshold": 3, "require_verification": true}),
        ))
        .await
        .unwrap()
        .data
        .unwrap();
    let nonce = init["nonce"].as_str().unwrap().to_owned();
    assert_eq!(init["required"], 2);
    let bad_nonce = core
        .handle(req(
            Operation::Update,
            "sys/rotate/root/update",
            tok,
            json!({"key": resp.keys[0], "nonce": "x"}),
        ))
        .await
        .unwrap_err();
    assert_eq!(bad_nonce.message, "incorrect nonce");
    let mut last = None;
    for k in &resp.keys[..2] {
        last = Some(
            core.handle(req(
                Operation::Update,
                "sys/rotate/root/update",
                tok,
                json!({"key": k, "nonce": nonce}),
            ))
            .await
            .unwrap()
            .data
            .unwrap(),
        );
    }
    let done = last.unwrap();
    assert_eq!(done["complete"], true);
    assert_eq!(done["verification_required"], true);
    let new_keys: Vec<String> = serde_json::from_value(done["keys"].clone()).unwrap();
    assert_eq!(new_keys.len(), 4);
    let vnonce = done["verification_nonce"].as_str().unwrap().to_owned();
    for k in &new_keys[..3] {
        core.handle(req(
            Operation::Update,
            "sys/rotate/root/verify",
            tok,
            json!({"key": k, "nonce": vnonce}),
        ))
        .await
        .unwrap();
    }
    core.handle(req(Operation::Update, "sys/seal", tok, json!({})))
        .await
        .unwrap();
    let st = core.seal_status().await;
    assert_eq!((st.t, st.n), (3, 4));
    // Old shares no longer open it; new ones do, also after a restart.
    let core2 = new_core(storage).await;
    let old = unseal_with(&core2, &resp.keys[..1]).await;
    assert!(old.sealed);
    core2
        .unseal(UnsealRequest {
            reset: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    let s = unseal_with(&core2, &new_keys[1..4]).await;
    assert!(!s.sealed);
}

#[tokio::test]
async fn generate_root_with_otp() {
    let core = new_core(Arc::new(InMemStorage::new())).await;
    let resp = init(&core, 3, 2).await;
    unseal_with(&core, &resp.keys[..2]).await;
    let tok = &resp.root_token;
    let st = core
        .handle(req(
            Operation::Update,
            "sys/generate-root-token/attempt",
            tok,
            json!({}),
        ))
        .await
        .unwrap()
        .data
        .unwrap();
    let otp = st["otp"].as_str().unwrap().to_owned();
    assert_eq!(otp.len(), 26);
    let nonce = st["nonce"].as_str().unwrap().to_owned();
    let mut last = Value::Null;
    for k in &resp.keys[1..3] {
        last = Value::Object(
            core.handle(req(
                Operation::Update,
                "sys/generate-root-token/update",
                tok,
                json!({"key": k, "nonce": nonce}),
            ))
            .await
            .unwrap()
            .data
            .unwrap(),
        );
    }
    assert_eq!(last["complete"], true);
    let encoded = last["encoded_token"].as_str().unwrap();
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded)
        .unwrap();
    let token: String = raw
        .iter()
        .zip(otp.as_bytes())
        .map(|(a, b)| char::from(a ^ b))
        .collect();
    assert!(token.starts_with("s."));
    let ks = core
        .handle(req(Operation::Read, "sys/key-status", &token, json!({})))
        .await
        .unwrap();
    assert!(ks.data.is_some());
}

#[tokio::test]
async fn dev_setup_uses_chosen_root_token() {
    let core = new_core(Arc::new(InMemStorage::new())).await;
    let creds = core.dev_setup(Some("root")).await.unwrap();
    assert_eq!(creds.root_token.as_str(), "root");
    assert!(!core.is_sealed());
    core.handle(req(Operation::Read, "sys/key-status", "root", json!({})))
        .await
        .unwrap();
}
