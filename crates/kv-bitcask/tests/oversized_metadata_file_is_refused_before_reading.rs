//! A small metadata file (`FILESET`, `MERGE_COMMIT`) larger than
//! `MAX_METADATA_FILE_BYTES` is refused with `Corruption` naming it, before
//! anything is allocated for it: its length comes from disk and is not
//! trusted. The files here are sparse, so the test writes almost nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use kv_bitcask::file_set::{FILE_SET_NAME, MAX_METADATA_FILE_BYTES};
use kv_bitcask::merge_commit::MERGE_COMMIT_FILE_NAME;
use kv_bitcask::{Bitcask, BitcaskOptions};
use kv_core::{Error, Options, StdFs, Store};

fn options() -> BitcaskOptions {
    BitcaskOptions::with_core(Options::with_fs(Arc::new(StdFs)))
}

#[test]
fn oversized_metadata_file_is_refused_before_reading() {
    for (name, grow) in [(FILE_SET_NAME, true), (MERGE_COMMIT_FILE_NAME, false)] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("store");
        let store = Bitcask::open(&dir, options()).unwrap();
        store.put(b"k", b"v").unwrap();
        Box::new(store).close().unwrap();
        let path = dir.join(name);
        assert_eq!(path.exists(), grow, "{name} exists after a clean close");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .unwrap();
        file.set_len(MAX_METADATA_FILE_BYTES + 1).unwrap();
        drop(file);
        match Bitcask::open(&dir, options()) {
            Err(Error::Corruption { file, .. }) => assert_eq!(file, path, "{name}"),
            Err(e) => panic!("{name}: wrong error {e}"),
            Ok(_) => panic!("{name}: an oversized file was accepted"),
        }
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            MAX_METADATA_FILE_BYTES + 1,
            "{name} was left as found"
        );
    }
}
