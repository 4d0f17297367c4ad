//! Differential tests of the token store: the same `bao token …` commands and hvac
//! `auth.token.*` calls against `arca server -dev` and `bao server -dev` (OpenBao 2.7.2).
//!
//! Tokens, accessors, ids and times are masked; remaining TTLs may differ by the second a
//! command straddles, so they are settled first ([`settle_ttls`]). Differences are listed
//! where they are asserted: "deliberate" ones are Arca's behaviour on purpose, "gap" ones
//! are reported and kept here so that a fix makes the test fail and the list shrinks.
//!
//! Also home of [`Duo`], the two-server harness `compat_policies` and `compat_wrapping` use.

use arca_test_support::{BaoServer, CmdOutput, JsonDiff, PyEnv};
use serde_json::{Value, json};

use crate::compat_common::{STATUS_MASK, arca_dev, bao_dev, norm, py};
use crate::support::Server;

pub(crate) const ROOT: &str = "compat-root";

/// Both dev servers (same root token) and the venv.
pub(crate) struct Duo {
    pub py: PyEnv,
    pub arca: Server,
    pub openbao: BaoServer,
}

/// One identity on both servers: what Arca issued and what OpenBao issued for the same
/// command.
#[derive(Clone, Debug)]
pub(crate) struct Tok {
    pub a: String,
    pub b: String,
    pub acc_a: String,
    pub acc_b: String,
}

impl Tok {
    pub(crate) fn root() -> Tok {
        Tok {
            a: ROOT.to_owned(),
            b: ROOT.to_owned(),
            acc_a: String::new(),
            acc_b: String::new(),
        }
    }
}

/// Keys whose values differ between any two servers by nature: ids, secrets, times.
pub(crate) const TOKEN_MASK: &[&str] = &[
    "client_token",
    "accessor",
    "id",
    "token",
    "wrapped_accessor",
    "creation_time",
    "expire_time",
    "issue_time",
    "last_renewal",
    "last_renewal_time",
    "modified",
    "created_time",
];

/// [`STATUS_MASK`] and [`TOKEN_MASK`].
pub(crate) fn token_mask() -> JsonDiff {
    JsonDiff::new().mask(STATUS_MASK).mask(TOKEN_MASK)
}

/// Remaining TTLs (`ttl`, `lease_duration`) are read a few milliseconds apart on the two
/// servers and may straddle a second: values within 2 s of each other are made equal.
pub(crate) fn settle_ttls(a: &Value, b: &mut Value) {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            for (k, bv) in bm.iter_mut() {
                let Some(av) = am.get(k) else { continue };
                if matches!(k.as_str(), "ttl" | "lease_duration")
                    && let (Some(x), Some(y)) = (av.as_i64(), bv.as_i64())
                    && (x - y).abs() <= 2
                {
                    *bv = av.clone();
                } else {
                    settle_ttls(av, bv);
                }
            }
        }
        (Value::Array(aa), Value::Array(ba)) => {
            for (av, bv) in aa.iter().zip(ba.iter_mut()) {
                settle_ttls(av, bv);
            }
        }
        _ => {}
    }
}

/// A CLI error as the user sees it, with the server address replaced and OpenBao's Go
/// multierror wrapping of ACL denials ("* 1 error occurred:\n\t* permission denied") reduced
/// to the single message Arca prints: the wording of the same error, not a difference.
pub(crate) fn norm_err(text: &str, addr: &str) -> String {
    norm(text, addr)
        .replace("* 1 error occurred:\n\t* ", "* ")
        .trim_end()
        .to_owned()
}

impl Duo {
    /// Starts both servers; `None` (after printing why) when the venv is unavailable.
    pub(crate) fn start() -> Option<Duo> {
        let py = py()?;
        let arca = arca_dev(ROOT);
        let openbao = bao_dev(&py, ROOT);
        Some(Duo { py, arca, openbao })
    }

    fn args(args: &[&str], subject: Option<(&str, &str)>) -> Vec<String> {
        args.iter()
            .map(|a| match subject {
                Some((tok, acc)) => a.replace("{tok}", tok).replace("{acc}", acc),
                None => (*a).to_owned(),
            })
            .collect()
    }

