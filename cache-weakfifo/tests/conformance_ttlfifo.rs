//! The cache-core conformance suite on [`TtlFifoCache`]: expiry follows the injected clock and
//! `maintain()` frees every expired entry, with each eviction policy, on one lock and sharded —
//! the capacity exact either way (the shards borrow room from each other).

use cache_core::testkit::{Capabilities, CapacityBound};
use cache_weakfifo::{Policy, TtlFifoCache};

const ONE_LOCK: Capabilities = Capabilities::new().maintain_frees_expired(true);
const FOUR_SHARDS: Capabilities = ONE_LOCK.capacity(CapacityBound::Exact);

mod fifo {
    use super::*;
    cache_core::conformance_tests!(
        |clock, capacity| TtlFifoCache::with_clock(capacity, clock),
        ONE_LOCK,
    );
}

mod s3fifo {
    use super::*;
    cache_core::conformance_tests!(
        |clock, capacity| TtlFifoCache::builder(capacity)
            .policy(Policy::S3Fifo)
            .shards(1)
            .clock(clock)
            .build(),
        ONE_LOCK,
    );
}

mod fifo_sharded {
    use super::*;
    cache_core::conformance_tests!(
        |clock, capacity| TtlFifoCache::builder(capacity)
            .shards(4)
            .clock(clock)
            .build(),
        FOUR_SHARDS,
    );
}

mod s3fifo_sharded {
    use super::*;
    cache_core::conformance_tests!(
        |clock, capacity| TtlFifoCache::builder(capacity)
            .policy(Policy::S3Fifo)
            .shards(4)
            .clock(clock)
            .build(),
        FOUR_SHARDS,
    );
}
