//! A config-file Arca server (embedded storage) taken through its whole operator life cycle by
//! the `bao` CLI alone — init, unseal, generate-root, rotate, rotate-keys, seal — and the same
//! script run against a non-dev OpenBao server (`storage "inmem"`), step by step compared.

use arca_test_support::{BaoServer, PyEnv};
use serde_json::{Value, json};

use crate::compat_common::{bao, bao_json, norm, py, secret_mask};
use crate::support::{Server, embedded_config};

/// One CLI step: the command (without its secret arguments), exit code, and the JSON output
/// (`Null` for a text-only command, whose normalised text is kept instead).
struct Step {
    cmd: String,
    code: i32,
    json: Value,
    text: String,
}

/// Runs CLI steps against one server and records them.
struct Script<'a> {
    py: &'a PyEnv,
    addr: &'a str,
    steps: Vec<Step>,
}

impl Script<'_> {
    /// `bao <cmd> -format=json <args>`, asserting the exit code.
    fn json(&mut self, token: Option<&str>, cmd: &str, args: &[&str], code: i32) -> Value {
        let mut argv: Vec<&str> = cmd.split_whitespace().collect();
        argv.push("-format=json");
        argv.extend_from_slice(args);
        let v = bao_json(self.py, self.addr, token, &argv, code);
        self.steps.push(Step {
            cmd: cmd.to_owned(),
            code,
            json: v.clone(),
            text: String::new(),
        });
        v
    }

    /// `bao <cmd>` with text output, asserting the exit code.
    fn text(&mut self, token: Option<&str>, cmd: &str, code: i32) {
        let argv: Vec<&str> = cmd.split_whitespace().collect();
        let out = bao(self.py, self.addr, token, &argv);
        assert_eq!(out.code, code, "bao {cmd}: {}{}", out.stdout, out.stderr);
        self.steps.push(Step {
            cmd: cmd.to_owned(),
            code,
            json: Value::Null,
            text: norm(&format!("{}{}", out.stdout, out.stderr), self.addr),
        });
    }
}

fn string(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing or not a string"))
        .to_owned()
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v[k].as_array()
        .unwrap_or_else(|| panic!("{k} missing"))
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

/// The operator script; asserts what must hold on any server and records every step.
fn operator_script(py: &PyEnv, addr: &str) -> Vec<Step> {
    let mut s = Script {
        py,
        addr,
        steps: Vec::new(),
    };

    let st = s.json(None, "status", &[], 2);
    assert_eq!(
        (&st["initialized"], &st["sealed"]),
        (&json!(false), &json!(true))
    );
    let init = s.json(None, "operator init -key-shares=3 -key-threshold=2", &[], 0);
    let b64 = strings(&init, "unseal_keys_b64");
    let hex = strings(&init, "unseal_keys_hex");
    let root = string(&init, "root_token");
    assert_eq!((b64.len(), hex.len()), (3, 3));
    assert!(root.starts_with("s."), "root token format");
    let st = s.json(None, "status", &[], 2);
    assert_eq!((&st["t"], &st["n"]), (&json!(2), &json!(3)));
    // One share as base64, the next as hex: the CLI and server accept both.
    let st = s.json(None, "operator unseal", &[&b64[0]], 0);
    assert_eq!((&st["sealed"], &st["progress"]), (&json!(true), &json!(1)));
    let st = s.json(None, "operator unseal", &[&hex[1]], 0);
    assert_eq!(st["sealed"], false);
    s.json(None, "status", &[], 0);

    // A new root token from a quorum of shares, through OpenBao's authenticated
    // sys/generate-root-token/* (the CLI's only path).
    let t = Some(root.as_str());
    let gr = s.json(t, "operator generate-root -init", &[], 0);
    let otp = string(&gr, "otp");
    assert_eq!(otp.len(), 26);
    s.json(t, "operator generate-root -status", &[], 0);
    let nonce = format!("-nonce={}", string(&gr, "nonce"));
    let gr = s.json(t, "operator generate-root", &[&nonce, &b64[0]], 0);
    assert_eq!(gr["progress"], 1);
    let gr = s.json(t, "operator generate-root", &[&nonce, &b64[2]], 0);
    assert_eq!(gr["complete"], true);
    let decode = format!("-decode={}", string(&gr, "encoded_token"));
    let otp = format!("-otp={otp}");
    let new = s.json(t, "operator generate-root", &[&decode, &otp], 0);
    let new_root = string(&new, "token");
    assert!(new_root.starts_with("s.") && new_root != root);
    // The new token works.
    let ks = s.json(Some(&new_root), "read", &["sys/key-status"], 0);
    assert_eq!(ks["data"]["term"], 1);

    let r = s.json(t, "operator rotate", &[], 0);
    assert_eq!(r["term"], 2);

    // New unseal shares (OpenBao's sys/rotate/root/*), 3-of-4, authorised by 2 old shares.
    let rk = s.json(
        t,
        "operator rotate-keys -init -key-shares=4 -key-threshold=3",
        &[],
        0,
    );
    let nonce = format!("-nonce={}", string(&rk, "nonce"));
    let rk = s.json(t, "operator rotate-keys", &[&nonce, &b64[0]], 0);
    assert_eq!(rk["progress"], 1);
    let rk = s.json(t, "operator rotate-keys", &[&nonce, &hex[2]], 0);
    assert_eq!(rk["complete"], true);
    let new_keys = strings(&rk, "keys_base64");
    assert_eq!(new_keys.len(), 4);

    // The legacy rekey endpoint is off (405) on both, so `bao operator rekey` fails
    // (docs/compatibility.md).
    s.text(t, "operator rekey -init -key-shares=1 -key-threshold=1", 2);
    s.text(t, "operator seal", 0);
    let st = s.json(None, "status", &[], 2);
    assert_eq!((&st["t"], &st["n"]), (&json!(3), &json!(4)));
    // Three of the new shares open it.
    for (i, k) in new_keys[1..4].iter().enumerate() {
        let st = s.json(None, "operator unseal", &[k], 0);
        assert_eq!(st["sealed"], i < 2);
    }
    s.json(None, "status", &[], 0);
    s.steps
}

#[test]
fn operator_life_cycle_through_the_cli_matches_openbao() {
    let Some(py) = py() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = embedded_config(dir.path(), "");
    let arca = Server::start(&["-config", cfg.to_str().unwrap()], &[]);
    let openbao = BaoServer::inmem(&py, "").unwrap_or_else(|e| panic!("{e}"));

    // Both scripts at once: each is a few dozen sequential CLI runs.
    let (a, b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| operator_script(&py, &arca.addr));
        let b = operator_script(&py, &openbao.addr);
        (a.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), b)
    });
    assert_eq!(a.len(), b.len());
    let cmp = secret_mask();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let what = format!("step {i}: bao {}", x.cmd);
        assert_eq!(
            (&x.cmd, x.code, &x.text),
            (&y.cmd, y.code, &y.text),
            "{what}"
        );
        let known: &[(&str, &str)] =
            if x.cmd == "operator generate-root" && y.json["progress"].is_number() {
                // After an update OpenBao reports otp_length 0 (the OTP was handed out at init);
                // Arca keeps 26. Gap, reported.
                &[("/otp_length", "OpenBao zeroes it after init")]
            } else {
                &[]
            };
        cmp.assert_matches(&what, &x.json, &y.json, known);
    }
}
