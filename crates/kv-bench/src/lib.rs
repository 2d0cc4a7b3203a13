//! # kv-bench
//!
//! One harness, every engine, every figure: the engines of [`registry`]
//! (`kv-registry`: ours and the well-known peers behind cargo features), seeded workloads, throughput,
//! latency percentiles, write/read/space amplification, memory and recovery
//! time, as a terminal table, JSON, a Markdown report and SVG charts.

pub mod conformance;

/// The engine registry, the peer adapters and the `null` engine live in the
/// `kv-registry` crate (shared with the `kv` binary, which must not link the
/// test kit); re-exported under their old paths.
pub use kv_registry as registry;
pub use kv_registry::{null, peers};

// The harness: workloads, measurement, reports (see docs/benchmarking.md).
pub mod cli;
pub mod crash;
pub mod machine;
pub mod metrics;
pub mod progress;
pub mod repeat;
pub mod report;
pub mod results;
pub mod runner;
pub mod scale;
pub mod settings;
pub mod suite;
pub mod workload;
