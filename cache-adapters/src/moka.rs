//! [`MokaCache`]: [`moka::sync::Cache`](::moka::sync::Cache) with a time-to-live per entry.
//!
//! # How TTL works here
//!
//! Two deadlines, for two jobs:
//!
//! - The **authoritative** deadline, from the injected [`Clock`], is stored beside the value.
//!   `get_ex` checks it (`now <= deadline` is live), so `get_ex` is exact on any clock — a
//!   [`cache_core::ManualClock`] included.
//! - moka's **own** per-entry expiry, set through its [`Expiry`](::moka::Expiry) trait to the
//!   time left until that deadline, lets moka free the entry. moka's clock cannot be injected
//!   (moka-rs/moka#522: its mock clock exists only in its own tests), so this second deadline
//!   runs on real time, whatever clock the adapter was given.
//!
//! moka's `Expiry::expire_after_update` by default keeps the *old* expiry when a key is
//! overwritten; this adapter overrides it so an overwrite moves moka's deadline too, shorter or
//! longer. A TTL of `Duration::MAX` becomes "no expiry" for moka.
//!
//! # When expired entries leave memory
//!
//! In moka's housekeeping: [`maintain`](cache_core::ExpiringCache::maintain) runs it
//! (`run_pending_tasks`), and moka also runs it piggy-backed on later reads and writes. It frees
//! an entry once *real* time has passed moka's deadline; its per-entry timer wheel ticks about
//! every 1.07 s, so an entry may outlive its deadline by about that much. `get_ex` of an expired
//! entry does not remove it. moka lowers its entry count in one housekeeping run and drops the
//! value itself in a later one, so freeing takes two `maintain()` calls past the tick that
//! expires it (seen in this crate's `retention` tests). On a hand-moved clock, moka's reclamation does not follow the clock
//! at all — the report runs moka in real time for that reason and says so.
//!
//! # Panics in the key's code
//!
//! moka hashes keys while it grows its table, under a lock: a key whose `Hash` panicked there
//! would poison that lock, and every later growth would panic ("Poisoned"). The adapter stores
//! each key in a zero-cost wrapper (`guard.rs`) whose `Hash` and `Eq` catch such a panic; after
//! the call, the adapter invalidates every entry (`invalidate_all`: moka never serves them
//! again and frees them in its housekeeping or with the cache) and resumes the panic.
//!
//! # Resident count
//!
//! [`resident_len`](cache_core::ExpiringCache::resident_len) is moka's `entry_count()`, which is
//! exact only after `maintain()`: moka applies inserts and evictions to its bookkeeping lazily.

use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::panic::resume_unwind;
use std::time::{Duration, Instant};

use cache_core::{Clock, Deadline, ExpiringCache, SystemClock, deadline};

use crate::Stored;
use crate::guard::{Guarded, take_caught};

/// moka's eviction policy, chosen by the caller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MokaPolicy {
    /// TinyLFU: moka's default. Admission may turn away a new key that is less popular than the
    /// entry it would evict (the contract allows that miss).
    #[default]
    TinyLfu,
    /// Plain least-recently-used, every new key admitted.
    Lru,
}

/// Tells moka, per entry, how long until the authoritative deadline.
struct DeadlineExpiry<C> {
    clock: C,
}

impl<C: Clock> DeadlineExpiry<C> {
    fn time_left(&self, deadline: Deadline) -> Option<Duration> {
        (deadline != Deadline::NEVER).then(|| {
            deadline
                .timestamp()
                .saturating_duration_since(self.clock.now())
        })
    }
}

impl<K, V, C: Clock> ::moka::Expiry<K, Stored<V>> for DeadlineExpiry<C> {
    fn expire_after_create(&self, _: &K, stored: &Stored<V>, _: Instant) -> Option<Duration> {
        self.time_left(stored.deadline)
    }

    /// An overwrite brings its own deadline (moka's default would keep the old one).
    fn expire_after_update(
        &self,
        _: &K,
        stored: &Stored<V>,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        self.time_left(stored.deadline)
    }
}

