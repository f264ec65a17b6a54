//! The cache-core conformance suite on [`CachedTtlCache`]: expiry follows the injected clock,
//! capacity is exact, and `maintain()` (`cached`'s `evict()`) frees every expired entry. It
//! drops values under its lock (see the adapter's documentation), so the re-entrancy scenario
//! is declared not met.
#![cfg(feature = "cached")]

use cache_adapters::CachedTtlCache;
use cache_core::testkit::Capabilities;

cache_core::conformance_tests!(
    |clock, capacity| CachedTtlCache::with_clock(capacity, clock),
    Capabilities::new()
        .maintain_frees_expired(true)
        .drops_values_under_lock(cache_adapters::CACHED_DROPS_UNDER_LOCK),
);
