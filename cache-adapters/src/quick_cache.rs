//! [`QuickTtlCache`]: [`quick_cache::sync::Cache`](::quick_cache::sync::Cache), with a deadline
//! per entry.
//!
//! # How TTL works here
//!
//! `quick_cache` has no notion of time. The deadline from the injected clock is stored beside
//! the value; `get_ex` checks it (`now <= deadline` is live). An overwrite replaces value and
//! deadline.
//!
//! # When expired entries leave memory
//!
//! Only two things free an entry: a `get_ex` that finds it expired — it removes it with
//! `remove_if`, which re-checks the deadline under the shard's lock, so a fresh value another
//! thread set in the meantime is never removed — or `quick_cache`'s own eviction (CLOCK-PRO)
//! pushing it out when new keys arrive at capacity. An expired entry that is never read again
//! stays resident until evicted. [`maintain`](cache_core::ExpiringCache::maintain) does nothing.
//!
//! Eviction does not reach every entry alike. While the cache fills, quick_cache admits entries
//! into its *hot* section (up to 97 % of capacity, its default hot allocation), and it evicts a
//! hot entry only when a cold entry is promoted past that share — which a stream of new keys,
//! each set once and never read, never does. Under such a stream (the article's workload: ids
//! seen once, cached "just in case"), the entries admitted during the fill stay resident long
//! after they expire, however many new keys arrive; only the newer, cold entries churn. The
//! adapter's `retention` tests pin this down, and the report measures it.
//!
//! # Capacity is approximate
//!
//! The cache is sharded and each shard holds `ceil(capacity / shards)` entries, so up to
//! `shards - 1` entries more than `capacity` may be resident; with a small capacity it uses
//! fewer shards. Its admission can also turn away a new key, which the contract allows.
//!
//! # Panics in the key's or value's code
//!
//! A panic in a key's `Hash` or `Eq` or a value's `Drop` inside `quick_cache` 0.7 while it
//! changes a shard can leave the shard's weight below what it holds; a later eviction then
//! subtracts past zero (a panic in a debug build; in a release build, a shard that believes it
//! has room for ever). A call that changes the cache and unwinds therefore empties it (every
//! entry dropped once, inside `quick_cache`'s shard locks) before the panic goes on to the
//! caller. Another thread using the cache in the instant between the panic and the emptying
//! may still meet the inconsistent shard.

use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use cache_core::{Clock, ExpiringCache, SystemClock, deadline};

use crate::Stored;

/// The cache type inside, with hasher `S`.
type Inner<K, V, S> = ::quick_cache::sync::Cache<
    K,
    Stored<V>,
    ::quick_cache::UnitWeighter,
    S,
    ::quick_cache::sync::DefaultLifecycle<K, Stored<V>>,
>;

/// A concurrent, sharded cache of about `capacity` entries, with a time-to-live per entry.
///
/// `S` is the hasher, quick_cache's own (randomly seeded) by default; a fixed-seed hasher
/// ([`QuickTtlCache::with_hasher`]) makes the shard each key lands in, and so the entries held
/// near capacity, the same from run to run.
pub struct QuickTtlCache<K, V, C: Clock = SystemClock, S = ::quick_cache::DefaultHashBuilder> {
    inner: Inner<K, V, S>,
    clock: C,
}

impl<K: Hash + Eq, V: Clone> QuickTtlCache<K, V, SystemClock> {
    /// A cache of about `capacity` entries on the real monotonic clock.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, SystemClock::new())
    }
}

impl<K: Hash + Eq, V: Clone, C: Clock> QuickTtlCache<K, V, C> {
    /// A cache of about `capacity` entries on `clock`.
    pub fn with_clock(capacity: usize, clock: C) -> Self {
        Self::with_hasher(capacity, clock, Default::default())
    }
}

impl<K: Hash + Eq, V: Clone, C: Clock, S: BuildHasher + Clone> QuickTtlCache<K, V, C, S> {
    /// A cache of about `capacity` entries on `clock`, hashing with `hasher`.
    pub fn with_hasher(capacity: usize, clock: C, hasher: S) -> Self {
        QuickTtlCache {
            inner: ::quick_cache::sync::Cache::with(
                capacity,
                capacity as u64,
                ::quick_cache::UnitWeighter,
                hasher,
                Default::default(),
            ),
            clock,
        }
    }

    /// Runs `f`, a call that changes the cache. A panic in the user's code inside it (a key's
    /// `Hash` or `Eq`, a value's `Drop`) can leave `quick_cache`'s books wrong — a shard's
    /// weight below what it holds, after which a later eviction subtracts past zero (a panic
    /// in a debug build, and a shard that believes it has room forever in a release one). So
    /// the cache is emptied (every entry dropped once) before the panic goes on to the caller.
    fn changing<T>(&self, f: impl FnOnce(&Inner<K, V, S>) -> T) -> T {
        catch_unwind(AssertUnwindSafe(|| f(&self.inner))).unwrap_or_else(|panic| {
            self.inner.clear();
            resume_unwind(panic)
        })
    }

    /// The number of shards: the most entries above `capacity` that may be resident is one less.
    pub fn shards(&self) -> usize {
        self.inner.num_shards()
    }
}

impl<K, V, C, S> ExpiringCache<K, V> for QuickTtlCache<K, V, C, S>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
    S: BuildHasher + Clone + Send + Sync,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let stored = self.inner.get(key)?;
        if stored.is_live(now) {
            return Some(stored.value);
        }
        // Expired: free it, unless another thread has set a live value meanwhile.
        self.changing(|inner| inner.remove_if(key, |s| !s.is_live(now)));
        None
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let deadline = deadline(self.clock.now(), ttl);
        self.changing(|inner| inner.insert(key, Stored { value, deadline }));
    }

    fn resident_len(&self) -> usize {
        self.inner.len()
    }
}

impl<K: Hash + Eq, V: Clone, C: Clock, S: BuildHasher + Clone> fmt::Debug
    for QuickTtlCache<K, V, C, S>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuickTtlCache")
            .field("len", &self.inner.len())
            .field("capacity", &self.inner.capacity())
            .field("shards", &self.inner.num_shards())
            .finish_non_exhaustive()
    }
}
