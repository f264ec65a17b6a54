//! The article's weak-dict + deque cache (filled in by its own change).
#![forbid(unsafe_code)]
