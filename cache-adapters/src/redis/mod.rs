//! [`RedisCache`]: a Redis server behind the contract, on the `redis` crate's blocking
//! connection.
//!
//! # How TTL works here
//!
//! As with moka, two deadlines for two jobs. The **authoritative** deadline, from the injected
//! [`Clock`], is stored with the value — the stored string is the deadline (8 bytes, big-endian
//! nanoseconds) followed by the value's bytes — and `get_ex` checks it, so `get_ex` is exact on
//! any clock. Redis's **own** expiry, set with `SET key value PX ms` to the time left until that
//! deadline (rounded up to the millisecond, so Redis never drops a live entry), lets Redis free
//! the key; it runs on Redis's clock, which cannot be injected. A TTL of `Duration::MAX` stores
//! the key without an expiry (`SET` alone; likewise for TTLs beyond a century, which Redis's
//! millisecond arithmetic cannot take). A TTL under a millisecond is live only at the instant it
//! was set (the contract): the adapter deletes the key instead (`DEL`), so no older value of it
//! survives either.
//!
//! # Bare values: as a deployment stores them
//!
//! [`RedisCache::with_bare_values`] stores what a service using Redis stores: the value's
//! bytes alone, `SET key value PX ms`, with the TTL rounded *down* to the millisecond; `get_ex`
//! returns what Redis returns. Redis's expiry is then the only one: it runs on the server's
//! clock from when the server received the command, not on the injected clock, so such a
//! cache is for the real clock only (the conformance suite's hand-moved clock needs the
//! deadline). The report measures Redis this way, so that its bytes per key are Redis's; the
//! deadline costs 8 bytes more per value, which may move the string into a larger allocation
//! class.
//!
//! # When expired entries leave memory
//!
//! When Redis reclaims them, on its own: lazily when a key is read, and in its active expiry
//! cycle, which samples keys with a TTL about ten times a second and keeps going while more than
//! about a tenth of the sample is stale. `get_ex` of an expired entry leaves it to Redis (it
//! does not `DEL` it): the report measures Redis's own reclamation.
//! [`maintain`](cache_core::ExpiringCache::maintain) does nothing.
//!
//! # Resident count, capacity, errors
//!
//! [`resident_len`](cache_core::ExpiringCache::resident_len) is `DBSIZE`: every key of the
//! connection's database, expired ones not yet reclaimed included — give the cache a database
//! of its own. No capacity is enforced: Redis bounds memory with `maxmemory`, not a count, and
//! the adapter sets none. The contract has no error channel, so a failed command is a miss for
//! `get_ex` and a dropped write for `set_ex`; every failure is counted ([`RedisCache::errors`],
//! the first one kept: [`RedisCache::first_error`]) and the connection it happened on is
//! dropped (a new one is opened on the next call).
//!
//! # Timeouts
//!
//! Every connect, write and read has a timeout ([`DEFAULT_TIMEOUT`], or the one given to
//! [`RedisCache::connect_with`]): a server that accepts connections and never answers ends the
//! call with a counted failure, not a hang. (A reply is read by the `redis` crate, which
//! buffers it as it arrives, with no bound on its size.)
//!
//! # Threads
//!
//! The cache keeps a pool of connections: a call takes an idle one, or opens one, and gives it
//! back after its round trip, so threads sharing the cache do not queue behind one connection.
//! The pool grows to the number of calls in flight at once.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

mod server;

pub use server::LocalRedis;

use crate::failures::Failures;
use ::redis::{Client, Cmd, Connection, FromRedisValue, RedisResult, ToRedisArgs, Value};
use cache_core::{Clock, Deadline, ExpiringCache, SystemClock, Timestamp, deadline, is_live};

