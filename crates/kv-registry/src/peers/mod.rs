//! Peers: well-known embedded stores behind kvlab's [`kv_core::Store`] trait,
//! so the benchmark and the conformance table can compare them with ours.
//!
//! Every peer is opened through [`PeerStore`], which gives all of them the
//! same behaviour at the edges:
//!
//! - **Limits**: `kv_core::limits` checks run first, so an oversized key,
//!   value or batch is `TooLarge` exactly as in our engines, with nothing
//!   written.
//! - **Identity**: before anything else the directory is claimed with
//!   kv-core's `KVLAB` marker naming the peer ([`claim_peer_dir`]), so a
//!   store of another engine is `Error::WrongEngine` and a directory of
//!   unrelated files `Error::ForeignDirectory`, before the peer creates a
//!   file; a directory holding only the peer's subdirectory (written before
//!   markers) is recognised as the peer's.
//! - **Locking**: kvlab's own `LOCK` file is taken in the store directory
//!   (`kv_core::fs::lock_store_dir` on `StdFs`) before the peer opens, and held
//!   until the store is dropped, so a second open is `Error::Locked` for every
//!   peer. The peer's own files live in a subdirectory named after it
//!   (`DIR/redb/`, `DIR/fjall/`, ...), away from the lock file.
//! - **Poisoning**: a failed write or sync poisons the handle; later writes
//!   return `Error::Poisoned` until it is reopened, as the `Store` contract
//!   asks (some peers poison themselves too).
//! - **Sync policy**: [`SyncPolicy::Always`] commits every write or batch with
//!   a durable sync on every peer, at the same level everywhere: `fdatasync`
//!   (or the peer's equivalent), as kvlab's `StdFs::sync` does, never a full
//!   `fsync` for one engine and `fdatasync` for the rest; `Manual` defers durability to
//!   [`kv_core::Store::sync`]; `Interval` is `Manual` plus a background
//!   thread that calls the peer's durable sync every `interval_ms` while there
//!   are unsynced writes (sled also runs its own flusher at that interval).
//! - **Cache**: one budget, [`PeerConfig::cache_bytes`], passed to every peer
//!   that has a cache of its own, reported in `Stats::extra["cache_bytes"]`.
//! - **Compression**: off everywhere (our engines do not compress).
//! - **Errors**: peer errors become `Error::Io` (with the peer's message) or
//!   `Error::Corruption` where the peer says the data is corrupt; adapters never
//!   panic.
//! - **Stats**: peers do not write through our `Fs`, so `Stats::io` stays zero
//!   (the benchmark measures them with `/proc/self/io`); `disk_bytes` sums the
//!   sizes of every file under the directory with `std::fs` (allocated blocks in
//!   `extra["disk_allocated_bytes"]`); `live_keys` is exact: redb and LMDB
//!   keep the count, fjall and sled count it with a scan of every key at each
//!   `stats()` call (O(n); `extra["live_keys_known"]` is 0 only if that scan
//!   failed); `live_bytes` is not known cheaply by any peer and is 0.
//!
//! | peer | `Always` | `Manual`, and `sync()` | cache budget | compact | check |
//! |---|---|---|---|---|---|
//! | redb | `Durability::Immediate` per commit | `Durability::None` commits; `sync()` = an empty `Immediate` commit | `Builder::set_cache_size` | `Database::compact` | `Database::check_integrity` |
//! | fjall | `persist(SyncData)` (`fdatasync` of the journal) after each write, batch `durability(SyncData)` | journal flushed to the OS per write, no sync; `sync()` = `persist(SyncData)` | `cache_size` | rotate memtable + major compaction | full scan (block checksums verified on read) |
//! | lmdb (heed) | default env flags: every commit is synced | `NO_SYNC` env flag; `sync()` = `mdb_env_sync(force)` | none: LMDB reads through the OS page cache (`mmap`) | no-op (see `peers::lmdb`) | full scan |
//! | sled | `flush()` + `fdatasync` of its log after each write (sled's own flush is only `sync_file_range` on Linux) | no flush, `flush_every_ms(None)`; `sync()` = `flush()` + `fdatasync` | `cache_capacity` | no-op (see `peers::sled`) | full scan |
//! | rocksdb (feature off by default) | `WriteOptions::set_sync(true)` | WAL written, not synced; `sync()` = `flush_wal(true)` | LRU block cache | `compact_range(None, None)` | full scan with checksums verified |
//!
//! Key encoding: fjall and LMDB refuse the empty key, which kvlab allows, so
//! their adapters store every key behind a one-byte prefix (see
//! [`key_prefix`]); order is preserved. LMDB also caps keys at its compiled
//! maximum (about 1.9 KiB with 4 KiB pages, `longer-keys` build), below
//! kvlab's 4 KiB: longer keys are refused with `TooLarge` naming LMDB's limit.
//! So LMDB fails the conformance case `max_key_and_value_sizes_are_accepted`;
//! the adapter lists it in its `KNOWN_LIMITS` ([`known_limits`]), and
//! `kv-bench conformance` prints that reason under LMDB's summary line (the
//! failure stays a failure).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io;
use std::path::{Path, PathBuf};

