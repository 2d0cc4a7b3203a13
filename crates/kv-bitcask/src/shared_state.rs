//! [`SharedState`]: the lock around the in-memory [`State`] (keydir, file
//! table, totals) that reads, writes, scans, merges and `check` share.
//!
//! Readers take the read side briefly and never do I/O under it. Every
//! hold of the write side is timed (see [`crate::lock_hold`]): it is what
//! a reader may wait for. Lock order: the writer lock (if taken), then
//! this one.
//!
//! # Readers get in between a writer's holds
//! A merge's keydir switch takes the write side thousands of times in a
//! row (one chunk of keys each), with nothing but a loop step between two
//! holds. `std`'s lock wakes a blocked reader when a hold ends, but the
//! writer takes the lock again long before the woken reader runs, so the
//! reader went back to sleep after every chunk: a `get` waited for the
//! whole switch (1.05 s at 4M keys, measured by `examples/stalls.rs`)
//! although no single hold passed 2 ms. So a reader that finds the lock
//! taken counts itself in `readers_waiting` until it gets in, and
//! [`SharedState::write`] lets such readers in first: it yields the CPU
//! until none is waiting, for at most [`READER_HANDOFF_MAX`]. A reader
//! therefore waits for about one hold, not for a sequence of them. The
//! uncontended read costs what it did (one `try_read`); how long readers
//! did wait is in `stats().extra["keydir_read_lock_wait_max_us"]`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, TryLockError};
use std::time::{Duration, Instant};

use crate::lock_hold::{Holder, TimedWrite};
use crate::state::State;
use crate::stats::EngineCounters;

/// The longest a writer defers to readers that wait for the lock before it
/// takes it anyway (so a stream of readers cannot starve writers).
pub const READER_HANDOFF_MAX: Duration = Duration::from_millis(1);

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SharedState {
    state: RwLock<State>,
    /// Readers blocked on the lock right now (see the module docs).
    readers_waiting: AtomicUsize,
    /// Where the write holds and read waits are recorded.
    counters: Arc<EngineCounters>,
}

impl SharedState {
    /// `state`, its write holds recorded in `counters`.
    pub fn new(state: State, counters: Arc<EngineCounters>) -> Self {
        Self {
            state: RwLock::new(state),
            readers_waiting: AtomicUsize::new(0),
            counters,
        }
    }

    /// The read lock. If a writer holds it (or waits for it), this reader
    /// is counted as waiting until it gets in, so the writer's next
    /// [`SharedState::write`] lets it in first.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        match self.state.try_read() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(TryLockError::WouldBlock) => {}
        }
        let since = Instant::now();
        self.readers_waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.state.read().unwrap_or_else(PoisonError::into_inner);
        self.readers_waiting.fetch_sub(1, Ordering::SeqCst);
        self.counters.keydir_read_waits.record(since.elapsed());
        guard
    }

    /// The write lock, taken once the readers waiting for it got in (for
    /// at most [`READER_HANDOFF_MAX`]); how long `holder` holds it is
    /// recorded.
    pub fn write(&self, holder: Holder) -> TimedWrite<'_> {
        self.let_waiting_readers_in();
        let guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        TimedWrite::new(guard, &self.counters.keydir_write_lock, holder)
    }

    fn let_waiting_readers_in(&self) {
        if self.readers_waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        let since = Instant::now();
        while self.readers_waiting.load(Ordering::SeqCst) > 0
            && since.elapsed() < READER_HANDOFF_MAX
        {
            std::thread::yield_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// Waits (without a clock) until `state` counts `n` waiting readers.
    fn until_waiting(state: &SharedState, n: usize) {
        while state.readers_waiting.load(Ordering::SeqCst) != n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_reader_blocked_by_a_hold_is_counted_and_let_in_before_the_next_hold() {
        let counters = Arc::new(EngineCounters::default());
        let state = Arc::new(SharedState::new(State::default(), Arc::clone(&counters)));
        let got_in = Arc::new(AtomicBool::new(false));
        let hold = state.write(Holder::MergeSwitch);
        let reader = {
            let (state, got_in) = (Arc::clone(&state), Arc::clone(&got_in));
            std::thread::spawn(move || {
                let _read = state.read();
                got_in.store(true, Ordering::SeqCst);
            })
        };
        until_waiting(&state, 1);
        drop(hold);
        // The next hold starts only once the reader got in, or after the
        // hand-off's bound (a reader that was not scheduled in time).
        let since = Instant::now();
        let next = state.write(Holder::MergeSwitch);
        assert!(
            got_in.load(Ordering::SeqCst) || since.elapsed() >= READER_HANDOFF_MAX,
            "the writer took the lock again while a reader was waiting"
        );
        drop(next);
        reader.join().unwrap();
        assert_eq!(state.readers_waiting.load(Ordering::SeqCst), 0);
        assert_eq!(counters.keydir_read_waits.waits(), 1);
        // An uncontended read is not counted.
        drop(state.read());
        assert_eq!(counters.keydir_read_waits.waits(), 1);
    }
}
