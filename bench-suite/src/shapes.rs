//! Data shapes: what keys and values look like in a workload.

use std::fmt::Write as _;
use std::hash::Hash;

/// A key and value type, and how to make the `id`-th key and value.
pub trait Shape {
    /// The shape's name in tables and JSON.
    const NAME: &'static str;
    /// The key type.
    type K: Hash + Eq + Clone + Send + Sync + 'static;
    /// The value type.
    type V: Clone + Send + Sync + 'static;
    /// The `id`-th key.
    fn key(id: u64) -> Self::K;
    /// The `id`-th value.
    fn value(id: u64) -> Self::V;
}

/// The article's shape: 20-byte `String` keys (`user_id_012345678901`) and 8-byte `String`
/// values, each allocated with exactly its length.
#[derive(Debug, Clone, Copy)]
pub struct Article;

/// `u64` keys and values, no heap: the shape of published per-entry tables.
#[derive(Debug, Clone, Copy)]
pub struct U64;

/// `user_id_` and twelve digits: 20 bytes, allocated exactly.
pub fn article_key(id: u64) -> String {
    let mut s = String::with_capacity(20);
    let _ = write!(s, "user_id_{:012}", id % 1_000_000_000_000);
    s
}

/// Eight hex digits: 8 bytes, allocated exactly.
pub fn article_value(id: u64) -> String {
    let mut s = String::with_capacity(8);
    let _ = write!(s, "{:08X}", id & 0xFFFF_FFFF);
    s
}

impl Shape for Article {
    const NAME: &'static str = "article";
    type K = String;
    type V = String;
    fn key(id: u64) -> String {
        article_key(id)
    }
    fn value(id: u64) -> String {
        article_value(id)
    }
}

impl Shape for U64 {
    const NAME: &'static str = "u64";
    type K = u64;
    type V = u64;
    fn key(id: u64) -> u64 {
        id
    }
    fn value(id: u64) -> u64 {
        id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
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
}
