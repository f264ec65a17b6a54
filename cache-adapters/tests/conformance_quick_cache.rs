//! The cache-core conformance suite on [`QuickTtlCache`]: expiry follows the injected clock;
//! capacity is approximate — each shard rounds its share up, so up to `shards - 1` extra entries
//! (with the suite's capacities of at most 64, quick_cache uses at most 2 shards: one extra);
//! `maintain()` frees nothing (reported as skipped).
#![cfg(feature = "quick_cache")]

use cache_adapters::QuickTtlCache;
use cache_core::testkit::{Capabilities, CapacityBound};

cache_core::conformance_tests!(
    |clock, capacity| QuickTtlCache::with_clock(capacity, clock),
    Capabilities::new().capacity(CapacityBound::Approximate {
        slack_percent: 0,
        slack_entries: 1,
    }),
);
