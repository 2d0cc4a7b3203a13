//! The conformance suite: the behaviour every kvlab engine (and, where it
//! applies, every peer engine) must show, one case per invariant.
//!
//! # Running it against your engine
//!
//! Describe how to open the engine with an [`Engine`], then stamp one
//! `#[test]` per case into an integration test file of your crate (with
//! `kv-core = { features = ["testkit"] }` in `[dev-dependencies]`):
//!
//! ```ignore
//! // crates/kv-myengine/tests/conformance.rs
//! use kv_core::testkit::conformance::Engine;
//!
//! fn my_engine() -> Engine {
//!     Engine::new("myengine", |dir, options| {
//!         Ok(Box::new(kv_myengine::MyStore::open(dir, options)?))
//!     })
//!     .snapshot_scans(false)
//! }
//!
//! kv_core::conformance_suite!(my_engine);
//! ```
//!
//! `cargo test -p kv-myengine --test conformance` then lists every case by
//! name (`batch_is_atomic_across_crash`, ...); a case that does not apply to
//! the engine passes and prints `skipped: <reason>`. To run the suite from
//! code instead (as `kv-bench conformance` does, to print a table), iterate
//! over [`cases()`] and call [`run_case`], which catches the panic of a
//! failing case and returns [`CaseResult::Failed`] with its message.
//! Randomized cases take their seed from `KV_SEED` and print it when they
//! fail; `KV_SOAK=1` raises the number of crash points and random cases.
//!
//! # What the suite requires of `Engine::open`
//!
//! - `open(dir, options)` creates `dir` (and its parents) through
//!   `options.fs` if it does not exist, and opens the store in it. Cases on
//!   the real file system pass a fresh temporary directory; cases on a
//!   [`crate::testkit::SimFs`] pass `/sim/db` ([`SIM_DB_DIR`]).
//! - It honours `options.sync` (the [`crate::SyncPolicy`]) and does all its
//!   file I/O through `options.fs` (unless `uses_fs` is false).
//! - It honours `options.background` (under [`crate::Background::Inline`]
//!   it starts no thread; an `Interval` sync that is due runs in the next
//!   write) and `options.open_mode` ([`crate::OpenMode::ReadOnly`] changes
//!   nothing on disk; [`crate::OpenMode::Verify`] opens a damaged store and
//!   lets `check()` list the damage).
//! - Dropping a store is a clean close: no crash happened, so every
//!   acknowledged write is visible when the directory is opened again, even
//!   without `sync()`, and the directory lock is released by the time the
//!   drop returns.
//! - Nothing in the suite depends on file names or layouts: cases that damage
//!   files pick them through the `SimFs` listing.
//!
//! # The groups of cases
//!
//! - [`basic`]: get, put, overwrite, delete (also of missing keys), the empty
//!   key and the empty value, binary keys in byte order, 1 MiB values,
//!   20,000 keys.
//! - [`limits`]: the largest key and value are accepted; an oversized key,
//!   value or batch is `TooLarge` with nothing written (also after a reopen)
//!   and does not poison the store.
//! - [`scans`]: every bound kind on both ends, forward and reverse, empty and
//!   inverted ranges, prefixes (with `0xff` bytes), scans seeing the writes
//!   made before them.
//! - [`snapshots`]: where [`Engine::snapshot_scans`] is claimed, a scan sees
//!   exactly the state at its start (later writes invisible, a batch all or
//!   nothing) while writers and `compact()` run.
//! - [`batches`]: every put and delete of a batch applies, the later
//!   operation on a key wins, the empty batch, and all-or-nothing across a
//!   crash at every file-system operation of a big batch, and of a batch of
//!   over 1,000 operations larger than a data file, under `Always` and
//!   `Manual`.
//! - [`delete_range`]: every bound kind, empty, inverted, prefix and random
//!   ranges match the model (forward and reverse, across reopens); a range
//!   of one batch is deleted all or nothing across a crash.
//! - [`persistence`]: puts, deletes and batches survive a reopen, a clean
//!   close keeps unsynced writes, many reopens in a row, the `Interval`
//!   policy closes cleanly.
//! - [`closing`]: `close()` returns `Ok`, keeps every write and releases the
//!   directory.
//! - [`maintenance`]: `check()`, `stats().live_keys` (exact where
//!   `live_keys_exact` says so; `check()` exact everywhere), and `compact()`,
//!   which keeps content, never resurrects a delete and does not grow the
//!   store.
//! - [`stats`]: `stats().io` counts writes, syncs and reads, and
//!   `stats().torn_bytes_truncated` reports a torn tail that open cut off.
//! - [`crash`]: the durability contract on a `SimFs`: under `Always` every
//!   acknowledged write survives power loss at any operation; under `Manual`
//!   the recovered state is a prefix of the acknowledged writes that includes
//!   everything before the last `sync()`; a torn tail is truncated and later
//!   appends survive; crashes during `compact()` or the first `open` lose
//!   nothing; `Interval` syncs on its own.
//! - [`crash_compaction`]: a crash during `compact()` with unsynced writes
//!   under `Manual` never drops a tombstone whose newer put is not durable,
//!   nor the reverse.
//! - [`crash_recovery`]: a power cut at every operation of the open that
//!   recovers a crashed store leaves a recoverable store; a model test with
//!   random power cuts and reopens inside the sequence matches the
//!   acknowledged history.
//! - [`read_only`]: an `OpenMode::ReadOnly` open of a crashed store changes
//!   no byte, creates and removes no file, and refuses writes with
//!   `Err(ReadOnly)`; of an empty directory it is `Err(NoStore)`.
//! - [`corruption`]: a damaged byte inside a store's data is reported as
//!   `Err(Corruption)`, never returned as different data.
//! - [`damage`]: `check()` lists damage that reads cannot see (through
//!   [`Engine::hidden_damage`]), and under `OpenMode::Verify` lists every
//!   damaged spot, one entry each (through [`Engine::separate_damage`]);
//!   skipped where the engine declares no hook.
//! - [`locking`]: a second open of a directory is `Err(Locked)` until the
//!   first handle is dropped.
//! - [`faults`]: a failed write or sync (a `FaultFs`) poisons the store:
//!   later writes are `Err(Poisoned)`, reads still work, nothing
//!   unacknowledged shows up, and a reopen recovers the durable state; a full
//!   disk is an I/O error; a failed compaction loses nothing.
//! - [`concurrency`]: writers and readers on several threads agree with the
//!   model, scans stay in range and in order while writers run, writes made
//!   while a scan is open do not block, and `compact()` running beside
//!   readers and writers never shows a value out of version order.
//! - [`model_test`]: random operation sequences (with reopens when the
//!   engine is persistent) compared step by step with the `BTreeMap` model.
//!
//! A case that ends with a sound store ends with `check()`, which must
//! return `Ok` with an empty damage list (so does every recovery after a
//! crash).
//!
//! # Crash modes, determinism and run time
//!
//! Every crash case runs each crash point under every mode of
//! [`crate::testkit::CrashMode::suite_modes`] (power loss, torn last write,
//! garbage tail, random prefix, reordered writeback with and without torn
//! sectors, process kill). Every case on a `SimFs` or a `FaultFs` opens the
//! engine with [`crate::Background::Inline`], so a single-threaded case
//! replays exactly from its seed; multi-threaded cases assert only what
//! holds under any interleaving. Crash points are sampled (the first and
//! last few operations, and an even spread with seeded jitter) so the whole
//! suite runs in about a minute per engine in a debug build; `KV_SOAK=1`
//! raises every cap. The seed-dependent preconditions (crash point
//! selection, the crash mode list, workload shapes, the power-cut plan) are
//! checked for seeds 0..1000 by the suite's own seed sweep.
//!
//! Cases that need persistence skip on engines with `persistent: false`;
//! cases that need a `SimFs` or a `FaultFs` skip on engines with
//! `uses_fs: false`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Result;
use crate::options::Options;
use crate::store::Store;
use crate::testkit::SimFs;

