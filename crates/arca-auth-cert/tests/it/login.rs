//! `login`: chain verification, every constraint, CRLs, pinned leaves, renewal binding.

use std::time::Duration;

use rcgen::ExtendedKeyUsagePurpose;
use serde_json::json;

use crate::Env;
use crate::pki::{Ca, Leaf, crl, intermediate, issue, root, self_signed_leaf};

const NO_CHAIN: &str = "invalid certificate or no client certificate supplied";
const NO_MATCH: &str =
    "no chain matching all constraints could be found for this login certificate";

struct Pki {
    root: Ca,
    inter: Ca,
}

fn pki() -> Pki {
    let root = root("Example Root CA", 1);
    let inter = intermediate(&root, "Example Issuing CA", 2);
    Pki { root, inter }
}

/// A mount trusting `pki.root` as entry `web` with `constraints`.
async fn env_trusting(ca_pem: &str, constraints: serde_json::Value) -> Env {
    let env = Env::new();
    let mut body = json!({"certificate": ca_pem, "token_policies": "web", "token_ttl": "1h"});
    if let (serde_json::Value::Object(b), serde_json::Value::Object(c)) = (&mut body, constraints) {
        b.extend(c);
    }
    env.write_ok("certs/web", body).await;
    env
}

#[tokio::test]
async fn trusted_chain_logs_in_with_vault_metadata() {
    let p = pki();
    let env = env_trusting(
        &p.root.pem(),
        json!({"allowed_common_names": "web*.example.com"}),
    )
    .await;
    let (leaf, _) = issue(&p.inter, &Leaf::default());
    let auth = env
        .login(&[leaf.clone(), p.inter.der()], None)
        .await
        .unwrap();
    assert_eq!(auth.client_token, "");
    assert_eq!(auth.display_name, "web");
    assert_eq!(auth.policies, vec!["web"]);
    assert_eq!(auth.ttl, Duration::from_secs(3600));
    assert_eq!(auth.alias.as_ref().unwrap().name, "web01.example.com");
    assert!(auth.alias.as_ref().unwrap().metadata.is_empty());
    assert_eq!(auth.metadata["cert_name"], "web");
    assert_eq!(auth.metadata["common_name"], "web01.example.com");
    assert_eq!(auth.metadata["serial_number"], "1250999896491");
    // Lower-case colon hex, like Vault's GetHexFormatted.
    assert_eq!(auth.metadata["subject_key_id"], "cd:98:ab:01");
    let akid = &auth.metadata["authority_key_id"];
    assert!(
        akid.len() == 20 * 3 - 1 && akid.split(':').all(|b| b.len() == 2),
        "{akid}"
    );
    assert_eq!(akid.to_lowercase(), *akid);
    assert!(auth.internal_data.contains_key("certificate"));

    // The same login naming the entry.
    assert!(
        env.login(&[leaf.clone(), p.inter.der()], Some("web"))
            .await
            .is_ok()
    );
    // Naming an entry that does not exist finds no trust.
    assert_eq!(
        env.login(&[leaf, p.inter.der()], Some("db"))
            .await
            .unwrap_err(),
        NO_CHAIN
    );
}

