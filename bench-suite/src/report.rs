//! The comparison report: runs every measurement, then renders Markdown, JSON, CSV and SVG.
//!
//! Every figure in a [`Report`] comes from the run that produced it; nothing is carried over.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::footprint::{FLOOR, FootprintRow};
use crate::hitratio::{self, HitRatioConfig, HitRow};
use crate::progress::Progress;
use crate::retention::{self, RetentionConfig, Sample, TtlMix};
use crate::strategies::Strategy;
use crate::svg::{Chart, Series};

/// The article's figures, quoted beside ours (ARTICLE.md): entries per cache, caches per worker,
/// workers, its estimate, and what it reported.
pub mod article {
    /// `LocalCache(500000)`.
    pub const ENTRIES_PER_CACHE: u64 = 500_000;
    /// Two caches (user id → display id, and back).
    pub const CACHES: u64 = 2;
    /// Four uWSGI workers per host.
    pub const WORKERS: u64 = 4;
    /// The naive estimate: 100 B × 500 000 × 4 × 2 (the article rounds it to 380 MB).
    pub const ESTIMATE_BYTES: f64 = 380e6;
    /// What it measured: 2.67 GB (700 B × 500 000 × 4 × 2).
    pub const REPORTED_BYTES: f64 = 2.67e9;
}

/// What to run.
#[derive(Debug, Clone, Serialize)]
pub struct ReportConfig {
    /// The reduced run (CI): small sizes, short real-time phases.
    pub quick: bool,
    /// Strategies to measure.
    pub strategies: Vec<Strategy>,
    /// Entry counts for the footprint (each also the capacity).
    pub footprint_entries: Vec<usize>,
    /// Retention workloads on the hand-moved clock.
    pub retention: Vec<RetentionConfig>,
    /// The scaled real-time retention workload, for strategies whose reclamation follows real
    /// time only (moka).
    pub retention_real_time: RetentionConfig,
    /// The hit-ratio workload.
    pub hit_ratio: HitRatioConfig,
    /// Seed of every random choice.
    pub seed: u64,
}

impl ReportConfig {
    /// The default run (`quick == false`) or the reduced one.
    pub fn new(quick: bool, seed: u64) -> ReportConfig {
        let (entries, capacity, rt_capacity, rt_ttl, keys, requests) = if quick {
            (vec![10_000], 20_000, 2_000, 1.0, 10_000, 100_000)
        } else {
            (
                vec![10_000, 100_000, 500_000],
                500_000,
                10_000,
                2.0,
                100_000,
                1_000_000,
            )
        };
        let mut rt = RetentionConfig::new(
            "uniform_ttl",
            rt_capacity,
            TtlMix::Uniform { secs: rt_ttl },
            true,
            seed,
        );
        // Real time: three TTLs of writes reach moka's steady state (its timer ticks ~1.07 s).
        rt.write_sets = (rt.valid_set() * 3.0) as u64;
        ReportConfig {
            quick,
            strategies: Strategy::ALL.to_vec(),
            footprint_entries: entries,
            retention: vec![
                RetentionConfig::new(
                    "uniform_ttl",
                    capacity,
                    TtlMix::Uniform { secs: 1800.0 },
                    false,
                    seed,
                ),
                RetentionConfig::new(
                    "mixed_ttl",
                    capacity,
                    TtlMix::LogUniform {
                        min_secs: 60.0,
                        max_secs: 86_400.0,
                    },
                    false,
                    seed,
                ),
            ],
            retention_real_time: rt,
            hit_ratio: HitRatioConfig::new(keys, requests, seed),
            seed,
        }
    }

    /// Sets the uniform retention workload's TTL (seconds).
    pub fn set_ttl(&mut self, secs: f64) -> Result<(), String> {
        if !(secs.is_finite() && secs > 0.0) {
            return Err(format!(
                "--ttl must be a positive number of seconds, got {secs}"
            ));
        }
        for r in &mut self.retention {
            if let TtlMix::Uniform { .. } = r.ttl {
                r.ttl = TtlMix::Uniform { secs };
            }
        }
        Ok(())
    }
}

