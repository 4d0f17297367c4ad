use std::time::Duration;

use arca_logical::TokenType;
use serde_json::json;

use crate::support::{Event, assert_err, harness};

#[tokio::test]
async fn batch_tokens_are_never_stored() {
    let h = harness().await;
    let before = h.dump().await;
    let events_before = h.hooks.events().len();
    let (b, resp) = h
        .create(json!({"policies": ["app"], "type": "batch", "ttl": "1h"}))
        .await;
    let auth = resp.auth.unwrap();
    assert!(b.starts_with("b."), "batch token format");
    assert_eq!(auth.accessor, "");
    assert!(!auth.renewable);
    assert_eq!(auth.token_type, TokenType::Batch);
    assert!(!auth.orphan);
    assert_eq!(auth.ttl.as_secs(), 3600);
    assert_eq!(h.dump().await, before, "storage untouched");
    assert_eq!(h.hooks.events().len(), events_before, "no lease");

    // It authenticates and looks itself up, still without storage writes.
    let data = h.lookup_data(&b).await;
    assert_eq!(data["type"], json!("batch"));
    assert_eq!(data["id"], json!(b));
    assert_eq!(data["accessor"], json!(""));
    assert_eq!(data["renewable"], json!(false));
    assert_eq!(data["policies"], json!(["app", "default"]));
    assert_eq!(data["expire_time"], json!("2027-01-15T09:00:00Z"));
    assert_eq!(data["orphan"], json!(false));
    assert_eq!(h.dump().await, before);

    // The Vault prefix works too.
    let hvb = format!("hvb.{}", &b[2..]);
    assert!(h.store.authenticate(&hvb, None).await.unwrap().is_some());
    // Tampering is detected.
    let mut bytes = b.clone().into_bytes();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    assert!(
        h.store
            .authenticate(&String::from_utf8(bytes).unwrap(), None)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn batch_tokens_cannot_create_renew_or_be_revoked() {
    let h = harness().await;
    let (b, _) = h
        .create(json!({"policies": ["app"], "type": "batch"}))
        .await;
    assert_err(
        h.write("create", &b, json!({})).await,
        "400",
        "batch tokens cannot create more tokens",
    );
    assert_err(
        h.write("renew-self", &b, json!({})).await,
        "400",
        "batch tokens cannot be renewed",
    );
    assert_err(
        h.write("revoke-self", &b, json!({})).await,
        "400",
        "batch tokens cannot be revoked",
    );
    assert_err(
        h.write("revoke", &h.root, json!({"token": b})).await,
        "400",
        "batch tokens cannot be revoked",
    );
    // Root batch tokens are refused.
    assert_err(
        h.write("create", &h.root, json!({"type": "batch"})).await,
        "400",
        "batch tokens cannot be root tokens",
    );
}

#[tokio::test]
async fn batch_tokens_expire_and_die_with_their_parent() {
    let h = harness().await;
    let (parent, _) = h.create(json!({"policies": ["app"]})).await;
    let (b, _) = h
        .create_as(&parent, json!({"type": "batch", "ttl": "30s"}))
        .await;
    let (orphan_b, _) = h
        .create(json!({"policies": ["app"], "type": "batch", "no_parent": true, "ttl": "1h"}))
        .await;
    assert!(h.store.authenticate(&b, None).await.unwrap().is_some());

    h.write("revoke", &h.root, json!({"token": parent}))
        .await
        .unwrap();
    assert!(
        h.store.authenticate(&b, None).await.unwrap().is_none(),
        "parent revoked"
    );
    assert!(
        h.store
            .authenticate(&orphan_b, None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        !h.hooks
            .events()
            .iter()
            .any(|e| matches!(e, Event::Created(id) if id == &h.store.id_of(&orphan_b)))
    );

    h.system.advance(Duration::from_secs(3599));
    assert!(
        h.store
            .authenticate(&orphan_b, None)
            .await
            .unwrap()
            .is_some()
    );
    h.system.advance(Duration::from_secs(1));
    assert!(
        h.store
            .authenticate(&orphan_b, None)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
}