    /// Runs `bao <args>` on both, authenticated as `auth`; `{tok}`/`{acc}` in an argument
    /// become `subject`'s token/accessor on each server.
    pub(crate) fn run(
        &self,
        auth: Option<&Tok>,
        subject: Option<&Tok>,
        args: &[&str],
    ) -> (CmdOutput, CmdOutput) {
        let one = |addr: &str, token: Option<&str>, subj: Option<(&str, &str)>| {
            let owned = Self::args(args, subj);
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            self.py
                .bao(addr, token, &refs)
                .unwrap_or_else(|e| panic!("bao {}: {e}", args[0]))
        };
        // Both at once: a CLI run is mostly process start-up.
        std::thread::scope(|scope| {
            let x = scope.spawn(|| {
                one(
                    &self.arca.addr,
                    auth.map(|t| t.a.as_str()),
                    subject.map(|s| (s.a.as_str(), s.acc_a.as_str())),
                )
            });
            let y = one(
                &self.openbao.addr,
                auth.map(|t| t.b.as_str()),
                subject.map(|s| (s.b.as_str(), s.acc_b.as_str())),
            );
            (x.join().unwrap(), y)
        })
    }

    /// Both exit with `code` and print JSON; returns (Arca's, OpenBao's) with TTLs settled.
    #[track_caller]
    pub(crate) fn json(
        &self,
        auth: Option<&Tok>,
        subject: Option<&Tok>,
        args: &[&str],
        code: i32,
    ) -> (Value, Value) {
        let (x, y) = self.run(auth, subject, args);
        for (who, out) in [("arca", &x), ("openbao", &y)] {
            assert_eq!(
                out.code, code,
                "bao {args:?} on {who}: exit {}\nstdout: {}\nstderr: {}",
                out.code, out.stdout, out.stderr
            );
        }
        let parse = |out: &CmdOutput| -> Value {
            if out.stdout.trim().is_empty() {
                Value::Null
            } else {
                out.json()
                    .unwrap_or_else(|e| panic!("bao {args:?}: {e}: {}", out.stdout))
            }
        };
        let a = parse(&x);
        let mut b = parse(&y);
        settle_ttls(&a, &mut b);
        (a, b)
    }

    /// [`Duo::json`] (exit 0) compared with [`token_mask`] and the `known` differences.
    #[track_caller]
    pub(crate) fn same(
        &self,
        auth: Option<&Tok>,
        subject: Option<&Tok>,
        args: &[&str],
        known: &[(&str, &str)],
    ) -> Value {
        let (a, b) = self.json(auth, subject, args, 0);
        token_mask().assert_matches(&format!("bao {args:?}"), &a, &b, known);
        a
    }

    /// Both fail with the same exit code and, once normalised ([`norm_err`]), the same
    /// message; returns Arca's.
    #[track_caller]
    pub(crate) fn same_error(
        &self,
        auth: Option<&Tok>,
        subject: Option<&Tok>,
        args: &[&str],
    ) -> String {
        let (x, y) = self.run(auth, subject, args);
        let (ea, eb) = (
            norm_err(&x.stderr, &self.arca.addr),
            norm_err(&y.stderr, &self.openbao.addr),
        );
        assert!(x.code != 0, "bao {args:?} succeeded on arca: {}", x.stdout);
        assert_eq!((x.code, &ea), (y.code, &eb), "bao {args:?}");
        ea
    }

    /// Both succeed and print the same text (no JSON); returns it.
    #[track_caller]
    pub(crate) fn same_text(
        &self,
        auth: Option<&Tok>,
        subject: Option<&Tok>,
        args: &[&str],
    ) -> String {
        let (x, y) = self.run(auth, subject, args);
        assert_eq!(x.code, 0, "bao {args:?} on arca: {}", x.stderr);
        assert_eq!(
            (y.code, norm(&y.stdout, &self.openbao.addr)),
            (0, norm(&x.stdout, &self.arca.addr)),
            "bao {args:?}: {}",
            y.stderr
        );
        x.stdout
    }

