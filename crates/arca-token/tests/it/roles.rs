use std::net::IpAddr;

use arca_logical::{Operation, Request};
use serde_json::{Value, json};

use crate::support::{Call, assert_err, harness};

fn ip(s: &str) -> Option<IpAddr> {
    Some(s.parse().unwrap())
}

#[tokio::test]
async fn role_crud_and_list() {
    let h = harness().await;
    let root = h.root.clone();
    let resp = h
        .call(
            Operation::Create,
            "roles/app-role",
            &root,
            json!({"allowed_policies": "App,dev", "orphan": true, "token_period": "1h",
                   "renewable": false, "path_suffix": "v1.0", "token_num_uses": 3}),
        )
        .await
        .unwrap();
    assert!(resp.is_none(), "204");
    let data = h
        .call(Operation::Read, "roles/app-role", &root, Value::Null)
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(
        Value::Object(data),
        json!({
            "name": "app-role", "allowed_policies": ["app", "dev"], "disallowed_policies": [],
            "allowed_policies_glob": [], "disallowed_policies_glob": [], "orphan": true,
            "renewable": false, "path_suffix": "v1.0", "allowed_entity_aliases": null,
            "period": 0, "token_period": 3600, "explicit_max_ttl": 0, "token_explicit_max_ttl": 0,
            "token_type": "default-service", "token_no_default_policy": false, "token_num_uses": 3
        })
    );
    // An update changes only what it names.
    h.write("roles/app-role", &root, json!({"orphan": false}))
        .await
        .unwrap();
    let data = h
        .call(Operation::Read, "roles/app-role", &root, Value::Null)
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(
        (data["orphan"].clone(), data["token_period"].clone()),
        (json!(false), json!(3600))
    );
    // Legacy names are echoed.
    h.call(
        Operation::Create,
        "roles/legacy",
        &root,
        json!({"period": 60, "explicit_max_ttl": "2h", "bound_cidrs": "127.0.0.1/32"}),
    )
    .await
    .unwrap();
    let data = h
        .call(Operation::Read, "roles/legacy", &root, Value::Null)
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(data["period"], json!(60));
    assert_eq!(data["token_period"], json!(60));
    assert_eq!(data["token_explicit_max_ttl"], json!(7200));
    assert_eq!(data["bound_cidrs"], json!(["127.0.0.1"]));
    assert_eq!(data["token_bound_cidrs"], json!(["127.0.0.1"]));
    assert_eq!(data["renewable"], json!(true), "renewable defaults to true");

    let list = h
        .call(Operation::List, "roles/", &root, Value::Null)
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(list["keys"], json!(["app-role", "legacy"]));

    // The existence check tells create from update.
    let mut req = Request::new("x", Operation::Update, "roles/legacy");
    assert_eq!(h.backend.exists(&req).await.unwrap(), Some(true));
    req.path = "roles/none".into();
    assert_eq!(h.backend.exists(&req).await.unwrap(), Some(false));
    req.path = "create".into();
    assert_eq!(h.backend.exists(&req).await.unwrap(), None);

    assert!(
        h.call(Operation::Delete, "roles/legacy", &root, Value::Null)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.call(Operation::Read, "roles/legacy", &root, Value::Null)
            .await
            .unwrap()
            .is_none()
    );
    assert_err(
        h.write("create/legacy", &root, json!({})).await,
        "400",
        "unknown role",
    );

    assert_err(
        h.call(
            Operation::Create,
            "roles/bad",
            &root,
            json!({"path_suffix": "a b"}),
        )
        .await,
        "400",
        "given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w",
    );
    assert_err(
        h.call(
            Operation::Create,
            "roles/bad",
            &root,
            json!({"token_type": "weird"}),
        )
        .await,
        "400",
        "invalid 'token_type' value",
    );
    assert_err(
        h.call(
            Operation::Create,
            "roles/bad",
            &root,
            json!({"token_type": "batch"}),
        )
        .await,
        "400",
        "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens",
    );
    let resp = h
        .call(
            Operation::Create,
            "roles/warn",
            &root,
            json!({"token_period": 10, "period": 20}),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        resp.warnings,
        vec![
            "Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated value"
        ]
    );
}

