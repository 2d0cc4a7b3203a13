//! Test support for engines (feature `testkit`): [`SimFs`] for deterministic
//! crash simulation, [`FaultFs`] for injected I/O errors, the `BTreeMap`
//! [`Model`], the in-memory reference [`MemStore`], seeds from `KV_SEED`, and
//! the [`conformance`] suite every engine passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod conformance;
mod fault_fs;
mod mem_store;
mod model;
mod seed;
mod sim_fs;

pub use fault_fs::*;
pub use mem_store::*;
pub use model::*;
pub use seed::*;
pub use sim_fs::*;