    /// Both fail with the same exit code; the messages are returned (Arca's, OpenBao's)
    /// for the caller to assert a known wording difference.
    #[track_caller]
    pub(crate) fn both_fail(
        &self,
        auth: Option<&Tok>,
        subject: Option<&Tok>,
        args: &[&str],
    ) -> (String, String) {
        let (x, y) = self.run(auth, subject, args);
        assert!(x.code != 0, "bao {args:?} succeeded on arca: {}", x.stdout);
        assert_eq!(x.code, y.code, "bao {args:?}: {} / {}", x.stderr, y.stderr);
        (
            norm_err(&x.stderr, &self.arca.addr),
            norm_err(&y.stderr, &self.openbao.addr),
        )
    }

    /// `bao token create -format=json <args>` on both as `auth`, compared; the new token.
    #[track_caller]
    pub(crate) fn create(&self, auth: &Tok, args: &[&str], known: &[(&str, &str)]) -> Tok {
        let mut full = vec!["token", "create", "-format=json"];
        full.extend_from_slice(args);
        let (a, b) = self.json(Some(auth), None, &full, 0);
        token_mask().assert_matches(&format!("bao {full:?}"), &a, &b, known);
        let s = |v: &Value, k: &str| v["auth"][k].as_str().unwrap_or_default().to_owned();
        Tok {
            a: s(&a, "client_token"),
            b: s(&b, "client_token"),
            acc_a: s(&a, "accessor"),
            acc_b: s(&b, "accessor"),
        }
    }

    /// `bao policy write <name> -` with `hcl` on stdin is not available through the
    /// helper, so the policy travels as `sys/policies/acl/<name> policy=<hcl>`.
    #[track_caller]
    pub(crate) fn policy(&self, name: &str, hcl: &str) {
        let arg = format!("policy={hcl}");
        let path = format!("sys/policies/acl/{name}");
        self.same_text(Some(&Tok::root()), None, &["write", &path, &arg]);
    }
}

const TOKCREATE: &str = r#"path "auth/token/create" { capabilities = ["create", "update"] }"#;
const P1: &str = r#"path "secret/data/p1/*" { capabilities = ["read"] }"#;

