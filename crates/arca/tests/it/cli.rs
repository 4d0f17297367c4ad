//! The `arca` client commands end to end: the binary run as the CLI against a dev server and
//! a config-file server (status, key-status, read/write, login and the token helper file,
//! seal/unseal, init, generate-root, rotate-keys), then its output compared byte for byte
//! with the real `bao` CLI against an OpenBao dev server (skipped, with the reason printed,
//! when the pinned venv is unavailable; failing under `ARCA_TEST_REQUIRE_SERVICES=1`).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{ARCA, Server, embedded_config};

/// What one CLI run printed and how it exited.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{e}: stdout {:?} stderr {:?}", self.stdout, self.stderr))
    }

    #[track_caller]
    fn ok(self) -> Out {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

/// Runs `arca <args>` with only `env` as client configuration: every `ARCA_*`, `VAULT_*` and
/// `BAO_*` variable of the test process is removed and `HOME` is `home`.
fn arca_env(home: &Path, env: &[(&str, &str)], args: &[&str], stdin: Option<&str>) -> Out {
    let mut cmd = Command::new(ARCA);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_ascii_uppercase();
        if ["ARCA_", "VAULT_", "BAO_"].iter().any(|p| k.starts_with(p)) || k == "NO_COLOR" {
            cmd.env_remove(&k);
        }
    }
    cmd.env("HOME", home)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn arca");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `arca <args>` against `addr`, with `token` in `ARCA_TOKEN` when given.
fn arca(home: &Path, addr: &str, token: Option<&str>, args: &[&str]) -> Out {
    let mut env = vec![("ARCA_ADDR", addr)];
    if let Some(t) = token {
        env.push(("ARCA_TOKEN", t));
    }
    arca_env(home, &env, args, None)
}

fn dev_server() -> Server {
    Server::start(
        &[
            "-dev",
            "-dev-listen-address=127.0.0.1:0",
            "-dev-root-token-id=root",
        ],
        &[],
    )
}

fn term(home: &Path, addr: &str) -> u64 {
    arca(
        home,
        addr,
        Some("root"),
        &["read", "sys/key-status", "-format=json"],
    )
    .ok()
    .json()["data"]["term"]
        .as_u64()
        .unwrap()
}

#[test]
fn status_key_status_read_write_on_a_dev_server() {
    let server = dev_server();
    let home = tempfile::tempdir().unwrap();
    let (h, addr) = (home.path(), server.addr.as_str());

    let out = arca(h, addr, None, &["status"]).ok();
    assert!(
        out.stdout.starts_with(
            "Key             Value\n---             -----\nSeal Type       shamir\n\
             Initialized     true\nSealed          false\nTotal Shares    1\nThreshold       1\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.ends_with("HA Enabled      false\n"),
        "{}",
        out.stdout
    );
    let st = arca(h, addr, None, &["status", "-format=json"]).ok().json();
    assert_eq!(
        (st["sealed"].clone(), st["type"].clone()),
        (false.into(), "shamir".into())
    );
    // Go's field order: the seal status first, the HA fields last.
    let text = arca(h, addr, None, &["status", "-format=json"]).stdout;
    assert!(
        text.starts_with("{\n  \"type\": \"shamir\",\n  \"initialized\": true,"),
        "{text}"
    );
    assert!(text.ends_with("  \"ha_enabled\": false\n}\n"), "{text}");
    let out = arca(h, addr, None, &["status", "-field=sealed"]).ok();
    assert_eq!(out.stdout, "false");

    let out = arca(h, addr, Some("root"), &["operator", "key-status"]).ok();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(lines[0], "Key Term            1");
    assert!(lines[1].starts_with("Install Time        ") && lines[1].ends_with(" UTC"));
    assert!(lines[2].starts_with("Encryption Count    "));

    // Flags after the path are flags, as in `arca read sys/key-status -format=json`.
    let ks = arca(
        h,
        addr,
        Some("root"),
        &["read", "sys/key-status", "-format=json"],
    )
    .ok()
    .json();
    assert_eq!(ks["data"]["term"], 1);
    assert_eq!(ks["warnings"], Value::Null);
    let out = arca(
        h,
        addr,
        Some("root"),
        &["read", "-field=term", "sys/key-status"],
    )
    .ok();
    assert_eq!(out.stdout, "1", "a piped -field prints no newline");
    let out = arca(h, addr, Some("root"), &["read", "sys/key-status"]).ok();
    assert!(
        out.stdout
            .starts_with("Key             Value\n---             -----\nencryptions     ")
    );
    assert!(
        out.stdout.ends_with("term            1\n"),
        "{}",
        out.stdout
    );

    let out = arca(h, addr, Some("root"), &["write", "-f", "sys/rotate"]).ok();
    assert_eq!(out.stdout, "Success! Data written to: sys/rotate\n");
    assert_eq!(term(h, addr), 2);
    let out = arca(h, addr, Some("root"), &["write", "sys/rotate", "-force"]).ok();
    assert_eq!(out.stdout, "Success! Data written to: sys/rotate\n");
    let out = arca(h, addr, Some("root"), &["operator", "rotate"]).ok();
    assert!(
        out.stdout
            .starts_with("Success! Rotated key\n\nKey Term            4\n"),
        "{}",
        out.stdout
    );
    let y = arca(
        h,
        addr,
        Some("root"),
        &["read", "-format=yaml", "sys/key-status"],
    )
    .ok();
    assert!(y.stdout.contains("\n  term: 4\n"), "{}", y.stdout);
    assert!(
        y.stdout.starts_with("data:\n  encryptions: "),
        "{}",
        y.stdout
    );
    let raw = arca(
        h,
        addr,
        Some("root"),
        &["read", "-format=raw", "sys/key-status"],
    )
    .ok();
    let raw: Value = serde_json::from_str(&raw.stdout).unwrap();
    assert_eq!(raw["data"]["term"], 4);
}

#[test]
fn errors_and_exit_codes_follow_vault() {
    let server = dev_server();
    let home = tempfile::tempdir().unwrap();
    let (h, addr) = (home.path(), server.addr.as_str());

    // Usage errors: exit 1.
    let out = arca(h, addr, Some("root"), &["read"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "Not enough arguments (expected 1, got 0)\n")
    );
    let out = arca(h, addr, Some("root"), &["write", "secret/x"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "Must supply data or use -force\n")
    );
    let out = arca(h, addr, Some("root"), &["status", "extra"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "Too many arguments (expected 0, got 1)\n")
    );
    let out = arca(
        h,
        addr,
        Some("root"),
        &["read", "-format=xml", "sys/key-status"],
    );
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "Invalid output format: xml\n")
    );
    let out = arca(
        h,
        addr,
        Some("root"),
        &["write", "-format=raw", "-f", "sys/rotate"],
    );
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "This command does not support the -format=raw option.\n")
    );
    let out = arca(h, addr, Some("root"), &["write", "secret/x", "novalue"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "Failed to parse K=V data: invalid key/value pair: format must be key=value\n"
    );
    let out = arca(h, addr, Some("root"), &["read", "-no-such-flag", "x"]);
    assert_eq!(out.code, 1, "{out:?}");

    // Server errors: exit 2, Vault's multi-line error text.
    let out = arca(h, addr, Some("wrong"), &["read", "sys/key-status"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr,
        format!(
            "Error reading sys/key-status: Error making API request.\n\nURL: GET \
             {addr}/v1/sys/key-status\nCode: 403. Errors:\n\n* permission denied\n"
        )
    );
    let out = arca(h, addr, Some("root"), &["read", "nosuch/path"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (2, "No value found at nosuch/path\n")
    );

    // A server that is not there: status exits 1, other commands 2.
    let out = arca(h, "http://127.0.0.1:1", None, &["status"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "Error checking seal status: Get \"http://127.0.0.1:1/v1/sys/seal-status\": "
        ),
        "{}",
        out.stderr
    );
    let out = arca(
        h,
        "http://127.0.0.1:1",
        Some("root"),
        &["read", "sys/key-status"],
    );
    assert_eq!(out.code, 2);
    let out = arca(h, "not a url", None, &["status"]);
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn login_writes_the_token_helper_file() {
    let server = dev_server();
    let home = tempfile::tempdir().unwrap();
    let (h, addr) = (home.path(), server.addr.as_str());

    let out = arca(h, addr, None, &["print", "token"]).ok();
    assert_eq!(out.stdout, "\n");
    // No token anywhere: the server refuses.
    assert_eq!(arca(h, addr, None, &["operator", "key-status"]).code, 2);

    let out = arca(
        h,
        addr,
        None,
        &["login", "-token-only", "root", "lookup=false"],
    )
    .ok();
    assert_eq!(out.stdout, "root");
    assert!(
        !h.join(".arca-token").exists(),
        "-token-only does not store"
    );

    // `arca login <token>` verifies the token with auth/token/lookup-self, which may not be
    // served yet; `lookup=false` stores it without asking.
    let out = arca(h, addr, None, &["login", "root", "lookup=false"]).ok();
    assert!(
        out.stdout
            .starts_with("Success! You are now authenticated."),
        "{out:?}"
    );
    let file = h.join(".arca-token");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "root");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    assert_eq!(
        arca(h, addr, None, &["print", "token"]).ok().stdout,
        "root\n"
    );
    arca(h, addr, None, &["operator", "key-status"]).ok();
    // The environment wins over the file.
    assert_eq!(
        arca(h, addr, Some("other"), &["print", "token"])
            .ok()
            .stdout,
        "other\n"
    );
    let env = [("ARCA_ADDR", addr), ("VAULT_TOKEN", "fromvault")];
    assert_eq!(
        arca_env(h, &env, &["print", "token"], None).ok().stdout,
        "fromvault\n"
    );

    // `-` reads the token from stdin; -no-store warns and leaves the file alone.
    let out = arca_env(
        h,
        &[("ARCA_ADDR", addr)],
        &["login", "-no-store", "-", "lookup=false"],
        Some("s.piped\n"),
    )
    .ok();
    assert!(
        out.stderr
            .contains("The token was not stored in token helper.")
    );
    assert!(
        out.stdout.contains("token                s.piped\n"),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "root");
    let out = arca(h, addr, None, &["login", "-no-store", "-no-print", "root"]);
    assert_eq!(out.code, 1);
}

#[test]
fn seal_and_unseal_a_dev_server() {
    let server = dev_server();
    let home = tempfile::tempdir().unwrap();
    let (h, addr) = (home.path(), server.addr.as_str());
    let key = server.printed("Unseal Key:");

    let out = arca(h, addr, Some("root"), &["operator", "seal"]).ok();
    assert_eq!(out.stdout, "Success! Vault is sealed.\n");
    let out = arca(h, addr, None, &["status"]);
    assert_eq!(out.code, 2, "sealed: exit 2");
    assert!(
        out.stdout.contains("\nSealed             true\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nUnseal Progress    0/1\n"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\nUnseal Nonce       n/a\n"),
        "{}",
        out.stdout
    );
    let st = arca(h, addr, None, &["status", "-format=json"]);
    assert_eq!(st.code, 2);
    assert_eq!(st.json()["sealed"], true);

    let out = arca(h, addr, None, &["operator", "unseal", &key]).ok();
    assert!(
        out.stdout.contains("\nSealed          false\n"),
        "{}",
        out.stdout
    );
    arca(h, addr, None, &["status"]).ok();
}

#[test]
fn init_unseal_generate_root_and_rotate_keys_on_a_config_server() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = embedded_config(dir.path(), "");
    let server = Server::start(&["-config", cfg.to_str().unwrap()], &[]);
    let home = tempfile::tempdir().unwrap();
    let (h, addr) = (home.path(), server.addr.as_str());

    let out = arca(h, addr, None, &["operator", "init", "-status"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (2, "Vault is not initialized\n")
    );
    let out = arca(h, addr, None, &["status"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        row(&out.stdout, "Initialized"),
        Some("false"),
        "{}",
        out.stdout
    );

    let init = arca(
        h,
        addr,
        None,
        &[
            "operator",
            "init",
            "-key-shares=3",
            "-key-threshold=2",
            "-format=json",
        ],
    )
    .ok()
    .json();
    assert_eq!(init["unseal_shares"], 3);
    assert_eq!(init["unseal_threshold"], 2);
    let keys: Vec<String> = init["unseal_keys_b64"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys.len(), 3);
    assert_eq!(init["unseal_keys_hex"].as_array().unwrap().len(), 3);
    let root = init["root_token"].as_str().unwrap().to_owned();
    arca(h, addr, None, &["operator", "init", "-status"]).ok();

    let out = arca(h, addr, None, &["operator", "unseal", &keys[0]]).ok();
    assert_eq!(
        row(&out.stdout, "Unseal Progress"),
        Some("1/2"),
        "{}",
        out.stdout
    );
    // `-` reads the share from stdin.
    let out = arca_env(
        h,
        &[("ARCA_ADDR", addr)],
        &["operator", "unseal", "-"],
        Some(&format!("{}\n", keys[1])),
    )
    .ok();
    assert_eq!(row(&out.stdout, "Sealed"), Some("false"), "{}", out.stdout);
    assert_eq!(
        row(&out.stdout, "Total Shares"),
        Some("3"),
        "{}",
        out.stdout
    );
    arca(h, addr, None, &["status"]).ok();
    let out = arca(
        h,
        addr,
        None,
        &["operator", "unseal", "-format=json", &keys[2]],
    )
    .ok();
    assert_eq!(out.json()["sealed"], false);

    // A new root token through generate-root, decoded with the OTP.
    let st = arca(
        h,
        addr,
        Some(&root),
        &["operator", "generate-root", "-init", "-format=json"],
    )
    .ok()
    .json();
    let (nonce, otp) = (
        st["nonce"].as_str().unwrap().to_owned(),
        st["otp"].as_str().unwrap().to_owned(),
    );
    assert_eq!(st["started"], true);
    assert_eq!(st["required"], 2);
    let out = arca(
        h,
        addr,
        Some(&root),
        &["operator", "generate-root", "-status"],
    )
    .ok();
    assert_eq!(row(&out.stdout, "Progress"), Some("0/2"), "{}", out.stdout);
    let nonce_flag = format!("-nonce={nonce}");
    let st = arca(
        h,
        addr,
        Some(&root),
        &[
            "operator",
            "generate-root",
            &nonce_flag,
            "-format=json",
            &keys[0],
        ],
    )
    .ok()
    .json();
    assert_eq!(st["progress"], 1);
    let st = arca(
        h,
        addr,
        Some(&root),
        &[
            "operator",
            "generate-root",
            &nonce_flag,
            "-format=json",
            &keys[1],
        ],
    )
    .ok()
    .json();
    assert_eq!(st["complete"], true);
    let encoded = st["encoded_token"].as_str().unwrap().to_owned();
    let decoded = arca(
        h,
        addr,
        Some(&root),
        &[
            "operator",
            "generate-root",
            &format!("-decode={encoded}"),
            &format!("-otp={otp}"),
        ],
    )
    .ok()
    .stdout;
    assert_ne!(decoded, root);
    arca(h, addr, Some(&decoded), &["operator", "key-status"]).ok();

    // New unseal keys through rotate-keys, then unseal with them.
    let out = arca(
        h,
        addr,
        Some(&root),
        &[
            "operator",
            "rotate-keys",
            "-init",
            "-key-shares=1",
            "-key-threshold=1",
        ],
    )
    .ok();
    assert_eq!(row(&out.stdout, "Started"), Some("true"), "{}", out.stdout);
    assert!(
        out.stderr.starts_with("WARNING! If you lose the keys"),
        "{}",
        out.stderr
    );
    let st = arca(
        h,
        addr,
        Some(&root),
        &["operator", "rotate-keys", "-status", "-format=json"],
    )
    .ok()
    .json();
    let nonce_flag = format!("-nonce={}", st["nonce"].as_str().unwrap());
    assert_eq!((st["n"].clone(), st["t"].clone()), (1.into(), 1.into()));
    let out = arca(
        h,
        addr,
        Some(&root),
        &["operator", "rotate-keys", &nonce_flag, &keys[0]],
    )
    .ok();
    assert_eq!(row(&out.stdout, "Progress"), Some("1/2"), "{}", out.stdout);
    let out = arca(
        h,
        addr,
        Some(&root),
        &["operator", "rotate-keys", &nonce_flag, &keys[2]],
    )
    .ok();
    let new_key = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Key 1: "))
        .unwrap_or_else(|| panic!("{}", out.stdout))
        .to_owned();
    assert!(
        out.stdout
            .replace('\n', " ")
            .contains("unseal keys rotated to 1 key shares and a key threshold of 1"),
        "{}",
        out.stdout
    );
    arca(h, addr, Some(&root), &["operator", "seal"]).ok();
    assert_eq!(arca(h, addr, None, &["status"]).code, 2);
    arca(h, addr, None, &["operator", "unseal", &new_key]).ok();
    arca(h, addr, None, &["status"]).ok();
}

// ---------------------------------------------------------------------------------------
// Differential: the same commands through `bao` and `arca` against one OpenBao dev server.

/// Names the two CLIs print differently on purpose, and per-request ids.
fn normalise(s: &str) -> String {
    mask_uuids(
        &s.replace("OpenBao", "Arca")
            .replace("\"bao ", "\"arca ")
            .replace("BAO_TOKEN", "ARCA_TOKEN"),
    )
}

/// Replaces every 8-4-4-4-12 hex UUID with `<uuid>`.
fn mask_uuids(s: &str) -> String {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let b = s.as_bytes();
    let is_uuid_at = |i: usize| -> bool {
        let mut j = i;
        for (n, len) in SHAPE.iter().enumerate() {
            for _ in 0..*len {
                if !b.get(j).is_some_and(u8::is_ascii_hexdigit) {
                    return false;
                }
                j += 1;
            }
            if n < 4 {
                if b.get(j) != Some(&b'-') {
                    return false;
                }
                j += 1;
            }
        }
        true
    };
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if (i == 0 || !b[i - 1].is_ascii_hexdigit()) && is_uuid_at(i) {
            out.push_str("<uuid>");
            i += 36;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The value of a `Key  Value` table row, whatever the column width.
fn row<'a>(table: &'a str, key: &str) -> Option<&'a str> {
    table.lines().find_map(|l| {
        l.strip_prefix(key)
            .filter(|r| r.starts_with("  "))
            .map(str::trim)
    })
}

#[test]
fn output_matches_the_bao_cli() {
    use arca_test_support::{BaoServer, ok_or_skip, python_env};

    let Some(py) = ok_or_skip(python_env()) else {
        return;
    };
    let bao_server = BaoServer::dev(&py, "root").unwrap_or_else(|e| panic!("{e}"));
    let addr = bao_server.addr.clone();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let bao = |args: &[&str]| py.bao(&addr, Some("root"), args).unwrap();

    // State for the read-only commands below, written with bao itself.
    for args in [
        &[
            "kv",
            "put",
            "secret/app",
            "user=alice",
            "n=<&>",
            "empty=",
            "multi=a\nb",
            "num=y",
        ][..],
        &["kv", "put", "secret/app", "user=bob", "pass=x y"],
        &["kv", "put", "secret/dir/nested", "a=1"],
        &[
            "kv",
            "metadata",
            "put",
            "-custom-metadata=owner=ops",
            "secret/app",
        ],
        &[
            "secrets",
            "enable",
            "-path=kv1",
            "-description=v1 store",
            "kv",
        ],
        &["write", "kv1/foo", "a=b", "ttl=1h"],
        &["auth", "enable", "-path=up", "userpass"],
    ] {
        let out = bao(args);
        assert_eq!(out.code, 0, "bao {args:?}: {out:?}");
    }
    let policy = home.path().join("p.hcl");
    std::fs::write(
        &policy,
        "path \"secret/*\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .unwrap();
    assert_eq!(
        bao(&["policy", "write", "reader", policy.to_str().unwrap()]).code,
        0
    );

    let commands: &[&[&str]] = &[
        &["status"],
        &["status", "-format=json"],
        &["status", "-format=yaml"],
        &["operator", "key-status", "-format=json"],
        &["read", "secret/data/app"],
        &["read", "-format=json", "secret/data/app"],
        &["read", "-format=yaml", "secret/data/app"],
        &["read", "-field=data", "secret/data/app"],
        &["read", "kv1/foo"],
        &["read", "-format=json", "kv1/foo"],
        &["read", "secret/app"],
        &["read", "-format=json", "secret/nope"],
        &["read", "kv1/nope"],
        &["list", "secret/metadata"],
        &["list", "-format=json", "secret/metadata"],
        &["list", "-format=yaml", "secret/metadata"],
        &["list", "kv1/nope"],
        &["kv", "get", "secret/app"],
        &["kv", "get", "-format=json", "secret/app"],
        &["kv", "get", "-format=yaml", "secret/app"],
        &["kv", "get", "-version=1", "secret/app"],
        &["kv", "get", "-field=user", "secret/app"],
        &["kv", "get", "-field=nope", "secret/app"],
        &["kv", "get", "-mount=secret", "app"],
        &["kv", "get", "kv1/foo"],
        &["kv", "get", "secret/nope"],
        &["kv", "list", "secret"],
        &["kv", "list", "-format=json", "secret/"],
        &["kv", "list", "secret/nope"],
        &["kv", "metadata", "get", "secret/app"],
        &["kv", "metadata", "get", "-format=json", "secret/app"],
        &["secrets", "list"],
        &["secrets", "list", "-detailed"],
        &["secrets", "list", "-format=json"],
        &["auth", "list"],
        &["auth", "list", "-format=yaml"],
        &["policy", "list"],
        &["policy", "read", "reader"],
        &["policy", "read", "-format=json", "reader"],
        &["policy", "read", "nope"],
        &["token", "lookup"],
        &["token", "lookup", "-format=json"],
        &["token", "capabilities", "secret/data/app"],
        &[
            "token",
            "capabilities",
            "-format=json",
            "root",
            "sys/mounts",
        ],
        &["operator", "generate-root", "-status"],
        &["operator", "rotate-keys", "-status", "-format=json"],
        &["write", "-format=json", "sys/tools/hash", "input=aGVsbG8="],
        &["write", "-field=sum", "sys/tools/hash", "input=aGVsbG8="],
        &["print", "token"],
        &["lease", "lookup", "nope"],
        &["read"],
        &["kv", "put", "secret/x"],
        &["write", "-format=xml", "secret/x", "a=b"],
    ];
    let mut failures = Vec::new();
    for args in commands {
        let b = bao(args);
        let a = arca(h, &addr, Some("root"), args);
        let (bo, ao) = (normalise(&b.stdout), normalise(&a.stdout));
        let (be, ae) = (normalise(&b.stderr), normalise(&a.stderr));
        if b.code != a.code || bo != ao || be != ae {
            failures.push(format!(
                "{args:?}\n  exit bao={} arca={}\n  bao stdout:  {bo:?}\n  arca stdout: {ao:?}\n  bao stderr:  {be:?}\n  arca stderr: {ae:?}",
                b.code, a.code
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} commands differ:\n{}",
        failures.len(),
        commands.len(),
        failures.join("\n")
    );

    // Writes, each CLI on its own path, with the path normalised.
    let pairs: &[(&[&str], &[&str])] = &[
        (
            &["kv", "put", "secret/w-bao", "a=1"],
            &["kv", "put", "secret/w-arc", "a=1"],
        ),
        (
            &["kv", "patch", "secret/w-bao", "b=2"],
            &["kv", "patch", "secret/w-arc", "b=2"],
        ),
        (
            &["kv", "patch", "-method=rw", "secret/w-bao", "c=3"],
            &["kv", "patch", "-method=rw", "secret/w-arc", "c=3"],
        ),
        (
            &["kv", "delete", "secret/w-bao"],
            &["kv", "delete", "secret/w-arc"],
        ),
        (
            &["kv", "get", "secret/w-bao"],
            &["kv", "get", "secret/w-arc"],
        ),
        (
            &["kv", "undelete", "-versions=3", "secret/w-bao"],
            &["kv", "undelete", "-versions=3", "secret/w-arc"],
        ),
        (
            &["kv", "rollback", "-version=1", "secret/w-bao"],
            &["kv", "rollback", "-version=1", "secret/w-arc"],
        ),
        (
            &["kv", "destroy", "-versions=1", "secret/w-bao"],
            &["kv", "destroy", "-versions=1", "secret/w-arc"],
        ),
        (
            &["kv", "metadata", "delete", "secret/w-bao"],
            &["kv", "metadata", "delete", "secret/w-arc"],
        ),
        (
            &["write", "kv1/w-bao", "x=1"],
            &["write", "kv1/w-arc", "x=1"],
        ),
        (&["delete", "kv1/w-bao"], &["delete", "kv1/w-arc"]),
        (
            &["secrets", "enable", "-path=m-bao", "-version=2", "kv"],
            &["secrets", "enable", "-path=m-arc", "-version=2", "kv"],
        ),
        (
            &["secrets", "tune", "-max-lease-ttl=2h", "m-bao"],
            &["secrets", "tune", "-max-lease-ttl=2h", "m-arc"],
        ),
        (
            &["secrets", "disable", "m-bao"],
            &["secrets", "disable", "m-arc"],
        ),
    ];
    let mask_times = |s: &str| -> String {
        // Creation and deletion times differ between the two writes.
        s.split('\n')
            .map(|l| {
                if l.contains("_time") || l.contains("\"version\"") || l.starts_with("version ") {
                    l.split_whitespace().next().unwrap_or_default().to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (b_args, a_args) in pairs {
        let b = bao(b_args);
        let a = arca(h, &addr, Some("root"), a_args);
        let fix = |s: &str| {
            mask_times(
                &normalise(s)
                    .replace("w-bao", "w-arc")
                    .replace("m-bao", "m-arc"),
            )
        };
        if b.code != a.code || fix(&b.stdout) != fix(&a.stdout) || fix(&b.stderr) != fix(&a.stderr)
        {
            failures.push(format!(
                "{a_args:?}\n  exit bao={} arca={}\n  bao:  {:?} {:?}\n  arca: {:?} {:?}",
                b.code, a.code, b.stdout, b.stderr, a.stdout, a.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "writes differ:\n{}",
        failures.join("\n")
    );
}

#[test]
fn tls_ca_cert_and_skip_verify() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let cfg = dir.path().join("tls.hcl");
    std::fs::write(
        &cfg,
        format!(
            "storage \"inmem\" {{}}\ndisable_mlock = true\nlistener \"tcp\" {{\n  address = \
             \"127.0.0.1:0\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
            cert_path.display(),
            key_path.display()
        ),
    )
    .unwrap();
    let server = Server::start(&["-config", cfg.to_str().unwrap()], &[]);
    let addr = server.addr.as_str();
    assert!(addr.starts_with("https://"), "{addr}");
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let ca = cert_path.to_str().unwrap();

    // Unknown CA: a transport error naming the URL, exit 1 for status.
    let out = arca(h, addr, None, &["status"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.starts_with(&format!(
            "Error checking seal status: Get \"{addr}/v1/sys/seal-status\": "
        )),
        "{}",
        out.stderr
    );
    // The not-yet-initialised server answers: exit 2 (sealed).
    let flag = format!("-ca-cert={ca}");
    let out = arca(h, addr, None, &["status", &flag]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(row(&out.stdout, "Initialized"), Some("false"));
    let out = arca_env(
        h,
        &[("ARCA_ADDR", addr), ("VAULT_CACERT", ca)],
        &["status"],
        None,
    );
    assert_eq!(out.code, 2, "{out:?}");
    let out = arca(h, addr, None, &["status", "-tls-skip-verify"]);
    assert_eq!(out.code, 2, "{out:?}");
    let env = [("ARCA_ADDR", addr), ("BAO_SKIP_VERIFY", "true")];
    assert_eq!(arca_env(h, &env, &["status"], None).code, 2);
    let out = arca(h, addr, None, &["status", "-tls-skip-verify=false"]);
    assert_eq!(out.code, 1, "{out:?}");
}

// ---------------------------------------------------------------------------------------
// arca-client used directly.

mod client_api {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use arca_client::sys::{Flavor, RekeyInitRequest};
    use arca_client::{Client, Config, Error, Token};
    use arca_types::sys::{InitRequest, UnsealRequest};
    use serde_json::json;

    use super::dev_server;
    use crate::support::{Server, embedded_config};

    fn client(addr: &str, token: Option<&str>) -> Client {
        Client::new(&Config {
            address: addr.to_owned(),
            token: token.map(Token::new),
            ..Config::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn sys_calls_against_a_dev_server() {
        let server = dev_server();
        let c = client(&server.addr, Some("root"));

        let h = c.health().await.unwrap();
        assert!(h.initialized && !h.sealed && !h.standby, "{h:?}");
        let st = c.seal_status().await.unwrap();
        assert_eq!((st.sealed, st.t, st.n), (false, 1, 1));
        assert_eq!(st.storage_type, "inmem");
        assert!(!c.leader().await.unwrap().ha_enabled);
        assert_eq!(c.key_status().await.unwrap().term, 1);
        c.rotate().await.unwrap();
        c.rotate_keyring().await.unwrap();
        assert_eq!(c.key_status().await.unwrap().term, 3);

        // Generic reads follow the Go client: data, or None for a 404.
        let ks = c.read("sys/key-status", &[]).await.unwrap().unwrap();
        assert_eq!(ks.data.unwrap()["term"], 3);
        assert!(c.read("nosuch/path", &[]).await.unwrap().is_none());
        // A bare (non-envelope) answer becomes data.
        let ss = c.read("sys/seal-status", &[]).await.unwrap().unwrap();
        assert_eq!(ss.data.unwrap()["sealed"], false);

        // Errors carry the status and the server's messages.
        let bad = client(&server.addr, Some("wrong"));
        let e = bad.read("sys/key-status", &[]).await.unwrap_err();
        assert_eq!(e.status(), Some(403));
        assert_eq!(e.api_errors(), ["permission denied"]);
        assert!(
            e.to_string()
                .starts_with("Error making API request.\n\nURL: GET ")
        );
        assert!(
            !format!("{e:?} {bad:?}").contains("wrong"),
            "token in Debug output"
        );
        let e = client("http://127.0.0.1:1", None)
            .seal_status()
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Transport { .. }), "{e:?}");

        c.seal().await.unwrap();
        assert!(c.seal_status().await.unwrap().sealed);
        let st = c
            .unseal(&UnsealRequest {
                key: Some(server.printed("Unseal Key:")),
                ..UnsealRequest::default()
            })
            .await
            .unwrap();
        assert!(!st.sealed);
    }

    #[tokio::test]
    async fn init_raw_storage_generate_root_and_rekey() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = embedded_config(dir.path(), "raw_storage_endpoint = true");
        let server = Server::start(&["-config", cfg.to_str().unwrap()], &[]);
        let anon = client(&server.addr, None);
        assert!(!anon.init_status().await.unwrap());
        let init = anon
            .init(&InitRequest {
                secret_shares: Some(1),
                secret_threshold: Some(1),
                ..InitRequest::default()
            })
            .await
            .unwrap();
        assert_eq!((init.keys.len(), init.keys_base64.len()), (1, 1));
        assert!(!format!("{init:?}").contains(&init.root_token));
        assert!(anon.init_status().await.unwrap());
        let unseal = |key: String| UnsealRequest {
            key: Some(key),
            ..UnsealRequest::default()
        };
        assert!(
            !anon
                .unseal(&unseal(init.keys[0].clone()))
                .await
                .unwrap()
                .sealed
        );

        let c = client(&server.addr, Some(&init.root_token));
        // write (204 -> None), read, list, delete.
        let body = json!({"value": "kept"});
        assert!(
            c.write("sys/raw/cli/a", Some(&body))
                .await
                .unwrap()
                .is_none()
        );
        let got = c.read("sys/raw/cli/a", &[]).await.unwrap().unwrap();
        assert_eq!(got.data.unwrap()["value"], "kept");
        let keys = c.list("sys/raw/cli").await.unwrap().unwrap();
        assert_eq!(keys.data.unwrap()["keys"], json!(["a"]));
        assert!(c.delete("sys/raw/cli/a", &[]).await.unwrap().is_none());
        assert!(c.read("sys/raw/cli/a", &[]).await.unwrap().is_none());
        assert!(c.list("sys/raw/cli").await.unwrap().is_none());

        // Root token generation with a server-made OTP.
        let st = c.generate_root_init(Flavor::OpenBao, None).await.unwrap();
        assert!(st.started && !st.otp.is_empty());
        let st = c
            .generate_root_update(Flavor::OpenBao, &init.keys[0], &st.nonce)
            .await
            .unwrap();
        assert!(st.complete && !st.encoded_token.is_empty());
        c.generate_root_cancel(Flavor::OpenBao).await.unwrap();

        // Rekey to two shares, then unseal with them.
        let st = c
            .rekey_init(
                Flavor::OpenBao,
                &RekeyInitRequest {
                    secret_shares: 2,
                    secret_threshold: 2,
                    ..RekeyInitRequest::default()
                },
            )
            .await
            .unwrap();
        assert!(st.started);
        assert_eq!(c.rekey_status(Flavor::OpenBao).await.unwrap().n, 2);
        let done = c
            .rekey_update(Flavor::OpenBao, &init.keys_base64[0], &st.nonce)
            .await
            .unwrap();
        assert!(done.complete);
        assert_eq!(done.keys.len(), 2);
        c.seal().await.unwrap();
        assert!(
            anon.unseal(&unseal(done.keys[0].clone()))
                .await
                .unwrap()
                .sealed
        );
        assert!(
            !anon
                .unseal(&unseal(done.keys_base64[1].clone()))
                .await
                .unwrap()
                .sealed
        );
    }

    /// Accepts one HTTP/1.1 request, answers 204, and returns the request head and body.
    fn capture_one(listener: TcpListener) -> std::thread::JoinHandle<(String, String)> {
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            stream
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .unwrap();
            (head, String::from_utf8(body).unwrap())
        })
    }

    #[tokio::test]
    async fn every_request_says_x_vault_request() {
        for (method, want_body, want_type) in [
            ("PUT", "null", "application/json"),
            ("PATCH", "{\"a\":null}", "application/merge-patch+json"),
        ] {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = format!("http://{}", listener.local_addr().unwrap());
            let seen = capture_one(listener);
            let mut config = Config {
                address: addr,
                token: Some(Token::new("s.tok")),
                namespace: Some("team/".into()),
                ..Config::default()
            };
            config.wrap_ttl = Some("5m".into());
            let c = Client::new(&config).unwrap();
            let r = if method == "PUT" {
                c.write("secret//x/", None).await
            } else {
                c.patch("secret/x", Some(&json!({"a": null}))).await
            };
            assert!(r.unwrap().is_none());
            let (head, body) = seen.join().unwrap();
            let lower = head.to_ascii_lowercase();
            assert!(
                head.starts_with(&format!("{method} /v1/secret/x HTTP/1.1\r\n")),
                "{head}"
            );
            for h in [
                "x-vault-request: true",
                "x-vault-token: s.tok",
                "x-vault-namespace: team/",
                "x-vault-wrap-ttl: 5m",
            ] {
                assert!(lower.contains(h), "{h} missing in {head}");
            }
            assert!(
                lower.contains(&format!("content-type: {want_type}")),
                "{head}"
            );
            assert_eq!(body, want_body);
        }
    }
}

/// Masks what differs between two servers (shares, tokens, nonces, OTPs, addresses, cluster
/// names) and collapses whitespace, so paragraphs that wrap differently because "Arca" is
/// shorter than "OpenBao" still compare equal (table layout is checked by the dev-server
/// test).
fn mask_secrets(s: &str, addr: &str) -> String {
    let s = mask_uuids(&normalise(&s.replace(addr, "<addr>")));
    s.split_whitespace()
        .map(|w| {
            let long_token = w.len() >= 20
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '.'));
            if long_token {
                "<secret>"
            } else if w.starts_with("vault-cluster-") || w.starts_with("\"vault-cluster-") {
                "<cluster>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn operator_output_matches_the_bao_cli() {
    use arca_test_support::{BaoServer, ok_or_skip, python_env};

    let Some(py) = ok_or_skip(python_env()) else {
        return;
    };
    // Two fresh OpenBao servers: one driven by bao, the other by arca.
    let b_srv = BaoServer::inmem(&py, "").unwrap_or_else(|e| panic!("{e}"));
    let a_srv = BaoServer::inmem(&py, "").unwrap_or_else(|e| panic!("{e}"));
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let mut failures = Vec::new();
    let mut step = |args: &[String], b_tok: Option<&str>, a_tok: Option<&str>| {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let b = py.bao(&b_srv.addr, b_tok, &argv).unwrap();
        let a = arca(h, &a_srv.addr, a_tok, &argv);
        let same = b.code == a.code
            && mask_secrets(&b.stdout, &b_srv.addr) == mask_secrets(&a.stdout, &a_srv.addr)
            && mask_secrets(&b.stderr, &b_srv.addr) == mask_secrets(&a.stderr, &a_srv.addr);
        if !same {
            failures.push(format!(
                "{:?}\n  bao ({}): {:?} {:?}\n  arca ({}): {:?} {:?}",
                argv.first(),
                b.code,
                b.stdout,
                b.stderr,
                a.code,
                a.stdout,
                a.stderr
            ));
        }
        (b.stdout, a.stdout)
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();

    step(&s(&["status"]), None, None);
    step(&s(&["operator", "init", "-status"]), None, None);
    let (bi, ai) = step(
        &s(&["operator", "init", "-key-shares=3", "-key-threshold=2"]),
        None,
        None,
    );
    let shares = |text: &str| -> (Vec<String>, String) {
        let keys = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("Unseal Key ")
                    .and_then(|r| r.split_once(": "))
            })
            .map(|(_, k)| k.to_owned())
            .collect();
        let root = text
            .lines()
            .find_map(|l| l.strip_prefix("Initial Root Token: "))
            .unwrap_or_default()
            .to_owned();
        (keys, root)
    };
    let ((bk, bt), (ak, at)) = (shares(&bi), shares(&ai));
    assert_eq!((bk.len(), ak.len()), (3, 3), "{bi}\n{ai}");
    // Unseal step by step; each CLI gets its own server's shares.
    for i in 0..2 {
        let argv_b = s(&["operator", "unseal", &bk[i]]);
        let argv_a = s(&["operator", "unseal", &ak[i]]);
        let b = py
            .bao(
                &b_srv.addr,
                None,
                &argv_b.iter().map(String::as_str).collect::<Vec<_>>(),
            )
            .unwrap();
        let a = arca(
            h,
            &a_srv.addr,
            None,
            &argv_a.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_eq!(b.code, a.code);
        assert_eq!(
            mask_secrets(&b.stdout, &b_srv.addr),
            mask_secrets(&a.stdout, &a_srv.addr)
        );
    }
    step(&s(&["status", "-format=json"]), None, None);
    step(&s(&["operator", "key-status"]), Some(&bt), Some(&at));
    step(
        &s(&["operator", "generate-root", "-status"]),
        Some(&bt),
        Some(&at),
    );
    step(
        &s(&["operator", "generate-root", "-init"]),
        Some(&bt),
        Some(&at),
    );
    step(
        &s(&["operator", "generate-root", "-status", "-format=json"]),
        Some(&bt),
        Some(&at),
    );
    step(
        &s(&["operator", "generate-root", "-cancel"]),
        Some(&bt),
        Some(&at),
    );
    step(
        &s(&[
            "operator",
            "rotate-keys",
            "-init",
            "-key-shares=2",
            "-key-threshold=2",
        ]),
        Some(&bt),
        Some(&at),
    );
    step(
        &s(&["operator", "rotate-keys", "-status", "-format=yaml"]),
        Some(&bt),
        Some(&at),
    );
    step(
        &s(&["operator", "rotate-keys", "-cancel"]),
        Some(&bt),
        Some(&at),
    );
    step(
        &s(&["operator", "rotate-keys", "-status"]),
        Some(&bt),
        Some(&at),
    );
    step(&s(&["operator", "rotate"]), Some(&bt), Some(&at));
    step(&s(&["operator", "rekey", "-status"]), Some(&bt), Some(&at));
    step(&s(&["operator", "seal"]), Some(&bt), Some(&at));
    step(&s(&["status"]), None, None);
    step(&s(&["operator", "unseal", "-reset"]), None, None);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
