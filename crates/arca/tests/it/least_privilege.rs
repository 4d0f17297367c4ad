//! Least privilege, end to end, against the real binary over HTTP: a read-only token is
//! denied everything else; deny beats allow; revoking a parent revokes its children and
//! their leases; a use-limited token stops after its last use; an expired token is refused
//! within a second of its expiry. And leases survive a restart of a config-file server.
//!
//! No engine issues leased secrets yet (KV answers carry no lease), so "their leases" are
//! the children's token leases, seen through `LIST sys/leases/lookup/auth/token/create/`.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::{Server, call, client, embedded_config, init, unseal};

const ROOT: &str = "lp-root";

/// A dev server with a KV v1 mount at `kv/` holding `kv/app/config` and `kv/other/x`.
struct Env {
    server: Server,
    c: reqwest::Client,
}

impl Env {
    async fn start() -> Env {
        let server = Server::start(
            &[
                "-dev",
                "-dev-listen-address=127.0.0.1:0",
                &format!("-dev-root-token-id={ROOT}"),
            ],
            &[],
        );
        let env = Env {
            server,
            c: client(),
        };
        env.ok("POST", "sys/mounts/kv", ROOT, json!({"type": "kv"}))
            .await;
        for (p, v) in [("kv/app/config", "a"), ("kv/other/x", "b")] {
            env.ok("PUT", p, ROOT, json!({ "v": v })).await;
        }
        env
    }

    async fn req(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        call(&self.c, method, &self.server.url(path), Some(token), body).await
    }

    /// A 2xx answer; its body.
    async fn ok(&self, method: &str, path: &str, token: &str, body: Value) -> Value {
        let body = (!body.is_null()).then_some(body);
        let (s, b) = self.req(method, path, token, body).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {b}");
        b
    }

    async fn policy(&self, name: &str, hcl: &str) {
        self.ok(
            "PUT",
            &format!("sys/policies/acl/{name}"),
            ROOT,
            json!({ "policy": hcl }),
        )
        .await;
    }

    /// A token created by `parent` with `body`; (token, accessor).
    async fn token(&self, parent: &str, body: Value) -> (String, String) {
        let b = self.ok("POST", "auth/token/create", parent, body).await;
        let s = |k: &str| b["auth"][k].as_str().unwrap().to_owned();
        (s("client_token"), s("accessor"))
    }

    async fn status(&self, method: &str, path: &str, token: &str) -> u16 {
        let body = matches!(method, "PUT" | "POST").then(|| json!({"v": "changed"}));
        self.req(method, path, token, body).await.0
    }

    /// The token leases the lease manager tracks.
    async fn token_leases(&self) -> usize {
        let (s, b) = self
            .req("LIST", "sys/leases/lookup/auth/token/create/", ROOT, None)
            .await;
        match s {
            200 => b["data"]["keys"].as_array().unwrap().len(),
            404 => 0,
            _ => panic!("LIST sys/leases/lookup: {s} {b}"),
        }
    }
}

