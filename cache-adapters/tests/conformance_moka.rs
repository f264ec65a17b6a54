//! The cache-core conformance suite on [`MokaCache`], with each eviction policy.
//!
//! Capabilities: `get_ex` follows the injected clock (the adapter checks its own deadline), so
//! every clock scenario runs; capacity is exact once `maintain()` has applied moka's deferred
//! bookkeeping. moka's *reclamation* runs on real time, not on the injected clock, so the
//! `maintain_frees_expired_entries` scenario does not apply (it is reported as skipped); the
//! real-time behaviour is pinned down in `retention.rs`.
#![cfg(feature = "moka")]

use cache_adapters::{MokaCache, MokaPolicy};
use cache_core::testkit::{Capabilities, PanicSafety};

/// moka frees removed entries through crossbeam-epoch's deferred reclamation, which runs as
/// threads pin and unpin the epoch: some keys and values of a dropped cache are freed a little
/// later. Another moka cache's traffic on this thread lets it run.
fn settle() {
    let other = ::moka::sync::Cache::new(64);
    for i in 0..256u64 {
        other.insert(i, i);
        let _ = other.get(&i);
    }
    other.run_pending_tasks();
}

/// After a key's `Hash` or `Eq` panicked inside moka (the adapter catches it, so moka's locks
/// are never poisoned), moka may have filed an entry under a hash that lookups and its own
/// removals miss: such entries stay allocated past the capacity and are not freed with the
/// cache. The adapter invalidates everything so none is ever served; the rest is moka's. A
/// value whose `Drop` panics inside moka's housekeeping leaves moka's size accounting behind,
/// and a later eviction overflows it (seen: "attempt to subtract with overflow" in
/// `base_cache.rs`, then an abort), so that half of the scenario does not run.
const CAPS: Capabilities =
    Capabilities::new()
        .settle_after_drop(settle)
        .panic_safety(PanicSafety::ServesOn {
            why: "moka keeps entries filed under a panicking key's hash allocated (past its \
              capacity, not freed with the cache), and a panicking Drop breaks its accounting",
        });

mod tiny_lfu {
    use super::*;
    cache_core::conformance_tests!(
        |clock, capacity| MokaCache::with_policy(capacity as u64, clock, MokaPolicy::TinyLfu),
        CAPS,
    );
}

mod lru_policy {
    use super::*;
    cache_core::conformance_tests!(
        |clock, capacity| MokaCache::with_policy(capacity as u64, clock, MokaPolicy::Lru),
        CAPS,
    );
}
