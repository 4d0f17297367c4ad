use arca_logical::Operation;
use serde_json::{Value, json};

use crate::support::{assert_err, harness};

#[tokio::test]
async fn lookup_forms() {
    let h = harness().await;
    let (t, resp) = h.create(json!({"policies": ["app"], "ttl": "1h"})).await;
    let accessor = resp.auth.unwrap().accessor;

    // lookup with a token in the body, by another token.
    let other = h
        .write("lookup", &h.root, json!({"token": t}))
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    let own = h.lookup_data(&t).await;
    assert_eq!(other, own);
    // GET lookup with no token: the caller's own.
    let caller = h
        .call(Operation::Read, "lookup", &t, Value::Null)
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(caller["id"], json!(t));
    // lookup-self by POST too.
    let post = h
        .write("lookup-self", &t, json!({}))
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(post["accessor"], json!(accessor));

    // lookup-accessor: the same data without the id.
    let by_acc = h
        .write("lookup-accessor", &h.root, json!({"accessor": accessor}))
        .await
        .unwrap()
        .unwrap();
    let mut by_acc = by_acc.data.unwrap();
    assert_eq!(by_acc.remove("id"), Some(json!("")));
    let mut own = own;
    own.remove("id");
    assert_eq!(by_acc, own);

    assert_err(
        h.write("lookup", &h.root, json!({"token": "s.nope"})).await,
        "403",
        "bad token",
    );
    assert_err(
        h.write("lookup-accessor", &h.root, json!({})).await,
        "400",
        "missing accessor",
    );
    assert_err(
        h.write("lookup-accessor", &h.root, json!({"accessor": "nope"}))
            .await,
        "400",
        "invalid accessor",
    );

    // The TTL counts down with the clock.
    h.advance(100);
    assert_eq!(h.lookup_data(&t).await["ttl"], json!(3500));
}

#[tokio::test]
async fn root_lookup() {
    let h = harness().await;
    let data = h.lookup_data(&h.root.clone()).await;
    assert_eq!(data["policies"], json!(["root"]));
    assert_eq!(data["path"], json!("auth/token/root"));
    assert_eq!(data["display_name"], json!("root"));
    assert_eq!(data["creation_ttl"], json!(0));
    assert_eq!(data["ttl"], json!(0));
    assert_eq!(data["expire_time"], Value::Null);
    assert_eq!(data["renewable"], json!(false));
    assert_eq!(data["orphan"], json!(true));
    assert_eq!(data["meta"], Value::Null);
    assert!(h.root.starts_with("s.") && h.root.len() == 26);
}

#[tokio::test]
async fn dev_root_token_id() {
    let h = harness().await;
    let (tok, entry) = h.store.create_root(Some("root")).await.unwrap();
    assert_eq!(tok.as_str(), "root");
    assert!(entry.is_root());
    assert!(h.store.authenticate("root", None).await.unwrap().is_some());
    assert!(h.store.create_root(Some("")).await.is_err());
    assert!(h.store.create_root(Some("b.x")).await.is_err());
}

#[tokio::test]
async fn optional_keys_appear_when_set() {
    let h = harness().await;
    let (t, _) = h.create(json!({"policies": ["a"], "period": "10m"})).await;
    let data = h.lookup_data(&t).await;
    assert_eq!(data["period"], json!(600));
    assert_eq!(data["ttl"], json!(600));
    assert!(data.get("role").is_none());
    assert!(data.get("bound_cidrs").is_none());
    assert!(data.get("last_renewal_time").is_none());
}

#[tokio::test]
async fn store_level_lookups() {
    let h = harness().await;
    let (t, resp) = h.create(json!({"policies": ["a"]})).await;
    let accessor = resp.auth.unwrap().accessor;
    let e = h.store.lookup(&t).await.unwrap().unwrap();
    assert_eq!(h.store.lookup_id(&e.id).await.unwrap().unwrap(), e);
    assert_eq!(
        h.store.lookup_accessor(&accessor).await.unwrap().unwrap(),
        e
    );
    assert_eq!(h.store.id_of(&t), e.id);
    let caller = e.caller();
    assert_eq!(caller.token_id, e.id);
    assert!(!caller.is_root && !caller.orphan);
    assert!(h.store.lookup("").await.unwrap().is_none());
    assert!(h.store.lookup_id("not-hex").await.unwrap().is_none());
    assert!(h.store.lookup_accessor("").await.unwrap().is_none());
}
