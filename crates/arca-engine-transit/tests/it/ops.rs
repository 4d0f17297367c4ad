//! Operations: encrypt/decrypt/rewrap/datakey for every encrypting key type, batches,
//! tampering, envelope spellings, hmac, sign/verify for every signing key type, hash, random.

use arca_logical::{Operation, ResponseStatus};
use serde_json::{Value, json};

use crate::{Env, b64, env, unb64};

const ENCRYPTING: &[&str] = &[
    "aes128-gcm96",
    "aes256-gcm96",
    "chacha20-poly1305",
    "xchacha20-poly1305",
    "rsa-2048",
];

/// Flips one bit of the decoded body and re-encodes the envelope.
fn flip(ct: &str, byte: usize) -> String {
    let (prefix, body) = ct.rsplit_once(':').unwrap();
    let mut raw = unb64(body);
    let i = byte % raw.len();
    raw[i] ^= 0x01;
    format!("{prefix}:{}", b64(&raw))
}

#[tokio::test]
async fn round_trip_every_encrypting_type() {
    let e = env();
    for t in ENCRYPTING {
        e.write(&format!("keys/{t}"), json!({ "type": t })).await;
        for pt in [&b""[..], b"a", b"hello world", &[0xffu8; 190][..]] {
            let ct = e.encrypt(t, pt).await;
            assert!(ct.starts_with("vault:v1:"), "{t}");
            assert_eq!(e.decrypt(t, &ct).await, pt, "{t}");
        }
    }
    // Sizes on the wire: nonce ‖ ciphertext ‖ tag.
    let ct = e.encrypt("aes256-gcm96", b"a").await;
    assert_eq!(
        unb64(ct.strip_prefix("vault:v1:").unwrap()).len(),
        12 + 1 + 16
    );
    let ct = e.encrypt("xchacha20-poly1305", b"a").await;
    assert_eq!(
        unb64(ct.strip_prefix("vault:v1:").unwrap()).len(),
        24 + 1 + 16
    );
    let ct = e.encrypt("rsa-2048", b"a").await;
    assert_eq!(unb64(ct.strip_prefix("vault:v1:").unwrap()).len(), 256);
    // Two encryptions of one plaintext differ (random nonces).
    assert_ne!(
        e.encrypt("aes256-gcm96", b"same").await,
        e.encrypt("aes256-gcm96", b"same").await
    );
}

#[tokio::test]
async fn large_rsa_keys_round_trip() {
    let e = env();
    for t in ["rsa-3072", "rsa-4096"] {
        e.write(&format!("keys/{t}"), json!({ "type": t })).await;
        let ct = e.encrypt(t, b"secret").await;
        assert_eq!(e.decrypt(t, &ct).await, b"secret");
        for alg in ["pss", "pkcs1v15"] {
            let s = e
                .write(
                    &format!("sign/{t}/sha2-512"),
                    json!({"input": b64(b"m"), "signature_algorithm": alg}),
                )
                .await;
            let v = e
                .write(
                    &format!("verify/{t}/sha2-512"),
                    json!({"input": b64(b"m"), "signature": s["signature"], "signature_algorithm": alg}),
                )
                .await;
            assert_eq!(v["valid"], true, "{t} {alg}");
        }
    }
}

#[tokio::test]
async fn associated_data_is_bound() {
    let e = env();
    e.write("keys/k", json!({})).await;
    let aad = b64(b"header");
    let ct = e
        .write(
            "encrypt/k",
            json!({"plaintext": b64(b"x"), "associated_data": aad}),
        )
        .await["ciphertext"]
        .clone();
    let d = e
        .write(
            "decrypt/k",
            json!({"ciphertext": ct, "associated_data": aad}),
        )
        .await;
    assert_eq!(d["plaintext"], b64(b"x"));
    assert_eq!(
        e.write_err("decrypt/k", json!({ "ciphertext": ct })).await,
        "cipher: message authentication failed"
    );
    e.write("keys/r", json!({"type": "rsa-2048"})).await;
    assert!(
        e.write_err(
            "encrypt/r",
            json!({"plaintext": b64(b"x"), "associated_data": aad})
        )
        .await
        .contains("non-AEAD cipher suite rsa-2048")
    );
}

