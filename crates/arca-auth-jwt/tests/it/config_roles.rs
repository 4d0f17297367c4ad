//! `config` and `role/<name>`: validation, reads, lists, deletes.

use arca_logical::Operation;
use serde_json::json;

use crate::Env;
use crate::keys::shared_rsa;

#[tokio::test]
async fn config_needs_exactly_one_key_source() {
    let env = Env::new();
    let pem = shared_rsa(0).public_pem();
    let e = env.fails(Operation::Update, "config", json!({})).await;
    assert_eq!(
        e.message,
        "exactly one of 'jwt_validation_pubkeys', 'jwks_url', or 'oidc_discovery_url' must be set"
    );
    let e = env
        .fails(
            Operation::Update,
            "config",
            json!({"jwt_validation_pubkeys": [pem], "jwks_url": "http://127.0.0.1:1/keys"}),
        )
        .await;
    assert!(e.message.starts_with("exactly one of"), "{e:?}");
    // Reading before any write: nothing.
    assert!(
        env.call(Operation::Read, "config", json!({}))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn config_validates_keys_algorithms_and_flows() {
    let env = Env::new();
    let pem = shared_rsa(0).public_pem();
    let e = env
        .fails(
            Operation::Update,
            "config",
            json!({"jwt_validation_pubkeys": ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"]}),
        )
        .await;
    assert!(e.message.starts_with("error parsing public key"), "{e:?}");
    let e = env
        .fails(
            Operation::Update,
            "config",
            json!({"jwt_validation_pubkeys": ["not pem"]}),
        )
        .await;
    assert!(e.message.starts_with("error parsing public key"), "{e:?}");
    for bad in ["HS256", "none", "HS512", "rs256"] {
        let e = env
            .fails(
                Operation::Update,
                "config",
                json!({"jwt_validation_pubkeys": [pem.clone()], "jwt_supported_algs": [bad]}),
            )
            .await;
        assert!(
            e.message.starts_with("invalid jwt_supported_algs"),
            "{bad}: {e:?}"
        );
        assert!(!e.message.contains(bad) || bad == "none", "no echo");
    }
    let e = env
        .fails(
            Operation::Update,
            "config",
            json!({"jwt_validation_pubkeys": [pem.clone()], "oidc_client_id": "x", "oidc_client_secret": "y"}),
        )
        .await;
    assert_eq!(e.message, "'oidc_discovery_url' must be set for OIDC");
    let e = env
        .fails(
            Operation::Update,
            "config",
            json!({"oidc_discovery_url": "https://x/.well-known/openid-configuration"}),
        )
        .await;
    assert_eq!(
        e.message,
        "'oidc_discovery_url' contains '.well-known' component"
    );
    let e = env
        .fails(
            Operation::Update,
            "config",
            json!({"jwt_validation_pubkeys": [pem.clone()], "oidc_response_types": ["id_token"]}),
        )
        .await;
    assert!(e.message.contains("not supported"), "{e:?}");
    let e = env
        .fails(
            Operation::Update,
            "config",
            json!({"jwt_validation_pubkeys": [pem.clone()], "provider_config": {"provider": "azure"}}),
        )
        .await;
    assert!(e.message.contains("provider_config"), "{e:?}");
    // A JWKS URL that cannot be reached: refused, or a warning with skip_jwks_validation.
    let e = env
        .fails(
            Operation::Update,
            "config",
            json!({"jwks_url": "http://127.0.0.1:9/keys"}),
        )
        .await;
    assert_eq!(e.message, "error checking jwks URL");
    let r = env
        .write_ok(
            "config",
            json!({"jwks_url": "http://127.0.0.1:9/keys", "skip_jwks_validation": true}),
        )
        .await
        .unwrap();
    assert_eq!(r.warnings, vec!["error checking jwks URL"]);
}

#[tokio::test]
async fn config_read_never_shows_the_client_secret() {
    let env = Env::new();
    let pem = shared_rsa(0).public_pem();
    assert!(
        env.write_ok(
            "config",
            json!({"jwt_validation_pubkeys": pem, "bound_issuer": "https://issuer.example",
                   "jwt_supported_algs": "RS256,ES256", "default_role": "CI"}),
        )
        .await
        .is_none()
    );
    let d = env.read_ok("config").await;
    assert_eq!(d["status"], "valid");
    assert_eq!(d["jwt_validation_pubkeys"], json!([pem.trim_end()]));
    assert_eq!(d["jwt_supported_algs"], json!(["RS256", "ES256"]));
    assert_eq!(d["bound_issuer"], "https://issuer.example");
    assert_eq!(d["default_role"], "ci");
    assert_eq!(d["namespace_in_state"], true);
    assert_eq!(d["provider_config"], json!({}));
    assert!(!d.contains_key("oidc_client_secret"));
    // Certificates are accepted as keys too.
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["signer".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    assert!(
        env.write_ok("config", json!({"jwt_validation_pubkeys": [cert.pem()]}))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn role_validation_messages() {
    let env = Env::new();
    let cases = [
        (
            json!({"role_type": "jwt", "bound_audiences": "a"}),
            "a user claim must be defined on the role",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub"}),
            "must have at least one bound constraint when creating/updating a role",
        ),
        (
            json!({"user_claim": "sub"}),
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
        ),
        (
            json!({"role_type": "saml", "user_claim": "sub"}),
            "invalid 'role_type'",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "bound_claims_type": "regex"}),
            "invalid 'bound_claims_type'",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_claims_type": "glob", "bound_claims": {"n": 1}}),
            "claim is not a string or list of strings",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_claims": {"n": {"deep": 1}}}),
            "claim is not a string, bool, number or list",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "claim_mappings": {"a": "role"}}),
            "metadata key \"role\" is reserved and may not be a mapping destination",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "claim_mappings": {"a": "x", "b": "x"}}),
            "multiple keys are mapped to the same metadata key",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "callback_mode": "push"}),
            "invalid 'callback_mode'",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "oauth2_metadata": "password"}),
            "Unrecognized oauth2 metadata name",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "token_policies_template_claims": true}),
            "'token_policies_template_claims' is not supported",
        ),
        (
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x", "token_ttl": 100, "token_max_ttl": 10}),
            "'token_ttl' cannot be greater than 'token_max_ttl'",
        ),
    ];
    for (body, msg) in cases {
        let e = env.fails(Operation::Update, "role/r", body.clone()).await;
        assert_eq!(e.message, msg, "{body}");
    }
}

