//! Bitcask reads no data file whole into memory, and no batch group whole
//! either: opening (a scan of a data file without a hint), merging and
//! checking a store whose one data file holds 256 MiB, a quarter of it one
//! batch group of 64 MiB (the batch limit), keep the heap within about two
//! maximal records plus a read chunk (`STREAM_MEMORY_BYTES`), measured by a
//! counting global allocator in this test binary.
//!
//! Hints are streamed too: a store whose sealed data file has a hint of
//! more than 10 MiB (300k keys) is opened from that hint and checked, and
//! no single read of the hint is larger than `HINT_CHUNK_BYTES` (no read of
//! any file larger than `STREAM_MEMORY_BYTES`), measured by an Fs wrapper
//! that records the largest read of every file. (The heap cannot bound
//! this: the keydir built from the hint holds every key.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use kv_bitcask::hint::HINT_CHUNK_BYTES;
use kv_bitcask::{Bitcask, BitcaskOptions, MergePolicy};
use kv_core::codec::STREAM_MEMORY_BYTES;
use kv_core::fs::DirLock;
use kv_core::limits::{MAX_BATCH_BYTES, MAX_VALUE_BYTES};
use kv_core::{File, Fs, Options, StdFs, Store, WriteBatch};

/// The tests of this binary run one at a time: the heap counter is global.
static SERIAL: Mutex<()> = Mutex::new(());

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), SeqCst) + layout.size();
            PEAK.fetch_max(live, SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Counted as the old and the new block both live, as a copy is.
            let live = LIVE.fetch_add(new_size, SeqCst) + new_size;
            PEAK.fetch_max(live, SeqCst);
            LIVE.fetch_sub(layout.size(), SeqCst);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap bytes `phase` allocated on top of what was live before it, at
/// its peak.
fn peak_during<T>(phase: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(SeqCst);
    PEAK.store(before, SeqCst);
    let out = phase();
    (out, PEAK.load(SeqCst).saturating_sub(before))
}

const VALUES: usize = 16;
/// Keys `SINGLES..VALUES` are written as one batch.
const SINGLES: usize = 12;
const BOUND: usize = STREAM_MEMORY_BYTES;

fn options() -> BitcaskOptions {
    let mut o = BitcaskOptions::with_core(Options::with_fs(Arc::new(StdFs)));
    o.max_file_bytes = 1 << 30;
    o.merge = MergePolicy::manual();
    o
}

/// Key `i`'s value: as large as a value may be, or for a batch member, as
/// large as the batch limit allows.
fn value(i: usize) -> Vec<u8> {
    let len = if i < SINGLES {
        MAX_VALUE_BYTES
    } else {
        MAX_BATCH_BYTES / (VALUES - SINGLES) - 64
    };
    let mut v = vec![i as u8; len];
    v[..8].copy_from_slice(&(i as u64).to_le_bytes());
    v
}

fn remove_hints(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "hint") {
            std::fs::remove_file(path).unwrap();
        }
    }
}

#[test]
fn bitcask_reads_no_file_whole_into_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    {
        let store = Bitcask::open(&dir, options()).unwrap();
        for i in 0..SINGLES {
            store
                .put(format!("key{i:02}").as_bytes(), &value(i))
                .unwrap();
        }
        let mut batch = WriteBatch::new();
        for i in SINGLES..VALUES {
            batch.put(format!("key{i:02}"), value(i));
        }
        assert!(
            batch.payload_bytes() > 3 * BOUND / 2,
            "the group is far over the bound"
        );
        store.write(&batch).unwrap();
        drop(batch);
        Box::new(store).close().unwrap();
    }
    let data_bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .max()
        .unwrap();
    assert!(
        data_bytes >= (VALUES * MAX_VALUE_BYTES - 1024) as u64,
        "one data file of 256 MiB"
    );
    remove_hints(&dir); // open must scan the data file

    let (store, opened) = peak_during(|| Bitcask::open(&dir, options()).unwrap());
    let ((), merged) = peak_during(|| store.compact().unwrap());
    let (report, checked) = peak_during(|| store.check().unwrap());
    assert!(report.damage.is_empty(), "{report:?}");
    for i in [7, 13] {
        let got = store.get(format!("key{i:02}").as_bytes()).unwrap().unwrap();
        assert!(got == value(i), "key{i:02} read back wrong");
    }
    Box::new(store).close().unwrap();

    remove_hints(&dir);
    let (store, reopened) = peak_during(|| Bitcask::open(&dir, options()).unwrap());
    for i in [3, 12, 15] {
        let got = store.get(format!("key{i:02}").as_bytes()).unwrap().unwrap();
        assert!(got == value(i), "key{i:02} read back wrong after reopen");
    }
    let mb = |b: usize| b as f64 / (1 << 20) as f64;
    println!(
        "data file {:.1} MiB; peak heap: open {:.1} MiB, merge {:.1} MiB, check {:.1} MiB, reopen {:.1} MiB; bound {:.1} MiB",
        mb(data_bytes as usize),
        mb(opened),
        mb(merged),
        mb(checked),
        mb(reopened),
        mb(BOUND)
    );
    for (phase, peak) in [
        ("open", opened),
        ("merge", merged),
        ("check", checked),
        ("reopen", reopened),
    ] {
        assert!(
            peak <= BOUND,
            "{phase} held {peak} heap bytes at once, over {BOUND}"
        );
    }
}

