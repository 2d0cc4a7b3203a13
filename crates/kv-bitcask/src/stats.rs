//! Counters and the [`kv_core::Stats`] report.
//!
//! `live_keys` and `live_bytes` count the visible keys: TTL puts that have
//! expired by the store's clock are left out (`extra["expired_keys"]` says
//! how many the keydir still holds until a merge drops them;
//! `extra["ttl_keys"]` is every live TTL put, expired or not). The per-file
//! figures count records, so an expired put stays in its file's
//! `live_bytes` until a merge drops it.
//!
//! `keydir_write_lock_max_us` is the longest hold since open of the index
//! lock's write side, which excludes every reader (leaf splits and folds,
//! batches, file-table changes), and `keydir_leaf_lock_max_us` the longest
//! hold of one leaf's write lock, which excludes only the readers of that
//! leaf; `{lock}_max_us.{holder}` is the longest by each holder (`publish`,
//! `publish_durable`, `rollover`, `merge_switch`; see `crate::lock_hold`),
//! `{lock}_holds.{holder}` counts each holder's holds and
//! `{lock}_holds_over_1ms.{holder}` those longer than 1 ms (how often a
//! reader could have waited that long). `keydir_read_lock_waits` counts the
//! reads that found a lock they needed taken and
//! `keydir_read_lock_wait_max_us` is the longest such wait, over both
//! locks a read takes; `.index` and `.leaf` give each lock's (see
//! `crate::shared_state`). `keydir_leaves` is the number of keydir leaves.
//!
//! `stats().extra` holds, besides the store-wide figures, per data file
//! `file.{id:010}.total_bytes`, `.live_bytes`, `.live_keys`, `.dead_bytes`,
//! `.dead_keys` (records that are not a key's live version) and
//! `.tombstone_bytes`.
//!
//! `disk_bytes` is the length of every data and hint file, so it includes
//! the zero-filled space preallocated past the data of the active file
//! (`extra["preallocated_bytes"]`, see `BitcaskOptions::preallocate_bytes`;
//! sparse on most file systems, so it may occupy no blocks). Per-file
//! `total_bytes` and `dead_bytes` count data only: preallocated space is
//! neither live nor dead.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use kv_core::Stats;

use crate::lock_hold::{Holder, LockHolds, ReadWaits};
use crate::state::Accounting;

/// Engine counters since open (and what open found).
#[derive(Debug, Default)]
pub struct EngineCounters {
    merges_run: AtomicU64,
    merge_failures: AtomicU64,
    merge_bytes_reclaimed: AtomicU64,
    merge_bytes_written: AtomicU64,
    hint_write_failures: AtomicU64,
    /// Bytes of torn tail truncated at open.
    pub torn_bytes_truncated: AtomicU64,
    /// Zero-filled preallocated bytes trimmed from the end of the active
    /// file at open (what a crash or a failed close left).
    pub preallocated_bytes_trimmed: AtomicU64,
    /// Bytes skipped by salvage at open.
    pub salvaged_bytes: AtomicU64,
    /// Intact records salvage dropped at open because they belonged to a
    /// batch the damage broke.
    pub salvaged_records: AtomicU64,
    /// Hint files used at open.
    pub hints_loaded: AtomicU64,
    /// Data files (or tails of them) scanned at open.
    pub data_files_scanned: AtomicU64,
    /// Hint files written at open for data files that had none.
    pub hints_rebuilt: AtomicU64,
    /// The holds of the index lock's write side (they exclude every
    /// reader).
    pub keydir_write_lock: LockHolds,
    /// The holds of keydir leaves' write locks (each excludes the readers
    /// of one leaf).
    pub keydir_leaf_lock: LockHolds,
    /// The readers that found the index lock taken.
    pub keydir_index_read_waits: ReadWaits,
    /// The readers that found their leaf's lock taken.
    pub keydir_leaf_read_waits: ReadWaits,
}

impl EngineCounters {
    /// A merge finished.
    pub fn add_merge(&self, bytes_written: u64, bytes_reclaimed: u64) {
        self.merges_run.fetch_add(1, Relaxed);
        self.merge_bytes_written.fetch_add(bytes_written, Relaxed);
        self.merge_bytes_reclaimed
            .fetch_add(bytes_reclaimed, Relaxed);
    }

    /// A background merge failed.
    pub fn add_merge_failure(&self) {
        self.merge_failures.fetch_add(1, Relaxed);
    }

    /// A hint could not be written.
    pub fn add_hint_write_failure(&self) {
        self.hint_write_failures.fetch_add(1, Relaxed);
    }

    /// Merges run since open.
    pub fn merges_run(&self) -> u64 {
        self.merges_run.load(Relaxed)
    }
}

/// Store-wide sums over the data files.
#[derive(Debug, Default)]
struct FileTotals {
    disk_bytes: u64,
    dead_bytes: u64,
    preallocated_bytes: u64,
}

/// Adds the per-file figures to `extra` and returns their sums.
fn per_file_figures(state: &Accounting, extra: &mut BTreeMap<String, u64>) -> FileTotals {
    let mut totals = FileTotals::default();
    for (id, f) in &state.files {
        let preallocated = f.handle.preallocated_bytes();
        totals.preallocated_bytes += preallocated;
        totals.disk_bytes += f.total_bytes + f.hint_bytes + preallocated;
        totals.dead_bytes += f.dead_bytes();
        let name = |what: &str| format!("file.{id:010}.{what}");
        extra.insert(name("total_bytes"), f.total_bytes);
        extra.insert(name("live_bytes"), f.live_bytes);
        extra.insert(name("live_keys"), f.live_keys);
        extra.insert(name("dead_bytes"), f.dead_bytes());
        extra.insert(name("dead_keys"), f.dead_records());
        extra.insert(name("tombstone_bytes"), f.tombstone_bytes);
    }
    totals
}

