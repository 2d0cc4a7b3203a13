//! LMDB (memory-mapped copy-on-write B+tree, C) through heed, behind
//! kvlab's `Store`.
//!
//! Files: `DIR/lmdb/data.mdb` and LMDB's `DIR/lmdb/lock.mdb`; the unnamed
//! database holds the data. Keys are stored behind a one-byte prefix because
//! LMDB refuses the empty key (see [`super::key_prefix`]).
//!
//! - Durability: under `SyncPolicy::Always` the environment has no `NO_SYNC`
//!   flag, so every commit (one per write or batch) is fsynced before it
//!   returns. Under `Manual`/`Interval` it is opened with `NO_SYNC`: commits
//!   reach the OS but are not fsynced, and [`LmdbPeer::sync`] calls
//!   `mdb_env_sync(force)` (`Env::force_sync`), which makes every earlier
//!   commit durable. LMDB's own caveat applies: with `NO_SYNC` a system crash
//!   before `sync()` keeps the database consistent only if the file system
//!   preserves write order.
//! - Cache: LMDB has none of its own; it reads through the OS page cache via
//!   `mmap`, so `cache_bytes` is not applied (reported as given). The map is
//!   64 GiB of address space ([`MAP_SIZE_BYTES`]), not memory.
//! - Key size: LMDB's compiled limit (`Env::max_key_size`, about 1.9 KiB with
//!   4 KiB pages in heed's `longer-keys` build) minus the prefix byte is below
//!   kvlab's 4 KiB: a longer key is refused with `TooLarge` naming LMDB's
//!   limit; a get or delete of such a key finds nothing (it cannot be stored)
//!   and scan bounds longer than the limit are clamped to an equivalent
//!   shorter bound.
//! - Scans read from one read transaction (a consistent snapshot as of the
//!   call), [`SCAN_CHUNK`] entries at a time, re-seeking after the last key
//!   returned, so the iterator needs no borrow of the transaction.
//! - `compact` is a no-op: LMDB reuses freed pages through its free list and
//!   never shrinks the file in place; shrinking takes an offline compacting
//!   copy (`mdb_env_copy2` with `MDB_CP_COMPACT`) with the environment
//!   closed and reopened, which a live handle with open scans cannot do.
//! - `check` is a full scan: LMDB keeps no checksums.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::path::{Path, PathBuf};

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, RoTxn, WithoutTls};

use kv_core::{
    BatchOp, CheckReport, Direction, Error, KeyRange, KvPair, Result, ScanIter, WriteBatch,
};

use super::key_prefix;
use super::{
    check_by_full_scan, peer_corruption, peer_io_error, KnownLimit, Peer, PeerConfig, PeerStore,
    WriteOp,
};

const NAME: &str = "lmdb";

/// The conformance case LMDB fails by its own limit (module docs: *Key
/// size*); `kv-bench conformance` prints the reason next to the failure.
pub const KNOWN_LIMITS: &[KnownLimit] = &[KnownLimit {
    engine: NAME,
    case: "max_key_and_value_sizes_are_accepted",
    reason: "LMDB caps keys at its compiled maximum (1,982 bytes with 4 KiB pages in heed's \
             longer-keys build; 1,981 after kvlab's one-byte key prefix), below kvlab's 4 KiB \
             MAX_KEY_BYTES: longer keys are refused with TooLarge",
}];

/// Address space reserved for the memory map: 64 GiB (virtual, not memory;
/// the file grows only as data is written).
pub const MAP_SIZE_BYTES: usize = 64 << 30;

/// Entries a scan reads per step from its read transaction.
pub const SCAN_CHUNK: usize = 256;

/// Reader slots: one per concurrent get or live scan iterator.
const MAX_READERS: u32 = 1024;

type Table = Database<'static, Bytes, Bytes>;

/// LMDB behind [`PeerStore`].
pub type LmdbStore = PeerStore<LmdbPeer>;

