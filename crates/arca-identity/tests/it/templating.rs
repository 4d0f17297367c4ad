//! `IdentityStore::template_values`: what `{{identity.…}}` ACL templates substitute.

use std::collections::BTreeMap;

use serde_json::json;

use crate::support::{alias, env, s};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn template_values_cover_entity_aliases_and_groups() {
    let env = env().await;
    let login = env
        .store
        .login(
            "auth_up",
            "userpass",
            "auth/userpass/",
            &alias("tess", &[("role", "dev")]),
        )
        .await
        .unwrap();
    let e = login.entity_id.clone();
    env.write(
        &format!("entity/id/{e}"),
        json!({"name": "tess", "metadata": {"team": "blue"}}),
    )
    .await;
    env.write(
        &format!("entity-alias/id/{}", login.alias_id),
        json!({"custom_metadata": {"desk": "7"}}),
    )
    .await;
    let inner = s(&env
        .write(
            "group",
            json!({"name": "inner", "member_entity_ids": [e], "metadata": {"cost": "42"}}),
        )
        .await["id"]);
    let outer = s(&env
        .write(
            "group",
            json!({"name": "outer", "member_group_ids": [inner]}),
        )
        .await["id"]);

    let tv = env.store.template_values(&e).await.unwrap().unwrap();
    assert_eq!(tv.entity_id, e);
    assert_eq!(tv.entity_name, "tess");
    assert_eq!(tv.entity_metadata, map(&[("team", "blue")]));
    let a = &tv.aliases["auth_up"];
    assert_eq!(a.id, login.alias_id);
    assert_eq!(a.name, "tess");
    assert_eq!(a.metadata, map(&[("role", "dev")]));
    assert_eq!(a.custom_metadata, map(&[("desk", "7")]));

    let mut expected: Vec<(String, String)> = vec![
        (inner.clone(), "inner".to_owned()),
        (outer.clone(), "outer".to_owned()),
    ];
    expected.sort();
    assert_eq!(
        tv.group_ids,
        expected.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        tv.group_names,
        expected.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>()
    );
    let inner_values = tv.groups.iter().find(|g| g.id == inner).unwrap();
    assert_eq!(inner_values.metadata, map(&[("cost", "42")]));

    assert!(
        env.store
            .template_values("unknown")
            .await
            .unwrap()
            .is_none()
    );
    assert!(env.store.template_values("").await.unwrap().is_none());
    // Debug output shows identifiers only, never names or metadata.
    let dbg = format!("{tv:?}");
    assert!(!dbg.contains("blue") && !dbg.contains("tess"));
}
