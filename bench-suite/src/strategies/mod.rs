//! The strategy registry: everything the report, the plan and the benches know about a
//! strategy, in one place.
//!
//! A [`Strategy`] is a name, a builder ([`Build`]) that makes the cache for any of the
//! workspace's key and value types on either clock, and its traits: whether it is bounded,
//! whether its reclamation of expired entries follows the injected clock or runs on real time,
//! where its memory lives, and a one-line note for the report. A [`Registry`] is an ordered list
//! of strategies; [`Registry::ours`] holds the workspace's own (see `builtin.rs`), and a cache
//! author adds theirs with [`Registry::with`]. Nothing outside this module names a strategy: the
//! measurements, the report's prose, the plan and the benches read the traits.

mod baseline;
mod builtin;
#[cfg(test)]
pub(crate) mod failing;
mod memcached;
pub mod python;
mod redis;
mod server;
mod types;

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use cache_core::{ExpiringCache, ManualClock, SystemClock};
use serde::{Serialize, Serializer};

pub use baseline::HashMapBaseline;
pub use builtin::fixed_hasher;
pub use types::{BenchClock, Key, Value, Wire};

use crate::values::{Held, TrackedValue};

/// The footprint table's row of the payload alone: a name no strategy may take.
pub const FLOOR: &str = "payload_floor";
/// The trace tables' row of Bélády's optimum: a name no strategy may take.
pub const OPT: &str = "opt";
/// The trace tables' row of the compulsory-miss bound: a name no strategy may take.
pub const BOUND: &str = "compulsory_bound";

/// The palette slot of a chart series named `name`, the same in every chart of a run: the
/// floor, `opt` and the compulsory bound first, then the built-in strategies in the registry's
/// order; any other name (a user's cache) a slot after those, picked from its name (two such
/// names may meet, and then [`crate::svg`] moves the later one of a chart to a free slot).
pub fn chart_slot(name: &str) -> usize {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| {
        [FLOOR, OPT, BOUND]
            .into_iter()
            .chain(builtin::all().iter().map(Strategy::name))
            .collect()
    });
    names.iter().position(|n| *n == name).unwrap_or_else(|| {
        // FNV-1a: stable from run to run and build to build, unlike the std hasher.
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        names.len() + (h % 16) as usize
    })
}

/// A chart series for the strategy (or the floor, `opt`, the bound) `name`, in its own style
/// ([`chart_slot`]).
pub fn series(name: &str, points: Vec<(f64, f64)>) -> crate::svg::Series {
    crate::svg::Series {
        slot: Some(chart_slot(name)),
        ..crate::svg::Series::new(name, points)
    }
}

/// How to build a strategy's cache: for any [`Key`], [`Value`] and [`BenchClock`], with room
/// for `capacity` entries (an unbounded strategy ignores it).
///
/// ```
/// use cache_core::ExpiringCache;
/// use bench_suite::strategies::{BenchClock, Build, Key, Value};
/// use cache_weakfifo::TtlFifoCache;
///
/// struct Fifo;
///
/// impl Build for Fifo {
///     fn build<K: Key, V: Value, C: BenchClock>(&self, capacity: usize, clock: C)
///         -> Box<dyn ExpiringCache<K, V>> {
///         Box::new(TtlFifoCache::with_clock(capacity, clock))
///     }
/// }
/// ```
pub trait Build: Send + Sync + 'static {
    /// The cache, empty, on `clock`.
    fn build<K: Key, V: Value, C: BenchClock>(
        &self,
        capacity: usize,
        clock: C,
    ) -> Box<dyn ExpiringCache<K, V>>;
}

/// [`Build`] behind a vtable: `build` is generic, so the registry keeps this object-safe form,
/// which instantiates it for every key, value and clock type the measurements use (the list
/// below) and picks one by `TypeId`.
trait ErasedBuild: Send + Sync {
    fn build_any(&self, capacity: usize, clock: Box<dyn Any>, want: TypeId) -> Box<dyn Any>;
}

