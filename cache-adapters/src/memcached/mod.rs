//! [`MemcachedCache`]: a Memcached server behind the contract, over its text protocol.
//!
//! # The client
//!
//! The adapter speaks the text protocol itself (about 200 lines, in `memcached/proto.rs`): the maintained
//! synchronous client crate (`memcache` 0.21) was read and left aside — its connection pool
//! checks every connection out with an extra `version` round trip, returns a connection that
//! timed out half-way through a reply to the pool (its `has_broken` is a to-do that answers
//! `false`), so the next command reads the previous one's answer; it writes keys unchecked into
//! the command line (a key holding `\r\n` is a second command), and allocates a buffer of
//! whatever length a reply claims. Here every read is bounded, every call has a timeout
//! ([`DEFAULT_TIMEOUT`], [`MemcachedCache::connect_with`]), a connection that failed is dropped,
//! and a key the protocol cannot carry is refused.
//!
//! # How TTL works here
//!
//! As with [`RedisCache`](crate::RedisCache): the **authoritative** deadline, from the injected
//! [`Clock`], is stored with the value (8 bytes, big-endian nanoseconds, then the value's bytes)
//! and `get_ex` checks it, so `get_ex` is exact on any clock. Memcached's **own** expiry lets it
//! free the item; it counts whole seconds on a clock that ticks once a second, so an item set
//! just before a tick with an expiry of *n* seconds can expire up to a second early: the adapter
//! asks for the TTL rounded up to the second, plus one. Expiries past 30 days are sent as a Unix
//! time (memcached reads larger numbers so); past 2106 (a `u32` of seconds), as none — our
//! deadline still decides. A TTL of zero deletes the key (`delete`), so no older value survives.
//!
//! # When expired entries leave memory
//!
//! When memcached reclaims them: when an expired item is read, when its LRU pushes it out, and
//! in its LRU crawler, a background thread that walks the LRUs for expired items (on by default
//! since 1.5). `get_ex` of an expired entry leaves it to memcached.
//! [`maintain`](cache_core::ExpiringCache::maintain) does nothing.
//!
//! # Resident count, capacity, errors
//!
//! [`resident_len`](cache_core::ExpiringCache::resident_len) is `stats`' `curr_items`: every
//! item of the server, expired ones not yet reclaimed included — give the cache a server of its
//! own. No count is enforced: memcached bounds memory (`-m`), not entries. The contract has no
//! error channel, so a failed command is a miss for `get_ex` and a dropped write for `set_ex`;
//! every failure is counted ([`MemcachedCache::errors`], the first one kept:
//! [`MemcachedCache::first_error`]), and a key of more than 250 bytes or
//! holding a space or a control character is one (the text protocol cannot carry it).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

pub(crate) mod proto;
mod server;

pub use server::{LocalMemcached, MEMORY_LIMIT_MB};

use crate::failures::Failures;
use cache_core::{Clock, Deadline, ExpiringCache, SystemClock, Timestamp, deadline, is_live};
use proto::Conn;

/// How long one call to the server (connect, a write, a read) may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest relative expiry memcached takes; larger numbers are Unix times.
const RELATIVE_MAX: u64 = 30 * 86_400;

/// How a key or a value is written to memcached, and a value read back.
pub trait MemcachedText: Sized {
    /// The bytes stored: borrowed when the type holds them already (no copy per call).
    fn to_bytes(&self) -> Cow<'_, [u8]>;
    /// The value back from its bytes; `None` if they are not one.
    fn from_bytes(bytes: Vec<u8>) -> Option<Self>;
}

impl MemcachedText for Vec<u8> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self)
    }
    fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        Some(bytes)
    }
}

impl MemcachedText for String {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.as_bytes())
    }
    fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        String::from_utf8(bytes).ok()
    }
}

/// Decimal digits, as memcached's own `incr` stores numbers.
impl MemcachedText for u64 {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.to_string().into_bytes())
    }
    fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        std::str::from_utf8(&bytes).ok()?.parse().ok()
    }
}

/// Memcached, as an expiring cache of `K` → `V`.
pub struct MemcachedCache<K, V, C: Clock = SystemClock> {
    addr: String,
    timeout: Duration,
    /// Open connections not in use: a call takes one (or opens one).
    idle: Mutex<Vec<Conn>>,
    clock: C,
    failures: Failures,
    _types: PhantomData<fn(K) -> V>,
}

impl<K, V> MemcachedCache<K, V, SystemClock> {
    /// A cache on the server at `addr` (`127.0.0.1:11211`), on the real clock.
    pub fn connect(addr: &str) -> std::io::Result<Self> {
        Self::connect_with(addr, SystemClock::new(), DEFAULT_TIMEOUT)
    }
}

