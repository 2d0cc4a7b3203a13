//! [`SimFs`]: an in-memory file system that keeps, for every file, what is
//! durable and what is only written, so tests can cut the power at any
//! operation and see exactly what a real disk and kernel might have kept.
//!
//! # Model
//!
//! - Every file is an inode with its *durable* bytes, its *written* bytes
//!   (what reads see) and the ordered list of changes (writes at an offset,
//!   truncations) made since its last [`File::sync`], which makes them all
//!   durable, length included. A crash builds each file from its durable
//!   bytes and a part of those changes chosen by [`CrashMode::unsynced`].
//! - Names live in two namespaces: the *current* one and the *durable* one.
//!   [`Fs::sync_dir`] on a directory copies that directory's current entries
//!   (files and subdirectories) into the durable namespace. A file created
//!   but never synced has empty durable content.
//! - Directories are entries of their parent like files:
//!   [`Fs::create_dir`] creates them in the current namespace only, and a
//!   new directory is durable once its parent is synced
//!   ([`crate::fs::create_dir_durably`] does that for a store directory and
//!   its missing parents). The roots `/` and `` always exist. A crash that
//!   forgets unsynced entries drops every directory whose own entry, or an
//!   ancestor's, was never synced, and every file in it, whatever was synced
//!   inside ([`SimFs::dir_is_durable`] tells whether a directory would stay).
//! - [`Fs::create`] on an existing name truncates that inode in place (like
//!   `O_TRUNC`): the name is unchanged, the truncation is an unsynced change.
//! - Handles refer to inodes, so an open handle keeps working after its file
//!   is removed or renamed; an inode is freed when no name and no handle
//!   refers to it.
//! - Everything is deterministic from the seed given to [`SimFs::new`]: the
//!   same operations crashed with the same mode give the same world.
//!
//! # Crash modes
//!
//! [`SimFs::crash_with`] takes a [`CrashMode`]: what survives of the unsynced
//! data ([`UnsyncedData`]) and whether unsynced directory entries are
//! forgotten. Every mode keeps the synced bytes that no unsynced change
//! touched, and a crash with nothing unsynced changes nothing.
//! [`CrashMode::suite_modes`] lists the modes every crash case of the
//! conformance suite runs under:
//!
//! | constructor | unsynced file data | unsynced entries |
//! |---|---|---|
//! | [`CrashMode::power_loss`] (default) | lost | forgotten |
//! | [`CrashMode::torn_last_write`] | in-order prefix, last write cut after `keep_bytes` | forgotten |
//! | [`CrashMode::garbage_tail`] | lost; seeded garbage after the durable end of extended files | forgotten |
//! | [`CrashMode::random_prefix`] | seeded in-order prefix, next write torn at a byte, maybe garbage | forgotten |
//! | [`CrashMode::reordered_writeback`] | any seeded subset of 4 KiB page pieces, out of order | forgotten |
//! | [`CrashMode::reordered_writeback_torn_sectors`] | as above, a piece may keep only its first 512-byte sectors | forgotten |
//! | [`CrashMode::process_kill`] | all kept, nothing torn | kept |
//!
//! ([`CrashMode::kept_data_lost_entries`], all data kept with entries
//! forgotten, is not in the list.)
//!
//! # Reordered writeback
//!
//! Real writeback flushes dirty pages in any order, and a disk may persist
//! its queue in any order, so after power loss a later write can be on disk
//! without an earlier one. Under [`UnsyncedData::Reordered`] every unsynced
//! write is cut into pieces at file offsets that are multiples of
//! [`WRITEBACK_PAGE_BYTES`] (4096); each piece independently reached the disk
//! or not (per file, the survival rate is drawn from 0, 1/4, 1/2, 3/4 and 1).
//! The file length is metadata a journal commits in order: a seeded prefix of
//! the unsynced changes has its length effect committed. The file after the
//! crash is its durable bytes with, in the original order, the surviving
//! pieces written and the committed truncations applied, then zero-extended
//! to the committed length if shorter. Hence:
//!
//! - a piece that did not survive reads as the old durable bytes, or as zeros
//!   past the old durable end (when a surviving piece or the committed length
//!   reaches past it);
//! - the length is the durable length, a committed length or truncation, or
//!   the end of a surviving (possibly sector-torn) piece;
//! - with `tear_sectors`, one surviving piece in four that spans a boundary
//!   of [`WRITEBACK_SECTOR_BYTES`] (512) keeps only its sectors before a
//!   seeded such boundary.
//!
//! So a log can hold zeros followed by valid records that were never synced:
//! after a reordered crash, only bytes below a durable point (a sync that
//! returned) can be trusted to be whole.
//!
//! Pieces are cut per write, not per page, so of two unsynced writes into the
//! same page the later can survive without the earlier: harsher than a page
//! cache, which writes a page back whole, on purpose (a disk with 512-byte
//! sectors can tear a page, and nothing orders two writes but a sync).

