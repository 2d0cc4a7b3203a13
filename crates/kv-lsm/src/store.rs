//! [`Lsm`]: the engine handle and its [`Store`] implementation.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use kv_core::limits::{check_batch, check_key, check_put};
use kv_core::{
    CheckReport, Direction, Error, KeyRange, Result, ScanIter, Stats, Store, WriteBatch,
};

use crate::compaction::run::compact_full;
use crate::inner::{lock, Inner};
use crate::options::LsmOptions;
use crate::stats::Counters;
use crate::write::{self, Op};

/// An LSM-tree store. See the [crate docs](crate).
#[derive(Debug)]
pub struct Lsm {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Lsm {
    /// Opens (creating if needed) the store in `dir`.
    ///
    /// # Errors
    /// See the crate docs: `Locked`, `WrongEngine`, `ForeignDirectory`,
    /// `NoStore` (read-only open of nothing), `Corruption`, `InvalidArgument`
    /// for bad options, I/O failures.
    pub fn open(dir: impl AsRef<Path>, options: LsmOptions) -> Result<Self> {
        let (inner, threads) = crate::open::open(dir.as_ref(), options)?;
        Ok(Self {
            inner,
            threads: Mutex::new(threads),
        })
    }

    /// Makes the mutable memtable immutable and flushes every immutable
    /// memtable to L0 (no compaction).
    ///
    /// # Durability
    /// Everything written before the call is in synced tables named by a
    /// synced manifest edit when it returns.
    ///
    /// # Errors
    /// `ReadOnly`, `Poisoned`, I/O failures (which poison).
    pub fn flush(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.read_only {
            return Err(Error::ReadOnly);
        }
        inner.poison.check()?;
        {
            let mut w = lock(&inner.writer);
            if !inner.current().mem.is_empty() {
                inner.poison.guard(write::rotate(inner, &mut w))?;
            }
        }
        while inner.poison.guard(crate::flush::flush_oldest(inner))? {}
        Ok(())
    }

    /// Runs the compactions the level sizes call for, until none is due.
    ///
    /// # Errors
    /// `ReadOnly`, `Poisoned`, I/O failures and corruption (which poison).
    pub fn compact_pending(&self) -> Result<()> {
        if self.inner.read_only {
            return Err(Error::ReadOnly);
        }
        self.inner.poison.check()?;
        while self
            .inner
            .poison
            .guard(crate::compaction::run::compact_once(&self.inner))?
        {}
        Ok(())
    }

    fn stop_threads(&self) {
        self.inner.signal.shutdown.store(true, Ordering::Release);
        self.inner.signal.wake();
        for t in lock(&self.threads).drain(..) {
            let _ = t.join();
        }
    }

    fn final_sync(&self) -> Result<()> {
        if self.inner.read_only {
            return Ok(());
        }
        self.inner.poison.check()?;
        write::seal(&self.inner)
    }
}

impl Drop for Lsm {
    fn drop(&mut self) {
        self.stop_threads();
        let _ = self.final_sync();
    }
}

impl Store for Lsm {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        crate::read::get(&self.inner, key)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)?;
        write::write(&self.inner, Op::Put(key, value))
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        write::write(&self.inner, Op::Delete(key))
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)?;
        write::write(&self.inner, Op::Batch(batch))
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        crate::read::scan(&self.inner, range, direction)
    }

    /// One range tombstone, whatever the number of keys in `range`: a single
    /// WAL record and a single memtable entry (see `src/range_del.rs`).
    ///
    /// # Durability
    /// As [`Store::write`]: the delete is one WAL record, so after a crash
    /// all of it or none of it is there (not batch by batch, as the default).
    ///
    /// # Errors
    /// As [`Store::write`]; `TooLarge` for a bound longer than a key may be.
    fn delete_range(&self, range: &KeyRange) -> Result<()> {
        match crate::range_del::RangeTombstone::from_range(range)? {
            Some(r) => write::write(&self.inner, Op::RangeDel(&r)),
            None => Ok(()),
        }
    }

    fn sync(&self) -> Result<()> {
        write::sync(&self.inner)
    }

    fn compact(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.read_only {
            return Err(Error::ReadOnly);
        }
        self.flush()?;
        inner.poison.guard(compact_full(inner))
    }

    fn check(&self) -> Result<CheckReport> {
        crate::check::check(&self.inner)
    }

    fn stats(&self) -> Stats {
        stats(&self.inner)
    }

    fn close(self: Box<Self>) -> Result<()> {
        self.stop_threads();
        let result = self.final_sync();
        drop(self);
        result
    }
}

