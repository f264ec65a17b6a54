//! The comparison report (filled in by its own change).

fn main() {
    println!("cachebench: the comparison report is not built yet; see README.md");
}
