//! The real `bao` CLI (2.7.2) driving the KV engine: the same scripts against `arca server
//! -dev` and `bao server -dev`, every step's exit code and output (`-format=json` parsed, text
//! with times and addresses normalised) compared. Ids and timestamps differ by nature; whether
//! a timestamp is set is still compared.
//!
//! Also home of the normalisation helpers the other KV compat modules (hvac, ESO) share.

use arca_test_support::{JsonDiff, PyEnv};
use serde_json::{Value, json};

use crate::compat_common::{arca_dev, bao, bao_dev, norm, py};

const TOKEN: &str = "compat-kv-root";

/// Keys whose values are timestamps in KV answers.
const TIME_KEYS: &[&str] = &[
    "created_time",
    "updated_time",
    "deletion_time",
    "expire_time",
    "issue_time",
    "creation_time",
    "last_renewal_time",
];

/// Replaces every non-empty timestamp (by key name) with `"<time>"`, so that two servers'
/// answers compare equal while "set" versus "empty" still counts.
pub fn normalise_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if TIME_KEYS.contains(&k.as_str()) && x.as_str().is_some_and(|s| !s.is_empty()) {
                    *x = json!("<time>");
                } else {
                    normalise_times(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalise_times),
        _ => {}
    }
}

/// `text` with the server address replaced by `<addr>` and every RFC 3339 UTC timestamp
/// (`2026-11-28T03:01:44.108725457Z`) by `<time>`.
pub fn normalise_text(text: &str, addr: &str) -> String {
    let text = norm(text, addr);
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(end) = timestamp_end(b, i) {
            out.push_str("<time>");
            i = end;
        } else {
            // Copy one whole UTF-8 character.
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The end of a `YYYY-MM-DDTHH:MM:SS[.frac]Z` timestamp starting at `i`, if one does.
fn timestamp_end(b: &[u8], i: usize) -> Option<usize> {
    let shape = b"dddd-dd-ddTdd:dd:dd";
    let head = b.get(i..i + shape.len())?;
    let fits = head.iter().zip(shape).all(|(c, s)| match s {
        b'd' => c.is_ascii_digit(),
        s => c == s,
    });
    if !fits {
        return None;
    }
    let mut j = i + shape.len();
    if b.get(j) == Some(&b'.') {
        j += 1;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
    }
    (b.get(j) == Some(&b'Z')).then_some(j + 1)
}

/// One recorded CLI step.
#[derive(Debug)]
struct Step {
    cmd: String,
    code: i32,
    /// The parsed `-format=json` output with normalised times, or `Null`.
    json: Value,
    /// Normalised stdout+stderr when the output was not JSON; for JSON output, stderr only.
    text: String,
    /// Compare the exit code only (the reason is printed on failure).
    code_only: Option<&'static str>,
}

/// Runs CLI steps against one server and records them.
struct Script<'a> {
    py: &'a PyEnv,
    addr: &'a str,
    token: String,
    steps: Vec<Step>,
    /// For policy and value files.
    dir: tempfile::TempDir,
}

impl<'a> Script<'a> {
    fn new(py: &'a PyEnv, addr: &'a str) -> Self {
        Script {
            py,
            addr,
            token: TOKEN.to_owned(),
            steps: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Writes `text` to a file named `name` in the script's directory; returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    }

    /// `bao <args>` with the current token; asserts the exit code, records the step and
    /// returns the (normalised) JSON output or `Null`.
    #[track_caller]
    fn run(&mut self, args: &[&str], code: i32) -> Value {
        self.record(args, code, None)
    }

    /// Like [`Script::run`], but only the exit code is compared between the servers.
    #[track_caller]
    fn run_code_only(&mut self, args: &[&str], code: i32, why: &'static str) -> Value {
        self.record(args, code, Some(why))
    }

    #[track_caller]
    fn record(&mut self, args: &[&str], code: i32, code_only: Option<&'static str>) -> Value {
        let out = bao(self.py, self.addr, Some(&self.token), args);
        // The script's own files live in a different directory per server.
        let dir = self.dir.path().to_str().unwrap();
        let cmd = args.join(" ").replace(dir, "<dir>");
        assert_eq!(
            out.code, code,
            "bao {cmd} against {}: exit {} (want {code})\nstdout: {}\nstderr: {}",
            self.addr, out.code, out.stdout, out.stderr
        );
        let (json, text) = match serde_json::from_str::<Value>(&out.stdout) {
            Ok(mut v) if args.iter().any(|a| a.starts_with("-format=json")) => {
                normalise_times(&mut v);
                (v, normalise_text(&out.stderr, self.addr))
            }
            _ => (
                Value::Null,
                normalise_text(&format!("{}{}", out.stdout, out.stderr), self.addr),
            ),
        };
        self.steps.push(Step {
            cmd,
            code,
            json: json.clone(),
            text: text.clone(),
            code_only,
        });
        if json.is_null() {
            Value::String(text)
        } else {
            json
        }
    }

    /// Runs `bao <args>` without recording it (setup whose output holds tokens).
    #[track_caller]
    fn quiet(&self, token: &str, args: &[&str]) -> Value {
        let out = bao(self.py, self.addr, Some(token), args);
        assert_eq!(out.code, 0, "bao {args:?}: {}{}", out.stdout, out.stderr);
        out.json().unwrap_or(Value::Null)
    }

    /// Repeats `bao <args>` (not recorded) until it exits 0, for at most 15 s: OpenBao
    /// upgrades a KV v1 mount to v2 in the background and answers 400 meanwhile.
    fn wait_ok(&self, args: &[&str]) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let out = bao(self.py, self.addr, Some(&self.token), args);
            if out.code == 0 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "bao {args:?} still failing: {}",
                out.stderr
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// Runs `script` against both servers at once and compares the recorded steps.
fn differential(script: impl Fn(&mut Script<'_>) + Sync, py: &PyEnv, arca: &str, openbao: &str) {
    let run = |addr: &str| {
        let mut s = Script::new(py, addr);
        script(&mut s);
        s.steps
    };
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| run(arca));
        let b = run(openbao);
        (a.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), b)
    });
    assert_eq!(a.len(), b.len());
    // Mount ids and the plug-in version string differ by nature.
    let cmp = JsonDiff::new().mask(&["request_id", "uuid", "accessor", "running_plugin_version"]);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let what = format!("step {i}: bao {}", x.cmd);
        assert_eq!((&x.cmd, x.code), (&y.cmd, y.code), "{what}");
        if let Some(why) = x.code_only {
            // Print both so a fix is noticed.
            if x.text != y.text {
                eprintln!("{what}: output differs ({why})");
            }
            continue;
        }
        assert_eq!(
            x.text, y.text,
            "{what}: output differs\n--- arca ---\n{}\n--- openbao ---\n{}",
            x.text, y.text
        );
        cmp.assert_matches(&what, &x.json, &y.json, &[]);
    }
}

