//! Printing structured reports ([`kv_core::Stats`], [`kv_core::CheckReport`])
//! as an aligned two-column table or as JSON.

use std::io::{self, Write};

use serde_json::Value;

/// Writes `report` as pretty JSON followed by a newline.
///
/// # Errors
/// The writer's, or a serialization failure (reported as an I/O error).
pub fn write_json(out: &mut dyn Write, report: &Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(io::Error::other)?;
    writeln!(out)
}

/// Writes `report` as a table: one `name  value` row per leaf, nested objects
/// flattened with dots (`io.bytes_written`), lists joined with `; `.
///
/// # Errors
/// The writer's.
pub fn write_table(out: &mut dyn Write, report: &Value) -> io::Result<()> {
    let mut rows = Vec::new();
    flatten("", report, &mut rows);
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, value) in rows {
        writeln!(out, "{name:<width$}  {value}")?;
    }
    Ok(())
}

fn flatten(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (name, inner) in fields {
                let full = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&full, inner, rows);
            }
        }
        Value::Array(items) => {
            let joined = items.iter().map(scalar).collect::<Vec<_>>().join("; ");
            let shown = if joined.is_empty() {
                "(none)".to_string()
            } else {
                joined
            };
            rows.push((prefix.to_string(), shown));
        }
        other => rows.push((prefix.to_string(), scalar(other))),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_flattens_and_aligns() {
        let stats = kv_core::Stats {
            engine: "memory".into(),
            live_keys_exact: true,
            live_keys: 3,
            extra: [("dead_bytes".to_string(), 12)].into_iter().collect(),
            ..Default::default()
        };
        let mut out = Vec::new();
        write_table(&mut out, &serde_json::to_value(&stats).unwrap()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("engine                "), "{text}");
        assert!(text
            .lines()
            .any(|l| l.starts_with("live_keys ") && l.ends_with(" 3")));
        assert!(text
            .lines()
            .any(|l| l.starts_with("io.bytes_written ") && l.ends_with(" 0")));
        assert!(text
            .lines()
            .any(|l| l.starts_with("extra.dead_bytes ") && l.ends_with(" 12")));
        let widths: Vec<usize> = text.lines().map(|l| l.find("  ").unwrap_or(0)).collect();
        assert!(widths.iter().all(|&w| w > 0));
    }

    #[test]
    fn lists_are_joined_and_empty_lists_say_none() {
        let mut report = kv_core::CheckReport::default();
        let mut out = Vec::new();
        write_table(&mut out, &serde_json::to_value(&report).unwrap()).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("(none)"));
        report.notes = vec!["a".into(), "b".into()];
        let mut out = Vec::new();
        write_table(&mut out, &serde_json::to_value(&report).unwrap()).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("a; b"));
    }

    #[test]
    fn json_is_parseable() {
        let mut out = Vec::new();
        let report = serde_json::to_value(kv_core::CheckReport::default()).unwrap();
        write_json(&mut out, &report).unwrap();
        let back: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, report);
    }
}
