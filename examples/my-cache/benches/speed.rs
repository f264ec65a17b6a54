//! The criterion benches with `MyCache` beside the workspace's strategies:
//! `cargo bench -p my-cache --bench speed`.

bench_suite::builder!(Mine, |capacity, clock| my_cache::MyCache::with_clock(
    capacity, clock
));

fn speed(c: &mut criterion::Criterion) {
    let mine = bench_suite::Strategy::new("mine", "MyCache: a map and a FIFO queue of keys", Mine);
    bench_suite::speed::all(
        c,
        &bench_suite::Registry::ours()
            .with(mine)
            .expect("a name of its own"),
    );
}

criterion::criterion_group!(name = benches; config = bench_suite::speed::criterion(); targets = speed);
criterion::criterion_main!(benches);
