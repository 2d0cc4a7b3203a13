//! Every enabled peer adapter behaves like a kvlab store at the edges:
//! round trips, batches, bounded scans both ways, persistence across a
//! reopen under every sync policy, `Locked` on a second open, `TooLarge` with
//! nothing written, and stats that report the cache budget.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::Bound;
use std::path::Path;

use kv_core::limits::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
use kv_core::{Direction, Error, KeyRange, Store, StoreExt, SyncPolicy, WriteBatch};
use kv_registry::{self as registry, EngineKind, OpenConfig};

fn open(engine: &str, dir: &Path, sync: SyncPolicy) -> Box<dyn Store> {
    let config = OpenConfig {
        sync,
        cache_bytes: 8 << 20,
        ..OpenConfig::default()
    };
    registry::open(engine, dir, &config).unwrap_or_else(|e| panic!("{engine}: open failed: {e}"))
}

fn keys_of(store: &dyn Store, range: KeyRange, direction: Direction) -> Vec<Vec<u8>> {
    store
        .scan(&range, direction)
        .unwrap()
        .map(|item| item.unwrap().0)
        .collect()
}

fn round_trip_put_get_delete_batch(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(engine, dir.path(), SyncPolicy::Manual);
    assert_eq!(store.get(b"missing").unwrap(), None);
    store.put(b"k1", b"v1").unwrap();
    store.put(b"", b"empty key").unwrap();
    store.put(b"empty value", b"").unwrap();
    assert_eq!(store.get(b"k1").unwrap(), Some(b"v1".to_vec()));
    assert_eq!(store.get(b"").unwrap(), Some(b"empty key".to_vec()));
    assert_eq!(store.get(b"empty value").unwrap(), Some(Vec::new()));
    store.put(b"k1", b"v1b").unwrap();
    assert_eq!(store.get(b"k1").unwrap(), Some(b"v1b".to_vec()));
    store.delete(b"k1").unwrap();
    store.delete(b"never there").unwrap();
    assert_eq!(store.get(b"k1").unwrap(), None);

    let mut batch = WriteBatch::new();
    batch
        .put(b"b1", b"1")
        .put(b"b2", b"2")
        .delete(b"")
        .put(b"b1", b"1 again");
    store.write(&batch).unwrap();
    store.write(&WriteBatch::new()).unwrap();
    assert_eq!(store.get(b"b1").unwrap(), Some(b"1 again".to_vec()));
    assert_eq!(store.get(b"b2").unwrap(), Some(b"2".to_vec()));
    assert_eq!(store.get(b"").unwrap(), None);
    let all = store.scan_all().unwrap();
    assert_eq!(
        all,
        vec![
            (b"b1".to_vec(), b"1 again".to_vec()),
            (b"b2".to_vec(), b"2".to_vec()),
            (b"empty value".to_vec(), Vec::new()),
        ]
    );
    let stats = store.stats();
    assert_eq!(stats.engine, engine);
    assert_eq!(stats.live_keys, 3);
    assert_eq!(stats.extra.get("cache_bytes"), Some(&(8 << 20)));
    assert!(stats.disk_bytes > 0, "{engine}: disk_bytes is 0");
    assert_eq!(store.check().unwrap().live_keys, 3);
}

