//! [`CachedTtlCache`]: [`cached::ExpiringLruCache`](::cached::ExpiringLruCache) — the
//! memoization crate's LRU store with a per-value expiry — in a `Mutex`.
//!
//! # How TTL works here
//!
//! `cached` asks each value whether it has expired ([`Expires`](::cached::Expires)); it has no
//! clock of its own. The adapter stores the value beside its deadline from the injected clock,
//! and answers `is_expired` against that clock's time, taken once at the start of each call
//! (kept in a thread-local for the call's duration: `cached` runs its checks on the calling
//! thread, under the adapter's lock). So `get_ex` is exact on any clock, and `cached`'s own
//! expiry follows the injected clock too. An overwrite replaces value and deadline and makes
//! the entry the most recently used.
//!
//! # When expired entries leave memory
//!
//! As `cached` documents: an expired value stays allocated "until a mutating operation,
//! `evict`, or store-specific cleanup". Precisely, with this store: a `get_ex` that finds it
//! expired removes it; an overwrite of its key replaces it; the LRU order pushes it out when a
//! new key arrives at capacity; and [`maintain`](cache_core::ExpiringCache::maintain) calls
//! `evict()`, which scans the store and frees every expired entry. Nothing else frees it: in a
//! cache whose valid set is smaller than its capacity and that is never maintained, expired
//! entries fill it — the article's failure mode, in a crate many reach for.
//!
//! # Drops under the lock
//!
//! `cached` 4.1 drops, inside its own calls, the entries it removes: the expired entry
//! `cache_get` finds, the least recently used entry `cache_set` evicts, the expired value an
//! overwrite replaces, and everything `evict()` frees (`stores/expiring_lru.rs`) — all while
//! the adapter's `Mutex` is held, since those calls need it. A key or value whose `Drop` calls
//! back into this cache deadlocks there; [`DROPS_UNDER_LOCK`] says so to the conformance suite.
//! (The adapter drops what it is handed back — a live value replaced by an overwrite — after
//! the lock.)
//!
//! # Resident count
//!
//! [`resident_len`](cache_core::ExpiringCache::resident_len) is `cache_size()`: every stored
//! entry, expired ones included (exact).
//!
//! # Capacity
//!
//! Exact. `cached` allocates its table up front for the capacity; up to 2^24 entries the adapter
//! lets it, above that it builds the store at 2^24 and raises the bound without allocating
//! (`set_max_size`), so a capacity such as `usize::MAX` does not abort the process. A capacity
//! of 0 keeps nothing (`cached` refuses 0).
//!
//! # Panics in the key's or value's code
//!
//! A panic in a key's `Hash`, `Eq` or `Clone` or a value's `Drop` inside `cached` 4.1 can leave
//! its hash table and its LRU order out of step, after which every eviction panics ("LruCache
//! internal invariant violated") and can abort the process when a drop panics during that
//! unwinding. A call that unwinds therefore replaces the store by an empty one (the old
//! entries dropped once the lock is released) before the panic goes on to the caller.

use std::cell::Cell;
use std::fmt;
use std::hash::Hash;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ::cached::Cached as _;
use cache_core::{Clock, ExpiringCache, SystemClock, Timestamp, deadline};

use crate::Stored;

/// Why a `Drop` that calls back into a [`CachedTtlCache`] deadlocks (see the module docs),
/// for the conformance suite.
pub const DROPS_UNDER_LOCK: &str = "cached 4.1 drops the entries it evicts or finds expired inside \
     cache_get, cache_set and evict(), which run under the adapter's Mutex";

/// The largest capacity whose table is allocated up front, as `cached` does.
const PREALLOCATE_UP_TO: usize = 1 << 24;

thread_local! {
    /// The injected clock's time for the call under way on this thread.
    static NOW: Cell<Timestamp> = const { Cell::new(Timestamp::ZERO) };
}

impl<V> ::cached::Expires for Stored<V> {
    fn is_expired(&self) -> bool {
        !self.is_live(NOW.with(Cell::get))
    }
}

type Store<K, V> = ::cached::ExpiringLruCache<K, Stored<V>>;

