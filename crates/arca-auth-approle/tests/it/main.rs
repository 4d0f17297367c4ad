//! Integration tests of the AppRole method through the plug-in SDK only: hand-built
//! requests, an in-memory store behind a prefix view, and a clock the tests move
//! (`arca_auth_common::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod login;
mod roles;
mod secret_ids;

use std::ops::{Deref, DerefMut};

use arca_auth_approle::ApproleFactory;
use arca_auth_common::testing::{MountAt, TestMount};
use arca_logical::{Auth, LogicalError};
use serde_json::{Map, Value, json};

pub use arca_auth_common::testing::{TOKEN_KEYS, assert_invalid, keys, s};

/// A mounted AppRole method; the shared helpers of [`TestMount`] plus AppRole's own.
pub struct Env(TestMount);

impl Deref for Env {
    type Target = TestMount;
    fn deref(&self) -> &TestMount {
        &self.0
    }
}

impl DerefMut for Env {
    fn deref_mut(&mut self) -> &mut TestMount {
        &mut self.0
    }
}

impl Env {
    pub async fn new() -> Env {
        Env::with_options(&[]).await
    }

    pub async fn with_options(options: &[(&str, &str)]) -> Env {
        let at = MountAt::new("approle", "approle", "auth_approle_5e6f7a8b", "3c5e0a7b");
        let mut mount = TestMount::new(&ApproleFactory, at, options);
        mount.backend.initialize().await.unwrap();
        mount.remote = Some("127.0.0.1:51000".parse().unwrap());
        Env(mount)
    }

    /// A login from `self.remote`; the `auth` on success.
    pub async fn login(&self, role_id: &str, secret_id: &str) -> Result<Auth, LogicalError> {
        let resp = self
            .write("login", json!({"role_id": role_id, "secret_id": secret_id}))
            .await?
            .expect("login answers");
        Ok(resp.auth.expect("login returns auth"))
    }

    /// Creates a role with `body` and returns its role ID.
    pub async fn create_role(&self, name: &str, body: Value) -> String {
        let resp = self.write(&format!("role/{name}"), body).await.unwrap();
        assert!(
            resp.is_none() || resp.as_ref().unwrap().data.is_none(),
            "{resp:?}"
        );
        self.data(&format!("role/{name}/role-id")).await["role_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Generates a secret ID; returns the whole `data`.
    pub async fn secret(&self, role: &str, body: Value) -> Map<String, Value> {
        self.write(&format!("role/{role}/secret-id"), body)
            .await
            .unwrap()
            .unwrap()
            .data
            .unwrap()
    }
}
