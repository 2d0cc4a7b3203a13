//! [`GroupCommit`]: concurrent writers share one log write and one fsync.
//!
//! Under `SyncPolicy::Always` every write must be durable before it returns.
//! Done naively (append, fsync, under the writer lock), N writing threads make
//! N fsyncs one after another and a reader of a buffered record waits behind
//! all of them. LevelDB's writer queue and RocksDB's `WriteThread` instead let
//! the writers that arrive while a sync is in flight share the next one. This
//! is that piece, once, for every engine that keeps an append-only log
//! (bitcask's data files, the LSM's write-ahead log).
//!
//! # Protocol
//!
//! The engine keeps its log position `end` (bytes appended, buffered or not)
//! and an in-memory write buffer, both under its own writer lock.
//!
//! 1. A writer takes the writer lock, encodes its batch into the buffer,
//!    applies it to the in-memory index, notes its own end position and
//!    **releases the writer lock**. Appending costs a memory copy.
//! 2. It calls [`GroupCommit::wait_durable`] with that position. If a sync
//!    already covered it, it returns at once. If another writer is syncing, it
//!    waits for that sync and looks again. Otherwise it becomes the *leader*:
//!    it runs the engine's sync closure, which takes the writer lock just long
//!    enough to hand the whole buffer (every queued writer's records) to the
//!    file system in **one write**, releases it, and fsyncs, and returns the
//!    log position it made durable. The followers whose position that covers
//!    return `Ok` without a sync of their own.
//!
//! The writer lock is never held across an fsync, so a `get` of a buffered
//! record waits at most for a memory copy, never for a disk flush.
//!
//! # Durable frontier
//!
//! [`GroupCommit::durable`] is the highest log position known to be on stable
//! storage. It only grows. Records appended while a sync is in flight lie
//! beyond the position that sync returns, so pipelining the next group behind
//! a running fsync keeps the durable-frontier rule of the record codec: a
//! record that carries `durable()` as its frontier never claims bytes that
//! were not yet synced.
//!
//! # Failure
//!
//! A failed sync fails every writer waiting on it (each gets the error) and
//! poisons the queue: every later [`GroupCommit::wait_durable`] for a position
//! the last successful sync did not cover returns `Err(Poisoned)`. Writers a
//! successful sync covered before the failure keep their `Ok`: their bytes
//! are durable. No write is ever acknowledged as durable when it is not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};

/// Shares syncs of an append-only log among concurrent writers. See the
/// [module docs](self).
#[derive(Debug)]
pub struct GroupCommit {
    state: Mutex<State>,
    sync_done: Condvar,
    syncs: AtomicU64,
    writes_covered: AtomicU64,
}

#[derive(Debug)]
struct State {
    /// Highest log position known durable.
    durable: u64,
    /// True while a leader runs the sync closure.
    syncing: bool,
    /// The first sync failure; poisons every later wait it cannot satisfy.
    failure: Option<String>,
}

