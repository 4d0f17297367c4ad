use arca_barrier::{Barrier, BarrierError, BarrierOptions, KEYRING_PATH, RootKey};
use arca_storage::{InMemStorage, Storage, TxnOp};
use std::sync::Arc;

use crate::{raw, setup};

#[tokio::test]
async fn initialize_twice_fails_and_is_initialized_reports() {
    let physical = Arc::new(InMemStorage::new());
    assert!(!Barrier::is_initialized(physical.as_ref()).await.unwrap());
    let root = RootKey::generate().unwrap();
    Barrier::initialize(physical.clone(), &root, BarrierOptions::default())
        .await
        .unwrap();
    assert!(Barrier::is_initialized(physical.as_ref()).await.unwrap());
    let err = Barrier::initialize(physical.clone(), &root, BarrierOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, BarrierError::AlreadyInitialized));
}

#[tokio::test]
async fn unseal_uninitialized_fails() {
    let physical = Arc::new(InMemStorage::new());
    let root = RootKey::generate().unwrap();
    assert!(matches!(
        Barrier::unseal(physical, &root).await,
        Err(BarrierError::NotInitialized)
    ));
}

#[tokio::test]
async fn wrong_root_key_fails_to_unseal() {
    let (physical, _root, _barrier) = setup().await;
    let wrong = RootKey::generate().unwrap();
    assert!(matches!(
        Barrier::unseal(physical.clone(), &wrong).await,
        Err(BarrierError::Unseal)
    ));
}

#[tokio::test]
async fn tampered_keyring_fails_to_unseal() {
    let (physical, root, _barrier) = setup().await;
    let good = raw(&physical, KEYRING_PATH).await;
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x80;
        physical.put(KEYRING_PATH, &bad).await.unwrap();
        assert!(
            Barrier::unseal(physical.clone(), &root).await.is_err(),
            "byte {i}"
        );
    }
    physical
        .put(KEYRING_PATH, &good[..good.len() - 1])
        .await
        .unwrap();
    assert!(Barrier::unseal(physical.clone(), &root).await.is_err());
    // The keyring is bound to its own path as AAD too: it is not an ordinary value.
    physical.put(KEYRING_PATH, &good).await.unwrap();
    Barrier::unseal(physical.clone(), &root).await.unwrap();
}

#[tokio::test]
async fn keyring_is_ciphertext_at_rest() {
    let (physical, root, _barrier) = setup().await;
    let record = raw(&physical, KEYRING_PATH).await;
    assert!(!record.windows(4).any(|w| w == b"ARKR"));
    assert!(
        !record
            .windows(8)
            .any(|w| root.as_bytes().windows(8).any(|r| r == w))
    );
}

#[tokio::test]
async fn root_key_rotation() {
    let (physical, old_root, barrier) = setup().await;
    barrier.put("a", b"1").await.unwrap();
    let new_root = RootKey::generate().unwrap();
    let new_copy = RootKey::from_bytes(new_root.as_bytes()).unwrap();
    barrier.rotate_root_key(new_root).await.unwrap();
    assert_eq!(barrier.root_key().as_bytes(), new_copy.as_bytes());
    // Existing data still readable, barrier keeps working.
    assert_eq!(barrier.get("a").await.unwrap().unwrap(), b"1");
    barrier.rotate().await.unwrap();
    assert!(matches!(
        Barrier::unseal(physical.clone(), &old_root).await,
        Err(BarrierError::Unseal)
    ));
    let again = Barrier::unseal(physical.clone(), &new_copy).await.unwrap();
    assert_eq!(again.get("a").await.unwrap().unwrap(), b"1");
    assert_eq!(again.key_status().term, 2);
}

#[tokio::test]
async fn root_key_rotation_with_extra_ops_is_one_write() {
    let (physical, _root, barrier) = setup().await;
    let new_root = RootKey::generate().unwrap();
    let copy = RootKey::from_bytes(new_root.as_bytes()).unwrap();
    let extra = vec![TxnOp::Put {
        key: "core/root-key".into(),
        value: b"sealed-root".to_vec(),
    }];
    barrier
        .rotate_root_key_with_ops(new_root, extra)
        .await
        .unwrap();
    assert_eq!(raw(&physical, "core/root-key").await, b"sealed-root");
    Barrier::unseal(physical.clone(), &copy).await.unwrap();
    let bad = vec![TxnOp::Delete {
        key: KEYRING_PATH.into(),
    }];
    let err = barrier
        .rotate_root_key_with_ops(RootKey::generate().unwrap(), bad)
        .await
        .unwrap_err();
    assert!(matches!(err, BarrierError::ReservedPath));
    // The refused rotation changed nothing.
    assert_eq!(barrier.root_key().as_bytes(), copy.as_bytes());
}

#[tokio::test]
async fn initialize_with_ops_writes_atomically() {
    let physical = Arc::new(InMemStorage::new());
    let root = RootKey::generate().unwrap();
    let extra = vec![TxnOp::Put {
        key: "core/seal-config".into(),
        value: b"{}".to_vec(),
    }];
    Barrier::initialize_with_ops(physical.clone(), &root, BarrierOptions::default(), extra)
        .await
        .unwrap();
    assert_eq!(raw(&physical, "core/seal-config").await, b"{}");
    Barrier::unseal(physical.clone(), &root).await.unwrap();
}

#[test]
fn root_key_from_bytes_checks_length() {
    assert!(matches!(
        RootKey::from_bytes(&[0u8; 31]),
        Err(BarrierError::InvalidRootKey)
    ));
    assert!(matches!(
        RootKey::from_bytes(&[0u8; 33]),
        Err(BarrierError::InvalidRootKey)
    ));
    let k = RootKey::from_bytes(&[7u8; 32]).unwrap();
    assert_eq!(k.as_bytes(), &[7u8; 32]);
    assert_ne!(
        RootKey::generate().unwrap().as_bytes(),
        RootKey::generate().unwrap().as_bytes()
    );
}
