//! The article's cache in CPython: [`PythonCache`] drives `python/article_cache.py` (the design
//! written in Python, carried inside this program) in a `python3` process of its own, one
//! request per line over its stdin and stdout.
//!
//! Each cache is a process: built with `maxlen`, keys and values kept as Python `str` or `int`
//! (as the measurements' types are: `String` and the retention harness's values as `str`,
//! `u64` as `int`). Its clock is this side's, passed with every request, so the Python cache
//! runs on the hand-moved clock like the Rust port. Sets are written without waiting for a
//! reply (the pipe buffers them); a get, or any question, waits for its answer.
//!
//! A request that fails (the process died, a key holding a tab or a line break, which the
//! line protocol cannot carry) is a miss or a dropped write, counted in [`PythonCache::failures`]
//! with the first one's reason in words.
//!
//! The `python` strategy (`strategy()`) builds one such process per cache with `tracemalloc`
//! started before the cache is made: its memory is Python's own count of the bytes its
//! allocators hand out, read from every live cache of the strategy (its [`External`] side),
//! with the processes' resident sets beside it. A worker runs its own interpreter, so the
//! article's scenario counts a cache per worker, as for an in-process cache.

use std::fmt;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::marker::PhantomData;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::time::{Duration, Instant};

use cache_core::{Clock, ExpiringCache, Timestamp};

use super::server::Failures;
use super::types::Wire;
use super::{BenchClock, Build, External, Key, ServerBytes, Strategy, Value};

/// The Python module: the cache and its driver.
pub const SOURCE: &str = include_str!("../../python/article_cache.py");

/// The interpreter run: `python3` on `PATH`.
pub const PYTHON: &str = "python3";

/// How long one request to the interpreter may wait: to be taken (the pipe full), or for its
/// answer. A stopped or stalled interpreter ends the request with an error after this, as a
/// stalled cache server does after `--redis-timeout`.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The longest reply line read (a get's value, a number): more is an error, not memory.
const LONGEST_REPLY: u64 = 1 << 20;

/// Chunks of requests waiting for the writer thread.
const QUEUED: usize = 16;

/// Requests that need no reply (sets) are sent together once they fill this many bytes, or
/// with the next question.
const CHUNK: usize = 1 << 16;

/// Replies waiting for the caller.
const REPLIES: usize = 4_096;

/// One `python3` process serving one cache. Requests go to its stdin through a writer thread
/// and replies come back through a reader thread, so that no call waits on a pipe for longer
/// than the timeout.
struct Driver {
    child: Child,
    pid: u32,
    requests: Option<SyncSender<String>>,
    /// Sets not yet handed to the writer thread.
    pending: String,
    replies: Receiver<Result<String, String>>,
    timeout: Duration,
}

impl Driver {
    /// Starts the interpreter on [`SOURCE`] (`-I`: no user site, no `PYTHON*` variables) and
    /// reads its `ready` line: the Python version.
    fn start(timeout: Duration) -> Result<(Driver, String), String> {
        let mut child = Command::new(PYTHON)
            .args(["-I", "-c", SOURCE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run {PYTHON}: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(format!("{PYTHON}: no pipes"));
        };
        let (to_writer, queued) = sync_channel::<String>(QUEUED);
        std::thread::spawn(move || {
            let mut stdin = stdin;
            while let Ok(chunk) = queued.recv() {
                if stdin.write_all(chunk.as_bytes()).is_err() {
                    return;
                }
            }
        });
        let (to_caller, replies) = sync_channel(REPLIES);
        std::thread::spawn(move || {
            let mut input = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                let reply = match (&mut input).take(LONGEST_REPLY).read_line(&mut line) {
                    Ok(0) => Err(format!("{PYTHON} ended (its message, if any, is above)")),
                    Ok(_) if !line.ends_with('\n') => Err(format!(
                        "{PYTHON}: a reply longer than {LONGEST_REPLY} bytes"
                    )),
                    Ok(_) => Ok(line.trim_end_matches('\n').to_owned()),
                    Err(e) => Err(format!("{PYTHON}: unreadable reply: {e}")),
                };
                let last = reply.is_err();
                if to_caller.send(reply).is_err() || last {
                    return;
                }
            }
        });
        let mut d = Driver {
            pid: child.id(),
            child,
            requests: Some(to_writer),
            pending: String::new(),
            replies,
            timeout,
        };
        let ready = d.reply()?;
        let version = ready
            .strip_prefix("ready ")
            .ok_or_else(|| format!("{PYTHON} did not start the cache: {ready:?}"))?
            .to_owned();
        Ok((d, version))
    }

