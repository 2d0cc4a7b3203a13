//! A tiny persistent store (one append-only log through `kv_core::codec`,
//! the whole map in memory) that exists only to prove the suite: the
//! correct version passes every case, and each deliberate [`Bug`] makes the
//! case that guards against it fail.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::batch::{BatchOp, WriteBatch};
use crate::codec::{
    encode_batch, encode_delete, encode_put, LogEntry, LogReader, RecordKind, Tail,
};
use crate::error::{Error, Result};
use crate::fs::{lock_store_dir, DirLock, File, Fs};
use crate::limits::{check_batch, check_key, check_put};
use crate::options::{Options, SyncPolicy};
use crate::store::{CheckReport, Direction, KeyRange, ScanIter, Stats, Store};

const LOG_NAME: &str = "data.log";
const COMPACT_NAME: &str = "data.compact";

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
}

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

struct State {
    map: Map,
    file: Arc<dyn File>,
    next_seq: u64,
    poisoned: Option<String>,
    dirty: bool,
}

struct Inner {
    dir: PathBuf,
    fs: Arc<dyn Fs>,
    sync: SyncPolicy,
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

/// Replays a log into a map; returns the map, the next sequence number and
/// the tail.
fn replay(path: &Path, data: &[u8], bug: Bug) -> Result<(Map, u64, u64, Tail)> {
    let mut map = Map::new();
    let mut next_seq = 0;
    let mut reader = LogReader::new(path, data, 0);
    let mut apply = |kind, key: &[u8], value: &[u8], seq: u64| {
        match kind {
            RecordKind::Put => map.insert(key.to_vec(), value.to_vec()),
            _ => map.remove(key),
        };
        next_seq = next_seq.max(seq + 1);
    };
    for entry in reader.by_ref() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(_) if bug == Bug::SkipsCorruption => break,
            Err(e) => return Err(e),
        };
        let members = match entry {
            LogEntry::Single(one) => vec![one],
            LogEntry::Batch { members, .. } => members,
        };
        for m in members {
            apply(m.record.kind, m.record.key, m.record.value, m.record.seq);
        }
    }
    let end = reader.valid_end();
    Ok((map, next_seq, end, reader.tail()))
}

