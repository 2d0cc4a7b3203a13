//! redb (copy-on-write B-tree, pure Rust) behind kvlab's `Store`.
//!
//! Files: `DIR/redb/data.redb`, one table `kv` of `&[u8] -> &[u8]`.
//!
//! - Durability: under `SyncPolicy::Always` every write or batch is one
//!   transaction committed with `Durability::Immediate` (fsync before
//!   return). Under `Manual`/`Interval` commits use `Durability::None` and
//!   [`RedbPeer::sync`] commits an empty transaction with
//!   `Durability::Immediate`, which redb documents as making every earlier
//!   non-durable commit persistent. redb frees pages only at durable
//!   commits, so a `Manual` store must be synced regularly or its file grows
//!   without bound: kv-bench syncs every engine every `--sync-every` writes,
//!   and those syncs are redb's durable commits.
//! - Cache: `Builder::set_cache_size(cache_bytes)`.
//! - Scans stream from one read transaction: a consistent snapshot as of the
//!   call.
//! - `compact` runs `Database::compact` and `check` runs
//!   `Database::check_integrity`; both need exclusive access to the database
//!   (they hold an internal lock that new calls wait for, and wait up to two
//!   seconds for transactions already running to end); they fail with `Io`
//!   if a scan iterator of this handle stays alive that long, because redb
//!   refuses them while any transaction is in progress.

use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use redb::{
    Database, Durability, ReadableDatabase, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};

use kv_core::{CheckReport, Direction, Error, KeyRange, Result, ScanIter, WriteBatch};

use super::{directed, peer_corruption, peer_io_error, Peer, PeerConfig, PeerStore, WriteOp};

const NAME: &str = "redb";
const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// redb behind [`PeerStore`].
pub type RedbStore = PeerStore<RedbPeer>;

/// Opens (creating if needed) a redb store in `dir`.
///
/// # Errors
/// `Locked` if another handle has `dir` open; `Io` or `Corruption` from redb.
pub fn open(dir: &Path, config: &PeerConfig) -> Result<RedbStore> {
    PeerStore::open_with(NAME, dir, config, |dir| RedbPeer::open(dir, config))
}

/// The redb database and how to commit to it.
pub struct RedbPeer {
    db: RwLock<Database>,
    file: PathBuf,
    durability: Durability,
}

impl RedbPeer {
    fn open(dir: &Path, config: &PeerConfig) -> Result<Self> {
        let data_dir = dir.join(NAME);
        std::fs::create_dir_all(&data_dir)?;
        let file = data_dir.join("data.redb");
        let db = Database::builder()
            .set_cache_size(config.cache_bytes)
            .create(&file)
            .map_err(|e| map_error(&file, "open", e.into()))?;
        let peer = Self {
            db: RwLock::new(db),
            file,
            durability: if config.sync_each_write() {
                Durability::Immediate
            } else {
                Durability::None
            },
        };
        // Create the table once, durably, so read transactions can open it.
        let txn = peer.begin_write(Durability::Immediate)?;
        txn.open_table(TABLE)
            .map_err(|e| peer.error("create table", e.into()))?;
        peer.commit(txn)?;
        Ok(peer)
    }

    fn error(&self, what: &str, err: redb::Error) -> Error {
        map_error(&self.file, what, err)
    }

    fn db(&self) -> RwLockReadGuard<'_, Database> {
        self.db.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn begin_write(&self, durability: Durability) -> Result<WriteTransaction> {
        let mut txn = self
            .db()
            .begin_write()
            .map_err(|e| self.error("begin write", e.into()))?;
        txn.set_durability(durability)
            .map_err(|e| self.error("set durability", e.into()))?;
        Ok(txn)
    }

    fn commit(&self, txn: WriteTransaction) -> Result<()> {
        txn.commit().map_err(|e| self.error("commit", e.into()))
    }

    /// One transaction applying `ops`, committed with the configured
    /// durability.
    fn transact<'a>(&self, ops: impl IntoIterator<Item = WriteOp<'a>>) -> Result<()> {
        let txn = self.begin_write(self.durability)?;
        {
            let mut table = txn
                .open_table(TABLE)
                .map_err(|e| self.error("open table", e.into()))?;
            for op in ops {
                match op {
                    WriteOp::Put(key, value) => table
                        .insert(key, value)
                        .map(drop)
                        .map_err(|e| self.error("insert", e.into()))?,
                    WriteOp::Delete(key) => table
                        .remove(key)
                        .map(drop)
                        .map_err(|e| self.error("remove", e.into()))?,
                }
            }
        }
        self.commit(txn)
    }
}

