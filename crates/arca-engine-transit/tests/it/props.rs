//! Property tests: encrypt→decrypt and sign→verify round trips on arbitrary inputs, and
//! any single-bit change of a ciphertext is rejected.

use proptest::prelude::*;
use serde_json::json;

use crate::{Env, b64, env, unb64};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn setup(rt: &tokio::runtime::Runtime) -> Env {
    let e = env();
    rt.block_on(async {
        for t in [
            "aes128-gcm96",
            "aes256-gcm96",
            "chacha20-poly1305",
            "xchacha20-poly1305",
        ] {
            e.write(&format!("keys/{t}"), json!({ "type": t })).await;
            e.write(&format!("keys/d-{t}"), json!({"type": t, "derived": true}))
                .await;
        }
        for t in ["ed25519", "ecdsa-p256", "ecdsa-p521"] {
            e.write(&format!("keys/{t}"), json!({ "type": t })).await;
        }
    });
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn encrypt_then_decrypt(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        ctx in proptest::collection::vec(any::<u8>(), 1..40),
        which in 0usize..4,
        derived in any::<bool>(),
        flip_at in any::<usize>(),
    ) {
        let rt = runtime();
        let e = setup_once(&rt);
        let t = ["aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "xchacha20-poly1305"][which];
        let key = if derived { format!("d-{t}") } else { t.to_owned() };
        let mut body = json!({"plaintext": b64(&data)});
        if derived {
            body["context"] = json!(b64(&ctx));
        }
        rt.block_on(async {
            let ct = e.write(&format!("encrypt/{key}"), body.clone()).await["ciphertext"].as_str().unwrap().to_owned();
            let mut dec = json!({"ciphertext": ct});
            if derived {
                dec["context"] = json!(b64(&ctx));
            }
            let d = e.write(&format!("decrypt/{key}"), dec.clone()).await;
            prop_assert_eq!(unb64(d["plaintext"].as_str().unwrap()), data.clone());
            // One flipped bit anywhere in the decoded envelope body is rejected.
            let (prefix, b) = ct.rsplit_once(':').unwrap();
            let mut raw = unb64(b);
            let i = flip_at % (raw.len() * 8);
            raw[i / 8] ^= 1 << (i % 8);
            dec["ciphertext"] = json!(format!("{prefix}:{}", b64(&raw)));
            let r = e.raw(arca_logical::Operation::Update, &format!("decrypt/{key}"), dec).await;
            prop_assert!(r.is_err());
            Ok(())
        })?;
    }

    #[test]
    fn sign_then_verify(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        which in 0usize..3,
        jws in any::<bool>(),
    ) {
        let rt = runtime();
        let e = setup_once(&rt);
        let t = ["ed25519", "ecdsa-p256", "ecdsa-p521"][which];
        let marshal = if jws && t != "ed25519" { "jws" } else { "asn1" };
        rt.block_on(async {
            let body = json!({"input": b64(&data), "marshaling_algorithm": marshal});
            let s = e.write(&format!("sign/{t}"), body.clone()).await;
            let mut v = body.clone();
            v["signature"] = s["signature"].clone();
            prop_assert_eq!(e.write(&format!("verify/{t}"), v.clone()).await["valid"].clone(), json!(true));
            let mut other = data.clone();
            other.push(1);
            v["input"] = json!(b64(&other));
            prop_assert_eq!(e.write(&format!("verify/{t}"), v).await["valid"].clone(), json!(false));
            Ok(())
        })?;
    }
}

/// Keys are generated once per test process; every case reuses them.
fn setup_once(rt: &tokio::runtime::Runtime) -> &'static Env {
    use std::sync::OnceLock;
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| setup(rt))
}
