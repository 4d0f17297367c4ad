//! Integration tests of the cert auth method through the plug-in SDK: certificates and
//! CRLs made here with rcgen, the client chain handed in as `Request::peer_certificates`
//! (what the TLS listener passes on), and a clock the tests control
//! (`arca_auth_common::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod certs;
mod login;
mod pki;

use std::ops::Deref;
use std::time::Duration;

use arca_auth_cert::CertFactory;
use arca_auth_common::testing::{MountAt, TestMount};
use arca_logical::{Auth, Operation, Request};
use serde_json::{Value, json};

/// 2026-11-27T23:15:39Z: the shared test clock's start.
pub const T0: i64 = 1_795_821_339;

fn at() -> MountAt {
    MountAt::new("cert", "cert", "auth_cert_c3r7", "c3r7")
}

/// A mounted cert method; the shared helpers of [`TestMount`] plus cert's own.
pub struct Env(TestMount);

impl Deref for Env {
    type Target = TestMount;
    fn deref(&self) -> &TestMount {
        &self.0
    }
}

pub fn req(op: Operation, path: &str, data: Value) -> Request {
    at().request(op, path, data)
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Env {
        Env(TestMount::new(&CertFactory, at(), &[]))
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// `login` presenting `chain` (DER, leaf first), optionally naming an entry.
    pub async fn login(&self, chain: &[Vec<u8>], name: Option<&str>) -> Result<Auth, String> {
        self.login_from(chain, name, None).await
    }

    pub async fn login_from(
        &self,
        chain: &[Vec<u8>],
        name: Option<&str>,
        remote: Option<&str>,
    ) -> Result<Auth, String> {
        let body = match name {
            Some(n) => json!({"name": n}),
            None => json!({}),
        };
        let mut r = req(Operation::Update, "login", body);
        r.peer_certificates = chain.to_vec();
        r.remote_addr = remote.map(|a| a.parse().unwrap());
        match self.backend.handle(&r).await {
            Ok(Some(resp)) => Ok(resp.auth.expect("login returns auth")),
            Ok(None) => panic!("login returned nothing"),
            Err(e) => Err(e.message),
        }
    }

    /// Renewal of `auth` presenting `chain`.
    pub async fn renew(&self, chain: &[Vec<u8>], auth: &Auth) -> Result<Auth, String> {
        let mut r = req(Operation::Update, "login", json!({}));
        r.peer_certificates = chain.to_vec();
        match self.backend.renew_auth(&r, auth).await {
            Ok(Some(resp)) => Ok(resp.auth.unwrap()),
            Ok(None) => panic!("renew returned nothing"),
            Err(e) => Err(e.message),
        }
    }
}