use kv_core::{
    BatchOp, CheckReport, CorruptionKind, Direction, Error, KvPair, OpenMode, Result, ScanIter,
    SyncPolicy,
};

use crate::engines::EngineInfo;

#[cfg(feature = "fjall")]
pub mod fjall;
mod interval_sync;
pub mod key_prefix;
#[cfg(feature = "lmdb")]
pub mod lmdb;
mod peer_store;
#[cfg(feature = "redb")]
pub mod redb;
#[cfg(feature = "rocksdb")]
pub mod rocksdb;
#[cfg(feature = "sled")]
pub mod sled;

pub use peer_store::{claim_peer_dir, Peer, PeerStore, PEER_LAYOUT_VERSION};

/// Default cache budget for every engine that has a cache: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// The registry entries of every peer in this build, in registry order.
// One push per enabled feature: a `vec![]` cannot hold `#[cfg]` items.
#[allow(clippy::vec_init_then_push)]
pub(crate) fn registered() -> Vec<EngineInfo> {
    #[allow(unused_mut)]
    let mut list = Vec::new();
    #[cfg(feature = "redb")]
    list.push(
        EngineInfo::peer(
            "redb",
            "peer: redb, copy-on-write B-tree (pure Rust)",
            "redb Builder::set_cache_size",
            |dir, config| Ok(Box::new(redb::open(dir, &config.peer_config())?)),
        )
        .unsynced(
            "a Durability::None commit: pages written to the file (OS page cache) but not made \
         durable; redb recovers to its last durable commit, so a process crash can lose every \
         write since the last sync()",
        ),
    );
    #[cfg(feature = "fjall")]
    list.push(
        EngineInfo::peer(
            "fjall",
            "peer: fjall, LSM tree (pure Rust)",
            "fjall block cache (cache_size)",
            |dir, config| Ok(Box::new(fjall::open(dir, &config.peer_config())?)),
        )
        .unsynced(
            "the journal, flushed to the OS page cache on every write: a process crash loses none",
        ),
    );
    #[cfg(feature = "lmdb")]
    list.push(EngineInfo::peer(
        "lmdb",
        "peer: LMDB via heed, memory-mapped copy-on-write B+tree (C)",
        "none: LMDB reads through the OS page cache (mmap)",
        |dir, config| Ok(Box::new(lmdb::open(dir, &config.peer_config())?)),
    )
    .unsynced(
        "a NO_SYNC commit: written to the data file (OS page cache) at commit: a process crash \
         loses none",
    ));
    #[cfg(feature = "sled")]
    list.push(EngineInfo::peer(
        "sled",
        "peer: sled 0.34, Bw-tree over a log-structured store (pure Rust)",
        "sled page cache (cache_capacity)",
        |dir, config| Ok(Box::new(sled::open(dir, &config.peer_config())?)),
    )
    .unsynced(
        "sled's in-memory log buffers (flush_every_ms off): a process crash can lose every write \
         since the last sync()",
    ));
    #[cfg(feature = "rocksdb")]
    list.push(
        EngineInfo::peer(
            "rocksdb",
            "peer: RocksDB, LSM tree (C++)",
            "RocksDB LRU block cache",
            |dir, config| Ok(Box::new(rocksdb::open(dir, &config.peer_config())?)),
        )
        .unsynced(
            "the WAL, written to the OS page cache on every write: a process crash loses none",
        ),
    );
    list
}

/// A conformance case that a peer fails because of a limit of the peer
/// itself, documented in its adapter: a true failure, kept in the table,
/// with the reason printed beside it so a reader knows what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownLimit {
    /// Engine name in the registry.
    pub engine: &'static str,
    /// Name of the conformance case it fails.
    pub case: &'static str,
    /// Why, in one sentence: the peer's limit and the kvlab rule it breaks.
    pub reason: &'static str,
}

/// The known limits of every peer in this build (see [`KnownLimit`]).
pub fn known_limits() -> Vec<KnownLimit> {
    #[allow(unused_mut)]
    let mut limits = Vec::new();
    #[cfg(feature = "lmdb")]
    limits.extend_from_slice(lmdb::KNOWN_LIMITS);
    limits
}