mod crash;
mod mode;
mod reorder;
mod state;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use mode::{CrashMode, UnsyncedData};
pub use reorder::{WRITEBACK_PAGE_BYTES, WRITEBACK_SECTOR_BYTES};
pub use state::MAX_SIM_FILE_BYTES;

use crate::fs::{DirLock, File, Fs};
use state::{checked_range, is_root, normalize, InodeId, PendingOp, State};

type Shared = Arc<Mutex<State>>;

fn lock_state(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// In-memory file system that keeps, for every file, what is durable and
/// what is only written. `Clone` gives another handle to the *same* file
/// system. Thread-safe.
#[derive(Clone)]
pub struct SimFs {
    shared: Shared,
}

impl fmt::Debug for SimFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock_state(&self.shared);
        f.debug_struct("SimFs")
            .field("seed", &state.seed)
            .field("files", &state.current.len())
            .field("op_count", &state.op_count)
            .field("powered_off", &state.powered_off)
            .finish()
    }
}

impl SimFs {
    /// An empty file system (only the roots `/` and `` exist) whose random
    /// choices all derive from `seed`.
    pub fn new(seed: u64) -> SimFs {
        SimFs::from_state(State::new(seed))
    }

    fn from_state(state: State) -> SimFs {
        SimFs {
            shared: Arc::new(Mutex::new(state)),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock_state(&self.shared)
    }

    /// Number of mutating operations performed so far (create, write_at,
    /// append, sync, truncate, rename, remove, create_dir, sync_dir). Reads,
    /// len, list, exists, open and lock_dir are not counted, nor are refused
    /// or failed operations.
    pub fn op_count(&self) -> u64 {
        self.state().op_count
    }

    /// Simulated power loss after `n` more mutating operations: once
    /// [`SimFs::op_count`] reaches its current value + `n`, every later
    /// mutating operation (sync included) fails with an [`io::Error`] of kind
    /// `Other` whose message contains "simulated power loss", and has no
    /// effect. Reads keep working. `power_off_after(0)` fails the very next
    /// mutating operation. Once off, the power stays off in this world; use
    /// [`SimFs::crash`] to get a powered one.
    pub fn power_off_after(&self, n: u64) {
        let mut state = self.state();
        state.power_off_at = Some(state.op_count.saturating_add(n));
    }

    /// True once a mutating operation was refused for lack of power.
    pub fn is_powered_off(&self) -> bool {
        self.state().powered_off
    }

    /// Power loss with [`CrashMode::default`] ([`CrashMode::power_loss`]:
    /// unsynced data and unsynced directory entries lost). See
    /// [`SimFs::crash_with`].
    pub fn crash(&self) -> SimFs {
        self.crash_with(CrashMode::default())
    }

    /// Power loss: returns a new `SimFs` holding only what survived under
    /// `mode`, fully synced, with power on, no locks held, an operation count
    /// of 0 and a seed derived from this one. `self` is left as it was:
    /// handles into it keep working on the old world and never affect the
    /// new one. The result depends only on this state and `mode`.
    pub fn crash_with(&self, mode: CrashMode) -> SimFs {
        SimFs::from_state(crash::crash_state(&self.state(), mode))
    }

    /// Durable bytes of a file (what a crash that loses unsynced data keeps,
    /// provided its directory survives: see [`SimFs::dir_is_durable`]), or
    /// `None` if the durable namespace has no such file.
    pub fn durable_contents(&self, path: &Path) -> Option<Vec<u8>> {
        let state = self.state();
        let id = state.durable.get(&normalize(path))?;
        state.inodes.get(id).map(|inode| inode.durable.clone())
    }

    /// Current (written) bytes of a file, or `None` if it does not exist.
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let state = self.state();
        let id = state.current.get(&normalize(path))?;
        state.inodes.get(id).map(|inode| inode.written.clone())
    }

