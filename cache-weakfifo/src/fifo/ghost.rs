//! The S3-FIFO ghost: fingerprints of keys recently evicted from the small queue, so a key that
//! comes back soon goes straight to the main queue.
//!
//! Compact and approximate, by design: a table of `u32` words, two per bucket, each holding a
//! 24-bit fingerprint of the key's hash and an 8-bit epoch. Writing a fingerprint overwrites an
//! empty word, a stale one, or the older of the two; a fingerprint counts as present while its
//! epoch is less than 16 epochs old, an epoch passing every `capacity / 16` insertions — so the
//! ghost remembers about the last `capacity` evictions, as the published design's FIFO of
//! `capacity` hashes does, in 4 bytes per remembered key and no pointer. What it gives up: a
//! remembered key can be overwritten early by a collision in its bucket (a miss that the exact
//! FIFO would have caught), and a different key with the same 24-bit fingerprint in the same
//! bucket is taken for it (one chance in about 8 million per lookup).

/// Epochs a fingerprint stays present.
const LIFETIME: u8 = 16;

/// The ghost of one shard.
#[derive(Debug, Default)]
pub(super) struct Ghost {
    /// `2 × buckets` words: `fingerprint << 8 | epoch`, 0 when empty.
    words: Vec<u32>,
    /// Fingerprints it should remember.
    capacity: usize,
    /// Insertions so far.
    inserted: u64,
}

/// The 24-bit fingerprint of `hash` (bits 40–63), never 0. The bucket uses the low bits; the
/// shard choice uses bits 32 up, one per doubling of the shard count, so up to 256 shards it
/// stays below bit 40. Above 256, the lowest bits of the fingerprint are the same for every
/// key of a shard, and the ghost takes one key for another more often (at 65 536 shards, the
/// most `Builder::shards` allows, eight of the 24 bits tell nothing apart).
fn fingerprint(hash: u64) -> u32 {
    ((hash >> 40) as u32) | 1
}

impl Ghost {
    /// A ghost for `capacity` fingerprints; its table is allocated by [`Ghost::allocate`].
    pub(super) fn new(capacity: usize) -> Ghost {
        Ghost {
            words: Vec::new(),
            capacity,
            inserted: 0,
        }
    }

    /// Whether its table is allocated.
    pub(super) fn is_allocated(&self) -> bool {
        !self.words.is_empty()
    }

    /// Allocates the table: the next power of two at or above `capacity` words.
    pub(super) fn allocate(&mut self) {
        let words = self.capacity.max(2).next_power_of_two();
        self.words = vec![0; words];
    }

    /// Frees the table (the cache has shrunk); it is allocated again when needed.
    pub(super) fn free(&mut self) {
        self.words = Vec::new();
    }

    /// Bytes of the table.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.words.capacity() * 4
    }

    fn epoch(&self) -> u8 {
        let period = (self.capacity as u64 / u64::from(LIFETIME)).max(1);
        (self.inserted / period) as u8
    }

    fn bucket(&self, hash: u64) -> usize {
        (hash as usize & (self.words.len() / 2 - 1)) * 2
    }

    fn alive(&self, word: u32) -> bool {
        word != 0 && self.epoch().wrapping_sub(word as u8) < LIFETIME
    }

    /// Remembers the key of `hash`.
    pub(super) fn insert(&mut self, hash: u64) {
        if self.words.is_empty() {
            return;
        }
        let b = self.bucket(hash);
        let word = (fingerprint(hash) << 8) | u32::from(self.epoch());
        let age = |w: u32| self.epoch().wrapping_sub(w as u8);
        let slot = match (self.words[b], self.words[b + 1]) {
            (w, _) if !self.alive(w) => b,
            (_, w) if !self.alive(w) => b + 1,
            (x, y) if age(x) >= age(y) => b,
            _ => b + 1,
        };
        self.words[slot] = word;
        self.inserted += 1;
    }

    /// Whether the key of `hash` is remembered; if so, forgets it.
    pub(super) fn take(&mut self, hash: u64) -> bool {
        if self.words.is_empty() {
            return false;
        }
        let b = self.bucket(hash);
        let fp = fingerprint(hash);
        for slot in [b, b + 1] {
            let w = self.words[slot];
            if w >> 8 == fp && self.alive(w) {
                self.words[slot] = 0;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29) ^ i
    }

    /// A fingerprint is never 0, the word of an empty place: a key whose hash has bits 40 up
    /// all 0 but the lowest (or all 0) is remembered like any other.
    #[test]
    fn a_fingerprint_is_never_zero() {
        for h in [0, 1 << 40, (1 << 40) | 0xff, u64::MAX, 3 << 40] {
            assert_ne!(fingerprint(h), 0, "{h:#x}");
        }
        let mut g = Ghost::new(64);
        g.allocate();
        g.insert(1 << 40);
        assert!(g.take(1 << 40));
    }

    #[test]
    fn remembers_recent_evictions_and_forgets_old_ones() {
        let mut g = Ghost::new(1_024);
        assert!(!g.take(hash(1)), "unallocated: remembers nothing");
        g.allocate();
        assert_eq!(g.bytes(), 4 * 1_024);
        for i in 0..512 {
            g.insert(hash(i));
        }
        let kept = (0..512).filter(|&i| g.take(hash(i))).count();
        assert!(kept > 400, "most of half a capacity is remembered: {kept}");
        assert!(!g.take(hash(3)) || kept == 512, "a take forgets");
        for i in 1_000..4_000 {
            g.insert(hash(i));
        }
        let old = (1_000..1_500).filter(|&i| g.take(hash(i))).count();
        assert_eq!(old, 0, "three capacities later the oldest are gone");
        let recent = (3_600..4_000).filter(|&i| g.take(hash(i))).count();
        assert!(recent > 300, "the latest are there: {recent}");
        let strangers = (10_000..20_000).filter(|&i| g.take(hash(i))).count();
        assert!(
            strangers <= 2,
            "keys never evicted are not remembered: {strangers}"
        );
        g.free();
        assert!(!g.is_allocated() && !g.take(hash(3_999)));
    }
}
