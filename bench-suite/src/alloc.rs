//! A counting global allocator: exact live heap bytes (as requested) and live allocations.
//!
//! It wraps the system allocator and counts what callers *request*; it does not see the
//! allocator's own headers and size-class rounding, which is why the report puts the process's
//! RSS beside its figures. Install it in a binary with
//! `#[global_allocator] static ALLOC: CountingAlloc = CountingAlloc;`, then read [`snapshot`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_ALLOCS: AtomicUsize = AtomicUsize::new(0);
static TOTAL_ALLOCS: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `const` and without a destructor: reading them never allocates, so the allocator may.
    static THREAD_BYTES: Cell<i64> = const { Cell::new(0) };
    static THREAD_ALLOCS: Cell<i64> = const { Cell::new(0) };
}

/// The counting allocator. Zero-sized; all counts are process-wide.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

/// Process-wide counts at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Bytes requested and not yet freed.
    pub live_bytes: usize,
    /// Allocations made and not yet freed.
    pub live_allocs: usize,
    /// Allocations made since the process started.
    pub total_allocs: u64,
}

/// The process-wide counts now.
pub fn snapshot() -> Snapshot {
    Snapshot {
        live_bytes: LIVE_BYTES.load(Ordering::SeqCst),
        live_allocs: LIVE_ALLOCS.load(Ordering::SeqCst),
        total_allocs: TOTAL_ALLOCS.load(Ordering::SeqCst),
    }
}

/// The calling thread's counts: bytes it allocated minus bytes it freed, and likewise
/// allocations. Exact whatever other threads do meanwhile, as long as what is measured
/// allocates and frees on this thread. For a strategy that allocates on threads of its own,
/// the measurements use [`Scope::Process`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadSnapshot {
    /// Bytes allocated minus bytes freed on this thread since it started.
    pub net_bytes: i64,
    /// Allocations minus frees on this thread since it started.
    pub net_allocs: i64,
}

/// What a measurement counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The measuring thread's allocations: exact whatever other threads do.
    Thread,
    /// The whole process's: for strategies that allocate on threads of their own; exact when
    /// nothing else in the process allocates meanwhile (a footprint row's fresh process).
    Process,
}

impl Scope {
    /// The counts now, in this scope, as (bytes, allocations) net of frees.
    pub fn now(self) -> ThreadSnapshot {
        match self {
            Scope::Thread => thread_snapshot(),
            Scope::Process => {
                let s = snapshot();
                ThreadSnapshot {
                    net_bytes: s.live_bytes as i64,
                    net_allocs: s.live_allocs as i64,
                }
            }
        }
    }
}

/// The calling thread's counts now.
pub fn thread_snapshot() -> ThreadSnapshot {
    ThreadSnapshot {
        net_bytes: THREAD_BYTES.with(Cell::get),
        net_allocs: THREAD_ALLOCS.with(Cell::get),
    }
}

fn thread_add(bytes: i64, allocs: i64) {
    // `try_with` fails only while the thread is being torn down; those frees are not measured.
    let _ = THREAD_BYTES.try_with(|c| c.set(c.get() + bytes));
    let _ = THREAD_ALLOCS.try_with(|c| c.set(c.get() + allocs));
}

/// Whether [`CountingAlloc`] is this process's global allocator (it has seen an allocation).
pub fn is_installed() -> bool {
    INSTALLED.load(Ordering::SeqCst) != 0
}

fn on_alloc(size: usize) {
    INSTALLED.store(1, Ordering::Relaxed);
    LIVE_BYTES.fetch_add(size, Ordering::Relaxed);
    LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
    TOTAL_ALLOCS.fetch_add(1, Ordering::Relaxed);
    thread_add(size as i64, 1);
}

fn on_dealloc(size: usize) {
    LIVE_BYTES.fetch_sub(size, Ordering::Relaxed);
    LIVE_ALLOCS.fetch_sub(1, Ordering::Relaxed);
    thread_add(-(size as i64), -1);
}

// SAFETY: every method forwards to `System` with the caller's own arguments, so `System`'s
// guarantees hold unchanged; the counting around it touches only atomics, never the memory.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's layout, which the caller guarantees is non-zero.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller guarantees `ptr` came from this allocator with this layout, and
        // this allocator got it from `System`.
        unsafe { System.dealloc(ptr, layout) };
        on_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees for `realloc` are forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
            thread_add(new_size as i64 - layout.size() as i64, 0);
        }
        p
    }
}

/// The process's resident set size in bytes (`VmRSS` in `/proc/self/status`), where readable.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