/// One phase end of one retention run, with the workload's context.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionRow {
    /// Strategy name.
    pub strategy: &'static str,
    /// Workload name.
    pub workload: &'static str,
    /// `manual` (hand-moved clock) or `real_time` (scaled parameters).
    pub clock: &'static str,
    /// Capacity.
    pub capacity: usize,
    /// Entries valid at once in steady state.
    pub valid_set: u64,
    /// Mean TTL, seconds.
    pub mean_ttl_secs: f64,
    /// `write`, `idle`, `read` or `maintain`.
    pub phase: &'static str,
    /// Entries held.
    pub resident_entries: u64,
    /// Held and live.
    pub live_entries: u64,
    /// Held and expired.
    pub expired_resident_entries: u64,
    /// Live heap bytes held.
    pub resident_bytes: i64,
    /// The most expired-but-resident entries at any sample of the write phase.
    pub max_expired_resident_entries_in_write: u64,
}

/// The article's scenario for one strategy.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRow {
    /// Strategy name.
    pub strategy: &'static str,
    /// Measured bytes per entry, article shape, fixed cost included.
    pub bytes_per_entry: f64,
    /// The footprint size it was measured at.
    pub measured_at_entries: usize,
    /// bytes per entry × 500 000 × 2 caches × 4 workers: every cache full.
    pub full_bytes: f64,
    /// What the caches hold in the article's workload (valid set a tenth of `maxlen`), × 2 caches
    /// × 4 workers: the bytes the retention run held in steady state when it ran at the article's
    /// capacity on the hand-moved clock; otherwise the fraction of capacity it held × 500 000 ×
    /// the measured bytes per entry.
    pub workload_bytes: Option<f64>,
    /// Where `workload_bytes` comes from.
    pub workload_source: String,
}

/// The machine and the run.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    /// This tool's version.
    pub cachebench: &'static str,
    /// The compiler that built it.
    pub rustc: &'static str,
    /// Locked versions of the measured crates.
    pub crates: BTreeMap<String, String>,
    /// Logical CPUs available.
    pub cores: usize,
    /// `std::env::consts::OS` / `ARCH`.
    pub platform: String,
    /// Seconds since 1970 when the run started.
    pub started_unix_secs: u64,
    /// How long the run took.
    pub elapsed_secs: f64,
    /// What the counting allocator counts.
    pub allocator: &'static str,
    /// Build profile.
    pub profile: &'static str,
}

impl Environment {
    fn now(elapsed_secs: f64, started_unix_secs: u64) -> Environment {
        let crates = option_env!("CACHEBENCH_CRATES")
            .unwrap_or("")
            .split(',')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Environment {
            cachebench: env!("CARGO_PKG_VERSION"),
            rustc: option_env!("CACHEBENCH_RUSTC").unwrap_or("unknown"),
            crates,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
            started_unix_secs,
            elapsed_secs,
            allocator: "bytes requested from the global allocator and not yet freed, on the \
                        measuring thread (allocator headers and size classes not included)",
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
        }
    }
}

/// One line on the machine and toolchain, for tables that quote measurements.
pub fn machine_line() -> String {
    let env = Environment::now(0.0, 0);
    format!(
        "{}, {} logical CPUs, {}, {} build",
        env.platform, env.cores, env.rustc, env.profile
    )
}

/// Everything one run measured. Field names are stable: see README's "report.json".
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Version of this JSON layout.
    pub schema_version: u32,
    /// The machine and the run.
    pub environment: Environment,
    /// The parameters.
    pub parameters: ReportConfig,
    /// Bytes per entry.
    pub footprint: Vec<FootprintRow>,
    /// Phase ends of every retention run.
    pub retention: Vec<RetentionRow>,
    /// Every retention sample.
    pub retention_samples: Vec<Sample>,
    /// The article's scenario.
    pub scenario: Vec<ScenarioRow>,
    /// Hit ratios.
    pub hit_ratio: Vec<HitRow>,
    /// Advice derived from the figures above.
    pub advice: Vec<String>,
}

