//! The whole cachebench report with `MyCache` beside the workspace's strategies:
//! `cargo bench -p my-cache --bench report -- [cachebench options]`.

bench_suite::counting_allocator!();
bench_suite::builder!(Mine, |capacity, clock| my_cache::MyCache::with_clock(
    capacity, clock
));

fn main() -> std::process::ExitCode {
    let mine = bench_suite::Strategy::new("mine", "MyCache: a map and a FIFO queue of keys", Mine);
    bench_suite::cli::bench_main(
        bench_suite::Registry::ours()
            .with(mine)
            .expect("a name of its own"),
    )
}
