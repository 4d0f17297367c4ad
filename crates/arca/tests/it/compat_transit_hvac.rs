//! Python hvac 2.4.0 running its `client.secrets.transit` methods against `arca server -dev`
//! and `bao server -dev`: the same script on both, every call's result (the parsed answer,
//! hvac's bare `requests.Response` status for 204s, or the exception with its errors and
//! body) compared with ciphertexts, signatures, HMACs, key material and times masked.
//! Then the two servers' ciphertexts under one key name, crossed: each server decrypts only
//! its own, through hvac and through the `bao` CLI.

use arca_test_support::{JsonDiff, PyEnv};
use serde_json::{Value, json};

use crate::compat_common::{arca_dev, bao, bao_dev, bao_json, py};

const TOKEN: &str = "compat-transit-hvac";

/// Records every call in `out` (name → result) and prints it as JSON. `st` keeps the
/// server's own ciphertexts and signatures for later calls.
const SCRIPT: &str = r#"
import base64, hashlib
out = {}
st = {}
def rec(name, f):
    try:
        r = f()
        out[name] = {"response_status": r.status_code} if hasattr(r, "status_code") else r
    except Exception as e:
        out[name] = {"exception": type(e).__name__, "errors": getattr(e, "errors", None),
                     "json": getattr(e, "json", None)}
    return out[name]
def keep(key, path, r):
    d = r
    for p in path:
        d = d[p]
    st[key] = d
    return r
b = lambda s: base64.b64encode(s.encode()).decode()
t = client.secrets.transit

rec("enable", lambda: client.sys.enable_secrets_engine("transit"))
# hvac's create_key refuses the types missing from its list: those go through the adapter.
rec("create aes128-gcm96", lambda: client.adapter.post("/v1/transit/keys/aes128-gcm96", json={"type": "aes128-gcm96"}))
rec("read aes128-gcm96", lambda: t.read_key("aes128-gcm96"))
rec("create hmac without key_size", lambda: client.adapter.post("/v1/transit/keys/hmac0", json={"type": "hmac"}))
rec("create hmac", lambda: client.adapter.post("/v1/transit/keys/hmac", json={"type": "hmac", "key_size": 32}))
rec("read hmac", lambda: t.read_key("hmac"))
try:  # only Arca made it: gone again, so the key lists stay comparable
    client.adapter.post("/v1/transit/keys/hmac0/config", json={"deletion_allowed": True})
    client.adapter.delete("/v1/transit/keys/hmac0")
except hvac.exceptions.VaultError:
    pass
for kt in ["aes256-gcm96", "chacha20-poly1305", "ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-2048"]:
    rec("create " + kt, lambda kt=kt: t.create_key(kt, key_type=kt))
    rec("read " + kt, lambda kt=kt: t.read_key(kt))
rec("create exportable", lambda: t.create_key("exp", exportable=True, allow_plaintext_backup=True))
rec("create derived", lambda: t.create_key("der", derived=True))
rec("create convergent", lambda: t.create_key("conv", derived=True, convergent_encryption=True))
rec("read derived", lambda: t.read_key("der"))
rec("read convergent", lambda: t.read_key("conv"))
rec("read missing", lambda: t.read_key("nosuch"))
rec("list", lambda: t.list_keys())

# Configuration and rotation.
k = "aes256-gcm96"
rec("encrypt v1", lambda: keep("ct1", ["data", "ciphertext"], t.encrypt_data(k, plaintext=b("hello v1"))))
rec("rotate", lambda: t.rotate_key(k))
rec("rotate again", lambda: t.rotate_key(k))
rec("configure", lambda: t.update_key_configuration(k, min_decryption_version=1,
    exportable=True, allow_plaintext_backup=True, auto_rotate_period="24h"))
rec("read configured", lambda: t.read_key(k))
rec("configure min_encryption too high", lambda: t.update_key_configuration(k, min_encryption_version=9))
rec("configure min_decryption < min_encryption", lambda: t.update_key_configuration(k, min_decryption_version=1, min_encryption_version=2))

