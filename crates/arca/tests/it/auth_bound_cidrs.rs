//! Bound CIDRs end to end: `arca server -dev` on 127.0.0.1 and two HTTP clients whose
//! sockets are bound to 127.0.0.1 and 127.0.0.2 (the whole 127.0.0.0/8 is loopback on
//! Linux, so both reach the server and it sees two different peers). Tokens from logins
//! whose role or user has `token_bound_cidrs` work only from inside the block; AppRole's
//! `secret_id_bound_cidrs` and a secret ID's `cidr_list` refuse logins from outside it.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde_json::{Value, json};

use crate::compat_common::arca_dev;
use crate::support::call;

const ROOT: &str = "cidr-e2e-root";

const ONE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A client whose connections leave from `ip`.
fn client_from(ip: IpAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn token(v: &Value) -> String {
    v["auth"]["client_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {v}"))
        .to_owned()
}

/// Whether `tok` can look itself up from `c`; anything but 200/403 fails the test.
async fn usable(c: &reqwest::Client, url: &str, tok: &str) -> bool {
    let (st, b) = call(c, "GET", url, Some(tok), None).await;
    match st {
        200 => true,
        403 => {
            assert_eq!(b, json!({"errors": ["permission denied"]}));
            false
        }
        _ => panic!("lookup-self: {st} {b}"),
    }
}

#[tokio::test]
async fn bound_cidrs_refuse_tokens_and_logins_from_other_addresses() {
    let server = arca_dev(ROOT);
    let url = |p: &str| server.url(p);
    let one = client_from(ONE);
    let two = client_from(TWO);
    let root = Some(ROOT);
    let lookup = url("auth/token/lookup-self");

    // The root token is unbound: both clients reach the server and are told apart only by
    // their addresses.
    assert!(usable(&one, &lookup, ROOT).await);
    assert!(usable(&two, &lookup, ROOT).await);

    for (path, ty) in [
        ("sys/auth/userpass", "userpass"),
        ("sys/auth/approle", "approle"),
    ] {
        let (st, b) = call(&one, "POST", &url(path), root, Some(json!({"type": ty}))).await;
        assert_eq!(st, 204, "{b}");
    }

    // userpass: the user's token_bound_cidrs bind both the login and the token.
    for (user, cidr) in [("near", "127.0.0.1/32"), ("far", "127.0.0.2/32")] {
        let (st, b) = call(
            &one,
            "POST",
            &url(&format!("auth/userpass/users/{user}")),
            root,
            Some(json!({"password": "pw", "token_bound_cidrs": cidr})),
        )
        .await;
        assert_eq!(st, 204, "{b}");
    }
    let login = |c: &reqwest::Client, user: &str| {
        let c = c.clone();
        let u = url(&format!("auth/userpass/login/{user}"));
        async move { call(&c, "PUT", &u, None, Some(json!({"password": "pw"}))).await }
    };
    let (st, near) = login(&one, "near").await;
    assert_eq!(st, 200, "{near}");
    assert_eq!(near["auth"]["metadata"]["username"], "near");
    let near = token(&near);
    assert!(usable(&one, &lookup, &near).await);
    assert!(!usable(&two, &lookup, &near).await);
    // The refusal is the token's, not the client's: it stays usable from 127.0.0.1.
    assert!(usable(&one, &lookup, &near).await);
    let (st, me) = call(&one, "GET", &lookup, Some(&near), None).await;
    assert_eq!(st, 200);
    // A single address is shown without its /32, as OpenBao does.
    assert_eq!(me["data"]["bound_cidrs"], json!(["127.0.0.1"]));

    // The reverse: bound to 127.0.0.2, refused from 127.0.0.1, at login and afterwards.
    let (st, b) = login(&one, "far").await;
    assert_eq!((st, b), (403, json!({"errors": ["permission denied"]})));
    let (st, far) = login(&two, "far").await;
    assert_eq!(st, 200, "{far}");
    let far = token(&far);
    assert!(usable(&two, &lookup, &far).await);
    assert!(!usable(&one, &lookup, &far).await);

    // A bound token cannot be renewed or used for a write from outside its block either.
    let (st, b) = call(&one, "PUT", &url("auth/token/renew-self"), Some(&far), None).await;
    assert_eq!((st, b), (403, json!({"errors": ["permission denied"]})));
    let (st, b) = call(&two, "PUT", &url("auth/token/renew-self"), Some(&far), None).await;
    assert_eq!(st, 200, "{b}");

    // AppRole: secret_id_bound_cidrs restrict who may log in with the role's secret IDs,
    // token_bound_cidrs the tokens it issues.
    let (st, b) = call(
        &one,
        "POST",
        &url("auth/approle/role/svc"),
        root,
        Some(json!({
            "secret_id_bound_cidrs": "127.0.0.1/32",
            "token_bound_cidrs": "127.0.0.1/32",
            "token_policies": "svc",
        })),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let (st, rid) = call(
        &one,
        "GET",
        &url("auth/approle/role/svc/role-id"),
        root,
        None,
    )
    .await;
    assert_eq!(st, 200, "{rid}");
    let role_id = rid["data"]["role_id"].as_str().unwrap().to_owned();
    let new_secret = |body: Value| {
        let c = one.clone();
        let u = url("auth/approle/role/svc/secret-id");
        async move {
            let (st, b) = call(&c, "PUT", &u, root, Some(body)).await;
            assert_eq!(st, 200, "{b}");
            b["data"]["secret_id"].as_str().unwrap().to_owned()
        }
    };
    let approle_login = |c: &reqwest::Client, secret: &str| {
        let c = c.clone();
        let u = url("auth/approle/login");
        let body = json!({"role_id": role_id, "secret_id": secret});
        async move { call(&c, "PUT", &u, None, Some(body)).await }
    };
    let secret = new_secret(json!({})).await;
    let (st, b) = approle_login(&two, &secret).await;
    assert_eq!(st, 400, "{b}");
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .contains("source address unauthorized by CIDR restrictions on the role"),
        "{b}"
    );
    let (st, svc) = approle_login(&one, &secret).await;
    assert_eq!(st, 200, "{svc}");
    let svc = token(&svc);
    assert!(usable(&one, &lookup, &svc).await);
    assert!(!usable(&two, &lookup, &svc).await);

    // A secret ID's own cidr_list must lie within the role's block.
    let (st, b) = call(
        &one,
        "PUT",
        &url("auth/approle/role/svc/secret-id"),
        root,
        Some(json!({"cidr_list": "127.0.0.2/32"})),
    )
    .await;
    assert_eq!(st, 400, "{b}");

    // On a role without bounds, a secret ID bound to 127.0.0.2 logs in only from there;
    // its tokens are unbound.
    let (st, b) = call(
        &one,
        "POST",
        &url("auth/approle/role/svc"),
        root,
        Some(json!({"secret_id_bound_cidrs": "", "token_bound_cidrs": ""})),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let secret = new_secret(json!({"cidr_list": "127.0.0.2/32"})).await;
    let (st, b) = approle_login(&one, &secret).await;
    assert_eq!(st, 400, "{b}");
    assert!(
        b["errors"][0]
            .as_str()
            .unwrap()
            .contains("source address unauthorized through CIDR restrictions on the secret ID"),
        "{b}"
    );
    let (st, free) = approle_login(&two, &secret).await;
    assert_eq!(st, 200, "{free}");
    let free = token(&free);
    assert!(usable(&one, &lookup, &free).await);
    assert!(usable(&two, &lookup, &free).await);
}