/// Opens (creating if needed) an LMDB store in `dir`.
///
/// # Errors
/// `Locked` if another handle has `dir` open; `Io` from LMDB.
pub fn open(dir: &Path, config: &PeerConfig) -> Result<LmdbStore> {
    PeerStore::open_with(NAME, dir, config, |dir| LmdbPeer::open(dir, config))
}

/// The LMDB environment and its one database.
pub struct LmdbPeer {
    env: Env<WithoutTls>,
    table: Table,
    data_dir: PathBuf,
    /// Longest stored key (prefix included) LMDB accepts.
    max_stored_key_bytes: usize,
}

impl LmdbPeer {
    fn open(dir: &Path, config: &PeerConfig) -> Result<Self> {
        let data_dir = dir.join(NAME);
        std::fs::create_dir_all(&data_dir)?;
        let mut options = EnvOpenOptions::new().read_txn_without_tls();
        options.map_size(MAP_SIZE_BYTES).max_readers(MAX_READERS);
        if !config.sync_each_write() {
            // SAFETY: NO_SYNC only drops the fsync at commit; `sync()` calls
            // mdb_env_sync(force), as LMDB documents for this flag.
            unsafe {
                options.flags(EnvFlags::NO_SYNC);
            }
        }
        // SAFETY: the directory is locked by kvlab's LOCK file for as long as
        // this environment lives, so no other handle of ours maps the file,
        // and nothing else in this process modifies it behind LMDB's back.
        let env =
            unsafe { options.open(&data_dir) }.map_err(|e| map_error(&data_dir, "open", e))?;
        let wtxn = env
            .write_txn()
            .map_err(|e| map_error(&data_dir, "begin write", e))?;
        let table: Table = env
            .create_databases_and_commit(wtxn, |opener, wtxn| {
                opener
                    .create_database::<Bytes, Bytes>(wtxn, None)
                    .map(heed::CommitOrAbort::<_, ()>::Commit)
            })
            .map_err(|e| map_error(&data_dir, "create database", e))?
            .unwrap_commit();
        let max_stored_key_bytes = env.max_key_size();
        Ok(Self {
            env,
            table,
            data_dir,
            max_stored_key_bytes,
        })
    }

    fn error(&self, what: &str, err: heed::Error) -> Error {
        map_error(&self.data_dir, what, err)
    }

    /// `TooLarge` if LMDB cannot store `key`.
    fn check_key_fits(&self, key: &[u8]) -> Result<()> {
        if key.len() + 1 > self.max_stored_key_bytes {
            return Err(Error::TooLarge {
                what: "key (LMDB limit)",
                limit: self.max_stored_key_bytes.saturating_sub(1),
                got: key.len(),
            });
        }
        Ok(())
    }

    fn fits(&self, key: &[u8]) -> bool {
        key.len() < self.max_stored_key_bytes
    }

    /// One write transaction applying `ops`; the commit is fsynced unless
    /// the environment has `NO_SYNC`.
    fn transact<'a>(&self, ops: impl IntoIterator<Item = WriteOp<'a>>) -> Result<()> {
        let mut wtxn = self
            .env
            .write_txn()
            .map_err(|e| self.error("begin write", e))?;
        for op in ops {
            match op {
                WriteOp::Put(key, value) => self
                    .table
                    .put(&mut wtxn, &key_prefix::encode(key), value)
                    .map_err(|e| self.error("put", e))?,
                // A key LMDB cannot hold is not there to delete.
                WriteOp::Delete(key) if self.fits(key) => {
                    self.table
                        .delete(&mut wtxn, &key_prefix::encode(key))
                        .map(drop)
                        .map_err(|e| self.error("delete", e))?;
                }
                WriteOp::Delete(_) => {}
            }
        }
        wtxn.commit().map_err(|e| self.error("commit", e))
    }

    fn read_txn(&self) -> Result<RoTxn<'static, WithoutTls>> {
        self.env
            .clone()
            .static_read_txn()
            .map_err(|e| self.error("begin read", e))
    }
}

