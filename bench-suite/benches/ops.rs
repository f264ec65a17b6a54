//! Single operations on every bounded strategy of the registry: see `bench_suite::speed::ops`
//! for what it sweeps.

use bench_suite::speed::Sizes;
use bench_suite::strategies::Registry;
use criterion::{Criterion, criterion_group, criterion_main};

fn ops(c: &mut Criterion) {
    bench_suite::speed::ops(c, &Registry::ours().caches(), &Sizes::FULL);
}

criterion_group! {
    name = benches;
    config = bench_suite::speed::criterion();
    targets = ops
}
criterion_main!(benches);
