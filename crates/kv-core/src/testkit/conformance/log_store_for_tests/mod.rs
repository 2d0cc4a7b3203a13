//! A tiny persistent store (one append-only log through `kv_core::codec`,
//! the whole map in memory) that exists only to prove the suite: the
//! correct version passes every case, and each deliberate [`Bug`] makes the
//! case that guards against it fail.

mod frontier;
mod overrides;
mod replay;
mod store_impl;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::batch::BatchOp;
use crate::codec::encode_put;
use crate::error::{Error, Result};
use crate::fs::{lock_store_dir, lock_store_dir_shared, CountingFs, DirLock, File, Fs};
use crate::identity::{claim_store_dir, StoreIdentity};
use crate::options::{Background, OpenMode, Options, SyncPolicy};

use frontier::{open_frontier, store_frontier};
pub(super) use overrides::{Overridden, Override};
pub(super) use replay::{damage_a_shadowed_record, damage_separate_records};
use replay::{replay, Map, OnDamage};

const LOG_NAME: &str = "data.log";
const COMPACT_NAME: &str = "data.compact";
const ENGINE_NAME: &str = "test-log";
/// Batches with more operations than this are split by
/// [`Bug::SplitsLargeBatches`].
const LARGE_BATCH_OPS: usize = 500;

/// A deliberate defect, to show that the case guarding against it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bug {
    None,
    /// Never syncs the file under `Always`.
    SkipsSyncUnderAlways,
    /// Writes a batch as separate records, one append each.
    SplitsBatches,
    /// Treats corruption in the middle of the log as its end.
    SkipsCorruption,
    /// Never syncs the directory after creating or renaming the log.
    ForgetsDirSync,
    /// Keeps accepting writes after a failed write or sync.
    IgnoresPoison,
    /// Compacts by truncating the log and rewriting it in place.
    CompactsInPlace,
    /// The `Interval` policy never syncs on its own.
    IntervalNeverSyncs,
    /// `check()` compares nothing on disk: it reports the memory as sound.
    CheckTrustsMemory,
    /// `check()` lists only the first damaged spot.
    CheckStopsAtFirstDamage,
    /// Compaction writes each live key's oldest value found in the log.
    CompactKeepsFirstVersion,
    /// Compaction rewrites only the synced part of the log, leaving out the
    /// keys deleted in memory, and drops the unsynced records from disk.
    CompactsSyncedPrefixOnly,
    /// Batches of more than [`LARGE_BATCH_OPS`] operations are written as
    /// several smaller batch groups.
    SplitsLargeBatches,
    /// Recovery of a torn tail recreates the log (`create` truncates it) and
    /// writes the valid part back, instead of truncating the tail.
    RewritesLogOnRecovery,
    /// Recovery ignores a torn tail in memory but never truncates it, so
    /// later appends land after the garbage.
    LeavesTornTail,
    /// A read-only open still truncates a torn tail.
    ReadOnlyRepairs,
    /// Scans read the live map item by item instead of a snapshot.
    ScansReadLive,
    /// `stats().io` stays zero.
    ReportsNoIo,
    /// `stats().torn_bytes_truncated` stays zero.
    ForgetsTornBytes,
    /// `stats().live_keys` overcounts by one (claiming exactness).
    OvercountsLiveKeys,
    /// `stats().live_keys` overcounts by one, honestly flagged as an
    /// estimate (`live_keys_exact: false`): not a bug, the suite must pass.
    EstimatesLiveKeys,
}

struct State {
    map: Map,
    /// The log; `None` only for a read-only open of a store whose log was
    /// never created.
    file: Option<Arc<dyn File>>,
    next_seq: u64,
    poisoned: Option<String>,
    dirty: bool,
    /// Log bytes known to be durable.
    synced_len: u64,
    /// The durable-frontier file (`None` read-only without one).
    frontier: Option<Arc<dyn File>>,
    last_sync: Instant,
}

struct Inner {
    dir: PathBuf,
    fs: Arc<CountingFs>,
    sync: SyncPolicy,
    background: Background,
    read_only: bool,
    bug: Bug,
    torn_bytes: u64,
    state: Mutex<State>,
    _lock: Box<dyn DirLock>,
}

/// The test store. See the module docs.
pub(super) struct LogStore {
    inner: Arc<Inner>,
    stop: Arc<AtomicBool>,
    syncer: Option<JoinHandle<()>>,
}

/// What recovery found in the log.
struct Recovered {
    map: Map,
    next_seq: u64,
    file: Option<Arc<dyn File>>,
    frontier: Option<Arc<dyn File>>,
    torn_bytes: u64,
    synced_len: u64,
}

