//! Measurements: latency histograms, I/O counters (the engine's `Fs` and
//! `/proc/self/io`), memory (peak RSS), amplification and disk usage, syncs per write.

pub mod amplification;
pub mod clock;
pub mod io;
pub mod latency;
pub mod memory;
pub mod syncs;
