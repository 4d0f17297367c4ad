//! Differential tests of ACL policies and the mount table as clients see them: `bao policy
//! …`, `sys/policy*` and `sys/policies/acl*` through `bao read/write/list/delete`, hvac
//! `sys.*policy*` and `sys.get_capabilities`, `bao secrets …`, `bao auth …`, `sys/mounts*`,
//! `sys/auth*` and the KV preflight `sys/internal/ui/mounts/<path>` — against OpenBao 2.7.2.
//!
//! The list of differences at each assertion says why it exists: "deliberate" (Arca on
//! purpose) or "gap" (reported; a fix makes the test fail and the entry goes).

use serde_json::{Value, json};

use crate::compat_tokens::{Duo, ROOT, Tok, norm_err, settle_ttls, token_mask};

const RO_POLICY: &str = r#"# read-only on one subtree
path "secret/data/ro/*" {
  capabilities = ["read", "list"]
}

path "secret/data/deny/*" {
    capabilities = ["deny"]
}
"#;

/// Each server reports its own product version here. Deliberate.
const PLUGIN_VERSION: &str = "running_plugin_version";

#[test]
fn cli_policy_commands_match_openbao() {
    let Some(d) = Duo::start() else { return };
    let root = Tok::root();
    let r = Some(&root);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ro.hcl");
    std::fs::write(&file, RO_POLICY).unwrap();
    let file = file.to_str().unwrap();

    d.same_text(r, None, &["policy", "write", "ro", file]);
    d.same_text(r, None, &["policy", "read", "ro"]);
    let read = d.same(r, None, &["policy", "read", "-format=json", "ro"], &[]);
    assert_eq!(read["policy"], RO_POLICY);
    d.same_error(r, None, &["policy", "read", "root"]);
    d.same_text(r, None, &["policy", "list"]);
    let list = d.same(r, None, &["policy", "list", "-format=json"], &[]);
    assert_eq!(list, json!(["default", "ro", "root"]));
    // The built-in default policy: Arca ships its own text (not OpenBao's); what it grants is
    // compared below through capabilities. Deliberate.
    let (a, b) = d.json(r, None, &["policy", "read", "-format=json", "default"], 0);
    assert_ne!(a["policy"], b["policy"]);
    d.same_error(r, None, &["policy", "read", "nope"]);

    // The same through the sys paths, new and legacy.
    d.same(
        r,
        None,
        &["read", "-format=json", "sys/policies/acl/ro"],
        &[],
    );
    d.same(r, None, &["read", "-format=json", "sys/policy/ro"], &[]);
    d.same(r, None, &["list", "-format=json", "sys/policies/acl"], &[]);
    d.same(r, None, &["read", "-format=json", "sys/policy"], &[]);
    d.same_error(r, None, &["read", "sys/policies/acl/nope"]);
    let inline = r#"policy=path "a/*" { capabilities = ["read"] }"#;
    d.same_text(r, None, &["write", "sys/policies/acl/viaw", inline]);
    // Names are lower-cased.
    d.same_text(r, None, &["write", "sys/policies/acl/Upper", inline]);
    d.same(
        r,
        None,
        &["read", "-format=json", "sys/policies/acl/upper"],
        &[],
    );
    // Legacy `rules`, accepted with a deprecation warning on sys/policy.
    let rules = r#"rules=path "b/*" { capabilities = ["list"] }"#;
    d.same(
        r,
        None,
        &["write", "-format=json", "sys/policy/legacy", rules],
        &[],
    );
    d.same(r, None, &["read", "-format=json", "sys/policy/legacy"], &[]);
    // Check-and-set.
    d.same(
        r,
        None,
        &["read", "-format=json", "sys/policies/acl/viaw"],
        &[],
    );
    d.same_text(
        r,
        None,
        &["write", "sys/policies/acl/viaw", inline, "cas=1"],
    );
    d.same_error(
        r,
        None,
        &["write", "sys/policies/acl/viaw", inline, "cas=7"],
    );
    // What may not be written or deleted.
    for args in [
        &["write", "sys/policies/acl/root", inline][..],
        &["write", "sys/policies/acl/response-wrapping", inline],
        &["write", "sys/policies/acl/empty", "policy="],
        &["policy", "delete", "root"],
        &["policy", "delete", "default"],
    ] {
        d.same_error(r, None, args);
    }
    // A bad policy is refused by both; Arca names the stanza without echoing the input
    // (deliberate) — and says "failed to parse policy:" twice: a gap, left out here and
    // reported.
    for body in [
        r#"policy=path "a/*" { capabilities = ["reed"] }"#,
        "policy=not hcl {",
    ] {
        let (a, b) = d.both_fail(r, None, &["write", "sys/policies/acl/bad", body]);
        assert!(
            a.contains("Code: 400.") && b.contains("Code: 400."),
            "{a}\n{b}"
        );
    }
    d.same_error(r, None, &["read", "sys/policies/acl/bad"]);

    // Deletion, idempotent.
    d.same_text(r, None, &["policy", "delete", "viaw"]);
    d.same_text(r, None, &["policy", "delete", "viaw"]);
    d.same_text(r, None, &["delete", "sys/policies/acl/upper"]);
    d.same_text(r, None, &["delete", "sys/policy/legacy"]);
    let list = d.same(r, None, &["list", "-format=json", "sys/policies/acl"], &[]);
    assert_eq!(list, json!(["default", "ro", "root"]));

    // `bao policy fmt` rewrites the file on the client; the result uploads and reads back
    // the same on both.
    d.py.bao(&d.arca.addr, None, &["policy", "fmt", file])
        .map(|o| assert_eq!(o.code, 0, "{}", o.stderr))
        .unwrap();
    let formatted = std::fs::read_to_string(file).unwrap();
    assert_ne!(formatted, RO_POLICY);
    d.same_text(r, None, &["policy", "write", "ro", file]);
    let read = d.same(r, None, &["policy", "read", "-format=json", "ro"], &[]);
    assert_eq!(read["policy"], formatted);

    // Capabilities a policy grants, on both: the ro policy, and the default policy whose
    // text differs.
    let t = d.create(&root, &["-policy=ro"], &[]);
    let paths = [
        "secret/data/ro/x",
        "secret/data/ro",
        "secret/data/deny/x",
        "secret/data/other",
        "sys/mounts",
        "auth/token/lookup-self",
        "auth/token/renew-self",
        "auth/token/revoke-self",
        "auth/token/create",
        "sys/capabilities-self",
        "sys/leases/renew",
        "sys/leases/lookup",
        "cubbyhole/any/thing",
        "sys/wrapping/wrap",
        "sys/wrapping/lookup",
        "sys/wrapping/unwrap",
        "sys/tools/hash",
        "sys/tools/hash/sha2-256",
        "sys/internal/ui/resultant-acl",
        "identity/oidc/provider/p/authorize",
        "identity/entity/id/x",
        "sys/policies/acl/ro",
    ];
    // All paths in one request, and one through the CLI's own command.
    let arg = format!("paths={}", paths.join(","));
    let caps = d.same(
        Some(&t),
        None,
        &["write", "-format=json", "sys/capabilities-self", &arg],
        &[],
    );
    assert_eq!(caps["data"]["secret/data/ro/x"], json!(["list", "read"]));
    assert_eq!(caps["data"]["secret/data/deny/x"], json!(["deny"]));
    assert_eq!(
        caps["data"]["cubbyhole/any/thing"],
        json!(["create", "delete", "list", "read", "update"])
    );
    d.same(
        Some(&t),
        None,
        &["token", "capabilities", "-format=json", "secret/data/ro/x"],
        &[],
    );
}

