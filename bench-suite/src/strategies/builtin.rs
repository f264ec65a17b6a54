//! The workspace's own strategies: one entry each. Adding a strategy is one entry here (and,
//! for a new library, its adapter in `cache-adapters` and the feature in this crate's
//! `Cargo.toml`).

use cache_adapters::{
    CachedTtlCache, LruTtlCache, MokaCache, MokaPolicy, QuickTtlCache, StrettoCache,
};
use cache_weakfifo::{Policy, TtlFifoCache, WeakFifoCache};

use std::sync::Arc;

use super::{HashMapBaseline, Strategy};
use super::{memcached, python, redis};

/// The hasher moka and quick_cache get here: foldhash with a fixed seed. With their default,
/// randomly seeded hashers, how their internal tables and shards fill — and so their byte
/// counts and the entries quick_cache holds near capacity — differ slightly from run to run; a
/// fixed seed makes every run of the report measure the same thing.
pub fn fixed_hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x00CA_C4EB_E4C4)
}

crate::builder!(Weakfifo, |capacity, clock| WeakFifoCache::with_clock(
    capacity, clock
));
crate::builder!(Ttlfifo, |capacity, clock| TtlFifoCache::builder(capacity)
    .clock(clock)
    .hasher(fixed_hasher())
    .build());
crate::builder!(TtlfifoS3, |capacity, clock| TtlFifoCache::builder(capacity)
    .policy(Policy::S3Fifo)
    .clock(clock)
    .hasher(fixed_hasher())
    .build());
crate::builder!(Moka, |capacity, clock| MokaCache::with_hasher(
    capacity as u64,
    clock,
    MokaPolicy::TinyLfu,
    fixed_hasher()
));
crate::builder!(Lru, |capacity, clock| LruTtlCache::with_clock(
    capacity, clock
));
crate::builder!(Quick, |capacity, clock| QuickTtlCache::with_hasher(
    capacity,
    clock,
    fixed_hasher()
));
crate::builder!(Cached, |capacity, clock| CachedTtlCache::with_clock(
    capacity, clock
));
crate::builder!(Stretto, |capacity, clock| StrettoCache::with_clock(
    capacity, clock
));
crate::builder!(Hashmap, |_capacity, clock| HashMapBaseline::with_clock(
    clock
));

/// Every strategy of the workspace, in report order.
pub(super) fn all() -> Vec<Strategy> {
    vec![
        Strategy::new(
            "weakfifo",
            "the article's weak-dict + deque cache, ported faithfully (cache_weakfifo::WeakFifoCache)",
            Weakfifo,
        )
        .crates(&["hashbrown"]),
        python::strategy(),
        Strategy::new(
            "ttlfifo",
            "the article's cache repaired: FIFO, frees expired entries (cache_weakfifo::TtlFifoCache)",
            Ttlfifo,
        )
        .crates(&["hashbrown", "foldhash"]),
        Strategy::new(
            "ttlfifo_s3",
            "the repaired cache with S3-FIFO eviction: small, main and ghost queues \
             (cache_weakfifo::TtlFifoCache, Policy::S3Fifo)",
            TtlfifoS3,
        )
        .crates(&["hashbrown", "foldhash"]),
        Strategy::new(
            "moka",
            "moka::sync::Cache (TinyLFU), per-entry expiry (cache_adapters::MokaCache); its hash table frees replaced bucket arrays through crossbeam-epoch's deferred reclamation, so a few KiB outlive a dropped cache",
            Moka,
        )
        .reclaims_on_real_time("its clock cannot be injected")
        .crates(&["moka"]),
        Strategy::new(
            "lru",
            "lru::LruCache in a Mutex, deadline beside the value (cache_adapters::LruTtlCache)",
            Lru,
        )
        .crates(&["lru"]),
        Strategy::new(
            "quick_cache",
            "quick_cache::sync::Cache, deadline beside the value (cache_adapters::QuickTtlCache)",
            Quick,
        )
        .crates(&["quick_cache"]),
        Strategy::new(
            "cached",
            "cached::ExpiringLruCache in a Mutex, expiry asked of each value; expired values stay \
             until read, pushed out or evict() (cache_adapters::CachedTtlCache)",
            Cached,
        )
        .crates(&["cached"]),
        Strategy::new(
            "stretto",
            "stretto::Cache (a Ristretto port: TinyLFU admission, buffered inserts, keys not \
             stored), expiry swept by its own thread (cache_adapters::StrettoCache); its first \
             cache in a process sets up about 1.4 KB of process-wide state that outlives it",
            Stretto,
        )
        .reclaims_on_real_time("its clock cannot be injected")
        .allocates_on_own_threads()
        .buffers_inserts()
        .eviction_cost_grows_with_capacity(
            1_000,
            "stretto 0.9 samples its whole key map to choose each victim, so a million-request \
             replay took 4 s at capacity 1 000 and 29 s at 25 000 here",
        )
        .capacity_limit(
            10_000_000,
            "stretto::Cache::new allocates its admission counters up front, about 21 bytes per \
             entry of capacity (2.1 GB at 100 million; at a billion the process aborts)",
        )
        .crates(&["stretto"]),
        redis::strategy(Arc::new(redis::target(Default::default()))),
        memcached::strategy(Arc::new(memcached::target(Default::default()))),
        Strategy::new(
            "hashmap",
            "baseline, not a cache: a std HashMap with no bound and no expiry",
            Hashmap,
        )
        .unbounded(),
    ]
}
