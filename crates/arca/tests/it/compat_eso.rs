//! The External Secrets Operator's Vault provider, replayed request by request (its Go client's
//! exact calls, docs vault-api.md §8.6) against `arca server -dev` and `bao server -dev`, and
//! the answers compared:
//!
//! * pull (ExternalSecret): metadata written before the secret, then a read-only policy token
//!   validated with `lookup-self`, data read through `data/` with and without `?version=`,
//!   `metadata/` for custom metadata, `GET ?list=true` to find keys, a deleted version seen
//!   as `data.data == null`, and a KV v1 read;
//! * push (PushSecret): `GET data`, `GET metadata`, metadata with `managed-by` before any data,
//!   data with `options.cas` taken from `current_version`, a stale CAS refused, a key with
//!   `cas_required`, then DeleteSecret (`DELETE data`, `DELETE metadata`).

use std::collections::HashMap;

use arca_test_support::JsonDiff;
use serde_json::{Value, json};

use crate::compat_common::{arca_dev, bao_dev, http, py};
use crate::compat_kv_cli::normalise_times;
use crate::support::client;

const TOKEN: &str = "compat-eso-root";

const READER_POLICY: &str = r#"
path "secret/data/*" { capabilities = ["read"] }
path "secret/metadata/*" { capabilities = ["read", "list"] }
path "kv1/*" { capabilities = ["read", "list"] }
"#;

