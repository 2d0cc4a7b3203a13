//! The generated blocks of a guide document and their markers.
//!
//! A block is the text between two HTML comments, each on a line of its
//! own:
//!
//! ```text
//! <!-- BEGIN generated: write-heavy from figures/default-run-quiet.json -->
//! ...Markdown written by kv-bench (render::block)...
//! <!-- END generated: write-heavy -->
//! ```
//!
//! The path after `from` is the run's JSON, relative to the document's
//! directory; every block of a document names the same one. Regenerating
//! rewrites every block (and its path) and leaves every other line alone.

use std::path::{Component, Path, PathBuf};

use super::render;
use crate::results::RunReport;

const BEGIN: &str = "<!-- BEGIN generated: ";
const END: &str = "<!-- END generated: ";
const CLOSE: &str = " -->";

/// One generated block of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Its name (`run`, `glance`, a shape's block name, `losses`).
    pub name: String,
    /// The JSON it was generated from, relative to the document.
    pub source: String,
    /// Its text between the two marker lines.
    pub content: String,
}

/// A document cut into the text outside the blocks and the blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Lines written by hand.
    Prose(String),
    /// A generated block.
    Generated(Block),
}

fn begin_marker(line: &str) -> Option<(String, String)> {
    let inner = line.trim().strip_prefix(BEGIN)?.strip_suffix(CLOSE)?;
    let (name, source) = inner.split_once(" from ")?;
    Some((name.trim().to_owned(), source.trim().to_owned()))
}

fn end_marker(line: &str) -> Option<String> {
    let inner = line.trim().strip_prefix(END)?.strip_suffix(CLOSE)?;
    Some(inner.trim().to_owned())
}

/// Cuts `doc` into prose and generated blocks.
///
/// # Errors
/// A message naming the line for a malformed or unterminated marker, an END
/// without its BEGIN, a block of an unknown name, or blocks naming
/// different JSON files.
pub fn parse(doc: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut prose = String::new();
    let mut open: Option<(Block, usize)> = None;
    for (i, line) in doc.split_inclusive('\n').enumerate() {
        let n = i + 1;
        if let Some((block, begun)) = open.as_mut() {
            if let Some(name) = end_marker(line) {
                if name != block.name {
                    return Err(format!(
                        "line {n}: END of `{name}` inside block `{}` (begun on line {begun})",
                        block.name
                    ));
                }
                if let Some((block, _)) = open.take() {
                    parts.push(Part::Generated(block));
                }
            } else if line.trim_start().starts_with(BEGIN) {
                return Err(format!("line {n}: BEGIN inside block `{}`", block.name));
            } else {
                block.content.push_str(line);
            }
            continue;
        }
        if line.trim_start().starts_with(BEGIN) {
            let (name, source) =
                begin_marker(line).ok_or_else(|| format!("line {n}: malformed BEGIN marker"))?;
            if !render::block_names().contains(&name.as_str()) {
                return Err(format!(
                    "line {n}: unknown block `{name}` (known: {})",
                    render::block_names().join(", ")
                ));
            }
            if !prose.is_empty() {
                parts.push(Part::Prose(std::mem::take(&mut prose)));
            }
            let content = String::new();
            open = Some((
                Block {
                    name,
                    source,
                    content,
                },
                n,
            ));
        } else if line.trim_start().starts_with(END) {
            return Err(format!("line {n}: END marker without a BEGIN"));
        } else {
            prose.push_str(line);
        }
    }
    if let Some((block, begun)) = open {
        return Err(format!(
            "block `{}` begun on line {begun} has no END",
            block.name
        ));
    }
    if !prose.is_empty() {
        parts.push(Part::Prose(prose));
    }
    source_of(&parts)?;
    Ok(parts)
}

/// The JSON every block of `parts` names.
///
/// # Errors
/// A message if there is no block, or blocks name different files.
pub fn source_of(parts: &[Part]) -> Result<String, String> {
    let mut sources = parts.iter().filter_map(|p| match p {
        Part::Generated(b) => Some(b.source.as_str()),
        Part::Prose(_) => None,
    });
    let first = sources.next().ok_or_else(|| {
        "no generated block (`<!-- BEGIN generated: NAME from FILE -->`)".to_owned()
    })?;
    match sources.find(|s| *s != first) {
        Some(other) => Err(format!("blocks name two JSON files: {first} and {other}")),
        None => Ok(first.to_owned()),
    }
}

