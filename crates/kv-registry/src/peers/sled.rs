//! sled 0.34 (Bw-tree over a log-structured page store, pure Rust) behind
//! kvlab's `Store`.
//!
//! Files: `DIR/sled/`, the default tree.
//!
//! - Durability: sled keeps writes in its in-memory log buffers until
//!   `flush()`. On Linux sled's `flush()` ends with `sync_file_range`, which
//!   writes the pages but neither flushes the device's write cache nor the
//!   file's metadata: it is not an fsync. So that a "synced" write means the
//!   same on every engine, every flush here is followed by `fdatasync` of
//!   sled's log file (`DIR/sled/db`). Under `SyncPolicy::Always` every write
//!   or batch is followed by that flush before it returns. Under `Manual` the periodic
//!   flusher is off (`flush_every_ms(None)`) and [`SledPeer::sync`] is
//!   `flush()`. Under `Interval` sled's own flusher runs every `interval_ms`
//!   (and the shared group-commit thread calls `flush()` too). Dropping the
//!   store flushes, so a clean close keeps every acknowledged write.
//! - sled's background threads can hold its own file lock for a moment after
//!   a handle is dropped; an open waits up to five seconds for it (kvlab's
//!   `LOCK`, taken first, already shuts out every other live handle).
//! - Cache: `Config::cache_capacity(cache_bytes)`.
//! - Compression: off (`use_compression(false)`; the crate is built without
//!   its `compression` feature).
//! - Scans are sled iterators: not a snapshot. Each step reads the tree as it
//!   is then, so a scan may see writes made after it started (each key at
//!   most once, in order).
//! - `compact` is a no-op: sled 0.34 has no compaction call; its segment
//!   cleaner rewrites fragmented segments in the background on its own.
//! - `check` is a full scan (sled verifies the CRC of every log message it
//!   reads from disk). `stats().live_keys` is exact but costs a scan of
//!   every key: it is sled's `len()`, and sled keeps no count.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kv_core::{BatchOp, CheckReport, Direction, Error, KeyRange, Result, ScanIter, WriteBatch};

use super::{
    check_by_full_scan, directed, peer_corruption, peer_io_error, Peer, PeerConfig, PeerStore,
};

const NAME: &str = "sled";

/// sled behind [`PeerStore`].
pub type SledStore = PeerStore<SledPeer>;

/// Opens (creating if needed) a sled store in `dir`.
///
/// # Errors
/// `Locked` if another handle has `dir` open; `Io` or `Corruption` from sled.
pub fn open(dir: &Path, config: &PeerConfig) -> Result<SledStore> {
    PeerStore::open_with(NAME, dir, config, |dir| SledPeer::open(dir, config))
}

/// The sled database and whether to flush after each write.
pub struct SledPeer {
    db: ::sled::Db,
    /// sled's log file, opened once so every flush can end with a real
    /// `fdatasync` (see the module docs).
    log_file: std::fs::File,
    data_dir: PathBuf,
    sync_each_write: bool,
}

impl SledPeer {
    fn open(dir: &Path, config: &PeerConfig) -> Result<Self> {
        let data_dir = dir.join(NAME);
        let flush_every_ms = match config.sync {
            kv_core::SyncPolicy::Interval { interval_ms } => Some(interval_ms.max(1)),
            kv_core::SyncPolicy::Always | kv_core::SyncPolicy::Manual => None,
        };
        let sled_config = ::sled::Config::new()
            .path(&data_dir)
            .cache_capacity(config.cache_bytes as u64)
            .use_compression(false)
            .flush_every_ms(flush_every_ms);
        let db =
            open_waiting_for_close(&sled_config).map_err(|e| map_error(&data_dir, "open", e))?;
        let log_file = std::fs::File::open(data_dir.join("db"))?;
        Ok(Self {
            db,
            log_file,
            data_dir,
            sync_each_write: config.sync_each_write(),
        })
    }

    fn error(&self, what: &str, err: ::sled::Error) -> Error {
        map_error(&self.data_dir, what, err)
    }