#[test]
fn cli_token_create_flags_match_openbao() {
    let Some(d) = Duo::start() else { return };
    let root = Tok::root();
    for (name, hcl) in [("tokcreate", TOKCREATE), ("p1", P1), ("p2", P1)] {
        d.policy(name, hcl);
    }
    d.same_text(
        Some(&root),
        None,
        &[
            "write",
            "auth/token/roles/r1",
            "allowed_policies=p1,p2",
            "orphan=true",
            "token_period=1h",
            "path_suffix=sfx",
            "token_explicit_max_ttl=2h",
        ],
    );
    d.same(
        Some(&root),
        None,
        &["read", "-format=json", "auth/token/roles/r1"],
        &[],
    );

    // (flags, whether to compare the stored token too)
    for (args, look) in [
        (&["-policy=p1"][..], false),
        (&["-policy=p1", "-policy=p2", "-ttl=30m"], false),
        (&["-explicit-max-ttl=1h"], true),
        (&["-explicit-max-ttl=1h", "-ttl=2h"], false),
        (&["-ttl=1000000h"], false),
        (&["-period=1h"], true),
        (&["-use-limit=3"], true),
        (&["-orphan"], true),
        (&["-no-default-policy", "-policy=p1"], true),
        (&["-display-name=My Name_x"], true),
        (&["-metadata=a=b", "-metadata=c=d"], true),
        (&["-type=batch", "-ttl=10m", "-policy=p1"], true),
        (&["-type=batch", "-orphan", "-policy=p1"], false),
        (&["-renewable=false", "-ttl=1h"], true),
        (&["-role=r1"], true),
        (&["-role=r1", "-policy=p1"], false),
        (&["-role=r1", "-period=30m"], true),
        (&["-policy=root"], false),
    ] {
        let t = d.create(&root, args, &[]);
        if look {
            d.same(
                Some(&root),
                Some(&t),
                &["token", "lookup", "-format=json", "{tok}"],
                &[],
            );
        }
    }
    // A custom id: OpenBao warns that it hashes such ids with SHA-1; Arca hashes every id
    // the same way, so it has nothing to warn about. Deliberate.
    d.create(
        &root,
        &["-id=custom-id-1", "-policy=p1"],
        &[(
            "/warnings",
            "no SHA-1 warning: Arca hashes custom ids like any other",
        )],
    );

    for args in [
        &["token", "create", "-type=bogus"][..],
        &["token", "create", "-entity-alias=x"],
        &["token", "create", "-id=custom-id-1"],
        &[
            "token",
            "create",
            "-type=batch",
            "-explicit-max-ttl=1h",
            "-policy=p1",
        ],
    ] {
        d.same_error(Some(&root), None, args);
    }
    // Messages without the caller's values in them (Arca never echoes request values into
    // errors). Deliberate.
    let (a, b) = d.both_fail(Some(&root), None, &["token", "create", "-role=nope"]);
    assert!(a.ends_with("* unknown role"), "{a}");
    assert!(b.ends_with("* unknown role nope"), "{b}");
    let (a, b) = d.both_fail(
        Some(&root),
        None,
        &["token", "create", "-role=r1", "-policy=p3"],
    );
    assert!(
        a.ends_with(
            "* token policies must be subset of the role's allowed policies or glob policies"
        ),
        "{a}"
    );
    assert!(
        b.contains("must be subset of the role's allowed policies ("),
        "{b}"
    );
    // A periodic batch token: OpenBao creates a non-renewable batch token living one period;
    // Arca refuses, since a batch token cannot be renewed and so cannot be periodic.
    // Deliberate.
    let (x, y) = d.run(
        Some(&root),
        None,
        &[
            "token",
            "create",
            "-format=json",
            "-type=batch",
            "-period=1h",
            "-policy=p1",
        ],
    );
    assert_eq!((x.code, y.code), (2, 0), "{} / {}", x.stderr, y.stderr);
    assert!(
        x.stderr
            .contains("* batch tokens cannot have \"period\" set"),
        "{}",
        x.stderr
    );

    // A non-root parent: children within its policies, no orphans, no periodic tokens.
    let parent = d.create(&root, &["-policy=tokcreate", "-policy=p1"], &[]);
    d.create(&parent, &["-policy=p1"], &[]);
    d.create(&parent, &[], &[]);
    for args in [
        &["token", "create", "-policy=p2"][..],
        &["token", "create", "-orphan"],
        &["token", "create", "-period=1h"],
        &["token", "create", "-policy=root"],
    ] {
        d.same_error(Some(&parent), None, args);
    }
    // A use-limited parent cannot create children.
    let limited = d.create(&root, &["-policy=tokcreate", "-use-limit=5"], &[]);
    d.same_error(Some(&limited), None, &["token", "create"]);
}

