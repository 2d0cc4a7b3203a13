//! Human-readable numbers for tables and charts.

/// Operations per second: `1.23M`, `456.7K`, `980`.
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2}M", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1}K", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}")
    }
}

/// A duration given in nanoseconds: `650ns`, `1.2µs`, `3.40ms`, `1.25s`.
pub fn nanos(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0}ns")
    } else if ns < 1e6 {
        format!("{:.1}µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2}ms", ns / 1e6)
    } else {
        format!("{:.2}s", ns / 1e9)
    }
}

/// Seconds: `12ms`, `1.25s`.
pub fn secs(s: f64) -> String {
    nanos(s * 1e9)
}

/// Bytes: `512B`, `12.3KiB`, `4.5MiB`, `1.20GiB`.
pub fn bytes(b: u64) -> String {
    let b = b as f64;
    if b < 1024.0 {
        format!("{b:.0}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1}KiB", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1}MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}GiB", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// An optional ratio with two decimals, or `-`.
pub fn ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 100.0 => format!("{r:.0}"),
        Some(r) => format!("{r:.2}"),
        None => "-".into(),
    }
}

/// Optional bytes, or `-`.
pub fn opt_bytes(b: Option<u64>) -> String {
    b.map_or_else(|| "-".into(), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rate(1_234_567.0), "1.23M");
        assert_eq!(rate(4_567.0), "4.6K");
        assert_eq!(nanos(650.0), "650ns");
        assert_eq!(nanos(1_250.0), "1.2µs");
        assert_eq!(secs(1.25), "1.25s");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0MiB");
        assert_eq!(ratio(None), "-");
        assert_eq!(ratio(Some(1.234)), "1.23");
    }
}
