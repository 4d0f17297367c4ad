//! Python hvac 2.4.0 logging in through AppRole, JWT and userpass against `arca server -dev`
//! and `bao server -dev`: the same script on both (set up each method with hvac, log in,
//! `renew_self` and `lookup_self` with the new token at once, as Vault Agent does, and the
//! refused logins), every call's result compared with tokens, accessors, ids and times
//! masked. The JWTs are signed here with an Ed25519 and a P-521 (ES512) key made by the
//! test, whose public keys both servers get as `jwt_validation_pubkeys`.

use arca_crypto::transit::{EcCurve, EcdsaSigner, HashAlg};
use arca_test_support::PyEnv;
use base64::Engine;
use rcgen::{KeyPair, PKCS_ED25519};
use serde_json::{Value, json};

use crate::auth_jwt::{b64url, mint_kid, now};
use crate::compat_common::{arca_dev, bao_dev, py};
use crate::compat_kv_cli::normalise_times;
use crate::compat_tokens::{settle_ttls, token_mask};

const TOKEN: &str = "compat-auth-hvac";
const ISSUER: &str = "https://ci.example.test";

/// Records every call in `out` (name → the parsed answer, `{"response_status": n}` for
/// hvac's bare responses, or the exception with its errors) and prints `out` as JSON.
/// Secrets (secret IDs, tokens) stay inside the script; only their shapes are recorded.
const SCRIPT: &str = r#"
import os, json, hvac
addr = os.environ["ARCA_HVAC_ADDR"]
client = hvac.Client(url=addr, token=os.environ["ARCA_HVAC_TOKEN"])
out = {}
def exc(e):
    return {"exception": type(e).__name__, "errors": getattr(e, "errors", None)}
def rec(name, f):
    try:
        r = f()
        out[name] = {"response_status": r.status_code} if hasattr(r, "status_code") else r
    except Exception as e:
        out[name] = exc(e)
    return out[name]
def as_client(tok):
    return hvac.Client(url=addr, token=tok)
def login_then_renew(prefix, f):
    r = rec(prefix + "_login", f)
    tok = (r.get("auth") or {}).get("client_token") if isinstance(r, dict) else None
    if not tok:
        return
    c = as_client(tok)
    rec(prefix + "_renew_self", lambda: c.auth.token.renew_self())
    rec(prefix + "_renew_self_increment", lambda: c.auth.token.renew_self(increment="5m"))
    rec(prefix + "_lookup_self", lambda: c.auth.token.lookup_self())

# AppRole: role, role ID, secret ID, login.
rec("approle_enable", lambda: client.sys.enable_auth_method("approle"))
rec("approle_create_role", lambda: client.auth.approle.create_or_update_approle(
    "web", token_policies=["web", "shared"], token_ttl="10m", token_max_ttl="1h",
    secret_id_ttl="1h", secret_id_num_uses=5, token_type="service"))
rec("approle_read_role", lambda: client.auth.approle.read_role("web"))
rid = rec("approle_read_role_id", lambda: client.auth.approle.read_role_id("web"))
sid = client.auth.approle.generate_secret_id("web", metadata={"env": "ci"})
out["approle_generate_secret_id"] = sid
role_id = rid["data"]["role_id"]
secret_id = sid["data"]["secret_id"]
rec("approle_read_secret_id", lambda: client.auth.approle.read_secret_id("web", secret_id))
rec("approle_list_secret_id_accessors", lambda: client.auth.approle.list_secret_id_accessors("web"))
login_then_renew("approle", lambda: client.auth.approle.login(role_id, secret_id, use_token=False))
rec("approle_read_secret_id_after_login", lambda: client.auth.approle.read_secret_id("web", secret_id))
rec("approle_login_wrong_secret", lambda: client.auth.approle.login(role_id, "not-the-secret", use_token=False))
rec("approle_login_wrong_role", lambda: client.auth.approle.login("not-a-role-id", secret_id, use_token=False))
rec("approle_login_no_secret", lambda: client.auth.approle.login(role_id, use_token=False))

