//! The one background thread: group-commit syncs for
//! `SyncPolicy::Interval` under `Background::Threads`.
//!
//! Every `interval_ms` it makes the newest commit durable if it is not (the
//! same `sync()` a caller would make). Under `Background::Inline` no thread
//! is started and every commit is made durable instead (see the crate
//! docs). The thread holds only a weak reference to the store and stops
//! when the store is dropped, which joins it before releasing the lock.

use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use kv_core::{Background, Result, SyncPolicy};

use crate::store::Inner;
use crate::writer;

/// Tells the thread to stop.
#[derive(Debug, Default)]
pub(crate) struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// Asks the thread to stop and wakes it.
    pub(crate) fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.wake.notify_all();
    }

    /// Waits up to `timeout`; true once asked to stop.
    fn wait(&self, timeout: Duration) -> bool {
        let guard = self.stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, timeout, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// The running thread and its stop signal.
#[derive(Debug)]
pub(crate) struct IntervalThread {
    stop: Arc<Stop>,
    handle: Option<JoinHandle<()>>,
}

impl IntervalThread {
    /// Stops the thread and waits for it.
    pub(crate) fn shut_down(&mut self) {
        self.stop.stop();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Starts the thread when the options ask for one.
///
/// # Errors
/// I/O if the thread cannot be spawned.
pub(crate) fn start(inner: &Arc<Inner>) -> Result<Option<IntervalThread>> {
    let SyncPolicy::Interval { interval_ms } = inner.options.core.sync else {
        return Ok(None);
    };
    if inner.options.core.background == Background::Inline || inner.read_only {
        return Ok(None);
    }
    let tick = Duration::from_millis(interval_ms.max(1));
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let stop = Arc::new(Stop::default());
    let signal = Arc::clone(&stop);
    let handle = std::thread::Builder::new()
        .name("btree-interval-sync".into())
        .spawn(move || {
            while !signal.wait(tick) {
                let Some(inner) = weak.upgrade() else { return };
                if !inner.poison.is_poisoned() {
                    let _ = writer::sync(&inner);
                }
            }
        })?;
    Ok(Some(IntervalThread {
        stop,
        handle: Some(handle),
    }))
}