    /// Queues `request` (fields separated by tabs; the tab that ends its last field is added).
    /// A question is sent at once, with everything queued before it; a set waits until the
    /// queue holds [`CHUNK`] bytes, so that a stream of sets reaches Python in large writes
    /// and Python reads many at a time instead of waking for each.
    fn send(&mut self, request: fmt::Arguments<'_>, question: bool) -> Result<(), String> {
        let _ = writeln!(self.pending, "{request}\t");
        if question || self.pending.len() >= CHUNK {
            let chunk = std::mem::take(&mut self.pending);
            self.ship(chunk)?;
        }
        Ok(())
    }

    /// Hands `chunk` to the writer thread, waiting at most the timeout for room.
    fn ship(&mut self, mut chunk: String) -> Result<(), String> {
        let Some(requests) = &self.requests else {
            return Err(format!("{PYTHON} stopped reading"));
        };
        // Read the time only once the queue is full: most chunks find room.
        let mut deadline = None;
        loop {
            match requests.try_send(chunk) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Full(back))
                    if Instant::now()
                        < *deadline.get_or_insert_with(|| Instant::now() + self.timeout) =>
                {
                    chunk = back;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(TrySendError::Full(_)) => {
                    return Err(format!(
                        "{PYTHON} took no request for {:?} (stopped or stalled)",
                        self.timeout
                    ));
                }
                Err(TrySendError::Disconnected(_)) => {
                    return Err(format!("{PYTHON} stopped reading"));
                }
            }
        }
    }

    /// The next reply line, within the timeout.
    fn reply(&mut self) -> Result<String, String> {
        match self.replies.recv_timeout(self.timeout) {
            Ok(reply) => reply,
            Err(RecvTimeoutError::Timeout) => Err(format!(
                "{PYTHON} did not answer within {:?} (stopped or stalled)",
                self.timeout
            )),
            Err(RecvTimeoutError::Disconnected) => Err(format!("{PYTHON} ended")),
        }
    }

    fn ask(&mut self, request: &str) -> Result<String, String> {
        self.send(format_args!("{request}"), true)?;
        self.reply()
    }
}