impl LogStore {
    pub(super) fn open(dir: &Path, options: Options, bug: Bug) -> Result<Self> {
        let fs = Arc::new(CountingFs::new(options.fs));
        let mode = options.open_mode;
        let identity = StoreIdentity::new(ENGINE_NAME, 1);
        claim_store_dir(&*fs, dir, &identity, mode, &|names| {
            names.iter().any(|n| n == LOG_NAME)
        })?;
        let lock = if mode.is_read_only() {
            lock_store_dir_shared(&*fs, dir)?
        } else {
            lock_store_dir(&*fs, dir)?
        };
        let recovered = recover(&*fs, dir, mode, bug)?;
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            fs,
            sync: options.sync,
            background: options.background,
            read_only: mode.is_read_only(),
            bug,
            torn_bytes: recovered.torn_bytes,
            state: Mutex::new(State {
                map: recovered.map,
                file: recovered.file,
                next_seq: recovered.next_seq,
                poisoned: None,
                dirty: false,
                synced_len: recovered.synced_len,
                frontier: recovered.frontier,
                last_sync: Instant::now(),
            }),
            _lock: lock,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let syncer = match options.sync {
            SyncPolicy::Interval { interval_ms }
                if bug != Bug::IntervalNeverSyncs
                    && options.background == Background::Threads
                    && !inner.read_only =>
            {
                let (inner, stop) = (Arc::clone(&inner), Arc::clone(&stop));
                Some(std::thread::spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(interval_ms));
                        let _ = inner.sync_if_dirty();
                    }
                }))
            }
            _ => None,
        };
        Ok(Self {
            inner,
            stop,
            syncer,
        })
    }
}

