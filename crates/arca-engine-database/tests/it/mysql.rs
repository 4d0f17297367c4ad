//! MariaDB (the mysql plugin): dynamic users, static rotation with a schedule that never
//! runs twice across restarts, and phased rotation.

use std::time::{Duration, SystemTime};

use arca_logical::Operation;
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

use crate::support::{Engine, ManualClock, service, unique};

fn opts(user: &str, pass: &str) -> mysql_async::OptsBuilder {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(3306)
        .user(Some(user))
        .pass(Some(pass))
        .prefer_socket(false)
}

async fn login(user: &str, pass: &str) -> Option<mysql_async::Conn> {
    mysql_async::Conn::new(opts(user, pass)).await.ok()
}

async fn can_login(user: &str, pass: &str) -> bool {
    match login(user, pass).await {
        Some(c) => {
            let _ = c.disconnect().await;
            true
        }
        None => false,
    }
}

async fn root() -> mysql_async::Conn {
    mysql_async::Conn::new(opts("root", "")).await.unwrap()
}

async fn user_exists(user: &str) -> bool {
    let mut r = root().await;
    let n: Option<u64> = r
        .exec_first("SELECT COUNT(*) FROM mysql.user WHERE user = ?", (user,))
        .await
        .unwrap();
    n.unwrap() > 0
}

