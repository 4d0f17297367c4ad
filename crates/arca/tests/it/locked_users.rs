//! Lockout after failed logins, seen and lifted through `sys/locked-users`.

use serde_json::json;

use crate::support::{Server, call, client};

#[tokio::test]
async fn locked_users_are_listed_and_unlocked() {
    let server = Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=root",
        ],
        &[],
    );
    let c = client();
    let (s, b) = call(
        &c,
        "POST",
        &server.url("sys/auth/userpass"),
        Some("root"),
        Some(json!({"type": "userpass"})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    call(
        &c,
        "POST",
        &server.url("auth/userpass/users/alice"),
        Some("root"),
        Some(json!({"password": "right"})),
    )
    .await;
    let login = |pw: &'static str| {
        let c = c.clone();
        let url = server.url("auth/userpass/login/alice");
        async move { call(&c, "POST", &url, None, Some(json!({"password": pw}))).await }
    };
    for _ in 0..5 {
        assert_eq!(login("wrong").await.0, 400);
    }
    // Locked: the right password is refused with the same answer as a wrong one.
    let (s, b) = login("right").await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = call(
        &c,
        "GET",
        &server.url("sys/locked-users"),
        Some("root"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["total"], 1);
    let accessors = b["data"]["by_namespace"][0]["mount_accessors"]
        .as_object()
        .unwrap();
    let (accessor, info) = accessors.iter().next().unwrap();
    assert_eq!(info["alias_identifiers"], json!(["alice"]));
    let (s, _) = call(
        &c,
        "POST",
        &server.url(&format!("sys/locked-users/{accessor}/unlock/alice")),
        Some("root"),
        None,
    )
    .await;
    assert_eq!(s, 204);
    let (s, b) = login("right").await;
    assert_eq!(s, 200, "{b}");
    assert!(b["auth"]["client_token"].is_string());
    let (_, b) = call(
        &c,
        "GET",
        &server.url("sys/locked-users"),
        Some("root"),
        None,
    )
    .await;
    assert_eq!(b["data"]["total"], 0);
}
