//! The cache-core conformance suite on [`TtlFifoCache`]: expiry follows the injected clock,
//! capacity is exact, and `maintain()` frees every expired entry.

use cache_core::testkit::Capabilities;
use cache_weakfifo::TtlFifoCache;

cache_core::conformance_tests!(
    |clock, capacity| TtlFifoCache::with_clock(capacity, clock),
    Capabilities::new().maintain_frees_expired(true),
);