impl Drop for Driver {
    /// Kills the interpreter (its threads here end with its pipes) and reaps it.
    fn drop(&mut self) {
        self.requests = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A time in a request: `ns` nanoseconds as seconds, an exact decimal (`12.000000345`).
struct Secs(u128);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// A field of a request: the text of a key or value, which must not hold the protocol's
/// separators.
fn field<T: Wire>(x: &T) -> Result<String, String> {
    let text = String::from_utf8(x.to_wire()).map_err(|_| "a key or value that is not UTF-8")?;
    if text.contains(['\t', '\n', '\r']) {
        return Err("a key or value holding a tab or a line break".to_owned());
    }
    Ok(text)
}

/// Failures, shared by every cache of a strategy (counted as a server's are).
type SharedFailures = Arc<Failures>;

/// A cache's process, shared with its strategy (which reads its memory); `None` once it failed.
type SharedDriver = Arc<Mutex<Option<Driver>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on `driver`; a failure is counted in `failures`, and a process that failed is
/// dropped (every later request fails at once).
fn with_driver<T>(
    driver: &Mutex<Option<Driver>>,
    failures: &Failures,
    f: impl FnOnce(&mut Driver) -> Result<T, String>,
) -> Option<T> {
    let mut guard = lock(driver);
    let result = match guard.as_mut() {
        Some(d) => f(d),
        None => Err(format!("{PYTHON} failed before")),
    };
    match result {
        Ok(x) => Some(x),
        Err(why) => {
            *guard = None;
            drop(guard);
            failures.add_one(why);
            None
        }
    }
}

/// A question whose answer is one number.
fn number(d: &mut Driver, request: &str) -> Result<u64, String> {
    let reply = d.ask(request)?;
    reply
        .parse()
        .map_err(|_| format!("{PYTHON} answered {reply:?} to {request:?}"))
}

/// The article's `LocalCache` in a `python3` process, behind the contract, on `clock`.
pub struct PythonCache<K, V, C: Clock> {
    maxlen: usize,
    clock: C,
    version: String,
    driver: SharedDriver,
    failures: SharedFailures,
    types: PhantomData<fn(K, V) -> V>,
}

impl<K: Wire, V: Wire, C: Clock> PythonCache<K, V, C> {
    /// Starts a `python3` process holding an empty cache of `maxlen` entries on `clock`;
    /// `Err` says why it could not (no `python3`, or it did not start the module).
    pub fn start(maxlen: usize, clock: C) -> Result<Self, String> {
        Self::start_counted(maxlen, clock, false, SharedFailures::default(), TIMEOUT)
    }

    /// As [`Self::start`], counting failures in `failures`; with `trace`, `tracemalloc` is
    /// started before the cache is made, so that [`Self::traced_bytes`] counts it all; each
    /// request waits at most `timeout` ([`TIMEOUT`] but in tests).
    fn start_counted(
        maxlen: usize,
        clock: C,
        trace: bool,
        failures: SharedFailures,
        timeout: Duration,
    ) -> Result<Self, String> {
        let (mut d, version) = Driver::start(timeout)?;
        if trace && d.ask("T")? != "ok" {
            return Err(format!("{PYTHON} did not start tracemalloc"));
        }
        let ok = d.ask(&format!("N\t{maxlen}\t{}\t{}", K::PYTHON, V::PYTHON))?;
        if ok != "ok" {
            return Err(format!("{PYTHON} did not build the cache: {ok:?}"));
        }
        Ok(PythonCache {
            maxlen,
            clock,
            version,
            driver: Arc::new(Mutex::new(Some(d))),
            failures,
            types: PhantomData,
        })
    }

    /// Empties it and makes it a cache of `maxlen` entries, in the same process.
    pub fn renew(&mut self, maxlen: usize) -> Result<(), String> {
        let request = format!("N\t{maxlen}\t{}\t{}", K::PYTHON, V::PYTHON);
        match self.with(|d| d.ask(&request)).as_deref() {
            Some("ok") => {
                self.maxlen = maxlen;
                Ok(())
            }
            other => Err(format!("{PYTHON} did not build the cache: {other:?}")),
        }
    }

    /// The interpreter's version (`3.11.7`).
    pub fn python_version(&self) -> &str {
        &self.version
    }

    /// Its `maxlen`.
    pub fn maxlen(&self) -> usize {
        self.maxlen
    }

    /// Requests that failed so far.
    pub fn failures(&self) -> u64 {
        self.failures.count()
    }

    /// The first failure, in words.
    pub fn first_failure(&self) -> Option<String> {
        self.failures.first()
    }

    fn fail(&self, why: String) {
        self.failures.add_one(why);
    }

    fn with<T>(&self, f: impl FnOnce(&mut Driver) -> Result<T, String>) -> Option<T> {
        with_driver(&self.driver, &self.failures, f)
    }

    /// Keys in the weak dictionary (`len(cache.weak)`).
    pub fn weak_len(&self) -> Option<u64> {
        self.with(|d| lens(&d.ask("L")?)).map(|(_, weak)| weak)
    }

    /// Entries in the deque not expired at `now`.
    pub fn live_len(&self, now: Timestamp) -> Option<u64> {
        self.with(|d| number(d, &format!("C\t{}", Secs(now.as_nanos().into()))))
    }

    /// Starts `tracemalloc` in the process: from now on [`Self::traced_bytes`] counts.
    pub fn start_tracing(&self) -> bool {
        self.with(|d| match d.ask("T")?.as_str() {
            "ok" => Ok(()),
            other => Err(format!("{PYTHON} did not start tracemalloc: {other:?}")),
        })
        .is_some()
    }

    /// The bytes `tracemalloc` traces now (Python's own count of its live allocations).
    pub fn traced_bytes(&self) -> Option<u64> {
        self.with(|d| number(d, "B"))
    }

    /// The median time of one `get_ex(key)` measured inside Python (15 rounds of `n` calls).
    pub fn get_median_ns(&self, key: &K, n: u32) -> Option<u64> {
        let now = Secs(self.clock.now().as_nanos().into());
        let key = field(key).map_err(|e| self.fail(e)).ok()?;
        self.with(|d| number(d, &format!("P\t{now}\t{key}\t{n}")))
    }
}

/// `L`'s answer: entries in the deque, keys in the weak dictionary.
fn lens(reply: &str) -> Result<(u64, u64), String> {
    let parsed = reply
        .split_once('\t')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
    parsed.ok_or_else(|| format!("{PYTHON} answered {reply:?} to L"))
}

impl<K, V, C> ExpiringCache<K, V> for PythonCache<K, V, C>
where
    K: Wire + Send + Sync,
    V: Wire + Send + Sync,
    C: Clock,
{
    /// `cache.get_ex(key)` in Python, at this clock's time.
    fn get_ex(&self, key: &K) -> Option<V> {
        let now = Secs(self.clock.now().as_nanos().into());
        let key = field(key).map_err(|e| self.fail(e)).ok()?;
        let reply = self.with(|d| d.ask(&format!("G\t{now}\t{key}")))?;
        match reply.strip_prefix("H\t") {
            Some(text) => V::from_wire(text.as_bytes().to_vec()).or_else(|| {
                self.fail(format!("{PYTHON} returned {text:?}, not a value"));
                None
            }),
            None if reply == "M" => None,
            None => {
                self.fail(format!("{PYTHON} answered {reply:?} to a get"));
                None
            }
        }
    }

    /// `cache.set_ex(key, value, ttl)` in Python, at this clock's time, the TTL in whole
    /// nanoseconds (`Duration::MAX` included: Python's integers have no bound).
    fn set_ex(&self, key: K, value: V, ttl: Duration) {
        let now = Secs(self.clock.now().as_nanos().into());
        let ttl = Secs(ttl.as_nanos());
        match field(&key).and_then(|k| Ok((k, field(&value)?))) {
            Ok((k, v)) => {
                self.with(|d| d.send(format_args!("S\t{now}\t{ttl}\t{k}\t{v}"), false));
            }
            Err(why) => self.fail(why),
        }
    }

    /// The entries in memory: the deque's length (`len(cache.strong)`); 0 once the process
    /// failed.
    fn resident_len(&self) -> usize {
        self.with(|d| lens(&d.ask("L")?))
            .map_or(0, |(deque, _)| deque as usize)
    }

    /// Nothing: in this design nothing frees an entry early.
    fn maintain(&self) {}
}

impl<K, V, C: Clock> fmt::Debug for PythonCache<K, V, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PythonCache")
            .field("maxlen", &self.maxlen)
            .field("python", &self.version)
            .finish_non_exhaustive()
    }
}

