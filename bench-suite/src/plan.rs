//! `cachebench plan`: turns measurements into a capacity plan for the user's numbers.
//!
//! Given the largest number of entries valid at once (or an arrival rate and a TTL), key and
//! value sizes, workers and caches per worker, it measures bytes per entry for that shape by
//! building a sample with each strategy, measures how full each strategy gets under a stream of
//! new keys at that ratio of valid set to `maxlen` (a scaled retention run), and prints the
//! memory each strategy will reach and the `maxlen` the article's rule gives.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;

use crate::footprint;
use crate::progress::Progress;
use crate::retention::{self, RetentionConfig, TtlMix};
use crate::shapes::Shape;
use crate::strategies::{self, Strategy};

/// The planner's inputs.
#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    /// The largest number of entries valid at once (alternatively give --rate and --ttl).
    #[arg(long, value_name = "N")]
    pub valid: Option<u64>,
    /// New keys per second (with --ttl, instead of --valid).
    #[arg(long, value_name = "PER_SEC")]
    pub rate: Option<f64>,
    /// The TTL in seconds (with --rate).
    #[arg(long, value_name = "SECS")]
    pub ttl: Option<f64>,
    /// Bytes in a key (a String of this length; at least 8).
    #[arg(long, default_value_t = 20)]
    pub key_bytes: usize,
    /// Bytes in a value (a String of this length).
    #[arg(long, default_value_t = 8)]
    pub value_bytes: usize,
    /// Worker processes.
    #[arg(long, default_value_t = 1)]
    pub workers: u64,
    /// Caches per worker.
    #[arg(long, default_value_t = 1)]
    pub caches: u64,
    /// The maxlen to evaluate [default: the article's rule, 2 × the valid set].
    #[arg(long)]
    pub maxlen: Option<u64>,
    /// Comma-separated strategies [default: all].
    #[arg(long, value_name = "LIST")]
    pub strategies: Option<String>,
    /// Entries in the sample built to measure bytes per entry [default: min(maxlen, 100000)].
    #[arg(long)]
    pub sample: Option<usize>,
    /// Seed of the scaled retention runs.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

/// What the planner works from, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// Entries valid at once.
    pub valid: u64,
    /// The maxlen evaluated.
    pub maxlen: u64,
    /// Key size.
    pub key_bytes: usize,
    /// Value size.
    pub value_bytes: usize,
    /// Caches in all: workers × caches per worker.
    pub copies: u64,
}

/// The article's rule: `maxlen` between 1.1 and 2 × the valid set (rounded up).
pub fn recommended_maxlen(valid: u64) -> (u64, u64) {
    (
        valid.saturating_mul(11).div_ceil(10),
        valid.saturating_mul(2),
    )
}

impl Inputs {
    /// Checks the arguments and derives the valid set and maxlen.
    pub fn from_args(a: &PlanArgs) -> Result<Inputs, String> {
        let valid = match (a.valid, a.rate, a.ttl) {
            (Some(v), None, None) => v,
            (None, Some(r), Some(t)) => {
                if !(r.is_finite() && r > 0.0 && t.is_finite() && t > 0.0) {
                    return Err("--rate and --ttl must be positive numbers".to_owned());
                }
                (r * t).ceil() as u64
            }
            (Some(_), _, _) => {
                return Err("give either --valid, or --rate with --ttl, not both".to_owned());
            }
            _ => {
                return Err(
                    "give --valid N, or --rate R with --ttl T (valid set = R × T)".to_owned(),
                );
            }
        };
        if valid == 0 {
            return Err("the valid set must hold at least one entry".to_owned());
        }
        if a.key_bytes < 8 {
            return Err("--key-bytes must be at least 8 (keys must be distinct)".to_owned());
        }
        if a.workers == 0 || a.caches == 0 {
            return Err("--workers and --caches must be at least 1".to_owned());
        }
        let maxlen = a.maxlen.unwrap_or(recommended_maxlen(valid).1);
        if maxlen == 0 {
            return Err("--maxlen must be at least 1".to_owned());
        }
        Ok(Inputs {
            valid,
            maxlen,
            key_bytes: a.key_bytes,
            value_bytes: a.value_bytes,
            copies: a.workers.saturating_mul(a.caches),
        })
    }
}

/// One strategy's line in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    /// The strategy.
    pub strategy: Strategy,
    /// Measured total bytes per entry for the user's shape.
    pub bytes_per_entry: f64,
    /// Entries held in steady state, as a fraction of maxlen (measured, scaled run).
    pub held_fraction: f64,
    /// Live entries in steady state as a fraction of the valid set.
    pub live_fraction: f64,
    /// bytes per entry × maxlen × copies: every cache full.
    pub full_bytes: f64,
    /// bytes per entry × held fraction × maxlen × copies.
    pub steady_bytes: f64,
    /// The clock the scaled run used.
    pub clock: &'static str,
}

