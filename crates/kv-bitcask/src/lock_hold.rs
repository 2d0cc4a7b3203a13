//! [`TimedWrite`]: the keydir's write lock, with the longest time anyone
//! held it recorded (`stats().extra["keydir_write_lock_max_us"]`). A long
//! hold is a stall for every reader, so the figure is what the merge's
//! chunked keydir switch is judged by.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLockWriteGuard;
use std::time::Instant;

use crate::state::State;

/// A held write lock of the state; on drop, the hold's length (in
/// microseconds) raises `longest` if it was longer.
pub(crate) struct TimedWrite<'a> {
    guard: RwLockWriteGuard<'a, State>,
    since: Instant,
    longest: &'a AtomicU64,
}

impl<'a> TimedWrite<'a> {
    /// Wraps a guard just acquired.
    pub fn new(guard: RwLockWriteGuard<'a, State>, longest: &'a AtomicU64) -> Self {
        Self {
            guard,
            since: Instant::now(),
            longest,
        }
    }
}

impl Deref for TimedWrite<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.guard
    }
}

impl DerefMut for TimedWrite<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for TimedWrite<'_> {
    fn drop(&mut self) {
        let held = u64::try_from(self.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.longest.fetch_max(held, Ordering::Relaxed);
    }
}
