//! Syncs per acknowledged write: how many durable syncs (`fsync`,
//! `fdatasync`, of files and directories) an engine made per write it
//! acknowledged. Under `SyncPolicy::Always` an engine without group commit
//! needs at least one per write; one with group commit serves concurrent
//! writers with fewer.
//!
//! # Sources
//!
//! - kvlab's engines: their `Fs` counters (`IoCounters::file_syncs +
//!   dir_syncs`), exact, every sync the engine asked the file system for.
//! - Peers: only an engine's own counter of its syncs. None of redb, fjall,
//!   LMDB and sled exposes one, and the kernel keeps no per-process count of
//!   sync calls (`/proc/self/io` counts bytes and read/write calls only), so
//!   for them the figure is absent, reported as `n/a`: never estimated.

use kv_core::IoCounters;

use super::amplification::ratio;

/// Durable syncs in an `Fs` counter delta: file syncs plus directory syncs.
pub fn fs_syncs(io: &IoCounters) -> u64 {
    io.file_syncs + io.dir_syncs
}

/// `syncs / acknowledged_writes`, or `None` if the sync count is unknown
/// or nothing was written.
pub fn syncs_per_write(syncs: Option<u64>, acknowledged_writes: u64) -> Option<f64> {
    ratio(syncs?, acknowledged_writes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_directory_syncs_count_per_acknowledged_write() {
        let io = IoCounters {
            file_syncs: 30,
            dir_syncs: 2,
            write_calls: 500,
            ..IoCounters::default()
        };
        assert_eq!(fs_syncs(&io), 32);
        assert_eq!(syncs_per_write(Some(fs_syncs(&io)), 128), Some(0.25));
        assert_eq!(syncs_per_write(None, 128), None, "unknown stays unknown");
        assert_eq!(syncs_per_write(Some(3), 0), None, "nothing acknowledged");
    }
}
