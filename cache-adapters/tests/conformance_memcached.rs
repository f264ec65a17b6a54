//! The cache-core conformance suite on [`MemcachedCache`], against a server of its own: expiry
//! follows the injected clock (the adapter checks the deadline it stores with the value), and
//! there is no capacity (memcached bounds memory, not a count).
#![cfg(feature = "memcached")]

mod support;

use cache_adapters::MemcachedCache;
use cache_core::testkit::{Capabilities, CapacityBound, Outcome, run_all};

#[test]
fn every_u64_scenario_passes_against_a_real_server() {
    let Some(server) = support::memcached_server("every_u64_scenario_passes_against_a_real_server")
    else {
        return;
    };
    let addr = server.addr();
    let results = run_all(
        |clock, _capacity| {
            let cache = MemcachedCache::connect_with(
                &addr,
                clock,
                cache_adapters::memcached::DEFAULT_TIMEOUT,
            )
            .expect("the server is up");
            cache.flush_all().expect("flush_all");
            cache
        },
        Capabilities::new().capacity(CapacityBound::Unbounded),
    );
    let failed: Vec<_> = results.iter().filter(|r| r.outcome.is_err()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let skipped: Vec<_> = results
        .iter()
        .filter(|r| matches!(r.outcome, Ok(Outcome::Skipped(_))))
        .map(|r| r.name)
        .collect();
    assert_eq!(
        skipped,
        [
            "capacity_is_respected",
            "capacity_zero_keeps_nothing",
            "maintain_frees_expired_entries"
        ],
        "only the capacity and maintain scenarios do not apply"
    );
}