/// hvac 2.4.0's `sys` policy calls and `sys.get_capabilities`.
const HVAC_POLICIES: &str = r#"
out = {}
def rec(name, f):
    try:
        r = f()
        out[name] = {"status": r.status_code} if hasattr(r, "status_code") else r
    except Exception as e:
        out[name] = {"exception": type(e).__name__, "errors": getattr(e, "errors", None)}
    return out[name]
s = client.sys
hcl = 'path "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n'
rec("create_or_update_policy", lambda: s.create_or_update_policy("app", hcl))
rec("create_or_update_policy_dict", lambda: s.create_or_update_policy("appjson", {"path": {"kv/*": {"capabilities": ["create", "update"]}}}))
rec("read_policy", lambda: s.read_policy("app"))
rec("read_policy_dict", lambda: s.read_policy("appjson"))
rec("get_policy", lambda: client.get_policy("app"))
rec("get_policy_missing", lambda: client.get_policy("missing"))
rec("list_policies", s.list_policies)
rec("create_or_update_acl_policy", lambda: s.create_or_update_acl_policy("acl1", hcl))
rec("read_acl_policy", lambda: s.read_acl_policy("acl1"))
rec("list_acl_policies", s.list_acl_policies)
rec("read_policy_missing", lambda: s.read_policy("missing"))
rec("bad_policy", lambda: s.create_or_update_policy("bad", 'path "x" { capabilities = ["reed"] }'))
tok = client.auth.token.create(policies=["app"], ttl="10m")["auth"]
rec("caps_other", lambda: s.get_capabilities(["secret/data/app/x", "kv/y"], token=tok["client_token"]))
rec("caps_accessor", lambda: s.get_capabilities(["secret/data/app/x"], accessor=tok["accessor"]))
rec("caps_self", lambda: s.get_capabilities(["secret/data/app/x", "sys/mounts"]))
rec("caps_bad_token", lambda: s.get_capabilities(["a"], token="s.nope"))
client.token = tok["client_token"]
rec("caps_as_app", lambda: s.get_capabilities(["secret/data/app/x"]))
rec("list_policies_as_app", s.list_policies)
client.token = os.environ["ARCA_HVAC_TOKEN"]
rec("delete_policy", lambda: s.delete_policy("app"))
rec("delete_acl_policy", lambda: s.delete_acl_policy("acl1"))
rec("delete_policy_root", lambda: s.delete_policy("root"))
rec("list_after", s.list_policies)
print(json.dumps(out))
"#;

