//! `users/`, `users/<u>`, `users/<u>/password`, `users/<u>/policies`.

use arca_logical::{ErrorKind, Operation};
use serde_json::json;

use crate::{Env, TOKEN_KEYS, assert_invalid, keys};

#[tokio::test]
async fn crud_and_list() {
    let env = Env::new().await;
    assert_eq!(env.list("users/").await.unwrap(), None, "empty list is 404");
    env.create_user(
        "alice",
        "pw-1",
        json!({"token_policies": "app", "token_ttl": "1h", "token_max_ttl": 14400}),
    )
    .await;
    let data = env.data("users/alice").await;
    let mut got: Vec<&str> = data.keys().map(String::as_str).collect();
    got.sort_unstable();
    // Exactly the token fields, as OpenBao 2.7 shows a user (vault-api.md §5.2).
    assert_eq!(got, TOKEN_KEYS);
    assert_eq!(
        serde_json::Value::Object(data),
        json!({
            "token_bound_cidrs": [], "token_explicit_max_ttl": 0, "token_max_ttl": 14400,
            "token_no_default_policy": false, "token_num_uses": 0, "token_period": 0,
            "token_policies": ["app"], "token_strictly_bind_ip": false, "token_ttl": 3600,
            "token_type": "default"
        })
    );

    // An update needs no password and keeps what it does not mention.
    assert_eq!(
        env.write("users/alice", json!({"token_num_uses": 3}))
            .await
            .unwrap(),
        None
    );
    let data = env.data("users/alice").await;
    assert_eq!(
        (data["token_num_uses"].clone(), data["token_ttl"].clone()),
        (json!(3), json!(3600))
    );
    env.login("alice", "pw-1").await.unwrap();

    env.create_user("bob", "pw-2", json!({})).await;
    assert_eq!(
        keys(&env.list("users").await.unwrap().unwrap()),
        ["alice", "bob"]
    );
    assert_eq!(
        keys(&env.list("users/").await.unwrap().unwrap()),
        ["alice", "bob"]
    );

    assert_eq!(env.delete("users/alice").await.unwrap(), None);
    assert_eq!(env.read("users/alice").await.unwrap(), None, "deleted: 404");
    assert_eq!(env.delete("users/alice").await.unwrap(), None, "idempotent");
    assert_eq!(keys(&env.list("users/").await.unwrap().unwrap()), ["bob"]);
    assert_invalid(
        env.login("alice", "pw-1").await,
        "invalid username or password",
    );
}

