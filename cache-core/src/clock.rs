//! Time as the caches see it: [`Timestamp`], the [`Clock`] trait, [`SystemClock`] and
//! [`ManualClock`].

use std::fmt;
use std::ops::Add;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A point in time: nanoseconds since the origin of the [`Clock`] that produced it.
///
/// Eight bytes, like the article's `float` expiry time. Adding a [`Duration`] saturates at
/// [`Timestamp::MAX`] instead of panicking or wrapping, so a deadline of `now + Duration::MAX`
/// is simply "never".
///
/// ```
/// use std::time::Duration;
/// use cache_core::Timestamp;
///
/// let t = Timestamp::from_nanos(5);
/// assert_eq!((t + Duration::from_nanos(3)).as_nanos(), 8);
/// // Saturates: a TTL of Duration::MAX never overflows.
/// assert_eq!(t + Duration::MAX, Timestamp::MAX);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The clock's origin.
    pub const ZERO: Timestamp = Timestamp(0);
    /// The last representable instant (about 584 years after the origin); a deadline here never
    /// passes.
    pub const MAX: Timestamp = Timestamp(u64::MAX);

    /// The timestamp `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Timestamp {
        Timestamp(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Timestamp::MAX`].
    pub fn saturating_add(self, d: Duration) -> Timestamp {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(nanos))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturating addition; see [`Timestamp::saturating_add`].
    fn add(self, d: Duration) -> Timestamp {
        self.saturating_add(d)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}ns)", self.0)
    }
}

/// The last instant at which an entry is live: a type of its own, not a [`Timestamp`], so that
/// the two cannot be swapped in a liveness check — `is_live(now, deadline)` does not compile.
///
/// ```
/// use std::time::Duration;
/// use cache_core::{Deadline, Timestamp, deadline, is_live};
///
/// let set_at = Timestamp::from_nanos(100);
/// let d: Deadline = deadline(set_at, Duration::from_nanos(50));
/// assert!(is_live(d, Timestamp::from_nanos(150))); // still a hit at the deadline itself
/// assert!(!d.is_live_at(Timestamp::from_nanos(151)));
/// assert_eq!(deadline(set_at, Duration::MAX), Deadline::NEVER);
/// ```
///
/// ```compile_fail
/// use cache_core::{Timestamp, deadline, is_live};
/// let d = deadline(Timestamp::ZERO, std::time::Duration::from_secs(1));
/// let now = Timestamp::from_nanos(5);
/// is_live(now, d); // swapped: a type error
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Deadline(Timestamp);

impl Deadline {
    /// A deadline that never passes (a TTL of [`Duration::MAX`]).
    pub const NEVER: Deadline = Deadline(Timestamp::MAX);
    /// A deadline already passed at any instant after the origin.
    pub const ORIGIN: Deadline = Deadline(Timestamp::ZERO);

    /// The deadline at instant `t`.
    pub const fn at(t: Timestamp) -> Deadline {
        Deadline(t)
    }

    /// The instant, as a [`Timestamp`] (to store it, or print it).
    pub const fn timestamp(self) -> Timestamp {
        self.0
    }

    /// Whether an entry with this deadline is still live at `now`: `now <= deadline`. This is
    /// the article's `nowTime() > expire` test for expiry, negated: an entry is still a hit at
    /// exactly its deadline.
    pub fn is_live_at(self, now: Timestamp) -> bool {
        now <= self.0
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Deadline({}ns)", self.0.0)
    }
}

/// The deadline of an entry set at `now` with time-to-live `ttl`: `now + ttl`, saturating.
pub fn deadline(now: Timestamp, ttl: Duration) -> Deadline {
    Deadline(now.saturating_add(ttl))
}

/// Whether an entry with `deadline` is still live at `now`: [`Deadline::is_live_at`]. The two
/// arguments are of different types, so they cannot be swapped.
pub fn is_live(deadline: Deadline, now: Timestamp) -> bool {
    deadline.is_live_at(now)
}

/// A source of [`Timestamp`]s. Must never go backwards on its own; only a
/// [`ManualClock::set`] by a test may move it back.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<T: Clock + ?Sized> Clock for Box<T> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<T: Clock + ?Sized> Clock for Arc<T> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The real, monotonic clock: nanoseconds since the clock was created ([`Instant`] based).
///
/// Copies share the origin, so timestamps from copies compare meaningfully.
#[derive(Clone, Copy, Debug)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let nanos = self.origin.elapsed().as_nanos();
        Timestamp(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// A clock moved by hand, for tests and simulations. Starts at [`Timestamp::ZERO`].
///
/// Clones share one time: keep a clone, hand another to the cache, and move both at once.
///
/// ```
/// use std::time::Duration;
/// use cache_core::{Clock, ManualClock, Timestamp};
///
/// let clock = ManualClock::new();
/// let cache_side = clock.clone();
/// clock.advance(Duration::from_secs(5)); // t = 5 s
/// assert_eq!(cache_side.now(), Timestamp::from_nanos(5_000_000_000));
/// clock.advance(Duration::MAX); // saturates instead of overflowing
/// assert_eq!(cache_side.now(), Timestamp::MAX);
/// ```
#[derive(Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at [`Timestamp::ZERO`].
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `d`, saturating at [`Timestamp::MAX`].
    pub fn advance(&self, d: Duration) {
        let step = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // fetch_update only fails if the closure returns None; ours never does.
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                Some(t.saturating_add(step))
            });
    }

    /// Sets the clock to `t` (forwards or backwards).
    pub fn set(&self, t: Timestamp) {
        self.nanos.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.nanos.load(Ordering::SeqCst))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_shows_its_nanoseconds() {
        let dl = deadline(Timestamp::from_nanos(5), Duration::from_nanos(7));
        assert_eq!(format!("{dl:?}"), "Deadline(12ns)");
    }

    #[test]
    fn a_clock_behind_a_reference_box_or_arc_reads_the_same_time() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(7)); // t = 7 s
        let t = Timestamp::from_nanos(7_000_000_000);
        fn through<C: Clock>(c: C) -> Timestamp {
            c.now()
        }
        assert_eq!(through(&clock), t);
        assert_eq!(Box::new(clock.clone()).now(), t);
        assert_eq!(Arc::new(clock.clone()).now(), t);
        assert_eq!(format!("{clock:?}"), "ManualClock(Timestamp(7000000000ns))");
    }

    #[test]
    fn adding_duration_max_saturates() {
        assert_eq!(Timestamp::from_nanos(1) + Duration::MAX, Timestamp::MAX);
        assert_eq!(Timestamp::MAX + Duration::from_nanos(1), Timestamp::MAX);
        // A Duration whose nanoseconds exceed u64 but whose seconds do not.
        let big = Duration::from_secs(u64::MAX / 1_000_000_000 + 1);
        assert_eq!(Timestamp::ZERO + big, Timestamp::MAX);
    }

    #[test]
    fn liveness_includes_the_deadline_itself() {
        let d = deadline(Timestamp::from_nanos(10), Duration::from_nanos(5));
        assert!(is_live(d, Timestamp::from_nanos(15)));
        assert!(!is_live(d, Timestamp::from_nanos(16)));
        assert!(is_live(Deadline::NEVER, Timestamp::MAX));
        assert!(!is_live(Deadline::ORIGIN, Timestamp::from_nanos(1)));
    }

    #[test]
    fn manual_clock_clones_share_time_and_can_go_back() {
        let a = ManualClock::new();
        let b = a.clone();
        a.advance(Duration::from_millis(2));
        assert_eq!(b.now().as_nanos(), 2_000_000);
        b.set(Timestamp::from_nanos(7));
        assert_eq!(a.now().as_nanos(), 7);
        a.advance(Duration::MAX);
        assert_eq!(b.now(), Timestamp::MAX);
    }

    #[test]
    fn system_clock_is_monotonic_and_copies_share_its_origin() {
        let c = SystemClock::new();
        let t1 = c.now();
        std::thread::sleep(Duration::from_millis(2));
        let copy = c;
        let t2 = copy.now();
        assert!(t2.saturating_duration_since(t1) >= Duration::from_millis(2));
        assert_eq!(
            t1.saturating_duration_since(t2),
            Duration::ZERO,
            "saturates at zero"
        );
    }
}
