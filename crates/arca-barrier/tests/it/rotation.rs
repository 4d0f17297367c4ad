use std::time::Duration;

use arca_barrier::{
    ABSOLUTE_OPERATION_MAXIMUM, Barrier, BarrierError, RESERVATION_BLOCK, RotationConfig,
};
use arca_storage::{Storage, TxnOp};

use crate::{max_ops, raw, setup, setup_with, term_of};

#[tokio::test]
async fn rotation_keeps_old_values_readable_and_new_writes_use_the_new_term() {
    let (physical, root, barrier) = setup().await;
    barrier.put("old", b"written under term 1").await.unwrap();
    let status = barrier.rotate().await.unwrap();
    assert_eq!(status.term, 2);
    assert_eq!(status.encryptions, 0);
    assert_eq!(barrier.key_status().term, 2);
    barrier.put("new", b"written under term 2").await.unwrap();
    assert_eq!(term_of(&raw(&physical, "old").await), 1);
    assert_eq!(term_of(&raw(&physical, "new").await), 2);
    assert_eq!(
        barrier.get("old").await.unwrap().unwrap(),
        b"written under term 1"
    );
    assert_eq!(
        barrier.get("new").await.unwrap().unwrap(),
        b"written under term 2"
    );
    // And after a restart.
    let again = Barrier::unseal(physical.clone(), &root).await.unwrap();
    assert_eq!(again.key_status().term, 2);
    assert_eq!(
        again.get("old").await.unwrap().unwrap(),
        b"written under term 1"
    );
    assert_eq!(
        again.get("new").await.unwrap().unwrap(),
        b"written under term 2"
    );
}

#[tokio::test]
async fn rotation_is_persisted_before_use() {
    let (physical, root, barrier) = setup().await;
    barrier.rotate().await.unwrap();
    // A value under term 2 is readable by a barrier unsealed from storage alone.
    let ct = barrier.encrypt("p", b"v").unwrap();
    let fresh = Barrier::unseal(physical.clone(), &root).await.unwrap();
    assert_eq!(&*fresh.decrypt("p", &ct).unwrap(), b"v");
}

#[tokio::test]
async fn key_status_counts_encryptions() {
    let (_physical, _root, barrier) = setup().await;
    let s0 = barrier.key_status();
    assert_eq!((s0.term, s0.encryptions), (1, 0));
    for i in 0..5 {
        barrier.put(&format!("k{i}"), b"v").await.unwrap();
    }
    barrier
        .transaction(vec![
            TxnOp::Put {
                key: "t1".into(),
                value: b"v".to_vec(),
            },
            TxnOp::Put {
                key: "t2".into(),
                value: b"v".to_vec(),
            },
            TxnOp::Delete { key: "k0".into() },
        ])
        .await
        .unwrap();
    barrier.get("k1").await.unwrap();
    let s = barrier.key_status();
    assert_eq!((s.term, s.encryptions), (1, 7));
    assert_eq!(s.install_time, s0.install_time);
}

#[tokio::test]
async fn writes_rotate_when_max_operations_is_reached() {
    let (physical, _root, barrier) = setup_with(max_ops(10)).await;
    for i in 0..25 {
        barrier
            .put(&format!("k{i:02}"), format!("v{i}").as_bytes())
            .await
            .unwrap();
    }
    for i in 0..25 {
        let ct = raw(&physical, &format!("k{i:02}")).await;
        assert_eq!(term_of(&ct), 1 + i / 10, "value {i}");
        assert_eq!(
            barrier.get(&format!("k{i:02}")).await.unwrap().unwrap(),
            format!("v{i}").as_bytes()
        );
    }
    let s = barrier.key_status();
    assert_eq!((s.term, s.encryptions), (3, 5));
}

#[tokio::test]
async fn a_transaction_larger_than_a_term_spans_terms() {
    let (physical, _root, barrier) = setup_with(max_ops(3)).await;
    let ops = (0..8)
        .map(|i| TxnOp::Put {
            key: format!("t{i}"),
            value: vec![i],
        })
        .collect();
    barrier.transaction(ops).await.unwrap();
    for i in 0..8u8 {
        assert_eq!(
            term_of(&raw(&physical, &format!("t{i}")).await),
            1 + u32::from(i) / 3
        );
        assert_eq!(
            barrier.get(&format!("t{i}")).await.unwrap().unwrap(),
            vec![i]
        );
    }
}

#[tokio::test]
async fn direct_encrypt_stops_at_the_limit_and_the_check_rotates() {
    let (_physical, _root, barrier) = setup_with(max_ops(10)).await;
    for _ in 0..10 {
        barrier.encrypt("p", b"v").unwrap();
    }
    // The 11th encryption under term 1 is impossible.
    assert!(matches!(
        barrier.encrypt("p", b"v"),
        Err(BarrierError::TermExhausted)
    ));
    assert_eq!(barrier.key_status().encryptions, 10);
    assert!(barrier.check_auto_rotate().await.unwrap());
    assert_eq!(barrier.key_status().term, 2);
    assert!(!barrier.check_auto_rotate().await.unwrap());
    barrier.encrypt("p", b"v").unwrap();
}

#[tokio::test]
async fn periodic_check_rotates_on_interval() {
    let cfg = RotationConfig {
        interval: Duration::from_secs(3600),
        ..RotationConfig::default()
    };
    let (_physical, _root, barrier) = setup_with(cfg).await;
    let installed = barrier.key_status().install_time;
    assert!(
        !barrier
            .check_auto_rotate_at(installed + Duration::from_secs(3599))
            .await
            .unwrap()
    );
    assert!(
        barrier
            .check_auto_rotate_at(installed + Duration::from_secs(3600))
            .await
            .unwrap()
    );
    assert_eq!(barrier.key_status().term, 2);
    // Disabled rotation ignores the interval.
    let mut cfg = barrier.rotation_config();
    cfg.enabled = false;
    barrier.set_rotation_config(cfg).await.unwrap();
    let far = barrier.key_status().install_time + Duration::from_secs(10 * 3600);
    assert!(!barrier.check_auto_rotate_at(far).await.unwrap());
}

