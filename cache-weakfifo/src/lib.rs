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
//!   never holds a dead weak reference: `weak_len()` always equals the number of keys whose current
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
//! of a key taking another slot. Two eviction policies ([`Policy`]), chosen when it is built:
//! plain FIFO (the default, as [`TtlFifoCache::new`] and [`TtlFifoCache::with_clock`] build it)
//! and S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023).
//!
//! ```
//! use std::time::Duration;
//! use cache_core::{ExpiringCache, ManualClock};
//! use cache_weakfifo::{Policy, TtlFifoCache};
//!
//! let cache = TtlFifoCache::builder(100_000)
//!     .policy(Policy::S3Fifo)
//!     .shards(8)
//!     .clock(ManualClock::new())
//!     .build();
//! cache.set_ex("user_id_012345678901".to_owned(), 7u64, Duration::from_secs(1800));
//! assert_eq!(cache.shards(), 8);
//! assert_eq!(cache.get_ex(&"user_id_012345678901".to_owned()), Some(7));
//! ```
//!
//! ## Data layout
//!
//! - **Slots**: one `Vec` per shard of `{ key, value, deadline, prev: u32, next: u32 }`, densely
//!   packed (removing an entry moves the last slot into the hole; a new key that evicts takes
//!   its victim's slot, so the common case moves nothing). `prev`/`next` thread the
//!   slots into queues by slot index; their top bits carry S3-FIFO's state — `prev`'s two the
//!   access count (0–3), `next`'s top one the queue (small or main) — so a slot index has 30
//!   bits and a cache holds at most 2^30 − 2 entries. Per entry that is the payload plus 8 bytes
//!   of links (plus padding, if `K` and `V` leave any). The array grows by doubling up to the
//!   shard's share of the capacity, then by steps of about one standard deviation of how many
//!   keys a hash sends to a shard (√share slots: 250 at 62 500 a shard); never past the cache's
//!   capacity, so a full one-shard cache has no unused slots.
//! - **Index**: a `hashbrown` `HashTable<u32>` of slot indices per shard, filed under the hash of
//!   the slot's key (foldhash): the key is stored once, in its slot. 4 bytes and a control byte
//!   per bucket, at a load factor between 7/16 and 7/8.
//! - **Sweep bounds**: for each block of 64 slots, a lower bound on its deadlines (8 bytes per 64
//!   entries).
//! - **Ghost** (S3-FIFO only): fingerprints of keys recently evicted from the small queue, a
//!   `u32` each — 24 bits of the key's hash and an 8-bit epoch — in a table of two-word buckets,
//!   one word per entry of capacity rounded up to a power of two: about 4 bytes per entry. It is
//!   approximate (see `fifo/ghost.rs`): a bucket collision can forget a key early, and it is
//!   allocated once a shard is half full (and freed by `maintain()` when the cache has emptied).
//!
//! No `Arc`, no `Weak`, no allocation per entry beyond what `K` and `V` own.
//!
//! ## Shards
//!
//! A `Mutex` guards each shard (on a cache line of its own); a key's shard is chosen by bits
//! 32 up of its hash. By default there are four shards per CPU, a power of two, halved while a
//! shard would hold under 256 entries (quick_cache's rule, with a larger floor so that
//! S3-FIFO's small queue per shard keeps a useful size); [`Builder::shards`] sets the number.
//! `shards(1)` is one lock and one exact global queue.
//!
//! **The capacity is exact, whatever the shard count.** One count of entries (an atomic on a
//! cache line of its own) bounds the cache, not the shards: a new key takes a place in the
//! count while there is one, so a cache of capacity N holds every one of N distinct keys, and
//! never more than N. Once it is full, a new key takes the place of its own shard's victim
//! (no atomic write: one out, one in); if its shard is empty, the next shard that holds
//! anything evicts and hands its place over — one lock at a time, never two held together.
//! An expired entry freed on the way gives up its place to the new key, or back to the
//! count. The count is never below the entries held (a place is taken before an insertion and
//! given back after a removal) and a place taken for an insertion that does not happen (a
//! panic in the user's `Hash`) is given back by a guard. What a shard does not have: a share
//! it must stay within. Each shard's *share* (`maxlen / shards`) sizes its small queue, its
//! ghost and its first growth; eviction order is per shard — the oldest entry of *its* shard
//! goes, not the oldest of the cache — so with several shards FIFO is approximate, the bound
//! is not. (An `RwLock` was tried for the single lock: on this machine std's
//! `RwLock` made a single-threaded hit about 1.5× slower with `String` keys, and a read lock
//! still writes the lock's cache line, so concurrent readers gained little.)
//!
//! ## Eviction
//!
//! - **FIFO**: a full shard evicts the front of its queue. `set_ex` of a present key replaces
//!   key, value and deadline in place — one slot per key — and moves the entry to the back, as
//!   if it were new: with one TTL for every entry, queue order then stays deadline order. The
//!   key given with the new value is the one kept, and the old key and value are freed
//!   together: keeping the old key and freeing the new one left a hole beside every new value,
//!   and the allocator's time in the overwrite bench doubled.
//!
//! What an insertion into a full shard costs is mostly memory latency: the victim's key must
//! be hashed to leave the index, and in a large cache its bytes are rarely in the CPU's cache.
//! So each such insertion ends by hashing the key of the next likely victim (kept with its
//! slot), while its own loads are still outstanding; the next insertion into that shard finds
//! the hash ready. The new key then takes the victim's slot: nothing else moves.
//! - **S3-FIFO**: a new key enters the small queue (a tenth of the shard's capacity), or the main
//!   queue if the ghost remembers it. A hit (or an overwrite) raises the entry's count, capped
//!   at 3. When the shard is full: if the small queue holds at least its tenth, its front entry
//!   moves to the main queue if it was accessed at least twice there (its count reset), else it
//!   is evicted and its fingerprint goes to the ghost; otherwise the main queue's front entry is
//!   moved to the back with its count lowered by one if it is above zero, else evicted. The
//!   promotion threshold 2 was chosen by measurement: over the 68 (trace, capacity) cells of
//!   `--traces all` it gave a mean hit ratio of 38.25 % against 38.12 % for 1 (with the ghost
//!   then sized to the main queue), and fell less far below plain FIFO on the zigzag trace; a
//!   ghost remembering as many keys as the shard holds, rather than the main queue's nine
//!   tenths, then added 0.6 points at no memory cost (the table is rounded to a power of two
//!   either way) — the 38.9 % of the measurements below.
//!
//! ## Reclamation
//!
//! Whatever a call frees — a victim, a replaced value, expired entries — is dropped after the
//! shard's lock is released: a slow `Drop` holds up no other thread, and a `Drop` that calls
//! back into the same cache does not deadlock (the conformance suite's
//! `drop_may_call_back_into_the_cache` drives every path). `maintain()` frees at most a few
//! thousand entries per holding of the lock, drops them, and goes on.
//!
//! - Every `set_ex` first frees up to 4 expired entries at the fronts of the shard's queues
//!   (with a single TTL this alone keeps up with the arrival rate), then advances a *sweep*: it
//!   looks at up to 4 blocks, skipping each whose bound is still ahead of the clock (one
//!   comparison), and scans at most one block whose bound has passed, freeing its expired
//!   entries and tightening its bound. With mixed TTLs, queue order is not deadline order; the
//!   sweep finds expired entries wherever they are. The work per call is bounded: at most 4 front
//!   removals and 64 slots examined (a removal refills its hole from the end of the array, and
//!   the slot moved in is examined too, within the same 64; a block whose scan was cut short
//!   keeps its old bound and is scanned again on a later pass).
//! - A `get_ex` that finds its entry expired frees it.
//! - [`maintain`](cache_core::ExpiringCache::maintain) scans every block of every shard whose
//!   bound has passed and frees every expired entry, then, where a shard has shrunk below a
//!   quarter of its slot array, gives the memory back.
//! - An expired entry met by eviction is freed instead, never promoted or reinserted, and never
//!   put in the ghost.
//!
//! ## Measured
//!
//! The report (`cargo run --release -p bench-suite`) measures every figure below in each run;
//! these are from 2026-11-30 (Linux x86_64, 2 CPUs, rustc 1.95.0), with the default shards
//! (eight here).
//!
//! - **Memory** (`cachebench measure-footprint --strategy ttlfifo|ttlfifo_s3 --shape
//!   article|u64 --entries 500000`): all 500 000 entries held. FIFO 103.2 bytes per entry for
//!   the article's shape, **19.2 above the payload** (84 bytes of keys, values and deadlines),
//!   18.9 for `u64`; S3-FIFO 107.4, **23.4 above the payload**, ghost included (23.1 for
//!   `u64`). The FIFO figure is 8 bytes of links, about 10.6 of index (4-byte slots and control
//!   bytes at a load factor of 0.48) and about 0.5 of slots reserved for the spread of the
//!   shards' sizes; S3-FIFO adds about 4.2 of ghost.
//! - **Hit ratio** on the recorded traces (`cachebench --traces all`, 68 cells): S3-FIFO 38.9 %
//!   mean, plain FIFO 29.3 %, LRU 32.2 %, quick_cache 40.6 %, moka 41.7 %, the optimum 49.0 %.
//!   S3-FIFO leads on the web, database and orm traces and on sprite, and loses most on the
//!   loop and scan-like traces (loop, gli, cs, scan, zigzag), where the working set cycles just
//!   past the capacity and nothing is accessed twice while on probation; on zigzag it falls up
//!   to 14 points below plain FIFO.
//! - **Speed**: see the README's bench table (`cargo bench -p bench-suite`, then
//!   `cachebench bench-table`).
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

pub use fifo::{Builder, DefaultHasher, Policy, TtlFifoCache};
pub use weak::WeakFifoCache;
