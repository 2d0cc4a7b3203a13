//! # kv-lsm: an LSM-tree engine with leveled compaction
//!
//! The engine of LevelDB, RocksDB and fjall, on kv-core: writes go to a
//! write-ahead log and a skiplist memtable; full memtables are flushed to
//! sorted tables in L0; leveled compaction merges them down into levels that
//! grow ten times each. Reads merge the memtables and tables through the
//! merging iterator of [`kv_core::merge_iter`]. The design, every on-disk
//! format and the crash barriers are in `docs/lsm.md`.
//!
//! ```
//! use kv_core::{Options, Store, WriteBatch, KeyRange, Direction};
//! use kv_lsm::{Lsm, LsmOptions};
//! let dir = tempfile::tempdir()?;
//! let store = Lsm::open(dir.path().join("db"), LsmOptions::new(Options::new()))?;
//! store.put(b"hello", b"world")?;
//! let mut batch = WriteBatch::new();
//! batch.put(b"a", b"1").delete(b"hello");
//! store.write(&batch)?;
//! let all: Vec<_> = store.scan(&KeyRange::all(), Direction::Forward)?.collect::<Result<_, _>>()?;
//! assert_eq!(all, vec![(b"a".to_vec(), b"1".to_vec())]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Durability
//!
//! - `SyncPolicy::Always`: the WAL is synced before a write returns.
//! - `SyncPolicy::Manual`: WAL records collect in a 64 KiB buffer and reach
//!   the file system when it fills; `sync()` appends and syncs. The WAL of a
//!   full memtable is synced when the memtable becomes immutable.
//! - `SyncPolicy::Interval`: as `Manual`, plus a sync by the first write after
//!   the interval and by a timer thread (also under `Background::Inline`).
//! - A batch is one framed WAL group and becomes visible at once (one
//!   `visible_seq` step): after a crash, all of it or none.
//! - A flushed or compacted table and its directory entry are durable before
//!   the manifest edit naming it; a WAL or input table is removed only after
//!   the edit that makes it obsolete is durable.
//! - Open makes what it recovered durable (flushed to a table, new manifest,
//!   CURRENT swapped) before it returns.
//! - Dropping the store stops its threads and syncs the WAL (best effort);
//!   [`kv_core::Store::close`] reports a failure of that sync.
//!
//! # Errors
//!
//! - `Locked`: another handle holds the directory.
//! - `WrongEngine`, `ForeignDirectory`, `NoStore` from the identity check.
//! - `Corruption { file, offset }`: a block, footer, WAL record or manifest
//!   edit fails its checksum or invariants, on open or on the read that meets
//!   it. `OpenMode::Verify` records damage instead and `check()` lists it.
//! - `Poisoned` after a failed write, sync, flush or compaction.
//! - `ReadOnly` for writes on a read-only open.
//!
//! # Panics
//!
//! None on any input or any bytes on disk: decoders are bounds-checked and
//! the lint wall denies `unwrap`, `expect` and `panic` in engine code.
//!
//! # Statistics
//!
//! By default `stats().live_keys` is an **estimate** (`live_keys_exact` is
//! false) from the table properties and memtable entries: versions not yet
//! merged count, tombstones subtract. With [`LsmOptions::exact_live_keys`]
//! on, it is exact (`live_keys_exact` true): each write looks up whether its
//! key was live (which costs throughput), and open counts the live keys with
//! one full scan.
//! `check()` always counts the exact number. `extra` holds files and bytes
//! per level, memtable, WAL and manifest bytes, flushes, compactions, trivial
//! moves and the bytes they read and wrote, stalls and stall time, bloom
//! negatives, block cache hits, misses and bytes, open table files,
//! `write_amp_x100`, `compaction_tiered` (0 leveled, 1 tiered),
//! `sorted_runs` and `range_tombstones` (in memtables and tables).
//!
//! # Compaction strategies and range deletes
//!
//! [`LsmOptions::compaction`] picks leveled (the default) or tiered
//! ([`CompactionStrategy::Tiered`]) compaction at open; it is recorded in
//! the manifest and may change from one open to the next. `delete_range`
//! writes one range tombstone ([`RangeTombstone`]) whatever the number of
//! keys it covers; it is one WAL record, so after a crash all of it or none
//! of it is there. `docs/lsm.md` sections 14 and 15.

pub mod background;
pub mod cache;
pub mod check;
pub mod compaction;
pub mod files;
pub mod flush;
pub mod ikey;
pub mod inner;
pub mod manifest;
pub mod memtable;
pub mod open;
pub mod options;
pub mod range_del;
pub mod range_del_log;
pub mod read;
pub mod stats;
pub mod store;
pub mod table;
pub mod table_cache;
pub mod version;
pub mod wal;
pub mod write;

pub use compaction::{CompactionStrategy, TieredOptions};
pub use options::LsmOptions;
pub use range_del::RangeTombstone;
pub use store::Lsm;

/// The store format version recorded in the `KVLAB` marker (2: WALs carry
/// durable frontier records; stores marked 1 are still opened and read).
pub const FORMAT_VERSION: u32 = 2;
