//! [`BitcaskOptions`] and [`MergePolicy`]: everything a caller can tune.

use std::sync::Arc;

use kv_core::{Error, Options, Result, SyncPolicy};

use crate::ttl::{Clock, SystemClock};

/// Default size at which the active data file rolls over (256 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Smallest accepted `max_file_bytes`: a header and one small record.
pub const MIN_MAX_FILE_BYTES: u64 = 64;

/// Largest accepted `max_file_bytes` (3 GiB): keydir offsets are 32-bit and a
/// file may overshoot its limit by one batch.
pub const MAX_MAX_FILE_BYTES: u64 = 3 * 1024 * 1024 * 1024;

/// Default write buffer (1 MiB): appends are collected here and reach the
/// file system in one call when it fills, on `sync`, or on rollover.
pub const DEFAULT_WRITE_BUFFER_BYTES: usize = 1024 * 1024;

/// Default step by which the active data file is extended ahead of its data
/// under `SyncPolicy::Always` (1 MiB).
pub const DEFAULT_PREALLOCATE_BYTES: u64 = 1024 * 1024;

/// Options of a Bitcask store.
#[derive(Debug, Clone)]
pub struct BitcaskOptions {
    /// Options every engine shares: the file system and the sync policy.
    pub core: Options,
    /// The active data file rolls over once it would grow past this many
    /// bytes (default 256 MiB). A single batch larger than this gets a file
    /// of its own.
    pub max_file_bytes: u64,
    /// When merges run on their own, and which files they take.
    pub merge: MergePolicy,
    /// Open a store with damaged records by dropping them instead of failing
    /// with `Corruption`: damage in the middle of a data file is skipped up
    /// to the next valid record, and a bad tail of a data file that no crash
    /// could have torn (any file but the newest) is truncated. Salvage never
    /// keeps part of a batch: the intact members of a batch the damage broke
    /// are dropped too (see [`crate::salvage`] for the rules and their one
    /// limitation). Everything dropped is reported: bytes in
    /// `stats().extra["salvaged_bytes"]`, intact records dropped with a batch
    /// in `stats().extra["salvaged_records"]`, and a note per file in
    /// `check()`. Off by default.
    pub salvage: bool,
    /// Bytes of appended records buffered in memory before they are handed
    /// to the file system in one call (default 1 MiB). Under
    /// `SyncPolicy::Always` each group sync also flushes it, so it holds at
    /// most the records of the writers waiting for the next sync.
    pub write_buffer_bytes: usize,
    /// Under `SyncPolicy::Always`, the active data file is extended ahead of
    /// its data, this many bytes at a time (default 1 MiB; 0 disables), by
    /// setting its length (`File::truncate`, a sparse extension on most
    /// file systems). Most synced writes then land inside the file's
    /// existing length, so the sync after them has no size change to
    /// persist: only the first sync after an extension pays for one. An
    /// extension never reaches past `max_file_bytes` unless a single write
    /// does.
    ///
    /// The zero-filled space past the data is trimmed when the file is
    /// sealed (rollover) and on a clean close; after a crash, open trims it
    /// and reports it in `stats().extra["preallocated_bytes_trimmed_at_open"]`
    /// (not as torn bytes). While the store is open, `stats().disk_bytes`
    /// includes it (`stats().extra["preallocated_bytes"]`).
    ///
    /// Ignored under `SyncPolicy::Manual` and `Interval`, where most writes
    /// are never waited for, so the extension would buy nothing. Under
    /// `Always`, group commit can leave two unsynced flushes in flight (a
    /// leader's, and a full buffer flushed during its fsync), and a file
    /// system may put the later one on disk first, leaving zeros followed by
    /// valid records in the preallocated space after a crash. Open judges
    /// that by the durable frontier (a frontier record only claims bytes a
    /// completed sync covered): everything past it is a torn tail, none of
    /// it acknowledged, so it is truncated, never reported as corruption.
    pub preallocate_bytes: u64,
    /// The wall clock TTL expiry is measured against (tests substitute a
    /// [`crate::ManualClock`]).
    pub clock: Arc<dyn Clock>,
}