# Encrypt, decrypt, rewrap: single and batches.
rec("encrypt", lambda: keep("ct", ["data", "ciphertext"], t.encrypt_data(k, plaintext=b("hello"))))
rec("decrypt", lambda: t.decrypt_data(k, ciphertext=st["ct"]))
rec("decrypt v1", lambda: t.decrypt_data(k, ciphertext=st["ct1"]))
rec("encrypt key_version 2", lambda: keep("ct2", ["data", "ciphertext"], t.encrypt_data(k, plaintext=b("two"), key_version=2)))
rec("encrypt key_version 9", lambda: t.encrypt_data(k, plaintext=b("x"), key_version=9))
rec("encrypt bad base64", lambda: t.encrypt_data(k, plaintext="!!"))
rec("encrypt upsert", lambda: t.encrypt_data("upserted", plaintext=b("x")))
rec("read upserted", lambda: t.read_key("upserted"))
rec("batch encrypt", lambda: keep("batch", ["data", "batch_results"], t.encrypt_data(k, batch_input=[
    {"plaintext": b("a")}, {"plaintext": b("b"), "reference": "r2"}])))
rec("batch decrypt", lambda: t.decrypt_data(k, batch_input=[
    {"ciphertext": st["batch"][0]["ciphertext"]},
    {"ciphertext": st["batch"][1]["ciphertext"], "reference": "r2"}]))
rec("batch encrypt, a bad item", lambda: t.encrypt_data(k, batch_input=[
    {"plaintext": b("a")}, {"plaintext": "!!", "reference": "bad"}]))
rec("batch decrypt, bad items", lambda: t.decrypt_data(k, batch_input=[
    {"ciphertext": st["ct"]}, {"ciphertext": "vault:v9:AAAA", "reference": "x"},
    {"ciphertext": "junk"}]))
rec("decrypt tampered", lambda: t.decrypt_data(k, ciphertext=st["ct"][:-4] + ("AAAA" if not st["ct"].endswith("AAAA") else "BBBB")))
rec("decrypt v01", lambda: t.decrypt_data(k, ciphertext=st["ct"].replace("vault:v3:", "vault:v03:")))
rec("rewrap", lambda: keep("rewrapped", ["data", "ciphertext"], t.rewrap_data(k, ciphertext=st["ct1"])))
rec("rewrapped version", lambda: st["rewrapped"].split(":")[1])
rec("decrypt rewrapped", lambda: t.decrypt_data(k, ciphertext=st["rewrapped"]))
rec("rewrap batch, a bad item", lambda: t.rewrap_data(k, ciphertext=None, batch_input=[
    {"ciphertext": st["ct2"]}, {"ciphertext": "vault:v9:AAAA", "reference": "x"}]))
rec("min_decryption_version 2", lambda: t.update_key_configuration(k, min_decryption_version=2))
rec("decrypt v1 below min", lambda: t.decrypt_data(k, ciphertext=st["ct1"]))
rec("rewrap v1 below min", lambda: t.rewrap_data(k, ciphertext=st["ct1"]))

# Derived and convergent keys.
ctx = b("tenant-1")
rec("derived without context", lambda: t.encrypt_data("der", plaintext=b("x")))
rec("derived encrypt", lambda: keep("dct", ["data", "ciphertext"], t.encrypt_data("der", plaintext=b("x"), context=ctx)))
rec("derived decrypt", lambda: t.decrypt_data("der", ciphertext=st["dct"], context=ctx))
rec("derived decrypt, other context", lambda: t.decrypt_data("der", ciphertext=st["dct"], context=b("tenant-2")))
rec("nonce on a non-convergent key", lambda: t.encrypt_data(k, plaintext=b("x"), nonce=base64.b64encode(b"123456789012").decode()))
rec("convergent twice equal", lambda: t.encrypt_data("conv", plaintext=b("same"), context=ctx)["data"]["ciphertext"]
    == t.encrypt_data("conv", plaintext=b("same"), context=ctx)["data"]["ciphertext"])

# Data keys, random bytes, hashes.
rec("datakey plaintext", lambda: keep("dk", ["data"], t.generate_data_key(k, key_type="plaintext")))
rec("datakey plaintext length", lambda: len(base64.b64decode(st["dk"]["plaintext"])))
rec("datakey unwraps", lambda: t.decrypt_data(k, ciphertext=st["dk"]["ciphertext"])["data"]["plaintext"] == st["dk"]["plaintext"])
rec("datakey wrapped 512", lambda: t.generate_data_key(k, key_type="wrapped", bits=512))
rec("datakey bad bits", lambda: t.generate_data_key(k, key_type="plaintext", bits=100))
rec("random hex", lambda: len(t.generate_random_bytes(n_bytes=16, output_format="hex")["data"]["random_bytes"]))
rec("random base64", lambda: len(base64.b64decode(t.generate_random_bytes(n_bytes=48)["data"]["random_bytes"])))
rec("hash sha2-256 hex", lambda: t.hash_data(b("hello"), algorithm="sha2-256", output_format="hex"))
rec("hash sha2-512", lambda: t.hash_data(b("hello"), algorithm="sha2-512"))
rec("hash default", lambda: t.hash_data(b("hello")))
rec("hash bad input", lambda: t.hash_data("!!"))

