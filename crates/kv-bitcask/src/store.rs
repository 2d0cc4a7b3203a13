//! [`Bitcask`]: open, the read path, and the [`Store`] implementation.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use kv_core::fs::{lock_store_dir, lock_store_dir_shared, DirLock};
use kv_core::limits::{check_batch, check_key, check_put, MAX_VALUE_BYTES};
use kv_core::{
    claim_store_dir, CheckReport, Claim, CorruptionKind, CountingFs, Damage, Direction, Error,
    GroupCommit, KeyRange, Result, ScanIter, Stats, Store, StoreIdentity, WriteBatch,
};

use crate::data_file::{
    file_ids_exhausted, is_legacy_bitcask_store, verify_put, DataFile, ENGINE_NAME,
    STORE_FORMAT_VERSION,
};
use crate::keydir::Entry;
use crate::lock_hold::{Holder, TimedWrite};
use crate::maintenance::{self, Signal};
use crate::merge_health::MergeHealth;
use crate::options::BitcaskOptions;
use crate::state::State;
use crate::stats::{build_stats, EngineCounters};
use crate::ttl::{expiry_after, EXPIRY_PREFIX_BYTES};
use crate::unflushed::UnflushedTail;
use crate::writer::{WriteOp, Writer};
use crate::{check, merge, recovery, scan};

/// Records up to this size are read into a per-thread reusable buffer.
const REUSED_READ_BUFFER_BYTES: usize = 64 * 1024;

thread_local! {
    static READ_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Everything a store shares between its handle, its scans and its
/// background thread.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) dir: PathBuf,
    pub(crate) fs: Arc<CountingFs>,
    pub(crate) options: BitcaskOptions,
    pub(crate) state: RwLock<State>,
    pub(crate) writer: Mutex<Writer>,
    /// The active file's records still in the writer's buffer, readable
    /// without the writer lock (see [`crate::unflushed`]).
    pub(crate) unflushed: UnflushedTail,
    /// Shares syncs among concurrent writers; positions are
    /// `Writer::log_end` values (see `crate::writer`).
    pub(crate) group: GroupCommit,
    /// Serializes merges (and `check`, which must not race one).
    pub(crate) merge_lock: Mutex<()>,
    next_file_id: AtomicU64,
    /// Writes made, for the periodic merge check under `Background::Inline`.
    pub(crate) inline_writes: AtomicU64,
    pub(crate) counters: EngineCounters,
    /// What failed merges left for `check()`, and the automatic back-off.
    pub(crate) merge_health: MergeHealth,
    pub(crate) signal: Arc<Signal>,
    /// What open noticed (bad hints, salvaged bytes, unexpected files), for
    /// `check`.
    pub(crate) open_notes: Vec<String>,
    /// Damage a `Verify` open recorded instead of failing, for `check`.
    pub(crate) open_damage: Vec<Damage>,
    /// Files a read-only open shortened in memory only (a torn tail it may
    /// not truncate): their length on disk, by id.
    pub(crate) disk_lengths: BTreeMap<u32, u64>,
    _dir_lock: Box<dyn DirLock>,
}

impl Inner {
    pub(crate) fn read_state(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state's write lock; how long it is held is recorded (see
    /// [`crate::lock_hold`]).
    pub(crate) fn write_state(&self, holder: Holder) -> TimedWrite<'_> {
        let guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        TimedWrite::new(guard, &self.counters.keydir_write_lock, holder)
    }

    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lock_merge(&self) -> MutexGuard<'_, ()> {
        self.merge_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh data file id, never handed out before.
    ///
    /// # Errors
    /// `InvalidArgument` once the `u32` ids are used up (the counter is a
    /// `u64`, so it never wraps back onto ids in use).
    pub(crate) fn allocate_file_id(&self) -> Result<u32> {
        let id = self.next_file_id.fetch_add(1, Ordering::Relaxed);
        u32::try_from(id).map_err(|_| file_ids_exhausted())
    }

    /// Every data file id below this was handed out.
    pub(crate) fn next_file_id(&self) -> u64 {
        self.next_file_id.load(Ordering::Relaxed)
    }

    /// Marks the store poisoned (a merge failed after it started changing
    /// the directory).
    pub(crate) fn poison(&self, cause: String) {
        self.lock_writer().poison.poison(cause);
    }