#[tokio::test]
async fn create_needs_exactly_one_password_input() {
    let env = Env::new().await;
    assert_invalid(
        env.write("users/alice", json!({"token_ttl": 60})).await,
        "must provide either password or password_hash",
    );
    assert_invalid(
        env.write("users/alice", json!({"password": ""})).await,
        "must provide either password or password_hash",
    );
    assert_invalid(
        env.write(
            "users/alice",
            json!({"password": "x", "password_hash": "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}),
        )
        .await,
        "only one of password or password_hash may be provided",
    );
    assert_invalid(
        env.write("users/alice", json!({"password_hash": "$2a$10$notargon"}))
            .await,
        "password_hash is not a valid argon2id hash",
    );
    assert_eq!(
        env.read("users/alice").await.unwrap(),
        None,
        "nothing stored"
    );
}

#[tokio::test]
async fn password_hash_import_logs_in() {
    let env = Env::new().await;
    let phc = phc_for("imported-pw");
    assert_eq!(
        env.write("users/carol", json!({"password_hash": phc}))
            .await
            .unwrap(),
        None
    );
    env.login("carol", "imported-pw").await.unwrap();
    assert_invalid(
        env.login("carol", "other").await,
        "invalid username or password",
    );
}

/// An Argon2id PHC string made outside the method (as an operator's tool would).
fn phc_for(password: &str) -> String {
    use argon2::{Algorithm, Argon2, Params, Version};
    use base64::Engine as _;
    let salt = b"0123456789abcdef";
    let mut out = [0u8; 32];
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(4096, 1, 1, Some(32)).unwrap(),
    )
    .hash_password_into(password.as_bytes(), salt, &mut out)
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    format!(
        "$argon2id$v=19$m=4096,t=1,p=1${}${}",
        b64.encode(salt),
        b64.encode(out)
    )
}

#[tokio::test]
async fn legacy_fields_are_accepted_and_echoed() {
    let env = Env::new().await;
    env.create_user(
        "dave",
        "pw",
        json!({"policies": "A,b", "ttl": "30m", "max_ttl": "1h", "bound_cidrs": "127.0.0.1/32"}),
    )
    .await;
    let data = env.data("users/dave").await;
    assert_eq!(data["token_policies"], json!(["a", "b"]));
    assert_eq!(data["policies"], json!(["a", "b"]));
    assert_eq!(
        (data["token_ttl"].clone(), data["ttl"].clone()),
        (json!(1800), json!(1800))
    );
    assert_eq!(data["max_ttl"], json!(3600));
    assert_eq!(data["token_bound_cidrs"], json!(["127.0.0.1"]));
    assert_eq!(data["bound_cidrs"], json!(["127.0.0.1"]));
    // The new names alone drop the legacy echo.
    env.write(
        "users/dave",
        json!({"token_policies": "c", "token_ttl": 60}),
    )
    .await
    .unwrap();
    let data = env.data("users/dave").await;
    assert!(!data.contains_key("policies") && !data.contains_key("ttl"));
    assert_eq!(data["max_ttl"], json!(3600), "untouched legacy key stays");
}

#[tokio::test]
async fn token_field_errors_and_unknown_field_warnings() {
    let env = Env::new().await;
    assert_invalid(
        env.write(
            "users/eve",
            json!({"password": "x", "token_ttl": 100, "token_max_ttl": 10}),
        )
        .await,
        "'token_ttl' cannot be greater than 'token_max_ttl'",
    );
    assert_invalid(
        env.write("users/eve", json!({"password": "x", "token_type": "nope"}))
            .await,
        "invalid 'token_type' value",
    );
    assert_invalid(
        env.write("users/eve", json!({"password": "x", "token_ttl": "soon"}))
            .await,
        "error converting input for field \"token_ttl\": invalid duration",
    );
    let resp = env
        .write("users/eve", json!({"password": "x", "colour": "blue"}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        resp.warnings,
        ["Endpoint ignored these unrecognized parameters: [colour]"]
    );
}

#[tokio::test]
async fn password_endpoint() {
    let env = Env::new().await;
    assert_invalid(
        env.write("users/nobody/password", json!({"password": "x"}))
            .await,
        "username does not exist",
    );
    env.create_user("alice", "old", json!({})).await;
    assert_invalid(
        env.write("users/alice/password", json!({})).await,
        "must provide either password or password_hash",
    );
    assert_eq!(
        env.write("users/alice/password", json!({"password": "new"}))
            .await
            .unwrap(),
        None
    );
    assert_invalid(
        env.login("alice", "old").await,
        "invalid username or password",
    );
    env.login("alice", "new").await.unwrap();
    let e = env
        .call(Operation::Read, "users/alice/password", json!({}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedOperation);
}

#[tokio::test]
async fn policies_endpoint() {
    let env = Env::new().await;
    assert_invalid(
        env.write("users/nobody/policies", json!({"token_policies": "a"}))
            .await,
        "username does not exist",
    );
    env.create_user("alice", "pw", json!({"token_ttl": 60}))
        .await;
    env.write(
        "users/alice/policies",
        json!({"token_policies": ["Web", "db"]}),
    )
    .await
    .unwrap();
    let data = env.data("users/alice").await;
    // Kept in the order written, as OpenBao does.
    assert_eq!(data["token_policies"], json!(["web", "db"]));
    assert!(!data.contains_key("policies"));
    assert_eq!(data["token_ttl"], json!(60), "other settings untouched");
    env.write("users/alice/policies", json!({"policies": "x"}))
        .await
        .unwrap();
    let data = env.data("users/alice").await;
    assert_eq!(data["token_policies"], json!(["x"]));
    assert_eq!(data["policies"], json!(["x"]));
    let auth = env.login("alice", "pw").await.unwrap();
    assert_eq!(auth.policies, ["x"]);
}

#[tokio::test]
async fn usernames_are_normalised_everywhere() {
    let env = Env::new().await;
    env.create_user("MixedCase", "pw", json!({})).await;
    assert_eq!(
        keys(&env.list("users/").await.unwrap().unwrap()),
        ["mixedcase"]
    );
    for path in ["users/mixedcase", "users/MIXEDCASE", "users/ MixedCase "] {
        assert!(env.read(path).await.unwrap().is_some(), "{path}");
    }
    for name in ["mixedcase", "MIXEDCASE", "  MixedCase\t"] {
        let auth = env.login(name, "pw").await.unwrap();
        assert_eq!(auth.metadata["username"], "mixedcase");
        assert_eq!(auth.display_name, "mixedcase");
        assert_eq!(auth.alias.unwrap().name, "mixedcase");
    }
    // Writing through another spelling updates the same user.
    env.write("users/MIXEDCASE", json!({"token_ttl": 5}))
        .await
        .unwrap();
    assert_eq!(env.data("users/mixedcase").await["token_ttl"], json!(5));
    assert_eq!(
        env.all_values()
            .await
            .iter()
            .filter(|(k, _)| k.starts_with("user/"))
            .count(),
        1
    );

    for bad in ["a b", "-x", "\u{212A}elvin", "x."] {
        assert_invalid(env.read(&format!("users/{bad}")).await, "invalid username");
        assert_invalid(env.login(bad, "pw").await, "invalid username or password");
    }
}

#[tokio::test]
async fn existence_check_and_special_paths() {
    let env = Env::new().await;
    let req = env.request(Operation::Update, "users/alice", json!({}));
    assert_eq!(env.backend.exists(&req).await.unwrap(), Some(false));
    env.create_user("alice", "pw", json!({})).await;
    assert_eq!(env.backend.exists(&req).await.unwrap(), Some(true));
    let login = env.request(Operation::Update, "login/alice", json!({}));
    assert_eq!(env.backend.exists(&login).await.unwrap(), None);

    let sp = env.backend.special_paths();
    assert!(sp.is_unauthenticated("login/alice"));
    assert!(!sp.is_unauthenticated("users/alice"));
    assert!(!sp.is_unauthenticated("locked-users"));

    let e = env.read("nothing/here").await.unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::NotFound, "unsupported path")
    );
    let e = env.read("login/alice").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedOperation);
}

#[tokio::test]
async fn passwords_are_never_stored_or_returned() {
    let env = Env::new().await;
    let pw = "correct horse battery staple";
    env.create_user("alice", pw, json!({})).await;
    for (k, v) in env.all_values().await {
        let text = String::from_utf8_lossy(&v);
        assert!(!text.contains(pw), "{k} holds the password");
        if k == "user/alice" {
            assert!(text.contains("$argon2id$v=19$m=19456,t=2,p=1$"), "{text}");
        }
    }
    let data = env.data("users/alice").await;
    let text = serde_json::to_string(&data).unwrap();
    assert!(!text.contains("argon2") && !text.contains("password"));
}
