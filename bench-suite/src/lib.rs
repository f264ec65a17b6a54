//! The measurements behind the `cachebench` report — footprint, retention of expired entries,
//! hit ratio, the article's scenario and capacity planning — over every strategy behind the
//! `cache_core` contract, and the criterion benches of their speed.
//!
//! The layout follows the data:
//!
//! - [`strategies`]: the registry — every strategy, its builder and its traits, in one place;
//! - [`measure`]: one module per measurement, each owning its configuration, rows and section;
//! - [`report`]: runs the measurements and writes Markdown, JSON, CSV and SVG; a measurement's
//!   section is written against [`section`] and [`svg`], below both, so no measurement imports
//!   the report;
//! - [`plan`], [`speed`]: the `plan` command and the criterion benches (and `bench-table`);
//! - [`cli`]: the command line, for the `cachebench` binary and for a cache author's own;
//! - [`alloc`], [`values`], [`format`](mod@format), [`table`], [`shapes`], [`progress`]: what
//!   they all share ([`strategies`] stands on `alloc` and `values` alone, nothing above it).

pub mod alloc;
pub mod cli;
pub mod diag;
pub mod error;
pub mod format;
pub mod measure;
pub mod plan;
pub mod progress;
pub mod report;
pub mod section;
pub mod shapes;
pub mod speed;
pub mod strategies;
pub mod svg;
pub mod table;
pub mod trace;
pub mod values;

pub use error::{Error, Result};
pub use strategies::{Registry, Strategy};

/// The contract crate, re-exported for [`builder!`]'s expansion in other crates.
pub use cache_core;

/// Defines a unit struct `$name` that implements [`strategies::Build`] by evaluating `$make`
/// with `capacity` and `clock` in scope — for every key, value and clock type the measurements
/// use, so `$make` builds a cache generic over them:
///
/// ```
/// use bench_suite::{Registry, Strategy};
///
/// bench_suite::builder!(Fifo, |capacity, clock| cache_weakfifo::TtlFifoCache::with_clock(capacity, clock));
///
/// let registry = Registry::ours().with(Strategy::new("my_fifo", "a FIFO, one lock", Fifo));
/// assert!(registry.is_ok());
/// ```
#[macro_export]
macro_rules! builder {
    ($name:ident, |$capacity:ident, $clock:ident| $make:expr) => {
        #[derive(Debug)]
        struct $name;

        impl $crate::strategies::Build for $name {
            fn build<
                K: $crate::strategies::Key,
                V: $crate::strategies::Value,
                C: $crate::strategies::BenchClock,
            >(
                &self,
                $capacity: usize,
                $clock: C,
            ) -> ::std::boxed::Box<dyn $crate::cache_core::ExpiringCache<K, V>> {
                ::std::boxed::Box::new($make)
            }
        }
    };
}

/// Installs [`alloc::CountingAlloc`] as the program's global allocator, which the report's
/// memory figures need. One line in a binary (or a `harness = false` bench target).
#[macro_export]
macro_rules! counting_allocator {
    () => {
        #[global_allocator]
        static COUNTING_ALLOCATOR: $crate::alloc::CountingAlloc = $crate::alloc::CountingAlloc;
    };
}

// The unit tests measure with the counting allocator too.
#[cfg(test)]
counting_allocator!();