#[tokio::test]
async fn read_only_token_is_denied_everything_else() {
    let env = Env::start().await;
    env.policy("ro-app", r#"path "kv/app/*" { capabilities = ["read"] }"#)
        .await;
    let (t, _) = env
        .token(
            ROOT,
            json!({"policies": ["ro-app"], "no_default_policy": true, "ttl": "1h"}),
        )
        .await;

    let (s, b) = env.req("GET", "kv/app/config", &t, None).await;
    assert_eq!((s, &b["data"]), (200, &json!({"v": "a"})));

    // Writes where it may read.
    for (m, p) in [
        ("PUT", "kv/app/config"),
        ("POST", "kv/app/config"),
        ("PUT", "kv/app/new"),
        ("DELETE", "kv/app/config"),
        ("LIST", "kv/app/"),
    ] {
        assert_eq!(env.status(m, p, &t).await, 403, "{m} {p}");
    }
    // Anything anywhere else, including what the default policy would give.
    for (m, p) in [
        ("GET", "kv/app"),
        ("GET", "kv/other/x"),
        ("PUT", "kv/other/x"),
        ("LIST", "kv/"),
        ("GET", "secret/data/app/config"),
        ("GET", "sys/mounts"),
        ("POST", "sys/mounts/evil"),
        ("GET", "sys/policies/acl"),
        ("PUT", "sys/policies/acl/ro-app"),
        ("POST", "auth/token/create"),
        ("GET", "auth/token/lookup-self"),
        ("POST", "auth/token/renew-self"),
        ("GET", "cubbyhole/x"),
        ("PUT", "cubbyhole/x"),
        ("PUT", "sys/wrapping/wrap"),
        ("PUT", "sys/capabilities-self"),
        ("GET", "identity/entity/id/x"),
        ("GET", "sys/key-status"),
        ("PUT", "sys/seal"),
        ("LIST", "sys/leases/lookup/auth/token/create/"),
        ("GET", "sys/internal/ui/mounts/secret"),
    ] {
        assert_eq!(env.status(m, p, &t).await, 403, "{m} {p}");
    }
    // Climbing out of the granted subtree: the client may resolve the dot segments itself
    // (then it is kv/other/x, 403); sent as is, the server refuses the path (400).
    for p in ["kv/app/../other/x", "kv/app/%2e%2e/other/x"] {
        let s = env.status("GET", p, &t).await;
        assert!(s == 400 || s == 403, "GET {p}: {s}");
    }
    // Nothing changed, and the read still works.
    let b = env.ok("GET", "kv/app/config", ROOT, Value::Null).await;
    assert_eq!(b["data"], json!({"v": "a"}));
    assert_eq!(env.status("GET", "kv/app/config", &t).await, 200);
}

#[tokio::test]
async fn deny_beats_allow() {
    let env = Env::start().await;
    env.ok("PUT", "kv/shared/secret", ROOT, json!({"v": "s"}))
        .await;
    env.ok("PUT", "kv/shared/open", ROOT, json!({"v": "o"}))
        .await;
    let rw =
        r#"path "kv/shared/*" { capabilities = ["create", "read", "update", "delete", "list"] }"#;
    env.policy("rw-shared", rw).await;
    // Deny on a more specific path, in another policy.
    env.policy(
        "deny-secret",
        r#"path "kv/shared/secret" { capabilities = ["deny"] }"#,
    )
    .await;
    // Deny on the very same path as the grant, in another policy.
    env.policy(
        "deny-shared",
        r#"path "kv/shared/*" { capabilities = ["deny"] }"#,
    )
    .await;
    // Deny next to grants in one stanza.
    env.policy(
        "mixed",
        r#"path "kv/shared/*" { capabilities = ["read", "deny", "update"] }"#,
    )
    .await;

    let (a, _) = env
        .token(ROOT, json!({"policies": ["rw-shared", "deny-secret"]}))
        .await;
    for (m, p, want) in [
        ("GET", "kv/shared/secret", 403),
        ("PUT", "kv/shared/secret", 403),
        ("DELETE", "kv/shared/secret", 403),
        ("GET", "kv/shared/open", 200),
        ("PUT", "kv/shared/open", 204),
    ] {
        assert_eq!(env.status(m, p, &a).await, want, "{m} {p}");
    }
    let (s, caps) = env
        .req(
            "PUT",
            "sys/capabilities-self",
            &a,
            Some(json!({"paths": ["kv/shared/secret", "kv/shared/open"]})),
        )
        .await;
    assert_eq!(s, 200, "{caps}");
    assert_eq!(caps["data"]["kv/shared/secret"], json!(["deny"]));
    assert_eq!(
        caps["data"]["kv/shared/open"],
        json!(["create", "delete", "list", "read", "update"])
    );

    for policies in [json!(["rw-shared", "deny-shared"]), json!(["mixed"])] {
        let (t, _) = env.token(ROOT, json!({ "policies": policies })).await;
        for (m, p) in [
            ("GET", "kv/shared/open"),
            ("PUT", "kv/shared/open"),
            ("LIST", "kv/shared/"),
        ] {
            assert_eq!(env.status(m, p, &t).await, 403, "{policies} {m} {p}");
        }
    }
    // The data is untouched.
    let b = env.ok("GET", "kv/shared/secret", ROOT, Value::Null).await;
    assert_eq!(b["data"], json!({"v": "s"}));
}

#[tokio::test]
async fn revoking_a_parent_revokes_its_children_and_their_leases() {
    let env = Env::start().await;
    env.policy(
        "minter",
        r#"path "auth/token/create" { capabilities = ["create", "update"] }"#,
    )
    .await;
    let before = env.token_leases().await;
    let mint = json!({"policies": ["minter"], "ttl": "1h"});
    let (p, _) = env.token(ROOT, mint.clone()).await;
    let (c1, _) = env.token(&p, mint.clone()).await;
    let (c2, _) = env.token(&p, mint.clone()).await;
    let (g, _) = env.token(&c1, mint.clone()).await;
    let (other, _) = env.token(ROOT, mint.clone()).await;
    assert_eq!(env.token_leases().await, before + 5);

    env.ok("POST", "auth/token/revoke", ROOT, json!({ "token": p }))
        .await;
    for t in [&p, &c1, &c2, &g] {
        assert_eq!(env.status("GET", "auth/token/lookup-self", t).await, 403);
    }
    assert_eq!(
        env.token_leases().await,
        before + 1,
        "the four leases of the tree are gone, the unrelated one stays"
    );
    assert_eq!(
        env.status("GET", "auth/token/lookup-self", &other).await,
        200
    );
}

#[tokio::test]
async fn use_limited_token_stops_after_its_last_use() {
    let env = Env::start().await;
    env.policy("ro-app", r#"path "kv/app/*" { capabilities = ["read"] }"#)
        .await;
    let (t, acc) = env
        .token(ROOT, json!({"policies": ["ro-app"], "num_uses": 3}))
        .await;
    for i in 1..=3 {
        assert_eq!(env.status("GET", "kv/app/config", &t).await, 200, "use {i}");
    }
    assert_eq!(env.status("GET", "kv/app/config", &t).await, 403);
    // Revoked after its last use, not merely exhausted.
    let (s, _) = env
        .req(
            "POST",
            "auth/token/lookup-accessor",
            ROOT,
            Some(json!({ "accessor": acc })),
        )
        .await;
    assert_eq!(s, 400);

    // Concurrent requests each spend their own use: exactly num_uses succeed.
    let (t, _) = env
        .token(ROOT, json!({"policies": ["ro-app"], "num_uses": 5}))
        .await;
    let url = env.server.url("kv/app/config");
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (c, url, t) = (env.c.clone(), url.clone(), t.clone());
            tokio::spawn(async move { call(&c, "GET", &url, Some(&t), None).await.0 })
        })
        .collect();
    let mut codes = Vec::new();
    for task in tasks {
        codes.push(task.await.unwrap());
    }
    codes.sort_unstable();
    assert_eq!(codes, [[200; 5].as_slice(), &[403; 7]].concat());
}

