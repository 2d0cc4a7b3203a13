//! The state behind a `SimFs`: inodes with durable and written bytes, the
//! current and durable namespaces, directories, locks and the power switch.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Component, Path, PathBuf};

/// Identifies a file independently of its names, like a POSIX inode number.
pub(super) type InodeId = u64;

/// Largest offset + length a simulated file accepts, so a wild offset is an
/// error instead of an attempt to allocate terabytes.
pub const MAX_SIM_FILE_BYTES: u64 = 1 << 32;

/// One change to a file's bytes not yet made durable by `File::sync`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PendingOp {
    /// `data` written at `offset` (an append is a write at the old end).
    Write { offset: usize, data: Vec<u8> },
    /// Length set to `len`.
    Truncate { len: usize },
}

impl PendingOp {
    /// Applies this change to `bytes`.
    pub(super) fn apply(&self, bytes: &mut Vec<u8>) {
        match self {
            PendingOp::Write { offset, data } => write_into(bytes, *offset, data),
            PendingOp::Truncate { len } => bytes.resize(*len, 0),
        }
    }
}

/// Writes `data` at `offset`, zero-filling any gap; an empty write changes
/// nothing (not even the length).
pub(super) fn write_into(bytes: &mut Vec<u8>, offset: usize, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let end = offset + data.len();
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    bytes[offset..end].copy_from_slice(data);
}

/// Checks that `offset + len` fits in a simulated file and converts both.
pub(super) fn checked_range(offset: u64, len: usize) -> io::Result<(usize, usize)> {
    let end = offset.checked_add(len as u64);
    match end {
        Some(end) if end <= MAX_SIM_FILE_BYTES => Ok((offset as usize, end as usize)),
        _ => Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "simulated file would end past {MAX_SIM_FILE_BYTES} bytes (offset {offset}, {len} bytes)"
            ),
        )),
    }
}

/// A file's contents. Invariant: replaying `pending` in order onto `durable`
/// gives `written`.
#[derive(Debug, Clone, Default)]
pub(super) struct Inode {
    /// What survives a crash that loses unsynced data.
    pub(super) durable: Vec<u8>,
    /// What reads see.
    pub(super) written: Vec<u8>,
    /// Changes since the last sync, oldest first.
    pub(super) pending: Vec<PendingOp>,
    /// Open handles; an inode with handles lives on after its last name goes.
    pub(super) handles: usize,
}

impl Inode {
    /// A synced file holding `bytes`.
    pub(super) fn durable_with(bytes: Vec<u8>) -> Inode {
        Inode {
            durable: bytes.clone(),
            written: bytes,
            pending: Vec::new(),
            handles: 0,
        }
    }

    /// Records and applies one change.
    pub(super) fn push(&mut self, op: PendingOp) {
        op.apply(&mut self.written);
        self.pending.push(op);
    }

    /// Makes every change durable, in time proportional to the changes.
    pub(super) fn sync(&mut self) {
        for op in self.pending.drain(..) {
            op.apply(&mut self.durable);
        }
    }
}

/// Everything a `SimFs` world holds.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) seed: u64,
    pub(super) inodes: BTreeMap<InodeId, Inode>,
    next_inode: InodeId,
    /// Names as processes see them now.
    pub(super) current: BTreeMap<PathBuf, InodeId>,
    /// Names as they were at the last `sync_dir` of each parent.
    pub(super) durable: BTreeMap<PathBuf, InodeId>,
    /// Directories as processes see them now; the roots `/` and `` are
    /// implied (never listed here) and always exist.
    pub(super) dirs: BTreeSet<PathBuf>,
    /// Directories whose entry in their parent was synced by a `sync_dir` of
    /// the parent since they were created (a subset of `dirs`). One survives
    /// a crash that forgets unsynced entries only if its ancestors do too.
    pub(super) durable_dirs: BTreeSet<PathBuf>,
    pub(super) locks: BTreeSet<PathBuf>,
    /// Shared (read-only) locks held, per directory.
    pub(super) shared_locks: BTreeMap<PathBuf, usize>,
    pub(super) op_count: u64,
    pub(super) power_off_at: Option<u64>,
    pub(super) powered_off: bool,
}

/// Lexical normal form: `.` dropped, `..` pops a component.
pub(super) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// True for the roots `/` and ``, which every world has.
pub(super) fn is_root(path: &Path) -> bool {
    path == Path::new("/") || path.as_os_str().is_empty()
}

/// The directory holding `path` (`` for a bare relative name).
pub(super) fn parent_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

fn not_found(what: &str, path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{what} {} does not exist in SimFs", path.display()),
    )
}

impl State {
    /// A fresh, empty world.
    pub(super) fn new(seed: u64) -> State {
        State {
            seed,
            ..State::default()
        }
    }

    /// Adds an inode and returns its id.
    pub(super) fn add_inode(&mut self, inode: Inode) -> InodeId {
        let id = self.next_inode;
        self.next_inode += 1;
        self.inodes.insert(id, inode);
        id
    }