fn stats(inner: &Inner) -> Stats {
    let mut s = Stats::new("lsm");
    let sv = inner.current();
    let c = &inner.counters;
    let mut entries = 0u64;
    let mut tombstones = 0u64;
    let mut disk = 0u64;
    for (level, files) in sv.version.levels.iter().enumerate() {
        let bytes: u64 = files.iter().map(|t| t.size()).sum();
        disk += bytes;
        s.extra
            .insert(format!("level{level}_files"), files.len() as u64);
        s.extra.insert(format!("level{level}_bytes"), bytes);
        for t in files {
            entries += t.props().entries;
            tombstones += t.props().tombstones;
        }
    }
    let mems = std::iter::once(&sv.mem).chain(sv.imms.iter());
    let mut mem_bytes = 0u64;
    let mut mem_entries = 0u64;
    for m in mems {
        mem_bytes += m.approximate_bytes() as u64;
        mem_entries += m.len() as u64;
    }
    let wal_bytes = lock(&inner.writer).wal.as_ref().map_or(0, |w| w.bytes());
    let manifest_bytes = lock(&inner.manifest).as_ref().map_or(0, |m| m.bytes());
    s.disk_bytes = disk + wal_bytes + manifest_bytes;
    // An estimate: versions not yet merged count once each, tombstones
    // subtract the key they hide.
    if inner.options.exact_live_keys {
        s.live_keys = inner.live_keys.load(Ordering::Relaxed).max(0) as u64;
    } else {
        s.live_keys = (entries + mem_entries).saturating_sub(2 * tombstones);
        s.live_keys_exact = false;
    }
    s.io = inner.counting.counters();
    s.torn_bytes_truncated = Counters::get(&c.torn_bytes);
    let (hits, misses) = inner.ctx.cache.counters();
    let figures = [
        ("memtable_bytes", mem_bytes),
        ("immutable_memtables", sv.imms.len() as u64),
        ("wal_bytes", wal_bytes),
        ("manifest_bytes", manifest_bytes),
        ("flushes", Counters::get(&c.flushes)),
        ("flush_bytes_written", Counters::get(&c.flush_bytes_written)),
        ("compactions", Counters::get(&c.compactions)),
        ("trivial_moves", Counters::get(&c.trivial_moves)),
        (
            "compaction_bytes_read",
            Counters::get(&c.compaction_bytes_read),
        ),
        (
            "compaction_bytes_written",
            Counters::get(&c.compaction_bytes_written),
        ),
        ("user_bytes_written", Counters::get(&c.user_bytes_written)),
        ("wal_bytes_written", Counters::get(&c.wal_bytes_written)),
        ("stall_slowdowns", Counters::get(&c.slowdowns)),
        ("stall_stops", Counters::get(&c.stops)),
        ("stall_micros", Counters::get(&c.stall_micros)),
        ("bloom_negatives", Counters::get(&c.bloom_negatives)),
        ("block_cache_hits", hits),
        ("block_cache_misses", misses),
        ("block_cache_bytes", inner.ctx.cache.bytes()),
        ("block_cache_pinned_bytes", inner.ctx.cache.pinned_bytes()),
        ("block_cache_data_capacity", inner.ctx.cache.data_capacity()),
        ("open_table_files", inner.ctx.files.open_files() as u64),
        ("compaction_tiered", inner.options.compaction.tag()),
        ("sorted_runs", sv.version.sorted_runs() as u64),
        ("range_tombstones", range_tombstones(&sv)),
    ];
    for (name, v) in figures {
        s.extra.insert(name.to_owned(), v);
    }
    let user = Counters::get(&c.user_bytes_written).max(1);
    let written = Counters::get(&c.wal_bytes_written)
        + Counters::get(&c.flush_bytes_written)
        + Counters::get(&c.compaction_bytes_written);
    s.extra
        .insert("write_amp_x100".into(), written * 100 / user);
    s
}

/// Range tombstones held in memtables and tables.
fn range_tombstones(sv: &crate::version::SuperVersion) -> u64 {
    let mems = std::iter::once(&sv.mem).chain(sv.imms.iter());
    let in_mems: usize = mems.map(|m| m.range_dels().len()).sum();
    let in_tables: usize = sv
        .version
        .all_tables()
        .map(|(_, t)| t.range_dels().len())
        .sum();
    (in_mems + in_tables) as u64
}
