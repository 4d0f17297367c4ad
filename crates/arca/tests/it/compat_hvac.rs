//! Python hvac 2.4.0 against a config-file Arca server and a non-dev OpenBao server: the
//! same script (init, unseal, key status, rotate, seal, health) on both, results compared.

use arca_test_support::{BaoServer, JsonDiff, PyEnv};
use serde_json::{Value, json};

use crate::compat_common::{STATUS_MASK, py};
use crate::support::{Server, embedded_config};

/// Records each call's result (a dict, `{"response_status": n}` for hvac's bare
/// `requests.Response` on 204s and non-200 health codes, or the exception class) in `out`,
/// then prints `out` as JSON. Unseal keys and the root token stay inside the script.
const SCRIPT: &str = r#"
out = {}
def rec(name, f):
    try:
        r = f()
        out[name] = {"response_status": r.status_code} if hasattr(r, "status_code") else r
    except Exception as e:
        out[name] = {"exception": type(e).__name__}
rec("is_initialized_before", client.sys.is_initialized)
rec("health_uninitialised", lambda: client.sys.read_health_status(method="GET"))
rec("seal_status_before", client.sys.read_seal_status)
init = client.sys.initialize(3, 2)
out["init"] = {"keys": len(init["keys"]), "keys_base64": len(init["keys_base64"]),
               "root_token_prefix": init["root_token"][:2]}
rec("is_initialized", client.sys.is_initialized)
rec("is_sealed_after_init", client.sys.is_sealed)
rec("health_sealed", lambda: client.sys.read_health_status(method="GET"))
rec("key_status_sealed", client.sys.get_encryption_key_status)
rec("unseal_one", lambda: client.sys.submit_unseal_key(init["keys_base64"][2]))
rec("unseal_reset", lambda: client.sys.submit_unseal_key(reset=True))
rec("unseal", lambda: client.sys.submit_unseal_keys(init["keys"][:2]))
rec("is_sealed", client.sys.is_sealed)
client.token = init["root_token"]
rec("key_status", client.sys.get_encryption_key_status)
rec("rotate", client.sys.rotate_encryption_key)
rec("key_status_rotated", client.sys.get_encryption_key_status)
rec("health", lambda: client.sys.read_health_status(method="GET"))
rec("health_head", lambda: client.sys.read_health_status(method="HEAD"))
rec("leader", client.sys.read_leader_status)
rec("seal", client.sys.seal)
rec("is_sealed_end", client.sys.is_sealed)
print(json.dumps(out))
"#;

fn run(py: &PyEnv, addr: &str) -> Value {
    let out = py
        .hvac(addr, None, SCRIPT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.code, 0, "hvac script against {addr}: {}", out.stderr);
    out.json().unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn hvac_sys_calls_match_openbao() {
    let Some(py) = py() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cfg = embedded_config(dir.path(), "");
    let arca = Server::start(&["-config", cfg.to_str().unwrap()], &[]);
    let openbao = BaoServer::inmem(&py, "").unwrap_or_else(|e| panic!("{e}"));

    let a = run(&py, &arca.addr);
    let b = run(&py, &openbao.addr);

    // What hvac users see from Arca, independent of OpenBao.
    assert_eq!(a["is_initialized_before"], false);
    assert_eq!(a["health_uninitialised"], json!({"response_status": 501}));
    assert_eq!(
        a["init"],
        json!({"keys": 3, "keys_base64": 3, "root_token_prefix": "s."})
    );
    assert_eq!(
        (&a["is_initialized"], &a["is_sealed_after_init"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(a["health_sealed"], json!({"response_status": 503}));
    assert_eq!(a["key_status_sealed"], json!({"exception": "VaultDown"}));
    assert_eq!(
        (&a["unseal_one"]["progress"], &a["unseal_reset"]["progress"]),
        (&json!(1), &json!(0))
    );
    assert_eq!(
        (&a["unseal"]["sealed"], &a["is_sealed"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(
        (&a["key_status"]["term"], &a["key_status"]["data"]["term"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(a["rotate"], json!({"response_status": 204}));
    assert_eq!(a["key_status_rotated"]["term"], 2);
    assert_eq!(a["health"]["sealed"], false);
    assert_eq!(a["health_head"], json!({"response_status": 200}));
    assert_eq!(a["seal"], json!({"response_status": 204}));
    assert_eq!(a["is_sealed_end"], true);

    // And the differential view.
    JsonDiff::new()
        .mask(STATUS_MASK)
        .mask(&["nonce"])
        .assert_matches("hvac script", &a, &b, &[]);
}
