//! `login`: every validation rule, with a passing and a failing case.

use std::time::Duration;

use serde_json::{Value, json};

use crate::keys::{TestKey, alg_none, b64url, hs256, shared_rsa};
use crate::provider::Provider;
use crate::{Env, T0, claims};

const ISSUER: &str = "https://issuer.example";

/// A mount trusting `pems`, with role `ci` (audience `arca`, user claim `email`).
async fn env_with(pems: Vec<String>, algs: Value, role: Value) -> Env {
    let env = Env::new();
    env.write_ok(
        "config",
        json!({"jwt_validation_pubkeys": pems, "bound_issuer": ISSUER, "jwt_supported_algs": algs}),
    )
    .await;
    let mut body = json!({
        "role_type": "jwt",
        "user_claim": "email",
        "bound_audiences": ["arca"],
        "token_policies": ["ci"],
        "token_ttl": "10m",
    });
    if let (Value::Object(b), Value::Object(extra)) = (&mut body, role) {
        b.extend(extra);
    }
    env.write_ok("role/ci", body).await;
    env
}

async fn rsa_env(role: Value) -> Env {
    env_with(vec![shared_rsa(0).public_pem()], json!([]), role).await
}

#[tokio::test]
async fn valid_token_logs_in_with_alias_metadata_and_token_settings() {
    let env = rsa_env(json!({"claim_mappings": {"sub": "subject", "/org/team": "team"}})).await;
    let token = shared_rsa(0).sign(&claims(json!({"org": {"team": "infra"}})));
    let auth = env.login("ci", &token).await.unwrap();
    assert_eq!(auth.client_token, "", "the core creates the token");
    assert_eq!(auth.display_name, "alice@example.com");
    let alias = auth.alias.as_ref().unwrap();
    assert_eq!(alias.name, "alice@example.com");
    assert_eq!(alias.metadata["role"], "ci");
    assert_eq!(alias.metadata["subject"], "user-1");
    assert_eq!(alias.metadata["team"], "infra");
    assert_eq!(auth.metadata, alias.metadata);
    assert_eq!(auth.policies, vec!["ci"]);
    assert_eq!(auth.ttl, Duration::from_secs(600));
    assert!(auth.renewable);
    assert_eq!(auth.internal_data["role"], "ci");

    // The token's renewal checks the role and applies its current TTL.
    let renewed = env
        .backend
        .renew_auth(
            &crate::req(arca_logical::Operation::Update, "login", json!({})),
            &auth,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renewed.auth.unwrap().ttl, Duration::from_secs(600));
    env.call(arca_logical::Operation::Delete, "role/ci", json!({}))
        .await
        .unwrap();
    assert!(
        env.backend
            .renew_auth(
                &crate::req(arca_logical::Operation::Update, "login", json!({})),
                &auth
            )
            .await
            .is_err()
    );
}

