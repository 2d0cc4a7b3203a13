//! Lock timing: [`TimedHold`] wraps a held exclusive lock and records, on
//! release, how long it was held in a [`LockHolds`], overall and per holder
//! (see [`Holder`]); [`ReadWaits`] records how long readers waited.
//!
//! The store keeps two [`LockHolds`] (`crate::shared_state`):
//! - `keydir_write_lock_*`: holds of the store-wide index lock's write
//!   side, which exclude **every** reader: leaf splits and folds, a
//!   batch's publication (all its keys at once), and file-table changes
//!   (rollover, a merge adding its outputs and dropping its inputs);
//! - `keydir_leaf_lock_*`: holds of one keydir leaf's write lock, which
//!   exclude only the readers of that leaf (at most 128 keys): a single
//!   put's or delete's keydir update, a deferred one under
//!   `SyncPolicy::Always`, one key of a merge's switch.
//!
//! A long hold is a stall for the readers it excludes, and the per-holder
//! figures say who held it: a hold far longer than its holder's work is
//! the holding thread waiting for a CPU, not work done under the lock.
//! A maximum is one event; how often long holds happen is counted too:
//! `{figure}_holds.{holder}` (every hold) and `{figure}_holds_over_1ms.{holder}`
//! (holds longer than [`LONG_HOLD_US`]).
//!
//! # What the long `publish` holds were (issue #11)
//! A publish does microseconds of work, yet holds of 4 to 53 ms were
//! measured when every publish held the one store-wide lock. Reproduced by
//! `examples/publish_holds.rs` (4M random puts, then 4M overwrites, niced on
//! the shared 2-core VM) with a probe reading `getrusage(RUSAGE_THREAD)`
//! around each hold: 1,978 of 8M publish holds passed 1 ms (max 40 ms);
//! 1,970 of them contained an involuntary context switch (the other 8, at
//! most 4.1 ms, likely the VM's vCPU descheduled), none a major fault,
//! and their lengths cluster at multiples of the 4 ms scheduler tick
//! (1,502 within -50..+150 µs of one). So the long holds are the writer
//! preempted while it holds the lock, not work; their number is about the
//! total time the lock is held times the preemption rate. That is why a
//! single-key publish now holds only its leaf's lock (session 8,
//! `docs/bitcask.md`): the store-wide lock is held only for the rare
//! structural changes, so far fewer preemptions land inside it.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A hold longer than this many microseconds is counted as long
/// (`keydir_write_lock_holds_over_1ms.{holder}`).
pub const LONG_HOLD_US: u64 = 1_000;

/// Who takes an exclusive lock (the index lock's write side, or a leaf's),
/// and how much work one hold does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// A write's keydir update: one put's or delete's (a leaf hold), one
    /// batch's (an index hold), or a leaf split or fold after one (an
    /// index hold).
    Publish,
    /// A deferred keydir update applied after a group sync
    /// (`SyncPolicy::Always`): as [`Holder::Publish`].
    PublishDurable,
    /// A rollover's file-table insert of the new active file (an index
    /// hold).
    Rollover,
    /// One key of a merge's keydir switch (a leaf hold), a fold after one,
    /// or a merge's file-table update (index holds).
    MergeSwitch,
}

impl Holder {
    /// Every holder, in the order of [`LockHolds`]' figures.
    pub const ALL: [Holder; 4] = [
        Holder::Publish,
        Holder::PublishDurable,
        Holder::Rollover,
        Holder::MergeSwitch,
    ];

