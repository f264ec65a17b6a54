//! Single operations through the contract, on every strategy given, for the `article` shape
//! (20-byte `String` → 8-byte `String`) and `u64 → u64`:
//!
//! - `get_hit`: `get_ex` of a live, resident key (random order over 100 000 entries);
//! - `get_miss`: `get_ex` of a key never set;
//! - `get_expired`: `get_ex` of an expired, still resident entry (the first read after expiry —
//!   where strategies differ most: some free the entry there, some leave it). This one runs on
//!   the hand-moved clock: it needs time to pass the deadlines at once (a strategy whose expiry
//!   is its server's own: a 1 ms TTL, and 5 ms of real time);
//! - `set_insert`: `set_ex` of a new key into a full cache (every insert evicts);
//! - `set_overwrite`: `set_ex` of a key already present.
//!
//! Setup (filling, key generation) is outside the timed region. Throughput is in elements, so
//! `cachebench bench-table` reads time per operation. A cache server's batched benches
//! (`get_expired`, `set_*`) time 100 operations per iteration instead of a tenth of the cache:
//! each is a round trip.

use std::hint::black_box;
use std::time::Duration;

use cache_core::{ManualClock, SystemClock};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};

use super::{
    LONG, Sizes, batch_for, end_if_a_server_failed, entries, filled, measurable, shuffled_keys,
};
use crate::shapes::{Article, Shape, U64};
use crate::strategies::Strategy;

fn get<S: Shape>(c: &mut Criterion, shape: &S, strategies: &[Strategy], n: usize, hit: bool) {
    let name = if hit { "get_hit" } else { "get_miss" };
    let mut g = c.benchmark_group(format!("{name}/{}", shape.name()));
    g.throughput(Throughput::Elements(1));
    let ids = if hit {
        0..n as u64
    } else {
        n as u64..2 * n as u64
    };
    let keys = shuffled_keys(shape, ids, if hit { 1 } else { 2 });
    for s in strategies {
        let cache = filled(s, shape, n, LONG, SystemClock::new());
        let mut i = 0;
        g.bench_function(BenchmarkId::new(s.name(), n), |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                black_box(cache.get_ex(&keys[i]))
            })
        });
    }
    g.finish();
}

fn get_expired<S: Shape>(c: &mut Criterion, shape: &S, strategies: &[Strategy], n: usize) {
    // Each batch reads every entry of a freshly filled, fully expired cache once.
    let e = (n / 10).max(1);
    let mut g = c.benchmark_group(format!("get_expired/{}", shape.name()));
    g.sample_size(20);
    for s in strategies {
        let e = batch_for(s, e);
        let keys = shuffled_keys(shape, 0..e as u64, 3);
        g.throughput(Throughput::Elements(e as u64));
        g.bench_function(BenchmarkId::new(s.name(), e), |b| {
            b.iter_batched_ref(
                || {
                    if s.own_expiry_clock().is_some() {
                        // Expiry on the server's clock: a millisecond's TTL, and real time
                        // let pass (too short for its active expiry to free them all).
                        let ttl = Duration::from_millis(1);
                        let cache = filled(s, shape, e, ttl, SystemClock::new());
                        std::thread::sleep(Duration::from_millis(5));
                        return cache;
                    }
                    let clock = ManualClock::new();
                    let cache = filled(s, shape, e, Duration::from_secs(1), clock.clone());
                    clock.advance(Duration::from_secs(2)); // every entry expired, still resident
                    cache
                },
                |cache| {
                    for k in &keys {
                        black_box(cache.get_ex(k));
                    }
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn set<S: Shape>(c: &mut Criterion, shape: &S, strategies: &[Strategy], n: usize, insert: bool) {
    let name = if insert {
        "set_insert"
    } else {
        "set_overwrite"
    };
    let mut g = c.benchmark_group(format!("{name}/{}", shape.name()));
    for s in strategies {
        let batch = batch_for(s, (n / 10).max(1)) as u64;
        g.throughput(Throughput::Elements(batch));
        let cache = filled(s, shape, n, LONG, SystemClock::new());
        let mut round = 0u64;
        g.bench_function(BenchmarkId::new(s.name(), n), |b| {
            b.iter_batched(
                || {
                    // New keys past the filled ones, or present keys, a different slice each
                    // batch.
                    let start = if insert {
                        n as u64 + round * batch
                    } else {
                        (round * batch) % (n as u64 - batch).max(1)
                    };
                    round += 1;
                    entries(shape, start..start + batch)
                },
                |batch| {
                    for (k, v) in batch {
                        cache.set_ex(k, v, LONG);
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn shape_ops<S: Shape>(c: &mut Criterion, shape: &S, strategies: &[Strategy], n: usize) {
    get(c, shape, strategies, n, true);
    get(c, shape, strategies, n, false);
    get_expired(c, shape, strategies, n);
    set(c, shape, strategies, n, true);
    set(c, shape, strategies, n, false);
}

/// Every single-operation bench, on the strategies of `strategies` that can be measured here
/// (see [`measurable`]), at `sizes`. A cache server's batched benches time at most 100
/// operations per iteration ([`batch_for`]).
pub fn ops(c: &mut Criterion, strategies: &[Strategy], sizes: &Sizes) {
    let strategies = measurable(strategies, "ops");
    shape_ops(c, &Article, &strategies, sizes.entries);
    shape_ops(c, &U64, &strategies, sizes.entries);
    end_if_a_server_failed(&strategies, "ops");
}
