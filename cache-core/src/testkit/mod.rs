//! The conformance suite: scenarios that check an [`ExpiringCache`] against the contract.
//!
//! Any implementation — in this workspace or a third party's — runs the whole suite with one
//! [`conformance_tests!`](crate::conformance_tests) call in its `tests/`, which expands to one
//! `#[test]` per scenario:
//!
//! ```
//! # use std::collections::{HashMap, VecDeque};
//! # use std::hash::Hash;
//! # use std::sync::{Mutex, MutexGuard, PoisonError};
//! # use std::time::Duration;
//! # use cache_core::{Clock, Deadline, ExpiringCache, ManualClock};
//! # /// A small, correct FIFO cache standing in for yours.
//! # struct MyCache<K, V> { clock: ManualClock, cap: usize, inner: Mutex<(HashMap<K, (V, Deadline)>, VecDeque<K>)> }
//! # impl<K, V> MyCache<K, V> {
//! #     fn with_clock(cap: usize, clock: ManualClock) -> Self {
//! #         MyCache { clock, cap, inner: Mutex::new((HashMap::new(), VecDeque::new())) }
//! #     }
//! #     fn lock(&self) -> MutexGuard<'_, (HashMap<K, (V, Deadline)>, VecDeque<K>)> {
//! #         self.inner.lock().unwrap_or_else(PoisonError::into_inner)
//! #     }
//! # }
//! # impl<K: Hash + Eq + Clone + Send, V: Clone + Send> ExpiringCache<K, V> for MyCache<K, V> {
//! #     fn get_ex(&self, k: &K) -> Option<V> {
//! #         let now = self.clock.now();
//! #         let g = self.lock();
//! #         let (v, dl) = g.0.get(k)?;
//! #         cache_core::is_live(*dl, now).then(|| v.clone())
//! #     }
//! #     fn set_ex(&self, k: K, v: V, ttl: Duration) {
//! #         let dl = cache_core::deadline(self.clock.now(), ttl);
//! #         let mut g = self.lock();
//! #         let (map, order) = &mut *g;
//! #         if let Some(e) = map.get_mut(&k) { *e = (v, dl); return; }
//! #         if map.len() >= self.cap {
//! #             match order.pop_front() { Some(old) => { map.remove(&old); } None => return }
//! #         }
//! #         map.insert(k.clone(), (v, dl));
//! #         order.push_back(k);
//! #     }
//! #     fn resident_len(&self) -> usize { self.lock().0.len() }
//! # }
//! use cache_core::testkit::{Capabilities, run_all};
//!
//! // In tests/conformance.rs: one #[test] per scenario.
//! cache_core::conformance_tests!(
//!     |clock, capacity| MyCache::with_clock(capacity, clock),
//!     Capabilities::new(),
//! );
//!
//! // Or run them all at once and look at the outcomes.
//! let results = run_all(|clock, capacity| MyCache::with_clock(capacity, clock), Capabilities::new());
//! assert!(results.iter().all(|r| r.outcome.is_ok()), "{results:?}");
//! ```
//!
//! Every scenario is also a plain public function, generic over a constructor that receives the
//! [`ManualClock`] the scenario moves and the capacity it wants, and [`run_all`] runs them all
//! and reports each outcome instead of panicking (this crate's own tests use it to prove that
//! deliberately broken caches are caught).
//!
//! The scenarios use `u64` keys and values, except [`survives_panics_in_user_code`], whose keys
//! and values panic on command in their `Hash`, `Eq`, `Clone` and `Drop`, and
//! [`drop_may_call_back_into_the_cache`], whose values call back into the cache when dropped
//! (so the constructor
//! given to [`conformance_tests!`](crate::conformance_tests) should be generic over the key and
//! value types). A scenario that cannot apply to an implementation
//! (say, one whose expiry does not follow the injected clock) returns
//! [`Outcome::Skipped`] with the reason, and prints it, instead of passing silently.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use crate::{Clock, Deadline, ExpiringCache, ManualClock, Timestamp, is_live};

mod panics;
mod reentry;

pub use panics::{Fuse, InjectedPanic, Trap, TrapKey, TrapValue, survives_panics_in_user_code};
pub use reentry::{ReentrantValue, Reentry, drop_may_call_back_into_the_cache};