#[tokio::test]
async fn chain_verification() {
    let p = pki();
    let env = env_trusting(&p.root.pem(), json!({})).await;
    let (leaf, _) = issue(&p.inter, &Leaf::default());

    assert_eq!(
        env.login(&[], None).await.unwrap_err(),
        "no client certificate found"
    );
    // Without the intermediate there is no path to the root.
    assert_eq!(
        env.login(std::slice::from_ref(&leaf), None)
            .await
            .unwrap_err(),
        NO_CHAIN
    );
    // Another CA's client.
    let other = intermediate(&root("Other Root", 9), "Other Issuing", 10);
    let (stranger, _) = issue(&other, &Leaf::default());
    assert_eq!(
        env.login(&[stranger, other.der()], None).await.unwrap_err(),
        NO_CHAIN
    );
    // A self-signed certificate claiming the same name.
    let (selfie, _) = self_signed_leaf("web01.example.com");
    assert_eq!(env.login(&[selfie], None).await.unwrap_err(), NO_CHAIN);
    // Presenting the trusted intermediate's certificate as a leaf proves nothing.
    assert_eq!(
        env.login(&[p.inter.der()], None).await.unwrap_err(),
        NO_CHAIN
    );
    // Garbage.
    assert_eq!(
        env.login(&[vec![1, 2, 3]], None).await.unwrap_err(),
        NO_CHAIN
    );

    // A leaf only good for servers cannot authenticate a client.
    let (server, _) = issue(
        &p.inter,
        &Leaf {
            usages: vec![ExtendedKeyUsagePurpose::ServerAuth],
            ..Leaf::default()
        },
    );
    assert_eq!(
        env.login(&[server, p.inter.der()], None).await.unwrap_err(),
        NO_CHAIN
    );
    // No extended key usage at all is accepted (as Go's verifier does).
    let (any, _) = issue(
        &p.inter,
        &Leaf {
            usages: vec![],
            ..Leaf::default()
        },
    );
    assert!(env.login(&[any, p.inter.der()], None).await.is_ok());

    // Validity follows the mount's clock.
    assert!(
        env.login(&[leaf.clone(), p.inter.der()], None)
            .await
            .is_ok()
    );
    env.advance(Duration::from_secs(31 * 86_400));
    assert_eq!(
        env.login(&[leaf, p.inter.der()], None).await.unwrap_err(),
        NO_CHAIN
    );
}

#[tokio::test]
async fn trusting_the_intermediate_needs_no_chain_from_the_client() {
    let p = pki();
    let env = env_trusting(&p.inter.pem(), json!({})).await;
    let (leaf, _) = issue(&p.inter, &Leaf::default());
    assert!(env.login(&[leaf], None).await.is_ok());
    // Trusting only the intermediate does not trust the root's other children.
    let sibling = intermediate(&p.root, "Sibling CA", 3);
    let (other, _) = issue(&sibling, &Leaf::default());
    assert_eq!(
        env.login(&[other, sibling.der()], None).await.unwrap_err(),
        NO_CHAIN
    );
}

#[tokio::test]
async fn name_constraints() {
    let p = pki();
    let leaf = Leaf {
        cn: "web01.example.com",
        dns: vec!["web01.example.com", "web01.internal"],
        emails: vec!["ops@example.com"],
        uris: vec!["spiffe://example.org/ns/prod/sa/web"],
        ous: vec!["Platform", "Web"],
        ..Leaf::default()
    };
    let (der, _) = issue(&p.inter, &leaf);
    let chain = [der, p.inter.der()];
    let cases = [
        (json!({"allowed_common_names": "web01.example.com"}), true),
        (json!({"allowed_common_names": ["db*", "web*"]}), true),
        (json!({"allowed_common_names": "db*"}), false),
        (json!({"allowed_dns_sans": "*.internal"}), true),
        (json!({"allowed_dns_sans": "*.corp"}), false),
        (json!({"allowed_email_sans": "*@example.com"}), true),
        (json!({"allowed_email_sans": "root@example.com"}), false),
        (
            json!({"allowed_uri_sans": "spiffe://example.org/ns/*/sa/web"}),
            true,
        ),
        (
            json!({"allowed_uri_sans": "spiffe://example.org/ns/*/sa/db"}),
            false,
        ),
        (json!({"allowed_uri_sans": "spiffe://other.org/*"}), false),
        (json!({"allowed_organizational_units": "Web"}), true),
        (json!({"allowed_organizational_units": "Finance"}), false),
        // allowed_names matches the CN, DNS or email SANs.
        (json!({"allowed_names": "ops@*"}), true),
        (json!({"allowed_names": "*.internal"}), true),
        (json!({"allowed_names": "spiffe://*"}), false),
        // Every constraint must hold.
        (
            json!({"allowed_common_names": "web*", "allowed_dns_sans": "*.corp"}),
            false,
        ),
    ];
    for (constraints, ok) in cases {
        let env = env_trusting(&p.root.pem(), constraints.clone()).await;
        let r = env.login(&chain, None).await;
        if ok {
            assert!(r.is_ok(), "{constraints}: {r:?}");
        } else {
            assert_eq!(r.unwrap_err(), NO_MATCH, "{constraints}");
        }
    }
    // A leaf without SANs fails any SAN constraint.
    let (bare, _) = issue(
        &p.inter,
        &Leaf {
            dns: vec![],
            ..Leaf::default()
        },
    );
    let env = env_trusting(&p.root.pem(), json!({"allowed_dns_sans": "*"})).await;
    assert_eq!(
        env.login(&[bare, p.inter.der()], None).await.unwrap_err(),
        NO_MATCH
    );
}