async fn create_account(user: &str, pass: &str) {
    let mut r = root().await;
    r.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
        .await
        .unwrap();
    r.query_drop(format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{pass}'"))
        .await
        .unwrap();
}

async fn drop_account(user: &str) {
    let mut r = root().await;
    r.query_drop(format!("DROP USER IF EXISTS '{user}'@'%'"))
        .await
        .unwrap();
}

async fn configure(e: &Engine) {
    e.write(
        "config/maria",
        json!({
            "plugin_name": "mysql-database-plugin",
            "connection_url": "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
            "username": "root",
            "password": "",
            "allowed_roles": "*",
        }),
    )
    .await;
}

#[tokio::test]
async fn dynamic_user_login_and_revocation_kills_connections() {
    if !service("MariaDB", 3306) {
        return;
    }
    let e = Engine::new().await;
    configure(&e).await;
    e.write(
        "roles/app",
        json!({
            "db_name": "maria",
            "creation_statements": "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}'; GRANT SELECT ON test.* TO '{{name}}'@'%';",
            "default_ttl": 300,
        }),
    )
    .await;
    let (user, pass, secret) = e.creds("app").await;
    assert!(
        user.starts_with("v-token-app-") && user.len() <= 32,
        "{user}"
    );
    let mut session = login(&user, &pass).await.expect("the new user logs in");
    session.query_drop("SELECT 1").await.unwrap();
    // MySQL has no expiry: renewal succeeds without statements.
    Engine::ok(e.renew(&secret, 600).await);

    e.revoke(&secret).await.unwrap();
    assert!(!user_exists(&user).await);
    assert!(
        session.query_drop("SELECT 1").await.is_err(),
        "the session survived revocation"
    );
    assert!(!can_login(&user, &pass).await);
    e.revoke(&secret).await.unwrap();
    e.shutdown().await;
}

#[tokio::test]
async fn static_rotation_changes_the_real_password() {
    if !service("MariaDB", 3306) {
        return;
    }
    let e = Engine::new().await;
    configure(&e).await;
    let user = unique("st");
    create_account(&user, "initial-pw").await;
    e.write(
        "static-roles/svc",
        json!({"db_name": "maria", "username": user, "rotation_period": "1h"}),
    )
    .await;
    // Creation takes the account over.
    assert!(!can_login(&user, "initial-pw").await);
    let c1 = e.read("static-creds/svc").await;
    let p1 = c1["password"].as_str().unwrap().to_owned();
    assert_eq!(c1["username"], user.as_str());
    assert_eq!(c1["rotation_period"], 3600);
    assert_eq!(c1["ttl"], 3600);
    assert!(can_login(&user, &p1).await);

    // Manual rotation.
    e.write("rotate-role/svc", json!({})).await;
    let p2 = e.read("static-creds/svc").await["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(p1, p2);
    assert!(!can_login(&user, &p1).await, "the old password still works");
    assert!(can_login(&user, &p2).await);

    // The period elapses.
    e.clock.advance(Duration::from_secs(1800));
    assert_eq!(e.backend.run_due().await, 0);
    assert_eq!(e.read("static-creds/svc").await["ttl"], 1800);
    e.clock.advance(Duration::from_secs(1800));
    assert_eq!(e.backend.run_due().await, 1);
    let p3 = e.read("static-creds/svc").await["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(p2, p3);
    assert!(can_login(&user, &p3).await && !can_login(&user, &p2).await);

    let r = e.read("static-roles/svc").await;
    assert_eq!(r["username"], user.as_str());
    assert!(r["last_vault_rotation"].as_str().unwrap().ends_with('Z'));
    Engine::ok(
        e.call(Operation::Delete, "static-roles/svc", Value::Null)
            .await,
    );
    assert!(
        Engine::ok(
            e.call(Operation::Read, "static-roles/svc", Value::Null)
                .await
        )
        .is_none()
    );
    drop_account(&user).await;
    e.shutdown().await;
}

/// 10:30 UTC of some day, so hourly schedule points are easy to reason about.
fn half_past() -> SystemTime {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(now - now % 3600 + 1800)
}

#[tokio::test]
async fn schedule_point_rotates_once_across_restarts_and_crashes() {
    if !service("MariaDB", 3306) {
        return;
    }
    let clock = ManualClock::at(half_past());
    let storage: std::sync::Arc<dyn arca_storage::Storage> =
        std::sync::Arc::new(arca_storage::InMemStorage::new());
    let e = Engine::over(storage.clone(), clock.clone()).await;
    configure(&e).await;
    let user = unique("sched");
    create_account(&user, "initial-pw").await;
    e.write(
        "static-roles/sched",
        json!({"db_name": "maria", "username": user, "rotation_schedule": "0 * * * *", "rotation_window": "1h"}),
    )
    .await;
    let c = e.read("static-creds/sched").await;
    assert_eq!(c["ttl"], 1800, "next point is the top of the hour");
    assert_eq!(c["rotation_schedule"], "0 * * * *");
    let p0 = c["password"].as_str().unwrap().to_owned();

    // The point passes: one rotation.
    clock.advance(Duration::from_secs(1830));
    assert_eq!(e.backend.run_due().await, 1);
    assert_eq!(e.backend.run_due().await, 0);
    let c1 = e.read("static-creds/sched").await;
    let p1 = c1["password"].as_str().unwrap().to_owned();
    assert_ne!(p0, p1);
    assert_eq!(c1["ttl"], 3600 - 30);

    // Restart at the same instant: the point is not rotated again.
    e.shutdown().await;
    let e = Engine::over(storage.clone(), clock.clone()).await;
    assert_eq!(e.backend.run_due().await, 0);
    let c2 = e.read("static-creds/sched").await;
    assert_eq!(c2["password"], p1.as_str());
    assert_eq!(c2["last_vault_rotation"], c1["last_vault_rotation"]);
    assert!(can_login(&user, &p1).await);

    // A rotation that fails half-way (the account is gone) keeps its journal; after a
    // restart it finishes with the journalled password and is not repeated.
    drop_account(&user).await;
    clock.advance(Duration::from_secs(3600));
    assert_eq!(
        e.backend.run_due().await,
        0,
        "the failed rotation is not counted"
    );
    e.shutdown().await;
    create_account(&user, "set-by-dba").await;
    let e = Engine::over(storage.clone(), clock.clone()).await;
    assert_eq!(e.backend.run_due().await, 1);
    let c3 = e.read("static-creds/sched").await;
    let p3 = c3["password"].as_str().unwrap().to_owned();
    assert_ne!(p3, p1);
    assert!(can_login(&user, &p3).await);
    assert_eq!(e.backend.run_due().await, 0);
    e.shutdown().await;
    let e = Engine::over(storage, clock.clone()).await;
    assert_eq!(e.backend.run_due().await, 0);
    assert_eq!(e.read("static-creds/sched").await["password"], p3.as_str());

    // A point missed by more than rotation_window is skipped, not rotated late.
    clock.advance(Duration::from_secs(3 * 3600 + 600));
    assert_eq!(e.backend.run_due().await, 0);
    assert_eq!(e.read("static-creds/sched").await["password"], p3.as_str());
    drop_account(&user).await;
    e.shutdown().await;
}

#[tokio::test]
async fn phased_rotation_keeps_the_previous_account_during_grace() {
    if !service("MariaDB", 3306) {
        return;
    }
    let e = Engine::new().await;
    configure(&e).await;
    let a = unique("pa");
    let b = unique("pb");
    create_account(&a, "initial-a").await;
    create_account(&b, "initial-b").await;
    e.write(
        "static-roles/ph",
        json!({"db_name": "maria", "username": a, "username_b": b, "rotation_period": "1h", "grace_period": "10m"}),
    )
    .await;
    // Both accounts are Arca's now; A is current, B's password is unknown.
    let c = e.read("static-creds/ph").await;
    assert_eq!(c["username"], a.as_str());
    assert_eq!(c["previous_username"], Value::Null);
    assert_eq!(c["grace_period"], 600);
    let pa = c["password"].as_str().unwrap().to_owned();
    assert!(can_login(&a, &pa).await);
    assert!(!can_login(&a, "initial-a").await && !can_login(&b, "initial-b").await);

    // The period elapses: B becomes current, A stays valid for the grace period.
    e.clock.advance(Duration::from_secs(3600));
    assert_eq!(e.backend.run_due().await, 1);
    let c = e.read("static-creds/ph").await;
    assert_eq!(c["username"], b.as_str());
    assert_eq!(c["previous_username"], a.as_str());
    let until = c["previous_valid_until"].as_str().unwrap().to_owned();
    assert!(!until.is_empty());
    let pb = c["password"].as_str().unwrap().to_owned();
    assert!(
        can_login(&a, &pa).await,
        "the previous account works during grace"
    );
    assert!(can_login(&b, &pb).await);

    // After the grace period the previous account's password is rotated away.
    e.clock.advance(Duration::from_secs(601));
    assert_eq!(e.backend.run_due().await, 1);
    assert!(
        !can_login(&a, &pa).await,
        "the previous account still works after grace"
    );
    assert!(can_login(&b, &pb).await);
    let c = e.read("static-creds/ph").await;
    assert_eq!(c["previous_username"], Value::Null);

    // The next rotation goes back to A with a new password.
    e.write("rotate-role/ph", json!({})).await;
    let c = e.read("static-creds/ph").await;
    assert_eq!(c["username"], a.as_str());
    let pa2 = c["password"].as_str().unwrap().to_owned();
    assert!(can_login(&a, &pa2).await && can_login(&b, &pb).await);

    // Validation: grace must be shorter than the period.
    let bad = e
        .call(
            Operation::Update,
            "static-roles/ph2",
            json!({"db_name": "maria", "username": a, "username_b": b, "rotation_period": "1h", "grace_period": "2h"}),
        )
        .await
        .unwrap_err();
    assert!(bad.message.contains("grace_period"));
    let r = e.read("static-roles/ph").await;
    assert_eq!(r["username_b"], b.as_str());
    drop_account(&a).await;
    drop_account(&b).await;
    e.shutdown().await;
}
