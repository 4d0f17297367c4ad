use std::collections::BTreeSet;

use arca_logical::{Operation, TokenType};
use serde_json::{Value, json};

use crate::support::{Event, assert_err, harness};

fn keys(m: &serde_json::Map<String, Value>) -> BTreeSet<&str> {
    m.keys().map(String::as_str).collect()
}

#[tokio::test]
async fn create_with_every_option_and_exact_shapes() {
    let h = harness().await;
    let (token, resp) = h
        .create(json!({
            "policies": ["App", " dev", "app"],
            "ttl": "1h",
            "meta": {"team": "a"},
            "display_name": "my app",
            "num_uses": 0,
            "renewable": true,
            "explicit_max_ttl": "0s",
            "period": "0s",
            "type": "service",
            "entity_alias": ""
        }))
        .await;
    assert!(resp.data.is_none());
    assert!(resp.warnings.is_empty(), "{:?}", resp.warnings);
    let auth = resp.auth.unwrap();
    assert!(
        token.starts_with("s.") && token.len() == 26,
        "service token format"
    );
    assert!(token[2..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(auth.accessor.len(), 24);
    assert_eq!(auth.policies, vec!["app", "default", "dev"]);
    assert_eq!(auth.token_policies, auth.policies);
    assert_eq!(auth.metadata.get("team").map(String::as_str), Some("a"));
    assert_eq!(auth.ttl.as_secs(), 3600);
    assert!(auth.renewable);
    assert_eq!(auth.token_type, TokenType::Service);
    assert!(!auth.orphan);
    assert_eq!(auth.entity_id, "");
    assert_eq!(auth.num_uses, 0);
    assert_eq!(auth.display_name, "token-my-app");

    let data = h.lookup_data(&token).await;
    assert_eq!(
        keys(&data),
        BTreeSet::from([
            "accessor",
            "creation_time",
            "creation_ttl",
            "display_name",
            "entity_id",
            "expire_time",
            "explicit_max_ttl",
            "id",
            "issue_time",
            "meta",
            "num_uses",
            "orphan",
            "path",
            "policies",
            "renewable",
            "ttl",
            "type"
        ])
    );
    assert_eq!(data["id"], json!(token));
    assert_eq!(data["accessor"], json!(auth.accessor));
    assert_eq!(data["creation_time"], json!(1_800_000_000i64));
    assert_eq!(data["creation_ttl"], json!(3600));
    assert_eq!(data["ttl"], json!(3600));
    assert_eq!(data["display_name"], json!("token-my-app"));
    assert_eq!(data["entity_id"], json!(""));
    assert_eq!(data["expire_time"], json!("2027-01-15T09:00:00Z"));
    assert_eq!(data["issue_time"], json!("2027-01-15T08:00:00Z"));
    assert_eq!(data["explicit_max_ttl"], json!(0));
    assert_eq!(data["meta"], json!({"team": "a"}));
    assert_eq!(data["num_uses"], json!(0));
    assert_eq!(data["orphan"], json!(false));
    assert_eq!(data["path"], json!("auth/token/create"));
    assert_eq!(data["policies"], json!(["app", "default", "dev"]));
    assert_eq!(data["renewable"], json!(true));
    assert_eq!(data["type"], json!("service"));

    // The lease was registered under the Vault-style id.
    let entry = h.entry(&token).await;
    assert_eq!(entry.lease_id, format!("auth/token/create/{}", entry.id));
    assert!(h.hooks.events().contains(&Event::Created(entry.id.clone())));
    assert_eq!(entry.parent.as_deref(), Some(h.root_entry.id.as_str()));
    // The token itself is nowhere in storage.
    for (k, v) in h.dump().await {
        assert!(!k.contains(&token) && !String::from_utf8_lossy(&v).contains(&token));
    }
}

#[tokio::test]
async fn cli_and_hvac_bodies() {
    let h = harness().await;
    // `bao token create -policy=app -ttl=1h -orphan`
    let (_, resp) = h
        .create(json!({"policies":["app"],"ttl":"1h0m0s","explicit_max_ttl":"0s","period":"0s",
            "no_parent":true,"display_name":"","num_uses":0,"renewable":true,"type":"service","entity_alias":""}))
        .await;
    assert!(resp.warnings.is_empty());
    let auth = resp.auth.unwrap();
    assert!(auth.orphan);
    assert_eq!(
        (auth.ttl.as_secs(), auth.display_name.as_str()),
        (3600, "token")
    );
    assert_eq!(auth.policies, vec!["app", "default"]);
    // hvac's `auth.token.create`
    let (_, resp) = h
        .create(
            json!({"policies":["app"],"no_parent":false,"no_default_policy":false,"renewable":true,
            "ttl":"1h","display_name":"token","num_uses":0}),
        )
        .await;
    assert_eq!(resp.auth.unwrap().display_name, "token-token");
    // A comma string is one policy name, as in Vault.
    let (_, resp) = h.create(json!({"policies": "a,b"})).await;
    assert_eq!(resp.auth.unwrap().policies, vec!["a,b", "default"]);
    // Unknown parameters are reported.
    let (_, resp) = h.create(json!({"bogus": 1})).await;
    assert_eq!(
        resp.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [bogus]"]
    );
}

#[tokio::test]
async fn defaults_ttl_caps_and_warnings() {
    let h = harness().await;
    let (_, resp) = h.create(json!({"policies": ["app"]})).await;
    let auth = resp.auth.unwrap();
    assert_eq!(auth.ttl.as_secs(), 32 * 86_400, "the mount default");
    assert!(resp.warnings.is_empty());

    let (_, resp) = h.create(json!({"policies": ["app"], "ttl": "1000h"})).await;
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 768 * 3600);
    assert_eq!(
        resp.warnings,
        vec![
            "TTL of \"1000h\" exceeded the effective max_ttl of \"768h\"; TTL value is capped accordingly"
        ]
    );

    let (t, resp) = h
        .create(json!({"policies": ["app"], "ttl": "2h", "explicit_max_ttl": "1h30m"}))
        .await;
    assert_eq!(resp.auth.as_ref().unwrap().ttl.as_secs(), 5400);
    assert_eq!(resp.auth.unwrap().explicit_max_ttl.as_secs(), 5400);
    assert_eq!(
        resp.warnings,
        vec![
            "TTL of \"2h\" exceeded the effective max_ttl of \"1h30m\"; TTL value is capped accordingly"
        ]
    );
    assert_eq!(h.lookup_data(&t).await["explicit_max_ttl"], json!(5400));

    // Legacy `lease` is the TTL when `ttl` is absent.
    let (_, resp) = h.create(json!({"policies": ["app"], "lease": 120})).await;
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 120);

    // A policy that does not exist (yet) is assigned, with one warning per such name.
    *h.hooks.missing_policies.lock().unwrap() = vec!["ghost".to_owned(), "nope".to_owned()];
    let (_, resp) = h
        .create(json!({"policies": ["nope", "app", "ghost"], "ttl": "1h"}))
        .await;
    assert_eq!(
        resp.auth.unwrap().policies,
        vec!["app", "default", "ghost", "nope"]
    );
    assert_eq!(
        resp.warnings,
        vec![
            "Policy \"ghost\" does not exist",
            "Policy \"nope\" does not exist"
        ]
    );
}