#[tokio::test]
async fn required_and_metadata_extensions() {
    let p = pki();
    let (der, _) = issue(
        &p.inter,
        &Leaf {
            extensions: vec![(&[1, 3, 6, 1, 4, 1, 55555, 1], "prod-eu")],
            ..Leaf::default()
        },
    );
    let chain = [der, p.inter.der()];
    let env = env_trusting(
        &p.root.pem(),
        json!({
            "required_extensions": "1.3.6.1.4.1.55555.1:prod-*",
            "allowed_metadata_extensions": "1.3.6.1.4.1.55555.1,1.2.3.4",
        }),
    )
    .await;
    let auth = env.login(&chain, None).await.unwrap();
    assert_eq!(auth.metadata["1-3-6-1-4-1-55555-1"], "prod-eu");
    assert!(!auth.metadata.contains_key("1-2-3-4"));

    for required in ["1.3.6.1.4.1.55555.1:dev-*", "1.3.6.1.4.1.55555.2:*"] {
        let env = env_trusting(&p.root.pem(), json!({"required_extensions": required})).await;
        assert_eq!(
            env.login(&chain, None).await.unwrap_err(),
            NO_MATCH,
            "{required}"
        );
    }
}

#[tokio::test]
async fn crls_revoke_leaves_and_intermediates() {
    let p = pki();
    let env = env_trusting(&p.root.pem(), json!({})).await;
    let (leaf, _) = issue(&p.inter, &Leaf::default());
    let chain = [leaf, p.inter.der()];
    assert!(env.login(&chain, None).await.is_ok());

    env.write_ok(
        "crls/issuing",
        json!({"crl": crl(&p.inter, &[0x0123_4567_89ab])}),
    )
    .await;
    assert_eq!(env.login(&chain, None).await.unwrap_err(), NO_MATCH);
    // Another leaf of the same CA is unaffected.
    let (fresh, _) = issue(
        &p.inter,
        &Leaf {
            serial: 0x77,
            ..Leaf::default()
        },
    );
    assert!(
        env.login(&[fresh.clone(), p.inter.der()], None)
            .await
            .is_ok()
    );

    env.call(arca_logical::Operation::Delete, "crls/issuing", json!({}))
        .await
        .unwrap();
    assert!(env.login(&chain, None).await.is_ok());

    // Revoking the intermediate (serial 2, in the root's CRL) cuts off every leaf below it.
    env.write_ok("crls/root", json!({"crl": crl(&p.root, &[2])}))
        .await;
    assert_eq!(env.login(&chain, None).await.unwrap_err(), NO_MATCH);
    assert_eq!(
        env.login(&[fresh, p.inter.der()], None).await.unwrap_err(),
        NO_MATCH
    );
}

#[tokio::test]
async fn pinned_leaf_certificates() {
    let p = pki();
    let (leaf, leaf_pem) = issue(&p.inter, &Leaf::default());
    let env = Env::new();
    env.write_ok(
        "certs/pinned",
        json!({"certificate": leaf_pem, "token_policies": "one"}),
    )
    .await;
    // Exactly that certificate logs in, even without its chain.
    let auth = env.login(std::slice::from_ref(&leaf), None).await.unwrap();
    assert_eq!(auth.metadata["cert_name"], "pinned");
    // A different certificate with the same names does not.
    let (twin, _) = issue(&p.inter, &Leaf::default());
    assert_eq!(
        env.login(&[twin, p.inter.der()], None).await.unwrap_err(),
        NO_CHAIN
    );
    // Revocation and expiry apply to pinned certificates too.
    env.write_ok("crls/c", json!({"crl": crl(&p.inter, &[0x0123_4567_89ab])}))
        .await;
    assert_eq!(
        env.login(std::slice::from_ref(&leaf), None)
            .await
            .unwrap_err(),
        NO_CHAIN
    );
    env.call(arca_logical::Operation::Delete, "crls/c", json!({}))
        .await
        .unwrap();
    env.advance(Duration::from_secs(40 * 86_400));
    assert_eq!(env.login(&[leaf], None).await.unwrap_err(), NO_CHAIN);
}

