//! KV version 2.

use std::sync::Arc;
use std::time::Duration;

use arca_logical::{ErrorKind, Operation as Op, ResponseStatus};
use serde_json::{Value, json};

use crate::{Env, T0, data, t0_plus};

const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";
const CAS_REQUIRED: &str = "check-and-set parameter required for this call";

fn version_meta(
    created: &str,
    deletion: &str,
    destroyed: bool,
    version: u64,
    custom: Value,
) -> Value {
    json!({
        "created_time": created,
        "custom_metadata": custom,
        "deletion_time": deletion,
        "destroyed": destroyed,
        "version": version,
    })
}

#[tokio::test]
async fn write_and_read_shapes() {
    let e = Env::v2().await;
    // The CLI always sends `options: {}`.
    let w = e
        .ok(
            Op::Update,
            "data/app/db",
            json!({"options": {}, "data": {"password": "s3cr3t", "n": 1}}),
        )
        .await;
    assert_eq!(w.status, ResponseStatus::Normal);
    assert!(w.secret.is_none() && w.warnings.is_empty());
    assert_eq!(
        data(&w),
        version_meta(T0, "", false, 1, Value::Null),
        "write answers 200 with version metadata"
    );

    let r = e.ok(Op::Read, "data/app/db", json!({})).await;
    assert_eq!(r.status, ResponseStatus::Normal);
    assert!(r.secret.is_none(), "v2 reads have no lease_duration");
    assert_eq!(
        data(&r),
        json!({"data": {"password": "s3cr3t", "n": 1}, "metadata": version_meta(T0, "", false, 1, Value::Null)})
    );

    e.clock.advance(Duration::from_secs(5));
    let w = e
        .ok(
            Op::Create,
            "data/app/db",
            json!({"data": {"password": "second"}}),
        )
        .await;
    assert_eq!(
        data(&w),
        version_meta(&t0_plus(5), "", false, 2, Value::Null)
    );
    let meta = data(&e.ok(Op::Read, "metadata/app/db", json!({})).await);
    assert_eq!(
        meta,
        json!({
            "cas_required": false,
            "created_time": T0,
            "current_metadata_version": 0,
            "current_version": 2,
            "custom_metadata": null,
            "delete_version_after": "0s",
            "max_versions": 0,
            "metadata_cas_required": false,
            "oldest_version": 0,
            "updated_time": t0_plus(5),
            "versions": {
                "1": {"created_time": T0, "deletion_time": "", "destroyed": false},
                "2": {"created_time": t0_plus(5), "deletion_time": "", "destroyed": false},
            },
        })
    );
}

#[tokio::test]
async fn read_old_versions_and_missing() {
    let e = Env::v2().await;
    for i in 1..=3 {
        e.ok(Op::Update, "data/k", json!({"data": {"i": i}})).await;
    }
    // Query parameters arrive as strings.
    let r = e.ok(Op::Read, "data/k", json!({"version": "1"})).await;
    assert_eq!(data(&r)["data"], json!({"i": 1}));
    assert_eq!(data(&r)["metadata"]["version"], json!(1));
    let r = e.ok(Op::Read, "data/k", json!({"version": 2})).await;
    assert_eq!(data(&r)["data"], json!({"i": 2}));
    // version=0 is the latest.
    assert_eq!(
        data(&e.ok(Op::Read, "data/k", json!({"version": "0"})).await)["data"],
        json!({"i": 3})
    );
    e.none(Op::Read, "data/k", json!({"version": "9"})).await;
    e.none(Op::Read, "data/never", json!({})).await;
    e.none(Op::Read, "data/", json!({})).await;
    let err = e.err(Op::Read, "data/k", json!({"version": "abc"})).await;
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn check_and_set() {
    let e = Env::v2().await;
    // cas=0: only if the key does not exist.
    e.ok(
        Op::Update,
        "data/c",
        json!({"options": {"cas": 0}, "data": {"v": 1}}),
    )
    .await;
    let err = e
        .err(
            Op::Update,
            "data/c",
            json!({"options": {"cas": 0}, "data": {"v": 2}}),
        )
        .await;
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::InvalidRequest, CAS_MISMATCH)
    );
    let err = e
        .err(
            Op::Update,
            "data/c",
            json!({"options": {"cas": 5}, "data": {"v": 2}}),
        )
        .await;
    assert_eq!(err.message, CAS_MISMATCH);
    let err = e
        .err(
            Op::Update,
            "data/c",
            json!({"options": {"cas": -1}, "data": {"v": 2}}),
        )
        .await;
    assert_eq!(err.message, CAS_MISMATCH);
    // A numeric string is accepted.
    let w = e
        .ok(
            Op::Update,
            "data/c",
            json!({"options": {"cas": "1"}, "data": {"v": 2}}),
        )
        .await;
    assert_eq!(data(&w)["version"], json!(2));
    let err = e
        .err(
            Op::Update,
            "data/c",
            json!({"options": {"cas": "x"}, "data": {"v": 3}}),
        )
        .await;
    assert_eq!(err.message, "error parsing check-and-set parameter");
    // A failed CAS wrote nothing.
    assert_eq!(
        data(&e.ok(Op::Read, "data/c", json!({})).await)["data"],
        json!({"v": 2})
    );
    // The message never carries the data.
    let err = e
        .err(
            Op::Update,
            "data/c",
            json!({"options": {"cas": 9}, "data": {"pw": "topsecret"}}),
        )
        .await;
    assert!(!err.message.contains("topsecret") && !format!("{err:?}").contains("topsecret"));
}

