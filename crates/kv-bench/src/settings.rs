//! [`Settings`]: everything that defines a benchmark run, validated, and
//! recorded in the JSON output.

use std::path::PathBuf;
use std::time::Duration;

use kv_core::SyncPolicy;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::workload::{Workload, WorkloadConfig};

/// The sync policy of the stores (`fillsync` always uses `Always`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SyncChoice {
    /// Every write is synced before it returns.
    Always,
    /// Writes are synced by `sync()`, which the harness calls on every
    /// engine after every [`Settings::sync_every`] acknowledged writes and at
    /// the end of every phase that wrote.
    Manual,
}

impl SyncChoice {
    /// The kv-core policy.
    pub fn policy(self) -> SyncPolicy {
        match self {
            SyncChoice::Always => SyncPolicy::Always,
            SyncChoice::Manual => SyncPolicy::Manual,
        }
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SyncChoice::Always => "always",
            SyncChoice::Manual => "manual",
        }
    }

    /// The name of a policy as reported in results.
    pub fn name_of(policy: SyncPolicy) -> &'static str {
        match policy {
            SyncPolicy::Always => "always",
            SyncPolicy::Manual => "manual",
            SyncPolicy::Interval { .. } => "interval",
        }
    }
}

/// How engines are isolated from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isolation {
    /// Each engine runs in its own child process (`kv-bench --single-engine
    /// NAME`): peak RSS and `/proc/self/io` are that engine's alone.
    Process,
    /// Every engine runs in this process, one after the other.
    Shared,
}

/// Default harness sync cadence under `--sync manual` (`--sync-every`):
/// one `sync()` per 10,000 acknowledged writes, on every engine. It bounds
/// what a crash can lose to the same count everywhere, and gives engines
/// that reclaim space only at durable commits (redb) the same durable
/// commits as everyone else.
pub const DEFAULT_SYNC_EVERY: u64 = 10_000;

/// Default cache budget per engine, in MiB (`--cache-mb`): the same 64 MiB
/// as [`crate::peers::DEFAULT_CACHE_BYTES`].
pub const DEFAULT_CACHE_MB: u64 = 64;

/// Largest `--cache-mb` (64 GiB).
pub const MAX_CACHE_MB: u64 = 64 * 1024;

/// Bytes in one unit of `--cache-mb` (a mebibyte).
const BYTES_PER_CACHE_MB: u64 = 1 << 20;

/// What one engine does with the cache budget, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineCache {
    /// Engine name.
    pub engine: String,
    /// What the budget is given to (the registry's `EngineInfo::cache`),
    /// e.g. `fjall block cache (cache_size)` or `none (in memory)`.
    pub cache: String,
    /// Under `--sync manual`, where an acknowledged unsynced write lives and
    /// what a process crash can lose (the registry's `EngineInfo::unsynced`).
    #[serde(default)]
    pub unsynced: String,
}

impl EngineCache {
    /// The registry's cache description of every engine in `engines` that
    /// it knows, in the same order.
    pub fn of(engines: &[String]) -> Vec<EngineCache> {
        engines
            .iter()
            .filter_map(|name| crate::registry::info(name).ok())
            .map(|info| EngineCache {
                engine: info.name.to_owned(),
                cache: info.cache.to_owned(),
                unsynced: info.unsynced.to_owned(),
            })
            .collect()
    }
}

/// A validated benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Engines, in the order they run.
    pub engines: Vec<String>,
    /// Workloads, in canonical order.
    #[serde(serialize_with = "ser_workloads", deserialize_with = "de_workloads")]
    pub workloads: Vec<Workload>,
    /// Sizes, counts and the seed.
    #[serde(flatten)]
    pub config: WorkloadConfig,
    /// Sync policy of the stores.
    pub sync: SyncChoice,
    /// Under `manual`: the harness calls `sync()` after every this many
    /// acknowledged writes (0: only at the end of each phase that wrote).
    #[serde(default = "default_sync_every")]
    pub sync_every: u64,
    /// Where stores are created (`None`: a temporary directory).
    pub store_dir: Option<PathBuf>,
    /// How engines are isolated.
    pub isolation: Isolation,
    /// Cache budget of every engine that has a cache, in MiB (`--cache-mb`):
    /// passed to each engine as `OpenConfig::cache_bytes`.
    #[serde(default = "default_cache_mb")]
    pub cache_mb: u64,
    /// What each engine does with that budget, in engine order (see
    /// [`EngineCache::of`]).
    #[serde(default)]
    pub engine_caches: Vec<EngineCache>,
}