#[test]
fn hvac_policy_calls_match_openbao() {
    let Some(d) = Duo::start() else { return };
    let run = |addr: &str| -> Value {
        let out =
            d.py.hvac(addr, Some(ROOT), HVAC_POLICIES)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.code, 0, "hvac script against {addr}: {}", out.stderr);
        out.json().unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
    };
    let a = run(&d.arca.addr);
    let mut b = run(&d.openbao.addr);
    settle_ttls(&a, &mut b);

    assert_eq!(a["create_or_update_policy"], json!({"status": 204}));
    assert_eq!(
        a["read_policy"]["data"]["rules"],
        "path \"secret/data/app/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n"
    );
    assert_eq!(a["get_policy_missing"], Value::Null);
    assert_eq!(a["read_policy_missing"]["exception"], "InvalidPath");
    assert_eq!(a["bad_policy"]["exception"], "InvalidRequest");
    assert_eq!(
        a["caps_other"]["data"]["secret/data/app/x"],
        json!(["list", "read"])
    );
    assert_eq!(a["caps_other"]["data"]["kv/y"], json!(["deny"]));
    assert_eq!(a["caps_self"]["data"]["sys/mounts"], json!(["root"]));
    assert_eq!(a["list_policies_as_app"]["exception"], "Forbidden");
    assert_eq!(a["delete_policy_root"]["exception"], "InvalidRequest");
    assert_eq!(
        a["list_after"]["data"]["keys"],
        json!(["appjson", "default", "root"])
    );

    token_mask().assert_matches(
        "hvac sys policies",
        &a,
        &b,
        &[
            // Arca does not echo the offending input in parse errors. Deliberate.
            ("/bad_policy/errors/0", "parse error wording"),
            // OpenBao wraps ACL denials in Go's multierror text. Wording.
            ("/list_policies_as_app/errors/0", "multierror wording"),
            ("/caps_bad_token/errors/0", "multierror wording"),
        ],
    );
}