/// How long one call to the server (connect, a write, a read) may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest expiry handed to Redis; longer TTLs are stored without one (our deadline still
/// decides `get_ex`).
const LONGEST_PX: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Redis, as an expiring cache of `K` → `V`.
pub struct RedisCache<K, V, C: Clock = SystemClock> {
    client: Client,
    /// Open connections not in use: a call takes one (or opens one), so threads do not wait
    /// for each other's round trips.
    idle: Mutex<Vec<Connection>>,
    clock: C,
    timeout: Duration,
    failures: Failures,
    /// Whether values are stored bare, as deployments store them (see the module docs).
    bare: bool,
    _types: PhantomData<fn(K) -> V>,
}

impl<K, V> RedisCache<K, V, SystemClock> {
    /// A cache on the server at `url` (`redis://127.0.0.1:6379/0`), on the real clock.
    pub fn connect(url: &str) -> RedisResult<Self> {
        Self::connect_with_clock(url, SystemClock::new())
    }
}

impl<K, V, C: Clock> RedisCache<K, V, C> {
    /// A cache on the server at `url`, on `clock`, with [`DEFAULT_TIMEOUT`]. Fails if the server
    /// cannot be reached now.
    pub fn connect_with_clock(url: &str, clock: C) -> RedisResult<Self> {
        Self::connect_with(url, clock, DEFAULT_TIMEOUT)
    }

    /// A cache on the server at `url`, on `clock`, each connect, write and read bounded by
    /// `timeout` (not zero). Fails if the server cannot be reached now.
    pub fn connect_with(url: &str, clock: C, timeout: Duration) -> RedisResult<Self> {
        let client = Client::open(url)?;
        let conn = open(&client, timeout)?;
        Ok(RedisCache {
            client,
            idle: Mutex::new(vec![conn]),
            clock,
            timeout,
            failures: Failures::default(),
            bare: false,
            _types: PhantomData,
        })
    }

    /// The same cache, storing each value bare — its bytes alone, with Redis's own expiry the
    /// only one, on the server's clock — as a service using Redis stores it (see the module
    /// docs). For the real clock only.
    pub fn with_bare_values(mut self) -> Self {
        self.bare = true;
        self
    }

    /// Commands that failed so far (a failed `get_ex` was answered with a miss, a failed `set_ex`
    /// dropped its write).
    pub fn errors(&self) -> u64 {
        self.failures.count()
    }

    /// The first failure, in words (`None` if nothing failed).
    pub fn first_error(&self) -> Option<String> {
        self.failures.first()
    }

    /// Counts `n` failures, keeping the first one's description.
    fn failed(&self, n: u64, what: impl FnOnce() -> String) {
        self.failures.add(n, what);
    }

    /// Deletes every key of the connection's database (`FLUSHDB`): for a database the cache has
    /// to itself, which a measurement wants empty at the start.
    pub fn flush_db(&self) -> RedisResult<()> {
        self.direct(&::redis::cmd("FLUSHDB"))
    }

    /// The server's memory now, from `INFO memory`, and its connections' memory from `CLIENT
    /// LIST TYPE normal` right after (each connection's `tot-mem`, computed when asked; `INFO`'s
    /// own `mem_clients_normal` is brought up to date only by the server's cron, so a new
    /// connection can be missing from it for a while).
    pub fn server_memory(&self) -> RedisResult<ServerMemory> {
        let info: String = self.direct(::redis::cmd("INFO").arg("memory"))?;
        let clients: String =
            self.direct(::redis::cmd("CLIENT").arg(&["LIST", "TYPE", "normal"]))?;
        let parse_error =
            |what: &'static str| ::redis::RedisError::from((::redis::ErrorKind::Parse, what));
        let mut memory = ServerMemory::parse(&info).ok_or_else(|| {
            parse_error("INFO memory without used_memory, used_memory_rss or mem_allocator")
        })?;
        memory.clients =
            clients_memory(&clients).ok_or_else(|| parse_error("CLIENT LIST without tot-mem"))?;
        Ok(memory)
    }