/// `doc` with every generated block rendered again from `report`, its
/// markers naming `source`.
///
/// # Errors
/// As [`parse`].
pub fn regenerate(doc: &str, report: &RunReport, source: &str) -> Result<String, String> {
    let mut out = String::with_capacity(doc.len());
    for part in parse(doc)? {
        match part {
            Part::Prose(text) => out.push_str(&text),
            Part::Generated(block) => {
                let body = render::block(report, &block.name)
                    .ok_or_else(|| format!("unknown block `{}`", block.name))?;
                out.push_str(&format!("{BEGIN}{} from {source}{CLOSE}\n", block.name));
                out.push_str(&body);
                if !body.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&format!("{END}{}{CLOSE}\n", block.name));
            }
        }
    }
    Ok(out)
}

/// `to` relative to the directory `from_dir` (both made absolute first),
/// with `/` separators.
///
/// # Errors
/// A message if either path cannot be resolved.
pub fn relative(from_dir: &Path, to: &Path) -> Result<String, String> {
    let resolve = |p: &Path| {
        std::fs::canonicalize(p).map_err(|e| format!("cannot resolve {}: {e}", p.display()))
    };
    let (from, to) = (resolve(from_dir)?, resolve(to)?);
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..a.len() {
        rel.push("..");
    }
    for c in &b[common..] {
        rel.push(c.as_os_str());
    }
    Ok(rel.to_string_lossy().replace('\\', "/"))
}

/// Rewrites the generated blocks of the guide at `guide` from `report`,
/// whose JSON is the file `json` (named in the markers, relative to the
/// guide). The text outside the blocks is left as it is: check it with
/// [`super::claims::check`].
///
/// # Errors
/// A message if a file cannot be read or written, or the guide's markers
/// are malformed (see [`parse`]).
pub fn update_file(guide: &Path, json: &Path, report: &RunReport) -> Result<(), String> {
    let doc = std::fs::read_to_string(guide)
        .map_err(|e| format!("cannot read {}: {e}", guide.display()))?;
    let dir = match guide.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let source = relative(dir, json)?;
    let text =
        regenerate(&doc, report, &source).map_err(|e| format!("{}: {e}", guide.display()))?;
    std::fs::write(guide, text).map_err(|e| format!("cannot write {}: {e}", guide.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_prose_are_cut_at_the_markers() {
        let doc =
            "a\n<!-- BEGIN generated: run from x.json -->\nold\n<!-- END generated: run -->\nb\n";
        let parts = parse(doc).unwrap();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], Part::Prose("a\n".into()));
        match &parts[1] {
            Part::Generated(b) => {
                assert_eq!(
                    (b.name.as_str(), b.source.as_str(), b.content.as_str()),
                    ("run", "x.json", "old\n")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(source_of(&parts).unwrap(), "x.json");
    }

    #[test]
    fn malformed_markers_are_errors_naming_the_line() {
        let unterminated = "<!-- BEGIN generated: run from x.json -->\nold\n";
        assert!(parse(unterminated).unwrap_err().contains("no END"));
        let stray = "x\n<!-- END generated: run -->\n";
        assert!(parse(stray).unwrap_err().contains("line 2"));
        let unknown =
            "<!-- BEGIN generated: nosuch from x.json -->\n<!-- END generated: nosuch -->\n";
        assert!(parse(unknown).unwrap_err().contains("unknown block"));
        let two = "<!-- BEGIN generated: run from a.json -->\n<!-- END generated: run -->\n\
                   <!-- BEGIN generated: glance from b.json -->\n<!-- END generated: glance -->\n";
        assert!(parse(two).unwrap_err().contains("two JSON files"));
        assert!(parse("no blocks\n").is_err());
    }

    #[test]
    fn relative_paths_climb_and_descend() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docs/figures")).unwrap();
        std::fs::write(dir.path().join("docs/figures/r.json"), "{}").unwrap();
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        let json = dir.path().join("docs/figures/r.json");
        assert_eq!(
            relative(&dir.path().join("docs"), &json).unwrap(),
            "figures/r.json"
        );
        assert_eq!(
            relative(&dir.path().join("other"), &json).unwrap(),
            "../docs/figures/r.json"
        );
    }
}
