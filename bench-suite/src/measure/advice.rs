//! Advice: sentences computed from this run's figures — nothing here is written in advance, and
//! no strategy is named except through the figures.

use std::fmt::Write as _;

use serde::Serialize;

use super::footprint::{FLOOR, Footprint};
use super::retention::{ClockKind, Phase, Retention, Workload};
use super::scenario::{Deployment, Scenario, ScenarioRow, article};
use super::trace_hit_ratio::{BOUND, OPT, TraceHitRatio};
use crate::error::Result;
use crate::format::{bytes, nanos, percent_of};
use crate::measure::{Measurement, Track};
use crate::section::{Doc, OutFile, Section};
use crate::strategies::Strategy;

/// The advice section.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    /// The sentences.
    pub advice: Vec<String>,
}

/// The advice in the report: last, from the figures of every section before it.
pub const MEASUREMENT: Measurement = Measurement {
    name: "advice",
    track: Track::After,
    run: |i| {
        Ok(Box::new(Advice::derive(
            &i.cfg.strategies,
            i.section::<Footprint>()?,
            i.section::<Retention>()?,
            i.section::<Scenario>()?,
            i.section::<TraceHitRatio>()?,
        )))
    },
};

impl Advice {
    /// Derives the advice from the figures of this run.
    pub fn derive(
        strategies: &[Strategy],
        fp: &Footprint,
        retention: &Retention,
        scenario: &Scenario,
        traces: &TraceHitRatio,
    ) -> Advice {
        let mut out = steady_states(retention);
        out.extend(fills_to_maxlen(strategies, retention, scenario));
        out.extend(least_memory(strategies, retention, scenario));
        out.extend(shared_servers(strategies, retention, scenario));
        out.extend(fewest_bytes(fp));
        out.extend(best_on_traces(traces));
        Advice { advice: out }
    }
}

/// One sentence per strategy: what it holds in the uniform-TTL workload's steady state.
fn steady_states(retention: &Retention) -> Vec<String> {
    retention
        .retention
        .iter()
        .filter(|r| r.workload == Workload::UniformTtl && r.phase == Phase::Write)
        .map(|r| {
            let mut line = format!(
                "{}: in steady state it holds {} entries ({:.0} % of capacity {}), {:.0} % of them \
                 expired, {} per cache",
                r.strategy,
                r.resident_entries,
                percent_of(r.resident_entries as f64, r.capacity as f64),
                r.capacity,
                percent_of(r.expired_resident_entries as f64, r.resident_entries as f64),
                bytes(r.resident_bytes as f64),
            );
            if !r.kept_the_valid_set() {
                let _ = write!(
                    line,
                    "; it kept only {} of the {} valid entries ({:.0} %): it evicted live entries \
                     while holding expired ones",
                    r.live_entries,
                    r.valid_set,
                    percent_of(r.live_entries as f64, r.valid_set as f64)
                );
            }
            if r.clock == ClockKind::RealTime {
                line.push_str(" (real time, scaled parameters)");
            }
            line + "."
        })
        .collect()
}

/// For the strategies that fill to maxlen whatever the TTL (the article's failure mode), what
/// the article's rule for maxlen would save.
fn fills_to_maxlen(
    strategies: &[Strategy],
    retention: &Retention,
    scenario: &Scenario,
) -> Option<String> {
    let full: Vec<_> = retention
        .retention
        .iter()
        .filter(|r| r.workload == Workload::UniformTtl && r.phase == Phase::Write)
        .filter(|r| bounded(strategies, r.strategy))
        .filter(|r| r.clock == ClockKind::Manual && r.resident_entries as usize >= r.capacity)
        .filter(|r| r.expired_resident_entries * 2 > r.resident_entries)
        .filter_map(|r| scenario.get(r.strategy))
        .collect();
    if full.is_empty() {
        return None;
    }
    let valid = article::ENTRIES_PER_CACHE / 10;
    let (lo, hi) = (valid * 11 / 10, valid * 2);
    let each: Vec<String> = full
        .iter()
        .map(|s| {
            format!(
                "{} {} ({}–{} by the rule)",
                s.strategy,
                bytes(s.full_bytes),
                bytes(s.bytes_per_entry * (lo * article::COPIES) as f64),
                bytes(s.bytes_per_entry * (hi * article::COPIES) as f64),
            )
        })
        .collect();
    Some(format!(
        "These fill to maxlen whatever the TTL, mostly with expired entries, for {} caches × {} \
         workers at maxlen {}: {}. The article's rule (maxlen = 1.1–2 × the {} entries valid at \
         once, so {}–{}) is what bounds their memory.",
        article::CACHES,
        article::WORKERS,
        article::ENTRIES_PER_CACHE,
        each.join("; "),
        valid,
        lo,
        hi,
    ))
}

