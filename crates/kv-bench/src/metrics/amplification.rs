//! Amplification figures and the on-disk size of a store.
//!
//! - write amplification: bytes written to storage / user bytes written
//!   (keys plus values of puts, keys of deletes);
//! - read amplification: bytes and read calls per read operation;
//! - space amplification: bytes the file system allocated to the store
//!   (`st_blocks * 512`, so sparse preallocation is not counted as space
//!   used) / live logical bytes (live keys times key plus value size, which
//!   the harness tracks itself).

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a store directory occupies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskUsage {
    /// Sum of the file sizes (apparent lengths).
    pub file_bytes: u64,
    /// Sum of the blocks allocated to the files (`st_blocks * 512`), which is
    /// smaller for sparse files and larger for preallocated ones.
    pub allocated_bytes: u64,
    /// Number of files.
    pub files: u64,
}

/// Walks `dir` recursively and sums its files (symlinks are not followed).
///
/// # Errors
/// I/O errors reading the directory tree. A file that disappears during the
/// walk (removed by a background merge) is skipped.
pub fn disk_usage(dir: &Path) -> io::Result<DiskUsage> {
    let mut usage = DiskUsage::default();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        let entries = match std::fs::read_dir(&next) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = match entry.path().symlink_metadata() {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                usage.file_bytes += meta.len();
                usage.allocated_bytes += allocated(&meta);
                usage.files += 1;
            }
        }
    }
    Ok(usage)
}

#[cfg(unix)]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks() * 512
}

#[cfg(not(unix))]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    meta.len()
}

/// Space amplification of a store: allocated bytes over live logical bytes
/// (`None` when nothing is live). Apparent file length is not used: a
/// preallocated or sparse file's length is not space taken from the disk.
pub fn space_amp(disk: &DiskUsage, live_bytes: u64) -> Option<f64> {
    ratio(disk.allocated_bytes, live_bytes)
}

/// `numerator / denominator`, or `None` when the denominator is 0 (the
/// figure is undefined, e.g. write amplification of a read-only workload).
pub fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_usage_sums_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), [0u8; 100]).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/b"), [0u8; 23]).unwrap();
        let usage = disk_usage(dir.path()).unwrap();
        assert_eq!((usage.file_bytes, usage.files), (123, 2));
        assert!(usage.allocated_bytes >= 123 || usage.allocated_bytes == 0);
        assert_eq!(
            disk_usage(&dir.path().join("gone")).unwrap(),
            DiskUsage::default()
        );
    }

    /// A sparse file of 8 MiB length with 4 KiB written takes a few KiB:
    /// space amplification counts those, not the length.
    #[cfg(unix)]
    #[test]
    fn space_amp_counts_allocated_blocks_not_length() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let mut file = std::fs::File::create(dir.path().join("sparse")).unwrap();
        file.write_all(&[7u8; 4096]).unwrap();
        file.set_len(8 << 20).unwrap();
        file.sync_all().unwrap();
        let usage = disk_usage(dir.path()).unwrap();
        assert_eq!(usage.file_bytes, 8 << 20);
        assert!(usage.allocated_bytes < 1 << 20, "{usage:?}");
        let amp = space_amp(&usage, 4096).unwrap();
        assert!(amp < 256.0, "space amp {amp} counts the sparse length");
        assert_eq!(space_amp(&usage, 0), None);
    }

    #[test]
    fn ratio_is_undefined_over_zero() {
        assert_eq!(ratio(10, 0), None);
        assert_eq!(ratio(10, 4), Some(2.5));
    }
}