fn parse_time(v: &Value) -> SystemTime {
    OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339)
        .unwrap()
        .into()
}

#[tokio::test]
async fn expired_token_is_rejected_within_one_second_of_expiry() {
    let env = Env::start().await;
    env.policy("ro-app", r#"path "kv/app/*" { capabilities = ["read"] }"#)
        .await;
    for kind in ["service", "batch"] {
        let (t, _) = env
            .token(
                ROOT,
                json!({"policies": ["ro-app", "default"], "ttl": "2s", "type": kind}),
            )
            .await;
        let look = env
            .ok("GET", "auth/token/lookup-self", &t, Value::Null)
            .await;
        let expire = parse_time(&look["data"]["expire_time"]);
        // Accepted until shortly before expiry, refused from shortly after it.
        let refused_at = loop {
            let s = env.status("GET", "kv/app/config", &t).await;
            let now = SystemTime::now();
            if s == 403 {
                break now;
            }
            assert_eq!(s, 200, "{kind}");
            assert!(
                now < expire + Duration::from_secs(1),
                "{kind} token still accepted a second after its expiry"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let early = expire.duration_since(refused_at).unwrap_or(Duration::ZERO);
        assert!(
            early < Duration::from_millis(100),
            "{kind} token refused {early:?} before its expiry"
        );
        // And it stays refused.
        assert_eq!(env.status("GET", "auth/token/lookup-self", &t).await, 403);
    }
}

/// 2,000 token leases (each `auth/token/create` with a TTL registers one) on a config-file
/// server with embedded storage; SIGKILL; restart and unseal: every lease is still tracked,
/// and they all still expire. (The 100,000-lease restart runs in arca-expiration's own
/// tests, without HTTP.)
#[tokio::test]
async fn token_leases_survive_a_restart_and_still_expire() {
    const N: usize = 2_000;
    const TTL_SECS: u64 = 15;
    let dir = tempfile::tempdir().unwrap();
    let cfg = embedded_config(dir.path(), "");
    let cfg = cfg.to_str().unwrap();
    let server = Server::start(&["-config", cfg], &[]);
    let c = client();
    let (keys, root) = init(&c, &server, 1, 1).await;
    unseal(&c, &server, &keys).await;

    let started = Instant::now();
    let url = server.url("auth/token/create");
    let mut sample = Vec::new();
    // 32 in flight: the lease manager commits concurrent writes together.
    let tasks: Vec<_> = (0..32)
        .map(|w| {
            let (c, url, root) = (c.clone(), url.clone(), root.clone());
            tokio::spawn(async move {
                let mut mine = Vec::new();
                for _ in (w..N).step_by(32) {
                    let (s, b) = call(
                        &c,
                        "POST",
                        &url,
                        Some(&root),
                        Some(json!({"policies": ["default"], "ttl": format!("{TTL_SECS}s")})),
                    )
                    .await;
                    assert_eq!(s, 200, "{b}");
                    mine.push(b["auth"]["client_token"].as_str().unwrap().to_owned());
                }
                mine
            })
        })
        .collect();
    for task in tasks {
        let mine = task.await.unwrap();
        sample.extend(mine.into_iter().step_by(100));
    }
    let created = started.elapsed();
    let count = |c: reqwest::Client, server_url: String, root: String| async move {
        let (s, b) = call(&c, "LIST", &server_url, Some(&root), None).await;
        match s {
            200 => b["data"]["keys"].as_array().unwrap().len(),
            404 => 0,
            _ => panic!("LIST sys/leases/lookup: {s} {b}"),
        }
    };
    let list_path = "sys/leases/lookup/auth/token/create/";
    assert_eq!(
        count(c.clone(), server.url(list_path), root.clone()).await,
        N
    );
    assert!(
        created < Duration::from_secs(TTL_SECS - 4),
        "creating {N} tokens took {created:?}; the TTL leaves too little time"
    );

    server.kill9();
    let server = Server::start(&["-config", cfg], &[]);
    unseal(&c, &server, &keys).await;
    assert_eq!(
        count(c.clone(), server.url(list_path), root.clone()).await,
        N,
        "every lease is still tracked after the restart"
    );
    for t in &sample {
        let (s, b) = call(
            &c,
            "GET",
            &server.url("auth/token/lookup-self"),
            Some(t),
            None,
        )
        .await;
        assert_eq!(s, 200, "{b}");
    }

    // They expire: refused at once, and all revoked soon after. Revocation runs at roughly
    // 150 token leases a second here (every revoked token costs several storage commits),
    // so 2,000 take over ten seconds; the deadline leaves room for a loaded machine.
    let expired = started + created + Duration::from_secs(TTL_SECS + 1);
    tokio::time::sleep(expired.saturating_duration_since(Instant::now())).await;
    for t in &sample {
        let (s, _) = call(
            &c,
            "GET",
            &server.url("auth/token/lookup-self"),
            Some(t),
            None,
        )
        .await;
        assert_eq!(s, 403, "refused once expired, revoked or not yet");
    }
    let deadline = started + Duration::from_secs(TTL_SECS + 45);
    loop {
        let left = count(c.clone(), server.url(list_path), root.clone()).await;
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{left} of {N} leases still tracked {:?} after creation",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "{N} token leases: created in {created:?}, all expired and revoked {:?} after the start",
        started.elapsed()
    );
}