#[tokio::test]
async fn cas_required_by_mount_and_by_key() {
    let e = Env::v2().await;
    e.none(Op::Update, "config", json!({"cas_required": true}))
        .await;
    let err = e.err(Op::Update, "data/a", json!({"data": {"v": 1}})).await;
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::InvalidRequest, CAS_REQUIRED)
    );
    e.ok(
        Op::Update,
        "data/a",
        json!({"options": {"cas": 0}, "data": {"v": 1}}),
    )
    .await;
    // PATCH needs it too.
    let err = e.err(Op::Patch, "data/a", json!({"data": {"v": 2}})).await;
    assert_eq!(err.message, CAS_REQUIRED);

    // A key setting false is overridden by the mount, with a warning.
    let r = e
        .ok(Op::Update, "metadata/a", json!({"cas_required": false}))
        .await;
    assert_eq!(
        r.warnings,
        vec![
            "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored."
        ]
    );
    e.none(Op::Update, "config", json!({"cas_required": false}))
        .await;
    e.ok(Op::Update, "data/a", json!({"data": {"v": 2}})).await;

    // Per key.
    e.none(Op::Update, "metadata/b", json!({"cas_required": true}))
        .await;
    let err = e.err(Op::Update, "data/b", json!({"data": {"v": 1}})).await;
    assert_eq!(err.message, CAS_REQUIRED);
    e.ok(
        Op::Update,
        "data/b",
        json!({"options": {"cas": 0}, "data": {"v": 1}}),
    )
    .await;
    e.ok(Op::Update, "data/other", json!({"data": {"v": 1}}))
        .await;
}