#[tokio::test]
async fn several_entries_first_accepting_wins_and_cidrs_apply() {
    let p = pki();
    let env = Env::new();
    env.write_ok(
        "certs/db",
        json!({"certificate": p.root.pem(), "allowed_common_names": "db*", "token_policies": "db"}),
    )
    .await;
    env.write_ok(
        "certs/web",
        json!({"certificate": p.root.pem(), "allowed_common_names": "web*", "token_policies": "web",
               "token_bound_cidrs": "10.0.0.0/8"}),
    )
    .await;
    let (web, _) = issue(&p.inter, &Leaf::default());
    let (db, _) = issue(
        &p.inter,
        &Leaf {
            cn: "db01",
            dns: vec![],
            serial: 5,
            ..Leaf::default()
        },
    );
    let a = env
        .login_from(&[web.clone(), p.inter.der()], None, Some("10.0.0.7:1234"))
        .await
        .unwrap();
    assert_eq!(a.policies, vec!["web"]);
    assert_eq!(a.bound_cidrs, vec!["10.0.0.0/8"]);
    assert_eq!(
        env.login_from(&[web.clone(), p.inter.der()], None, Some("192.0.2.1:1234"))
            .await
            .unwrap_err(),
        "permission denied"
    );
    let a = env.login(&[db.clone(), p.inter.der()], None).await.unwrap();
    assert_eq!(a.policies, vec!["db"]);
    // Naming the wrong entry.
    assert_eq!(
        env.login(&[db, p.inter.der()], Some("web"))
            .await
            .unwrap_err(),
        NO_MATCH
    );
}

#[tokio::test]
async fn renewal_is_bound_to_the_certificate() {
    let p = pki();
    let env = env_trusting(&p.root.pem(), json!({})).await;
    let (leaf, _) = issue(&p.inter, &Leaf::default());
    let chain = [leaf, p.inter.der()];
    let auth = env.login(&chain, None).await.unwrap();
    let renewed = env.renew(&chain, &auth).await.unwrap();
    assert_eq!(renewed.ttl, Duration::from_secs(3600));

    let (other, _) = issue(
        &p.inter,
        &Leaf {
            serial: 99,
            ..Leaf::default()
        },
    );
    let err = env
        .renew(&[other.clone(), p.inter.der()], &auth)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        "client identity during renewal not matching client identity used during login"
    );
    assert_eq!(
        env.renew(&[], &auth).await.unwrap_err(),
        "no client certificate found"
    );
    // Revoked since login: no renewal.
    env.write_ok("crls/c", json!({"crl": crl(&p.inter, &[0x0123_4567_89ab])}))
        .await;
    assert_eq!(env.renew(&chain, &auth).await.unwrap_err(), NO_MATCH);
    env.call(arca_logical::Operation::Delete, "crls/c", json!({}))
        .await
        .unwrap();

    // With disable_binding any certificate (or none) may renew.
    env.write_ok("config", json!({"disable_binding": true}))
        .await;
    assert!(env.renew(&[other, p.inter.der()], &auth).await.is_ok());

    // Changed policies or a deleted entry stop renewals.
    env.write_ok("certs/web", json!({"token_policies": "web,admin"}))
        .await;
    assert_eq!(
        env.renew(&chain, &auth).await.unwrap_err(),
        "policies have changed, not renewing"
    );
    env.call(arca_logical::Operation::Delete, "certs/web", json!({}))
        .await
        .unwrap();
    assert!(env.renew(&chain, &auth).await.is_err());
}

#[tokio::test]
async fn identity_alias_metadata_is_optional() {
    let p = pki();
    let env = env_trusting(&p.root.pem(), json!({})).await;
    env.write_ok("config", json!({"enable_identity_alias_metadata": true}))
        .await;
    let (leaf, _) = issue(&p.inter, &Leaf::default());
    let auth = env.login(&[leaf, p.inter.der()], None).await.unwrap();
    let alias = auth.alias.unwrap();
    assert_eq!(alias.name, "web01.example.com");
    assert_eq!(alias.metadata["cert_name"], "web");
    assert_eq!(alias.metadata["serial_number"], "1250999896491");
}