#[tokio::test]
async fn role_round_trip_list_and_delete() {
    let env = Env::new();
    let r = env
        .write_ok(
            "role/CI",
            json!({
                "role_type": "jwt",
                "user_claim": "sub",
                "bound_audiences": "arca,other",
                "bound_claims_type": "glob",
                "bound_claims": "{\"repository\": [\"octo-org/*\"]}",
                "claim_mappings": "repository=repo,ref=git_ref",
                "expiration_leeway": -1,
                "clock_skew_leeway": "1m",
                "token_policies": "ci,deploy",
                "ttl": "1h",
                "unknown_field": 1,
            }),
        )
        .await
        .unwrap();
    assert_eq!(
        r.warnings,
        vec!["Endpoint ignored these unrecognized parameters: [unknown_field]"]
    );
    let d = env.read_ok("role/ci").await;
    assert_eq!(d["role_type"], "jwt");
    assert_eq!(d["user_claim"], "sub");
    assert_eq!(d["bound_audiences"], json!(["arca", "other"]));
    assert_eq!(d["bound_claims_type"], "glob");
    assert_eq!(d["bound_claims"], json!({"repository": ["octo-org/*"]}));
    assert_eq!(
        d["claim_mappings"],
        json!({"repository": "repo", "ref": "git_ref"})
    );
    assert_eq!(d["expiration_leeway"], -1);
    assert_eq!(d["not_before_leeway"], 0);
    assert_eq!(d["clock_skew_leeway"], 60);
    assert_eq!(d["token_policies"], json!(["ci", "deploy"]));
    assert_eq!(d["token_ttl"], 3600);
    assert_eq!(d["ttl"], 3600);
    assert_eq!(d["callback_mode"], "client");
    assert_eq!(d["oidc_scopes"], json!(null));
    assert_eq!(d["token_type"], "default");

    // Existence check distinguishes create from update.
    let mut req = crate::req(Operation::Update, "role/ci", json!({}));
    assert_eq!(env.backend.exists(&req).await.unwrap(), Some(true));
    req.path = "role/nope".into();
    assert_eq!(env.backend.exists(&req).await.unwrap(), Some(false));

    let list = env
        .call(Operation::List, "role/", json!({}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(list.data.unwrap()["keys"], json!(["ci"]));
    env.call(Operation::Delete, "role/ci", json!({}))
        .await
        .unwrap();
    assert!(
        env.call(Operation::Read, "role/ci", json!({}))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        env.call(Operation::List, "role/", json!({}))
            .await
            .unwrap()
            .is_none()
    );
    // Unknown paths and operations.
    assert_eq!(
        env.fails(Operation::Read, "nope", json!({})).await.message,
        "unsupported path"
    );
    assert_eq!(
        env.fails(Operation::Delete, "config", json!({}))
            .await
            .message,
        "unsupported operation"
    );
}

#[tokio::test]
async fn login_paths_are_unauthenticated() {
    let env = Env::new();
    let sp = env.backend.special_paths();
    for p in ["login", "oidc/auth_url", "oidc/callback"] {
        assert!(sp.is_unauthenticated(p), "{p}");
    }
    assert!(!sp.is_unauthenticated("config"));
    assert!(!sp.is_unauthenticated("role/x"));
}
