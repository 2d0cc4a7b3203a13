//! `--json FILE|-`: the whole [`RunReport`] (or a scaling sweep's report)
//! as pretty JSON.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;

use crate::results::RunReport;

/// Writes `report` to `dest`: a file path, or `-` for stdout.
///
/// # Errors
/// I/O errors writing it.
pub fn write(report: &RunReport, dest: &str) -> io::Result<()> {
    write_value(report, dest)
}

/// Writes any serializable document to `dest` (a file path, or `-`).
///
/// # Errors
/// I/O errors writing it.
pub fn write_value<T: Serialize>(value: &T, dest: &str) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    if dest == "-" {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()
    } else {
        std::fs::write(Path::new(dest), text + "\n")
    }
}