impl<T: Build> ErasedBuild for T {
    fn build_any(&self, capacity: usize, clock: Box<dyn Any>, want: TypeId) -> Box<dyn Any> {
        macro_rules! each_type {
            ($(($k:ty, $v:ty, $c:ty)),* $(,)?) => {$(
                if want == TypeId::of::<($k, $v, $c)>() {
                    let clock = *clock.downcast::<$c>().expect("the clock matches its TypeId");
                    return Box::new(self.build::<$k, $v, $c>(capacity, clock));
                }
            )*};
        }
        each_type!(
            (String, String, ManualClock),
            (String, String, SystemClock),
            (String, u64, ManualClock),
            (String, u64, SystemClock),
            (String, TrackedValue, ManualClock),
            (String, TrackedValue, SystemClock),
            (String, Held, ManualClock),
            (String, Held, SystemClock),
            (u64, String, ManualClock),
            (u64, String, SystemClock),
            (u64, u64, ManualClock),
            (u64, u64, SystemClock),
            (u64, TrackedValue, ManualClock),
            (u64, TrackedValue, SystemClock),
            (u64, Held, ManualClock),
            (u64, Held, SystemClock),
        );
        unreachable!("Key, Value and BenchClock are sealed to the types listed above")
    }
}

/// When a strategy frees expired entries, as far as time is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reclamation {
    /// Reclamation follows the injected clock: time-driven measurements run the strategy on
    /// a hand-moved clock, at full scale.
    FollowsClock,
    /// Reclamation runs on real time only (`get_ex` still follows the injected clock): the
    /// retention measurement runs the strategy in real time with scaled parameters, labelled.
    RealTime {
        /// Why, in a few words, for the report ("its clock cannot be injected").
        why: &'static str,
    },
}

/// A strategy whose entries live outside this process — a cache server — and what the
/// measurements need to know about it. Declared with [`Strategy::external_memory`].
pub trait External: Send + Sync + 'static {
    /// Gets the server ready to measure (connects to it, or starts one); `Err` says why it
    /// cannot be measured in this run.
    fn ready(&self) -> Result<(), String>;
    /// What its memory figures count, for the report ("Redis used_memory, jemalloc-5.3.0").
    fn counted_by(&self) -> Result<String, String>;
    /// The server's memory now; `settled` waits until the server has finished resizing its
    /// tables (for before-and-after figures).
    fn memory(&self, settled: bool) -> Result<ServerBytes, String>;
    /// Commands that failed so far in this process, over every cache built.
    fn failures(&self) -> u64;
    /// The first of them, in words: which server, doing what, and why.
    fn first_failure(&self) -> Option<String> {
        None
    }
    /// What a child process of this program needs in its environment to measure the same
    /// server (the footprint rows run in fresh processes).
    fn child_env(&self) -> Vec<(String, String)>;
    /// Its command-line options, added to the commands that measure servers (`report`,
    /// `plan`): `T::augment_args(cmd)` for a `#[derive(clap::Args)]` type `T`. None by default.
    fn command_line(&self, cmd: clap::Command) -> clap::Command {
        cmd
    }
    /// Takes its settings from the parsed command line ([`External::command_line`]'s options),
    /// before it is first used; `Err` says which option is wrong.
    fn configure(&self, matches: &clap::ArgMatches) -> Result<(), String> {
        let _ = matches;
        Ok(())
    }
    /// In a child process started with [`External::child_env`]: takes its settings from that
    /// environment, before it is first used.
    fn configure_child(&self) {}
    /// Whether one of it serves every worker of a host (a cache server: the article's scenario
    /// counts one), or each worker runs its own (an interpreter beside each worker: one per
    /// worker, as for an in-process cache). A server by default.
    fn shared_by_workers(&self) -> bool {
        true
    }
    /// The entries of its newest cache that have not expired at `now`, when it can tell
    /// (`None`: a server that drops no live entry, whose live entries are those set whose
    /// deadline has not passed).
    fn live_entries(&self, now: cache_core::Timestamp) -> Option<u64> {
        let _ = now;
        None
    }
    /// The median time of one `get_ex` hit of `key` in its newest cache, measured inside its
    /// own process, when a round trip from here is not what its users pay (a cache in another
    /// language's process, called in-process there). `None`: timed from here.
    fn hit_ns_inside(&self, key: &[u8]) -> Option<Result<f64, String>> {
        let _ = key;
        None
    }
}

