//! RocksDB (LSM tree, C++) behind kvlab's `Store`; cargo feature `rocksdb`,
//! off by default (it compiles RocksDB from source and needs libclang).
//!
//! Files: `DIR/rocksdb/`, the default column family.
//!
//! - Durability: every write goes to the WAL. Under `SyncPolicy::Always`
//!   writes use `WriteOptions::set_sync(true)` (the WAL is fsynced before
//!   the write returns). Under `Manual`/`Interval` the WAL is written but not
//!   synced, and [`RocksdbPeer::sync`] is `flush_wal(true)`, which syncs it.
//! - Filters: a 10 bits-per-key full bloom filter ([`BLOOM_BITS_PER_KEY`]), as
//!   db_bench runs RocksDB.
//! - Cache: an LRU block cache of `cache_bytes` in the block-based table
//!   options.
//! - Compression: `DBCompressionType::None` (and the crate is built without
//!   any compression library).
//! - Scans are raw iterators with the bounds set in `ReadOptions`, which
//!   read from an implicit snapshot taken when the iterator is created.
//! - `compact` is `compact_range(None, None)` (a full manual compaction).
//!   `check` is a full scan with block checksums verified.
//!   `stats().live_keys` is counted by a scan (RocksDB only estimates it,
//!   `extra["estimated_keys"]`).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use rocksdb::{
    BlockBasedOptions, Cache, DBCompressionType, DBRawIteratorWithThreadMode, ErrorKind, Options,
    ReadOptions, WriteOptions, DB,
};

use kv_core::{
    BatchOp, CheckReport, Direction, Error, KeyRange, KvPair, Result, ScanIter, WriteBatch,
};

use super::{check_by_full_scan, peer_corruption, peer_io_error, Peer, PeerConfig, PeerStore};

const NAME: &str = "rocksdb";

/// Bloom filter bits per key, as `db_bench --bloom_bits=10` (about 1% false
/// positives).
pub const BLOOM_BITS_PER_KEY: f64 = 10.0;

/// RocksDB behind [`PeerStore`].
pub type RocksdbStore = PeerStore<RocksdbPeer>;

/// Opens (creating if needed) a RocksDB store in `dir`.
///
/// # Errors
/// `Locked` if another handle has `dir` open; `Io` or `Corruption` from
/// RocksDB.
pub fn open(dir: &Path, config: &PeerConfig) -> Result<RocksdbStore> {
    PeerStore::open_with(NAME, dir, config, |dir| RocksdbPeer::open(dir, config))
}

/// The RocksDB database and the write options every write uses.
pub struct RocksdbPeer {
    db: DB,
    write_options: WriteOptions,
    data_dir: PathBuf,
}

impl RocksdbPeer {
    fn open(dir: &Path, config: &PeerConfig) -> Result<Self> {
        let data_dir = dir.join(NAME);
        let mut table_options = BlockBasedOptions::default();
        table_options.set_block_cache(&Cache::new_lru_cache(config.cache_bytes));
        // As db_bench runs it (`--bloom_bits=10`): full (not block-based)
        // filters, so a missing key costs no data-block read.
        table_options.set_bloom_filter(BLOOM_BITS_PER_KEY, false);
        let mut options = Options::default();
        options.create_if_missing(true);
        options.set_compression_type(DBCompressionType::None);
        options.set_block_based_table_factory(&table_options);
        let db = DB::open(&options, &data_dir).map_err(|e| map_error(&data_dir, "open", e))?;
        let mut write_options = WriteOptions::default();
        write_options.set_sync(config.sync_each_write());
        Ok(Self {
            db,
            write_options,
            data_dir,
        })
    }

    fn error(&self, what: &str, err: rocksdb::Error) -> Error {
        map_error(&self.data_dir, what, err)
    }

