//! The retention workload's harness: values that count their own copies, the clock a run moves,
//! and the run itself.
//!
//! Which entries a strategy holds is observed, not asked: every value is a [`TrackedValue`],
//! which counts its copies in memory per id in its run's [`Census`]. After the harness drops
//! its own copies, an id whose count is non-zero is held by the cache.
//!
//! A cache server holds copies of its own, out of reach: for it, the entries held are its own
//! count (`DBSIZE` for Redis) and the bytes its own memory figure; the live ones are the keys
//! whose deadline has not passed (a server without a capacity drops no live key).

use std::time::Duration;

use cache_core::{
    Clock, Deadline, ExpiringCache, ManualClock, SystemClock, Timestamp, deadline, is_live,
};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

use super::{ClockKind, Phase, RetentionConfig, Sample};
use crate::alloc;
use crate::progress::Progress;
use crate::shapes::Shape;
use crate::strategies::{BenchClock, External, Strategy};
use crate::values::{Census, TrackedValue};

/// The observed entries: (resident, live) at `now`.
fn census(table: &Census, deadlines: &[Deadline], upto: usize, now: Timestamp) -> (u64, u64) {
    let (mut resident, mut live) = (0, 0);
    for (id, dl) in deadlines.iter().enumerate().take(upto) {
        if table.copies(id) > 0 {
            resident += 1;
            live += u64::from(is_live(*dl, now));
        }
    }
    (resident, live)
}

/// The live entries among the first `upto` at `now`: for a cache server, which drops no live
/// entry (it has no capacity, and its own expiry is never earlier than the deadline), what it
/// holds live.
fn live_among(deadlines: &[Deadline], upto: usize, now: Timestamp) -> u64 {
    deadlines
        .iter()
        .take(upto)
        .filter(|dl| is_live(**dl, now))
        .count() as u64
}

/// Where a run's resident bytes are counted.
enum Bytes<'a> {
    /// This process's heap (net allocations in `scope` since `base`).
    Heap { scope: alloc::Scope, base: i64 },
    /// A cache server's own figure, since `base`.
    Server { server: &'a dyn External, base: i64 },
}

impl Bytes<'_> {
    fn now(&self) -> i64 {
        match self {
            Bytes::Heap { scope, base } => scope.now().net_bytes - base,
            // A failed read counts as a failure of the run's server, which refuses the report.
            Bytes::Server { server, base } => {
                server.memory(false).map_or(0, |m| m.data as i64 - base)
            }
        }
    }
}

/// Takes samples into a list allocated in advance (so sampling does not count as cache bytes).
struct Recorder<'a> {
    strategy: &'static str,
    cfg: &'a RetentionConfig,
    origin: Timestamp,
    bytes: Bytes<'a>,
    table: &'a Census,
    samples: &'a mut Vec<Sample>,
}

impl Recorder<'_> {
    fn take<K>(
        &mut self,
        phase: Phase,
        sets: u64,
        cache: &dyn ExpiringCache<K, TrackedValue>,
        deadlines: &[Deadline],
        clock: &impl Clock,
    ) {
        let now = clock.now();
        let reported_len = cache.resident_len() as u64;
        let (resident, live) = match self.bytes {
            Bytes::Heap { .. } => census(self.table, deadlines, sets as usize, now),
            // A server's values are its own, not this process's: what it holds is its count.
            Bytes::Server { server, .. } => (
                reported_len,
                server
                    .live_entries(now)
                    .unwrap_or_else(|| live_among(deadlines, sets as usize, now)),
            ),
        };
        let t = now.saturating_duration_since(self.origin).as_secs_f64();
        self.samples.push(Sample {
            strategy: self.strategy,
            workload: self.cfg.workload,
            phase,
            t_secs: t,
            t_ttls: t / self.cfg.ttl.mean_secs(),
            sets,
            resident_entries: resident,
            live_entries: live,
            expired_resident_entries: resident.saturating_sub(live),
            resident_bytes: self.bytes.now(),
            reported_len,
        });
    }
}

/// The clock a workload runs on, and how it waits.
trait WorkloadClock: BenchClock {
    /// Lets time reach `t` (moves a hand clock; sleeps on real time).
    fn reach(&self, t: Timestamp);
}

impl WorkloadClock for ManualClock {
    fn reach(&self, t: Timestamp) {
        if t > self.now() {
            self.set(t);
        }
    }
}

impl WorkloadClock for SystemClock {
    fn reach(&self, t: Timestamp) {
        let now = self.now();
        if t > now {
            std::thread::sleep(t.saturating_duration_since(now));
        }
    }
}

