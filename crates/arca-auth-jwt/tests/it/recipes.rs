//! The recipes of `docs/auth-recipes.md`, run against local stand-ins for the issuers:
//! tokens have the claim shapes GitHub Actions, CircleCI and Kubernetes issue, signed by a
//! local key whose JWKS and discovery document a local server publishes.

use serde_json::{Value, json};

use crate::keys::shared_rsa;
use crate::provider::Provider;
use crate::{Env, T0};

fn merge(mut base: Value, extra: Value) -> Value {
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        b.extend(e);
    }
    base
}

/// A GitHub Actions OIDC token for a push to `main` of `octo-org/octo-repo`.
fn github_claims(issuer: &str, extra: Value) -> Value {
    merge(
        json!({
            "jti": "example-id",
            "iss": issuer,
            "aud": "https://github.com/octo-org",
            "sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
            "ref": "refs/heads/main",
            "ref_type": "branch",
            "ref_protected": "true",
            "sha": "example-sha",
            "repository": "octo-org/octo-repo",
            "repository_id": "74",
            "repository_owner": "octo-org",
            "repository_owner_id": "65",
            "repository_visibility": "private",
            "run_id": "5555",
            "run_number": "1",
            "run_attempt": "1",
            "actor": "octocat",
            "actor_id": "12",
            "workflow": "deploy",
            "workflow_ref": "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
            "job_workflow_ref": "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
            "event_name": "push",
            "environment": "production",
            "runner_environment": "github-hosted",
            "nbf": T0 - 60,
            "iat": T0 - 5,
            "exp": T0 + 300,
        }),
        extra,
    )
}

#[tokio::test]
async fn github_actions_recipe() {
    let gh = Provider::start("", false, T0).await;
    let key = shared_rsa(0);
    gh.set_jwks(&[&key]);
    let env = Env::new();
    // bao write auth/jwt/config oidc_discovery_url=https://token.actions.githubusercontent.com \
    //     bound_issuer=https://token.actions.githubusercontent.com
    assert!(
        env.write_ok(
            "config",
            json!({"oidc_discovery_url": gh.issuer, "bound_issuer": gh.issuer}),
        )
        .await
        .is_none()
    );
    env.write_ok(
        "role/deploy",
        json!({
            "role_type": "jwt",
            "user_claim": "repository",
            "bound_audiences": "https://github.com/octo-org",
            "bound_claims_type": "glob",
            "bound_claims": {
                "repository": "octo-org/octo-repo",
                "ref": ["refs/heads/main", "refs/tags/v*"],
                "environment": "production",
            },
            "claim_mappings": {
                "repository": "repository",
                "ref": "ref",
                "sha": "sha",
                "actor": "actor",
                "workflow": "workflow",
                "run_id": "run_id",
            },
            "token_policies": "deploy",
            "token_ttl": "10m",
        }),
    )
    .await;

    let auth = env
        .login("deploy", &key.sign(&github_claims(&gh.issuer, json!({}))))
        .await
        .unwrap();
    assert_eq!(auth.alias.as_ref().unwrap().name, "octo-org/octo-repo");
    assert_eq!(auth.metadata["actor"], "octocat");
    assert_eq!(auth.metadata["ref"], "refs/heads/main");
    assert_eq!(auth.metadata["role"], "deploy");
    assert_eq!(auth.policies, vec!["deploy"]);
    // A release tag matches the glob.
    let tag = github_claims(
        &gh.issuer,
        json!({"ref": "refs/tags/v1.2.0", "ref_type": "tag"}),
    );
    assert!(env.login("deploy", &key.sign(&tag)).await.is_ok());

    // A pull request, another repository, a fork's audience, another environment: refused.
    for (extra, why) in [
        (
            json!({"ref": "refs/pull/7/merge"}),
            "\"ref\" does not match",
        ),
        (
            json!({"repository": "evil-org/octo-repo"}),
            "\"repository\" does not match",
        ),
        (
            json!({"aud": "https://github.com/evil-org"}),
            "invalid audience",
        ),
        (
            json!({"environment": "staging"}),
            "\"environment\" does not match",
        ),
        (
            json!({"iss": "https://token.actions.example"}),
            "invalid issuer",
        ),
    ] {
        let t = key.sign(&github_claims(&gh.issuer, extra.clone()));
        let err = env.login("deploy", &t).await.unwrap_err();
        assert!(err.contains(why), "{extra}: {err}");
    }
    // A token from someone else's key, even with the right claims.
    let err = env
        .login(
            "deploy",
            &shared_rsa(1).sign(&github_claims(&gh.issuer, json!({}))),
        )
        .await
        .unwrap_err();
    assert!(err.contains("no known key"), "{err}");
}