/// Every corruption of an envelope is a 400 and never yields plaintext.
#[tokio::test]
async fn tampering_is_always_rejected() {
    let e = env();
    for t in ENCRYPTING {
        e.write(&format!("keys/t-{t}"), json!({ "type": t })).await;
        e.write(&format!("keys/o-{t}"), json!({ "type": t })).await;
        let key = format!("t-{t}");
        let ct = e.encrypt(&key, b"attack at dawn").await;
        let body = ct.strip_prefix("vault:v1:").unwrap();
        let raw_len = unb64(body).len();
        let mut bad = vec![
            // bit flips across nonce, body and tag
            flip(&ct, 0),
            flip(&ct, 13),
            flip(&ct, raw_len - 1),
            // truncations
            format!("vault:v1:{}", b64(&unb64(body)[..raw_len - 1])),
            format!("vault:v1:{}", b64(&unb64(body)[..raw_len / 2])),
            "vault:v1:".to_owned(),
            // non-canonical version spellings
            format!("vault:v0:{body}"),
            format!("vault:v00:{body}"),
            format!("vault:v01:{body}"),
            format!("vault:v+1:{body}"),
            format!("vault:v-1:{body}"),
            format!("vault:v 1:{body}"),
            format!("vault:v1 :{body}"),
            format!("vault:V1:{body}"),
            format!("vault:v:{body}"),
            format!("vault:v2:{body}"),
            format!("vault:v4294967297:{body}"),
            format!("vault:v1{body}"),
            format!("v1:{body}"),
            format!("vault:v1:{body}="),
            format!("vault:v1:{body}AAAA"),
            format!("vault:v1:{body}\n"),
            format!(" {ct}"),
            body.to_owned(),
        ];
        // Ciphertext from another key of the same type.
        bad.push(e.encrypt(&format!("o-{t}"), b"attack at dawn").await);
        for b in &bad {
            let r = e
                .raw(
                    Operation::Update,
                    &format!("decrypt/{key}"),
                    json!({ "ciphertext": b }),
                )
                .await;
            match r {
                Err(err) => assert_eq!(
                    err.kind,
                    arca_logical::ErrorKind::InvalidRequest,
                    "{t} {b:?}"
                ),
                Ok(ok) => panic!("{t}: tampered ciphertext {b:?} was accepted: {ok:?}"),
            }
        }
        assert_eq!(e.decrypt(&key, &ct).await, b"attack at dawn");
    }
}

#[tokio::test]
async fn envelope_error_messages() {
    let e = env();
    e.write("keys/k", json!({})).await;
    let ct = e.encrypt("k", b"x").await;
    let body = ct.strip_prefix("vault:v1:").unwrap();
    let cases = [
        ("junk".to_owned(), "invalid ciphertext: no prefix"),
        (
            "vault:v1".to_owned(),
            "invalid ciphertext: wrong number of fields",
        ),
        (
            format!("vault:v0:{body}"),
            "invalid ciphertext: version number could not be decoded",
        ),
        (
            format!("vault:v01:{body}"),
            "invalid ciphertext: version number could not be decoded",
        ),
        (
            format!("vault:v+1:{body}"),
            "invalid ciphertext: version number could not be decoded",
        ),
        (
            format!("vault:v9:{body}"),
            "invalid ciphertext: version is too new",
        ),
        (
            "vault:v1:!!".to_owned(),
            "invalid ciphertext: could not decode base64",
        ),
        ("vault:v1:AAAA".to_owned(), "invalid ciphertext length"),
    ];
    for (ct, msg) in cases {
        assert_eq!(
            e.write_err("decrypt/k", json!({ "ciphertext": ct })).await,
            msg
        );
    }
    assert_eq!(
        e.write_err("encrypt/k", json!({"plaintext": "!!"})).await,
        "illegal base64 data at input byte 0"
    );
    assert_eq!(
        e.write_err("encrypt/k", json!({})).await,
        "missing plaintext to encrypt"
    );
    assert_eq!(
        e.write_err("decrypt/k", json!({})).await,
        "missing ciphertext to decrypt"
    );
    assert_eq!(
        e.write_err(
            "encrypt/k",
            json!({"plaintext": b64(b"x"), "nonce": b64(&[0; 12])})
        )
        .await,
        "nonce provided when not allowed"
    );
    assert_eq!(
        e.write_err(
            "decrypt/k",
            json!({"ciphertext": ct, "nonce": b64(&[0; 12])})
        )
        .await,
        "nonce provided when not allowed"
    );
    assert!(
        e.write_err(
            "encrypt/k",
            json!({"plaintext": b64(b"x"), "key_version": 2})
        )
        .await
        .contains("higher than the latest key version")
    );
}