#[test]
fn cli_mounts_and_preflight_match_openbao() {
    let Some(d) = Duo::start() else { return };
    let root = Tok::root();
    let r = Some(&root);
    let cmp = token_mask().mask(&[PLUGIN_VERSION, "uuid", "migration_id"]);
    let same = |args: &[&str], known: &[(&str, &str)]| -> Value {
        let (a, b) = d.json(r, None, args, 0);
        cmp.assert_matches(&format!("bao {args:?}"), &a, &b, known);
        a
    };
    // The built-in mounts' configuration: OpenBao passes the Authorization header through
    // to identity/ and Accept to sys/. Gap, reported.
    const BUILTIN_HEADERS: &[(&str, &str)] = &[
        (
            "/identity~1/config/passthrough_request_headers",
            "built-in passthrough headers",
        ),
        (
            "/sys~1/config/passthrough_request_headers",
            "built-in passthrough headers",
        ),
    ];
    same(&["secrets", "list", "-format=json"], BUILTIN_HEADERS);
    same(&["auth", "list", "-format=json"], &[]);
    same(&["read", "-format=json", "sys/auth/token"], &[]);
    same(&["read", "-format=json", "sys/mounts/secret/tune"], &[]);

    // Enable, in the CLI's forms.
    for args in [
        &["secrets", "enable", "-path=kv1", "-description=my kv", "kv"][..],
        &["secrets", "enable", "-path=kv2", "-version=2", "kv"],
        &["secrets", "enable", "kv-v2"],
        &[
            "secrets",
            "enable",
            "-path=kvo",
            "-default-lease-ttl=1h",
            "-max-lease-ttl=2h",
            "-listing-visibility=unauth",
            "-options=foo=bar",
            "kv",
        ],
        &[
            "write",
            "sys/mounts/kvx",
            "type=kv",
            "options=version=2",
            "description=x",
        ],
    ] {
        d.same_text(r, None, args);
    }
    // A KV v1 mount without options: OpenBao keeps `options` null, Arca stores `{}`. Gap,
    // reported.
    same(
        &["read", "-format=json", "sys/mounts"],
        &[
            (
                "/data/identity~1/config/passthrough_request_headers",
                "built-in passthrough headers",
            ),
            (
                "/data/sys~1/config/passthrough_request_headers",
                "built-in passthrough headers",
            ),
            (
                "/data/kv1~1/options",
                "options {} for an unversioned kv mount",
            ),
        ],
    );
    same(&["read", "-format=json", "sys/mounts/kvo"], &[]);
    // Errors: taken, reserved, unknown type.
    for args in [
        &["secrets", "enable", "-path=kv1", "kv"][..],
        &["secrets", "enable", "-path=x", "nosuchtype"],
        &["read", "sys/mounts/nope"],
        &["read", "sys/mounts/nope/tune"],
        &["secrets", "disable", "nope"],
    ] {
        let (x, y) = d.run(r, None, args);
        assert_eq!(x.code, y.code, "{args:?}: {} / {}", x.stderr, y.stderr);
    }
    // Reserved paths: refused by both, Arca's message names the reason. Wording.
    for path in ["-path=sys", "-path=cubbyhole"] {
        let (a, _) = d.both_fail(r, None, &["secrets", "enable", path, "kv"]);
        assert!(a.contains("Code: 400."), "{a}");
    }

    // Tune.
    d.same_text(
        r,
        None,
        &[
            "secrets",
            "tune",
            "-default-lease-ttl=30m",
            "-max-lease-ttl=3h",
            "-description=new",
            "kvo",
        ],
    );
    same(&["read", "-format=json", "sys/mounts/kvo/tune"], &[]);
    d.same_text(
        r,
        None,
        &["write", "sys/mounts/kvx/tune", "listing_visibility=hidden"],
    );
    same(&["read", "-format=json", "sys/mounts/kvx/tune"], &[]);
    d.same_text(
        r,
        None,
        &[
            "secrets",
            "tune",
            "-default-lease-ttl=20m",
            "-max-lease-ttl=4h",
            "kvo",
        ],
    );
    // Refused by both; Arca's message carries no request values. Deliberate.
    let (a, _) = d.both_fail(
        r,
        None,
        &[
            "secrets",
            "tune",
            "-default-lease-ttl=5h",
            "-max-lease-ttl=1h",
            "kvo",
        ],
    );
    assert!(
        a.ends_with("* default_lease_ttl cannot exceed max_lease_ttl"),
        "{a}"
    );
    // Mount settings given at enable time that `tune` reads back on OpenBao but not on
    // Arca. Gap, reported.
    d.same_text(
        r,
        None,
        &[
            "secrets",
            "enable",
            "-path=kvh",
            "-audit-non-hmac-request-keys=a",
            "-passthrough-request-headers=X-A",
            "kv",
        ],
    );
    same(
        &["read", "-format=json", "sys/mounts/kvh/tune"],
        &[
            ("/data/audit_non_hmac_request_keys", "not in tune output"),
            ("/data/passthrough_request_headers", "not in tune output"),
            ("/data/options", "options {} for an unversioned kv mount"),
        ],
    );

    // Move, then disable (idempotent).
    let (x, y) = d.run(r, None, &["secrets", "move", "kvo", "kvmoved"]);
    assert_eq!((x.code, y.code), (0, 0), "{} / {}", x.stderr, y.stderr);
    // The CLI polls the move's status; how many lines it prints depends on timing.
    for out in [&x.stdout, &y.stdout] {
        assert!(
            out.starts_with("Started moving secrets engine kvo/ to kvmoved/, with migration ID ")
                && out.contains("Success! Finished moving secrets engine kvo/ to kvmoved/"),
            "{out}"
        );
    }
    same(&["read", "-format=json", "sys/mounts/kvmoved"], &[]);
    d.same_error(r, None, &["read", "sys/mounts/kvo"]);
    d.both_fail(r, None, &["secrets", "move", "kvo", "kvmoved2"]);
    d.both_fail(r, None, &["secrets", "move", "kvmoved", "sys/x"]);
    d.same_text(r, None, &["secrets", "disable", "kvmoved"]);
    d.same_text(r, None, &["secrets", "disable", "kvmoved"]);
    d.same_text(r, None, &["delete", "sys/mounts/kvx"]);

    // Auth methods: enable, read, tune through sys/auth/<path>/tune, move, disable.
    // An auth mount without options: OpenBao keeps `options` null, Arca stores `{}`; and
    // Arca's tune read leaves out the default `token_type`. Gap, reported.
    d.same_text(r, None, &["auth", "enable", "userpass"]);
    d.same_text(
        r,
        None,
        &[
            "auth",
            "enable",
            "-path=up2",
            "-description=second",
            "-default-lease-ttl=1h",
            "-max-lease-ttl=2h",
            "-listing-visibility=unauth",
            "userpass",
        ],
    );
    let (a, b) = d.both_fail(r, None, &["auth", "enable", "userpass"]);
    assert!(a.contains("Code: 400.") && b.contains("Code: 400."), "{a}");
    same(
        &["auth", "list", "-format=json"],
        &[
            ("/up2~1/options", "options {} for an auth mount"),
            ("/userpass~1/options", "options {} for an auth mount"),
        ],
    );
    same(
        &["read", "-format=json", "sys/auth/up2"],
        &[("/data/options", "options {} for an auth mount")],
    );
    d.same_text(
        r,
        None,
        &[
            "write",
            "sys/auth/up2/tune",
            "default_lease_ttl=30m",
            "max_lease_ttl=3h",
        ],
    );
    let tuned = same(
        &["read", "-format=json", "sys/auth/up2/tune"],
        &[
            ("/data/options", "options {} for an auth mount"),
            ("/data/token_type", "default token_type not shown"),
        ],
    );
    assert_eq!(
        (
            &tuned["data"]["default_lease_ttl"],
            &tuned["data"]["max_lease_ttl"]
        ),
        (&json!(1800), &json!(10800))
    );
    d.same_text(r, None, &["write", "sys/auth/up2/tune", "token_type=batch"]);
    same(
        &["read", "-format=json", "sys/auth/up2/tune"],
        &[("/data/options", "options {} for an auth mount")],
    );
    let (x, y) = d.run(r, None, &["auth", "move", "auth/up2", "auth/up3"]);
    assert_eq!((x.code, y.code), (0, 0), "{} / {}", x.stderr, y.stderr);
    same(
        &["read", "-format=json", "sys/auth/up3/tune"],
        &[("/data/options", "options {} for an auth mount")],
    );
    d.same_text(r, None, &["auth", "disable", "up3"]);
    d.same_text(r, None, &["auth", "disable", "up3"]);

    // The KV preflight: a root token sees any mount, with its path.
    let cmp_ui = cmp.clone();
    let ui = |auth: Option<&Tok>, path: &str, known: &[(&str, &str)]| {
        let args = ["read", "-format=json", path];
        let (a, b) = d.json(auth, None, &args, 0);
        cmp_ui.assert_matches(path, &a, &b, known);
        a
    };
    let secret = ui(r, "sys/internal/ui/mounts/secret", &[]);
    assert_eq!(secret["data"]["path"], "secret/");
    assert_eq!(secret["data"]["options"], json!({"version": "2"}));
    ui(r, "sys/internal/ui/mounts/secret/data/a/b", &[]);
    ui(r, "sys/internal/ui/mounts/cubbyhole", &[]);
    // An auth mount: OpenBao's `path` is relative to auth/. Gap, reported.
    ui(
        r,
        "sys/internal/ui/mounts/auth/userpass",
        &[
            ("/data/path", "auth/ prefix in path"),
            ("/data/options", "options {} for an auth mount"),
        ],
    );
    // The whole list for a token; without one, only mounts listed as unauth.
    ui(
        r,
        "sys/internal/ui/mounts",
        &[
            (
                "/data/secret/identity~1/config/passthrough_request_headers",
                "built-in passthrough headers",
            ),
            ("/data/secret/sys~1", "sys/ is not in Arca's preflight list"),
            (
                "/data/auth/userpass~1/options",
                "options {} for an auth mount",
            ),
            (
                "/data/secret/kv1~1/options",
                "options {} for an unversioned kv mount",
            ),
            (
                "/data/secret/kvh~1/options",
                "options {} for an unversioned kv mount",
            ),
        ],
    );
    ui(None, "sys/internal/ui/mounts", &[]);
    // 403 semantics: an unknown mount, no token, a bad token.
    for (auth, path) in [
        (r, "sys/internal/ui/mounts/nope"),
        (r, "sys/internal/ui/mounts/nope/deeper"),
        (None, "sys/internal/ui/mounts/secret"),
    ] {
        let msg = d.same_error(auth, None, &["read", path]);
        assert!(msg.contains("Code: 403."), "{msg}");
    }
    let bogus = Tok {
        a: "s.bogus-token-value-000000".to_owned(),
        b: "s.bogus-token-value-000000".to_owned(),
        acc_a: String::new(),
        acc_b: String::new(),
    };
    d.same_error(
        Some(&bogus),
        None,
        &["read", "sys/internal/ui/mounts/secret"],
    );

    // A token whose policy reaches one subtree of secret/ only.
    d.policy(
        "appread",
        r#"path "secret/data/app/*" { capabilities = ["read"] }"#,
    );
    let app = d.create(&root, &["-policy=appread"], &[]);
    let a = Some(&app);
    ui(a, "sys/internal/ui/mounts/secret", &[]);
    // The default policy reaches cubbyhole/.
    ui(a, "sys/internal/ui/mounts/cubbyhole", &[]);
    ui(
        a,
        "sys/internal/ui/mounts",
        &[
            (
                "/data/secret/identity~1/config/passthrough_request_headers",
                "built-in passthrough headers",
            ),
            ("/data/secret/sys~1", "sys/ is not in Arca's preflight list"),
        ],
    );
    for path in ["sys/internal/ui/mounts/kv1", "sys/internal/ui/mounts/nope"] {
        let msg = d.same_error(a, None, &["read", path]);
        assert!(msg.contains("Code: 403."), "{msg}");
    }
    // What `bao kv` makes of it: 404 under the granted subtree, 403 elsewhere.
    d.same(
        r,
        None,
        &["kv", "put", "-format=json", "secret/app/x", "a=b"],
        &[],
    );
    let got = d.same(a, None, &["kv", "get", "-format=json", "secret/app/x"], &[]);
    assert_eq!(got["data"]["data"], json!({"a": "b"}));
    for args in [
        &["kv", "get", "secret/app/missing"][..],
        &["kv", "get", "secret/other"],
        &["kv", "put", "secret/app/x", "a=c"],
        &["kv", "get", "kv1/foo"],
    ] {
        let (x, y) = d.run(a, None, args);
        assert_eq!(
            (x.code, norm_err(&x.stderr, &d.arca.addr)),
            (y.code, norm_err(&y.stderr, &d.openbao.addr)),
            "{args:?}"
        );
        assert_ne!(x.code, 0, "{args:?}");
    }
}