const ORG: &str = "c1a5e0f4-0000-4000-8000-00000000c1c1";
const PROJECT: &str = "9d0c6f4e-0000-4000-8000-000000000007";
const CTX_PROD: &str = "4b9e6f1a-0000-4000-8000-0000000000aa";

fn circleci_claims(issuer: &str, extra: Value) -> Value {
    merge(
        json!({
            "iss": issuer,
            "sub": format!("org/{ORG}/project/{PROJECT}/user/0000-user"),
            "aud": ORG,
            "iat": T0 - 5,
            "exp": T0 + 3600,
            "oidc.circleci.com/project-id": PROJECT,
            "oidc.circleci.com/context-ids": [CTX_PROD],
            "oidc.circleci.com/vcs-origin": "github.com/octo-org/octo-repo",
            "oidc.circleci.com/vcs-ref": "refs/heads/main",
            "oidc.circleci.com/ssh-rerun": false,
        }),
        extra,
    )
}

#[tokio::test]
async fn circleci_recipe() {
    // CircleCI's issuer is per organisation: https://oidc.circleci.com/org/<org-id>.
    let circle = Provider::start(&format!("/org/{ORG}"), false, T0).await;
    let key = shared_rsa(0);
    circle.set_jwks(&[&key]);
    let env = Env::new();
    env.write_ok(
        "config",
        json!({"oidc_discovery_url": circle.issuer, "bound_issuer": circle.issuer}),
    )
    .await;
    env.write_ok(
        "role/circleci-deploy",
        json!({
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": ORG,
            "bound_claims": {
                "oidc.circleci.com/project-id": PROJECT,
                "oidc.circleci.com/context-ids": CTX_PROD,
                "oidc.circleci.com/vcs-ref": "refs/heads/main",
                "oidc.circleci.com/ssh-rerun": false,
            },
            "claim_mappings": {
                "oidc.circleci.com/project-id": "project_id",
                "oidc.circleci.com/vcs-origin": "vcs_origin",
            },
            "token_policies": "deploy",
        }),
    )
    .await;
    let auth = env
        .login(
            "circleci-deploy",
            &key.sign(&circleci_claims(&circle.issuer, json!({}))),
        )
        .await
        .unwrap();
    assert_eq!(
        auth.alias.unwrap().name,
        format!("org/{ORG}/project/{PROJECT}/user/0000-user")
    );
    assert_eq!(auth.metadata["project_id"], PROJECT);
    assert_eq!(auth.metadata["vcs_origin"], "github.com/octo-org/octo-repo");

    for (extra, why) in [
        (
            json!({"oidc.circleci.com/project-id": "other-project"}),
            "project-id",
        ),
        (json!({"oidc.circleci.com/context-ids": []}), "context-ids"),
        (
            json!({"oidc.circleci.com/vcs-ref": "refs/heads/feature"}),
            "vcs-ref",
        ),
        // A job re-run with SSH: someone could have changed it interactively.
        (json!({"oidc.circleci.com/ssh-rerun": true}), "ssh-rerun"),
        (json!({"aud": "another-org"}), "invalid audience"),
    ] {
        let t = key.sign(&circleci_claims(&circle.issuer, extra.clone()));
        let err = env.login("circleci-deploy", &t).await.unwrap_err();
        assert!(err.contains(why), "{extra}: {err}");
    }
}