/// How exactly an implementation keeps to the capacity it was built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityBound {
    /// Never more than `capacity` entries resident (after [`ExpiringCache::maintain`]).
    Exact,
    /// No bound at all: a baseline that is not a cache. The capacity scenario is skipped.
    Unbounded,
    /// Never more than `capacity` in all, but split between `shards` parts chosen by the key's
    /// hash, each with its own share: a part may evict while another has room, so only
    /// `capacity / shards` entries are sure to fit.
    Sharded {
        /// The number of parts.
        shards: usize,
    },
    /// At most `capacity` plus `slack_percent` % of it, rounded up, plus `slack_entries`
    /// (sharded caches that round their capacity per shard).
    Approximate {
        /// Allowed excess, in percent of the capacity.
        slack_percent: u32,
        /// Allowed excess, in entries, on top of the percentage.
        slack_entries: usize,
    },
}

/// What a panic in the user's `Hash`, `Eq`, `Clone` or `Drop` leaves behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanicSafety {
    /// The cache serves on correctly, keeps to its capacity, and drops every key and value
    /// exactly once.
    Full,
    /// After a panic in `Hash`, `Eq` or `Clone`, the cache serves on correctly (no panic, no
    /// wrong or expired value), but entries caught up in the panic may stay allocated past its
    /// capacity and may never be freed; a panic in `Drop` is not survived. `why` says where
    /// that comes from. The suite checks what is promised and reports the rest as skipped.
    ServesOn {
        /// Why the rest cannot be promised.
        why: &'static str,
    },
    /// A panic in the user's code can leave the cache unusable (it hangs or panics from then
    /// on): `why` says how. The scenario is skipped with that reason.
    NotSurvived {
        /// What goes wrong.
        why: &'static str,
    },
}

/// What an implementation declares about itself, so that the suite checks exactly what it
/// promises and says what it skips.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Capabilities {
    /// Whether `get_ex` decides expiry on the injected clock. When `false`, the scenarios that
    /// move the clock are skipped (reported as such).
    pub expiry_follows_clock: bool,
    /// How exactly the capacity is kept.
    pub capacity: CapacityBound,
    /// Whether [`ExpiringCache::maintain`] frees every expired entry, on the injected clock.
    pub maintain_frees_expired: bool,
    /// What a panic in the user's code leaves behind; see [`PanicSafety`].
    pub panic_safety: PanicSafety,
    /// For an implementation that frees some entries only after it is dropped (deferred,
    /// epoch-based reclamation): a function that lets that reclamation run, called between
    /// checks until every key and value has been dropped (a few hundred times at most).
    pub settle_after_drop: Option<fn()>,
    /// For an implementation that drops keys or values while holding its own lock, so that a
    /// `Drop` calling back into the cache would deadlock: why. The re-entrancy scenario
    /// ([`drop_may_call_back_into_the_cache`]) is then skipped with that reason.
    pub drops_under_lock: Option<&'static str>,
}

impl Capabilities {
    /// Expiry follows the injected clock, exact capacity, `maintain` frees nothing in particular.
    pub const fn new() -> Capabilities {
        Capabilities {
            expiry_follows_clock: true,
            capacity: CapacityBound::Exact,
            maintain_frees_expired: false,
            panic_safety: PanicSafety::Full,
            settle_after_drop: None,
            drops_under_lock: None,
        }
    }

    /// Sets [`Capabilities::panic_safety`].
    pub const fn panic_safety(mut self, safety: PanicSafety) -> Capabilities {
        self.panic_safety = safety;
        self
    }

    /// Sets [`Capabilities::expiry_follows_clock`].
    pub const fn expiry_follows_clock(mut self, yes: bool) -> Capabilities {
        self.expiry_follows_clock = yes;
        self
    }

    /// Sets [`Capabilities::capacity`].
    pub const fn capacity(mut self, bound: CapacityBound) -> Capabilities {
        self.capacity = bound;
        self
    }

    /// Sets [`Capabilities::settle_after_drop`].
    pub const fn settle_after_drop(mut self, settle: fn()) -> Capabilities {
        self.settle_after_drop = Some(settle);
        self
    }

    /// Declares [`Capabilities::drops_under_lock`], with the reason.
    pub const fn drops_values_under_lock(mut self, why: &'static str) -> Capabilities {
        self.drops_under_lock = Some(why);
        self
    }

