//! fjall (LSM tree, pure Rust) behind kvlab's `Store`.
//!
//! Files: `DIR/fjall/`, one keyspace `kv`. Keys are stored behind a one-byte
//! prefix because lsm-tree refuses the empty key (see
//! [`super::key_prefix`]).
//!
//! - Durability: every write goes to fjall's journal and is flushed to the OS
//!   (fjall's default). Under `SyncPolicy::Always` each write is followed by
//!   `persist(PersistMode::SyncData)` and each batch commits with
//!   `durability(Some(SyncData))`, so the journal is `fdatasync`ed before it
//!   returns. Under `Manual`/`Interval` nothing is synced until
//!   [`FjallPeer::sync`], which is `persist(SyncData)`. `SyncData`
//!   ([`DURABLE_PERSIST_MODE`]) rather than `SyncAll` (a full `fsync`) because
//!   every other engine's durable sync is `fdatasync`-level (kvlab's `StdFs`,
//!   redb, LMDB, RocksDB, and the sled adapter): the comparison must not
//!   charge fjall for metadata flushes the others skip. It is enough for
//!   durability: `fdatasync` flushes the journal's data and its length, and
//!   fjall fsyncs the journal directory itself when it creates a journal
//!   file (and seals a full journal with `SyncAll`).
//! - Cache: `DatabaseBuilder::cache_size(cache_bytes)` (block cache).
//! - Compression: off for data and index blocks (and the journal, since the
//!   crate is built without `lz4`).
//! - Scans stream from a `Database::snapshot()`: a consistent snapshot as of
//!   the call.
//! - `compact` seals the memtable, waits for it to be flushed, then runs a
//!   major compaction. `check` is a full scan (fjall verifies block
//!   checksums as it reads; it has no separate verification call).
//! - `stats().live_keys` is exact, counted by `Keyspace::len`, which scans
//!   every key (O(n)): fjall only keeps an approximate count
//!   (`approximate_len`, reported as `extra["approximate_keys"]`), which
//!   counts overwritten and deleted keys until compaction.

use std::path::{Path, PathBuf};

use fjall::config::CompressionPolicy;
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};

use kv_core::{BatchOp, CheckReport, Direction, Error, KeyRange, Result, ScanIter, WriteBatch};

use super::key_prefix;
use super::{
    check_by_full_scan, directed, peer_corruption, peer_io_error, Peer, PeerConfig, PeerStore,
};

const NAME: &str = "fjall";

/// How the journal is made durable, per write under `Always` and in `sync()`:
/// `fdatasync`, the same level of sync as every other engine (module docs).
pub const DURABLE_PERSIST_MODE: PersistMode = PersistMode::SyncData;

/// fjall behind [`PeerStore`].
pub type FjallStore = PeerStore<FjallPeer>;

/// Opens (creating if needed) a fjall store in `dir`.
///
/// # Errors
/// `Locked` if another handle has `dir` open; `Io` or `Corruption` from fjall.
pub fn open(dir: &Path, config: &PeerConfig) -> Result<FjallStore> {
    PeerStore::open_with(NAME, dir, config, |dir| FjallPeer::open(dir, config))
}

/// The fjall database, its one keyspace, and how to commit.
pub struct FjallPeer {
    db: Database,
    keyspace: Keyspace,
    data_dir: PathBuf,
    sync_each_write: bool,
}

impl FjallPeer {
    fn open(dir: &Path, config: &PeerConfig) -> Result<Self> {
        let data_dir = dir.join(NAME);
        let db = Database::builder(&data_dir)
            .cache_size(config.cache_bytes as u64)
            .open()
            .map_err(|e| map_error(&data_dir, "open", e))?;
        let keyspace = db
            .keyspace("kv", || {
                KeyspaceCreateOptions::default()
                    .data_block_compression_policy(CompressionPolicy::disabled())
                    .index_block_compression_policy(CompressionPolicy::disabled())
            })
            .map_err(|e| map_error(&data_dir, "open keyspace", e))?;
        Ok(Self {
            db,
            keyspace,
            data_dir,
            sync_each_write: config.sync_each_write(),
        })
    }

    fn error(&self, what: &str, err: fjall::Error) -> Error {
        map_error(&self.data_dir, what, err)
    }

    /// Under `Always`, syncs the journal (`fdatasync`) after a single write.
    fn persist_if_always(&self) -> Result<()> {
        if self.sync_each_write {
            self.db
                .persist(DURABLE_PERSIST_MODE)
                .map_err(|e| self.error("persist", e))?;
        }
        Ok(())
    }
}