mod harness;
mod recovery;
mod runner;

pub mod basic;
pub mod batches;
pub mod closing;
pub mod concurrency;
pub mod corruption;
pub mod crash;
pub mod crash_compaction;
pub mod crash_recovery;
pub mod damage;
pub mod delete_range;
pub mod faults;
pub mod limits;
pub mod locking;
pub mod maintenance;
pub mod model_test;
pub mod persistence;
pub mod read_only;
pub mod scans;
pub mod snapshots;
pub mod stats;

#[cfg(test)]
mod log_store_for_tests;
#[cfg(test)]
mod seed_sweep;
#[cfg(test)]
mod tests;

pub use harness::SIM_DB_DIR;
pub use runner::{run_all, run_case, run_case_in_test, skip_reason, CaseResult};

/// Opens the engine under test on a directory with the given options.
pub type OpenFn = dyn Fn(&Path, Options) -> Result<Box<dyn Store>> + Send + Sync;

/// A spot an engine's damage hook damaged: the file and the offset of the
/// first byte it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlantedDamage {
    /// The damaged file.
    pub file: PathBuf,
    /// Offset of the first damaged byte.
    pub offset: u64,
}

impl PlantedDamage {
    /// Damage at `offset` of `file`.
    pub fn new(file: impl Into<PathBuf>, offset: u64) -> Self {
        Self {
            file: file.into(),
            offset,
        }
    }
}

