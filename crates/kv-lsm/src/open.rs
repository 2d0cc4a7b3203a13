//! Opening a store: identity, lock, manifest, tables, WAL replay and (read-
//! write only) making what was recovered durable.
//!
//! # Recovery, read-write
//! 1. claim the directory (`KVLAB` marker, engine "lsm") and lock it;
//! 2. read CURRENT and replay the manifest it names (a torn last edit was
//!    never acted on and is ignored);
//! 3. open every live table (footer, index, filter, properties verified);
//! 4. replay the live WALs (numbers >= the log number) in order into one
//!    memtable; a torn tail ends a WAL;
//! 5. flush that memtable to an L0 table (synced, directory synced);
//! 6. write a new manifest holding the whole state (synced, directory
//!    synced) and point CURRENT at it (`write_file_atomic`);
//! 7. create the new WAL (directory synced);
//! 8. remove what the new manifest proves obsolete: older manifests, WALs
//!    below its log number, tables it does not name. Unknown files are left
//!    alone and reported by `check()`.
//!
//! A crash anywhere before 6 leaves the old CURRENT, manifest and WALs in
//! place, so the next open recovers the same state; after 6 the new state
//! holds everything.
//!
//! # Read-only and verify
//! Steps 1-4 only, in memory, with a shared lock and `Fs::open_read`: no
//! file is created, changed or removed. `Verify` records damage (a table
//! that does not open or has a damaged block — every block of every table
//! is verified —, a damaged WAL or manifest) and opens with what it could
//! read: a damaged table is left out of the store it reads (so older
//! versions of its keys in deeper levels may show through).

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use kv_core::fs::{lock_store_dir, lock_store_dir_shared};
use kv_core::merge_iter::{MergeIter, MergeMode, SortedSource};
use kv_core::{claim_store_dir, Damage, Direction, Error, OpenMode, Poison, Result, StoreIdentity};

use crate::cache::BlockCache;
use crate::files::{file_name, is_fixed_name, parse_file_name, FileKind};
use crate::flush::write_tables_with;
use crate::inner::{Inner, Signal, Writer};
use crate::manifest::{self, ManifestState, ManifestWriter};
use crate::memtable::{MemSource, Memtable};
use crate::options::LsmOptions;
use crate::stats::Counters;
use crate::table::{Table, TableContext};
use crate::version::{SuperVersion, Version};
use crate::wal::{self, Wal};
use crate::FORMAT_VERSION;

/// Damage is refused (`ReadWrite`, `ReadOnly`) or recorded (`Verify`).
struct Damages {
    verify: bool,
    found: Vec<Damage>,
}

impl Damages {
    fn take(&mut self, e: Error) -> Result<()> {
        match Damage::from_error(&e) {
            Some(d) if self.verify => {
                self.found.push(d);
                Ok(())
            }
            _ => Err(e),
        }
    }
}

struct Recovered {
    mem: Memtable,
    last_seq: u64,
    torn_bytes: u64,
}

fn replay_wals(
    options: &LsmOptions,
    dir: &Path,
    wals: &[u64],
    last_seq: u64,
    damages: &mut Damages,
) -> Result<Recovered> {
    let fs = &*options.core.fs;
    let mut out = Recovered {
        mem: Memtable::new(wals.last().copied().unwrap_or(0)),
        last_seq,
        torn_bytes: 0,
    };
    for &n in wals {
        let mem = &out.mem;
        let path = wal::wal_path(dir, n);
        let mut bad_range_del = None;
        let replayed = wal::replay_with(
            fs,
            &path,
            &mut |seq, k, v| mem.insert(k, seq, v),
            &mut |seq, value| match crate::range_del_log::decode_record(seq, value) {
                Ok(t) => mem.insert_range_del(t),
                Err(kind) => {
                    bad_range_del.get_or_insert(kind);
                }
            },
        )?;
        if let Some(kind) = bad_range_del {
            damages.take(Error::corruption(&path, 0, kind))?;
            break;
        }
        out.last_seq = out.last_seq.max(replayed.max_seq);
        out.torn_bytes += replayed.torn_bytes;
        if let Some(e) = replayed.damage {
            damages.take(e)?;
            break; // later WALs are newer than the hole: stop at it
        }
    }
    Ok(out)
}