/// The `python` strategy: the article's cache itself, a `python3` process per cache.
pub(super) fn strategy() -> Strategy {
    let processes = Arc::new(Processes::default());
    Strategy::new(
        "python",
        "the article's LocalCache itself in CPython (bench-suite/python/article_cache.py), a \
         python3 process per cache driven over a pipe; memory by Python's tracemalloc",
        PythonBuild(Arc::clone(&processes)),
    )
    .external_memory(PythonProcesses(processes))
    .same_design_as("weakfifo", "ttlfifo")
}

/// What the strategy knows of its caches: each one's process (to read its memory), the
/// failures over all of them, and the interpreter's version, found on first use.
#[derive(Default)]
struct Processes {
    caches: Mutex<Vec<Weak<Mutex<Option<Driver>>>>>,
    failures: SharedFailures,
    version: OnceLock<Result<String, String>>,
}

impl Processes {
    fn version(&self) -> Result<String, String> {
        self.version
            .get_or_init(|| Driver::start(TIMEOUT).map(|(_, v)| v))
            .clone()
    }

    /// The processes of the caches alive now, oldest first.
    fn live(&self) -> Vec<SharedDriver> {
        let mut caches = lock(&self.caches);
        caches.retain(|w| w.strong_count() > 0);
        caches.iter().filter_map(Weak::upgrade).collect()
    }
}