# userpass.
rec("userpass_enable", lambda: client.sys.enable_auth_method("userpass"))
rec("userpass_create_user", lambda: client.auth.userpass.create_or_update_user(
    "alice", password="correct horse", policies=["dev"], token_ttl="20m"))
rec("userpass_read_user", lambda: client.auth.userpass.read_user("alice"))
login_then_renew("userpass", lambda: client.auth.userpass.login("alice", "correct horse", use_token=False))
rec("userpass_login_wrong_password", lambda: client.auth.userpass.login("alice", "wrong", use_token=False))
rec("userpass_login_unknown_user", lambda: client.auth.userpass.login("bob", "wrong", use_token=False))

# JWT with a static public key.
rec("jwt_enable", lambda: client.sys.enable_auth_method("jwt"))
rec("jwt_configure", lambda: client.auth.jwt.configure(
    jwt_validation_pubkeys=[os.environ["ARCA_JWT_PUB"], os.environ["ARCA_JWT_PUB_P521"]],
    bound_issuer=os.environ["ARCA_JWT_ISS"]))
rec("jwt_create_role", lambda: client.auth.jwt.create_role(
    "ci", user_claim="sub", allowed_redirect_uris=[], role_type="jwt",
    bound_audiences=["arca"], bound_claims={"ref": "refs/heads/main"},
    claim_mappings={"repository": "repo"}, token_policies=["ci"], token_ttl="15m"))
rec("jwt_read_role", lambda: client.auth.jwt.read_role("ci"))
login_then_renew("jwt", lambda: client.auth.jwt.jwt_login("ci", os.environ["ARCA_JWT_OK"], use_token=False))
rec("jwt_login_es512", lambda: client.auth.jwt.jwt_login("ci", os.environ["ARCA_JWT_ES512"], use_token=False))
rec("jwt_login_wrong_key", lambda: client.auth.jwt.jwt_login("ci", os.environ["ARCA_JWT_WRONG_KEY"], use_token=False))
rec("jwt_login_wrong_audience", lambda: client.auth.jwt.jwt_login("ci", os.environ["ARCA_JWT_WRONG_AUD"], use_token=False))
rec("jwt_login_bound_claim", lambda: client.auth.jwt.jwt_login("ci", os.environ["ARCA_JWT_WRONG_REF"], use_token=False))
rec("jwt_login_unknown_role", lambda: client.auth.jwt.jwt_login("nope", os.environ["ARCA_JWT_OK"], use_token=False))
print(json.dumps(out))
"#;

/// The signed JWTs and the public key, as the script's environment.
struct Jwts {
    public_pem: String,
    p521_pem: String,
    ok: String,
    es512: String,
    wrong_key: String,
    wrong_aud: String,
    wrong_ref: String,
}

fn jwts() -> Jwts {
    let key = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let other = KeyPair::generate_for(&PKCS_ED25519).unwrap();
    let claims = |extra: Value| {
        let t = now();
        let mut c = json!({
            "iss": ISSUER, "aud": "arca", "sub": "repo:org/app:ref:refs/heads/main",
            "repository": "org/app", "ref": "refs/heads/main",
            "iat": t - 5, "nbf": t - 5, "exp": t + 600,
        });
        if let (Value::Object(m), Value::Object(e)) = (&mut c, extra) {
            m.extend(e);
        }
        c
    };
    let (p521, _) = EcdsaSigner::generate(EcCurve::P521).unwrap();
    let spki = p521.public_key_spki().unwrap();
    Jwts {
        public_pem: key.public_key_pem(),
        p521_pem: format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&spki)
        ),
        ok: mint_kid(&key, "k1", &claims(json!({}))),
        es512: mint_es512(&p521, &claims(json!({"repository": "org/es512"}))),
        wrong_key: mint_kid(&other, "k1", &claims(json!({}))),
        wrong_aud: mint_kid(&key, "k1", &claims(json!({"aud": "someone-else"}))),
        wrong_ref: mint_kid(&key, "k1", &claims(json!({"ref": "refs/heads/dev"}))),
    }
}