/// Measures one footprint row: `(strategy or "payload_floor", shape, entries)`. The binary
/// runs each in a fresh process so that RSS and moka's deferred frees start from nothing.
pub type FootprintRunner<'a> = &'a dyn Fn(&str, &str, usize) -> Result<FootprintRow, String>;

/// Runs every measurement.
pub fn run(
    cfg: &ReportConfig,
    footprint: FootprintRunner<'_>,
    progress: &Progress,
) -> Result<Report, String> {
    let started = Instant::now();
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    // 1. Footprint.
    let mut fp = Vec::new();
    let shapes = ["article", "u64"];
    let bar = progress.bar(
        "footprint",
        (cfg.footprint_entries.len() * shapes.len() * (cfg.strategies.len() + 1)) as u64,
    );
    for &n in &cfg.footprint_entries {
        for shape in shapes {
            let floor = footprint(FLOOR, shape, n)?;
            bar.inc(1);
            let payload = floor.bytes_per_entry;
            fp.push(floor);
            for s in &cfg.strategies {
                fp.push(footprint(s.name(), shape, n)?.with_payload(payload));
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();

    // 2. Retention.
    let mut samples = Vec::new();
    let mut rows = Vec::new();
    for s in &cfg.strategies {
        let runs: Vec<&RetentionConfig> = if s.reclamation_follows_clock() {
            cfg.retention.iter().collect()
        } else {
            vec![&cfg.retention_real_time]
        };
        for r in runs {
            let got = retention::run(*s, r, progress);
            rows.extend(summarise(r, &got));
            samples.extend(got);
        }
    }

    // 3. Hit ratio.
    let hit = hitratio::run(&cfg.strategies, &cfg.hit_ratio, progress)?;

    let scenario = scenario(&fp, &rows);
    let advice = advice(&rows, &scenario, &fp);
    Ok(Report {
        schema_version: 1,
        environment: Environment::now(started.elapsed().as_secs_f64(), started_unix),
        parameters: cfg.clone(),
        footprint: fp,
        retention: rows,
        retention_samples: samples,
        scenario,
        hit_ratio: hit,
        advice,
    })
}

fn summarise(cfg: &RetentionConfig, samples: &[Sample]) -> Vec<RetentionRow> {
    let max_expired = samples
        .iter()
        .filter(|s| s.phase == "write")
        .map(|s| s.expired_resident_entries)
        .max()
        .unwrap_or(0);
    retention::phase_ends(samples)
        .into_iter()
        .map(|s| RetentionRow {
            strategy: s.strategy,
            workload: s.workload,
            clock: if cfg.real_time { "real_time" } else { "manual" },
            capacity: cfg.capacity,
            valid_set: cfg.valid_set() as u64,
            mean_ttl_secs: cfg.ttl.mean_secs(),
            phase: s.phase,
            resident_entries: s.resident_entries,
            live_entries: s.live_entries,
            expired_resident_entries: s.expired_resident_entries,
            resident_bytes: s.resident_bytes,
            max_expired_resident_entries_in_write: max_expired,
        })
        .collect()
}

/// The largest article-shape footprint row of `strategy`.
fn article_row<'a>(fp: &'a [FootprintRow], strategy: &str) -> Option<&'a FootprintRow> {
    fp.iter()
        .filter(|r| r.shape == "article" && r.strategy == strategy)
        .max_by_key(|r| r.entries)
}

/// The end of the write phase of the uniform-TTL workload: the steady state.
fn steady<'a>(rows: &'a [RetentionRow], strategy: &str) -> Option<&'a RetentionRow> {
    rows.iter()
        .find(|r| r.strategy == strategy && r.workload == "uniform_ttl" && r.phase == "write")
}

