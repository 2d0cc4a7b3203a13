//! Memory: resident set size and its peak, from `/proc/self/status`.
//!
//! `VmHWM` is the peak RSS of the whole process. Linux lets a process reset
//! it (writing `5` to `/proc/self/clear_refs`), so the runner resets it before
//! each workload and reads it after: the peak *during* that workload. That is
//! still the whole process: it includes the harness (key order, bitset,
//! histograms) and, when several engines run in one process, whatever earlier
//! engines left allocated. Running each engine in its own child process (the
//! default of `kv-bench` with several engines) removes the latter.

/// Reads a `kB` field of `/proc/self/status` in bytes.
fn status_field_bytes(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_status_kb(&text, field)
}

/// Parses `Field:   1234 kB` from the text of `/proc/<pid>/status`, in bytes.
pub fn parse_status_kb(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.split(':').next() == Some(field))?;
    let kb = line.split_whitespace().nth(1)?.parse::<u64>().ok()?;
    Some(kb * 1024)
}

/// Current resident set size (`VmRSS`), if known.
pub fn current_rss_bytes() -> Option<u64> {
    status_field_bytes("VmRSS")
}

/// Peak resident set size since start or the last reset (`VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    status_field_bytes("VmHWM")
}

/// Resets the peak to the current RSS; false if the kernel refused (then
/// [`peak_rss_bytes`] is the peak since the process started).
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status() {
        let text = "Name:\tx\nVmHWM:\t    2172 kB\nVmRSS:\t    2000 kB\n";
        assert_eq!(parse_status_kb(text, "VmHWM"), Some(2172 * 1024));
        assert_eq!(parse_status_kb(text, "VmPeak"), None);
    }

    #[test]
    fn peak_is_at_least_current() {
        if let (Some(peak), Some(now)) = (peak_rss_bytes(), current_rss_bytes()) {
            assert!(peak >= now / 2, "{peak} {now}");
        }
    }
}
