//! One engine through every chosen workload: store lifecycle and measurement.
//!
//! # Store lifecycle
//!
//! - A workload that needs an empty store gets a fresh directory and a fresh
//!   store (the previous store is retired first).
//! - A workload that needs a loaded store reuses the current one if every key
//!   index `0..num` is live in it and its sync policy matches; otherwise the
//!   runner retires it, opens a fresh one and loads it with an untimed
//!   `fillseq` (with `--batch`).
//! - After `fillseq` or `fillrandom` on a persistent engine, the store is
//!   synced, dropped and reopened, and the reopen is timed (`reopen_secs`):
//!   the recovery time of a freshly loaded store. Later workloads run on the
//!   reopened store.
//! - Retiring a store runs `compact()` and records the result on the last
//!   workload that ran on it, then deletes its directory.
//!
//! Every store is opened with the run's sync policy and its cache budget
//! (`--cache-mb`, [`Settings::cache_bytes`]), the same for every engine.
//!
//! # One measurement
//!
//! Counters (`Fs`, `/proc/self/io`) are read and the peak RSS reset; the
//! clock starts; the operations run; if anything was written, `sync()` runs
//! inside the timed region (so buffered engines pay for durability); the clock
//! stops; counters, peak RSS and the directory size are read.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use kv_core::{Error, Result, Store, SyncPolicy};

use super::execute::{
    join_thread, run_full_scan, run_stream, run_threads, LoopSettings, StopWhen, SyncCadence,
    Tally, Target,
};
use crate::metrics::amplification::{disk_usage, ratio, space_amp, DiskUsage};
use crate::metrics::clock::Clock;
use crate::metrics::io::ProcIo;
use crate::metrics::memory::{current_rss_bytes, peak_rss_bytes, reset_peak_rss};
use crate::metrics::syncs::{fs_syncs, syncs_per_write};
use crate::progress::{with_spinner, PhaseProgress};
use crate::registry::{self, EngineInfo, OpenConfig};
use crate::results::{CompactionResult, PeakScope, WorkloadResult};
use crate::settings::{Settings, SyncChoice};
use crate::workload::keys::{KeyFormat, ValuePool};
use crate::workload::live::LiveSet;
use crate::workload::ops::OpStream;
use crate::workload::ycsb::InsertCounter;
use crate::workload::{Needs, Shape, Workload, WorkloadConfig, ALL};

/// The store currently under test.
struct StoreSlot {
    store: Box<dyn Store>,
    dir: PathBuf,
    sync: SyncPolicy,
    live: LiveSet,
    inserts: InsertCounter,
    /// The harness's `sync()` cadence on this store.
    cadence: SyncCadence,
    /// Index in `results` of the first workload measured on this store.
    first_result: usize,
}

/// Runs the workloads of one engine.
pub struct EngineBench<'a> {
    info: EngineInfo,
    settings: &'a Settings,
    /// The settings' workload config, with `threads` set to the count of
    /// the current run (`--threads` may list several).
    config: WorkloadConfig,
    root: PathBuf,
    keys: KeyFormat,
    values: ValuePool,
    slot: Option<StoreSlot>,
    stores_opened: u32,
    results: Vec<WorkloadResult>,
    peak_rss_bytes: Option<u64>,
}

impl<'a> EngineBench<'a> {
    /// Prepares a run of engine `name` with stores under `root/<name>/`.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown engine or bad key or value sizes.
    pub fn new(name: &str, settings: &'a Settings, root: &Path) -> Result<Self> {
        // Calibrate the per-operation clock now, not inside a timed phase.
        Clock::get();
        Ok(Self {
            info: registry::info(name)?,
            settings,
            config: settings.config.clone(),
            root: root.join(name),
            keys: KeyFormat::new(settings.config.key_size)?,
            values: ValuePool::new(settings.config.seed, settings.config.value_size)?,
            slot: None,
            stores_opened: 0,
            results: Vec::new(),
            peak_rss_bytes: None,
        })
    }

