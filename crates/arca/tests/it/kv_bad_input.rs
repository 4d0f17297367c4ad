//! Issue 4's bad input against a real `arca server -dev`, on KV v2 (`secret/`) and v1
//! (`kv1/`): check-and-set values of the wrong type, impossible version numbers, huge or
//! negative `max_versions`, keys with NUL or `..`, a 30 MiB value and 100,000 keys in one
//! secret. Each gets a 4xx in Vault's error shape, and afterwards the stored state is
//! exactly what it was: same metadata (times included), same config, no new version, no new
//! key. Deliberate differences from OpenBao are in docs/compatibility.md ("KV bad input").

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use crate::compat_common::{arca_dev, http};
use crate::support::client;

const ROOT: &str = "kv-bad-root";

/// Asserts a 4xx (or exactly `want`) whose body is `{"errors":[<non-empty strings>]}` and
/// that does not echo the request (bodies stay short).
#[track_caller]
fn assert_4xx(what: &str, status: u16, body: &Value, raw: &str, want: Option<u16>) {
    match want {
        Some(w) => assert_eq!(status, w, "{what}: {raw}"),
        None => assert!((400..500).contains(&status), "{what}: {status} {raw}"),
    }
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not the error shape: {raw}"));
    assert!(
        !errors.is_empty()
            && errors
                .iter()
                .all(|e| e.as_str().is_some_and(|s| !s.is_empty())),
        "{what}: {raw}"
    );
    assert!(
        raw.len() < 1024,
        "{what}: error body of {} bytes",
        raw.len()
    );
}