    /// The value of `key`, whose keydir entry is `entry`, read from
    /// `handle` with one positioned read (or from the write buffer) and
    /// verified; `None` if it is a TTL put that has expired.
    pub(crate) fn read_value(
        &self,
        key: &[u8],
        entry: Entry,
        handle: &DataFile,
    ) -> Result<Option<Vec<u8>>> {
        if entry.len as usize <= REUSED_READ_BUFFER_BYTES {
            let reused = READ_BUFFER.with(|cell| {
                cell.try_borrow_mut()
                    .ok()
                    .map(|mut buf| self.read_value_with(key, entry, handle, &mut buf))
            });
            if let Some(result) = reused {
                return result;
            }
        }
        self.read_value_with(key, entry, handle, &mut Vec::new())
    }

    fn read_value_with(
        &self,
        key: &[u8],
        entry: Entry,
        handle: &DataFile,
        buf: &mut Vec<u8>,
    ) -> Result<Option<Vec<u8>>> {
        // Past what is in the file: still in the writer's buffer, copied
        // from its mirror without the writer lock (never behind I/O).
        let buffered = entry.end() > handle.readable_len() && self.unflushed.copy(&entry, buf);
        if !buffered {
            handle.read_record(&entry, buf)?;
        }
        let put = verify_put(&handle.path, &entry, key, buf)?;
        if entry.has_ttl() && put.is_expired(self.options.clock.now_unix_ms()) {
            return Ok(None);
        }
        Ok(Some(put.value.to_vec()))
    }
}

/// A Bitcask store: append-only data files, an in-memory ordered keydir,
/// hint files, and merge. See the crate documentation.
#[derive(Debug)]
pub struct Bitcask {
    inner: Arc<Inner>,
    maintenance: Option<JoinHandle<()>>,
}

