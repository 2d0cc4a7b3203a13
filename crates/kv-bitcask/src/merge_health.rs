//! [`MergeHealth`]: what failed merges leave for `check()`, and the
//! back-off of automatic merges after a failure.
//!
//! A merge reads its inputs strictly; damage it meets aborts it (nothing
//! is deleted) and is kept here as damage, so `check()` reports it even
//! if the caller ignored the merge's error (automatic merges have no
//! caller). An I/O failure is kept as a note. Either way the automatic
//! policy then skips its next checks, doubling the number skipped with
//! every failure in a row (1, 2, 4, ... up to [`MAX_BACKOFF_CHECKS`]), so
//! a store whose disk is full or whose file is damaged does not rewrite
//! the same inputs again and again. The count is of policy checks, not of
//! time, so `Background::Inline` stays deterministic. `compact()` always
//! tries.

use std::sync::{Mutex, PoisonError};

use kv_core::{CheckReport, Damage, Error};

/// Most automatic merge checks skipped after failures in a row.
pub const MAX_BACKOFF_CHECKS: u64 = 64;

#[derive(Debug, Default)]
struct Health {
    damage: Vec<Damage>,
    io_failures: u64,
    last_io_failure: Option<String>,
    backoff: u64,
    skip: u64,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct MergeHealth {
    health: Mutex<Health>,
}

impl MergeHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A merge failed with `error`.
    pub fn failed(&self, error: &Error) {
        let mut h = self.lock();
        match Damage::from_error(error) {
            Some(d) => {
                if !h
                    .damage
                    .iter()
                    .any(|e| e.file == d.file && e.offset == d.offset)
                {
                    h.damage.push(d);
                }
            }
            None => {
                h.io_failures += 1;
                h.last_io_failure = Some(error.to_string());
            }
        }
        h.backoff = (h.backoff * 2).clamp(1, MAX_BACKOFF_CHECKS);
        h.skip = h.backoff;
    }

    /// A merge finished: automatic merges are checked as usual again.
    pub fn succeeded(&self) {
        let mut h = self.lock();
        h.backoff = 0;
        h.skip = 0;
    }

    /// Whether an automatic merge check may run now (false while backing
    /// off; each call counts as one skipped check).
    pub fn may_try(&self) -> bool {
        let mut h = self.lock();
        if h.skip == 0 {
            return true;
        }
        h.skip -= 1;
        false
    }

    /// Adds the damage merges met, and a note on their I/O failures.
    pub fn report(&self, report: &mut CheckReport) {
        let h = self.lock();
        for d in &h.damage {
            if !report
                .damage
                .iter()
                .any(|e| e.file == d.file && e.offset == d.offset)
            {
                report.damage.push(d.clone());
            }
        }
        if let Some(last) = &h.last_io_failure {
            report.notes.push(format!(
                "{} merge(s) failed with an I/O error (the last: {last}); automatic merges back off for up to {MAX_BACKOFF_CHECKS} checks",
                h.io_failures
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_in_a_row_double_the_checks_skipped() {
        let h = MergeHealth::default();
        assert!(h.may_try());
        let io = Error::Io(std::io::Error::other("disk full"));
        let mut skipped = Vec::new();
        for _ in 0..8 {
            h.failed(&io);
            let mut n = 0;
            while !h.may_try() {
                n += 1;
            }
            skipped.push(n);
        }
        assert_eq!(skipped, [1, 2, 4, 8, 16, 32, 64, 64]);
        h.succeeded();
        assert!(h.may_try());
        let mut report = CheckReport::default();
        h.report(&mut report);
        assert!(report.notes[0].contains("8 merge(s) failed"), "{report:?}");
    }

    #[test]
    fn damage_a_merge_met_is_reported_once() {
        let h = MergeHealth::default();
        let e = Error::corruption("f", 40, kv_core::CorruptionKind::Invariant("x".into()));
        h.failed(&e);
        h.failed(&e);
        let mut report = CheckReport::default();
        h.report(&mut report);
        assert_eq!(report.damage.len(), 1);
        assert!(report.notes.is_empty());
    }
}