#[tokio::test]
async fn batch_encrypt_decrypt_partial_failure_is_a_400_with_results() {
    let e = env();
    e.write("keys/k", json!({})).await;
    let (status, res) = e
        .batch(
            "encrypt/k",
            json!({"batch_input": [
                {"plaintext": b64(b"one")},
                {"plaintext": b64(b"two"), "reference": "r2"},
                {"plaintext": "!!"},
            ]}),
        )
        .await;
    assert_eq!(status, ResponseStatus::BadRequest);
    assert_eq!(res.len(), 3);
    assert_eq!(res[0]["reference"], "");
    assert_eq!(res[0]["key_version"], 1);
    assert_eq!(res[1]["reference"], "r2");
    assert_eq!(
        res[2],
        json!({"error": "illegal base64 data at input byte 0", "reference": ""})
    );
    let ct0 = res[0]["ciphertext"].clone();
    let ct1 = res[1]["ciphertext"].clone();

    let (status, res) = e
        .batch(
            "decrypt/k",
            json!({"batch_input": [
                {"ciphertext": ct0},
                {"ciphertext": "vault:v9:AAAA", "reference": "x"},
                {"ciphertext": ct1, "reference": "y"},
            ]}),
        )
        .await;
    assert_eq!(status, ResponseStatus::BadRequest);
    assert_eq!(res[0], json!({"plaintext": b64(b"one"), "reference": ""}));
    assert_eq!(
        res[1],
        json!({"plaintext": "", "error": "invalid ciphertext: version is too new", "reference": "x"})
    );
    assert_eq!(res[2]["plaintext"], b64(b"two"));

    // All good: 200.
    let (status, res) = e
        .batch("decrypt/k", json!({"batch_input": [{"ciphertext": ct0}]}))
        .await;
    assert_eq!(status, ResponseStatus::Normal);
    assert_eq!(res.len(), 1);
    // partial_failure_response_code=200 keeps a partial failure at 200.
    let (status, _) = e
        .batch(
            "decrypt/k",
            json!({"partial_failure_response_code": 200, "batch_input": [{"ciphertext": ct0}, {"ciphertext": "x"}]}),
        )
        .await;
    assert_eq!(status, ResponseStatus::Normal);
    // Request-level problems are plain 400s.
    assert_eq!(
        e.write_err("encrypt/k", json!({"batch_input": []})).await,
        "missing batch input to process"
    );
    assert_eq!(
        e.write_err(
            "encrypt/k",
            json!({"batch_input": [{"plaintext": "", "context": b64(b"c")}, {"plaintext": ""}]})
        )
        .await,
        "context should be set either in all the request blocks or in none"
    );
    // Rewrap batches answer 200 with per-item errors, as OpenBao does.
    let (status, res) = e
        .batch(
            "rewrap/k",
            json!({"batch_input": [{"ciphertext": ct0}, {"ciphertext": "vault:v9:AAAA", "reference": "x"}]}),
        )
        .await;
    assert_eq!(status, ResponseStatus::Normal);
    assert_eq!(res[0]["key_version"], 1);
    assert_eq!(
        res[1],
        json!({"error": "invalid ciphertext: version is too new", "reference": "x"})
    );
}

