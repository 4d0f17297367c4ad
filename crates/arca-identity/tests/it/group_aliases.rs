//! `identity/group-alias` and the external-group membership a login's group names bring.

use arca_identity::LoginIdentity;
use serde_json::{Value, json};

use crate::support::{Env, alias, env, s};

async fn login_at(env: &Env, accessor: &str, name: &str, groups: &[&str]) -> LoginIdentity {
    let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
    env.store
        .login_with_groups(accessor, "jwt", "auth/jwt/", &alias(name, &[]), &groups)
        .await
        .unwrap()
}

async fn members(env: &Env, id: &str) -> Value {
    env.read(&format!("group/id/{id}")).await.unwrap()["member_entity_ids"].clone()
}

#[tokio::test]
async fn group_alias_crud_and_rules() {
    let env = env().await;
    let ext = s(&env
        .write("group", json!({"name": "ext", "type": "external"}))
        .await["id"]);
    let int = s(&env.write("group", json!({"name": "int"})).await["id"]);

    for (body, want) in [
        (json!({"mount_accessor": "acc"}), "missing alias name"),
        (json!({"name": "a"}), "missing mount_accessor"),
        (
            json!({"name": "a", "mount_accessor": "acc", "canonical_id": int}),
            "alias can't be set on an internal group",
        ),
        (
            json!({"name": "a", "mount_accessor": "acc", "canonical_id": "nope"}),
            "invalid group ID given in 'canonical_id'",
        ),
        (
            json!({"id": "nope", "name": "a", "mount_accessor": "acc"}),
            "invalid group alias ID",
        ),
    ] {
        assert_eq!(env.write_err("group-alias", body).await.message, want);
    }

    let created = env
        .write(
            "group-alias",
            json!({"name": "Team-A", "mount_accessor": "acc", "canonical_id": ext}),
        )
        .await;
    assert_eq!(created["canonical_id"], json!(ext));
    let id = s(&created["id"]);
    let read = env.read(&format!("group-alias/id/{id}")).await.unwrap();
    assert_eq!(read["name"], "Team-A");
    assert_eq!(read["mount_accessor"], "acc");
    let group = env.read(&format!("group/id/{ext}")).await.unwrap();
    assert_eq!(group["alias"]["id"], json!(id));
    // Names are matched case-insensitively per mount.
    assert_eq!(
        env.write_err(
            "group-alias",
            json!({"name": "team-a", "mount_accessor": "acc"})
        )
        .await
        .message,
        "combination of mount and group alias name is already in use"
    );
    // Writing it again unchanged answers nothing.
    assert!(
        env.call(
            arca_logical::Operation::Update,
            &format!("group-alias/id/{id}"),
            json!({"name": "Team-A", "mount_accessor": "acc"}),
        )
        .await
        .unwrap()
        .is_none()
    );
    // Without canonical_id a new alias gets a new external group.
    let other = env
        .write("group-alias", json!({"name": "b", "mount_accessor": "acc"}))
        .await;
    let other_group = env
        .read(&format!("group/id/{}", s(&other["canonical_id"])))
        .await
        .unwrap();
    assert_eq!(other_group["type"], "external");
    let list = env.list("group-alias/id").await.unwrap();
    assert_eq!(list["keys"].as_array().unwrap().len(), 2);

    // Renaming keeps the alias id; deleting leaves the group without an alias.
    env.write(
        &format!("group-alias/id/{id}"),
        json!({"name": "team-z", "mount_accessor": "acc"}),
    )
    .await;
    let reopened = env.reopen().await;
    assert_eq!(
        reopened
            .read(&format!("group-alias/id/{id}"))
            .await
            .unwrap()["name"],
        "team-z"
    );
    reopened.delete(&format!("group-alias/id/{id}")).await;
    assert!(
        reopened
            .read(&format!("group-alias/id/{id}"))
            .await
            .is_none()
    );
    assert_eq!(
        reopened.read(&format!("group/id/{ext}")).await.unwrap()["alias"],
        json!({})
    );
}

#[tokio::test]
async fn logins_join_and_leave_external_groups_by_alias() {
    let env = env().await;
    let ops = s(&env
        .write(
            "group",
            json!({"name": "ops", "type": "external", "policies": "ops-read"}),
        )
        .await["id"]);
    let other_mount = s(&env
        .write(
            "group",
            json!({"name": "elsewhere", "type": "external", "policies": "far"}),
        )
        .await["id"]);
    env.write(
        "group-alias",
        json!({"name": "ops-team", "mount_accessor": "jwt-acc", "canonical_id": ops}),
    )
    .await;
    env.write(
        "group-alias",
        json!({"name": "ops-team", "mount_accessor": "other-acc", "canonical_id": other_mount}),
    )
    .await;

    let first = login_at(&env, "jwt-acc", "alice", &["ops-team", "unknown"]).await;
    assert_eq!(first.identity_policies, vec!["ops-read"]);
    assert_eq!(members(&env, &ops).await, json!([first.entity_id]));
    assert_eq!(members(&env, &other_mount).await, Value::Null);

    // Persisted: a restart keeps the membership and the alias index.
    let env = env.reopen().await;
    assert_eq!(
        env.store.identity_policies(&first.entity_id).await.unwrap(),
        vec!["ops-read"]
    );
    let again = login_at(&env, "jwt-acc", "alice", &["ops-team"]).await;
    assert_eq!(again.entity_id, first.entity_id);
    assert_eq!(again.identity_policies, vec!["ops-read"]);

    // The same entity through another mount joins that mount's group and leaves this
    // mount's groups alone, whatever it names.
    env.write(
        "entity-alias",
        json!({"name": "alice-o", "mount_accessor": "other-acc", "canonical_id": first.entity_id}),
    )
    .await;
    let via_other = login_at(&env, "other-acc", "alice-o", &["ops-team"]).await;
    assert_eq!(via_other.entity_id, first.entity_id);
    assert_eq!(via_other.identity_policies, vec!["far", "ops-read"]);
    login_at(&env, "other-acc", "alice-o", &[]).await;
    assert_eq!(members(&env, &ops).await, json!([first.entity_id]));
    assert_eq!(members(&env, &other_mount).await, Value::Null);

    // Without the name the entity leaves the group, and its policies go with it.
    let left = login_at(&env, "jwt-acc", "alice", &[]).await;
    assert!(left.identity_policies.is_empty());
    assert_eq!(members(&env, &ops).await, Value::Null);
}
