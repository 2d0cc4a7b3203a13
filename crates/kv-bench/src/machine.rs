//! What machine a run was measured on, recorded in every JSON and report.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The machine and build a run was measured on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// CPU model (`model name` of `/proc/cpuinfo`).
    pub cpu_model: String,
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// Physical memory (`MemTotal` of `/proc/meminfo`), in bytes.
    pub memory_bytes: u64,
    /// Kernel release (`/proc/sys/kernel/osrelease`).
    pub kernel: String,
    /// File system type of the directory the stores were in (from
    /// `/proc/mounts`), e.g. `ext4`, `xfs`, `tmpfs`.
    pub store_fs_type: String,
    /// `release` or `debug` (debug builds are not meaningful to compare).
    pub build: String,
    /// Version of kv-bench.
    pub kv_bench_version: String,
    /// The 1-, 5- and 15-minute load averages (`/proc/loadavg`) when the
    /// machine was described, at the start of the run, as `"1.10 0.80
    /// 0.65"`; `None` where unreadable and in JSON written before it was
    /// recorded. A loaded machine makes every throughput figure noisy.
    #[serde(default)]
    pub load_average: Option<String>,
}

/// The first three fields of `/proc/loadavg` text, joined by spaces.
fn load_average(text: &str) -> Option<String> {
    let fields: Vec<&str> = text.split_whitespace().take(3).collect();
    (fields.len() == 3).then(|| fields.join(" "))
}

impl MachineInfo {
    /// Collects what can be read; unknown fields are `"unknown"` or 0.
    pub fn collect(store_dir: &Path) -> Self {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, v)| v.trim().to_owned());
        let memory_bytes =
            crate::metrics::memory::parse_status_kb(&read("/proc/meminfo"), "MemTotal")
                .unwrap_or(0);
        let kernel = match read("/proc/sys/kernel/osrelease").trim() {
            "" => "unknown".to_owned(),
            k => k.to_owned(),
        };
        Self {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_bytes,
            kernel,
            store_fs_type: fs_type_of(store_dir, &read("/proc/mounts")),
            build: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
            kv_bench_version: env!("CARGO_PKG_VERSION").to_owned(),
            load_average: load_average(&read("/proc/loadavg")),
        }
    }
}

/// The type of the mount whose mount point is the longest prefix of `dir`.
pub fn fs_type_of(dir: &Path, mounts: &str) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, point, kind) = (fields.next()?, fields.next()?, fields.next()?);
            dir.starts_with(point)
                .then(|| (point.len(), kind.to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_mount_prefix_wins() {
        let mounts = "/dev/vda / ext4 rw 0 0\ntmpfs /tmp/x tmpfs rw 0 0\n";
        assert_eq!(fs_type_of(Path::new("/tmp/x/y"), mounts), "tmpfs");
        assert_eq!(fs_type_of(Path::new("/work"), mounts), "ext4");
        assert_eq!(fs_type_of(Path::new("/work"), ""), "unknown");
    }
}