    /// Its name in `stats().extra`.
    pub fn name(self) -> &'static str {
        match self {
            Holder::Publish => "publish",
            Holder::PublishDurable => "publish_durable",
            Holder::Rollover => "rollover",
            Holder::MergeSwitch => "merge_switch",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The longest hold of a kind of exclusive lock, overall and per holder, in
/// microseconds; and per holder, how many holds there were and how many
/// were longer than [`LONG_HOLD_US`].
#[derive(Debug, Default)]
pub struct LockHolds {
    longest: AtomicU64,
    by_holder: [AtomicU64; Holder::ALL.len()],
    holds: [AtomicU64; Holder::ALL.len()],
    long_holds: [AtomicU64; Holder::ALL.len()],
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

    /// How many times `holder` held the lock.
    pub(crate) fn holds_by(&self, holder: Holder) -> u64 {
        self.holds[holder.index()].load(Ordering::Relaxed)
    }

    /// How many of `holder`'s holds were longer than [`LONG_HOLD_US`].
    pub(crate) fn long_holds_by(&self, holder: Holder) -> u64 {
        self.long_holds[holder.index()].load(Ordering::Relaxed)
    }

    fn record(&self, holder: Holder, held_us: u64) {
        let i = holder.index();
        self.longest.fetch_max(held_us, Ordering::Relaxed);
        self.by_holder[i].fetch_max(held_us, Ordering::Relaxed);
        self.holds[i].fetch_add(1, Ordering::Relaxed);
        if held_us > LONG_HOLD_US {
            self.long_holds[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Readers that found a lock taken: how many, and the longest wait, in
/// microseconds (`keydir_read_lock_waits`, `keydir_read_lock_wait_max_us`,
/// one per lock a read can wait on). An uncontended read is not counted.
#[derive(Debug, Default)]
pub struct ReadWaits {
    waits: AtomicU64,
    longest: AtomicU64,
}

impl ReadWaits {
    /// Reads that had to wait.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    /// The longest wait.
    pub fn longest_us(&self) -> u64 {
        self.longest.load(Ordering::Relaxed)
    }

    /// A reader waited `waited`.
    pub fn record(&self, waited: Duration) {
        let us = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.waits.fetch_add(1, Ordering::Relaxed);
        self.longest.fetch_max(us, Ordering::Relaxed);
    }
}

/// A held exclusive lock (any guard `G`); on drop, the hold's length (in
/// microseconds, from when the lock was acquired) raises the longest
/// figures of `holds` if it was longer, and is counted.
pub(crate) struct TimedHold<'a, G> {
    guard: G,
    since: Instant,
    holds: &'a LockHolds,
    holder: Holder,
}

impl<'a, G> TimedHold<'a, G> {
    /// Wraps a guard just acquired by `holder`.
    pub fn new(guard: G, holds: &'a LockHolds, holder: Holder) -> Self {
        Self {
            guard,
            since: Instant::now(),
            holds,
            holder,
        }
    }
}

impl<G: Deref> Deref for TimedHold<'_, G> {
    type Target = G::Target;

    fn deref(&self) -> &G::Target {
        &self.guard
    }
}

impl<G: DerefMut> DerefMut for TimedHold<'_, G> {
    fn deref_mut(&mut self) -> &mut G::Target {
        &mut self.guard
    }
}

impl<G> Drop for TimedHold<'_, G> {
    fn drop(&mut self) {
        let held = u64::try_from(self.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.holds.record(self.holder, held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_are_counted_per_holder_and_long_ones_apart() {
        let holds = LockHolds::default();
        for held_us in [3, LONG_HOLD_US, LONG_HOLD_US + 1, 40_000] {
            holds.record(Holder::Publish, held_us);
        }
        holds.record(Holder::Rollover, 2);
        assert_eq!(holds.holds_by(Holder::Publish), 4);
        assert_eq!(holds.long_holds_by(Holder::Publish), 2);
        assert_eq!(holds.longest_us_by(Holder::Publish), 40_000);
        assert_eq!(holds.holds_by(Holder::Rollover), 1);
        assert_eq!(holds.long_holds_by(Holder::Rollover), 0);
        assert_eq!(holds.longest_us_by(Holder::Rollover), 2);
        assert_eq!(holds.longest_us(), 40_000);
        assert_eq!(holds.holds_by(Holder::MergeSwitch), 0);
    }
}
