//! Integration tests of the barrier over the in-memory backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod keyring;
mod prop;
mod reject;
mod rotation;
mod round_trip;

use std::sync::Arc;

use arca_barrier::{Barrier, BarrierOptions, RootKey, RotationConfig};
use arca_storage::{InMemStorage, Storage};

/// A fresh physical store, a root key and a barrier initialised on them.
pub async fn setup() -> (Arc<InMemStorage>, RootKey, Arc<Barrier>) {
    setup_with(RotationConfig::default()).await
}

pub async fn setup_with(rotation: RotationConfig) -> (Arc<InMemStorage>, RootKey, Arc<Barrier>) {
    let physical = Arc::new(InMemStorage::new());
    let root = RootKey::generate().unwrap();
    let barrier = Barrier::initialize(physical.clone(), &root, BarrierOptions { rotation })
        .await
        .unwrap();
    (physical, root, barrier)
}

/// A rotation config that rotates after `n` encryptions.
pub fn max_ops(n: u64) -> RotationConfig {
    RotationConfig {
        max_operations: n,
        ..RotationConfig::default()
    }
}

pub fn term_of(value: &[u8]) -> u32 {
    u32::from_be_bytes(value[..4].try_into().unwrap())
}

pub async fn raw(physical: &InMemStorage, key: &str) -> Vec<u8> {
    physical.get(key).await.unwrap().unwrap()
}
