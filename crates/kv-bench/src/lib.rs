//! # kv-bench
//!
//! One harness, every engine, every figure: an engine [`registry`] (ours and
//! the well-known peers behind cargo features), seeded workloads, throughput,
//! latency percentiles, write/read/space amplification, memory and recovery
//! time, as a terminal table, JSON, a Markdown report and SVG charts.

pub mod conformance;
pub mod null;
pub mod peers;
pub mod registry;

// The harness: workloads, measurement, reports (see docs/benchmarking.md).
pub mod cli;
pub mod machine;
pub mod metrics;
pub mod progress;
pub mod report;
pub mod results;
pub mod runner;
pub mod settings;
pub mod workload;
