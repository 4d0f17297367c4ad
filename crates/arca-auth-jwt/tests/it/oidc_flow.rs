//! The browser flow against the local provider: `oidc/auth_url` → the provider's
//! authorize endpoint (which redirects with a code) → `oidc/callback`, where Arca
//! exchanges the code with its PKCE verifier and checks the ID token and its nonce.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use arca_logical::{Auth, Operation};
use serde_json::{Value, json};

use crate::keys::shared_rsa;
use crate::provider::Provider;
use crate::{Env, T0};

const REDIRECT: &str = "http://localhost:8250/oidc/callback";

async fn setup() -> (Env, Provider) {
    let p = Provider::start("", false, T0).await;
    let key = shared_rsa(0);
    p.set_jwks(&[&key]);
    *p.state.signer.lock().unwrap() = Some(key);
    *p.state.id_claims.lock().unwrap() = json!({"email": "alice@example.com", "groups": ["eng"]});
    let env = Env::with_type(arca_auth_jwt::JwtFactory::OIDC);
    env.write_ok(
        "config",
        json!({
            "oidc_discovery_url": p.issuer,
            "oidc_client_id": p.state.client_id,
            "oidc_client_secret": p.state.client_secret,
            "default_role": "people",
        }),
    )
    .await;
    env.write_ok(
        "role/people",
        json!({
            "user_claim": "email",
            "allowed_redirect_uris": [REDIRECT],
            "oidc_scopes": "profile,email",
            "bound_claims": {"groups": "eng"},
            "claim_mappings": {"email": "email"},
            "oauth2_metadata": "id_token",
            "token_policies": "people",
        }),
    )
    .await;
    (env, p)
}

async fn auth_url(env: &Env, body: Value) -> String {
    let r = env
        .call(Operation::Update, "oidc/auth_url", body)
        .await
        .unwrap()
        .unwrap();
    r.data.unwrap()["auth_url"].as_str().unwrap().to_owned()
}

fn query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Follows the authorize URL like a browser would and returns the callback's query.
async fn authorize(url: &str) -> HashMap<String, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = client.get(url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302, "{:?}", resp.text().await);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://localhost:"), "{location}");
    query(&location)
}

async fn callback(env: &Env, q: &HashMap<String, String>) -> Result<Auth, String> {
    let data = serde_json::to_value(q).unwrap();
    match env.call(Operation::Read, "oidc/callback", data).await {
        Ok(Some(r)) => Ok(r.auth.unwrap()),
        Ok(None) => panic!("no response"),
        Err(e) => Err(e.message),
    }
}

#[tokio::test]
async fn code_flow_with_pkce_state_and_nonce() {
    let (env, p) = setup().await;
    // A native client listening on another loopback port is allowed.
    let url = auth_url(
        &env,
        json!({"role": "people", "redirect_uri": "http://localhost:51234/oidc/callback"}),
    )
    .await;
    assert!(url.starts_with(&format!("{}/authorize?", p.base)), "{url}");
    let q = query(&url);
    assert_eq!(q["client_id"], "arca-client");
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid profile email");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["redirect_uri"], "http://localhost:51234/oidc/callback");
    assert!(q["state"].len() >= 32 && q["nonce"].len() >= 32);
    assert_eq!(q["code_challenge"].len(), 43, "base64url SHA-256");

    let back = authorize(&url).await;
    assert_eq!(back["state"], q["state"]);
    let auth = callback(&env, &back).await.unwrap();
    assert_eq!(auth.alias.as_ref().unwrap().name, "alice@example.com");
    assert_eq!(auth.metadata["role"], "people");
    assert_eq!(auth.metadata["email"], "alice@example.com");
    assert!(auth.metadata["oauth2_id_token"].starts_with("ey"));
    assert_eq!(auth.policies, vec!["people"]);

    // What the provider received: the verifier matching the challenge (checked there),
    // the redirect URI, and the client secret in Basic authentication only.
    let sent = p.state.token_requests.lock().unwrap()[0].clone();
    assert_eq!(sent["grant_type"], "authorization_code");
    assert_eq!(sent["redirect_uri"], "http://localhost:51234/oidc/callback");
    assert!(sent["code_verifier"].len() >= 43);
    assert!(!sent.contains_key("client_secret"));

    // The state is single-use.
    assert_eq!(
        callback(&env, &back).await.unwrap_err(),
        "Login failed. Expired or missing OAuth state."
    );
}