fn k8s_claims(issuer: &str, namespace: &str, sa: &str, extra: Value) -> Value {
    merge(
        json!({
            "aud": ["arca"],
            "exp": T0 + 3600,
            "iat": T0 - 5,
            "nbf": T0 - 5,
            "iss": issuer,
            "jti": "0b7e-jti",
            "kubernetes.io": {
                "namespace": namespace,
                "node": {"name": "node-1", "uid": "node-uid"},
                "pod": {"name": format!("{sa}-7d9f"), "uid": "pod-uid"},
                "serviceaccount": {"name": sa, "uid": "sa-uid"},
            },
            "sub": format!("system:serviceaccount:{namespace}:{sa}"),
        }),
        extra,
    )
}

#[tokio::test]
async fn kubernetes_projected_token_recipe() {
    // The API server publishes its issuer's discovery document and JWKS over TLS signed by
    // the cluster CA.
    let cluster = Provider::start("", true, T0).await;
    let key = shared_rsa(2);
    cluster.set_jwks(&[&key]);
    let env = Env::new();
    // Without the cluster CA the discovery document cannot be fetched.
    let err = env
        .fails(
            arca_logical::Operation::Update,
            "config",
            json!({"oidc_discovery_url": cluster.issuer}),
        )
        .await;
    assert!(
        err.message.starts_with("error checking oidc discovery URL"),
        "{err:?}"
    );
    env.write_ok(
        "config",
        json!({
            "oidc_discovery_url": cluster.issuer,
            "oidc_discovery_ca_pem": cluster.ca_pem.clone().unwrap(),
            "bound_issuer": cluster.issuer,
        }),
    )
    .await;
    env.write_ok(
        "role/ci-runner",
        json!({
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": "arca",
            "bound_claims": {
                "/kubernetes.io/namespace": ["ci", "ci-staging"],
                "/kubernetes.io/serviceaccount/name": "runner",
            },
            "claim_mappings": {
                "/kubernetes.io/namespace": "service_account_namespace",
                "/kubernetes.io/serviceaccount/name": "service_account_name",
                "/kubernetes.io/serviceaccount/uid": "service_account_uid",
                "/kubernetes.io/pod/name": "pod_name",
            },
            "token_policies": "ci",
            "token_ttl": "15m",
        }),
    )
    .await;
    let auth = env
        .login(
            "ci-runner",
            &key.sign(&k8s_claims(&cluster.issuer, "ci", "runner", json!({}))),
        )
        .await
        .unwrap();
    assert_eq!(auth.alias.unwrap().name, "system:serviceaccount:ci:runner");
    assert_eq!(auth.metadata["service_account_namespace"], "ci");
    assert_eq!(auth.metadata["service_account_name"], "runner");
    assert_eq!(auth.metadata["pod_name"], "runner-7d9f");

    let cases = [
        (
            k8s_claims(&cluster.issuer, "default", "runner", json!({})),
            "/kubernetes.io/namespace",
        ),
        (
            k8s_claims(&cluster.issuer, "ci", "admin", json!({})),
            "/kubernetes.io/serviceaccount/name",
        ),
        // A token for the API server itself (the default audience) is not for Arca.
        (
            k8s_claims(
                &cluster.issuer,
                "ci",
                "runner",
                json!({"aud": ["https://kubernetes.default.svc.cluster.local"]}),
            ),
            "invalid audience",
        ),
        // Projected tokens expire; an old one is refused.
        (
            k8s_claims(&cluster.issuer, "ci", "runner", json!({"exp": T0 - 3600})),
            "token is expired",
        ),
    ];
    for (c, why) in cases {
        let err = env.login("ci-runner", &key.sign(&c)).await.unwrap_err();
        assert!(err.contains(why), "{why}: {err}");
    }
}