    fn flush_if_always(&self) -> Result<()> {
        if self.sync_each_write {
            self.flush_durably()?;
        }
        Ok(())
    }

    /// sled's `flush()` followed by `fdatasync` of its log file.
    fn flush_durably(&self) -> Result<()> {
        self.db.flush().map_err(|e| self.error("flush", e))?;
        self.log_file.sync_data()?;
        Ok(())
    }
}

/// How long an open waits for sled's own lock, which a previous handle's
/// background threads can hold for a moment after it was dropped.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Opens sled, retrying while its own file lock is still held. Only a
/// handle of this adapter that is finishing its close can hold it: kvlab's
/// `LOCK` (taken before this is called) keeps every other handle out, and
/// sled releases its lock once its threads have flushed and let go.
fn open_waiting_for_close(config: &::sled::Config) -> ::sled::Result<::sled::Db> {
    let deadline = Instant::now() + CLOSE_WAIT;
    loop {
        match config.open() {
            Err(::sled::Error::Io(e)) if is_lock_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

/// True for sled 0.34's "lock held" error, which it reports as
/// `ErrorKind::Other` with this message (wrapping the `WouldBlock` of
/// `flock`).
fn is_lock_busy(err: &io::Error) -> bool {
    err.to_string().starts_with("could not acquire lock on")
}

impl Drop for SledPeer {
    /// Flushes before the handle goes, so a clean close keeps every
    /// acknowledged write without waiting for sled's background threads (an
    /// error has nowhere to go from `drop`; sled flushes again as it closes).
    fn drop(&mut self) {
        let _ = self.db.flush();
    }
}

/// sled's error as kvlab's: its corruption report stays corruption.
fn map_error(dir: &Path, what: &str, err: ::sled::Error) -> Error {
    match err {
        ::sled::Error::Io(io) => Error::Io(io),
        ::sled::Error::Corruption { at, .. } => {
            peer_corruption(NAME, dir, format!("{what}: corrupt data at {at:?}"))
        }
        other => peer_io_error(NAME, what, other),
    }
}

impl Peer for SledPeer {
    fn name(&self) -> &'static str {
        NAME
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let value = self.db.get(key).map_err(|e| self.error("get", e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db
            .insert(key, value)
            .map_err(|e| self.error("insert", e))?;
        self.flush_if_always()
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.db.remove(key).map_err(|e| self.error("remove", e))?;
        self.flush_if_always()
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        let mut sled_batch = ::sled::Batch::default();
        for op in batch.ops() {
            match op {
                BatchOp::Put { key, value } => sled_batch.insert(key.as_slice(), value.as_slice()),
                BatchOp::Delete { key } => sled_batch.remove(key.as_slice()),
            }
        }
        self.db
            .apply_batch(sled_batch)
            .map_err(|e| self.error("apply batch", e))?;
        self.flush_if_always()
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        let entries = self.db.range::<&[u8], _>(range.as_slices());
        let dir = self.data_dir.clone();
        let items = entries.map(move |item| {
            item.map(|(key, value)| (key.to_vec(), value.to_vec()))
                .map_err(|e| map_error(&dir, "scan", e))
        });
        Ok(directed(items, direction))
    }

    fn sync(&self) -> Result<()> {
        self.flush_durably()
    }

    fn compact(&self) -> Result<()> {
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
        Some(self.db.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the message sled 0.34 uses for a held lock, which the reopen
    /// wait depends on.
    #[test]
    fn second_sled_open_is_recognised_as_lock_busy() {
        let dir = tempfile::tempdir().unwrap();
        let config = ::sled::Config::new().path(dir.path());
        let _first = config.open().unwrap();
        let second = ::sled::Config::new().path(dir.path()).open();
        match second {
            Err(::sled::Error::Io(e)) => assert!(is_lock_busy(&e), "{e}"),
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => panic!("sled opened a locked directory twice"),
        }
        assert!(!is_lock_busy(&io::Error::other("disk full")));
    }
}
