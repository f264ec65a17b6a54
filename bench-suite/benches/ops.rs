//! Single operations through the contract, on every cache strategy (`Strategy::CACHES`), for
//! the `article` shape (20-byte `String` → 8-byte `String`) and `u64 → u64`:
//!
//! - `get_hit`: `get_ex` of a live, resident key (random order over 100 000 entries);
//! - `get_miss`: `get_ex` of a key never set;
//! - `get_expired`: `get_ex` of an expired, still resident entry (the first read after expiry —
//!   where strategies differ most: some free the entry there, some leave it);
//! - `set_insert`: `set_ex` of a new key into a full cache (every insert evicts);
//! - `set_overwrite`: `set_ex` of a key already present.
//!
//! Setup (filling, key generation) is outside the timed region. Throughput is in elements, so
//! `cachebench bench-table` reads time per operation.

mod common;

use std::hint::black_box;
use std::time::Duration;

use bench_suite::benchkit::{self, N};
use bench_suite::shapes::{Article, Shape, U64};
use bench_suite::strategies::Strategy;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn get_hit<S: Shape>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("get_hit/{}", S::NAME));
    g.throughput(Throughput::Elements(1));
    for s in Strategy::CACHES {
        let (cache, _clock) = benchkit::filled::<S>(s, N, benchkit::LONG);
        let keys = benchkit::shuffled_keys::<S>(0..N as u64, 1);
        let mut i = 0;
        g.bench_function(BenchmarkId::new(s.name(), N), |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                black_box(cache.get_ex(&keys[i]))
            })
        });
    }
    g.finish();
}

fn get_miss<S: Shape>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("get_miss/{}", S::NAME));
    g.throughput(Throughput::Elements(1));
    for s in Strategy::CACHES {
        let (cache, _clock) = benchkit::filled::<S>(s, N, benchkit::LONG);
        let keys = benchkit::shuffled_keys::<S>(N as u64..2 * N as u64, 2);
        let mut i = 0;
        g.bench_function(BenchmarkId::new(s.name(), N), |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                black_box(cache.get_ex(&keys[i]))
            })
        });
    }
    g.finish();
}

fn get_expired<S: Shape>(c: &mut Criterion) {
    // Each batch reads every entry of a freshly filled, fully expired cache once.
    const E: usize = 10_000;
    let mut g = c.benchmark_group(format!("get_expired/{}", S::NAME));
    g.throughput(Throughput::Elements(E as u64));
    g.sample_size(20);
    let keys = benchkit::shuffled_keys::<S>(0..E as u64, 3);
    for s in Strategy::CACHES {
        g.bench_function(BenchmarkId::new(s.name(), E), |b| {
            b.iter_batched_ref(
                || {
                    let (cache, clock) = benchkit::filled::<S>(s, E, Duration::from_secs(1));
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

fn set_insert<S: Shape>(c: &mut Criterion) {
    const BATCH: u64 = 10_000;
    let mut g = c.benchmark_group(format!("set_insert/{}", S::NAME));
    g.throughput(Throughput::Elements(BATCH));
    for s in Strategy::CACHES {
        let (cache, _clock) = benchkit::filled::<S>(s, N, benchkit::LONG);
        let mut next = N as u64;
        g.bench_function(BenchmarkId::new(s.name(), N), |b| {
            b.iter_batched(
                || {
                    let batch = benchkit::entries::<S>(next..next + BATCH);
                    next += BATCH;
                    batch
                },
                |batch| {
                    for (k, v) in batch {
                        cache.set_ex(k, v, benchkit::LONG);
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn set_overwrite<S: Shape>(c: &mut Criterion) {
    const BATCH: u64 = 10_000;
    let mut g = c.benchmark_group(format!("set_overwrite/{}", S::NAME));
    g.throughput(Throughput::Elements(BATCH));
    for s in Strategy::CACHES {
        let (cache, _clock) = benchkit::filled::<S>(s, N, benchkit::LONG);
        let mut round = 0u64;
        g.bench_function(BenchmarkId::new(s.name(), N), |b| {
            b.iter_batched(
                || {
                    // Keys already present, a different slice each batch.
                    let start = (round * BATCH) % (N as u64 - BATCH);
                    round += 1;
                    benchkit::entries::<S>(start..start + BATCH)
                },
                |batch| {
                    for (k, v) in batch {
                        cache.set_ex(k, v, benchkit::LONG);
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn all(c: &mut Criterion) {
    get_hit::<Article>(c);
    get_hit::<U64>(c);
    get_miss::<Article>(c);
    get_miss::<U64>(c);
    get_expired::<Article>(c);
    get_expired::<U64>(c);
    set_insert::<Article>(c);
    set_insert::<U64>(c);
    set_overwrite::<Article>(c);
    set_overwrite::<U64>(c);
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = all
}
criterion_main!(benches);
