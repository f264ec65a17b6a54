//! The Zipf read/write mix on 1, 2 and 4 threads, on every bounded strategy of the registry:
//! see `bench_suite::speed::mix` for what it sweeps.

use bench_suite::speed::Sizes;
use bench_suite::strategies::Registry;
use criterion::{Criterion, criterion_group, criterion_main};

fn mix(c: &mut Criterion) {
    bench_suite::speed::mix(c, &Registry::ours().caches(), &Sizes::FULL);
}

criterion_group! {
    name = benches;
    config = bench_suite::speed::criterion();
    targets = mix
}
criterion_main!(benches);
