//! `docs/choosing.md` quotes one run: its generated blocks are exactly what
//! kv-bench renders from the JSON the guide names, and its prose has no
//! figure of its own and no bold claim that the JSON contradicts.
//!
//! When this fails after a new run, regenerate the blocks with the command
//! at the top of the guide and fix the prose the check names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use kv_bench::report::guide::{claims, document, figures, render, SHAPES};
use kv_bench::results::RunReport;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// The guide, its run and the JSON's path relative to the guide.
fn guide() -> (String, RunReport, String) {
    let doc = std::fs::read_to_string(docs().join("choosing.md")).unwrap();
    let parts = document::parse(&doc).unwrap_or_else(|e| panic!("docs/choosing.md: {e}"));
    let source = document::source_of(&parts).unwrap();
    let text = std::fs::read_to_string(docs().join(&source))
        .unwrap_or_else(|e| panic!("docs/{source}, named by docs/choosing.md: {e}"));
    let report: RunReport = serde_json::from_str(&text).unwrap();
    (doc, report, source)
}

const REGENERATE: &str = "cargo run --release -p kv-bench -- --from-json docs/<the JSON> \
                          --guide docs/choosing.md --no-report";

#[test]
fn the_generated_blocks_are_the_named_jsons_figures_rendered_again() {
    let (doc, report, source) = guide();
    let again = document::regenerate(&doc, &report, &source).unwrap();
    if again != doc {
        let line = doc
            .lines()
            .zip(again.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| doc.lines().count().min(again.lines().count()));
        panic!(
            "docs/choosing.md differs from its JSON docs/{source} at line {}:\n  doc:       {:?}\n  generated: {:?}\nregenerate with: {REGENERATE}",
            line + 1,
            doc.lines().nth(line).unwrap_or(""),
            again.lines().nth(line).unwrap_or("")
        );
    }
}

#[test]
fn the_guide_has_every_generated_block() {
    let (doc, _, _) = guide();
    let parts = document::parse(&doc).unwrap();
    for name in render::block_names() {
        let found = parts
            .iter()
            .any(|p| matches!(p, document::Part::Generated(b) if b.name == name));
        assert!(found, "docs/choosing.md has no `{name}` block");
    }
}

#[test]
fn the_prose_quotes_no_figure_and_every_bold_claim_holds() {
    let (doc, report, _) = guide();
    let problems = claims::check(&doc, &report);
    assert!(
        problems.is_empty(),
        "docs/choosing.md:\n{}",
        problems
            .iter()
            .map(|p| format!("  section `{}`: {}", p.section, p.message))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn a_false_claim_or_a_stray_figure_in_the_prose_is_caught() {
    let (doc, report, _) = guide();
    let shape = &SHAPES[0];
    let f = figures(&report, shape);
    let winner = f.winner().unwrap().engine.clone();
    let loser = f.ranking.last().unwrap().engine.clone();
    assert_ne!(winner, loser);
    let end = format!("<!-- END generated: {} -->\n", shape.block);
    assert!(doc.contains(&end));
    let with = |text: &str| doc.replacen(&end, &format!("{end}\n{text}\n"), 1);
    assert!(claims::check(&with(&format!("**{winner} wins**")), &report).is_empty());
    let false_claim = claims::check(&with(&format!("**{loser} wins**")), &report);
    assert_eq!(false_claim.len(), 1, "{false_claim:?}");
    let backwards = claims::check(&with(&format!("**{loser} beats {winner}**")), &report);
    assert_eq!(backwards.len(), 1, "{backwards:?}");
    let figure = claims::check(&with("about 3 times faster"), &report);
    assert_eq!(figure.len(), 1, "{figure:?}");
}
