//! [`SharedState`]: the lock around the in-memory [`State`] (keydir, file
//! table, totals) that reads, writes, scans, merges and `check` share.
//!
//! Readers take the read side briefly and never do I/O under it. Every
//! hold of the write side is timed (see [`crate::lock_hold`]): it is what
//! a reader may wait for. Lock order: the writer lock (if taken), then
//! this one.

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use crate::lock_hold::{Holder, TimedWrite};
use crate::state::State;
use crate::stats::EngineCounters;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SharedState {
    state: RwLock<State>,
    /// Where the write holds are recorded (`keydir_write_lock`).
    counters: Arc<EngineCounters>,
}

impl SharedState {
    /// `state`, its write holds recorded in `counters`.
    pub fn new(state: State, counters: Arc<EngineCounters>) -> Self {
        Self {
            state: RwLock::new(state),
            counters,
        }
    }

    /// The read lock.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The write lock; how long `holder` holds it is recorded.
    pub fn write(&self, holder: Holder) -> TimedWrite<'_> {
        let guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        TimedWrite::new(guard, &self.counters.keydir_write_lock, holder)
    }
}
