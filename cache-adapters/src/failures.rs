//! What the server adapters keep of their failed commands: how many, and the first one's
//! description (the contract has no error channel, so this is how a caller learns of them).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Failed commands: a count, and the first one in words.
#[derive(Debug, Default)]
pub(crate) struct Failures {
    count: AtomicU64,
    first: Mutex<Option<String>>,
}

impl Failures {
    /// Counts `n` failures; `what` describes them if they are the first.
    pub(crate) fn add(&self, n: u64, what: impl FnOnce() -> String) {
        self.count.fetch_add(n, Ordering::Relaxed);
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(what);
    }

    /// Failures so far.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The first failure, in words (`None` if nothing failed).
    pub(crate) fn first(&self) -> Option<String> {
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