#[tokio::test]
async fn max_versions_pruning() {
    let e = Env::v2().await;
    e.none(Op::Update, "metadata/p", json!({"max_versions": 2}))
        .await;
    for i in 1..=3 {
        e.ok(Op::Update, "data/p", json!({"data": {"i": i}})).await;
    }
    let meta = data(&e.ok(Op::Read, "metadata/p", json!({})).await);
    assert_eq!(meta["current_version"], json!(3));
    assert_eq!(meta["oldest_version"], json!(2));
    assert_eq!(
        meta["versions"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["2", "3"]
    );
    e.none(Op::Read, "data/p", json!({"version": 1})).await;
    assert_eq!(
        data(&e.ok(Op::Read, "data/p", json!({"version": 2})).await)["data"],
        json!({"i": 2})
    );
    // The pruned version's data is gone from storage.
    assert_eq!(
        e.stored_keys().await,
        vec!["metadata/p", "versions/p/2", "versions/p/3"]
    );

    // The mount setting applies when larger; default 10 when both are 0.
    e.none(Op::Update, "config", json!({"max_versions": 3}))
        .await;
    for i in 4..=6 {
        e.ok(Op::Update, "data/p", json!({"data": {"i": i}})).await;
    }
    let meta = data(&e.ok(Op::Read, "metadata/p", json!({})).await);
    assert_eq!(meta["versions"].as_object().unwrap().len(), 3);
    e.none(Op::Update, "config", json!({"max_versions": 0}))
        .await;
    for i in 1..=12 {
        e.ok(Op::Update, "data/d", json!({"data": {"i": i}})).await;
    }
    e.ok(Op::Update, "data/d", json!({"data": {"i": 13}})).await;
    let meta = data(&e.ok(Op::Read, "metadata/d", json!({})).await);
    assert_eq!(meta["versions"].as_object().unwrap().len(), 10);
    assert_eq!(meta["oldest_version"], json!(4));
}

#[tokio::test]
async fn delete_undelete_destroy_and_404_envelope() {
    let e = Env::v2().await;
    e.ok(Op::Update, "data/s", json!({"data": {"v": 1}})).await;
    e.none(
        Op::Update,
        "metadata/s",
        json!({"custom_metadata": {"owner": "bob"}}),
    )
    .await;
    e.clock.advance(Duration::from_secs(1));
    e.ok(Op::Update, "data/s", json!({"data": {"v": 2}})).await;

    // DELETE data/ soft-deletes the latest version.
    e.clock.advance(Duration::from_secs(13));
    e.none(Op::Delete, "data/s", json!({})).await;
    let r = e.ok(Op::Read, "data/s", json!({})).await;
    assert_eq!(
        r.status,
        ResponseStatus::NotFound,
        "a deleted version is a 404 with the envelope"
    );
    assert_eq!(
        data(&r),
        json!({"data": null, "metadata": version_meta(&t0_plus(1), &t0_plus(14), false, 2, json!({"owner": "bob"}))})
    );
    // Older versions are still readable; deleting again changes nothing.
    assert_eq!(
        data(&e.ok(Op::Read, "data/s", json!({"version": 1})).await)["data"],
        json!({"v": 1})
    );
    e.clock.advance(Duration::from_secs(1));
    e.none(Op::Delete, "data/s", json!({})).await;
    let r = e.ok(Op::Read, "data/s", json!({})).await;
    assert_eq!(data(&r)["metadata"]["deletion_time"], json!(t0_plus(14)));

    // Undelete.
    e.none(Op::Update, "undelete/s", json!({"versions": [2]}))
        .await;
    let r = e.ok(Op::Read, "data/s", json!({})).await;
    assert_eq!(r.status, ResponseStatus::Normal);
    assert_eq!(data(&r)["data"], json!({"v": 2}));

    // delete/ with the CLI's string form.
    e.none(Op::Update, "delete/s", json!({"versions": ["1", "2"]}))
        .await;
    for v in [1, 2] {
        let r = e.ok(Op::Read, "data/s", json!({"version": v})).await;
        assert_eq!(r.status, ResponseStatus::NotFound);
        assert_eq!(data(&r)["data"], Value::Null);
    }
    e.none(Op::Update, "undelete/s", json!({"versions": "1,2"}))
        .await;
    assert_eq!(
        e.ok(Op::Read, "data/s", json!({"version": 1})).await.status,
        ResponseStatus::Normal
    );

    // Destroy removes the data for good.
    e.none(Op::Update, "destroy/s", json!({"versions": [1]}))
        .await;
    let r = e.ok(Op::Read, "data/s", json!({"version": 1})).await;
    assert_eq!(r.status, ResponseStatus::NotFound);
    assert_eq!(
        data(&r),
        json!({"data": null, "metadata": version_meta(T0, "", true, 1, json!({"owner": "bob"}))})
    );
    assert!(!e.stored_keys().await.contains(&"versions/s/1".to_owned()));
    // Undelete cannot bring it back.
    e.none(Op::Update, "undelete/s", json!({"versions": [1]}))
        .await;
    assert_eq!(
        e.ok(Op::Read, "data/s", json!({"version": 1})).await.status,
        ResponseStatus::NotFound
    );
    let meta = data(&e.ok(Op::Read, "metadata/s", json!({})).await);
    assert_eq!(meta["versions"]["1"]["destroyed"], json!(true));

    // Unknown versions and keys are ignored.
    e.none(Op::Update, "delete/s", json!({"versions": [42]}))
        .await;
    e.none(Op::Update, "destroy/nokey", json!({"versions": [1]}))
        .await;
    e.none(Op::Delete, "data/nokey", json!({})).await;

    let err = e.err(Op::Update, "delete/s", json!({})).await;
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::InvalidRequest, "No version number provided")
    );
    let err = e
        .err(Op::Update, "undelete/s", json!({"versions": []}))
        .await;
    assert_eq!(err.message, "No version number provided");
    let err = e.err(Op::Update, "destroy/s", json!({})).await;
    assert_eq!(err.message, "no version number provided");
    let err = e
        .err(Op::Update, "destroy/s", json!({"versions": [{}]}))
        .await;
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
}

