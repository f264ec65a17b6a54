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
#![forbid(unsafe_code)]

mod weak;

pub use weak::WeakFifoCache;