fn default_sync_every() -> u64 {
    DEFAULT_SYNC_EVERY
}

fn default_cache_mb() -> u64 {
    DEFAULT_CACHE_MB
}

impl Settings {
    /// The harness's sync cadence for a store opened with `policy`: every
    /// [`Settings::sync_every`] writes under `Manual`, none otherwise (every
    /// write is already durable under `Always`).
    pub fn cadence_for(&self, policy: SyncPolicy) -> u64 {
        match policy {
            SyncPolicy::Manual => self.sync_every,
            SyncPolicy::Always | SyncPolicy::Interval { .. } => 0,
        }
    }

    /// The thread counts of the threaded workloads (at least one).
    pub fn thread_counts(&self) -> Vec<usize> {
        if self.config.thread_counts.is_empty() {
            vec![self.config.threads.max(1)]
        } else {
            self.config.thread_counts.clone()
        }
    }

    /// True if the threaded workloads run at several thread counts: their
    /// results are then labelled with the count (see [`Settings::label`]).
    pub fn sweeps_threads(&self) -> bool {
        self.config.thread_counts.len() > 1
    }

    /// The name a result of `workload` run with `threads` threads is
    /// reported under: the workload's name, or `NAME/Nt` (`fillsync/4t`)
    /// when the run sweeps thread counts and the workload is threaded, so
    /// every report groups and compares results of one thread count.
    pub fn label(&self, workload: Workload, threads: usize) -> String {
        if self.sweeps_threads() && workload.is_threaded() {
            format!("{}/{threads}t", workload.name())
        } else {
            workload.name().to_owned()
        }
    }

    /// The per-workload time cap.
    pub fn duration(&self) -> Option<Duration> {
        self.config.duration_secs.map(Duration::from_secs_f64)
    }

    /// The cache budget in bytes (`cache_mb` MiB), as engines are given it.
    pub fn cache_bytes(&self) -> usize {
        usize::try_from(self.cache_mb.saturating_mul(BYTES_PER_CACHE_MB)).unwrap_or(usize::MAX)
    }

    /// Where an acknowledged unsynced write of `engine` lives, if known.
    pub fn unsynced_of(&self, engine: &str) -> Option<&str> {
        self.engine_caches
            .iter()
            .find(|c| c.engine == engine)
            .map(|c| c.unsynced.as_str())
    }

    /// What `engine` does with the cache budget, if known.
    pub fn cache_of(&self, engine: &str) -> Option<&str> {
        self.engine_caches
            .iter()
            .find(|c| c.engine == engine)
            .map(|c| c.cache.as_str())
    }
}

fn ser_workloads<S: Serializer>(workloads: &[Workload], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(workloads.iter().map(|w| w.name()))
}

fn de_workloads<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Workload>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    names
        .iter()
        .map(|n| {
            Workload::from_name(n)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown workload '{n}'")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cache_budget_is_the_registry_default() {
        assert_eq!(
            DEFAULT_CACHE_MB * BYTES_PER_CACHE_MB,
            crate::peers::DEFAULT_CACHE_BYTES as u64
        );
    }

    #[test]
    fn engine_caches_follow_the_registry() {
        let caches = EngineCache::of(&["memory".into(), "bitcask".into(), "nope".into()]);
        let names: Vec<&str> = caches.iter().map(|c| c.engine.as_str()).collect();
        assert_eq!(names, ["memory", "bitcask"]);
        assert_eq!(
            caches[0].cache,
            crate::registry::info("memory").unwrap().cache
        );
    }
}
