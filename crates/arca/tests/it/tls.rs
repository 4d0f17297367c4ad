//! TLS listeners with rustls: the API over HTTPS, `tls_min_version`, and optional client
//! certificates (requested, not required, as Vault does for cert auth).

use std::path::Path;

use rcgen::{CertificateParams, KeyPair};

use crate::support::Server;

struct Pem {
    cert: String,
    key: String,
}

fn self_signed(names: Vec<String>) -> Pem {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

fn tls_config(dir: &Path, server: &Pem, extra: &str) -> String {
    std::fs::write(dir.join("cert.pem"), &server.cert).unwrap();
    std::fs::write(dir.join("key.pem"), &server.key).unwrap();
    let path = dir.join("tls.hcl");
    std::fs::write(
        &path,
        format!(
            "storage \"inmem\" {{}}\ndisable_mlock = true\nlistener \"tcp\" {{\n  address = \"127.0.0.1:0\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n{extra}\n}}\n",
            dir.join("cert.pem").display(),
            dir.join("key.pem").display()
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

fn client(ca: &Pem, identity: Option<&Pem>, max_tls12: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.cert.as_bytes()).unwrap()]);
    if let Some(id) = identity {
        let pem = format!("{}{}", id.cert, id.key);
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    if max_tls12 {
        b = b.tls_version_max(reqwest::tls::Version::TLS_1_2);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn https_listener_serves_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let pem = self_signed(vec!["127.0.0.1".into(), "localhost".into()]);
    let server = Server::start(&["-config", &tls_config(dir.path(), &pem, "")], &[]);
    assert!(server.addr.starts_with("https://"), "{}", server.addr);
    let resp = client(&pem, None, false)
        .get(server.url("sys/seal-status"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );

    // A client certificate is accepted (requested but optional).
    let id = self_signed(vec!["client".into()]);
    let resp = client(&pem, Some(&id), false)
        .get(server.url("sys/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 501);
}

#[tokio::test]
async fn tls_min_version_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let pem = self_signed(vec!["127.0.0.1".into()]);
    let server = Server::start(
        &[
            "-config",
            &tls_config(dir.path(), &pem, "  tls_min_version = \"tls13\""),
        ],
        &[],
    );
    let old = client(&pem, None, true)
        .get(server.url("sys/seal-status"))
        .send()
        .await;
    assert!(old.is_err(), "a TLS 1.2-only client must be refused");
    let new = client(&pem, None, false)
        .get(server.url("sys/seal-status"))
        .send()
        .await
        .unwrap();
    assert_eq!(new.status().as_u16(), 200);
}
