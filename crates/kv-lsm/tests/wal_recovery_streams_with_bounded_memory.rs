//! Recovery streams a WAL through the codec's `LogStream`: no read of the
//! WAL is larger than the stream's bound (`STREAM_MEMORY_BYTES`, about two
//! maximal records and a read chunk), however long the WAL and however
//! large a batch group (here one of about 64 MiB, twice the bound, among
//! thousands of small records), and the streamed replay recovers every
//! record, batches whole.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::{dir, key, value};
use kv_core::codec::{STREAM_CHUNK_BYTES, STREAM_MEMORY_BYTES};
use kv_core::fs::DirLock;
use kv_core::limits::{MAX_BATCH_BYTES, MAX_VALUE_BYTES};
use kv_core::testkit::{SeedGuard, SimFs};
use kv_core::{Background, File, Fs, Options, Store, SyncPolicy, WriteBatch};
use kv_lsm::{Lsm, LsmOptions};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A `SimFs` that records the largest single read of a WAL (`*.log`) file.
#[derive(Debug, Clone)]
struct ReadSizeFs {
    sim: SimFs,
    largest_wal_read: Arc<AtomicU64>,
}

#[derive(Debug)]
struct ReadSizeFile {
    inner: Arc<dyn File>,
    largest: Option<Arc<AtomicU64>>,
}

impl File for ReadSizeFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if let Some(largest) = &self.largest {
            largest.fetch_max(buf.len() as u64, Ordering::Relaxed);
        }
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_at(data, offset)
    }
    fn append(&self, data: &[u8]) -> io::Result<u64> {
        self.inner.append(data)
    }
    fn sync(&self) -> io::Result<()> {
        self.inner.sync()
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
}

impl ReadSizeFs {
    fn wrap(&self, path: &Path, file: Arc<dyn File>) -> Arc<dyn File> {
        let wal = path.extension().is_some_and(|e| e == "log");
        Arc::new(ReadSizeFile {
            inner: file,
            largest: wal.then(|| Arc::clone(&self.largest_wal_read)),
        })
    }
}

impl Fs for ReadSizeFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.sim.create(path)?))
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.sim.open(path)?))
    }
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.sim.open_read(path)?))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.sim.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.sim.remove(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.sim.list(dir)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.sim.exists(path)
    }
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        self.sim.create_dir(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.sim.sync_dir(dir)
    }
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        self.sim.lock_dir(dir)
    }
    fn lock_dir_shared(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        self.sim.lock_dir_shared(dir)
    }
}

fn options(fs: &ReadSizeFs) -> LsmOptions {
    let mut o = LsmOptions::new(
        Options::with_fs(Arc::new(fs.clone()))
            .sync(SyncPolicy::Manual)
            .background(Background::Inline),
    );
    // A memtable far larger than the WAL, so everything stays in the WAL.
    o.write_buffer_bytes = 512 << 20;
    o
}

/// Members of the big batch: values as large as the batch limit allows.
const BIG_MEMBERS: usize = 4;
const BIG_VALUE_BYTES: usize = MAX_BATCH_BYTES / BIG_MEMBERS - 64;
const _: () = assert!(BIG_VALUE_BYTES <= MAX_VALUE_BYTES);

fn big_key(j: usize) -> Vec<u8> {
    format!("big{j}").into_bytes()
}

fn big_value(j: usize) -> Vec<u8> {
    let mut v = vec![j as u8; BIG_VALUE_BYTES];
    v[..8].copy_from_slice(&(j as u64).to_le_bytes());
    v
}

#[test]
fn wal_recovery_streams_with_bounded_memory() {
    const KEYS: usize = 9_000;
    const VALUE_BYTES: usize = 1000;
    let guard = SeedGuard::new("wal_recovery_streams_with_bounded_memory");
    let mut rng = StdRng::seed_from_u64(guard.seed());
    let sim = SimFs::new(guard.seed());
    let fs = ReadSizeFs {
        sim: sim.clone(),
        largest_wal_read: Arc::default(),
    };
    let store = Lsm::open(dir(), options(&fs)).unwrap();
    let mut i = 0;
    while i < KEYS {
        // Lone puts and batches of a few puts, mixed.
        let n = rng.random_range(1..=4).min(KEYS - i);
        if n == 1 {
            store.put(&key(i), &value(i, 0, VALUE_BYTES)).unwrap();
        } else {
            let mut batch = WriteBatch::new();
            for j in i..i + n {
                batch.put(key(j), value(j, 0, VALUE_BYTES));
            }
            store.write(&batch).unwrap();
        }
        i += n;
        if i >= KEYS / 2 && i - n < KEYS / 2 {
            // One batch group of about 64 MiB in the middle of the WAL.
            let mut batch = WriteBatch::new();
            for j in 0..BIG_MEMBERS {
                batch.put(big_key(j), big_value(j));
            }
            store.write(&batch).unwrap();
        }
    }
    store.sync().unwrap();
    let wal_bytes = store.stats().extra["wal_bytes"];
    assert!(
        wal_bytes > 2 * STREAM_MEMORY_BYTES as u64,
        "the WAL ({wal_bytes} bytes) should be far over the bound"
    );
    const { assert!(BIG_MEMBERS * BIG_VALUE_BYTES > STREAM_MEMORY_BYTES + STREAM_CHUNK_BYTES) };
    // Power loss, so the reopen must replay the WAL.
    let crashed = sim.crash();
    drop(store);
    let fs = ReadSizeFs {
        sim: crashed,
        largest_wal_read: Arc::default(),
    };
    let reopened = Lsm::open(dir(), options(&fs)).unwrap();
    let largest = fs.largest_wal_read.load(Ordering::Relaxed);
    let bound = STREAM_MEMORY_BYTES as u64;
    println!(
        "WAL {wal_bytes} bytes replayed with reads of at most {largest} bytes (bound {bound})"
    );
    assert!(
        largest <= bound,
        "recovery read {largest} bytes of the WAL at once (bound {bound}, WAL {wal_bytes})"
    );
    assert!(largest > 0, "recovery never read the WAL");
    for i in 0..KEYS {
        assert_eq!(
            reopened.get(&key(i)).unwrap(),
            Some(value(i, 0, VALUE_BYTES)),
            "key {i} lost"
        );
    }
    for j in 0..BIG_MEMBERS {
        let got = reopened.get(&big_key(j)).unwrap();
        assert!(
            got == Some(big_value(j)),
            "member {j} of the big batch lost"
        );
    }
}
