//! Speed: the criterion benches, as library functions so that `benches/` here — and a cache
//! author's own `benches/` — run the same code on any list of strategies.
//!
//! - [`ops`]: single operations (`get_ex` hit, miss and expired; `set_ex` insert and
//!   overwrite) for the `article` and `u64` shapes;
//! - [`mix`]: a seeded Zipf read/write mix on 1, 2 and 4 threads sharing one cache;
//! - [`table`]: `cachebench bench-table`, which reads criterion's results back.
//!
//! Every strategy runs on the real clock ([`SystemClock`](cache_core::SystemClock)), as users run it, and so pays for
//! reading the time; only `get_expired`, which needs time to move past the deadlines, uses the
//! hand-moved clock.

mod mix;
mod ops;
pub mod table;

use std::ops::Range;
use std::time::Duration;

use cache_core::ExpiringCache;
use criterion::Criterion;
use rand_distr::{Distribution, Zipf};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

pub use mix::{THREADS, mix};
pub use ops::ops;

use crate::shapes::{self, Shape};
use crate::strategies::{BenchClock, Strategy};

/// The sizes the benches run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Entries in the caches of the single-operation benches (`get_expired`: a tenth).
    pub entries: usize,
    /// The mix's cache capacity.
    pub mix_capacity: usize,
    /// The mix's key space.
    pub mix_keys: u64,
    /// Operations in each thread's replayed stream.
    pub mix_ops: usize,
}

impl Sizes {
    /// What `cargo bench` runs: 100 000 entries; the mix at capacity 100 000 over 1 000 000
    /// keys, a stream of 2^20 operations per thread.
    pub const FULL: Sizes = Sizes {
        entries: 100_000,
        mix_capacity: 100_000,
        mix_keys: 1_000_000,
        mix_ops: 1 << 20,
    };
}

/// Every bench — [`ops`] and [`mix`] at [`Sizes::FULL`] — on the bounded strategies of
/// `registry`: what `cargo bench -p bench-suite` runs, for a cache author's own `benches/`.
pub fn all(c: &mut Criterion, registry: &crate::strategies::Registry) {
    let caches = registry.caches();
    ops(c, &caches, &Sizes::FULL);
    mix(c, &caches, &Sizes::FULL);
}

/// The strategies of `strategies` that can be measured here; each of the others is named on
/// stderr with why (a cache server that cannot be started): "`bench`: skipped ...".
pub fn measurable(strategies: &[Strategy], bench: &str) -> Vec<Strategy> {
    strategies
        .iter()
        .filter(|s| match s.ready() {
            Ok(()) => true,
            Err(why) => {
                crate::say!("{bench}: skipped {s}: {why}");
                false
            }
        })
        .cloned()
        .collect()
}

/// Ends the bench program (exit code 1) if a command to a cache server failed during `bench`:
/// its times are of failures (a miss, a dropped write), not of the server's work.
pub fn end_if_a_server_failed(strategies: &[Strategy], bench: &str) {
    if let Err(e) = crate::report::refuse_failed_servers(strategies) {
        crate::say!("{bench}: {e}; the times above for it are not trustworthy");
        std::process::exit(1);
    }
}

/// How many operations one timed iteration of a batched bench does on `strategy`: `batch`, or
/// at most 100 for a cache server, whose operations are round trips (about 90 µs each here).
pub fn batch_for(strategy: &Strategy, batch: usize) -> usize {
    if strategy.external().is_some() {
        batch.min(100)
    } else {
        batch
    }
}

/// A TTL that does not pass during a bench.
pub const LONG: Duration = Duration::from_secs(86_400);

/// A boxed cache of shape `S`.
pub type Boxed<S> = Box<dyn ExpiringCache<<S as Shape>::K, <S as Shape>::V>>;

/// Criterion as the benches configure it: 1 s of warm-up and 2 s of measurement per benchmark,
/// so the whole matrix fits in minutes on a small machine, then the command line's options.
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}