# HMAC.
rec("hmac", lambda: keep("hmac", ["data", "hmac"], t.generate_hmac("hmac", b("msg"), algorithm="sha2-256")))
rec("hmac verify", lambda: t.verify_signed_data("hmac", b("msg"), hmac=st["hmac"], hash_algorithm="sha2-256"))
rec("hmac verify, other input", lambda: t.verify_signed_data("hmac", b("other"), hmac=st["hmac"], hash_algorithm="sha2-256"))
rec("hmac with an aes key", lambda: t.generate_hmac(k, b("msg"), algorithm="sha2-512"))
rec("hmac verify malformed", lambda: t.verify_signed_data("hmac", b("msg"), hmac="junk"))

# Signatures.
rec("sign ed25519", lambda: keep("ed", ["data", "signature"], t.sign_data("ed25519", hash_input=b("msg"))))
rec("verify ed25519", lambda: t.verify_signed_data("ed25519", b("msg"), signature=st["ed"]))
rec("verify ed25519, other input", lambda: t.verify_signed_data("ed25519", b("nope"), signature=st["ed"]))
rec("sign ecdsa-p256", lambda: keep("ec", ["data", "signature"], t.sign_data("ecdsa-p256", hash_input=b("msg"), hash_algorithm="sha2-256")))
rec("verify ecdsa-p256", lambda: t.verify_signed_data("ecdsa-p256", b("msg"), signature=st["ec"], hash_algorithm="sha2-256"))
rec("sign ecdsa-p384 jws", lambda: keep("ecj", ["data", "signature"], t.sign_data("ecdsa-p384", hash_input=b("msg"), hash_algorithm="sha2-384", marshaling_algorithm="jws")))
rec("verify ecdsa-p384 jws", lambda: t.verify_signed_data("ecdsa-p384", b("msg"), signature=st["ecj"], hash_algorithm="sha2-384", marshaling_algorithm="jws"))
# The JWS signature in standard base64, so that it decodes and reaches the ASN.1 check on both
# servers: as it is, whether it decodes depends on the random signature holding '-' or '_',
# and each server signs with its own key.
rec("verify ecdsa-p384 jws as asn1", lambda: t.verify_signed_data("ecdsa-p384", b("msg"), signature=st["ecj"].replace("-", "+").replace("_", "/"), hash_algorithm="sha2-384"))
for alg in ["pss", "pkcs1v15"]:
    rec("sign rsa " + alg, lambda alg=alg: keep("rsa-" + alg, ["data", "signature"], t.sign_data("rsa-2048", hash_input=b("msg"), hash_algorithm="sha2-256", signature_algorithm=alg)))
    rec("verify rsa " + alg, lambda alg=alg: t.verify_signed_data("rsa-2048", b("msg"), signature=st["rsa-" + alg], hash_algorithm="sha2-256", signature_algorithm=alg))
rec("verify rsa pss signature as pkcs1v15", lambda: t.verify_signed_data("rsa-2048", b("msg"), signature=st["rsa-pss"], hash_algorithm="sha2-256", signature_algorithm="pkcs1v15"))
digest = base64.b64encode(hashlib.sha256(b"msg").digest()).decode()
rec("sign rsa prehashed", lambda: keep("rsa-pre", ["data", "signature"], t.sign_data("rsa-2048", hash_input=digest, hash_algorithm="sha2-256", prehashed=True, signature_algorithm="pkcs1v15")))
rec("verify rsa prehashed as the message", lambda: t.verify_signed_data("rsa-2048", b("msg"), signature=st["rsa-pre"], hash_algorithm="sha2-256", signature_algorithm="pkcs1v15"))
rec("sign with an aes key", lambda: t.sign_data(k, hash_input=b("msg")))
rec("encrypt with an ed25519 key", lambda: t.encrypt_data("ed25519", plaintext=b("x")))