/// moka's concurrent cache of at most `capacity` entries, with a time-to-live per entry.
///
/// `S` is the hasher, std's randomly seeded `RandomState` by default (moka's own default); a
/// fixed-seed hasher ([`MokaCache::with_hasher`]) makes moka's internal table growth the same
/// from run to run.
pub struct MokaCache<K, V, C: Clock = SystemClock, S = RandomState> {
    inner: ::moka::sync::Cache<Guarded<K>, Stored<V>, S>,
    clock: C,
}

impl<K, V> MokaCache<K, V, SystemClock>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `capacity` entries, TinyLFU policy, on the real monotonic clock.
    pub fn new(capacity: u64) -> Self {
        Self::with_clock(capacity, SystemClock::new())
    }
}

impl<K, V, C> MokaCache<K, V, C>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    C: Clock + Clone + 'static,
{
    /// A cache of at most `capacity` entries, TinyLFU policy, on `clock`.
    pub fn with_clock(capacity: u64, clock: C) -> Self {
        Self::with_policy(capacity, clock, MokaPolicy::TinyLfu)
    }

    /// A cache of at most `capacity` entries with the given eviction `policy`, on `clock`.
    pub fn with_policy(capacity: u64, clock: C, policy: MokaPolicy) -> Self {
        Self::with_hasher(capacity, clock, policy, RandomState::new())
    }
}

impl<K, V, C, S> MokaCache<K, V, C, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    C: Clock + Clone + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// A cache of at most `capacity` entries with `policy`, on `clock`, hashing with `hasher`.
    pub fn with_hasher(capacity: u64, clock: C, policy: MokaPolicy, hasher: S) -> Self {
        let policy = match policy {
            MokaPolicy::TinyLfu => ::moka::policy::EvictionPolicy::tiny_lfu(),
            MokaPolicy::Lru => ::moka::policy::EvictionPolicy::lru(),
        };
        let inner = ::moka::sync::Cache::builder()
            .max_capacity(capacity)
            .eviction_policy(policy)
            .expire_after(DeadlineExpiry {
                clock: clock.clone(),
            })
            .build_with_hasher(hasher);
        MokaCache { inner, clock }
    }
}

impl<K, V, C: Clock, S> MokaCache<K, V, C, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    /// After a call into moka: if a key's `Hash` or `Eq` panicked inside it (caught, see
    /// `guard.rs`), an entry may be filed where lookups miss it, or twice; every entry is
    /// invalidated (moka never serves an invalidated entry, and drops it in its housekeeping or
    /// with the cache), and the panic resumed.
    fn recover(&self) {
        if let Some(payload) = take_caught() {
            self.inner.invalidate_all();
            resume_unwind(payload);
        }
    }
}

impl<K, V, C, S> ExpiringCache<K, V> for MokaCache<K, V, C, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    C: Clock,
    S: BuildHasher + Clone + Send + Sync + 'static,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let stored = self.inner.get(key);
        self.recover();
        let stored = stored?;
        stored.is_live(now).then_some(stored.value)
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let deadline = deadline(self.clock.now(), ttl);
        self.inner.insert(Guarded(key), Stored { value, deadline });
        self.recover();
    }

    /// moka's `entry_count()`: exact only after [`maintain`](Self::maintain).
    fn resident_len(&self) -> usize {
        usize::try_from(self.inner.entry_count()).unwrap_or(usize::MAX)
    }

    /// moka's `run_pending_tasks`: applies deferred bookkeeping, evicts over capacity, and frees
    /// entries whose deadline has passed in real time.
    fn maintain(&self) {
        self.inner.run_pending_tasks();
        self.recover();
    }
}

impl<K, V, C: Clock, S> fmt::Debug for MokaCache<K, V, C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MokaCache")
            .field("entry_count", &self.inner.entry_count())
            .field("max_capacity", &self.inner.policy().max_capacity())
            .finish_non_exhaustive()
    }
}
