//! Password hashing with Argon2id, off the async runtime.
//!
//! Hashes are stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`, the
//! format other Argon2 tools read and write), so an operator may import one through
//! `password_hash`. Every hash and verification runs in `spawn_blocking`, at most one per
//! core at a time: a burst of logins queues instead of exhausting memory (each costs
//! `m` KiB).
//!
//! A login for an unknown user verifies against a dummy hash with the same parameters,
//! so it costs what a wrong password costs.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::UserpassError;

const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// Bounds on parameters accepted from an imported `password_hash`: weak enough to be
/// pointless or costly enough to be a denial of service are both refused.
const MIN_M_KIB: u32 = 1024;
const MAX_M_KIB: u32 = 256 * 1024;
const MAX_T: u32 = 16;
const MAX_P: u32 = 8;

/// A decoded PHC Argon2id hash.
struct Phc {
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Zeroizing<Vec<u8>>,
}

impl Phc {
    fn params(&self) -> Option<Params> {
        Params::new(self.m, self.t, self.p, Some(self.hash.len())).ok()
    }

    fn encode(&self) -> String {
        format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            self.m,
            self.t,
            self.p,
            B64.encode(&self.salt),
            B64.encode(self.hash.as_slice())
        )
    }

    /// Parses a PHC string; `None` unless it is Argon2id v19 within the accepted bounds.
    fn parse(s: &str) -> Option<Phc> {
        let mut parts = s.trim().split('$');
        if !parts.next()?.is_empty() || parts.next()? != "argon2id" || parts.next()? != "v=19" {
            return None;
        }
        let (mut m, mut t, mut p) = (None, None, None);
        for kv in parts.next()?.split(',') {
            let (k, v) = kv.split_once('=')?;
            let v: u32 = v.parse().ok()?;
            match k {
                "m" => m = Some(v),
                "t" => t = Some(v),
                "p" => p = Some(v),
                _ => return None,
            }
        }
        let salt = B64.decode(parts.next()?).ok()?;
        let hash = Zeroizing::new(B64.decode(parts.next()?).ok()?);
        if parts.next().is_some() {
            return None;
        }
        let phc = Phc {
            m: m?,
            t: t?,
            p: p?,
            salt,
            hash,
        };
        let ok = (MIN_M_KIB..=MAX_M_KIB).contains(&phc.m)
            && (1..=MAX_T).contains(&phc.t)
            && (1..=MAX_P).contains(&phc.p)
            && (8..=64).contains(&phc.salt.len())
            && (16..=64).contains(&phc.hash.len())
            && phc.params().is_some();
        ok.then_some(phc)
    }
}

/// Hashes and verifies passwords for one mount.
pub(crate) struct Hasher {
    params: Params,
    permits: Arc<Semaphore>,
    dummy: Arc<Phc>,
}

impl Hasher {
    /// A hasher with Argon2id's recommended parameters (m = 19 MiB, t = 2, p = 1).
    pub(crate) fn new() -> Result<Self, UserpassError> {
        Self::with_params(Params::DEFAULT)
    }

    fn with_params(params: Params) -> Result<Self, UserpassError> {
        let salt = arca_crypto::random_array::<SALT_LEN>().map_err(|_| UserpassError::Random)?;
        let hash = arca_crypto::random_array::<HASH_LEN>().map_err(|_| UserpassError::Random)?;
        let dummy = Phc {
            m: params.m_cost(),
            t: params.t_cost(),
            p: params.p_cost(),
            salt: salt.to_vec(),
            hash: Zeroizing::new(hash.to_vec()),
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            params,
            permits: Arc::new(Semaphore::new(cores)),
            dummy: Arc::new(dummy),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, UserpassError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| UserpassError::Task)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|_| UserpassError::Task)
    }

    /// A new PHC hash of `password` with a fresh salt.
    pub(crate) async fn hash(&self, password: Zeroizing<String>) -> Result<String, UserpassError> {
        let salt = arca_crypto::random_array::<SALT_LEN>().map_err(|_| UserpassError::Random)?;
        let params = self.params.clone();
        self.run(move || {
            let mut out = Zeroizing::new(vec![0u8; HASH_LEN]);
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
                .hash_password_into(password.as_bytes(), &salt, &mut out)
                .map_err(|_| UserpassError::Hash)?;
            Ok(Phc {
                m: params.m_cost(),
                t: params.t_cost(),
                p: params.p_cost(),
                salt: salt.to_vec(),
                hash: out,
            }
            .encode())
        })
        .await?
    }

    /// Whether `password` matches the stored PHC hash. `None` (an unknown user) and an
    /// unreadable hash verify against the dummy, cost the same, and answer `false`.
    pub(crate) async fn verify(
        &self,
        password: Zeroizing<String>,
        stored: Option<&str>,
    ) -> Result<bool, UserpassError> {
        let (phc, real) = match stored.map(Phc::parse) {
            Some(Some(p)) => (Arc::new(p), true),
            Some(None) => {
                tracing::error!("stored password hash is unreadable; login refused");
                (Arc::clone(&self.dummy), false)
            }
            None => (Arc::clone(&self.dummy), false),
        };
        self.run(move || {
            let Some(params) = phc.params() else {
                return false;
            };
            let mut out = Zeroizing::new(vec![0u8; phc.hash.len()]);
            if Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(password.as_bytes(), &phc.salt, &mut out)
                .is_err()
            {
                return false;
            }
            // Always compare, so the dummy path does the same work as a real one.
            let same = arca_crypto::constant_time_eq(&out, &phc.hash);
            same && real
        })
        .await
    }
}

/// Normalises an imported `password_hash` (a PHC Argon2id string within bounds).
pub(crate) fn import_hash(s: &str) -> Option<String> {
    Phc::parse(s).map(|p| p.encode())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn fast() -> Hasher {
        Hasher::with_params(Params::new(MIN_M_KIB, 1, 1, Some(HASH_LEN)).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = fast();
        let phc = h.hash(Zeroizing::new("s3cret".to_owned())).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            h.verify(Zeroizing::new("s3cret".to_owned()), Some(&phc))
                .await
                .unwrap()
        );
        assert!(
            !h.verify(Zeroizing::new("S3cret".to_owned()), Some(&phc))
                .await
                .unwrap()
        );
        assert!(
            !h.verify(Zeroizing::new("s3cret".to_owned()), None)
                .await
                .unwrap()
        );
        assert!(
            !h.verify(Zeroizing::new("s3cret".to_owned()), Some("garbage"))
                .await
                .unwrap()
        );
        assert_eq!(import_hash(&phc).unwrap(), phc);
    }

    #[test]
    fn import_bounds() {
        let ok = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g";
        assert!(import_hash(ok).is_some());
        for bad in [
            "",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=8,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0",
            "$2a$10$abcdefghijklmnopqrstuv",
        ] {
            assert!(import_hash(bad).is_none(), "{bad}");
        }
    }
}