#[test]
fn cli_token_lookup_renew_revoke_match_openbao() {
    let Some(d) = Duo::start() else { return };
    let root = Tok::root();
    d.policy("tokcreate", TOKCREATE);

    // Lookup: self, another token, by accessor.
    let t = d.create(
        &root,
        &[
            "-policy=default",
            "-ttl=1h",
            "-metadata=k=v",
            "-display-name=look",
        ],
        &[],
    );
    let look = d.same(Some(&t), None, &["token", "lookup", "-format=json"], &[]);
    assert_eq!(look["data"]["display_name"], "token-look");
    d.same(
        Some(&root),
        Some(&t),
        &["token", "lookup", "-format=json", "{tok}"],
        &[],
    );
    d.same(
        Some(&root),
        Some(&t),
        &["token", "lookup", "-format=json", "-accessor", "{acc}"],
        &[],
    );
    // The root token of a dev server: OpenBao's dev mode makes it with auth/token/create
    // (display name "token"); Arca's is the one sys/init makes ("root", auth/token/root).
    // Gap, reported (cosmetic, dev mode only).
    d.same(
        Some(&root),
        None,
        &["token", "lookup", "-format=json"],
        &[
            ("/data/display_name", "dev root token made by init"),
            ("/data/path", "dev root token made by init"),
        ],
    );

    // Renew: self, with an increment, another token, by accessor.
    d.same(Some(&t), None, &["token", "renew", "-format=json"], &[]);
    let r = d.same(
        Some(&t),
        None,
        &["token", "renew", "-format=json", "-increment=30m"],
        &[],
    );
    assert_eq!(r["auth"]["lease_duration"], 1800);
    d.same(
        Some(&root),
        Some(&t),
        &["token", "renew", "-format=json", "-increment=2h", "{tok}"],
        &[],
    );
    d.same(
        Some(&root),
        Some(&t),
        &["token", "renew", "-format=json", "-accessor", "{acc}"],
        &[],
    );
    d.same(Some(&t), None, &["token", "lookup", "-format=json"], &[]);
    // Capped by the explicit max TTL, counted from creation (the cap may read 59m59s on
    // either server when the second turns between create and renew).
    let capped = d.create(&root, &["-explicit-max-ttl=1h", "-ttl=30m"], &[]);
    let (a, b) = d.json(
        Some(&capped),
        None,
        &["token", "renew", "-format=json", "-increment=5h"],
        0,
    );
    token_mask()
        .mask(&["/warnings/0"])
        .assert_matches("renew past the explicit max", &a, &b, &[]);
    for v in [&a, &b] {
        let ttl = v["auth"]["lease_duration"].as_i64().unwrap();
        assert!((3598..=3600).contains(&ttl), "{v}");
        assert!(
            v["warnings"][0]
                .as_str()
                .unwrap()
                .starts_with("TTL of \"5h\" exceeded the effective max_ttl of "),
            "{v}"
        );
    }
    // A periodic token renews to its period, whatever the increment.
    let periodic = d.create(&root, &["-period=1h"], &[]);
    let r = d.same(
        Some(&periodic),
        None,
        &["token", "renew", "-format=json", "-increment=5h"],
        &[],
    );
    assert_eq!(r["auth"]["lease_duration"], 3600);
    // Not renewable; the root token has no TTL.
    let fixed = d.create(&root, &["-renewable=false", "-ttl=1h"], &[]);
    d.same_error(Some(&fixed), None, &["token", "renew"]);
    d.same_error(Some(&root), None, &["token", "renew"]);

    // Batch tokens: looked up, never renewed or revoked, never parents.
    let batch = d.create(
        &root,
        &["-type=batch", "-policy=tokcreate", "-ttl=10m"],
        &[],
    );
    d.same(
        Some(&batch),
        None,
        &["token", "lookup", "-format=json"],
        &[],
    );
    d.same_error(Some(&batch), None, &["token", "renew"]);
    d.same_error(Some(&root), Some(&batch), &["token", "revoke", "{tok}"]);
    d.same_error(Some(&batch), None, &["token", "create"]);

    // Use limits: each request spends one use; the last one still works.
    let used = d.create(&root, &["-use-limit=2"], &[]);
    let first = d.same(Some(&used), None, &["token", "lookup", "-format=json"], &[]);
    assert_eq!(first["data"]["num_uses"], 1);
    d.same(Some(&used), None, &["token", "lookup", "-format=json"], &[]);
    d.same_error(Some(&used), None, &["token", "lookup"]);

    // Revocation: a tree p → (c1 → g1, c2).
    let p = d.create(&root, &["-policy=tokcreate", "-ttl=1h"], &[]);
    let c1 = d.create(&p, &["-policy=tokcreate"], &[]);
    let c2 = d.create(&p, &["-policy=tokcreate"], &[]);
    let g1 = d.create(&c1, &[], &[]);
    // -mode=orphan: only p goes; its children live on.
    d.same_text(
        Some(&root),
        Some(&p),
        &["token", "revoke", "-mode=orphan", "{tok}"],
    );
    d.same_error(Some(&p), None, &["token", "lookup"]);
    d.same(Some(&c1), None, &["token", "lookup", "-format=json"], &[]);
    d.same(Some(&g1), None, &["token", "lookup", "-format=json"], &[]);
    // By accessor: c1 and its child g1.
    d.same_text(
        Some(&root),
        Some(&c1),
        &["token", "revoke", "-accessor", "{acc}"],
    );
    d.same_error(Some(&c1), None, &["token", "lookup"]);
    d.same_error(Some(&g1), None, &["token", "lookup"]);
    // By token, twice, then by its (now unknown) accessor: no-ops on both.
    let c3 = d.create(&c2, &[], &[]);
    d.same_text(Some(&root), Some(&c3), &["token", "revoke", "{tok}"]);
    d.same_text(Some(&root), Some(&c3), &["token", "revoke", "{tok}"]);
    d.same_text(
        Some(&root),
        Some(&c3),
        &["token", "revoke", "-accessor", "{acc}"],
    );
    d.same_error(
        Some(&root),
        Some(&c3),
        &["token", "lookup", "-accessor", "{acc}"],
    );
    // -self.
    d.same_text(Some(&c2), None, &["token", "revoke", "-self"]);
    d.same_error(Some(&c2), None, &["token", "lookup"]);
    // -mode=orphan needs sudo.
    let x = d.create(&root, &["-policy=tokcreate"], &[]);
    d.same_error(
        Some(&x),
        Some(&x),
        &["token", "revoke", "-mode=orphan", "{tok}"],
    );

    // Capabilities: own, of another token (root asks), several paths.
    let reader = d.create(&root, &["-policy=default"], &[]);
    for (auth, args) in [
        (
            &reader,
            &["token", "capabilities", "-format=json", "secret/foo"][..],
        ),
        (
            &reader,
            &["token", "capabilities", "-format=json", "cubbyhole/x"],
        ),
        (
            &reader,
            &["token", "capabilities", "-format=json", "sys/wrapping/wrap"],
        ),
        (
            &root,
            &["token", "capabilities", "-format=json", "sys/mounts"],
        ),
    ] {
        d.same(Some(auth), None, args, &[]);
    }
    d.same(
        Some(&root),
        Some(&reader),
        &[
            "token",
            "capabilities",
            "-format=json",
            "{tok}",
            "cubbyhole/x",
        ],
        &[],
    );
    d.same(
        Some(&root),
        None,
        &[
            "write",
            "-format=json",
            "sys/capabilities-self",
            "paths=secret/a,sys/mounts",
        ],
        &[],
    );
    d.same(
        Some(&root),
        Some(&reader),
        &[
            "write",
            "-format=json",
            "sys/capabilities-accessor",
            "accessor={acc}",
            "paths=cubbyhole/a,secret/b",
        ],
        &[],
    );
    d.same_error(
        Some(&root),
        None,
        &[
            "token",
            "capabilities",
            "s.not-a-token-at-all12345",
            "secret/a",
        ],
    );
}

