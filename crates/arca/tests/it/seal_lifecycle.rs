//! init → sealed 503s → unseal progress → unsealed → seal → restart on the same storage
//! file → unseal again, through HTTP on the real binary.

use serde_json::json;

use crate::support::{Server, call, client, embedded_config, init, unseal};

#[tokio::test]
async fn seal_lifecycle_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = embedded_config(dir.path(), "raw_storage_endpoint = true");
    let cfg = cfg.to_str().unwrap();
    let c = client();
    let server = Server::start(&["-config", cfg], &[]);

    let (s, b) = call(&c, "GET", &server.url("sys/health"), None, None).await;
    assert_eq!((s, b["initialized"].clone()), (501, json!(false)));
    let (keys, root) = init(&c, &server, 5, 3).await;
    assert_eq!(keys.len(), 5);

    // Sealed: the API answers 503 with Vault's wording; health says 503 too.
    let (s, b) = call(&c, "GET", &server.url("sys/key-status"), Some(&root), None).await;
    assert_eq!((s, b), (503, json!({"errors": ["Vault is sealed"]})));
    assert_eq!(
        call(&c, "GET", &server.url("sys/health"), None, None)
            .await
            .0,
        503
    );
    let (s, b) = call(&c, "GET", &server.url("sys/seal-status"), None, None).await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            b["sealed"].clone(),
            b["t"].clone(),
            b["n"].clone(),
            b["progress"].clone()
        ),
        (json!(true), json!(3), json!(5), json!(0))
    );
    assert_eq!(b["storage_type"], "embedded");

    // Progress, then unsealed at the threshold.
    let st = unseal(&c, &server, &keys[..1]).await;
    assert_eq!(
        (st["sealed"].clone(), st["progress"].clone()),
        (json!(true), json!(1))
    );
    assert_eq!(st["nonce"].as_str().unwrap().len(), 36);
    let st = unseal(&c, &server, &keys[1..3]).await;
    assert_eq!(
        (st["sealed"].clone(), st["progress"].clone()),
        (json!(false), json!(0))
    );
    assert_eq!(
        call(&c, "GET", &server.url("sys/health"), None, None)
            .await
            .0,
        200
    );
    let (s, _) = call(
        &c,
        "PUT",
        &server.url("sys/raw/lifecycle/a"),
        Some(&root),
        Some(json!({"value": "kept"})),
    )
    .await;
    assert_eq!(s, 204);

    // Seal through the API.
    let (s, _) = call(&c, "PUT", &server.url("sys/seal"), Some(&root), None).await;
    assert_eq!(s, 204);
    assert_eq!(
        call(
            &c,
            "GET",
            &server.url("sys/raw/lifecycle/a"),
            Some(&root),
            None
        )
        .await
        .0,
        503
    );
    let st = unseal(&c, &server, &keys[2..5]).await;
    assert_eq!(st["sealed"], false);

    // Restart on the same file: sealed again, another subset opens it, data intact.
    server.kill9();
    let server = Server::start(&["-config", cfg], &[]);
    let (_, b) = call(&c, "GET", &server.url("sys/seal-status"), None, None).await;
    assert_eq!(
        (b["initialized"].clone(), b["sealed"].clone()),
        (json!(true), json!(true))
    );
    let st = unseal(
        &c,
        &server,
        &[keys[4].clone(), keys[0].clone(), keys[2].clone()],
    )
    .await;
    assert_eq!(st["sealed"], false);
    let (s, b) = call(
        &c,
        "GET",
        &server.url("sys/raw/lifecycle/a"),
        Some(&root),
        None,
    )
    .await;
    assert_eq!((s, b["data"]["value"].clone()), (200, json!("kept")));
}

#[tokio::test]
async fn dev_mode_prints_credentials_and_serves() {
    let server = Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=devroot",
        ],
        &[],
    );
    assert_eq!(server.printed("Root Token:"), "devroot");
    assert!(!server.printed("Unseal Key:").is_empty());
    let c = client();
    let (s, b) = call(&c, "GET", &server.url("sys/seal-status"), None, None).await;
    assert_eq!(
        (s, b["sealed"].clone(), b["storage_type"].clone()),
        (200, json!(false), json!("inmem"))
    );
    let (s, b) = call(
        &c,
        "GET",
        &server.url("sys/key-status"),
        Some("devroot"),
        None,
    )
    .await;
    assert_eq!((s, b["data"]["term"].clone()), (200, json!(1)));
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let mut server = Server::start(&["-dev", "-dev-listen-address=127.0.0.1:0"], &[]);
    let pid = server.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "did not exit on SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
