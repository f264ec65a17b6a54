//! Footprint: live heap bytes per entry, by Caffeine's method — the filled cache minus the empty
//! cache, divided by the entries it holds — with the payload floor and RSS beside it.

use std::time::Duration;

use cache_core::ManualClock;
use serde::{Deserialize, Serialize};

use crate::alloc::{self, ThreadSnapshot};
use crate::progress::Progress;
use crate::shapes::Shape;
use crate::strategies::Strategy;

/// The name of the payload-floor row: keys, values and 8-byte deadlines alone, in one exactly
/// sized `Vec`.
pub const FLOOR: &str = "payload_floor";

/// The TTL every footprint entry gets: the article's 1800 s, so nothing expires meanwhile.
const TTL: Duration = Duration::from_secs(1800);

/// One strategy, one shape, one size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FootprintRow {
    /// Strategy name, or `payload_floor`.
    pub strategy: String,
    /// Shape name (`article`, `u64`).
    pub shape: String,
    /// Entries inserted (distinct keys); also the capacity the cache was built with.
    pub entries: usize,
    /// Entries the cache holds afterwards (`resident_len`; a bounded cache may hold fewer).
    pub resident_entries: usize,
    /// (filled − empty) live heap bytes ÷ resident entries: Caffeine's method. It leaves out
    /// whatever the empty cache allocated up front for its capacity; see `total_bytes_per_entry`.
    pub bytes_per_entry: f64,
    /// Live heap bytes of the filled cache, fixed cost included, ÷ resident entries: what an
    /// entry costs when the cache is full.
    pub total_bytes_per_entry: f64,
    /// (filled − empty) live allocations ÷ resident entries.
    pub allocs_per_entry: f64,
    /// The payload floor's bytes per entry for this shape and size.
    pub payload_bytes_per_entry: f64,
    /// `total_bytes_per_entry − payload_bytes_per_entry`: what the strategy costs above the
    /// keys, values and deadlines themselves.
    pub overhead_bytes_per_entry: f64,
    /// Live heap bytes of the empty cache.
    pub fixed_bytes: usize,
    /// Live heap bytes of the filled cache, fixed cost included.
    pub total_bytes: usize,
    /// RSS growth while filling ÷ resident entries: a second opinion that sees the allocator's
    /// own overhead (absent where RSS cannot be read).
    pub rss_bytes_per_entry: Option<f64>,
    /// Live heap bytes still counted after the cache was dropped (should be 0).
    pub leaked_bytes: i64,
}

fn diff(after: ThreadSnapshot, before: ThreadSnapshot) -> (i64, i64) {
    (
        after.net_bytes - before.net_bytes,
        after.net_allocs - before.net_allocs,
    )
}

/// Measures the payload floor: `n` (key, value, u64 deadline) tuples in an exactly sized `Vec`.
pub fn measure_floor<S: Shape>(n: usize) -> FootprintRow {
    let before = alloc::thread_snapshot();
    let mut floor: Vec<(S::K, S::V, u64)> = Vec::with_capacity(n);
    for id in 0..n as u64 {
        floor.push((S::key(id), S::value(id), id));
    }
    let (bytes, allocs) = diff(alloc::thread_snapshot(), before);
    std::hint::black_box(&floor);
    drop(floor);
    let (leak, _) = diff(alloc::thread_snapshot(), before);
    let per = bytes as f64 / n.max(1) as f64;
    FootprintRow {
        strategy: FLOOR.to_owned(),
        shape: S::NAME.to_owned(),
        entries: n,
        resident_entries: n,
        bytes_per_entry: per,
        total_bytes_per_entry: per,
        allocs_per_entry: allocs as f64 / n.max(1) as f64,
        payload_bytes_per_entry: per,
        overhead_bytes_per_entry: 0.0,
        fixed_bytes: 0,
        total_bytes: bytes.max(0) as usize,
        rss_bytes_per_entry: None,
        leaked_bytes: leak,
    }
}

/// Measures `strategy` filled with `n` distinct keys (capacity `n`), against the payload floor
/// `payload` (bytes per entry, from [`measure_floor`]).
pub fn measure<S: Shape>(
    strategy: Strategy,
    n: usize,
    payload: f64,
    progress: &Progress,
) -> FootprintRow {
    let bar = progress.bar(&format!("{strategy}/{}", S::NAME), n as u64);
    let base = alloc::thread_snapshot();
    let cache = strategy.build::<S::K, S::V, _>(n, ManualClock::new());
    cache.maintain();
    let empty = alloc::thread_snapshot();
    let rss0 = alloc::rss_bytes();
    for id in 0..n as u64 {
        cache.set_ex(S::key(id), S::value(id), TTL);
        if id % 8_192 == 0 {
            bar.set_position(id);
        }
    }
    cache.maintain();
    let filled = alloc::thread_snapshot();
    let rss1 = alloc::rss_bytes();
    let resident = cache.resident_len();
    drop(cache);
    bar.finish_and_clear();
    let (fixed, _) = diff(empty, base);
    let (bytes, allocs) = diff(filled, empty);
    let (total, _) = diff(filled, base);
    let (leak, _) = diff(alloc::thread_snapshot(), base);
    let per = bytes as f64 / resident.max(1) as f64;
    let total_per = total as f64 / resident.max(1) as f64;
    FootprintRow {
        strategy: strategy.name().to_owned(),
        shape: S::NAME.to_owned(),
        entries: n,
        resident_entries: resident,
        bytes_per_entry: per,
        total_bytes_per_entry: total_per,
        allocs_per_entry: allocs as f64 / resident.max(1) as f64,
        payload_bytes_per_entry: payload,
        overhead_bytes_per_entry: total_per - payload,
        fixed_bytes: fixed.max(0) as usize,
        total_bytes: total.max(0) as usize,
        rss_bytes_per_entry: rss0
            .zip(rss1)
            .map(|(a, b)| b.saturating_sub(a) as f64 / resident.max(1) as f64),
        leaked_bytes: leak,
    }
}

impl FootprintRow {
    /// This row with the payload floor set, and the overhead above it.
    pub fn with_payload(mut self, payload: f64) -> FootprintRow {
        self.payload_bytes_per_entry = payload;
        self.overhead_bytes_per_entry = self.total_bytes_per_entry - payload;
        self
    }
}

/// Measures one row by names: `strategy` is a strategy's name or [`FLOOR`], `shape` is
/// `article` or `u64`. The payload fields of a strategy's row are left at zero; see
/// [`FootprintRow::with_payload`].
pub fn measure_by_name(
    strategy: &str,
    shape: &str,
    n: usize,
    progress: &Progress,
) -> Result<FootprintRow, String> {
    use crate::shapes::{Article, U64};
    if n == 0 {
        return Err("the number of entries must be at least 1".to_owned());
    }
    match (strategy, shape) {
        (FLOOR, "article") => Ok(measure_floor::<Article>(n)),
        (FLOOR, "u64") => Ok(measure_floor::<U64>(n)),
        (_, "article") => Ok(measure::<Article>(strategy.parse()?, n, 0.0, progress)),
        (_, "u64") => Ok(measure::<U64>(strategy.parse()?, n, 0.0, progress)),
        _ => Err(format!("unknown shape {shape:?}; known: article, u64")),
    }
}