impl Default for BitcaskOptions {
    fn default() -> Self {
        Self {
            core: Options::default(),
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            merge: MergePolicy::default(),
            salvage: false,
            write_buffer_bytes: DEFAULT_WRITE_BUFFER_BYTES,
            preallocate_bytes: DEFAULT_PREALLOCATE_BYTES,
            clock: Arc::new(SystemClock),
        }
    }
}

impl BitcaskOptions {
    /// Default options on top of the given common options.
    pub fn with_core(core: Options) -> Self {
        Self {
            core,
            ..Self::default()
        }
    }

    /// The step by which the active file is preallocated under these
    /// options: `preallocate_bytes` under `SyncPolicy::Always`, else 0 (see
    /// the field for why).
    pub fn preallocation_step_bytes(&self) -> u64 {
        if self.core.sync == SyncPolicy::Always {
            self.preallocate_bytes
        } else {
            0
        }
    }

    /// Checks every field for sense.
    ///
    /// # Errors
    /// `InvalidArgument` naming the field and the accepted range.
    pub fn validate(&self) -> Result<()> {
        if !(MIN_MAX_FILE_BYTES..=MAX_MAX_FILE_BYTES).contains(&self.max_file_bytes) {
            return Err(Error::InvalidArgument(format!(
                "max_file_bytes is {}, it must lie in {MIN_MAX_FILE_BYTES}..={MAX_MAX_FILE_BYTES}",
                self.max_file_bytes
            )));
        }
        self.merge.validate()
    }
}

/// When merges run on their own and which immutable files they take: the
/// triggers and thresholds of basho/bitcask, with its defaults.
///
/// A merge is *triggered* when some immutable file has at least
/// `trigger_dead_percent` percent dead bytes or `trigger_dead_bytes` dead
/// bytes. A triggered merge then takes every immutable file that meets any
/// *threshold*: `threshold_dead_percent`, `threshold_dead_bytes`, or being
/// smaller than `small_file_bytes`. The active file is never merged.
/// `Store::compact` merges every immutable file regardless of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePolicy {
    /// Run merges on a background thread when triggered (default true).
    pub auto: bool,
    /// Trigger: a file with at least this percentage of dead bytes (60).
    pub trigger_dead_percent: u32,
    /// Trigger: a file with at least this many dead bytes (512 MiB).
    pub trigger_dead_bytes: u64,
    /// Threshold: merge files with at least this percentage dead (40).
    pub threshold_dead_percent: u32,
    /// Threshold: merge files with at least this many dead bytes (128 MiB).
    pub threshold_dead_bytes: u64,
    /// Threshold: merge files smaller than this (10 MiB), so small files
    /// are combined.
    pub small_file_bytes: u64,
    /// How often the background thread looks at the triggers, in
    /// milliseconds (default 1000); it also looks after every rollover.
    pub check_interval_ms: u64,
}

impl Default for MergePolicy {
    fn default() -> Self {
        Self {
            auto: true,
            trigger_dead_percent: 60,
            trigger_dead_bytes: 512 * 1024 * 1024,
            threshold_dead_percent: 40,
            threshold_dead_bytes: 128 * 1024 * 1024,
            small_file_bytes: 10 * 1024 * 1024,
            check_interval_ms: 1000,
        }
    }
}

impl MergePolicy {
    /// No automatic merges: only `Store::compact` merges.
    pub fn manual() -> Self {
        Self {
            auto: false,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        for (name, percent) in [
            ("trigger_dead_percent", self.trigger_dead_percent),
            ("threshold_dead_percent", self.threshold_dead_percent),
        ] {
            if percent > 100 {
                return Err(Error::InvalidArgument(format!(
                    "merge.{name} is {percent}, it must be a percentage (0..=100)"
                )));
            }
        }
        if self.check_interval_ms == 0 {
            return Err(Error::InvalidArgument(
                "merge.check_interval_ms must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
