//! [`Btree`]: the engine handle and its [`Store`] implementation.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use kv_core::fs::{lock_store_dir, lock_store_dir_shared, DirLock};
use kv_core::limits::{check_batch, check_key, check_put};
use kv_core::{
    claim_store_dir, BatchOp, CheckReport, CountingFs, Damage, Direction, Fs, KeyRange, Poison,
    Result, ScanIter, Stats, Store, StoreIdentity, WriteBatch,
};

use crate::commit_slot::FORMAT_VERSION;
use crate::freelist::FreeSpace;
use crate::interval::{self, IntervalThread};
use crate::open::{init_file, open_file, recover};
use crate::options::BtreeOptions;
use crate::page::PAGE_BYTES;
use crate::pager::Pager;
use crate::txn::Tree;
use crate::writer::{self, Writer};

/// Name of the store's page file inside its directory.
pub const FILE_NAME: &str = "btree.db";

/// The engine's registry name, recorded in the directory's marker.
pub const ENGINE_NAME: &str = "btree";

/// Figures `stats()` reports without taking the writer lock.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    commits: AtomicU64,
    durable_commits: AtomicU64,
    free_pages: AtomicU64,
    pending_pages: AtomicU64,
    page_count: AtomicU64,
    vacuums: AtomicU64,
}

impl Figures {
    fn space(&self, w: &Writer) {
        self.free_pages
            .store(w.space.free_pages(), Ordering::Relaxed);
        self.pending_pages
            .store(w.space.pending_pages(), Ordering::Relaxed);
        self.page_count.store(w.space.page_count, Ordering::Relaxed);
    }

    /// After a commit.
    pub(crate) fn commit(&self, w: &Writer) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.space(w);
    }

    /// After a durable commit.
    pub(crate) fn durable_commit(&self, w: &Writer) {
        self.durable_commits.fetch_add(1, Ordering::Relaxed);
        self.space(w);
    }

    /// After a vacuum.
    pub(crate) fn vacuum(&self) {
        self.vacuums.fetch_add(1, Ordering::Relaxed);
    }
}

/// The shared state of an open store.
pub(crate) struct Inner {
    pub dir: PathBuf,
    pub fs: Arc<CountingFs>,
    pub pager: Pager,
    newest: RwLock<Arc<Tree>>,
    pub writer: Mutex<Writer>,
    pub poison: Poison,
    pub options: BtreeOptions,
    pub read_only: bool,
    pub open_damage: Vec<Damage>,
    pub open_notes: Vec<String>,
    /// Open passed over a torn newest commit (see `open::Recovered`).
    pub torn_fell_back: bool,
    /// A read-only open of a file that never held a durable commit (a
    /// crash tore the first open's slots): the store is empty and the
    /// slots on disk vouch for nothing.
    pub unwritten: bool,
    pub figures: Figures,
    _lock: Box<dyn DirLock>,
}