fn scans_honour_bounds_both_ways(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(engine, dir.path(), SyncPolicy::Manual);
    let keys: [&[u8]; 6] = [b"", b"a", b"b", b"b\x00", b"c", b"\xff"];
    let mut batch = WriteBatch::new();
    for key in keys {
        batch.put(key, key);
    }
    store.write(&batch).unwrap();
    let owned = |ks: &[&[u8]]| ks.iter().map(|k| k.to_vec()).collect::<Vec<_>>();

    let all = KeyRange::all();
    assert_eq!(
        keys_of(&*store, all.clone(), Direction::Forward),
        owned(&keys)
    );
    let mut reversed = owned(&keys);
    reversed.reverse();
    assert_eq!(keys_of(&*store, all, Direction::Reverse), reversed);

    let half_open = KeyRange::new(b"a".to_vec()..b"c".to_vec());
    assert_eq!(
        keys_of(&*store, half_open.clone(), Direction::Forward),
        owned(&[b"a", b"b", b"b\x00"])
    );
    assert_eq!(
        keys_of(&*store, half_open, Direction::Reverse),
        owned(&[b"b\x00", b"b", b"a"])
    );
    let exclusive_start = KeyRange {
        start: Bound::Excluded(b"b".to_vec()),
        end: Bound::Included(b"c".to_vec()),
    };
    assert_eq!(
        keys_of(&*store, exclusive_start.clone(), Direction::Forward),
        owned(&[b"b\x00", b"c"])
    );
    assert_eq!(
        keys_of(&*store, exclusive_start, Direction::Reverse),
        owned(&[b"c", b"b\x00"])
    );
    let up_to_empty = KeyRange::new(..=b"".to_vec());
    assert_eq!(
        keys_of(&*store, up_to_empty, Direction::Forward),
        owned(&[b""])
    );
    let inverted = KeyRange::new(b"c".to_vec()..b"a".to_vec());
    assert!(keys_of(&*store, inverted, Direction::Reverse).is_empty());
    assert_eq!(
        keys_of(&*store, KeyRange::prefix(b"b"), Direction::Forward),
        owned(&[b"b", b"b\x00"])
    );
}

fn writes_survive_reopen(engine: &str, sync: SyncPolicy) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(engine, dir.path(), sync);
        store.put(b"kept", b"1").unwrap();
        store.put(b"gone", b"2").unwrap();
        let mut batch = WriteBatch::new();
        batch.put(b"batched", b"3").delete(b"gone");
        store.write(&batch).unwrap();
        if sync == SyncPolicy::Manual {
            store.sync().unwrap();
        }
        store.put(b"unsynced", b"4").unwrap();
    }
    let store = open(engine, dir.path(), sync);
    assert_eq!(
        store.scan_all().unwrap(),
        vec![
            (b"batched".to_vec(), b"3".to_vec()),
            (b"kept".to_vec(), b"1".to_vec()),
            (b"unsynced".to_vec(), b"4".to_vec()),
        ],
        "{engine} under {sync:?}: a clean close keeps every acknowledged write"
    );
    store.compact().unwrap();
    assert_eq!(store.get(b"kept").unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.get(b"gone").unwrap(), None);
}

/// Reopening right after a drop finds every write and no stale lock (sled's
/// background threads, which write large log buffers, used to hold its own
/// lock for a moment after a drop).
fn quick_reopens_keep_every_write(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20u32 {
        let store = open(engine, dir.path(), SyncPolicy::Manual);
        assert_eq!(
            store.scan_all().unwrap().len(),
            round as usize,
            "{engine}: round {round}"
        );
        store
            .put(&round.to_be_bytes(), &vec![7u8; 300_000])
            .unwrap();
    }
}

fn second_open_is_locked(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let first = open(engine, dir.path(), SyncPolicy::Manual);
    first.put(b"k", b"v").unwrap();
    match registry::open(engine, dir.path(), &OpenConfig::default()) {
        Err(Error::Locked { path }) => assert_eq!(path, dir.path()),
        Err(other) => panic!("{engine}: second open gave {other}, not Locked"),
        Ok(_) => panic!("{engine}: second open of a locked directory succeeded"),
    }
    drop(first);
    let again = open(engine, dir.path(), SyncPolicy::Manual);
    assert_eq!(again.get(b"k").unwrap(), Some(b"v".to_vec()));
}

fn oversized_requests_are_too_large(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(engine, dir.path(), SyncPolicy::Manual);
    let long_key = vec![b'k'; MAX_KEY_BYTES + 1];
    assert!(matches!(
        store.put(&long_key, b"v"),
        Err(Error::TooLarge { what: "key", .. })
    ));
    let big_value = vec![0u8; MAX_VALUE_BYTES + 1];
    assert!(matches!(
        store.put(b"k", &big_value),
        Err(Error::TooLarge { what: "value", .. })
    ));
    let mut batch = WriteBatch::new();
    batch.put(b"fine", b"1").delete(long_key.clone());
    assert!(matches!(
        store.write(&batch),
        Err(Error::TooLarge { what: "key", .. })
    ));
    assert!(
        store.scan_all().unwrap().is_empty(),
        "{engine}: nothing written"
    );
    // Refused requests do not poison the store.
    store.put(b"after", b"ok").unwrap();
    store.sync().unwrap();
}

