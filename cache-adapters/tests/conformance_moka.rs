//! The cache-core conformance suite on [`MokaCache`], with each eviction policy.
//!
//! Capabilities: `get_ex` follows the injected clock (the adapter checks its own deadline), so
//! every clock scenario runs; capacity is exact once `maintain()` has applied moka's deferred
//! bookkeeping. moka's *reclamation* runs on real time, not on the injected clock, so the
//! `maintain_frees_expired_entries` scenario does not apply (it is reported as skipped); the
//! real-time behaviour is pinned down in `retention.rs`.
#![cfg(feature = "moka")]

use cache_adapters::{MokaCache, MokaPolicy};
use cache_core::testkit::Capabilities;

mod tiny_lfu {
    use super::*;
    cache_core::conformance_tests!(
        |clock, capacity| MokaCache::with_policy(capacity as u64, clock, MokaPolicy::TinyLfu),
        Capabilities::new(),
    );
}

mod lru_policy {
    use super::*;
    cache_core::conformance_tests!(
        |clock, capacity| MokaCache::with_policy(capacity as u64, clock, MokaPolicy::Lru),
        Capabilities::new(),
    );
}