/// A server's memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerBytes {
    /// What its data costs, as the server counts it (Redis: its allocator's count without
    /// connection buffers; Memcached: the slab chunks its items occupy and its hash table).
    pub data: u64,
    /// The server process's resident set, when the server tells it or this program can read
    /// it (`None`: a server elsewhere that does not say).
    pub rss: Option<u64>,
}

/// A strategy under measurement: a name, a builder, and its traits.
///
/// Cheap to clone; two strategies are the same when their names are.
#[derive(Clone)]
pub struct Strategy {
    name: &'static str,
    note: &'static str,
    bounded: bool,
    reclamation: Reclamation,
    external: Option<Arc<dyn External>>,
    own_threads: bool,
    buffers_inserts: bool,
    expiry_clock_own: Option<&'static str>,
    crates: &'static [&'static str],
    capacity_limit: Option<(usize, &'static str)>,
    replay_limit: Option<(usize, &'static str)>,
    same_design: Option<(&'static str, &'static str)>,
    builder: Arc<dyn ErasedBuild>,
}

impl Strategy {
    /// A bounded, in-process strategy whose reclamation follows the injected clock, called
    /// `name` (lower case letters, digits and `_`), built by `builder`; `note` is the one line
    /// the report prints about it.
    pub fn new(name: &'static str, note: &'static str, builder: impl Build) -> Strategy {
        Strategy {
            name,
            note,
            bounded: true,
            reclamation: Reclamation::FollowsClock,
            external: None,
            own_threads: false,
            buffers_inserts: false,
            expiry_clock_own: None,
            crates: &[],
            capacity_limit: None,
            replay_limit: None,
            same_design: None,
            builder: Arc::new(builder),
        }
    }

    /// Declares the strategy unbounded: it ignores the capacity (a baseline, not a cache). The
    /// speed benches skip it and the plan says "unbounded" for its full size.
    pub fn unbounded(mut self) -> Strategy {
        self.bounded = false;
        self
    }

    /// Declares the largest capacity it can be built with here, and why (say, memory it
    /// allocates up front for every entry of capacity): a command that would build it larger
    /// refuses before allocating — or leaves it out, with the reason, when it was not named.
    pub fn capacity_limit(mut self, most: usize, why: &'static str) -> Strategy {
        self.capacity_limit = Some((most, why));
        self
    }

    /// `Err` with its limit and reason when it cannot be built with `capacity`.
    pub fn allows_capacity(&self, capacity: usize) -> Result<(), String> {
        match self.capacity_limit {
            Some((most, why)) if capacity > most => Err(format!(
                "capacity {capacity} is over its limit of {most}: {why}"
            )),
            _ => Ok(()),
        }
    }

    /// Declares that the cost of its eviction grows with its capacity, so that a replay (a
    /// million requests, most of them misses that evict) takes time in proportion to it, and
    /// the largest capacity replays measure it at, and why: larger cells of the hit-ratio
    /// tables are shown as not measured, with `why`, rather than taking hours.
    pub fn eviction_cost_grows_with_capacity(mut self, most: usize, why: &'static str) -> Strategy {
        self.replay_limit = Some((most, why));
        self
    }

    /// Whether it declared [`Strategy::eviction_cost_grows_with_capacity`]: its replays are
    /// the longest, and go first when replays share the cores.
    pub fn eviction_cost_grows(&self) -> bool {
        self.replay_limit.is_some()
    }

    /// `Err` with why when a replay does not measure it at `capacity` (see
    /// [`Strategy::eviction_cost_grows_with_capacity`]).
    pub fn replays_at(&self, capacity: usize) -> Result<(), String> {
        match self.replay_limit {
            Some((most, why)) if capacity > most => Err(format!(
                "not measured above capacity {most}: its eviction's cost grows with its \
                 capacity ({why})"
            )),
            _ => Ok(()),
        }
    }

    /// Declares that it is the design of strategy `port` in another runtime (the same answers),
    /// and that `repair` is that design with expired entries freed: the article's scenario
    /// then splits its memory into what the design holds (`port`'s over `repair`'s) and what
    /// the runtime adds (its own over `port`'s).
    pub fn same_design_as(mut self, port: &'static str, repair: &'static str) -> Strategy {
        self.same_design = Some((port, repair));
        self
    }

    /// The strategy whose design it runs, and that design's repair, if declared (see
    /// [`Strategy::same_design_as`]).
    pub fn same_design(&self) -> Option<(&'static str, &'static str)> {
        self.same_design
    }

    /// Declares that whether `get_ex` finds an entry expired is decided on a clock of its own
    /// (a server's), not the injected one, and `why`: a bench that needs entries expired lets
    /// real time pass for it instead of moving a hand clock.
    pub fn expires_on_its_own_clock(mut self, why: &'static str) -> Strategy {
        self.expiry_clock_own = Some(why);
        self
    }

    /// Why `get_ex` follows a clock of its own, if it does (see
    /// [`Strategy::expires_on_its_own_clock`]).
    pub fn own_expiry_clock(&self) -> Option<&'static str> {
        self.expiry_clock_own
    }

    /// Declares that its reclamation runs on real time only, and `why`.
    pub fn reclaims_on_real_time(mut self, why: &'static str) -> Strategy {
        self.reclamation = Reclamation::RealTime { why };
        self
    }

    /// Declares that its entries live outside this process, in the server `external`
    /// describes: the footprint and retention read the server's memory instead of this
    /// process's heap, the article's scenario counts one server for all workers, and the
    /// hit-ratio replays leave it out (a replay is millions of round trips).
    pub fn external_memory(mut self, external: impl External) -> Strategy {
        self.external = Some(Arc::new(external));
        self
    }

    /// Declares that it allocates on threads of its own (a background worker): its memory is
    /// then counted process-wide, not on the measuring thread.
    pub fn allocates_on_own_threads(mut self) -> Strategy {
        self.own_threads = true;
        self
    }

    /// Declares that its inserts are buffered and applied later by its own thread, so that it may
    /// briefly hold far more than its capacity: replays that measure hit ratio call `maintain()`
    /// (which must apply the buffer) after every [`Strategy::settle_every`] sets, so that they
    /// measure its policy, not its buffer.
    pub fn buffers_inserts(mut self) -> Strategy {
        self.buffers_inserts = true;
        self
    }

    /// For a strategy that buffers inserts, how many sets a replay lets pass between two
    /// `maintain()` calls at `capacity`: a fiftieth of the capacity, at least 4 — so it holds at
    /// most 2 % (or 4 entries) above its capacity between two calls, and a replay does not spend
    /// its time waiting for the strategy's thread (a `wait()` took about 56 µs here); `None` for
    /// the others.
    pub fn settle_every(&self, capacity: usize) -> Option<usize> {
        self.buffers_inserts.then(|| (capacity / 50).max(4))
    }

    /// What its memory measurements count.
    pub fn alloc_scope(&self) -> crate::alloc::Scope {
        if self.own_threads {
            crate::alloc::Scope::Process
        } else {
            crate::alloc::Scope::Thread
        }
    }

    /// The crates it measures, whose locked versions the report records (`["moka"]`).
    pub fn crates(mut self, crates: &'static [&'static str]) -> Strategy {
        self.crates = crates;
        self
    }

    /// Its name on the command line and in every table.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The one line the report prints about it.
    pub fn note(&self) -> &'static str {
        self.note
    }

    /// Whether it keeps to a capacity.
    pub fn is_bounded(&self) -> bool {
        self.bounded
    }

    /// When it frees expired entries, as far as time is concerned.
    pub fn reclamation(&self) -> Reclamation {
        self.reclamation
    }

    /// Whether its reclamation follows the injected clock.
    pub fn reclamation_follows_clock(&self) -> bool {
        self.reclamation == Reclamation::FollowsClock
    }

    /// The server its entries live in, if they live outside this process.
    pub fn external(&self) -> Option<&dyn External> {
        self.external.as_deref()
    }

    /// Whether it can be measured in this run: `Err` says why not (no server to measure).
    pub fn ready(&self) -> Result<(), String> {
        self.external.as_ref().map_or(Ok(()), |e| e.ready())
    }

    /// The crates it measures.
    pub fn crate_names(&self) -> &'static [&'static str] {
        self.crates
    }

    /// Builds its cache with room for `capacity` entries, on `clock`.
    pub fn build<K: Key, V: Value, C: BenchClock>(
        &self,
        capacity: usize,
        clock: C,
    ) -> Box<dyn ExpiringCache<K, V>> {
        let built = self
            .builder
            .build_any(capacity, Box::new(clock), TypeId::of::<(K, V, C)>());
        *built
            .downcast::<Box<dyn ExpiringCache<K, V>>>()
            .expect("build_any returns the cache type it was asked for")
    }
}

