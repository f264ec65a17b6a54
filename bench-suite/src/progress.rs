//! Progress on stderr: one bar per phase, hidden when stderr is not a terminal or when asked.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Makes progress bars, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Bars on stderr when `enabled` (indicatif hides them itself when stderr is no terminal).
    pub fn new(enabled: bool) -> Progress {
        Progress { enabled }
    }

    /// No bars at all (tests).
    pub fn hidden() -> Progress {
        Progress { enabled: false }
    }

    /// A bar of `len` steps labelled `phase`.
    pub fn bar(&self, phase: &str, len: u64) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(
            Some(len),
            if self.enabled {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(phase.to_owned());
        bar
    }
}