impl<K, V, C: Clock> MemcachedCache<K, V, C> {
    /// A cache on the server at `addr` (`host:port`), on `clock`, each call to the server
    /// bounded by `timeout`. Fails if the server cannot be reached now.
    pub fn connect_with(addr: &str, clock: C, timeout: Duration) -> std::io::Result<Self> {
        let addr = addr.strip_prefix("memcache://").unwrap_or(addr).to_owned();
        let conn = Conn::connect(&addr, timeout)?;
        Ok(MemcachedCache {
            addr,
            timeout,
            idle: Mutex::new(vec![conn]),
            clock,
            failures: Failures::default(),
            _types: PhantomData,
        })
    }

    /// Commands that failed so far.
    pub fn errors(&self) -> u64 {
        self.failures.count()
    }

    /// Empties the server (`flush_all`) and waits until its items are gone from memory:
    /// `flush_all` only marks them invalid, so the adapter asks the LRU crawler to walk every
    /// LRU and polls `curr_items` until it is zero (at most `timeout`).
    pub fn flush_all(&self) -> std::io::Result<()> {
        self.on_connection(|c| {
            c.send(b"flush_all\r\n")?;
            c.expect(b"OK")
        })?;
        let since = Instant::now();
        loop {
            // `OK`, or `BUSY` while a crawl is under way; either way the items go.
            let _ = self.on_connection(|c| {
                c.send(b"lru_crawler crawl all\r\n")?;
                c.line()
            })?;
            if self.server_stats()?.curr_items == 0 {
                return Ok(());
            }
            if since.elapsed() > self.timeout {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "flush_all: items still held after the timeout",
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The server's figures now, from `stats` and `stats slabs`.
    pub fn server_stats(&self) -> std::io::Result<ServerStats> {
        let (general, slabs) =
            self.on_connection(|c| Ok((c.stats(None)?, c.stats(Some("slabs"))?)))?;
        ServerStats::parse(&general, &slabs).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stats without curr_items, bytes, hash_bytes or version",
            )
        })
    }

    /// Runs `f` on an idle connection, or a new one; the connection goes back to the idle ones
    /// only if `f` succeeded.
    fn on_connection<T>(
        &self,
        f: impl FnOnce(&mut Conn) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match idle {
            Some(c) => c,
            None => Conn::connect(&self.addr, self.timeout)?,
        };
        let answer = f(&mut conn)?;
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        Ok(answer)
    }

    /// The first failure, in words (`None` if nothing failed).
    pub fn first_error(&self) -> Option<String> {
        self.failures.first()
    }

    /// Counts `n` failures, keeping the first one's description.
    fn failed(&self, n: u64, what: impl FnOnce() -> String) {
        self.failures.add(n, what);
    }

    /// Appends the command that stores `value` under `key` for `ttl` to `cmd`; `false` (and a
    /// failure counted) for a key the protocol cannot carry.
    fn store_command(&self, cmd: &mut Vec<u8>, key: &K, value: &V, ttl: Duration) -> bool
    where
        K: MemcachedText,
        V: MemcachedText,
    {
        let key = key.to_bytes();
        if !proto::is_valid_key(&key) {
            self.failed(1, || bad_key(&key));
            return false;
        }
        if ttl.is_zero() {
            proto::delete_command(cmd, &key);
        } else {
            let dl = deadline(self.clock.now(), ttl);
            let mut data = dl.timestamp().as_nanos().to_be_bytes().to_vec();
            data.extend_from_slice(&value.to_bytes());
            proto::set_command(cmd, &key, exptime(ttl, unix_now()), &data);
        }
        true
    }

    /// Reads the answers to `n` commands sent with [`store_command`](Self::store_command):
    /// `STORED`, `DELETED` or `NOT_FOUND` each.
    fn read_stored(conn: &mut Conn, n: usize) -> std::io::Result<()> {
        for _ in 0..n {
            let line = conn.line()?;
            if !matches!(&line[..], b"STORED" | b"DELETED" | b"NOT_FOUND") {
                return Err(proto::unexpected(&line));
            }
        }
        Ok(())
    }
}

/// Memcached's expiry for `ttl` (not zero) at Unix time `unix_now`: whole seconds rounded up,
/// plus one for its clock's tick; as a Unix time past 30 days; none (0) past `u32`'s range.
fn exptime(ttl: Duration, unix_now: u64) -> u32 {
    let secs = ttl
        .as_secs()
        .saturating_add(u64::from(ttl.subsec_nanos() > 0))
        .saturating_add(1);
    if secs <= RELATIVE_MAX {
        return u32::try_from(secs).unwrap_or(0);
    }
    u32::try_from(unix_now.saturating_add(secs)).unwrap_or(0)
}