    /// Sets [`Capabilities::maintain_frees_expired`].
    pub const fn maintain_frees_expired(mut self, yes: bool) -> Capabilities {
        self.maintain_frees_expired = yes;
        self
    }

    /// How many entries surely fit in a cache built with `capacity`, whatever their keys: all of
    /// them for an exact bound, a shard's share for a sharded one, none for an approximate one
    /// (which may decline any entry).
    pub fn sure_room(&self, capacity: usize) -> usize {
        match self.capacity {
            CapacityBound::Exact | CapacityBound::Unbounded => capacity,
            CapacityBound::Sharded { shards } => capacity / shards.max(1),
            CapacityBound::Approximate { .. } => 0,
        }
    }

    /// The most entries that may be resident in a cache built with `capacity`.
    pub fn max_resident(&self, capacity: usize) -> usize {
        match self.capacity {
            CapacityBound::Exact | CapacityBound::Sharded { .. } => capacity,
            CapacityBound::Unbounded => usize::MAX,
            CapacityBound::Approximate {
                slack_percent,
                slack_entries,
            } => {
                let slack = (capacity as u128 * u128::from(slack_percent)).div_ceil(100);
                capacity
                    .saturating_add(usize::try_from(slack).unwrap_or(usize::MAX))
                    .saturating_add(slack_entries)
            }
        }
    }
}

impl Default for Capabilities {
    fn default() -> Capabilities {
        Capabilities::new()
    }
}

/// How a scenario ended, when it did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every check ran and held.
    Passed,
    /// The scenario does not apply to the declared capabilities; the reason says why.
    Skipped(&'static str),
}

/// The outcome of one scenario in [`run_all`]: `Err` holds the failure message.
#[derive(Clone, Debug)]
pub struct ScenarioResult {
    /// The scenario's name (its function's name in this module).
    pub name: &'static str,
    /// `Ok` if it passed or was skipped, `Err(message)` if a check failed.
    pub outcome: Result<Outcome, String>,
}

/// The capacity most scenarios build their cache with.
const CAPACITY: usize = 64;
/// A time-to-live long enough never to pass in a scenario that does not move the clock.
const LONG: Duration = Duration::from_secs(3600);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn skipped(name: &str, reason: &'static str) -> Outcome {
    eprintln!("conformance scenario {name} skipped: {reason}");
    Outcome::Skipped(reason)
}

const UNBOUNDED: &str = "the implementation declares no bound (a baseline, not a cache)";

const NO_CLOCK: &str =
    "the implementation declares that its expiry does not follow the injected clock";

/// A value set for a key is returned by the next `get_ex` of that key.
pub fn hit_after_set<C, F>(make: F, _caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    let cache = make(ManualClock::new(), CAPACITY);
    cache.set_ex(1, 10, LONG);
    assert_eq!(cache.get_ex(&1), Some(10), "a fresh entry must be a hit");
    cache.set_ex(2, 20, Duration::MAX);
    assert_eq!(cache.get_ex(&2), Some(20), "a fresh entry must be a hit");
    assert_eq!(
        cache.get_ex(&1),
        Some(10),
        "setting key 2 must not disturb key 1"
    );
    Outcome::Passed
}

/// A key that was never set is a miss, in an empty cache and in a populated one.
pub fn miss_for_unknown_key<C, F>(make: F, _caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    let cache = make(ManualClock::new(), CAPACITY);
    assert_eq!(cache.get_ex(&7), None, "an empty cache must miss");
    cache.set_ex(1, 10, LONG);
    assert_eq!(cache.get_ex(&7), None, "an unknown key must miss");
    assert_eq!(cache.get_ex(&0), None, "an unknown key must miss");
    Outcome::Passed
}

/// An entry is live at exactly its deadline and expired one nanosecond after.
pub fn live_at_deadline_expired_one_nanosecond_after<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    if !caps.expiry_follows_clock {
        return skipped("live_at_deadline_expired_one_nanosecond_after", NO_CLOCK);
    }
    let clock = ManualClock::new();
    clock.set(Timestamp::from_nanos(1_000)); // t = 1 µs
    let cache = make(clock.clone(), CAPACITY);
    cache.set_ex(1, 10, secs(10)); // deadline t = 10 s + 1 µs
    clock.advance(secs(9)); // t = 9 s + 1 µs
    assert_eq!(cache.get_ex(&1), Some(10), "live before the deadline");
    clock.advance(secs(1)); // t = deadline
    assert_eq!(
        cache.get_ex(&1),
        Some(10),
        "live at exactly the deadline (now <= deadline)"
    );
    clock.advance(Duration::from_nanos(1)); // one nanosecond past
    assert_eq!(
        cache.get_ex(&1),
        None,
        "expired one nanosecond after the deadline"
    );
    clock.advance(secs(3600));
    assert_eq!(cache.get_ex(&1), None, "still expired later");
    Outcome::Passed
}