#[tokio::test]
async fn datakey_plaintext_and_wrapped() {
    let e = env();
    e.write("keys/k", json!({})).await;
    let d = e.write("datakey/plaintext/k", json!({})).await;
    let pt = unb64(d["plaintext"].as_str().unwrap());
    assert_eq!(pt.len(), 32);
    assert_eq!(d["key_version"], 1);
    assert_eq!(e.decrypt("k", d["ciphertext"].as_str().unwrap()).await, pt);
    let d = e.write("datakey/wrapped/k", json!({"bits": 512})).await;
    assert!(d.get("plaintext").is_none());
    assert_eq!(
        e.decrypt("k", d["ciphertext"].as_str().unwrap())
            .await
            .len(),
        64
    );
    let d = e.write("datakey/plaintext/k", json!({"bits": "128"})).await;
    assert_eq!(unb64(d["plaintext"].as_str().unwrap()).len(), 16);
    assert_eq!(
        e.write_err("datakey/plaintext/k", json!({"bits": 100}))
            .await,
        "invalid bit length"
    );
    assert_eq!(
        e.write_err("datakey/other/k", json!({})).await,
        "Invalid path, must be 'plaintext' or 'wrapped'"
    );
    assert_eq!(
        e.write_err("datakey/plaintext/k", json!({"nonce": b64(&[1; 12])}))
            .await,
        "nonce provided when not allowed"
    );
}