impl PartialEq for Strategy {
    fn eq(&self, other: &Strategy) -> bool {
        self.name == other.name
    }
}

impl Eq for Strategy {}

impl fmt::Debug for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Strategy")
            .field("name", &self.name)
            .field("bounded", &self.bounded)
            .field("reclamation", &self.reclamation)
            .field("external", &self.external.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl Serialize for Strategy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name)
    }
}

/// Why a registry or a list of names was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A name that no strategy has.
    #[error("unknown strategy {name:?}; known: {known}")]
    Unknown {
        /// The name given.
        name: String,
        /// The registry's names, comma-separated.
        known: String,
    },
    /// A list with no name in it.
    #[error("no strategy named; known: {known}")]
    Empty {
        /// The registry's names, comma-separated.
        known: String,
    },
    /// Two strategies with one name.
    #[error("two strategies are named {0:?}")]
    Duplicate(&'static str),
    /// A name that cannot be used on the command line and in file names.
    #[error(
        "strategy name {0:?}: use lower-case letters, digits and '_', starting with a letter, \
         and none of the report's own row names (payload_floor, opt, compulsory_bound)"
    )]
    BadName(&'static str),
}

/// An ordered list of strategies: the report measures them in this order.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    strategies: Vec<Strategy>,
}

impl Registry {
    /// No strategy.
    pub fn empty() -> Registry {
        Registry::default()
    }