/// The KV v2 life cycle on the dev server's `secret/`.
fn kv2_life_cycle(s: &mut Script<'_>) {
    let j = "-format=json";
    let v = s.run(&["kv", "put", j, "secret/app", "user=alice", "pass=one"], 0);
    assert_eq!(v["data"]["version"], 1);
    assert_eq!(v["data"]["deletion_time"], "");
    let v = s.run(&["kv", "put", j, "secret/app", "user=bob", "pass=two"], 0);
    assert_eq!(v["data"]["version"], 2);
    s.run(&["kv", "put", "secret/app-text", "k=v"], 0);

    // get: latest, -version, -field, table output, -mount.
    let v = s.run(&["kv", "get", j, "secret/app"], 0);
    assert_eq!(v["data"]["data"], json!({"user": "bob", "pass": "two"}));
    assert_eq!(v["data"]["metadata"]["version"], 2);
    let v = s.run(&["kv", "get", j, "-version=1", "secret/app"], 0);
    assert_eq!(v["data"]["data"]["user"], "alice");
    s.run(&["kv", "get", "secret/app"], 0);
    s.run(&["kv", "get", "-version=1", "secret/app"], 0);
    let v = s.run(&["kv", "get", "-field=user", "secret/app"], 0);
    assert_eq!(v, "bob");
    s.run(&["kv", "get", j, "-mount=secret", "app"], 0);

    // JSON values that are not strings survive the round trip.
    let file = s.file(
        "value.json",
        r#"{"n": 5, "nested": {"a": [1, "x", null]}, "t": true}"#,
    );
    let at = format!("@{file}");
    s.run(&["kv", "put", j, "secret/typed", &at], 0);
    let v = s.run(&["kv", "get", j, "secret/typed"], 0);
    assert_eq!(v["data"]["data"]["nested"], json!({"a": [1, "x", null]}));
    s.run(&["kv", "get", "secret/typed"], 0);

    // patch: HTTP PATCH (merge-patch), then the read + CAS write fallback.
    let v = s.run(
        &["kv", "patch", j, "secret/app", "pass=three", "extra=x"],
        0,
    );
    assert_eq!(v["data"]["version"], 3);
    let v = s.run(
        &["kv", "patch", j, "-method=rw", "secret/app", "pass=four"],
        0,
    );
    assert_eq!(v["data"]["version"], 4);
    let v = s.run(&["kv", "get", j, "secret/app"], 0);
    assert_eq!(
        v["data"]["data"],
        json!({"user": "bob", "pass": "four", "extra": "x"})
    );
    // Patching what does not exist: 404. OpenBao's 404 has an empty body ("Raw Message:"),
    // Arca's is {"errors":[]} ("Errors:"). Gap in arca-http, reported.
    let out = s.run_code_only(
        &["kv", "patch", "secret/nope", "a=b"],
        2,
        "404 body: empty (OpenBao) vs {\"errors\":[]} (Arca)",
    );
    assert!(
        out.as_str().is_some_and(|t| t.contains("Code: 404")),
        "{out}"
    );
    s.run(&["kv", "patch", "-method=rw", "secret/nope", "a=b"], 2);

    // list: folders end in '/'; an empty list is exit 2.
    s.run(&["kv", "put", "secret/dir/a", "k=v"], 0);
    s.run(&["kv", "put", "-mount=secret", "dir/sub/b", "k=v"], 0);
    let v = s.run(&["kv", "list", j, "secret"], 0);
    assert_eq!(v, json!(["app", "app-text", "dir/", "typed"]));
    s.run(&["kv", "list", j, "secret/dir"], 0);
    s.run(&["kv", "list", "secret/dir/"], 0);
    s.run(&["kv", "list", j, "secret/nope"], 2);

    // metadata put with every flag, then CAS.
    s.run(
        &[
            "kv",
            "metadata",
            "put",
            "-max-versions=5",
            "-cas-required=true",
            "-delete-version-after=3h",
            "-custom-metadata=owner=bob",
            "-custom-metadata=team=x",
            "secret/app",
        ],
        0,
    );
    let v = s.run(&["kv", "metadata", "get", j, "secret/app"], 0);
    let d = &v["data"];
    assert_eq!(
        (
            &d["max_versions"],
            &d["cas_required"],
            &d["delete_version_after"]
        ),
        (&json!(5), &json!(true), &json!("3h0m0s"))
    );
    assert_eq!(d["custom_metadata"], json!({"owner": "bob", "team": "x"}));
    assert_eq!(
        (&d["current_version"], &d["current_metadata_version"]),
        (&json!(4), &json!(1))
    );
    s.run(&["kv", "metadata", "get", "secret/app"], 0);
    // cas_required: a write without -cas fails, a stale -cas fails, the right one works.
    s.run(&["kv", "put", "secret/app", "a=b"], 2);
    s.run(&["kv", "put", "-cas=1", "secret/app", "a=b"], 2);
    s.run(&["kv", "put", "-cas=0", "secret/app", "a=b"], 2);
    let v = s.run(&["kv", "put", j, "-cas=4", "secret/app", "a=c"], 0);
    assert_eq!(v["data"]["version"], 5);
    // delete_version_after gives the new version a (future) deletion time.
    assert_eq!(v["data"]["deletion_time"], "<time>");
    assert_eq!(v["data"]["custom_metadata"]["owner"], "bob");
    s.run(
        &[
            "kv",
            "metadata",
            "patch",
            "-cas-required=false",
            "secret/app",
        ],
        0,
    );
    s.run(
        &[
            "kv",
            "metadata",
            "put",
            "-delete-version-after=0s",
            "secret/app",
        ],
        0,
    );

    // delete / get of a deleted version (a 404 with the envelope: bao prints the metadata and
    // exits 0) / undelete.
    s.run(&["kv", "delete", "secret/app"], 0);
    let v = s.run(&["kv", "get", j, "secret/app"], 0);
    assert_eq!(v["data"]["data"], Value::Null);
    assert_eq!(v["data"]["metadata"]["deletion_time"], "<time>");
    assert_eq!(v["data"]["metadata"]["destroyed"], false);
    s.run(&["kv", "get", "secret/app"], 0);
    s.run(&["kv", "get", "-field=a", "secret/app"], 2);
    s.run(&["kv", "undelete", "-versions=5", "secret/app"], 0);
    let v = s.run(&["kv", "get", j, "secret/app"], 0);
    assert_eq!(v["data"]["data"], json!({"a": "c"}));
    s.run(&["kv", "undelete", "secret/app"], 1);

    // destroy.
    s.run(&["kv", "destroy", "-versions=5", "secret/app"], 0);
    let v = s.run(&["kv", "get", j, "secret/app"], 0);
    assert_eq!(v["data"]["data"], Value::Null);
    assert_eq!(v["data"]["metadata"]["destroyed"], true);
    s.run(&["kv", "get", "secret/app"], 0);
    s.run(&["kv", "destroy", "secret/app"], 1);
    // delete -versions on an older one.
    s.run(&["kv", "delete", "-versions=1", "secret/app"], 0);
    let v = s.run(&["kv", "get", j, "-version=1", "secret/app"], 0);
    assert_eq!(v["data"]["data"], Value::Null);

    // rollback: to a live version, to a destroyed one, to one that never was.
    let v = s.run(&["kv", "rollback", j, "-version=2", "secret/app"], 0);
    assert_eq!(v["data"]["version"], 6);
    let v = s.run(&["kv", "get", j, "secret/app"], 0);
    assert_eq!(v["data"]["data"], json!({"user": "bob", "pass": "two"}));
    s.run(&["kv", "rollback", "-version=5", "secret/app"], 2);
    s.run(&["kv", "rollback", "-version=99", "secret/app"], 2);
    // max_versions 5 pruned version 1 at the sixth write.
    let v = s.run(&["kv", "metadata", "get", j, "secret/app"], 0);
    let versions = v["data"]["versions"].as_object().unwrap();
    assert_eq!(
        versions.keys().collect::<Vec<_>>(),
        ["2", "3", "4", "5", "6"]
    );
    assert_eq!(v["data"]["oldest_version"], 2);
    s.run(&["kv", "get", "-version=1", "secret/app"], 2);

    // Missing things.
    s.run(&["kv", "get", "secret/nope"], 2);
    s.run(&["kv", "get", "-version=7", "secret/app"], 2);
    s.run(&["kv", "metadata", "get", "secret/nope"], 2);

    // Metadata before data (the ESO PushSecret order); a metadata put with no flags creates
    // nothing.
    s.run(
        &[
            "kv",
            "metadata",
            "put",
            "-custom-metadata=managed-by=external-secrets",
            "secret/pushed",
        ],
        0,
    );
    let v = s.run(&["kv", "metadata", "get", j, "secret/pushed"], 0);
    assert_eq!(
        (&v["data"]["current_version"], &v["data"]["versions"]),
        (&json!(0), &json!({}))
    );
    s.run(&["kv", "get", "secret/pushed"], 2);
    let v = s.run(&["kv", "put", j, "-cas=0", "secret/pushed", "k=v"], 0);
    assert_eq!(
        v["data"]["custom_metadata"]["managed-by"],
        "external-secrets"
    );
    s.run(&["kv", "metadata", "put", "secret/bare"], 0);
    s.run(&["kv", "metadata", "get", "secret/bare"], 2);

    // A read-only token: the preflight (sys/internal/ui/mounts) passes, reads work, writes
    // are denied.
    let ro = s.file(
        "kv-ro.hcl",
        "path \"secret/data/*\" { capabilities = [\"read\"] }\n\
         path \"secret/metadata/*\" { capabilities = [\"read\", \"list\"] }\n",
    );
    s.quiet(TOKEN, &["policy", "write", "kv-ro", &ro]);
    let t = s.quiet(
        TOKEN,
        &[
            "token",
            "create",
            "-format=json",
            "-policy=kv-ro",
            "-ttl=1h",
        ],
    );
    s.token = t["auth"]["client_token"].as_str().unwrap().to_owned();
    let v = s.run(&["kv", "get", j, "secret/app"], 0);
    assert_eq!(v["data"]["metadata"]["version"], 6);
    s.run(&["kv", "get", j, "-version=3", "secret/app"], 0);
    s.run(&["kv", "list", j, "secret/dir"], 0);
    s.run(&["kv", "metadata", "get", j, "secret/pushed"], 0);
    // Same status (403); OpenBao wraps the message in Go's multierror text.
    let out = s.run_code_only(
        &["kv", "put", "secret/app", "a=b"],
        2,
        "403 message wording (multierror)",
    );
    assert!(
        out.as_str()
            .is_some_and(|t| t.contains("Code: 403") && t.contains("permission denied")),
        "{out}"
    );
    let out = s.run_code_only(
        &["kv", "delete", "secret/app"],
        2,
        "403 message wording (multierror)",
    );
    assert!(
        out.as_str()
            .is_some_and(|t| t.contains("Code: 403") && t.contains("permission denied")),
        "{out}"
    );
    s.token = TOKEN.to_owned();

    // metadata delete removes every version.
    s.run(&["kv", "metadata", "delete", "secret/app"], 0);
    s.run(&["kv", "get", "secret/app"], 2);
    s.run(&["kv", "metadata", "get", "secret/app"], 2);
}