impl LogStore {
    pub(super) fn open(dir: &Path, options: Options, bug: Bug) -> Result<Self> {
        let fs = options.fs;
        fs.create_dir(dir)?;
        let lock = lock_store_dir(&*fs, dir)?;
        let path = dir.join(LOG_NAME);
        let (map, next_seq, file, torn_bytes) = match fs.open(&path) {
            Ok(file) => {
                let data = file.read_all()?;
                let (map, next_seq, end, _) = replay(&path, &data, bug)?;
                let torn = data.len() as u64 - end;
                if torn > 0 {
                    file.truncate(end)?;
                    file.sync()?;
                }
                (map, next_seq, file, torn)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let file = fs.create(&path)?;
                if bug != Bug::ForgetsDirSync {
                    fs.sync_dir(dir)?;
                }
                (Map::new(), 0, file, 0)
            }
            Err(e) => return Err(e.into()),
        };
        let inner = Arc::new(Inner {
            dir: dir.to_path_buf(),
            fs,
            sync: options.sync,
            bug,
            torn_bytes,
            state: Mutex::new(State {
                map,
                file,
                next_seq,
                poisoned: None,
                dirty: false,
            }),
            _lock: lock,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let syncer = match options.sync {
            SyncPolicy::Interval { interval_ms } if bug != Bug::IntervalNeverSyncs => {
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

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn writable(&self, state: &State) -> Result<()> {
        match &state.poisoned {
            Some(cause) if self.bug != Bug::IgnoresPoison => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            _ => Ok(()),
        }
    }

    fn poison<T>(state: &mut State, e: io::Error) -> Result<T> {
        state.poisoned = Some(e.to_string());
        Err(Error::Io(e))
    }

    /// Appends each buffer (one `append` call each), syncs under `Always`,
    /// then applies `ops` to the map.
    fn append(&self, buffers: &[Vec<u8>], seqs: u64, ops: &[BatchOp]) -> Result<()> {
        let mut state = self.state();
        self.writable(&state)?;
        for buf in buffers {
            if let Err(e) = state.file.append(buf) {
                return Self::poison(&mut state, e);
            }
        }
        if self.sync == SyncPolicy::Always && self.bug != Bug::SkipsSyncUnderAlways {
            if let Err(e) = state.file.sync() {
                return Self::poison(&mut state, e);
            }
        } else {
            state.dirty = true;
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
        self.writable(&state)?;
        if let Err(e) = state.file.sync() {
            return Self::poison(&mut state, e);
        }
        state.dirty = false;
        Ok(())
    }

    fn compact(&self) -> Result<()> {
        let mut state = self.state();
        self.writable(&state)?;
        let mut buf = Vec::new();
        for (i, (k, v)) in state.map.iter().enumerate() {
            encode_put(&mut buf, i as u64, k, v);
        }
        let (log, tmp) = (self.dir.join(LOG_NAME), self.dir.join(COMPACT_NAME));
        let result = (|| -> io::Result<Arc<dyn File>> {
            let target = if self.bug == Bug::CompactsInPlace {
                &log
            } else {
                &tmp
            };
            let file = self.fs.create(target)?;
            file.append(&buf)?;
            file.sync()?;
            if self.bug != Bug::CompactsInPlace {
                self.fs.rename(&tmp, &log)?;
                if self.bug != Bug::ForgetsDirSync {
                    self.fs.sync_dir(&self.dir)?;
                }
            }
            Ok(file)
        })();
        match result {
            Ok(file) => {
                state.next_seq = state.map.len() as u64;
                state.file = file;
                Ok(())
            }
            Err(e) => Self::poison(&mut state, e),
        }
    }
}

impl Drop for LogStore {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(syncer) = self.syncer.take() {
            let _ = syncer.join();
        }
    }
}

impl Store for LogStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        Ok(self.inner.state().map.get(key).cloned())
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)?;
        let mut buf = Vec::new();
        encode_put(&mut buf, self.inner.state().next_seq, key, value);
        self.inner.append(
            &[buf],
            1,
            &[BatchOp::Put {
                key: key.to_vec(),
                value: value.to_vec(),
            }],
        )
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        let mut buf = Vec::new();
        encode_delete(&mut buf, self.inner.state().next_seq, key);
        self.inner
            .append(&[buf], 1, &[BatchOp::Delete { key: key.to_vec() }])
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)?;
        if batch.is_empty() {
            return Ok(());
        }
        let seq = self.inner.state().next_seq;
        let buffers: Vec<Vec<u8>> = if self.inner.bug == Bug::SplitsBatches {
            let mut buffers = Vec::new();
            for (i, op) in batch.ops().iter().enumerate() {
                let mut buf = Vec::new();
                match op {
                    BatchOp::Put { key, value } => encode_put(&mut buf, seq + i as u64, key, value),
                    BatchOp::Delete { key } => encode_delete(&mut buf, seq + i as u64, key),
                }
                buffers.push(buf);
            }
            buffers
        } else {
            let mut buf = Vec::new();
            encode_batch(&mut buf, seq, batch);
            vec![buf]
        };
        self.inner.append(&buffers, batch.len() as u64, batch.ops())
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let state = self.inner.state();
        let mut items: Vec<_> = state
            .map
            .range::<[u8], _>(range.as_slices())
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        if direction == Direction::Reverse {
            items.reverse();
        }
        Ok(Box::new(items.into_iter()))
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync_if_dirty()
    }

    fn compact(&self) -> Result<()> {
        self.inner.compact()
    }

    fn check(&self) -> Result<CheckReport> {
        let state = self.inner.state();
        let data = state.file.read_all()?;
        let path = self.inner.dir.join(LOG_NAME);
        let (map, _, _, _) = replay(&path, &data, Bug::None)?;
        if map != state.map {
            return Err(Error::corruption(
                path,
                0,
                crate::CorruptionKind::Invariant("log and memory differ".into()),
            ));
        }
        Ok(CheckReport {
            files_checked: 1,
            bytes_checked: data.len() as u64,
            live_keys: map.len() as u64,
            ..CheckReport::default()
        })
    }

    fn stats(&self) -> Stats {
        let state = self.inner.state();
        Stats {
            engine: "test-log".into(),
            live_keys_exact: true,
            live_keys: state.map.len() as u64,
            disk_bytes: state.file.len().unwrap_or(0),
            torn_bytes_truncated: self.inner.torn_bytes,
            ..Stats::default()
        }
    }
}
