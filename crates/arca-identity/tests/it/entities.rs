//! `identity/entity*`: create, read, update, delete, list, names, warnings.

use std::time::Duration;

use arca_logical::{ErrorKind, Operation};
use serde_json::{Value, json};

use crate::support::{env, s};

#[tokio::test]
async fn entity_create_read_update_delete() {
    let env = env().await;
    let created = env
        .write(
            "entity",
            json!({"name": "bob", "policies": "App, base,app", "metadata": {"team": "ops"}}),
        )
        .await;
    assert_eq!(created["name"], "bob");
    assert_eq!(created["aliases"], Value::Null);
    let id = s(&created["id"]);
    assert_eq!(id.len(), 36, "a UUID");

    let read = env.read(&format!("entity/id/{id}")).await.unwrap();
    assert_eq!(
        Value::Object(read),
        json!({
            "id": id,
            "name": "bob",
            "aliases": [],
            "policies": ["app", "base"],
            "metadata": {"team": "ops"},
            "disabled": false,
            "namespace_id": "root",
            "merged_entity_ids": null,
            "creation_time": "2023-11-14T22:13:20Z",
            "last_update_time": "2023-11-14T22:13:20Z",
            "direct_group_ids": [],
            "inherited_group_ids": [],
            "group_ids": [],
        })
    );

    // Update by id answers 204 and keeps what was not sent.
    env.clock.advance(Duration::from_millis(1500));
    let r = env
        .call(
            Operation::Update,
            &format!("entity/id/{id}"),
            json!({"disabled": true}),
        )
        .await
        .unwrap();
    assert!(r.is_none());
    let read = env
        .read("entity/name/BOB")
        .await
        .expect("names match case-insensitively");
    assert_eq!(read["disabled"], true);
    assert_eq!(read["policies"], json!(["app", "base"]));
    assert_eq!(read["last_update_time"], "2023-11-14T22:13:21.5Z");
    assert_eq!(read["creation_time"], "2023-11-14T22:13:20Z");

    // POST identity/entity with an existing name is an update of that entity (204).
    let r = env
        .call(
            Operation::Update,
            "entity",
            json!({"name": "bob", "metadata": "a=1,b=2"}),
        )
        .await
        .unwrap();
    assert!(r.is_none());
    let read = env.read(&format!("entity/id/{id}")).await.unwrap();
    assert_eq!(read["metadata"], json!({"a": "1", "b": "2"}));

    env.delete(&format!("entity/id/{id}")).await;
    assert!(env.read(&format!("entity/id/{id}")).await.is_none());
    assert!(env.read("entity/name/bob").await.is_none());
    // Deleting again is still 204.
    env.delete(&format!("entity/id/{id}")).await;
}

#[tokio::test]
async fn entity_by_name_path_upserts_and_deletes() {
    let env = env().await;
    let created = env
        .write("entity/name/carol", json!({"policies": ["p1"]}))
        .await;
    assert_eq!(created["name"], "carol");
    let id = s(&created["id"]);
    let r = env
        .call(
            Operation::Update,
            "entity/name/carol",
            json!({"policies": ["p2"]}),
        )
        .await
        .unwrap();
    assert!(r.is_none(), "an update answers 204");
    assert_eq!(
        env.read(&format!("entity/id/{id}")).await.unwrap()["policies"],
        json!(["p2"])
    );
    env.delete("entity/name/carol").await;
    assert!(env.read(&format!("entity/id/{id}")).await.is_none());
}

#[tokio::test]
async fn entity_names_are_unique() {
    let env = env().await;
    let a = s(&env.write("entity", json!({"name": "alpha"})).await["id"]);
    let b = s(&env.write("entity", json!({"name": "beta"})).await["id"]);
    let e = env
        .write_err(&format!("entity/id/{b}"), json!({"name": "ALPHA"}))
        .await;
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert_eq!(e.message, "entity name is already in use");
    // Renaming to a free name works; the old name is released.
    env.write(&format!("entity/id/{a}"), json!({"name": "gamma"}))
        .await;
    assert!(env.read("entity/name/alpha").await.is_none());
    env.write(&format!("entity/id/{b}"), json!({"name": "alpha"}))
        .await;
    assert_eq!(env.read("entity/name/alpha").await.unwrap()["id"], b);
}