    /// Overwrites bytes of a file in place, in its written state and, where
    /// the range lies within it, its durable state (bit rot). Returns false if
    /// the file does not exist or `offset + bytes.len()` is past its written
    /// length. Not counted as an operation.
    pub fn corrupt(&self, path: &Path, offset: u64, bytes: &[u8]) -> bool {
        let mut state = self.state();
        let Some(&id) = state.current.get(&normalize(path)) else {
            return false;
        };
        let Some(inode) = state.inodes.get_mut(&id) else {
            return false;
        };
        let Ok((start, end)) = checked_range(offset, bytes.len()) else {
            return false;
        };
        if end > inode.written.len() {
            return false;
        }
        inode.written[start..end].copy_from_slice(bytes);
        let durable_end = end.min(inode.durable.len());
        if start < durable_end {
            inode.durable[start..durable_end].copy_from_slice(&bytes[..durable_end - start]);
        }
        true
    }

    /// Sets a file's written and durable length to `len` (a torn tail),
    /// zero-filling if it grows; the file is then fully synced. Returns false
    /// if the file does not exist or `len` exceeds [`MAX_SIM_FILE_BYTES`].
    /// Not counted as an operation.
    pub fn set_len_durably(&self, path: &Path, len: u64) -> bool {
        let mut state = self.state();
        let Some(&id) = state.current.get(&normalize(path)) else {
            return false;
        };
        let Ok((_, len)) = checked_range(len, 0) else {
            return false;
        };
        let Some(inode) = state.inodes.get_mut(&id) else {
            return false;
        };
        inode.written.resize(len, 0);
        inode.durable.resize(len, 0);
        inode.pending.clear();
        true
    }

    /// True if a crash that forgets unsynced directory entries keeps the
    /// directory `dir`: it is a root, or it and each of its ancestors was
    /// synced into its parent after being created.
    pub fn dir_is_durable(&self, dir: &Path) -> bool {
        let dir = normalize(dir);
        let state = self.state();
        dir.ancestors()
            .all(|a| is_root(a) || state.durable_dirs.contains(a))
    }

    /// Every file path in the current namespace, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        self.state().current.keys().cloned().collect()
    }

    fn open_handle(&self, state: &mut State, id: InodeId) -> io::Result<Arc<dyn File>> {
        state.inode_mut(id)?.handles += 1;
        Ok(Arc::new(SimFile {
            shared: Arc::clone(&self.shared),
            id,
        }))
    }
}

/// An open file of a [`SimFs`]: a reference to an inode, not to a name.
struct SimFile {
    shared: Shared,
    id: InodeId,
}

impl fmt::Debug for SimFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimFile").field("inode", &self.id).finish()
    }
}

impl SimFile {
    fn state(&self) -> MutexGuard<'_, State> {
        lock_state(&self.shared)
    }

    fn write(&self, data: &[u8], offset: Option<u64>) -> io::Result<u64> {
        let id = self.id;
        self.state().mutate(|state| {
            let inode = state.inode_mut(id)?;
            let at = offset.unwrap_or(inode.written.len() as u64);
            let (start, _) = checked_range(at, data.len())?;
            inode.push(PendingOp::Write {
                offset: start,
                data: data.to_vec(),
            });
            Ok(at)
        })
    }
}