    /// The workspace's own strategies.
    pub fn ours() -> Registry {
        builtin::all().into_iter().fold(Registry::empty(), |r, s| {
            r.with(s)
                .expect("the built-in names are valid and distinct")
        })
    }

    /// This registry with `strategy` added at the end.
    pub fn with(mut self, strategy: Strategy) -> Result<Registry, RegistryError> {
        let name = strategy.name;
        let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        let reserved = [FLOOR, OPT, BOUND];
        if !valid || reserved.contains(&name) {
            return Err(RegistryError::BadName(name));
        }
        if self.get(name).is_some() {
            return Err(RegistryError::Duplicate(name));
        }
        self.strategies.push(strategy);
        Ok(self)
    }

    /// Every strategy, in order.
    pub fn all(&self) -> &[Strategy] {
        &self.strategies
    }

    /// The caches — bounded strategies, and cache servers — without the baselines: the ones
    /// the speed benches run.
    pub fn caches(&self) -> Vec<Strategy> {
        self.strategies
            .iter()
            .filter(|s| s.bounded || s.external.is_some())
            .cloned()
            .collect()
    }

    /// The strategy called `name`.
    pub fn get(&self, name: &str) -> Option<&Strategy> {
        self.strategies.iter().find(|s| s.name == name)
    }

    /// Every name, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.strategies.iter().map(|s| s.name).collect()
    }

    fn known(&self) -> String {
        self.names().join(", ")
    }

    /// The strategy called `name`, or an error that lists the known names (where [`get`]
    /// answers `None`).
    ///
    /// [`get`]: Registry::get
    pub fn require(&self, name: &str) -> Result<Strategy, RegistryError> {
        self.get(name)
            .cloned()
            .ok_or_else(|| RegistryError::Unknown {
                name: name.to_owned(),
                known: self.known(),
            })
    }

    /// The strategies of a comma-separated list of names, in the list's order, each once.
    pub fn parse_list(&self, list: &str) -> Result<Vec<Strategy>, RegistryError> {
        let mut out: Vec<Strategy> = Vec::new();
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let s = self.require(part)?;
            if !out.contains(&s) {
                out.push(s);
            }
        }
        if out.is_empty() {
            return Err(RegistryError::Empty {
                known: self.known(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
