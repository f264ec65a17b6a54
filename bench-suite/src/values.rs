//! The values the measurements store, below everything that builds or measures a cache: the
//! article's 8-byte value, and [`TrackedValue`], which counts its own copies so that the
//! retention measurement observes which entries a cache holds instead of asking it, and
//! [`Held`], the replays' value, which counts its copies alive for the same reason.
//! The strategies module builds caches of these values; the measurements use them.

use std::fmt;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// Eight hex digits: 8 bytes, allocated exactly.
pub fn article_value(id: u64) -> String {
    let mut s = String::with_capacity(8);
    let _ = write!(s, "{:08X}", id & 0xFFFF_FFFF);
    s
}

/// Per id, the number of copies of its value alive right now. One per run, shared by the run's
/// values (so runs are independent, and a value freed after its run still has its table).
#[derive(Debug)]
pub struct Census(Vec<AtomicU32>);

impl Census {
    /// A table for ids `0..n`, all at zero.
    pub fn new(n: usize) -> Arc<Census> {
        Arc::new(Census((0..n).map(|_| AtomicU32::new(0)).collect()))
    }

    fn add(&self, id: usize, up: bool) {
        if let Some(c) = self.0.get(id) {
            if up {
                c.fetch_add(1, Ordering::Relaxed);
            } else {
                c.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Copies of `id`'s value alive now.
    pub fn copies(&self, id: usize) -> u32 {
        self.0.get(id).map_or(0, |c| c.load(Ordering::Relaxed))
    }
}

/// An article-shaped value — 8 hex digits of its id, allocated exactly — that counts its live
/// copies in its run's [`Census`]. 24 bytes inline and 8 on the heap in one allocation, as the
/// article's 8-byte `String` values: the census pointer takes the place of a `String`'s
/// capacity field.
pub struct TrackedValue {
    text: Box<str>,
    census: Arc<Census>,
}

impl TrackedValue {
    /// The value of `id`, counted in `census`.
    pub fn new(id: u64, census: &Arc<Census>) -> TrackedValue {
        let v = TrackedValue {
            text: article_value(id).into_boxed_str(),
            census: Arc::clone(census),
        };
        v.census.add(v.id(), true);
        v
    }

    /// A value counted in no census: a copy read back from a cache server, whose original is
    /// the server's, not this process's.
    pub fn untracked(text: String) -> TrackedValue {
        static NOBODY: OnceLock<Arc<Census>> = OnceLock::new();
        TrackedValue {
            text: text.into_boxed_str(),
            census: Arc::clone(NOBODY.get_or_init(|| Census::new(0))),
        }
    }

    /// Its text: 8 hex digits of its id.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn id(&self) -> usize {
        usize::from_str_radix(&self.text, 16).unwrap_or(usize::MAX)
    }
}

impl Clone for TrackedValue {
    fn clone(&self) -> TrackedValue {
        self.census.add(self.id(), true);
        TrackedValue {
            text: self.text.clone(),
            census: Arc::clone(&self.census),
        }
    }
}

impl Drop for TrackedValue {
    fn drop(&mut self) {
        self.census.add(self.id(), false);
    }
}

impl PartialEq for TrackedValue {
    fn eq(&self, other: &TrackedValue) -> bool {
        self.text == other.text
    }
}

impl fmt::Debug for TrackedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TrackedValue").field(&self.text).finish()
    }
}

/// The replays' value: a token whose copies alive the replay counts ([`Held::copies`]), so
/// that it sees how many entries a cache really holds after each request — those awaiting an
/// eviction that the cache applies later included (moka's `entry_count`, say, counts only what
/// its batched maintenance has applied) — without asking the cache.
#[derive(Debug, Clone)]
pub struct Held(Arc<()>);

impl Held {
    /// A replay's own token, of which every value it stores is a copy.
    pub fn origin() -> Held {
        Held(Arc::new(()))
    }

    /// The copies of this token alive besides itself.
    pub fn copies(&self) -> usize {
        Arc::strong_count(&self.0) - 1
    }
}