/// Sends raw request bytes (paths a client library would normalise) and returns
/// (status, body).
fn raw(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nX-Vault-Token: {ROOT}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Everything the bad requests could have changed, as one JSON value.
async fn snapshot(c: &reqwest::Client, base: &str) -> Value {
    let mut out = serde_json::Map::new();
    for (name, method, path) in [
        ("meta", "GET", "secret/metadata/app"),
        ("data", "GET", "secret/data/app"),
        ("config", "GET", "secret/config"),
        ("list", "LIST", "secret/metadata/"),
        ("v1", "GET", "kv1/app"),
        ("v1list", "LIST", "kv1/"),
    ] {
        let h = [("X-Vault-Token", ROOT)];
        let (s, mut b, _) = http(c, method, &format!("{base}{path}"), &h, None).await;
        assert_eq!(s, 200, "{path}: {b}");
        b["request_id"] = Value::Null;
        out.insert(name.to_owned(), b);
    }
    Value::Object(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kv_input_is_4xx_and_nothing_is_partly_written() {
    let server = arca_dev(ROOT);
    let c = client();
    let base = server.url("");
    let tok = [("X-Vault-Token", ROOT)];
    let send = |method: &'static str, path: String, body: Option<String>| {
        let c = c.clone();
        let url = format!("{base}{path}");
        async move {
            let mut h = vec![("X-Vault-Token", ROOT)];
            if method == "PATCH" {
                h.push(("Content-Type", "application/merge-patch+json"));
            }
            http(&c, method, &url, &h, body.as_deref()).await
        }
    };

    let (s, b, _) = http(
        &c,
        "POST",
        &format!("{base}sys/mounts/kv1"),
        &tok,
        Some(r#"{"type":"kv"}"#),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    for v in ["1", "2"] {
        let body = json!({"data": {"v": v}}).to_string();
        let (s, b, _) = send("PUT", "secret/data/app".into(), Some(body)).await;
        assert_eq!(s, 200, "{b}");
    }
    let (s, _, _) = send("PUT", "kv1/app".into(), Some(r#"{"v":"1"}"#.into())).await;
    assert_eq!(s, 204);
    let before = snapshot(&c, &base).await;
    assert_eq!(before["meta"]["data"]["current_version"], json!(2));

    // Check-and-set of the wrong type (and a negative one, which cannot match).
    for cas in ["\"abc\"", "true", "-1", "1.5", "{}", "[2]", "1e30"] {
        let body = format!(r#"{{"data":{{"v":"cas"}},"options":{{"cas":{cas}}}}}"#);
        let (s, b, t) = send("PUT", "secret/data/app".into(), Some(body.clone())).await;
        assert_4xx(&format!("cas {cas}"), s, &b, &t, Some(400));
        let (s, b, t) = send("PATCH", "secret/data/app".into(), Some(body)).await;
        assert_4xx(&format!("patch cas {cas}"), s, &b, &t, Some(400));
    }
    let body = r#"{"data":{"v":"x"},"options":"cas"}"#.to_owned();
    let (s, b, t) = send("PUT", "secret/data/app".into(), Some(body)).await;
    assert_4xx("options not a map", s, &b, &t, Some(400));

    // Versions on read: 0 is the latest (OpenBao's rule, ESO sends it); negative or not a
    // number is refused.
    let (s, b, _) = send("GET", "secret/data/app?version=0".into(), None).await;
    assert_eq!((s, &b["data"]["metadata"]["version"]), (200, &json!(2)));
    for v in ["-1", "abc", "1.5", "99999999999999999999"] {
        for p in ["data", "subkeys"] {
            let (s, b, t) = send("GET", format!("secret/{p}/app?version={v}"), None).await;
            assert_4xx(&format!("{p} version={v}"), s, &b, &t, Some(400));
        }
    }
    // Versions of delete/undelete/destroy: only positive integers.
    for versions in [
        "0", "-1", "[0]", "[-1]", "[1,-1]", "\"abc\"", "\"1,x\"", "1.5", "{}",
    ] {
        for op in ["delete", "undelete", "destroy"] {
            let body = format!(r#"{{"versions":{versions}}}"#);
            let (s, b, t) = send("PUT", format!("secret/{op}/app"), Some(body)).await;
            assert_4xx(&format!("{op} versions={versions}"), s, &b, &t, Some(400));
        }
    }
    // max_versions out of range or not a number, per key and for the mount.
    for mv in ["1e30", "-1", "\"x\"", "4294967296", "1.5", "[]"] {
        let body = format!(r#"{{"max_versions":{mv}}}"#);
        for p in ["secret/metadata/app", "secret/config"] {
            let (s, b, t) = send("PUT", p.into(), Some(body.clone())).await;
            assert_4xx(&format!("{p} max_versions={mv}"), s, &b, &t, Some(400));
        }
        let (s, b, t) = send("PATCH", "secret/metadata/app".into(), Some(body)).await;
        assert_4xx(&format!("patch max_versions={mv}"), s, &b, &t, Some(400));
    }

    // Keys with NUL or dot segments, raw on the wire: refused before any routing.
    let put = r#"{"data":{"v":"evil"}}"#;
    for path in [
        "/v1/secret/data/a%00b",
        "/v1/secret/data/app%00",
        "/v1/secret/metadata/a%00b",
        "/v1/secret/data/a/../app",
        "/v1/secret/data/%2e%2e/app",
        "/v1/secret/data/x/%2E%2E/app",
        "/v1/secret/data/../../sys/seal",
        "/v1/secret/destroy/../data/app",
        "/v1/kv1/a%00b",
        "/v1/kv1/x/../app",
        "/v1/kv1/%2e%2e/secret/data/app",
    ] {
        for method in ["PUT", "GET", "DELETE"] {
            let (s, t) = raw(&server.addr, method, path, put);
            let b: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
            assert_4xx(&format!("{method} {path}"), s, &b, &t, Some(400));
        }
    }

    // A 30 MiB value passes the HTTP layer (32 MiB body limit) and is refused by the engine's
    // per-secret cap, for a write, a patch and a v1 write.
    let huge = "x".repeat(30 * 1024 * 1024);
    let big_v2 = json!({"data": {"v": huge}}).to_string();
    let big_v1 = json!({"v": huge}).to_string();
    drop(huge);
    for (method, path, body) in [
        ("PUT", "secret/data/app", &big_v2),
        ("PUT", "secret/data/new", &big_v2),
        ("PATCH", "secret/data/app", &big_v2),
        ("PUT", "kv1/app", &big_v1),
        ("PUT", "kv1/new", &big_v1),
    ] {
        let (s, b, t) = send(method, path.into(), Some(body.clone())).await;
        assert_4xx(&format!("30 MiB {method} {path}"), s, &b, &t, Some(413));
        assert!(t.contains("max_entry_size"), "{t}");
    }
    drop((big_v1, big_v2));

    // 100,000 keys in one secret: over the HTTP layer's member limit inside a v2 `data`
    // object (100,001 members); exactly 100,000 in a v1 body pass it and hit the size cap.
    let many: serde_json::Map<String, Value> = (0..100_000)
        .map(|i| (format!("key{i:06}"), json!("v")))
        .collect();
    let v1_many = Value::Object(many.clone()).to_string();
    let v2_many = json!({"data": many}).to_string();
    for (method, path, body, want) in [
        ("PUT", "secret/data/app", &v2_many, 400),
        ("PUT", "secret/data/new", &v2_many, 400),
        ("PATCH", "secret/data/app", &v2_many, 400),
        ("PUT", "kv1/app", &v1_many, 413),
        ("PUT", "kv1/new", &v1_many, 413),
    ] {
        let (s, b, t) = send(method, path.into(), Some(body.clone())).await;
        assert_4xx(&format!("100k keys {method} {path}"), s, &b, &t, Some(want));
    }

    // Nothing was partly written: same metadata (times, versions), data, config, key lists.
    let after = snapshot(&c, &base).await;
    assert_eq!(after, before, "state changed by refused requests");
    for path in ["secret/data/new", "secret/metadata/new", "kv1/new", "kv1/a"] {
        let (s, _, t) = send("GET", path.into(), None).await;
        assert_eq!(s, 404, "{path}: {t}");
    }
    // And the server still serves a well-formed write.
    let body = json!({"data": {"v": "3"}, "options": {"cas": 2}}).to_string();
    let (s, b, _) = send("PUT", "secret/data/app".into(), Some(body)).await;
    assert_eq!((s, &b["data"]["version"]), (200, &json!(3)));
}

/// The cap is a mount option: `max_entry_size` (bytes) at enable time or by tune.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_entry_size_is_a_mount_option() {
    let server = arca_dev(ROOT);
    let c = client();
    let base = server.url("");
    let tok = [("X-Vault-Token", ROOT)];
    let body = r#"{"type":"kv","options":{"version":"2","max_entry_size":"2048"}}"#;
    let (s, b, _) = http(
        &c,
        "POST",
        &format!("{base}sys/mounts/small"),
        &tok,
        Some(body),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let ok = json!({"data": {"v": "x".repeat(1000)}}).to_string();
    let (s, b, _) = http(&c, "PUT", &format!("{base}small/data/k"), &tok, Some(&ok)).await;
    assert_eq!(s, 200, "{b}");
    let big = json!({"data": {"v": "x".repeat(4000)}}).to_string();
    let (s, b, t) = http(&c, "PUT", &format!("{base}small/data/k"), &tok, Some(&big)).await;
    assert_4xx("over 2048", s, &b, &t, Some(413));
    // Raised by tune, the same write passes.
    let tune = r#"{"options":{"max_entry_size":"8192"}}"#;
    let (s, b, _) = http(
        &c,
        "POST",
        &format!("{base}sys/mounts/small/tune"),
        &tok,
        Some(tune),
    )
    .await;
    assert_eq!(s, 204, "{b}");
    let (s, b, _) = http(&c, "PUT", &format!("{base}small/data/k"), &tok, Some(&big)).await;
    assert_eq!((s, &b["data"]["version"]), (200, &json!(2)), "{b}");
    // A bad value refuses the mount.
    let body = r#"{"type":"kv","options":{"version":"2","max_entry_size":"lots"}}"#;
    let (s, b, t) = http(
        &c,
        "POST",
        &format!("{base}sys/mounts/bad"),
        &tok,
        Some(body),
    )
    .await;
    assert_4xx("bad max_entry_size", s, &b, &t, Some(400));
}

/// The same bad requests against `bao server -dev`: the status codes agree, except at the
/// deliberate differences of docs/compatibility.md, listed here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_kv_input_statuses_match_openbao_except_documented() {
    let Some(py) = crate::compat_common::py() else {
        return;
    };
    let arca = arca_dev(ROOT);
    let openbao = crate::compat_common::bao_dev(&py, ROOT);
    let c = client();
    let huge = json!({"data": {"v": "x".repeat(30 * 1024 * 1024)}}).to_string();
    let cases: Vec<(&str, &str, String, Option<u16>)> = vec![
        // (method, path, body, Arca's status where it deliberately differs)
        (
            "PUT",
            "secret/data/app",
            r#"{"data":{"v":"x"},"options":{"cas":"abc"}}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/data/app",
            r#"{"data":{"v":"x"},"options":{"cas":1.5}}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/data/app",
            r#"{"data":{"v":"x"},"options":{"cas":{}}}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/data/app",
            r#"{"data":{"v":"x"},"options":{"cas":-1}}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/data/app",
            r#"{"data":{"v":"x"},"options":{"cas":1e30}}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/data/app",
            r#"{"data":{"v":"x"},"options":{"cas":true}}"#.into(),
            Some(400),
        ),
        ("GET", "secret/data/app?version=abc", String::new(), None),
        ("GET", "secret/data/app?version=0", String::new(), None),
        (
            "GET",
            "secret/data/app?version=-1",
            String::new(),
            Some(400),
        ),
        (
            "PUT",
            "secret/delete/app",
            r#"{"versions":"abc"}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/destroy/app",
            r#"{"versions":[0]}"#.into(),
            Some(400),
        ),
        (
            "PUT",
            "secret/undelete/app",
            r#"{"versions":[-1]}"#.into(),
            Some(400),
        ),
        (
            "PUT",
            "secret/metadata/app",
            r#"{"max_versions":1e30}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/metadata/app",
            r#"{"max_versions":"x"}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/config",
            r#"{"max_versions":1e30}"#.into(),
            None,
        ),
        (
            "PUT",
            "secret/metadata/app",
            r#"{"max_versions":-1}"#.into(),
            Some(400),
        ),
        (
            "PUT",
            "secret/config",
            r#"{"max_versions":-1}"#.into(),
            Some(400),
        ),
        ("PUT", "secret/data/big", huge, Some(413)),
    ];
    let mut seen = Vec::new();
    for server in [&arca.addr, &openbao.addr] {
        let url = |p: &str| format!("{server}/v1/{p}");
        let h = [("X-Vault-Token", ROOT)];
        let (s, b, _) = http(
            &c,
            "PUT",
            &url("secret/data/app"),
            &h,
            Some(r#"{"data":{"v":"1"}}"#),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        let mut statuses = Vec::new();
        for (method, path, body, _) in &cases {
            let body = (!body.is_empty()).then_some(body.as_str());
            let (s, _, _) = http(&c, method, &url(path), &h, body).await;
            statuses.push(s);
        }
        seen.push(statuses);
    }
    for (i, (method, path, body, arca_differs)) in cases.iter().enumerate() {
        let (a, o) = (seen[0][i], seen[1][i]);
        let what = format!(
            "{method} {path} {}",
            body.chars().take(60).collect::<String>()
        );
        match arca_differs {
            None => assert_eq!(a, o, "{what}: arca {a}, openbao {o}"),
            Some(want) => {
                assert_eq!(a, *want, "{what}");
                assert!(
                    o < 300,
                    "{what}: OpenBao now refuses it ({o}): update the docs"
                );
            }
        }
    }
}