/// The known limit that explains `engine` failing `case`, if there is one.
pub fn known_limit(engine: &str, case: &str) -> Option<KnownLimit> {
    known_limits()
        .into_iter()
        .find(|limit| limit.engine == engine && limit.case == case)
}

/// How to open a peer: the same two knobs for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerConfig {
    /// When writes become durable; mapped per peer as the module docs say.
    pub sync: SyncPolicy,
    /// Cache budget in bytes, given to the peer's own cache where it has one.
    pub cache_bytes: usize,
    /// How the directory is claimed ([`claim_peer_dir`]); the peer itself
    /// always opens read-write.
    pub open_mode: OpenMode,
}

impl Default for PeerConfig {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::Manual,
            cache_bytes: DEFAULT_CACHE_BYTES,
            open_mode: OpenMode::ReadWrite,
        }
    }
}

impl PeerConfig {
    /// True when every write must be committed with an fsync before it
    /// returns (`SyncPolicy::Always`).
    pub fn sync_each_write(&self) -> bool {
        self.sync == SyncPolicy::Always
    }
}

/// One write of a transaction, borrowed from a put, a delete or a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WriteOp<'a> {
    /// Set a key to a value.
    Put(&'a [u8], &'a [u8]),
    /// Remove a key.
    Delete(&'a [u8]),
}

impl<'a> From<&'a BatchOp> for WriteOp<'a> {
    fn from(op: &'a BatchOp) -> Self {
        match op {
            BatchOp::Put { key, value } => Self::Put(key, value),
            BatchOp::Delete { key } => Self::Delete(key),
        }
    }
}

/// A peer's failure as `Error::Io`, naming the peer and what it was doing.
pub(crate) fn peer_io_error(peer: &str, what: &str, err: impl Display) -> Error {
    Error::Io(io::Error::other(format!("{peer}: {what} failed: {err}")))
}

/// A peer's report of corrupt data as `Error::Corruption` on `file` (the
/// peers do not say at which offset, so it is 0).
pub(crate) fn peer_corruption(peer: &str, file: &Path, message: impl Display) -> Error {
    Error::corruption(
        file,
        0,
        CorruptionKind::Invariant(format!("{peer} reports corruption: {message}")),
    )
}

/// Bytes of every file under `dir`, recursively: `(apparent, allocated)`,
/// where apparent is the sum of file lengths and allocated the blocks the
/// file system holds for them. Files that vanish while walking (compaction)
/// are skipped.
pub(crate) fn dir_bytes(dir: &Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut apparent = 0;
    let mut allocated = 0;
    let mut pending: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                apparent += meta.len();
                allocated += meta.blocks() * 512;
            }
        }
    }
    (apparent, allocated)
}

/// Makes a double-ended iterator run in `direction`.
pub(crate) fn directed<'a, I>(iter: I, direction: Direction) -> ScanIter<'a>
where
    I: DoubleEndedIterator<Item = Result<KvPair>> + Send + 'a,
{
    match direction {
        Direction::Forward => Box::new(iter),
        Direction::Reverse => Box::new(iter.rev()),
    }
}

/// The `check` of a peer that has no verification of its own: reads every
/// key and value (the peer verifies whatever checksums it keeps as it reads)
/// and checks that keys come strictly ascending.
///
/// Cost: one full forward scan.
///
/// # Errors
/// The first read error, or `Corruption` on `file` if two keys come out of
/// order.
pub(crate) fn check_by_full_scan(
    peer: &str,
    file: &Path,
    scan: ScanIter<'_>,
) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let mut previous: Option<Vec<u8>> = None;
    for item in scan {
        let (key, value) = item?;
        if let Some(prev) = &previous {
            if prev.as_slice() >= key.as_slice() {
                return Err(peer_corruption(
                    peer,
                    file,
                    format!("keys out of order in a scan: {prev:?} then {key:?}"),
                ));
            }
        }
        report.items_checked += 1;
        report.live_keys += 1;
        report.bytes_checked += (key.len() + value.len()) as u64;
        previous = Some(key);
    }
    report.notes.push(format!(
        "{peer}: full scan of every key and value (no deeper verification offered)"
    ));
    Ok(report)
}

/// Figures every peer reports in `Stats::extra`.
pub(crate) fn base_extra(config: &PeerConfig, disk_allocated_bytes: u64) -> BTreeMap<String, u64> {
    let mut extra = BTreeMap::new();
    extra.insert("cache_bytes".to_string(), config.cache_bytes as u64);
    extra.insert("disk_allocated_bytes".to_string(), disk_allocated_bytes);
    extra
}