# Trim, export, backup and restore, delete.
rec("trim", lambda: t.trim_key(k, min_version=2))
rec("read trimmed", lambda: t.read_key(k))
rec("trim above min_decryption", lambda: t.trim_key(k, min_version=3))
rec("export encryption-key", lambda: t.export_key(k, key_type="encryption-key"))
rec("export latest", lambda: t.export_key(k, key_type="encryption-key", version="latest"))
rec("export hmac-key", lambda: t.export_key("exp", key_type="hmac-key"))
rec("export not exportable", lambda: t.export_key("aes128-gcm96", key_type="encryption-key"))
rec("export public-key ed25519", lambda: t.export_key("ed25519", key_type="public-key"))
rec("backup", lambda: keep("backup", ["data", "backup"], t.backup_key(k)))
rec("backup not allowed", lambda: t.backup_key("aes128-gcm96"))
rec("restore", lambda: t.restore_key(st["backup"], name="restored"))
rec("restore over an existing key", lambda: t.restore_key(st["backup"], name="restored"))
rec("restore forced", lambda: t.restore_key(st["backup"], name="restored", force=True))
rec("read restored", lambda: t.read_key("restored"))
rec("decrypt under the restored key", lambda: t.decrypt_data("restored", ciphertext=st["ct"]))
rec("delete without deletion_allowed", lambda: t.delete_key("aes128-gcm96"))
rec("allow deletion", lambda: t.update_key_configuration("aes128-gcm96", deletion_allowed=True))
rec("delete", lambda: t.delete_key("aes128-gcm96"))
rec("read deleted", lambda: t.read_key("aes128-gcm96"))
rec("list after delete", lambda: t.list_keys())
print(json.dumps(out))
"#;