fn scenario(fp: &[FootprintRow], rows: &[RetentionRow]) -> Vec<ScenarioRow> {
    let copies = (article::CACHES * article::WORKERS) as f64;
    let per_cache = article::ENTRIES_PER_CACHE as f64;
    Strategy::ALL
        .iter()
        .filter_map(|s| {
            let row = article_row(fp, s.name())?;
            let (workload_bytes, workload_source) = match steady(rows, s.name()) {
                Some(r) if r.capacity as u64 == article::ENTRIES_PER_CACHE && r.clock == "manual" => (
                    Some(r.resident_bytes as f64 * copies),
                    format!("bytes held at the end of the write phase, retention run at capacity {}", r.capacity),
                ),
                Some(r) => {
                    let held = r.resident_entries as f64 / r.capacity as f64;
                    (
                        Some(held * per_cache * row.total_bytes_per_entry * copies),
                        format!(
                            "{:.1} % of capacity held at the end of the write phase (retention run at capacity {}, {} clock) × bytes per entry",
                            100.0 * held,
                            r.capacity,
                            r.clock.replace('_', " ")
                        ),
                    )
                }
                None => (None, "no retention run".to_owned()),
            };
            Some(ScenarioRow {
                strategy: s.name(),
                bytes_per_entry: row.total_bytes_per_entry,
                measured_at_entries: row.entries,
                full_bytes: row.total_bytes_per_entry * per_cache * copies,
                workload_bytes,
                workload_source,
            })
        })
        .collect()
}

