//! Bélády's MIN with bypass: the optimal offline policy, the ceiling no cache can beat.
//!
//! On a miss, the key is admitted only if its next use comes before the farthest next use among
//! the residents (then that resident is evicted); a key never used again is never admitted. A
//! resident is identified by the index of its next use — unique, since one request has one key —
//! so the resident set is an ordered set of indices and a request `i` hits exactly when `i` is
//! in it.

use std::collections::BTreeSet;
use std::collections::HashMap;

/// For each request, the index of the next request of the same key (`usize::MAX`: none).
pub fn next_uses(requests: &[u64]) -> Vec<usize> {
    let mut next = vec![usize::MAX; requests.len()];
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (i, k) in requests.iter().enumerate().rev() {
        if let Some(j) = seen.insert(*k, i) {
            next[i] = j;
        }
    }
    next
}

/// The hits of the optimal policy at `capacity`, given [`next_uses`] of the trace.
pub fn hits(next: &[usize], capacity: usize) -> u64 {
    if capacity == 0 {
        return 0;
    }
    let mut resident: BTreeSet<usize> = BTreeSet::new();
    let mut hits = 0;
    for (i, &n) in next.iter().enumerate() {
        if resident.remove(&i) {
            hits += 1;
            if n != usize::MAX {
                resident.insert(n);
            }
            continue;
        }
        if n == usize::MAX {
            continue; // never used again: bypass
        }
        if resident.len() < capacity {
            resident.insert(n);
        } else if let Some(&farthest) = resident.last()
            && n < farthest
        {
            resident.remove(&farthest);
            resident.insert(n);
        }
    }
    hits
}
