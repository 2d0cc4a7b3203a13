//! Regression: `a_locked_store_is_a_one_line_error` (tests/cli.rs) failed in
//! some parallel runs (6 of 28 in one series) with "locked" after the store
//! had been dropped.
//!
//! The cause: the test held the store, and so the lock file's descriptor,
//! in the test process itself. A directory lock (`flock`) belongs to the
//! open file description, and every child that another test thread forks
//! while the descriptor is open shares that description until it calls
//! `exec` (close-on-exec closes it only then). A child forked just before
//! the drop, and slow to reach `exec` on a loaded machine, kept the lock
//! after the test released it, and the test's next `kv get` saw "locked".
//!
//! The fix: tests hold a lock only in a child process
//! ([`common::LockHolder`], a `kv repl` session), released by ending that
//! process; the test process never owns a lock descriptor. The tests below
//! make the slow child deterministic: it is forked while the lock is held and
//! parked before `exec` until the test lets it go.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread::JoinHandle;

use common::{fails_with, kv, ok, LockHolder, ENGINE};
use kv_registry::{self as registry, OpenConfig};

/// The tests of this file fork parked children, which inherit every
/// descriptor of this process: one at a time, so neither parks the other's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A child process forked now and parked before `exec` until
/// [`Parked::finish`]: what a child that another test thread forks looks
/// like to the kernel between its fork and its exec.
struct Parked {
    go: std::io::PipeWriter,
    spawner: JoinHandle<()>,
}

impl Parked {
    /// Forks the child and returns once it is parked (it has every descriptor
    /// this process had at the fork).
    fn fork() -> Self {
        let (mut forked_reader, forked_writer) = std::io::pipe().unwrap();
        let (go_reader, go) = std::io::pipe().unwrap();
        let mut command = Command::new("true");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: the closure only calls `write` and `read` on pipes, which
        // are async-signal-safe, and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                let _ = (&forked_writer).write(&[1]);
                let mut byte = [0u8; 1];
                let _ = (&go_reader).read(&mut byte);
                Ok(())
            });
        }
        // `spawn` returns only once the child has exec'd: run it aside.
        let spawner = std::thread::spawn(move || {
            let status = command.spawn().unwrap().wait().unwrap();
            assert!(status.success());
        });
        let mut byte = [0u8; 1];
        forked_reader.read_exact(&mut byte).unwrap();
        Self { go, spawner }
    }

    /// Lets the child exec and waits for it.
    fn finish(mut self) {
        self.go.write_all(&[1]).unwrap();
        self.spawner.join().unwrap();
    }
}

#[test]
fn a_lock_held_by_a_child_process_is_free_once_it_exits_even_beside_a_parked_fork() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(kv(d, &["put", "k", "v"]));
    let held = LockHolder::start(d, "k");
    let parked = Parked::fork();
    fails_with(kv(d, &["get", "k"]), 3);
    held.release();
    let after = kv(d, &["get", "k"]);
    parked.finish();
    assert_eq!(ok(after), "v\n");
}

/// The cause, pinned: the same sequence with the lock held in this process
/// (as the old test did) leaves the store locked after the drop, for as long
/// as the parked child lives. If this starts to fail, the lock no longer
/// travels with forked children, and the holder above is no longer needed.
#[test]
fn a_lock_held_in_the_test_process_leaks_into_a_child_forked_meanwhile() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(kv(d, &["put", "k", "v"]));
    let held = registry::open(ENGINE, d, &OpenConfig::default()).unwrap();
    let parked = Parked::fork();
    drop(held);
    let during = kv(d, &["get", "k"]);
    parked.finish();
    let line = fails_with(during, 3);
    assert!(line.contains("locked"), "{line}");
    assert_eq!(ok(kv(d, &["get", "k"])), "v\n");
}