#[tokio::test]
async fn hmac_generate_verify_and_known_answer() {
    let e = env();
    e.write("keys/h", json!({"type": "hmac", "key_size": 32}))
        .await;
    e.write("keys/k", json!({"exportable": true})).await;
    for key in ["h", "k"] {
        for alg in [
            "sha1", "sha2-224", "sha2-256", "sha2-384", "sha2-512", "sha3-224", "sha3-256",
            "sha3-384", "sha3-512",
        ] {
            let d = e
                .write(&format!("hmac/{key}/{alg}"), json!({"input": b64(b"msg")}))
                .await;
            let mac = d["hmac"].as_str().unwrap();
            assert!(mac.starts_with("vault:v1:"));
            let v = e
                .write(
                    &format!("verify/{key}/{alg}"),
                    json!({"input": b64(b"msg"), "hmac": mac}),
                )
                .await;
            assert_eq!(v["valid"], true, "{key} {alg}");
            let v = e
                .write(
                    &format!("verify/{key}/{alg}"),
                    json!({"input": b64(b"other"), "hmac": mac}),
                )
                .await;
            assert_eq!(v["valid"], false, "{key} {alg}");
        }
    }
    // Known answer: HMAC-SHA256 under the exported hmac key (RFC 2104 via RFC 4231's
    // construction, checked independently of the engine).
    let hk = unb64(
        e.read("export/hmac-key/k").await["keys"]["1"]
            .as_str()
            .unwrap(),
    );
    let d = e
        .write(
            "hmac/k",
            json!({"input": b64(b"what do ya want for nothing?")}),
        )
        .await;
    let expected =
        arca_crypto::transit::HashAlg::Sha2_256.hmac(&hk, b"what do ya want for nothing?");
    assert_eq!(d["hmac"], format!("vault:v1:{}", b64(&expected)));

    // Batch: per-item errors at 200; a false `valid` is omitted, as in OpenBao.
    let (status, res) = e
        .batch(
            "hmac/k",
            json!({"batch_input": [{"input": b64(b"a")}, {"input": "!!", "reference": "b"}]}),
        )
        .await;
    assert_eq!(status, ResponseStatus::Normal);
    assert!(res[0]["hmac"].is_string());
    assert!(
        res[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("unable to decode input as base64")
    );
    let (_, res) = e
        .batch(
            "verify/k",
            json!({"batch_input": [{"input": b64(b"a"), "hmac": "vault:v1:AAAA"}]}),
        )
        .await;
    assert_eq!(res[0], json!({"reference": ""}));
    // HMAC envelopes get the same canonical-version rule.
    let mac = d["hmac"]
        .as_str()
        .unwrap()
        .replace("vault:v1:", "vault:v01:");
    assert!(
        e.write_err("verify/k", json!({"input": b64(b"x"), "hmac": mac}))
            .await
            .contains("version number could not be decoded")
    );
    assert_eq!(
        e.write_err("hmac/k/md5", json!({"input": b64(b"x")})).await,
        "unsupported algorithm"
    );
    // Rotation: v1 HMACs still verify until min_decryption_version passes them.
    e.write("keys/k/rotate", json!({})).await;
    let v1 = e
        .write("hmac/k", json!({"input": b64(b"m"), "key_version": 1}))
        .await["hmac"]
        .clone();
    assert!(v1.as_str().unwrap().starts_with("vault:v1:"));
    e.write("keys/k/config", json!({"min_decryption_version": 2}))
        .await;
    assert!(
        e.write_err("verify/k", json!({"input": b64(b"m"), "hmac": v1}))
            .await
            .contains("too old")
    );
}

async fn sign_verify(e: &Env, key: &str, extra: Value) {
    let mut body = json!({ "input": b64(b"message") });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let s = e.write(&format!("sign/{key}"), body.clone()).await;
    let sig = s["signature"].as_str().unwrap().to_owned();
    assert!(sig.starts_with("vault:v1:"), "{key} {extra}");
    assert_eq!(s["key_version"], 1);
    let mut v = body.clone();
    v["signature"] = json!(sig);
    assert_eq!(
        e.write(&format!("verify/{key}"), v.clone()).await["valid"],
        true,
        "{key} {extra}"
    );
    // Wrong input: 200 {"valid": false}.
    v["input"] = json!(b64(b"massage"));
    if extra.get("prehashed") == Some(&json!(true)) {
        v["input"] = json!(b64(&[7u8; 32]));
    }
    assert_eq!(
        e.write(&format!("verify/{key}"), v).await["valid"],
        false,
        "{key} {extra}"
    );
}

#[tokio::test]
async fn sign_verify_every_signing_type_and_option() {
    let e = env();
    for t in [
        "ed25519",
        "ecdsa-p256",
        "ecdsa-p384",
        "ecdsa-p521",
        "rsa-2048",
    ] {
        e.write(&format!("keys/{t}"), json!({ "type": t })).await;
        sign_verify(&e, t, json!({})).await;
    }
    for t in ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521"] {
        for h in [
            "sha1", "sha2-224", "sha2-256", "sha2-384", "sha2-512", "sha3-256", "sha3-512",
        ] {
            sign_verify(&e, t, json!({ "hash_algorithm": h })).await;
        }
        sign_verify(&e, t, json!({"marshaling_algorithm": "jws"})).await;
        let hash = arca_crypto::transit::HashAlg::Sha2_256.digest(b"message");
        sign_verify(&e, t, json!({"prehashed": true, "input": b64(&hash)})).await;
    }
    for alg in ["pss", "pkcs1v15"] {
        for h in ["sha2-256", "sha2-384", "sha2-512"] {
            sign_verify(
                &e,
                "rsa-2048",
                json!({"signature_algorithm": alg, "hash_algorithm": h}),
            )
            .await;
        }
    }
    sign_verify(&e, "rsa-2048", json!({"salt_length": "hash"})).await;
    sign_verify(&e, "rsa-2048", json!({"salt_length": "32"})).await;
    let hash = arca_crypto::transit::HashAlg::Sha2_256.digest(b"message");
    sign_verify(
        &e,
        "rsa-2048",
        json!({"prehashed": true, "input": b64(&hash)}),
    )
    .await;

    // JWS signatures are unpadded base64url of r ‖ s.
    let s = e
        .write(
            "sign/ecdsa-p256",
            json!({"input": b64(b"m"), "marshaling_algorithm": "jws"}),
        )
        .await;
    let body = s["signature"]
        .as_str()
        .unwrap()
        .strip_prefix("vault:v1:")
        .unwrap()
        .to_owned();
    assert_eq!(body.len(), 86);
    assert!(!body.contains('=') && !body.contains('+') && !body.contains('/'));

    // A hash-length PSS salt verifies under the default ("auto") too.
    let s = e
        .write(
            "sign/rsa-2048",
            json!({"input": b64(b"m"), "salt_length": "hash"}),
        )
        .await;
    let v = e
        .write(
            "verify/rsa-2048",
            json!({"input": b64(b"m"), "signature": s["signature"]}),
        )
        .await;
    assert_eq!(v["valid"], true);
    // But a PSS signature does not verify as PKCS#1 v1.5.
    let v = e
        .write(
            "verify/rsa-2048",
            json!({"input": b64(b"m"), "signature": s["signature"], "signature_algorithm": "pkcs1v15"}),
        )
        .await;
    assert_eq!(v["valid"], false);

    // Errors.
    assert!(
        e.write_err(
            "sign/rsa-2048",
            json!({"input": b64(b"m"), "hash_algorithm": "sha1"})
        )
        .await
        .contains("unsupported hash algorithm for RSA")
    );
    assert_eq!(
        e.write_err(
            "sign/ed25519",
            json!({"input": b64(b"m"), "hash_algorithm": "md5"})
        )
        .await,
        "invalid hash algorithm"
    );
    assert_eq!(
        e.write_err(
            "sign/ed25519",
            json!({"input": b64(b"m"), "marshaling_algorithm": "x"})
        )
        .await,
        "invalid marshaling type"
    );
    assert_eq!(
        e.write_err(
            "verify/ecdsa-p256",
            json!({"input": b64(b"m"), "signature": "vault:v1:AAAA"})
        )
        .await,
        "supplied signature is invalid"
    );
    let v = e
        .write(
            "verify/ed25519",
            json!({"input": b64(b"m"), "signature": "vault:v1:AAAA"}),
        )
        .await;
    assert_eq!(v["valid"], false);
    e.write("keys/sym", json!({})).await;
    assert_eq!(
        e.write_err("sign/sym", json!({"input": b64(b"m")})).await,
        "key type aes256-gcm96 does not support signing"
    );
    assert_eq!(
        e.write_err("sign/nokey", json!({"input": b64(b"m")})).await,
        "signing key not found"
    );
    assert_eq!(
        e.write_err("verify/ed25519", json!({"input": b64(b"m")}))
            .await,
        "neither a 'signature' nor an 'hmac' were given to verify"
    );
}

