//! File names inside a store directory.
//!
//! ```text
//! KVLAB             store identity marker (kv-core)
//! LOCK              directory lock (kv-core)
//! CURRENT           name of the live manifest, swapped atomically
//! MANIFEST-000007   version edits
//! 000012.log        write-ahead log of one memtable
//! 000013.sst        sorted table
//! ```
//!
//! Every number comes from one counter (the manifest's next file number), so
//! a table and a log never share a number.

/// Name of the pointer to the live manifest.
pub const CURRENT: &str = "CURRENT";

/// The kinds of files the engine writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A write-ahead log (`NNNNNN.log`).
    Wal,
    /// A sorted table (`NNNNNN.sst`).
    Table,
    /// A manifest (`MANIFEST-NNNNNN`).
    Manifest,
}

/// The name of file `number` of `kind`.
pub fn file_name(kind: FileKind, number: u64) -> String {
    match kind {
        FileKind::Wal => format!("{number:06}.log"),
        FileKind::Table => format!("{number:06}.sst"),
        FileKind::Manifest => format!("MANIFEST-{number:06}"),
    }
}

/// Parses a name written by [`file_name`].
pub fn parse_file_name(name: &str) -> Option<(FileKind, u64)> {
    let digits = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if let Some(n) = name.strip_prefix("MANIFEST-") {
        return digits(n).map(|n| (FileKind::Manifest, n));
    }
    if let Some(n) = name.strip_suffix(".log") {
        return digits(n).map(|n| (FileKind::Wal, n));
    }
    if let Some(n) = name.strip_suffix(".sst") {
        return digits(n).map(|n| (FileKind::Table, n));
    }
    None
}

/// Names the engine or kv-core own that are not numbered files.
pub fn is_fixed_name(name: &str) -> bool {
    matches!(name, "KVLAB" | "LOCK" | CURRENT | "CURRENT.tmp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in [FileKind::Wal, FileKind::Table, FileKind::Manifest] {
            assert_eq!(parse_file_name(&file_name(kind, 42)), Some((kind, 42)));
        }
        assert_eq!(parse_file_name("12.tmp"), None);
        assert_eq!(parse_file_name(".log"), None);
    }
}
