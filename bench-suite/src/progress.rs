//! Progress on stderr — one bar per phase, with the strategy at work and an estimate of the time
//! left in the phase, hidden when stderr is not a terminal or when asked —
//! and where the time went: each section's time, and each strategy's within it ([`Timing`]),
//! for `--timings` and report.json's environment.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// How long one part of a run took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    /// The section ("footprint", "retention", ...).
    pub section: &'static str,
    /// The strategy, or `"all"` for the whole section. Work that ran on several threads at once
    /// adds up its threads' times, so a section's strategies may add up to more than it.
    pub strategy: String,
    /// Seconds.
    pub secs: f64,
}

/// Makes progress bars, or nothing; and keeps the timings of what it was asked to time.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Where the bars draw: one place, so that bars of phases running at once (the replays
    /// beside footprint and retention) take a line each.
    bars: MultiProgress,
    timings: Arc<Mutex<Vec<Timing>>>,
}

impl Progress {
    /// Bars on stderr when `enabled` (indicatif hides them itself when stderr is no terminal).
    pub fn new(enabled: bool) -> Progress {
        Progress {
            bars: MultiProgress::with_draw_target(if enabled {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            }),
            timings: Arc::default(),
        }
    }

    /// No bars at all (tests).
    pub fn hidden() -> Progress {
        Progress::new(false)
    }

    /// A bar of `len` steps labelled `phase`.
    pub fn bar(&self, phase: &str, len: u64) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new(len));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed}, about {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(phase.to_owned());
        bar
    }

    /// Runs `f`, and records how long it took as `strategy`'s part of `section`.
    pub fn time<T>(&self, section: &'static str, strategy: &str, f: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = f();
        self.timings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Timing {
                section,
                strategy: strategy.to_owned(),
                secs: started.elapsed().as_secs_f64(),
            });
        out
    }

    /// Every timing so far: per section, then per strategy (summed over its parts), in the
    /// order the sections were first timed.
    pub fn timings(&self) -> Vec<Timing> {
        let all = self
            .timings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut out: Vec<Timing> = Vec::new();
        for t in all {
            match out
                .iter_mut()
                .find(|o| o.section == t.section && o.strategy == t.strategy)
            {
                Some(o) => o.secs += t.secs,
                None => out.push(t),
            }
        }
        let mut sections: Vec<&'static str> = Vec::new();
        for t in &out {
            if !sections.contains(&t.section) {
                sections.push(t.section);
            }
        }
        out.sort_by_key(|t| {
            (
                sections.iter().position(|s| *s == t.section),
                t.strategy != "all",
            )
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_add_up_per_section_and_strategy_in_section_order() {
        let p = Progress::hidden();
        p.time("b", "x", || ());
        p.time("a", "all", || ());
        p.time("b", "x", || {
            std::thread::sleep(std::time::Duration::from_millis(5))
        });
        p.time("b", "all", || ());
        let t = p.timings();
        let keys: Vec<(&str, &str)> = t.iter().map(|t| (t.section, t.strategy.as_str())).collect();
        assert_eq!(keys, [("b", "all"), ("b", "x"), ("a", "all")]);
        assert!(t[1].secs >= 0.005);
    }
}
