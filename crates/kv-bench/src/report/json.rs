//! `--json FILE|-`: the whole [`RunReport`] as pretty JSON.

use std::io::{self, Write};
use std::path::Path;

use crate::results::RunReport;

/// Writes `report` to `dest`: a file path, or `-` for stdout.
///
/// # Errors
/// I/O errors writing it.
pub fn write(report: &RunReport, dest: &str) -> io::Result<()> {
    let text = serde_json::to_string_pretty(report).map_err(io::Error::other)?;
    if dest == "-" {
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()
    } else {
        std::fs::write(Path::new(dest), text + "\n")
    }
}