/// The strategy's builder: a [`PythonCache`] with `tracemalloc` started, in a new process.
struct PythonBuild(Arc<Processes>);

impl Build for PythonBuild {
    fn build<K: Key, V: Value, C: BenchClock>(
        &self,
        capacity: usize,
        clock: C,
    ) -> Box<dyn ExpiringCache<K, V>> {
        let failures = Arc::clone(&self.0.failures);
        let started = PythonCache::start_counted(
            capacity,
            clock.clone(),
            true,
            Arc::clone(&failures),
            TIMEOUT,
        );
        match started {
            Ok(cache) => {
                lock(&self.0.caches).push(Arc::downgrade(&cache.driver));
                Box::new(cache)
            }
            Err(why) => {
                failures.add_one(why);
                Box::new(PythonCache {
                    maxlen: capacity,
                    clock,
                    version: String::new(),
                    driver: Arc::new(Mutex::new(None)),
                    failures,
                    types: PhantomData,
                })
            }
        }
    }
}

/// The strategy's processes, as the measurements see them.
struct PythonProcesses(Arc<Processes>);

impl External for PythonProcesses {
    fn ready(&self) -> Result<(), String> {
        self.0
            .version()
            .map(|_| ())
            .map_err(|e| format!("{e}; install Python 3 to measure the article's own cache"))
    }

    fn counted_by(&self) -> Result<String, String> {
        Ok(format!(
            "CPython {}'s tracemalloc: the bytes Python's allocators hand out, traced from \
             before the cache was made",
            self.0.version()?
        ))
    }

    /// The traced bytes of every cache of the strategy alive now, and their processes'
    /// resident sets.
    fn memory(&self, _settled: bool) -> Result<ServerBytes, String> {
        let (mut data, mut rss) = (0, Some(0));
        for driver in self.0.live() {
            let pid = lock(&driver).as_ref().map(|d| d.pid);
            data += with_driver(&driver, &self.0.failures, |d| number(d, "B"))
                .ok_or_else(|| format!("{PYTHON}: tracemalloc's count could not be read"))?;
            rss = rss
                .zip(pid.and_then(super::server::resident_set))
                .map(|(a, b)| a + b);
        }
        Ok(ServerBytes { data, rss })
    }

    fn failures(&self) -> u64 {
        self.0.failures.count()
    }

    fn first_failure(&self) -> Option<String> {
        self.0.failures.first()
    }

    fn child_env(&self) -> Vec<(String, String)> {
        Vec::new()
    }

    fn shared_by_workers(&self) -> bool {
        false
    }

    fn live_entries(&self, now: Timestamp) -> Option<u64> {
        let newest = self.0.live().pop()?;
        with_driver(&newest, &self.0.failures, |d| {
            number(d, &format!("C\t{}", Secs(now.as_nanos().into())))
        })
    }

    fn hit_ns_inside(&self, key: &[u8]) -> Option<Result<f64, String>> {
        let Some(newest) = self.0.live().pop() else {
            return Some(Err(format!("{PYTHON}: no cache to time")));
        };
        let key = String::from_utf8_lossy(key).into_owned();
        Some(
            with_driver(&newest, &self.0.failures, |d| {
                number(d, &format!("P\t0.0\t{key}\t{HIT_CALLS}"))
            })
            .map(|ns| ns as f64)
            .ok_or_else(|| format!("{PYTHON}: the hit could not be timed")),
        )
    }
}

/// `get_ex` calls in each of the 15 rounds a hit is timed with, inside Python.
const HIT_CALLS: u32 = 20_000;

#[cfg(test)]
mod tests;
