//! [`IndexLock`]: the store-wide lock around the keydir's leaf index and
//! the file handles (`crate::shared_state`). Every read takes its read side
//! briefly; its write side is taken only for changes that must exclude
//! every reader: leaf splits and folds, a batch's publication, and
//! file-table changes. Every write hold is timed
//! (`keydir_write_lock_max_us`, see [`crate::lock_hold`]).
//!
//! # Readers get in between a writer's holds
//! A writer may take the write side many times in a row (a merge did, once
//! per chunk of its keydir switch, until session 8) with nothing but a loop
//! step between two holds. `std`'s lock wakes a blocked reader when a hold
//! ends, but the writer took the lock again long before the woken reader
//! ran, so the reader went back to sleep after every hold: a `get` waited
//! for a whole switch (1.05 s at 4M keys, measured by `examples/stalls.rs`)
//! although no single hold passed 2 ms. So a reader that finds the lock
//! taken counts itself in `readers_waiting` until it gets in, and
//! [`IndexLock::write`] lets such readers in first: it yields the CPU until
//! none is waiting, for at most [`READER_HANDOFF_MAX`]. A reader therefore
//! waits for about one hold, not for a sequence of them.
//!
//! # A writer waiting for the lock does not block readers
//! `std`'s `RwLock` blocks new readers as soon as a writer *waits*. The
//! read side is held by leaf editors too (a put holds it while it edits
//! its leaf), and a leaf editor preempted by another process holds it for
//! milliseconds: a writer queued behind it would stall every reader for
//! that long, although no write hold is long. So [`IndexLock::write`]
//! first polls with `try_write` (yielding the CPU between tries, which
//! queues nothing) for up to [`READER_HANDOFF_MAX`], and only then queues.
//! The hold is timed from when the lock is acquired; the time readers were
//! blocked is in their waits (`keydir_read_lock_wait_max_us.index`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};
use std::time::{Duration, Instant};

use crate::lock_hold::{Holder, LockHolds, ReadWaits, TimedHold};

/// The longest a writer defers to readers (waiting for the lock, or
/// holding it) before it queues for the lock anyway (so a stream of
/// readers cannot starve writers).
pub const READER_HANDOFF_MAX: Duration = Duration::from_millis(1);

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct IndexLock<T> {
    lock: RwLock<T>,
    /// Readers blocked on the lock right now (see the module docs).
    readers_waiting: AtomicUsize,
}

/// A write hold of an [`IndexLock`], timed.
pub(crate) type IndexWrite<'a, T> = TimedHold<'a, RwLockWriteGuard<'a, T>>;

impl<T> IndexLock<T> {
    /// `value` behind the lock.
    pub fn new(value: T) -> Self {
        Self {
            lock: RwLock::new(value),
            readers_waiting: AtomicUsize::new(0),
        }
    }

    /// The read lock. If a writer holds it (or waits for it), this reader
    /// is counted as waiting until it gets in, so the writer's next
    /// [`IndexLock::write`] lets it in first; the wait is recorded in
    /// `waits`.
    pub fn read(&self, waits: &ReadWaits) -> RwLockReadGuard<'_, T> {
        match self.lock.try_read() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(TryLockError::WouldBlock) => {}
        }
        let since = Instant::now();
        self.readers_waiting.fetch_add(1, Ordering::SeqCst);
        let guard = self.lock.read().unwrap_or_else(PoisonError::into_inner);
        self.readers_waiting.fetch_sub(1, Ordering::SeqCst);
        waits.record(since.elapsed());
        guard
    }

    /// The write lock, taken once the readers waiting for it got in and
    /// the read side is free (polled for at most [`READER_HANDOFF_MAX`],
    /// then queued for); how long `holder` holds it is recorded in
    /// `holds`.
    pub fn write<'a>(&'a self, holds: &'a LockHolds, holder: Holder) -> IndexWrite<'a, T> {
        let since = Instant::now();
        while self.readers_waiting.load(Ordering::SeqCst) > 0
            && since.elapsed() < READER_HANDOFF_MAX
        {
            std::thread::yield_now();
        }
        let guard = loop {
            match self.lock.try_write() {
                Ok(guard) => break guard,
                Err(TryLockError::Poisoned(p)) => break p.into_inner(),
                Err(TryLockError::WouldBlock) if since.elapsed() < READER_HANDOFF_MAX => {
                    std::thread::yield_now();
                }
                Err(TryLockError::WouldBlock) => {
                    break self.lock.write().unwrap_or_else(PoisonError::into_inner)
                }
            }
        };
        TimedHold::new(guard, holds, holder)
    }
}

#[cfg(test)]
impl<T> IndexLock<T> {
    /// The lock itself, for tests that probe it with `try_` calls.
    pub fn lock_for_tests(&self) -> &RwLock<T> {
        &self.lock
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// Waits (without a clock) until `lock` counts `n` waiting readers.
    fn until_waiting(lock: &IndexLock<u32>, n: usize) {
        while lock.readers_waiting.load(Ordering::SeqCst) != n {
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_reader_blocked_by_a_hold_is_counted_and_let_in_before_the_next_hold() {
        let (holds, waits) = (
            Arc::new(LockHolds::default()),
            Arc::new(ReadWaits::default()),
        );
        let lock = Arc::new(IndexLock::new(0u32));
        let got_in = Arc::new(AtomicBool::new(false));
        let hold = lock.write(&holds, Holder::MergeSwitch);
        let reader = {
            let (lock, got_in, waits) =
                (Arc::clone(&lock), Arc::clone(&got_in), Arc::clone(&waits));
            std::thread::spawn(move || {
                let _read = lock.read(&waits);
                got_in.store(true, Ordering::SeqCst);
            })
        };
        until_waiting(&lock, 1);
        drop(hold);
        // The next hold starts only once the reader got in, or after the
        // hand-off's bound (a reader that was not scheduled in time).
        let since = Instant::now();
        let next = lock.write(&holds, Holder::MergeSwitch);
        assert!(
            got_in.load(Ordering::SeqCst) || since.elapsed() >= READER_HANDOFF_MAX,
            "the writer took the lock again while a reader was waiting"
        );
        drop(next);
        reader.join().unwrap();
        assert_eq!(lock.readers_waiting.load(Ordering::SeqCst), 0);
        assert_eq!(waits.waits(), 1);
        assert_eq!(holds.holds_by(Holder::MergeSwitch), 2);
        // An uncontended read is not counted.
        drop(lock.read(&waits));
        assert_eq!(waits.waits(), 1);
    }

    #[test]
    fn a_writer_gets_the_lock_even_while_readers_keep_it_read_locked() {
        let (holds, waits) = (LockHolds::default(), ReadWaits::default());
        let lock = Arc::new(IndexLock::new(0u32));
        let read = lock.read(&waits);
        let writer = {
            let lock = Arc::clone(&lock);
            std::thread::spawn(move || {
                let holds = LockHolds::default();
                *lock.write(&holds, Holder::Publish) += 1;
            })
        };
        // The writer polls, then queues; either way it gets in once the
        // read side is free.
        drop(read);
        writer.join().unwrap();
        assert_eq!(*lock.read(&waits), 1);
        drop(lock.write(&holds, Holder::Publish));
        assert_eq!(holds.holds_by(Holder::Publish), 1);
    }
}