/// Adds the figures of the counters (what open found, merges, hints, the
/// keydir's write-lock holds) to `extra`.
fn counter_figures(counters: &EngineCounters, extra: &mut BTreeMap<String, u64>) {
    let (index_waits, leaf_waits) = (
        &counters.keydir_index_read_waits,
        &counters.keydir_leaf_read_waits,
    );
    let figures = [
        (
            "preallocated_bytes_trimmed_at_open",
            counters.preallocated_bytes_trimmed.load(Relaxed),
        ),
        (
            "keydir_write_lock_max_us",
            counters.keydir_write_lock.longest_us(),
        ),
        (
            "keydir_leaf_lock_max_us",
            counters.keydir_leaf_lock.longest_us(),
        ),
        (
            "keydir_read_lock_waits",
            index_waits.waits() + leaf_waits.waits(),
        ),
        (
            "keydir_read_lock_wait_max_us",
            index_waits.longest_us().max(leaf_waits.longest_us()),
        ),
        ("keydir_read_lock_waits.index", index_waits.waits()),
        (
            "keydir_read_lock_wait_max_us.index",
            index_waits.longest_us(),
        ),
        ("keydir_read_lock_waits.leaf", leaf_waits.waits()),
        ("keydir_read_lock_wait_max_us.leaf", leaf_waits.longest_us()),
        ("merges_run", counters.merges_run.load(Relaxed)),
        ("merge_failures", counters.merge_failures.load(Relaxed)),
        (
            "merge_bytes_reclaimed",
            counters.merge_bytes_reclaimed.load(Relaxed),
        ),
        (
            "merge_bytes_written",
            counters.merge_bytes_written.load(Relaxed),
        ),
        (
            "hint_write_failures",
            counters.hint_write_failures.load(Relaxed),
        ),
        ("salvaged_bytes", counters.salvaged_bytes.load(Relaxed)),
        ("salvaged_records", counters.salvaged_records.load(Relaxed)),
        ("hints_loaded_at_open", counters.hints_loaded.load(Relaxed)),
        (
            "data_files_scanned_at_open",
            counters.data_files_scanned.load(Relaxed),
        ),
        (
            "hints_rebuilt_at_open",
            counters.hints_rebuilt.load(Relaxed),
        ),
    ];
    for (name, value) in figures {
        extra.insert(name.to_string(), value);
    }
    let locks = [
        ("keydir_write_lock", &counters.keydir_write_lock),
        ("keydir_leaf_lock", &counters.keydir_leaf_lock),
    ];
    for (lock, holds) in locks {
        for holder in Holder::ALL {
            let name = holder.name();
            extra.insert(format!("{lock}_max_us.{name}"), holds.longest_us_by(holder));
            extra.insert(format!("{lock}_holds.{name}"), holds.holds_by(holder));
            extra.insert(
                format!("{lock}_holds_over_1ms.{name}"),
                holds.long_holds_by(holder),
            );
        }
    }
}

/// What `stats()` reports of the keydir itself, read under its locks.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeydirFigures {
    /// Keys (expired TTL puts included).
    pub keys: usize,
    /// Heap bytes ([`crate::keydir::Keydir::heap_bytes`]).
    pub heap_bytes: usize,
    /// Leaves.
    pub leaves: usize,
}

/// Builds the report from the accounting, the keydir's figures and the
/// counters at `now_unix_ms` (the store's clock: TTL puts expired by then
/// are not live). No I/O.
pub fn build_stats(
    state: &Accounting,
    keydir: KeydirFigures,
    counters: &EngineCounters,
    io: kv_core::IoCounters,
    now_unix_ms: u64,
) -> Stats {
    let mut extra = BTreeMap::new();
    let FileTotals {
        disk_bytes,
        dead_bytes,
        preallocated_bytes,
    } = per_file_figures(state, &mut extra);
    let keydir_bytes = keydir.heap_bytes as u64;
    let expired = state.expired_at(now_unix_ms);
    let figures = [
        ("files", state.files.len() as u64),
        ("ttl_keys", state.expiring.len() as u64),
        ("expired_keys", expired.keys),
        ("dead_bytes", dead_bytes),
        ("preallocated_bytes", preallocated_bytes),
        ("keydir_bytes", keydir_bytes),
        ("keydir_leaves", keydir.leaves as u64),
    ];
    for (name, value) in figures {
        extra.insert(name.to_string(), value);
    }
    counter_figures(counters, &mut extra);
    // The keydir holds every live key and every expired TTL put a merge
    // has not dropped yet; the expiry index counts the latter exactly, so
    // `live_keys` is exact (the `Stats::new` default).
    let mut stats = Stats::new(crate::data_file::ENGINE_NAME);
    stats.live_keys = (keydir.keys as u64).saturating_sub(expired.keys);
    stats.live_bytes = state
        .live_payload_bytes
        .saturating_sub(expired.payload_bytes);
    stats.disk_bytes = disk_bytes;
    stats.io = io;
    stats.torn_bytes_truncated = counters.torn_bytes_truncated.load(Relaxed);
    stats.extra = extra;
    stats
}
