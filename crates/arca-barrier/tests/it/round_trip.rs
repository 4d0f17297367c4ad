use std::sync::Arc;

use arca_barrier::{Barrier, BarrierError, KEYRING_PATH, VALUE_MIN_LEN};
use arca_storage::{Storage, StorageError, StorageView, TxnOp};

use crate::{raw, setup};

#[tokio::test]
async fn storage_round_trip() {
    let (_physical, _root, barrier) = setup().await;
    barrier.put("secret/a", b"hunter2").await.unwrap();
    assert_eq!(barrier.get("secret/a").await.unwrap().unwrap(), b"hunter2");
    assert_eq!(barrier.get("secret/missing").await.unwrap(), None);
    barrier.put("secret/empty", b"").await.unwrap();
    assert_eq!(barrier.get("secret/empty").await.unwrap().unwrap(), b"");
    barrier.delete("secret/a").await.unwrap();
    assert_eq!(barrier.get("secret/a").await.unwrap(), None);
}

#[tokio::test]
async fn physical_layer_holds_ciphertext_only() {
    let (physical, _root, barrier) = setup().await;
    let secret = b"a very recognisable plaintext value";
    barrier.put("secret/a", secret).await.unwrap();
    let stored = raw(&physical, "secret/a").await;
    assert_eq!(stored.len(), VALUE_MIN_LEN + secret.len());
    assert!(!stored.windows(8).any(|w| secret.windows(8).any(|s| s == w)));
    assert_eq!(stored[..5], [0, 0, 0, 1, 2]);
    // Same plaintext twice: different nonces, different ciphertexts.
    barrier.put("secret/b", secret).await.unwrap();
    assert_ne!(stored[5..], raw(&physical, "secret/b").await[5..]);
}

#[tokio::test]
async fn list_passes_through_and_transaction_encrypts_every_put() {
    let (physical, _root, barrier) = setup().await;
    barrier
        .transaction(vec![
            TxnOp::Put {
                key: "kv/a".into(),
                value: b"1".to_vec(),
            },
            TxnOp::Put {
                key: "kv/dir/b".into(),
                value: b"2".to_vec(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(barrier.list("kv/").await.unwrap(), vec!["a", "dir/"]);
    assert_eq!(raw(&physical, "kv/a").await.len(), VALUE_MIN_LEN + 1);
    assert_eq!(barrier.get("kv/dir/b").await.unwrap().unwrap(), b"2");
    barrier
        .transaction(vec![
            TxnOp::Delete { key: "kv/a".into() },
            TxnOp::Put {
                key: "kv/c".into(),
                value: b"3".to_vec(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(barrier.list("kv/").await.unwrap(), vec!["c", "dir/"]);
    assert_eq!(barrier.backend_name(), physical.backend_name());
}

#[tokio::test]
async fn direct_encrypt_decrypt_match_the_storage_path() {
    let (physical, _root, barrier) = setup().await;
    let ct = barrier.encrypt("x/y", b"payload").unwrap();
    assert_eq!(&*barrier.decrypt("x/y", &ct).unwrap(), b"payload");
    physical.put("x/y", &ct).await.unwrap();
    assert_eq!(barrier.get("x/y").await.unwrap().unwrap(), b"payload");
}

#[tokio::test]
async fn keyring_is_not_reachable_through_the_barrier() {
    let (physical, _root, barrier) = setup().await;
    let before = raw(&physical, KEYRING_PATH).await;
    assert!(matches!(
        barrier.get(KEYRING_PATH).await,
        Err(StorageError::InvalidKey)
    ));
    assert!(matches!(
        barrier.put(KEYRING_PATH, b"x").await,
        Err(StorageError::InvalidKey)
    ));
    assert!(matches!(
        barrier.delete(KEYRING_PATH).await,
        Err(StorageError::InvalidKey)
    ));
    let txn = vec![
        TxnOp::Put {
            key: "ok".into(),
            value: b"v".to_vec(),
        },
        TxnOp::Delete {
            key: KEYRING_PATH.into(),
        },
    ];
    assert!(matches!(
        barrier.transaction(txn).await,
        Err(StorageError::InvalidKey)
    ));
    assert_eq!(
        barrier.get("ok").await.unwrap(),
        None,
        "refused transaction must not apply"
    );
    // Through a prefix view too.
    let view = StorageView::new(barrier.clone() as Arc<dyn Storage>, "core/");
    assert!(view.get("keyring").await.is_err());
    assert_eq!(raw(&physical, KEYRING_PATH).await, before);
}

#[tokio::test]
async fn sealed_barrier_refuses_everything() {
    let (physical, root, barrier) = setup().await;
    barrier.put("a", b"1").await.unwrap();
    let ct = raw(&physical, "a").await;
    barrier.seal();
    assert!(barrier.is_sealed());
    assert!(matches!(barrier.get("a").await, Err(StorageError::Sealed)));
    assert!(matches!(
        barrier.put("a", b"2").await,
        Err(StorageError::Sealed)
    ));
    assert!(matches!(
        barrier.delete("a").await,
        Err(StorageError::Sealed)
    ));
    assert!(matches!(barrier.list("").await, Err(StorageError::Sealed)));
    assert!(matches!(
        barrier.transaction(vec![]).await,
        Err(StorageError::Sealed)
    ));
    assert!(matches!(
        barrier.encrypt("a", b"x"),
        Err(BarrierError::Sealed)
    ));
    assert!(matches!(
        barrier.decrypt("a", &ct),
        Err(BarrierError::Sealed)
    ));
    assert!(matches!(barrier.rotate().await, Err(BarrierError::Sealed)));
    assert_eq!(barrier.key_status().term, 0);
    // Unsealing again from storage works.
    let again = Barrier::unseal(physical.clone(), &root).await.unwrap();
    assert_eq!(again.get("a").await.unwrap().unwrap(), b"1");
}

#[tokio::test]
async fn debug_output_has_no_key_material() {
    let (_physical, root, barrier) = setup().await;
    let dbg = format!("{barrier:?}");
    assert!(dbg.contains("active_term"));
    let hex: String = root.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert!(!dbg.contains(&hex));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_round_trip() {
    let (_physical, _root, barrier) = setup().await;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let b = barrier.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let key = format!("c/{t}/{i}");
                b.put(&key, key.as_bytes()).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for t in 0..8 {
        for i in 0..50 {
            let key = format!("c/{t}/{i}");
            assert_eq!(barrier.get(&key).await.unwrap().unwrap(), key.as_bytes());
        }
    }
    assert_eq!(barrier.key_status().encryptions, 400);
}
