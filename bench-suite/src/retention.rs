//! Retention of expired entries: the article's failure mode, measured.
//!
//! A stream of new keys arrives at a rate that keeps the *valid set* (arrival rate × TTL) at a
//! tenth of the capacity. Over four phases — write traffic until steady state, idle, read-only
//! traffic, then `maintain()` — samples record how many entries each strategy holds, how many of
//! those are live and how many expired, and the live heap bytes it holds.
//!
//! Which entries a strategy holds is observed, not asked: every value is a [`TrackedValue`],
//! which counts its copies in memory per id. After the harness drops its own copies, an id
//! whose count is non-zero is held by the cache. The value is a plain 8-byte `String` inside, so
//! it costs exactly what the article's values cost.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use cache_core::{Clock, ExpiringCache, ManualClock, SystemClock, Timestamp, is_live};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};
use serde::Serialize;

use crate::alloc;
use crate::progress::Progress;
use crate::shapes::{article_key, article_value};
use crate::strategies::Strategy;

/// Per id, the number of copies of its value alive right now.
static COPIES: RwLock<Vec<AtomicU32>> = RwLock::new(Vec::new());

fn copies(id: usize, delta: i32) {
    let table = COPIES.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = table.get(id) {
        if delta > 0 {
            c.fetch_add(1, Ordering::Relaxed);
        } else {
            c.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// An article-shaped value (8 hex digits of its id in an exactly sized `String`) that counts
/// its live copies, so the harness can see which ids a cache still holds.
#[derive(Debug, PartialEq, Eq)]
pub struct TrackedValue(String);

impl TrackedValue {
    /// The value of `id`, counted.
    pub fn new(id: u64) -> TrackedValue {
        let v = TrackedValue(article_value(id));
        copies(v.id(), 1);
        v
    }

    fn id(&self) -> usize {
        usize::from_str_radix(&self.0, 16).unwrap_or(usize::MAX)
    }
}

impl Clone for TrackedValue {
    fn clone(&self) -> TrackedValue {
        copies(self.id(), 1);
        TrackedValue(self.0.clone())
    }
}

impl Drop for TrackedValue {
    fn drop(&mut self) {
        copies(self.id(), -1);
    }
}

/// Sizes the copy table for ids `0..n`, all at zero. Allocates; call before a baseline.
fn reset_copies(n: usize) {
    let mut table = COPIES.write().unwrap_or_else(PoisonError::into_inner);
    table.clear();
    table.resize_with(n, || AtomicU32::new(0));
}

/// How the workload's TTLs are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TtlMix {
    /// Every entry gets the same TTL.
    Uniform {
        /// The TTL, in seconds.
        secs: f64,
    },
    /// Log-uniform between `min_secs` and `max_secs`: as many entries live a minute as an
    /// hour or a day, per order of magnitude.
    LogUniform {
        /// The shortest TTL, in seconds.
        min_secs: f64,
        /// The longest TTL, in seconds.
        max_secs: f64,
    },
}

impl TtlMix {
    /// The mean TTL, in seconds.
    pub fn mean_secs(self) -> f64 {
        match self {
            TtlMix::Uniform { secs } => secs,
            TtlMix::LogUniform { min_secs, max_secs } => {
                (max_secs - min_secs) / (max_secs / min_secs).ln()
            }
        }
    }

    /// The longest TTL, in seconds.
    pub fn max_secs(self) -> f64 {
        match self {
            TtlMix::Uniform { secs } => secs,
            TtlMix::LogUniform { max_secs, .. } => max_secs,
        }
    }

    fn draw(self, rng: &mut Xoshiro256PlusPlus) -> Duration {
        match self {
            TtlMix::Uniform { secs } => Duration::from_secs_f64(secs),
            TtlMix::LogUniform { min_secs, max_secs } => {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                Duration::from_secs_f64(min_secs * (max_secs / min_secs).powf(u))
            }
        }
    }
}

/// One retention workload.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionConfig {
    /// The workload's name in tables (`uniform_ttl`, `mixed_ttl`).
    pub workload: &'static str,
    /// Capacity every cache is built with.
    pub capacity: usize,
    /// The TTLs.
    pub ttl: TtlMix,
    /// New keys set in the write phase.
    pub write_sets: u64,
    /// Reads in the read-only phase.
    pub read_ops: u64,
    /// Samples taken in the write phase.
    pub write_samples: u64,
    /// Whether it runs on real time (moka) instead of a hand-moved clock.
    pub real_time: bool,
    /// Seed for the TTL draws and the reads.
    pub seed: u64,
    /// The valid set as a fraction of the capacity (the article's case: a tenth).
    pub valid_fraction: f64,
}

impl RetentionConfig {
    /// The workload at capacity `capacity`: valid set a tenth of it, `2 × capacity` new keys.
    pub fn new(
        workload: &'static str,
        capacity: usize,
        ttl: TtlMix,
        real_time: bool,
        seed: u64,
    ) -> Self {
        RetentionConfig {
            workload,
            capacity,
            ttl,
            write_sets: 2 * capacity as u64,
            read_ops: (capacity as u64 / 5).max(1),
            write_samples: 20,
            real_time,
            seed,
            valid_fraction: 0.1,
        }
    }

    /// Entries valid at once in steady state: `valid_fraction` of the capacity.
    pub fn valid_set(&self) -> f64 {
        (self.capacity as f64 * self.valid_fraction).max(1.0)
    }

    /// Seconds between two new keys: mean TTL ÷ valid set.
    pub fn interarrival_secs(&self) -> f64 {
        self.ttl.mean_secs() / self.valid_set()
    }
}

/// One sample of what a strategy holds.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Strategy name.
    pub strategy: &'static str,
    /// Workload name.
    pub workload: &'static str,
    /// `write`, `idle`, `read` or `maintain`.
    pub phase: &'static str,
    /// Seconds since the workload started, on its clock.
    pub t_secs: f64,
    /// The same time in mean TTLs, comparable across clocks.
    pub t_ttls: f64,
    /// New keys set so far.
    pub sets: u64,
    /// Entries whose value is in memory (observed through the values themselves).
    pub resident_entries: u64,
    /// Resident entries that are live (`now <= deadline`).
    pub live_entries: u64,
    /// Resident entries that have expired.
    pub expired_resident_entries: u64,
    /// Live heap bytes held by the cache (this thread's net allocation since before it was
    /// built).
    pub resident_bytes: i64,
    /// What the strategy's own `resident_len()` says.
    pub reported_len: u64,
}