/// Runs the workload on `strategy`, keys of `shape`, and returns its samples in order.
pub fn run<S: Shape>(
    strategy: &Strategy,
    shape: &S,
    cfg: &RetentionConfig,
    progress: &Progress,
) -> Vec<Sample> {
    match cfg.clock {
        ClockKind::RealTime => run_on(strategy, shape, cfg, SystemClock::new(), progress),
        ClockKind::Manual => run_on(strategy, shape, cfg, ManualClock::new(), progress),
    }
}

fn run_on<S: Shape, C: WorkloadClock>(
    strategy: &Strategy,
    shape: &S,
    cfg: &RetentionConfig,
    clock: C,
    progress: &Progress,
) -> Vec<Sample> {
    let n = cfg.write_sets as usize;
    // Everything the harness needs is allocated before the baseline.
    let table = Census::new(n);
    let mut deadlines = vec![Deadline::NEVER; n];
    let mut samples: Vec<Sample> = Vec::with_capacity(cfg.write_samples as usize + 16);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
    let gap = cfg.interarrival_secs();
    let origin = clock.now();
    let at = |secs: f64| origin.saturating_add(Duration::from_secs_f64(secs));
    let bar = progress.bar(
        &format!("{strategy}/{}", cfg.workload),
        cfg.write_sets + cfg.read_ops,
    );

    let scope = strategy.alloc_scope();
    let base = scope.now().net_bytes;
    let cache = strategy.build::<S::K, TrackedValue, C>(cfg.capacity, clock.clone());
    let bytes = match strategy.external() {
        None => Bytes::Heap { scope, base },
        Some(server) => Bytes::Server {
            server,
            base: server.memory(true).map_or(0, |m| m.data as i64),
        },
    };
    let mut rec = Recorder {
        strategy: strategy.name(),
        cfg,
        origin,
        bytes,
        table: &table,
        samples: &mut samples,
    };

    // Phase 1: write traffic, one new key every `gap` seconds.
    let every = (cfg.write_sets / cfg.write_samples.max(1)).max(1);
    for id in 0..cfg.write_sets {
        clock.reach(at(id as f64 * gap));
        let ttl = cfg.ttl.draw(&mut rng);
        deadlines[id as usize] = deadline(clock.now(), ttl);
        cache.set_ex(shape.key(id), TrackedValue::new(id, &table), ttl);
        if (id + 1) % every == 0 {
            rec.take(Phase::Write, id + 1, &*cache, &deadlines, &clock);
            bar.set_position(id + 1);
        }
    }
    let sets = cfg.write_sets;
    let write_end = cfg.write_sets as f64 * gap;

    // Phase 2: idle until every entry has expired.
    clock.reach(at(write_end + cfg.ttl.max_secs() * 1.05));
    rec.take(Phase::Idle, sets, &*cache, &deadlines, &clock);

    // Phase 3: read-only traffic on keys that were recently valid.
    let window = (cfg.valid_set() as u64 * 3).min(sets).max(1);
    let read_every = (cfg.read_ops / 5).max(1);
    for i in 0..cfg.read_ops {
        let id = sets - 1 - rng.next_u64() % window;
        std::hint::black_box(cache.get_ex(&shape.key(id)));
        if (i + 1) % read_every == 0 {
            rec.take(Phase::Read, sets, &*cache, &deadlines, &clock);
            bar.set_position(sets + i + 1);
        }
    }

    // Phase 4: the strategy's own housekeeping.
    cache.maintain();
    rec.take(Phase::Maintain, sets, &*cache, &deadlines, &clock);
    bar.finish_and_clear();
    drop(cache);
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::Wire;

    #[test]
    fn a_tracked_value_costs_what_an_article_value_costs_and_counts_its_copies() {
        assert_eq!(
            std::mem::size_of::<TrackedValue>(),
            std::mem::size_of::<String>()
        );
        let census = Census::new(10);
        let before = alloc::thread_snapshot();
        let v = TrackedValue::new(7, &census);
        let during = alloc::thread_snapshot();
        assert_eq!(
            (
                during.net_bytes - before.net_bytes,
                during.net_allocs - before.net_allocs
            ),
            (8, 1),
            "8 heap bytes in one allocation, as article_value"
        );
        let copy = v.clone();
        assert_eq!((census.copies(7), copy == v), (2, true));
        drop((v, copy));
        assert_eq!(census.copies(7), 0);
        assert_eq!(alloc::thread_snapshot(), before);
    }

    #[test]
    fn a_value_read_back_from_a_server_is_counted_nowhere() {
        let census = Census::new(10);
        let v = TrackedValue::new(7, &census);
        let back = TrackedValue::from_wire(v.to_wire()).unwrap();
        let copy = back.clone();
        assert_eq!((back == v, copy == v), (true, true));
        assert_eq!(census.copies(7), 1, "only the original counts");
        drop((back, copy));
        assert_eq!(census.copies(7), 1);
    }
}