/// `ttl == 0` stores an entry live only at the instant it was set.
pub fn zero_ttl_is_live_only_at_the_instant_of_set<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    let clock = ManualClock::new();
    let cache = make(clock.clone(), CAPACITY);
    cache.set_ex(1, 10, Duration::ZERO);
    let now = cache.get_ex(&1);
    assert!(
        now.is_none() || now == Some(10),
        "at the instant of set, a zero-TTL entry is its value or a miss, got {now:?}"
    );
    if !caps.expiry_follows_clock {
        return skipped("zero_ttl_is_live_only_at_the_instant_of_set", NO_CLOCK);
    }
    clock.advance(Duration::from_nanos(1));
    assert_eq!(
        cache.get_ex(&1),
        None,
        "a zero-TTL entry is expired one nanosecond later"
    );
    Outcome::Passed
}

/// `ttl == Duration::MAX` never expires, never panics, even set at the end of time.
pub fn max_ttl_never_expires<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    let clock = ManualClock::new();
    let cache = make(clock.clone(), CAPACITY);
    cache.set_ex(1, 10, Duration::MAX);
    assert_eq!(cache.get_ex(&1), Some(10));
    if !caps.expiry_follows_clock {
        return skipped("max_ttl_never_expires", NO_CLOCK);
    }
    clock.set(Timestamp::MAX); // the end of time (a deadline of "a long time" would have passed)
    assert_eq!(
        cache.get_ex(&1),
        Some(10),
        "Duration::MAX must never expire"
    );
    cache.set_ex(2, 20, Duration::MAX);
    assert_eq!(
        cache.get_ex(&2),
        Some(20),
        "set at Timestamp::MAX with Duration::MAX"
    );
    cache.set_ex(3, 30, secs(1)); // the deadline saturates at Timestamp::MAX
    assert_eq!(
        cache.get_ex(&3),
        Some(30),
        "a saturated deadline is still live at MAX"
    );
    Outcome::Passed
}

/// Overwriting with a shorter TTL replaces the value and moves the deadline earlier.
pub fn overwrite_with_shorter_ttl_replaces_value_and_deadline<C, F>(
    make: F,
    caps: Capabilities,
) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    let clock = ManualClock::new();
    let cache = make(clock.clone(), CAPACITY);
    cache.set_ex(1, 10, secs(100)); // deadline t = 100 s
    cache.set_ex(1, 11, secs(10)); // deadline t = 10 s
    assert_eq!(cache.get_ex(&1), Some(11), "the overwrite's value");
    if !caps.expiry_follows_clock {
        return skipped(
            "overwrite_with_shorter_ttl_replaces_value_and_deadline",
            NO_CLOCK,
        );
    }
    clock.advance(secs(10)); // t = 10 s
    assert_eq!(cache.get_ex(&1), Some(11), "live at the new deadline");
    clock.advance(Duration::from_nanos(1));
    assert_eq!(
        cache.get_ex(&1),
        None,
        "the old, later deadline must not keep it alive"
    );
    clock.advance(secs(60)); // t = 70 s: before the old deadline
    assert_eq!(cache.get_ex(&1), None, "neither value may come back");
    Outcome::Passed
}

/// Overwriting with a longer TTL replaces the value and moves the deadline later.
pub fn overwrite_with_longer_ttl_replaces_value_and_deadline<C, F>(
    make: F,
    caps: Capabilities,
) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    let clock = ManualClock::new();
    let cache = make(clock.clone(), CAPACITY);
    cache.set_ex(1, 10, secs(10)); // deadline t = 10 s
    cache.set_ex(1, 11, secs(100)); // deadline t = 100 s
    assert_eq!(cache.get_ex(&1), Some(11), "the overwrite's value");
    if !caps.expiry_follows_clock {
        return skipped(
            "overwrite_with_longer_ttl_replaces_value_and_deadline",
            NO_CLOCK,
        );
    }
    clock.advance(secs(11)); // t = 11 s: past the old deadline
    assert_eq!(
        cache.get_ex(&1),
        Some(11),
        "the new, later deadline applies"
    );
    clock.advance(secs(89)); // t = 100 s
    assert_eq!(cache.get_ex(&1), Some(11), "live at the new deadline");
    clock.advance(Duration::from_nanos(1));
    assert_eq!(cache.get_ex(&1), None, "expired after the new deadline");
    Outcome::Passed
}

