//! The copy-on-write B+tree engine (pages, two commit slots, free list; the LMDB/redb family): not written yet.
