//! Integration tests of the cubbyhole engine through the plug-in SDK only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arca_engine_cubbyhole::{CubbyholeFactory, destroy_token_data};
use arca_logical::{
    Backend, BackendConfig, BackendKind, Caller, ErrorKind, Factory, Operation, Request, SystemView,
};
use arca_storage::{InMemStorage, Storage, StorageView};
use serde_json::{Value, json};

struct FixedSystem;

impl SystemView for FixedSystem {
    fn default_lease_ttl(&self) -> Duration {
        Duration::from_secs(2_764_800)
    }
    fn max_lease_ttl(&self) -> Duration {
        Duration::from_secs(2_764_800)
    }
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }
}

struct Env {
    root: Arc<InMemStorage>,
    view: Arc<StorageView>,
    backend: Arc<dyn Backend>,
}

fn env() -> Env {
    let root = Arc::new(InMemStorage::new());
    let view = Arc::new(StorageView::new(root.clone(), "logical/cubby-uuid/"));
    let backend = CubbyholeFactory
        .create(BackendConfig {
            storage: view.clone(),
            system: Arc::new(FixedSystem),
            mount_path: "cubbyhole/".to_owned(),
            mount_accessor: "cubbyhole_1234".to_owned(),
            mount_type: "cubbyhole".to_owned(),
            options: BTreeMap::new(),
        })
        .unwrap();
    Env {
        root,
        view,
        backend,
    }
}

fn req(op: Operation, path: &str, token_id: Option<&str>, data: Value) -> Request {
    let mut r = Request::new("req-1", op, path);
    r.mount_point = "cubbyhole/".to_owned();
    r.mount_type = "cubbyhole".to_owned();
    if let Value::Object(map) = data {
        r.data = map;
    }
    r.caller = token_id.map(|id| Caller {
        token_id: id.to_owned(),
        ..Caller::default()
    });
    r
}

async fn call(
    b: &Arc<dyn Backend>,
    op: Operation,
    path: &str,
    token: Option<&str>,
    data: Value,
) -> Result<Option<Value>, arca_logical::LogicalError> {
    b.handle(&req(op, path, token, data))
        .await
        .map(|r| r.map(|r| Value::Object(r.data.unwrap_or_default())))
}

#[test]
fn factory_names() {
    assert_eq!(CubbyholeFactory.type_name(), "cubbyhole");
    assert_eq!(CubbyholeFactory.kind(), BackendKind::Secrets);
}

#[tokio::test]
async fn crud_roundtrip() {
    let e = env();
    let b = &e.backend;
    let w = call(
        b,
        Operation::Update,
        "app/secret",
        Some("tokA"),
        json!({"k": "v", "n": 3}),
    )
    .await
    .unwrap();
    assert_eq!(w, None, "write answers 204");
    let r = call(b, Operation::Read, "app/secret", Some("tokA"), json!({}))
        .await
        .unwrap();
    assert_eq!(r, Some(json!({"k": "v", "n": 3})));
    // Reads carry no lease information.
    let full = b
        .handle(&req(Operation::Read, "app/secret", Some("tokA"), json!({})))
        .await
        .unwrap()
        .unwrap();
    assert!(full.secret.is_none());
    assert!(full.warnings.is_empty());

    call(
        b,
        Operation::Create,
        "top",
        Some("tokA"),
        json!({"x": true}),
    )
    .await
    .unwrap();
    let l = call(b, Operation::List, "", Some("tokA"), json!({}))
        .await
        .unwrap();
    assert_eq!(l, Some(json!({"keys": ["app/", "top"]})));
    let l = call(b, Operation::List, "app/", Some("tokA"), json!({}))
        .await
        .unwrap();
    assert_eq!(l, Some(json!({"keys": ["secret"]})));
    // A folder without the trailing slash is listed too.
    let l = call(b, Operation::List, "app", Some("tokA"), json!({}))
        .await
        .unwrap();
    assert_eq!(l, Some(json!({"keys": ["secret"]})));

    assert_eq!(
        call(b, Operation::Delete, "app/secret", Some("tokA"), json!({}))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        call(b, Operation::Read, "app/secret", Some("tokA"), json!({}))
            .await
            .unwrap(),
        None
    );
    // Idempotent delete.
    assert_eq!(
        call(b, Operation::Delete, "app/secret", Some("tokA"), json!({}))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        call(b, Operation::List, "app/", Some("tokA"), json!({}))
            .await
            .unwrap(),
        None,
        "empty list is 404"
    );
}

