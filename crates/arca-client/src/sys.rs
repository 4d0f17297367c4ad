//! Typed calls to the `sys/` endpoints the operator commands use.
//!
//! Responses are decoded leniently, as the Go client does: a field the server did not send
//! takes its default, so these work against Arca, OpenBao and Vault alike. The OpenBao
//! quorum endpoints (`sys/generate-root-token/*`, `sys/rotate/root/*`) answer with the
//! envelope and the status under `data`; the legacy Vault ones (`sys/rekey/*`,
//! `sys/generate-root/*`) answer bare objects. [`Flavor`] picks one set.

use arca_types::sys::{
    GenerateRootStatus, HealthResponse, InitRequest, InitResponse, LeaderResponse, RekeyStatus,
    RekeyUpdateResponse, SealStatus, UnsealRequest,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{Body, Client};
use crate::{Error, Method};

/// Decodes `value` into `T`, filling fields the server left out with `T::default()`'s.
pub fn decode_lenient<T: Default + Serialize + DeserializeOwned>(value: Value) -> Result<T, Error> {
    let mut base = serde_json::to_value(T::default()).map_err(|e| Error::Decode(e.to_string()))?;
    match (&mut base, value) {
        (Value::Object(b), Value::Object(v)) => {
            for (k, val) in v {
                // Go leaves a field at its zero value when the JSON has null.
                if !val.is_null() {
                    b.insert(k, val);
                }
            }
        }
        (_, Value::Null) => {}
        (_, _) => return Err(Error::Decode("expected a JSON object".into())),
    }
    serde_json::from_value(base).map_err(|e| Error::Decode(e.to_string()))
}

/// `sys/key-status` data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStatus {
    /// Barrier key term.
    pub term: u64,
    /// RFC 3339 install time of the current key.
    pub install_time: String,
    /// Encryptions with the current key.
    #[serde(default)]
    pub encryptions: u64,
}

/// Body of `sys/rotate/root/init` and `sys/rekey/init` writes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RekeyInitRequest {
    /// New number of shares.
    pub secret_shares: u64,
    /// New threshold.
    pub secret_threshold: u64,
    /// PGP keys (not supported by Arca).
    pub pgp_keys: Option<Vec<String>>,
    /// Back up PGP-encrypted shares.
    pub backup: bool,
    /// Require verification of the new shares.
    pub require_verification: bool,
}

/// Status of the verification phase of a rekey.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekeyVerificationStatus {
    /// Verification nonce.
    pub nonce: String,
    /// Whether verification is in progress.
    pub started: bool,
    /// New threshold.
    pub t: u64,
    /// New number of shares.
    pub n: u64,
    /// New shares given so far.
    pub progress: u64,
}

/// Answer to a verification update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RekeyVerificationUpdate {
    /// Verification nonce.
    pub nonce: String,
    /// Whether verification completed (the new shares are now active).
    pub complete: bool,
}

/// Which set of quorum endpoints to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// OpenBao's authenticated endpoints, status under the envelope's `data`.
    OpenBao,
    /// Vault's legacy unauthenticated endpoints, bare JSON.
    Legacy,
}

impl Flavor {
    fn generate_root(self) -> &'static str {
        match self {
            Flavor::OpenBao => "sys/generate-root-token",
            Flavor::Legacy => "sys/generate-root",
        }
    }

    fn rekey(self) -> &'static str {
        match self {
            Flavor::OpenBao => "sys/rotate/root",
            Flavor::Legacy => "sys/rekey",
        }
    }

    /// The status object of a response in this flavour.
    fn unwrap(self, v: Value) -> Value {
        match (self, v) {
            (Flavor::OpenBao, Value::Object(mut m)) => m.remove("data").unwrap_or(Value::Null),
            (_, v) => v,
        }
    }
}

fn s(p: &str) -> String {
    p.to_owned()
}

impl Client {
    async fn sys_get<T: Default + Serialize + DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<T, Error> {
        decode_lenient(self.call_json(Method::GET, path, &[], Body::Empty).await?)
    }

