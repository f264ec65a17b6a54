//! Established caches behind the contract (filled in by its own change).
#![forbid(unsafe_code)]
