//! What a run measured: one [`WorkloadResult`] per engine and workload, in a
//! [`RunReport`] with the machine and the settings. This is the JSON schema
//! of `--json` (documented field by field in `docs/benchmarking.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::machine::MachineInfo;
use crate::metrics::amplification::DiskUsage;
use crate::metrics::io::ProcIo;
use crate::metrics::latency::LatencySummary;
use crate::settings::Settings;
use kv_core::IoCounters;

/// What the peak RSS of a result covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeakScope {
    /// The peak was reset before the workload: the peak during it.
    Workload,
    /// The kernel refused the reset: the peak since the process started.
    Process,
}

/// The compaction run on a store before it was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CompactionResult {
    /// Time of `compact()` plus a `sync()`, in seconds.
    pub secs: f64,
    /// Disk usage before.
    pub disk_before: DiskUsage,
    /// Disk usage after.
    pub disk_after: DiskUsage,
    /// Allocated bytes on disk after / live logical bytes.
    pub space_amp_after: Option<f64>,
    /// `/proc/self/io` delta of the compaction and its sync.
    #[serde(default)]
    pub proc_io: Option<ProcIo>,
    /// The engine's `Fs` counters over the compaction (ours).
    #[serde(default)]
    pub fs_io: Option<IoCounters>,
}

/// One engine running one workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadResult {
    /// Engine name.
    pub engine: String,
    /// True for kvlab's own engines.
    pub ours: bool,
    /// `ours`, `peer` or `harness` (`memory`, `null`).
    pub kind: String,
    /// True if the engine keeps data on disk.
    pub persistent: bool,
    /// Workload name.
    pub workload: String,
    /// Threads that ran operations (readers, for `readwhilewriting`).
    pub threads: usize,
    /// Operations per write batch (1: no batches).
    pub batch: usize,
    /// Sync policy of the store: `always` or `manual`.
    pub sync: String,
    /// The harness's sync cadence on this store: `sync()` after every this
    /// many writes (0: none between, as under `always`).
    #[serde(default)]
    pub sync_every: u64,
    /// `sync()` calls the cadence made during the workload (the final sync
    /// not counted).
    #[serde(default)]
    pub harness_syncs: u64,
    /// Durable syncs the engine made during the workload (its final sync
    /// included), from its `Fs` counters; `None` where the engine has no
    /// sync counter (the peers). See `metrics::syncs`.
    #[serde(default)]
    pub engine_syncs: Option<u64>,
    /// `engine_syncs / (writes + background_writes)`.
    #[serde(default)]
    pub syncs_per_write: Option<f64>,
    /// Operations measured.
    pub ops: u64,
    /// Read operations (gets, seeks, scanned items of a full scan).
    pub reads: u64,
    /// Puts and deletes by the measured threads.
    pub writes: u64,
    /// Reads that found their key.
    pub found: u64,
    /// Items returned by scans.
    pub items_scanned: u64,
    /// Writes of the background writer (`readwhilewriting`), not in `ops`.
    pub background_writes: u64,
    /// True if `--duration` stopped the workload before it finished.
    pub capped_by_duration: bool,
    /// Operations the workload was to run (`ops` of them ran if
    /// `capped_by_duration`; 0 in JSON written before it was recorded).
    #[serde(default)]
    pub planned_ops: u64,
    /// Wall time of the operations plus the final `sync()`, in seconds.
    pub elapsed_secs: f64,
    /// `ops / elapsed_secs`.
    pub ops_per_sec: f64,
    /// `elapsed_secs / ops`, in nanoseconds.
    pub ns_per_op: f64,
    /// Latency percentiles of single operations.
    pub latency: LatencySummary,
    /// Keys plus values of puts and keys of deletes, in bytes (all writers).
    pub user_bytes_written: u64,
    /// The engine's own `Fs` counters (engines whose I/O goes through
    /// kvlab's `Fs`: ours).
    pub fs_io: Option<IoCounters>,
    /// `/proc/self/io` delta (Linux only).
    pub proc_io: Option<ProcIo>,
    /// `fs_io.bytes_written / user_bytes_written`.
    pub write_amp_fs: Option<f64>,
    /// `proc_io.wchar / user_bytes_written`.
    pub write_amp_wchar: Option<f64>,
    /// `(proc_io.write_bytes - proc_io.cancelled_write_bytes) /
    /// user_bytes_written`: page-cache bytes dirtied for the device, less
    /// those dropped before writeback because their file was truncated or
    /// deleted (see `ProcIo::device_write_bytes`).
    pub write_amp_device: Option<f64>,
    /// Write amplification including the compaction that followed, on the
    /// last workload of each store: `(proc_io.wchar + compaction wchar) /
    /// user_bytes_written`.
    #[serde(default)]
    pub write_amp_with_compaction: Option<f64>,
    /// `fs_io.bytes_read / reads`.
    pub read_bytes_per_read_fs: Option<f64>,
    /// `fs_io.read_calls / reads`.
    pub read_calls_per_read_fs: Option<f64>,
    /// `proc_io.rchar / reads`.
    pub rchar_per_read: Option<f64>,
    /// Live keys after the workload.
    pub live_keys: u64,
    /// Live logical bytes: `live_keys * (key_size + value_size)`.
    pub live_bytes: u64,
    /// The store directory after the workload (persistent engines only).
    pub disk: Option<DiskUsage>,
    /// `disk.allocated_bytes / live_bytes`: space the file system allocated
    /// (sparse preallocation is not space used).
    pub space_amp: Option<f64>,
    /// `disk.file_bytes / live_bytes` (apparent length), for comparison.
    #[serde(default)]
    pub space_amp_apparent: Option<f64>,
    /// Set on the last workload run on a store: the compaction before the
    /// store was discarded.
    pub compaction: Option<CompactionResult>,
    /// Set on `fillseq`/`fillrandom` of persistent engines: time to reopen
    /// the freshly loaded store, in seconds.
    pub reopen_secs: Option<f64>,
    /// RSS when the workload started, in bytes.
    pub rss_start_bytes: Option<u64>,
    /// Peak RSS, in bytes (see `peak_rss_scope`).
    pub peak_rss_bytes: Option<u64>,
    /// What `peak_rss_bytes` covers.
    pub peak_rss_scope: PeakScope,
    /// The engine's own figures after the workload (`Stats::extra`: files
    /// and bytes per level, cache hits, compactions, lock holds, ...), for
    /// the engines whose I/O goes through kvlab's `Fs` (ours); `None` for
    /// the peers, whose `stats()` may cost a scan of every key.
    #[serde(default)]
    pub engine_stats: Option<BTreeMap<String, u64>>,
}

