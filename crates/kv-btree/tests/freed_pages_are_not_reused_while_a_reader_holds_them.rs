//! Pages freed by a commit stay pending while a reader holds a snapshot
//! that reaches them: the reader keeps reading its own tree, unchanged and
//! without a checksum error, however many commits overwrite every key; the
//! pages are reused only once the reader is gone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{figure, key, open, read_all, small_shape, value};
use kv_core::testkit::SimFs;
use kv_core::{Direction, KeyRange, Store, SyncPolicy};

#[test]
fn freed_pages_are_not_reused_while_a_reader_holds_them() {
    for sync in [SyncPolicy::Always, SyncPolicy::Manual] {
        let sim = SimFs::new(3);
        let store = open(&sim, sync, small_shape());
        for i in 0..200 {
            store.put(&key(i), &value(i, 0, 20 + i % 90)).unwrap();
        }
        store.sync().unwrap();
        let snapshot = read_all(&store);
        let mut reader = store.scan(&KeyRange::all(), Direction::Forward).unwrap();
        let first = reader.next().unwrap().unwrap();
        for round in 1..6 {
            for i in 0..200 {
                store
                    .put(&key(i), &value(i, round, 30 + (i + round) % 90))
                    .unwrap();
            }
            store.sync().unwrap();
        }
        assert!(
            figure(&store, "pending_pages") > 0,
            "{sync:?}: pages the reader can reach must be pending"
        );
        let mut seen = vec![first];
        for item in reader {
            seen.push(item.expect("the reader's pages were reused under it"));
        }
        assert_eq!(seen, snapshot, "{sync:?}: the reader saw another tree");
        let pages_with_reader = figure(&store, "file_pages");
        for round in 6..9 {
            for i in 0..200 {
                store
                    .put(&key(i), &value(i, round, 30 + (i + round) % 90))
                    .unwrap();
            }
            store.sync().unwrap();
        }
        assert!(
            figure(&store, "file_pages") <= pages_with_reader,
            "{sync:?}: once the reader is gone its pages are reused, the file must not grow"
        );
        assert!(store.check().unwrap().is_clean());
    }
}
