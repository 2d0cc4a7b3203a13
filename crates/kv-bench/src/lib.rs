//! kv-bench: the benchmark harness (being written).

pub mod registry;