#[tokio::test]
async fn disabled_rotation_ignores_max_operations() {
    let cfg = RotationConfig {
        enabled: false,
        max_operations: 3,
        interval: Duration::ZERO,
    };
    let (_physical, _root, barrier) = setup_with(cfg).await;
    for i in 0..10 {
        barrier.put(&format!("k{i}"), b"v").await.unwrap();
    }
    assert_eq!(barrier.key_status().term, 1);
    assert!(!barrier.check_auto_rotate().await.unwrap());
}

#[tokio::test]
async fn reservation_survives_restart_and_never_under_counts() {
    let (physical, root, barrier) = setup().await;
    for i in 0..100 {
        barrier.put(&format!("k{i}"), b"v").await.unwrap();
    }
    let before = barrier.key_status().encryptions;
    assert_eq!(before, 100);
    // A crash: the barrier is dropped without any flush.
    drop(barrier);
    let again = Barrier::unseal(physical.clone(), &root).await.unwrap();
    let after = again.key_status().encryptions;
    assert!(after >= before, "{after} < {before}");
    assert_eq!(after, RESERVATION_BLOCK);
    // Writing after the restart persists a new reservation first, and counts on from it.
    again.put("more", b"v").await.unwrap();
    assert_eq!(again.key_status().encryptions, RESERVATION_BLOCK + 1);
    drop(again);
    let third = Barrier::unseal(physical.clone(), &root).await.unwrap();
    assert!(third.key_status().encryptions > RESERVATION_BLOCK + 1);
    // Direct `encrypt` needs a reservation: the periodic check tops it up.
    assert!(matches!(
        third.encrypt("p", b"v"),
        Err(BarrierError::TermExhausted)
    ));
    assert!(!third.check_auto_rotate().await.unwrap());
    third.encrypt("p", b"v").unwrap();
    assert_eq!(third.key_status().term, 1);
}

#[tokio::test]
async fn restart_with_exhausted_term_rotates_on_first_write() {
    let (physical, root, barrier) = setup_with(max_ops(10)).await;
    for i in 0..4 {
        barrier.put(&format!("k{i}"), b"v").await.unwrap();
    }
    drop(barrier);
    let again = Barrier::unseal(physical.clone(), &root).await.unwrap();
    // With a small limit the reservation is the whole term: it resumes at the limit.
    assert_eq!(again.key_status().encryptions, 10);
    again.put("k9", b"v").await.unwrap();
    assert_eq!(again.key_status().term, 2);
    assert_eq!(term_of(&raw(&physical, "k9").await), 2);
}

#[tokio::test]
async fn rotation_config_is_persisted_and_validated() {
    let (physical, root, barrier) = setup().await;
    assert_eq!(barrier.rotation_config(), RotationConfig::default());
    assert_eq!(RotationConfig::default().max_operations, 3_865_470_566);
    let cfg = RotationConfig {
        enabled: false,
        max_operations: 5_000_000,
        interval: Duration::from_secs(86_400 * 7),
    };
    barrier.set_rotation_config(cfg.clone()).await.unwrap();
    assert_eq!(barrier.rotation_config(), cfg);
    let again = Barrier::unseal(physical.clone(), &root).await.unwrap();
    assert_eq!(again.rotation_config(), cfg);

    for bad in [0, ABSOLUTE_OPERATION_MAXIMUM + 1] {
        let cfg = RotationConfig {
            max_operations: bad,
            ..RotationConfig::default()
        };
        assert!(matches!(
            barrier.set_rotation_config(cfg).await,
            Err(BarrierError::InvalidRotationConfig(_))
        ));
    }
    // The API's stricter limits.
    assert!(RotationConfig::default().validate_for_api().is_ok());
    assert!(max_ops(999_999).validate_for_api().is_err());
    let short = RotationConfig {
        interval: Duration::from_secs(3600),
        ..RotationConfig::default()
    };
    assert!(short.validate_for_api().is_err());
}

#[tokio::test]
async fn lowering_max_operations_takes_effect_immediately() {
    let (_physical, _root, barrier) = setup().await;
    for i in 0..20 {
        barrier.put(&format!("k{i}"), b"v").await.unwrap();
    }
    barrier.set_rotation_config(max_ops(10)).await.unwrap();
    assert!(matches!(
        barrier.encrypt("p", b"v"),
        Err(BarrierError::TermExhausted)
    ));
    barrier.put("next", b"v").await.unwrap();
    assert_eq!(barrier.key_status().term, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_never_exceed_max_operations() {
    let (physical, _root, barrier) = setup_with(max_ops(7)).await;
    let mut tasks = Vec::new();
    for t in 0..4 {
        let b = barrier.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                b.put(&format!("c/{t}/{i}"), b"v").await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut per_term = std::collections::BTreeMap::<u32, u32>::new();
    for t in 0..4 {
        for i in 0..40 {
            let ct = raw(&physical, &format!("c/{t}/{i}")).await;
            *per_term.entry(term_of(&ct)).or_default() += 1;
        }
    }
    assert!(per_term.values().all(|&n| n <= 7), "{per_term:?}");
    assert_eq!(per_term.values().sum::<u32>(), 160);
}
