//! Group commit for peers under `SyncPolicy::Interval`: a background thread
//! that makes unsynced writes durable at least every `interval_ms`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use kv_core::{Error, Result};

/// What a peer handle and its syncer thread share: whether there are
/// unsynced writes, and the failure that poisoned the handle, if any.
#[derive(Debug, Default)]
pub(crate) struct WriteState {
    dirty: AtomicBool,
    poison: Mutex<Option<String>>,
}

impl WriteState {
    /// `Err(Poisoned)` once a write or sync has failed.
    pub(crate) fn check_poison(&self) -> Result<()> {
        let poison = self.poison.lock().unwrap_or_else(PoisonError::into_inner);
        match poison.as_ref() {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Records the first failure; later writes are refused.
    pub(crate) fn poison(&self, cause: &Error) {
        let mut poison = self.poison.lock().unwrap_or_else(PoisonError::into_inner);
        if poison.is_none() {
            *poison = Some(cause.to_string());
        }
    }

    /// Notes that a write was acknowledged but may not be durable yet.
    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// True if there were unsynced writes; clears the mark.
    pub(crate) fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }
}

/// A running syncer thread. Dropping it stops the thread and waits for it,
/// so the peer it holds is released before the handle's lock is.
#[derive(Debug)]
pub(crate) struct IntervalSyncer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl IntervalSyncer {
    /// Starts a thread that, every `interval_ms`, calls `sync` if `state` has
    /// unsynced writes. A failed sync poisons `state` and ends the thread.
    ///
    /// # Errors
    /// `Io` if the thread cannot be spawned.
    pub(crate) fn start(
        peer_name: &str,
        interval_ms: u64,
        state: Arc<WriteState>,
        sync: impl Fn() -> Result<()> + Send + 'static,
    ) -> Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let interval = Duration::from_millis(interval_ms.max(1));
        let thread = std::thread::Builder::new()
            .name(format!("kvlab-{peer_name}-sync"))
            .spawn(move || loop {
                match stopped.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {
                        if state.check_poison().is_err() {
                            return;
                        }
                        if state.take_dirty() {
                            if let Err(e) = sync() {
                                state.poison(&e);
                                return;
                            }
                        }
                    }
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            })?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for IntervalSyncer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has nothing left to report here.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn syncs_only_when_dirty_and_stops_on_drop() {
        let state = Arc::new(WriteState::default());
        let syncs = Arc::new(AtomicU64::new(0));
        let counter = syncs.clone();
        let syncer = IntervalSyncer::start("test", 5, state.clone(), move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(syncs.load(Ordering::SeqCst), 0, "nothing was dirty");
        state.mark_dirty();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while syncs.load(Ordering::SeqCst) == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(syncs.load(Ordering::SeqCst), 1);
        drop(syncer);
        state.mark_dirty();
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(syncs.load(Ordering::SeqCst), 1, "no sync after drop");
    }

    #[test]
    fn failed_sync_poisons() {
        let state = Arc::new(WriteState::default());
        let _syncer = IntervalSyncer::start("test", 1, state.clone(), || {
            Err(Error::Io(std::io::Error::other("disk gone")))
        })
        .unwrap();
        state.mark_dirty();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while state.check_poison().is_ok() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(matches!(state.check_poison(), Err(Error::Poisoned { .. })));
    }
}