/// Damages, on the `SimFs`, bytes of the store in the directory that the
/// engine trusts but does not read on the hot path (an old record shadowed
/// by a newer one, an index entry, a sealed file's checksum), and returns
/// where. See [`Engine::hidden_damage`].
pub type HiddenDamageFn = dyn Fn(&SimFs, &Path) -> Vec<PlantedDamage> + Send + Sync;

/// Damages `count` separate spots of the closed store in the directory, each
/// of which `check()` must list as its own entry, and returns where. See
/// [`Engine::separate_damage`].
pub type SeparateDamageFn = dyn Fn(&SimFs, &Path, usize) -> Vec<PlantedDamage> + Send + Sync;

/// How the suite opens the engine under test, and what it claims.
///
/// `#[non_exhaustive]`: build it with [`Engine::new`] and the builder methods,
/// so a claim added later never breaks an engine outside this crate.
#[derive(Clone)]
#[non_exhaustive]
pub struct Engine {
    /// Name, for messages and tables.
    pub name: &'static str,
    /// False for stores that keep nothing across reopen (MemStore):
    /// persistence and crash cases skip cleanly.
    pub persistent: bool,
    /// False when the engine ignores `Options::fs` (peer engines like redb):
    /// `SimFs`/`FaultFs` cases skip cleanly.
    pub uses_fs: bool,
    /// True when a scan sees exactly the state at its start (later writes
    /// invisible, a batch all or nothing) while writers and compaction run;
    /// the suite then checks it.
    pub snapshot_scans: bool,
    /// Opens (creating if needed) the store in a directory.
    pub open: Arc<OpenFn>,
    /// How to damage bytes reads do not see, for
    /// `check_finds_damage_reads_cannot_see` (skipped when `None`).
    pub hidden_damage: Option<Arc<HiddenDamageFn>>,
    /// How to damage separate spots, for
    /// `verify_mode_lists_every_damaged_spot` (skipped when `None`).
    pub separate_damage: Option<Arc<SeparateDamageFn>>,
}

impl Engine {
    /// A persistent engine that does all its I/O through `Options::fs` and
    /// claims no snapshot scans; change the claims with the builder methods.
    pub fn new(
        name: &'static str,
        open: impl Fn(&Path, Options) -> Result<Box<dyn Store>> + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            persistent: true,
            uses_fs: true,
            snapshot_scans: false,
            open: Arc::new(open),
            hidden_damage: None,
            separate_damage: None,
        }
    }

    /// Sets whether the store keeps its data across a reopen.
    pub fn persistent(mut self, persistent: bool) -> Self {
        self.persistent = persistent;
        self
    }

    /// Sets whether the engine does all its file I/O through `Options::fs`.
    pub fn uses_fs(mut self, uses_fs: bool) -> Self {
        self.uses_fs = uses_fs;
        self
    }

    /// Sets whether scans are consistent snapshots.
    pub fn snapshot_scans(mut self, snapshot_scans: bool) -> Self {
        self.snapshot_scans = snapshot_scans;
        self
    }

    /// Declares how to damage bytes the engine trusts but does not read on
    /// the hot path. The suite calls `damage(sim, dir)` while the store in
    /// `dir` is open, after writing keys `key000000..key000199` twice
    /// (100-byte values; the first version of each is shadowed) and a
    /// `sync()` under `SyncPolicy::Manual`; `check()` must then list the
    /// damage. Return every spot damaged (at least one).
    pub fn hidden_damage(
        mut self,
        damage: impl Fn(&SimFs, &Path) -> Vec<PlantedDamage> + Send + Sync + 'static,
    ) -> Self {
        self.hidden_damage = Some(Arc::new(damage));
        self
    }

    /// Declares how to damage `count` separate spots (records or pages far
    /// enough apart that each is its own damage). The suite calls
    /// `damage(sim, dir, count)` on a closed store holding 300 keys written
    /// once and synced under `SyncPolicy::Manual`, opens it with
    /// `OpenMode::Verify`, and expects `check()` to list exactly `count`
    /// entries, one at or before each planted offset in its file. Return
    /// the `count` spots damaged.
    pub fn separate_damage(
        mut self,
        damage: impl Fn(&SimFs, &Path, usize) -> Vec<PlantedDamage> + Send + Sync + 'static,
    ) -> Self {
        self.separate_damage = Some(Arc::new(damage));
        self
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("name", &self.name)
            .field("persistent", &self.persistent)
            .field("uses_fs", &self.uses_fs)
            .field("snapshot_scans", &self.snapshot_scans)
            .field("hidden_damage", &self.hidden_damage.is_some())
            .field("separate_damage", &self.separate_damage.is_some())
            .finish_non_exhaustive()
    }
}