/// After any number of overwrites, a hit is always the latest value.
pub fn no_stale_value_after_overwrite<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    let cache = make(ManualClock::new(), CAPACITY);
    let keys = 8u64;
    for round in 0..50u64 {
        for k in 0..keys {
            cache.set_ex(k, round * 100 + k, LONG);
        }
        for k in 0..keys {
            let got = cache.get_ex(&k);
            let latest = round * 100 + k;
            if keys as usize <= caps.sure_room(CAPACITY) {
                // 8 live keys in a cache of 64: a cache with an exact bound has room for all.
                assert_eq!(got, Some(latest), "key {k} in round {round}");
            } else {
                assert!(
                    got.is_none() || got == Some(latest),
                    "key {k} in round {round}: got {got:?}, latest is {latest}"
                );
            }
        }
    }
    Outcome::Passed
}

/// `set_ex_many` is that many `set_ex` calls, in order: the last entry of a key wins, with its
/// own deadline; zero and `Duration::MAX` TTLs keep their meaning.
pub fn set_ex_many_is_set_ex_in_order<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    let clock = ManualClock::new();
    let cache = make(clock.clone(), CAPACITY);
    cache.set_ex_many(Vec::new());
    assert_eq!(cache.resident_len(), 0, "an empty batch stores nothing");
    cache.set_ex(5, 50, LONG);
    cache.set_ex_many(vec![
        (1, 10, secs(100)),
        (2, 20, secs(10)),
        (1, 11, secs(20)), // replaces (1, 10) and its deadline
        (3, 30, Duration::ZERO),
        (4, 40, Duration::MAX),
        (5, 51, secs(10)), // replaces an entry set before the batch
    ]);
    for (k, v) in [(1, 11), (2, 20), (4, 40), (5, 51)] {
        assert_eq!(cache.get_ex(&k), Some(v), "key {k} after the batch");
    }
    if !caps.expiry_follows_clock {
        return skipped("set_ex_many_is_set_ex_in_order", NO_CLOCK);
    }
    clock.advance(secs(11)); // t = 11 s
    assert_eq!(cache.get_ex(&2), None, "key 2's deadline was t = 10 s");
    assert_eq!(
        cache.get_ex(&5),
        None,
        "the batch's deadline replaced key 5's"
    );
    assert_eq!(
        cache.get_ex(&3),
        None,
        "a zero TTL in a batch is live only at its instant"
    );
    assert_eq!(
        cache.get_ex(&1),
        Some(11),
        "the later entry's deadline, t = 20 s"
    );
    clock.advance(secs(10)); // t = 21 s: past the later deadline, before the earlier one
    assert_eq!(
        cache.get_ex(&1),
        None,
        "the earlier entry's deadline is gone"
    );
    clock.set(Timestamp::MAX);
    assert_eq!(cache.get_ex(&4), Some(40), "Duration::MAX never expires");
    Outcome::Passed
}

/// A bounded cache holds no more entries (and serves no more distinct hits) than it declares.
pub fn capacity_is_respected<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    if caps.capacity == CapacityBound::Unbounded {
        return skipped("capacity_is_respected", UNBOUNDED);
    }
    for capacity in [1, 7, CAPACITY] {
        let cache = make(ManualClock::new(), capacity);
        let limit = caps.max_resident(capacity);
        let total = 10 * capacity as u64 + 3;
        for k in 0..total {
            cache.set_ex(k, k, LONG);
            if k % 3 == 0 {
                cache.set_ex(k / 2, k, LONG); // overwrites mixed in
            }
        }
        cache.maintain();
        let resident = cache.resident_len();
        assert!(
            resident <= limit,
            "capacity {capacity}: {resident} entries resident, at most {limit} allowed"
        );
        let hits = (0..total).filter(|k| cache.get_ex(k).is_some()).count();
        assert!(
            hits <= limit,
            "capacity {capacity}: {hits} distinct keys hit, at most {limit} allowed"
        );
    }
    Outcome::Passed
}

