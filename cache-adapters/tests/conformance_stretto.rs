//! The cache-core conformance suite on [`StrettoCache`].
//!
//! stretto buffers inserts and applies them on its own thread, so a `set_ex` may not be seen by
//! the next `get_ex` — which the contract allows, but which would leave most scenarios nothing
//! to check. The suite therefore runs on a wrapper that waits for stretto after each `set_ex`
//! (`maintain()`, stretto's `wait()`), so that every scenario checks stretto's answers rather
//! than its buffer; the buffering itself is pinned down in `retention.rs`. Expiry follows the
//! injected clock (the adapter checks its own deadline); stretto's reclamation runs on real time
//! only, so `maintain_frees_expired_entries` does not apply (skipped, with the reason).
//!
//! The panic-safety scenario is skipped too: in it, after a few hundred operations whose keys'
//! `Hash` or values' `Clone` panicked now and then, stretto's `wait()` never returned (the test
//! hung at the first half's step 258, every run; a single panic, or a few hundred of one kind
//! alone, did not reproduce it).
#![cfg(feature = "stretto")]

use std::hash::Hash;
use std::time::Duration;

use cache_adapters::StrettoCache;
use cache_core::testkit::{Capabilities, CapacityBound, PanicSafety};
use cache_core::{Clock, ExpiringCache};

/// A [`StrettoCache`] whose every `set_ex` is applied before it returns.
struct Applied<K, V, C: Clock>(StrettoCache<K, V, C>);

impl<K, V, C> ExpiringCache<K, V> for Applied<K, V, C>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    C: Clock,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        self.0.get_ex(key)
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        self.0.set_ex(key, value, ttl);
        self.0.maintain();
    }

    fn resident_len(&self) -> usize {
        self.0.resident_len()
    }

    fn maintain(&self) {
        self.0.maintain();
    }
}

cache_core::conformance_tests!(
    |clock, capacity| Applied(StrettoCache::with_clock(capacity, clock)),
    Capabilities::new()
        .capacity(CapacityBound::Approximate {
            slack_percent: 0,
            slack_entries: 0,
        })
        .panic_safety(PanicSafety::NotSurvived {
            why: "after panics in the keys' Hash and the values' Clone, stretto's wait() was seen \
                  never to return (its processing thread no longer answers the wait marker)",
        }),
);