fn open_tables(
    ctx: &TableContext,
    dir: &Path,
    state: &ManifestState,
    damages: &mut Damages,
) -> Result<Vec<(usize, Arc<Table>)>> {
    let mut out = Vec::new();
    for (level, files) in state.levels.iter().enumerate() {
        for &number in files.keys() {
            let path = dir.join(file_name(FileKind::Table, number));
            match Table::open(ctx, &path, number) {
                Ok(t) if damages.verify => {
                    let found = crate::check::verify_table(&t)?;
                    if found.is_empty() {
                        out.push((level, Arc::new(t)));
                    } else {
                        damages.found.extend(found); // left out: reads see no damage
                    }
                }
                Ok(t) => out.push((level, Arc::new(t))),
                Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    let kind = kv_core::CorruptionKind::MissingFile(format!(
                        "table {number} of level {level} named by the manifest"
                    ));
                    damages.take(Error::corruption(path, 0, kind))?;
                }
                Err(e) => damages.take(e)?,
            }
        }
    }
    Ok(out)
}

/// Opens (creating if needed) the store in `dir`.
///
/// # Errors
/// See the crate docs.
pub fn open(
    dir: &Path,
    mut options: LsmOptions,
) -> Result<(Arc<Inner>, Vec<std::thread::JoinHandle<()>>)> {
    options.validate()?;
    let counting = Arc::new(kv_core::CountingFs::new(Arc::clone(&options.core.fs)));
    let fs: Arc<dyn kv_core::Fs> = Arc::clone(&counting) as Arc<dyn kv_core::Fs>;
    options.core.fs = Arc::clone(&fs);
    let mode = options.core.open_mode;
    let dir_lock = claim_and_lock(&*fs, dir, mode)?;
    let mut damages = Damages {
        verify: mode == OpenMode::Verify,
        found: Vec::new(),
    };
    let counters = Arc::new(Counters::default());
    let ctx = TableContext {
        fs: Arc::clone(&fs),
        cache: Arc::new(BlockCache::new(options.core.cache_bytes)),
        counters: Arc::clone(&counters),
        files: Arc::new(crate::table_cache::TableCache::new(options.max_open_files)),
    };
    let loaded = manifest::load(&*fs, dir)?;
    if let Some(e) = loaded.damage {
        damages.take(e)?;
    }
    let mut state = loaded.state;
    let names = fs.list(dir)?;
    let numbered: Vec<(FileKind, u64)> = names.iter().filter_map(|n| parse_file_name(n)).collect();
    let max_seen = numbered.iter().map(|&(_, n)| n).max().unwrap_or(0);
    let next_file = AtomicU64::new(state.next_file.max(max_seen + 1));
    let wals = live_wals(&numbered, state.log_number);
    let mut tables = open_tables(&ctx, dir, &state, &mut damages)?;
    let recovered = replay_wals(&options, dir, &wals, state.last_seq, &mut damages)?;
    counters.add(&counters.torn_bytes, recovered.torn_bytes);
    let notes = unexpected_files(&names);
    let mut inner = Inner {
        dir: dir.to_path_buf(),
        fs: Arc::clone(&fs),
        counting,
        read_only: mode.is_read_only(),
        _lock: dir_lock,
        poison: Poison::new(),
        writer: Mutex::new(Writer {
            wal: None,
            last_seq: recovered.last_seq,
            last_sync: Instant::now(),
            wal_base: 0,
        }),
        sv: RwLock::new(Arc::new(SuperVersion {
            mem: Arc::new(Memtable::new(0)),
            imms: Vec::new(),
            version: Arc::new(Version::default()),
        })),
        manifest: Mutex::new(None),
        flush_lock: Mutex::new(()),
        compaction_lock: Mutex::new(()),
        next_file,
        visible_seq: AtomicU64::new(recovered.last_seq),
        group: kv_core::GroupCommit::new(0),
        ctx,
        counters,
        live_keys: std::sync::atomic::AtomicI64::new(0),
        snapshots: Arc::default(),
        signal: Signal::default(),
        open_damage: damages.found,
        open_notes: notes,
        options,
    };
    let mem = if inner.read_only {
        recovered.mem
    } else {
        make_durable(
            &mut inner,
            &mut state,
            recovered.mem,
            &mut tables,
            &numbered,
        )?
    };
    let version = Version::default().apply(&[], &tables);
    inner.install(|_| SuperVersion {
        mem: Arc::new(mem),
        imms: Vec::new(),
        version: Arc::new(version),
    });
    init_live_keys(&mut inner, mode)?;
    let inner = Arc::new(inner);
    let threads = crate::background::spawn(&inner)?;
    Ok((inner, threads))
}

