//! An example of a cache author's crate: [`MyCache`], a small FIFO cache with a time-to-live
//! per entry, written outside the workspace's caches — and measured by the `cachebench` report
//! and benches from this crate's own `benches/`, beside the workspace's strategies.
//!
//! - `tests/conformance.rs`: the conformance suite, one line;
//! - `benches/report.rs`: the whole report (`cargo bench -p my-cache --bench report`), a few
//!   lines;
//! - `benches/speed.rs`: the criterion benches (`cargo bench -p my-cache --bench speed`).
#![forbid(unsafe_code)]

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cache_core::{Clock, Deadline, ExpiringCache, deadline, is_live};

/// Key → (value, deadline), and the keys in insertion order.
type Entries<K, V> = (HashMap<K, (V, Deadline)>, VecDeque<K>);

/// A map of key → (value, deadline) and a queue of keys in insertion order; a full cache
/// evicts the oldest key; expired entries are freed when read or evicted.
#[derive(Debug)]
pub struct MyCache<K, V, C> {
    capacity: usize,
    clock: C,
    inner: Mutex<Entries<K, V>>,
}

impl<K, V, C> MyCache<K, V, C> {
    /// A cache of at most `capacity` entries on `clock`.
    pub fn with_clock(capacity: usize, clock: C) -> Self {
        MyCache {
            capacity,
            clock,
            inner: Mutex::new((HashMap::new(), VecDeque::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K, V, C> ExpiringCache<K, V> for MyCache<K, V, C>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let mut guard = self.lock();
        let (map, _) = &mut *guard;
        let (value, dl) = map.get(key)?;
        if is_live(*dl, now) {
            return Some(value.clone());
        }
        // Dropped after the lock: a value's `Drop` may call back into this cache.
        let expired = map.remove(key);
        drop(guard);
        drop(expired);
        None
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let dl = deadline(self.clock.now(), ttl);
        let mut guard = self.lock();
        let (map, order) = &mut *guard;
        if let Some(entry) = map.get_mut(&key) {
            let replaced = std::mem::replace(entry, (value, dl));
            drop(guard);
            drop(replaced);
            return;
        }
        // What this call frees is dropped after the lock is released.
        let mut evicted = Vec::new();
        while map.len() >= self.capacity {
            match order.pop_front() {
                Some(oldest) => evicted.push((map.remove(&oldest), oldest)),
                None => return,
            }
        }
        map.insert(key.clone(), (value, dl));
        order.push_back(key);
        drop(guard);
        drop(evicted);
    }

    fn resident_len(&self) -> usize {
        self.lock().0.len()
    }
}
