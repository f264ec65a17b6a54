//! The established Rust caches behind the [`cache_core::ExpiringCache`] contract, so that the
//! same workloads run on them and on the article's design.
//!
//! Each adapter is what a careful user of that library would write: the deadline, from the
//! injected [`cache_core::Clock`], is stored beside the value, so `get_ex` is exact on any clock
//! and never returns an expired or stale value. What differs — and what the `bench-suite` report
//! measures — is *when an expired entry stops occupying memory*:
//!
//! | feature | type | library | expired entries leave memory |
//! |---|---|---|---|
//! | `moka` | [`MokaCache`] | [`moka::sync::Cache`](::moka::sync::Cache) 0.12 | in moka's housekeeping ([`maintain`](cache_core::ExpiringCache::maintain) or piggy-backed on later calls), once *real* time has passed the deadline |
//! | `lru` | [`LruTtlCache`] | [`lru::LruCache`](::lru::LruCache) 0.19 in a `Mutex` | when read (the read removes it) or when LRU order pushes it out; never otherwise |
//! | `quick_cache` | [`QuickTtlCache`] | [`quick_cache::sync::Cache`](::quick_cache::sync::Cache) 0.7 | when read (the read removes it) or when its eviction pushes it out — and entries admitted while it filled (its hot section) are not pushed out by a stream of new keys; never otherwise |
//! | `cached` | [`CachedTtlCache`] | [`cached::ExpiringLruCache`](::cached::ExpiringLruCache) 4.1 in a `Mutex` | when read or overwritten, when LRU order pushes it out, or in [`maintain`](cache_core::ExpiringCache::maintain) (`evict()`), on the injected clock; never otherwise |
//! | `stretto` | [`StrettoCache`] | [`stretto::Cache`](::stretto::Cache) 0.9 | in stretto's background sweep, in time buckets, once *real* time has passed the deadline; not when read |
//! | `redis` | [`RedisCache`] | a Redis server, on [`redis`](::redis) 1.8's blocking connection | in the server: lazily when a key is read, and in its active expiry cycle (about ten times a second), on the server's real clock |
//! | `memcached` | [`MemcachedCache`] | a Memcached server, over its text protocol (the adapter's own client: see [`memcached`]) | in the server: when an expired item is read or pushed out of its LRU, and in its LRU crawler, on the server's clock, in whole seconds |
//!
//! All seven features are on by default; each builds and tests alone
//! (`--no-default-features --features lru`, ...).
//!
//! ```
//! # #[cfg(feature = "lru")] {
//! use std::time::Duration;
//! use cache_core::{ExpiringCache, ManualClock};
//! use cache_adapters::LruTtlCache;
//!
//! let clock = ManualClock::new();
//! let cache = LruTtlCache::with_clock(100, clock.clone());
//! cache.set_ex(1u64, "one", Duration::from_secs(10));
//! clock.advance(Duration::from_secs(11)); // t = 11 s: expired
//! assert_eq!(cache.resident_len(), 1); // expired, still held ...
//! assert_eq!(cache.get_ex(&1), None); // ... until a read finds it expired and removes it
//! assert_eq!(cache.resident_len(), 0);
//! # }
//! ```
#![forbid(unsafe_code)]

#[cfg(feature = "cached")]
mod cached;
#[cfg(any(feature = "redis", feature = "memcached"))]
mod failures;
#[allow(dead_code)]
mod guard;
#[cfg(any(feature = "redis", feature = "memcached"))]
mod local_server;
#[cfg(feature = "lru")]
mod lru;
#[cfg(feature = "memcached")]
pub mod memcached;
#[cfg(feature = "moka")]
mod moka;
#[cfg(feature = "quick_cache")]
mod quick_cache;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "stretto")]
mod stretto;

#[cfg(feature = "cached")]
pub use crate::cached::{CachedTtlCache, DROPS_UNDER_LOCK as CACHED_DROPS_UNDER_LOCK};
#[cfg(feature = "lru")]
pub use crate::lru::LruTtlCache;
#[cfg(feature = "memcached")]
pub use crate::memcached::{LocalMemcached, MemcachedCache, MemcachedText, ServerStats};
#[cfg(feature = "moka")]
pub use crate::moka::{MokaCache, MokaPolicy};
#[cfg(feature = "quick_cache")]
pub use crate::quick_cache::QuickTtlCache;
#[cfg(feature = "redis")]
pub use crate::redis::{LocalRedis, RedisCache, ServerMemory};
#[cfg(feature = "stretto")]
pub use crate::stretto::StrettoCache;

use cache_core::{Deadline, Timestamp};

/// A value with its deadline on the adapter's clock: what every adapter stores. (Unused when no
/// backend feature is on; `allow` rather than a list of every feature that uses it.)
#[allow(dead_code)]
#[derive(Clone)]
struct Stored<V> {
    value: V,
    deadline: Deadline,
}

#[allow(dead_code)]
impl<V> Stored<V> {
    fn is_live(&self, now: Timestamp) -> bool {
        cache_core::is_live(self.deadline, now)
    }
}