#[tokio::test]
async fn metadata_before_data_eso_pattern() {
    let e = Env::v2().await;
    // ESO PushSecret writes metadata first.
    e.none(
        Op::Update,
        "metadata/eso/key",
        json!({"custom_metadata": {"managed-by": "external-secrets"}}),
    )
    .await;
    let meta = data(&e.ok(Op::Read, "metadata/eso/key", json!({})).await);
    assert_eq!(
        meta,
        json!({
            "cas_required": false,
            "created_time": T0,
            "current_metadata_version": 1,
            "current_version": 0,
            "custom_metadata": {"managed-by": "external-secrets"},
            "delete_version_after": "0s",
            "max_versions": 0,
            "metadata_cas_required": false,
            "oldest_version": 0,
            "updated_time": T0,
            "versions": {},
        })
    );
    // No data yet: a bare 404.
    e.none(Op::Read, "data/eso/key", json!({})).await;
    e.none(Op::Read, "subkeys/eso/key", json!({})).await;
    // The existence check sees the metadata.
    assert_eq!(e.exists("data/eso/key").await, Some(true));
    // Then the data with cas=0.
    e.clock.advance(Duration::from_secs(2));
    let w = e
        .ok(
            Op::Update,
            "data/eso/key",
            json!({"data": {"k": "v"}, "options": {"cas": 0}}),
        )
        .await;
    assert_eq!(
        data(&w),
        version_meta(
            &t0_plus(2),
            "",
            false,
            1,
            json!({"managed-by": "external-secrets"})
        )
    );
    let meta = data(&e.ok(Op::Read, "metadata/eso/key", json!({})).await);
    assert_eq!(meta["created_time"], json!(T0));
    assert_eq!(meta["updated_time"], json!(t0_plus(2)));
    assert_eq!(meta["current_version"], json!(1));
    // ESO's delete: data, then metadata.
    e.none(Op::Delete, "data/eso/key", json!({})).await;
    e.none(Op::Delete, "metadata/eso/key", json!({})).await;
    e.none(Op::Read, "metadata/eso/key", json!({})).await;
    assert!(e.stored_keys().await.is_empty());
}

#[tokio::test]
async fn metadata_write_settings_and_validation() {
    let e = Env::v2().await;
    // No recognised field: nothing is created.
    e.none(Op::Update, "metadata/empty", json!({})).await;
    e.none(Op::Read, "metadata/empty", json!({})).await;
    // Unknown fields on a 204 stay a 204 (no warning body), as in OpenBao.
    e.none(Op::Update, "metadata/m", json!({"max_versions": "5", "delete_version_after": "3h", "cas_required": "true", "bogus": 1})).await;
    let meta = data(&e.ok(Op::Read, "metadata/m", json!({})).await);
    assert_eq!(meta["max_versions"], json!(5));
    assert_eq!(meta["delete_version_after"], json!("3h0m0s"));
    assert_eq!(meta["cas_required"], json!(true));
    // A write replaces custom_metadata.
    e.none(
        Op::Update,
        "metadata/m",
        json!({"custom_metadata": {"a": "1", "b": 2}}),
    )
    .await;
    e.none(
        Op::Update,
        "metadata/m",
        json!({"custom_metadata": {"c": "3"}}),
    )
    .await;
    let meta = data(&e.ok(Op::Read, "metadata/m", json!({})).await);
    assert_eq!(meta["custom_metadata"], json!({"c": "3"}));
    assert_eq!(meta["current_metadata_version"], json!(3));
    assert_eq!(
        meta["max_versions"],
        json!(5),
        "unset fields keep their values"
    );

    for (body, what) in [
        (json!({"max_versions": "abc"}), "bad int"),
        (json!({"max_versions": -1}), "negative int"),
        (json!({"cas_required": "maybe"}), "bad bool"),
        (json!({"delete_version_after": "forever"}), "bad duration"),
        (json!({"delete_version_after": "-1h"}), "negative duration"),
        (
            json!({"custom_metadata": "a=b"}),
            "custom_metadata not a map",
        ),
        (
            json!({"custom_metadata": {"a": {"nested": 1}}}),
            "custom_metadata nested",
        ),
        (json!({"custom_metadata": {"a": ""}}), "empty value"),
        (
            json!({"custom_metadata": {"k": "x".repeat(513)}}),
            "long value",
        ),
        (
            json!({"custom_metadata": {"k".repeat(129): "v"}}),
            "long key",
        ),
    ] {
        let err = e.err(Op::Update, "metadata/bad", body).await;
        assert_eq!(err.kind, ErrorKind::InvalidRequest, "{what}");
    }
    let many: serde_json::Map<String, Value> =
        (0..65).map(|i| (format!("k{i}"), json!("v"))).collect();
    let err = e
        .err(Op::Update, "metadata/bad", json!({"custom_metadata": many}))
        .await;
    assert_eq!(
        err.message,
        "1 error occurred:\n\t* custom_metadata validation failed: payload must contain at most 64 keys, provided 65\n\n"
    );
    e.none(Op::Read, "metadata/bad", json!({})).await;
    let err = e
        .err(Op::Update, "metadata/", json!({"max_versions": 1}))
        .await;
    assert_eq!(err.message, "missing path");
}