/// A cache built with capacity 0 keeps nothing: every set is dropped (or evicted at once), no
/// get hits, nothing stays resident (after [`ExpiringCache::maintain`]), and nothing panics.
pub fn capacity_zero_keeps_nothing<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    if caps.capacity == CapacityBound::Unbounded {
        return skipped("capacity_zero_keeps_nothing", UNBOUNDED);
    }
    let cache = make(ManualClock::new(), 0);
    for k in 0..10 {
        cache.set_ex(k, k, LONG);
        cache.set_ex(k, k + 1, Duration::MAX);
    }
    cache.set_ex_many((10..20).map(|k| (k, k, LONG)).collect());
    cache.maintain();
    let hits: Vec<u64> = (0..20).filter(|k| cache.get_ex(k).is_some()).collect();
    assert!(hits.is_empty(), "capacity 0: keys {hits:?} hit");
    assert_eq!(cache.resident_len(), 0, "capacity 0: entries resident");
    Outcome::Passed
}

/// A small deterministic generator (SplitMix64), so every run of a scenario is the same run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Under long random churn (sets with mixed TTLs, evictions, clock moves, maintenance), every
/// hit is the latest value set for its key and is live on the clock.
pub fn expired_entries_never_returned_after_churn<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    if !caps.expiry_follows_clock {
        return skipped("expired_entries_never_returned_after_churn", NO_CLOCK);
    }
    const TTLS: [Duration; 7] = [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_millis(1),
        Duration::from_secs(1),
        Duration::from_secs(10),
        Duration::from_secs(3600),
        Duration::MAX,
    ];
    const STEPS: [Duration; 5] = [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_millis(1),
        Duration::from_millis(500),
        Duration::from_secs(2),
    ];
    let clock = ManualClock::new();
    let cache = make(clock.clone(), 16);
    let mut model: HashMap<u64, (u64, Deadline)> = HashMap::new();
    let mut rng = SplitMix(0x5EED);
    for step in 0..5_000u64 {
        match rng.below(10) {
            0..=3 => {
                let key = rng.below(48);
                let ttl = TTLS[rng.below(TTLS.len() as u64) as usize];
                cache.set_ex(key, step, ttl);
                model.insert(key, (step, crate::deadline(clock.now(), ttl)));
            }
            4..=7 => {
                let key = rng.below(48);
                if let Some(got) = cache.get_ex(&key) {
                    let now = clock.now();
                    match model.get(&key) {
                        Some(&(latest, deadline)) => {
                            assert_eq!(got, latest, "step {step}: stale value for key {key}");
                            assert!(
                                is_live(deadline, now),
                                "step {step}: key {key} returned at {now:?}, past its deadline {deadline:?}"
                            );
                        }
                        None => panic!("step {step}: key {key} was never set but returned {got}"),
                    }
                }
            }
            8 => clock.advance(STEPS[rng.below(STEPS.len() as u64) as usize]),
            _ => cache.maintain(),
        }
    }
    Outcome::Passed
}

/// With the capability declared, `maintain()` frees every expired entry and keeps live ones.
pub fn maintain_frees_expired_entries<C, F>(make: F, caps: Capabilities) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    if !caps.expiry_follows_clock {
        return skipped("maintain_frees_expired_entries", NO_CLOCK);
    }
    if !caps.maintain_frees_expired {
        return skipped(
            "maintain_frees_expired_entries",
            "the implementation does not declare that maintain() frees expired entries",
        );
    }
    let clock = ManualClock::new();
    let cache = make(clock.clone(), CAPACITY);
    for k in 0..32 {
        cache.set_ex(k, k, secs(1 + k % 3)); // expire by t = 3 s
    }
    for k in 100..108 {
        cache.set_ex(k, k, LONG);
    }
    clock.advance(secs(4)); // t = 4 s
    cache.maintain();
    // Every entry still resident must be one of the live ones (a sharded cache may have evicted
    // some of those already; one with an exact bound holds all 40 and keeps all 8).
    let live: Vec<u64> = (100..108).filter(|k| cache.get_ex(k).is_some()).collect();
    assert_eq!(
        cache.resident_len(),
        live.len(),
        "only live entries may remain resident after maintain(), live: {live:?}"
    );
    if 40 <= caps.sure_room(CAPACITY) {
        assert_eq!(live.len(), 8, "maintain() must keep live entries");
    }
    Outcome::Passed
}