/// The plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The inputs.
    pub inputs: Inputs,
    /// Per strategy.
    pub rows: Vec<PlanRow>,
    /// Entries in the footprint sample.
    pub sample: usize,
}

/// Memory of `copies` caches holding `entries` entries of `bytes_per_entry`.
pub fn memory(bytes_per_entry: f64, entries: f64, copies: u64) -> f64 {
    bytes_per_entry * entries * copies as f64
}

static KEY_BYTES: AtomicUsize = AtomicUsize::new(20);
static VALUE_BYTES: AtomicUsize = AtomicUsize::new(8);

/// String keys and values of the sizes given to `plan`.
#[derive(Debug, Clone, Copy)]
pub struct Custom;

impl Shape for Custom {
    const NAME: &'static str = "custom";
    type K = String;
    type V = String;
    fn key(id: u64) -> String {
        let n = KEY_BYTES.load(Ordering::Relaxed);
        let mut s = String::with_capacity(n);
        let _ = write!(s, "{id:x}");
        while s.len() < n {
            s.push('k');
        }
        s
    }
    fn value(_id: u64) -> String {
        let n = VALUE_BYTES.load(Ordering::Relaxed);
        let mut s = String::with_capacity(n);
        s.extend(std::iter::repeat_n('v', n));
        s
    }
}

/// Measures and computes the plan.
pub fn run(args: &PlanArgs) -> Result<Plan, String> {
    let inputs = Inputs::from_args(args)?;
    let strategies = match &args.strategies {
        Some(s) => strategies::parse_list(s)?,
        None => Strategy::ALL.to_vec(),
    };
    KEY_BYTES.store(inputs.key_bytes, Ordering::Relaxed);
    VALUE_BYTES.store(inputs.value_bytes, Ordering::Relaxed);
    let sample = args
        .sample
        .unwrap_or_else(|| (inputs.maxlen as usize).min(100_000))
        .max(1);
    let fraction = (inputs.valid as f64 / inputs.maxlen as f64).min(1.0);
    let progress = Progress::new(true);
    let floor = footprint::measure_floor::<Custom>(sample).bytes_per_entry;
    let mut rows = Vec::new();
    for s in strategies {
        let fp = footprint::measure::<Custom>(s, sample, floor, &progress);
        let mut cfg = if s.reclamation_follows_clock() {
            let cap = (inputs.maxlen as usize).clamp(1, 20_000);
            RetentionConfig::new(
                "plan",
                cap,
                TtlMix::Uniform { secs: 1800.0 },
                false,
                args.seed,
            )
        } else {
            let cap = (inputs.maxlen as usize).clamp(1, 2_000);
            RetentionConfig::new("plan", cap, TtlMix::Uniform { secs: 1.0 }, true, args.seed)
        };
        cfg.valid_fraction = fraction;
        cfg.write_sets = (cfg.capacity as u64 * 2).max((cfg.valid_set() * 3.0) as u64);
        if cfg.real_time {
            cfg.write_sets = (cfg.valid_set() * 3.0).ceil() as u64;
        }
        cfg.read_ops = 1;
        let samples = retention::run(s, &cfg, &progress);
        let end = samples
            .iter()
            .rfind(|x| x.phase == "write")
            .ok_or("the scaled run took no sample")?;
        let held_fraction = end.resident_entries as f64 / cfg.capacity as f64;
        let live_fraction = end.live_entries as f64 / cfg.valid_set();
        rows.push(PlanRow {
            strategy: s,
            bytes_per_entry: fp.total_bytes_per_entry,
            held_fraction,
            live_fraction,
            full_bytes: memory(
                fp.total_bytes_per_entry,
                inputs.maxlen as f64,
                inputs.copies,
            ),
            steady_bytes: memory(
                fp.total_bytes_per_entry,
                held_fraction * inputs.maxlen as f64,
                inputs.copies,
            ),
            clock: if cfg.real_time {
                "real time, scaled"
            } else {
                "hand-moved"
            },
        });
    }
    Ok(Plan {
        inputs,
        rows,
        sample,
    })
}

