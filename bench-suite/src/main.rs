//! `cachebench`: measures what each cache strategy really holds, and prints the comparison.
//!
//! `cargo run --release -p bench-suite` runs the default report; `--help` lists the rest.

use std::process::ExitCode;

use bench_suite::strategies::Registry;

bench_suite::counting_allocator!();

fn main() -> ExitCode {
    bench_suite::cli::main(Registry::ours())
}