#[tokio::test]
async fn sign_known_answer_ed25519_and_batches() {
    let e = env();
    e.write("keys/ed", json!({"type": "ed25519", "exportable": true}))
        .await;
    let full = unb64(
        e.read("export/signing-key/ed").await["keys"]["1"]
            .as_str()
            .unwrap(),
    );
    let signer = arca_crypto::transit::Ed25519Signer::from_seed(&full[..32]).unwrap();
    let s = e.write("sign/ed", json!({"input": b64(b"kat")})).await;
    // Ed25519 is deterministic: the engine's signature is the primitive's signature.
    assert_eq!(
        s["signature"],
        format!("vault:v1:{}", b64(&signer.sign(b"kat")))
    );

    let (status, res) = e
        .batch(
            "sign/ed",
            json!({"batch_input": [{"input": b64(b"a")}, {"input": "!!", "reference": "b"}]}),
        )
        .await;
    assert_eq!(status, ResponseStatus::Normal);
    assert_eq!(res[0]["key_version"], 1);
    assert_eq!(res[1]["key_version"], 0);
    assert_eq!(res[1]["reference"], "b");
    let sig = res[0]["signature"].clone();
    let (_, res) = e
        .batch(
            "verify/ed",
            json!({"batch_input": [
                {"input": b64(b"a"), "signature": sig},
                {"input": b64(b"x"), "signature": sig, "reference": "r"},
                {"input": "!!", "signature": sig},
            ]}),
        )
        .await;
    assert_eq!(res[0], json!({"valid": true, "reference": ""}));
    assert_eq!(res[1], json!({"valid": false, "reference": "r"}));
    assert_eq!(res[2]["valid"], false);
    assert!(res[2]["error"].is_string());
    // Non-canonical signature versions are refused like ciphertext ones.
    let bad = sig.as_str().unwrap().replace("vault:v1:", "vault:v01:");
    assert_eq!(
        e.write_err("verify/ed", json!({"input": b64(b"a"), "signature": bad}))
            .await,
        "invalid signature: version number could not be decoded"
    );
}