#[tokio::test]
async fn isolation_between_tokens() {
    let e = env();
    let b = &e.backend;
    call(
        b,
        Operation::Update,
        "shared/name",
        Some("tokA"),
        json!({"owner": "a"}),
    )
    .await
    .unwrap();
    call(
        b,
        Operation::Update,
        "shared/name",
        Some("tokB"),
        json!({"owner": "b"}),
    )
    .await
    .unwrap();
    call(
        b,
        Operation::Update,
        "only-a",
        Some("tokA"),
        json!({"v": 1}),
    )
    .await
    .unwrap();

    assert_eq!(
        call(b, Operation::Read, "shared/name", Some("tokA"), json!({}))
            .await
            .unwrap(),
        Some(json!({"owner": "a"}))
    );
    assert_eq!(
        call(b, Operation::Read, "shared/name", Some("tokB"), json!({}))
            .await
            .unwrap(),
        Some(json!({"owner": "b"}))
    );
    assert_eq!(
        call(b, Operation::Read, "only-a", Some("tokB"), json!({}))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        call(b, Operation::List, "", Some("tokB"), json!({}))
            .await
            .unwrap(),
        Some(json!({"keys": ["shared/"]}))
    );
    assert_eq!(
        call(b, Operation::List, "", Some("tokC"), json!({}))
            .await
            .unwrap(),
        None
    );
    // Deleting B's entry leaves A's.
    call(b, Operation::Delete, "shared/name", Some("tokB"), json!({}))
        .await
        .unwrap();
    assert!(
        call(b, Operation::Read, "shared/name", Some("tokA"), json!({}))
            .await
            .unwrap()
            .is_some()
    );

    // Existence is per token too (ACL create vs update).
    let ex = |t: &'static str, p: &'static str| {
        let b = b.clone();
        async move {
            b.exists(&req(Operation::Update, p, Some(t), json!({})))
                .await
                .unwrap()
        }
    };
    assert_eq!(ex("tokA", "only-a").await, Some(true));
    assert_eq!(ex("tokB", "only-a").await, Some(false));
}

#[tokio::test]
async fn no_caller_is_permission_denied() {
    let e = env();
    let b = &e.backend;
    for op in [
        Operation::Read,
        Operation::Update,
        Operation::List,
        Operation::Delete,
    ] {
        let err = call(b, op, "x", None, json!({"a": 1})).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::PermissionDenied);
        assert_eq!(err.message, "permission denied");
    }
    // An id that could reach into another token's space is refused as well.
    for bad in ["", "tokA/sub"] {
        let err = call(b, Operation::Read, "x", Some(bad), json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::PermissionDenied);
    }
    let err = b
        .exists(&req(Operation::Update, "x", None, json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn write_validation() {
    let e = env();
    let b = &e.backend;
    let err = call(b, Operation::Update, "x", Some("t"), json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::InvalidRequest, "missing data fields")
    );
    let err = call(b, Operation::Update, "dir/", Some("t"), json!({"a": 1}))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    let err = call(b, Operation::Update, "", Some("t"), json!({"a": 1}))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::InvalidRequest, "missing path")
    );
    for op in [Operation::Patch, Operation::Scan] {
        let err = call(b, op, "x", Some("t"), json!({"a": 1}))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnsupportedOperation);
    }
}

#[tokio::test]
async fn destroy_removes_only_that_token() {
    let e = env();
    let b = &e.backend;
    for p in ["a", "a/b", "a/b/c/d", "z"] {
        call(b, Operation::Update, p, Some("tokA"), json!({"v": p}))
            .await
            .unwrap();
    }
    call(b, Operation::Update, "a", Some("tokB"), json!({"v": "b"}))
        .await
        .unwrap();
    // A token id that is a prefix of another as a string must not reach it.
    call(b, Operation::Update, "a", Some("tokAB"), json!({"v": "ab"}))
        .await
        .unwrap();

    let removed = destroy_token_data(e.view.as_ref(), "tokA").await.unwrap();
    assert_eq!(removed, 4);
    for p in ["a", "a/b", "a/b/c/d", "z"] {
        assert_eq!(
            call(b, Operation::Read, p, Some("tokA"), json!({}))
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(
        call(b, Operation::List, "", Some("tokA"), json!({}))
            .await
            .unwrap(),
        None
    );
    assert!(
        call(b, Operation::Read, "a", Some("tokB"), json!({}))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        call(b, Operation::Read, "a", Some("tokAB"), json!({}))
            .await
            .unwrap()
            .is_some()
    );
    // Nothing of tokA's remains in physical storage.
    assert_eq!(
        e.root.list("logical/cubby-uuid/").await.unwrap(),
        vec!["tokAB/", "tokB/"]
    );

    // Again, and for a token that never wrote: nothing to do.
    assert_eq!(
        destroy_token_data(e.view.as_ref(), "tokA").await.unwrap(),
        0
    );
    assert_eq!(
        destroy_token_data(e.view.as_ref(), "never").await.unwrap(),
        0
    );
    // Ids that could name a wider space are refused.
    assert!(destroy_token_data(e.view.as_ref(), "").await.is_err());
    assert!(
        destroy_token_data(e.view.as_ref(), "tokB/..")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn values_stay_in_the_view() {
    let e = env();
    call(
        &e.backend,
        Operation::Update,
        "p",
        Some("tok"),
        json!({"secret": "s3cr3t"}),
    )
    .await
    .unwrap();
    assert_eq!(e.root.list("").await.unwrap(), vec!["logical/"]);
    let raw = e
        .root
        .get("logical/cubby-uuid/tok/p")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&raw).unwrap(),
        json!({"secret": "s3cr3t"})
    );
}