impl Drop for SimFile {
    fn drop(&mut self) {
        let mut state = self.state();
        if let Some(inode) = state.inodes.get_mut(&self.id) {
            inode.handles = inode.handles.saturating_sub(1);
        }
        state.collect_if_orphan(self.id);
    }
}

impl File for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let state = self.state();
        let written = &state.inode(self.id)?.written;
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        let Some(available) = written.get(start..) else {
            return Ok(0);
        };
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        Ok(n)
    }

    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        self.write(data, Some(offset)).map(|_| ())
    }

    fn append(&self, data: &[u8]) -> io::Result<u64> {
        self.write(data, None)
    }

    fn sync(&self) -> io::Result<()> {
        let id = self.id;
        self.state().mutate(|state| {
            state.inode_mut(id)?.sync();
            Ok(())
        })
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.state().inode(self.id)?.written.len() as u64)
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        let id = self.id;
        self.state().mutate(|state| {
            let (len, _) = checked_range(len, 0)?;
            state.inode_mut(id)?.push(PendingOp::Truncate { len });
            Ok(())
        })
    }
}

/// A held [`SimFs`] directory lock.
struct SimDirLock {
    shared: Shared,
    dir: PathBuf,
    /// A shared (read-only) lock rather than the exclusive one.
    is_shared: bool,
}

impl fmt::Debug for SimDirLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimDirLock")
            .field("dir", &self.dir)
            .finish()
    }
}

impl DirLock for SimDirLock {}

impl Drop for SimDirLock {
    fn drop(&mut self) {
        let mut state = lock_state(&self.shared);
        if !self.is_shared {
            state.locks.remove(&self.dir);
            return;
        }
        if let Some(count) = state.shared_locks.get_mut(&self.dir) {
            *count -= 1;
            if *count == 0 {
                state.shared_locks.remove(&self.dir);
            }
        }
    }
}

impl Fs for SimFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let path = normalize(path);
        let mut state = self.state();
        let id = state.mutate(|state| state.create_file(&path))?;
        self.open_handle(&mut state, id)
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        let mut state = self.state();
        let id = state.file_id(&normalize(path))?;
        self.open_handle(&mut state, id)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let (from, to) = (normalize(from), normalize(to));
        self.state().mutate(|state| state.rename(&from, &to))
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let path = normalize(path);
        self.state().mutate(|state| state.remove(&path))
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.state().list(&normalize(dir))
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let path = normalize(path);
        let state = self.state();
        Ok(state.current.contains_key(&path) || state.is_dir(&path))
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = normalize(dir);
        self.state().mutate(|state| state.create_dir(&dir))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = normalize(dir);
        self.state().mutate(|state| state.sync_dir(&dir))
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        let dir = normalize(dir);
        let mut state = self.state();
        if !state.is_dir(&dir) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("directory {} does not exist in SimFs", dir.display()),
            ));
        }
        if state.shared_locks.contains_key(&dir) || !state.locks.insert(dir.clone()) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("directory {} is locked by another handle", dir.display()),
            ));
        }
        Ok(Box::new(SimDirLock {
            shared: Arc::clone(&self.shared),
            dir,
            is_shared: false,
        }))
    }

    fn lock_dir_shared(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        let dir = normalize(dir);
        let mut state = self.state();
        if state.locks.contains(&dir) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("directory {} is locked by a writing handle", dir.display()),
            ));
        }
        *state.shared_locks.entry(dir.clone()).or_insert(0) += 1;
        Ok(Box::new(SimDirLock {
            shared: Arc::clone(&self.shared),
            dir,
            is_shared: true,
        }))
    }
}

#[cfg(test)]
mod tests;