/// hvac 2.4.0's `auth.token.*`: each call's result (a dict, `{"status": n}` for hvac's bare
/// `requests.Response`, or the exception class), printed as JSON.
const HVAC_TOKENS: &str = r#"
out = {}
def rec(name, f):
    try:
        r = f()
        out[name] = {"status": r.status_code} if hasattr(r, "status_code") else r
    except Exception as e:
        out[name] = {"exception": type(e).__name__, "errors": getattr(e, "errors", None)}
    return out[name]
t = client.auth.token
client.sys.create_or_update_policy("tokcreate", 'path "auth/token/*" { capabilities = ["create", "update", "read"] }')
c = rec("create", lambda: t.create(policies=["tokcreate"], ttl="1h", meta={"a": "b"}, display_name="hv", num_uses=0, explicit_max_ttl="2h"))
tok, acc = c["auth"]["client_token"], c["auth"]["accessor"]
rec("create_batch", lambda: t.create(policies=["default"], type="batch", ttl="10m"))
rec("create_periodic", lambda: t.create(policies=["default"], period="1h", no_default_policy=True))
rec("create_orphan", lambda: t.create_orphan(policies=["default"], ttl="30m"))
rec("create_no_parent", lambda: t.create(policies=["default"], no_parent=True, renewable=False))
rec("create_bad_type", lambda: t.create(type="bogus"))
rec("lookup", lambda: t.lookup(tok))
rec("lookup_self", t.lookup_self)
rec("lookup_accessor", lambda: t.lookup_accessor(acc))
rec("renew", lambda: t.renew(tok, increment="40m"))
rec("renew_accessor", lambda: t.renew_accessor(acc, increment=1200))
rec("role_write", lambda: t.create_or_update_role("hv-role", allowed_policies=["default"], orphan=True, renewable=True, path_suffix="sfx", token_period="1h"))
rec("role_read", lambda: t.read_role("hv-role"))
rec("role_list", t.list_roles)
rec("create_role", lambda: t.create(role_name="hv-role", ttl="15m"))
rec("role_delete", lambda: t.delete_role("hv-role"))
rec("role_read_deleted", lambda: t.read_role("hv-role"))
rec("tidy", t.tidy)
client.token = tok
rec("child", lambda: t.create(policies=["tokcreate"], ttl="20m"))
rec("child_orphan_denied", lambda: t.create(no_parent=True))
rec("renew_self", lambda: t.renew_self(increment="50m"))
rec("lookup_self_child", t.lookup_self)
child = out["child"]["auth"]["client_token"]
client.token = os.environ["ARCA_HVAC_TOKEN"]
rec("revoke_and_orphan_children", lambda: t.revoke_and_orphan_children(tok))
rec("lookup_orphaned_child", lambda: t.lookup(child))
rec("lookup_revoked", lambda: t.lookup(tok))
rec("revoke_accessor", lambda: t.revoke_accessor(out["create_orphan"]["auth"]["accessor"]))
rec("revoke", lambda: t.revoke(child))
rec("lookup_child_revoked", lambda: t.lookup(child))
rec("list_accessors_type", lambda: type(t.list_accessors()["data"]["keys"]).__name__)
client.token = out["create_periodic"]["auth"]["client_token"]
rec("revoke_self_no_policy", t.revoke_self)
client.token = out["create_no_parent"]["auth"]["client_token"]
rec("revoke_self", t.revoke_self)
rec("lookup_self_revoked", t.lookup_self)
print(json.dumps(out))
"#;

