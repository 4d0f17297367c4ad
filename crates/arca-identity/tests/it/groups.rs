//! `identity/group*` and what groups contribute: policies through nesting, cleanup.

use arca_logical::{ErrorKind, Operation};
use serde_json::{Value, json};

use crate::support::{env, s};

#[tokio::test]
async fn group_crud_and_list() {
    let env = env().await;
    let bob = s(&env.write("entity", json!({"name": "bob"})).await["id"]);
    let created = env
        .write(
            "group",
            json!({"name": "devs", "policies": "Dev,dev", "member_entity_ids": [bob], "metadata": {"org": "eng"}}),
        )
        .await;
    assert_eq!(created["name"], "devs");
    let id = s(&created["id"]);

    let read = env.read(&format!("group/id/{id}")).await.unwrap();
    assert_eq!(
        Value::Object(read),
        json!({
            "id": id,
            "name": "devs",
            "type": "internal",
            "policies": ["dev"],
            "member_entity_ids": [bob],
            "member_group_ids": null,
            "parent_group_ids": null,
            "metadata": {"org": "eng"},
            "alias": {},
            "namespace_id": "root",
            "modify_index": 1,
            "creation_time": "2023-11-14T22:13:20Z",
            "last_update_time": "2023-11-14T22:13:20Z",
        })
    );

    // Updates answer 204; by id, by name, and through POST group with id or name.
    for (path, body) in [
        (format!("group/id/{id}"), json!({"policies": ["a"]})),
        ("group/name/devs".to_owned(), json!({"policies": ["b"]})),
        ("group".to_owned(), json!({"id": id, "policies": ["c"]})),
        (
            "group".to_owned(),
            json!({"name": "DEVS", "policies": ["d"]}),
        ),
    ] {
        let r = env.call(Operation::Update, &path, body).await.unwrap();
        assert!(r.is_none(), "{path}");
    }
    let read = env.read("group/name/devs").await.unwrap();
    assert_eq!(read["policies"], json!(["d"]));
    assert_eq!(read["modify_index"], 5);
    assert_eq!(
        read["name"], "DEVS",
        "a write by name stores the name as sent"
    );

    // group/name/<new> creates.
    let ops = env.write("group/name/ops", json!({})).await;
    assert_eq!(ops["name"], "ops");
    let by_name = env.list("group/name/").await.unwrap();
    assert_eq!(by_name["keys"], json!(["DEVS", "ops"]));
    let by_id = env.list("group/id").await.unwrap();
    assert_eq!(
        by_id["key_info"][&id],
        json!({"name": "DEVS", "num_member_entities": 1, "num_parent_groups": 0})
    );

    env.delete("group/name/ops").await;
    env.delete(&format!("group/id/{id}")).await;
    assert!(env.list("group/id").await.is_none());
    assert_eq!(
        env.read(&format!("entity/id/{bob}")).await.unwrap()["group_ids"],
        json!([])
    );
}

#[tokio::test]
async fn group_write_errors() {
    let env = env().await;
    env.write("group", json!({"name": "taken"})).await;
    let other = s(&env.write("group", json!({"name": "other"})).await["id"]);
    let e = env
        .write_err(&format!("group/id/{other}"), json!({"name": "TAKEN"}))
        .await;
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::InvalidRequest, "group name is already in use")
    );
    let e = env.write_err("group/id/missing", json!({})).await;
    assert_eq!(e.message, "invalid group ID");
    let e = env.write_err("group", json!({"id": ""})).await;
    assert_eq!(e.message, "empty group ID");
    let e = env
        .write_err("group", json!({"name": "r", "policies": "root"}))
        .await;
    assert_eq!(e.message, "policies cannot contain root");
    let e = env
        .write_err("group", json!({"name": "t", "type": "weird"}))
        .await;
    assert_eq!(e.message, "invalid group type");
    let e = env
        .write_err(&format!("group/id/{other}"), json!({"type": "external"}))
        .await;
    assert_eq!(e.message, "group type cannot be changed");
    let e = env
        .write_err(
            "group",
            json!({"name": "m", "member_entity_ids": ["ghost"]}),
        )
        .await;
    assert_eq!(e.message, "invalid entity ID in member_entity_ids");
    let e = env
        .write_err("group", json!({"name": "m", "member_group_ids": ["ghost"]}))
        .await;
    assert_eq!(e.message, "invalid member group ID");
    // External groups are accepted, but their members are not set by hand.
    let ext = env
        .write(
            "group",
            json!({"name": "ext", "type": "external", "policies": "x"}),
        )
        .await;
    assert_eq!(
        env.read(&format!("group/id/{}", s(&ext["id"])))
            .await
            .unwrap()["type"],
        "external"
    );
    let e = env
        .write_err("group/name/ext", json!({"member_entity_ids": []}))
        .await;
    assert_eq!(
        e.message,
        "member entities can't be set manually for external groups"
    );
    let e = env
        .write_err("group/name/ext", json!({"member_group_ids": []}))
        .await;
    assert_eq!(e.message, "member groups can't be set for external groups");
    let r = env
        .call(Operation::Update, "group", json!({"name": "w", "nope": 1}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [nope]"]
    );
}