/// A key the text protocol cannot carry, described by its length and first bytes.
fn bad_key(key: &[u8]) -> String {
    let shown = String::from_utf8_lossy(&key[..key.len().min(40)]).into_owned();
    format!(
        "a key the text protocol cannot carry ({} bytes, {shown:?}…): at most 250 bytes, no \
         space or control character",
        key.len()
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The deadline and the value from stored bytes.
fn decode<V: MemcachedText>(mut stored: Vec<u8>) -> Option<(Deadline, V)> {
    let dl = Deadline::at(Timestamp::from_nanos(u64::from_be_bytes(
        stored.get(..8)?.try_into().ok()?,
    )));
    stored.drain(..8);
    Some((dl, V::from_bytes(stored)?))
}

/// A server's figures, from `stats` and `stats slabs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStats {
    /// `curr_items`: items held, expired ones not yet reclaimed included.
    pub curr_items: u64,
    /// `bytes`: the items' own sizes (header, key, value), before slab rounding.
    pub bytes: u64,
    /// `hash_bytes`: the hash table.
    pub hash_bytes: u64,
    /// The slab memory the items occupy: each slab class's `used_chunks` × `chunk_size` (an
    /// item takes a whole chunk of the smallest class it fits).
    pub chunk_bytes: u64,
    /// `total_malloced`: slab pages allocated (1 MB each), which memcached never gives back.
    pub total_malloced: u64,
    /// `hash_power_level`: the hash table has 2^this buckets.
    pub hash_power_level: u32,
    /// `hash_is_expanding`: the table is being doubled, in a background thread.
    pub hash_is_expanding: bool,
    /// `version`.
    pub version: String,
}

impl ServerStats {
    /// What the items cost in the server: the chunks they occupy and the hash table.
    pub fn data(&self) -> u64 {
        self.chunk_bytes + self.hash_bytes
    }

    /// Whether the hash table is at the size its items call for: not being doubled, and not
    /// about to be (memcached doubles it once it holds more than 1.5 items a bucket; the
    /// doubling thread can start a while after the insert that crossed the line).
    pub fn is_settled(&self) -> bool {
        let buckets = 1u64.checked_shl(self.hash_power_level).unwrap_or(u64::MAX);
        !self.hash_is_expanding && self.curr_items <= buckets.saturating_mul(3) / 2
    }

    fn parse(general: &[(String, String)], slabs: &[(String, String)]) -> Option<ServerStats> {
        let field = |list: &[(String, String)], name: &str| {
            list.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
        };
        fn number<T: std::str::FromStr>(list: &[(String, String)], name: &str) -> Option<T> {
            list.iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.parse().ok())
        }
        let mut chunk_bytes = 0u64;
        for (name, value) in slabs {
            let Some((class, "used_chunks")) = name.split_once(':') else {
                continue;
            };
            let used: u64 = value.parse().ok()?;
            let size: u64 = number(slabs, &format!("{class}:chunk_size"))?;
            chunk_bytes = chunk_bytes.saturating_add(used.saturating_mul(size));
        }
        Some(ServerStats {
            curr_items: number(general, "curr_items")?,
            bytes: number(general, "bytes")?,
            hash_bytes: number(general, "hash_bytes")?,
            chunk_bytes,
            total_malloced: number(slabs, "total_malloced").unwrap_or(0),
            hash_power_level: number(general, "hash_power_level")?,
            hash_is_expanding: number::<u8>(general, "hash_is_expanding")? != 0,
            version: field(general, "version")?,
        })
    }
}

