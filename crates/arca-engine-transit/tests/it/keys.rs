//! Key management: every key type, read/list/delete, config, rotation (manual and
//! automatic), trim, export, backup/restore, upsert.

use std::time::Duration;

use arca_logical::Operation;
use serde_json::json;

use crate::{b64, env, reopen, unb64};

const SYMMETRIC: &[&str] = &[
    "aes128-gcm96",
    "aes256-gcm96",
    "chacha20-poly1305",
    "xchacha20-poly1305",
];

#[tokio::test]
async fn create_read_list_every_type() {
    let e = env();
    let types = [
        "aes128-gcm96",
        "aes256-gcm96",
        "chacha20-poly1305",
        "xchacha20-poly1305",
        "ed25519",
        "ecdsa-p256",
        "ecdsa-p384",
        "ecdsa-p521",
        "rsa-2048",
        "hmac",
    ];
    for t in types {
        let d = e.write(&format!("keys/k-{t}"), json!({ "type": t })).await;
        assert_eq!(d["type"], t);
        assert_eq!(d["latest_version"], 1);
        assert_eq!(d["min_decryption_version"], 1);
        assert_eq!(d["min_encryption_version"], 0);
        assert_eq!(d["deletion_allowed"], false);
        assert_eq!(d["imported_key"], false);
        let sym = SYMMETRIC.contains(&t);
        assert_eq!(d["supports_encryption"], sym || t.starts_with("rsa"), "{t}");
        assert_eq!(d["supports_signing"], !sym && t != "hmac", "{t}");
        assert_eq!(d["supports_derivation"], sym || t == "ed25519", "{t}");
        let read = e.read(&format!("keys/k-{t}")).await;
        assert_eq!(read, d, "{t}: create and read answer the same");
        match t {
            "hmac" => {
                assert!(d.get("keys").is_none());
                assert_eq!(d["key_size"], 32);
            }
            _ if sym => assert!(d["keys"]["1"].is_u64(), "{t}"),
            _ => {
                let k = &d["keys"]["1"];
                assert_eq!(k["certificate_chain"], "");
                assert!(
                    k["creation_time"]
                        .as_str()
                        .unwrap()
                        .starts_with("2027-01-15T")
                );
                let pk = k["public_key"].as_str().unwrap();
                if t == "ed25519" {
                    assert_eq!(k["name"], "ed25519");
                    assert_eq!(unb64(pk).len(), 32);
                } else {
                    assert!(pk.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{t}");
                    assert!(pk.ends_with("-----END PUBLIC KEY-----\n"), "{t}");
                }
                if t == "ecdsa-p384" {
                    assert_eq!(k["name"], "P-384");
                }
                if t == "rsa-2048" {
                    assert_eq!(k["name"], "rsa-2048");
                }
            }
        }
    }
    let list = e.ok(Operation::List, "keys/", json!({})).await;
    assert_eq!(list["keys"].as_array().unwrap().len(), types.len());
    assert!(
        e.raw(Operation::Read, "keys/missing", json!({}))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn create_is_idempotent_and_validates() {
    let e = env();
    let first = e.write("keys/k", json!({})).await;
    assert_eq!(first["type"], "aes256-gcm96");
    // Re-posting, even with another type, returns the key unchanged.
    let again = e.write("keys/k", json!({"type": "rsa-2048"})).await;
    assert_eq!(again, first);
    assert_eq!(
        e.write_err("keys/x", json!({"type": "nosuch"})).await,
        "unknown key type"
    );
    assert_eq!(
        e.write_err("keys/x", json!({"convergent_encryption": true}))
            .await,
        "convergent encryption requires derivation to be enabled"
    );
    assert!(
        e.write_err("keys/x", json!({"type": "ecdsa-p256", "derived": true}))
            .await
            .contains("not supported for keys of type ecdsa-p256")
    );
    assert!(
        e.write_err("keys/x", json!({"type": "aes256-gcm96", "key_size": 64}))
            .await
            .contains("key_size is not valid")
    );
    assert_eq!(
        e.write_err("keys/x", json!({"type": "hmac", "key_size": 8}))
            .await,
        "invalid key_size"
    );
    assert_eq!(
        e.write_err("keys/x", json!({"auto_rotate_period": "10m"}))
            .await,
        "auto rotate period must be 0 to disable or at least an hour"
    );
    let h = e
        .write("keys/h", json!({"type": "hmac", "key_size": 64}))
        .await;
    assert_eq!(h["key_size"], 64);
    // Unknown parameters are reported, not fatal.
    let r = e
        .raw(Operation::Update, "keys/w", json!({"bogus": 1}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [bogus]"]
    );
}

#[tokio::test]
async fn delete_needs_deletion_allowed() {
    let e = env();
    e.write("keys/k", json!({})).await;
    assert_eq!(
        e.err(Operation::Delete, "keys/k", json!({})).await,
        "error deleting policy: deletion is not allowed for this key"
    );
    e.write("keys/k/config", json!({"deletion_allowed": true}))
        .await;
    assert_eq!(
        e.ok(Operation::Delete, "keys/k", json!({})).await,
        serde_json::Value::Null
    );
    assert!(
        e.raw(Operation::Read, "keys/k", json!({}))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        e.err(Operation::Delete, "keys/k", json!({}))
            .await
            .contains("not found")
    );
}

#[tokio::test]
async fn rotation_and_min_versions() {
    let e = env();
    e.write("keys/k", json!({})).await;
    let v1 = e.encrypt("k", b"one").await;
    assert!(v1.starts_with("vault:v1:"));
    let d = e.write("keys/k/rotate", json!({})).await;
    assert_eq!(d["latest_version"], 2);
    assert_eq!(d["keys"].as_object().unwrap().len(), 2);
    let v2 = e.encrypt("k", b"two").await;
    assert!(v2.starts_with("vault:v2:"));
    // v1 ciphertext still decrypts after rotation.
    assert_eq!(e.decrypt("k", &v1).await, b"one");
    // Encrypting with an explicit older version.
    let d = e
        .write(
            "encrypt/k",
            json!({"plaintext": b64(b"x"), "key_version": 1}),
        )
        .await;
    assert_eq!(d["key_version"], 1);

    // Config: min_decryption_version=2 makes v1 fail on every reading path.
    let d = e
        .write("keys/k/config", json!({"min_decryption_version": 2}))
        .await;
    assert_eq!(d["min_decryption_version"], 2);
    assert_eq!(
        d["keys"].as_object().unwrap().len(),
        1,
        "only visible versions listed"
    );
    let too_old = "ciphertext or signature version is disallowed by policy (too old)";
    assert_eq!(
        e.write_err("decrypt/k", json!({ "ciphertext": v1 })).await,
        too_old
    );
    assert_eq!(
        e.write_err("rewrap/k", json!({ "ciphertext": v1 })).await,
        too_old
    );
    assert_eq!(e.decrypt("k", &v2).await, b"two");
    // Nor can v1 be used to produce new output.
    assert!(
        e.write_err(
            "encrypt/k",
            json!({"plaintext": b64(b"x"), "key_version": 1})
        )
        .await
        .contains("less than the minimum decryption key version")
    );
    assert!(
        e.err(Operation::Read, "export/encryption-key/k/1", json!({}))
            .await
            .contains("not exportable")
    );

    assert!(
        e.write_err("keys/k/config", json!({"min_encryption_version": 5}))
            .await
            .contains("latest key version is 2")
    );
    assert!(
        e.write_err("keys/k/config", json!({"min_decryption_version": 3}))
            .await
            .contains("cannot set min decryption version of 3")
    );
    // min_encryption_version below min_decryption_version is refused.
    assert!(
        e.write_err("keys/k/config", json!({"min_encryption_version": 1}))
            .await
            .contains("must be greater than or equal to min decryption version")
    );
    let d = e
        .write("keys/k/config", json!({"min_encryption_version": 2}))
        .await;
    assert_eq!(d["min_encryption_version"], 2);
    let r = e
        .raw(
            Operation::Update,
            "keys/k/config",
            json!({"min_decryption_version": 0}),
        )
        .await;
    // 0 is forced to 1 (with a warning), which is then below min_encryption... fine.
    assert!(r.is_ok() || r.is_err());
}

#[tokio::test]
async fn rewrap_moves_to_the_newest_version() {
    let e = env();
    e.write("keys/k", json!({})).await;
    let v1 = e.encrypt("k", b"data").await;
    e.write("keys/k/rotate", json!({})).await;
    e.write("keys/k/rotate", json!({})).await;
    let d = e.write("rewrap/k", json!({ "ciphertext": v1 })).await;
    assert_eq!(d["key_version"], 3);
    let v3 = d["ciphertext"].as_str().unwrap();
    assert!(v3.starts_with("vault:v3:"));
    assert_eq!(e.decrypt("k", v3).await, b"data");
    // To an explicit version.
    let d = e
        .write("rewrap/k", json!({"ciphertext": v3, "key_version": 2}))
        .await;
    assert_eq!(d["key_version"], 2);
}

#[tokio::test]
async fn trim_removes_old_versions_for_good() {
    let e = env();
    e.write("keys/k", json!({})).await;
    let v1 = e.encrypt("k", b"a").await;
    e.write("keys/k/rotate", json!({})).await;
    e.write("keys/k/rotate", json!({})).await;
    assert_eq!(
        e.write_err("keys/k/trim", json!({"min_available_version": 2}))
            .await,
        "minimum available version cannot be set when minimum encryption version is not set"
    );
    e.write(
        "keys/k/config",
        json!({"min_decryption_version": 2, "min_encryption_version": 3}),
    )
    .await;
    assert!(
        e.write_err("keys/k/trim", json!({"min_available_version": 3}))
            .await
            .contains("greater than minimum decryption version")
    );
    let d = e
        .write("keys/k/trim", json!({"min_available_version": 2}))
        .await;
    assert_eq!(d["min_available_version"], 2);
    assert_eq!(
        e.write_err("keys/k/trim", json!({"min_available_version": 1}))
            .await,
        "minimum available version cannot be decremented"
    );
    // Lowering min_decryption_version cannot bring v1 back.
    assert!(
        e.write_err("keys/k/config", json!({"min_decryption_version": 1}))
            .await
            .contains("min available version")
    );
    assert!(
        e.write_err("decrypt/k", json!({ "ciphertext": v1 }))
            .await
            .contains("too old")
    );
}

#[tokio::test]
async fn automatic_rotation_by_period() {
    let e = env();
    let d = e.write("keys/k", json!({"auto_rotate_period": "2h"})).await;
    assert_eq!(d["auto_rotate_period"], 7200);
    let v1 = e.encrypt("k", b"x").await;
    e.clock.advance(Duration::from_secs(3600));
    assert!(e.encrypt("k", b"x").await.starts_with("vault:v1:"));
    e.clock.advance(Duration::from_secs(3600));
    // Due: the next use rotates first.
    assert!(e.encrypt("k", b"x").await.starts_with("vault:v2:"));
    assert_eq!(e.decrypt("k", &v1).await, b"x");
    // The periodic check rotates keys that nobody uses.
    e.clock.advance(Duration::from_secs(7200));
    let t = reopen(&e);
    assert_eq!(t.rotate_due_keys().await.unwrap(), 1);
    assert_eq!(e.read("keys/k").await["latest_version"], 3);
    assert_eq!(t.rotate_due_keys().await.unwrap(), 0);
    // Disabling stops it.
    e.write("keys/k/config", json!({"auto_rotate_period": 0}))
        .await;
    e.clock.advance(Duration::from_secs(86_400));
    assert_eq!(e.read("keys/k").await["latest_version"], 3);
}

#[tokio::test]
async fn export_formats() {
    let e = env();
    e.write("keys/sym", json!({"exportable": true})).await;
    e.write("keys/ed", json!({"type": "ed25519", "exportable": true}))
        .await;
    e.write("keys/ec", json!({"type": "ecdsa-p256", "exportable": true}))
        .await;
    e.write("keys/locked", json!({"type": "ecdsa-p256"})).await;

    let d = e.read("export/encryption-key/sym").await;
    assert_eq!(d["name"], "sym");
    assert_eq!(d["type"], "aes256-gcm96");
    assert_eq!(unb64(d["keys"]["1"].as_str().unwrap()).len(), 32);
    let d = e.read("export/hmac-key/sym/latest").await;
    assert_eq!(unb64(d["keys"]["1"].as_str().unwrap()).len(), 32);
    assert_eq!(
        e.err(Operation::Read, "export/signing-key/sym", json!({}))
            .await,
        "signing not supported for the key"
    );

    let d = e.read("export/signing-key/ed").await;
    let full = unb64(d["keys"]["1"].as_str().unwrap());
    assert_eq!(full.len(), 64);
    let pk = e.read("export/public-key/ed").await;
    assert_eq!(unb64(pk["keys"]["1"].as_str().unwrap()), full[32..]);
    let der = e
        .ok(
            Operation::Read,
            "export/public-key/ed",
            json!({"format": "der"}),
        )
        .await;
    assert_eq!(unb64(der["keys"]["1"].as_str().unwrap()).len(), 44);

    let d = e.read("export/signing-key/ec/v1").await;
    let pem = d["keys"]["1"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
    assert!(pem.ends_with("-----END EC PRIVATE KEY-----"));
    let d = e
        .ok(
            Operation::Read,
            "export/signing-key/ec",
            json!({"format": "pem"}),
        )
        .await;
    assert!(
        d["keys"]["1"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let d = e.read("export/public-key/locked").await;
    assert!(
        d["keys"]["1"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert_eq!(
        e.err(Operation::Read, "export/signing-key/locked", json!({}))
            .await,
        "private key material is not exportable"
    );
    assert_eq!(
        e.err(Operation::Read, "export/bogus/sym", json!({})).await,
        "invalid export type"
    );
    assert!(
        e.err(Operation::Read, "export/encryption-key/sym/7", json!({}))
            .await
            .contains("does not exist")
    );
}

#[tokio::test]
async fn backup_and_restore() {
    let e = env();
    e.write("keys/k", json!({})).await;
    assert_eq!(
        e.err(Operation::Read, "backup/k", json!({})).await,
        "exporting is disallowed on the policy"
    );
    e.write(
        "keys/k/config",
        json!({"exportable": true, "allow_plaintext_backup": true}),
    )
    .await;
    // Once set, these cannot be unset.
    let d = e
        .write(
            "keys/k/config",
            json!({"exportable": false, "allow_plaintext_backup": false}),
        )
        .await;
    assert_eq!(d["exportable"], true);
    assert_eq!(d["allow_plaintext_backup"], true);
    let ct = e.encrypt("k", b"keep me").await;
    e.write("keys/k/rotate", json!({})).await;
    let backup = e.read("backup/k").await["backup"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(e.read("keys/k").await["backup_info"]["version"] == 2);

    assert_eq!(
        e.write_err("restore", json!({ "backup": backup })).await,
        "key already exists"
    );
    e.write("restore/copy", json!({ "backup": backup })).await;
    assert_eq!(e.decrypt("copy", &ct).await, b"keep me");
    let info = e.read("keys/copy").await;
    assert_eq!(info["name"], "copy");
    assert_eq!(info["latest_version"], 2);
    assert_eq!(info["restore_info"]["version"], 2);
    // Force overwrites; a garbage backup is refused.
    e.write("restore/k", json!({"backup": backup, "force": true}))
        .await;
    assert_eq!(
        e.write_err("restore/z", json!({"backup": b64(b"{}")}))
            .await,
        "unsupported backup format"
    );
    assert_eq!(
        e.write_err("restore/z", json!({})).await,
        "'backup' must be supplied"
    );
}

#[tokio::test]
async fn upsert_on_encrypt_and_disable_upsert() {
    let e = env();
    // The core turns the write into a create because the key does not exist.
    let d = e
        .write("encrypt/new", json!({"plaintext": b64(b"x")}))
        .await;
    assert!(d["ciphertext"].as_str().unwrap().starts_with("vault:v1:"));
    assert_eq!(e.read("keys/new").await["type"], "aes256-gcm96");
    let d = e
        .write(
            "encrypt/cha",
            json!({"plaintext": b64(b"x"), "type": "chacha20-poly1305", "context": b64(b"c"), "convergent_encryption": true}),
        )
        .await;
    assert!(d["ciphertext"].is_string());
    let info = e.read("keys/cha").await;
    assert_eq!(info["type"], "chacha20-poly1305");
    assert_eq!(info["derived"], true);
    assert_eq!(info["convergent_encryption"], true);
    assert!(
        e.write_err(
            "encrypt/ec",
            json!({"plaintext": b64(b"x"), "type": "ecdsa-p256"})
        )
        .await
        .contains("not supported for this operation")
    );
    // Decrypt never upserts.
    assert_eq!(
        e.write_err("decrypt/none", json!({"ciphertext": "vault:v1:AAAA"}))
            .await,
        "encryption key not found"
    );
    let d = e
        .write("config/keys", json!({"disable_upsert": true}))
        .await;
    assert_eq!(d["disable_upsert"], true);
    assert_eq!(e.read("config/keys").await["disable_upsert"], true);
    assert_eq!(
        e.write_err("encrypt/other", json!({"plaintext": b64(b"x")}))
            .await,
        "encryption key not found"
    );
}

#[tokio::test]
async fn derived_keys_and_convergent_encryption() {
    let e = env();
    let d = e.write("keys/d", json!({"derived": true})).await;
    assert_eq!(d["kdf"], "hkdf_sha256");
    assert_eq!(d["convergent_encryption"], false);
    assert!(
        e.write_err("encrypt/d", json!({"plaintext": b64(b"x")}))
            .await
            .starts_with("missing 'context' for key derivation")
    );
    let c1 = b64(b"tenant-1");
    let c2 = b64(b"tenant-2");
    let ct = e
        .write("encrypt/d", json!({"plaintext": b64(b"x"), "context": c1}))
        .await["ciphertext"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = e
        .write("decrypt/d", json!({"ciphertext": ct, "context": c1}))
        .await;
    assert_eq!(unb64(d["plaintext"].as_str().unwrap()), b"x");
    assert_eq!(
        e.write_err("decrypt/d", json!({"ciphertext": ct, "context": c2}))
            .await,
        "cipher: message authentication failed"
    );

    let d = e
        .write(
            "keys/c",
            json!({"derived": true, "convergent_encryption": true}),
        )
        .await;
    assert_eq!(d["convergent_encryption_version"], -1);
    let enc = |ctx: &str, pt: &[u8]| json!({"plaintext": b64(pt), "context": ctx});
    let a = e.write("encrypt/c", enc(&c1, b"same")).await["ciphertext"].clone();
    let b = e.write("encrypt/c", enc(&c1, b"same")).await["ciphertext"].clone();
    let c = e.write("encrypt/c", enc(&c2, b"same")).await["ciphertext"].clone();
    let d2 = e.write("encrypt/c", enc(&c1, b"diff")).await["ciphertext"].clone();
    assert_eq!(
        a, b,
        "convergent: same plaintext and context, same ciphertext"
    );
    assert_ne!(a, c);
    assert_ne!(a, d2);
    // A caller nonce is refused, convergent or not.
    let mut with_nonce = enc(&c1, b"same");
    with_nonce["nonce"] = json!(b64(&[0u8; 12]));
    assert_eq!(
        e.write_err("encrypt/c", with_nonce).await,
        "nonce provided when not allowed"
    );

    // Derived Ed25519: the public key depends on the context.
    e.write("keys/ed", json!({"type": "ed25519", "derived": true}))
        .await;
    let info = e.read("keys/ed").await;
    assert_eq!(info["keys"]["1"]["public_key"], "");
    let with_ctx = e
        .ok(Operation::Read, "keys/ed", json!({ "context": c1 }))
        .await;
    let pk = with_ctx["keys"]["1"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(unb64(&pk).len(), 32);
    let s = e
        .write("sign/ed", json!({"input": b64(b"m"), "context": c1}))
        .await;
    assert_eq!(s["public_key"], pk.as_str());
}

#[tokio::test]
async fn keys_survive_a_restart_and_the_cache_follows_storage() {
    let e = env();
    e.write("keys/k", json!({"type": "ecdsa-p256"})).await;
    let sig = e.write("sign/k", json!({"input": b64(b"m")})).await["signature"].clone();
    // Another backend over the same storage (another node) rotates the key.
    let other = reopen(&e);
    let mut r = arca_logical::Request::new("r", Operation::Update, "keys/k/rotate");
    r.mount_point = "transit/".to_owned();
    arca_logical::Backend::handle(&other, &r).await.unwrap();
    // This backend sees the rotation at once (no stale cache).
    let s2 = e.write("sign/k", json!({"input": b64(b"m")})).await;
    assert_eq!(s2["key_version"], 2);
    let v = e
        .write("verify/k", json!({"input": b64(b"m"), "signature": sig}))
        .await;
    assert_eq!(v["valid"], true);
}