fn bounded(strategies: &[Strategy], name: &str) -> bool {
    strategies
        .iter()
        .any(|s| s.name() == name && s.is_bounded())
}

/// The bounded strategy with the least memory in the article's workload that kept the valid
/// set, and that memory.
fn leanest<'a>(
    strategies: &[Strategy],
    retention: &Retention,
    scenario: &'a Scenario,
) -> Option<(&'a ScenarioRow, f64)> {
    scenario
        .scenario
        .iter()
        .filter(|s| bounded(strategies, s.strategy))
        .filter(|s| {
            retention
                .steady(s.strategy)
                .is_some_and(|r| r.kept_the_valid_set())
        })
        .filter_map(|s| s.workload_bytes.map(|b| (s, b)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// The bounded strategy with the least memory in the article's workload that kept the valid set.
fn least_memory(
    strategies: &[Strategy],
    retention: &Retention,
    scenario: &Scenario,
) -> Option<String> {
    let (s, b) = leanest(strategies, retention, scenario)?;
    Some(format!(
        "Least memory in the article's workload while keeping every valid entry: {} ({} for {} \
         caches × {} workers; {}).",
        s.strategy,
        bytes(b),
        article::CACHES,
        article::WORKERS,
        s.workload_source
    ))
}

/// For each server shared by every worker: its memory and hit time in the article's scenario,
/// against the bounded in-process strategy with the least memory that kept the valid set.
fn shared_servers(
    strategies: &[Strategy],
    retention: &Retention,
    scenario: &Scenario,
) -> Vec<String> {
    let lean = leanest(strategies, retention, scenario);
    scenario
        .scenario
        .iter()
        .filter(|s| s.deployment == Deployment::OneSharedServer)
        .filter_map(|server| {
            let (cache, cache_bytes) = lean?;
            let server_bytes = server.workload_bytes?;
            Some(format!(
                "{} holds one copy of each cache for all {} workers: {} in the article's \
                 workload against {} for {} (one per worker), and a get_ex hit takes {} against \
                 {} ({:.0} ×).",
                server.strategy,
                article::WORKERS,
                bytes(server_bytes),
                bytes(cache_bytes),
                cache.strategy,
                nanos(server.get_hit_ns),
                nanos(cache.get_hit_ns),
                server.get_hit_ns / cache.get_hit_ns
            ))
        })
        .collect()
}

/// The fewest bytes per entry when full, at the largest article-shape size.
fn fewest_bytes(fp: &Footprint) -> Option<String> {
    let rows = || {
        fp.footprint
            .iter()
            .filter(|r| r.shape == "article" && r.strategy != FLOOR)
    };
    let n = rows().map(|r| r.entries).max()?;
    let lean = rows()
        .filter(|r| r.entries == n)
        .min_by(|a, b| a.total_bytes_per_entry.total_cmp(&b.total_bytes_per_entry))?;
    Some(format!(
        "Fewest bytes per entry when full (article shape, {} entries): {} at {:.1} B ({:+.1} B \
         above the payload).",
        lean.entries, lean.strategy, lean.total_bytes_per_entry, lean.overhead_bytes_per_entry
    ))
}

/// The strategy with the best mean hit ratio on the recorded traces, against the optimum.
fn best_on_traces(traces: &TraceHitRatio) -> Option<String> {
    let means = traces.means();
    let opt = means.iter().find(|m| m.0 == OPT)?.1;
    let (best, mean, cells) = means
        .iter()
        .filter(|m| m.0 != OPT && m.0 != BOUND)
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(format!(
        "Best mean hit ratio on the recorded traces ({cells} trace and capacity cells): {best} \
         at {:.2} %, against {:.2} % for the optimal policy.",
        100.0 * mean,
        100.0 * opt
    ))
}

impl Section for Advice {
    fn title(&self) -> &'static str {
        "Advice from these figures"
    }

    fn body(&self, o: &mut Doc) {
        for a in &self.advice {
            let _ = writeln!(o, "- {a}");
        }
        o.push_str("\n");
    }

    fn files(&self) -> Result<Vec<OutFile>> {
        Ok(Vec::new())
    }
}