#[tokio::test]
async fn hash_known_answers_and_random() {
    let e = env();
    let cases = [
        (
            "sha2-224",
            "ea09ae9cc6768c50fcee903ed054556e5bfc8347907f12598aa24193",
        ),
        (
            "sha2-256",
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        ),
        (
            "sha2-384",
            "59e1748777448c69de6b800d7a33bbfb9ff1b463e44354c3553bcdb9c666fa90125a3c79f90397bdf5f6a13de828684f",
        ),
        (
            "sha2-512",
            "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
        ),
        (
            "sha3-224",
            "b87f88c72702fff1748e58b87e9141a42c0dbedc29a78cb0d4a5cd81",
        ),
        (
            "sha3-256",
            "3338be694f50c5f338814986cdf0686453a888b84f424d792af4b9202398f392",
        ),
    ];
    for (alg, sum) in cases {
        let d = e
            .write(&format!("hash/{alg}"), json!({"input": b64(b"hello")}))
            .await;
        assert_eq!(d["sum"], sum, "{alg}");
    }
    let d = e.write("hash", json!({"input": b64(b"hello")})).await;
    assert_eq!(d["sum"], cases[1].1);
    let d = e
        .write(
            "hash/sha3-224",
            json!({"input": b64(b"hello"), "format": "base64"}),
        )
        .await;
    assert_eq!(d["sum"], "uH+IxycC//F0jli4fpFBpCwNvtwpp4yw1KXNgQ==");
    assert_eq!(
        e.write_err("hash/md5", json!({"input": b64(b"x")})).await,
        "unsupported algorithm"
    );
    assert_eq!(e.write_err("hash", json!({})).await, "input missing");

    let d = e.write("random", json!({})).await;
    assert_eq!(unb64(d["random_bytes"].as_str().unwrap()).len(), 32);
    let d = e.write("random/16", json!({"format": "hex"})).await;
    assert_eq!(d["random_bytes"].as_str().unwrap().len(), 32);
    let d = e.write("random/platform/8", json!({})).await;
    assert_eq!(unb64(d["random_bytes"].as_str().unwrap()).len(), 8);
    let r = e
        .raw(Operation::Update, "random/seal", json!({"bytes": 4}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(
        e.write_err("random", json!({"bytes": 0})).await,
        "'bytes' cannot be less than 1"
    );
    assert!(
        e.write_err("random", json!({"bytes": 200_000}))
            .await
            .contains("should be less than")
    );
    assert!(
        e.write_err("random/x/8", json!({}))
            .await
            .contains("unsupported entropy source")
    );
}

#[tokio::test]
async fn unknown_paths_and_operations() {
    let e = env();
    let r = e
        .raw(Operation::Update, "nope/k", json!({}))
        .await
        .unwrap_err();
    assert_eq!(r.kind, arca_logical::ErrorKind::NotFound);
    let r = e
        .raw(Operation::Read, "encrypt/k", json!({}))
        .await
        .unwrap_err();
    assert_eq!(r.kind, arca_logical::ErrorKind::UnsupportedOperation);
    let r = e
        .raw(Operation::Update, "keys/a/b/c", json!({}))
        .await
        .unwrap_err();
    assert_eq!(r.kind, arca_logical::ErrorKind::NotFound);
    let r = e
        .raw(Operation::Update, "keys/-bad", json!({}))
        .await
        .unwrap_err();
    assert_eq!(r.kind, arca_logical::ErrorKind::NotFound);
}

/// hvac sends `plaintext`/`ciphertext` as `null` beside `batch_input`: declared fields, so
/// no "ignored parameters" warning (OpenBao's schema knows them); an unknown one still warns.
#[tokio::test]
async fn batch_requests_do_not_warn_about_declared_single_item_fields() {
    let e = env();
    e.write("keys/k", json!({})).await;
    let r = e
        .raw(
            Operation::Update,
            "encrypt/k",
            json!({"plaintext": null, "context": null, "batch_input": [{"plaintext": b64(b"a")}]}),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let ct = r.data.unwrap()["batch_results"][0]["ciphertext"].clone();
    for path in ["decrypt/k", "rewrap/k"] {
        let r = e
            .raw(
                Operation::Update,
                path,
                json!({"ciphertext": null, "batch_input": [{"ciphertext": ct}]}),
            )
            .await
            .unwrap()
            .unwrap();
        assert!(r.warnings.is_empty(), "{path}: {:?}", r.warnings);
    }
    let r = e
        .raw(
            Operation::Update,
            "decrypt/k",
            json!({"bogus": 1, "batch_input": [{"ciphertext": ct}]}),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [bogus]"]
    );
}