#[test]
fn kv2_life_cycle_through_the_bao_cli_matches_openbao() {
    let Some(py) = py() else { return };
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    differential(kv2_life_cycle, &py, &arca.addr, &openbao.addr);
}

/// KV v1 on a new mount, its upgrade to v2, and a new v2 mount.
fn kv1_and_mounts(s: &mut Script<'_>) {
    let j = "-format=json";
    s.run(&["secrets", "enable", "-version=1", "-path=kv1", "kv"], 0);
    s.run(&["secrets", "enable", "-version=1", "-path=kv1", "kv"], 2);
    s.run(&["kv", "put", "kv1/app", "user=alice", "ttl=1h"], 0);
    // A v1 write returns nothing: the CLI prints nothing with -format=json.
    s.run(&["kv", "put", j, "kv1/app", "user=alice", "ttl=1h"], 0);
    let v = s.run(&["kv", "get", j, "kv1/app"], 0);
    assert_eq!(v["data"], json!({"user": "alice", "ttl": "1h"}));
    assert_eq!(v["lease_duration"], 3600);
    s.run(&["kv", "get", "kv1/app"], 0);
    s.run(&["kv", "get", "-field=user", "kv1/app"], 0);
    s.run(&["kv", "put", "kv1/dir/x", "n=1"], 0);
    s.run(&["kv", "put", "kv1/dir/y", "n=2"], 0);
    let v = s.run(&["kv", "list", j, "kv1"], 0);
    assert_eq!(v, json!(["app", "dir/"]));
    s.run(&["kv", "list", j, "kv1/dir"], 0);
    s.run(&["kv", "list", "kv1/"], 0);
    // v2-only commands on a v1 mount.
    s.run(&["kv", "get", j, "-version=1", "kv1/app"], 0);
    s.run(&["kv", "metadata", "get", "kv1/app"], 1);
    s.run(&["kv", "patch", "kv1/app", "a=2"], 2);
    s.run(&["kv", "undelete", "-versions=1", "kv1/app"], 1);
    s.run(&["kv", "delete", "kv1/dir/x"], 0);
    s.run(&["kv", "delete", "kv1/dir/x"], 0);
    s.run(&["kv", "get", "kv1/dir/x"], 2);
    s.run(&["kv", "list", j, "kv1/dir"], 0);
    s.run(&["kv", "delete", "kv1/dir/y"], 0);
    s.run(&["kv", "list", j, "kv1/dir"], 2);
    s.run(&["kv", "put", "kv1/dir/z", "n=3"], 0);

    // v1 → v2: the data is kept as version 1 of each key.
    s.run(&["kv", "enable-versioning", "kv1"], 0);
    s.wait_ok(&["kv", "get", "kv1/app"]);
    let v = s.run(&["kv", "get", j, "kv1/app"], 0);
    assert_eq!(v["data"]["data"], json!({"user": "alice", "ttl": "1h"}));
    assert_eq!(v["data"]["metadata"]["version"], 1);
    let v = s.run(&["kv", "metadata", "get", j, "kv1/dir/z"], 0);
    assert_eq!(
        (&v["data"]["current_version"], &v["data"]["oldest_version"]),
        (&json!(1), &json!(1))
    );
    s.run(&["kv", "list", j, "kv1"], 0);
    s.run(&["kv", "list", j, "kv1/dir"], 0);
    let v = s.run(&["kv", "put", j, "kv1/app", "user=bob"], 0);
    assert_eq!(v["data"]["version"], 2);
    s.run(&["kv", "get", j, "-version=1", "kv1/app"], 0);
    // v1-style paths on a v2 mount: a 404 with a warning, which the CLI prints.
    s.run(&["read", j, "kv1/app"], 0);
    s.run(&["kv", "enable-versioning", "kv1"], 0);

    // A new v2 mount, its config, and max_versions pruning at the mount level.
    s.run(&["secrets", "enable", "-version=2", "-path=kv2", "kv"], 0);
    s.wait_ok(&["read", "kv2/config"]);
    s.run(&["read", j, "kv2/config"], 0);
    s.run(
        &[
            "write",
            "kv2/config",
            "max_versions=2",
            "cas_required=false",
        ],
        0,
    );
    let v = s.run(&["read", j, "kv2/config"], 0);
    assert_eq!(v["data"]["max_versions"], 2);
    for n in 1..=3 {
        s.run(&["kv", "put", "kv2/a", &format!("n={n}")], 0);
    }
    let v = s.run(&["kv", "metadata", "get", j, "kv2/a"], 0);
    assert_eq!(
        (&v["data"]["current_version"], &v["data"]["oldest_version"]),
        (&json!(3), &json!(2))
    );
    s.run(&["kv", "get", "-version=1", "kv2/a"], 2);
    s.run(&["kv", "get", j, "-version=2", "kv2/a"], 0);
    s.run(&["read", j, "kv2/subkeys/a"], 0);
    let v = s.run(&["read", j, "sys/mounts/kv1"], 0);
    assert_eq!(v["data"]["options"], json!({"version": "2"}));
    s.run(&["read", j, "sys/mounts/kv2"], 0);
}

#[test]
fn kv1_mounts_and_upgrade_through_the_bao_cli_match_openbao() {
    let Some(py) = py() else { return };
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    differential(kv1_and_mounts, &py, &arca.addr, &openbao.addr);
}

#[test]
fn timestamps_are_normalised_in_text() {
    assert_eq!(
        normalise_text(
            "created 2026-11-28T03:01:44.108725457Z and 2026-11-28T03:01:44Z at http://h:1 é",
            "http://h:1"
        ),
        "created <time> and <time> at <addr> é"
    );
    let mut v =
        json!({"a": {"created_time": "x", "deletion_time": ""}, "b": [{"updated_time": "y"}]});
    normalise_times(&mut v);
    assert_eq!(
        v,
        json!({"a": {"created_time": "<time>", "deletion_time": ""}, "b": [{"updated_time": "<time>"}]})
    );
}
