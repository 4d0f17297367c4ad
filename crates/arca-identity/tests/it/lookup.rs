//! `identity/lookup/entity` and `identity/lookup/group`.

use arca_logical::Operation;
use serde_json::json;

use crate::support::{env, s};

#[tokio::test]
async fn lookup_entity_by_each_key() {
    let env = env().await;
    let login = env.login("auth_up", "lou").await;
    let id = login.entity_id.clone();
    let name = s(&env.read(&format!("entity/id/{id}")).await.unwrap()["name"]);

    for body in [
        json!({"id": id}),
        json!({"name": name}),
        json!({"alias_id": login.alias_id}),
        json!({"alias_name": "LOU", "alias_mount_accessor": "auth_up"}),
    ] {
        let found = env.write("lookup/entity", body.clone()).await;
        assert_eq!(found["id"], id.as_str(), "{body}");
        assert_eq!(found["aliases"][0]["name"], "lou");
    }
    // No match: 204.
    for body in [
        json!({"id": "nope"}),
        json!({"name": "nope"}),
        json!({"alias_id": "nope"}),
        json!({"alias_name": "lou", "alias_mount_accessor": "other"}),
    ] {
        assert!(
            env.call(Operation::Update, "lookup/entity", body)
                .await
                .unwrap()
                .is_none()
        );
    }
    let e = env.write_err("lookup/entity", json!({})).await;
    assert_eq!(e.message, "query parameter not supplied");
    let e = env
        .write_err("lookup/entity", json!({"id": id, "name": name}))
        .await;
    assert_eq!(
        e.message,
        "query parameter conflict; please supply distinct set of query parameters"
    );
    let e = env
        .write_err("lookup/entity", json!({"alias_name": "lou"}))
        .await;
    assert_eq!(
        e.message,
        "both 'alias_name' and 'alias_mount_accessor' needs to be set"
    );
}

#[tokio::test]
async fn lookup_group_by_id_and_name() {
    let env = env().await;
    let id = s(&env
        .write("group", json!({"name": "Finance", "policies": "fin"}))
        .await["id"]);
    let found = env.write("lookup/group", json!({"name": "finance"})).await;
    assert_eq!(found["id"], id.as_str());
    assert_eq!(found["policies"], json!(["fin"]));
    let found = env.write("lookup/group", json!({"id": id})).await;
    assert_eq!(found["name"], "Finance");
    assert!(
        env.call(Operation::Update, "lookup/group", json!({"name": "none"}))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.call(
            Operation::Update,
            "lookup/group",
            json!({"alias_name": "a", "alias_mount_accessor": "b"})
        )
        .await
        .unwrap()
        .is_none()
    );
    let e = env.write_err("lookup/group", json!({})).await;
    assert_eq!(e.message, "query parameter not supplied");
}
