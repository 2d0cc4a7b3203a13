//! # kv-btree
//!
//! A copy-on-write B+tree storage engine in the family of LMDB, bbolt and
//! redb, built on kv-core: one file of 4 KiB pages, two commit slots, a
//! persisted free list, a node cache, and no log.
//!
//! ```
//! use kv_btree::{Btree, BtreeOptions};
//! use kv_core::{Options, Store, StoreExt, SyncPolicy};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Btree::open(dir.path(), BtreeOptions::new(Options::new().sync(SyncPolicy::Always)))?;
//! store.put(b"apple", b"red")?;
//! store.put(b"banana", b"yellow")?;
//! assert_eq!(store.get(b"apple")?, Some(b"red".to_vec()));
//! assert_eq!(store.scan_all()?.len(), 2);
//! assert!(store.check()?.is_clean());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## How it is built
//!
//! - [`page`]: runs of 4 KiB pages, each with a header (kind, page number,
//!   transaction id) inside a crc32, so a torn, misplaced or stale run is
//!   detected when read.
//! - [`node`]: leaves (keys with inline values up to 1 KiB, or references
//!   to overflow runs) and branches (shortened separators, child
//!   references that carry the child's transaction id and length).
//! - [`split`]: where nodes are cut on insert, merged or rebalanced on
//!   delete; every leaf stays at one depth.
//! - [`txn`]: copy-on-write write transactions; [`writer`]-side free space
//!   in [`freelist`]; the commit protocol in [`durable`]; the two slots in
//!   [`commit_slot`].
//! - [`pager`]: the page cache (quick_cache, `cache_bytes`, holding
//!   [`node::view::NodeView`]s searched in place) and the runs
//!   committed in memory; [`cursor`]: snapshot scans; `check()` and vacuum.
//!
//! # Memory
//!
//! The node cache holds at most `cache_bytes` (each view weighed at the
//! capacity of its buffer); the runs committed but not yet written hold
//! about three times [`BtreeOptions::dirty_budget_bytes`] at most (see
//! there). View buffers of up to 8 KiB are recycled through one pool per
//! process, which keeps at most 16 MiB of idle buffers for all the stores
//! of the process (`node/view/pool.rs`).
//!
//! `docs/btree.md` is the chapter on the design; `docs/format-btree.md`
//! the on-disk format with a worked example.
//!
//! # Durability
//!
//! - `SyncPolicy::Always`: every write is one transaction made durable
//!   before it returns: its pages are written and synced, then its commit
//!   slot is written and synced.
//! - `SyncPolicy::Manual`: a write commits in memory (readers see it at
//!   once; nothing is written); `sync()` makes every earlier commit durable
//!   in one commit. Once the runs held in memory exceed
//!   [`BtreeOptions::dirty_budget_bytes`] (64 MiB by default) the next
//!   commit is made durable on its own.
//! - `SyncPolicy::Interval`: as `Manual`, plus a background thread that
//!   makes the newest commit durable every `interval_ms` (and a commit made
//!   when the interval has passed is made durable at once). Under
//!   `Background::Inline` no thread is started and every commit is made
//!   durable, which keeps the promise of at most `interval_ms` of loss
//!   deterministically.
//! - Dropping the store (or [`kv_core::Store::close`]) makes every commit
//!   durable.
//! - A crash leaves the newest durable commit, or one the crash tore (its
//!   slot checksum fails) falls back to the one before: never a half batch.
//!
//! # Errors
//!
//! `Corruption` for any run or slot that fails verification (with the
//! file and offset). `check()` returns `Ok(report)` listing every finding
//! in `report.damage` on any handle (`Err` only for I/O failures);
//! `Poisoned` after a failed write or sync; `ReadOnly`
//! for writes on a store opened `ReadOnly` or `Verify`; `TooLarge` for
//! oversized keys, values and batches; `Locked`, `WrongEngine`, `NoStore`,
//! `ForeignDirectory` from open.
//!
//! # Panics
//!
//! Never on bad input or damaged files: decoders are bounds-checked and
//! return `Corruption`.

pub mod check;
pub mod commit_slot;
pub mod cursor;
pub mod durable;
pub mod freelist;
mod interval;
pub mod node;
pub mod open;
pub mod options;
pub mod page;
pub mod pager;
pub mod read;
pub mod split;
pub mod stats;
pub mod store;
pub mod txn;
pub mod vacuum;
pub mod writer;
pub mod written;

pub use options::{BtreeOptions, Shape};
pub use store::{Btree, ENGINE_NAME, FILE_NAME};
