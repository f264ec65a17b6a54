//! A seeded Zipf read/write mix, `u64 → u64`: 90 % `get_ex` (a miss sets the key) and 10 %
//! `set_ex`, over 1 000 000 keys (Zipf exponent 1.0) at a capacity of 100 000 — a tenth of the
//! key space, so the cache evicts. On the real clock with a one-day TTL: eviction, not expiry,
//! shapes the steady state.
//!
//! `mix/1_thread`, `mix/2_threads`, `mix/4_threads`: that many threads on one shared cache, each
//! replaying its own stream; throughput is all threads' operations together, so the time per
//! operation falls when threads run in parallel. (On a 2-core machine, 4 threads are
//! oversubscribed.)
//!
//! The streams are generated before timing; the timed region only replays them.

use std::hint::black_box;
use std::time::Instant;

use cache_core::{ExpiringCache, SystemClock};
use criterion::{BenchmarkId, Criterion, Throughput};

use super::{LONG, MixOp, Sizes, end_if_a_server_failed, measurable, mix_stream};
use crate::strategies::Strategy;

/// Thread counts of the sweep.
pub const THREADS: [usize; 3] = [1, 2, 4];

fn replay(cache: &dyn ExpiringCache<u64, u64>, ops: &[MixOp], start: usize, n: u64) {
    for i in 0..n as usize {
        match ops[(start + i) % ops.len()] {
            MixOp::Get(k) => {
                if black_box(cache.get_ex(&k)).is_none() {
                    cache.set_ex(k, k, LONG);
                }
            }
            MixOp::Set(k) => cache.set_ex(k, k, LONG),
        }
    }
}

/// The mix on 1, 2 and 4 threads, on the strategies of `strategies` that can be measured here
/// (see [`measurable`]), at `sizes`. Each cache is built and brought to its steady state once,
/// by replaying the stream, and measured at 1, 2 and 4 threads in turn (the steady state of one
/// run is the start of the next); a cache server is warmed up with 10 000 operations of the
/// stream, not the whole stream (each is a round trip).
pub fn mix(c: &mut Criterion, strategies: &[Strategy], sizes: &Sizes) {
    let strategies = measurable(strategies, "mix");
    let (capacity, ops) = (sizes.mix_capacity, sizes.mix_ops);
    let streams: Vec<Vec<MixOp>> = (0..THREADS[THREADS.len() - 1] as u64)
        .map(|t| mix_stream(sizes.mix_keys, ops, 11 + t))
        .collect();
    let mut caches: Vec<_> = strategies
        .iter()
        .map(|s| {
            let cache = s.build::<u64, u64, _>(capacity, SystemClock::new());
            let warm_up = if s.external().is_some() {
                ops.min(10_000)
            } else {
                ops
            };
            replay(&*cache, &streams[0], 0, warm_up as u64); // to steady state
            (s, cache, 0usize)
        })
        .collect();
    for threads in THREADS {
        let mut g = c.benchmark_group(format!(
            "mix/{threads}_thread{}",
            if threads > 1 { "s" } else { "" }
        ));
        g.throughput(Throughput::Elements(threads as u64));
        for (s, cache, pos) in &mut caches {
            g.bench_function(BenchmarkId::new(s.name(), capacity), |b| {
                b.iter_custom(|iters| {
                    let start = *pos;
                    *pos = (*pos + iters as usize) % ops;
                    let began = Instant::now();
                    std::thread::scope(|scope| {
                        for stream in streams.iter().take(threads) {
                            let cache = &**cache;
                            scope.spawn(move || replay(cache, stream, start, iters));
                        }
                    });
                    began.elapsed()
                })
            });
        }
        g.finish();
    }
    end_if_a_server_failed(&strategies, "mix");
}
