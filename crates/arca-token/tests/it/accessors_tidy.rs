use arca_logical::Operation;
use arca_storage::Storage;
use serde_json::{Value, json};

use crate::support::{Event, harness};

#[tokio::test]
async fn list_accessors() {
    let h = harness().await;
    let root = h.root.clone();
    let mut expected = vec![h.root_entry.accessor.clone()];
    for _ in 0..3 {
        let (_, resp) = h.create(json!({"policies": ["a"]})).await;
        expected.push(resp.auth.unwrap().accessor);
    }
    // Batch tokens have no accessor.
    h.create(json!({"policies": ["a"], "type": "batch"})).await;
    expected.sort();
    let resp = h
        .call(Operation::List, "accessors/", &root, Value::Null)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.data.unwrap()["keys"], json!(expected));
    let err = h
        .call(Operation::Read, "accessors", &root, Value::Null)
        .await
        .unwrap_err();
    assert_eq!(err, arca_logical::LogicalError::unsupported_operation());
}

#[tokio::test]
async fn tidy_removes_dangling_indexes() {
    let h = harness().await;
    // A: its entry vanished, leaving its accessor and its parent index behind.
    let (a, _) = h.create(json!({"policies": ["a"]})).await;
    let a_id = h.entry(&a).await.id;
    h.hooks.add_lease(&a_id, "kv/leased/a");
    h.raw.delete(&format!("sys/token/id/{a_id}")).await.unwrap();
    // C's parent P vanished: C becomes an orphan.
    let (p, _) = h.create(json!({"policies": ["a"]})).await;
    let (c, _) = h.create_as(&p, json!({})).await;
    let p_id = h.entry(&p).await.id;
    h.raw.delete(&format!("sys/token/id/{p_id}")).await.unwrap();
    // E expired and was never revoked.
    let (e, _) = h.create(json!({"policies": ["a"], "ttl": "10s"})).await;
    let e_id = h.store.id_of(&e);
    h.advance(20);

    let report = h.store.tidy().await.unwrap();
    assert_eq!(report.errors, 0);
    assert_eq!(report.children_orphaned, 1);
    assert_eq!(report.parent_indexes_removed, 3, "root/A, root/P and P/C");
    assert_eq!(report.accessors_removed, 2, "A's and P's");
    assert_eq!(report.tokens_revoked, 1, "E");

    let dump = h.dump().await;
    assert!(dump.keys().all(|k| !k.contains(a_id.as_str())));
    assert!(dump.keys().all(|k| !k.contains(p_id.as_str())));
    assert!(dump.keys().all(|k| !k.contains(e_id.as_str())));
    assert_eq!(
        h.hooks.revoked_leases.lock().unwrap().clone(),
        vec!["kv/leased/a"]
    );
    assert!(h.hooks.events().contains(&Event::Revoked(e_id)));
    let c_entry = h.entry(&c).await;
    assert!(c_entry.parent.is_none() && c_entry.orphan);

    // A second run finds nothing.
    let again = h.store.tidy().await.unwrap();
    assert_eq!(again, arca_token::TidyReport::default());

    // The endpoint starts it in the background.
    let resp = h.write("tidy", &h.root, json!({})).await.unwrap().unwrap();
    assert_eq!(resp.warnings.len(), 1);
    assert!(resp.warnings[0].starts_with("Tidy operation"));
}
