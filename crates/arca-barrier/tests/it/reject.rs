use arca_barrier::{BarrierError, VALUE_HEADER_LEN, VALUE_MIN_LEN};
use arca_storage::{Storage, StorageError};

use crate::{raw, setup};

#[tokio::test]
async fn every_flipped_byte_is_rejected() {
    let (physical, _root, barrier) = setup().await;
    barrier.put("secret/a", b"some secret value").await.unwrap();
    let good = raw(&physical, "secret/a").await;
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        let err = barrier.decrypt("secret/a", &bad).unwrap_err();
        match i {
            0..=3 => assert!(
                matches!(err, BarrierError::UnknownTerm { .. }),
                "byte {i}: {err:?}"
            ),
            4 => assert!(
                matches!(err, BarrierError::UnknownVersion { version: 3 }),
                "byte {i}: {err:?}"
            ),
            _ => assert!(
                matches!(err, BarrierError::Authentication),
                "byte {i}: {err:?}"
            ),
        }
        physical.put("secret/a", &bad).await.unwrap();
        assert!(
            matches!(barrier.get("secret/a").await, Err(StorageError::Corrupt { ref key }) if key == "secret/a"),
            "byte {i} accepted through Storage"
        );
    }
}

#[tokio::test]
async fn value_copied_to_another_path_fails() {
    let (physical, _root, barrier) = setup().await;
    barrier.put("secret/a", b"value").await.unwrap();
    let ct = raw(&physical, "secret/a").await;
    physical.put("secret/b", &ct).await.unwrap();
    assert!(matches!(
        barrier.get("secret/b").await,
        Err(StorageError::Corrupt { .. })
    ));
    assert!(matches!(
        barrier.decrypt("secret/b", &ct),
        Err(BarrierError::Authentication)
    ));
    // The original still reads.
    assert_eq!(barrier.get("secret/a").await.unwrap().unwrap(), b"value");
}

#[tokio::test]
async fn unknown_term_is_rejected() {
    let (physical, _root, barrier) = setup().await;
    barrier.put("secret/a", b"value").await.unwrap();
    let mut ct = raw(&physical, "secret/a").await;
    for term in [0u32, 2, 7, u32::MAX] {
        ct[..4].copy_from_slice(&term.to_be_bytes());
        assert!(
            matches!(barrier.decrypt("secret/a", &ct), Err(BarrierError::UnknownTerm { term: t }) if t == term)
        );
        physical.put("secret/a", &ct).await.unwrap();
        assert!(matches!(
            barrier.get("secret/a").await,
            Err(StorageError::Corrupt { .. })
        ));
    }
}

#[tokio::test]
async fn truncated_values_are_rejected() {
    let (physical, _root, barrier) = setup().await;
    barrier.put("secret/a", b"value").await.unwrap();
    let ct = raw(&physical, "secret/a").await;
    assert_eq!(VALUE_MIN_LEN, VALUE_HEADER_LEN + 28);
    for n in 0..VALUE_MIN_LEN {
        assert!(
            matches!(
                barrier.decrypt("secret/a", &ct[..n]),
                Err(BarrierError::Truncated)
            ),
            "len {n}"
        );
        physical.put("secret/a", &ct[..n]).await.unwrap();
        assert!(
            matches!(
                barrier.get("secret/a").await,
                Err(StorageError::Corrupt { .. })
            ),
            "len {n}"
        );
    }
    // Longer cuts that keep a full header and tag still fail authentication.
    for n in VALUE_MIN_LEN..ct.len() {
        assert!(
            matches!(
                barrier.decrypt("secret/a", &ct[..n]),
                Err(BarrierError::Authentication)
            ),
            "len {n}"
        );
    }
}

#[tokio::test]
async fn unknown_versions_are_rejected() {
    let (physical, _root, barrier) = setup().await;
    barrier.put("secret/a", b"value").await.unwrap();
    let mut ct = raw(&physical, "secret/a").await;
    // Version 1 (Vault's no-AAD format) is a downgrade: refused like any unknown version.
    for version in [0u8, 1, 3, 255] {
        ct[4] = version;
        assert!(
            matches!(barrier.decrypt("secret/a", &ct), Err(BarrierError::UnknownVersion { version: v }) if v == version)
        );
    }
}

#[tokio::test]
async fn errors_do_not_echo_values() {
    let (physical, _root, barrier) = setup().await;
    barrier.put("secret/a", b"hunter2xyz").await.unwrap();
    let mut ct = raw(&physical, "secret/a").await;
    ct[10] ^= 0xff;
    physical.put("secret/a", &ct).await.unwrap();
    let err = barrier.get("secret/a").await.unwrap_err();
    let msg = format!("{err} {err:?}");
    assert!(!msg.contains("hunter2"));
    assert!(msg.contains("secret/a"));
}