/// The observed entries: (resident, live) at `now`.
fn census(deadlines: &[Timestamp], upto: usize, now: Timestamp) -> (u64, u64) {
    let table = COPIES.read().unwrap_or_else(PoisonError::into_inner);
    let (mut resident, mut live) = (0, 0);
    for (id, dl) in deadlines.iter().enumerate().take(upto) {
        if table[id].load(Ordering::Relaxed) > 0 {
            resident += 1;
            live += u64::from(is_live(*dl, now));
        }
    }
    (resident, live)
}

/// Takes samples into a list allocated in advance (so sampling does not count as cache bytes).
struct Recorder<'a> {
    strategy: Strategy,
    workload: &'static str,
    origin: Timestamp,
    mean_ttl: f64,
    base: i64,
    samples: &'a mut Vec<Sample>,
}

impl Recorder<'_> {
    fn take(
        &mut self,
        phase: &'static str,
        sets: u64,
        cache: &dyn ExpiringCache<String, TrackedValue>,
        deadlines: &[Timestamp],
        clock: &impl Clock,
    ) {
        let now = clock.now();
        let (resident, live) = census(deadlines, sets as usize, now);
        let t = now.saturating_duration_since(self.origin).as_secs_f64();
        self.samples.push(Sample {
            strategy: self.strategy.name(),
            workload: self.workload,
            phase,
            t_secs: t,
            t_ttls: t / self.mean_ttl,
            sets,
            resident_entries: resident,
            live_entries: live,
            expired_resident_entries: resident - live,
            resident_bytes: alloc::thread_snapshot().net_bytes - self.base,
            reported_len: cache.resident_len() as u64,
        });
    }
}

