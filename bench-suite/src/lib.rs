//! The measurements behind the `cachebench` report: footprint, retention of expired entries,
//! hit ratio and capacity planning, over every strategy behind the `cache_core` contract.
//!
//! The binary (`cargo run --release -p bench-suite`) installs the counting allocator of
//! [`alloc`] and prints; this library holds what it measures with, so the tests and the
//! criterion benches use the same code.

pub mod alloc;
pub mod footprint;
pub mod hitratio;
pub mod plan;
pub mod progress;
pub mod report;
pub mod retention;
pub mod shapes;
pub mod strategies;
pub mod svg;

/// The unit tests measure with the counting allocator too.
#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: alloc::CountingAlloc = alloc::CountingAlloc;
pub mod benchkit;
pub mod benchtable;