#[tokio::test]
async fn policies_inherit_subset_default_and_non_assignable() {
    let h = harness().await;
    let (app, _) = h.create(json!({"policies": ["app", "dev"]})).await;
    // No policies: the parent's, with default because the parent has it.
    let (_, resp) = h.create_as(&app, json!({})).await;
    assert_eq!(resp.auth.unwrap().policies, vec!["app", "default", "dev"]);
    // A subset gets default added (the parent has it).
    let (_, resp) = h.create_as(&app, json!({"policies": ["DEV"]})).await;
    assert_eq!(resp.auth.unwrap().policies, vec!["default", "dev"]);
    // no_default_policy strips it.
    let (_, resp) = h
        .create_as(
            &app,
            json!({"policies": ["dev"], "no_default_policy": true}),
        )
        .await;
    assert_eq!(resp.auth.unwrap().policies, vec!["dev"]);
    // Not a subset without sudo.
    assert_err(
        h.write("create", &app, json!({"policies": ["admin"]}))
            .await,
        "400",
        "child policies must be subset of parent",
    );
    // With sudo any policy, and default is added.
    let resp = h
        .sudo_write("create", &app, json!({"policies": ["admin"]}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().policies, vec!["admin", "default"]);
    // Sudo never mints root.
    assert_err(
        h.sudo_write("create", &app, json!({"policies": ["root"]}))
            .await,
        "400",
        "root tokens may not be created without parent token being root",
    );
    assert_err(
        h.write("create", &h.root, json!({"policies": ["a/b"]}))
            .await,
        "400",
        "invalid policy name",
    );
    assert_err(
        h.create_root_policy_wrapping().await,
        "400",
        "cannot assign policy \"response-wrapping\"",
    );
}

impl crate::support::Harness {
    async fn create_root_policy_wrapping(
        &self,
    ) -> arca_logical::LogicalResult<Option<arca_logical::Response>> {
        self.write(
            "create",
            &self.root.clone(),
            json!({"policies": ["response-wrapping"]}),
        )
        .await
    }
}

#[tokio::test]
async fn sudo_requirements() {
    let h = harness().await;
    let (app, _) = h.create(json!({"policies": ["app"]})).await;

    assert_err(
        h.write("create", &app, json!({"no_parent": true})).await,
        "400",
        "root or sudo privileges required to create orphan token",
    );
    let resp = h
        .sudo_write("create", &app, json!({"no_parent": true}))
        .await
        .unwrap()
        .unwrap();
    assert!(resp.auth.unwrap().orphan);

    assert_err(
        h.write("create", &app, json!({"period": "1h"})).await,
        "400",
        "root or sudo privileges required to create periodic token",
    );
    let resp = h
        .sudo_write("create", &app, json!({"period": "1h"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().period.as_secs(), 3600);

    assert_err(
        h.write("create", &app, json!({"id": "my-custom-token"}))
            .await,
        "400",
        "root or sudo privileges required to specify token id",
    );
    let resp = h
        .sudo_write("create", &app, json!({"id": "my-custom-token"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().client_token, "my-custom-token");
    assert_eq!(
        h.lookup_data("my-custom-token").await["policies"],
        json!(["app", "default"])
    );
    assert_err(
        h.write("create", &h.root, json!({"id": "my-custom-token"}))
            .await,
        "400",
        "cannot create a token with a duplicate ID",
    );
    assert_err(
        h.write("create", &h.root, json!({"id": "s.abc"})).await,
        "400",
        "custom token ID cannot have the 's.' prefix",
    );
    assert_err(
        h.write("create", &h.root, json!({"id": "hvs.abc"})).await,
        "400",
        "custom token ID cannot have the 'hvs.' prefix",
    );
    assert_err(
        h.write("create", &h.root, json!({"id": "x".repeat(2000)}))
            .await,
        "400",
        "invalid custom token ID",
    );
    assert_err(
        h.write("create", &h.root, json!({"id": "a.b"})).await,
        "400",
        "custom token ID cannot have a '.' in the value",
    );

    // create-orphan needs no sudo.
    let resp = h
        .write("create-orphan", &app, json!({}))
        .await
        .unwrap()
        .unwrap();
    let auth = resp.auth.unwrap();
    assert!(auth.orphan);
    assert_eq!(
        h.lookup_data(&auth.client_token).await["path"],
        json!("auth/token/create-orphan")
    );
}

#[tokio::test]
async fn root_children_types_and_use_limits() {
    let h = harness().await;
    let before = h.hooks.events().len();
    let (child_root, resp) = h.create(json!({})).await;
    let auth = resp.auth.unwrap();
    assert_eq!(auth.policies, vec!["root"]);
    assert_eq!(auth.ttl.as_secs(), 0);
    assert!(
        !auth.renewable,
        "non-expiring tokens are not advertised as renewable"
    );
    assert_eq!(
        h.hooks.events().len(),
        before,
        "no lease for a non-expiring token"
    );
    let data = h.lookup_data(&child_root).await;
    assert_eq!(data["expire_time"], Value::Null);
    assert_eq!(data["ttl"], json!(0));

    // An expiring root token cannot create a non-expiring one.
    let (expiring_root, _) = h.create(json!({"ttl": "1h"})).await;
    assert_err(
        h.write("create", &expiring_root, json!({})).await,
        "400",
        "expiring root tokens cannot create non-expiring root tokens",
    );

    assert_err(
        h.write("create", &h.root, json!({"type": "weird"})).await,
        "400",
        "invalid 'token_type' value",
    );
    assert_err(
        h.write(
            "create",
            &h.root,
            json!({"type": "batch", "policies": ["a"], "num_uses": 2}),
        )
        .await,
        "400",
        "batch tokens cannot have \"num_uses\" set",
    );
    assert_err(
        h.write("create", &h.root, json!({"num_uses": -1})).await,
        "400",
        "number of uses cannot be negative",
    );

    let (limited, resp) = h.create(json!({"policies": ["app"], "num_uses": 5})).await;
    assert_eq!(resp.auth.unwrap().num_uses, 5);
    assert_err(
        h.write("create", &limited, json!({})).await,
        "400",
        "restricted use token cannot generate child tokens",
    );

    // entity_alias needs a role.
    assert_err(
        h.write("create", &h.root, json!({"entity_alias": "bob"}))
            .await,
        "400",
        "'entity_alias' is only allowed in combination with token role",
    );
    // meta as k=v pairs.
    let (t, _) = h
        .create(json!({"policies": ["a"], "meta": "k=v,x=y"}))
        .await;
    assert_eq!(h.lookup_data(&t).await["meta"], json!({"k": "v", "x": "y"}));
}

#[tokio::test]
async fn lease_registration_failure_leaves_nothing_behind() {
    let h = harness().await;
    let before = h.dump().await;
    *h.hooks.fail_create.lock().unwrap() = true;
    let err = h
        .write("create", &h.root, json!({"policies": ["app"]}))
        .await
        .unwrap_err();
    assert_eq!(err.kind, arca_logical::ErrorKind::Internal);
    assert_eq!(h.dump().await, before, "the half-created token was removed");
}

#[tokio::test]
async fn wrong_operation_and_unknown_paths() {
    let h = harness().await;
    let err = h
        .call(Operation::Read, "create", &h.root, Value::Null)
        .await
        .unwrap_err();
    assert_eq!(err, arca_logical::LogicalError::unsupported_operation());
    let err = h
        .call(
            Operation::Read,
            &format!("lookup/{}", h.root),
            &h.root,
            Value::Null,
        )
        .await
        .unwrap_err();
    assert_eq!(err, arca_logical::LogicalError::unsupported_path());
    assert!(
        h.backend.special_paths().is_root("accessors/"),
        "listing accessors needs sudo"
    );
    assert!(h.backend.special_paths().is_root("revoke-orphan"));
    assert!(!h.backend.special_paths().is_root("create"));
}