impl GroupCommit {
    /// A queue whose log is durable up to `durable` (its length after
    /// recovery).
    pub fn new(durable: u64) -> Self {
        Self {
            state: Mutex::new(State {
                durable,
                syncing: false,
                failure: None,
            }),
            sync_done: Condvar::new(),
            syncs: AtomicU64::new(0),
            writes_covered: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The durable frontier: the highest log position known to be synced.
    pub fn durable(&self) -> u64 {
        self.lock().durable
    }

    /// Syncs run so far (one per group).
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Calls of [`GroupCommit::wait_durable`] that returned `Ok`.
    pub fn writes_covered(&self) -> u64 {
        self.writes_covered.load(Ordering::Relaxed)
    }

    /// Waits until the log is durable up to `end`, running `sync` as the
    /// group's leader if no sync in flight will cover it.
    ///
    /// `sync` must write everything appended so far (every queued writer's
    /// records, in one write) and fsync, and return the log position it made
    /// durable (at least `end`). It runs without this queue's lock held, and
    /// the caller must not hold the engine's writer lock when calling
    /// `wait_durable`: `sync` takes it.
    ///
    /// # Errors
    /// The error of the sync that should have covered `end` (that writer's
    /// group failed), or `Poisoned` once an earlier sync failed.
    pub fn wait_durable(&self, end: u64, sync: impl FnOnce() -> Result<u64>) -> Result<()> {
        let mut state = self.lock();
        loop {
            if state.durable >= end {
                self.writes_covered.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            if let Some(cause) = &state.failure {
                return Err(Error::Poisoned {
                    cause: cause.clone(),
                });
            }
            if !state.syncing {
                break;
            }
            state = self
                .sync_done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.syncing = true;
        drop(state);
        let outcome = sync();
        self.syncs.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        state.syncing = false;
        let result = match outcome {
            Ok(durable) => {
                state.durable = state.durable.max(durable);
                if state.durable >= end {
                    self.writes_covered.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                } else {
                    let cause = format!(
                        "a group sync made the log durable to {durable} but the write ends at {end}"
                    );
                    state.failure = Some(cause.clone());
                    Err(Error::Poisoned { cause })
                }
            }
            Err(e) => {
                state.failure.get_or_insert_with(|| e.to_string());
                Err(e)
            }
        };
        drop(state);
        self.sync_done.notify_all();
        result
    }

    /// Records that the log was made durable up to `durable` by a sync the
    /// engine ran outside the queue (a rollover, a clean close).
    pub fn note_durable(&self, durable: u64) {
        let mut state = self.lock();
        state.durable = state.durable.max(durable);
        drop(state);
        self.sync_done.notify_all();
    }

    /// Moves the frontier to `position` for a new log (a new file or WAL
    /// whose positions start over). REQUIRES: the caller holds the engine's
    /// writer lock and no writer waits on the old log.
    pub fn reset(&self, position: u64) {
        let mut state = self.lock();
        state.durable = position;
        drop(state);
        self.sync_done.notify_all();
    }

    /// The cause of the first failed sync, if any.
    pub fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_covered_write_returns_without_syncing() {
        let gc = GroupCommit::new(100);
        gc.wait_durable(80, || panic!("must not sync")).unwrap();
        assert_eq!(gc.syncs(), 0);
        assert_eq!(gc.writes_covered(), 1);
    }

    #[test]
    fn the_leader_sync_covers_what_it_reports() {
        let gc = GroupCommit::new(0);
        gc.wait_durable(10, || Ok(30)).unwrap();
        assert_eq!(gc.durable(), 30);
        gc.wait_durable(25, || panic!("covered")).unwrap();
        assert_eq!(gc.syncs(), 1);
    }

    #[test]
    fn a_failed_sync_fails_its_writer_and_poisons_the_rest() {
        let gc = GroupCommit::new(5);
        let err = gc
            .wait_durable(10, || Err(Error::Io(std::io::Error::other("disk gone"))))
            .unwrap_err();
        assert!(matches!(err, Error::Io(_)), "{err}");
        gc.wait_durable(5, || panic!("covered before the failure"))
            .unwrap();
        let later = gc.wait_durable(11, || Ok(100)).unwrap_err();
        assert!(matches!(later, Error::Poisoned { .. }), "{later}");
        assert!(gc.failure().unwrap().contains("disk gone"));
    }

    #[test]
    fn a_sync_that_falls_short_poisons() {
        let gc = GroupCommit::new(0);
        assert!(matches!(
            gc.wait_durable(10, || Ok(5)),
            Err(Error::Poisoned { .. })
        ));
    }

    #[test]
    fn concurrent_writers_share_syncs_and_all_get_covered() {
        // Each writer "appends" by bumping a shared end and then waits; a
        // sync makes everything appended so far durable. Whatever the
        // interleaving, every writer returns Ok, the frontier covers every
        // end, and there are never more syncs than writers.
        let gc = Arc::new(GroupCommit::new(0));
        let end = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (gc, end) = (Arc::clone(&gc), Arc::clone(&end));
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let mine = end.fetch_add(10, Ordering::SeqCst) + 10;
                        gc.wait_durable(mine, || Ok(end.load(Ordering::SeqCst)))
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(gc.writes_covered(), 400);
        assert!(gc.syncs() <= 400);
        assert_eq!(gc.durable(), end.load(Ordering::SeqCst));
    }
}