#[test]
fn every_registered_peer_opens() {
    let peers: Vec<&str> = registry::engines()
        .into_iter()
        .filter(|e| e.kind == EngineKind::Peer)
        .map(|e| e.name)
        .collect();
    let enabled: Vec<&str> = [
        ("redb", cfg!(feature = "redb")),
        ("fjall", cfg!(feature = "fjall")),
        ("lmdb", cfg!(feature = "lmdb")),
        ("sled", cfg!(feature = "sled")),
        ("rocksdb", cfg!(feature = "rocksdb")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    assert_eq!(
        peers, enabled,
        "one registry entry per enabled peer feature"
    );
    for engine in peers {
        let info = registry::info(engine).unwrap();
        assert!(info.persistent && !info.uses_fs && !info.ours, "{info:?}");
        let dir = tempfile::tempdir().unwrap();
        let store = open(engine, dir.path(), SyncPolicy::Manual);
        store.put(b"k", b"v").unwrap();
        assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
    }
}

/// LMDB's own key limit (about 1.9 KiB) is below kvlab's: longer keys are
/// `TooLarge` naming LMDB's limit, cannot be found, and scan bounds longer
/// than the limit still select the right keys.
#[cfg(feature = "lmdb")]
#[test]
fn lmdb_keys_over_its_limit_are_too_large_and_long_bounds_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = open("lmdb", dir.path(), SyncPolicy::Manual);
    let limit = store.stats().extra["max_key_bytes"] as usize;
    assert!(limit > 1000 && limit < MAX_KEY_BYTES, "limit {limit}");
    let at_limit = vec![b'a'; limit];
    store.put(&at_limit, b"longest").unwrap();
    let over = vec![b'a'; limit + 1];
    match store.put(&over, b"v") {
        Err(Error::TooLarge {
            what,
            limit: l,
            got,
        }) => {
            assert_eq!((what, l, got), ("key (LMDB limit)", limit, limit + 1));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(store.get(&over).unwrap(), None);
    store.delete(&over).unwrap();
    store.put(b"b", b"after").unwrap();
    // Bounds longer than LMDB's limit: [over..] excludes at_limit, includes b.
    let from_over = KeyRange::new(over.clone()..);
    assert_eq!(
        keys_of(&*store, from_over, Direction::Forward),
        vec![b"b".to_vec()]
    );
    let to_over = KeyRange::new(..over.clone());
    assert_eq!(
        keys_of(&*store, to_over, Direction::Reverse),
        vec![at_limit.clone()]
    );
}

macro_rules! peer_tests {
    ($($engine:literal => $module:ident),* $(,)?) => {$(
        #[cfg(feature = $engine)]
        mod $module {
            use super::*;
            const ENGINE: &str = $engine;

            #[test]
            fn round_trip() {
                round_trip_put_get_delete_batch(ENGINE);
            }

            #[test]
            fn scans() {
                scans_honour_bounds_both_ways(ENGINE);
            }

            #[test]
            fn reopen_under_each_sync_policy() {
                writes_survive_reopen(ENGINE, SyncPolicy::Manual);
                writes_survive_reopen(ENGINE, SyncPolicy::Always);
                writes_survive_reopen(ENGINE, SyncPolicy::Interval { interval_ms: 5 });
            }

            #[test]
            fn quick_reopens() {
                quick_reopens_keep_every_write(ENGINE);
            }

            #[test]
            fn locked() {
                second_open_is_locked(ENGINE);
            }

            #[test]
            fn too_large() {
                oversized_requests_are_too_large(ENGINE);
            }
        }
    )*};
}

// Cargo feature names are the engine names.
peer_tests! {
    "redb" => redb,
    "fjall" => fjall,
    "lmdb" => lmdb,
    "sled" => sled,
    "rocksdb" => rocksdb,
}
