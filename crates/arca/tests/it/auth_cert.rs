//! The cert auth method end to end: an `arca server` whose TLS listener requests (but does
//! not require) client certificates, a client PKI made here with rcgen, and logins with a
//! reqwest client presenting its certificate chain.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use serde_json::{Value, json};

use crate::support::{Server, call, init, unseal};

struct Pem {
    cert: String,
    key: String,
}

fn ca(
    cn: &str,
    parent: Option<&CertifiedIssuer<'static, KeyPair>>,
) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    match parent {
        None => CertifiedIssuer::self_signed(p, key).unwrap(),
        Some(parent) => CertifiedIssuer::signed_by(p, key, parent).unwrap(),
    }
}

fn client_cert(issuer: &CertifiedIssuer<'static, KeyPair>, cn: &str, spiffe: &str) -> Pem {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.subject_alt_names
        .push(SanType::URI(spiffe.try_into().unwrap()));
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, issuer).unwrap();
    Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

fn tls_server(dir: &Path) -> (Server, String) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let config = dir.join("arca.hcl");
    std::fs::write(
        &config,
        format!(
            "storage \"inmem\" {{}}\ndisable_mlock = true\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}\n",
            dir.join("cert.pem").display(),
            dir.join("key.pem").display()
        ),
    )
    .unwrap();
    let server = Server::start(&["-config", config.to_str().unwrap()], &[]);
    (server, cert.pem())
}

/// A client trusting the server's certificate, presenting `identity` (leaf, then chain).
fn client(server_ca: &str, identity: Option<(&Pem, &[String])>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(server_ca.as_bytes()).unwrap()]);
    if let Some((leaf, chain)) = identity {
        let pem = format!("{}{}{}", leaf.key, leaf.cert, chain.concat());
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    b.build().unwrap()
}

#[tokio::test]
async fn cert_login_over_a_tls_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (server, server_ca) = tls_server(dir.path());
    assert!(server.addr.starts_with("https://"));
    let admin = client(&server_ca, None);
    let (keys, root) = init(&admin, &server, 1, 1).await;
    unseal(&admin, &server, &keys).await;
    let url = |p: &str| server.url(p);
    let root = Some(root.as_str());

    let root_ca = ca("Example Root CA", None);
    let issuing = ca("Example Issuing CA", Some(&root_ca));
    let (st, b) = call(
        &admin,
        "POST",
        &url("sys/auth/cert"),
        root,
        Some(json!({"type": "cert"})),
    )
    .await;
    assert_eq!(st, 204, "{b}");
    let (st, b) = call(
        &admin,
        "POST",
        &url("auth/cert/certs/web"),
        root,
        Some(json!({
            "certificate": root_ca.as_ref().pem(),
            "allowed_common_names": "web*",
            "allowed_uri_sans": "spiffe://example.org/ns/prod/sa/*",
            "token_policies": "web",
            "token_ttl": "1h",
        })),
    )
    .await;
    assert_eq!(st, 204, "{b}");

    // A client presenting leaf + intermediate logs in.
    let web = client_cert(&issuing, "web01", "spiffe://example.org/ns/prod/sa/web");
    let chain = [issuing.as_ref().pem()];
    let c = client(&server_ca, Some((&web, &chain)));
    let (st, login) = call(&c, "PUT", &url("auth/cert/login"), None, Some(json!({}))).await;
    assert_eq!(st, 200, "{login}");
    assert_eq!(login["auth"]["metadata"]["cert_name"], "web");
    assert_eq!(login["auth"]["metadata"]["common_name"], "web01");
    assert!(
        login["auth"]["metadata"]["serial_number"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );
    assert_eq!(login["auth"]["policies"], json!(["default", "web"]));
    assert_eq!(login["auth"]["lease_duration"], json!(3600));
    let token = login["auth"]["client_token"].as_str().unwrap().to_owned();
    let (st, me) = call(
        &c,
        "GET",
        &url("auth/token/lookup-self"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(me["data"]["display_name"], "cert-web");
    assert_ne!(me["data"]["entity_id"], "");
    // Naming the entry works the same.
    let (st, _) = call(
        &c,
        "PUT",
        &url("auth/cert/login"),
        None,
        Some(json!({"name": "web"})),
    )
    .await;
    assert_eq!(st, 200);

    let fail = |client: reqwest::Client| {
        let url = url("auth/cert/login");
        async move {
            let (st, b): (u16, Value) = call(&client, "PUT", &url, None, Some(json!({}))).await;
            assert_eq!(st, 400, "{b}");
            b["errors"][0].as_str().unwrap().to_owned()
        }
    };
    // No certificate at all.
    assert_eq!(
        fail(client(&server_ca, None)).await,
        "no client certificate found"
    );
    // The leaf without its intermediate: no path to the trusted root.
    assert_eq!(
        fail(client(&server_ca, Some((&web, &[])))).await,
        "invalid certificate or no client certificate supplied"
    );
    // A certificate from another CA.
    let rogue_ca = ca("Rogue CA", None);
    let rogue = client_cert(&rogue_ca, "web01", "spiffe://example.org/ns/prod/sa/web");
    assert_eq!(
        fail(client(&server_ca, Some((&rogue, &[])))).await,
        "invalid certificate or no client certificate supplied"
    );
    // Trusted, but outside the entry's constraints (CN, then SPIFFE ID).
    let db = client_cert(&issuing, "db01", "spiffe://example.org/ns/prod/sa/db");
    assert_eq!(
        fail(client(&server_ca, Some((&db, &chain)))).await,
        "no chain matching all constraints could be found for this login certificate"
    );
    let staging = client_cert(&issuing, "web02", "spiffe://example.org/ns/staging/sa/web");
    assert_eq!(
        fail(client(&server_ca, Some((&staging, &chain)))).await,
        "no chain matching all constraints could be found for this login certificate"
    );
}