    /// Runs one mutating operation: refused without effect when the power is
    /// off (or goes off now); counted only if it succeeds. `op` must validate
    /// before it changes anything.
    pub(super) fn mutate<T>(
        &mut self,
        op: impl FnOnce(&mut State) -> io::Result<T>,
    ) -> io::Result<T> {
        if let Some(at) = self.power_off_at {
            if self.op_count >= at {
                self.powered_off = true;
            }
        }
        if self.powered_off {
            return Err(io::Error::other(format!(
                "simulated power loss: SimFs refused a mutating operation after {} operations",
                self.op_count
            )));
        }
        let out = op(self)?;
        self.op_count += 1;
        Ok(out)
    }

    pub(super) fn is_dir(&self, path: &Path) -> bool {
        is_root(path) || self.dirs.contains(path)
    }

    pub(super) fn inode(&self, id: InodeId) -> io::Result<&Inode> {
        self.inodes
            .get(&id)
            .ok_or_else(|| io::Error::other(format!("SimFs inode {id} vanished")))
    }

    pub(super) fn inode_mut(&mut self, id: InodeId) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(&id)
            .ok_or_else(|| io::Error::other(format!("SimFs inode {id} vanished")))
    }

    /// The file currently named `path`.
    pub(super) fn file_id(&self, path: &Path) -> io::Result<InodeId> {
        match self.current.get(path) {
            Some(id) => Ok(*id),
            None if self.is_dir(path) => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory", path.display()),
            )),
            None => Err(not_found("file", path)),
        }
    }

    /// Checks that a file may be named `path`: its parent is a directory and
    /// `path` itself is not one.
    fn check_file_name(&self, path: &Path) -> io::Result<()> {
        if !self.is_dir(parent_of(path)) {
            return Err(not_found("directory", parent_of(path)));
        }
        if self.is_dir(path) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{} is a directory", path.display()),
            ));
        }
        Ok(())
    }

    /// `create`: truncates the existing inode in place (open handles see it,
    /// and the truncation is an unsynced change like any other), or adds a
    /// new, empty inode under `path` in the current namespace only.
    pub(super) fn create_file(&mut self, path: &Path) -> io::Result<InodeId> {
        self.check_file_name(path)?;
        if let Some(&id) = self.current.get(path) {
            self.inode_mut(id)?.push(PendingOp::Truncate { len: 0 });
            return Ok(id);
        }
        let id = self.add_inode(Inode::default());
        self.current.insert(path.to_path_buf(), id);
        Ok(id)
    }

    pub(super) fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        let id = self.file_id(from)?;
        self.check_file_name(to)?;
        if from == to {
            return Ok(());
        }
        self.current.remove(from);
        if let Some(replaced) = self.current.insert(to.to_path_buf(), id) {
            self.collect_if_orphan(replaced);
        }
        Ok(())
    }

    pub(super) fn remove(&mut self, path: &Path) -> io::Result<()> {
        let id = self.file_id(path)?;
        self.current.remove(path);
        self.collect_if_orphan(id);
        Ok(())
    }

    /// Creates `dir` and its ancestors, in the current namespace only: each
    /// new directory's entry is durable once its parent is synced.
    pub(super) fn create_dir(&mut self, dir: &Path) -> io::Result<()> {
        let ancestors: Vec<&Path> = dir.ancestors().collect();
        if let Some(file) = ancestors.iter().find(|a| self.current.contains_key(**a)) {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                format!("{} is a file", file.display()),
            ));
        }
        for ancestor in ancestors {
            if !self.is_dir(ancestor) {
                self.dirs.insert(ancestor.to_path_buf());
            }
        }
        Ok(())
    }

    /// Makes the current entries of `dir` its durable ones: its files and its
    /// subdirectories.
    pub(super) fn sync_dir(&mut self, dir: &Path) -> io::Result<()> {
        if !self.is_dir(dir) {
            return Err(not_found("directory", dir));
        }
        let stale: Vec<(PathBuf, InodeId)> = self
            .durable
            .iter()
            .filter(|(p, _)| parent_of(p) == dir)
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        for (path, _) in &stale {
            self.durable.remove(path);
        }
        let fresh: Vec<(PathBuf, InodeId)> = self
            .current
            .iter()
            .filter(|(p, _)| parent_of(p) == dir)
            .map(|(p, id)| (p.clone(), *id))
            .collect();
        self.durable.extend(fresh);
        let subdirs: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter(|d| parent_of(d) == dir)
            .cloned()
            .collect();
        self.durable_dirs.extend(subdirs);
        for (_, id) in stale {
            self.collect_if_orphan(id);
        }
        Ok(())
    }

    /// Sorted names of the files and directories directly in `dir`.
    pub(super) fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        if !self.is_dir(dir) {
            return Err(not_found("directory", dir));
        }
        let files = self.current.keys().map(PathBuf::as_path);
        let dirs = self.dirs.iter().map(PathBuf::as_path);
        let mut names: Vec<String> = files
            .chain(dirs)
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Drops inode `id` if no name (current or durable) and no handle refers
    /// to it any more.
    pub(super) fn collect_if_orphan(&mut self, id: InodeId) {
        let handles = self.inodes.get(&id).map_or(0, |inode| inode.handles);
        let named =
            self.current.values().any(|v| *v == id) || self.durable.values().any(|v| *v == id);
        if handles == 0 && !named {
            self.inodes.remove(&id);
        }
    }
}