    /// The server's memory once it has settled: read every 100 ms until four reads in a row
    /// agree on [`ServerMemory::data`] (at most 4 s). Redis resizes its tables incrementally
    /// and finishes in its cron, ten times a second, so a read right after a fill can catch
    /// both the old and the new table; and the cron finishes one table per tick, the keys'
    /// first and their expiry times' at the next, so two reads that agree can both fall between
    /// those ticks (seen: 20 000 keys measured one 16 384-slot table, 131 072 bytes, too high).
    pub fn settled_memory(&self) -> RedisResult<ServerMemory> {
        let mut last = self.server_memory()?;
        let mut agreeing = 0;
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.server_memory()?;
            agreeing = if now.data() == last.data() {
                agreeing + 1
            } else {
                0
            };
            last = now;
            if agreeing == 3 {
                break;
            }
        }
        Ok(last)
    }

    /// Runs `cmd` on an idle connection, or a new one, and returns its error instead of
    /// counting it.
    fn direct<T: FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        self.on_connection(|c| cmd.query(c))
    }

    /// Runs `f` on an idle connection, or a new one. The connection goes back to the idle ones
    /// if `f` succeeded and is dropped otherwise (a new one is opened next time).
    fn on_connection<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> RedisResult<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match idle {
            Some(c) => c,
            None => open(&self.client, self.timeout)?,
        };
        let answer = f(&mut conn)?;
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        Ok(answer)
    }

    /// The command that stores `value` under `key` for `ttl`: `SET key value PX ms`, `SET key
    /// value` for no expiry, `DEL key` for a TTL under 1 ms; `None` (counted as a failure) if
    /// the value is not one Redis argument.
    fn set_command(&self, key: &K, value: &V, ttl: Duration) -> Option<Cmd>
    where
        K: ToRedisArgs,
        V: ToRedisArgs,
    {
        if ttl < Duration::from_millis(1) {
            let mut del = ::redis::cmd("DEL");
            del.arg(key);
            return Some(del);
        }
        let stored = if self.bare {
            one_arg(value)
        } else {
            encode(deadline(self.clock.now(), ttl), value)
        };
        let Some(stored) = stored else {
            self.failed(1, || "a value that is not one Redis argument".to_owned());
            return None;
        };
        let mut set = ::redis::cmd("SET");
        set.arg(key).arg(stored);
        if ttl <= LONGEST_PX {
            // Bare: Redis's expiry is the only one, so it must not outlive our deadline.
            let ms = if self.bare { px_down(ttl) } else { px(ttl) };
            set.arg("PX").arg(ms);
        }
        Some(set)
    }

    /// [`direct`](Self::direct), counting a failure and returning `None` for it. The command was
    /// built (the key's and value's `ToRedisArgs` ran) before, and the answer is decoded into
    /// `V` after, so the user's code never runs while a lock is held.
    fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Option<T> {
        match self.direct(cmd) {
            Ok(answer) => Some(answer),
            Err(e) => {
                self.failed(1, || command_failed(cmd, &e, self.timeout));
                None
            }
        }
    }

    /// Runs a command that answers with a number, e.g. `DBSIZE`.
    fn number(&self, name: &str) -> Option<u64> {
        self.query(&::redis::cmd(name))
    }
}

/// A new connection, every call on it bounded by `timeout`.
fn open(client: &Client, timeout: Duration) -> RedisResult<Connection> {
    let conn = client.get_connection_with_timeout(timeout)?;
    conn.set_read_timeout(Some(timeout))?;
    conn.set_write_timeout(Some(timeout))?;
    Ok(conn)
}

/// Why a call failed, in words: a timeout says so, with the timeout (the operating system's
/// own words for it are "Resource temporarily unavailable").
pub fn error_text(e: &::redis::RedisError, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("no answer within {timeout:?}")
    } else {
        e.to_string()
    }
}