/// The largest single read of each file, by path.
type Largest = Arc<Mutex<HashMap<PathBuf, usize>>>;

/// Wraps [`StdFs`] and records the largest read of every file it opens.
#[derive(Debug, Default)]
struct LargestReadFs {
    largest: Largest,
}

#[derive(Debug)]
struct LargestReadFile {
    inner: Arc<dyn File>,
    path: PathBuf,
    largest: Largest,
}

impl LargestReadFs {
    fn wrap(&self, path: &Path, inner: Arc<dyn File>) -> Arc<dyn File> {
        Arc::new(LargestReadFile {
            inner,
            path: path.to_path_buf(),
            largest: Arc::clone(&self.largest),
        })
    }
}

impl File for LargestReadFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut largest = self.largest.lock().unwrap();
        let most = largest.entry(self.path.clone()).or_default();
        *most = (*most).max(buf.len());
        drop(largest);
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

impl Fs for LargestReadFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, StdFs.create(path)?))
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, StdFs.open(path)?))
    }
    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, StdFs.open_read(path)?))
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        StdFs.rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        StdFs.remove(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        StdFs.list(dir)
    }
    fn exists(&self, path: &Path) -> io::Result<bool> {
        StdFs.exists(path)
    }
    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        StdFs.create_dir(dir)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        StdFs.sync_dir(dir)
    }
    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        StdFs.lock_dir(dir)
    }
    fn lock_dir_shared(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        StdFs.lock_dir_shared(dir)
    }
}

const HINTED_KEYS: usize = 300_000;

fn hinted_key(i: usize) -> String {
    format!("hinted-key-{i:012}")
}

/// Writes [`HINTED_KEYS`] keys into one data file, then seals it (a
/// reopen with a smaller file limit rolls over at the next write).
fn store_with_a_big_sealed_hint(dir: &Path) {
    let store = Bitcask::open(dir, options()).unwrap();
    for start in (0..HINTED_KEYS).step_by(5_000) {
        let mut batch = WriteBatch::new();
        for i in start..(start + 5_000).min(HINTED_KEYS) {
            batch.put(hinted_key(i), (i as u64).to_le_bytes());
        }
        store.write(&batch).unwrap();
    }
    Box::new(store).close().unwrap();
    let mut small = options();
    small.max_file_bytes = 1 << 20;
    let store = Bitcask::open(dir, small).unwrap();
    store.put(b"after the seal", b"v").unwrap();
    Box::new(store).close().unwrap();
}

#[test]
fn no_read_of_a_big_hint_is_larger_than_a_chunk() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    store_with_a_big_sealed_hint(&dir);
    let hint_sizes: HashMap<PathBuf, u64> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hint"))
        .map(|p| (p.clone(), std::fs::metadata(&p).unwrap().len()))
        .collect();
    let biggest = hint_sizes.values().copied().max().unwrap();
    assert!(
        biggest > 10 << 20 && biggest > 4 * HINT_CHUNK_BYTES as u64,
        "the sealed file's hint ({biggest} bytes) is far over a read chunk"
    );

    let fs = Arc::new(LargestReadFs::default());
    let largest = Arc::clone(&fs.largest);
    let mut o = options();
    o.core = Options::with_fs(fs);
    let store = Bitcask::open(&dir, o).unwrap();
    assert_eq!(
        store.stats().extra["hints_loaded_at_open"],
        hint_sizes.len() as u64,
        "open used every hint"
    );
    let report = store.check().unwrap();
    assert!(report.damage.is_empty(), "{report:?}");
    for i in [0, 123_456, HINTED_KEYS - 1] {
        let got = store.get(hinted_key(i).as_bytes()).unwrap().unwrap();
        assert_eq!(got, (i as u64).to_le_bytes(), "key {i}");
    }
    Box::new(store).close().unwrap();

    let largest = largest.lock().unwrap();
    for (hint, size) in &hint_sizes {
        let most = largest.get(hint).copied().unwrap_or(0);
        assert!(most > 0, "{} was read", hint.display());
        assert!(
            most <= HINT_CHUNK_BYTES,
            "a read of {most} bytes of {} ({size} bytes), over the chunk {HINT_CHUNK_BYTES}",
            hint.display()
        );
    }
    for (path, most) in largest.iter() {
        assert!(
            *most <= BOUND,
            "a read of {most} bytes of {}, over {BOUND}",
            path.display()
        );
    }
    println!(
        "largest hint {:.1} MiB; largest read of it {} bytes",
        biggest as f64 / (1 << 20) as f64,
        largest.values().max().unwrap()
    );
}