/// Several threads setting and getting at once: no panic, no deadlock, and every hit is a value
/// that was set for that very key, never older than one the same reader already saw.
pub fn concurrent_sets_and_gets_see_only_values_of_that_key<C, F>(
    make: F,
    caps: Capabilities,
) -> Outcome
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    const THREADS: u64 = 4;
    const KEYS: u64 = 32;
    const ROUNDS: u64 = 3_000;
    let cache = make(ManualClock::new(), CAPACITY);
    // published[k]: the highest sequence number whose set_ex of key k has started.
    let published: Vec<AtomicU64> = (0..KEYS).map(|_| AtomicU64::new(0)).collect();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::scope(|s| {
        s.spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = done_rx.recv_timeout(secs(120)) {
                eprintln!("concurrent scenario still running after 120 s: deadlock suspected");
                std::process::abort();
            }
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let cache = &cache;
                let published = &published;
                s.spawn(move || {
                    let mut rng = SplitMix(t + 1);
                    let mut seen = vec![0u64; KEYS as usize];
                    for round in 1..=ROUNDS {
                        // Each thread owns the keys congruent to t, so sequence numbers per key
                        // grow with every set.
                        let own = t + THREADS * rng.below(KEYS / THREADS);
                        published[own as usize].store(round, Ordering::SeqCst);
                        cache.set_ex(own, (own << 32) | round, LONG);
                        // Only this thread writes `own`: it must read its own write (or a miss).
                        let mine = cache.get_ex(&own);
                        assert!(
                            mine.is_none() || mine == Some((own << 32) | round),
                            "key {own}: read back {mine:?} right after setting sequence {round}"
                        );
                        seen[own as usize] =
                            seen[own as usize].max(round * u64::from(mine.is_some()));
                        let key = rng.below(KEYS);
                        if let Some(v) = cache.get_ex(&key) {
                            let (vk, seq) = (v >> 32, v & 0xFFFF_FFFF);
                            assert_eq!(vk, key, "key {key} returned a value set for key {vk}");
                            let max = published[key as usize].load(Ordering::SeqCst);
                            assert!(
                                seq <= max && seq >= 1,
                                "key {key} returned sequence {seq}, never set (latest {max})"
                            );
                            assert!(
                                seq >= seen[key as usize],
                                "key {key} went back from sequence {} to {seq}",
                                seen[key as usize]
                            );
                            seen[key as usize] = seq;
                        }
                    }
                })
            })
            .collect();
        let mut panicked = None;
        for w in workers {
            if let Err(payload) = w.join() {
                panicked = Some(payload);
            }
        }
        let _ = done_tx.send(());
        if let Some(payload) = panicked {
            std::panic::resume_unwind(payload);
        }
    });
    cache.maintain();
    assert!(cache.resident_len() <= caps.max_resident(CAPACITY));
    Outcome::Passed
}

