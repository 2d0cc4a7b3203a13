//! # kv-bench
//!
//! One harness, every engine, every figure: an engine [`registry`] (ours and
//! the well-known peers behind cargo features), seeded workloads, throughput,
//! latency percentiles, write/read/space amplification, memory and recovery
//! time, as a terminal table, JSON, a Markdown report and SVG charts.

pub mod registry;
