//! Keys whose `Hash` and `Eq` never unwind through a library.
//!
//! A library that hashes or compares keys half-way through a change of its own structure may
//! be left broken for good by a key whose `Hash` or `Eq` panics there (`lru` loses track of a
//! node; moka poisons its rehash lock, after which every table growth panics). The adapters for
//! such libraries store each key as a [`Guarded`]: a zero-cost wrapper that catches a panic of
//! the user's code, keeps it for the adapter ([`take_caught`]), and makes every further key
//! distinct for the rest of the operation, so the library never mistakes one entry for another.
//! The adapter then recovers (it discards or invalidates what the library holds) and resumes
//! the panic, so the caller still sees it.

use std::any::Any;
use std::borrow::Borrow;
use std::cell::Cell;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    /// A panic the user's `Hash` or `Eq` raised inside a library, caught by [`Guarded`].
    static CAUGHT: Cell<Option<Box<dyn Any + Send>>> = const { Cell::new(None) };
    /// Distinct hashes handed out once a panic was caught.
    static UNIQUE: Cell<u64> = const { Cell::new(0) };
}

/// Whether a panic has been caught on this thread and not yet taken.
fn caught() -> bool {
    CAUGHT.with(|c| {
        let p = c.take();
        let yes = p.is_some();
        c.set(p);
        yes
    })
}

/// The panic caught on this thread since the last call, if any.
pub(crate) fn take_caught() -> Option<Box<dyn Any + Send>> {
    CAUGHT.with(Cell::take)
}

/// Runs the user's `f`; a panic is caught and kept for the adapter, and `None` returned.
fn guarded<R>(f: impl FnOnce() -> R) -> Option<R> {
    catch_unwind(AssertUnwindSafe(f))
        .map_err(|payload| CAUGHT.with(|c| c.set(Some(payload))))
        .ok()
}

/// A key as the library holds it: the user's key, whose `Hash` and `Eq` never unwind.
///
/// Once a panic has been caught (and until the adapter takes it), every `Hash` gives a hash no
/// other key has and every `Eq` says "different": the library then never takes one entry for
/// another (which could leave a node it no longer knows, never to be freed, or serve a stale
/// value); it only files entries where lookups miss them.
pub(crate) struct Guarded<K>(pub(crate) K);

impl<K: Hash> Hash for Guarded<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if caught() || guarded(|| self.0.hash(state)).is_none() {
            let n = UNIQUE.with(|u| {
                u.set(u.get().wrapping_add(1));
                u.get()
            });
            state.write_u64(n);
        }
    }
}

impl<K: Eq> PartialEq for Guarded<K> {
    fn eq(&self, other: &Guarded<K>) -> bool {
        !caught() && guarded(|| self.0 == other.0).unwrap_or(false)
    }
}

impl<K: Eq> Eq for Guarded<K> {}

/// Lookups by `&K` hash and compare the user's key directly: they change nothing, so a panic
/// there unwinds harmlessly.
impl<K> Borrow<K> for Guarded<K> {
    fn borrow(&self) -> &K {
        &self.0
    }
}