const PUSHER_POLICY: &str = r#"
path "secret/data/push/*" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/push/*" { capabilities = ["create", "read", "update", "delete", "list"] }
"#;

/// Who sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum As {
    Root,
    Reader,
    Pusher,
}

/// How the two answers must agree.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Same status, same body (ids masked, timestamps normalised).
    Same,
    /// Same status and an `errors` array on both: OpenBao wraps permission errors in Go's
    /// multierror text ("1 error occurred:\n\t* permission denied\n\n"), and words type
    /// errors in its Go decoder's terms.
    SameStatus,
    /// Same status only (the bodies differ; the caller says why).
    StatusOnly,
    /// A known difference in status: (Arca's, OpenBao's).
    Status(u16, u16),
}

/// One server: its address and its tokens by role.
struct Target {
    addr: String,
    tokens: HashMap<As, String>,
}

struct Eso {
    c: reqwest::Client,
    arca: Target,
    openbao: Target,
    cmp: JsonDiff,
}

impl Eso {
    async fn send(&self, t: &Target, who: As, req: &str, body: Option<&Value>) -> (u16, Value) {
        let (method, path) = req.split_once(' ').unwrap();
        let token = &t.tokens[&who];
        // What the Go api client sends with every request, and its JSONMergePatch type.
        let mut headers = vec![
            ("X-Vault-Token", token.as_str()),
            ("X-Vault-Request", "true"),
        ];
        if method == "PATCH" {
            headers.push(("Content-Type", "application/merge-patch+json"));
        }
        let body = body.map(Value::to_string);
        let url = format!("{}/v1/{path}", t.addr);
        let (s, mut j, _) = http(&self.c, method, &url, &headers, body.as_deref()).await;
        normalise_times(&mut j);
        (s, j)
    }

    /// Sends `req` (`"METHOD path"`) as `who` to both servers, compares, and returns Arca's
    /// status and body.
    async fn check(&self, who: As, req: &str, body: Option<Value>, expect: Expect) -> (u16, Value) {
        let (sa, ja) = self.send(&self.arca, who, req, body.as_ref()).await;
        let (sb, jb) = self.send(&self.openbao, who, req, body.as_ref()).await;
        let ctx = || format!("{who:?} {req}: arca {sa} {ja} / openbao {sb} {jb}");
        if let Expect::Status(a, b) = expect {
            assert_eq!((sa, sb), (a, b), "{}", ctx());
            return (sa, ja);
        }
        assert_eq!(sa, sb, "{}", ctx());
        match expect {
            Expect::Same => self.cmp.assert_matches(&ctx(), &ja, &jb, &[]),
            Expect::SameStatus => assert!(
                ja["errors"].is_array() && jb["errors"].is_array(),
                "{}",
                ctx()
            ),
            Expect::StatusOnly | Expect::Status(..) => {}
        }
        (sa, ja)
    }

    async fn same(&self, who: As, req: &str, body: Option<Value>) -> (u16, Value) {
        self.check(who, req, body, Expect::Same).await
    }

    /// Creates a token with `policy` on both servers for `who`.
    async fn token(&mut self, who: As, policy: &str) {
        let body = json!({"policies": [policy], "ttl": "1h"});
        for t in [&mut self.arca, &mut self.openbao] {
            let root = [("X-Vault-Token", TOKEN)];
            let url = format!("{}/v1/auth/token/create", t.addr);
            let (s, j, _) = http(&self.c, "POST", &url, &root, Some(&body.to_string())).await;
            assert_eq!(s, 200, "{j}");
            let tok = j["auth"]["client_token"].as_str().unwrap().to_owned();
            t.tokens.insert(who, tok);
        }
    }
}

fn pair(arca: &str, openbao: &str) -> Eso {
    let target = |addr: &str| Target {
        addr: addr.to_owned(),
        tokens: HashMap::from([(As::Root, TOKEN.to_owned())]),
    };
    Eso {
        c: client(),
        arca: target(arca),
        openbao: target(openbao),
        // Token ids, accessors and creation times differ by nature; the remaining TTL can
        // differ by a second between the two servers.
        cmp: JsonDiff::new().mask(&["request_id", "accessor", "id", "creation_time", "ttl"]),
    }
}

#[tokio::test]
async fn external_secrets_operator_requests_match_openbao() {
    let Some(py) = py() else { return };
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    let mut e = pair(&arca.addr, &openbao.addr);
    use As::*;

    // Setup: policies, tokens, a KV v1 mount.
    for (name, policy) in [("eso-reader", READER_POLICY), ("eso-pusher", PUSHER_POLICY)] {
        let path = format!("PUT sys/policies/acl/{name}");
        let (s, _) = e.same(Root, &path, Some(json!({"policy": policy}))).await;
        assert_eq!(s, 204);
    }
    e.token(Reader, "eso-reader").await;
    e.token(Pusher, "eso-pusher").await;
    let v1 = json!({"type": "kv", "options": {"version": "1"}});
    e.same(Root, "POST sys/mounts/kv1", Some(v1)).await;

    // ---- Pull: an operator writes metadata first, then versions of the secret. ----
    let meta =
        json!({"custom_metadata": {"owner": "team-a", "rotation": "30d"}, "max_versions": 5});
    let (s, _) = e
        .same(Root, "PUT secret/metadata/team/db", Some(meta))
        .await;
    assert_eq!(s, 204);
    let (_, m) = e.same(Root, "GET secret/metadata/team/db", None).await;
    assert_eq!(
        (&m["data"]["current_version"], &m["data"]["versions"]),
        (&json!(0), &json!({}))
    );
    for pass in ["s3cret-1", "s3cret-2"] {
        let body = json!({"data": {"user": "app", "password": pass}, "options": {}});
        let (s, _) = e.same(Root, "PUT secret/data/team/db", Some(body)).await;
        assert_eq!(s, 200);
    }
    let api = json!({"data": {"key": "k-1", "nested": {"a": 1}}});
    e.same(Root, "PUT secret/data/team/api", Some(api)).await;
    let kv1 = json!({"user": "legacy", "ttl": "10m"});
    e.same(Root, "PUT kv1/team/db", Some(kv1)).await;

    // The read-only token: validated before reuse (service type, TTL, expiry).
    let (s, t) = e.same(Reader, "GET auth/token/lookup-self", None).await;
    assert_eq!(s, 200);
    assert_eq!(t["data"]["type"], "service");
    assert!(t["data"]["ttl"].as_u64().is_some_and(|n| n > 60));
    assert_eq!(t["data"]["expire_time"], "<time>");
    assert_eq!(t["data"]["policies"], json!(["default", "eso-reader"]));

    // Data through data/, latest and by version.
    let (s, d) = e.same(Reader, "GET secret/data/team/db", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        d["data"]["data"],
        json!({"user": "app", "password": "s3cret-2"})
    );
    assert_eq!(d["data"]["metadata"]["custom_metadata"]["owner"], "team-a");
    let (_, d) = e
        .same(Reader, "GET secret/data/team/db?version=1", None)
        .await;
    assert_eq!(d["data"]["data"]["password"], "s3cret-1");
    let (_, d) = e
        .same(Reader, "GET secret/data/team/db?version=2", None)
        .await;
    assert_eq!(d["data"]["metadata"]["version"], 2);
    // version=0 means the latest.
    let (_, d) = e
        .same(Reader, "GET secret/data/team/db?version=0", None)
        .await;
    assert_eq!(d["data"]["metadata"]["version"], 2);
    let (_, d) = e.same(Reader, "GET secret/data/team/api", None).await;
    assert_eq!(d["data"]["data"]["nested"], json!({"a": 1}));
    // metadataPolicy: Fetch — custom metadata values are strings.
    let (_, m) = e.same(Reader, "GET secret/metadata/team/db", None).await;
    assert_eq!(
        m["data"]["custom_metadata"],
        json!({"owner": "team-a", "rotation": "30d"})
    );
    // dataFrom.find: recursive listing with the Go client's GET ?list=true.
    let (_, l) = e.same(Reader, "GET secret/metadata/?list=true", None).await;
    assert_eq!(l["data"]["keys"], json!(["team/"]));
    let (_, l) = e
        .same(Reader, "GET secret/metadata/team/?list=true", None)
        .await;
    assert_eq!(l["data"]["keys"], json!(["api", "db"]));
    e.same(Reader, "GET secret/metadata/team?list=true", None)
        .await;
    e.same(Reader, "GET secret/metadata/none/?list=true", None)
        .await; // 404
    // Not found.
    let (s, _) = e.same(Reader, "GET secret/data/team/missing", None).await;
    assert_eq!(s, 404);
    e.same(Reader, "GET secret/data/team/db?version=9", None)
        .await; // 404
    e.same(Reader, "GET secret/metadata/team/missing", None)
        .await; // 404
    // KV v1 (`version: v1` stores).
    let (_, d) = e.same(Reader, "GET kv1/team/db", None).await;
    assert_eq!(d["lease_duration"], 600);
    e.same(Reader, "GET kv1/team/?list=true", None).await;
    // The token cannot write, delete or read other mounts.
    let denied = Expect::SameStatus;
    let body = json!({"data": {"x": "y"}});
    let (s, _) = e
        .check(Reader, "PUT secret/data/team/db", Some(body), denied)
        .await;
    assert_eq!(s, 403);
    e.check(Reader, "DELETE secret/data/team/db", None, denied)
        .await;
    e.check(Reader, "DELETE secret/metadata/team/db", None, denied)
        .await;
    let versions = json!({"versions": [1]});
    e.check(Reader, "PUT secret/destroy/team/db", Some(versions), denied)
        .await;
    e.check(Reader, "GET cubbyhole/x", None, Expect::Same).await; // default policy: 404

    // A deleted latest version: a 404 whose envelope has data.data == null (ESO: "not
    // found"), while older versions stay readable; undelete brings it back.
    e.same(Root, "DELETE secret/data/team/db", None).await;
    let (s, d) = e.same(Reader, "GET secret/data/team/db", None).await;
    assert_eq!(s, 404);
    assert_eq!(d["data"]["data"], Value::Null);
    assert_eq!(d["data"]["metadata"]["deletion_time"], "<time>");
    let (s, _) = e
        .same(Reader, "GET secret/data/team/db?version=1", None)
        .await;
    assert_eq!(s, 200);
    let undelete = json!({"versions": [2]});
    e.same(Root, "POST secret/undelete/team/db", Some(undelete))
        .await;
    let (s, _) = e.same(Reader, "GET secret/data/team/db", None).await;
    assert_eq!(s, 200);
    // Destroyed: also a 404 envelope, with destroyed = true.
    let destroy = json!({"versions": ["1"]});
    e.same(Root, "PUT secret/destroy/team/db", Some(destroy))
        .await;
    let (s, d) = e
        .same(Reader, "GET secret/data/team/db?version=1", None)
        .await;
    assert_eq!(
        (s, &d["data"]["metadata"]["destroyed"]),
        (404, &json!(true))
    );

    // ---- Push: PushSecret for a new key. ----
    let (s, _) = e.same(Pusher, "GET secret/data/push/app", None).await;
    assert_eq!(s, 404);
    let (s, _) = e.same(Pusher, "GET secret/metadata/push/app", None).await;
    assert_eq!(s, 404);
    let managed = json!({"custom_metadata": {"managed-by": "external-secrets"}});
    let (s, _) = e
        .same(
            Pusher,
            "PUT secret/metadata/push/app",
            Some(managed.clone()),
        )
        .await;
    assert_eq!(s, 204);
    let (_, m) = e.same(Pusher, "GET secret/metadata/push/app", None).await;
    assert_eq!(m["data"]["current_version"], 0);
    // checkAndSet.required: cas = current_version (0 for a new key).
    let body = json!({"data": {"token": "t-1"}, "options": {"cas": 0}});
    let (s, d) = e.same(Pusher, "PUT secret/data/push/app", Some(body)).await;
    assert_eq!((s, &d["data"]["version"]), (200, &json!(1)));
    assert_eq!(
        d["data"]["custom_metadata"],
        json!({"managed-by": "external-secrets"})
    );
    // The next push: read data and metadata, refresh managed-by, write with cas.
    e.same(Pusher, "GET secret/data/push/app", None).await;
    let (_, m) = e.same(Pusher, "GET secret/metadata/push/app", None).await;
    assert_eq!(m["data"]["current_version"], 1);
    e.same(
        Pusher,
        "PUT secret/metadata/push/app",
        Some(managed.clone()),
    )
    .await;
    let body = json!({"data": {"token": "t-2"}, "options": {"cas": 1}});
    let (_, d) = e.same(Pusher, "PUT secret/data/push/app", Some(body)).await;
    assert_eq!(d["data"]["version"], 2);
    // A concurrent writer's stale cas is refused.
    let body = json!({"data": {"token": "t-x"}, "options": {"cas": 1}});
    let (s, d) = e.same(Pusher, "PUT secret/data/push/app", Some(body)).await;
    assert_eq!(
        (s, &d["errors"]),
        (
            400,
            &json!(["check-and-set parameter did not match the current version"])
        )
    );
    // Without checkAndSet: no options at all.
    let body = json!({"data": {"token": "t-3"}});
    let (_, d) = e.same(Pusher, "PUT secret/data/push/app", Some(body)).await;
    assert_eq!(d["data"]["version"], 3);
    // A key whose metadata requires CAS.
    let strict =
        json!({"custom_metadata": {"managed-by": "external-secrets"}, "cas_required": true});
    e.same(Pusher, "PUT secret/metadata/push/strict", Some(strict))
        .await;
    let body = json!({"data": {"a": "b"}});
    let (s, _) = e
        .same(Pusher, "PUT secret/data/push/strict", Some(body))
        .await;
    assert_eq!(s, 400);
    let body = json!({"data": {"a": "b"}, "options": {"cas": 0}});
    let (s, _) = e
        .same(Pusher, "PUT secret/data/push/strict", Some(body))
        .await;
    assert_eq!(s, 200);
    // A key someone else owns: ESO reads its metadata and refuses (no managed-by).
    let foreign = json!({"data": {"mine": "yes"}});
    e.same(Root, "PUT secret/data/push/foreign", Some(foreign))
        .await;
    let (_, m) = e
        .same(Pusher, "GET secret/metadata/push/foreign", None)
        .await;
    assert_eq!(m["data"]["custom_metadata"], Value::Null);
    // The pusher cannot touch anything outside push/.
    let body = json!({"data": {"x": "y"}});
    e.check(Pusher, "PUT secret/data/team/db", Some(body), denied)
        .await;
    e.check(Pusher, "PUT secret/metadata/team/db", Some(managed), denied)
        .await;

    // DeleteSecret: data, then metadata.
    let (s, _) = e.same(Pusher, "DELETE secret/data/push/app", None).await;
    assert_eq!(s, 204);
    let (s, _) = e
        .same(Pusher, "DELETE secret/metadata/push/app", None)
        .await;
    assert_eq!(s, 204);
    let (s, _) = e.same(Pusher, "GET secret/metadata/push/app", None).await;
    assert_eq!(s, 404);
    e.same(Pusher, "GET secret/metadata/push/?list=true", None)
        .await;
}

/// KV v2 HTTP details beyond ESO's requests: automatic deletion, subkeys, detailed metadata,
/// input checking. Each difference is asserted where it occurs; the deliberate ones are in
/// docs/compatibility.md.
#[tokio::test]
async fn kv2_http_details_match_openbao() {
    let Some(py) = py() else { return };
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    let e = pair(&arca.addr, &openbao.addr);
    use As::Root;
    use Expect::*;
    let merge = |v: Value| Some(v);

    // delete_version_after on the key: versions written afterwards are soft-deleted by time;
    // undelete restarts the clock. One second of waiting.
    e.same(
        Root,
        "PUT secret/data/t/x",
        Some(json!({"data": {"a": "1"}})),
    )
    .await;
    let dva = json!({"delete_version_after": "1s"});
    e.same(Root, "POST secret/metadata/t/x", Some(dva)).await;
    e.same(Root, "GET secret/data/t/x", None).await; // version 1 keeps no deletion time
    let (_, d) = e
        .same(
            Root,
            "PUT secret/data/t/x",
            Some(json!({"data": {"a": "2"}})),
        )
        .await;
    assert_eq!(d["data"]["deletion_time"], "<time>");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let (s, d) = e.same(Root, "GET secret/data/t/x", None).await;
    assert_eq!((s, &d["data"]["data"]), (404, &Value::Null));
    e.same(Root, "GET secret/subkeys/t/x", None).await; // 404 envelope, subkeys null
    e.same(Root, "GET secret/data/t/x?version=1", None).await;
    // A merge patch of an expired version: 404 with the version's metadata as data.
    e.check(
        Root,
        "PATCH secret/data/t/x",
        merge(json!({"data": {"a": "3"}})),
        Same,
    )
    .await;
    // A longer clock first, so the undeleted version cannot expire before it is read.
    let dva = json!({"delete_version_after": "1h"});
    e.same(Root, "POST secret/metadata/t/x", Some(dva)).await;
    let undelete = json!({"versions": [2]});
    e.same(Root, "POST secret/undelete/t/x", Some(undelete))
        .await;
    let (s, _) = e.same(Root, "GET secret/data/t/x", None).await;
    assert_eq!(s, 200);

    // Merge patch: null removes a key; metadata patch removes custom metadata keys.
    e.same(
        Root,
        "PUT secret/data/p/x",
        Some(json!({"data": {"a": "1", "b": {"c": 2}}})),
    )
    .await;
    let patch = json!({"data": {"a": null, "z": "1"}, "options": {"cas": 1}});
    e.same(Root, "PATCH secret/data/p/x", merge(patch)).await;
    let (_, d) = e.same(Root, "GET secret/data/p/x", None).await;
    assert_eq!(d["data"]["data"], json!({"b": {"c": 2}, "z": "1"}));
    let stale = json!({"data": {"a": "1"}, "options": {"cas": 1}});
    e.same(Root, "PATCH secret/data/p/x", merge(stale)).await; // 400
    let cm = json!({"custom_metadata": {"a": "1", "b": "2"}});
    e.same(Root, "PATCH secret/metadata/p/x", merge(cm)).await;
    let cm = json!({"custom_metadata": {"a": null}, "max_versions": 7});
    e.same(Root, "PATCH secret/metadata/p/x", merge(cm)).await;
    let (_, m) = e.same(Root, "GET secret/metadata/p/x", None).await;
    assert_eq!(m["data"]["custom_metadata"], json!({"b": "2"}));
    e.same(Root, "GET secret/subkeys/p/x?depth=1", None).await;
    e.same(Root, "GET secret/subkeys/p/x?version=1", None).await;
    e.same(Root, "GET secret/subkeys/p/nope", None).await;
    e.same(Root, "LIST secret/detailed-metadata/p", None).await;
    e.same(Root, "LIST secret/detailed-metadata/", None).await;
    e.same(Root, "GET secret/metadata/p/?list=true", None).await;

    // metadata_cas.
    let m = json!({"max_versions": "3", "metadata_cas": 0});
    e.same(Root, "POST secret/metadata/p/m", Some(m)).await;
    let m = json!({"max_versions": 4, "metadata_cas": 0});
    e.same(Root, "POST secret/metadata/p/m", Some(m)).await; // 400
    let m = json!({"max_versions": 4, "metadata_cas": 1});
    e.same(Root, "POST secret/metadata/p/m", Some(m)).await;

    // Versions as a comma string or mixed list; missing versions.
    let v = json!({"versions": "1,2"});
    e.same(Root, "POST secret/delete/p/x", Some(v)).await;
    let v = json!({"versions": ["1", 2]});
    e.same(Root, "POST secret/undelete/p/x", Some(v)).await;
    e.same(Root, "POST secret/delete/p/x", Some(json!({})))
        .await; // 400
    e.same(Root, "POST secret/destroy/p/x", Some(json!({})))
        .await; // 400

    // Paths and parameters.
    e.same(Root, "GET secret/metadata", None).await; // 404 + warning
    e.same(Root, "GET secret/data", None).await;
    e.same(Root, "GET secret/data/", None).await;
    e.same(Root, "GET secret/p/x", None).await; // v1-style path on v2: 404 + warning
    e.same(
        Root,
        "PUT secret/data/p/y/",
        Some(json!({"data": {"a": "1"}})),
    )
    .await; // 400
    e.same(
        Root,
        "PUT secret/data/p/w",
        Some(json!({"data": {"a": "3"}, "unknown": 1})),
    )
    .await; // 200 + warning
    e.same(Root, "GET secret/data/p/w?foo=1", None).await; // warning
    // A negative version: OpenBao reads the latest, Arca refuses it (docs/compatibility.md).
    e.check(
        Root,
        "GET secret/data/p/w?version=-1",
        None,
        Expect::Status(400, 200),
    )
    .await;
    let options = json!({"data": {"a": "1"}, "options": {"cas": "1"}});
    e.same(Root, "PUT secret/data/p/w", Some(options)).await; // cas as a string
    e.same(Root, "PUT secret/data/p/w", Some(json!({"foo": 1})))
        .await; // 400 no data
    e.same(Root, "PUT secret/data/p/w", Some(json!({"data": {}})))
        .await;
    e.same(
        Root,
        "POST secret/config",
        Some(json!({"max_versions": "5", "delete_version_after": "-5s"})),
    )
    .await;
    let (_, c) = e.same(Root, "GET secret/config", None).await;
    assert_eq!(c["data"]["delete_version_after"], "-1s");
    e.same(
        Root,
        "POST secret/config",
        Some(json!({"max_versions": 0, "delete_version_after": "0s"})),
    )
    .await;
    e.same(
        Root,
        "PUT secret/data/sp ace/%C3%BC",
        Some(json!({"data": {"a": "1"}})),
    )
    .await;
    e.same(Root, "LIST secret/metadata/sp%20ace", None).await;

    // Same status, different wording: OpenBao's type errors are its Go decoder's text and
    // quote the value; Arca's say what was expected and never echo input.
    for (req, body) in [
        ("PUT secret/data/p/w", json!({"data": "str"})),
        (
            "PUT secret/data/p/w",
            json!({"data": {"a": "3"}, "options": "bad"}),
        ),
        ("POST secret/delete/p/w", json!({"versions": ["a"]})),
        (
            "POST secret/metadata/p/w",
            json!({"delete_version_after": "abc"}),
        ),
        (
            "POST secret/metadata/p/w",
            json!({"delete_version_after": "-1s"}),
        ),
        ("POST secret/metadata/p/w", json!({"custom_metadata": "x"})),
        ("POST secret/metadata/p/w", json!({"cas_required": "yes"})),
        // OpenBao quotes the key: "length of value for key \"a\" is 0".
        (
            "POST secret/metadata/p/w",
            json!({"custom_metadata": {"a": null}}),
        ),
    ] {
        let (s, _) = e.check(Root, req, Some(body), SameStatus).await;
        assert_eq!(s, 400, "{req}");
    }
    e.check(Root, "GET secret/data/p/w?version=abc", None, SameStatus)
        .await;

    // Gap in arca-http (reported): a merge patch of a key that does not exist is a 404 on
    // both, with an empty body from OpenBao and {"errors":[]} from Arca.
    let patch = json!({"data": {"a": "1"}});
    let (s, b) = e
        .check(Root, "PATCH secret/data/p/nope", merge(patch), StatusOnly)
        .await;
    assert_eq!((s, b), (404, json!({"errors": []})));
    let patch = json!({"custom_metadata": {"a": "1"}});
    e.check(
        Root,
        "PATCH secret/metadata/p/nope",
        merge(patch),
        StatusOnly,
    )
    .await;

    // Deliberate differences (docs/compatibility.md):
    // - `"data": null` is refused; OpenBao stores a live version whose data is null (which ESO
    //   then reads as "not found", and which OpenBao's own patch then fails on with a 500).
    let null = json!({"data": null});
    let (_, b) = e
        .check(
            Root,
            "PUT secret/data/n/x",
            Some(null.clone()),
            Status(400, 200),
        )
        .await;
    assert_eq!(b["errors"], json!(["no data provided"]));
    e.same(
        Root,
        "PUT secret/data/n/y",
        Some(json!({"data": {"a": "1"}})),
    )
    .await;
    e.check(Root, "PATCH secret/data/n/y", merge(null), Status(400, 200))
        .await;
    // - A negative max_versions is refused; OpenBao wraps it to 4294967295.
    let neg = json!({"max_versions": -1});
    e.check(
        Root,
        "POST secret/metadata/n/y",
        Some(neg),
        Status(400, 204),
    )
    .await;
}