impl Bitcask {
    /// Opens (or creates) the store in `dir`, as `options.core.open_mode`
    /// says (read-only and verify opens change nothing on disk; see the
    /// crate docs).
    ///
    /// Claims the directory (the `KVLAB` marker), takes the directory lock,
    /// removes unfinished merge output, loads every data file's hint (or
    /// scans the data file when the hint is missing or bad, checking every
    /// record's CRC), truncates a torn tail (judged by the durable frontier
    /// in the file a crash may have torn), rebuilds missing hints, and
    /// starts the background thread when the options ask for automatic
    /// merges or interval syncs under `Background::Threads`.
    ///
    /// # Errors
    /// `Locked` if another handle has the directory open; `WrongEngine`,
    /// `ForeignDirectory` or `NoStore` (read-only, nothing there) from the
    /// directory's identity; `Corruption` for a damaged record with valid
    /// data after it (unless `salvage`, or `Verify`, which records it);
    /// `InvalidArgument` for bad options; I/O errors.
    pub fn open(dir: &Path, options: BitcaskOptions) -> Result<Bitcask> {
        options.validate()?;
        let fs = Arc::new(CountingFs::new(Arc::clone(&options.core.fs)));
        let mode = options.core.open_mode;
        let claim = claim_store_dir(
            &*fs,
            dir,
            &StoreIdentity::new(ENGINE_NAME, STORE_FORMAT_VERSION),
            mode,
            &is_legacy_bitcask_store,
        )?;
        let dir_lock = if mode.is_read_only() {
            lock_store_dir_shared(&*fs, dir)?
        } else {
            lock_store_dir(&*fs, dir)?
        };
        let counters = EngineCounters::default();
        let marker_version = match claim {
            Claim::Created => STORE_FORMAT_VERSION,
            Claim::Existing(found) => found.format_version,
            Claim::Legacy => 0,
        };
        let recovered = recovery::recover(&fs, dir, &options, &counters, marker_version)?;
        let group = GroupCommit::new(recovered.writer.flushed_log_end());
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            fs,
            options,
            state: RwLock::new(recovered.state),
            writer: Mutex::new(recovered.writer),
            unflushed: UnflushedTail::default(),
            group,
            merge_lock: Mutex::new(()),
            next_file_id: AtomicU64::new(recovered.next_file_id),
            inline_writes: AtomicU64::new(0),
            counters,
            merge_health: MergeHealth::default(),
            signal: Arc::new(Signal::default()),
            open_notes: recovered.notes,
            open_damage: recovered.damage,
            disk_lengths: recovered.disk_lengths,
            _dir_lock: dir_lock,
        });
        let maintenance = maintenance::spawn(&inner)?;
        Ok(Bitcask { inner, maintenance })
    }

    /// Sets `key` to `value` until `ttl` from now; after that the key reads
    /// as missing (`get`, `scan`) and the next merge drops it. The expiry is
    /// stored in the record (see [`crate::ttl`]), so it survives reopening.
    ///
    /// # Errors
    /// As [`Store::put`]; values are limited to `MAX_VALUE_BYTES - 8` bytes
    /// because the expiry takes 8 bytes of the record's value.
    pub fn put_with_ttl(&self, key: &[u8], value: &[u8], ttl: Duration) -> Result<()> {
        check_put(key, value)?;
        let limit = MAX_VALUE_BYTES - EXPIRY_PREFIX_BYTES;
        if value.len() > limit {
            return Err(Error::TooLarge {
                what: "value",
                limit,
                got: value.len(),
            });
        }
        let expiry = expiry_after(self.inner.options.clock.now_unix_ms(), ttl);
        self.inner.write_op(WriteOp::Put {
            key,
            value,
            expiry_unix_ms: Some(expiry),
        })
    }

    /// Runs the automatic merge policy ([`crate::MergePolicy`]) now, on the
    /// calling thread, whether or not `merge.auto` is on: merges the files
    /// it picks if one of its triggers is met. Returns true if a merge ran.
    ///
    /// # Errors
    /// As [`Store::compact`]; `ReadOnly` on a store opened read-only.
    pub fn merge_if_needed(&self) -> Result<bool> {
        merge::auto_merge(&self.inner)
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

impl Bitcask {
    /// Stops the background thread and closes the active file (see
    /// [`Store::close`]); safe to call twice (the second call finds nothing
    /// to do).
    fn shut_down(&mut self) -> Result<()> {
        self.inner.signal.stop();
        if let Some(handle) = self.maintenance.take() {
            let _ = handle.join();
        }
        self.inner.close()
    }
}

impl Drop for Bitcask {
    fn drop(&mut self) {
        let _ = self.shut_down(); // best effort: `close` reports failures
    }
}

impl Store for Bitcask {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        let (entry, handle) = {
            let st = self.inner.read_state();
            let Some(entry) = st.keydir.get(key) else {
                return Ok(None);
            };
            let handle = st.handle(entry.file_id).ok_or_else(|| {
                Error::corruption(
                    &self.inner.dir,
                    0,
                    CorruptionKind::Invariant(format!(
                        "keydir points at data file {} which is not open",
                        entry.file_id
                    )),
                )
            })?;
            (entry, handle)
        };
        self.inner.read_value(key, entry, &handle)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)?;
        self.inner.write_op(WriteOp::Put {
            key,
            value,
            expiry_unix_ms: None,
        })
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.inner.write_op(WriteOp::Delete { key })
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)?;
        self.inner.write_op(WriteOp::Batch(batch))
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        scan::scan(&self.inner, range, direction)
    }

    fn sync(&self) -> Result<()> {
        if self.inner.options.core.open_mode.is_read_only() {
            return Ok(()); // nothing was written, nothing to make durable
        }
        self.inner.sync_all()
    }

    fn compact(&self) -> Result<()> {
        if self.inner.options.core.open_mode.is_read_only() {
            return Err(Error::ReadOnly);
        }
        merge::compact(&self.inner)
    }

    fn check(&self) -> Result<CheckReport> {
        check::check(&self.inner)
    }

    fn stats(&self) -> Stats {
        let st = self.inner.read_state();
        let now = self.inner.options.clock.now_unix_ms();
        build_stats(&st, &self.inner.counters, self.inner.fs.counters(), now)
    }

    /// Flushes the write buffer, trims the active file's preallocated space,
    /// syncs it and writes its hint durably, as a drop does, but reports a
    /// failure.
    ///
    /// # Errors
    /// The I/O error of the final flush, trim or sync (the writes since the
    /// last successful sync may then be lost); `Poisoned` if an earlier
    /// failure poisoned the store. Nothing to do, so `Ok`, on a read-only
    /// open. A failed hint write is not an error (the next open scans the
    /// file instead).
    fn close(mut self: Box<Self>) -> Result<()> {
        self.shut_down()
    }
}
