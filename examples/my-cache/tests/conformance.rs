//! The conformance suite on [`MyCache`]: one line, as in any cache author's crate.

use cache_core::testkit::Capabilities;
use my_cache::MyCache;

cache_core::conformance_tests!(
    |clock, capacity| MyCache::with_clock(capacity, clock),
    Capabilities::new()
);
