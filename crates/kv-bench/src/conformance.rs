//! `kv-bench conformance`: the conformance suite `cargo test` runs, run
//! against engines from the registry, printed as a table (rows = cases,
//! columns = engines, cells `pass` / `FAIL` / `skip`) with a summary line per
//! engine and the message of every failure.
//!
//! Peers do not write through our `Fs`, so the cases that need a `SimFs` or
//! a `FaultFs` (crash simulation, injected faults) skip for them; `memory`
//! keeps nothing across reopen, so the persistence cases skip for it. The
//! `null` engine is not a store and is left out of the default list; named
//! explicitly, every case is reported skipped for it.
//!
//! A peer that fails a case because of a limit of its own (LMDB's key-size
//! cap) keeps the `FAIL`, and the exit status stays 1: that is the truth of
//! the comparison. The reason, listed in the peer's adapter
//! ([`crate::peers::known_limits`]), is printed on a `known limitation` line
//! under the engine's summary line and beside the failure's message, so a
//! reader sees at once what the failure means.

use std::fmt::Write as _;
use std::panic;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use kv_core::testkit::conformance::{cases, run_case, CaseResult, Engine};
use kv_core::{Options, Result, Store};

use crate::peers::{known_limits, KnownLimit};
use crate::registry::{self, EngineInfo, OpenConfig};

/// The engine that is not a store and is only run when named.
const NULL_ENGINE: &str = "null";

/// Longest failure message kept per cell, in characters.
const MAX_MESSAGE_CHARS: usize = 600;

/// One engine's column of the table.
#[derive(Debug, Clone)]
pub struct EngineResults {
    /// What the registry says about the engine.
    pub info: EngineInfo,
    /// One result per case, in the order of [`ConformanceReport::cases`].
    pub results: Vec<CaseResult>,
    /// Time the engine's cases took.
    pub elapsed: Duration,
}

impl EngineResults {
    /// `(passed, failed, skipped)` counts.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for result in &self.results {
            match result {
                CaseResult::Passed => counts.0 += 1,
                CaseResult::Failed(_) => counts.1 += 1,
                CaseResult::Skipped(_) => counts.2 += 1,
            }
        }
        counts
    }

    /// The failures of this engine that a known limit of it explains, as
    /// `(case, limit)`, in case order.
    pub fn known_limit_failures<'a>(
        &self,
        cases: &[&'static str],
        limits: &'a [KnownLimit],
    ) -> Vec<(&'static str, &'a KnownLimit)> {
        cases
            .iter()
            .zip(&self.results)
            .filter(|(_, result)| matches!(result, CaseResult::Failed(_)))
            .filter_map(|(case, _)| {
                limits
                    .iter()
                    .find(|l| l.engine == self.info.name && l.case == *case)
                    .map(|limit| (*case, limit))
            })
            .collect()
    }
}

/// The outcome of every case against every engine asked for.
#[derive(Debug, Clone)]
pub struct ConformanceReport {
    /// Case names, in the suite's order (the rows).
    pub cases: Vec<&'static str>,
    /// One column per engine, in the order asked for.
    pub engines: Vec<EngineResults>,
    /// Peer limits that explain failures ([`crate::peers::known_limits`]).
    pub known_limits: Vec<KnownLimit>,
}

impl ConformanceReport {
    /// True when no case failed on any engine.
    pub fn all_passed(&self) -> bool {
        self.engines
            .iter()
            .all(|engine| engine.results.iter().all(CaseResult::is_ok))
    }

