//! Integration tests of the userpass method through the plug-in SDK only: hand-built
//! requests, an in-memory store behind a prefix view, and a clock the tests move
//! (`arca_auth_common::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod lockout;
mod login;
mod users;

use std::ops::{Deref, DerefMut};

use arca_auth_common::testing::{MountAt, TestMount};
use arca_auth_userpass::UserpassFactory;
use arca_logical::{Auth, LogicalError};
use serde_json::{Value, json};

pub use arca_auth_common::testing::{TOKEN_KEYS, assert_invalid, keys};

/// A mounted userpass method; the shared helpers of [`TestMount`] plus AppRole's own.
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
        let at = MountAt::new("userpass", "userpass", "auth_userpass_1a2b3c4d", "3c5e0a7b");
        let mut mount = TestMount::new(&UserpassFactory, at, options);
        mount.backend.initialize().await.unwrap();
        mount.remote = Some("127.0.0.1:51000".parse().unwrap());
        Env(mount)
    }

    /// A login from `self.remote`; the `auth` on success.
    pub async fn login(&self, user: &str, password: &str) -> Result<Auth, LogicalError> {
        let resp = self
            .write(&format!("login/{user}"), json!({"password": password}))
            .await?
            .expect("login answers");
        Ok(resp.auth.expect("login returns auth"))
    }

    pub async fn create_user(&self, user: &str, password: &str, extra: Value) {
        let mut body = json!({"password": password});
        if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
            b.extend(e);
        }
        assert_eq!(
            self.write(&format!("users/{user}"), body).await.unwrap(),
            None
        );
    }
}
