//! The `hashmap` baseline: what a cache costs with no bound and no expiry at all.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use cache_core::{Clock, Deadline, ExpiringCache, deadline, is_live};

/// A `std` `HashMap` of key → (value, deadline) in a `Mutex`. `get_ex` still honours deadlines
/// (the contract), but nothing is ever removed.
pub struct HashMapBaseline<K, V, C> {
    map: Mutex<HashMap<K, (V, Deadline)>>,
    clock: C,
}

impl<K, V, C> HashMapBaseline<K, V, C> {
    /// An empty map on `clock`.
    pub fn with_clock(clock: C) -> Self {
        HashMapBaseline {
            map: Mutex::new(HashMap::new()),
            clock,
        }
    }
}

impl<K, V, C> fmt::Debug for HashMapBaseline<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashMapBaseline").finish_non_exhaustive()
    }
}

impl<K, V, C> ExpiringCache<K, V> for HashMapBaseline<K, V, C>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let (v, dl) = map.get(key)?;
        is_live(*dl, now).then(|| v.clone())
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let dl = deadline(self.clock.now(), ttl);
        // The replaced value is dropped after the statement has released the lock.
        let replaced = self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (value, dl));
        drop(replaced);
    }

    fn resident_len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
