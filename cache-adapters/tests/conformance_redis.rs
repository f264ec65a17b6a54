//! The cache-core conformance suite on [`RedisCache`], against a server of its own: expiry
//! follows the injected clock (the adapter checks the deadline it stores with the value), and
//! there is no capacity (Redis bounds memory, not a count).
//!
//! The panic scenario does not run: its keys and values panic on command in `Hash`, `Eq`,
//! `Clone` and `Drop`, which a Redis key does not use (`ToRedisArgs` does, and it runs before
//! the connection is taken; see the adapter's documentation).
#![cfg(feature = "redis")]

mod support;

use cache_adapters::RedisCache;
use cache_core::testkit::{Capabilities, CapacityBound, Outcome, run_all};

#[test]
fn every_u64_scenario_passes_against_a_real_server() {
    let Some(server) = support::redis_server("every_u64_scenario_passes_against_a_real_server")
    else {
        return;
    };
    let url = server.url();
    let results = run_all(
        |clock, _capacity| {
            let cache = RedisCache::connect_with_clock(&url, clock).expect("the server is up");
            cache.flush_db().expect("FLUSHDB");
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