#[test]
fn hvac_token_calls_match_openbao() {
    let Some(d) = Duo::start() else { return };
    let run = |addr: &str| -> Value {
        let out =
            d.py.hvac(addr, Some(ROOT), HVAC_TOKENS)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.code, 0, "hvac script against {addr}: {}", out.stderr);
        out.json().unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
    };
    let a = run(&d.arca.addr);
    let mut b = run(&d.openbao.addr);
    settle_ttls(&a, &mut b);

    // What hvac users see from Arca, independent of OpenBao.
    assert_eq!(a["create"]["auth"]["lease_duration"], 3600);
    assert_eq!(a["create_bad_type"]["exception"], "InvalidRequest");
    assert_eq!(a["lookup"]["data"]["meta"], json!({"a": "b"}));
    assert_eq!(a["lookup"]["data"]["explicit_max_ttl"], 7200);
    assert_eq!(a["renew"]["auth"]["lease_duration"], 2400);
    assert_eq!(a["renew_accessor"]["auth"]["lease_duration"], 1200);
    assert_eq!(a["renew_self"]["auth"]["lease_duration"], 3000);
    assert_eq!(a["child_orphan_denied"]["exception"], "InvalidRequest");
    assert_eq!(a["lookup_orphaned_child"]["data"]["orphan"], true);
    assert_eq!(a["lookup_revoked"]["exception"], "Forbidden");
    assert_eq!(a["lookup_child_revoked"]["exception"], "Forbidden");
    assert_eq!(a["role_read"]["data"]["token_period"], 3600);
    assert_eq!(a["create_role"]["auth"]["orphan"], true);
    assert_eq!(a["role_read_deleted"]["exception"], "InvalidPath");
    // A token without the default policy may not even revoke itself.
    assert_eq!(a["revoke_self_no_policy"]["exception"], "Forbidden");
    assert_eq!(a["revoke_self"], json!({"status": 204}));
    assert_eq!(a["lookup_self_revoked"]["exception"], "Forbidden");
    assert_eq!(a["list_accessors_type"], "list");

    token_mask().assert_matches(
        "hvac auth.token.*",
        &a,
        &b,
        &[
            // ACL denials: OpenBao wraps the message in Go's multierror text. Wording.
            (
                "/revoke_self_no_policy/errors/0",
                "multierror wording of 'permission denied'",
            ),
            // A token with no policies: OpenBao leaves `token_policies` out of the auth
            // block, Arca renders `[]`. Gap, reported (arca-logical's rendering).
            (
                "/create_periodic/auth/token_policies",
                "empty token_policies rendered as []",
            ),
            // The dev root token (see cli_token_lookup_renew_revoke_match_openbao).
            (
                "/lookup_self/data/display_name",
                "dev root token made by init",
            ),
            ("/lookup_self/data/path", "dev root token made by init"),
        ],
    );
}
