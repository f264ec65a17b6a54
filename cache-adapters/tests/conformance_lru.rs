//! The cache-core conformance suite on [`LruTtlCache`]: expiry follows the injected clock,
//! capacity is exact, `maintain()` frees nothing (reported as skipped).
#![cfg(feature = "lru")]

use cache_adapters::LruTtlCache;
use cache_core::testkit::Capabilities;

cache_core::conformance_tests!(
    |clock, capacity| LruTtlCache::with_clock(capacity, clock),
    Capabilities::new(),
);
