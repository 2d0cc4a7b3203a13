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

use kv_core::{Result, SyncPolicy, WriteBatch};

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

/// Writes per `WriteBatch` of the crash-recovery load (`--batch` of
/// `crash-child --load`): the load is harness work before the measurement,
/// and one batch per thousand writes makes it about as fast as each engine
/// can ingest, instead of paying one `put` call (a transaction on most
/// peers) per key.
pub const LOAD_BATCH: u64 = 1_000;

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
    /// Writes per `WriteBatch` (at least 1; a batch never spans a sync
    /// point, so the syncs come after the same writes as with single puts).
    pub batch: u64,
    /// Bytes per key.
    pub key_size: usize,
    /// Bytes per value.
    pub value_size: usize,
    /// Seed of the values and the tail's keys.
    pub seed: u64,
}

/// One write batch of the load: writes `start..end` (the load's `n`th
/// write is key `n`), then a `sync()` if `sync_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadBatch {
    /// First write of the batch.
    pub start: u64,
    /// One past its last write.
    pub end: u64,
    /// True if the harness cadence syncs right after this batch.
    pub sync_after: bool,
}

/// The batches of a load of `writes` writes with at most `batch` writes
/// each, cut at every multiple of `sync_every` (0: no sync point): the
/// syncs fall after exactly the writes they follow in a load of single
/// puts.
pub fn load_batches(writes: u64, batch: u64, sync_every: u64) -> impl Iterator<Item = LoadBatch> {
    let batch = batch.max(1);
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= writes {
            return None;
        }
        let mut end = start.saturating_add(batch).min(writes);
        if let Some(done) = start.checked_div(sync_every) {
            end = end.min((done + 1).saturating_mul(sync_every));
        }
        let out = LoadBatch {
            start,
            end,
            sync_after: sync_every > 0 && end.is_multiple_of(sync_every),
        };
        start = end;
        Some(out)
    })
}

/// Opens `engine` under `SyncPolicy::Manual`, loads it as `plan` says (in
/// write batches of `plan.batch`, a `sync()` every `plan.sync_every`
/// writes and one at the end, then the unsynced tail, also batched),
/// prints `ready` and waits to be killed.
///
/// # Errors
/// The store's errors, and failures writing to `out`.
pub fn run_load(engine: &str, dir: &Path, plan: LoadPlan, out: &mut dyn Write) -> Result<()> {
    let store = registry::open(engine, dir, &OpenConfig::default())?;
    let keys = KeyFormat::new(plan.key_size)?;
    let values = ValuePool::new(plan.seed, plan.value_size)?;
    let mut key = vec![0; plan.key_size];
    let mut batch = WriteBatch::new();
    for part in load_batches(plan.keys, plan.batch, plan.sync_every) {
        for index in part.start..part.end {
            keys.write_key(index, &mut key);
            batch.put(key.clone(), values.value(index).to_vec());
        }
        store.write(&batch)?;
        batch.clear();
        if part.sync_after {
            store.sync()?;
        }
    }
    store.sync()?;
    for part in load_batches(plan.unsynced_tail, plan.batch, 0) {
        for n in part.start..part.end {
            let index = crate::workload::keys::splitmix64(plan.seed ^ n) % plan.keys.max(1);
            keys.write_key(index, &mut key);
            batch.put(key.clone(), values.value(plan.keys + n).to_vec());
        }
        store.write(&batch)?;
        batch.clear();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The sync points of a batched load are those of a load of single
    /// puts with the same cadence: after every multiple of `sync_every`.
    #[test]
    fn batched_load_syncs_after_the_same_writes_as_single_puts() {
        for (writes, batch, every) in [
            (200_000, 1_000, 10_000),
            (25_000, 1_000, 10_000),
            (10_000, 3_000, 2_500),
            (1_234, 100, 0),
            (7, 1_000, 3),
            (0, 1_000, 10),
            (5, 0, 2),
        ] {
            let parts: Vec<LoadBatch> = load_batches(writes, batch, every).collect();
            let mut next = 0;
            for p in &parts {
                assert_eq!(p.start, next, "{writes}/{batch}/{every}: contiguous");
                assert!(p.end > p.start && p.end - p.start <= batch.max(1));
                next = p.end;
            }
            assert_eq!(next, writes, "{writes}/{batch}/{every}: every write once");
            let synced: Vec<u64> = parts
                .iter()
                .filter(|p| p.sync_after)
                .map(|p| p.end)
                .collect();
            let single: Vec<u64> = (1..=writes)
                .filter(|n| every > 0 && n.is_multiple_of(every))
                .collect();
            assert_eq!(synced, single, "{writes}/{batch}/{every}");
        }
    }
}
