//! `--suite`: named sets of workloads.
//!
//! - `default`: the default comparison (about two minutes on two cores for
//!   every engine of the default build);
//! - `full`: every workload, YCSB A-F included (the default set plus
//!   readreverse, ycsb-c, ycsb-f, ycsb-d, ycsb-e and deleterandom).

use crate::workload::{Workload, ALL, DEFAULT};

/// A named set of workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    /// The default comparison.
    Default,
    /// Every workload, YCSB A-F included.
    Full,
}

impl Suite {
    /// The workloads of the suite, in canonical order.
    pub fn workloads(self) -> Vec<Workload> {
        match self {
            Suite::Default => DEFAULT.to_vec(),
            Suite::Full => ALL.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_suite_has_every_ycsb_workload() {
        let full = Suite::Full.workloads();
        for name in ["ycsb-a", "ycsb-b", "ycsb-c", "ycsb-d", "ycsb-e", "ycsb-f"] {
            assert!(full.iter().any(|w| w.name() == name), "{name} missing");
        }
        assert!(full.len() > Suite::Default.workloads().len());
    }
}
