//! Data shapes: what keys and values look like in a workload, as values (a plan's sizes are
//! fields, not global state).

use std::fmt::Write as _;
use std::time::Duration;

use cache_core::ExpiringCache;

use crate::strategies::{Key, Value};

/// A key and value type, and how to make the `id`-th key and value.
pub trait Shape: Sync {
    /// The key type.
    type K: Key;
    /// The value type.
    type V: Value;
    /// The shape's name in tables and JSON.
    fn name(&self) -> &'static str;
    /// The `id`-th key.
    fn key(&self, id: u64) -> Self::K;
    /// The `id`-th value.
    fn value(&self, id: u64) -> Self::V;
}

/// Entries written per [`ExpiringCache::set_ex_many`] call by [`fill`].
pub const FILL_BATCH: u64 = 1_000;

/// Writes the first `n` entries of `shape` into `cache`, each with `ttl`, in order, through
/// [`ExpiringCache::set_ex_many`] in batches of [`FILL_BATCH`]: one round trip per batch for a
/// cache server, `set_ex` one by one for the others.
pub fn fill<S: Shape>(cache: &dyn ExpiringCache<S::K, S::V>, shape: &S, n: u64, ttl: Duration) {
    for start in (0..n).step_by(FILL_BATCH as usize) {
        let end = (start + FILL_BATCH).min(n);
        cache.set_ex_many(
            (start..end)
                .map(|id| (shape.key(id), shape.value(id), ttl))
                .collect(),
        );
    }
}

/// The article's shape: 20-byte `String` keys (`user_id_012345678901`) and 8-byte `String`
/// values, each allocated with exactly its length.
#[derive(Debug, Clone, Copy)]
pub struct Article;

/// `u64` keys and values, no heap: the shape of published per-entry tables.
#[derive(Debug, Clone, Copy)]
pub struct U64;

/// `String` keys and values of given lengths (`plan --key-bytes --value-bytes`), allocated
/// exactly; named `custom` in tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strings {
    /// Bytes in a key; keys are distinct from 8 bytes up (16 hex digits of the id at most).
    pub key_bytes: usize,
    /// Bytes in a value.
    pub value_bytes: usize,
}

/// `user_id_` and twelve digits: 20 bytes, allocated exactly.
pub fn article_key(id: u64) -> String {
    let mut s = String::with_capacity(20);
    let _ = write!(s, "user_id_{:012}", id % 1_000_000_000_000);
    s
}

pub use crate::values::article_value;

impl Shape for Article {
    type K = String;
    type V = String;
    fn name(&self) -> &'static str {
        "article"
    }
    fn key(&self, id: u64) -> String {
        article_key(id)
    }
    fn value(&self, id: u64) -> String {
        article_value(id)
    }
}

impl Shape for U64 {
    type K = u64;
    type V = u64;
    fn name(&self) -> &'static str {
        "u64"
    }
    fn key(&self, id: u64) -> u64 {
        id
    }
    fn value(&self, id: u64) -> u64 {
        id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl Shape for Strings {
    type K = String;
    type V = String;
    fn name(&self) -> &'static str {
        "custom"
    }
    /// The id in hex, padded with `k` to `key_bytes` (longer if the id needs more digits).
    fn key(&self, id: u64) -> String {
        let mut s = String::with_capacity(self.key_bytes);
        let _ = write!(s, "{id:x}");
        while s.len() < self.key_bytes {
            s.push('k');
        }
        s
    }
    fn value(&self, _id: u64) -> String {
        "v".repeat(self.value_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_keys_and_values_have_the_articles_sizes_exactly() {
        for id in [0, 1, 123_456, 999_999_999_999, u64::MAX] {
            let (k, v) = (article_key(id), article_value(id));
            assert_eq!((k.len(), k.capacity()), (20, 20), "{k}");
            assert_eq!((v.len(), v.capacity()), (8, 8), "{v}");
        }
        assert_eq!(article_key(12_345), "user_id_000000012345");
        assert_ne!(article_key(1), article_key(2));
    }

    #[test]
    fn string_keys_are_distinct_and_sized_exactly() {
        let shape = Strings {
            key_bytes: 12,
            value_bytes: 3,
        };
        let (a, b) = (shape.key(1), shape.key(0xabc));
        assert_eq!((a.len(), a.capacity(), b.len()), (12, 12, 12));
        assert_ne!(a, b);
        let v = shape.value(9);
        assert_eq!((v.as_str(), v.capacity()), ("vvv", 3));
    }
}
