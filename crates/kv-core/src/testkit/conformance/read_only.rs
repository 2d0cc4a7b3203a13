//! `OpenMode::ReadOnly`: recovery in memory only. A read-only open of a
//! crashed store (a torn tail to repair) sees what a read-write open would
//! recover, refuses writes with `Err(ReadOnly)`, and changes no byte, no
//! file and no directory entry; a read-only open of an empty directory is
//! `Err(NoStore)` and creates nothing.

use super::harness::{read_all, sim_arc, try_open_on_with};
use super::recovery::{file_images, store_with_torn_tail, FileImage};
use super::{CaseOutcome, Engine};
use crate::batch::WriteBatch;
use crate::error::Error;
use crate::options::{OpenMode, SyncPolicy};
use crate::store::Store;
use crate::testkit::{SeedGuard, SimFs};

/// Every kind of write on a read-only store is `Err(ReadOnly)`.
fn assert_writes_refused(store: &dyn Store) {
    let mut batch = WriteBatch::new();
    batch.put(b"ro-batch".to_vec(), b"x".to_vec());
    let attempts = [
        ("put", store.put(b"ro-put", b"x")),
        ("delete", store.delete(b"ro-put")),
        ("write", store.write(&batch)),
    ];
    for (what, result) in attempts {
        match result {
            Err(Error::ReadOnly) => {}
            Err(e) => {
                panic!("a {what} on a read-only store failed with `{e}`, expected Err(ReadOnly)")
            }
            Ok(()) => panic!("a {what} on a read-only store succeeded, expected Err(ReadOnly)"),
        }
    }
}

/// After a crash that left a torn tail, an `OpenMode::ReadOnly` open reads
/// a state the history allows (the same one a read-write open then
/// recovers), refuses writes with `Err(ReadOnly)`, and leaves every file's
/// bytes (current and durable), the file list and the operation count as
/// they were. A read-only open of an empty `SimFs` is `Err(NoStore)` and
/// creates nothing.
pub fn read_only_open_changes_no_byte(engine: &Engine) -> CaseOutcome {
    let guard = SeedGuard::new(format!("{}::read_only_open_changes_no_byte", engine.name));
    let (crashed, history) = store_with_torn_tail(engine, guard.seed());
    let images = file_images(&crashed);
    let ops = crashed.op_count();
    let store = try_open_on_with(
        engine,
        sim_arc(&crashed),
        SyncPolicy::Manual,
        OpenMode::ReadOnly,
    )
    .unwrap_or_else(|e| panic!("a read-only open of a crashed store failed: {e}"));
    let seen = read_all(&*store, "reading a read-only store");
    if let Err(report) = history.check_recovered(&seen) {
        panic!("the read-only open of a crashed store: {report}");
    }
    assert_writes_refused(&*store);
    drop(store);
    assert_eq!(
        crashed.op_count(),
        ops,
        "a read-only open, reads, refused writes and a drop performed {} mutating file-system operations (create, write, truncate, sync, rename, remove, ...)",
        crashed.op_count() - ops
    );
    let after = file_images(&crashed);
    if after != images {
        let names = |i: &[FileImage]| {
            i.iter()
                .map(|(p, now, _)| {
                    format!(
                        "{} ({} bytes)",
                        p.display(),
                        now.as_ref().map_or(0, Vec::len)
                    )
                })
                .collect::<Vec<_>>()
        };
        panic!(
            "a read-only open changed the store's files: before {:?}, after {:?}",
            names(&images),
            names(&after)
        );
    }
    let writable = try_open_on_with(
        engine,
        sim_arc(&crashed),
        SyncPolicy::Manual,
        OpenMode::ReadWrite,
    )
    .unwrap_or_else(|e| panic!("a read-write open after the read-only one failed: {e}"));
    let recovered = read_all(&*writable, "reading after a read-write open");
    assert!(
        recovered == seen,
        "the read-only open saw {} keys, a read-write open of the same files recovered {}",
        seen.len(),
        recovered.len()
    );
    drop(writable);
    let empty = SimFs::new(guard.seed());
    match try_open_on_with(
        engine,
        sim_arc(&empty),
        SyncPolicy::Manual,
        OpenMode::ReadOnly,
    ) {
        Err(Error::NoStore { .. }) => {}
        Err(e) => {
            panic!("a read-only open of a missing store failed with `{e}`, expected Err(NoStore)")
        }
        Ok(_) => panic!("a read-only open of a missing store succeeded, expected Err(NoStore)"),
    }
    assert!(
        empty.files().is_empty() && empty.op_count() == 0,
        "a refused read-only open created {:?}",
        empty.files()
    );
    CaseOutcome::Passed
}
