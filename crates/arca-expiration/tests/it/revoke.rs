use arca_expiration::ExpirationError;
use arca_storage::Storage;

use crate::support::*;

#[tokio::test]
async fn revoke_calls_backend_then_removes() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "t", 600).await;
    env.m.revoke(&id).await.unwrap();
    assert_eq!(env.revoker.revoked(), vec![id.clone()]);
    assert!(env.m.lookup(&id).await.unwrap().is_none());
    assert_eq!(env.m.scheduled_count(), 0);
    // The token index went with it.
    assert!(
        env.physical
            .list("sys/expire/token/")
            .await
            .unwrap()
            .is_empty()
    );
    // Unknown: not an error, nothing called.
    env.m.revoke(&id).await.unwrap();
    assert_eq!(env.revoker.revoked().len(), 1);

    // A backend failure is returned and the lease kept.
    let id = env.secret("db/", "creds/a", "t", 600).await;
    env.revoker.set_fail_all(true);
    assert!(matches!(
        env.m.revoke(&id).await,
        Err(ExpirationError::Backend(_))
    ));
    assert!(env.m.lookup(&id).await.unwrap().is_some());
}

#[tokio::test]
async fn revoke_prefix_and_force() {
    let env = Env::new().await;
    let a1 = env.secret("db/", "creds/a", "t", 600).await;
    let a2 = env.secret("db/", "creds/a", "t", 600).await;
    let b1 = env.secret("db/", "creds/b", "t", 600).await;
    let other = env.secret("dbx/", "creds/a", "t", 600).await;

    // "db/creds/a" is not a lease: treated as "db/creds/a/".
    env.m.revoke_prefix("db/creds/a", false).await.unwrap();
    let mut got = env.revoker.revoked();
    got.sort();
    let mut want = vec![a1.clone(), a2.clone()];
    want.sort();
    assert_eq!(got, want);
    assert!(env.m.lookup(&b1).await.unwrap().is_some());

    // An exact lease id revokes that lease alone.
    env.m.revoke_prefix(&b1, false).await.unwrap();
    assert!(env.m.lookup(&b1).await.unwrap().is_none());

    // "db" must not reach "dbx/".
    let c1 = env.secret("db/", "creds/c", "t", 600).await;
    env.revoker.set_fail_all(true);
    assert!(env.m.revoke_prefix("db/", false).await.is_err());
    assert!(env.m.lookup(&c1).await.unwrap().is_some());
    env.m.revoke_prefix("db", true).await.unwrap();
    assert!(env.m.lookup(&c1).await.unwrap().is_none());
    assert!(env.m.lookup(&other).await.unwrap().is_some());
}

#[tokio::test]
async fn revoke_by_token_revokes_its_leases_only() {
    let env = Env::new().await;
    let mine: Vec<String> = futures_ids(&env, "tokA", 5).await;
    let theirs = env.secret("db/", "creds/a", "tokB", 600).await;
    let own = env
        .m
        .register_token(
            "auth/token/create",
            "tokA",
            secs(600),
            true,
            bounds(600, 600),
        )
        .await
        .unwrap();

    env.m.revoke_by_token("tokA").await.unwrap();
    let mut got = env.revoker.revoked();
    got.sort();
    let mut want = mine.clone();
    want.sort();
    // The token's own lease is removed without calling the revoker (the token store is
    // the caller).
    assert_eq!(got, want);
    assert!(env.m.lookup(&own).await.unwrap().is_none());
    for id in &mine {
        assert!(env.m.lookup(id).await.unwrap().is_none());
    }
    assert!(env.m.lookup(&theirs).await.unwrap().is_some());
    assert_eq!(env.m.scheduled_count(), 1);
}

async fn futures_ids(env: &Env, token: &str, n: usize) -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..n {
        v.push(env.secret("db/", &format!("creds/r{i}"), token, 600).await);
    }
    v
}