impl Drop for RedbPeer {
    /// A clean close keeps every acknowledged write: commits made with
    /// `Durability::None` are made durable here (an error has nowhere to go
    /// from `drop`; the next open sees the last durable commit).
    fn drop(&mut self) {
        if matches!(self.durability, Durability::None) {
            let _ = Peer::sync(self);
        }
    }
}

/// How long `compact` and `check` wait for transactions that began before
/// them (new ones wait for the exclusive lock they hold) to end.
const EXCLUSIVE_WAIT: Duration = Duration::from_secs(2);

/// Runs `op` (which needs no live transaction) until it stops failing with
/// `TransactionInProgress`, for at most [`EXCLUSIVE_WAIT`]. A scan iterator
/// kept alive by the caller holds its transaction for good, so the wait is
/// bounded and then the error is returned.
fn retry_while_in_progress<T>(
    mut op: impl FnMut() -> std::result::Result<T, redb::Error>,
) -> std::result::Result<T, redb::Error> {
    let deadline = Instant::now() + EXCLUSIVE_WAIT;
    loop {
        match op() {
            Err(redb::Error::TransactionInProgress) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            other => return other,
        }
    }
}

/// redb's error as kvlab's: corruption stays corruption, I/O stays I/O.
fn map_error(file: &Path, what: &str, err: redb::Error) -> Error {
    match err {
        redb::Error::Corrupted(message) => peer_corruption(NAME, file, message),
        redb::Error::Io(io) => Error::Io(io),
        other => peer_io_error(NAME, what, other),
    }
}

impl Peer for RedbPeer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| self.error("begin read", e.into()))?;
        let table = txn
            .open_table(TABLE)
            .map_err(|e| self.error("open table", e.into()))?;
        let value = table.get(key).map_err(|e| self.error("get", e.into()))?;
        Ok(value.map(|guard| guard.value().to_vec()))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.transact([WriteOp::Put(key, value)])
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.transact([WriteOp::Delete(key)])
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.transact(batch.ops().iter().map(WriteOp::from))
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        let txn = self
            .db()
            .begin_read()
            .map_err(|e| self.error("begin read", e.into()))?;
        let table = txn
            .open_table(TABLE)
            .map_err(|e| self.error("open table", e.into()))?;
        // The range keeps the read transaction alive on its own.
        let entries = table
            .range::<&[u8]>(range.as_slices())
            .map_err(|e| self.error("range", e.into()))?;
        let file = self.file.clone();
        let items = entries.map(move |item| {
            item.map(|(key, value)| (key.value().to_vec(), value.value().to_vec()))
                .map_err(|e| map_error(&file, "scan", e.into()))
        });
        Ok(directed(items, direction))
    }

    fn sync(&self) -> Result<()> {
        let txn = self.begin_write(Durability::Immediate)?;
        self.commit(txn)
    }

    fn compact(&self) -> Result<()> {
        let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
        // Compaction needs every earlier commit durable first.
        let txn = db
            .begin_write()
            .map_err(|e| self.error("begin write", e.into()))?;
        self.commit(txn)?;
        retry_while_in_progress(|| db.compact().map(drop).map_err(redb::Error::from))
            .map_err(|e| self.error("compact", e))
    }

    fn check(&self) -> Result<CheckReport> {
        let passed = {
            let mut db = self.db.write().unwrap_or_else(PoisonError::into_inner);
            retry_while_in_progress(|| db.check_integrity().map_err(redb::Error::from))
                .map_err(|e| self.error("check integrity", e))?
        };
        if !passed {
            return Err(peer_corruption(
                NAME,
                &self.file,
                "check_integrity failed and repaired the file (recent non-durable commits may be gone)",
            ));
        }
        let live_keys = self.live_keys().unwrap_or(0);
        let bytes = std::fs::metadata(&self.file).map(|m| m.len()).unwrap_or(0);
        Ok(CheckReport {
            files_checked: 1,
            items_checked: live_keys,
            bytes_checked: bytes,
            live_keys,
            notes: vec!["redb check_integrity: every page checksum verified".into()],
            damage: Vec::new(),
        })
    }

    fn live_keys(&self) -> Option<u64> {
        let txn = self.db().begin_read().ok()?;
        let table = txn.open_table(TABLE).ok()?;
        table.len().ok()
    }
}
