//! The article's cache, ported faithfully: a weak-value map plus a bounded FIFO deque of strong
//! references ([`WeakFifoCache`]).
//!
//! The design holds every expired entry in memory until the deque pushes it out, and gives
//! every `set_ex` — even of a key already present — its own deque slot, so a cache that sees
//! enough distinct sets fills to exactly `maxlen` entries, whatever the TTL. That is the
//! behaviour that cost the article's service 2.67 GB, and the reason this crate exists: the
//! `bench-suite` report measures it beside the established caches.
//!
//! ```
//! use std::time::Duration;
//! use cache_core::{ExpiringCache, ManualClock};
//! use cache_weakfifo::WeakFifoCache;
//!
//! let clock = ManualClock::new();
//! let cache = WeakFifoCache::with_clock(500_000, clock.clone());
//! cache.set_ex("user_id_012345678901".to_owned(), "ABCDEFGH".to_owned(), Duration::from_secs(1800));
//! clock.advance(Duration::from_secs(3600)); // t = 1 h: long expired
//! assert_eq!(cache.get_ex(&"user_id_012345678901".to_owned()), None);
//! // Expired, yet still held: only the deque pushing it out would free it.
//! assert_eq!(cache.resident_len(), 1);
//! ```
//!
//! # Parity with the Python original
//!
//! Each line of the article's `LocalCache` and its Rust counterpart in [`WeakFifoCache`]:
//!
//! | Python (`LocalCache`) | Rust (`WeakFifoCache`) |
//! |---|---|
//! | `notFound = object()` | `None` of the `Option<V>` that `get_ex` returns |
//! | `class Dict(dict): def __del__(self): pass` — a dict subclass, because a plain dict cannot be weakly referenced | a private `Entry { key, value, deadline }` inside an `Arc`; an `Arc` can always be weakly referenced |
//! | `self.weak = weakref.WeakValueDictionary()` | a `HashTable<Weak<Entry>>` filed under each entry's key |
//! | `self.strong = collections.deque(maxlen=maxlen)` | a `VecDeque<Arc<Entry>>` and `maxlen`: the only strong references |
//! | `value = self.weak.get(key, self.notFound)` | find the key's weak reference and upgrade it |
//! | `expire = value['expire']` / `if self.nowTime() > expire: return self.notFound` | `is_live(entry.deadline, now)` is `now <= deadline`: still a hit at exactly the deadline; nothing is removed |
//! | `else: return value['result']` | `Some(entry.value.clone())` |
//! | `self.weak[key] = strongRef = LocalCache.Dict({'result': value, 'expire': self.nowTime() + expire})` | a new `Arc<Entry>` with `deadline(now, ttl)`; the key's weak reference is replaced (or inserted) — an older entry of the key keeps its deque slot |
//! | `self.strong.append(strongRef)` | `push_back`; when the deque then holds more than `maxlen`, `pop_front` drops the oldest entry |
//! | the `WeakValueDictionary` callback when an entry dies | `on_entry_death`: remove the key only if the map still points at the dying entry |
//! | the GIL | a `Mutex` around the map and the deque |
//!
//! Where Rust differs, and why it does not change the behaviour:
//!
//! - **No garbage collector.** CPython frees an entry when its reference count reaches zero —
//!   these entries form no cycles, so its cycle collector never matters. Rust's `Arc` does the
//!   same: the entry is freed the moment the deque drops its only strong reference. The map's
//!   `Weak` keeps only the allocation's bookkeeping alive, never the entry's key or value past
//!   that point, and the map drops that `Weak` in the same step.
//! - **The weak-reference callback is emulated.** Rust's `Weak` has no callback. The only place
//!   an entry can die is the deque's push-out in `set_ex` (or dropping the whole cache), so the
//!   callback's work — drop the key if, and only if, the map still points at this entry — is done
//!   there, explicitly, under the same lock, right before the entry is dropped. Hence the map
//!   never holds a dead weak reference: `len()` always equals the number of keys whose current
//!   entry is in the deque.
//! - **The clock is monotonic and injectable.** Python reads `time.time()` (wall-clock seconds
//!   in a float, which can jump). Here the deadline is a [`cache_core::Timestamp`]
//!   (u64 nanoseconds) from a [`cache_core::Clock`]: [`cache_core::SystemClock`] by default,
//!   [`cache_core::ManualClock`] in tests and in the report. `now + ttl` saturates, so a TTL of
//!   `Duration::MAX` never expires, where Python would compute a float.
//! - **The key is stored once.** Python's map keeps the key, and its weak reference (`KeyedRef`)
//!   keeps it again for the callback. Here the entry owns the key and the map is a table of weak
//!   references filed under it, so an entry costs one allocation: the `Arc` holding key, value
//!   and deadline (plus whatever `K` and `V` own themselves).
//!
//! None of this frees anything earlier than Python would: an expired entry stays resident until
//! `maxlen` newer sets have pushed it out. [`cache_core::ExpiringCache::maintain`] does nothing.
//!
//! ## Measured
//!
//! `cargo run --release -p bench-suite` (2026-11-26, Linux x86_64, 2 CPUs, rustc 1.95.0), 500 000
//! entries of the article's shape (20-byte `String` keys, 8-byte `String` values): **127.3 bytes
//! per entry**, 43.3 above the 84 bytes of the keys, values and deadlines themselves, 3
//! allocations per entry (key, value, and the `Arc` holding them). Python took 700–800. In the
//! article's workload (capacity 500 000, TTL 1800 s, 50 000 entries valid at once) it holds all
//! 500 000 entries, 449 999 of them expired: 63.6 MB per cache.
//!
//! # `TtlFifoCache`: the article, repaired
//!
//! [`TtlFifoCache`] keeps the design's simplicity — a bounded cache that evicts in FIFO order —
//! and removes its two faults: expired entries holding memory until pushed out, and every re-set
//! of a key taking another slot.
//!
//! ## Data layout
//!
//! - **Slots**: one `Vec` of `{ key, value, deadline, prev: u32, next: u32 }`, densely packed
//!   (removing an entry moves the last slot into the hole). `prev`/`next` thread the slots into
//!   the FIFO list by slot index. Per entry that is the payload plus 8 bytes of links (plus
//!   padding, if `K` and `V` leave any). The array grows by doubling but never past `maxlen`, so
//!   a full cache has no unused slots.
//! - **Index**: a `hashbrown` `HashTable<u32>` of slot indices, filed under the hash of the
//!   slot's key (foldhash): the key is stored once, in its slot. 4 bytes and a control byte per
//!   bucket, at a load factor between 7/16 and 7/8.
//! - **Sweep bounds**: for each block of 64 slots, a lower bound on its deadlines (8 bytes per 64
//!   entries).
//!
//! No `Arc`, no `Weak`, no allocation per entry beyond what `K` and `V` own. One `Mutex` guards
//! the whole. (An `RwLock` was tried first: on this machine std's `RwLock` made a single-threaded
//! hit about 1.5× slower with `String` keys, and a read lock still writes the lock's cache line,
//! so concurrent readers gained little.)
//!
//! ## Overwrites
//!
//! `set_ex` of a present key replaces value and deadline in place — one slot per key — and moves
//! the entry to the back of the FIFO, as if it were new. With one TTL for every entry, FIFO order
//! then stays deadline order, so the front is always the next entry to expire; and a key that is
//! set again is treated as the newest rather than being evicted first.
//!
//! ## Reclamation
//!
//! - Every `set_ex` first frees up to 4 expired entries at the front of the FIFO (with a single
//!   TTL this alone keeps up with the arrival rate), then advances a *sweep*: it looks at up to 4
//!   blocks, skipping each whose bound is still ahead of the clock (one comparison), and scans at
//!   most one block whose bound has passed, freeing its expired entries and tightening its bound.
//!   With mixed TTLs, FIFO order is not deadline order; the sweep finds expired entries wherever
//!   they are, in `resident / 64` writes at most. The work per call is bounded: at most 4 front
//!   removals and 64 slots scanned.
//! - A `get_ex` that finds its entry expired frees it.
//! - [`maintain`](cache_core::ExpiringCache::maintain) scans every block whose bound has passed
//!   and frees every expired entry, then, if the cache has shrunk below a quarter of its slot
//!   array, gives the memory back.
//! - When the cache is full of live entries, a new key evicts the front of the FIFO.
//!
//! ## Measured
//!
//! `cargo run --release -p bench-suite` (2026-11-26, Linux x86_64, 2 CPUs, rustc 1.95.0):
//!
//! - **Memory**: 102.6 bytes per entry at 500 000 entries of the article's shape, **18.6 bytes
//!   above the payload** (84 bytes of keys, values and deadlines); 42.6 bytes per entry for
//!   `u64 → u64`, again 18.6 above its 24-byte payload. The 18.6 bytes are 8 of links and 10.6
//!   of index (4-byte slots and control bytes at a load factor of 0.48: 500 000 entries need
//!   2^20 buckets). For comparison, in the same run: quick_cache 30.1, lru 51.7 (its table is
//!   allocated up front), moka 257.3 above the payload.
//! - **Retention** (capacity 500 000, valid set 50 000, 1 000 000 new keys): with one TTL of
//!   1800 s, no expired entry was resident at any sample (the front reclamation keeps up); with
//!   TTLs mixed log-uniformly from one minute to one day, at most 196 (0.04 % of capacity). After
//!   `maintain()`: none, and 128 bytes held. The article's design held 449 999 expired entries in
//!   the same workload.
//! - **Speed** (`cargo bench -p bench-suite`, then `cargo run --release -p bench-suite --
//!   bench-table`; single thread, median ns per operation, ratio to quick_cache in parentheses):
//!   `get_ex` hit 151.2 ns (0.96) for the article's shape and 30.5 ns (0.44) for `u64`; `set_ex`
//!   of a new key into a full cache 158.2 ns (0.39) and 75.0 ns (0.92). This machine is a noisy
//!   shared VM: in two further runs of the hit bench the article-shape ratio was 0.77 and 1.12.
//!   With two threads on one cache it is about 2.8× slower than quick_cache, which is sharded;
//!   this cache has one lock.
//!
//! ## The article's lessons, answered
//!
//! - *Expired entries are not freed*: here they are, as writes arrive and in `maintain()`; the
//!   memory held follows the valid set, not `maxlen`.
//! - *Every set takes a slot*: here a key has one slot, whatever the number of sets.
//! - *700–800 bytes per entry, not the 100 estimated*: here the overhead above the keys, values
//!   and deadlines themselves is a few bytes of links and index; the report measures it.
//! - *Set `maxlen` from data*: still good advice — `maxlen` is the bound on memory when every
//!   entry is live — but a generous `maxlen` no longer costs memory for expired entries.
#![forbid(unsafe_code)]

mod fifo;
#[cfg(test)]
mod test_support;
mod weak;

pub use fifo::TtlFifoCache;
pub use weak::WeakFifoCache;
