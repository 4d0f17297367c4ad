//! `identity/entity-alias*`: create, read, update, move, delete, list, uniqueness.

use arca_logical::{ErrorKind, Operation};
use serde_json::{Value, json};

use crate::support::{env, mounts, s};

#[tokio::test]
async fn alias_crud_and_list() {
    let env = env().await;
    let bob = s(&env.write("entity", json!({"name": "bob"})).await["id"]);
    let created = env
        .write(
            "entity-alias",
            json!({"name": "bob-up", "mount_accessor": "auth_userpass_1", "canonical_id": bob,
                   "custom_metadata": {"desk": "12"}}),
        )
        .await;
    assert_eq!(created["canonical_id"], bob);
    let alias_id = s(&created["id"]);

    let read = env
        .read(&format!("entity-alias/id/{alias_id}"))
        .await
        .unwrap();
    assert_eq!(
        Value::Object(read),
        json!({
            "id": alias_id,
            "canonical_id": bob,
            "mount_accessor": "auth_userpass_1",
            "metadata": null,
            "custom_metadata": {"desk": "12"},
            "name": "bob-up",
            "merged_from_canonical_ids": null,
            "namespace_id": "root",
            "local": false,
            "creation_time": "2023-11-14T22:13:20Z",
            "last_update_time": "2023-11-14T22:13:20Z",
        })
    );
    let entity = env.read(&format!("entity/id/{bob}")).await.unwrap();
    assert_eq!(entity["aliases"][0]["id"], alias_id);
    assert_eq!(
        entity["aliases"][0]["custom_metadata"],
        json!({"desk": "12"})
    );

    // Update by id: only custom metadata changes; the answer carries both ids.
    let upd = env
        .write(
            &format!("entity-alias/id/{alias_id}"),
            json!({"custom_metadata": {"desk": "13"}}),
        )
        .await;
    assert_eq!(upd["id"], alias_id);
    assert_eq!(upd["canonical_id"], bob);
    let read = env
        .read(&format!("entity-alias/id/{alias_id}"))
        .await
        .unwrap();
    assert_eq!(read["custom_metadata"], json!({"desk": "13"}));
    assert_eq!(read["name"], "bob-up");
    // Nothing to change: 204.
    let r = env
        .call(
            Operation::Update,
            &format!("entity-alias/id/{alias_id}"),
            json!({}),
        )
        .await
        .unwrap();
    assert!(r.is_none());

    let list = env.list("entity-alias/id/").await.unwrap();
    assert_eq!(list["keys"], json!([alias_id]));
    assert_eq!(list["key_info"][&alias_id]["canonical_id"], bob);
    assert_eq!(list["key_info"][&alias_id]["name"], "bob-up");

    env.delete(&format!("entity-alias/id/{alias_id}")).await;
    assert!(
        env.read(&format!("entity-alias/id/{alias_id}"))
            .await
            .is_none()
    );
    let entity = env
        .read(&format!("entity/id/{bob}"))
        .await
        .expect("the entity stays");
    assert_eq!(entity["aliases"], json!([]));
    assert!(env.list("entity-alias/id").await.is_none());
}