#[tokio::test]
async fn revoking_a_parent_token_revokes_children_and_their_leases() {
    let env = Env::new().await;
    // parent → child → grandchild, each with a token lease and a secret.
    env.revoker
        .children
        .lock()
        .unwrap()
        .insert("parent".into(), vec!["child".into()]);
    env.revoker
        .children
        .lock()
        .unwrap()
        .insert("child".into(), vec!["grandchild".into()]);
    let mut tokens = Vec::new();
    let mut secrets = Vec::new();
    for t in ["parent", "child", "grandchild", "stranger"] {
        tokens.push(
            env.m
                .register_token("auth/token/create", t, secs(600), true, bounds(600, 600))
                .await
                .unwrap(),
        );
        secrets.push(env.secret("db/", "creds/a", t, 600).await);
    }

    // Revoking the parent's token lease goes through the (fake) token store.
    env.m.revoke(&tokens[0]).await.unwrap();
    for i in 0..3 {
        assert!(
            env.m.lookup(&tokens[i]).await.unwrap().is_none(),
            "token {i}"
        );
        assert!(
            env.m.lookup(&secrets[i]).await.unwrap().is_none(),
            "secret {i}"
        );
        assert_eq!(env.revoker.revoked_count(&secrets[i]), 1);
    }
    assert!(env.m.lookup(&tokens[3]).await.unwrap().is_some());
    assert!(env.m.lookup(&secrets[3]).await.unwrap().is_some());
}

#[tokio::test]
async fn failed_revocation_by_token_is_retried_by_the_worker() {
    let env = Env::new().await;
    let id = env.secret("db/", "creds/a", "tokA", 600).await;
    env.revoker.fail.lock().unwrap().insert(id.clone());
    env.m.revoke_by_token("tokA").await.unwrap();
    let le = env.m.lookup(&id).await.unwrap().unwrap();
    assert_eq!(le.revoke_failures, 1);
    // Marked expired so it cannot be renewed and the retry is not held back.
    assert_eq!(le.expire_time, t0());
    assert!(env.m.renew(&id, secs(60)).await.is_err());

    env.revoker.fail.lock().unwrap().clear();
    env.advance(secs(2));
    env.m.tick().await;
    assert_eq!(env.revoker.revoked(), vec![id.clone()]);
    assert!(env.m.lookup(&id).await.unwrap().is_none());
}

#[tokio::test]
async fn tidy_repairs_the_token_index_and_revokes_orphans() {
    let env = Env::new().await;
    let kept = env.secret("db/", "creds/a", "alive", 600).await;
    let orphan = env.secret("db/", "creds/a", "gone", 600).await;
    // A dangling index entry (its lease is gone) and a missing one.
    env.physical
        .put("sys/expire/token/abc/def", b"db/creds/a/missing")
        .await
        .unwrap();
    let index_dirs = env.physical.list("sys/expire/token/").await.unwrap();
    assert_eq!(index_dirs.len(), 3);
    for d in &index_dirs {
        if d != "abc/" {
            let dir = format!("sys/expire/token/{d}");
            for k in env.physical.list(&dir).await.unwrap() {
                env.physical.delete(&format!("{dir}{k}")).await.unwrap();
            }
        }
    }
    env.revoker
        .dead_tokens
        .lock()
        .unwrap()
        .insert("gone".into());

    env.m.tidy().await.unwrap();
    assert!(env.m.lookup(&orphan).await.unwrap().is_none());
    assert_eq!(env.revoker.revoked(), vec![orphan]);
    assert!(env.m.lookup(&kept).await.unwrap().is_some());
    // Only the live lease's index entry remains, recreated.
    let dirs = env.physical.list("sys/expire/token/").await.unwrap();
    assert_eq!(dirs.len(), 1);
    assert_ne!(dirs[0], "abc/");
    // And revoke_by_token finds the lease through it again.
    env.m.revoke_by_token("alive").await.unwrap();
    assert!(env.m.lookup(&kept).await.unwrap().is_none());
}
