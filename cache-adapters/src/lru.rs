//! [`LruTtlCache`]: [`lru::LruCache`](::lru::LruCache) in a `Mutex`, with a deadline per entry.
//!
//! # How TTL works here
//!
//! `lru` has no notion of time. The deadline from the injected clock is stored beside the value;
//! `get_ex` checks it (`now <= deadline` is live) before returning the value. An overwrite
//! replaces value and deadline and makes the entry the most recently used.
//!
//! # When expired entries leave memory
//!
//! Only two things free an entry: a `get_ex` that finds it expired (it removes it on the spot),
//! or the LRU order pushing it out when a new key arrives at capacity. An expired entry that is
//! never read again stays resident until it becomes the least recently used and a new key
//! displaces it — in a cache whose valid set is smaller than its capacity, that is the article's
//! failure mode. [`maintain`](cache_core::ExpiringCache::maintain) does nothing: `lru` has no
//! housekeeping, and scanning for expired entries would not be what a user of `lru` gets.
//!
//! # Capacity
//!
//! `lru` allocates its whole table up front for the capacity it is given (the report's *fixed*
//! bytes). Up to 2^24 entries this adapter does the same; above that it builds the table empty
//! and lets it grow as entries arrive, since allocating it at once would abort the process for
//! a capacity such as `usize::MAX`.
//!
//! # Panics in the key's code
//!
//! `lru` hashes and compares keys inside its own operations, some of them half-way through a
//! change: a key whose `Hash` or `Eq` panics there would leave its list and map disagreeing,
//! after which every eviction panics and an entry is never freed. So the adapter stores each
//! key in a zero-cost wrapper (`guard.rs`) whose `Hash` and `Eq` catch a panic of the user's
//! code (after which they make every key distinct, so `lru` never mistakes one entry for
//! another); `lru` then finishes its change or gives up before making one, the adapter sees the
//! caught panic,
//! replaces the `LruCache` by an empty one (dropping every entry once — `lru` frees what its
//! map holds, and every entry is in it), and resumes the panic. The wrapper has the key's size,
//! so the memory measured is `lru`'s own.

use std::fmt;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cache_core::{Clock, ExpiringCache, SystemClock, deadline};

use crate::Stored;
use crate::guard::{Guarded, take_caught};

/// The largest capacity whose table is allocated up front, as `lru` does.
const PREALLOCATE_UP_TO: usize = 1 << 24;

type Lru<K, V> = ::lru::LruCache<Guarded<K>, Stored<V>>;

/// An LRU cache of at most `capacity` entries, with a time-to-live per entry.
///
/// Capacity is exact. `capacity == 0` keeps nothing.
pub struct LruTtlCache<K, V, C: Clock = SystemClock> {
    /// `None` when the capacity is zero (`lru` needs a non-zero capacity).
    inner: Option<Mutex<Lru<K, V>>>,
    clock: C,
}

fn new_lru<K: Hash + Eq, V>(capacity: NonZeroUsize) -> Lru<K, V> {
    if capacity.get() <= PREALLOCATE_UP_TO {
        ::lru::LruCache::new(capacity)
    } else {
        let mut lru = ::lru::LruCache::unbounded();
        lru.resize(capacity);
        lru
    }
}

impl<K: Hash + Eq, V> LruTtlCache<K, V, SystemClock> {
    /// A cache of at most `capacity` entries on the real monotonic clock.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, SystemClock::new())
    }
}

impl<K: Hash + Eq, V, C: Clock> LruTtlCache<K, V, C> {
    /// A cache of at most `capacity` entries on `clock`.
    pub fn with_clock(capacity: usize, clock: C) -> Self {
        LruTtlCache {
            inner: NonZeroUsize::new(capacity).map(|c| Mutex::new(new_lru(c))),
            clock,
        }
    }

    /// The capacity the cache was built with.
    pub fn capacity(&self) -> usize {
        self.inner.as_ref().map_or(0, |m| lock(m).cap().get())
    }
}

/// A panic inside `lru` while the lock was held cannot leave half a value behind that we would
/// read: at worst an entry is missing, which the contract allows. So poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K, V, C> ExpiringCache<K, V> for LruTtlCache<K, V, C>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let inner = self.inner.as_ref()?;
        let now = self.clock.now();
        let mut lru = lock(inner);
        let stored = lru.get(key)?;
        if stored.is_live(now) {
            return Some(stored.value.clone());
        }
        // Expired: free it now rather than leave it until LRU pushes it out (dropped once the
        // lock is released).
        let expired = lru.pop(key);
        drop(lru);
        drop(expired);
        None
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let Some(inner) = self.inner.as_ref() else {
            return;
        };
        let deadline = deadline(self.clock.now(), ttl);
        let mut lru = lock(inner);
        let put = catch_unwind(AssertUnwindSafe(|| {
            // `push`, not `put`: it hands back the entry it replaced or evicted, which is dropped
            // once the lock is released.
            lru.push(Guarded(key), Stored { value, deadline })
        }));
        let caught = take_caught();
        let (replaced, escaped) = match put {
            Ok(replaced) => (replaced, None),
            Err(payload) => (None, Some(payload)),
        };
        // A key's `Hash` or `Eq` panicked inside `lru` (an entry may be filed under a wrong
        // hash, or `lru` gave up on an eviction it could not find), or `put` unwound: start
        // afresh. Every entry is in `lru`'s map either way, so dropping the old cache drops
        // each of them once.
        let broken = (caught.is_some() || escaped.is_some()).then(|| {
            let capacity = lru.cap();
            std::mem::replace(&mut *lru, new_lru(capacity))
        });
        drop(lru);
        drop((replaced, broken));
        if let Some(payload) = caught.or(escaped) {
            resume_unwind(payload);
        }
    }

    fn resident_len(&self) -> usize {
        self.inner.as_ref().map_or(0, |m| lock(m).len())
    }
}

impl<K: Hash + Eq, V, C: Clock> fmt::Debug for LruTtlCache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (len, cap) = self.inner.as_ref().map_or((0, 0), |m| {
            let lru = lock(m);
            (lru.len(), lru.cap().get())
        });
        f.debug_struct("LruTtlCache")
            .field("len", &len)
            .field("capacity", &cap)
            .finish_non_exhaustive()
    }
}