#[tokio::test]
async fn metadata_cas() {
    let e = Env::v2().await;
    let err = e
        .err(
            Op::Update,
            "metadata/m",
            json!({"max_versions": 1, "metadata_cas": 3}),
        )
        .await;
    assert_eq!(
        err.message,
        "metadata_cas must be 0 when creating new metadata"
    );
    e.none(
        Op::Update,
        "metadata/m",
        json!({"metadata_cas_required": true, "metadata_cas": 0}),
    )
    .await;
    let err = e
        .err(Op::Update, "metadata/m", json!({"max_versions": 2}))
        .await;
    assert_eq!(
        err.message,
        "metadata check-and-set parameter required for this call"
    );
    let err = e
        .err(
            Op::Update,
            "metadata/m",
            json!({"max_versions": 2, "metadata_cas": 7}),
        )
        .await;
    assert_eq!(
        err.message,
        "metadata check-and-set parameter does not match the current version"
    );
    e.none(
        Op::Update,
        "metadata/m",
        json!({"max_versions": 2, "metadata_cas": 1}),
    )
    .await;
    let meta = data(&e.ok(Op::Read, "metadata/m", json!({})).await);
    assert_eq!(
        (
            meta["max_versions"].clone(),
            meta["current_metadata_version"].clone()
        ),
        (json!(2), json!(2))
    );
}

#[tokio::test]
async fn metadata_patch() {
    let e = Env::v2().await;
    let err = e
        .err(Op::Patch, "metadata/p", json!({"max_versions": 3}))
        .await;
    assert_eq!(err.kind, ErrorKind::NotFound);
    e.none(
        Op::Update,
        "metadata/p",
        json!({"max_versions": 4, "custom_metadata": {"a": "1", "b": "2"}}),
    )
    .await;
    e.none(
        Op::Patch,
        "metadata/p",
        json!({"custom_metadata": {"a": null, "c": "3"}, "cas_required": true}),
    )
    .await;
    let meta = data(&e.ok(Op::Read, "metadata/p", json!({})).await);
    assert_eq!(meta["custom_metadata"], json!({"b": "2", "c": "3"}));
    assert_eq!(meta["max_versions"], json!(4), "not patched, kept");
    assert_eq!(meta["cas_required"], json!(true));
    assert_eq!(meta["current_metadata_version"], json!(2));
    // An explicit null resets a setting (merge-patch semantics).
    e.none(
        Op::Patch,
        "metadata/p",
        json!({"max_versions": null, "custom_metadata": null}),
    )
    .await;
    let meta = data(&e.ok(Op::Read, "metadata/p", json!({})).await);
    assert_eq!(meta["max_versions"], json!(0));
    assert_eq!(meta["custom_metadata"], Value::Null);
    // Nothing patchable: 204 without touching it.
    e.none(Op::Patch, "metadata/p", json!({})).await;
    assert_eq!(
        data(&e.ok(Op::Read, "metadata/p", json!({})).await)["current_metadata_version"],
        json!(3)
    );
}

#[tokio::test]
async fn metadata_delete_removes_everything() {
    let e = Env::v2().await;
    for i in 1..=3 {
        e.ok(Op::Update, "data/gone", json!({"data": {"i": i}}))
            .await;
    }
    e.ok(Op::Update, "data/keep", json!({"data": {"i": 0}}))
        .await;
    e.none(Op::Delete, "metadata/gone", json!({})).await;
    e.none(Op::Read, "metadata/gone", json!({})).await;
    e.none(Op::Read, "data/gone", json!({"version": 1})).await;
    assert_eq!(
        e.stored_keys().await,
        vec!["metadata/keep", "versions/keep/1"]
    );
    // Idempotent; and the key can be written again from version 1.
    e.none(Op::Delete, "metadata/gone", json!({})).await;
    let w = e
        .ok(
            Op::Update,
            "data/gone",
            json!({"options": {"cas": 0}, "data": {"i": 9}}),
        )
        .await;
    assert_eq!(data(&w)["version"], json!(1));
}

