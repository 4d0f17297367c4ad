//! The userpass and AppRole auth methods end to end: the real binary over HTTP for what
//! only Arca does (lockout answers, username normalisation, wrapped secret IDs), and the
//! real `bao` CLI against `arca server -dev` and `bao server -dev` side by side (the Duo
//! harness of `compat_tokens`), with the differences listed where they are asserted.

use serde_json::{Value, json};

use crate::compat_common::arca_dev;
use crate::compat_tokens::{Duo, Tok, token_mask};
use crate::support::{call, client};

const ROOT: &str = "auth-e2e-root";

fn s(v: &Value, ptr: &str) -> String {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{ptr} missing in {v}"))
        .to_owned()
}

#[tokio::test]
async fn userpass_over_http() {
    let server = arca_dev(ROOT);
    let c = client();
    let url = |p: &str| server.url(p);
    let root = Some(ROOT);
    let (st, b) = call(
        &c,
        "POST",
        &url("sys/auth/userpass"),
        root,
        Some(json!({"type": "userpass"})),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let (st, b) = call(
        &c,
        "POST",
        &url("auth/userpass/users/Alice"),
        root,
        Some(json!({"password": "pw", "token_policies": "app", "token_ttl": "1h"})),
    )
    .await;
    assert_eq!(st, 204, "{b}");

    // Normalised once: any case or surrounding space names the same user.
    let (st, login) = call(
        &c,
        "POST",
        &url("auth/userpass/login/ALICE"),
        None,
        Some(json!({"password": "pw"})),
    )
    .await;
    assert_eq!(st, 200, "{login}");
    assert_eq!(login["data"], Value::Null);
    assert_eq!(login["auth"]["metadata"], json!({"username": "alice"}));
    assert_eq!(login["auth"]["policies"], json!(["app", "default"]));
    assert_eq!(login["auth"]["lease_duration"], json!(3600));
    assert_eq!(login["auth"]["renewable"], json!(true));
    assert_eq!(login["auth"]["orphan"], json!(true));
    let token = s(&login, "/auth/client_token");
    let (st, me) = call(
        &c,
        "GET",
        &url("auth/token/lookup-self"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(me["data"]["display_name"], json!("userpass-alice"));
    assert_ne!(me["data"]["entity_id"], json!(""));
    // Agent and LifetimeWatcher renew right after login.
    let (st, renewed) = call(
        &c,
        "PUT",
        &url("auth/token/renew-self"),
        Some(&token),
        Some(json!({"increment": 0})),
    )
    .await;
    assert_eq!(st, 200, "{renewed}");
    assert_eq!(renewed["auth"]["lease_duration"], json!(3600));

    // Wrong password, unknown user, locked user: one answer.
    let (st_unknown, unknown) = call(
        &c,
        "POST",
        &url("auth/userpass/login/nobody"),
        None,
        Some(json!({"password": "x"})),
    )
    .await;
    assert_eq!(
        (st_unknown, &unknown),
        (400, &json!({"errors": ["invalid username or password"]}))
    );
    for _ in 0..5 {
        let (st, b) = call(
            &c,
            "POST",
            &url("auth/userpass/login/alice"),
            None,
            Some(json!({"password": "bad"})),
        )
        .await;
        assert_eq!((st, &b), (400, &unknown));
    }
    let (st, b) = call(
        &c,
        "POST",
        &url("auth/userpass/login/alice"),
        None,
        Some(json!({"password": "pw"})),
    )
    .await;
    assert_eq!((st, &b), (400, &unknown), "locked");
    let (st, locked) = call(&c, "LIST", &url("auth/userpass/locked-users"), root, None).await;
    assert_eq!(st, 200);
    assert_eq!(locked["data"]["keys"], json!(["alice"]));
    let (st, _) = call(
        &c,
        "POST",
        &url("auth/userpass/locked-users/alice/unlock"),
        root,
        None,
    )
    .await;
    assert_eq!(st, 204);
    let (st, _) = call(
        &c,
        "POST",
        &url("auth/userpass/login/alice"),
        None,
        Some(json!({"password": "pw"})),
    )
    .await;
    assert_eq!(st, 200);

    // The user list and read never carry the password.
    let (st, list) = call(&c, "LIST", &url("auth/userpass/users"), root, None).await;
    assert_eq!((st, list["data"]["keys"].clone()), (200, json!(["alice"])));
    let (_, user) = call(&c, "GET", &url("auth/userpass/users/alice"), root, None).await;
    assert!(!user.to_string().contains("password"));
}

#[tokio::test]
async fn approle_over_http_with_a_wrapped_secret_id() {
    let server = arca_dev(ROOT);
    let c = client();
    let url = |p: &str| server.url(p);
    let root = Some(ROOT);
    let (st, b) = call(
        &c,
        "POST",
        &url("sys/auth/approle"),
        root,
        Some(json!({"type": "approle"})),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let (st, b) = call(
        &c,
        "POST",
        &url("auth/approle/role/web"),
        root,
        Some(json!({"token_policies": "app", "token_ttl": "20m", "secret_id_num_uses": 1})),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let (_, rid) = call(&c, "GET", &url("auth/approle/role/web/role-id"), root, None).await;
    let role_id = s(&rid, "/data/role_id");

    // A secret ID delivered response-wrapped, as Agent's secret_id_response_wrapping_path expects.
    let resp = c
        .post(url("auth/approle/role/web/secret-id"))
        .header("X-Vault-Token", ROOT)
        .header("X-Vault-Wrap-TTL", "60")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let wrapped: Value = resp.json().await.unwrap();
    assert_eq!(wrapped["data"], Value::Null);
    assert_eq!(
        wrapped["wrap_info"]["creation_path"],
        json!("auth/approle/role/web/secret-id")
    );
    let wrap_token = s(&wrapped, "/wrap_info/token");
    let (st, looked) = call(
        &c,
        "POST",
        &url("sys/wrapping/lookup"),
        None,
        Some(json!({"token": wrap_token})),
    )
    .await;
    assert_eq!(
        (st, looked["data"]["creation_path"].clone()),
        (200, json!("auth/approle/role/web/secret-id"))
    );
    // Unwrapped as Vault Agent does it: the wrapping token as X-Vault-Token, empty body.
    let (st, unwrapped) = call(
        &c,
        "POST",
        &url("sys/wrapping/unwrap"),
        Some(wrap_token.as_str()),
        None,
    )
    .await;
    assert_eq!(st, 200, "{unwrapped}");
    let secret_id = s(&unwrapped, "/data/secret_id");

    let body = json!({"role_id": role_id, "secret_id": secret_id});
    let (st, login) = call(
        &c,
        "PUT",
        &url("auth/approle/login"),
        None,
        Some(body.clone()),
    )
    .await;
    assert_eq!(st, 200, "{login}");
    assert_eq!(login["auth"]["metadata"], json!({"role_name": "web"}));
    assert_eq!(login["auth"]["lease_duration"], json!(1200));
    let token = s(&login, "/auth/client_token");
    let (st, renewed) = call(
        &c,
        "PUT",
        &url("auth/token/renew-self"),
        Some(&token),
        Some(json!({"increment": 0})),
    )
    .await;
    assert_eq!(
        (st, renewed["auth"]["lease_duration"].clone()),
        (200, json!(1200))
    );
    let (_, me) = call(
        &c,
        "GET",
        &url("auth/token/lookup-self"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(me["data"]["display_name"], json!("approle"));

    // Its one use is spent.
    let (st, b) = call(&c, "PUT", &url("auth/approle/login"), None, Some(body)).await;
    assert_eq!(
        (st, b),
        (400, json!({"errors": ["invalid role or secret ID"]}))
    );
    let (st, _) = call(
        &c,
        "LIST",
        &url("auth/approle/role/web/secret-id"),
        root,
        None,
    )
    .await;
    assert_eq!(st, 404);
    let (st, tidy) = call(&c, "POST", &url("auth/approle/tidy/secret-id"), root, None).await;
    assert_eq!(st, 200);
    assert!(
        tidy["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("Tidy operation successfully started")
    );
}

/// Masks for what differs between any two servers in these answers.
fn auth_mask() -> arca_test_support::JsonDiff {
    token_mask().mask(&[
        "entity_id",
        "role_id",
        "secret_id",
        "secret_id_accessor",
        "expiration_time",
        "last_updated_time",
        "/data/keys/*",
    ])
}

#[test]
fn userpass_cli_matches_openbao() {
    let Some(duo) = Duo::start() else { return };
    let root = Tok::root();
    let r = Some(&root);
    duo.same_text(r, None, &["auth", "enable", "userpass"]);
    duo.same_text(
        r,
        None,
        &[
            "write",
            "auth/userpass/users/alice",
            "password=s3cret",
            "token_policies=app,web",
            "token_ttl=1h",
            "token_max_ttl=4h",
        ],
    );
    let (a, b) = duo.json(
        r,
        None,
        &["read", "-format=json", "auth/userpass/users/alice"],
        0,
    );
    auth_mask().assert_matches("read user", &a, &b, &[]);
    assert_eq!(a["data"]["token_policies"], json!(["app", "web"]));

    // bao login: the CLI's own userpass helper (PUT auth/userpass/login/alice).
    let (a, b) = duo.json(
        None,
        None,
        &[
            "login",
            "-format=json",
            "-method=userpass",
            "username=alice",
            "password=s3cret",
        ],
        0,
    );
    auth_mask().assert_matches("bao login -method=userpass", &a, &b, &[]);
    let tok = Tok {
        a: s(&a, "/auth/client_token"),
        b: s(&b, "/auth/client_token"),
        acc_a: s(&a, "/auth/accessor"),
        acc_b: s(&b, "/auth/accessor"),
    };
    // Renewed right after login, as Agent does.
    let (a, b) = duo.json(Some(&tok), None, &["token", "renew", "-format=json"], 0);
    auth_mask().assert_matches("bao token renew", &a, &b, &[]);
    assert_eq!(a["auth"]["lease_duration"], json!(3600));
    let (a, b) = duo.json(Some(&tok), None, &["token", "lookup", "-format=json"], 0);
    auth_mask().assert_matches("bao token lookup", &a, &b, &[]);
    assert_eq!(a["data"]["display_name"], json!("userpass-alice"));

    // Upper case logs in on both (OpenBao lower-cases too).
    duo.json(
        None,
        None,
        &[
            "login",
            "-format=json",
            "-method=userpass",
            "username=ALICE",
            "password=s3cret",
        ],
        0,
    );
    let msg = duo.same_error(
        None,
        None,
        &[
            "login",
            "-method=userpass",
            "username=alice",
            "password=wrong",
        ],
    );
    assert!(msg.contains("invalid username or password"), "{msg}");
    let msg = duo.same_error(
        None,
        None,
        &[
            "login",
            "-method=userpass",
            "username=nobody",
            "password=wrong",
        ],
    );
    assert!(msg.contains("invalid username or password"), "{msg}");

    duo.same_text(
        r,
        None,
        &[
            "write",
            "auth/userpass/users/alice/password",
            "password=n3w",
        ],
    );
    duo.json(
        None,
        None,
        &[
            "login",
            "-format=json",
            "-method=userpass",
            "username=alice",
            "password=n3w",
        ],
        0,
    );
    duo.same_text(
        r,
        None,
        &[
            "write",
            "auth/userpass/users/alice/policies",
            "token_policies=db",
        ],
    );
    let (a, b) = duo.json(r, None, &["list", "-format=json", "auth/userpass/users"], 0);
    assert_eq!(a, b);
    duo.same_text(r, None, &["delete", "auth/userpass/users/alice"]);
}

#[test]
fn approle_cli_matches_openbao() {
    let Some(duo) = Duo::start() else { return };
    let root = Tok::root();
    let r = Some(&root);
    duo.same_text(r, None, &["auth", "enable", "approle"]);
    duo.same_text(
        r,
        None,
        &[
            "write",
            "auth/approle/role/r",
            "token_policies=app",
            "token_ttl=20m",
            "secret_id_ttl=10m",
            "secret_id_num_uses=5",
        ],
    );
    let (a, b) = duo.json(r, None, &["read", "-format=json", "auth/approle/role/r"], 0);
    auth_mask().assert_matches("read role", &a, &b, &[]);
    let (ra, rb) = duo.json(
        r,
        None,
        &["read", "-format=json", "auth/approle/role/r/role-id"],
        0,
    );
    auth_mask().assert_matches("read role-id", &ra, &rb, &[]);
    let (sa, sb) = duo.json(
        r,
        None,
        &[
            "write",
            "-format=json",
            "-f",
            "auth/approle/role/r/secret-id",
        ],
        0,
    );
    auth_mask().assert_matches("generate secret-id", &sa, &sb, &[]);
    assert_eq!(
        (
            sa["data"]["secret_id_ttl"].clone(),
            sa["data"]["secret_id_num_uses"].clone()
        ),
        (json!(600), json!(5))
    );

    // {tok}/{acc} carry each server's role ID and secret ID.
    let creds = Tok {
        a: s(&ra, "/data/role_id"),
        b: s(&rb, "/data/role_id"),
        acc_a: s(&sa, "/data/secret_id"),
        acc_b: s(&sb, "/data/secret_id"),
    };
    let (a, b) = duo.json(
        None,
        Some(&creds),
        &[
            "write",
            "-format=json",
            "auth/approle/login",
            "role_id={tok}",
            "secret_id={acc}",
        ],
        0,
    );
    auth_mask().assert_matches("approle login", &a, &b, &[]);
    assert_eq!(a["auth"]["metadata"], json!({"role_name": "r"}));
    let tok = Tok {
        a: s(&a, "/auth/client_token"),
        b: s(&b, "/auth/client_token"),
        acc_a: s(&a, "/auth/accessor"),
        acc_b: s(&b, "/auth/accessor"),
    };
    let (a, b) = duo.json(Some(&tok), None, &["token", "renew", "-format=json"], 0);
    auth_mask().assert_matches("bao token renew", &a, &b, &[]);
    assert_eq!(a["auth"]["lease_duration"], json!(1200));

    let (a, b) = duo.json(
        r,
        Some(&creds),
        &[
            "write",
            "-format=json",
            "auth/approle/role/r/secret-id/lookup",
            "secret_id={acc}",
        ],
        0,
    );
    auth_mask().assert_matches("secret-id lookup", &a, &b, &[]);
    assert_eq!(a["data"]["secret_id_num_uses"], json!(4), "one use spent");
    let (a, b) = duo.json(
        r,
        None,
        &["list", "-format=json", "auth/approle/role/r/secret-id"],
        0,
    );
    assert_eq!(
        (a.as_array().map(Vec::len), b.as_array().map(Vec::len)),
        (Some(1), Some(1))
    );

    let fails = duo.same_error(
        None,
        Some(&creds),
        &[
            "write",
            "auth/approle/login",
            "role_id={tok}",
            "secret_id=wrong",
        ],
    );
    assert!(fails.contains("invalid role or secret ID"), "{fails}");

    // Wrapped secret ID, then unwrapped by the operator (token in the body).
    let (a, b) = duo.json(
        r,
        None,
        &[
            "write",
            "-format=json",
            "-wrap-ttl=60",
            "-f",
            "auth/approle/role/r/secret-id",
        ],
        0,
    );
    auth_mask().assert_matches("wrapped secret-id", &a, &b, &[]);
    assert_eq!(
        a["wrap_info"]["creation_path"],
        json!("auth/approle/role/r/secret-id")
    );
    let wrapped = Tok {
        a: s(&a, "/wrap_info/token"),
        b: s(&b, "/wrap_info/token"),
        acc_a: String::new(),
        acc_b: String::new(),
    };
    let (a, b) = duo.json(r, Some(&wrapped), &["unwrap", "-format=json", "{tok}"], 0);
    auth_mask().assert_matches("unwrap secret-id", &a, &b, &[]);

    let (x, y) = duo.run(r, None, &["write", "-f", "auth/approle/tidy/secret-id"]);
    assert_eq!((x.code, y.code), (0, 0), "{} / {}", x.stderr, y.stderr);
    assert!(
        x.stdout.contains("Tidy operation successfully started")
            || x.stderr.contains("Tidy operation successfully started")
    );
}
