//! [`StrettoCache`]: [`stretto::Cache`](::stretto::Cache) — a port of Ristretto — with a
//! time-to-live per entry.
//!
//! # How TTL works here
//!
//! Two deadlines, for two jobs, as with moka:
//!
//! - The **authoritative** deadline, from the injected [`Clock`], is stored beside the value;
//!   `get_ex` checks it, so it is exact on any clock.
//! - stretto's **own** per-entry TTL (`insert_with_ttl`), set to the time left until that
//!   deadline, lets stretto free the entry. stretto's clock cannot be injected, so this runs on
//!   real time. A TTL of `Duration::MAX` is stored without a TTL (stretto's "never"). stretto
//!   treats a TTL of zero as "never expires"; a zero TTL is passed as one nanosecond instead, so
//!   stretto frees it at its next cleanup.
//!
//! # When expired entries leave memory
//!
//! stretto's background thread sweeps expired entries in time buckets, on a ticker (every
//! 2 s by default), on real time only; `get` of an expired entry does not remove it.
//! [`maintain`](cache_core::ExpiringCache::maintain) calls `wait()`, which applies the inserts
//! still buffered — it does not sweep. On a hand-moved clock stretto frees nothing by expiry;
//! the report runs it in real time for that reason and says so.
//!
//! # Admission, buffering, keys
//!
//! Inserts are buffered and applied by stretto's thread: a `set_ex` may not be visible to the
//! next `get_ex` (the contract allows that miss), and TinyLFU admission may turn a new key away.
//! Every entry costs 1 against a budget of `capacity` (stretto's internal per-entry cost is not
//! counted), and stretto's counters are sized at ten per entry, as its documentation advises.
//! stretto never stores keys: it files a value under two 64-bit hashes of the key, so two keys
//! whose hashes both collide would share an entry (about one chance in 2^128 per pair).
//!
//! # Panics in the user's code
//!
//! Not survived: in the conformance suite's panic scenario, after a few hundred operations whose
//! keys' `Hash` or values' `Clone` panicked now and then, `wait()` — and so `maintain()` — never
//! returned (stretto's processing thread no longer answered its wait marker). The scenario is
//! skipped for stretto with that reason.
//!
//! # Resident count and memory
//!
//! [`resident_len`](cache_core::ExpiringCache::resident_len) is stretto's `len()`, exact after
//! `maintain()`. stretto allocates on its own thread (applying inserts): its memory is measured
//! process-wide, not on the calling thread. Its expiry index keeps one hash map per wall-clock
//! second in which entries expire (stretto 0.9, `ttl.rs`: the bucket is `unix() + 1`), so the
//! same entries take a few percent more or less memory when their sets span a second boundary:
//! two smaller tables instead of one (20 000 entries: 236.0 or 229.0 bytes each).

use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use cache_core::{Clock, Deadline, ExpiringCache, SystemClock, Timestamp, deadline};

use crate::Stored;

/// stretto's cache, of stored values.
type Inner<K, V> = ::stretto::Cache<K, Stored<V>>;

/// stretto's concurrent cache of about `capacity` entries, with a time-to-live per entry.
pub struct StrettoCache<K, V, C: Clock = SystemClock> {
    /// `None` when the capacity is zero (stretto refuses a zero budget).
    inner: Option<Inner<K, V>>,
    clock: C,
}

impl<K, V> StrettoCache<K, V, SystemClock>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of about `capacity` entries on the real monotonic clock.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, SystemClock::new())
    }
}

impl<K, V, C> StrettoCache<K, V, C>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    C: Clock,
{
    /// A cache of about `capacity` entries on `clock`. Capacities are clamped to 2^40 entries
    /// (stretto's counters are allocated up front, ten per entry).
    pub fn with_clock(capacity: usize, clock: C) -> Self {
        let capacity = capacity.min(1 << 40);
        let inner = (capacity > 0).then(|| {
            ::stretto::Cache::builder(capacity.saturating_mul(10).min(1 << 40), capacity as i64)
                .set_ignore_internal_cost(true)
                .finalize()
                .expect("stretto builds with a non-zero budget and counters")
        });
        StrettoCache { inner, clock }
    }

    /// stretto's TTL for an entry set at `now` to live until `deadline`: the time left (at
    /// least 1 ns: stretto reads zero as never), or `None` for no expiry.
    fn time_left(deadline: Deadline, now: Timestamp) -> Option<Duration> {
        (deadline != Deadline::NEVER).then(|| {
            deadline
                .timestamp()
                .saturating_duration_since(now)
                .max(Duration::from_nanos(1))
        })
    }
}

impl<K, V, C> ExpiringCache<K, V> for StrettoCache<K, V, C>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    C: Clock,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let inner = self.inner.as_ref()?;
        let now = self.clock.now();
        let stored = inner.get(key)?;
        let s = stored.value();
        s.is_live(now).then(|| s.value.clone())
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let Some(inner) = self.inner.as_ref() else {
            return;
        };
        let now = self.clock.now();
        let deadline = deadline(now, ttl);
        let stored = Stored { value, deadline };
        let _admitted = match Self::time_left(deadline, now) {
            Some(left) => inner.insert_with_ttl(key, stored, 1, left),
            None => inner.insert(key, stored, 1),
        };
    }

    /// stretto's `len()`: exact once buffered inserts are applied (after `maintain()`).
    fn resident_len(&self) -> usize {
        self.inner.as_ref().map_or(0, Inner::len)
    }

    /// stretto's `wait()`: applies every buffered insert. Expired entries are swept by
    /// stretto's own thread on real time, not here.
    fn maintain(&self) {
        if let Some(inner) = self.inner.as_ref() {
            let _ = inner.wait();
        }
    }
}

impl<K, V, C: Clock> fmt::Debug for StrettoCache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StrettoCache")
            .field("bounded", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}