/// `strategy` with capacity `n` on `clock`, filled with keys `0..n` of `shape` (TTL `ttl`).
pub fn filled<S: Shape, C: BenchClock>(
    strategy: &Strategy,
    shape: &S,
    n: usize,
    ttl: Duration,
    clock: C,
) -> Boxed<S> {
    let cache = strategy.build::<S::K, S::V, C>(n, clock);
    shapes::fill(&*cache, shape, n as u64, ttl);
    cache.maintain();
    cache
}

/// The keys of `ids`, in a seeded random order.
pub fn shuffled_keys<S: Shape>(shape: &S, ids: Range<u64>, seed: u64) -> Vec<S::K> {
    let mut ids: Vec<u64> = ids.collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for i in (1..ids.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    ids.into_iter().map(|id| shape.key(id)).collect()
}

/// Owned (key, value) pairs for `ids`, to be moved into a cache.
pub fn entries<S: Shape>(shape: &S, ids: Range<u64>) -> Vec<(S::K, S::V)> {
    ids.map(|id| (shape.key(id), shape.value(id))).collect()
}

/// One operation of the mixed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixOp {
    /// Read (and set on a miss).
    Get(u64),
    /// Write.
    Set(u64),
}

/// `len` operations over `keys` Zipf(1.0)-distributed keys: 90 % reads, 10 % writes, seeded.
pub fn mix_stream(keys: u64, len: usize, seed: u64) -> Vec<MixOp> {
    let zipf = Zipf::new(keys as f64, 1.0).expect("keys >= 1");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let k = zipf.sample(&mut rng) as u64;
            if rng.next_u64() % 10 == 0 {
                MixOp::Set(k)
            } else {
                MixOp::Get(k)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use cache_core::SystemClock;

    use super::*;
    use crate::shapes::U64;
    use crate::strategies::Registry;

    #[test]
    fn the_mixed_stream_is_ninety_percent_reads_and_seeded() {
        let s = mix_stream(1_000, 100_000, 1);
        assert_eq!(s, mix_stream(1_000, 100_000, 1));
        let sets = s.iter().filter(|o| matches!(o, MixOp::Set(_))).count();
        assert!((sets as f64 / 1e5 - 0.1).abs() < 0.005, "{sets}");
    }

    #[test]
    fn shuffled_keys_are_a_permutation() {
        let mut k = shuffled_keys(&U64, 0..1_000, 4);
        assert_ne!(k, (0..1_000).collect::<Vec<_>>());
        k.sort_unstable();
        assert_eq!(k, (0..1_000).collect::<Vec<_>>());
    }

    /// Runs the real bench functions at tiny sizes into a scratch criterion folder, then reads
    /// the results back the way `bench-table` does: every bounded strategy of the registry has
    /// a result in every workload.
    #[test]
    fn every_bounded_strategy_is_benched_in_every_workload() {
        let dir = std::env::temp_dir().join(format!("cachebench-speed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut c = Criterion::default()
            .output_directory(&dir)
            .warm_up_time(Duration::from_millis(1))
            .measurement_time(Duration::from_millis(1))
            .sample_size(10)
            .nresamples(10)
            .without_plots()
            .with_output_color(false);
        let tiny = Sizes {
            entries: 200,
            mix_capacity: 100,
            mix_keys: 1_000,
            mix_ops: 1_000,
        };
        let caches = Registry::ours().caches();
        ops(&mut c, &caches, &tiny);
        mix(&mut c, &caches, &tiny);
        let got = table::read(&dir).unwrap();
        let mut workloads: Vec<&str> = got.iter().map(|m| m.workload.as_str()).collect();
        workloads.dedup();
        assert_eq!(workloads.len(), 10 + THREADS.len(), "{workloads:?}");
        for w in &workloads {
            for s in &caches {
                assert!(
                    got.iter()
                        .any(|m| m.workload == *w && m.strategy == s.name()),
                    "{s} missing from {w}"
                );
            }
        }
        assert!(
            !caches
                .iter()
                .any(|s| !s.is_bounded() && s.external().is_none()),
            "no baseline is benched"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn filled_caches_hold_their_keys() {
        for s in Registry::ours().caches() {
            let cache = filled(&s, &U64, 1_000, LONG, SystemClock::new());
            assert!(cache.get_ex(&500).is_some(), "{s}");
        }
    }
}
