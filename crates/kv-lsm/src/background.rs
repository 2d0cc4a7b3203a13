//! Background threads (under `Background::Threads`): one flushes immutable
//! memtables, one compacts, so a flush never waits behind a compaction. A
//! third syncs the WAL under `SyncPolicy::Interval` (also under `Inline`:
//! a timer has no deterministic point to run at otherwise). Each failure
//! poisons the store; the threads stop when it closes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use kv_core::{Background, Result, SyncPolicy};

use crate::compaction::run::compact_once;
use crate::flush::flush_oldest;
use crate::inner::{lock, Inner};

/// Longest sleep between checks for work.
const IDLE_WAIT: Duration = Duration::from_millis(50);

fn wait(inner: &Inner, timeout: Duration) {
    let generation = lock(&inner.signal.generation);
    let seen = *generation;
    let _ = inner
        .signal
        .condvar
        .wait_timeout_while(generation, timeout, |g| {
            *g == seen && !inner.signal.shutdown.load(Ordering::Acquire)
        });
}

fn spawn_loop(
    inner: &Arc<Inner>,
    name: &str,
    work: fn(&Inner) -> Result<bool>,
    idle: Duration,
) -> Result<JoinHandle<()>> {
    let inner = Arc::clone(inner);
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || loop {
            if inner.signal.shutdown.load(Ordering::Acquire) {
                return;
            }
            if inner.poison.is_poisoned() {
                wait(&inner, idle);
                continue;
            }
            match inner.poison.guard(work(&inner)) {
                Ok(true) => continue,
                Ok(false) | Err(_) => wait(&inner, idle),
            }
        })?;
    Ok(handle)
}

fn interval_sync(inner: &Inner) -> Result<bool> {
    crate::write::sync(inner)?;
    Ok(false)
}

/// Starts the threads the options ask for.
///
/// # Errors
/// I/O if a thread cannot be spawned.
pub fn spawn(inner: &Arc<Inner>) -> Result<Vec<JoinHandle<()>>> {
    let mut out = Vec::new();
    if inner.read_only {
        return Ok(out);
    }
    if inner.options.core.background == Background::Threads {
        out.push(spawn_loop(inner, "lsm-flush", flush_oldest, IDLE_WAIT)?);
        out.push(spawn_loop(inner, "lsm-compact", compact_once, IDLE_WAIT)?);
    }
    if let SyncPolicy::Interval { interval_ms } = inner.options.core.sync {
        let period = Duration::from_millis(interval_ms.max(1));
        let inner = Arc::clone(inner);
        out.push(
            std::thread::Builder::new()
                .name("lsm-sync".into())
                .spawn(move || {
                    let step = period.min(Duration::from_millis(10));
                    let mut since = Duration::ZERO;
                    loop {
                        std::thread::sleep(step);
                        if inner.signal.shutdown.load(Ordering::Acquire) {
                            return;
                        }
                        since += step;
                        if since >= period {
                            since = Duration::ZERO;
                            let _ = interval_sync(&inner);
                        }
                    }
                })?,
        );
    }
    Ok(out)
}