fn mb(bytes: f64) -> String {
    if bytes.abs() >= 1e9 {
        format!("{:.2} GB", bytes / 1e9)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

fn pct(part: f64, whole: f64) -> f64 {
    if whole == 0.0 {
        0.0
    } else {
        100.0 * part / whole
    }
}

/// Advice, computed from the figures: nothing here is written in advance.
fn advice(rows: &[RetentionRow], scenario: &[ScenarioRow], fp: &[FootprintRow]) -> Vec<String> {
    let mut out = Vec::new();
    let copies = article::CACHES * article::WORKERS;
    for r in rows
        .iter()
        .filter(|r| r.workload == "uniform_ttl" && r.phase == "write")
    {
        let mut line = format!(
            "{}: in steady state it holds {} entries ({:.0} % of capacity {}), {:.0} % of them expired, {} per cache",
            r.strategy,
            r.resident_entries,
            pct(r.resident_entries as f64, r.capacity as f64),
            r.capacity,
            pct(r.expired_resident_entries as f64, r.resident_entries as f64),
            mb(r.resident_bytes as f64),
        );
        if r.live_entries + r.valid_set / 100 < r.valid_set {
            let _ = write!(
                line,
                "; it kept only {} of the {} valid entries ({:.0} %): it evicted live entries while holding expired ones",
                r.live_entries,
                r.valid_set,
                pct(r.live_entries as f64, r.valid_set as f64)
            );
        }
        if r.clock == "real_time" {
            line.push_str(" (real time, scaled parameters)");
        }
        out.push(line + ".");
    }
    let full = |s: &str| scenario.iter().find(|r| r.strategy == s);
    if let Some(w) = full("weakfifo") {
        let valid = article::ENTRIES_PER_CACHE / 10;
        let (lo, hi) = (valid * 11 / 10, valid * 2);
        out.push(format!(
            "The article's design fills to maxlen whatever the TTL: {} for {} caches × {} workers at maxlen {}. \
             The article's rule (maxlen = 1.1–2 × the {} entries valid at once, so {}–{}) brings that to {}–{}.",
            mb(w.full_bytes),
            article::CACHES,
            article::WORKERS,
            article::ENTRIES_PER_CACHE,
            valid,
            lo,
            hi,
            mb(w.bytes_per_entry * lo as f64 * copies as f64),
            mb(w.bytes_per_entry * hi as f64 * copies as f64),
        ));
    }
    let best = scenario
        .iter()
        .filter(|s| s.strategy != "hashmap")
        .filter(|s| {
            steady(rows, s.strategy)
                .is_some_and(|r| r.live_entries + r.valid_set / 100 >= r.valid_set)
        })
        .filter_map(|s| s.workload_bytes.map(|b| (s, b)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((s, b)) = best {
        out.push(format!(
            "Least memory in the article's workload while keeping every valid entry: {} ({} for {} caches × {} workers; {}).",
            s.strategy,
            mb(b),
            article::CACHES,
            article::WORKERS,
            s.workload_source
        ));
    }
    if let Some(lean) = fp
        .iter()
        .filter(|r| r.shape == "article" && r.strategy != FLOOR)
        .max_by_key(|r| r.entries)
        .map(|r| r.entries)
        .and_then(|n| {
            fp.iter()
                .filter(|r| r.shape == "article" && r.strategy != FLOOR && r.entries == n)
                .min_by(|a, b| a.total_bytes_per_entry.total_cmp(&b.total_bytes_per_entry))
        })
    {
        out.push(format!(
            "Fewest bytes per entry when full (article shape, {} entries): {} at {:.1} B ({:+.1} B above the payload).",
            lean.entries, lean.strategy, lean.total_bytes_per_entry, lean.overhead_bytes_per_entry
        ));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Rendering.

fn table(out: &mut String, head: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", head.iter().map(|_| "---|").collect::<String>());
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// The report as Markdown (also what the binary prints).
pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let env = &r.environment;
    let _ = writeln!(o, "# cachebench report\n");
    let _ = writeln!(
        o,
        "Run {} (unix time {}), {} s, {} build on {} with {} logical CPUs; {}; seed {}{}.\n",
        if r.parameters.quick {
            "`--quick`"
        } else {
            "default"
        },
        env.started_unix_secs,
        f1(env.elapsed_secs),
        env.profile,
        env.platform,
        env.cores,
        env.rustc,
        r.parameters.seed,
        if env.crates.is_empty() {
            String::new()
        } else {
            format!(
                "; crates {}",
                env.crates
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    let _ = writeln!(
        o,
        "Every figure below was measured in this run. Memory is counted by a counting global \
         allocator: {}. RSS growth, which does see the allocator's own overhead, is given beside \
         it as a second opinion (each footprint row runs in a fresh process).\n",
        env.allocator
    );

    // Footprint.
    let _ = writeln!(o, "## 1. Footprint: bytes per entry\n");
    let _ = writeln!(
        o,
        "Each cache is built with capacity N and filled with N distinct keys (TTL 1800 s, nothing \
         expires). *per entry* = (filled − empty) ÷ entries held (Caffeine's method); *total per \
         entry* counts the empty cache's fixed cost too (some caches allocate their table up \
         front); *overhead* = total per entry − the payload floor (keys, values and 8-byte \
         deadlines alone, in one exactly sized `Vec`). *not freed* = bytes still allocated after \
         the cache was dropped.\n"
    );
    let mut sizes: Vec<usize> = r.footprint.iter().map(|f| f.entries).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for shape in ["article", "u64"] {
        for &n in &sizes {
            let rows: Vec<Vec<String>> = r
                .footprint
                .iter()
                .filter(|f| f.shape == shape && f.entries == n)
                .map(|f| {
                    vec![
                        f.strategy.clone(),
                        f.resident_entries.to_string(),
                        f1(f.bytes_per_entry),
                        f1(f.total_bytes_per_entry),
                        f1(f.overhead_bytes_per_entry),
                        format!("{:.2}", f.allocs_per_entry),
                        f.fixed_bytes.to_string(),
                        f.rss_bytes_per_entry.map_or("–".to_owned(), f1),
                        f.leaked_bytes.to_string(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(o, "**Shape `{shape}`, N = {n}**\n");
            table(
                &mut o,
                &[
                    "strategy",
                    "entries held",
                    "per entry (B)",
                    "total per entry (B)",
                    "overhead (B)",
                    "allocs/entry",
                    "fixed (B)",
                    "RSS/entry (B)",
                    "not freed (B)",
                ],
                &rows,
            );
        }
    }
    if r.footprint
        .iter()
        .any(|f| f.strategy == "moka" && f.leaked_bytes != 0)
    {
        let _ = writeln!(
            o,
            "moka's *not freed* bytes: its hash table frees replaced bucket arrays through \
             crossbeam-epoch's deferred reclamation, and the epoch collector registers each \
             thread once; a few KiB outlive the cache whatever its size.\n"
        );
    }
    let _ = writeln!(o, "![bytes per entry](footprint.svg)\n");

    // Retention.
    let _ = writeln!(o, "## 2. Retention of expired entries\n");
    let _ = writeln!(
        o,
        "A stream of new keys arrives at a rate that keeps the valid set (arrival rate × TTL) at a \
         tenth of the capacity, as in the article. Phases: **write** ({} new keys per run: \
         2 × capacity) until steady state; **idle** until every entry has expired; **read** \
         (reads of recently valid keys, no writes); **maintain** (one `maintain()` call). Entries \
         held are observed through the values themselves (each counts its live copies), not \
         asked of the cache. Strategies whose reclamation follows the injected clock run on a \
         hand-moved clock at full scale; **moka's reclamation runs on real time only** (its clock \
         cannot be injected), so it runs in real time with scaled parameters, shown in the \
         *clock* column — its figures are comparable as fractions of capacity, not in bytes.\n",
        r.parameters.retention.first().map_or(0, |c| c.write_sets)
    );
    let mut workloads: Vec<&str> = r.retention.iter().map(|x| x.workload).collect();
    workloads.sort_unstable();
    workloads.dedup();
    for w in &workloads {
        let rows: Vec<Vec<String>> = r
            .retention
            .iter()
            .filter(|x| x.workload == *w)
            .map(|x| {
                vec![
                    x.strategy.to_owned(),
                    x.clock.to_owned(),
                    format!("{} / {}", x.capacity, x.valid_set),
                    x.phase.to_owned(),
                    x.resident_entries.to_string(),
                    x.live_entries.to_string(),
                    x.expired_resident_entries.to_string(),
                    format!(
                        "{:.1} %",
                        pct(x.expired_resident_entries as f64, x.capacity as f64)
                    ),
                    mb(x.resident_bytes as f64),
                ]
            })
            .collect();
        let ttl = r
            .retention
            .iter()
            .find(|x| x.workload == *w && x.clock == "manual")
            .map_or(String::new(), |x| {
                format!(
                    ", mean TTL {} s on the hand-moved clock",
                    f1(x.mean_ttl_secs)
                )
            });
        let _ = writeln!(o, "**Workload `{w}`{ttl}**\n");
        table(
            &mut o,
            &[
                "strategy",
                "clock",
                "capacity / valid set",
                "phase end",
                "held",
                "live",
                "expired held",
                "expired / capacity",
                "bytes held",
            ],
            &rows,
        );
        let peaks: Vec<String> = r
            .retention
            .iter()
            .filter(|x| x.workload == *w && x.phase == "write")
            .map(|x| {
                format!(
                    "{} {} ({:.2} % of capacity)",
                    x.strategy,
                    x.max_expired_resident_entries_in_write,
                    pct(
                        x.max_expired_resident_entries_in_write as f64,
                        x.capacity as f64
                    )
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "Most expired entries held at any write-phase sample: {}.\n",
            peaks.join("; ")
        );
        let _ = writeln!(o, "![expired entries held, {w}](retention_{w}.svg)\n");
    }
    let _ = writeln!(
        o,
        "Per-strategy timelines (entries held, live, expired, and bytes held): {}.\n",
        r.retention_samples
            .iter()
            .map(|s| format!("[{0} {1}](retention_{1}_{0}.svg)", s.strategy, s.workload))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Scenario.
    let _ = writeln!(o, "## 3. The article's scenario\n");
    let _ = writeln!(
        o,
        "Two caches of maxlen {} per worker, {} workers. The article estimated {} and reported {} \
         (Python). *Full* = measured total bytes per entry (article shape) × {} × {} × {}; \
         *in its workload* = what the strategy holds in the retention workload's steady state \
         (valid set a tenth of maxlen), × {} × {}; the source column says how.\n",
        article::ENTRIES_PER_CACHE,
        article::WORKERS,
        mb(article::ESTIMATE_BYTES),
        mb(article::REPORTED_BYTES),
        article::ENTRIES_PER_CACHE,
        article::CACHES,
        article::WORKERS,
        article::CACHES,
        article::WORKERS
    );
    let rows: Vec<Vec<String>> = r
        .scenario
        .iter()
        .map(|s| {
            vec![
                s.strategy.to_owned(),
                format!("{} (N = {})", f1(s.bytes_per_entry), s.measured_at_entries),
                mb(s.full_bytes),
                s.workload_bytes.map_or("–".to_owned(), mb),
                s.workload_source.clone(),
            ]
        })
        .collect();
    table(
        &mut o,
        &[
            "strategy",
            "bytes per entry",
            "full",
            "in its workload",
            "source",
        ],
        &rows,
    );

    // Hit ratio.
    let hc = &r.parameters.hit_ratio;
    let _ = writeln!(o, "## 4. Hit ratio\n");
    let _ = writeln!(
        o,
        "Zipf (exponent {}) over {} keys, {} measured requests after {} warm-up requests, \
         cache-aside (a miss sets the key), TTL {} s with {} s per request, seed {}.\n",
        hc.zipf_exponent, hc.keys, hc.requests, hc.warmup, hc.ttl_secs, hc.tick_secs, hc.seed
    );
    let mut head = vec!["strategy".to_owned()];
    head.extend(hc.capacities_pct.iter().map(|p| format!("{p} %")));
    let rows: Vec<Vec<String>> = r
        .parameters
        .strategies
        .iter()
        .map(|s| {
            let mut row = vec![s.name().to_owned()];
            row.extend(
                r.hit_ratio
                    .iter()
                    .filter(|h| h.strategy == s.name())
                    .map(|h| format!("{:.3}", h.hit_ratio)),
            );
            row
        })
        .collect();
    let head_ref: Vec<&str> = head.iter().map(String::as_str).collect();
    table(&mut o, &head_ref, &rows);
    let _ = writeln!(o, "![hit ratio](hit_ratio.svg)\n");

    // Advice.
    let _ = writeln!(o, "## 5. Advice from these figures\n");
    for a in &r.advice {
        let _ = writeln!(o, "- {a}");
    }
    o.push('\n');
    o
}

fn csv_line(fields: &[String]) -> String {
    let escaped: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    escaped.join(",") + "\n"
}

/// Serialises rows of a struct to CSV, header from its field names, via its JSON form.
pub fn csv<T: Serialize>(rows: &[T]) -> Result<String, String> {
    let mut out = String::new();
    let mut header: Option<Vec<String>> = None;
    for row in rows {
        let v = serde_json::to_value(row).map_err(|e| e.to_string())?;
        let obj = v.as_object().ok_or("a CSV row must be a struct")?;
        let keys: Vec<String> = obj.keys().cloned().collect();
        if header.is_none() {
            out.push_str(&csv_line(&keys));
            header = Some(keys.clone());
        }
        let fields: Vec<String> = keys
            .iter()
            .map(|k| match &obj[k] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        out.push_str(&csv_line(&fields));
    }
    Ok(out)
}

/// The charts, as (file name, SVG).
pub fn charts(r: &Report) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut keys: Vec<(&str, &str)> = r
        .retention_samples
        .iter()
        .map(|s| (s.workload, s.strategy))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut workloads: Vec<&str> = keys.iter().map(|k| k.0).collect();
    workloads.dedup();
    for w in workloads {
        let series = keys
            .iter()
            .filter(|k| k.0 == w)
            .map(|&(_, s)| {
                let cap = r
                    .retention
                    .iter()
                    .find(|x| x.strategy == s && x.workload == w)
                    .map_or(1, |x| x.capacity);
                let pts = r
                    .retention_samples
                    .iter()
                    .filter(|x| x.workload == w && x.strategy == s)
                    .map(|x| (x.t_ttls, pct(x.expired_resident_entries as f64, cap as f64)))
                    .collect();
                let mut series = Series::new(s, pts);
                series.dashed = !Strategy::ALL
                    .iter()
                    .any(|st| st.name() == s && st.reclamation_follows_clock());
                series
            })
            .collect();
        out.push((
            format!("retention_{w}.svg"),
            Chart {
                title: format!("Expired entries held, workload {w}"),
                x_label: "time (mean TTLs since start); dashed: real time, scaled".into(),
                y_label: "expired entries held (% of capacity)".into(),
                y2_label: None,
                x_log: false,
                series,
            }
            .render(),
        ));
    }
    for &(w, s) in &keys {
        let pick = |f: fn(&Sample) -> f64| -> Vec<(f64, f64)> {
            r.retention_samples
                .iter()
                .filter(|x| x.workload == w && x.strategy == s)
                .map(|x| (x.t_ttls, f(x)))
                .collect()
        };
        let mut bytes = Series::new("bytes held (MB)", pick(|x| x.resident_bytes as f64 / 1e6));
        bytes.secondary = true;
        bytes.dashed = true;
        out.push((
            format!("retention_{w}_{s}.svg"),
            Chart {
                title: format!("{s}: what it holds, workload {w}"),
                x_label: "time (mean TTLs since start)".into(),
                y_label: "entries".into(),
                y2_label: Some("MB held".into()),
                x_log: false,
                series: vec![
                    Series::new("held", pick(|x| x.resident_entries as f64)),
                    Series::new("live", pick(|x| x.live_entries as f64)),
                    Series::new("expired held", pick(|x| x.expired_resident_entries as f64)),
                    bytes,
                ],
            }
            .render(),
        ));
    }
    let hit_series = r
        .parameters
        .strategies
        .iter()
        .map(|s| {
            Series::new(
                s.name(),
                r.hit_ratio
                    .iter()
                    .filter(|h| h.strategy == s.name())
                    .map(|h| (h.capacity_pct, h.hit_ratio))
                    .collect(),
            )
        })
        .collect();
    out.push((
        "hit_ratio.svg".to_owned(),
        Chart {
            title: "Hit ratio, Zipf keys with TTL".into(),
            x_label: "capacity (% of key space, log scale)".into(),
            y_label: "hit ratio".into(),
            y2_label: None,
            x_log: true,
            series: hit_series,
        }
        .render(),
    ));
    let fp_series = std::iter::once(FLOOR)
        .chain(r.parameters.strategies.iter().map(|s| s.name()))
        .map(|s| {
            Series::new(
                s,
                r.footprint
                    .iter()
                    .filter(|f| f.shape == "article" && f.strategy == s)
                    .map(|f| (f.entries as f64, f.total_bytes_per_entry))
                    .collect(),
            )
        })
        .collect();
    out.push((
        "footprint.svg".to_owned(),
        Chart {
            title: "Bytes per entry when full, article shape".into(),
            x_label: "entries (log scale)".into(),
            y_label: "total bytes per entry".into(),
            y2_label: None,
            x_log: true,
            series: fp_series,
        }
        .render(),
    ));
    out
}

/// Writes `report.md`, `report.json`, one CSV per table and the charts into `dir`.
pub fn write_all(r: &Report, dir: &Path) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut files: Vec<(String, String)> = vec![
        ("report.md".into(), markdown(r)),
        (
            "report.json".into(),
            serde_json::to_string_pretty(r).map_err(|e| e.to_string())? + "\n",
        ),
        ("footprint.csv".into(), csv(&r.footprint)?),
        ("retention.csv".into(), csv(&r.retention)?),
        ("retention_samples.csv".into(), csv(&r.retention_samples)?),
        ("scenario.csv".into(), csv(&r.scenario)?),
        ("hit_ratio.csv".into(), csv(&r.hit_ratio)?),
    ];
    files.extend(charts(r));
    let mut names = Vec::new();
    for (name, body) in files {
        let path = dir.join(&name);
        std::fs::write(&path, body).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        names.push(name);
    }
    Ok(names)
}