/// "GET: no answer within 1s": the command's name (never its arguments, which may be large)
/// and why.
fn command_failed(cmd: &Cmd, e: &::redis::RedisError, timeout: Duration) -> String {
    let name = cmd
        .args_iter()
        .next()
        .and_then(|a| match a {
            ::redis::Arg::Simple(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .unwrap_or_else(|| "a command".to_owned());
    format!("{name}: {}", error_text(e, timeout))
}

/// A server's memory, from `INFO memory`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerMemory {
    /// `used_memory`: bytes the server's allocator holds for it, data and overhead.
    pub used_memory: u64,
    /// `used_memory_rss`: the server process's resident set, as the operating system sees it.
    pub used_memory_rss: u64,
    /// The part of `used_memory` that is the normal connections' (their structures and
    /// buffers: a pipelined batch's commands wait in one until they run), from `CLIENT LIST`.
    pub clients: u64,
    /// `mem_allocator`: the allocator the server was built with (`jemalloc-5.3.0`).
    pub allocator: String,
}

impl ServerMemory {
    /// `used_memory` without the connections' buffers: what the data costs.
    pub fn data(&self) -> u64 {
        self.used_memory.saturating_sub(self.clients)
    }

    fn parse(info: &str) -> Option<ServerMemory> {
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.trim_end().strip_prefix(name)?.strip_prefix(':'))
        };
        Some(ServerMemory {
            used_memory: field("used_memory")?.parse().ok()?,
            used_memory_rss: field("used_memory_rss")?.parse().ok()?,
            clients: 0,
            allocator: field("mem_allocator")?.to_owned(),
        })
    }
}

/// The sum of `tot-mem` over the lines of `CLIENT LIST`.
fn clients_memory(list: &str) -> Option<u64> {
    list.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .find_map(|f| f.strip_prefix("tot-mem="))?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// Redis's expiry for `ttl`: whole milliseconds, rounded up, so Redis never frees a key before
/// our deadline (called only for `1 ms <= ttl <= LONGEST_PX`).
fn px(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// Redis's expiry for `ttl` when it is the only one: whole milliseconds, rounded down, so
/// Redis never serves a value after our deadline (called only for `1 ms <= ttl`).
fn px_down(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)
}

/// The bytes of the value's one Redis argument (`None` if it is not one).
fn one_arg<V: ToRedisArgs>(value: &V) -> Option<Vec<u8>> {
    let mut args = value.to_redis_args();
    if args.len() != 1 {
        return None;
    }
    args.pop()
}

/// The stored string: the deadline, then the value's one argument's bytes.
fn encode<V: ToRedisArgs>(deadline: Deadline, value: &V) -> Option<Vec<u8>> {
    let mut out = deadline.timestamp().as_nanos().to_be_bytes().to_vec();
    out.append(&mut one_arg(value)?);
    Some(out)
}

/// The deadline and the value from a stored string, whose bytes become the value's in place.
fn decode<V: FromRedisValue>(mut stored: Vec<u8>) -> Option<(Deadline, V)> {
    let dl = Deadline::at(Timestamp::from_nanos(u64::from_be_bytes(
        stored.get(..8)?.try_into().ok()?,
    )));
    stored.drain(..8);
    let value = V::from_redis_value(Value::BulkString(stored)).ok()?;
    Some((dl, value))
}

impl<K, V, C> ExpiringCache<K, V> for RedisCache<K, V, C>
where
    K: ToRedisArgs + Send + Sync,
    V: ToRedisArgs + FromRedisValue + Send + Sync,
    C: Clock,
{
    /// `GET`: a miss when the key is absent or its stored deadline has passed on our clock (bare
    /// values: when Redis has none).
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = self.clock.now();
        let stored: Option<Vec<u8>> = self.query(::redis::cmd("GET").arg(key))?;
        if self.bare {
            // Redis's expiry is the only one: what it returns is live.
            let value = V::from_redis_value(Value::BulkString(stored?));
            if value.is_err() {
                self.failed(1, || "GET: a stored value that is not a value".to_owned());
            }
            return value.ok();
        }
        let (dl, value) = match decode::<V>(stored?) {
            Some(found) => found,
            None => {
                self.failed(1, || {
                    "GET: a stored value this cache did not write".to_owned()
                });
                return None;
            }
        };
        is_live(dl, now).then_some(value)
    }

    /// `SET key value PX ms`, `SET key value` for no expiry, `DEL key` for a TTL under 1 ms.
    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        if let Some(cmd) = self.set_command(&key, &value, ttl) {
            let _: Option<()> = self.query(&cmd);
        }
    }

    /// The same commands as [`set_ex`](Self::set_ex), in order, in one pipeline: one round
    /// trip for the batch. A failed batch counts one failure per command.
    fn set_ex_many(&self, entries: Vec<(K, V, Duration)>) {
        let mut pipe = ::redis::pipe();
        for (key, value, ttl) in &entries {
            if let Some(cmd) = self.set_command(key, value, *ttl) {
                pipe.add_command(cmd).ignore();
            }
        }
        let commands = pipe.cmd_iter().count() as u64;
        if commands > 0
            && let Err(e) = self.on_connection(|c| pipe.query::<()>(c))
        {
            self.failed(commands, || {
                format!(
                    "a pipeline of {commands} sets: {}",
                    error_text(&e, self.timeout)
                )
            });
        }
    }

    /// `DBSIZE`: every key of the database, expired ones not yet reclaimed included.
    fn resident_len(&self) -> usize {
        self.number("DBSIZE").unwrap_or(0) as usize
    }

    /// Nothing: Redis reclaims expired keys on its own (lazily on access, and in its active
    /// expiry cycle).
    fn maintain(&self) {}
}

