//! `certs/<name>`, `crls/<name>` and `config`: writes, reads, validation, lists.

use arca_logical::Operation;
use rcgen::ExtendedKeyUsagePurpose;
use serde_json::json;

use crate::Env;
use crate::pki::{Leaf, crl, issue, root};

#[tokio::test]
async fn cert_entries_round_trip() {
    let env = Env::new();
    let ca = root("Example Root", 1);
    let r = env
        .write_ok(
            "certs/Web",
            json!({
                "certificate": ca.pem(),
                "allowed_common_names": "web*.example.com",
                "allowed_uri_sans": ["spiffe://example.org/ns/*/sa/web"],
                "required_extensions": "1.2.3.4:prod-*",
                "token_policies": "web",
                "ttl": "1h",
                "bogus": true,
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        r.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [bogus]"]
    );
    let d = env.read_ok("certs/web").await;
    assert_eq!(d["certificate"], ca.pem());
    assert_eq!(d["display_name"], "web", "defaults to the name");
    assert_eq!(d["allowed_common_names"], json!(["web*.example.com"]));
    assert_eq!(
        d["allowed_uri_sans"],
        json!(["spiffe://example.org/ns/*/sa/web"])
    );
    assert_eq!(d["required_extensions"], json!(["1.2.3.4:prod-*"]));
    assert_eq!(d["token_policies"], json!(["web"]));
    assert_eq!(d["token_ttl"], 3600);
    assert_eq!(d["ttl"], 3600);
    assert_eq!(d["ocsp_enabled"], false);

    // Partial update keeps the rest.
    env.write_ok("certs/web", json!({"display_name": "frontend"}))
        .await;
    let d = env.read_ok("certs/web").await;
    assert_eq!(d["display_name"], "frontend");
    assert_eq!(d["allowed_common_names"], json!(["web*.example.com"]));

    let mut req = crate::req(Operation::Update, "certs/web", json!({}));
    assert_eq!(env.backend.exists(&req).await.unwrap(), Some(true));
    req.path = "certs/other".into();
    assert_eq!(env.backend.exists(&req).await.unwrap(), Some(false));

    let list = env
        .call(Operation::List, "certs/", json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.data.unwrap()["keys"], json!(["web"]));
    env.call(Operation::Delete, "certs/web", json!({}))
        .await
        .unwrap();
    assert!(
        env.call(Operation::Read, "certs/web", json!({}))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn cert_entry_validation() {
    let env = Env::new();
    let ca = root("Example Root", 1);
    let e = env
        .fails(Operation::Update, "certs/x", json!({"certificate": "nope"}))
        .await;
    assert_eq!(e.message, "failed to parse certificate");
    let e = env.fails(Operation::Update, "certs/x", json!({})).await;
    assert_eq!(e.message, "failed to parse certificate");
    // A pinned leaf must be usable for client authentication.
    let (_, server_only) = issue(
        &ca,
        &Leaf {
            usages: vec![ExtendedKeyUsagePurpose::ServerAuth],
            ..Leaf::default()
        },
    );
    let e = env
        .fails(
            Operation::Update,
            "certs/x",
            json!({"certificate": server_only}),
        )
        .await;
    assert_eq!(
        e.message,
        "nonCA certificates should have TLS client authentication set as an extended key usage"
    );
    let e = env
        .fails(
            Operation::Update,
            "certs/x",
            json!({"certificate": ca.pem(), "ocsp_enabled": true}),
        )
        .await;
    assert_eq!(e.message, "OCSP checking is not supported");
    let e = env
        .fails(
            Operation::Update,
            "certs/x",
            json!({"certificate": ca.pem(), "required_extensions": "1.2.3"}),
        )
        .await;
    assert!(e.message.contains("oid:value"), "{e:?}");
    let e = env
        .fails(
            Operation::Update,
            "certs/x",
            json!({"certificate": ca.pem(), "token_ttl": 100, "token_max_ttl": 10}),
        )
        .await;
    assert_eq!(
        e.message,
        "'token_ttl' cannot be greater than 'token_max_ttl'"
    );
}

#[tokio::test]
async fn crls_and_config() {
    let env = Env::new();
    let ca = root("Example Root", 1);
    env.write_ok(
        "crls/main",
        json!({"crl": crl(&ca, &[0x0123_4567_89ab, 7])}),
    )
    .await;
    let d = env.read_ok("crls/main").await;
    assert_eq!(
        d["serials"],
        json!({"1250999896491": {}, "7": {}}),
        "serials in decimal"
    );
    let list = env
        .call(Operation::List, "crls/", json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.data.unwrap()["keys"], json!(["main"]));
    let e = env
        .fails(Operation::Update, "crls/bad", json!({"crl": "garbage"}))
        .await;
    assert_eq!(e.message, "failed to parse CRL");
    let e = env.fails(Operation::Update, "crls/bad", json!({})).await;
    assert_eq!(e.message, "one of 'crl' or 'url' must be provided");
    let e = env
        .fails(
            Operation::Update,
            "crls/bad",
            json!({"url": "http://crl.example/x.crl"}),
        )
        .await;
    assert!(e.message.contains("not supported"), "{e:?}");
    env.call(Operation::Delete, "crls/main", json!({}))
        .await
        .unwrap();
    assert_eq!(
        env.fails(Operation::Read, "crls/main", json!({}))
            .await
            .message,
        "no such CRL"
    );
    assert_eq!(
        env.fails(Operation::Delete, "crls/main", json!({}))
            .await
            .message,
        "no such CRL"
    );

    let d = env.read_ok("config").await;
    assert_eq!(d["disable_binding"], false);
    assert_eq!(d["enable_identity_alias_metadata"], false);
    env.write_ok(
        "config",
        json!({"disable_binding": true, "ocsp_cache_size": 10}),
    )
    .await;
    let d = env.read_ok("config").await;
    assert_eq!(d["disable_binding"], true);
    assert_eq!(d["ocsp_cache_size"], 10);
    let e = env
        .fails(Operation::Update, "config", json!({"ocsp_cache_size": 1}))
        .await;
    assert!(e.message.starts_with("invalid cache size"), "{e:?}");

    let sp = env.backend.special_paths();
    assert!(sp.is_unauthenticated("login"));
    assert!(!sp.is_unauthenticated("certs/x"));
}
