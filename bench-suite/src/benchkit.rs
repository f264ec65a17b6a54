//! What the criterion benches share: building and filling every strategy the same way, keys,
//! and the seeded mixed stream. A new strategy in [`Strategy`] is benched everywhere at once.

use std::ops::Range;
use std::time::Duration;

use cache_core::{ExpiringCache, ManualClock};
use rand_distr::{Distribution, Zipf};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

use crate::shapes::Shape;
use crate::strategies::Strategy;

/// Entries in the caches of the single-operation benches.
pub const N: usize = 100_000;
/// A TTL that does not pass during a bench.
pub const LONG: Duration = Duration::from_secs(86_400);

/// A boxed cache of shape `S`.
pub type Boxed<S> = Box<dyn ExpiringCache<<S as Shape>::K, <S as Shape>::V>>;

/// `strategy` with capacity `n`, filled with keys `0..n` (TTL `ttl`), on a hand-moved clock.
pub fn filled<S: Shape>(strategy: Strategy, n: usize, ttl: Duration) -> (Boxed<S>, ManualClock) {
    let clock = ManualClock::new();
    let cache = strategy.build::<S::K, S::V, _>(n, clock.clone());
    for id in 0..n as u64 {
        cache.set_ex(S::key(id), S::value(id), ttl);
    }
    cache.maintain();
    (cache, clock)
}

/// The keys of `ids`, in a seeded random order.
pub fn shuffled_keys<S: Shape>(ids: Range<u64>, seed: u64) -> Vec<S::K> {
    let mut ids: Vec<u64> = ids.collect();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    for i in (1..ids.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    ids.into_iter().map(S::key).collect()
}

/// Owned (key, value) pairs for `ids`, to be moved into a cache.
pub fn entries<S: Shape>(ids: Range<u64>) -> Vec<(S::K, S::V)> {
    ids.map(|id| (S::key(id), S::value(id))).collect()
}

/// One operation of the mixed stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MixOp {
    /// Read (and set on a miss).
    Get(u64),
    /// Write.
    Set(u64),
}

/// `len` operations over `keys` Zipf(1.0)-distributed keys: 90 % reads, 10 % writes, seeded.
pub fn mix_stream(keys: u64, len: usize, seed: u64) -> Vec<MixOp> {
    let zipf = Zipf::new(keys as f64, 1.0).expect("keys >= 1");
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let k = zipf.sample(&mut rng) as u64;
            if rng.next_u64() % 10 == 0 {
                MixOp::Set(k)
            } else {
                MixOp::Get(k)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::U64;

    #[test]
    fn the_mixed_stream_is_ninety_percent_reads_and_seeded() {
        let s = mix_stream(1_000, 100_000, 1);
        assert_eq!(s, mix_stream(1_000, 100_000, 1));
        let sets = s.iter().filter(|o| matches!(o, MixOp::Set(_))).count();
        assert!((sets as f64 / 1e5 - 0.1).abs() < 0.005, "{sets}");
    }

    #[test]
    fn shuffled_keys_are_a_permutation() {
        let mut k = shuffled_keys::<U64>(0..1_000, 4);
        assert_ne!(k, (0..1_000).collect::<Vec<_>>());
        k.sort_unstable();
        assert_eq!(k, (0..1_000).collect::<Vec<_>>());
    }

    #[test]
    fn filled_caches_hold_their_keys() {
        for s in Strategy::CACHES {
            let (cache, _) = filled::<U64>(s, 1_000, LONG);
            assert!(cache.get_ex(&500).is_some(), "{s}");
        }
    }
}