#[tokio::test]
async fn list_metadata_folders_paging_and_detail() {
    let e = Env::v2().await;
    e.none(Op::List, "metadata/", json!({})).await;
    for p in ["app/db", "app/api", "app/sub/x", "top", "zeta"] {
        e.ok(Op::Update, &format!("data/{p}"), json!({"data": {"v": 1}}))
            .await;
    }
    e.none(Op::Update, "metadata/meta-only", json!({"max_versions": 1}))
        .await;
    assert_eq!(
        data(&e.ok(Op::List, "metadata/", json!({})).await),
        json!({"keys": ["app/", "meta-only", "top", "zeta"]})
    );
    assert_eq!(
        data(&e.ok(Op::List, "metadata/app/", json!({})).await),
        json!({"keys": ["api", "db", "sub/"]})
    );
    assert_eq!(
        data(&e.ok(Op::List, "metadata/app", json!({})).await),
        json!({"keys": ["api", "db", "sub/"]})
    );
    e.none(Op::List, "metadata/nothing/", json!({})).await;
    // The mount-level folder without its slash.
    assert_eq!(
        data(&e.ok(Op::List, "metadata", json!({})).await)["keys"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // OpenBao pagination.
    assert_eq!(
        data(
            &e.ok(
                Op::List,
                "metadata/",
                json!({"after": "app/", "limit": "2"})
            )
            .await
        ),
        json!({"keys": ["meta-only", "top"]})
    );
    e.none(Op::List, "metadata/", json!({"after": "zeta"}))
        .await;
    // Recursive.
    assert_eq!(
        data(&e.ok(Op::Scan, "metadata/app/", json!({})).await),
        json!({"keys": ["api", "db", "sub/x"]})
    );
    // Detailed: key_info carries each key's metadata, folders get {}.
    let d = data(&e.ok(Op::List, "detailed-metadata/app/", json!({})).await);
    assert_eq!(d["keys"], json!(["api", "db", "sub/"]));
    assert_eq!(d["key_info"]["sub/"], json!({}));
    assert_eq!(d["key_info"]["db"]["current_version"], json!(1));
    assert_eq!(
        d["key_info"]["api"]["versions"]["1"]["destroyed"],
        json!(false)
    );
    let d = data(&e.ok(Op::Scan, "detailed-metadata/", json!({})).await);
    assert_eq!(d["keys"].as_array().unwrap().len(), 6);
    assert_eq!(d["key_info"]["app/sub/x"]["current_version"], json!(1));
    // Reads of a list path are not lists.
    let err = e.err(Op::List, "data/app/", json!({})).await;
    assert_eq!(err.kind, ErrorKind::UnsupportedOperation);
    let err = e.err(Op::Read, "detailed-metadata/app", json!({})).await;
    assert_eq!(err.kind, ErrorKind::UnsupportedOperation);
}

#[tokio::test]
async fn subkeys_with_depth() {
    let e = Env::v2().await;
    let secret = json!({"a": 1, "nested": {"b": {"c": "x"}, "arr": [1]}, "empty": {}});
    e.ok(Op::Update, "data/sk", json!({"data": secret})).await;
    let r = data(&e.ok(Op::Read, "subkeys/sk", json!({})).await);
    assert_eq!(
        r,
        json!({
            "subkeys": {"a": null, "nested": {"b": {"c": null}, "arr": null}, "empty": null},
            "metadata": version_meta(T0, "", false, 1, Value::Null),
        })
    );
    let r = data(&e.ok(Op::Read, "subkeys/sk", json!({"depth": "1"})).await);
    assert_eq!(
        r["subkeys"],
        json!({"a": null, "nested": null, "empty": null})
    );
    let r = data(&e.ok(Op::Read, "subkeys/sk", json!({"depth": 2})).await);
    assert_eq!(
        r["subkeys"],
        json!({"a": null, "nested": {"b": null, "arr": null}, "empty": null})
    );
    e.ok(Op::Update, "data/sk", json!({"data": {"z": 1}})).await;
    let r = data(
        &e.ok(Op::Read, "subkeys/sk", json!({"version": 1, "depth": 1}))
            .await,
    );
    assert_eq!(
        r["subkeys"],
        json!({"a": null, "nested": null, "empty": null})
    );
    e.none(Op::Delete, "data/sk", json!({})).await;
    let r = e.ok(Op::Read, "subkeys/sk", json!({})).await;
    assert_eq!(r.status, ResponseStatus::NotFound);
    assert_eq!(data(&r)["subkeys"], Value::Null);
    assert_eq!(data(&r)["metadata"]["version"], json!(2));
    e.none(Op::Read, "subkeys/none", json!({})).await;
}

#[tokio::test]
async fn patch_merges_data() {
    let e = Env::v2().await;
    let err = e.err(Op::Patch, "data/p", json!({"data": {"a": 1}})).await;
    assert_eq!(
        err.kind,
        ErrorKind::NotFound,
        "patching a missing secret is a 404"
    );
    e.ok(
        Op::Update,
        "data/p",
        json!({"data": {"a": "1", "b": "2", "n": {"x": 1, "y": 2}}}),
    )
    .await;
    e.clock.advance(Duration::from_secs(3));
    let w = e
        .ok(
            Op::Patch,
            "data/p",
            json!({"data": {"a": null, "c": "x", "n": {"y": null, "z": 3}}, "options": {"cas": 1}}),
        )
        .await;
    assert_eq!(
        data(&w),
        version_meta(&t0_plus(3), "", false, 2, Value::Null)
    );
    assert_eq!(
        data(&e.ok(Op::Read, "data/p", json!({})).await)["data"],
        json!({"b": "2", "c": "x", "n": {"x": 1, "z": 3}})
    );
    // Version 1 is untouched.
    assert_eq!(
        data(&e.ok(Op::Read, "data/p", json!({"version": 1})).await)["data"]["a"],
        json!("1")
    );
    let err = e
        .err(
            Op::Patch,
            "data/p",
            json!({"data": {"a": 1}, "options": {"cas": 1}}),
        )
        .await;
    assert_eq!(err.message, CAS_MISMATCH);
    let err = e.err(Op::Patch, "data/p", json!({"options": {}})).await;
    assert_eq!(err.message, "no data provided");
    let err = e.err(Op::Patch, "data/p", json!({"data": "str"})).await;
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    // Patching a deleted latest version: a 404 carrying its metadata.
    e.none(Op::Delete, "data/p", json!({})).await;
    let r = e.ok(Op::Patch, "data/p", json!({"data": {"a": 1}})).await;
    assert_eq!(r.status, ResponseStatus::NotFound);
    assert_eq!(
        data(&r),
        version_meta(&t0_plus(3), &t0_plus(3), false, 2, Value::Null)
    );
    // Metadata-only keys have no version to patch.
    e.none(Op::Update, "metadata/mo", json!({"max_versions": 1}))
        .await;
    let err = e.err(Op::Patch, "data/mo", json!({"data": {"a": 1}})).await;
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn delete_version_after() {
    let e = Env::v2().await;
    e.none(Op::Update, "config", json!({"delete_version_after": "1h"}))
        .await;
    assert_eq!(
        data(&e.ok(Op::Read, "config", json!({})).await)["delete_version_after"],
        json!("1h0m0s")
    );
    let w = e.ok(Op::Update, "data/t", json!({"data": {"v": 1}})).await;
    assert_eq!(
        data(&w)["deletion_time"],
        json!(t0_plus(3600)),
        "deletion_time is computed at write"
    );
    // Readable until then.
    e.clock.advance(Duration::from_secs(3599));
    assert_eq!(
        e.ok(Op::Read, "data/t", json!({})).await.status,
        ResponseStatus::Normal
    );
    e.clock.advance(Duration::from_secs(1));
    let r = e.ok(Op::Read, "data/t", json!({})).await;
    assert_eq!(r.status, ResponseStatus::NotFound);
    assert_eq!(data(&r)["metadata"]["deletion_time"], json!(t0_plus(3600)));
    // Undelete restarts the clock from now.
    e.none(Op::Update, "undelete/t", json!({"versions": [1]}))
        .await;
    let r = e.ok(Op::Read, "data/t", json!({})).await;
    assert_eq!(r.status, ResponseStatus::Normal);
    assert_eq!(data(&r)["metadata"]["deletion_time"], json!(t0_plus(7200)));

    // The smaller non-zero of key and mount wins.
    e.none(
        Op::Update,
        "metadata/short",
        json!({"delete_version_after": "10m"}),
    )
    .await;
    let w = e
        .ok(Op::Update, "data/short", json!({"data": {"v": 1}}))
        .await;
    assert_eq!(data(&w)["deletion_time"], json!(t0_plus(3600 + 600)));

    // A negative mount value disables it everywhere.
    e.none(Op::Update, "config", json!({"delete_version_after": "-1s"}))
        .await;
    assert_eq!(
        data(&e.ok(Op::Read, "config", json!({})).await)["delete_version_after"],
        json!("-1s")
    );
    let w = e
        .ok(Op::Update, "data/short", json!({"data": {"v": 2}}))
        .await;
    assert_eq!(data(&w)["deletion_time"], json!(""));
    // Zero clears it.
    e.none(Op::Update, "config", json!({"delete_version_after": 0}))
        .await;
    assert_eq!(
        data(&e.ok(Op::Read, "config", json!({})).await)["delete_version_after"],
        json!("0s")
    );
}

#[tokio::test]
async fn config_defaults_and_writes() {
    let e = Env::v2().await;
    assert_eq!(
        data(&e.ok(Op::Read, "config", json!({})).await),
        json!({"cas_required": false, "delete_version_after": "0s", "max_versions": 0, "metadata_cas_required": false})
    );
    e.none(
        Op::Update,
        "config",
        json!({"max_versions": 5, "cas_required": false, "delete_version_after": "0s"}),
    )
    .await;
    assert_eq!(
        data(&e.ok(Op::Read, "config", json!({})).await),
        json!({"cas_required": false, "delete_version_after": "0s", "max_versions": 5, "metadata_cas_required": false})
    );
    e.none(Op::Update, "config", json!({"delete_version_after": 10800}))
        .await;
    let c = data(&e.ok(Op::Read, "config", json!({})).await);
    assert_eq!(
        (c["delete_version_after"].clone(), c["max_versions"].clone()),
        (json!("3h0m0s"), json!(5))
    );
    let err = e
        .err(Op::Update, "config", json!({"max_versions": "many"}))
        .await;
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    let err = e.err(Op::Delete, "config", json!({})).await;
    assert_eq!(err.kind, ErrorKind::UnsupportedOperation);
}

#[tokio::test]
async fn unknown_fields_warn_and_bad_types_fail() {
    let e = Env::v2().await;
    let w = e
        .ok(
            Op::Update,
            "data/w",
            json!({"data": {"a": 1}, "options": {}, "colour": "red", "alpha": 1}),
        )
        .await;
    assert_eq!(
        w.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [alpha colour]"]
    );
    let r = e.ok(Op::Read, "data/w", json!({"extra": "1"})).await;
    assert_eq!(
        r.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [extra]"]
    );
    let r = e.ok(Op::Read, "config", json!({"x": 1})).await;
    assert_eq!(r.warnings.len(), 1);

    let err = e
        .err(Op::Update, "data/w", json!({"data": "not a map"}))
        .await;
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    let err = e
        .err(
            Op::Update,
            "data/w",
            json!({"data": {"a": 1}, "options": "cas=1"}),
        )
        .await;
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    let err = e
        .err(Op::Update, "data/w", json!({"options": {"cas": 1}}))
        .await;
    assert_eq!(
        (err.kind, err.message.as_str()),
        (ErrorKind::InvalidRequest, "no data provided")
    );
    let err = e.err(Op::Update, "data/w", json!({"data": null})).await;
    assert_eq!(err.message, "no data provided");
    let err = e.err(Op::Update, "data/", json!({"data": {"a": 1}})).await;
    assert_eq!(err.message, "missing path");
    let err = e
        .err(Op::Update, "data/dir/", json!({"data": {"a": 1}}))
        .await;
    assert_eq!(err.message, "cannot write to a path ending in '/'");
    let err = e.err(Op::Read, "subkeys/w", json!({"depth": "deep"})).await;
    assert_eq!(err.kind, ErrorKind::InvalidRequest);
    // An empty data object is a valid version.
    let w = e.ok(Op::Update, "data/empty", json!({"data": {}})).await;
    assert_eq!(data(&w)["version"], json!(1));
    assert_eq!(
        data(&e.ok(Op::Read, "data/empty", json!({})).await)["data"],
        json!({})
    );
}

#[tokio::test]
async fn v1_style_paths_get_404_with_warning() {
    let e = Env::v2().await;
    let r = e.ok(Op::Read, "mysecret", json!({})).await;
    assert_eq!(r.status, ResponseStatus::NotFound);
    assert_eq!(r.data, None);
    assert_eq!(
        r.warnings,
        vec![
            "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv get' for this operation."
        ]
    );
    let r = e.ok(Op::Update, "a/b", json!({"x": 1})).await;
    assert!(r.warnings[0].ends_with("use 'bao kv put' for this operation."));
    let r = e.ok(Op::List, "folder/", json!({})).await;
    assert!(r.warnings[0].ends_with("use 'bao kv list' for this operation."));
    let r = e.ok(Op::Read, "data", json!({})).await;
    assert_eq!(r.status, ResponseStatus::NotFound);
    assert_eq!(
        r.warnings,
        vec!["Non-listing operations on the root of a K/V v2 mount are not supported."]
    );
    // Nothing was written.
    assert!(e.stored_keys().await.is_empty());
}

#[tokio::test]
async fn existence_for_acl() {
    let e = Env::v2().await;
    assert_eq!(e.exists("data/x").await, Some(false));
    assert_eq!(e.exists("metadata/x").await, Some(false));
    e.ok(Op::Update, "data/x", json!({"data": {"a": 1}})).await;
    assert_eq!(e.exists("data/x").await, Some(true));
    assert_eq!(e.exists("metadata/x").await, Some(true));
    assert_eq!(e.exists("delete/x").await, None);
    assert_eq!(e.exists("config").await, None);
}

#[tokio::test]
async fn concurrent_writes_are_serialised() {
    let e = Env::v2().await;
    let b = e.backend.clone();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let b = Arc::clone(&b);
        tasks.push(tokio::spawn(async move {
            b.handle(&crate::req(
                Op::Update,
                "data/race",
                json!({"data": {"i": i}}),
            ))
            .await
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        let r = t.await.unwrap().unwrap().unwrap();
        versions.push(data(&r)["version"].as_u64().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=16).collect::<Vec<_>>(),
        "every write got its own version"
    );

    // Of many cas=0 writers exactly one wins.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let b = Arc::clone(&b);
        tasks.push(tokio::spawn(async move {
            b.handle(&crate::req(
                Op::Update,
                "data/once",
                json!({"data": {"i": i}, "options": {"cas": 0}}),
            ))
            .await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(Some(_)) => wins += 1,
            Err(err) => assert_eq!(err.message, CAS_MISMATCH),
            Ok(None) => panic!("no response"),
        }
    }
    assert_eq!(wins, 1);
}
