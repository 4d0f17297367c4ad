use std::sync::Arc;
use std::time::Duration;

use arca_logical::Operation;
use arca_storage::{Storage, StorageView};
use arca_token::TokenStore;
use serde_json::{Value, json};

use crate::support::{Event, harness};

#[tokio::test]
async fn use_limited_token_stops_after_its_last_use() {
    let h = harness().await;
    let (t, _) = h.create(json!({"policies": ["app"], "num_uses": 2})).await;
    let id = h.entry(&t).await.id;

    // First use: one left.
    assert_eq!(h.lookup_data(&t).await["num_uses"], json!(1));
    // Second (last) use still succeeds and shows -1, as Vault does.
    assert_eq!(h.lookup_data(&t).await["num_uses"], json!(-1));
    // Then the token is gone.
    let err = h
        .call(Operation::Read, "lookup-self", &t, Value::Null)
        .await
        .unwrap_err();
    assert_eq!(err.kind, arca_logical::ErrorKind::PermissionDenied);
    assert!(h.hooks.events().contains(&Event::Revoked(id.clone())));
    assert!(h.dump().await.keys().all(|k| !k.contains(id.as_str())));
}

#[tokio::test]
async fn use_counts_are_durable_and_concurrent_uses_are_counted() {
    let h = harness().await;
    let (t, _) = h.create(json!({"policies": ["app"], "num_uses": 10})).await;
    assert!(h.store.authenticate(&t, None).await.unwrap().is_some());

    // A store reopened on the same storage sees the consumed use.
    let view: Arc<dyn Storage> = Arc::new(StorageView::new(h.raw.clone(), "sys/token/"));
    let reopened = TokenStore::open(view, h.hooks.clone(), h.system.clone())
        .await
        .unwrap();
    assert_eq!(reopened.lookup(&t).await.unwrap().unwrap().num_uses, 9);

    // Nine concurrent uses: each consumes one, the ninth is the last.
    let mut tasks = Vec::new();
    for _ in 0..9 {
        let store = Arc::clone(&h.store);
        let t = t.clone();
        tasks.push(tokio::spawn(async move {
            store.authenticate(&t, None).await.unwrap()
        }));
    }
    let mut pending = 0;
    for task in tasks {
        let e = task
            .await
            .unwrap()
            .expect("every one of the nine uses is allowed");
        if e.revocation_pending {
            pending += 1;
        }
    }
    assert_eq!(pending, 1, "exactly one request got the last use");
    assert!(h.store.authenticate(&t, None).await.unwrap().is_none());
}

#[tokio::test]
async fn expired_token_is_rejected_at_its_expiry() {
    let h = harness().await;
    let (t, _) = h.create(json!({"policies": ["app"], "ttl": "10s"})).await;
    h.system.advance(Duration::from_millis(9_999));
    assert!(h.store.authenticate(&t, None).await.unwrap().is_some());
    h.system.advance(Duration::from_millis(1));
    // Rejected although nothing revoked it yet.
    assert!(h.store.authenticate(&t, None).await.unwrap().is_none());
    assert!(h.hooks.revoked().is_empty());
    assert!(h.store.lookup(&t).await.unwrap().is_none());
    assert!(
        h.call(Operation::Read, "lookup-self", &t, Value::Null)
            .await
            .is_err()
    );
    // The lease manager's revocation then removes it.
    let id = h.store.id_of(&t);
    h.store.revoke_tree(&id).await.unwrap();
    assert_eq!(h.hooks.revoked(), vec![id]);
}

#[tokio::test]
async fn finish_use_is_a_noop_for_ordinary_tokens() {
    let h = harness().await;
    let (t, _) = h.create(json!({"policies": ["app"]})).await;
    let e = h.store.authenticate(&t, None).await.unwrap().unwrap();
    h.store.finish_use(&e).await.unwrap();
    assert!(h.store.lookup(&t).await.unwrap().is_some());
}