#[tokio::test]
async fn every_supported_algorithm_verifies() {
    let rsa = shared_rsa(0);
    let ec = TestKey::ec256("ec");
    let ec384 = TestKey::ec384("ec384");
    let ed = TestKey::ed25519("ed");
    let env = env_with(
        vec![
            rsa.public_pem(),
            ec.public_pem(),
            ec384.public_pem(),
            ed.public_pem(),
        ],
        json!([]),
        json!({}),
    )
    .await;
    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        let t = rsa.sign_alg(alg, &claims(json!({})));
        assert!(env.login("ci", &t).await.is_ok(), "{alg}");
    }
    for (k, name) in [(&ec, "ES256"), (&ec384, "ES384"), (&ed, "EdDSA")] {
        assert!(
            env.login("ci", &k.sign(&claims(json!({})))).await.is_ok(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn algorithm_rules() {
    let rsa = shared_rsa(0);
    let ec = TestKey::ec256("ec");
    let env = env_with(
        vec![rsa.public_pem(), ec.public_pem()],
        json!(["RS256"]),
        json!({}),
    )
    .await;
    const UNEXPECTED: &str = "error validating token: invalid algorithm (alg) header parameter: token signed with unexpected algorithm";

    assert!(env.login("ci", &rsa.sign(&claims(json!({})))).await.is_ok());
    // A configured key, but an algorithm outside jwt_supported_algs.
    assert_eq!(
        env.login("ci", &ec.sign(&claims(json!({}))))
            .await
            .unwrap_err(),
        UNEXPECTED
    );
    assert_eq!(
        env.login("ci", &rsa.sign_alg("PS256", &claims(json!({}))))
            .await
            .unwrap_err(),
        UNEXPECTED
    );
    // alg: none is never accepted.
    assert_eq!(
        env.login("ci", &alg_none(&claims(json!({}))))
            .await
            .unwrap_err(),
        UNEXPECTED
    );

    // Key confusion: HS256 keyed with the server's public key (PEM text or DER).
    let env = env_with(vec![rsa.public_pem()], json!([]), json!({})).await;
    for secret in [rsa.public_pem().into_bytes(), rsa.spki_der()] {
        let t = hs256(&secret, None, &claims(json!({})));
        assert_eq!(env.login("ci", &t).await.unwrap_err(), UNEXPECTED);
    }
    // A header that lies about the algorithm: RS256 label, PS256 signature.
    let good = rsa.sign_alg("PS256", &claims(json!({})));
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"RS256","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    assert!(
        env.login("ci", &forged)
            .await
            .unwrap_err()
            .contains("no known key successfully validated")
    );
}

#[tokio::test]
async fn signature_rules() {
    let env = rsa_env(json!({})).await;
    const BAD_SIG: &str = "error validating token: error verifying token signature: no known key successfully validated the token signature";
    // Another key.
    let t = shared_rsa(1).sign(&claims(json!({})));
    assert_eq!(env.login("ci", &t).await.unwrap_err(), BAD_SIG);
    // Tampered payload.
    let t = shared_rsa(0).sign(&claims(json!({})));
    let parts: Vec<&str> = t.split('.').collect();
    let evil = b64url(
        claims(json!({"email": "mallory@example.com"}))
            .to_string()
            .as_bytes(),
    );
    assert_eq!(
        env.login("ci", &format!("{}.{evil}.{}", parts[0], parts[2]))
            .await
            .unwrap_err(),
        BAD_SIG
    );
    // Garbage.
    assert_eq!(
        env.login("ci", "a.b").await.unwrap_err(),
        "error validating token: malformed token"
    );
    assert_eq!(env.login("ci", "").await.unwrap_err(), "missing token");
}

#[tokio::test]
async fn time_rules() {
    let env = rsa_env(json!({})).await;
    let k = shared_rsa(0);
    let login = |c: Value| {
        let t = k.sign(&c);
        let env = &env;
        async move { env.login("ci", &t).await }
    };
    assert_eq!(
        login(claims(json!({"exp": T0 - 61}))).await.unwrap_err(),
        "error validating token: invalid expiration time (exp) claim: token is expired"
    );
    // Within the default 60 s clock skew.
    assert!(login(claims(json!({"exp": T0 - 30}))).await.is_ok());
    assert_eq!(
        login(claims(json!({"nbf": T0 + 120}))).await.unwrap_err(),
        "error validating token: invalid not before (nbf) claim: token not yet valid"
    );
    assert_eq!(
        login(claims(json!({"iat": T0 + 120}))).await.unwrap_err(),
        "error validating token: invalid issued at (iat) claim: token issued in the future"
    );
    // Without nbf, iat stands in for it (cap's rule).
    assert_eq!(
        login(claims(json!({"iat": T0 + 120, "nbf": null})))
            .await
            .unwrap_err(),
        "error validating token: invalid not before (nbf) claim: token not yet valid"
    );
    assert_eq!(
        login(claims(json!({"iat": null, "nbf": null, "exp": null})))
            .await
            .unwrap_err(),
        "error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token"
    );
    // The mount's clock decides: move it past the expiry.
    let t = k.sign(&claims(json!({})));
    assert!(env.login("ci", &t).await.is_ok());
    env.clock.advance(Duration::from_secs(400));
    assert!(
        env.login("ci", &t)
            .await
            .unwrap_err()
            .contains("token is expired")
    );

    // clock_skew_leeway = -1 disables the skew.
    let strict = rsa_env(json!({"clock_skew_leeway": -1})).await;
    let t = k.sign(&claims(json!({"exp": T0 - 1})));
    assert!(
        strict
            .login("ci", &t)
            .await
            .unwrap_err()
            .contains("token is expired")
    );
}

#[tokio::test]
async fn issuer_subject_and_audience_rules() {
    let k = shared_rsa(0);
    let env = rsa_env(json!({"bound_subject": "user-1"})).await;
    assert!(env.login("ci", &k.sign(&claims(json!({})))).await.is_ok());
    assert_eq!(
        env.login(
            "ci",
            &k.sign(&claims(json!({"iss": "https://evil.example"})))
        )
        .await
        .unwrap_err(),
        "error validating token: invalid issuer (iss) claim"
    );
    assert_eq!(
        env.login("ci", &k.sign(&claims(json!({"sub": "user-2"}))))
            .await
            .unwrap_err(),
        "error validating token: invalid subject (sub) claim"
    );
    assert_eq!(
        env.login("ci", &k.sign(&claims(json!({"aud": "someone-else"}))))
            .await
            .unwrap_err(),
        "error validating token: invalid audience (aud) claim: audience claim does not match any expected audience"
    );
    // A list audience matches when any member does.
    assert!(
        env.login("ci", &k.sign(&claims(json!({"aud": ["x", "arca"]}))))
            .await
            .is_ok()
    );

    // An audience in the token but none bound on the role.
    let env = env_with(
        vec![k.public_pem()],
        json!([]),
        json!({"bound_audiences": [], "bound_subject": "user-1"}),
    )
    .await;
    assert_eq!(
        env.login("ci", &k.sign(&claims(json!({}))))
            .await
            .unwrap_err(),
        "audience claim found in JWT but no audiences bound to the role"
    );
    assert!(
        env.login("ci", &k.sign(&claims(json!({"aud": null}))))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn bound_claims_exact_list_and_glob() {
    let k = shared_rsa(0);
    let env = rsa_env(json!({"bound_claims": {"repo": ["a/one", "a/two"], "env": "prod"}})).await;
    assert!(
        env.login(
            "ci",
            &k.sign(&claims(json!({"repo": "a/two", "env": "prod"})))
        )
        .await
        .is_ok()
    );
    assert_eq!(
        env.login(
            "ci",
            &k.sign(&claims(json!({"repo": "a/three", "env": "prod"})))
        )
        .await
        .unwrap_err(),
        "error validating claims: claim \"repo\" does not match any associated bound claim values"
    );
    assert_eq!(
        env.login("ci", &k.sign(&claims(json!({"repo": "a/one"}))))
            .await
            .unwrap_err(),
        "error validating claims: claim \"env\" is missing"
    );
    // A glob pattern is a literal in string mode.
    let env = rsa_env(json!({"bound_claims": {"repo": "a/*"}})).await;
    assert!(
        env.login("ci", &k.sign(&claims(json!({"repo": "a/one"}))))
            .await
            .is_err()
    );
    assert!(
        env.login("ci", &k.sign(&claims(json!({"repo": "a/*"}))))
            .await
            .is_ok()
    );

    let env = rsa_env(json!({
        "bound_claims_type": "glob",
        "bound_claims": {"repo": ["a/*", "b/exact"], "/ctx/ref": "refs/heads/*"},
    }))
    .await;
    let ok = claims(json!({"repo": "a/one", "ctx": {"ref": "refs/heads/main"}}));
    assert!(env.login("ci", &k.sign(&ok)).await.is_ok());
    let ok = claims(json!({"repo": "b/exact", "ctx": {"ref": "refs/heads/x"}}));
    assert!(env.login("ci", &k.sign(&ok)).await.is_ok());
    let bad = claims(json!({"repo": "c/one", "ctx": {"ref": "refs/heads/main"}}));
    assert!(
        env.login("ci", &k.sign(&bad))
            .await
            .unwrap_err()
            .contains("\"repo\" does not match")
    );
    let bad = claims(json!({"repo": "a/one", "ctx": {"ref": "refs/tags/v1"}}));
    assert!(
        env.login("ci", &k.sign(&bad))
            .await
            .unwrap_err()
            .contains("\"/ctx/ref\" does not match")
    );
    // A list claim matches when any element matches.
    let env =
        rsa_env(json!({"bound_claims_type": "glob", "bound_claims": {"groups": "dev-*"}})).await;
    assert!(
        env.login(
            "ci",
            &k.sign(&claims(json!({"groups": ["ops", "dev-team"]})))
        )
        .await
        .is_ok()
    );
    assert!(
        env.login("ci", &k.sign(&claims(json!({"groups": ["ops"]}))))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn user_claim_rules() {
    let k = shared_rsa(0);
    let env = rsa_env(json!({})).await;
    assert_eq!(
        env.login("ci", &k.sign(&claims(json!({"email": null}))))
            .await
            .unwrap_err(),
        "claim \"email\" not found in token"
    );
    assert_eq!(
        env.login("ci", &k.sign(&claims(json!({"email": 42}))))
            .await
            .unwrap_err(),
        "claim \"email\" could not be converted to string"
    );
    let env = rsa_env(json!({"user_claim": "/user/name", "user_claim_json_pointer": true})).await;
    let a = env
        .login("ci", &k.sign(&claims(json!({"user": {"name": "bob"}}))))
        .await
        .unwrap();
    assert_eq!(a.alias.unwrap().name, "bob");
    // Without the flag a leading slash is a plain claim name.
    let env = rsa_env(json!({"user_claim": "/user/name"})).await;
    assert!(
        env.login("ci", &k.sign(&claims(json!({"user": {"name": "bob"}}))))
            .await
            .is_err()
    );

    // Claim mappings must map strings; groups must exist when configured.
    let env = rsa_env(json!({"claim_mappings": {"n": "number"}})).await;
    assert_eq!(
        env.login("ci", &k.sign(&claims(json!({"n": 7}))))
            .await
            .unwrap_err(),
        "error converting claim 'n' to string"
    );
    let env = rsa_env(json!({"groups_claim": "groups"})).await;
    assert!(
        env.login("ci", &k.sign(&claims(json!({}))))
            .await
            .unwrap_err()
            .contains("\"groups\" claim not found")
    );
    let a = env
        .login(
            "ci",
            &k.sign(&claims(json!({"groups": ["dev", "", "ops"]}))),
        )
        .await
        .unwrap();
    let groups: Vec<&str> = a.group_aliases.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["dev", "ops"]);
}

#[tokio::test]
async fn roles_default_role_and_cidrs() {
    let k = shared_rsa(0);
    let t = k.sign(&claims(json!({})));
    let env = rsa_env(json!({})).await;
    assert_eq!(env.login("", &t).await.unwrap_err(), "missing role");
    assert_eq!(
        env.login("nope", &t).await.unwrap_err(),
        "role could not be found"
    );
    assert!(
        env.login("CI", &t).await.is_ok(),
        "role names are case-insensitive"
    );
    env.write_ok(
        "config",
        json!({"jwt_validation_pubkeys": [k.public_pem()], "default_role": "ci"}),
    )
    .await;
    assert!(env.login("", &t).await.is_ok());

    // An OIDC role cannot be used for a JWT login.
    env.write_ok(
        "role/people",
        json!({"user_claim": "email", "allowed_redirect_uris": "http://localhost:8250/oidc/callback"}),
    )
    .await;
    assert_eq!(
        env.login("people", &t).await.unwrap_err(),
        "role with oidc role_type is not allowed"
    );

    let env = rsa_env(json!({"token_bound_cidrs": "10.0.0.0/8"})).await;
    assert_eq!(
        env.login_from("ci", &t, Some("192.0.2.1:4000"))
            .await
            .unwrap_err(),
        "permission denied"
    );
    assert_eq!(
        env.login_from("ci", &t, None).await.unwrap_err(),
        "permission denied"
    );
    let a = env
        .login_from("ci", &t, Some("10.1.2.3:4000"))
        .await
        .unwrap();
    assert_eq!(a.bound_cidrs, vec!["10.0.0.0/8"]);
}

#[tokio::test]
async fn jwks_url_selects_by_kid_and_refetches_once_for_an_unknown_kid() {
    let provider = Provider::start("", false, T0).await;
    let k0 = shared_rsa(0);
    let k1 = shared_rsa(1);
    let ec = TestKey::ec256("ec-1");
    provider.set_jwks(&[&k0, &ec]);
    let env = Env::new();
    env.write_ok("config", json!({"jwks_url": provider.jwks_url()}))
        .await;
    env.write_ok(
        "role/ci",
        json!({"role_type": "jwt", "user_claim": "email", "bound_audiences": "arca"}),
    )
    .await;
    let config_hits = provider.hits();
    assert_eq!(config_hits, 1, "the config write checked the URL");

    assert!(env.login("ci", &k0.sign(&claims(json!({})))).await.is_ok());
    assert!(env.login("ci", &ec.sign(&claims(json!({})))).await.is_ok());
    assert_eq!(
        provider.hits(),
        config_hits + 1,
        "one fetch, then the cache"
    );

    // The issuer rotates to k1. A token naming the new kid makes Arca look again, once.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    provider.set_jwks(&[&k0, &k1]);
    assert!(env.login("ci", &k1.sign(&claims(json!({})))).await.is_ok());
    assert_eq!(provider.hits(), config_hits + 2);
    assert!(env.login("ci", &k1.sign(&claims(json!({})))).await.is_ok());
    assert_eq!(provider.hits(), config_hits + 2, "known kid: no refetch");

    // An unknown kid right after a fetch does not reach the network again.
    let stranger = TestKey::ec256("unknown-kid");
    let err = env
        .login("ci", &stranger.sign(&claims(json!({}))))
        .await
        .unwrap_err();
    assert!(err.contains("no known key successfully validated"), "{err}");
    assert_eq!(provider.hits(), config_hits + 2);

    // A known kid with a bad signature never triggers a refetch.
    let forged = TestKey::ec256("rsa-0").sign(&claims(json!({})));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(env.login("ci", &forged).await.is_err());
    assert_eq!(provider.hits(), config_hits + 2);

    // The kid selects the key: k0's signature under k1's kid does not verify.
    let mislabelled = k0.sign_header(&json!({"alg": "RS256", "kid": "rsa-1"}), &claims(json!({})));
    assert!(env.login("ci", &mislabelled).await.is_err());
}

#[tokio::test]
async fn jwks_symmetric_and_pinned_algorithm_keys_are_not_used() {
    let provider = Provider::start("", false, T0).await;
    let k0 = shared_rsa(0);
    let mut rsa_jwk = k0.jwk();
    rsa_jwk["alg"] = json!("RS256");
    let secret = b"shared-secret-bytes";
    *provider.state.jwks.lock().unwrap() = json!({"keys": [
        rsa_jwk,
        {"kty": "oct", "kid": "hmac", "k": b64url(secret)},
    ]});
    let env = Env::new();
    env.write_ok("config", json!({"jwks_url": provider.jwks_url()}))
        .await;
    env.write_ok(
        "role/ci",
        json!({"role_type": "jwt", "user_claim": "email", "bound_audiences": "arca"}),
    )
    .await;
    assert!(env.login("ci", &k0.sign(&claims(json!({})))).await.is_ok());
    // The JWK pins RS256: a PS256 signature by the same key is refused.
    assert!(
        env.login("ci", &k0.sign_alg("PS256", &claims(json!({}))))
            .await
            .is_err()
    );
    // An HS256 token keyed with the published oct key is refused.
    let t = hs256(secret, Some("hmac"), &claims(json!({})));
    assert!(
        env.login("ci", &t)
            .await
            .unwrap_err()
            .contains("unexpected algorithm")
    );
}
