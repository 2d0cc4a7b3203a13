//! `lsm-tiered` is a variant of `lsm` (tiered compaction, the same format
//! and identity): a store written by either opens as the other with every
//! key, and a range delete written by one is honoured by the other.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kv_core::{Direction, KeyRange};
use kv_registry::{self as registry, OpenConfig};

#[test]
fn lsm_tiered_and_lsm_open_each_others_stores() {
    let info = registry::engines()
        .into_iter()
        .find(|e| e.name == "lsm-tiered")
        .expect("lsm-tiered is registered");
    assert_eq!(info.identity, "lsm");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let config = OpenConfig::default();
    let store = registry::open("lsm-tiered", &path, &config).unwrap();
    for i in 0..100u32 {
        store.put(format!("k{i:03}").as_bytes(), b"v").unwrap();
    }
    store
        .delete_range(&KeyRange::new(b"k010".to_vec()..b"k020".to_vec()))
        .unwrap();
    assert_eq!(store.stats().extra["compaction_tiered"], 1);
    store.close().unwrap();
    for (name, tiered) in [("lsm", 0), ("lsm-tiered", 1), ("lsm", 0)] {
        let store = registry::open(name, &path, &config).unwrap();
        assert_eq!(store.stats().extra["compaction_tiered"], tiered, "{name}");
        let keys = store
            .scan(&KeyRange::all(), Direction::Forward)
            .unwrap()
            .count();
        assert_eq!(keys, 90, "{name}");
        assert_eq!(store.get(b"k015").unwrap(), None, "{name}");
        store.compact().unwrap();
        store.close().unwrap();
    }
}