    /// `GET sys/health`, with the status-code overrides the Go client sends so that sealed,
    /// uninitialised and standby servers answer 2xx with their body.
    pub async fn health(&self) -> Result<HealthResponse, Error> {
        let q = [
            (s("uninitcode"), s("299")),
            (s("sealedcode"), s("299")),
            (s("standbycode"), s("299")),
            (s("drsecondarycode"), s("299")),
            (s("performancestandbycode"), s("299")),
        ];
        decode_lenient(
            self.call_json(Method::GET, "sys/health", &q, Body::Empty)
                .await?,
        )
    }

    /// `GET sys/seal-status`.
    pub async fn seal_status(&self) -> Result<SealStatus, Error> {
        self.sys_get("sys/seal-status").await
    }

    /// `GET sys/init`: whether the server is initialised.
    pub async fn init_status(&self) -> Result<bool, Error> {
        let v = self
            .call_json(Method::GET, "sys/init", &[], Body::Empty)
            .await?;
        Ok(v.get("initialized")
            .and_then(Value::as_bool)
            .unwrap_or(false))
    }

    /// `PUT sys/init`.
    pub async fn init(&self, req: &InitRequest) -> Result<InitResponse, Error> {
        let body = serde_json::to_value(req).map_err(|e| Error::Decode(e.to_string()))?;
        decode_lenient(
            self.call_json(Method::PUT, "sys/init", &[], Body::Json(body))
                .await?,
        )
    }

    /// `PUT sys/unseal` with one share (or a reset).
    pub async fn unseal(&self, req: &UnsealRequest) -> Result<SealStatus, Error> {
        let body = json!({
            "key": req.key.as_deref().unwrap_or_default(),
            "reset": req.reset.unwrap_or(false),
            "migrate": req.migrate.unwrap_or(false),
        });
        decode_lenient(
            self.call_json(Method::PUT, "sys/unseal", &[], Body::Json(body))
                .await?,
        )
    }

    /// `PUT sys/seal`.
    pub async fn seal(&self) -> Result<(), Error> {
        self.call_json(Method::PUT, "sys/seal", &[], Body::Empty)
            .await
            .map(drop)
    }

    /// `GET sys/leader`.
    pub async fn leader(&self) -> Result<LeaderResponse, Error> {
        self.sys_get("sys/leader").await
    }

    /// `GET sys/key-status`.
    pub async fn key_status(&self) -> Result<KeyStatus, Error> {
        let v = self
            .call_json(Method::GET, "sys/key-status", &[], Body::Empty)
            .await?;
        let data = match v.get("data") {
            Some(d @ Value::Object(_)) => d.clone(),
            _ => v,
        };
        decode_lenient(data)
    }

    /// `POST sys/rotate`: a new barrier key term.
    pub async fn rotate(&self) -> Result<(), Error> {
        self.call_json(Method::POST, "sys/rotate", &[], Body::Empty)
            .await
            .map(drop)
    }

    /// `POST sys/rotate/keyring` (OpenBao's name for `sys/rotate`).
    pub async fn rotate_keyring(&self) -> Result<(), Error> {
        self.call_json(Method::POST, "sys/rotate/keyring", &[], Body::Empty)
            .await
            .map(drop)
    }

    /// Status of the root-token generation.
    pub async fn generate_root_status(&self, f: Flavor) -> Result<GenerateRootStatus, Error> {
        let path = format!("{}/attempt", f.generate_root());
        let v = self.call_json(Method::GET, &path, &[], Body::Empty).await?;
        decode_lenient(f.unwrap(v))
    }

    /// Starts a root-token generation; with no `otp` the server generates one and returns it.
    pub async fn generate_root_init(
        &self,
        f: Flavor,
        otp: Option<&str>,
    ) -> Result<GenerateRootStatus, Error> {
        let path = format!("{}/attempt", f.generate_root());
        let body = json!({"otp": otp.unwrap_or_default(), "pgp_key": ""});
        let v = self
            .call_json(Method::PUT, &path, &[], Body::Json(body))
            .await?;
        decode_lenient(f.unwrap(v))
    }

    /// Submits one unseal-key share to the root-token generation.
    pub async fn generate_root_update(
        &self,
        f: Flavor,
        key: &str,
        nonce: &str,
    ) -> Result<GenerateRootStatus, Error> {
        let path = format!("{}/update", f.generate_root());
        let body = json!({"key": key, "nonce": nonce});
        let v = self
            .call_json(Method::PUT, &path, &[], Body::Json(body))
            .await?;
        decode_lenient(f.unwrap(v))
    }

