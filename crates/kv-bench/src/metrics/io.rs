//! I/O counters: the engine's own `Fs` counters and the kernel's
//! `/proc/self/io`.
//!
//! - `kv_core::IoCounters` (a delta of `Store::stats().io`, kept as
//!   `fs_io` in the results): what a kvlab engine asked its `Fs` to read and
//!   write, exact and per store. Peers do not use our `Fs`, so
//!   they have none.
//! - [`ProcIo`]: what the whole process asked the kernel for. `wchar` and
//!   `rchar` count bytes passed to `write`/`read`-family system calls
//!   (page-cache hits included, memory-mapped access excluded);
//!   `write_bytes` counts bytes of page cache dirtied for the storage device
//!   (page granularity, 4 KiB), `read_bytes` bytes fetched from the device,
//!   `cancelled_write_bytes` dirty bytes dropped before reaching it (a file
//!   truncated or deleted first). It covers every thread of the process,
//!   including an engine's background threads, and the harness's own reads of
//!   `/proc`. The device figure the benchmark reports is
//!   [`ProcIo::device_write_bytes`]: `write_bytes` less
//!   `cancelled_write_bytes`, so an engine that deletes or truncates files
//!   before writeback (a merged segment, an obsolete log) is not charged for
//!   bytes that never reached the device.

use serde::{Deserialize, Serialize};

/// The fields of `/proc/self/io` (see proc(5)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcIo {
    /// Bytes read by read-family system calls.
    pub rchar: u64,
    /// Bytes written by write-family system calls.
    pub wchar: u64,
    /// Read system calls.
    pub syscr: u64,
    /// Write system calls.
    pub syscw: u64,
    /// Bytes fetched from the storage device.
    pub read_bytes: u64,
    /// Bytes of page cache dirtied for the storage device.
    pub write_bytes: u64,
    /// Dirtied bytes that never reached the device (truncated or deleted).
    pub cancelled_write_bytes: u64,
}

impl ProcIo {
    /// Reads `/proc/self/io`; `None` where it does not exist (not Linux) or
    /// cannot be parsed.
    pub fn read() -> Option<Self> {
        let text = std::fs::read_to_string("/proc/self/io").ok()?;
        Self::parse(&text)
    }

    /// Parses the text of `/proc/<pid>/io`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut io = ProcIo::default();
        let mut seen = 0;
        for line in text.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let Ok(value) = value.trim().parse::<u64>() else {
                continue;
            };
            let field = match name.trim() {
                "rchar" => &mut io.rchar,
                "wchar" => &mut io.wchar,
                "syscr" => &mut io.syscr,
                "syscw" => &mut io.syscw,
                "read_bytes" => &mut io.read_bytes,
                "write_bytes" => &mut io.write_bytes,
                "cancelled_write_bytes" => &mut io.cancelled_write_bytes,
                _ => continue,
            };
            *field = value;
            seen += 1;
        }
        (seen == 7).then_some(io)
    }

    /// Net bytes written toward the storage device: `write_bytes` minus
    /// `cancelled_write_bytes`, saturating at 0.
    ///
    /// `write_bytes` counts page cache dirtied when it is dirtied; if the
    /// file is then truncated or deleted before writeback, the kernel adds
    /// those bytes to `cancelled_write_bytes` instead of writing them. Over a
    /// window (a delta from [`ProcIo::since`]) the difference is what this
    /// window's writes cost the device. It can under-count when the window
    /// cancels pages dirtied before it began (hence the saturation at 0),
    /// and it counts pages dirtied but not yet written back at the end of
    /// the window (every workload ends with `sync()`, so those are few).
    pub fn device_write_bytes(&self) -> u64 {
        self.write_bytes.saturating_sub(self.cancelled_write_bytes)
    }

    /// Counters accumulated since `earlier`.
    pub fn since(&self, earlier: &ProcIo) -> ProcIo {
        ProcIo {
            rchar: self.rchar.saturating_sub(earlier.rchar),
            wchar: self.wchar.saturating_sub(earlier.wchar),
            syscr: self.syscr.saturating_sub(earlier.syscr),
            syscw: self.syscw.saturating_sub(earlier.syscw),
            read_bytes: self.read_bytes.saturating_sub(earlier.read_bytes),
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
            cancelled_write_bytes: self
                .cancelled_write_bytes
                .saturating_sub(earlier.cancelled_write_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_io() {
        let text = "rchar: 10\nwchar: 20\nsyscr: 1\nsyscw: 2\nread_bytes: 0\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n";
        let io = ProcIo::parse(text).unwrap();
        assert_eq!((io.rchar, io.wchar, io.write_bytes), (10, 20, 4096));
        assert!(ProcIo::parse("rchar: 1\n").is_none());
        let later = ProcIo { wchar: 50, ..io };
        assert_eq!(later.since(&io).wchar, 30);
    }

    #[test]
    fn device_bytes_exclude_cancelled_writes() {
        let io = ProcIo {
            write_bytes: 3 * 4096,
            cancelled_write_bytes: 4096,
            ..ProcIo::default()
        };
        assert_eq!(io.device_write_bytes(), 2 * 4096);
        // A window can cancel pages dirtied before it began: never negative.
        let io = ProcIo {
            write_bytes: 4096,
            cancelled_write_bytes: 3 * 4096,
            ..ProcIo::default()
        };
        assert_eq!(io.device_write_bytes(), 0);
    }

    #[test]
    fn proc_self_io_counts_our_writes() {
        let Some(before) = ProcIo::read() else {
            return; // not Linux
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), vec![7u8; 10_000]).unwrap();
        let after = ProcIo::read().unwrap();
        assert!(after.since(&before).wchar >= 10_000);
    }
}