fn run(py: &PyEnv, addr: &str) -> Value {
    let out = py
        .hvac(addr, Some(TOKEN), SCRIPT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.code, 0, "hvac script against {addr}: {}", out.stderr);
    out.json().unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn masks() -> JsonDiff {
    JsonDiff::new().mask(&[
        "request_id",
        "ciphertext",
        "signature",
        "hmac",
        "creation_time",
        "public_key",
        "backup",
        "time",
        "/*/data/keys/*",
        "/datakey plaintext/data/plaintext",
    ])
}

const NAME_WARNING: &str = "hvac sends the key name in the body too; OpenBao warns that the path's value replaced it, Arca that it ignored it";
const NOT_ECHOED: &str = "Arca's errors do not quote request values (the key name)";
const NO_500: &str =
    "a client error is a 400 without Go's multierror wrapping in Arca, a 500 in OpenBao";

/// Known differences in calls both servers answer alike otherwise (docs/compatibility.md):
/// (call, JSON pointer under the call's name, why).
const KNOWN: &[(&str, &str, &str)] = &[
    ("delete without deletion_allowed", "/errors/0", NOT_ECHOED),
    (
        "delete without deletion_allowed",
        "/json/errors/0",
        NOT_ECHOED,
    ),
    ("backup not allowed", "/exception", NO_500),
    ("backup not allowed", "/errors/0", NO_500),
    ("backup not allowed", "/json/errors/0", NO_500),
    ("restore over an existing key", "/exception", NO_500),
    ("restore over an existing key", "/errors/0", NO_500),
    ("restore over an existing key", "/json/errors/0", NO_500),
    ("hmac verify", "/warnings/0", NAME_WARNING),
    ("hmac verify, other input", "/warnings/0", NAME_WARNING),
    ("verify ed25519", "/warnings/0", NAME_WARNING),
    ("verify ed25519, other input", "/warnings/0", NAME_WARNING),
    ("verify ecdsa-p256", "/warnings/0", NAME_WARNING),
    ("verify ecdsa-p384 jws", "/warnings/0", NAME_WARNING),
    ("verify rsa pss", "/warnings/0", NAME_WARNING),
    ("verify rsa pkcs1v15", "/warnings/0", NAME_WARNING),
    (
        "verify rsa pss signature as pkcs1v15",
        "/warnings/0",
        NAME_WARNING,
    ),
    (
        "verify rsa prehashed as the message",
        "/warnings/0",
        NAME_WARNING,
    ),
];

/// Calls where Arca refuses (hvac exception) what OpenBao accepts, by design
/// (docs/compatibility.md, deliberate differences): (call, Arca's error).
const REFUSED_BY_ARCA: &[(&str, &str)] = &[
    // Only canonical version numbers: `v03` is not `v3`.
    (
        "decrypt v01",
        "invalid ciphertext: version number could not be decoded",
    ),
    // A caller's nonce would make AES-GCM nonce reuse possible; OpenBao ignores it.
    (
        "nonce on a non-convergent key",
        "nonce provided when not allowed",
    ),
];

/// Calls where Arca accepts what OpenBao fails with a 500, by design.
const ACCEPTED_BY_ARCA: &[&str] = &[
    // Arca defaults an HMAC key to 32 bytes; OpenBao answers 500 "invalid key size".
    "create hmac without key_size",
];

#[test]
fn hvac_transit_methods_match_openbao() {
    let Some(py) = py() else { return };
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    let (a, o) = std::thread::scope(|sc| {
        let a = sc.spawn(|| run(&py, &arca.addr));
        let o = run(&py, &openbao.addr);
        (a.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), o)
    });

    // What hvac users get from Arca, on its own.
    let ok = |name: &str| {
        assert!(a[name].get("exception").is_none(), "{name}: {}", a[name]);
        a[name].clone()
    };
    let exc = |name: &str| a[name]["exception"].clone();
    assert_eq!(ok("decrypt")["data"]["plaintext"], json!("aGVsbG8="));
    assert_eq!(ok("decrypt v1")["data"]["plaintext"], json!("aGVsbG8gdjE="));
    assert_eq!(ok("rewrapped version"), json!("v3"));
    assert_eq!(
        ok("decrypt rewrapped")["data"]["plaintext"],
        json!("aGVsbG8gdjE=")
    );
    assert_eq!(exc("batch encrypt, a bad item"), json!("InvalidRequest"));
    let items = &a["batch encrypt, a bad item"]["json"]["data"]["batch_results"];
    assert!(
        items[0]["ciphertext"]
            .as_str()
            .unwrap()
            .starts_with("vault:v3:")
    );
    assert!(items[1]["error"].is_string(), "{items}");
    assert_eq!(items[1]["reference"], json!("bad"));
    assert_eq!(exc("batch decrypt, bad items"), json!("InvalidRequest"));
    assert_eq!(exc("decrypt tampered"), json!("InvalidRequest"));
    assert_eq!(exc("decrypt v01"), json!("InvalidRequest"));
    assert_eq!(exc("decrypt v1 below min"), json!("InvalidRequest"));
    assert_eq!(
        exc("derived decrypt, other context"),
        json!("InvalidRequest")
    );
    assert_eq!(ok("convergent twice equal"), json!(true));
    assert_eq!(ok("datakey plaintext length"), json!(32));
    assert_eq!(ok("datakey unwraps"), json!(true));
    assert_eq!(ok("random hex"), json!(32));
    assert_eq!(ok("random base64"), json!(48));
    assert_eq!(ok("hmac verify")["data"]["valid"], json!(true));
    assert_eq!(
        ok("hmac verify, other input")["data"]["valid"],
        json!(false)
    );
    for v in [
        "verify ed25519",
        "verify ecdsa-p256",
        "verify ecdsa-p384 jws",
        "verify rsa pss",
        "verify rsa pkcs1v15",
        "verify rsa prehashed as the message",
    ] {
        assert_eq!(ok(v)["data"]["valid"], json!(true), "{v}");
    }
    assert_eq!(
        ok("verify ed25519, other input")["data"]["valid"],
        json!(false)
    );
    assert_eq!(
        ok("decrypt under the restored key")["data"]["plaintext"],
        json!("aGVsbG8=")
    );
    assert_eq!(
        exc("delete without deletion_allowed"),
        json!("InvalidRequest")
    );
    assert_eq!(ok("delete")["response_status"], json!(204));
    assert_eq!(exc("read deleted"), json!("InvalidPath"));
    let list = |v: &Value, name: &str| -> Vec<String> {
        let mut keys: Vec<String> = v[name]["data"]["keys"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {}", v[name]))
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(list(&a, "list"), list(&o, "list"));
    assert_eq!(list(&a, "list after delete"), list(&o, "list after delete"));

    // Then every call beside OpenBao's answer.
    let diff = masks();
    let mut failures = Vec::new();
    let calls = a.as_object().unwrap();
    assert_eq!(
        calls.keys().collect::<Vec<_>>(),
        o.as_object().unwrap().keys().collect::<Vec<_>>()
    );
    for (name, arca_error) in REFUSED_BY_ARCA {
        assert_eq!(
            (a[*name]["exception"].clone(), a[*name]["errors"].clone()),
            (json!("InvalidRequest"), json!([arca_error])),
            "{name}"
        );
        assert!(o[*name].get("exception").is_none(), "{name}: {}", o[*name]);
    }
    for name in ACCEPTED_BY_ARCA {
        assert!(a[*name].get("exception").is_none(), "{name}: {}", a[*name]);
        assert_eq!(
            o[*name]["exception"],
            json!("InternalServerError"),
            "{name}"
        );
    }
    for (name, av) in calls {
        if REFUSED_BY_ARCA.iter().any(|(n, _)| n == name)
            || ACCEPTED_BY_ARCA.contains(&name.as_str())
        {
            continue;
        }
        let known: Vec<(String, &str)> = KNOWN
            .iter()
            .filter(|(c, _, _)| c == name)
            .map(|(_, p, why)| (format!("/{name}{p}"), *why))
            .collect();
        let known: Vec<(&str, &str)> = known.iter().map(|(p, w)| (p.as_str(), *w)).collect();
        let wrapped_a = json!({ name.as_str(): av });
        let wrapped_o = json!({ name.as_str(): o[name] });
        let r = std::panic::catch_unwind(|| {
            diff.assert_matches(name, &wrapped_a, &wrapped_o, &known);
        });
        if let Err(e) = r {
            let msg = e
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "?".into());
            failures.push(format!("{msg}\n  arca: {av}\n  openbao: {}\n", o[name]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Each server decrypts only its own ciphertexts: the same key name and type on both,
/// every ciphertext offered to the other server is refused with 400 (hvac: InvalidRequest;
/// the bao CLI: exit 2), while each decrypts its own.
#[test]
fn each_server_decrypts_only_its_own_ciphertexts() {
    let Some(py) = py() else { return };
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    let servers = [
        ("arca", arca.addr.as_str()),
        ("openbao", openbao.addr.as_str()),
    ];
    let mut cts = Vec::new();
    for (_, addr) in servers {
        let out = bao(&py, addr, Some(TOKEN), &["secrets", "enable", "transit"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        bao_json(
            &py,
            addr,
            Some(TOKEN),
            &["write", "-format=json", "-f", "transit/keys/shared"],
            0,
        );
        let enc = bao_json(
            &py,
            addr,
            Some(TOKEN),
            &[
                "write",
                "-format=json",
                "transit/encrypt/shared",
                "plaintext=c2VjcmV0",
            ],
            0,
        );
        cts.push(enc["data"]["ciphertext"].as_str().unwrap().to_owned());
    }
    assert!(cts.iter().all(|c| c.starts_with("vault:v1:")), "{cts:?}");

    for (i, (who, addr)) in servers.iter().enumerate() {
        // Through the bao CLI.
        let own = bao_json(
            &py,
            addr,
            Some(TOKEN),
            &[
                "write",
                "-format=json",
                "transit/decrypt/shared",
                &format!("ciphertext={}", cts[i]),
            ],
            0,
        );
        assert_eq!(own["data"]["plaintext"], json!("c2VjcmV0"), "{who}");
        let other = bao(
            &py,
            addr,
            Some(TOKEN),
            &[
                "write",
                "transit/decrypt/shared",
                &format!("ciphertext={}", cts[1 - i]),
            ],
        );
        assert_eq!(other.code, 2, "{who}: {} {}", other.stdout, other.stderr);
        assert!(
            other.stderr.contains("Code: 400"),
            "{who}: {}",
            other.stderr
        );
        assert!(!other.stdout.contains("c2VjcmV0"), "{who}");

        // Through hvac.
        let script = format!(
            "t = client.secrets.transit\nout = {{}}\nout['own'] = t.decrypt_data('shared', ciphertext={own:?})['data']['plaintext']\ntry:\n    t.decrypt_data('shared', ciphertext={other:?})\n    out['other'] = 'decrypted'\nexcept hvac.exceptions.InvalidRequest as e:\n    out['other'] = 'InvalidRequest'\nprint(json.dumps(out))\n",
            own = cts[i],
            other = cts[1 - i]
        );
        let out = py.hvac(addr, Some(TOKEN), &script).unwrap();
        assert_eq!(out.code, 0, "{who}: {}", out.stderr);
        assert_eq!(
            out.json().unwrap(),
            json!({"own": "c2VjcmV0", "other": "InvalidRequest"}),
            "{who}"
        );
    }
}
