//! [`FaultFs`]: wraps any [`Fs`] and fails chosen operations, to test that
//! engines report I/O errors, poison themselves on a failed write or sync, and
//! never acknowledge what they could not write.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::fs::{DirLock, File, Fs};

/// An operation [`FaultFs`] can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultOp {
    /// `File::append` and `File::write_at`.
    Write,
    /// `File::sync`.
    Sync,
    /// `Fs::rename`.
    Rename,
    /// `File::truncate`.
    Truncate,
    /// `Fs::sync_dir`.
    SyncDir,
    /// `Fs::create`.
    Create,
    /// `Fs::remove`.
    Remove,
    /// `File::read_at` (and so every read helper built on it).
    Read,
}

impl FaultOp {
    /// Every operation, in counter order.
    pub const ALL: [FaultOp; 8] = [
        FaultOp::Write,
        FaultOp::Sync,
        FaultOp::Rename,
        FaultOp::Truncate,
        FaultOp::SyncDir,
        FaultOp::Create,
        FaultOp::Remove,
        FaultOp::Read,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// How long a rule keeps failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Only the chosen operation fails.
    Once,
    /// The chosen operation and every later one of the same kind fail.
    FromThenOn,
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    op: FaultOp,
    /// Attempt index (since creation) of the first failing operation.
    first: u64,
    mode: FailMode,
    kind: io::ErrorKind,
}

impl Rule {
    fn fires(&self, op: FaultOp, attempt: u64) -> bool {
        self.op == op
            && match self.mode {
                FailMode::Once => attempt == self.first,
                FailMode::FromThenOn => attempt >= self.first,
            }
    }
}

#[derive(Debug, Default)]
struct Rules {
    rules: Vec<Rule>,
    attempts: [u64; FaultOp::ALL.len()],
    injected: u64,
}

/// Wraps any [`Fs`] and fails chosen operations. A failing operation fails
/// before it reaches the inner file system, so it has no effect (a failed
/// write writes nothing). Files opened or created through it are wrapped, so
/// their reads, writes, syncs and truncations obey the rules too. `Clone`
/// shares the rules and counters.
#[derive(Clone)]
pub struct FaultFs {
    inner: Arc<dyn Fs>,
    rules: Arc<Mutex<Rules>>,
}

impl fmt::Debug for FaultFs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultFs")
            .field("inner", &self.inner)
            .field("rules", &*self.lock())
            .finish()
    }
}

impl FaultFs {
    /// Passes everything to `inner` until rules are added.
    pub fn new(inner: Arc<dyn Fs>) -> FaultFs {
        FaultFs {
            inner,
            rules: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Rules> {
        lock_rules(&self.rules)
    }

    /// Fails the `n`-th `op` counted from this call, starting at 0 (`n = 0`:
    /// the very next one), with an error of kind `Other` whose message is
    /// "injected fault: OP #ATTEMPT" (attempt counted from creation).
    /// With [`FailMode::FromThenOn`], that one and every later `op` fails.
    pub fn fail_nth(&self, op: FaultOp, n: u64, mode: FailMode) {
        self.fail_nth_with(op, n, mode, io::ErrorKind::Other);
    }

    /// Same as [`FaultFs::fail_nth`] with the error kind `kind` (e.g.
    /// [`io::ErrorKind::StorageFull`] for a full disk).
    pub fn fail_nth_with(&self, op: FaultOp, n: u64, mode: FailMode, kind: io::ErrorKind) {
        let mut rules = self.lock();
        let first = rules.attempts[op.index()].saturating_add(n);
        rules.rules.push(Rule {
            op,
            first,
            mode,
            kind,
        });
    }

    /// Removes all rules (counters are kept).
    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// How many `op` operations were attempted since creation, failed ones
    /// included.
    pub fn count(&self, op: FaultOp) -> u64 {
        self.lock().attempts[op.index()]
    }

    /// How many faults were injected so far.
    pub fn injected(&self) -> u64 {
        self.lock().injected
    }

    fn check(&self, op: FaultOp) -> io::Result<()> {
        check(&self.rules, op)
    }

    fn wrap(&self, file: Arc<dyn File>) -> Arc<dyn File> {
        Arc::new(FaultFile {
            inner: file,
            rules: Arc::clone(&self.rules),
        })
    }
}

fn lock_rules(rules: &Mutex<Rules>) -> MutexGuard<'_, Rules> {
    rules.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts one attempt of `op` and fails it if a rule says so.
fn check(rules: &Mutex<Rules>, op: FaultOp) -> io::Result<()> {
    let mut rules = lock_rules(rules);
    let attempt = rules.attempts[op.index()];
    rules.attempts[op.index()] += 1;
    let Some(rule) = rules.rules.iter().find(|r| r.fires(op, attempt)).copied() else {
        return Ok(());
    };
    rules.injected += 1;
    Err(io::Error::new(
        rule.kind,
        format!("injected fault: {op:?} #{attempt}"),
    ))
}

/// A file opened through a [`FaultFs`].
struct FaultFile {
    inner: Arc<dyn File>,
    rules: Arc<Mutex<Rules>>,
}

impl fmt::Debug for FaultFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultFile")
            .field("inner", &self.inner)
            .finish()
    }
}

impl File for FaultFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        check(&self.rules, FaultOp::Read)?;
        self.inner.read_at(buf, offset)
    }

    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        check(&self.rules, FaultOp::Write)?;
        self.inner.write_at(data, offset)
    }

    fn append(&self, data: &[u8]) -> io::Result<u64> {
        check(&self.rules, FaultOp::Write)?;
        self.inner.append(data)
    }

    fn sync(&self) -> io::Result<()> {
        check(&self.rules, FaultOp::Sync)?;
        self.inner.sync()
    }

    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        check(&self.rules, FaultOp::Truncate)?;
        self.inner.truncate(len)
    }
}

impl Fs for FaultFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        self.check(FaultOp::Create)?;
        Ok(self.wrap(self.inner.create(path)?))
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(self.inner.open(path)?))
    }

    fn open_read(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(self.inner.open_read(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check(FaultOp::Rename)?;
        self.inner.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.check(FaultOp::Remove)?;
        self.inner.remove(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list(dir)
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        self.inner.exists(path)
    }

    fn create_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.check(FaultOp::SyncDir)?;
        self.inner.sync_dir(dir)
    }

    fn lock_dir_shared(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        self.inner.lock_dir_shared(dir)
    }

    fn lock_dir(&self, dir: &Path) -> io::Result<Box<dyn DirLock>> {
        self.inner.lock_dir(dir)
    }
}