/// Calls `$callback!` with the names of every scenario, so that the list is written once.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_scenario {
    ($callback:ident ! ($($args:tt)*)) => {
        $crate::$callback! { $($args)*
            hit_after_set,
            miss_for_unknown_key,
            live_at_deadline_expired_one_nanosecond_after,
            zero_ttl_is_live_only_at_the_instant_of_set,
            max_ttl_never_expires,
            overwrite_with_shorter_ttl_replaces_value_and_deadline,
            overwrite_with_longer_ttl_replaces_value_and_deadline,
            no_stale_value_after_overwrite,
            set_ex_many_is_set_ex_in_order,
            capacity_is_respected,
            capacity_zero_keeps_nothing,
            expired_entries_never_returned_after_churn,
            maintain_frees_expired_entries,
            concurrent_sets_and_gets_see_only_values_of_that_key,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    (($make:expr, $caps:expr) $($name:ident,)*) => {$(
        #[test]
        fn $name() {
            let _ = $crate::testkit::$name($make, $caps);
        }
    )*};
}

/// Expands to one `#[test]` per conformance scenario, for the cache built by `$make`
/// (a `Fn(ManualClock, usize) -> C` given the clock and the capacity) with the declared
/// [`Capabilities`](crate::testkit::Capabilities).
///
/// `$make` is expanded in each test on its own, so a constructor generic over the key and value
/// types serves both the `u64` scenarios and
/// [`survives_panics_in_user_code`](crate::testkit::survives_panics_in_user_code), whose keys
/// and values are [`TrapKey`](crate::testkit::TrapKey) and
/// [`TrapValue`](crate::testkit::TrapValue), and
/// [`drop_may_call_back_into_the_cache`](crate::testkit::drop_may_call_back_into_the_cache),
/// whose values are [`ReentrantValue`](crate::testkit::ReentrantValue) (and whose cache must be
/// `'static`: it is shared with a thread that watches for a deadlock).
///
/// See the [module documentation](crate::testkit) for an example.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr, $caps:expr $(,)?) => {
        $crate::__for_each_scenario! { __conformance_test_fns!(($make, $caps)) }

        #[test]
        fn survives_panics_in_user_code() {
            let _ = $crate::testkit::survives_panics_in_user_code($make, $caps);
        }

        #[test]
        fn drop_may_call_back_into_the_cache() {
            let _ = $crate::testkit::drop_may_call_back_into_the_cache($make, $caps);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __run_all_fns {
    (($make:expr, $caps:expr) $($name:ident,)*) => {
        vec![$($crate::testkit::ScenarioResult {
            name: stringify!($name),
            outcome: ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| {
                $crate::testkit::$name(&$make, $caps)
            }))
            .map_err($crate::testkit::panic_message),
        }),*]
    };
}

/// The message of a caught panic.
#[doc(hidden)]
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_owned()
    }
}

/// Runs every `u64` scenario, catching failures, and returns one result per scenario in order.
/// ([`survives_panics_in_user_code`] and [`drop_may_call_back_into_the_cache`] need the cache
/// built for other key and value types; call them on their own.)
pub fn run_all<C, F>(make: F, caps: Capabilities) -> Vec<ScenarioResult>
where
    F: Fn(ManualClock, usize) -> C,
    C: ExpiringCache<u64, u64>,
{
    crate::__for_each_scenario! { __run_all_fns!((make, caps)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scenarios' generator is SplitMix64 exactly: the reference outputs for seed 0.
    #[test]
    fn the_generator_is_splitmix64() {
        let mut g = SplitMix(0);
        let got: Vec<u64> = (0..4).map(|_| g.next()).collect();
        assert_eq!(
            got,
            [
                0xE220_A839_7B1D_CDAF,
                0x6E78_9E6A_A1B9_65F4,
                0x06C4_5D18_8009_454F,
                0xF88B_B8A8_724C_81EC
            ]
        );
    }

    #[test]
    fn the_helpers_debug_output_names_them() {
        assert_eq!(format!("{:?}", panics::Fuse::new()), "Fuse { .. }");
        assert_eq!(
            format!("{:?}", reentry::ReentrantValue::plain(7)),
            "ReentrantValue(7)"
        );
        assert_eq!(reentry::ReentrantValue::plain(7).id(), 7);
    }

    #[test]
    fn the_bounds_say_how_many_entries_may_be_resident_and_how_many_surely_fit() {
        let approx = Capabilities::new().capacity(CapacityBound::Approximate {
            slack_percent: 10,
            slack_entries: 2,
        });
        assert_eq!(approx.max_resident(100), 112, "100 + 10 % + 2");
        assert_eq!(approx.max_resident(7), 10, "the 10 % rounds up");
        assert_eq!(approx.sure_room(100), 0);
        let sharded = Capabilities::new().capacity(CapacityBound::Sharded { shards: 4 });
        assert_eq!(
            (sharded.max_resident(100), sharded.sure_room(100)),
            (100, 25)
        );
        let exact = Capabilities::new();
        assert_eq!((exact.max_resident(64), exact.sure_room(64)), (64, 64));
        let unbounded = Capabilities::new().capacity(CapacityBound::Unbounded);
        assert_eq!(unbounded.max_resident(1), usize::MAX);
    }

    #[test]
    fn a_panics_message_is_reported() {
        let caught = std::panic::catch_unwind(|| panic!("the {} message", "formatted"));
        assert_eq!(panic_message(caught.unwrap_err()), "the formatted message");
        let caught = std::panic::catch_unwind(|| panic!("a literal"));
        assert_eq!(panic_message(caught.unwrap_err()), "a literal");
    }
}