    /// Runs every workload of the settings in canonical order and retires
    /// the last store. On error, returns the results so far with the error.
    pub fn run(mut self) -> (Vec<WorkloadResult>, Option<u64>, Option<Error>) {
        let mut workloads = self.settings.workloads.clone();
        workloads.sort_unstable();
        let mut failure = None;
        let counts = self.settings.thread_counts();
        'workloads: for workload in workloads {
            // A threaded workload runs once per `--threads` count, the
            // others once.
            let runs = if workload.is_threaded() {
                &counts[..]
            } else {
                &counts[..1]
            };
            for &threads in runs {
                self.config.threads = threads;
                if let Err(e) = self.run_one(workload) {
                    failure = Some(e);
                    break 'workloads;
                }
            }
        }
        if let Err(e) = self.retire_store() {
            failure.get_or_insert(e);
        }
        let _ = std::fs::remove_dir(&self.root);
        (self.results, self.peak_rss_bytes, failure)
    }

    fn run_one(&mut self, workload: Workload) -> Result<()> {
        self.prepare(workload)?;
        let result = self.measure(workload)?;
        self.results.push(result);
        if matches!(workload, Workload::FillSeq | Workload::FillRandom) && self.info.persistent {
            let secs = self.reopen()?;
            if let Some(last) = self.results.last_mut() {
                last.reopen_secs = Some(secs);
            }
        }
        Ok(())
    }

    fn label(&self, what: &str) -> String {
        format!("{} {what}", self.info.name)
    }

    fn prepare(&mut self, workload: Workload) -> Result<()> {
        let sync = workload
            .forced_sync()
            .unwrap_or_else(|| self.settings.sync.policy());
        let num = self.config.num;
        let reusable = self
            .slot
            .as_ref()
            .is_some_and(|s| s.live.covers(num) && s.sync == sync);
        match workload.needs() {
            Needs::EmptyStore => {
                self.retire_store()?;
                self.open_fresh(sync)
            }
            Needs::LoadedStore if reusable => Ok(()),
            Needs::LoadedStore => {
                self.retire_store()?;
                self.open_fresh(sync)?;
                self.load()
            }
        }
    }

    fn open_fresh(&mut self, sync: SyncPolicy) -> Result<()> {
        self.stores_opened += 1;
        let dir = self.root.join(format!("store-{}", self.stores_opened));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let store = self.open_at(&dir, sync)?;
        // Room for every key of the load plus YCSB D and E inserts.
        let config = &self.config;
        let extra: u64 = ALL.iter().map(|w| w.max_inserts(config)).sum();
        let capacity = config.num + extra;
        self.slot = Some(StoreSlot {
            store,
            dir,
            sync,
            live: LiveSet::new(capacity),
            inserts: InsertCounter::new(config.num, capacity),
            cadence: SyncCadence::new(self.settings.cadence_for(sync)),
            first_result: self.results.len(),
        });
        Ok(())
    }

    fn open_at(&self, dir: &Path, sync: SyncPolicy) -> Result<Box<dyn Store>> {
        let config = OpenConfig {
            sync,
            cache_bytes: self.settings.cache_bytes(),
            ..OpenConfig::default()
        };
        registry::open(self.info.name, dir, &config)
    }

    fn slot(&self) -> Result<&StoreSlot> {
        self.slot
            .as_ref()
            .ok_or_else(|| Error::InvalidArgument("internal: no store is open".into()))
    }

    fn target<'s>(&'s self, slot: &'s StoreSlot) -> Target<'s> {
        Target {
            store: slot.store.as_ref(),
            keys: self.keys,
            values: &self.values,
            live: &slot.live,
            cadence: &slot.cadence,
        }
    }

    /// Loads every key `0..num` with `fillseq` (untimed) and syncs.
    fn load(&mut self) -> Result<()> {
        let slot = self.slot()?;
        let config = &self.config;
        let inserts = slot.inserts.clone();
        let mut streams = Workload::FillSeq.streams(config, &inserts);
        let progress = PhaseProgress::start(&self.label("load (fillseq)"), Some(config.num));
        let reset = reset_peak_rss();
        let settings = LoopSettings {
            batch: config.batch,
            stop: StopWhen::default(),
            value_base: u64::MAX / 2,
            sole_writer: true,
            clock: Clock::get(),
        };
        for stream in &mut streams {
            run_stream(self.target(slot), stream, settings, &progress)?;
        }
        slot.store.sync()?;
        progress.finish();
        if reset {
            self.note_peak(peak_rss_bytes());
        }
        Ok(())
    }

    fn note_peak(&mut self, peak: Option<u64>) {
        if let Some(p) = peak {
            self.peak_rss_bytes = Some(self.peak_rss_bytes.map_or(p, |q| q.max(p)));
        }
    }

    /// Runs the operations of `workload`, whose `streams` were built before
    /// the clock started (a shuffle or a zipfian table is setup, not work).
    fn run_ops(
        &self,
        workload: Workload,
        slot: &StoreSlot,
        streams: Vec<OpStream>,
        progress: &PhaseProgress,
    ) -> Result<(Tally, u64)> {
        let config = &self.config;
        let clock = Clock::get();
        let deadline = self
            .settings
            .duration()
            .map(|d| clock.deadline_ticks(Some(Instant::now() + d)));
        let stop = StopWhen {
            deadline,
            ..StopWhen::default()
        };
        let target = self.target(slot);
        let batch = if workload.batchable() {
            config.batch
        } else {
            1
        };
        let settings = LoopSettings {
            batch,
            stop,
            value_base: (workload as u64) << 40,
            sole_writer: true,
            clock,
        };
        match workload.shape() {
            Shape::Streams => Ok((run_threads(target, streams, settings, progress)?, 0)),
            Shape::FullScan(direction) => {
                Ok((run_full_scan(target, direction, stop, clock, progress)?, 0))
            }
            Shape::ReadersWithWriter => {
                let readers = streams;
                let mut writer = workload.background_writer(config);
                let done = AtomicBool::new(false);
                let writing = AtomicBool::new(false);
                let hidden = PhaseProgress::hidden();
                std::thread::scope(|scope| {
                    let writer_settings = LoopSettings {
                        batch: 1,
                        stop: StopWhen {
                            deadline,
                            flag: Some(&done),
                            started: Some(&writing),
                        },
                        value_base: settings.value_base | (1 << 39),
                        sole_writer: true,
                        clock,
                    };
                    let writer = scope
                        .spawn(move || run_stream(target, &mut writer, writer_settings, &hidden));
                    // Readers start once the writer has written: they read
                    // while it writes, however fast they are.
                    while !writing.load(Relaxed) && !writer.is_finished() {
                        std::thread::yield_now();
                    }
                    let read = run_threads(target, readers, settings, progress);
                    done.store(true, Relaxed);
                    let wrote = join_thread(writer)?;
                    let mut tally = read?;
                    tally.user_bytes_written += wrote.user_bytes_written;
                    Ok((tally, wrote.writes))
                })
            }
        }
    }

    fn planned_ops(&self, workload: Workload, slot: &StoreSlot) -> u64 {
        let config = &self.config;
        match (workload.shape(), workload) {
            (Shape::FullScan(_), _) => slot.live.count(),
            (_, Workload::FillSync) => config.sync_ops.min(config.num),
            (_, Workload::OverwriteSteady) => config
                .num
                .saturating_mul(crate::workload::STEADY_OVERWRITE_FACTOR),
            (_, w) if w.counts_reads() => config.read_ops(),
            _ => config.num,
        }
    }

    fn measure(&mut self, workload: Workload) -> Result<WorkloadResult> {
        let slot = self.slot()?;
        let config = &self.config;
        let streams = workload.streams(config, &slot.inserts);
        // stats() can be O(n) on peers (a key count by scan): only engines
        // whose I/O goes through our Fs have counters worth reading.
        let fs_counted = self.info.uses_fs;
        let fs_before = fs_counted.then(|| slot.store.stats().io);
        let proc_before = ProcIo::read();
        let rss_start = current_rss_bytes();
        let syncs_before = slot.cadence.syncs();
        let scoped = reset_peak_rss();
        let name = self.settings.label(workload, config.threads);
        let planned_ops = self.planned_ops(workload, slot);
        let progress = PhaseProgress::start(&self.label(&name), Some(planned_ops));
        let start = Instant::now();
        let (tally, background_writes) = self.run_ops(workload, slot, streams, &progress)?;
        if tally.writes + background_writes > 0 {
            slot.store.sync()?;
        }
        let elapsed = start.elapsed();
        progress.finish_with(tally.capped);
        let harness_syncs = slot.cadence.syncs() - syncs_before;
        let peak = peak_rss_bytes();
        let proc_io = ProcIo::read()
            .zip(proc_before)
            .map(|(after, before)| after.since(&before));
        let stats_after = fs_counted.then(|| slot.store.stats());
        let fs_io = fs_before
            .zip(stats_after.as_ref())
            .map(|(before, after)| after.io.since(&before));
        let engine_syncs = fs_io.as_ref().map(fs_syncs);
        let disk = self
            .info
            .persistent
            .then(|| disk_usage(&slot.dir))
            .transpose()?;
        let live_keys = slot.live.count();
        let live_bytes = live_keys * (config.key_size + config.value_size) as u64;
        let user = tally.user_bytes_written;
        // Amplification is a property of storage: none for in-memory engines.
        let stored_io = proc_io.filter(|_| self.info.persistent);
        let reads = tally.reads;
        let result = WorkloadResult {
            engine: self.info.name.to_owned(),
            ours: self.info.ours,
            kind: self.info.kind.label().to_owned(),
            persistent: self.info.persistent,
            workload: name,
            threads: workload.threads(config),
            batch: if workload.batchable() {
                config.batch
            } else {
                1
            },
            sync: SyncChoice::name_of(slot.sync).to_owned(),
            sync_every: slot.cadence.every(),
            harness_syncs,
            engine_syncs,
            syncs_per_write: syncs_per_write(engine_syncs, tally.writes + background_writes),
            ops: tally.ops,
            reads,
            writes: tally.writes,
            found: tally.found,
            items_scanned: tally.items_scanned,
            background_writes,
            capped_by_duration: tally.capped,
            planned_ops,
            elapsed_secs: elapsed.as_secs_f64(),
            ops_per_sec: per_second(tally.ops, elapsed),
            ns_per_op: if tally.ops > 0 {
                elapsed.as_nanos() as f64 / tally.ops as f64
            } else {
                0.0
            },
            latency: tally.latency.summary(),
            user_bytes_written: user,
            fs_io,
            proc_io,
            write_amp_fs: fs_io.and_then(|io| ratio(io.bytes_written, user)),
            write_amp_wchar: stored_io.and_then(|io| ratio(io.wchar, user)),
            write_amp_device: stored_io.and_then(|io| ratio(io.device_write_bytes(), user)),
            write_amp_with_compaction: None,
            read_bytes_per_read_fs: fs_io.and_then(|io| ratio(io.bytes_read, reads)),
            read_calls_per_read_fs: fs_io.and_then(|io| ratio(io.read_calls, reads)),
            rchar_per_read: stored_io.and_then(|io| ratio(io.rchar, reads)),
            live_keys,
            live_bytes,
            disk,
            space_amp: disk.and_then(|d| space_amp(&d, live_bytes)),
            space_amp_apparent: disk.and_then(|d| ratio(d.file_bytes, live_bytes)),
            compaction: None,
            reopen_secs: None,
            rss_start_bytes: rss_start,
            peak_rss_bytes: peak,
            peak_rss_scope: if scoped {
                PeakScope::Workload
            } else {
                PeakScope::Process
            },
            engine_stats: stats_after.map(|stats| stats.extra),
        };
        self.note_peak(peak);
        Ok(result)
    }

    /// Syncs, closes and reopens the store; returns the time from the start
    /// of the close through the end of the open.
    fn reopen(&mut self) -> Result<f64> {
        let Some(slot) = self.slot.take() else {
            return Err(Error::InvalidArgument(
                "internal: no store to reopen".into(),
            ));
        };
        let StoreSlot {
            store,
            dir,
            sync,
            live,
            inserts,
            cadence,
            first_result,
        } = slot;
        store.sync()?;
        let start = Instant::now();
        let store = with_spinner(&self.label("reopen"), || {
            store.close()?;
            self.open_at(&dir, sync)
        })?;
        let secs = start.elapsed().as_secs_f64();
        self.slot = Some(StoreSlot {
            store,
            dir,
            sync,
            live,
            inserts,
            cadence,
            first_result,
        });
        Ok(secs)
    }

    /// Compacts the current store, records it on its last workload, and
    /// deletes it.
    fn retire_store(&mut self) -> Result<()> {
        let Some(slot) = self.slot.take() else {
            return Ok(());
        };
        let config = &self.config;
        if self.results.len() > slot.first_result {
            let before = self.disk_of(&slot.dir)?;
            let fs_before = self.info.uses_fs.then(|| slot.store.stats().io);
            let proc_before = ProcIo::read();
            let start = Instant::now();
            with_spinner(&self.label("compact"), || {
                slot.store.compact()?;
                slot.store.sync()
            })?;
            let secs = start.elapsed().as_secs_f64();
            let proc_io = ProcIo::read()
                .zip(proc_before)
                .map(|(after, before)| after.since(&before));
            let fs_io = fs_before.map(|before| slot.store.stats().io.since(&before));
            let after = self.disk_of(&slot.dir)?;
            let live_bytes = slot.live.count() * (config.key_size + config.value_size) as u64;
            let persistent = self.info.persistent;
            if let Some(last) = self.results.last_mut() {
                let compaction = CompactionResult {
                    secs,
                    disk_before: before,
                    disk_after: after,
                    space_amp_after: persistent.then(|| space_amp(&after, live_bytes)).flatten(),
                    proc_io: proc_io.filter(|_| persistent),
                    fs_io,
                };
                last.write_amp_with_compaction = with_compaction(last, &compaction);
                last.compaction = Some(compaction);
            }
        }
        let dir = slot.dir.clone();
        drop(slot);
        // Best effort: a leftover directory costs disk space, not correctness.
        let _ = std::fs::remove_dir_all(dir);
        Ok(())
    }

    fn disk_of(&self, dir: &Path) -> Result<DiskUsage> {
        Ok(disk_usage(dir)?)
    }
}

/// Write amplification of `result`'s workload plus the compaction that
/// followed it: `(workload wchar + compaction wchar) / user bytes`.
pub fn with_compaction(result: &WorkloadResult, compaction: &CompactionResult) -> Option<f64> {
    let workload = result.proc_io.filter(|_| result.persistent)?;
    let compacted = compaction.proc_io?;
    ratio(workload.wchar + compacted.wchar, result.user_bytes_written)
}

fn per_second(ops: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        ops as f64 / secs
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::Cli;

    /// `--cache-mb` reaches the engine: a peer reports the budget it was
    /// opened with in `Stats::extra["cache_bytes"]`.
    #[cfg(feature = "redb")]
    #[test]
    fn stores_are_opened_with_the_cache_budget() {
        let cli =
            Cli::try_parse_from(["kv-bench", "--engines", "redb", "--cache-mb", "32"]).unwrap();
        let settings = cli.run.settings().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut bench = EngineBench::new("redb", &settings, dir.path()).unwrap();
        bench.open_fresh(SyncPolicy::Manual).unwrap();
        let stats = bench.slot().unwrap().store.stats();
        assert_eq!(stats.extra.get("cache_bytes"), Some(&(32 << 20)));
    }
}
