//! Striped async locks: a fixed set of mutexes, a key picks one. Work on one key (a user's
//! login attempts, one secret ID's use count) is serialised without a map that grows
//! with every key an attacker invents; unrelated keys rarely share a stripe.

use std::hash::{BuildHasher, RandomState};

use tokio::sync::{Mutex, MutexGuard};

/// A fixed set of async mutexes indexed by key.
pub struct KeyedLocks {
    stripes: Vec<Mutex<()>>,
    // Random per instance, so nobody can choose keys that all land on one stripe.
    hasher: RandomState,
}

impl std::fmt::Debug for KeyedLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLocks")
            .field("stripes", &self.stripes.len())
            .finish()
    }
}

impl Default for KeyedLocks {
    fn default() -> Self {
        Self::new(256)
    }
}

impl KeyedLocks {
    /// `n` stripes (at least one).
    pub fn new(n: usize) -> Self {
        Self {
            stripes: (0..n.max(1)).map(|_| Mutex::new(())).collect(),
            hasher: RandomState::new(),
        }
    }

    fn index(&self, key: &str) -> usize {
        let h = self.hasher.hash_one(key);
        // The modulo keeps the index below the stripe count, which fits in usize.
        usize::try_from(h % self.stripes.len() as u64).unwrap_or(0)
    }

    /// Waits for the stripe of `key`. Hold the guard across the whole read-check-write.
    pub async fn lock(&self, key: &str) -> MutexGuard<'_, ()> {
        let i = self.index(key);
        match self.stripes.get(i) {
            Some(m) => m.lock().await,
            // Unreachable (the index is reduced modulo the length); the first stripe is a
            // safe answer that still serialises.
            None => self.stripes[0].lock().await,
        }
    }
}
