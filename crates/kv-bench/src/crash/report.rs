//! The kill test's table, for the terminal and for `crash.md`.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::{CrashSettings, EngineCrashResult};

const HEADER: [&str; 9] = [
    "engine",
    "rounds",
    "acked writes checked",
    "keys checked",
    "lost",
    "wrong",
    "half batches",
    "failed opens",
    "child failures",
];

fn row(r: &EngineCrashResult) -> [String; 9] {
    [
        r.engine.clone(),
        r.rounds.to_string(),
        r.acknowledged_writes.to_string(),
        r.keys_checked.to_string(),
        r.lost.to_string(),
        r.wrong.to_string(),
        r.half_batches.to_string(),
        r.failed_opens.to_string(),
        r.child_failures.to_string(),
    ]
}

/// The settings line printed above the table.
pub fn describe(settings: &CrashSettings) -> String {
    format!(
        "kill test: {} rounds per engine, SyncPolicy::Always, up to {} writes per round over {} keys, seed {}",
        settings.rounds, settings.writes_per_round, settings.key_space, settings.seed
    )
}

/// The terminal table, then each engine's first errors.
pub fn render(settings: &CrashSettings, results: &[EngineCrashResult]) -> String {
    let rows: Vec<[String; 9]> = results.iter().map(row).collect();
    let mut widths = HEADER.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = format!("{}\n", describe(settings));
    let line = |cells: &[String]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i == 0 {
                let _ = write!(text, "{cell:<w$}");
            } else {
                let _ = write!(text, "  {cell:>w$}");
            }
        }
        text.push('\n');
        text
    };
    out.push_str(&line(&HEADER.map(String::from)));
    for r in &rows {
        out.push_str(&line(r));
    }
    for r in results {
        for e in &r.errors {
            let _ = writeln!(out, "  {}: {e}", r.engine);
        }
    }
    out
}

/// The Markdown section: what was done, the table, the errors.
pub fn markdown(settings: &CrashSettings, results: &[EngineCrashResult]) -> String {
    let mut out = String::from("# Process-kill durability check\n\n");
    let _ = writeln!(
        out,
        "{}. A child writes and reports each acknowledged write over a pipe; it is SIGKILLed after a seeded number of acknowledgements; the store is reopened and every acknowledged write must be there with its value, no deleted key back, the write in flight wholly there or absent.\n",
        describe(settings)
    );
    let _ = writeln!(out, "| {} |", HEADER.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(HEADER.len()));
    for r in results {
        let _ = writeln!(out, "| {} |", row(r).join(" | "));
    }
    for r in results {
        for e in &r.errors {
            let _ = writeln!(out, "\n- {}: {e}", r.engine);
        }
    }
    out
}

/// Writes `crash.md` into `dir` (created if needed); returns its path.
///
/// # Errors
/// I/O errors, as text.
pub fn write_markdown(
    dir: &Path,
    settings: &CrashSettings,
    results: &[EngineCrashResult],
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("crash.md");
    std::fs::write(&path, markdown(settings, results))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_a_row_per_engine_with_every_count() {
        let settings = CrashSettings {
            engines: vec!["bitcask".into()],
            rounds: 3,
            writes_per_round: 10,
            key_space: 20,
            seed: 1,
        };
        let result = EngineCrashResult {
            engine: "bitcask".into(),
            rounds: 3,
            acknowledged_writes: 17,
            lost: 2,
            ..EngineCrashResult::default()
        };
        let text = render(&settings, std::slice::from_ref(&result));
        let row = text.lines().find(|l| l.starts_with("bitcask")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[..5], ["bitcask", "3", "17", "0", "2"]);
        assert!(markdown(&settings, &[result]).contains("| bitcask | 3 | 17 | 0 | 2 |"));
    }
}