fn human(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.2} GB", bytes / 1e9)
    } else if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6)
    } else {
        format!("{:.1} kB", bytes / 1e3)
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inputs;
        let (lo, hi) = recommended_maxlen(i.valid);
        writeln!(f, "# Capacity plan\n")?;
        writeln!(
            f,
            "{} entries valid at once; keys of {} bytes, values of {} bytes; {} cache(s) in all; maxlen evaluated: {}.",
            i.valid, i.key_bytes, i.value_bytes, i.copies, i.maxlen
        )?;
        writeln!(
            f,
            "The article's rule: maxlen = 1.1–2 × the valid set = {lo}–{hi}.{}\n",
            if i.maxlen > hi {
                format!(
                    " The maxlen evaluated is {:.1} × the valid set.",
                    i.maxlen as f64 / i.valid as f64
                )
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "Bytes per entry measured on a sample of {} entries of this shape; how full each strategy gets \
             measured by a scaled run of a stream of new keys at this valid-set-to-maxlen ratio.\n",
            self.sample
        )?;
        writeln!(
            f,
            "| strategy | bytes/entry | held (% of maxlen) | valid set kept | memory, steady state | memory, all full | scaled run |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
        for r in &self.rows {
            writeln!(
                f,
                "| {} | {:.1} | {:.0} % | {:.0} % | {} | {} | {} |",
                r.strategy,
                r.bytes_per_entry,
                100.0 * r.held_fraction,
                100.0 * r.live_fraction.min(1.0),
                human(r.steady_bytes),
                if r.strategy == Strategy::Hashmap {
                    "unbounded".to_owned()
                } else {
                    human(r.full_bytes)
                },
                r.clock
            )?;
        }
        if self
            .rows
            .iter()
            .any(|r| !r.strategy.reclamation_follows_clock())
        {
            writeln!(
                f,
                "\nmoka's reclamation runs on real time only, so its scaled run uses a 1 s TTL; its \
                 timer wheel ticks about every 1.07 s, a whole TTL at that scale, so the expired \
                 entries it holds there are an upper bound for longer TTLs."
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> PlanArgs {
        PlanArgs {
            valid: Some(50_000),
            rate: None,
            ttl: None,
            key_bytes: 20,
            value_bytes: 8,
            workers: 4,
            caches: 2,
            maxlen: None,
            strategies: None,
            sample: None,
            seed: 1,
        }
    }

    #[test]
    fn the_articles_rule_gives_one_point_one_to_two_times_the_valid_set() {
        assert_eq!(recommended_maxlen(50_000), (55_000, 100_000));
        assert_eq!(recommended_maxlen(7), (8, 14), "rounded up");
        assert_eq!(recommended_maxlen(u64::MAX).1, u64::MAX, "saturates");
    }

    #[test]
    fn inputs_derive_the_valid_set_and_maxlen() {
        let i = Inputs::from_args(&args()).unwrap();
        assert_eq!((i.valid, i.maxlen, i.copies), (50_000, 100_000, 8));
        let mut a = args();
        (a.valid, a.rate, a.ttl) = (None, Some(27.8), Some(1800.0));
        assert_eq!(Inputs::from_args(&a).unwrap().valid, 50_040);
        a.maxlen = Some(500_000);
        assert_eq!(Inputs::from_args(&a).unwrap().maxlen, 500_000);
    }

    #[test]
    fn bad_inputs_are_clear_errors() {
        let mut a = args();
        a.valid = None;
        assert!(Inputs::from_args(&a).unwrap_err().contains("give --valid"));
        a.rate = Some(-1.0);
        a.ttl = Some(5.0);
        assert!(Inputs::from_args(&a).unwrap_err().contains("positive"));
        let mut a = args();
        a.valid = Some(0);
        assert!(Inputs::from_args(&a).unwrap_err().contains("at least one"));
        let mut a = args();
        a.key_bytes = 4;
        assert!(Inputs::from_args(&a).unwrap_err().contains("--key-bytes"));
        let mut a = args();
        a.rate = Some(1.0);
        a.ttl = Some(1.0);
        assert!(Inputs::from_args(&a).unwrap_err().contains("not both"));
    }

    #[test]
    fn memory_multiplies_out() {
        // The article's own arithmetic: 700 B × 500 000 × 4 workers × 2 caches = 2.8 GB.
        assert_eq!(memory(700.0, 500_000.0, 8), 2.8e9);
    }

    #[test]
    fn custom_keys_are_distinct_and_sized() {
        KEY_BYTES.store(12, Ordering::Relaxed);
        VALUE_BYTES.store(3, Ordering::Relaxed);
        let (a, b) = (Custom::key(1), Custom::key(0xabc));
        assert_eq!((a.len(), a.capacity(), b.len()), (12, 12, 12));
        assert_ne!(a, b);
        assert_eq!(Custom::value(9), "vvv");
        KEY_BYTES.store(20, Ordering::Relaxed);
        VALUE_BYTES.store(8, Ordering::Relaxed);
    }
}
