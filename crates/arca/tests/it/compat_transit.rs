//! Differential test of the transit engine: the same requests against `arca server -dev`
//! and `bao server -dev`, response shapes and status codes compared field by field with
//! ciphertexts, signatures, HMACs, key material and timestamps masked.

use arca_test_support::JsonDiff;
use serde_json::{Value, json};

use crate::compat_common::{arca_dev, bao_dev, http, py};

const TOKEN: &str = "transit-diff-root";

/// One server under test.
struct Target {
    addr: String,
    client: reqwest::Client,
}

impl Target {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string());
        let (s, v, _) = http(
            &self.client,
            method,
            &format!("{}/v1/{path}", self.addr),
            &[("X-Vault-Token", TOKEN)],
            body.as_deref(),
        )
        .await;
        (s, v)
    }
}

/// Builds a step's body from the target's remembered values.
type BodyFn = Box<dyn Fn(&serde_json::Map<String, Value>) -> Option<Value>>;

/// (what, method, path, body).
type Step = (&'static str, &'static str, &'static str, BodyFn);

fn masks() -> JsonDiff {
    JsonDiff::new().mask(&[
        "request_id",
        "ciphertext",
        "signature",
        "hmac",
        "creation_time",
        "public_key",
        "/data/keys/*",
        "/data/batch_results/*/ciphertext",
    ])
}

#[tokio::test]
async fn transit_answers_match_openbao() {
    let Some(py) = py() else { return };
    let arca = arca_dev(TOKEN);
    let bao = bao_dev(&py, TOKEN);
    let targets = [
        Target {
            addr: arca.addr.clone(),
            client: reqwest::Client::new(),
        },
        Target {
            addr: bao.addr.clone(),
            client: reqwest::Client::new(),
        },
    ];
    for t in &targets {
        let (s, b) = t
            .call(
                "POST",
                "sys/mounts/transit",
                Some(json!({"type": "transit"})),
            )
            .await;
        assert_eq!(s, 204, "{}: {b}", t.addr);
    }
    let diff = masks();

    // Each step: (what, method, path, body built from the target's own earlier answers).
    // Answers are compared pairwise; `state` keeps per-target values (ciphertexts...).
    let mut state: [serde_json::Map<String, Value>; 2] = Default::default();
    let steps: Vec<Step> = vec![
        (
            "create key",
            "POST",
            "transit/keys/k",
            Box::new(|_| Some(json!({}))),
        ),
        ("read key", "GET", "transit/keys/k", Box::new(|_| None)),
        (
            "re-create with another type",
            "POST",
            "transit/keys/k",
            Box::new(|_| Some(json!({"type": "rsa-2048"}))),
        ),
        (
            "encrypt",
            "POST",
            "transit/encrypt/k",
            Box::new(|_| Some(json!({"plaintext": "aGVsbG8gd29ybGQ="}))),
        ),
        (
            "decrypt",
            "POST",
            "transit/decrypt/k",
            Box::new(|s| Some(json!({"ciphertext": s["ct"]}))),
        ),
        (
            "batch encrypt, one bad item",
            "POST",
            "transit/encrypt/k",
            Box::new(|_| {
                Some(json!({"batch_input": [
            {"plaintext": "aGVsbG8="}, {"plaintext": "aGVsbG8=", "reference": "r2"}, {"plaintext": "!!"}]}))
            }),
        ),
        (
            "batch decrypt, bad items",
            "POST",
            "transit/decrypt/k",
            Box::new(|s| {
                Some(json!({"batch_input": [
            {"ciphertext": s["ct"]}, {"ciphertext": "vault:v9:AAAA", "reference": "x"}, {"ciphertext": "junk"}]}))
            }),
        ),
        (
            "decrypt, too new",
            "POST",
            "transit/decrypt/k",
            Box::new(|_| Some(json!({"ciphertext": "vault:v9:AAAA"}))),
        ),
        (
            "decrypt, no prefix",
            "POST",
            "transit/decrypt/k",
            Box::new(|_| Some(json!({"ciphertext": "junk"}))),
        ),
        (
            "decrypt, tampered",
            "POST",
            "transit/decrypt/k",
            Box::new(|s| Some(json!({"ciphertext": s["ct_tampered"]}))),
        ),
        (
            "decrypt, missing key",
            "POST",
            "transit/decrypt/nokey",
            Box::new(|_| Some(json!({"ciphertext": "vault:v1:AAAA"}))),
        ),
        (
            "rotate",
            "POST",
            "transit/keys/k/rotate",
            Box::new(|_| Some(json!({}))),
        ),
        (
            "rewrap batch",
            "POST",
            "transit/rewrap/k",
            Box::new(|s| {
                Some(json!({"batch_input": [
            {"ciphertext": s["ct"]}, {"ciphertext": "vault:v9:AAAA", "reference": "x"}]}))
            }),
        ),
        (
            "config min_decryption_version",
            "POST",
            "transit/keys/k/config",
            Box::new(|_| Some(json!({"min_decryption_version": 2}))),
        ),
        (
            "decrypt v1 after min_decryption_version=2",
            "POST",
            "transit/decrypt/k",
            Box::new(|s| Some(json!({"ciphertext": s["ct"]}))),
        ),
        (
            "config min_encryption_version too high",
            "POST",
            "transit/keys/k/config",
            Box::new(|_| Some(json!({"min_encryption_version": 9}))),
        ),
        (
            "trim without min_encryption_version",
            "POST",
            "transit/keys/k/trim",
            Box::new(|_| Some(json!({"min_available_version": 1}))),
        ),
        (
            "export, not exportable",
            "GET",
            "transit/export/encryption-key/k",
            Box::new(|_| None),
        ),
        (
            "hmac",
            "POST",
            "transit/hmac/k",
            Box::new(|_| Some(json!({"input": "aGVsbG8="}))),
        ),
        (
            "hmac verify",
            "POST",
            "transit/verify/k",
            Box::new(|s| Some(json!({"input": "aGVsbG8=", "hmac": s["hmac"]}))),
        ),
        (
            "hmac verify, wrong",
            "POST",
            "transit/verify/k",
            Box::new(|_| Some(json!({"input": "aGVsbG8=", "hmac": "vault:v2:AAAA"}))),
        ),
        (
            "hmac batch",
            "POST",
            "transit/hmac/k",
            Box::new(|_| {
                Some(
                    json!({"batch_input": [{"input": "aGVsbG8="}, {"input": "!!", "reference": "b"}]}),
                )
            }),
        ),
        (
            "create ed25519",
            "POST",
            "transit/keys/ed",
            Box::new(|_| Some(json!({"type": "ed25519"}))),
        ),
        (
            "sign ed25519",
            "POST",
            "transit/sign/ed",
            Box::new(|_| Some(json!({"input": "aGVsbG8="}))),
        ),
        (
            "verify ed25519",
            "POST",
            "transit/verify/ed",
            Box::new(|s| Some(json!({"input": "aGVsbG8=", "signature": s["sig"]}))),
        ),
        (
            "verify ed25519, bad signature",
            "POST",
            "transit/verify/ed",
            Box::new(|_| Some(json!({"input": "aGVsbG8=", "signature": "vault:v1:AAAA"}))),
        ),
        (
            "sign batch",
            "POST",
            "transit/sign/ed",
            Box::new(|_| {
                Some(
                    json!({"batch_input": [{"input": "aGVsbG8="}, {"input": "!!", "reference": "b"}]}),
                )
            }),
        ),
        (
            "create ecdsa-p256",
            "POST",
            "transit/keys/ec",
            Box::new(|_| Some(json!({"type": "ecdsa-p256"}))),
        ),
        (
            "sign ecdsa jws",
            "POST",
            "transit/sign/ec/sha2-384",
            Box::new(|_| Some(json!({"input": "aGVsbG8=", "marshaling_algorithm": "jws"}))),
        ),
        (
            "verify ecdsa jws",
            "POST",
            "transit/verify/ec/sha2-384",
            Box::new(|s| {
                Some(
                    json!({"input": "aGVsbG8=", "marshaling_algorithm": "jws", "signature": s["sig"]}),
                )
            }),
        ),
        (
            "verify ecdsa, malformed",
            "POST",
            "transit/verify/ec",
            Box::new(|_| Some(json!({"input": "aGVsbG8=", "signature": "vault:v1:AAAA"}))),
        ),
        (
            "hash sha3-224",
            "POST",
            "transit/hash/sha3-224",
            Box::new(|_| Some(json!({"input": "aGVsbG8=", "format": "base64"}))),
        ),
        (
            "unknown key type",
            "POST",
            "transit/keys/bad",
            Box::new(|_| Some(json!({"type": "nosuch"}))),
        ),
        (
            "read missing key",
            "GET",
            "transit/keys/nokey",
            Box::new(|_| None),
        ),
        ("list keys", "LIST", "transit/keys", Box::new(|_| None)),
        (
            "config/keys",
            "GET",
            "transit/config/keys",
            Box::new(|_| None),
        ),
    ];
    // Known, intentional differences (docs: transit section of the compatibility notes).
    let known: &[(&str, &[(&str, &str)])] = &[(
        "unknown key type",
        &[("/errors/0", "Arca does not echo the requested type")],
    )];
    for (what, method, path, body) in &steps {
        let mut answers = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            let (s, b) = t.call(method, path, body(&state[i])).await;
            // Remember what later steps need.
            let d = &b["data"];
            if *what == "encrypt" {
                let ct = d["ciphertext"].as_str().unwrap().to_owned();
                let (prefix, body64) = ct.rsplit_once(':').unwrap();
                let mut raw = base64_decode(body64);
                raw[14] ^= 1;
                state[i].insert("ct".into(), ct.clone().into());
                state[i].insert(
                    "ct_tampered".into(),
                    format!("{prefix}:{}", base64_encode(&raw)).into(),
                );
            }
            if let Some(h) = d.get("hmac") {
                state[i].insert("hmac".into(), h.clone());
            }
            if let Some(sig) = d.get("signature") {
                state[i].insert("sig".into(), sig.clone());
            }
            answers.push((s, b));
        }
        let (a, o) = (&answers[0], &answers[1]);
        assert_eq!(
            a.0, o.0,
            "{what}: status arca {} vs openbao {}\narca: {}\nopenbao: {}",
            a.0, o.0, a.1, o.1
        );
        let k = known
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, k)| *k)
            .unwrap_or(&[]);
        diff.assert_matches(what, &a.1, &o.1, k);
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
