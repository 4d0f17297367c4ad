use std::collections::BTreeMap;
use std::time::Duration;

use arca_logical::{Auth, TokenType};
use serde_json::json;

use crate::support::{DAY, Event, harness};

fn login_auth() -> Auth {
    Auth {
        policies: vec!["App".into()],
        metadata: BTreeMap::from([("username".to_owned(), "alice".to_owned())]),
        display_name: "userpass-alice".into(),
        ttl: Duration::from_secs(3600),
        max_ttl: Duration::from_secs(7200),
        renewable: true,
        entity_id: "ent-1".into(),
        ..Auth::default()
    }
}

const BOUNDS: (Duration, Duration) = (
    Duration::from_secs(32 * DAY),
    Duration::from_secs(768 * 3600),
);

#[tokio::test]
async fn login_tokens() {
    let h = harness().await;
    let mut auth = login_auth();
    let entry = h
        .store
        .create_for_login(&mut auth, "auth/userpass/login/alice", BOUNDS)
        .await
        .unwrap();
    assert!(auth.client_token.starts_with("s."));
    assert_eq!(auth.accessor, entry.accessor);
    assert_eq!(auth.policies, vec!["app", "default"]);
    assert_eq!(auth.token_policies, vec!["app", "default"]);
    assert_eq!(auth.ttl.as_secs(), 3600);
    assert!(auth.orphan && auth.renewable);
    assert!(h.hooks.events().contains(&Event::Created(entry.id.clone())));
    assert_eq!(
        entry.lease_id,
        format!("auth/userpass/login/alice/{}", entry.id)
    );

    let data = h.lookup_data(&auth.client_token).await;
    assert_eq!(data["path"], json!("auth/userpass/login/alice"));
    assert_eq!(data["entity_id"], json!("ent-1"));
    assert_eq!(data["orphan"], json!(true));
    assert_eq!(data["meta"], json!({"username": "alice"}));
    assert_eq!(data["display_name"], json!("userpass-alice"));

    // Renewals stop at the login's max TTL.
    h.advance(3000);
    let resp = h
        .write("renew-self", &auth.client_token, json!({"increment": "3h"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 4200);
    assert_eq!(resp.warnings.len(), 1);
}

#[tokio::test]
async fn login_variants() {
    let h = harness().await;
    let mut auth = Auth {
        no_default_policy: true,
        ..login_auth()
    };
    h.store
        .create_for_login(&mut auth, "auth/userpass/login/alice", BOUNDS)
        .await
        .unwrap();
    assert_eq!(auth.policies, vec!["app"]);

    let mut auth = Auth {
        policies: vec!["root".into()],
        ..login_auth()
    };
    let err = h
        .store
        .create_for_login(&mut auth, "auth/x/login", BOUNDS)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "auth methods cannot create root tokens");

    let mut auth = Auth {
        token_type: TokenType::Batch,
        ..login_auth()
    };
    let before = h.dump().await;
    h.store
        .create_for_login(&mut auth, "auth/userpass/login/alice", BOUNDS)
        .await
        .unwrap();
    assert!(auth.client_token.starts_with("b."));
    assert!(!auth.renewable);
    assert_eq!(h.dump().await, before);

    // Longer than the mount allows: capped, with a warning.
    let mut auth = Auth {
        ttl: Duration::from_secs(10 * DAY),
        max_ttl: Duration::ZERO,
        ..login_auth()
    };
    let (_, warnings) = h
        .store
        .create_for_login_with_warnings(
            &mut auth,
            "auth/x/login",
            (Duration::from_secs(3600), Duration::from_secs(DAY)),
        )
        .await
        .unwrap();
    assert_eq!(auth.ttl.as_secs(), DAY);
    assert_eq!(
        warnings,
        vec![
            "TTL of \"240h\" exceeded the effective max_ttl of \"24h\"; TTL value is capped accordingly"
        ]
    );

    // Bound CIDRs from the auth method.
    let mut auth = Auth {
        bound_cidrs: vec!["192.168.0.0/16".into()],
        ..login_auth()
    };
    h.store
        .create_for_login(&mut auth, "auth/x/login", BOUNDS)
        .await
        .unwrap();
    assert!(
        h.store
            .authenticate(&auth.client_token, Some("192.168.3.4".parse().unwrap()))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        h.store
            .authenticate(&auth.client_token, Some("10.0.0.1".parse().unwrap()))
            .await
            .unwrap()
            .is_none()
    );
    let mut auth = Auth {
        bound_cidrs: vec!["nonsense".into()],
        ..login_auth()
    };
    assert!(
        h.store
            .create_for_login(&mut auth, "auth/x/login", BOUNDS)
            .await
            .is_err()
    );
}
