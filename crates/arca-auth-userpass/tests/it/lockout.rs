//! Lockout after repeated failures, its configuration, listing and unlocking, and the
//! timing of failed logins.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Env, assert_invalid, keys};

const BAD: &str = "invalid username or password";

#[tokio::test]
async fn threshold_then_duration() {
    let env = Env::new().await;
    env.create_user("alice", "right", json!({})).await;
    for _ in 0..4 {
        assert_invalid(env.login("alice", "wrong").await, BAD);
    }
    // Four failures: not locked yet, the right password works and clears them.
    env.login("alice", "right").await.unwrap();
    for _ in 0..5 {
        assert_invalid(env.login("alice", "wrong").await, BAD);
    }
    // Five: locked, even with the right password, with the ordinary answer.
    assert_invalid(env.login("alice", "right").await, BAD);
    env.clock.advance(Duration::from_secs(14 * 60 + 59));
    assert_invalid(env.login("alice", "right").await, BAD);
    // Attempts while locked do not extend the lock: 15 minutes after the last failure.
    env.clock.advance(Duration::from_secs(1));
    env.login("alice", "right").await.unwrap();
}

#[tokio::test]
async fn counter_reset_window() {
    let env = Env::new().await;
    env.create_user("alice", "right", json!({})).await;
    for _ in 0..4 {
        let _ = env.login("alice", "wrong").await;
    }
    // The next failure comes after the reset window: the count starts again.
    env.clock.advance(Duration::from_secs(15 * 60 + 1));
    for _ in 0..4 {
        let _ = env.login("alice", "wrong").await;
    }
    env.login("alice", "right").await.unwrap();
}

#[tokio::test]
async fn case_and_whitespace_variants_share_one_counter() {
    let env = Env::new().await;
    env.create_user("alice", "right", json!({})).await;
    for name in ["alice", "ALICE", " Alice", "aLiCe ", "ALICE"] {
        assert_invalid(env.login(name, "wrong").await, BAD);
    }
    assert_invalid(env.login("alice", "right").await, BAD);
    let listed = env.list("locked-users").await.unwrap().unwrap();
    assert_eq!(keys(&listed), ["alice"]);
}

#[tokio::test]
async fn unknown_users_are_not_recorded() {
    let env = Env::new().await;
    for i in 0..10 {
        assert_invalid(env.login(&format!("ghost{i}"), "x").await, BAD);
    }
    assert!(
        env.all_values().await.is_empty(),
        "nothing stored for unknown users"
    );
    assert_eq!(env.list("locked-users").await.unwrap(), None);
}

#[tokio::test]
async fn locked_users_listing_and_unlock() {
    let env = Env::new().await;
    env.create_user("alice", "right", json!({})).await;
    env.create_user("bob", "right", json!({})).await;
    for _ in 0..5 {
        let _ = env.login("alice", "wrong").await;
    }
    let _ = env.login("bob", "wrong").await;
    let resp = env.read("locked-users").await.unwrap().unwrap();
    assert_eq!(keys(&resp), ["alice"]);
    let info = &resp.data.unwrap()["key_info"]["alice"];
    assert_eq!(info["failed_login_attempts"], json!(5));
    assert_eq!(
        info["last_failed_login_time"],
        json!("2026-11-27T23:15:39Z")
    );
    assert_eq!(info["lockout_expires"], json!("2026-11-27T23:30:39Z"));

    assert_eq!(
        env.write("locked-users/ALICE/unlock", json!({}))
            .await
            .unwrap(),
        None
    );
    assert_eq!(env.list("locked-users").await.unwrap(), None);
    env.login("alice", "right").await.unwrap();
    // Unlocking someone not locked is fine.
    assert_eq!(
        env.write("locked-users/carol/unlock", json!({}))
            .await
            .unwrap(),
        None
    );

    // Deleting a user forgets its failures too.
    for _ in 0..5 {
        let _ = env.login("bob", "wrong").await;
    }
    env.delete("users/bob").await.unwrap();
    env.create_user("bob", "right", json!({})).await;
    env.login("bob", "right").await.unwrap();
}