    /// Cancels the root-token generation.
    pub async fn generate_root_cancel(&self, f: Flavor) -> Result<(), Error> {
        let path = format!("{}/attempt", f.generate_root());
        self.call_json(Method::DELETE, &path, &[], Body::Empty)
            .await
            .map(drop)
    }

    /// Status of the rekey (unseal-key rotation).
    pub async fn rekey_status(&self, f: Flavor) -> Result<RekeyStatus, Error> {
        let path = format!("{}/init", f.rekey());
        let v = self.call_json(Method::GET, &path, &[], Body::Empty).await?;
        decode_lenient(f.unwrap(v))
    }

    /// Starts a rekey.
    pub async fn rekey_init(
        &self,
        f: Flavor,
        req: &RekeyInitRequest,
    ) -> Result<RekeyStatus, Error> {
        let path = format!("{}/init", f.rekey());
        let body = serde_json::to_value(req).map_err(|e| Error::Decode(e.to_string()))?;
        let method = match f {
            Flavor::OpenBao => Method::POST,
            Flavor::Legacy => Method::PUT,
        };
        let v = self.call_json(method, &path, &[], Body::Json(body)).await?;
        decode_lenient(f.unwrap(v))
    }

    /// Submits one current unseal-key share to the rekey.
    pub async fn rekey_update(
        &self,
        f: Flavor,
        key: &str,
        nonce: &str,
    ) -> Result<RekeyUpdateResponse, Error> {
        let path = format!("{}/update", f.rekey());
        let body = json!({"key": key, "nonce": nonce});
        let v = self
            .call_json(Method::PUT, &path, &[], Body::Json(body))
            .await?;
        decode_lenient(f.unwrap(v))
    }

    /// Cancels the rekey.
    pub async fn rekey_cancel(&self, f: Flavor) -> Result<(), Error> {
        let path = format!("{}/init", f.rekey());
        self.call_json(Method::DELETE, &path, &[], Body::Empty)
            .await
            .map(drop)
    }

    /// Status of the rekey's verification phase.
    pub async fn rekey_verify_status(&self, f: Flavor) -> Result<RekeyVerificationStatus, Error> {
        let path = format!("{}/verify", f.rekey());
        let v = self.call_json(Method::GET, &path, &[], Body::Empty).await?;
        decode_lenient(f.unwrap(v))
    }

    /// Submits one new share to the verification phase.
    pub async fn rekey_verify_update(
        &self,
        f: Flavor,
        key: &str,
        nonce: &str,
    ) -> Result<RekeyVerificationUpdate, Error> {
        let path = format!("{}/verify", f.rekey());
        let body = json!({"key": key, "nonce": nonce});
        let v = self
            .call_json(Method::PUT, &path, &[], Body::Json(body))
            .await?;
        decode_lenient(f.unwrap(v))
    }

    /// Restarts the verification phase.
    pub async fn rekey_verify_cancel(&self, f: Flavor) -> Result<(), Error> {
        let path = format!("{}/verify", f.rekey());
        self.call_json(Method::DELETE, &path, &[], Body::Empty)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn lenient_decoding_fills_missing_fields() {
        let st: SealStatus = decode_lenient(json!({"type": "shamir", "sealed": true, "t": 3,
            "cluster_name": null, "extra": 1}))
        .unwrap();
        assert_eq!(st.seal_type, "shamir");
        assert!(st.sealed);
        assert_eq!(st.t, 3);
        assert_eq!(st.storage_type, "");
        assert!(decode_lenient::<SealStatus>(json!([1])).is_err());
        assert!(decode_lenient::<SealStatus>(json!({"t": "x"})).is_err());
        let ks: KeyStatus = decode_lenient(json!({"term": 2, "install_time": "t"})).unwrap();
        assert_eq!(ks.encryptions, 0);
    }

    #[test]
    fn flavors_unwrap_data() {
        let v = json!({"request_id": "r", "data": {"nonce": "n"}});
        assert_eq!(Flavor::OpenBao.unwrap(v.clone()), json!({"nonce": "n"}));
        assert_eq!(Flavor::Legacy.unwrap(v.clone()), v);
    }
}
