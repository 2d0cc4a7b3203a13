//! The LSM-tree engine (WAL, memtable, SSTables with index and bloom filters, manifest, leveled and tiered compaction): not written yet.
