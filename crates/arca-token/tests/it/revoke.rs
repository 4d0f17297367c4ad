use serde_json::json;

use crate::support::{assert_err, harness};

fn pos(v: &[String], id: &str) -> usize {
    v.iter()
        .position(|x| x == id)
        .unwrap_or_else(|| panic!("{id} was not revoked"))
}

#[tokio::test]
async fn revoking_a_parent_revokes_children_grandchildren_and_their_leases() {
    let h = harness().await;
    let (a, _) = h.create(json!({"policies": ["app"]})).await;
    let (b, _) = h.create_as(&a, json!({})).await;
    let (c, _) = h.create_as(&b, json!({})).await;
    let (d, _) = h.create_as(&a, json!({})).await;
    let (orphan, _) = h
        .write("create-orphan", &a, json!({}))
        .await
        .map(|r| {
            let t = r.unwrap().auth.unwrap().client_token;
            (t, ())
        })
        .unwrap();
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for t in [&a, &b, &c, &d] {
            v.push(h.entry(t).await.id);
        }
        v
    };
    h.hooks.add_lease(&ids[0], "secret/creds/a1");
    h.hooks.add_lease(&ids[2], "secret/creds/c1");
    h.hooks.add_lease(&ids[3], "secret/creds/d1");

    assert!(
        h.write("revoke", &h.root, json!({"token": a}))
            .await
            .unwrap()
            .is_none(),
        "204"
    );

    for t in [&a, &b, &c, &d] {
        assert!(h.store.authenticate(t, None).await.unwrap().is_none());
    }
    assert!(
        h.store.authenticate(&orphan, None).await.unwrap().is_some(),
        "orphans survive"
    );
    let revoked = h.hooks.revoked();
    assert_eq!(revoked.len(), 4);
    // Children first.
    assert!(pos(&revoked, &ids[2]) < pos(&revoked, &ids[1]));
    assert!(pos(&revoked, &ids[1]) < pos(&revoked, &ids[0]));
    assert!(pos(&revoked, &ids[3]) < pos(&revoked, &ids[0]));
    let mut leases = h.hooks.revoked_leases.lock().unwrap().clone();
    leases.sort();
    assert_eq!(
        leases,
        vec!["secret/creds/a1", "secret/creds/c1", "secret/creds/d1"]
    );
    // Nothing of them is left in storage: entries, accessors, parent indexes.
    let dump = h.dump().await;
    for id in &ids {
        assert!(
            dump.keys().all(|k| !k.contains(id.as_str())),
            "{id} left behind"
        );
    }
    let accessors = dump
        .keys()
        .filter(|k| k.starts_with("sys/token/accessor/"))
        .count();
    assert_eq!(accessors, 2, "root and the orphan");
}

#[tokio::test]
async fn revoke_self_accessor_and_unknowns() {
    let h = harness().await;
    let (t, _) = h.create(json!({"policies": ["app"]})).await;
    assert!(
        h.write("revoke-self", &t, json!({}))
            .await
            .unwrap()
            .is_none()
    );
    assert!(h.store.lookup(&t).await.unwrap().is_none());

    let (t, resp) = h.create(json!({"policies": ["app"]})).await;
    let accessor = resp.auth.unwrap().accessor;
    assert!(
        h.write("revoke-accessor", &h.root, json!({"accessor": accessor}))
            .await
            .unwrap()
            .is_none()
    );
    assert!(h.store.lookup(&t).await.unwrap().is_none());
    let resp = h
        .write("revoke-accessor", &h.root, json!({"accessor": accessor}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.warnings, vec!["No token found with this accessor"]);
    assert_err(
        h.write("revoke-accessor", &h.root, json!({})).await,
        "400",
        "missing accessor",
    );

    // Unknown tokens: nothing to do.
    assert!(
        h.write("revoke", &h.root, json!({"token": "s.unknown"}))
            .await
            .unwrap()
            .is_none()
    );
    assert_err(
        h.write("revoke", &h.root, json!({})).await,
        "400",
        "missing token ID",
    );
}

#[tokio::test]
async fn revoke_orphan_keeps_children_as_orphans() {
    let h = harness().await;
    let (a, _) = h.create(json!({"policies": ["app"]})).await;
    let (b, _) = h.create_as(&a, json!({})).await;
    let (c, _) = h.create_as(&b, json!({})).await;

    assert_err(
        h.write("revoke-orphan", &a, json!({"token": b})).await,
        "400",
        "root or sudo privileges required to revoke and orphan",
    );
    assert_err(
        h.sudo_write("revoke-orphan", &a, json!({})).await,
        "400",
        "missing token ID",
    );
    assert_err(
        h.sudo_write("revoke-orphan", &a, json!({"token": "s.nope"}))
            .await,
        "400",
        "token to revoke not found",
    );
    assert!(
        h.write("revoke-orphan", &h.root, json!({"token": a}))
            .await
            .unwrap()
            .is_none()
    );

    assert!(h.store.lookup(&a).await.unwrap().is_none());
    let data = h.lookup_data(&b).await;
    assert_eq!(data["orphan"], json!(true));
    assert!(h.entry(&b).await.parent.is_none());
    let bc = h.entry(&c).await;
    assert_eq!(
        bc.parent,
        Some(h.entry(&b).await.id),
        "grandchildren keep their parent"
    );
    assert_eq!(h.hooks.revoked().len(), 1);
    // The orphaned child is now a tree root of its own.
    h.write("revoke", &h.root, json!({"token": b}))
        .await
        .unwrap();
    assert!(h.store.lookup(&c).await.unwrap().is_none());
}

#[tokio::test]
async fn failed_revocation_leaves_token_unusable_and_retries() {
    let h = harness().await;
    let (a, _) = h.create(json!({"policies": ["app"]})).await;
    let (b, _) = h.create_as(&a, json!({})).await;
    let a_id = h.entry(&a).await.id;
    *h.hooks.fail_revoke.lock().unwrap() = true;
    assert!(h.store.revoke_tree(&a_id).await.is_err());
    assert!(
        h.store.authenticate(&a, None).await.unwrap().is_none(),
        "marked for revocation at once"
    );
    assert!(h.store.authenticate(&b, None).await.unwrap().is_none());
    *h.hooks.fail_revoke.lock().unwrap() = false;
    h.store.revoke_tree(&a_id).await.unwrap();
    assert_eq!(h.hooks.revoked().len(), 2);
    let dump = h.dump().await;
    assert!(dump.keys().all(|k| !k.contains(a_id.as_str())));
}

#[tokio::test]
async fn root_token_revokes_itself() {
    let h = harness().await;
    let root = h.root.clone();
    assert!(
        h.write("revoke-self", &root, json!({}))
            .await
            .unwrap()
            .is_none()
    );
    assert!(h.store.authenticate(&root, None).await.unwrap().is_none());
    assert_eq!(h.hooks.revoked(), vec![h.root_entry.id.clone()]);
}