#[tokio::test]
async fn configuration_endpoint_and_mount_options() {
    let env = Env::with_options(&[("lockout_threshold", "2"), ("lockout_duration", "1m")]).await;
    let cfg = env.data("config/lockout").await;
    assert_eq!(
        serde_json::Value::Object(cfg),
        json!({"lockout_threshold": 2, "lockout_duration": 60, "lockout_counter_reset": 900, "disable_lockout": false})
    );
    env.create_user("alice", "right", json!({})).await;
    for _ in 0..2 {
        let _ = env.login("alice", "wrong").await;
    }
    assert_invalid(env.login("alice", "right").await, BAD);
    env.clock.advance(Duration::from_secs(60));
    env.login("alice", "right").await.unwrap();

    assert_eq!(
        env.write(
            "config/lockout",
            json!({"lockout_threshold": 3, "lockout_counter_reset": "30s"})
        )
        .await
        .unwrap(),
        None
    );
    let cfg = env.data("config/lockout").await;
    assert_eq!(
        (
            cfg["lockout_threshold"].clone(),
            cfg["lockout_counter_reset"].clone()
        ),
        (json!(3), json!(30))
    );
    for _ in 0..2 {
        let _ = env.login("alice", "wrong").await;
    }
    env.login("alice", "right").await.unwrap();

    env.write("config/lockout", json!({"disable_lockout": true}))
        .await
        .unwrap();
    for _ in 0..10 {
        let _ = env.login("alice", "wrong").await;
    }
    env.login("alice", "right").await.unwrap();
    assert!(
        env.all_values()
            .await
            .iter()
            .all(|(k, _)| !k.starts_with("lockout/")),
        "nothing counted while disabled"
    );
}

#[tokio::test]
async fn concurrent_guesses_cannot_exceed_the_threshold() {
    let env = Env::new().await;
    env.create_user("alice", "right", json!({})).await;
    let backend = env.backend.clone();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let b = backend.clone();
        let req = env.request(
            arca_logical::Operation::Update,
            "login/alice",
            json!({"password": format!("guess-{i}")}),
        );
        tasks.push(tokio::spawn(async move { b.handle(&req).await }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_err());
    }
    let info = env.read("locked-users").await.unwrap().unwrap();
    // Serialised per user: the 6th and later guesses found the user locked and were not
    // even counted.
    assert_eq!(
        info.data.unwrap()["key_info"]["alice"]["failed_login_attempts"],
        json!(5)
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Unknown user, wrong password and locked user each cost one Argon2id verification:
/// their medians over 20 tries stay within a factor of 3 of each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_take_similar_time() {
    let env = Env::with_options(&[("lockout_threshold", "1000")]).await;
    env.create_user("alice", "right", json!({})).await;
    // A second mount where one failure locks, so all three cases interleave.
    let env_locked = Env::with_options(&[("lockout_threshold", "1")]).await;
    env_locked.create_user("locked", "right", json!({})).await;
    let _ = env_locked.login("locked", "wrong").await;
    let (mut unknown, mut wrong, mut locked) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        assert_invalid(env.login("nobody", "wrong").await, BAD);
        unknown.push(t.elapsed());
        let t = Instant::now();
        assert_invalid(env.login("alice", "wrong").await, BAD);
        wrong.push(t.elapsed());
        let t = Instant::now();
        assert_invalid(env_locked.login("locked", "right").await, BAD);
        locked.push(t.elapsed());
    }
    let (u, w, l) = (median(unknown), median(wrong), median(locked));
    eprintln!("median login time: unknown {u:?}, wrong password {w:?}, locked {l:?}");
    let ratio = |a: Duration, b: Duration| {
        a.as_secs_f64().max(b.as_secs_f64()) / a.as_secs_f64().min(b.as_secs_f64())
    };
    assert!(ratio(u, w) < 3.0, "unknown {u:?} vs wrong {w:?}");
    assert!(ratio(u, l) < 3.0, "unknown {u:?} vs locked {l:?}");
    // And each really pays for a hash (not an early return).
    assert!(u > Duration::from_millis(1), "{u:?}");
}
