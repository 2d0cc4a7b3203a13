//! # kv-bitcask
//!
//! The storage engine of the Bitcask paper (Sheehy & Smith, 2010) and of
//! basho/bitcask, on kvlab's seams: every write is appended to the active
//! data file; an in-memory, ordered *keydir* maps every live key to the file,
//! offset, length and sequence number of its newest record; a read is one
//! keydir lookup plus one positioned read. Immutable files get *hint* files
//! so open need not read the data, and *merge* rewrites live records to
//! reclaim the space of dead ones. `docs/bitcask.md` explains the design,
//! the formats and the invariants.
//!
//! ```
//! use kv_bitcask::{Bitcask, BitcaskOptions};
//! use kv_core::{Store, StoreExt, WriteBatch};
//!
//! let dir = tempfile::tempdir()?;
//! let store = Bitcask::open(dir.path(), BitcaskOptions::default())?;
//! store.put(b"hello", b"world")?;
//! let mut batch = WriteBatch::new();
//! batch.put(b"a", b"1").delete(b"hello");
//! store.write(&batch)?;
//! store.put_with_ttl(b"session", b"x", std::time::Duration::from_secs(60))?;
//! store.sync()?;
//! assert_eq!(store.get(b"a")?, Some(b"1".to_vec()));
//! assert_eq!(store.get(b"hello")?, None);
//! store.compact()?;
//! drop(store);
//!
//! let store = Bitcask::open(dir.path(), BitcaskOptions::default())?;
//! assert_eq!(store.scan_all()?.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Durability
//!
//! - `SyncPolicy::Always`: each write is flushed and synced (the directory
//!   too, after a new file) before it returns. The active file is extended
//!   ahead of its data ([`BitcaskOptions::preallocate_bytes`]), so most of
//!   those syncs have no file size change to persist.
//! - `SyncPolicy::Manual`: writes collect in a write buffer
//!   ([`BitcaskOptions::write_buffer_bytes`]) and reach the file system in
//!   one call when it fills; `sync()` flushes and syncs.
//! - `SyncPolicy::Interval`: as `Manual`, plus a sync by the first write
//!   after the interval has passed and by a background thread when writes
//!   stop.
//! - A batch is one framed record group: after a crash all of it or none.
//! - Open makes what it recovered durable (the reused active file, then the
//!   directory) before it returns, so a state a reopen showed survives a
//!   later crash even if nothing is synced after it.
//! - Dropping the store flushes, trims the active file's preallocated
//!   space, syncs, records the active file's durable frontier and writes
//!   its hint; `Store::close` does the same and reports a failure.
//! - Torn tail or corruption under reordered writeback: data files carry
//!   the codec's durable frontier (format 2, see `docs/format-record.md`).
//!   In the file a crash may have torn, damage at or above the highest
//!   frontier is a torn tail (truncated, dropping the unsynced records
//!   after it); below it, it is `Corruption`.
//!
//! # Background work and open modes
//!
//! - `Background::Threads` (default): automatic merges and `Interval`
//!   syncs run on one maintenance thread. `Background::Inline`: no thread;
//!   the write that rolls the active file over (and every 1024th write)
//!   runs the merge policy itself, and `Interval` syncs happen in the first
//!   write or `sync` after the interval.
//! - `OpenMode::ReadOnly`: recovery in memory only (no torn-tail
//!   truncation, no new active file, no hint rewrite, no merge, no thread,
//!   a shared lock, files opened with `Fs::open_read`); writes and
//!   `compact` return `ReadOnly`. `OpenMode::Verify`: the same, but damage
//!   is recorded instead of failing the open, and `check()` lists it.
//! - `Options::cache_bytes` is ignored: bitcask keeps no cache (a read is
//!   one positioned read; the keydir is the only in-memory structure).
//! - The store directory holds the `KVLAB` marker (engine `bitcask`, store
//!   format 3) and the `FILESET` record; a directory of `*.data`/`*.hint`
//!   files without a marker is a store from before markers and is opened
//!   (the marker is then added); a store of format 2 or less gets its
//!   `FILESET` (and marker format 3) at its first read-write open.
//!
//! # Errors
//!
//! - `Locked`: another handle has the directory open (a read-only open
//!   takes a shared lock: it is refused only beside a writer).
//! - `WrongEngine`: the directory holds another engine's store;
//!   `ForeignDirectory`: it holds files that are not a store; `NoStore`: a
//!   read-only open of a directory without a store (nothing is created).
//! - `ReadOnly`: a write or `compact` on a store opened `ReadOnly` or
//!   `Verify`.
//! - `Corruption { file, offset }`: a record fails its CRC, key or sequence
//!   check on read; at open, damage with valid data after it, or a bad tail
//!   in a data file no crash could have torn (only the newest file can be;
//!   opt in to [`BitcaskOptions::salvage`] to drop the damage, reported in
//!   `stats()`); and whole-file damage, found with the store's file-set
//!   record ([`file_set`]) and the file id in every data file's header: a
//!   listed file missing, a sealed file of another length than when it was
//!   sealed, a file cut below what its hint covers, emptied, or holding
//!   another file's bytes (`docs/bitcask.md`, section 7.1). A merge that
//!   meets damage fails with it and deletes nothing.
//! - `InvalidArgument`: bad options, or sequence numbers or data file ids
//!   used up.
//! - `Poisoned`: an earlier write, sync or merge commit failed; reopen.
//! - `check()` returns `Ok(report)` on a damaged store, with every damaged
//!   spot in `report.damage`; only I/O failures (and `Poisoned`) are `Err`.
//! - `TooLarge`: a key, value or batch over `kv_core::limits`, nothing
//!   written.
//!
//! # Panics
//!
//! None on any input or disk contents.

pub mod data_file;
pub mod entry_list;
pub mod expiry_index;
pub mod file_set;
pub mod hint;
pub mod key_bound;
pub mod keydir;
pub mod log_scan;
pub mod merge_commit;
pub mod options;
pub mod salvage;
pub mod state;
pub mod stats;
pub mod ttl;

mod check;
mod index_lock;
mod lock_hold;
mod log;
mod maintenance;
mod merge;
mod merge_health;
mod merge_output;
mod read;
mod recovery;
mod scan;
mod shared_state;
mod store;
mod store_dir;
mod unflushed;
mod writer;

pub use options::{BitcaskOptions, MergePolicy};
pub use recovery::{resolve, torn_tail};
pub use store::Bitcask;
pub use ttl::{Clock, ManualClock, SystemClock};