/// Opens (or, read-write, creates) the log and replays it; a read-write
/// open truncates a torn tail and makes what it recovered durable.
fn recover(fs: &dyn Fs, dir: &Path, mode: OpenMode, bug: Bug) -> Result<Recovered> {
    let path = dir.join(LOG_NAME);
    let read_only = mode.is_read_only();
    let (frontier_file, frontier) = open_frontier(fs, dir, read_only)?;
    let opened = if read_only {
        fs.open_read(&path)
    } else {
        fs.open(&path)
    };
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let file = if read_only {
                None
            } else {
                let file = fs.create(&path)?;
                if bug != Bug::ForgetsDirSync {
                    fs.sync_dir(dir)?;
                }
                Some(file)
            };
            return Ok(Recovered {
                map: Map::new(),
                next_seq: 0,
                file,
                frontier: frontier_file,
                torn_bytes: 0,
                synced_len: 0,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let data = file.read_all()?;
    let on_damage = match (mode, bug) {
        (OpenMode::Verify, _) => OnDamage::List(usize::MAX),
        (_, Bug::SkipsCorruption) => OnDamage::Stop,
        _ => OnDamage::Fail { frontier },
    };
    let replayed = replay(&path, &data, on_damage)?;
    let end = replayed.valid_end;
    let torn = data.len() as u64 - end;
    let mut file = file;
    if torn > 0 && (!read_only || bug == Bug::ReadOnlyRepairs) {
        file = repair_torn_tail(fs, &path, file, &data[..end as usize], bug)?;
    } else if !read_only {
        file.sync()?;
    }
    Ok(Recovered {
        map: replayed.map,
        next_seq: replayed.next_seq,
        file: Some(file),
        frontier: frontier_file,
        torn_bytes: torn,
        synced_len: end,
    })
}

/// Cuts the torn tail off the log (durably), or not, as `bug` says.
fn repair_torn_tail(
    fs: &dyn Fs,
    path: &Path,
    file: Arc<dyn File>,
    valid: &[u8],
    bug: Bug,
) -> io::Result<Arc<dyn File>> {
    match bug {
        Bug::LeavesTornTail => Ok(file),
        Bug::RewritesLogOnRecovery => {
            drop(file);
            let file = fs.create(path)?;
            file.append(valid)?;
            file.sync()?;
            Ok(file)
        }
        _ => {
            file.truncate(valid.len() as u64)?;
            file.sync()?;
            Ok(file)
        }
    }
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join(LOG_NAME)
    }

    fn writable(&self, state: &State) -> Result<Arc<dyn File>> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        if let Some(cause) = &state.poisoned {
            if self.bug != Bug::IgnoresPoison {
                return Err(Error::Poisoned {
                    cause: cause.clone(),
                });
            }
        }
        state.file.clone().ok_or(Error::ReadOnly)
    }

    fn poison<T>(state: &mut State, e: io::Error) -> Result<T> {
        state.poisoned = Some(e.to_string());
        Err(Error::Io(e))
    }

    /// Syncs the file and records (durably, in the frontier) how much of it
    /// is durable.
    fn sync_file(state: &mut State, file: &dyn File) -> Result<()> {
        let synced = file.sync().and_then(|()| file.len());
        let len = match synced {
            Ok(len) => len,
            Err(e) => return Self::poison(state, e),
        };
        if let Some(frontier) = &state.frontier {
            if let Err(e) = store_frontier(&**frontier, len) {
                return Self::poison(state, e);
            }
        }
        state.synced_len = len;
        state.dirty = false;
        state.last_sync = Instant::now();
        Ok(())
    }

    /// Under `Interval` with `Background::Inline`, the sync that is due.
    fn interval_sync_if_due(&self, state: &mut State, file: &dyn File) -> Result<()> {
        if let SyncPolicy::Interval { interval_ms } = self.sync {
            let due = state.last_sync.elapsed() >= Duration::from_millis(interval_ms);
            if self.background == Background::Inline
                && self.bug != Bug::IntervalNeverSyncs
                && state.dirty
                && due
            {
                return Self::sync_file(state, file);
            }
        }
        Ok(())
    }

    /// Appends each buffer (one `append` call each), syncs under `Always`,
    /// then applies `ops` to the map.
    fn append(&self, buffers: &[Vec<u8>], seqs: u64, ops: &[BatchOp]) -> Result<()> {
        let mut state = self.state();
        let file = self.writable(&state)?;
        self.interval_sync_if_due(&mut state, &*file)?;
        for buf in buffers {
            if let Err(e) = file.append(buf) {
                return Self::poison(&mut state, e);
            }
        }
        state.dirty = true;
        if self.sync == SyncPolicy::Always && self.bug != Bug::SkipsSyncUnderAlways {
            Self::sync_file(&mut state, &*file)?;
        }
        state.next_seq += seqs;
        for op in ops {
            match op {
                BatchOp::Put { key, value } => state.map.insert(key.clone(), value.clone()),
                BatchOp::Delete { key } => state.map.remove(key),
            };
        }
        Ok(())
    }

    fn sync_if_dirty(&self) -> Result<()> {
        let mut state = self.state();
        let file = self.writable(&state)?;
        Self::sync_file(&mut state, &*file)
    }

    /// The map compaction writes, as `bug` says.
    fn compacted_map(&self, state: &State, file: &dyn File) -> Result<Map> {
        match self.bug {
            Bug::CompactKeepsFirstVersion => {
                let data = file.read_all()?;
                let mut first = Map::new();
                for (key, value) in replay_puts(&self.log_path(), &data)? {
                    first.entry(key).or_insert(value);
                }
                Ok(state
                    .map
                    .iter()
                    .map(|(k, v)| (k.clone(), first.get(k).unwrap_or(v).clone()))
                    .collect())
            }
            Bug::CompactsSyncedPrefixOnly => {
                let data = file.read_all()?;
                let synced = &data[..(state.synced_len as usize).min(data.len())];
                let durable = replay(&self.log_path(), synced, OnDamage::List(0))?.map;
                Ok(durable
                    .into_iter()
                    .filter(|(k, _)| state.map.contains_key(k))
                    .collect())
            }
            _ => Ok(state.map.clone()),
        }
    }

    fn compact(&self) -> Result<()> {
        let mut state = self.state();
        let file = self.writable(&state)?;
        let compacted = self.compacted_map(&state, &*file)?;
        let mut buf = Vec::new();
        for (i, (k, v)) in compacted.iter().enumerate() {
            encode_put(&mut buf, i as u64, k, v);
        }
        let (log, tmp) = (self.log_path(), self.dir.join(COMPACT_NAME));
        let frontier = state.frontier.clone();
        let result = (|| -> io::Result<Arc<dyn File>> {
            let target = if self.bug == Bug::CompactsInPlace {
                &log
            } else {
                &tmp
            };
            let file = self.fs.create(target)?;
            file.append(&buf)?;
            file.sync()?;
            if let Some(frontier) = &frontier {
                // The old log's frontier must never judge the new log.
                store_frontier(&**frontier, 0)?;
            }
            if self.bug != Bug::CompactsInPlace {
                self.fs.rename(&tmp, &log)?;
                if self.bug != Bug::ForgetsDirSync {
                    self.fs.sync_dir(&self.dir)?;
                }
            }
            if let Some(frontier) = &frontier {
                store_frontier(&**frontier, buf.len() as u64)?;
            }
            Ok(file)
        })();
        match result {
            Ok(file) => {
                state.next_seq = compacted.len() as u64;
                state.synced_len = buf.len() as u64;
                state.file = Some(file);
                if self.bug == Bug::CompactKeepsFirstVersion {
                    state.map = compacted;
                }
                Ok(())
            }
            Err(e) => Self::poison(&mut state, e),
        }
    }
}

/// Every put of the log, in log order.
fn replay_puts(path: &Path, data: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut puts = Vec::new();
    for entry in crate::codec::LogReader::new(path, data, 0) {
        let members = match entry? {
            crate::codec::LogEntry::Single(one) => vec![one],
            crate::codec::LogEntry::Batch { members, .. } => members,
        };
        puts.extend(
            members
                .into_iter()
                .filter(|m| m.record.kind == crate::codec::RecordKind::Put)
                .map(|m| (m.record.key.to_vec(), m.record.value.to_vec())),
        );
    }
    Ok(puts)
}

impl Drop for LogStore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
    }
}
