//! The report measures `MyCache` exactly as a hand measurement with the same counting allocator
//! does: the footprint row's bytes agree to the byte.

use std::time::Duration;

use bench_suite::measure::footprint::measure;
use bench_suite::progress::Progress;
use bench_suite::shapes::{Article, Shape};
use bench_suite::{Registry, Strategy, alloc};
use cache_core::{ExpiringCache, ManualClock};
use my_cache::MyCache;

bench_suite::counting_allocator!();
bench_suite::builder!(Mine, |capacity, clock| MyCache::with_clock(capacity, clock));

#[test]
fn the_reports_footprint_row_is_the_hand_measured_figure_to_the_byte() {
    let n = 5_000;
    // By hand: the heap bytes of an empty cache and of the same cache filled with n entries of
    // the article's shape, as the report fills it (TTL 1800 s, keys 0..n).
    let before = alloc::thread_snapshot();
    let cache = MyCache::with_clock(n, ManualClock::new());
    let empty = alloc::thread_snapshot();
    for id in 0..n as u64 {
        cache.set_ex(
            Article.key(id),
            Article.value(id),
            Duration::from_secs(1800),
        );
    }
    let filled = alloc::thread_snapshot();
    drop(cache);
    let fixed = empty.net_bytes - before.net_bytes;
    let total = filled.net_bytes - before.net_bytes;

    let registry = Registry::ours()
        .with(Strategy::new("mine", "MyCache", Mine))
        .expect("a name of its own");
    let row = measure(
        registry.get("mine").unwrap(),
        &Article,
        n,
        84.0,
        &Progress::hidden(),
    )
    .unwrap();
    // The entries cost the same bytes, to the byte; the report's cache is boxed (behind
    // `dyn ExpiringCache`), so its fixed cost adds the struct the hand-built one kept inline.
    let boxed = std::mem::size_of::<MyCache<String, String, ManualClock>>() as i64;
    assert_eq!(row.fixed_bytes as i64, fixed + boxed);
    assert_eq!(row.total_bytes as i64, total + boxed);
    assert_eq!(row.resident_entries, n);
    assert_eq!(row.bytes_per_entry, (total - fixed) as f64 / n as f64);
    assert_eq!(row.leaked_bytes, 0);
}