/// `cached`'s expiring LRU store of at most `capacity` entries, with a time-to-live per entry.
pub struct CachedTtlCache<K, V, C: Clock = SystemClock> {
    /// `None` when the capacity is zero.
    inner: Option<Mutex<Store<K, V>>>,
    clock: C,
}

/// An empty store of at most `capacity` (> 0) entries.
fn new_store<K: Hash + Eq + Clone, V>(capacity: usize) -> Store<K, V> {
    let mut store = Store::<K, V>::builder()
        .max_size(capacity.min(PREALLOCATE_UP_TO))
        .build()
        .expect("a non-zero capacity of at most 2^24 entries builds");
    if capacity > PREALLOCATE_UP_TO {
        store.set_max_size(capacity);
    }
    store
}

impl<K: Hash + Eq + Clone, V> CachedTtlCache<K, V, SystemClock> {
    /// A cache of at most `capacity` entries on the real monotonic clock.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, SystemClock::new())
    }
}

impl<K: Hash + Eq + Clone, V, C: Clock> CachedTtlCache<K, V, C> {
    /// A cache of at most `capacity` entries on `clock`.
    pub fn with_clock(capacity: usize, clock: C) -> Self {
        let inner = (capacity > 0).then(|| Mutex::new(new_store(capacity)));
        CachedTtlCache { inner, clock }
    }

    /// Runs `f` on the store, locked at `now`. A panic in the user's code inside `cached` (a
    /// key's `Hash`, `Eq` or `Clone`, a value's `Drop`) can leave its hash table and LRU order
    /// out of step, after which every eviction panics ("LruCache internal invariant
    /// violated") and an entry is never freed. So the store is replaced by an empty one — the
    /// old one, every entry in its order list, dropped once the lock is released — before the
    /// panic goes on to the caller.
    fn with_store<T>(
        &self,
        m: &Mutex<Store<K, V>>,
        now: Timestamp,
        f: impl FnOnce(&mut Store<K, V>) -> T,
    ) -> T {
        let mut store = Self::lock_at(m, now);
        match catch_unwind(AssertUnwindSafe(|| f(&mut store))) {
            Ok(out) => out,
            Err(panic) => {
                // The bound is a field of the store, read as it was set.
                let capacity = store.capacity();
                let broken = std::mem::replace(&mut *store, new_store(capacity));
                drop(store);
                drop(broken);
                resume_unwind(panic)
            }
        }
    }

    /// The store, with the clock's time set for `cached`'s expiry checks on this thread.
    fn lock<'a>(&self, m: &'a Mutex<Store<K, V>>) -> MutexGuard<'a, Store<K, V>> {
        Self::lock_at(m, self.clock.now())
    }

    /// The store, with `now` set for `cached`'s expiry checks on this thread (a call that has
    /// read the clock already).
    fn lock_at(m: &Mutex<Store<K, V>>, now: Timestamp) -> MutexGuard<'_, Store<K, V>> {
        NOW.with(|n| n.set(now));
        // A panic in the user's code under the lock: the store was replaced before the panic
        // went on (see `with_store`), so what the lock guards is consistent.
        m.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K, V, C> ExpiringCache<K, V> for CachedTtlCache<K, V, C>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let inner = self.inner.as_ref()?;
        // `cache_get` removes an expired entry it finds.
        self.with_store(inner, self.clock.now(), |store| {
            store.cache_get(key).map(|s| s.value.clone())
        })
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let Some(inner) = self.inner.as_ref() else {
            return;
        };
        let now = self.clock.now();
        let deadline = deadline(now, ttl);
        // The entry replaced is dropped once the lock is released.
        let replaced = self.with_store(inner, now, |store| {
            store.cache_set(key, Stored { value, deadline })
        });
        drop(replaced);
    }

    fn resident_len(&self) -> usize {
        self.inner.as_ref().map_or(0, |m| self.lock(m).cache_size())
    }

    /// `cached`'s `evict()`: scans the store and frees every expired entry.
    fn maintain(&self) {
        if let Some(m) = self.inner.as_ref() {
            let _ = self.with_store(m, self.clock.now(), Store::evict);
        }
    }
}

impl<K, V, C: Clock> fmt::Debug for CachedTtlCache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTtlCache")
            .field("bounded", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}