#[tokio::test]
async fn alias_without_canonical_id_creates_an_entity() {
    let env = env().await;
    let created = env
        .write(
            "entity-alias",
            json!({"name": "solo", "mount_accessor": "acc1"}),
        )
        .await;
    let entity_id = s(&created["canonical_id"]);
    let entity = env.read(&format!("entity/id/{entity_id}")).await.unwrap();
    assert!(s(&entity["name"]).starts_with("entity_"));
    assert_eq!(entity["aliases"][0]["name"], "solo");

    // The same factors again (any case) is an update of that alias, not a new one.
    let again = env
        .write(
            "entity-alias",
            json!({"name": "SOLO", "mount_accessor": "acc1", "custom_metadata": "k=v"}),
        )
        .await;
    assert_eq!(again["id"], created["id"]);
    assert_eq!(
        env.list("entity-alias/id").await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn alias_uniqueness_rules() {
    let env = env().await;
    let e1 = s(&env.write("entity", json!({"name": "e1"})).await["id"]);
    let e2 = s(&env.write("entity", json!({"name": "e2"})).await["id"]);
    let a1 = s(&env
        .write(
            "entity-alias",
            json!({"name": "n1", "mount_accessor": "acc", "canonical_id": e1}),
        )
        .await["id"]);
    // One alias per mount per entity.
    let e = env
        .write_err(
            "entity-alias",
            json!({"name": "n2", "mount_accessor": "acc", "canonical_id": e1}),
        )
        .await;
    assert_eq!(
        e.message,
        "Alias already exists for requested entity and mount accessor"
    );
    let a2 = s(&env
        .write(
            "entity-alias",
            json!({"name": "n2", "mount_accessor": "acc", "canonical_id": e2}),
        )
        .await["id"]);
    // (accessor, name) is unique.
    let e = env
        .write_err(&format!("entity-alias/id/{a2}"), json!({"name": "N1"}))
        .await;
    assert_eq!(
        e.message,
        "alias with combination of mount accessor and name already exists"
    );
    // Moving a2 onto e1 fails: e1 already has an alias on that mount.
    let e = env
        .write_err(
            &format!("entity-alias/id/{a2}"),
            json!({"canonical_id": e1}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::InvalidRequest);
    let e = env
        .write_err(
            &format!("entity-alias/id/{a2}"),
            json!({"canonical_id": "nope"}),
        )
        .await;
    assert_eq!(
        e.message,
        "given 'canonical_id' is not associated with an entity"
    );
    let e = env.write_err("entity-alias", json!({"name": "x"})).await;
    assert_eq!(
        e.message,
        "'id' or 'mount_accessor' and 'name' must be provided"
    );
    let e = env
        .write_err("entity-alias/id/unknown", json!({"name": "x"}))
        .await;
    assert_eq!(e.message, "invalid alias ID provided");
    let e = env
        .write_err(
            "entity-alias",
            json!({"name": "n3", "mount_accessor": "acc", "canonical_id": "nope"}),
        )
        .await;
    assert_eq!(e.message, "invalid canonical ID");

    // Moving to an entity without an alias on that mount works.
    env.delete(&format!("entity-alias/id/{a1}")).await;
    let moved = env
        .write(
            &format!("entity-alias/id/{a2}"),
            json!({"canonical_id": e1}),
        )
        .await;
    assert_eq!(moved["canonical_id"], e1);
    assert_eq!(
        env.read(&format!("entity/id/{e2}")).await.unwrap()["aliases"],
        json!([])
    );
    assert_eq!(
        env.read(&format!("entity/id/{e1}")).await.unwrap()["aliases"][0]["id"],
        a2
    );
    let found = env
        .write(
            "lookup/entity",
            json!({"alias_name": "n2", "alias_mount_accessor": "acc"}),
        )
        .await;
    assert_eq!(found["id"], e1);
}

#[tokio::test]
async fn mount_lookup_validates_accessors_and_shows_mounts() {
    let env = env().await;
    env.store
        .set_mount_lookup(mounts(&[("auth_userpass_9", "userpass", "auth/userpass/")]));
    let e = env
        .write_err(
            "entity-alias",
            json!({"name": "n", "mount_accessor": "auth_gone"}),
        )
        .await;
    assert_eq!(e.message, "invalid mount accessor");
    let created = env
        .write(
            "entity-alias",
            json!({"name": "n", "mount_accessor": "auth_userpass_9"}),
        )
        .await;
    let read = env
        .read(&format!("entity-alias/id/{}", s(&created["id"])))
        .await
        .unwrap();
    assert_eq!(read["mount_type"], "userpass");
    assert_eq!(read["mount_path"], "auth/userpass/");
    let entity = env
        .read(&format!("entity/id/{}", s(&created["canonical_id"])))
        .await
        .unwrap();
    assert_eq!(entity["aliases"][0]["mount_path"], "auth/userpass/");
}

#[tokio::test]
async fn deprecated_entity_id_field() {
    let env = env().await;
    let e = s(&env.write("entity", json!({"name": "old"})).await["id"]);
    let created = env
        .write(
            "entity-alias",
            json!({"name": "legacy", "mount_accessor": "acc", "entity_id": e}),
        )
        .await;
    assert_eq!(created["canonical_id"], e);
}