    /// The table, the summary lines and the failure messages, as printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let case_width = self
            .cases
            .iter()
            .map(|c| c.len())
            .max()
            .unwrap_or(4)
            .max("case".len());
        let widths: Vec<usize> = self
            .engines
            .iter()
            .map(|e| e.info.name.len().max("pass".len()))
            .collect();
        let _ = write!(out, "{:<case_width$}", "case");
        for (engine, width) in self.engines.iter().zip(&widths) {
            let _ = write!(out, "  {:<width$}", engine.info.name);
        }
        out.push('\n');
        for (row, case) in self.cases.iter().enumerate() {
            let _ = write!(out, "{case:<case_width$}");
            for (engine, width) in self.engines.iter().zip(&widths) {
                let cell = match engine.results.get(row) {
                    Some(CaseResult::Passed) => "pass",
                    Some(CaseResult::Failed(_)) => "FAIL",
                    Some(CaseResult::Skipped(_)) => "skip",
                    None => "-",
                };
                let _ = write!(out, "  {cell:<width$}");
            }
            out.push('\n');
        }
        out.push('\n');
        for engine in &self.engines {
            let (passed, failed, skipped) = engine.counts();
            let _ = writeln!(
                out,
                "{} ({}): {passed} passed, {failed} failed, {skipped} skipped in {:.1} s",
                engine.info.name,
                engine.info.kind.label(),
                engine.elapsed.as_secs_f64()
            );
            for (case, limit) in engine.known_limit_failures(&self.cases, &self.known_limits) {
                let _ = writeln!(
                    out,
                    "  known limitation of {} (documented in its adapter): {case} fails: {}",
                    engine.info.name, limit.reason
                );
            }
        }
        self.render_failures(&mut out);
        out
    }

    fn render_failures(&self, out: &mut String) {
        let mut first = true;
        for engine in &self.engines {
            for (case, result) in self.cases.iter().zip(&engine.results) {
                if let CaseResult::Failed(message) = result {
                    if first {
                        out.push_str("\nfailures:\n");
                        first = false;
                    }
                    let _ = writeln!(
                        out,
                        "  {} / {case}: {}",
                        engine.info.name,
                        shorten(message).replace('\n', "\n    ")
                    );
                    if let Some(limit) = self
                        .known_limits
                        .iter()
                        .find(|l| l.engine == engine.info.name && l.case == *case)
                    {
                        let _ = writeln!(out, "    (known limitation: {})", limit.reason);
                    }
                }
            }
        }
    }

    /// Prints [`ConformanceReport::render`] to standard output.
    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// The first [`MAX_MESSAGE_CHARS`] characters of `message`.
fn shorten(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}...", &message[..cut]),
        None => message.to_string(),
    }
}

/// The engines run when none are named: every engine of this build except
/// `null`.
pub fn default_engines() -> Vec<&'static str> {
    registry::engines()
        .into_iter()
        .map(|e| e.name)
        .filter(|name| *name != NULL_ENGINE)
        .collect()
}

/// How the suite opens a registry engine: through [`registry::open`] with
/// the suite's sync policy and file system (peers ignore the latter, which
/// `uses_fs: false` tells the suite).
pub fn suite_engine(info: EngineInfo) -> Engine {
    let name = info.name;
    Engine::new(
        name,
        move |dir: &Path, options: Options| -> Result<Box<dyn Store>> {
            let config = OpenConfig {
                sync: options.sync,
                fs: Some(options.fs),
                background: options.background,
                open_mode: options.open_mode,
                ..OpenConfig::default()
            };
            registry::open(name, dir, &config)
        },
    )
    .persistent(info.persistent)
    .uses_fs(info.uses_fs)
}

/// Runs every case against each engine named (all but `null` when the list
/// is empty) and returns the table. Prints one progress line per engine to
/// standard error.
///
/// While it runs, the process's panic hook is silenced (a failing case
/// panics; its message goes into the report instead of the terminal) and
/// restored afterwards; runs are serialized so the hooks nest.
///
/// # Errors
/// `InvalidArgument` naming the engines that exist if a name is unknown
/// (before anything runs).
pub fn run_conformance(engine_names: &[String]) -> Result<ConformanceReport> {
    let names: Vec<&str> = engine_names.iter().map(String::as_str).collect();
    run(&names)
}

