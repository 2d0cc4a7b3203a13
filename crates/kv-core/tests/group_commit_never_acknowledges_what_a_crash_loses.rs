//! `GroupCommit` over a real log on `FaultFs` + `SimFs`: N writer threads
//! append fixed-size records to one buffered log and wait for durability; one
//! sync fails. Whatever the interleaving:
//!
//! - every writer whose `wait_durable` returned `Ok` finds its record in the
//!   log's durable bytes after a power loss (nothing acknowledged is lost);
//! - the writers of the failed group got the injected I/O error, every later
//!   one `Poisoned`, and no writer got `Ok` for a record past the durable
//!   frontier;
//! - syncs were shared: fewer syncs than acknowledged writes overall is not
//!   guaranteed under every schedule, so only `syncs <= writers` is asserted.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use kv_core::fs::{File, Fs};
use kv_core::testkit::{FailMode, FaultFs, FaultOp, SeedGuard, SimFs};
use kv_core::{Error, GroupCommit, Result};

const RECORD_BYTES: usize = 16;
const THREADS: usize = 6;
const WRITES_PER_THREAD: usize = 40;

/// One writer's outcomes: (write index, log end, Ok or what failed).
type Outcomes = Vec<(usize, u64, std::result::Result<(), String>)>;

/// The engine side: a write buffer and the log position, under one lock.
struct Log {
    file: Arc<dyn File>,
    buffered: Mutex<(Vec<u8>, u64)>,
    commit: GroupCommit,
}

impl Log {
    /// Appends one record, returns its end position (writer lock held only
    /// for the copy).
    fn append(&self, record: &[u8]) -> u64 {
        let mut guard = self.buffered.lock().unwrap();
        guard.0.extend_from_slice(record);
        guard.1 += record.len() as u64;
        guard.1
    }

    /// The leader's sync: one write of everything buffered, then fsync
    /// outside the writer lock.
    fn flush_and_sync(&self) -> Result<u64> {
        let (bytes, end) = {
            let mut guard = self.buffered.lock().unwrap();
            (std::mem::take(&mut guard.0), guard.1)
        };
        if !bytes.is_empty() {
            self.file.append(&bytes)?;
        }
        self.file.sync()?;
        Ok(end)
    }
}

fn record(thread: usize, i: usize) -> [u8; RECORD_BYTES] {
    let mut r = [0u8; RECORD_BYTES];
    r[..8].copy_from_slice(&(thread as u64).to_le_bytes());
    r[8..].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    r
}

#[test]
fn group_commit_never_acknowledges_what_a_crash_loses() {
    let guard = SeedGuard::new("group_commit_never_acknowledges_what_a_crash_loses");
    let seed = guard.seed();
    let sim = SimFs::new(seed);
    kv_core::fs::create_dir_durably(&sim, Path::new("/db")).unwrap();
    let fs = FaultFs::new(Arc::new(sim.clone()));
    let file = fs.create(Path::new("/db/log")).unwrap();
    fs.sync_dir(Path::new("/db")).unwrap();
    let failing_sync = 3 + seed % 5;
    fs.fail_nth(FaultOp::Sync, failing_sync, FailMode::Once);
    let log = Arc::new(Log {
        file,
        buffered: Mutex::new((Vec::new(), 0)),
        commit: GroupCommit::new(0),
    });
    // Spawn every writer before joining any, so they really run together.
    let handles: Vec<std::thread::JoinHandle<Outcomes>> = (0..THREADS)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..WRITES_PER_THREAD)
                    .map(|i| {
                        let end = log.append(&record(t, i));
                        let got = log.commit.wait_durable(end, || log.flush_and_sync());
                        let got = got.map_err(|e| match e {
                            Error::Poisoned { .. } => "poisoned".to_string(),
                            other => format!("io: {other}"),
                        });
                        (i, end, got)
                    })
                    .collect()
            })
        })
        .collect();
    let outcomes: Vec<Outcomes> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let durable = sim.crash().durable_contents(Path::new("/db/log")).unwrap();
    let mut acknowledged = 0;
    let mut io_failures = 0;
    for (t, results) in outcomes.iter().enumerate() {
        for (i, end, got) in results {
            match got {
                Ok(()) => {
                    acknowledged += 1;
                    let end = *end as usize;
                    assert!(
                        end <= durable.len(),
                        "seed {seed}: thread {t} write {i} was acknowledged but the durable log is only {} bytes (needs {end})",
                        durable.len()
                    );
                    // Records interleave across threads; find this one.
                    let want = record(t, *i);
                    assert!(
                        durable[..end]
                            .chunks(RECORD_BYTES)
                            .any(|chunk| chunk == want),
                        "seed {seed}: thread {t} write {i} acknowledged but missing after the crash"
                    );
                }
                Err(e) if e.starts_with("io:") => {
                    io_failures += 1;
                    assert!(e.contains("injected"), "seed {seed}: {e}");
                }
                Err(_) => {}
            }
        }
    }
    assert!(
        io_failures >= 1,
        "seed {seed}: the failing sync #{failing_sync} reached no writer"
    );
    assert!(log.commit.failure().is_some(), "seed {seed}: not poisoned");
    assert!(log.commit.syncs() as usize <= THREADS * WRITES_PER_THREAD);
    assert!(acknowledged >= 1, "seed {seed}: nothing was acknowledged");
}