/// How a case ended when it did not fail (failures panic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// Every assertion held.
    Passed,
    /// The case does not apply to this engine, and why.
    Skipped(String),
}

/// One conformance case, named after the invariant it checks.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// The case's name, also the name of its `#[test]`.
    pub name: &'static str,
    /// Skipped for engines with `persistent: false`.
    pub needs_persistence: bool,
    /// Skipped for engines with `uses_fs: false`.
    pub needs_our_fs: bool,
    /// Runs the case; panics with a message when the engine fails it.
    pub run: fn(&Engine) -> CaseOutcome,
}

/// The one list of cases: `(module, case, needs_persistence, needs_our_fs)`.
/// Both [`cases()`] and [`crate::conformance_suite!`] expand it, so the
/// stamped tests and the runtime list cannot drift apart.
#[doc(hidden)]
#[macro_export]
macro_rules! __kv_conformance_cases {
    ($callback:ident { $($args:tt)* }) => {
        $crate::$callback! { { $($args)* }
            (basic, get_returns_what_put_stored, false, false),
            (basic, get_of_missing_key_is_none, false, false),
            (basic, put_overwrites_previous_value, false, false),
            (basic, delete_removes_key, false, false),
            (basic, delete_of_missing_key_is_ok, false, false),
            (basic, empty_key_is_a_valid_key, false, false),
            (basic, empty_value_is_distinct_from_missing, false, false),
            (basic, binary_keys_sort_in_byte_order, false, false),
            (basic, large_values_round_trip, false, false),
            (basic, many_keys_round_trip_in_order, false, false),
            (limits, max_key_and_value_sizes_are_accepted, false, false),
            (limits, oversized_key_is_refused_with_nothing_written, false, false),
            (limits, oversized_value_is_refused_with_nothing_written, false, false),
            (limits, oversized_batch_is_refused_with_nothing_written, false, false),
            (scans, scan_of_empty_store_yields_nothing, false, false),
            (scans, full_scan_is_ascending_and_complete, false, false),
            (scans, forward_scans_honour_every_bound_kind, false, false),
            (scans, reverse_scans_honour_every_bound_kind, false, false),
            (scans, empty_and_inverted_ranges_yield_nothing, false, false),
            (scans, prefix_scan_yields_exactly_the_prefix, false, false),
            (scans, scan_sees_writes_made_before_it, false, false),
            (batches, batch_applies_all_puts_and_deletes, false, false),
            (batches, later_op_on_same_key_in_batch_wins, false, false),
            (batches, empty_batch_is_a_no_op, false, false),
            (batches, batch_is_atomic_across_crash, true, true),
            (batches, batch_larger_than_a_file_is_all_or_nothing, true, true),
            (persistence, puts_survive_reopen, true, false),
            (persistence, deletes_stay_deleted_after_reopen, true, false),
            (persistence, batches_survive_reopen, true, false),
            (persistence, clean_close_keeps_unsynced_writes, true, false),
            (persistence, writes_after_reopen_are_seen_by_scans, true, false),
            (persistence, many_reopens_keep_every_write, true, false),
            (persistence, interval_policy_store_closes_and_reopens_cleanly, true, false),
            (maintenance, check_passes_on_a_busy_store, false, false),
            (maintenance, stats_live_keys_match_model, false, false),
            (maintenance, compact_preserves_content, false, false),
            (maintenance, deleted_keys_stay_deleted_after_compact_and_reopen, false, false),
            (maintenance, writes_after_compact_survive_reopen, true, false),
            (maintenance, compact_after_deletes_does_not_grow_disk, true, false),
            (delete_range, delete_range_matches_the_model, false, false),
            (delete_range, delete_range_batches_are_atomic_across_crash, true, true),
            (stats, stats_io_and_torn_bytes_move_when_they_must, true, true),
            (closing, close_reports_success_and_releases_the_lock, false, false),
            (crash, acknowledged_writes_survive_crash_under_always_sync, true, true),
            (crash, recovered_state_is_a_synced_prefix_under_manual_sync, true, true),
            (crash, torn_tail_is_truncated_and_later_appends_survive, true, true),
            (crash, synced_state_survives_repeated_crashes, true, true),
            (crash, crash_during_compact_loses_nothing, true, true),
            (crash, crash_during_first_open_leaves_an_openable_store, true, true),
            (crash, interval_policy_makes_writes_durable_without_sync, true, true),
            (crash_compaction, crash_during_compaction_with_unsynced_writes_loses_nothing_synced, true, true),
            (crash_recovery, crash_during_recovery_leaves_a_recoverable_store, true, true),
            (crash_recovery, random_power_cuts_match_the_acknowledged_history, true, true),
            (read_only, read_only_open_changes_no_byte, true, true),
            (corruption, corrupt_record_is_reported_not_skipped, true, true),
            (damage, check_finds_damage_reads_cannot_see, true, true),
            (damage, verify_mode_lists_every_damaged_spot, true, true),
            (locking, second_open_of_a_directory_is_locked, true, false),
            (locking, second_open_on_sim_fs_is_locked, true, true),
            (faults, failed_sync_poisons_the_store, true, true),
            (faults, failed_write_poisons_the_store, true, true),
            (faults, full_disk_is_an_io_error_and_keeps_acknowledged_data, true, true),
            (faults, failed_compact_loses_nothing, true, true),
            (concurrency, concurrent_writers_and_readers_agree_with_model, false, false),
            (concurrency, scans_stay_ordered_while_writers_run, false, false),
            (concurrency, writes_while_a_scan_is_open_do_not_block, false, false),
            (concurrency, compact_while_readers_and_writers_run, false, false),
            (snapshots, scans_see_a_snapshot_while_writers_and_compaction_run, false, false),
            (model_test, random_operations_match_model, false, false),
        }
    };
}

