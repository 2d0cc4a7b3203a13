//! `stats()` accounts for every byte and record: per data file, live keys
//! and bytes, dead records and bytes, tombstones; store-wide, live keys and
//! bytes equal the model's, disk bytes equal the files' sizes. The numbers
//! are the same whether they were counted while writing, rebuilt from hints,
//! or rebuilt by scanning the data files, and a merge leaves no dead bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{key, open, value};
use kv_core::testkit::{Model, SimFs};
use kv_core::{Stats, Store, WriteBatch};

fn per_file(stats: &Stats, what: &str) -> BTreeMap<String, u64> {
    stats
        .extra
        .iter()
        .filter(|(k, _)| k.starts_with("file.") && k.ends_with(what))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn sum(stats: &Stats, what: &str) -> u64 {
    per_file(stats, what).values().sum()
}

fn assert_consistent(stats: &Stats, model: &Model, records: u64, context: &str) {
    assert_eq!(stats.live_keys, model.len() as u64, "{context}: live keys");
    let payload: u64 = model
        .map()
        .iter()
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    assert_eq!(stats.live_bytes, payload, "{context}: live bytes");
    assert_eq!(
        sum(stats, ".live_keys"),
        stats.live_keys,
        "{context}: per-file live keys"
    );
    assert_eq!(
        sum(stats, ".live_keys") + sum(stats, ".dead_keys"),
        records,
        "{context}: every record is live or dead"
    );
    let total = sum(stats, ".total_bytes");
    assert_eq!(
        sum(stats, ".live_bytes") + sum(stats, ".dead_bytes") + 24 * stats.extra["files"],
        total,
        "{context}: every byte is a header, live or dead"
    );
    assert!(
        stats.disk_bytes >= total,
        "{context}: disk bytes include the data files"
    );
}

#[test]
fn stats_count_live_and_dead_per_file() {
    let sim = SimFs::new(31);
    let store = open(&sim, 2048);
    let mut model = Model::new();
    let mut records = 0;
    for i in 0..100 {
        store.put(&key(i), &value(i, 0, 40)).unwrap();
        model.put(&key(i), &value(i, 0, 40));
        records += 1;
    }
    for i in (0..100).step_by(4) {
        store.put(&key(i), &value(i, 1, 10)).unwrap();
        model.put(&key(i), &value(i, 1, 10));
        records += 1;
    }
    let mut batch = WriteBatch::new();
    for i in (1..100).step_by(5) {
        batch.delete(key(i));
        model.delete(&key(i));
        records += 1;
    }
    store.write(&batch).unwrap();
    let counted = store.stats();
    assert_consistent(&counted, &model, records, "while writing");
    assert!(sum(&counted, ".tombstone_bytes") >= 20 * 24);
    drop(store);

    let store = open(&sim, 2048);
    let from_hints = store.stats();
    assert_eq!(from_hints.extra["data_files_scanned_at_open"], 0);
    assert_consistent(&from_hints, &model, records, "from hints");
    assert_eq!(
        per_file(&from_hints, ".dead_keys"),
        per_file(&counted, ".dead_keys")
    );
    assert_eq!(
        per_file(&from_hints, ".live_bytes"),
        per_file(&counted, ".live_bytes")
    );
    drop(store);

    for hint in sim
        .files()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "hint"))
    {
        assert!(sim.set_len_durably(&hint, 0));
    }
    let store = open(&sim, 2048);
    let scanned = store.stats();
    assert!(scanned.extra["data_files_scanned_at_open"] > 0);
    assert_consistent(&scanned, &model, records, "from scans");
    assert_eq!(
        per_file(&scanned, ".dead_keys"),
        per_file(&counted, ".dead_keys")
    );
    // Against the figures after the first clean close, which appended the
    // active file's final durable frontier record (dead bytes too).
    assert_eq!(
        per_file(&scanned, ".dead_bytes"),
        per_file(&from_hints, ".dead_bytes")
    );

    store.compact().unwrap();
    let merged = store.stats();
    assert_consistent(&merged, &model, model.len() as u64, "after a merge");
    assert_eq!(
        merged.extra["dead_bytes"], 0,
        "a full merge leaves no dead bytes"
    );
    assert_eq!(merged.extra["merges_run"], 1);
    assert!(merged.extra["merge_bytes_reclaimed"] > 0);
    assert!(merged.extra["keydir_bytes"] > 0);
    store.check().unwrap();
}
