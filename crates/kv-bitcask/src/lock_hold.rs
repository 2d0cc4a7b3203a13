//! [`TimedWrite`]: the keydir's write lock, with the longest time anyone
//! held it recorded, overall (`stats().extra["keydir_write_lock_max_us"]`)
//! and per holder (`keydir_write_lock_max_us.{holder}`, see [`Holder`]).
//! A long hold is a stall for every reader, so the figure is what the
//! merge's chunked keydir switch is judged by, and the per-holder figures
//! say who held it: a hold far longer than its holder's work (one write's
//! keydir updates, one file-table insert) is the holding thread waiting
//! for a CPU, not work done under the lock.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLockWriteGuard;
use std::time::Instant;

use crate::state::State;

/// Who takes the state's write lock, and how much work one hold does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// A write's keydir updates (one put or delete, or one batch).
    Publish,
    /// The deferred keydir updates of one group sync (`SyncPolicy::Always`).
    PublishDurable,
    /// A rollover's file-table insert of the new active file.
    Rollover,
    /// Recording a written hint's size in the file table.
    HintSize,
    /// One chunk of a merge's keydir switch (`SWITCH_CHUNK_KEYS` keys), or
    /// a merge's file-table update.
    MergeSwitch,
}

impl Holder {
    /// Every holder, in the order of [`LockHolds`]' figures.
    pub const ALL: [Holder; 5] = [
        Holder::Publish,
        Holder::PublishDurable,
        Holder::Rollover,
        Holder::HintSize,
        Holder::MergeSwitch,
    ];

    /// Its name in `stats().extra`.
    pub fn name(self) -> &'static str {
        match self {
            Holder::Publish => "publish",
            Holder::PublishDurable => "publish_durable",
            Holder::Rollover => "rollover",
            Holder::HintSize => "hint_size",
            Holder::MergeSwitch => "merge_switch",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The longest hold of the state's write lock, overall and per holder, in
/// microseconds.
#[derive(Debug, Default)]
pub struct LockHolds {
    longest: AtomicU64,
    by_holder: [AtomicU64; Holder::ALL.len()],
}

impl LockHolds {
    /// The longest hold by anyone.
    pub fn longest_us(&self) -> u64 {
        self.longest.load(Ordering::Relaxed)
    }

    /// The longest hold by `holder`.
    pub(crate) fn longest_us_by(&self, holder: Holder) -> u64 {
        self.by_holder[holder.index()].load(Ordering::Relaxed)
    }

    fn record(&self, holder: Holder, held_us: u64) {
        self.longest.fetch_max(held_us, Ordering::Relaxed);
        self.by_holder[holder.index()].fetch_max(held_us, Ordering::Relaxed);
    }
}

/// A held write lock of the state; on drop, the hold's length (in
/// microseconds) raises the longest figures if it was longer.
pub(crate) struct TimedWrite<'a> {
    guard: RwLockWriteGuard<'a, State>,
    since: Instant,
    holds: &'a LockHolds,
    holder: Holder,
}

impl<'a> TimedWrite<'a> {
    /// Wraps a guard just acquired by `holder`.
    pub fn new(guard: RwLockWriteGuard<'a, State>, holds: &'a LockHolds, holder: Holder) -> Self {
        Self {
            guard,
            since: Instant::now(),
            holds,
            holder,
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
        self.holds.record(self.holder, held);
    }
}