    fn raw_scan(&self, range: &KeyRange, direction: Direction) -> RawScan<'_> {
        let mut read_options = ReadOptions::default();
        read_options.set_verify_checksums(true);
        // RocksDB bounds are [lower, upper): the successor of a key k is
        // k ++ [0], which turns every bound kind into that form.
        match &range.start {
            Bound::Included(key) => read_options.set_iterate_lower_bound(key.clone()),
            Bound::Excluded(key) => read_options.set_iterate_lower_bound(successor(key)),
            Bound::Unbounded => {}
        }
        match &range.end {
            Bound::Included(key) => read_options.set_iterate_upper_bound(successor(key)),
            Bound::Excluded(key) => read_options.set_iterate_upper_bound(key.clone()),
            Bound::Unbounded => {}
        }
        RawScan {
            raw: self.db.raw_iterator_opt(read_options),
            direction,
            started: false,
            finished: false,
            data_dir: self.data_dir.clone(),
        }
    }
}

/// The smallest key greater than `key`.
fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = Vec::with_capacity(key.len() + 1);
    next.extend_from_slice(key);
    next.push(0);
    next
}

/// RocksDB's error as kvlab's: its `Corruption` status stays corruption.
fn map_error(dir: &Path, what: &str, err: rocksdb::Error) -> Error {
    match err.kind() {
        ErrorKind::Corruption => peer_corruption(NAME, dir, format!("{what}: {err}")),
        _ => peer_io_error(NAME, what, err),
    }
}

/// A raw RocksDB iterator walked in one direction.
struct RawScan<'a> {
    raw: DBRawIteratorWithThreadMode<'a, DB>,
    direction: Direction,
    started: bool,
    finished: bool,
    data_dir: PathBuf,
}

impl Iterator for RawScan<'_> {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        match (self.started, self.direction) {
            (false, Direction::Forward) => self.raw.seek_to_first(),
            (false, Direction::Reverse) => self.raw.seek_to_last(),
            (true, Direction::Forward) => self.raw.next(),
            (true, Direction::Reverse) => self.raw.prev(),
        }
        self.started = true;
        if let Some((key, value)) = self.raw.item() {
            return Some(Ok((key.to_vec(), value.to_vec())));
        }
        self.finished = true;
        match self.raw.status() {
            Ok(()) => None,
            Err(e) => Some(Err(map_error(&self.data_dir, "scan", e))),
        }
    }
}

impl Peer for RocksdbPeer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self
            .db
            .get_pinned_opt(key, &ReadOptions::default())
            .map_err(|e| self.error("get", e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db
            .put_opt(key, value, &self.write_options)
            .map_err(|e| self.error("put", e))
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.db
            .delete_opt(key, &self.write_options)
            .map_err(|e| self.error("delete", e))
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        let mut rocks_batch = rocksdb::WriteBatch::default();
        for op in batch.ops() {
            match op {
                BatchOp::Put { key, value } => rocks_batch.put(key, value),
                BatchOp::Delete { key } => rocks_batch.delete(key),
            }
        }
        self.db
            .write_opt(rocks_batch, &self.write_options)
            .map_err(|e| self.error("write batch", e))
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        Ok(Box::new(self.raw_scan(range, direction)))
    }

    fn sync(&self) -> Result<()> {
        self.db
            .flush_wal(true)
            .map_err(|e| self.error("flush WAL", e))
    }

    fn compact(&self) -> Result<()> {
        self.db.compact_range(None::<&[u8]>, None::<&[u8]>);
        Ok(())
    }

    fn check(&self) -> Result<CheckReport> {
        check_by_full_scan(
            NAME,
            &self.data_dir,
            self.scan(&KeyRange::all(), Direction::Forward)?,
        )
    }

    fn live_keys(&self) -> Option<u64> {
        let mut count = 0;
        for item in self.raw_scan(&KeyRange::all(), Direction::Forward) {
            item.ok()?;
            count += 1;
        }
        Some(count)
    }

    fn extra(&self) -> BTreeMap<String, u64> {
        let mut extra = BTreeMap::new();
        if let Ok(Some(keys)) = self.db.property_int_value("rocksdb.estimate-num-keys") {
            extra.insert("estimated_keys".into(), keys);
        }
        if let Ok(Some(bytes)) = self.db.property_int_value("rocksdb.block-cache-usage") {
            extra.insert("cache_used_bytes".into(), bytes);
        }
        extra
    }
}
