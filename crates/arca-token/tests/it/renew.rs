use std::time::Duration;

use serde_json::json;

use crate::support::{Event, assert_err, harness};

#[tokio::test]
async fn renew_self_with_zero_increment_restores_the_ttl() {
    let h = harness().await;
    let (t, _) = h.create(json!({"policies": ["app"], "ttl": "1h"})).await;
    h.advance(1000);
    // What the CLI and the Agent send.
    let resp = h
        .write("renew-self", &t, json!({"increment": 0}))
        .await
        .unwrap()
        .unwrap();
    let auth = resp.auth.unwrap();
    assert_eq!(auth.client_token, t);
    assert_eq!(auth.ttl.as_secs(), 3600);
    assert!(auth.renewable);
    assert_eq!(auth.policies, vec!["app", "default"]);
    assert!(resp.warnings.is_empty());
    let e = h.entry(&t).await;
    assert!(
        h.hooks
            .events()
            .contains(&Event::Renewed(e.id.clone(), 3600))
    );
    let data = h.lookup_data(&t).await;
    assert_eq!(data["ttl"], json!(3600));
    assert_eq!(
        data["creation_ttl"],
        json!(3600),
        "creation_ttl keeps the original"
    );
    assert_eq!(data["last_renewal_time"], json!(1_800_001_000i64));
    assert!(data["last_renewal"].is_string());

    // An explicit increment.
    let resp = h
        .write("renew", &h.root, json!({"token": t, "increment": "2h"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 7200);
}

#[tokio::test]
async fn renewal_caps_and_warnings() {
    let h = harness().await;
    let (t, _) = h
        .create(json!({"policies": ["app"], "ttl": "1h", "explicit_max_ttl": "3h"}))
        .await;
    h.advance(3000);
    let resp = h
        .write("renew-self", &t, json!({"increment": "1h"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 3600);
    assert!(resp.warnings.is_empty());
    h.advance(3000);
    let resp = h
        .write("renew-self", &t, json!({"increment": "2h"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 4800);
    assert_eq!(
        resp.warnings,
        vec![
            "TTL of \"2h\" exceeded the effective max_ttl of \"1h20m\"; TTL value is capped accordingly"
        ]
    );
    h.advance(4799);
    assert!(h.store.authenticate(&t, None).await.unwrap().is_some());
    h.advance(1);
    // At the cap the token is dead: nothing can renew it.
    assert!(h.store.authenticate(&t, None).await.unwrap().is_none());
    assert_err(
        h.write("renew", &h.root, json!({"token": t})).await,
        "400",
        "token not found",
    );

    // The mount maximum caps renewals too.
    *h.system.max_ttl.lock().unwrap() = Duration::from_secs(7200);
    let (t2, _) = h.create(json!({"policies": ["app"], "ttl": "1h"})).await;
    h.advance(3000);
    let resp = h
        .write("renew-self", &t2, json!({"increment": "3h"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 4200);
    assert_eq!(resp.warnings.len(), 1);
}

#[tokio::test]
async fn periodic_tokens_renew_forever() {
    let h = harness().await;
    *h.system.max_ttl.lock().unwrap() = Duration::from_secs(7200);
    let (t, resp) = h.create(json!({"policies": ["app"], "period": "1h"})).await;
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 3600);
    for _ in 0..10 {
        h.advance(3000);
        let resp = h
            .write("renew-self", &t, json!({"increment": "5h"}))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            resp.auth.unwrap().ttl.as_secs(),
            3600,
            "a period ignores the increment"
        );
    }
    // A period larger than the maximum is capped, with Vault's warning.
    let (_, resp) = h.create(json!({"policies": ["app"], "period": "3h"})).await;
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 7200);
    assert_eq!(
        resp.warnings,
        vec![
            "period of \"3h\" exceeded the effective max_ttl of \"2h\"; period value is capped accordingly"
        ]
    );
}

#[tokio::test]
async fn refusals() {
    let h = harness().await;
    let (t, _) = h
        .create(json!({"policies": ["app"], "renewable": false}))
        .await;
    assert_err(
        h.write("renew-self", &t, json!({})).await,
        "400",
        "lease is not renewable",
    );
    assert_err(
        h.write("renew-self", &h.root, json!({})).await,
        "400",
        "lease is not renewable",
    );
    assert_err(
        h.write("renew", &h.root, json!({})).await,
        "400",
        "missing token ID",
    );
    assert_err(
        h.write("renew", &h.root, json!({"token": "s.nope"})).await,
        "400",
        "token not found",
    );
    assert_err(
        h.write("renew-accessor", &h.root, json!({})).await,
        "400",
        "missing accessor",
    );
    assert_err(
        h.write("renew-accessor", &h.root, json!({"accessor": "nope"}))
            .await,
        "400",
        "invalid accessor",
    );
}

#[tokio::test]
async fn renew_accessor_hides_the_token() {
    let h = harness().await;
    let (_, resp) = h.create(json!({"policies": ["app"], "ttl": "1h"})).await;
    let accessor = resp.auth.unwrap().accessor;
    h.advance(600);
    let resp = h
        .write(
            "renew-accessor",
            &h.root,
            json!({"accessor": accessor, "increment": 1800}),
        )
        .await
        .unwrap()
        .unwrap();
    let auth = resp.auth.unwrap();
    assert_eq!(auth.client_token, "");
    assert_eq!(auth.accessor, accessor);
    assert_eq!(auth.ttl.as_secs(), 1800);
}

#[tokio::test]
async fn renewal_from_the_lease_manager_skips_the_hook() {
    let h = harness().await;
    let (t, _) = h.create(json!({"policies": ["app"], "ttl": "1h"})).await;
    let e = h.entry(&t).await;
    h.advance(600);
    let (renewed, warnings) = h
        .store
        .renew_from_lease(&e, Duration::from_secs(1800))
        .await
        .unwrap();
    assert_eq!((renewed.current_ttl, warnings.len()), (1800, 0));
    assert!(
        !h.hooks
            .events()
            .iter()
            .any(|ev| matches!(ev, Event::Renewed(..)))
    );
    assert_eq!(h.lookup_data(&t).await["ttl"], json!(1800));
    assert!(h.store.contains_id(&e.id).await.unwrap());
    h.advance(1800);
    assert!(
        h.store.contains_id(&e.id).await.unwrap(),
        "expired but still stored"
    );
    assert!(h.store.lookup_id(&e.id).await.unwrap().is_none());
}
