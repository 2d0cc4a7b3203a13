//! The child side of the kill test: open the store, apply the round's
//! script, and report each acknowledged write on stdout, until killed.
//!
//! Protocol (stdout, one line each, flushed before the next write starts):
//! `open` once the store is open, then the index of each write as soon as
//! the store acknowledged it, then `done` when the script is exhausted; the
//! child then waits on stdin until it is killed (or stdin closes). Errors go
//! to stderr, with exit status 3.

use std::io::{Read, Write};
use std::path::Path;

use kv_core::{Result, SyncPolicy};

use super::script::Script;
use crate::registry::{self, OpenConfig};
use crate::workload::keys::{KeyFormat, ValuePool};

/// Opens `engine` on `dir` under `SyncPolicy::Always` and runs `writes`
/// writes of `script`, acknowledging each on `out`.
///
/// # Errors
/// The store's errors, and failures writing to `out`.
pub fn run_script(
    engine: &str,
    dir: &Path,
    script: Script,
    writes: u64,
    out: &mut dyn Write,
) -> Result<()> {
    let config = OpenConfig {
        sync: SyncPolicy::Always,
        ..OpenConfig::default()
    };
    let store = registry::open(engine, dir, &config)?;
    writeln!(out, "open")?;
    out.flush()?;
    for index in 0..writes {
        script.op(index).apply_to_store(store.as_ref())?;
        writeln!(out, "{index}")?;
        out.flush()?;
    }
    writeln!(out, "done")?;
    out.flush()?;
    wait_for_kill();
    Ok(())
}

/// What the crash-recovery child loads before it is killed.
#[derive(Debug, Clone, Copy)]
pub struct LoadPlan {
    /// Keys `0..keys` written in order, synced every `sync_every` writes.
    pub keys: u64,
    /// Writes between harness syncs (0: one sync at the end of the load).
    pub sync_every: u64,
    /// Random overwrites after the last sync, never synced: the tail a
    /// crash leaves for recovery to deal with.
    pub unsynced_tail: u64,
    /// Bytes per key.
    pub key_size: usize,
    /// Bytes per value.
    pub value_size: usize,
    /// Seed of the values and the tail's keys.
    pub seed: u64,
}

/// Opens `engine` under `SyncPolicy::Manual`, loads it as `plan` says,
/// prints `ready` and waits to be killed.
///
/// # Errors
/// The store's errors, and failures writing to `out`.
pub fn run_load(engine: &str, dir: &Path, plan: LoadPlan, out: &mut dyn Write) -> Result<()> {
    let store = registry::open(engine, dir, &OpenConfig::default())?;
    let keys = KeyFormat::new(plan.key_size)?;
    let values = ValuePool::new(plan.seed, plan.value_size)?;
    let mut key = vec![0; plan.key_size];
    for index in 0..plan.keys {
        keys.write_key(index, &mut key);
        store.put(&key, values.value(index))?;
        if plan.sync_every > 0 && (index + 1).is_multiple_of(plan.sync_every) {
            store.sync()?;
        }
    }
    store.sync()?;
    for n in 0..plan.unsynced_tail {
        let index = crate::workload::keys::splitmix64(plan.seed ^ n) % plan.keys.max(1);
        keys.write_key(index, &mut key);
        store.put(&key, values.value(plan.keys + n))?;
    }
    writeln!(out, "ready")?;
    out.flush()?;
    wait_for_kill();
    Ok(())
}

/// Blocks until stdin closes (the parent keeps it open and kills us).
fn wait_for_kill() {
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin();
    while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
}
