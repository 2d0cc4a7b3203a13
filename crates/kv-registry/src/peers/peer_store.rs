//! [`PeerStore`]: the one `Store` implementation shared by every peer
//! adapter. It does what must be the same for all of them (limits, the
//! directory lock, poisoning, group commit, stats) and hands the rest to a
//! [`Peer`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kv_core::fs::{lock_store_dir, DirLock};
use kv_core::limits::{check_batch, check_key, check_put};
use kv_core::{claim_store_dir, Claim, OpenMode, StoreIdentity};
use kv_core::{
    CheckReport, Direction, Error, KeyRange, Result, ScanIter, Stats, StdFs, Store, SyncPolicy,
    WriteBatch,
};

use super::interval_sync::{IntervalSyncer, WriteState};
use super::{base_extra, dir_bytes, PeerConfig};

/// One peer engine, opened with a [`PeerConfig`]: the operations
/// [`PeerStore`] delegates. Inputs are already checked against
/// `kv_core::limits` and ranges are not empty.
///
/// Every write method commits atomically and, when the peer was opened with
/// `SyncPolicy::Always`, durably (fsync) before it returns.
pub trait Peer: Send + Sync + 'static {
    /// Registry name, e.g. `"redb"`.
    fn name(&self) -> &'static str;
    /// The value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Sets `key` to `value`.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Removes `key` (missing is fine).
    fn delete(&self, key: &[u8]) -> Result<()>;
    /// Applies a non-empty batch as one transaction.
    fn write(&self, batch: &WriteBatch) -> Result<()>;
    /// Keys in a non-empty `range`, in `direction` order.
    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>>;
    /// Makes every earlier acknowledged write durable.
    fn sync(&self) -> Result<()>;
    /// Reclaims space where the peer offers a way to.
    fn compact(&self) -> Result<()>;
    /// Verifies what the peer can verify.
    fn check(&self) -> Result<CheckReport>;
    /// Live keys, exactly (counted with a scan where the peer keeps no
    /// count); `None` if counting failed.
    fn live_keys(&self) -> Option<u64>;
    /// Peer-specific figures for `Stats::extra`.
    fn extra(&self) -> BTreeMap<String, u64> {
        BTreeMap::new()
    }
}

/// The format version of a peer adapter's directory layout (the peer's own
/// files in `DIR/<name>/`, kvlab's `LOCK` and `KVLAB` beside them).
pub const PEER_LAYOUT_VERSION: u32 = 1;

/// Claims `dir` for peer `name` with kv-core's identity marker
/// ([`claim_store_dir`], identity = the registry name). A directory written
/// by this adapter before markers existed holds exactly the peer's
/// subdirectory `DIR/<name>/` (besides `LOCK`), and is recognised as this
/// peer's store (the marker is then added).
///
/// # Errors
/// As [`claim_store_dir`]: `WrongEngine`, `ForeignDirectory`, `NoStore`, I/O.
pub fn claim_peer_dir(name: &str, dir: &Path, mode: OpenMode) -> Result<Claim> {
    let is_legacy = |names: &[String]| matches!(names, [only] if only == name);
    claim_store_dir(
        &StdFs,
        dir,
        &StoreIdentity::new(name, PEER_LAYOUT_VERSION),
        mode,
        &is_legacy,
    )
}

/// A peer behind the [`Store`] trait, with kvlab's rules at the edges (see
/// the [`crate::peers`] module docs).
///
/// Scans see whatever snapshot the peer gives (documented per adapter).
pub struct PeerStore<P: Peer> {
    // Field order is drop order: the syncer thread stops first, then the
    // peer closes, and only then is the directory lock released.
    _syncer: Option<IntervalSyncer>,
    peer: Arc<P>,
    state: Arc<WriteState>,
    dir: PathBuf,
    config: PeerConfig,
    _lock: Box<dyn DirLock>,
}

impl<P: Peer> std::fmt::Debug for PeerStore<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerStore")
            .field("peer", &self.peer.name())
            .field("dir", &self.dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<P: Peer> PeerStore<P> {
    /// Claims `dir` for peer `name` ([`claim_peer_dir`]: created durably
    /// with its `KVLAB` marker if new), takes kvlab's lock on it, then opens
    /// the peer with `open_peer(dir)`.
    ///
    /// # Errors
    /// `WrongEngine` for another engine's store, `ForeignDirectory` for a
    /// directory of other files, `NoStore` for a read-only open of a missing
    /// or empty directory; `Locked` if another handle holds `dir`; whatever
    /// `open_peer` returns.
    pub(crate) fn open_with(
        name: &'static str,
        dir: &Path,
        config: &PeerConfig,
        open_peer: impl FnOnce(&Path) -> Result<P>,
    ) -> Result<Self> {
        claim_peer_dir(name, dir, config.open_mode)?;
        let lock = lock_store_dir(&StdFs, dir)?;
        let peer = Arc::new(open_peer(dir)?);
        let state = Arc::new(WriteState::default());
        let syncer = match config.sync {
            SyncPolicy::Interval { interval_ms } => {
                let syncing = peer.clone();
                Some(IntervalSyncer::start(
                    peer.name(),
                    interval_ms,
                    state.clone(),
                    move || syncing.sync(),
                )?)
            }
            SyncPolicy::Always | SyncPolicy::Manual => None,
        };
        Ok(Self {
            _syncer: syncer,
            peer,
            state,
            dir: dir.to_path_buf(),
            config: *config,
            _lock: lock,
        })
    }

    /// The adapter inside, for peer-specific calls.
    pub fn peer(&self) -> &P {
        &self.peer
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    /// Runs a write: refused if poisoned; a failure other than a refused
    /// argument poisons the handle.
    fn guarded_write(&self, write: impl FnOnce() -> Result<()>) -> Result<()> {
        self.state.check_poison()?;
        match write() {
            Ok(()) => {
                self.state.mark_dirty();
                Ok(())
            }
            Err(e) => {
                if !matches!(e, Error::TooLarge { .. } | Error::InvalidArgument(_)) {
                    self.state.poison(&e);
                }
                Err(e)
            }
        }
    }
}

impl<P: Peer> Store for PeerStore<P> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        self.peer.get(key)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)?;
        self.guarded_write(|| self.peer.put(key, value))
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.guarded_write(|| self.peer.delete(key))
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)?;
        if batch.is_empty() {
            return self.state.check_poison();
        }
        self.guarded_write(|| self.peer.write(batch))
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        self.peer.scan(range, direction)
    }

    fn sync(&self) -> Result<()> {
        self.state.check_poison()?;
        self.state.take_dirty();
        self.peer.sync().inspect_err(|e| self.state.poison(e))
    }

    fn compact(&self) -> Result<()> {
        self.state.check_poison()?;
        self.peer.compact()
    }

    fn check(&self) -> Result<CheckReport> {
        self.peer.check()
    }

    fn stats(&self) -> Stats {
        let (disk_bytes, disk_allocated_bytes) = dir_bytes(&self.dir);
        let mut extra = base_extra(&self.config, disk_allocated_bytes);
        let live_keys = self.peer.live_keys();
        extra.insert("live_keys_known".into(), u64::from(live_keys.is_some()));
        extra.extend(self.peer.extra());
        Stats {
            engine: self.peer.name().to_string(),
            live_keys_exact: true,
            live_keys: live_keys.unwrap_or(0),
            disk_bytes,
            extra,
            ..Stats::default()
        }
    }
}
