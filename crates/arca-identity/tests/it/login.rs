//! `IdentityStore::login`: find-or-create, metadata refresh, concurrency, disabled
//! entities.

use std::sync::Arc;

use arca_logical::ErrorKind;
use serde_json::json;

use crate::support::{alias, env, s};

#[tokio::test]
async fn login_creates_entity_and_alias_once() {
    let env = env().await;
    let first = env
        .store
        .login(
            "auth_userpass_1",
            "userpass",
            "auth/userpass/",
            &alias("alice", &[("username", "alice")]),
        )
        .await
        .unwrap();
    assert!(first.identity_policies.is_empty());
    let entity = env
        .read(&format!("entity/id/{}", first.entity_id))
        .await
        .unwrap();
    let name = s(&entity["name"]);
    assert!(
        name.starts_with("entity_") && name.ends_with(".root"),
        "{name}"
    );
    let a = &entity["aliases"][0];
    assert_eq!(a["id"], first.alias_id.as_str());
    assert_eq!(a["name"], "alice");
    assert_eq!(a["metadata"], json!({"username": "alice"}));
    assert_eq!(a["mount_type"], "userpass");
    assert_eq!(a["mount_path"], "auth/userpass/");

    // Same alias (any case): same entity and alias.
    let second = env
        .store
        .login(
            "auth_userpass_1",
            "userpass",
            "auth/userpass/",
            &alias("ALICE", &[("username", "alice")]),
        )
        .await
        .unwrap();
    assert_eq!(second, first);
    // Another mount: another entity.
    let other = env.login("auth_userpass_2", "alice").await;
    assert_ne!(other.entity_id, first.entity_id);
    assert_eq!(
        env.list("entity/id").await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Changed metadata is written to the alias.
    env.clock.advance(std::time::Duration::from_secs(5));
    env.store
        .login(
            "auth_userpass_1",
            "userpass",
            "auth/userpass/",
            &alias("alice", &[("username", "alice"), ("x", "1")]),
        )
        .await
        .unwrap();
    let read = env
        .read(&format!("entity-alias/id/{}", first.alias_id))
        .await
        .unwrap();
    assert_eq!(read["metadata"], json!({"username": "alice", "x": "1"}));
    assert_eq!(read["last_update_time"], "2023-11-14T22:13:25Z");
    assert_eq!(read["creation_time"], "2023-11-14T22:13:20Z");

    // Entity and alias survive a restart.
    let reopened = env.reopen().await;
    let again = reopened
        .store
        .login(
            "auth_userpass_1",
            "userpass",
            "auth/userpass/",
            &alias("alice", &[("username", "alice"), ("x", "1")]),
        )
        .await
        .unwrap();
    assert_eq!(again.entity_id, first.entity_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_create_one_entity() {
    let env = env().await;
    let store = Arc::clone(&env.store);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .login("acc", "userpass", "auth/userpass/", &alias("same", &[]))
                .await
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert!(
        results.windows(2).all(|w| w[0] == w[1]),
        "every login got the same identity"
    );
    assert_eq!(
        env.list("entity/id").await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        env.list("entity-alias/id").await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn disabled_entities_are_refused() {
    let env = env().await;
    let first = env.login("acc", "dora").await;
    assert!(!env.store.is_disabled(&first.entity_id).await);
    env.write(
        &format!("entity/id/{}", first.entity_id),
        json!({"disabled": true}),
    )
    .await;
    assert!(env.store.is_disabled(&first.entity_id).await);
    let e = env
        .store
        .login("acc", "userpass", "auth/userpass/", &alias("dora", &[]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::PermissionDenied);
    assert!(!env.store.is_disabled("").await);
    assert!(!env.store.is_disabled("unknown").await);
    env.write(
        &format!("entity/id/{}", first.entity_id),
        json!({"disabled": false}),
    )
    .await;
    assert_eq!(env.login("acc", "dora").await, first);
}

#[tokio::test]
async fn login_input_errors() {
    let env = env().await;
    let e = env
        .store
        .login("acc", "userpass", "auth/userpass/", &alias("", &[]))
        .await
        .unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::InvalidRequest, "missing name in alias")
    );
    let e = env
        .store
        .login("", "userpass", "auth/userpass/", &alias("x", &[]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
}
