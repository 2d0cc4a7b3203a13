//! The engine's shared state: what the write path, the read path and the
//! background work all reach through one `Arc<Inner>`.
//!
//! # Locks (always taken in this order, never the other way)
//! 1. `writer`: serializes writes (WAL append, memtable insert, sequence
//!    numbers) and memtable rotation; never held across a group commit's
//!    fsync (see `crate::write`);
//! 2. `flush_lock` / `compaction_lock`: one flush and one compaction at a
//!    time (they run side by side: a flush never waits behind a compaction);
//! 3. `manifest`: serializes version edits;
//! 4. `sv`: the current [`SuperVersion`], held only to clone or swap it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Instant;

use kv_core::fs::DirLock;
use kv_core::{Damage, Fs, GroupCommit, Poison};

use crate::manifest::ManifestWriter;
use crate::options::LsmOptions;
use crate::stats::Counters;
use crate::table::TableContext;
use crate::version::SuperVersion;
use crate::wal::Wal;

/// Locks a mutex, ignoring poisoning (a panicked thread's state is still
/// consistent here: every update is a single assignment or push).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The write path's state.
#[derive(Debug)]
pub struct Writer {
    /// The WAL of the mutable memtable (`None` when read-only).
    pub wal: Option<Wal>,
    /// Largest sequence number handed out.
    pub last_seq: u64,
    /// When the WAL was last synced (for `SyncPolicy::Interval`).
    pub last_sync: Instant,
    /// The group-commit log position of byte 0 of the current WAL: the sum
    /// of the lengths of the WALs this handle retired. A log position
    /// (`wal_base + offset`) only grows, across rotations.
    pub wal_base: u64,
}

impl Writer {
    /// The group-commit log position of the end of the current WAL,
    /// buffered bytes included.
    pub fn log_end(&self) -> u64 {
        self.wal_base + self.wal.as_ref().map_or(0, Wal::bytes)
    }
}

/// Sequence numbers of the open scans, with counts.
pub type Snapshots = Arc<Mutex<BTreeMap<u64, usize>>>;

/// Wakes the background threads and the stalled writers.
#[derive(Debug, Default)]
pub struct Signal {
    /// Bumped on every wake.
    pub generation: Mutex<u64>,
    /// Notified on every wake.
    pub condvar: Condvar,
    /// Set when the store closes.
    pub shutdown: AtomicBool,
}

impl Signal {
    /// Wakes every waiter.
    pub fn wake(&self) {
        *lock(&self.generation) += 1;
        self.condvar.notify_all();
    }
}

/// The engine's shared state.
pub struct Inner {
    /// The store directory.
    pub dir: PathBuf,
    /// The options.
    pub options: LsmOptions,
    /// The file system (counting every byte).
    pub fs: Arc<dyn Fs>,
    /// The same file system, for its I/O counters.
    pub counting: Arc<kv_core::CountingFs>,
    /// True for `ReadOnly` and `Verify` opens.
    pub read_only: bool,
    /// The directory lock, held for the store's life.
    pub _lock: Box<dyn DirLock>,
    /// Set by the first failed write, sync, flush or compaction.
    pub poison: Poison,
    /// The write path.
    pub writer: Mutex<Writer>,
    /// The current memtables and version.
    pub sv: RwLock<Arc<SuperVersion>>,
    /// The manifest writer (`None` when read-only); also serializes edits.
    pub manifest: Mutex<Option<ManifestWriter>>,
    /// One flush at a time.
    pub flush_lock: Mutex<()>,
    /// One compaction at a time.
    pub compaction_lock: Mutex<()>,
    /// Next file number.
    pub next_file: AtomicU64,
    /// Sequence number up to which writes are visible (advanced after a
    /// whole write or batch is in the memtable and, under
    /// `SyncPolicy::Always`, once a sync covered it).
    pub visible_seq: AtomicU64,
    /// The WAL's group-commit queue (log positions: [`Writer::log_end`]).
    pub group: GroupCommit,
    /// What tables need to open and read.
    pub ctx: TableContext,
    /// Counters.
    pub counters: Arc<Counters>,
    /// Exact live key count (with `exact_live_keys`).
    pub live_keys: std::sync::atomic::AtomicI64,
    /// Open scans' snapshots.
    pub snapshots: Snapshots,
    /// Background wake-ups.
    pub signal: Signal,
    /// Damage found by a `Verify` open.
    pub open_damage: Vec<Damage>,
    /// Notes from open (unexpected files).
    pub open_notes: Vec<String>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("dir", &self.dir)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// The current super version.
    pub fn current(&self) -> Arc<SuperVersion> {
        Arc::clone(&self.sv.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the super version.
    pub fn install(&self, f: impl FnOnce(&SuperVersion) -> SuperVersion) {
        let mut slot = self.sv.write().unwrap_or_else(PoisonError::into_inner);
        let next = f(&slot);
        *slot = Arc::new(next);
    }

    /// A fresh file number.
    pub fn alloc_file(&self) -> u64 {
        self.next_file.fetch_add(1, Ordering::SeqCst)
    }

    /// Sequence numbers of the open scans, ascending.
    pub fn live_snapshots(&self) -> Vec<u64> {
        lock(&self.snapshots).keys().copied().collect()
    }
}
