//! [`GateFs`]: a file system over a `SimFs` whose WAL syncs can be held at a
//! gate, so a test can line writers up behind a group-commit leader without
//! any timing: the leader's fsync blocks until the test opens the gate.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use kv_core::fs::DirLock;
use kv_core::testkit::SimFs;
use kv_core::{File, Fs};

#[derive(Debug, Default)]
struct GateState {
    /// WAL syncs block while this is set.
    closed: bool,
    /// WAL syncs blocked at the gate now.
    waiting: usize,
    /// The next WAL sync (after the gate) fails once.
    fail_next: bool,
    /// WAL syncs that reached the file system (failed ones included).
    syncs: u64,
}

#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

/// A `SimFs` whose WAL (`*.log`) file syncs can be held or failed.
#[derive(Debug, Clone)]
pub struct GateFs {
    sim: SimFs,
    gate: Arc<Gate>,
}

impl GateFs {
    /// A gate (open) over `sim`.
    pub fn new(sim: SimFs) -> Self {
        Self {
            sim,
            gate: Arc::default(),
        }
    }

    /// From now on WAL syncs block until [`GateFs::open_gate`].
    pub fn close_gate(&self) {
        self.gate.state.lock().unwrap().closed = true;
    }

    /// Lets every blocked and later WAL sync through.
    pub fn open_gate(&self) {
        self.gate.state.lock().unwrap().closed = false;
        self.gate.changed.notify_all();
    }

    /// Makes the next WAL sync to pass the gate fail with an I/O error.
    pub fn fail_next_sync(&self) {
        self.gate.state.lock().unwrap().fail_next = true;
    }

    /// WAL syncs so far (failed ones included).
    pub fn wal_syncs(&self) -> u64 {
        self.gate.state.lock().unwrap().syncs
    }

    /// Waits until `n` WAL syncs are blocked at the gate.
    pub fn wait_for_blocked(&self, n: usize) {
        let mut state = self.gate.state.lock().unwrap();
        while state.waiting < n {
            state = self.gate.changed.wait(state).unwrap();
        }
    }
}

#[derive(Debug)]
struct GateFile {
    inner: Arc<dyn File>,
    gate: Option<Arc<Gate>>,
}

impl File for GateFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, data: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_at(data, offset)
    }
    fn append(&self, data: &[u8]) -> io::Result<u64> {
        self.inner.append(data)
    }
    fn sync(&self) -> io::Result<()> {
        if let Some(gate) = &self.gate {
            let mut state = gate.state.lock().unwrap();
            if state.closed {
                state.waiting += 1;
                gate.changed.notify_all();
                while state.closed {
                    state = gate.changed.wait(state).unwrap();
                }
                state.waiting -= 1;
            }
            state.syncs += 1;
            if std::mem::take(&mut state.fail_next) {
                return Err(io::Error::other("gate: injected sync failure"));
            }
        }
        self.inner.sync()
    }
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
}

impl GateFs {
    fn wrap(&self, path: &Path, file: Arc<dyn File>) -> Arc<dyn File> {
        let is_wal = path.extension().is_some_and(|e| e == "log");
        Arc::new(GateFile {
            inner: file,
            gate: is_wal.then(|| Arc::clone(&self.gate)),
        })
    }
}

impl Fs for GateFs {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.sim.create(path)?))
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn File>> {
        Ok(self.wrap(path, self.sim.open(path)?))
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
