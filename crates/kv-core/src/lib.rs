//! # kv-core
//!
//! The seams every kvlab engine is built on:
//!
//! - [`Store`]: the one trait, with its durability contract;
//! - [`Error`]: one structured error type;
//! - [`limits`]: key, value and batch size limits, checked at the boundary;
//! - [`WriteBatch`], [`SyncPolicy`], [`Options`];
//! - [`fs`]: the file-system layer all engine I/O goes through, with I/O
//!   counters;
//! - [`codec`]: the framed, checksummed record format shared by every log;
//! - with feature `testkit`: `SimFs` (deterministic crash simulation),
//!   `FaultFs` (injected I/O errors), the `BTreeMap` model, `MemStore`, and
//!   the conformance suite any engine can run.
//!
//! ```
//! use kv_core::{KeyRange, Direction, Store, WriteBatch};
//! # #[cfg(feature = "testkit")] {
//! let store = kv_core::testkit::MemStore::new();
//! store.put(b"hello", b"world")?;
//! let mut batch = WriteBatch::new();
//! batch.put(b"a", b"1").delete(b"hello");
//! store.write(&batch)?;
//! let all: Vec<_> = store.scan(&KeyRange::all(), Direction::Forward)?.collect::<Result<_, _>>()?;
//! assert_eq!(all, vec![(b"a".to_vec(), b"1".to_vec())]);
//! # }
//! # Ok::<(), kv_core::Error>(())
//! ```

pub mod batch;
pub mod codec;
pub mod error;
pub mod fs;
pub mod group_commit;
pub mod identity;
pub mod limits;
pub mod options;
pub mod poison;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use batch::{BatchOp, WriteBatch};
pub use error::{CorruptionKind, Error, Result};
pub use fs::{CountingFs, File, Fs, IoCounters, StdFs};
pub use group_commit::GroupCommit;
pub use identity::{claim_store_dir, read_identity, Claim, StoreIdentity};
pub use options::{Background, OpenMode, Options, SyncPolicy};
pub use poison::Poison;
pub use store::{
    CheckReport, Damage, Direction, KeyRange, KvPair, ScanIter, Stats, Store, StoreExt,
};
