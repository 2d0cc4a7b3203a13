//! [`Poison`]: the one way every engine refuses writes after a failure.
//!
//! A failed write or sync leaves an engine's memory ahead of (or apart from)
//! its disk, so every later write must be refused until the store is reopened
//! and recovers what is durable. Engines keep one `Poison`, call
//! [`Poison::check`] before a write and [`Poison::guard`] around the I/O that
//! can fail.

use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};

/// Set once by the first failure; from then on every write is refused with
/// [`Error::Poisoned`] naming that failure.
#[derive(Debug, Default)]
pub struct Poison {
    cause: Mutex<Option<String>>,
}

impl Poison {
    /// A store that has not failed.
    pub fn new() -> Self {
        Self::default()
    }

    /// `Err(Poisoned)` once poisoned, naming the first failure.
    pub fn check(&self) -> Result<()> {
        match &*self.cause.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// True once poisoned.
    pub fn is_poisoned(&self) -> bool {
        self.check().is_err()
    }

    /// Poisons the store with `cause` (the first cause is kept).
    pub fn poison(&self, cause: impl std::fmt::Display) {
        let mut slot = self.cause.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(cause.to_string());
        }
    }

    /// Passes `result` through, poisoning the store if it is an error (other
    /// than `Poisoned`, `TooLarge`, `InvalidArgument` and `ReadOnly`, which
    /// are refusals made before anything was written).
    pub fn guard<T>(&self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if !matches!(
                e,
                Error::Poisoned { .. }
                    | Error::TooLarge { .. }
                    | Error::InvalidArgument(_)
                    | Error::ReadOnly
            ) {
                self.poison(e);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_poisons_and_is_kept() {
        let poison = Poison::new();
        assert!(poison.check().is_ok());
        let refused: Result<()> = Err(Error::ReadOnly);
        assert!(poison.guard(refused).is_err());
        assert!(!poison.is_poisoned(), "a refusal must not poison");
        let failed: Result<()> = Err(Error::Io(std::io::Error::other("sync failed")));
        assert!(poison.guard(failed).is_err());
        poison.poison("later");
        match poison.check() {
            Err(Error::Poisoned { cause }) => assert!(cause.contains("sync failed"), "{cause}"),
            other => panic!("{other:?}"),
        }
    }
}