#[tokio::test]
async fn flow_failures() {
    let (env, p) = setup().await;

    // A redirect URI outside the role's list gets an empty URL, as in Vault.
    assert_eq!(
        auth_url(&env, json!({"redirect_uri": "https://evil.example/cb"})).await,
        ""
    );
    let e = env
        .fails(
            Operation::Update,
            "oidc/auth_url",
            json!({"role": "people"}),
        )
        .await;
    assert_eq!(e.message, "missing redirect_uri");

    // Unknown state.
    let mut q = HashMap::new();
    q.insert("state".to_owned(), "made-up".to_owned());
    q.insert("code".to_owned(), "code-1".to_owned());
    assert!(
        callback(&env, &q)
            .await
            .unwrap_err()
            .contains("Expired or missing OAuth state")
    );

    // A state older than ten minutes.
    let url = auth_url(&env, json!({"redirect_uri": REDIRECT})).await;
    let back = authorize(&url).await;
    env.clock.advance(Duration::from_secs(601));
    assert!(
        callback(&env, &back)
            .await
            .unwrap_err()
            .contains("Expired or missing OAuth state")
    );

    // The ID token carries another nonce (replayed or injected).
    let (env, p2) = setup().await;
    p2.state.tamper_nonce.store(true, Ordering::SeqCst);
    let back = authorize(&auth_url(&env, json!({"redirect_uri": REDIRECT})).await).await;
    assert_eq!(
        callback(&env, &back).await.unwrap_err(),
        "Login failed. invalid ID token nonce."
    );
    p2.state.tamper_nonce.store(false, Ordering::SeqCst);

    // A code the provider does not know (or a verifier it rejects) fails the exchange.
    let url = auth_url(&env, json!({"redirect_uri": REDIRECT})).await;
    let mut back = authorize(&url).await;
    back.insert("code".into(), "code-999".into());
    let err = callback(&env, &back).await.unwrap_err();
    assert!(
        err.starts_with("Login failed. Error exchanging oidc code"),
        "{err}"
    );

    // The provider reports an error instead of a code.
    let url = auth_url(&env, json!({"redirect_uri": REDIRECT})).await;
    let mut q = HashMap::new();
    q.insert("state".to_owned(), query(&url)["state"].clone());
    q.insert("error".to_owned(), "access_denied".to_owned());
    assert_eq!(
        callback(&env, &q).await.unwrap_err(),
        "Login failed. access_denied"
    );

    // client_nonce must come back unchanged.
    let url = auth_url(
        &env,
        json!({"redirect_uri": REDIRECT, "client_nonce": "abc"}),
    )
    .await;
    let mut back = authorize(&url).await;
    back.insert("client_nonce".into(), "xyz".into());
    assert_eq!(
        callback(&env, &back).await.unwrap_err(),
        "invalid client_nonce"
    );

    // Bound claims apply to ID tokens too.
    *p2.state.id_claims.lock().unwrap() = json!({"email": "bob@example.com", "groups": ["sales"]});
    let back = authorize(&auth_url(&env, json!({"redirect_uri": REDIRECT})).await).await;
    assert!(
        callback(&env, &back)
            .await
            .unwrap_err()
            .contains("\"groups\" does not match")
    );

    // An ID token signed by a key the provider does not publish.
    *p2.state.signer.lock().unwrap() = Some(shared_rsa(1));
    *p2.state.id_claims.lock().unwrap() = json!({"email": "alice@example.com", "groups": ["eng"]});
    let back = authorize(&auth_url(&env, json!({"redirect_uri": REDIRECT})).await).await;
    let err = callback(&env, &back).await.unwrap_err();
    assert!(err.starts_with("Token verification failed."), "{err}");

    // An OIDC role cannot log in with a bare JWT, and a JWT-only mount has no flow.
    let t = shared_rsa(0).sign(&crate::claims(json!({})));
    assert_eq!(
        env.login("people", &t).await.unwrap_err(),
        "role with oidc role_type is not allowed"
    );
    drop(p);
    let jwt_only = Env::new();
    jwt_only
        .write_ok(
            "config",
            json!({"jwt_validation_pubkeys": [shared_rsa(0).public_pem()]}),
        )
        .await;
    let e = jwt_only
        .fails(
            Operation::Update,
            "oidc/auth_url",
            json!({"redirect_uri": REDIRECT}),
        )
        .await;
    assert_eq!(e.message, "OIDC login is not configured for this mount");
}
