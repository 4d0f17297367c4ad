//! KV version 1.

use std::time::Duration;

use arca_engine_kv::KvFactory;
use arca_logical::{BackendKind, ErrorKind, Factory, Operation as Op};
use serde_json::json;

use crate::{Env, MOUNT_DEFAULT_TTL, TestSystem, config, data};

#[tokio::test]
async fn factory_type_and_version_option() {
    assert_eq!(KvFactory.type_name(), "kv");
    assert_eq!(KvFactory.kind(), BackendKind::Secrets);
    let view = Env::v1().await.view;
    let clock = std::sync::Arc::new(TestSystem::new());
    for ok in [None, Some(""), Some("1"), Some("2")] {
        assert!(
            KvFactory
                .create(config(view.clone(), clock.clone(), ok))
                .is_ok(),
            "{ok:?}"
        );
    }
    let Err(err) = KvFactory.create(config(view, clock, Some("3"))) else {
        panic!("version 3 accepted");
    };
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn write_read_roundtrip_with_ttl() {
    let e = Env::v1().await;
    // Values may be any JSON; the object comes back as sent.
    let secret = json!({"password": "hunter2", "port": 5432, "nested": {"a": [1, 2]}, "on": true});
    e.none(Op::Update, "app/db", secret.clone()).await;
    let r = e.ok(Op::Read, "app/db", json!({})).await;
    assert_eq!(data(&r), secret);
    let s = r
        .secret
        .expect("v1 reads carry secret info for lease_duration");
    assert!(!s.leased, "no lease is registered");
    assert!(!s.renewable);
    assert_eq!(
        s.ttl,
        Duration::from_secs(MOUNT_DEFAULT_TTL),
        "mount default without a ttl key"
    );
    assert!(r.warnings.is_empty());

    e.none(Op::Create, "ttl", json!({"v": 1, "ttl": "1h"}))
        .await;
    let r = e.ok(Op::Read, "ttl", json!({})).await;
    assert_eq!(r.secret.as_ref().unwrap().ttl, Duration::from_secs(3600));
    assert_eq!(
        data(&r),
        json!({"v": 1, "ttl": "1h"}),
        "the ttl key stays in the data"
    );

    e.none(Op::Update, "lease", json!({"lease": 90})).await;
    assert_eq!(
        e.ok(Op::Read, "lease", json!({})).await.secret.unwrap().ttl,
        Duration::from_secs(90)
    );

    // An unparsable ttl falls back to the mount default.
    e.none(Op::Update, "badttl", json!({"ttl": "soon"})).await;
    let ttl = e
        .ok(Op::Read, "badttl", json!({}))
        .await
        .secret
        .unwrap()
        .ttl;
    assert_eq!(ttl, Duration::from_secs(MOUNT_DEFAULT_TTL));

    // Overwrite replaces the whole object (POST == PUT).
    e.none(Op::Create, "app/db", json!({"only": "this"})).await;
    assert_eq!(
        data(&e.ok(Op::Read, "app/db", json!({})).await),
        json!({"only": "this"})
    );
}

#[tokio::test]
async fn read_missing_is_none() {
    let e = Env::v1().await;
    e.none(Op::Read, "nope", json!({})).await;
    e.none(Op::Read, "", json!({})).await;
    e.none(Op::Read, "folder/", json!({})).await;
}

#[tokio::test]
async fn list_folders_and_empty() {
    let e = Env::v1().await;
    e.none(Op::List, "", json!({})).await;
    for p in ["app/db", "app/api", "app/sub/x", "top"] {
        e.none(Op::Update, p, json!({"v": p})).await;
    }
    assert_eq!(
        data(&e.ok(Op::List, "", json!({})).await),
        json!({"keys": ["app/", "top"]})
    );
    assert_eq!(
        data(&e.ok(Op::List, "app/", json!({})).await),
        json!({"keys": ["api", "db", "sub/"]})
    );
    assert_eq!(
        data(&e.ok(Op::List, "app", json!({})).await),
        json!({"keys": ["api", "db", "sub/"]})
    );
    e.none(Op::List, "nothing/", json!({})).await;
    // A leaf is not a folder.
    e.none(Op::List, "top/", json!({})).await;
    assert_eq!(
        data(&e.ok(Op::Scan, "app/", json!({})).await),
        json!({"keys": ["api", "db", "sub/x"]}),
        "scan lists recursively"
    );
    assert_eq!(
        data(&e.ok(Op::Scan, "", json!({})).await),
        json!({"keys": ["app/api", "app/db", "app/sub/x", "top"]})
    );
}

#[tokio::test]
async fn delete_is_idempotent() {
    let e = Env::v1().await;
    e.none(Op::Update, "a/b", json!({"v": 1})).await;
    e.none(Op::Delete, "a/b", json!({})).await;
    e.none(Op::Read, "a/b", json!({})).await;
    e.none(Op::Delete, "a/b", json!({})).await;
    e.none(Op::List, "a/", json!({})).await;
    assert!(e.stored_keys().await.is_empty());
}

#[tokio::test]
async fn write_validation() {
    let e = Env::v1().await;
    let err = e.err(Op::Update, "x", json!({})).await;
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::InvalidRequest, "missing data fields")
    );
    let err = e.err(Op::Update, "dir/", json!({"a": 1})).await;
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            ErrorKind::InvalidRequest,
            "cannot write to a path ending in '/'"
        )
    );
    let err = e.err(Op::Update, "", json!({"a": 1})).await;
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::InvalidRequest, "missing path")
    );
    let err = e.err(Op::Patch, "x", json!({"a": 1})).await;
    assert_eq!(err.kind, ErrorKind::UnsupportedOperation);
    assert!(e.stored_keys().await.is_empty());
}

#[tokio::test]
async fn exists_tells_create_from_update() {
    let e = Env::v1().await;
    assert_eq!(e.exists("a").await, Some(false));
    e.none(Op::Create, "a", json!({"v": 1})).await;
    assert_eq!(e.exists("a").await, Some(true));
    assert_eq!(e.exists("a/").await, Some(false));
}

#[tokio::test]
async fn stored_as_plain_json_at_its_path() {
    let e = Env::v1().await;
    e.none(Op::Update, "app/db", json!({"k": "v"})).await;
    assert_eq!(e.stored_keys().await, vec!["entries/app/db"]);
    let raw = e.view.get("entries/app/db").await.unwrap().unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&raw).unwrap(),
        json!({"k": "v"})
    );
}

use arca_storage::Storage as _;