/// Runs the workload on `strategy` and returns its samples, in order.
pub fn run(strategy: Strategy, cfg: &RetentionConfig, progress: &Progress) -> Vec<Sample> {
    if cfg.real_time {
        run_on(strategy, cfg, SystemClock::new(), progress)
    } else {
        run_on(strategy, cfg, ManualClock::new(), progress)
    }
}

/// The clock a workload runs on, and how it waits.
trait WorkloadClock: Clock + Clone + 'static {
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

fn run_on<C: WorkloadClock>(
    strategy: Strategy,
    cfg: &RetentionConfig,
    clock: C,
    progress: &Progress,
) -> Vec<Sample> {
    let n = cfg.write_sets as usize;
    // Everything the harness needs is allocated before the baseline.
    reset_copies(n);
    let mut deadlines = vec![Timestamp::MAX; n];
    let total_samples = cfg.write_samples as usize + 16;
    let mut samples: Vec<Sample> = Vec::with_capacity(total_samples);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
    let mean_ttl = cfg.ttl.mean_secs();
    let gap = cfg.interarrival_secs();
    let origin = clock.now();
    let at = |secs: f64| origin.saturating_add(Duration::from_secs_f64(secs));
    let bar = progress.bar(
        &format!("{strategy}/{}", cfg.workload),
        cfg.write_sets + cfg.read_ops,
    );

    let base = alloc::thread_snapshot().net_bytes;
    let cache: Box<dyn ExpiringCache<String, TrackedValue>> =
        strategy.build(cfg.capacity, clock.clone());

    let mut rec = Recorder {
        strategy,
        workload: cfg.workload,
        origin,
        mean_ttl,
        base,
        samples: &mut samples,
    };

    // Phase 1: write traffic, one new key every `gap` seconds.
    let every = (cfg.write_sets / cfg.write_samples.max(1)).max(1);
    for id in 0..cfg.write_sets {
        clock.reach(at(id as f64 * gap));
        let ttl = cfg.ttl.draw(&mut rng);
        deadlines[id as usize] = clock.now().saturating_add(ttl);
        cache.set_ex(article_key(id), TrackedValue::new(id), ttl);
        if (id + 1) % every == 0 {
            rec.take("write", id + 1, &*cache, &deadlines, &clock);
            bar.set_position(id + 1);
        }
    }
    let sets = cfg.write_sets;
    let write_end = cfg.write_sets as f64 * gap;

    // Phase 2: idle until every entry has expired.
    clock.reach(at(write_end + cfg.ttl.max_secs() * 1.05));
    rec.take("idle", sets, &*cache, &deadlines, &clock);

    // Phase 3: read-only traffic on keys that were recently valid.
    let window = (cfg.valid_set() as u64 * 3).min(sets).max(1);
    let read_every = (cfg.read_ops / 5).max(1);
    for i in 0..cfg.read_ops {
        let id = sets - 1 - rng.next_u64() % window;
        std::hint::black_box(cache.get_ex(&article_key(id)));
        if (i + 1) % read_every == 0 {
            rec.take("read", sets, &*cache, &deadlines, &clock);
            bar.set_position(sets + i + 1);
        }
    }

    // Phase 4: the strategy's own housekeeping.
    cache.maintain();
    rec.take("maintain", sets, &*cache, &deadlines, &clock);
    bar.finish_and_clear();
    drop(cache);
    samples
}

