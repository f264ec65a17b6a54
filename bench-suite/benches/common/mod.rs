//! Criterion settings shared by the benches: short runs, so the whole matrix fits in minutes
//! on a small machine. Ratios between strategies, not absolute times, are what to read.

use std::time::Duration;

use criterion::Criterion;

/// 1 s of warm-up and 2 s of measurement per benchmark.
pub(crate) fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args()
}