#[tokio::test]
async fn nested_groups_and_cycles() {
    let env = env().await;
    let child = s(&env.write("group", json!({"name": "child"})).await["id"]);
    let mid = s(&env
        .write("group", json!({"name": "mid", "member_group_ids": child}))
        .await["id"]);
    let top = s(&env
        .write("group", json!({"name": "top", "member_group_ids": [mid]}))
        .await["id"]);

    let read_child = env.read(&format!("group/id/{child}")).await.unwrap();
    assert_eq!(read_child["parent_group_ids"], json!([mid]));
    let read_mid = env.read(&format!("group/id/{mid}")).await.unwrap();
    assert_eq!(read_mid["member_group_ids"], json!([child]));
    assert_eq!(read_mid["parent_group_ids"], json!([top]));

    // top -> mid -> child; making child a parent of top would close a loop.
    let e = env
        .write_err(
            &format!("group/id/{child}"),
            json!({"member_group_ids": [top]}),
        )
        .await;
    assert_eq!(
        e.message,
        "cyclic relationship detected for member group ID"
    );
    let e = env
        .write_err(
            &format!("group/id/{mid}"),
            json!({"member_group_ids": [mid]}),
        )
        .await;
    assert_eq!(e.message, "member group ID is same as the ID of the group");

    // An empty list removes members; absent leaves them.
    env.write(&format!("group/id/{mid}"), json!({"policies": "p"}))
        .await;
    assert_eq!(
        env.read(&format!("group/id/{mid}")).await.unwrap()["member_group_ids"],
        json!([child])
    );
    env.write(&format!("group/id/{mid}"), json!({"member_group_ids": []}))
        .await;
    assert_eq!(
        env.read(&format!("group/id/{mid}")).await.unwrap()["member_group_ids"],
        Value::Null
    );
    assert_eq!(
        env.read(&format!("group/id/{child}")).await.unwrap()["parent_group_ids"],
        Value::Null
    );
    // Now the former loop is allowed.
    env.write(
        &format!("group/id/{child}"),
        json!({"member_group_ids": [top]}),
    )
    .await;

    // Deleting a group releases its members' parent links.
    env.delete(&format!("group/id/{child}")).await;
    assert_eq!(
        env.read(&format!("group/id/{top}")).await.unwrap()["parent_group_ids"],
        Value::Null
    );
}

#[tokio::test]
async fn identity_policies_from_entity_groups_and_nested_groups() {
    let env = env().await;
    let e = s(&env
        .write(
            "entity",
            json!({"name": "e", "policies": ["own", "shared"]}),
        )
        .await["id"]);
    let inner = s(&env
        .write(
            "group",
            json!({"name": "inner", "policies": ["inner", "shared"], "member_entity_ids": [e]}),
        )
        .await["id"]);
    let outer = s(&env
        .write(
            "group",
            json!({"name": "outer", "policies": ["outer", "inner"], "member_group_ids": [inner]}),
        )
        .await["id"]);
    let top = s(&env
        .write(
            "group",
            json!({"name": "top", "policies": "top", "member_group_ids": [outer]}),
        )
        .await["id"]);
    // A second path to `top`: the walk must not count it twice.
    env.write(
        &format!("group/id/{top}"),
        json!({"member_group_ids": [outer, inner]}),
    )
    .await;
    env.write("group", json!({"name": "unrelated", "policies": "nope"}))
        .await;

    let policies = env.store.identity_policies(&e).await.unwrap();
    assert_eq!(policies, vec!["inner", "outer", "own", "shared", "top"]);
    assert!(env.store.identity_policies("").await.unwrap().is_empty());
    assert!(
        env.store
            .identity_policies("unknown")
            .await
            .unwrap()
            .is_empty()
    );

    let read = env.read(&format!("entity/id/{e}")).await.unwrap();
    assert_eq!(read["direct_group_ids"], json!([inner]));
    let mut inherited = vec![outer.clone(), top.clone()];
    inherited.sort();
    assert_eq!(read["inherited_group_ids"], json!(inherited));
    assert_eq!(read["group_ids"].as_array().unwrap().len(), 3);

    // Login picks them up too.
    env.write(
        "entity-alias",
        json!({"name": "e-login", "mount_accessor": "acc", "canonical_id": e}),
    )
    .await;
    let login = env.login("acc", "e-login").await;
    assert_eq!(login.entity_id, e);
    assert_eq!(login.identity_policies, policies);
}

#[tokio::test]
async fn deleting_an_entity_removes_aliases_and_memberships() {
    let env = env().await;
    let login = env.login("acc", "gone").await;
    let e = login.entity_id.clone();
    let g = s(&env
        .write(
            "group",
            json!({"name": "g", "member_entity_ids": [e], "policies": "gp"}),
        )
        .await["id"]);
    assert_eq!(env.store.identity_policies(&e).await.unwrap(), vec!["gp"]);

    assert!(env.store.entity_exists(&e).await);
    env.delete(&format!("entity/id/{e}")).await;
    assert!(!env.store.entity_exists(&e).await);
    assert!(!env.store.entity_exists("").await);
    assert!(
        env.read(&format!("entity-alias/id/{}", login.alias_id))
            .await
            .is_none()
    );
    assert!(env.list("entity-alias/id").await.is_none());
    assert_eq!(
        env.read(&format!("group/id/{g}")).await.unwrap()["member_entity_ids"],
        Value::Null
    );
    assert!(env.store.identity_policies(&e).await.unwrap().is_empty());

    // The same login now creates a fresh entity.
    let again = env.login("acc", "gone").await;
    assert_ne!(again.entity_id, e);
    assert!(again.identity_policies.is_empty());

    // And the cleanup was persisted.
    let reopened = env.reopen().await;
    assert_eq!(
        reopened.read(&format!("group/id/{g}")).await.unwrap()["member_entity_ids"],
        Value::Null
    );
}
