//! A seeded Zipf read/write mix on every cache strategy (`Strategy::CACHES`), `u64 → u64`:
//! 90 % `get_ex` (a miss sets the key) and 10 % `set_ex`, TTL 30 s with the hand-moved clock
//! advancing 1 ms per operation, over 1 000 000 keys (Zipf exponent 1.0) at a capacity of
//! 100 000 — a tenth of the key space, so the cache evicts.
//!
//! - `mix/1_thread`: one thread;
//! - `mix/2_threads`: two threads on one shared cache, each with its own stream; throughput is
//!   both threads' operations together.
//!
//! The streams are generated before timing; the timed region only replays them.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bench_suite::benchkit::{self, MixOp};
use bench_suite::strategies::Strategy;
use cache_core::{ExpiringCache, ManualClock};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const CAPACITY: usize = 100_000;
const KEYS: u64 = 1_000_000;
const OPS: usize = 1 << 20;
const TTL: Duration = Duration::from_secs(30);
const TICK: Duration = Duration::from_millis(1);

fn replay(
    cache: &dyn ExpiringCache<u64, u64>,
    clock: &ManualClock,
    ops: &[MixOp],
    start: usize,
    n: u64,
) {
    for i in 0..n as usize {
        let op = ops[(start + i) % ops.len()];
        if i % 16 == 0 {
            clock.advance(TICK * 16);
        }
        match op {
            MixOp::Get(k) => {
                if black_box(cache.get_ex(&k)).is_none() {
                    cache.set_ex(k, k, TTL);
                }
            }
            MixOp::Set(k) => cache.set_ex(k, k, TTL),
        }
    }
}

fn mix(c: &mut Criterion) {
    let streams = [
        benchkit::mix_stream(KEYS, OPS, 11),
        benchkit::mix_stream(KEYS, OPS, 12),
    ];
    for threads in [1usize, 2] {
        let mut g = c.benchmark_group(format!(
            "mix/{threads}_thread{}",
            if threads > 1 { "s" } else { "" }
        ));
        g.throughput(Throughput::Elements(threads as u64));
        for s in Strategy::CACHES {
            let clock = ManualClock::new();
            let cache = s.build::<u64, u64, _>(CAPACITY, clock.clone());
            replay(&*cache, &clock, &streams[0], 0, OPS as u64); // warm up to steady state
            let mut pos = 0usize;
            g.bench_function(BenchmarkId::new(s.name(), CAPACITY), |b| {
                b.iter_custom(|iters| {
                    let start = pos;
                    pos = (pos + iters as usize) % OPS;
                    let began = Instant::now();
                    std::thread::scope(|scope| {
                        for stream in streams.iter().take(threads) {
                            let (cache, clock) = (&*cache, &clock);
                            scope.spawn(move || replay(cache, clock, stream, start, iters));
                        }
                    });
                    began.elapsed()
                })
            });
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = mix
}
criterion_main!(benches);
