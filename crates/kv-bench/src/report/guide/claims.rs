//! Checks the hand-written prose of a guide against its run.
//!
//! Two rules keep every claim of `docs/choosing.md` true of the JSON it
//! names:
//!
//! 1. **No figure outside the generated blocks.** A digit in the prose is an
//!    error unless it is part of a name (a digit after a letter, as in
//!    `overwrite3x` or `p99`), inside a code span or code block (commands,
//!    options), in a link target, or in an HTML comment. Every number the
//!    reader sees is therefore in a block, rendered from the JSON.
//! 2. **Every bold claim about an engine is checked.** In a `## ` section
//!    that holds a shape's block, a bold span that begins with an engine's
//!    name must be one of:
//!    - `**E wins**`: E is the shape's winner;
//!    - `**E loses**`: E is one of ours and behind the best peer (on a
//!      throughput shape: on every one of the shape's workloads);
//!    - `**E beats F**`: E is better than F (on a throughput shape: faster
//!      on every one of the shape's workloads).
//!
//!    A bold engine claim in a section without a shape block is an error.

use super::document::{parse, Part};
use super::{figures, guide_engines, is_ours, shape, versus_best_peer, Metric, ShapeFigures};
use crate::report::compare::{best_peer, typical_ops};
use crate::results::RunReport;

/// A problem found in the prose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The `## ` heading of the section it is in (empty before the first).
    pub section: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Default)]
struct Section {
    heading: String,
    prose: String,
    shape: Option<String>,
}

fn sections(parts: &[Part]) -> Vec<Section> {
    let mut out = vec![Section::default()];
    for part in parts {
        match part {
            Part::Prose(text) => {
                for line in text.split_inclusive('\n') {
                    if let Some(h) = line.strip_prefix("## ") {
                        out.push(Section {
                            heading: h.trim().to_owned(),
                            ..Section::default()
                        });
                    } else if let Some(last) = out.last_mut() {
                        last.prose.push_str(line);
                    }
                }
            }
            Part::Generated(block) => {
                if let (Some(last), Some(_)) = (out.last_mut(), shape(&block.name)) {
                    last.shape = Some(block.name.clone());
                }
            }
        }
    }
    out
}

/// The prose with code, link targets and HTML comments blanked out.
pub fn visible_prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fenced = false;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if fenced {
            out.push('\n');
            continue;
        }
        out.push_str(&strip_spans(line));
    }
    out
}

fn strip_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        let (open, close) = if rest.starts_with('`') {
            ("`", "`")
        } else if rest.starts_with("](") {
            ("](", ")")
        } else if rest.starts_with("<!--") {
            ("<!--", "-->")
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
            continue;
        };
        let after = &rest[open.len()..];
        match after.find(close) {
            Some(end) => {
                out.push(' ');
                rest = &after[end + close.len()..];
            }
            None => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}