/// Expands the case list into a `Vec<Case>`.
#[doc(hidden)]
#[macro_export]
macro_rules! __kv_conformance_case_vec {
    ({} $(($module:ident, $name:ident, $persist:expr, $fs:expr)),* $(,)?) => {
        vec![$(
            $crate::testkit::conformance::Case {
                name: stringify!($name),
                needs_persistence: $persist,
                needs_our_fs: $fs,
                run: $crate::testkit::conformance::$module::$name,
            }
        ),*]
    };
}

/// Expands the case list into one `#[test]` per case.
#[doc(hidden)]
#[macro_export]
macro_rules! __kv_conformance_stamp {
    ({ $engine_fn:expr } $(($module:ident, $name:ident, $persist:expr, $fs:expr)),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let engine: $crate::testkit::conformance::Engine = ($engine_fn)();
                $crate::testkit::conformance::run_case_in_test(
                    &$crate::testkit::conformance::Case {
                        name: stringify!($name),
                        needs_persistence: $persist,
                        needs_our_fs: $fs,
                        run: $crate::testkit::conformance::$module::$name,
                    },
                    &engine,
                );
            }
        )*
    };
}

/// Stamps one `#[test]` per conformance case, named after the case, each
/// running it against the engine returned by `$engine_fn` (a
/// `fn() -> Engine`). A failing case panics with its message; a case that
/// does not apply prints `skipped: <reason>` and passes. See the
/// [module docs](crate::testkit::conformance) for an example.
#[macro_export]
macro_rules! conformance_suite {
    ($engine_fn:expr) => {
        $crate::__kv_conformance_cases!(__kv_conformance_stamp { $engine_fn });
    };
}

/// Every case of the suite, in a stable order.
pub fn cases() -> Vec<Case> {
    crate::__kv_conformance_cases!(__kv_conformance_case_vec {})
}
