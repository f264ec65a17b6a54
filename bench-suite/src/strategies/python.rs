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

use std::fmt;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::marker::PhantomData;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use cache_core::{Clock, ExpiringCache};

use super::types::Wire;

/// The Python module: the cache and its driver.
pub const SOURCE: &str = include_str!("../../python/article_cache.py");

/// The interpreter run: `python3` on `PATH`.
pub const PYTHON: &str = "python3";

/// One `python3` process serving one cache.
struct Driver {
    child: Child,
    requests: BufWriter<ChildStdin>,
    replies: BufReader<ChildStdout>,
    line: String,
}

impl Driver {
    /// Starts the interpreter on [`SOURCE`] (`-I`: no user site, no `PYTHON*` variables) and
    /// reads its `ready` line: the Python version.
    fn start() -> Result<(Driver, String), String> {
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
        let mut d = Driver {
            child,
            requests: BufWriter::with_capacity(1 << 16, stdin),
            replies: BufReader::new(stdout),
            line: String::new(),
        };
        let ready = d.reply()?;
        let version = ready
            .strip_prefix("ready ")
            .ok_or_else(|| format!("{PYTHON} did not start the cache: {ready:?}"))?
            .to_owned();
        Ok((d, version))
    }

    fn send(&mut self, request: &str) -> Result<(), String> {
        self.requests
            .write_all(request.as_bytes())
            .and_then(|()| self.requests.write_all(b"\n"))
            .map_err(|e| format!("{PYTHON} stopped reading: {e}"))
    }

    /// The next reply line, after sending what is buffered.
    fn reply(&mut self) -> Result<String, String> {
        self.requests
            .flush()
            .map_err(|e| format!("{PYTHON} stopped reading: {e}"))?;
        self.line.clear();
        match self.replies.read_line(&mut self.line) {
            Ok(0) => Err(format!("{PYTHON} ended (its message, if any, is above)")),
            Ok(_) => Ok(self.line.trim_end_matches('\n').to_owned()),
            Err(e) => Err(format!("{PYTHON}: unreadable reply: {e}")),
        }
    }

    fn ask(&mut self, request: &str) -> Result<String, String> {
        self.send(request)?;
        self.reply()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // End of input ends the driver's loop; a driver that does not end is killed.
        let _ = self.requests.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// What has failed so far.
#[derive(Debug, Default)]
struct Failures {
    count: u64,
    first: Option<String>,
}

/// The article's `LocalCache` in a `python3` process, behind the contract, on `clock`.
pub struct PythonCache<K, V, C: Clock> {
    maxlen: usize,
    clock: C,
    version: String,
    driver: Mutex<Option<Driver>>,
    failures: Mutex<Failures>,
    types: PhantomData<fn(K, V) -> V>,
}

impl<K: Wire, V: Wire, C: Clock> PythonCache<K, V, C> {
    /// Starts a `python3` process holding an empty cache of `maxlen` entries on `clock`;
    /// `Err` says why it could not (no `python3`, or it did not start the module).
    pub fn start(maxlen: usize, clock: C) -> Result<Self, String> {
        let (mut d, version) = Driver::start()?;
        let ok = d.ask(&format!("N\t{maxlen}\t{}\t{}", K::PYTHON, V::PYTHON))?;
        if ok != "ok" {
            return Err(format!("{PYTHON} did not build the cache: {ok:?}"));
        }
        Ok(PythonCache {
            maxlen,
            clock,
            version,
            driver: Mutex::new(Some(d)),
            failures: Mutex::new(Failures::default()),
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
        self.failed().count
    }

    /// The first failure, in words.
    pub fn first_failure(&self) -> Option<String> {
        self.failed().first.clone()
    }

    fn failed(&self) -> std::sync::MutexGuard<'_, Failures> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn fail(&self, why: String) {
        let mut f = self.failed();
        f.count += 1;
        f.first.get_or_insert(why);
    }

    /// Runs `f` on the driver; a failure is counted, and a driver that failed is dropped
    /// (every later request fails at once).
    fn with<T>(&self, f: impl FnOnce(&mut Driver) -> Result<T, String>) -> Option<T> {
        let mut guard = self
            .driver
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let result = match guard.as_mut() {
            Some(d) => f(d),
            None => Err(format!("{PYTHON} failed before")),
        };
        match result {
            Ok(x) => Some(x),
            Err(why) => {
                if why.starts_with("a key or value") {
                    self.fail(why);
                } else {
                    *guard = None;
                    drop(guard);
                    self.fail(why);
                }
                None
            }
        }
    }

    /// A question whose answer is one number.
    fn number(&self, request: &str) -> Option<u64> {
        self.with(|d| {
            let reply = d.ask(request)?;
            reply
                .parse()
                .map_err(|_| format!("{PYTHON} answered {reply:?} to {request:?}"))
        })
    }

    /// Keys in the weak dictionary (`len(cache.weak)`).
    pub fn weak_len(&self) -> Option<u64> {
        self.with(|d| lens(&d.ask("L")?)).map(|(_, weak)| weak)
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
        self.number("B")
    }

    /// The median time of one `get_ex(key)` measured inside Python (15 rounds of `n` calls).
    pub fn get_median_ns(&self, key: &K, n: u32) -> Option<u64> {
        let now = self.clock.now().as_nanos();
        let key = field(key).map_err(|e| self.fail(e)).ok()?;
        self.number(&format!("P\t{now}\t{key}\t{n}"))
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
        let now = self.clock.now().as_nanos();
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
        let now = self.clock.now().as_nanos();
        let request = field(&key).and_then(|k| {
            let v = field(&value)?;
            Ok(format!("S\t{now}\t{}\t{k}\t{v}", ttl.as_nanos()))
        });
        match request {
            Ok(r) => {
                self.with(|d| d.send(&r));
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

#[cfg(test)]
mod tests;
