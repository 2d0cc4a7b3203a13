//! The background thread: group-commit syncs for `SyncPolicy::Interval` and
//! automatic merges (`Log::sync_if_due`, `Merger::auto_merge`). Started
//! only when one of them is configured, and never under
//! `Background::Inline` (writes then run the merge policy themselves, see
//! `Bitcask::write_op` and `Log::merge_check_due`, and `Interval` syncs
//! happen in the first write or `sync` after the interval) or on a
//! read-only open; it holds a weak reference, so it never keeps a dropped
//! store alive, and the store's `Drop` stops and joins it before the final
//! flush.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kv_core::{Background, Result, SyncPolicy};

use crate::store::Inner;

#[derive(Debug, Default)]
struct Flags {
    stop: bool,
    woken: bool,
}

/// Wakes or stops the background thread.
#[derive(Debug, Default)]
pub struct Signal {
    flags: Mutex<Flags>,
    condvar: Condvar,
}

impl Signal {
    /// Asks the thread to look at the merge triggers now (after a rollover).
    pub fn wake(&self) {
        self.flags
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .woken = true;
        self.condvar.notify_all();
    }

    /// Asks the thread to exit.
    pub fn stop(&self) {
        self.flags
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop = true;
        self.condvar.notify_all();
    }

    /// Waits up to `timeout` for a wake or stop; returns (stop, woken).
    fn wait(&self, timeout: Duration) -> (bool, bool) {
        let flags = self.flags.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut flags, _) = self
            .condvar
            .wait_timeout_while(flags, timeout, |f| !f.stop && !f.woken)
            .unwrap_or_else(PoisonError::into_inner);
        let out = (flags.stop, flags.woken);
        flags.woken = false;
        out
    }
}

/// Starts the background thread if the options need one.
///
/// # Errors
/// I/O if the thread cannot be spawned.
pub(crate) fn spawn(inner: &Arc<Inner>) -> Result<Option<JoinHandle<()>>> {
    if inner.options.core.background == Background::Inline
        || inner.options.core.open_mode.is_read_only()
    {
        return Ok(None); // the caller's thread runs the work (see `Bitcask::write_op`)
    }
    let sync_interval = match inner.options.core.sync {
        SyncPolicy::Interval { interval_ms } => Some(Duration::from_millis(interval_ms.max(1))),
        _ => None,
    };
    let merge_interval = inner
        .options
        .merge
        .auto
        .then(|| Duration::from_millis(inner.options.merge.check_interval_ms));
    let tick = match (sync_interval, merge_interval) {
        (None, None) => return Ok(None),
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
    };
    let weak = Arc::downgrade(inner);
    let signal = Arc::clone(&inner.signal);
    let handle = std::thread::Builder::new()
        .name("bitcask-maintenance".into())
        .spawn(move || {
            let mut last_merge_check = Instant::now();
            loop {
                let (stop, woken) = signal.wait(tick);
                if stop {
                    return;
                }
                let Some(inner) = weak.upgrade() else { return };
                if let Some(interval) = sync_interval {
                    inner.log.sync_if_due(interval);
                }
                if let Some(interval) = merge_interval {
                    if woken || last_merge_check.elapsed() >= interval {
                        last_merge_check = Instant::now();
                        let _ = inner.merger.auto_merge(&inner.log); // counted in `merge_failures`
                    }
                }
            }
        })?;
    Ok(Some(handle))
}