impl<K, V, C: Clock> fmt::Debug for RedisCache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("errors", &self.errors())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_string_is_the_deadline_then_the_value() {
        let at = Deadline::at(Timestamp::from_nanos(258));
        let stored = encode(at, &"v".to_owned()).unwrap();
        assert_eq!(stored, [0, 0, 0, 0, 0, 0, 1, 2, b'v']);
        assert_eq!(decode::<String>(stored), Some((at, "v".to_owned())));
        assert_eq!(
            decode::<u64>(vec![0, 1, 2]),
            None,
            "too short for a deadline"
        );
        let n = encode(Deadline::NEVER, &42u64).unwrap();
        assert_eq!(decode::<u64>(n), Some((Deadline::NEVER, 42)));
    }

    #[test]
    fn info_memory_and_client_list_are_read_field_by_field() {
        let info = "# Memory\r\nused_memory:1016496\r\nused_memory_human:992.67K\r\n\
                    used_memory_rss:7626752\r\nused_memory_rss_human:7.27M\r\n\
                    mem_clients_normal:0\r\nmem_allocator:jemalloc-5.3.0\r\n";
        let mut m = ServerMemory::parse(info).unwrap();
        assert_eq!(
            m,
            ServerMemory {
                used_memory: 1_016_496,
                used_memory_rss: 7_626_752,
                clients: 0,
                allocator: "jemalloc-5.3.0".to_owned(),
            }
        );
        assert_eq!(ServerMemory::parse("used_memory:12\r\n"), None);
        let list = "id=3 addr=127.0.0.1:50194 fd=8 qbuf=48 omem=0 tot-mem=37684 events=r\n\
                    id=4 addr=127.0.0.1:50196 fd=9 qbuf=0 omem=0 tot-mem=22400 events=r\n";
        m.clients = clients_memory(list).unwrap();
        assert_eq!(m.data(), 1_016_496 - 37_684 - 22_400);
        assert_eq!(
            clients_memory("id=3 addr=x\n"),
            None,
            "a line without tot-mem"
        );
        assert_eq!(clients_memory(""), Some(0));
    }

    #[test]
    fn redis_expiry_is_rounded_up_to_the_millisecond() {
        assert_eq!(px(Duration::from_millis(1)), 1);
        assert_eq!(px(Duration::from_nanos(1_000_001)), 2);
        assert_eq!(px(Duration::from_micros(2_999)), 3);
        assert_eq!(px(Duration::from_secs(3600)), 3_600_000);
        assert_eq!(px(LONGEST_PX), LONGEST_PX.as_millis() as u64);
    }
}
