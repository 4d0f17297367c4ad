//! Bad input the engine itself must refuse: the per-secret size cap (mount option
//! `max_entry_size`), version numbers that cannot exist, check-and-set values of the wrong
//! type. Each is a 4xx and leaves the stored keys exactly as they were.

use std::collections::BTreeMap;
use std::sync::Arc;

use arca_engine_kv::{DEFAULT_MAX_ENTRY_SIZE, KvFactory};
use arca_logical::{ErrorKind, Factory, Operation as Op};
use arca_storage::{InMemStorage, StorageView};
use serde_json::{Value, json};

use crate::{Env, TestSystem, VIEW_PREFIX, config, data};

/// A KV backend of `version` with the given `max_entry_size` option.
async fn with_limit(version: Option<&str>, limit: &str) -> Env {
    let root = Arc::new(InMemStorage::new());
    let view = Arc::new(StorageView::new(root.clone(), VIEW_PREFIX));
    let clock = Arc::new(TestSystem::new());
    let mut cfg = config(view.clone(), clock.clone(), version);
    cfg.options
        .insert("max_entry_size".to_owned(), limit.to_owned());
    let backend = KvFactory.create(cfg).unwrap();
    backend.initialize().await.unwrap();
    Env {
        root,
        view,
        clock,
        backend,
    }
}

fn big(len: usize) -> Value {
    json!("x".repeat(len))
}

#[tokio::test]
async fn v2_secret_over_the_cap_is_413_and_nothing_is_written() {
    let e = Env::v2().await;
    e.ok(Op::Update, "data/s", json!({"data": {"v": "small"}}))
        .await;
    let before = e.stored_keys().await;
    let meta_before = data(&e.ok(Op::Read, "metadata/s", json!({})).await);

    let err = e
        .err(
            Op::Update,
            "data/s",
            json!({"data": {"v": big(DEFAULT_MAX_ENTRY_SIZE)}}),
        )
        .await;
    assert_eq!(err.kind, ErrorKind::PayloadTooLarge, "{err:?}");
    assert!(err.message.contains("max_entry_size"), "{}", err.message);
    assert!(!err.message.contains("xxxx"), "the value is echoed");
    // A patch whose result is too large is refused the same way.
    let err = e
        .err(
            Op::Patch,
            "data/s",
            json!({"data": {"w": big(DEFAULT_MAX_ENTRY_SIZE)}}),
        )
        .await;
    assert_eq!(err.kind, ErrorKind::PayloadTooLarge);
    // A new key too: no metadata is created for it.
    let err = e
        .err(
            Op::Update,
            "data/new",
            json!({"data": {"v": big(DEFAULT_MAX_ENTRY_SIZE)}}),
        )
        .await;
    assert_eq!(err.kind, ErrorKind::PayloadTooLarge);

    assert_eq!(e.stored_keys().await, before);
    assert_eq!(
        data(&e.ok(Op::Read, "metadata/s", json!({})).await),
        meta_before
    );
    e.none(Op::Read, "data/new", json!({})).await;
    // Just under the cap is fine.
    e.ok(
        Op::Update,
        "data/s",
        json!({"data": {"v": big(DEFAULT_MAX_ENTRY_SIZE - 100)}}),
    )
    .await;
}

#[tokio::test]
async fn v1_secret_over_the_cap_is_413_and_nothing_is_written() {
    let e = Env::v1().await;
    e.none(Op::Update, "s", json!({"v": "small"})).await;
    let err = e
        .err(Op::Update, "s", json!({"v": big(DEFAULT_MAX_ENTRY_SIZE)}))
        .await;
    assert_eq!(err.kind, ErrorKind::PayloadTooLarge);
    // 100,000 keys in one secret are over the cap as well.
    let many: serde_json::Map<String, Value> = (0..100_000)
        .map(|i| (format!("k{i}"), json!("v")))
        .collect();
    let err = e.err(Op::Update, "s", Value::Object(many)).await;
    assert_eq!(err.kind, ErrorKind::PayloadTooLarge);
    assert_eq!(
        data(&e.ok(Op::Read, "s", json!({})).await)["v"],
        json!("small")
    );
}