#[tokio::test]
async fn entity_write_errors() {
    let env = env().await;
    let e = env
        .write_err("entity/id/no-such-id", json!({"policies": "x"}))
        .await;
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::InvalidRequest, "entity not found from id")
    );
    let e = env
        .write_err("entity", json!({"name": "r", "policies": ["root"]}))
        .await;
    assert_eq!(e.message, "policies cannot contain root");
    let e = env
        .write_err("entity", json!({"name": "m", "metadata": {"bad key": "v"}}))
        .await;
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert!(!e.message.contains("bad key"), "no user input in errors");
    let e = env
        .write_err("entity", json!({"name": "d", "disabled": "maybe"}))
        .await;
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    assert!(
        env.list("entity/id/").await.is_none(),
        "nothing was created"
    );
    let e = env
        .call(Operation::Patch, "entity", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedOperation);
    let e = env
        .call(Operation::Read, "nope", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn generated_entity_names() {
    let env = env().await;
    let created = env.write("entity", json!({"policies": "p"})).await;
    let name = s(&created["name"]);
    let hex = name
        .strip_prefix("entity_")
        .and_then(|r| r.strip_suffix(".root"))
        .unwrap();
    assert!(
        hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );
}

#[tokio::test]
async fn unknown_fields_warn() {
    let env = env().await;
    let r = env
        .call(
            Operation::Update,
            "entity",
            json!({"name": "w", "colour": "blue", "size": 1}),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [colour size]"]
    );
    assert_eq!(r.data.unwrap()["name"], "w");
    // A 204 update with an unknown field becomes a response carrying only the warning.
    let r = env
        .call(Operation::Update, "entity/name/w", json!({"bogus": true}))
        .await
        .unwrap()
        .unwrap();
    assert!(r.data.is_none());
    assert_eq!(r.warnings.len(), 1);
}

#[tokio::test]
async fn entity_lists() {
    let env = env().await;
    assert!(
        env.list("entity/id").await.is_none(),
        "an empty list is a 404"
    );
    let a = s(&env.write("entity", json!({"name": "zed"})).await["id"]);
    let b = s(&env.write("entity", json!({"name": "amy"})).await["id"]);
    env.write(
        "entity-alias",
        json!({"name": "amy-login", "mount_accessor": "auth_userpass_1", "canonical_id": b}),
    )
    .await;

    let by_id = env.list("entity/id/").await.unwrap();
    let mut ids = vec![a.clone(), b.clone()];
    ids.sort();
    assert_eq!(by_id["keys"], json!(ids));
    assert_eq!(by_id["key_info"][&a], json!({"name": "zed"}));
    let amy = &by_id["key_info"][&b];
    assert_eq!(amy["name"], "amy");
    assert_eq!(amy["aliases"][0]["name"], "amy-login");
    assert_eq!(amy["aliases"][0]["mount_accessor"], "auth_userpass_1");

    let by_name = env.list("entity/name").await.unwrap();
    assert_eq!(by_name["keys"], json!(["amy", "zed"]));
}

#[tokio::test]
async fn entities_survive_reopen() {
    let env = env().await;
    let id = s(&env
        .write("entity", json!({"name": "persist", "policies": "p"}))
        .await["id"]);
    let again = env.reopen().await;
    let read = again.read("entity/name/persist").await.unwrap();
    assert_eq!(read["id"], id);
    assert_eq!(read["policies"], json!(["p"]));
    assert_eq!(again.store.identity_policies(&id).await.unwrap(), vec!["p"]);
}
