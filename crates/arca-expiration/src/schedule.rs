//! The in-memory expiry index and the per-lease locks.
//!
//! One ordered set of `(due time, lease id)` drives every expiry and retry, so 100k leases
//! cost two small map entries each and no task or timer apiece.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::sync::OwnedMutexGuard;

/// When each lease is next due (expiry, or the next revocation retry).
#[derive(Default)]
pub(crate) struct Schedule {
    by_time: BTreeSet<(SystemTime, Arc<str>)>,
    due: HashMap<Arc<str>, SystemTime>,
}

impl Schedule {
    /// Schedules `id` at `at`, replacing an earlier schedule. Returns whether `at` is now
    /// the earliest due time (the worker must be woken).
    pub(crate) fn set(&mut self, id: &str, at: SystemTime) -> bool {
        let key = match self.due.get_key_value(id) {
            Some((k, old)) => {
                let k = Arc::clone(k);
                self.by_time.remove(&(*old, Arc::clone(&k)));
                k
            }
            None => Arc::from(id),
        };
        self.due.insert(Arc::clone(&key), at);
        self.by_time.insert((at, key));
        self.by_time.first().is_some_and(|(t, _)| *t == at)
    }

    /// Schedules `id` unless it already is (the loader must not undo a renewal made while
    /// it was reading).
    pub(crate) fn set_if_absent(&mut self, id: &str, at: SystemTime) -> bool {
        if self.due.contains_key(id) {
            return false;
        }
        self.set(id, at)
    }

    pub(crate) fn remove(&mut self, id: &str) {
        if let Some((k, at)) = self.due.remove_entry(id) {
            self.by_time.remove(&(at, k));
        }
    }

    /// Takes the earliest lease due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: SystemTime) -> Option<Arc<str>> {
        let (at, _) = self.by_time.first()?;
        if *at > now {
            return None;
        }
        let (_, id) = self.by_time.pop_first()?;
        self.due.remove(&id);
        Some(id)
    }

    pub(crate) fn next_due(&self) -> Option<SystemTime> {
        self.by_time.first().map(|(t, _)| *t)
    }

    pub(crate) fn len(&self) -> usize {
        self.due.len()
    }

    pub(crate) fn clear(&mut self) {
        self.by_time.clear();
        self.due.clear();
    }
}

/// One async lock per lease id, created on demand and dropped when nobody holds or waits
/// for it. Per-id (not striped) because revoking a token lease re-enters the manager for
/// that token's other leases: striped locks would deadlock on collisions.
#[derive(Default)]
pub(crate) struct LeaseLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

pub(crate) struct LeaseGuard<'a> {
    locks: &'a LeaseLocks,
    id: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl LeaseLocks {
    pub(crate) async fn lock(&self, id: &str) -> LeaseGuard<'_> {
        let m = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(map.entry(id.to_owned()).or_default())
        };
        let guard = m.lock_owned().await;
        LeaseGuard {
            locks: self,
            id: id.to_owned(),
            guard: Some(guard),
        }
    }
}

impl Drop for LeaseGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self
            .locks
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map holds it: no holder and no waiter, so it can go.
        if map.get(&self.id).is_some_and(|m| Arc::strong_count(m) == 1) {
            map.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn schedule_orders_and_replaces() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut s = Schedule::default();
        assert!(s.set("b", t0 + Duration::from_secs(5)));
        assert!(s.set("a", t0 + Duration::from_secs(1)));
        assert!(!s.set("c", t0 + Duration::from_secs(9)));
        // Renewal moves "a" later: it is no longer first.
        assert!(!s.set("a", t0 + Duration::from_secs(7)));
        assert!(!s.set_if_absent("a", t0));
        assert_eq!(s.len(), 3);
        assert_eq!(s.pop_due(t0 + Duration::from_secs(4)), None);
        assert_eq!(s.pop_due(t0 + Duration::from_secs(8)).as_deref(), Some("b"));
        assert_eq!(s.pop_due(t0 + Duration::from_secs(8)).as_deref(), Some("a"));
        assert_eq!(s.pop_due(t0 + Duration::from_secs(8)), None);
        s.remove("c");
        assert_eq!(s.len(), 0);
        assert_eq!(s.next_due(), None);
    }

    #[tokio::test]
    async fn locks_are_released() {
        let locks = LeaseLocks::default();
        {
            let _g = locks.lock("x").await;
            assert_eq!(locks.map.lock().map(|m| m.len()).unwrap_or(0), 1);
        }
        assert_eq!(locks.map.lock().map(|m| m.len()).unwrap_or(9), 0);
    }
}