#[tokio::test]
async fn max_entry_size_mount_option() {
    let e = with_limit(Some("2"), "64").await;
    e.ok(Op::Update, "data/s", json!({"data": {"v": "ok"}}))
        .await;
    let err = e
        .err(Op::Update, "data/s", json!({"data": {"v": big(64)}}))
        .await;
    assert_eq!(err.kind, ErrorKind::PayloadTooLarge);
    let e = with_limit(None, "64").await;
    let err = e.err(Op::Update, "s", json!({"v": big(64)})).await;
    assert_eq!(err.kind, ErrorKind::PayloadTooLarge);
    // A bad option refuses the mount with a 400.
    for bad in ["0", "-1", "abc", "1.5"] {
        let view = Arc::new(StorageView::new(Arc::new(InMemStorage::new()), VIEW_PREFIX));
        let mut cfg = config(view, Arc::new(TestSystem::new()), Some("2"));
        cfg.options = BTreeMap::from([
            ("version".to_owned(), "2".to_owned()),
            ("max_entry_size".to_owned(), bad.to_owned()),
        ]);
        let Err(err) = KvFactory.create(cfg) else {
            panic!("max_entry_size={bad} accepted");
        };
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{bad}");
    }
}

#[tokio::test]
async fn impossible_versions_and_cas_types_are_400_and_change_nothing() {
    let e = Env::v2().await;
    e.ok(Op::Update, "data/s", json!({"data": {"v": "1"}}))
        .await;
    e.ok(Op::Update, "data/s", json!({"data": {"v": "2"}}))
        .await;
    let before = e.stored_keys().await;
    let meta_before = data(&e.ok(Op::Read, "metadata/s", json!({})).await);

    for cas in [
        json!("abc"),
        json!(true),
        json!(false),
        json!(1.5),
        json!({}),
        json!([2]),
        json!(-1),
    ] {
        let err = e
            .err(
                Op::Update,
                "data/s",
                json!({"data": {"v": "x"}, "options": {"cas": cas}}),
            )
            .await;
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "cas {cas}");
    }
    for v in ["-1", "abc", "1.5"] {
        let err = e.err(Op::Read, "data/s", json!({"version": v})).await;
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "version {v}");
        let err = e.err(Op::Read, "subkeys/s", json!({"version": v})).await;
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "subkeys version {v}");
    }
    // 0 is the latest, as in OpenBao.
    let r = e.ok(Op::Read, "data/s", json!({"version": "0"})).await;
    assert_eq!(data(&r)["metadata"]["version"], json!(2));
    for op in ["delete", "undelete", "destroy"] {
        for versions in [
            json!([0]),
            json!([-1]),
            json!("1,-1"),
            json!([1, 0]),
            json!("abc"),
        ] {
            let err = e
                .err(
                    Op::Update,
                    &format!("{op}/s"),
                    json!({"versions": versions}),
                )
                .await;
            assert_eq!(err.kind, ErrorKind::InvalidRequest, "{op} {versions}");
        }
    }
    for mv in [json!(1e30), json!(-1), json!("x"), json!(4_294_967_296_u64)] {
        let err = e
            .err(Op::Update, "metadata/s", json!({"max_versions": mv}))
            .await;
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "metadata {mv}");
        let err = e
            .err(Op::Update, "config", json!({"max_versions": mv}))
            .await;
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "config {mv}");
    }
    assert_eq!(e.stored_keys().await, before);
    assert_eq!(
        data(&e.ok(Op::Read, "metadata/s", json!({})).await),
        meta_before
    );
    assert_eq!(
        data(&e.ok(Op::Read, "config", json!({})).await)["max_versions"],
        json!(0)
    );
}