/// [`run_conformance`] over string slices.
///
/// # Errors
/// As [`run_conformance`].
pub fn run(engine_names: &[&str]) -> Result<ConformanceReport> {
    let mut infos: Vec<EngineInfo> = Vec::new();
    let names = if engine_names.is_empty() {
        default_engines()
    } else {
        engine_names.to_vec()
    };
    for name in names {
        let info = registry::info(name)?;
        if !infos.iter().any(|known| known.name == info.name) {
            infos.push(info);
        }
    }
    let suite = cases();
    let case_names: Vec<&'static str> = suite.iter().map(|c| c.name).collect();
    let limits = known_limits();

    static RUNS: Mutex<()> = Mutex::new(());
    let _serialized = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));

    let mut engines = Vec::with_capacity(infos.len());
    for info in infos {
        let started = Instant::now();
        let results: Vec<CaseResult> = if info.name == NULL_ENGINE {
            suite
                .iter()
                .map(|_| CaseResult::Skipped("the null engine stores nothing: not a store".into()))
                .collect()
        } else {
            let engine = suite_engine(info);
            suite.iter().map(|case| run_case(case, &engine)).collect()
        };
        let column = EngineResults {
            info,
            results,
            elapsed: started.elapsed(),
        };
        let (passed, failed, skipped) = column.counts();
        let known = column.known_limit_failures(&case_names, &limits).len();
        eprintln!(
            "conformance: {}: {passed} passed, {failed} failed{}, {skipped} skipped in {:.1} s",
            info.name,
            if known > 0 {
                format!(" ({known} by a known limitation)")
            } else {
                String::new()
            },
            column.elapsed.as_secs_f64()
        );
        engines.push(column);
    }

    panic::set_hook(previous_hook);
    Ok(ConformanceReport {
        cases: case_names,
        engines,
        known_limits: limits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report_with(results: Vec<CaseResult>) -> ConformanceReport {
        ConformanceReport {
            cases: vec!["first_case", "second_case"],
            engines: vec![EngineResults {
                info: registry::info("memory").unwrap(),
                results,
                elapsed: Duration::from_millis(1500),
            }],
            known_limits: Vec::new(),
        }
    }

    #[test]
    fn table_marks_each_cell_and_lists_failures() {
        let report = report_with(vec![
            CaseResult::Passed,
            CaseResult::Failed("it broke\nbadly".into()),
        ]);
        assert!(!report.all_passed());
        let text = report.render();
        assert!(text.contains("first_case   pass"), "{text}");
        assert!(text.contains("second_case  FAIL"), "{text}");
        assert!(
            text.contains("memory (harness): 1 passed, 1 failed, 0 skipped in 1.5 s"),
            "{text}"
        );
        assert!(
            text.contains("memory / second_case: it broke\n    badly"),
            "{text}"
        );
    }

    #[test]
    fn a_known_limit_is_explained_but_still_a_failure() {
        let mut report = report_with(vec![
            CaseResult::Failed("too large".into()),
            CaseResult::Failed("a real bug".into()),
        ]);
        report.known_limits = vec![KnownLimit {
            engine: "memory",
            case: "first_case",
            reason: "memory caps keys at 3 bytes",
        }];
        assert!(!report.all_passed(), "a known limit must stay a failure");
        let text = report.render();
        assert!(text.contains("first_case   FAIL"), "{text}");
        assert!(
            text.contains(
                "memory (harness): 0 passed, 2 failed, 0 skipped in 1.5 s\n  \
                 known limitation of memory (documented in its adapter): first_case fails: \
                 memory caps keys at 3 bytes\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("memory / first_case: too large\n    (known limitation: memory caps keys at 3 bytes)"),
            "{text}"
        );
        // Only the explained failure gets a note.
        assert_eq!(text.matches("known limitation").count(), 2, "{text}");
        assert!(
            text.contains("memory / second_case: a real bug\n"),
            "{text}"
        );
    }

    /// Every known limit names an engine of the registry and a case of the
    /// suite, so a renamed case cannot silently lose its explanation.
    #[test]
    fn known_limits_name_real_engines_and_cases() {
        let case_names: Vec<&str> = cases().iter().map(|c| c.name).collect();
        for limit in known_limits() {
            assert!(registry::info(limit.engine).is_ok(), "{limit:?}");
            assert!(case_names.contains(&limit.case), "{limit:?}");
            assert!(!limit.reason.is_empty());
        }
        #[cfg(feature = "lmdb")]
        assert!(
            crate::peers::known_limit("lmdb", "max_key_and_value_sizes_are_accepted").is_some()
        );
    }

    #[test]
    fn skips_are_not_failures() {
        let report = report_with(vec![CaseResult::Passed, CaseResult::Skipped("n/a".into())]);
        assert!(report.all_passed());
        assert!(report.render().contains("second_case  skip"));
        assert!(!report.render().contains("failures:"));
    }

    #[test]
    fn unknown_engine_is_refused_before_running() {
        let err = run(&["no-such-engine"]).unwrap_err();
        assert!(err.to_string().contains("available engines"), "{err}");
    }

    #[test]
    fn null_is_not_in_the_default_list() {
        let defaults = default_engines();
        assert!(!defaults.contains(&"null"));
        assert!(defaults.contains(&"memory"));
    }

    #[test]
    fn long_messages_are_shortened() {
        let long = "x".repeat(MAX_MESSAGE_CHARS + 10);
        assert_eq!(shorten(&long).len(), MAX_MESSAGE_CHARS + 3);
        assert_eq!(shorten("short"), "short");
    }
}
