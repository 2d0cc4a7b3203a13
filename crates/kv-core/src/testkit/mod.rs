//! Test support for engines (feature `testkit`): [`SimFs`] for deterministic
//! crash simulation, [`FaultFs`] for injected I/O errors, the `BTreeMap`
//! [`Model`], the in-memory reference [`MemStore`], seeds from `KV_SEED`, and
//! the [`conformance`] suite every engine passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod conformance;
mod fault_fs;
mod model;
mod seed;
mod sim_fs;

/// The in-memory reference store, now in kv-core proper; re-exported here so
/// `kv_core::testkit::MemStore` keeps working.
pub use crate::mem_store::MemStore;
pub use fault_fs::*;
pub use model::*;
pub use seed::*;
pub use sim_fs::*;
