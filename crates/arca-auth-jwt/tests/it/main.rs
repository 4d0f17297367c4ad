//! Integration tests of the JWT/OIDC auth method through the plug-in SDK: hand-built
//! requests, in-memory storage, a clock the tests control, tokens minted here from local
//! keys, and local HTTP(S) servers standing in for JWKS endpoints, OIDC discovery and an
//! OIDC provider's authorize and token endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod config_roles;
mod keys;
mod login;
mod oidc_flow;
mod provider;
mod recipes;

use std::ops::Deref;

use arca_auth_common::testing::{MountAt, TestMount};
use arca_auth_jwt::JwtFactory;
use arca_logical::{Auth, Factory, Operation, Request};
use serde_json::{Value, json};

/// 2026-11-27T23:15:39Z: the shared test clock's start.
pub const T0: i64 = 1_795_821_339;

fn at(kind: &str) -> MountAt {
    MountAt::new("jwt", kind, "auth_jwt_0a1b2c", "0a1b2c")
}

/// A mounted JWT/OIDC method; the shared helpers of [`TestMount`] plus JWT's own.
pub struct Env(TestMount);

impl Deref for Env {
    type Target = TestMount;
    fn deref(&self) -> &TestMount {
        &self.0
    }
}

pub fn req(op: Operation, path: &str, data: Value) -> Request {
    at("jwt").request(op, path, data)
}

impl Default for Env {
    fn default() -> Self {
        Self::new()
    }
}

impl Env {
    pub fn new() -> Env {
        Self::with_type(JwtFactory::JWT)
    }

    pub fn with_type(factory: JwtFactory) -> Env {
        Env(TestMount::new(&factory, at(factory.type_name()), &[]))
    }

    /// `login` with `role` and `jwt`; the `auth` on success.
    pub async fn login(&self, role: &str, jwt: &str) -> Result<Auth, String> {
        self.login_from(role, jwt, None).await
    }

    pub async fn login_from(
        &self,
        role: &str,
        jwt: &str,
        remote: Option<&str>,
    ) -> Result<Auth, String> {
        let mut r = req(
            Operation::Update,
            "login",
            json!({"role": role, "jwt": jwt}),
        );
        r.remote_addr = remote.map(|a| a.parse().unwrap());
        match self.backend.handle(&r).await {
            Ok(Some(resp)) => Ok(resp.auth.expect("login returns auth")),
            Ok(None) => panic!("login returned nothing"),
            Err(e) => Err(e.message),
        }
    }
}

/// Standard claims valid at the test clock.
pub fn claims(extra: Value) -> Value {
    let mut c = json!({
        "iss": "https://issuer.example",
        "sub": "user-1",
        "aud": "arca",
        "iat": T0 - 10,
        "nbf": T0 - 10,
        "exp": T0 + 300,
        "email": "alice@example.com",
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut c, extra) {
        for (k, v) in extra {
            if v.is_null() {
                base.remove(&k);
            } else {
                base.insert(k, v);
            }
        }
    }
    c
}