/// fjall's error as kvlab's: checksum and format failures are corruption.
fn map_error(dir: &Path, what: &str, err: fjall::Error) -> Error {
    match err {
        fjall::Error::Io(io) => Error::Io(io),
        fjall::Error::Storage(fjall::LsmError::Io(io)) => Error::Io(io),
        fjall::Error::Storage(
            inner @ (fjall::LsmError::ChecksumMismatch { .. }
            | fjall::LsmError::InvalidTrailer
            | fjall::LsmError::InvalidHeader(_)
            | fjall::LsmError::InvalidTag(_)
            | fjall::LsmError::Unrecoverable),
        ) => peer_corruption(NAME, dir, format!("{what}: {inner:?}")),
        fjall::Error::JournalRecovery(inner) => {
            peer_corruption(NAME, dir, format!("{what}: journal recovery: {inner:?}"))
        }
        fjall::Error::InvalidTrailer
        | fjall::Error::InvalidTag(_)
        | fjall::Error::Unrecoverable => peer_corruption(NAME, dir, format!("{what}: {err:?}")),
        fjall::Error::Locked => Error::Locked {
            path: dir.to_path_buf(),
        },
        other => peer_io_error(NAME, what, format!("{other:?}")),
    }
}

impl Peer for FjallPeer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self
            .keyspace
            .get(key_prefix::encode(key))
            .map_err(|e| self.error("get", e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.keyspace
            .insert(key_prefix::encode(key), value)
            .map_err(|e| self.error("insert", e))?;
        self.persist_if_always()
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.keyspace
            .remove(key_prefix::encode(key))
            .map_err(|e| self.error("remove", e))?;
        self.persist_if_always()
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        let mut fjall_batch = self.db.batch();
        if self.sync_each_write {
            fjall_batch = fjall_batch.durability(Some(DURABLE_PERSIST_MODE));
        }
        for op in batch.ops() {
            match op {
                BatchOp::Put { key, value } => {
                    fjall_batch.insert(&self.keyspace, key_prefix::encode(key), value.as_slice());
                }
                BatchOp::Delete { key } => {
                    fjall_batch.remove(&self.keyspace, key_prefix::encode(key));
                }
            }
        }
        fjall_batch
            .commit()
            .map_err(|e| self.error("batch commit", e))
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        let bounds = key_prefix::encode_range(range);
        let entries = self.db.snapshot().range(&self.keyspace, bounds);
        let dir = self.data_dir.clone();
        let items = entries.map(move |guard| {
            let (key, value) = guard.into_inner().map_err(|e| map_error(&dir, "scan", e))?;
            let key = key_prefix::decode(&key).ok_or_else(|| {
                peer_corruption(NAME, &dir, "a stored key lacks kvlab's key prefix")
            })?;
            Ok((key.to_vec(), value.to_vec()))
        });
        Ok(directed(items, direction))
    }

    fn sync(&self) -> Result<()> {
        self.db
            .persist(DURABLE_PERSIST_MODE)
            .map_err(|e| self.error("persist", e))
    }

    fn compact(&self) -> Result<()> {
        self.keyspace
            .rotate_memtable_and_wait()
            .map_err(|e| self.error("flush memtable", e))?;
        self.keyspace
            .major_compact()
            .map_err(|e| self.error("major compaction", e))
    }

    fn check(&self) -> Result<CheckReport> {
        let mut report = check_by_full_scan(
            NAME,
            &self.data_dir,
            self.scan(&KeyRange::all(), Direction::Forward)?,
        )?;
        report.files_checked = self.keyspace.table_count() as u64;
        Ok(report)
    }

    fn live_keys(&self) -> Option<u64> {
        self.keyspace.len().ok().map(|n| n as u64)
    }

    fn extra(&self) -> std::collections::BTreeMap<String, u64> {
        let mut extra = std::collections::BTreeMap::new();
        extra.insert(
            "approximate_keys".into(),
            self.keyspace.approximate_len() as u64,
        );
        extra.insert("tables".into(), self.keyspace.table_count() as u64);
        extra.insert("l0_tables".into(), self.keyspace.l0_table_count() as u64);
        extra.insert("cache_used_bytes".into(), self.db.cache_size());
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::{Store, SyncPolicy};

    /// Fairness: fjall's durable sync must be `fdatasync`, as kvlab's
    /// `StdFs::sync`, redb, LMDB, RocksDB and the sled adapter use; a full
    /// `fsync` (`SyncAll`) would charge fjall alone for metadata flushes.
    #[test]
    fn durable_sync_is_fdatasync_like_every_other_engine() {
        assert_eq!(DURABLE_PERSIST_MODE, PersistMode::SyncData);
    }

    #[test]
    fn writes_synced_with_sync_data_are_found_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let config = PeerConfig {
            sync: SyncPolicy::Always,
            ..PeerConfig::default()
        };
        {
            let store = open(dir.path(), &config).unwrap();
            store.put(b"k", b"v").unwrap();
            let mut batch = WriteBatch::new();
            batch.put(b"b".to_vec(), b"w".to_vec());
            store.write(&batch).unwrap();
            store.sync().unwrap();
        }
        let store = open(dir.path(), &config).unwrap();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(store.get(b"b").unwrap().as_deref(), Some(&b"w"[..]));
    }
}
