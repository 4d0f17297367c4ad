//! Redis: dynamic ACL users; revocation deletes the user and closes its connections.

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::support::{Engine, service};

/// Sends one inline command and returns the first reply line (`+OK`, `-ERR ...`), or
/// `None` when the connection is closed.
async fn cmd(conn: &mut BufReader<TcpStream>, line: &str) -> Option<String> {
    conn.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .ok()?;
    let mut out = String::new();
    let n = conn.read_line(&mut out).await.ok()?;
    (n > 0).then(|| out.trim_end().to_owned())
}

async fn connect() -> BufReader<TcpStream> {
    BufReader::new(TcpStream::connect("127.0.0.1:6379").await.unwrap())
}

#[tokio::test]
async fn dynamic_acl_user_auth_and_revocation() {
    if !service("Redis", 6379) {
        return;
    }
    let e = Engine::new().await;
    e.write(
        "config/cache",
        json!({"plugin_name": "redis-database-plugin", "host": "127.0.0.1", "port": 6379, "allowed_roles": "*"}),
    )
    .await;
    e.write(
        "roles/reader",
        json!({"db_name": "cache", "creation_statements": "[\"~app:*\", \"+@read\", \"+ping\"]", "default_ttl": 120}),
    )
    .await;
    let (user, pass, secret) = e.creds("reader").await;
    assert!(user.starts_with("V_TOKEN_READER_"), "{user}");

    let mut session = connect().await;
    assert_eq!(
        cmd(&mut session, &format!("AUTH {user} {pass}"))
            .await
            .as_deref(),
        Some("+OK")
    );
    assert_eq!(cmd(&mut session, "PING").await.as_deref(), Some("+PONG"));
    // The ACL rules apply: no writes.
    assert!(
        cmd(&mut session, "SET app:x 1")
            .await
            .unwrap()
            .starts_with("-NOPERM")
    );
    let mut wrong = connect().await;
    assert!(
        cmd(&mut wrong, &format!("AUTH {user} not-the-password"))
            .await
            .unwrap()
            .starts_with("-")
    );

    e.revoke(&secret).await.unwrap();
    // The user is gone and its connection closed.
    assert_eq!(
        cmd(&mut session, "PING").await,
        None,
        "the session survived revocation"
    );
    let mut again = connect().await;
    assert!(
        cmd(&mut again, &format!("AUTH {user} {pass}"))
            .await
            .unwrap()
            .starts_with("-")
    );
    e.revoke(&secret).await.unwrap();
    e.shutdown().await;
}