impl<K, V, C> ExpiringCache<K, V> for MemcachedCache<K, V, C>
where
    K: MemcachedText + Send + Sync,
    V: MemcachedText + Send + Sync,
    C: Clock,
{
    /// `get`: a miss when the key is absent or its stored deadline has passed on our clock.
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let key = key.to_bytes();
        if !proto::is_valid_key(&key) {
            self.failed(1, || bad_key(&key));
            return None;
        }
        let stored = match self.on_connection(|c| c.get(&key)) {
            Ok(s) => s?,
            Err(e) => {
                self.failed(1, || format!("get: {e}"));
                return None;
            }
        };
        let Some((dl, value)) = decode::<V>(stored) else {
            self.failed(1, || {
                "get: a stored value this cache did not write".to_owned()
            });
            return None;
        };
        is_live(dl, now).then_some(value)
    }

    /// `set key 0 exptime len` (see the module's documentation for the expiry), `delete key`
    /// for a TTL of zero.
    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let mut cmd = Vec::new();
        if self.store_command(&mut cmd, &key, &value, ttl)
            && let Err(e) = self.on_connection(|c| {
                c.send(&cmd)?;
                Self::read_stored(c, 1)
            })
        {
            self.failed(1, || format!("set: {e}"));
        }
    }

    /// The same commands as [`set_ex`](Self::set_ex), sent together, then their answers read:
    /// one round trip for the batch. A failed batch counts one failure per command.
    fn set_ex_many(&self, entries: Vec<(K, V, Duration)>) {
        let mut cmd = Vec::new();
        let mut n = 0;
        for (key, value, ttl) in &entries {
            n += usize::from(self.store_command(&mut cmd, key, value, *ttl));
        }
        if n > 0
            && let Err(e) = self.on_connection(|c| {
                c.send(&cmd)?;
                Self::read_stored(c, n)
            })
        {
            self.failed(n as u64, || format!("a batch of {n} sets: {e}"));
        }
    }

    /// `stats`' `curr_items`: every item of the server, expired ones not yet reclaimed included.
    fn resident_len(&self) -> usize {
        match self.server_stats() {
            Ok(s) => usize::try_from(s.curr_items).unwrap_or(usize::MAX),
            Err(e) => {
                self.failed(1, || format!("stats: {e}"));
                0
            }
        }
    }

    /// Nothing: memcached reclaims expired items on its own.
    fn maintain(&self) {}
}

impl<K, V, C: Clock> fmt::Debug for MemcachedCache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemcachedCache")
            .field("addr", &self.addr)
            .field("errors", &self.errors())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memcacheds_expiry_is_whole_seconds_rounded_up_plus_a_tick() {
        let now = 1_800_000_000;
        assert_eq!(exptime(Duration::from_nanos(1), now), 2);
        assert_eq!(exptime(Duration::from_secs(1), now), 2);
        assert_eq!(exptime(Duration::from_millis(1_500), now), 3);
        assert_eq!(
            exptime(Duration::from_secs(RELATIVE_MAX - 1), now),
            2_592_000
        );
        assert_eq!(
            exptime(Duration::from_secs(RELATIVE_MAX), now),
            1_800_000_000 + 2_592_001,
            "past 30 days, a Unix time"
        );
        assert_eq!(exptime(Duration::MAX, now), 0, "past u32: no expiry");
        assert_eq!(exptime(Duration::from_secs(u64::from(u32::MAX)), now), 0);
    }

    #[test]
    fn stats_and_slabs_are_read_field_by_field() {
        let pairs = |s: &[(&str, &str)]| -> Vec<(String, String)> {
            s.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        let general = pairs(&[
            ("version", "1.6.18"),
            ("curr_items", "1000"),
            ("bytes", "74890"),
            ("hash_bytes", "524288"),
            ("hash_power_level", "16"),
            ("hash_is_expanding", "0"),
        ]);
        let slabs = pairs(&[
            ("1:chunk_size", "96"),
            ("1:used_chunks", "1000"),
            ("2:chunk_size", "120"),
            ("2:used_chunks", "3"),
            ("active_slabs", "2"),
            ("total_malloced", "2097152"),
        ]);
        let s = ServerStats::parse(&general, &slabs).unwrap();
        assert_eq!(s.chunk_bytes, 96_000 + 360);
        assert_eq!(s.data(), 96_360 + 524_288);
        assert_eq!(s.curr_items, 1000);
        assert_eq!(s.total_malloced, 2_097_152);
        assert!(s.is_settled());
        let full = ServerStats {
            curr_items: 3 << 15,
            ..s.clone()
        };
        assert!(full.is_settled(), "1.5 items a bucket: not yet doubled");
        let over = ServerStats {
            curr_items: (3 << 15) + 1,
            ..s.clone()
        };
        assert!(
            !over.is_settled(),
            "past 1.5 items a bucket: about to double"
        );
        let expanding = ServerStats {
            hash_is_expanding: true,
            ..s
        };
        assert!(!expanding.is_settled());
        assert_eq!(ServerStats::parse(&general[..1], &slabs), None);
        let no_size = pairs(&[("3:used_chunks", "1")]);
        assert_eq!(ServerStats::parse(&general, &no_size), None);
    }

    #[test]
    fn the_stored_bytes_are_the_deadline_then_the_value() {
        let at = Deadline::at(Timestamp::from_nanos(258));
        let mut stored = at.timestamp().as_nanos().to_be_bytes().to_vec();
        stored.extend_from_slice(b"42");
        assert_eq!(decode::<u64>(stored), Some((at, 42)));
        assert_eq!(decode::<u64>(vec![0, 1]), None);
    }
}