/// An ES512 compact JWS of `claims` (fixed-width `r ‖ s`, as JWS wants).
fn mint_es512(key: &EcdsaSigner, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64url(json!({"alg": "ES512", "typ": "JWT"}).to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let sig = key
        .sign_digest(&HashAlg::Sha2_512.digest(input.as_bytes()), true)
        .unwrap();
    format!("{input}.{}", b64url(&sig))
}

fn run(py: &PyEnv, addr: &str, j: &Jwts) -> Value {
    let out = py
        .python(
            SCRIPT,
            &[
                ("ARCA_HVAC_ADDR", addr),
                ("ARCA_HVAC_TOKEN", TOKEN),
                ("ARCA_JWT_PUB", &j.public_pem),
                ("ARCA_JWT_PUB_P521", &j.p521_pem),
                ("ARCA_JWT_ES512", &j.es512),
                ("ARCA_JWT_ISS", ISSUER),
                ("ARCA_JWT_OK", &j.ok),
                ("ARCA_JWT_WRONG_KEY", &j.wrong_key),
                ("ARCA_JWT_WRONG_AUD", &j.wrong_aud),
                ("ARCA_JWT_WRONG_REF", &j.wrong_ref),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.code, 0, "hvac script against {addr}: {}", out.stderr);
    let mut v = out.json().unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    normalise_times(&mut v);
    v
}

#[test]
fn hvac_approle_jwt_userpass_logins_match_openbao() {
    let Some(py) = py() else { return };
    let j = jwts();
    let arca = arca_dev(TOKEN);
    let openbao = bao_dev(&py, TOKEN);
    let (a, mut b) = std::thread::scope(|sc| {
        let a = sc.spawn(|| run(&py, &arca.addr, &j));
        let b = run(&py, &openbao.addr, &j);
        (a.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), b)
    });
    settle_ttls(&a, &mut b);

    // What hvac users get from Arca, on its own.
    for m in ["approle", "userpass", "jwt"] {
        let login = &a[format!("{m}_login")]["auth"];
        assert!(
            login["client_token"]
                .as_str()
                .is_some_and(|t| t.starts_with("s.")),
            "{m}: {}",
            a[format!("{m}_login")]
        );
        let renewed = &a[format!("{m}_renew_self")]["auth"];
        assert_eq!(renewed["renewable"], true, "{m}: {renewed}");
        assert_eq!(renewed["accessor"], login["accessor"], "{m}");
        assert_eq!(
            a[format!("{m}_lookup_self")]["data"]["accessor"],
            login["accessor"],
            "{m}"
        );
    }
    assert_eq!(
        a["approle_login"]["auth"]["policies"],
        json!(["default", "shared", "web"])
    );
    assert_eq!(a["approle_login"]["auth"]["lease_duration"], 600);
    assert_eq!(
        a["approle_renew_self_increment"]["auth"]["lease_duration"],
        300
    );
    assert_eq!(a["userpass_login"]["auth"]["lease_duration"], 1200);
    assert_eq!(
        a["jwt_login"]["auth"]["metadata"],
        json!({"role": "ci", "repo": "org/app"})
    );
    assert_eq!(
        a["jwt_login_es512"]["auth"]["metadata"],
        json!({"role": "ci", "repo": "org/es512"})
    );
    assert_eq!(
        a["approle_read_secret_id_after_login"]["data"]["secret_id_num_uses"],
        4
    );
    assert_eq!(
        a["userpass_login_wrong_password"],
        a["userpass_login_unknown_user"]
    );

    // And the differential view.
    let mask = token_mask().mask(&[
        "request_id",
        "entity_id",
        "role_id",
        "secret_id",
        "secret_id_accessor",
        "/approle_list_secret_id_accessors/data/keys/*",
        "expiration_time",
        "last_updated_time",
    ]);
    // Deliberate (docs/compatibility.md): errors never quote request values.
    mask.assert_matches(
        "hvac auth script",
        &a,
        &b,
        &[(
            "/jwt_login_unknown_role/errors/0",
            "the error does not quote the role name",
        )],
    );
    assert_eq!(
        (
            &a["jwt_login_unknown_role"]["errors"],
            &b["jwt_login_unknown_role"]["errors"]
        ),
        (
            &json!(["role could not be found"]),
            &json!(["role \"nope\" could not be found"])
        )
    );
}
