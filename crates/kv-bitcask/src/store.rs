//! [`Bitcask`]: open, the [`Store`] implementation (each call checks its
//! arguments and hands off to one part), and `Inner`, the composition of a
//! store's parts: [`StoreDir`], [`SharedState`], [`Log`] (the write path),
//! [`Merger`], the counters and what open found.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use kv_core::fs::{lock_store_dir, lock_store_dir_shared};
use kv_core::limits::{check_batch, check_key, check_put, MAX_VALUE_BYTES};
use kv_core::{
    claim_store_dir, CheckReport, Claim, CorruptionKind, CountingFs, Damage, Direction, Error,
    KeyRange, Result, ScanIter, Stats, Store, StoreIdentity, WriteBatch,
};

use crate::data_file::{is_legacy_bitcask_store, ENGINE_NAME, STORE_FORMAT_VERSION};
use crate::log::{Log, LogParts};
use crate::maintenance::{self, Signal};
use crate::merge::Merger;
use crate::options::BitcaskOptions;
use crate::read::read_value;
use crate::scan::ScanSource;
use crate::shared_state::SharedState;
use crate::stats::{build_stats, EngineCounters, KeydirFigures};
use crate::store_dir::StoreDir;
use crate::ttl::{expiry_after, EXPIRY_PREFIX_BYTES};
use crate::writer::WriteOp;
use crate::{check, recovery, scan};

/// The parts of an open store, shared by its handle, its scans and its
/// background thread. It has no behaviour: each part is a type of its own
/// with its methods beside it (the write path in `log.rs`, merges in
/// `merge.rs`, the state's locks in `shared_state.rs`, the directory in
/// `store_dir.rs`).
#[derive(Debug)]
pub(crate) struct Inner {
    /// The directory, its `Fs`, its lock and the data file ids.
    pub(crate) dir: Arc<StoreDir>,
    pub(crate) options: BitcaskOptions,
    /// The keydir, the file table and the totals, behind their lock.
    pub(crate) state: Arc<SharedState>,
    /// The write path: writer lock, write buffer mirror, group commit.
    pub(crate) log: Log,
    /// Runs merges, one at a time, and remembers how they failed.
    pub(crate) merger: Merger,
    pub(crate) counters: Arc<EngineCounters>,
    /// Wakes or stops the background thread.
    pub(crate) signal: Arc<Signal>,
    /// What open found, for `check`.
    pub(crate) found_at_open: OpenFindings,
}

/// What open noticed, kept for `check()`.
#[derive(Debug, Default)]
pub(crate) struct OpenFindings {
    /// Bad hints, salvaged bytes, unexpected files.
    pub notes: Vec<String>,
    /// Damage a `Verify` open recorded instead of failing.
    pub damage: Vec<Damage>,
    /// Files a read-only open shortened in memory only (a torn tail it may
    /// not truncate): their length on disk, by id.
    pub disk_lengths: BTreeMap<u32, u64>,
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
        let counters = Arc::new(EngineCounters::default());
        let marker_version = match claim {
            Claim::Created => STORE_FORMAT_VERSION,
            Claim::Existing(found) => found.format_version,
            Claim::Legacy => 0,
        };
        let recovered = recovery::recover(&fs, dir, &options, &counters, marker_version)?;
        let dir = Arc::new(StoreDir::new(
            dir.to_path_buf(),
            fs,
            dir_lock,
            recovered.next_file_id,
        ));
        let state = Arc::new(SharedState::new(recovered.state, Arc::clone(&counters)));
        let signal = Arc::new(Signal::default());
        let parts = LogParts {
            dir: Arc::clone(&dir),
            state: Arc::clone(&state),
            counters: Arc::clone(&counters),
            signal: Arc::clone(&signal),
        };
        let log = Log::new(recovered.writer, options.clone(), parts);
        let merger = Merger::new(
            options.clone(),
            Arc::clone(&dir),
            Arc::clone(&state),
            Arc::clone(&counters),
        );
        let inner = Arc::new(Inner {
            dir,
            options,
            state,
            log,
            merger,
            counters,
            signal,
            found_at_open: OpenFindings {
                notes: recovered.notes,
                damage: recovered.damage,
                disk_lengths: recovered.disk_lengths,
            },
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
        self.write_op(WriteOp::Put {
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
        self.inner.merger.auto_merge(&self.inner.log)
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        self.inner.dir.path()
    }

    /// Every write (`put`, `delete`, `write`, `put_with_ttl`): through the
    /// write path ([`Log::write`], `log.rs`); then, under
    /// `Background::Inline` at its deterministic points, the automatic
    /// merge policy on the caller's thread. A failed merge is counted in
    /// `merge_failures`, not returned: the write itself succeeded (a merge
    /// that failed while committing has poisoned the store, so the next
    /// write reports it).
    fn write_op(&self, op: WriteOp<'_>) -> Result<()> {
        let merge_check_due = self.inner.log.write(op)?;
        if merge_check_due {
            let _ = self.inner.merger.auto_merge(&self.inner.log); // counted in `merge_failures`
        }
        Ok(())
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
        self.inner.log.close()
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
            let Some((entry, handle)) = self.inner.state.lookup(key) else {
                return Ok(None);
            };
            let handle = handle.ok_or_else(|| {
                Error::corruption(
                    self.inner.dir.path(),
                    0,
                    CorruptionKind::Invariant(format!(
                        "keydir points at data file {} which is not open",
                        entry.file_id
                    )),
                )
            })?;
            (entry, handle)
        };
        let unflushed = self.inner.log.unflushed();
        read_value(key, entry, &handle, unflushed, &*self.inner.options.clock)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)?;
        self.write_op(WriteOp::Put {
            key,
            value,
            expiry_unix_ms: None,
        })
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.write_op(WriteOp::Delete { key })
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)?;
        self.write_op(WriteOp::Batch(batch))
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        let source = ScanSource {
            state: &self.inner.state,
            unflushed: self.inner.log.unflushed(),
            clock: &*self.inner.options.clock,
            dir: self.inner.dir.path(),
        };
        scan::scan(source, range, direction)
    }

    fn sync(&self) -> Result<()> {
        if self.inner.options.core.open_mode.is_read_only() {
            return Ok(()); // nothing was written, nothing to make durable
        }
        self.inner.log.sync_all()
    }

    fn compact(&self) -> Result<()> {
        if self.inner.options.core.open_mode.is_read_only() {
            return Err(Error::ReadOnly);
        }
        self.inner.merger.compact(&self.inner.log)
    }

    fn check(&self) -> Result<CheckReport> {
        check::check(&self.inner)
    }

    fn stats(&self) -> Stats {
        // The keydir's figures first: the accounting is never held while a
        // keydir lock is requested.
        let (keys, heap_bytes, leaves) = self.inner.state.keydir_figures();
        let keydir = KeydirFigures {
            keys,
            heap_bytes,
            leaves,
        };
        let st = self.inner.state.accounting();
        let now = self.inner.options.clock.now_unix_ms();
        let io = self.inner.dir.fs().counters();
        build_stats(&st, keydir, &self.inner.counters, io, now)
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
