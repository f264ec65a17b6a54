//! What the drop-counting tests of both caches share.

use std::sync::{Arc, Mutex};

/// A value that records its id when the original (not a clone) is dropped.
#[derive(Debug)]
pub(crate) struct Tracked {
    pub(crate) id: u32,
    pub(crate) original: bool,
    drops: Arc<Mutex<Vec<u32>>>,
}

impl Clone for Tracked {
    fn clone(&self) -> Self {
        Tracked {
            id: self.id,
            original: false,
            drops: Arc::clone(&self.drops),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.original {
            self.drops.lock().unwrap().push(self.id);
        }
    }
}

/// The record of which values were dropped, in order.
#[derive(Default)]
pub(crate) struct Drops(Arc<Mutex<Vec<u32>>>);

impl Drops {
    /// A tracked value with `id`.
    pub(crate) fn value(&self, id: u32) -> Tracked {
        Tracked {
            id,
            original: true,
            drops: Arc::clone(&self.0),
        }
    }

    /// The ids dropped so far, in the order they were dropped.
    pub(crate) fn in_order(&self) -> Vec<u32> {
        self.0.lock().unwrap().clone()
    }

    /// The ids dropped so far, sorted.
    pub(crate) fn sorted(&self) -> Vec<u32> {
        let mut v = self.in_order();
        v.sort_unstable();
        v
    }
}

/// Two threads setting, getting and moving the clock on one cache, over `keys` keys, with a
/// `maintain()` now and then. The caller checks the invariants afterwards.
pub(crate) fn hammer_from_two_threads(
    cache: &impl cache_core::ExpiringCache<u64, u64>,
    clock: &cache_core::ManualClock,
    keys: u64,
) {
    use std::time::Duration;
    std::thread::scope(|s| {
        for t in 0..2u64 {
            s.spawn(move || {
                for i in 0..20_000u64 {
                    let key = (i * 7 + t * 13) % keys;
                    cache.set_ex(key, i, Duration::from_millis(i % 50));
                    let _ = cache.get_ex(&((key * 3) % keys));
                    if i % 100 == 0 {
                        clock.advance(Duration::from_millis(1));
                    }
                    if i % 5_000 == 0 {
                        cache.maintain();
                    }
                }
            });
        }
    });
}

/// A key whose `Hash` panics while its bomb is armed.
#[derive(Clone, Debug)]
pub(crate) struct Bomb(
    pub(crate) u32,
    pub(crate) Arc<std::sync::atomic::AtomicBool>,
);

impl PartialEq for Bomb {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Bomb {}

impl std::hash::Hash for Bomb {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        assert!(!self.1.load(std::sync::atomic::Ordering::SeqCst), "armed");
        self.0.hash(state);
    }
}

/// A value that panics when cloned or dropped while its switch says so; the drops of its
/// originals are recorded like [`Tracked`]'s.
#[derive(Debug)]
pub(crate) struct Touchy {
    pub(crate) inner: Tracked,
    pub(crate) panic_on_clone: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) panic_on_drop: Arc<std::sync::atomic::AtomicBool>,
}

impl Clone for Touchy {
    fn clone(&self) -> Self {
        assert!(
            !self
                .panic_on_clone
                .load(std::sync::atomic::Ordering::SeqCst),
            "clone armed"
        );
        Touchy {
            inner: self.inner.clone(),
            panic_on_clone: Arc::clone(&self.panic_on_clone),
            panic_on_drop: Arc::clone(&self.panic_on_drop),
        }
    }
}

impl Drop for Touchy {
    fn drop(&mut self) {
        if self.inner.original
            && self
                .panic_on_drop
                .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            panic!("drop armed");
        }
    }
}

impl Drops {
    /// A [`Touchy`] value with `id`, both switches off.
    pub(crate) fn touchy(&self, id: u32) -> Touchy {
        Touchy {
            inner: self.value(id),
            panic_on_clone: Arc::default(),
            panic_on_drop: Arc::default(),
        }
    }
}
