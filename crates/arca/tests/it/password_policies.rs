//! `sys/policies/password/*`: write, read, list, generate, validation, delete.

use serde_json::json;

use crate::support::{Server, call, client};

#[tokio::test]
async fn password_policies_generate_what_they_promise() {
    let server = Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=root",
        ],
        &[],
    );
    let c = client();
    let url = |p: &str| server.url(&format!("sys/policies/password/{p}"));
    let policy = "length = 24\nrule \"charset\" {\n  charset = \"abcdefghij\"\n  min-chars = 2\n}\nrule \"charset\" {\n  charset = \"0123456789\"\n  min-chars = 3\n}\n";
    let (s, b) = call(
        &c,
        "PUT",
        &url("app"),
        Some("root"),
        Some(json!({"policy": policy})),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = call(&c, "GET", &url("app"), Some("root"), None).await;
    assert_eq!((s, b["data"]["policy"].as_str()), (200, Some(policy)));
    for _ in 0..20 {
        let (s, b) = call(&c, "GET", &url("app/generate"), Some("root"), None).await;
        assert_eq!(s, 200);
        let pw = b["data"]["password"].as_str().unwrap();
        assert_eq!(pw.chars().count(), 24);
        assert!(
            pw.chars()
                .all(|ch| ch.is_ascii_digit() || ('a'..='j').contains(&ch))
        );
        assert!(pw.chars().filter(char::is_ascii_digit).count() >= 3);
        assert!(pw.chars().filter(|ch| ch.is_ascii_lowercase()).count() >= 2);
    }
    let (s, b) = call(
        &c,
        "LIST",
        &server.url("sys/policies/password"),
        Some("root"),
        None,
    )
    .await;
    assert_eq!((s, b["data"]["keys"].clone()), (200, json!(["app"])));
    // A policy that cannot be satisfied, or is not HCL, is refused at write time.
    let impossible = "length = 3\nrule \"charset\" {\n  charset = \"ab\"\n  min-chars = 5\n}\n";
    assert_eq!(
        call(
            &c,
            "PUT",
            &url("bad"),
            Some("root"),
            Some(json!({"policy": impossible}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(
            &c,
            "PUT",
            &url("bad"),
            Some("root"),
            Some(json!({"policy": "not hcl {"}))
        )
        .await
        .0,
        400
    );
    assert_eq!(
        call(&c, "GET", &url("missing/generate"), Some("root"), None)
            .await
            .0,
        404
    );
    assert_eq!(
        call(&c, "DELETE", &url("app"), Some("root"), None).await.0,
        204
    );
    assert_eq!(
        call(&c, "GET", &url("app"), Some("root"), None).await.0,
        404
    );
}
