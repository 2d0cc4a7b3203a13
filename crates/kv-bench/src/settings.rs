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
    /// Writes are synced by `sync()`, which the harness calls at the end of
    /// every phase that wrote.
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
    /// Where stores are created (`None`: a temporary directory).
    pub store_dir: Option<PathBuf>,
    /// How engines are isolated.
    pub isolation: Isolation,
}

impl Settings {
    /// The per-workload time cap.
    pub fn duration(&self) -> Option<Duration> {
        self.config.duration_secs.map(Duration::from_secs_f64)
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
