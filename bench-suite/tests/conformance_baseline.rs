//! The cache-core conformance suite on the `hashmap` baseline: expiry follows the injected
//! clock; no capacity (it is not a cache, so that scenario is skipped); `maintain()` frees
//! nothing (skipped as well).

use bench_suite::strategies::HashMapBaseline;
use cache_core::testkit::{Capabilities, CapacityBound};

cache_core::conformance_tests!(
    |clock, _capacity| HashMapBaseline::with_clock(clock),
    Capabilities::new().capacity(CapacityBound::Unbounded),
);