#[tokio::test]
async fn create_against_role() {
    let h = harness().await;
    let root = h.root.clone();
    h.call(
        Operation::Create,
        "roles/r1",
        &root,
        json!({"allowed_policies": ["app", "dev"], "orphan": true, "token_period": "1h",
               "renewable": false, "path_suffix": "v1.0", "token_num_uses": 3}),
    )
    .await
    .unwrap();
    // A non-root, non-sudo parent may get the role's policies (roles grant by design).
    let (other, _) = h.create(json!({"policies": ["other"]})).await;

    let resp = h
        .write(
            "create/r1",
            &other,
            json!({"policies": ["app"], "role_name": "ignored"}),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(resp.warnings.is_empty(), "{:?}", resp.warnings);
    let auth = resp.auth.unwrap();
    assert_eq!(auth.policies, vec!["app", "default"]);
    assert!(auth.orphan);
    assert!(!auth.renewable);
    assert_eq!(auth.ttl.as_secs(), 3600);
    assert_eq!(auth.period.as_secs(), 3600);
    assert_eq!(auth.num_uses, 3);
    let data = h.lookup_data(&auth.client_token).await;
    assert_eq!(data["path"], json!("auth/token/create/r1/v1.0"));
    assert_eq!(data["role"], json!("r1"));
    // As in OpenBao, the role's period bounds the TTL and each renewal but is not copied
    // into the token: lookup shows neither a period nor an explicit max TTL.
    assert!(data.get("period").is_none(), "{data:?}");
    assert_eq!(data["explicit_max_ttl"], json!(0));

    // No policies: the role's allowed set.
    let resp = h
        .write("create/r1", &other, json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().policies, vec!["app", "default", "dev"]);
    // Outside the role.
    assert_err(
        h.write("create/r1", &other, json!({"policies": ["admin"]}))
            .await,
        "400",
        "token policies must be subset of the role's allowed policies or glob policies",
    );
    // A request num_uses below the role's wins; above it does not.
    let resp = h
        .write("create/r1", &other, json!({"num_uses": 1}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().num_uses, 1);
    let resp = h
        .write("create/r1", &other, json!({"num_uses": 9}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().num_uses, 3);
    // Period both in request and role: the lesser, with a warning (period needs sudo).
    let resp = h
        .write("create/r1", &root, json!({"period": "30m"}))
        .await
        .unwrap()
        .unwrap();
    let auth = resp.auth.clone().unwrap();
    assert_eq!(auth.period.as_secs(), 1800);
    // The request's own period is the one the token keeps.
    assert_eq!(
        h.lookup_data(&auth.client_token).await["period"],
        json!(1800)
    );
    assert_eq!(
        resp.warnings,
        vec![
            "Period specified both during creation call and in role; using the lesser value of 1800 seconds"
        ]
    );
}

#[tokio::test]
async fn role_globs_disallowed_and_renewal_by_role() {
    let h = harness().await;
    let root = h.root.clone();
    h.call(
        Operation::Create,
        "roles/g",
        &root,
        json!({"allowed_policies_glob": "dev-*", "allowed_policies": "base"}),
    )
    .await
    .unwrap();
    let resp = h
        .write("create/g", &root, json!({"policies": ["dev-x", "base"]}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        resp.auth.unwrap().policies,
        vec!["base", "default", "dev-x"]
    );
    assert_err(
        h.write("create/g", &root, json!({"policies": ["prod-x"]}))
            .await,
        "400",
        "token policies must be subset of the role's allowed policies or glob policies",
    );

    let (parent, _) = h.create(json!({"policies": ["admin", "app"]})).await;
    h.call(
        Operation::Create,
        "roles/d",
        &root,
        json!({"disallowed_policies": "admin", "token_no_default_policy": true}),
    )
    .await
    .unwrap();
    assert_err(
        h.write("create/d", &parent, json!({})).await,
        "400",
        "token policy is disallowed by this role",
    );
    let resp = h
        .write("create/d", &parent, json!({"policies": ["app"]}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().policies, vec!["app"]);

    // A periodic role token renews by the role's *current* period.
    h.call(
        Operation::Create,
        "roles/p",
        &root,
        json!({"allowed_policies": "app", "token_period": "1h"}),
    )
    .await
    .unwrap();
    let (t, _) = h.create_as(&root, json!({})).await;
    let resp = h.write("create/p", &t, json!({})).await.unwrap().unwrap();
    let pt = resp.auth.unwrap().client_token;
    h.write("roles/p", &root, json!({"token_period": "2h"}))
        .await
        .unwrap();
    let resp = h
        .write("renew-self", &pt, json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resp.auth.unwrap().ttl.as_secs(), 7200);
    // A deleted role stops renewals.
    h.call(Operation::Delete, "roles/p", &root, Value::Null)
        .await
        .unwrap();
    assert_err(
        h.write("renew-self", &pt, json!({})).await,
        "400",
        "original token role could not be found, not renewing",
    );
}

#[tokio::test]
async fn batch_roles_and_bound_cidrs() {
    let h = harness().await;
    let root = h.root.clone();
    h.call(
        Operation::Create,
        "roles/b",
        &root,
        json!({"allowed_policies": "app", "token_type": "batch", "orphan": true, "renewable": false}),
    )
    .await
    .unwrap();
    let resp = h
        .write("create/b", &root, json!({}))
        .await
        .unwrap()
        .unwrap();
    let auth = resp.auth.unwrap();
    assert!(auth.client_token.starts_with("b."));
    assert!(auth.orphan);

    h.call(
        Operation::Create,
        "roles/net",
        &root,
        json!({"allowed_policies": "app", "token_bound_cidrs": "10.0.0.0/8, 127.0.0.1/32"}),
    )
    .await
    .unwrap();
    let data = h
        .call(Operation::Read, "roles/net", &root, Value::Null)
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(
        data["token_bound_cidrs"],
        json!(["10.0.0.0/8", "127.0.0.1"])
    );
    let resp = h
        .write("create/net", &root, json!({}))
        .await
        .unwrap()
        .unwrap();
    let t = resp.auth.unwrap().client_token;
    assert!(
        h.store
            .authenticate(&t, ip("10.1.2.3"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        h.store
            .authenticate(&t, ip("127.0.0.1"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        h.store
            .authenticate(&t, ip("::ffff:10.9.9.9"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        h.store
            .authenticate(&t, ip("192.168.1.1"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(h.store.authenticate(&t, None).await.unwrap().is_none());
    let data = h
        .run(Call {
            op: Operation::Read,
            path: "lookup-self",
            token: &t,
            data: Value::Null,
            sudo: false,
            remote: ip("10.0.0.1"),
        })
        .await
        .unwrap()
        .unwrap()
        .data
        .unwrap();
    assert_eq!(data["bound_cidrs"], json!(["10.0.0.0/8", "127.0.0.1"]));

    // Children inherit their parent's binding.
    let child = h
        .run(Call {
            op: Operation::Update,
            path: "create",
            token: &t,
            data: json!({}),
            sudo: false,
            remote: ip("10.0.0.1"),
        })
        .await
        .unwrap()
        .unwrap()
        .auth
        .unwrap()
        .client_token;
    assert!(
        h.store
            .authenticate(&child, ip("192.168.1.1"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.store
            .authenticate(&child, ip("10.0.0.2"))
            .await
            .unwrap()
            .is_some()
    );
}
