//! The cache-core conformance suite on the article's cache.
//!
//! Capabilities: expiry follows the injected clock; capacity is exact (never more than `maxlen`
//! entries resident, counting the duplicate slots of re-set keys); `maintain()` frees nothing, so
//! that scenario is skipped.

use cache_core::testkit::Capabilities;
use cache_weakfifo::WeakFifoCache;

cache_core::conformance_tests!(
    |clock, capacity| WeakFifoCache::with_clock(capacity, clock),
    Capabilities::new(),
);