/// Claims `dir` for the engine (the `KVLAB` marker) and locks it: shared
/// for read-only opens, exclusive otherwise.
fn claim_and_lock(
    fs: &dyn kv_core::Fs,
    dir: &Path,
    mode: OpenMode,
) -> Result<Box<dyn kv_core::fs::DirLock>> {
    let identity = StoreIdentity::new("lsm", FORMAT_VERSION);
    claim_store_dir(fs, dir, &identity, mode, &|_| false)?;
    if mode.is_read_only() {
        lock_store_dir_shared(fs, dir)
    } else {
        lock_store_dir(fs, dir)
    }
}

/// WAL numbers at or above the log number, ascending.
fn live_wals(numbered: &[(FileKind, u64)], log_number: u64) -> Vec<u64> {
    let mut wals: Vec<u64> = numbered
        .iter()
        .filter(|&&(k, n)| k == FileKind::Wal && n >= log_number)
        .map(|&(_, n)| n)
        .collect();
    wals.sort_unstable();
    wals
}

/// Notes for the files the engine did not write.
fn unexpected_files(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| !is_fixed_name(n) && parse_file_name(n).is_none())
        .map(|n| format!("unexpected file {n} left alone"))
        .collect()
}

/// Counts the live keys when `exact_live_keys` asks for it.
fn init_live_keys(inner: &mut Inner, mode: OpenMode) -> Result<()> {
    if !inner.options.exact_live_keys {
        return Ok(());
    }
    match count_live(inner) {
        Ok(live) => inner.live_keys = std::sync::atomic::AtomicI64::new(live),
        Err(e) => match Damage::from_error(&e) {
            // check() lists this damage again, with the rest.
            Some(d) if damages_verify(mode) => inner.open_damage.push(d),
            _ => return Err(e),
        },
    }
    Ok(())
}

/// The exact number of live keys (a full scan).
fn count_live(inner: &Inner) -> Result<i64> {
    let mut live = 0i64;
    for item in crate::read::scan(inner, &kv_core::KeyRange::all(), Direction::Forward)? {
        item?;
        live += 1;
    }
    Ok(live)
}

fn damages_verify(mode: OpenMode) -> bool {
    mode == OpenMode::Verify
}

/// Steps 5-8 of recovery: returns the new, empty memtable.
fn make_durable(
    inner: &mut Inner,
    state: &mut ManifestState,
    recovered: Memtable,
    tables: &mut Vec<(usize, Arc<Table>)>,
    numbered: &[(FileKind, u64)],
) -> Result<Memtable> {
    if !recovered.is_empty() {
        let range_dels = recovered.range_dels();
        let anchor = range_dels
            .iter()
            .map(|t| t.start.clone())
            .min()
            .unwrap_or_default();
        let source: Box<dyn SortedSource> =
            Box::new(MemSource::new(Arc::new(recovered), Direction::Forward));
        let mode = MergeMode::Compaction {
            snapshots: Vec::new(),
            drop_tombstones: false,
        };
        let mut merged = MergeIter::new(vec![source], Direction::Forward, mode);
        merged.seek(std::ops::Bound::Unbounded)?;
        let built = write_tables_with(inner, &mut merged, None, range_dels, &anchor)?;
        for t in crate::flush::open_built(inner, &built)? {
            state.levels[0].insert(t.number(), t.size());
            tables.push((0, t));
        }
    }
    let wal_number = inner.alloc_file();
    let manifest_number = inner.alloc_file();
    state.log_number = wal_number;
    state.next_file = inner.next_file.load(std::sync::atomic::Ordering::SeqCst);
    state.last_seq = inner.visible_seq.load(std::sync::atomic::Ordering::SeqCst);
    state.strategy = Some(inner.options.compaction.tag());
    let fs = Arc::clone(&inner.fs);
    let writer = ManifestWriter::create(&*fs, &inner.dir, manifest_number, state)?;
    let wal = Wal::create(
        &*fs,
        &inner.dir,
        &wal::wal_path(&inner.dir, wal_number),
        wal_number,
    )?;
    inner.manifest = Mutex::new(Some(writer));
    if let Ok(w) = inner.writer.get_mut() {
        w.wal = Some(wal);
        // The new WAL's header is synced by `Wal::create`.
        inner.group.note_durable(w.log_end());
    }
    let live: std::collections::BTreeSet<u64> = state.live_tables().collect();
    for &(kind, n) in numbered {
        let obsolete = match kind {
            FileKind::Manifest => n != manifest_number,
            FileKind::Wal => n < wal_number,
            FileKind::Table => !live.contains(&n),
        };
        if obsolete {
            // Best effort: what stays is still provably obsolete next time.
            let _ = fs.remove(&inner.dir.join(file_name(kind, n)));
        }
    }
    Ok(Memtable::new(wal_number))
}
