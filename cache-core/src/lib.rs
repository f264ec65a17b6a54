//! The contract every cache strategy in this workspace implements, and the means to check it.
//!
//! - [`ExpiringCache`]: `get_ex` / `set_ex` with a time-to-live per entry, plus
//!   [`resident_len`](ExpiringCache::resident_len) and [`maintain`](ExpiringCache::maintain),
//!   which expose *when* a strategy really frees expired entries — the difference the
//!   workspace exists to measure.
//! - [`Clock`], [`Timestamp`], [`Deadline`], [`SystemClock`] and [`ManualClock`]: time as the
//!   caches see it, injectable so tests and simulations move it by hand; a deadline is a type
//!   of its own, so [`is_live`]`(deadline, now)` cannot be called with its arguments swapped.
//! - `testkit` (feature `testkit`): a conformance suite any implementation runs with one
//!   [`conformance_tests!`] call in its `tests/`.
//!
//! # Example
//!
//! A minimal, correct, unbounded implementation (a `Mutex<HashMap>`), used through the contract:
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Mutex;
//! use std::time::Duration;
//! use cache_core::{deadline, is_live, Clock, Deadline, ExpiringCache, ManualClock};
//!
//! struct MapCache<C> {
//!     map: Mutex<HashMap<u32, (&'static str, Deadline)>>,
//!     clock: C,
//! }
//!
//! impl<C: Clock> ExpiringCache<u32, &'static str> for MapCache<C> {
//!     fn get_ex(&self, key: &u32) -> Option<&'static str> {
//!         let map = self.map.lock().unwrap();
//!         let &(value, dl) = map.get(key)?;
//!         is_live(dl, self.clock.now()).then_some(value)
//!     }
//!     fn set_ex(&self, key: u32, value: &'static str, ttl: Duration) {
//!         let dl = deadline(self.clock.now(), ttl);
//!         self.map.lock().unwrap().insert(key, (value, dl));
//!     }
//!     fn resident_len(&self) -> usize {
//!         self.map.lock().unwrap().len()
//!     }
//! }
//!
//! let clock = ManualClock::new();
//! let cache: Box<dyn ExpiringCache<u32, &str>> =
//!     Box::new(MapCache { map: Mutex::default(), clock: clock.clone() });
//! cache.set_ex(1, "one", Duration::from_secs(10)); // t = 0 s, deadline 10 s
//! clock.advance(Duration::from_secs(10)); // t = 10 s: still live at the deadline itself
//! assert_eq!(cache.get_ex(&1), Some("one"));
//! clock.advance(Duration::from_nanos(1)); // one nanosecond later: expired
//! assert_eq!(cache.get_ex(&1), None);
//! // This cache never frees what expired: the entry is still resident.
//! assert_eq!(cache.resident_len(), 1);
//! ```
#![forbid(unsafe_code)]

mod clock;
#[cfg(feature = "testkit")]
pub mod testkit;

use std::sync::Arc;
use std::time::Duration;

pub use clock::{Clock, Deadline, ManualClock, SystemClock, Timestamp, deadline, is_live};

/// A key–value cache whose entries expire a time-to-live after they were set.
///
/// All methods take `&self`: implementations synchronise internally, so one cache is shared
/// between threads (behind an `Arc`, or by reference). The trait is object safe; the bench
/// holds strategies as `Box<dyn ExpiringCache<K, V>>`. It is implemented for `&T`, `Box<T>`
/// and `Arc<T>` of any implementation, so callers may hold whichever suits them.
///
/// # Expiry
///
/// An entry set at time `t` with time-to-live `ttl` has the *deadline* `t + ttl` on the cache's
/// [`Clock`], saturating at [`Timestamp::MAX`]: a `ttl` of [`Duration::MAX`] means "never
/// expires" and must not panic. The entry is *live* while `now <= deadline` and *expired* once
/// `now > deadline` (the article's `nowTime() > expire` test), so `ttl == 0` stores an entry that
/// is live only at the instant it was set.
///
/// An implementation **must never** return an expired value, and **must never** return a value
/// other than the one most recently set for that key (no stale value after an overwrite; an
/// overwrite replaces both the value and the deadline, whether the new deadline is earlier or
/// later).
///
/// An implementation **may** keep expired entries in memory for as long as it likes. *When* an
/// expired entry stops occupying memory is exactly what differs between strategies, so the
/// contract exposes it instead of hiding it: see [`resident_len`](Self::resident_len) and
/// [`maintain`](Self::maintain).
///
/// # Capacity and eviction
///
/// A bounded cache **may** drop any entry at any time — to respect its capacity, or because its
/// admission policy declined a new entry. A miss after a set is therefore always allowed; a stale
/// or expired hit never is. Each implementation documents its bound and whether it is exact.
///
/// # Thread safety
///
/// Implementations are `Send + Sync`. Concurrent `get_ex` and `set_ex` calls never panic or
/// deadlock, and a `get_ex` racing with `set_ex` calls on the same key returns `None`, the value
/// of the latest set, or the value of an earlier set of that same key — never a value that was
/// not set for that key.
pub trait ExpiringCache<K, V>: Send + Sync {
    /// The value most recently set for `key`, if it is still held and live.
    ///
    /// **Must** return `None` when the key was never set, was dropped, or its entry has expired
    /// (`now > deadline`). **May** free the expired entry it found, or leave it resident.
    fn get_ex(&self, key: &K) -> Option<V>;

    /// Stores `value` under `key`, live until `now + ttl` (saturating).
    ///
    /// **Must** make every later `get_ex(&key)` return this value or `None` until another
    /// `set_ex` of the same key; **must** replace both value and deadline of an existing entry.
    /// **May** evict other entries (or decline this one) to respect the capacity.
    fn set_ex(&self, key: K, value: V, ttl: Duration);

    /// Stores every entry of `entries`, in order, exactly as that many [`set_ex`](Self::set_ex)
    /// calls would: a later entry of a key replaces an earlier one, and the same rules apply.
    /// The default makes those calls; an implementation whose writes are round trips to a server
    /// sends them together (the report fills a cache server's footprint rows this way).
    fn set_ex_many(&self, entries: Vec<(K, V, Duration)>) {
        for (key, value, ttl) in entries {
            self.set_ex(key, value, ttl);
        }
    }

    /// The number of entries physically held right now, expired ones included.
    ///
    /// This is memory actually in use, not the number of live keys. Implementations whose count
    /// is only approximate (concurrent caches with deferred bookkeeping) say so, and say after
    /// what (typically [`maintain`](Self::maintain)) it is exact.
    fn resident_len(&self) -> usize;

    /// Runs the strategy's own housekeeping, if it has any: for example freeing expired entries
    /// or applying deferred bookkeeping. The default does nothing, which is right for a strategy
    /// that has no housekeeping.
    fn maintain(&self) {}
}

macro_rules! forward_expiring_cache {
    ($($ptr:ty),*) => {$(
        impl<K, V, T: ExpiringCache<K, V> + ?Sized> ExpiringCache<K, V> for $ptr {
            fn get_ex(&self, key: &K) -> Option<V> {
                (**self).get_ex(key)
            }
            fn set_ex(&self, key: K, value: V, ttl: Duration) {
                (**self).set_ex(key, value, ttl)
            }
            fn set_ex_many(&self, entries: Vec<(K, V, Duration)>) {
                (**self).set_ex_many(entries)
            }
            fn resident_len(&self) -> usize {
                (**self).resident_len()
            }
            fn maintain(&self) {
                (**self).maintain()
            }
        }
    )*};
}

forward_expiring_cache!(&T, Box<T>, Arc<T>);

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
