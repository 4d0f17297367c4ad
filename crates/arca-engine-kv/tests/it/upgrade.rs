//! Re-creating a mount as version 2 over version 1 data.

use std::time::Duration;

use arca_logical::{Operation as Op, ResponseStatus};
use serde_json::json;

use crate::{Env, data, t0_plus};

async fn v1_with_data() -> Env {
    let e = Env::v1().await;
    e.none(
        Op::Update,
        "app/db",
        json!({"password": "hunter2", "ttl": "1h"}),
    )
    .await;
    e.none(Op::Update, "app/nested/deep", json!({"n": 1})).await;
    e.none(Op::Update, "top", json!({"k": "v"})).await;
    // v1 keys that look like the v2 layout's own names must survive as secrets.
    e.none(Op::Update, "metadata/top", json!({"tricky": 1}))
        .await;
    e.none(Op::Update, "versions/top/1", json!({"tricky": 2}))
        .await;
    e.none(Op::Update, "layout", json!({"tricky": 3})).await;
    e.none(Op::Update, "config", json!({"tricky": 4})).await;
    e
}

#[tokio::test]
async fn upgrade_keeps_data_as_version_1() {
    let mut e = v1_with_data().await;
    e.clock.advance(Duration::from_secs(60));
    e.remount(Some("2"), true).await;

    let r = e.ok(Op::Read, "data/app/db", json!({})).await;
    assert_eq!(r.status, ResponseStatus::Normal);
    assert_eq!(
        data(&r),
        json!({
            "data": {"password": "hunter2", "ttl": "1h"},
            "metadata": {"created_time": t0_plus(60), "custom_metadata": null, "deletion_time": "", "destroyed": false, "version": 1},
        })
    );
    for (path, want) in [
        ("app/nested/deep", json!({"n": 1})),
        ("top", json!({"k": "v"})),
        ("metadata/top", json!({"tricky": 1})),
        ("versions/top/1", json!({"tricky": 2})),
        ("layout", json!({"tricky": 3})),
        ("config", json!({"tricky": 4})),
    ] {
        let r = e.ok(Op::Read, &format!("data/{path}"), json!({})).await;
        assert_eq!(data(&r)["data"], want, "{path}");
    }
    let meta = data(&e.ok(Op::Read, "metadata/top", json!({})).await);
    assert_eq!(meta["current_version"], json!(1));
    assert_eq!(meta["oldest_version"], json!(1));
    assert_eq!(meta["created_time"], json!(t0_plus(60)));
    assert_eq!(
        data(&e.ok(Op::List, "metadata/", json!({})).await),
        json!({"keys": ["app/", "config", "layout", "metadata/", "top", "versions/"]})
    );
    // The mount config was not taken from the v1 key named "config".
    assert_eq!(
        data(&e.ok(Op::Read, "config", json!({})).await)["max_versions"],
        json!(0)
    );
    // Writing continues at version 2.
    let w = e
        .ok(
            Op::Update,
            "data/top",
            json!({"options": {"cas": 1}, "data": {"k": "v2"}}),
        )
        .await;
    assert_eq!(data(&w)["version"], json!(2));

    // No v1 entry is left at its old key.
    let keys = e.stored_keys().await;
    assert!(!keys.iter().any(|k| k.starts_with("entries/")), "{keys:?}");
    assert!(
        keys.iter()
            .all(|k| k.starts_with("metadata/") || k.starts_with("versions/")),
        "{keys:?}"
    );

    // Re-creating (a restart, an unseal) does not migrate again.
    e.remount(Some("2"), true).await;
    let meta = data(&e.ok(Op::Read, "metadata/top", json!({})).await);
    assert_eq!(meta["current_version"], json!(2));
    assert_eq!(
        data(&e.ok(Op::Read, "data/top", json!({"version": 1})).await)["data"],
        json!({"k": "v"})
    );
}

#[tokio::test]
async fn upgrade_runs_on_first_request_without_initialize() {
    let mut e = v1_with_data().await;
    e.remount(Some("2"), false).await;
    // The ACL's existence check may be the very first call.
    assert_eq!(e.exists("data/top").await, Some(true));
    assert_eq!(
        data(&e.ok(Op::Read, "data/top", json!({})).await)["data"],
        json!({"k": "v"})
    );
}

#[tokio::test]
async fn fresh_v2_mount_writes_nothing() {
    let e = Env::v2().await;
    assert!(e.stored_keys().await.is_empty());
}

#[tokio::test]
async fn v1_over_v2_data_sees_nothing() {
    let mut e = Env::v2().await;
    e.ok(Op::Update, "data/x", json!({"data": {"a": 1}})).await;
    e.remount(None, true).await;
    e.none(Op::Read, "x", json!({})).await;
    e.none(Op::List, "", json!({})).await;
    e.none(Op::Read, "metadata/x", json!({})).await;
}