/// heed's error as kvlab's. LMDB reports a damaged file as `MDB_CORRUPTED`
/// or `MDB_PAGE_NOTFOUND`.
fn map_error(dir: &Path, what: &str, err: heed::Error) -> Error {
    match err {
        heed::Error::Io(io) => Error::Io(io),
        heed::Error::Mdb(mdb @ (heed::MdbError::Corrupted | heed::MdbError::PageNotFound)) => {
            peer_corruption(NAME, dir, format!("{what}: {mdb}"))
        }
        other => peer_io_error(NAME, what, other),
    }
}

/// A stored-key bound LMDB can seek to. A bound longer than the longest
/// storable key `max` selects the same keys as its first `max` bytes `t`:
/// every stored key `x` has `len(x) <= max`, so `x >= k` (or `x > k`) holds
/// exactly when `x > t`, and `x <= k` (or `x < k`) exactly when `x <= t`.
fn clamp_bound(bound: Bound<Vec<u8>>, max: usize, is_lower: bool) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(mut key) | Bound::Excluded(mut key) if key.len() > max => {
            key.truncate(max);
            if is_lower {
                Bound::Excluded(key)
            } else {
                Bound::Included(key)
            }
        }
        other => other,
    }
}

fn as_ref_bound(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(key) => Bound::Included(key.as_slice()),
        Bound::Excluded(key) => Bound::Excluded(key.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Stored entries in one direction, borrowed from a read transaction.
type RawEntries<'t> = Box<dyn Iterator<Item = heed::Result<(&'t [u8], &'t [u8])>> + 't>;

/// A scan over one read transaction, read [`SCAN_CHUNK`] entries at a time.
struct ChunkedScan {
    txn: RoTxn<'static, WithoutTls>,
    table: Table,
    /// The part of the range not read yet, over stored keys.
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    direction: Direction,
    buffer: VecDeque<KvPair>,
    finished: bool,
    data_dir: PathBuf,
}

impl ChunkedScan {
    /// Reads the next chunk into the buffer; at the end (or on an error)
    /// marks the scan finished.
    fn refill(&mut self) -> Result<()> {
        let range = (as_ref_bound(&self.lower), as_ref_bound(&self.upper));
        let mut last_stored: Option<Vec<u8>> = None;
        let mut read = 0;
        let entries: RawEntries<'_> = match self.direction {
            Direction::Forward => Box::new(
                self.table
                    .range(&self.txn, &range)
                    .map_err(|e| map_error(&self.data_dir, "range", e))?,
            ),
            Direction::Reverse => Box::new(
                self.table
                    .rev_range(&self.txn, &range)
                    .map_err(|e| map_error(&self.data_dir, "range", e))?,
            ),
        };
        for entry in entries.take(SCAN_CHUNK) {
            let (stored, value) = entry.map_err(|e| map_error(&self.data_dir, "scan", e))?;
            let key = key_prefix::decode(stored).ok_or_else(|| {
                peer_corruption(
                    NAME,
                    &self.data_dir,
                    "a stored key lacks kvlab's key prefix",
                )
            })?;
            self.buffer.push_back((key.to_vec(), value.to_vec()));
            last_stored = Some(stored.to_vec());
            read += 1;
        }
        if read < SCAN_CHUNK {
            self.finished = true;
        }
        if let Some(last) = last_stored {
            match self.direction {
                Direction::Forward => self.lower = Bound::Excluded(last),
                Direction::Reverse => self.upper = Bound::Excluded(last),
            }
        }
        Ok(())
    }
}

impl Iterator for ChunkedScan {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() && !self.finished {
            if let Err(e) = self.refill() {
                self.finished = true;
                self.buffer.clear();
                return Some(Err(e));
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}

impl Peer for LmdbPeer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if !self.fits(key) {
            return Ok(None);
        }
        let rtxn = self.read_txn()?;
        let value = self
            .table
            .get(&rtxn, &key_prefix::encode(key))
            .map_err(|e| self.error("get", e))?;
        Ok(value.map(<[u8]>::to_vec))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.check_key_fits(key)?;
        self.transact([WriteOp::Put(key, value)])
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        if !self.fits(key) {
            return Ok(());
        }
        self.transact([WriteOp::Delete(key)])
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        for op in batch.ops() {
            if let BatchOp::Put { key, .. } = op {
                self.check_key_fits(key)?;
            }
        }
        self.transact(batch.ops().iter().map(WriteOp::from))
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        let (lower, upper) = key_prefix::encode_range(range);
        Ok(Box::new(ChunkedScan {
            txn: self.read_txn()?,
            table: self.table,
            lower: clamp_bound(lower, self.max_stored_key_bytes, true),
            upper: clamp_bound(upper, self.max_stored_key_bytes, false),
            direction,
            buffer: VecDeque::with_capacity(SCAN_CHUNK),
            finished: false,
            data_dir: self.data_dir.clone(),
        }))
    }

    fn sync(&self) -> Result<()> {
        self.env
            .force_sync()
            .map_err(|e| self.error("force sync", e))
    }

    fn compact(&self) -> Result<()> {
        Ok(())
    }

    fn check(&self) -> Result<CheckReport> {
        let mut report = check_by_full_scan(
            NAME,
            &self.data_dir,
            self.scan(&KeyRange::all(), Direction::Forward)?,
        )?;
        report.files_checked = 1;
        report
            .notes
            .push("LMDB keeps no checksums: the scan checks structure and order only".into());
        Ok(report)
    }

    fn live_keys(&self) -> Option<u64> {
        let rtxn = self.read_txn().ok()?;
        self.table.len(&rtxn).ok()
    }

    fn extra(&self) -> BTreeMap<String, u64> {
        let mut extra = BTreeMap::new();
        extra.insert(
            "max_key_bytes".into(),
            self.max_stored_key_bytes.saturating_sub(1) as u64,
        );
        if let Ok(rtxn) = self.read_txn() {
            if let Ok(stat) = self.table.stat(&rtxn) {
                extra.insert("depth".into(), u64::from(stat.depth));
                extra.insert("branch_pages".into(), stat.branch_pages as u64);
                extra.insert("leaf_pages".into(), stat.leaf_pages as u64);
                extra.insert("overflow_pages".into(), stat.overflow_pages as u64);
            }
        }
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::limits::MAX_KEY_BYTES;
    use kv_core::Store;

    /// The known limit is real: LMDB refuses a key of kvlab's maximum size,
    /// and the limit it names is the one the reason states (on 4 KiB pages).
    #[test]
    fn known_key_limit_matches_what_lmdb_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path(), &PeerConfig::default()).unwrap();
        let err = store.put(&vec![7u8; MAX_KEY_BYTES], b"v").unwrap_err();
        let Error::TooLarge { limit, .. } = err else {
            panic!("expected TooLarge, got {err:?}");
        };
        assert!(limit < MAX_KEY_BYTES);
        store.put(&vec![7u8; limit], b"v").unwrap();
        let reason = KNOWN_LIMITS[0].reason;
        if limit == 1_981 {
            assert!(reason.contains("1,981"), "{reason}");
        }
    }

    #[test]
    fn long_bounds_clamp_to_equivalent_short_ones() {
        let long = b"abcdef".to_vec();
        assert_eq!(
            clamp_bound(Bound::Included(long.clone()), 3, true),
            Bound::Excluded(b"abc".to_vec())
        );
        assert_eq!(
            clamp_bound(Bound::Excluded(long.clone()), 3, false),
            Bound::Included(b"abc".to_vec())
        );
        assert_eq!(
            clamp_bound(Bound::Included(b"ab".to_vec()), 3, true),
            Bound::Included(b"ab".to_vec())
        );
        assert_eq!(clamp_bound(Bound::Unbounded, 3, false), Bound::Unbounded);
    }
}