impl Inner {
    /// The newest committed tree (what a read starts from).
    pub(crate) fn newest(&self) -> Arc<Tree> {
        Arc::clone(&self.newest.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Publishes a new newest tree.
    pub(crate) fn set_newest(&self, tree: Arc<Tree>) {
        *self.newest.write().unwrap_or_else(PoisonError::into_inner) = tree;
    }
}

/// A copy-on-write B+tree store (see the crate docs).
pub struct Btree {
    pub(crate) inner: Arc<Inner>,
    interval: Mutex<Option<IntervalThread>>,
}

impl std::fmt::Debug for Btree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btree")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl Btree {
    /// Opens the store in `dir`, creating it (and the directory) when it
    /// does not exist and the open mode allows writes.
    ///
    /// # Errors
    /// `Locked`, `WrongEngine`, `ForeignDirectory`, `NoStore` (read-only
    /// open of nothing), `Corruption` when the newest commit fails to
    /// verify (recorded instead under `OpenMode::Verify`), I/O failures.
    pub fn open(dir: impl AsRef<Path>, options: BtreeOptions) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let fs = Arc::new(CountingFs::new(Arc::clone(&options.core.fs)));
        let mode = options.core.open_mode;
        let read_only = mode.is_read_only();
        let identity = StoreIdentity::new(ENGINE_NAME, FORMAT_VERSION);
        claim_store_dir(&*fs, &dir, &identity, mode, &|names: &[String]| {
            names.iter().all(|n| n == FILE_NAME)
        })?;
        let lock = if read_only {
            lock_store_dir_shared(&*fs, &dir)?
        } else {
            lock_store_dir(&*fs, &dir)?
        };
        let path = dir.join(FILE_NAME);
        let (file, _created) = open_file(&*fs as &dyn Fs, &dir, &path, read_only)?;
        let pager = Pager::new(file, path, options.core.cache_bytes);
        let recovered = recover(&pager, mode)?;
        let slot = recovered.slot;
        if !read_only {
            if recovered.fresh {
                init_file(&**pager.file())?;
            }
            let want = slot.page_count * PAGE_BYTES as u64;
            if pager.file().len()? > want {
                pager.file().truncate(want)?;
                pager.file().sync()?;
            }
        }
        let tree = Arc::new(Tree {
            txn: slot.txn,
            root: slot.root,
            depth: slot.depth,
            counts: slot.counts,
        });
        let writer = Writer {
            space: FreeSpace::new(slot.page_count, &recovered.free),
            durable: *tree,
            durable_slot: recovered.slot_index,
            durable_clean: slot.clean,
            free_list: slot.free_list,
            snapshots: vec![Arc::downgrade(&tree)],
            last_durable: Instant::now(),
            nodes: Default::default(),
        };
        let mut writer = writer;
        // A torn commit wrote into pages its fallback (maybe a clean
        // close) lists as free: they no longer hold sealed free pages.
        if !slot.clean || recovered.torn_fell_back {
            writer.space.distrust_free_pages();
        }
        let mark_in_use = !read_only && slot.clean && writer.space.free_pages() > 0;
        let figures = Figures::default();
        figures.space(&writer);
        let inner = Inner {
            dir,
            fs,
            pager,
            newest: RwLock::new(tree),
            writer: Mutex::new(writer),
            poison: Poison::new(),
            options,
            read_only,
            open_damage: recovered.damage,
            open_notes: recovered.notes,
            torn_fell_back: recovered.torn_fell_back,
            unwritten: read_only && recovered.fresh,
            figures,
            _lock: lock,
        };
        if mark_in_use {
            // Free pages are about to be reused: a crash from here on must
            // not fall back to a slot that vouches for their content.
            let mut w = writer::lock(&inner);
            writer::settle(&inner, &mut w, false)?;
        }
        let inner = Arc::new(inner);
        let interval = Mutex::new(interval::start(&inner)?);
        Ok(Self { inner, interval })
    }

    /// Stops the interval thread, then makes every commit durable under a
    /// clean slot.
    fn close_inner(&self) -> Result<()> {
        if let Some(mut thread) = self
            .interval
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            thread.shut_down();
        }
        writer::close(&self.inner)
    }
}

impl Drop for Btree {
    fn drop(&mut self) {
        if let Some(mut thread) = self
            .interval
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            thread.shut_down();
        }
        if !self.inner.poison.is_poisoned() {
            let _ = self.close_inner();
        }
    }
}

impl Store for Btree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let tree = self.inner.newest();
        match crate::read::get(&self.inner.pager, &tree, key) {
            // Verify opens with what it could read (see `cursor`).
            Err(e) if e.is_corruption() && self.salvaging() => Ok(None),
            result => result,
        }
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)?;
        writer::write(&self.inner, |txn| txn.put(key, value))
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        writer::write(&self.inner, |txn| txn.delete(key).map(|_| ()))
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)?;
        writer::write(&self.inner, |txn| {
            for op in batch.ops() {
                match op {
                    BatchOp::Put { key, value } => txn.put(key, value)?,
                    BatchOp::Delete { key } => {
                        txn.delete(key)?;
                    }
                }
            }
            Ok(())
        })
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        let tree = self.inner.newest();
        Ok(Box::new(
            crate::cursor::Cursor::new(&self.inner.pager, tree, range.clone(), direction)
                .salvage(self.salvaging()),
        ))
    }

    fn sync(&self) -> Result<()> {
        writer::sync(&self.inner)
    }

    fn compact(&self) -> Result<()> {
        crate::vacuum::vacuum(&self.inner)
    }

    fn check(&self) -> Result<CheckReport> {
        crate::check::check(&self.inner)
    }

    fn stats(&self) -> Stats {
        crate::stats::stats(&self.inner)
    }

    fn close(self: Box<Self>) -> Result<()> {
        if self.inner.poison.is_poisoned() {
            self.inner.poison.check()?;
        }
        let result = self.close_inner();
        drop(self);
        result
    }
}

impl Btree {
    /// True on a store opened `OpenMode::Verify`: reads skip what they
    /// cannot read (see [`crate::cursor`]).
    fn salvaging(&self) -> bool {
        self.inner.options.core.open_mode == kv_core::OpenMode::Verify
    }

    /// The figures `stats()` reads, for [`crate::stats`].
    pub(crate) fn figures(inner: &Inner) -> [u64; 6] {
        let f = &inner.figures;
        [
            f.commits.load(Ordering::Relaxed),
            f.durable_commits.load(Ordering::Relaxed),
            f.free_pages.load(Ordering::Relaxed),
            f.pending_pages.load(Ordering::Relaxed),
            f.page_count.load(Ordering::Relaxed),
            f.vacuums.load(Ordering::Relaxed),
        ]
    }
}