/// The last sample of each phase: the summary table.
pub fn phase_ends(samples: &[Sample]) -> Vec<Sample> {
    let mut out: Vec<Sample> = Vec::new();
    for s in samples {
        match out.last_mut() {
            Some(last)
                if last.phase == s.phase
                    && last.strategy == s.strategy
                    && last.workload == s.workload =>
            {
                *last = s.clone();
            }
            _ => out.push(s.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_mixes_have_the_stated_means_and_bounds() {
        assert_eq!(TtlMix::Uniform { secs: 1800.0 }.mean_secs(), 1800.0);
        let mix = TtlMix::LogUniform {
            min_secs: 60.0,
            max_secs: 86_400.0,
        };
        // (b − a) / ln(b / a) = 86 340 / ln 1440 ≈ 11 872 s.
        assert!(
            (mix.mean_secs() - 11_872.3).abs() < 0.1,
            "{}",
            mix.mean_secs()
        );
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        let draws: Vec<f64> = (0..100_000)
            .map(|_| mix.draw(&mut rng).as_secs_f64())
            .collect();
        assert!(draws.iter().all(|d| (60.0..=86_400.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!(
            (mean / mix.mean_secs() - 1.0).abs() < 0.02,
            "sample mean {mean}"
        );
        // Log-uniform: as many draws below the geometric middle (2 277 s) as above.
        let below = draws
            .iter()
            .filter(|d| **d < (60.0f64 * 86_400.0).sqrt())
            .count();
        assert!((below as f64 / draws.len() as f64 - 0.5).abs() < 0.01);
    }

    #[test]
    fn the_arrival_rate_keeps_the_valid_set_at_a_tenth_of_capacity() {
        let cfg = RetentionConfig::new(
            "uniform_ttl",
            500_000,
            TtlMix::Uniform { secs: 1800.0 },
            false,
            1,
        );
        assert_eq!(cfg.valid_set(), 50_000.0);
        assert_eq!(cfg.interarrival_secs(), 0.036); // 27.8 new keys per second
        assert_eq!(cfg.write_sets, 1_000_000);
    }

    /// One test, because the copy table is process-wide.
    #[test]
    fn runs_observe_what_each_strategy_holds() {
        let value = TrackedValue::new(7);
        let copy = value.clone();
        assert_eq!(copy, value);
        drop((value, copy));

        let cfg = RetentionConfig::new(
            "uniform_ttl",
            2_000,
            TtlMix::Uniform { secs: 100.0 },
            false,
            3,
        );
        let weak = run(Strategy::Weakfifo, &cfg, &Progress::hidden());
        let ends = phase_ends(&weak);
        assert_eq!(
            ends.iter().map(|s| s.phase).collect::<Vec<_>>(),
            ["write", "idle", "read", "maintain"]
        );
        let write = &ends[0];
        // The article's design fills to maxlen; about a tenth is live.
        assert_eq!(write.resident_entries, 2_000);
        assert_eq!(write.reported_len, 2_000);
        assert!(
            (199..=201).contains(&write.live_entries),
            "{}",
            write.live_entries
        );
        assert_eq!(
            write.expired_resident_entries,
            write.resident_entries - write.live_entries
        );
        assert!(
            write.resident_bytes > 2_000 * 84,
            "{}",
            write.resident_bytes
        );
        assert!(ends[3].live_entries == 0 && ends[3].resident_entries == 2_000);

        let fifo = phase_ends(&run(Strategy::Ttlfifo, &cfg, &Progress::hidden()));
        assert_eq!(
            fifo[0].expired_resident_entries, 0,
            "expired entries freed as writes arrive"
        );
        assert_eq!(
            (fifo[3].resident_entries, fifo[3].reported_len),
            (0, 0),
            "maintain() frees all"
        );
        assert!(fifo[3].resident_bytes < 1_024, "{}", fifo[3].resident_bytes);
    }
}
