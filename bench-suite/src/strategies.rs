//! Every strategy the workspace compares, built by name behind the contract. Adding a strategy
//! is one variant in [`Strategy`] and one arm in [`Strategy::build`].

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use cache_adapters::{LruTtlCache, MokaCache, MokaPolicy, QuickTtlCache};
use cache_core::{Clock, ExpiringCache, Timestamp, deadline, is_live};
use cache_weakfifo::{TtlFifoCache, WeakFifoCache};
use serde::Serialize;

/// A cache strategy under measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// The article's design, ported faithfully (`cache_weakfifo::WeakFifoCache`).
    Weakfifo,
    /// The article's design, repaired (`cache_weakfifo::TtlFifoCache`).
    Ttlfifo,
    /// `moka::sync::Cache`, TinyLFU (`cache_adapters::MokaCache`).
    Moka,
    /// `lru::LruCache` in a `Mutex` (`cache_adapters::LruTtlCache`).
    Lru,
    /// `quick_cache::sync::Cache` (`cache_adapters::QuickTtlCache`).
    QuickCache,
    /// Baseline, not a cache: a `std` `HashMap` of key → (value, deadline), no bound, no expiry.
    Hashmap,
}

impl Strategy {
    /// Every strategy, in report order.
    pub const ALL: [Strategy; 6] = [
        Strategy::Weakfifo,
        Strategy::Ttlfifo,
        Strategy::Moka,
        Strategy::Lru,
        Strategy::QuickCache,
        Strategy::Hashmap,
    ];

    /// The strategies that are caches (bounded): every one but the `hashmap` baseline. The
    /// speed benches run these.
    pub const CACHES: [Strategy; 5] = [
        Strategy::Weakfifo,
        Strategy::Ttlfifo,
        Strategy::Moka,
        Strategy::Lru,
        Strategy::QuickCache,
    ];

    /// The name used on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Weakfifo => "weakfifo",
            Strategy::Ttlfifo => "ttlfifo",
            Strategy::Moka => "moka",
            Strategy::Lru => "lru",
            Strategy::QuickCache => "quick_cache",
            Strategy::Hashmap => "hashmap",
        }
    }

    /// One line on what it is.
    pub fn description(self) -> &'static str {
        match self {
            Strategy::Weakfifo => "the article's weak-dict + deque cache, ported faithfully",
            Strategy::Ttlfifo => "the article's cache repaired: FIFO, frees expired entries",
            Strategy::Moka => "moka::sync::Cache (TinyLFU), per-entry expiry",
            Strategy::Lru => "lru::LruCache in a Mutex, deadline beside the value",
            Strategy::QuickCache => "quick_cache::sync::Cache, deadline beside the value",
            Strategy::Hashmap => "baseline: std HashMap, no bound, no expiry",
        }
    }

    /// Whether the strategy's *reclamation* follows the injected clock. moka's runs on real
    /// time (its clock cannot be injected), so time-driven measurements run it in real time.
    pub fn reclamation_follows_clock(self) -> bool {
        self != Strategy::Moka
    }

    /// Builds the strategy with room for `capacity` entries, on `clock`.
    pub fn build<K, V, C>(self, capacity: usize, clock: C) -> Box<dyn ExpiringCache<K, V>>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        C: Clock + Clone + 'static,
    {
        match self {
            Strategy::Weakfifo => Box::new(WeakFifoCache::with_clock(capacity, clock)),
            Strategy::Ttlfifo => Box::new(TtlFifoCache::with_clock(capacity, clock)),
            Strategy::Moka => Box::new(MokaCache::with_hasher(
                capacity as u64,
                clock,
                MokaPolicy::TinyLfu,
                fixed_hasher(),
            )),
            Strategy::Lru => Box::new(LruTtlCache::with_clock(capacity, clock)),
            Strategy::QuickCache => {
                Box::new(QuickTtlCache::with_hasher(capacity, clock, fixed_hasher()))
            }
            Strategy::Hashmap => Box::new(HashMapBaseline::with_clock(clock)),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Strategy, String> {
        Strategy::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Strategy::ALL.iter().map(|s| s.name()).collect();
                format!("unknown strategy {s:?}; known: {}", names.join(", "))
            })
    }
}

/// The hasher moka and quick_cache get here: foldhash with a fixed seed. With their default,
/// randomly seeded hashers, how their internal tables and shards fill — and so their byte
/// counts and the entries quick_cache holds near capacity — differ slightly from run to run; a
/// fixed seed makes every run of the report measure the same thing.
pub fn fixed_hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x00CA_C4EB_E4C4)
}

/// The `hashmap` baseline: what a cache costs with no bound and no expiry at all.
/// `get_ex` still honours deadlines (the contract), but nothing is ever removed.
pub struct HashMapBaseline<K, V, C> {
    map: Mutex<HashMap<K, (V, Timestamp)>>,
    clock: C,
}

impl<K, V, C> HashMapBaseline<K, V, C> {
    /// An empty map on `clock`.
    pub fn with_clock(clock: C) -> Self {
        HashMapBaseline {
            map: Mutex::new(HashMap::new()),
            clock,
        }
    }
}

impl<K, V, C> fmt::Debug for HashMapBaseline<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashMapBaseline").finish_non_exhaustive()
    }
}

impl<K, V, C> ExpiringCache<K, V> for HashMapBaseline<K, V, C>
where
    K: Hash + Eq + Send + Sync,
    V: Clone + Send + Sync,
    C: Clock,
{
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let (v, dl) = map.get(key)?;
        is_live(*dl, now).then(|| v.clone())
    }

    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let dl = deadline(self.clock.now(), ttl);
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (value, dl));
    }

    fn resident_len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Parses a comma-separated list of strategy names; empty means all.
pub fn parse_list(s: &str) -> Result<Vec<Strategy>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let st: Strategy = part.parse()?;
        if !out.contains(&st) {
            out.push(st);
        }
    }
    if out.is_empty() {
        return Err("no strategy named".to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use cache_core::ManualClock;

    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_a_clear_error() {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>(), Ok(s));
        }
        let err = "lfu".parse::<Strategy>().unwrap_err();
        assert!(
            err.contains("unknown strategy \"lfu\"") && err.contains("weakfifo"),
            "{err}"
        );
        assert_eq!(
            parse_list("lru, moka,lru"),
            Ok(vec![Strategy::Lru, Strategy::Moka])
        );
        assert!(parse_list(" , ").is_err());
    }

    #[test]
    fn every_strategy_builds_and_serves_through_the_contract() {
        for s in Strategy::ALL {
            let clock = ManualClock::new();
            let cache = s.build::<u64, u64, _>(16, clock.clone());
            cache.set_ex(1, 10, Duration::from_secs(1));
            assert_eq!(cache.get_ex(&1), Some(10), "{s}");
            clock.advance(Duration::from_secs(2));
            assert_eq!(cache.get_ex(&1), None, "{s}");
        }
    }
}