/// Figures in visible prose: digit runs not preceded by a letter.
pub fn stray_figures(text: &str) -> Vec<String> {
    let visible = visible_prose(text);
    let chars: Vec<char> = visible.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == ',')
            {
                i += 1;
            }
            let named = start > 0 && chars[start - 1].is_alphabetic();
            if !named {
                let from = start.saturating_sub(20);
                let to = (i + 20).min(chars.len());
                let context: String = chars[from..to].iter().collect();
                found.push(context.replace('\n', " "));
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The bold spans of `text` (code and link targets removed first).
pub fn bold_spans(text: &str) -> Vec<String> {
    let visible = visible_prose(text);
    let mut out = Vec::new();
    let mut rest = visible.as_str();
    while let Some(start) = rest.find("**") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("**") else { break };
        out.push(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    out
}

/// The engine whose name `text` starts with (the longest such name), and
/// the rest of the text.
fn leading_engine<'a>(engines: &[String], text: &'a str) -> Option<(String, &'a str)> {
    engines
        .iter()
        .filter(|e| {
            text.strip_prefix(e.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        })
        .max_by_key(|e| e.len())
        .map(|e| (e.clone(), text[e.len()..].trim()))
}

/// On every workload of `f`, `pred(ops of a, ops of b)` holds.
fn on_every_workload(
    report: &RunReport,
    f: &ShapeFigures,
    a: &str,
    b: Option<&str>,
) -> Option<bool> {
    let mut all = true;
    for w in &f.workloads {
        let mine = typical_ops(report, a, w)?;
        let other = match b {
            Some(b) => typical_ops(report, b, w)?,
            None => best_peer(report, w)?.1,
        };
        all &= mine < other;
    }
    Some(all)
}

fn check_claim(
    report: &RunReport,
    f: &ShapeFigures,
    engines: &[String],
    span: &str,
) -> Option<String> {
    let (engine, rest) = leading_engine(engines, span)?;
    let rest = rest.trim_end_matches(['.', ',', ':', ';']);
    let throughput = matches!(f.shape.metric, Metric::Throughput(_));
    let verdict = if rest == "wins" {
        let winner = f.winner().map(|w| w.engine.as_str());
        (winner == Some(engine.as_str()))
            .then_some(())
            .ok_or_else(|| format!("`{span}`: the winner is {}", winner.unwrap_or("nobody")))
    } else if rest == "loses" {
        let behind = if !is_ours(report, &engine) {
            Some(false)
        } else if throughput {
            on_every_workload(report, f, &engine, None)
        } else {
            versus_best_peer(report, f, &engine).map(|v| v < 1.0)
        };
        match behind {
            Some(true) => Ok(()),
            _ => Err(format!(
                "`{span}`: {engine} is not one of ours behind the best peer{}",
                if throughput {
                    " on every workload of the shape"
                } else {
                    ""
                }
            )),
        }
    } else if let Some(other) = rest.strip_prefix("beats ") {
        match leading_engine(engines, other.trim()) {
            Some((other, "")) => {
                let better = if throughput {
                    on_every_workload(report, f, &other, Some(&engine))
                } else {
                    f.better(&engine, &other)
                };
                match better {
                    Some(true) => Ok(()),
                    _ => Err(format!(
                        "`{span}`: {engine} is not better than {other}{}",
                        if throughput {
                            " on every workload of the shape"
                        } else {
                            ""
                        }
                    )),
                }
            }
            _ => Err(format!("`{span}`: `beats` must name one engine")),
        }
    } else {
        Err(format!(
            "`{span}`: a bold span that starts with an engine must be `E wins`, `E loses` or `E beats F`"
        ))
    };
    verdict.err()
}

/// Every problem in the prose of `doc` against `report` (empty: the prose
/// holds). Markers that do not parse are one problem.
pub fn check(doc: &str, report: &RunReport) -> Vec<Problem> {
    let parts = match parse(doc) {
        Ok(parts) => parts,
        Err(message) => {
            return vec![Problem {
                section: String::new(),
                message,
            }]
        }
    };
    let engines = guide_engines(report);
    let mut problems = Vec::new();
    for section in sections(&parts) {
        let mut push = |message: String| {
            problems.push(Problem {
                section: section.heading.clone(),
                message,
            })
        };
        for figure in stray_figures(&section.heading)
            .into_iter()
            .chain(stray_figures(&section.prose))
        {
            push(format!("a figure outside the generated blocks: `{figure}`"));
        }
        let shape_figures = section
            .shape
            .as_deref()
            .and_then(shape)
            .map(|s| figures(report, s));
        for span in bold_spans(&section.prose) {
            if leading_engine(&engines, &span).is_none() {
                continue;
            }
            match &shape_figures {
                Some(f) => {
                    if let Some(message) = check_claim(report, f, &engines, &span) {
                        push(message);
                    }
                }
                None => push(format!(
                    "`{span}`: an engine claim in a section without a shape's block"
                )),
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_in_names_code_and_links_are_not_stray() {
        let text = "overwrite3x and p99 in `--num 50000`, [a](figures/run-2.json) <!-- 7 -->\n```\n42\n```\n";
        assert!(stray_figures(text).is_empty(), "{:?}", stray_figures(text));
        assert_eq!(stray_figures("it is 2.5x faster").len(), 1);
        assert_eq!(stray_figures("at 1,000 keys").len(), 1);
    }

    #[test]
    fn bold_spans_are_found_outside_code() {
        let spans = bold_spans("**bitcask wins** because `**x**` and **lsm beats fjall**.\n");
        assert_eq!(
            spans,
            vec!["bitcask wins".to_owned(), "lsm beats fjall".to_owned()]
        );
    }

    #[test]
    fn the_longest_engine_name_leads() {
        let engines = vec!["lsm".to_owned(), "lsm-tiered".to_owned()];
        assert_eq!(
            leading_engine(&engines, "lsm-tiered wins"),
            Some(("lsm-tiered".to_owned(), "wins"))
        );
        assert_eq!(leading_engine(&engines, "lsmx wins"), None);
    }
}