/// One engine's run as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineRun {
    /// Engine name.
    pub engine: String,
    /// `child` (own process) or `shared` (this process).
    pub process: String,
    /// Largest peak RSS seen across its workloads and loads, in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Wall time of the engine's whole run, loads and compactions included.
    pub wall_secs: f64,
    /// Why the run failed, if it did (results before the failure are kept).
    pub error: Option<String>,
    /// Crash-recovery time: seconds of the first open after a loaded child
    /// was SIGKILLed (see `crash::measure_crash_recovery`); `None` for
    /// engines that keep nothing on disk or when it was not measured.
    #[serde(default)]
    pub crash_recovery_secs: Option<f64>,
    /// Why the crash-recovery measurement failed, if it did.
    #[serde(default)]
    pub crash_recovery_error: Option<String>,
    /// Wall time of the crash-recovery load child, from its start until it
    /// reported the store loaded (`ready`), in seconds: harness work, not a
    /// measurement.
    #[serde(default)]
    pub crash_recovery_load_secs: Option<f64>,
    /// Wall time of the whole crash-recovery phase (load child, kill, the
    /// timed open, closing and deleting the store), in seconds.
    #[serde(default)]
    pub crash_recovery_wall_secs: Option<f64>,
}

impl EngineRun {
    /// A run of `engine` in `process` (`child` or `shared`) with nothing
    /// measured yet.
    pub fn new(engine: &str, process: &str) -> Self {
        Self {
            engine: engine.to_owned(),
            process: process.to_owned(),
            peak_rss_bytes: None,
            wall_secs: 0.0,
            error: None,
            crash_recovery_secs: None,
            crash_recovery_error: None,
            crash_recovery_load_secs: None,
            crash_recovery_wall_secs: None,
        }
    }
}

/// A whole run: the `--json` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Always `kv-bench`.
    pub tool: String,
    /// The machine it ran on.
    pub machine: MachineInfo,
    /// The settings (seed included).
    pub settings: Settings,
    /// One entry per engine.
    pub engines: Vec<EngineRun>,
    /// One entry per engine and workload.
    pub results: Vec<WorkloadResult>,
    /// Further runs of workloads repeated to show their spread (fillsync,
    /// see `--repeat-fillsync`): each is a whole result like those of
    /// `results`, which holds the first run.
    #[serde(default)]
    pub repeats: Vec<WorkloadResult>,
    /// Wall time of the whole run (every engine's child, its crash-recovery
    /// phase, the repeats), in seconds; `None` in JSON written before it was
    /// recorded.
    #[serde(default)]
    pub wall_secs: Option<f64>,
    /// Wall time of the repeated runs (`repeats`), in seconds.
    #[serde(default)]
    pub repeats_wall_secs: Option<f64>,
}

impl RunReport {
    /// True if every engine finished.
    pub fn all_engines_finished(&self) -> bool {
        self.engines.iter().all(|e| e.error.is_none())
    }
}
