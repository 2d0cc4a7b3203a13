//! `kv-bench`: run the engine comparison, or the conformance suite.
//!
//! ```text
//! cargo run --release -p kv-bench                      # the default comparison
//! cargo run --release -p kv-bench -- --engines bitcask,redb --workloads ycsb-a --num 100000
//! cargo run --release -p kv-bench -- conformance --engines bitcask
//! cargo run --release -p kv-bench -- crash --engines bitcask,redb --rounds 100
//! ```
//!
//! Errors are one line on stderr and a non-zero exit status: 2 for bad
//! options (including a `--json` or `--report` destination that cannot be
//! written, checked before the run starts), 1 when an engine failed during
//! the run, a conformance case failed, or the kill test found a lost or
//! changed acknowledged write.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use kv_bench::cli::{Cli, Command, ConformanceArgs, CrashArgs, CrashChildArgs, RunArgs};
use kv_bench::report::{json, markdown, table};
use kv_bench::workload::{Workload, ALL};
use kv_bench::{conformance, registry, runner};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if e.use_stderr() => {
            eprintln!(
                "kv-bench: error: {}",
                kv_bench::cli::clap_error_line(&e, "kv-bench")
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            // --help and --version: clap's own output, exit 0.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
    };
    match cli.command {
        Some(Command::Conformance(args)) => run_conformance(&args),
        Some(Command::List) => list(),
        Some(Command::Crash(args)) => crash(&args),
        Some(Command::CrashChild(args)) => crash_child(&args),
        None => bench(&cli.run),
    }
}

fn fail(message: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("kv-bench: error: {message}");
    ExitCode::from(code)
}

fn run_conformance(args: &ConformanceArgs) -> ExitCode {
    match conformance::run_conformance(&args.engines) {
        Ok(report) => {
            report.print();
            if report.all_passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => fail(e, 2),
    }
}

fn crash(args: &CrashArgs) -> ExitCode {
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(e) => return fail(e, 2),
    };
    if !args.no_report {
        if let Err(e) = check_writable_dir(&args.report) {
            return fail(e, 2);
        }
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return fail(format!("cannot find my own executable: {e}"), 1),
    };
    let (root, _temp) = match kv_bench::crash::crash_root(args.dir.as_deref()) {
        Ok(root) => root,
        Err(e) => return fail(e, 1),
    };
    eprintln!("kv-bench: {}", kv_bench::crash::report::describe(&settings));
    let results = match kv_bench::crash::run(&settings, &exe, &root) {
        Ok(results) => results,
        Err(e) => return fail(e, 2),
    };
    print!("{}", kv_bench::crash::report::render(&settings, &results));
    if !args.no_report {
        match kv_bench::crash::report::write_markdown(&args.report, &settings, &results) {
            Ok(path) => eprintln!("kv-bench: report written to {}", display(&path)),
            Err(e) => return fail(format!("cannot write the report: {e}"), 1),
        }
    }
    let unclean: Vec<&str> = results
        .iter()
        .filter(|r| !r.is_clean())
        .map(|r| r.engine.as_str())
        .collect();
    if unclean.is_empty() {
        ExitCode::SUCCESS
    } else {
        fail(
            format!(
                "acknowledged writes lost or reopen failed: {}",
                unclean.join(", ")
            ),
            1,
        )
    }
}

fn crash_child(args: &CrashChildArgs) -> ExitCode {
    use kv_bench::crash::{child, Script};
    let mut out = std::io::stdout().lock();
    let outcome = match args.load {
        Some(keys) => child::run_load(
            &args.engine,
            &args.dir,
            child::LoadPlan {
                keys,
                sync_every: args.sync_every,
                unsynced_tail: args.tail,
                batch: args.batch,
                key_size: args.key_size,
                value_size: args.value_size,
                seed: args.seed,
            },
            &mut out,
        ),
        None => child::run_script(
            &args.engine,
            &args.dir,
            Script {
                seed: args.seed,
                round: args.round,
                key_space: args.key_space,
            },
            args.writes,
            &mut out,
        ),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e, 3),
    }
}

/// Checks, before a run of minutes, that the report directory can be
/// written: creates it and a probe file in it, then removes the probe.
fn check_writable_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("report directory {} is not writable: {e}", dir.display()))?;
    let probe = dir.join(".kv-bench-write-probe");
    std::fs::write(&probe, b"")
        .map_err(|e| format!("report directory {} is not writable: {e}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Checks, before a run of minutes, that the JSON destination can be
/// written (`-` is stdout): opens it for appending, creating it if needed,
/// and removes it again if it did not exist.
fn check_writable_file(dest: &str) -> Result<(), String> {
    if dest == "-" {
        return Ok(());
    }
    let path = Path::new(dest);
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| format!("cannot write JSON to {dest}: {e}"))?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn list() -> ExitCode {
    println!("engines:");
    for e in registry::engines() {
        println!("  {:<10} {:<8} {}", e.name, e.kind.label(), e.description);
    }
    println!("workloads (canonical run order):");
    for w in ALL {
        let default = if kv_bench::workload::DEFAULT.contains(&w) {
            " (default)"
        } else {
            ""
        };
        println!("  {}{default}", Workload::name(w));
    }
    ExitCode::SUCCESS
}

fn bench(args: &RunArgs) -> ExitCode {
    let settings = match args.settings() {
        Ok(settings) => settings,
        Err(e) => return fail(e, 2),
    };
    if let Some(engine) = &args.single_engine {
        return single_engine(&settings, engine, args);
    }
    let json_to_stdout = args.json.as_deref() == Some("-");
    if let Some(dest) = &args.json {
        if let Err(e) = check_writable_file(dest) {
            return fail(e, 2);
        }
    }
    if !args.no_report {
        if let Err(e) = check_writable_dir(&args.report) {
            return fail(e, 2);
        }
    }
    if let Err(e) = check_guide(args) {
        return fail(e, 2);
    }
    if let Some(path) = &args.from_json {
        return from_json(path, args);
    }
    let exe = std::env::current_exe().ok();
    if let Some(counts) = &args.scale {
        return scale(&settings, counts, exe.as_deref(), args);
    }
    eprint!("{}", table::render_header(&settings));
    let mut report = match runner::run(&settings, exe.as_deref()) {
        Ok(report) => report,
        Err(e) => return fail(e, 1),
    };
    if args.repeat_fillsync > 1 && settings.workloads.contains(&Workload::FillSync) {
        let start = std::time::Instant::now();
        match kv_bench::repeat::repeat_workload(
            &settings,
            exe.as_deref(),
            Workload::FillSync,
            args.repeat_fillsync - 1,
        ) {
            Ok(repeats) => report.repeats = repeats,
            Err(e) => return fail(e, 1),
        }
        let secs = start.elapsed().as_secs_f64();
        report.repeats_wall_secs = Some(secs);
        report.wall_secs = report.wall_secs.map(|total| total + secs);
    }
    let text = table::render(&report);
    if json_to_stdout {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    if let Some(dest) = &args.json {
        if let Err(e) = json::write(&report, dest) {
            return fail(format!("cannot write JSON to {dest}: {e}"), 1);
        }
        if !json_to_stdout {
            eprintln!("kv-bench: JSON written to {dest}");
        }
    }
    if !args.no_report {
        match markdown::write_report(&report, &args.report) {
            Ok(path) => eprintln!("kv-bench: report written to {}", display(&path)),
            Err(e) => return fail(format!("cannot write the report: {e}"), 1),
        }
    }
    if let (Some(guide), Some(dest)) = (&args.guide, &args.json) {
        if let Err(e) = update_guide(guide, Path::new(dest), &report) {
            return fail(e, 1);
        }
    }
    if report.all_engines_finished() {
        ExitCode::SUCCESS
    } else {
        fail(
            "at least one engine failed (see above); its results are incomplete",
            1,
        )
    }
}

/// `--from-json`: the table and the report of an earlier run's JSON (a
/// comparison or a scaling sweep), without running anything.
fn from_json(path: &Path, args: &RunArgs) -> ExitCode {
    use kv_bench::report::scale_report;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return fail(format!("cannot read {}: {e}", path.display()), 2),
    };
    let outcome = if let Ok(report) = serde_json::from_str::<kv_bench::results::RunReport>(&text) {
        print!("{}", table::render(&report));
        if let Some(guide) = &args.guide {
            if let Err(e) = update_guide(guide, path, &report) {
                return fail(e, 1);
            }
        }
        (!args.no_report).then(|| markdown::write_report(&report, &args.report))
    } else if args.guide.is_some() {
        return fail(
            format!(
                "{} is not the JSON of a comparison run, which --guide needs",
                path.display()
            ),
            2,
        );
    } else {
        match serde_json::from_str::<kv_bench::scale::ScaleReport>(&text) {
            Ok(report) => {
                print!("{}", scale_report::render(&report));
                (!args.no_report).then(|| scale_report::write_report(&report, &args.report))
            }
            Err(e) => {
                return fail(
                    format!("{} is not a kv-bench JSON report: {e}", path.display()),
                    2,
                )
            }
        }
    };
    match outcome {
        Some(Ok(path)) => eprintln!("kv-bench: report written to {}", display(&path)),
        Some(Err(e)) => return fail(format!("cannot write the report: {e}"), 1),
        None => {}
    }
    ExitCode::SUCCESS
}

/// `--guide FILE`, checked before a run of minutes: the guide exists, and
/// a run (not `--from-json`) writes its JSON to a file the guide can name.
fn check_guide(args: &RunArgs) -> Result<(), String> {
    let Some(guide) = &args.guide else {
        return Ok(());
    };
    if args.scale.is_some() {
        return Err("--guide takes a comparison run, not --scale".into());
    }
    if args.from_json.is_none() && matches!(args.json.as_deref(), None | Some("-")) {
        return Err(
            "--guide needs --json FILE (the guide names the JSON its figures come from)".into(),
        );
    }
    let doc = std::fs::read_to_string(guide)
        .map_err(|e| format!("cannot read the guide {}: {e}", guide.display()))?;
    kv_bench::report::guide::document::parse(&doc)
        .map(|_| ())
        .map_err(|e| format!("{}: {e}", guide.display()))
}

/// Rewrites the guide's generated blocks from `report` (whose JSON is
/// `json`) and says whether its prose still holds.
fn update_guide(
    guide: &Path,
    json: &Path,
    report: &kv_bench::results::RunReport,
) -> Result<(), String> {
    use kv_bench::report::guide::{claims, document};
    document::update_file(guide, json, report)?;
    eprintln!("kv-bench: generated blocks of {} rewritten", display(guide));
    let doc = std::fs::read_to_string(guide)
        .map_err(|e| format!("cannot read {}: {e}", guide.display()))?;
    let problems = claims::check(&doc, report);
    for p in &problems {
        eprintln!(
            "kv-bench: {}: section `{}`: {}",
            display(guide),
            p.section,
            p.message
        );
    }
    if !problems.is_empty() {
        eprintln!(
            "kv-bench: {} claim(s) in the prose of {} do not hold for this run: edit the prose",
            problems.len(),
            display(guide)
        );
    }
    Ok(())
}

/// `--scale`: the scaling sweep instead of the comparison.
fn scale(
    settings: &kv_bench::settings::Settings,
    counts: &kv_bench::scale::KeyCounts,
    exe: Option<&Path>,
    args: &RunArgs,
) -> ExitCode {
    use kv_bench::report::scale_report;
    let shown: Vec<String> = counts.0.iter().map(u64::to_string).collect();
    eprintln!(
        "kv-bench: scaling sweep over {} keys: fillrandom, readrandom, overwrite on {}",
        shown.join(", "),
        kv_bench::scale::step_settings(settings, 1)
            .engines
            .join(", ")
    );
    let report = match kv_bench::scale::run_scale(settings, counts, exe) {
        Ok(report) => report,
        Err(e) => return fail(e, 1),
    };
    let text = scale_report::render(&report);
    if args.json.as_deref() == Some("-") {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    if let Some(dest) = &args.json {
        if let Err(e) = json::write_value(&report, dest) {
            return fail(format!("cannot write JSON to {dest}: {e}"), 1);
        }
    }
    if !args.no_report {
        match scale_report::write_report(&report, &args.report) {
            Ok(path) => eprintln!("kv-bench: report written to {}", display(&path)),
            Err(e) => return fail(format!("cannot write the report: {e}"), 1),
        }
    }
    let failed = report
        .steps
        .iter()
        .flat_map(|s| &s.engines)
        .any(|e| e.error.is_some());
    if failed {
        fail("at least one engine failed (see above)", 1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The child-process mode: one engine, JSON on stdout, nothing else.
fn single_engine(
    settings: &kv_bench::settings::Settings,
    engine: &str,
    args: &RunArgs,
) -> ExitCode {
    let (root, _temp) = match runner::store_root(settings) {
        Ok(root) => root,
        Err(e) => return fail(e, 1),
    };
    let (results, run) = runner::run_engine(settings, engine, &root);
    let failed = run.error.clone();
    let report = kv_bench::results::RunReport {
        tool: "kv-bench".into(),
        machine: kv_bench::machine::MachineInfo::collect(&root),
        settings: settings.clone(),
        engines: vec![run],
        results,
        repeats: Vec::new(),
        wall_secs: None,
        repeats_wall_secs: None,
    };
    let dest = args.json.as_deref().unwrap_or("-");
    if let Err(e) = json::write(&report, dest) {
        return fail(format!("cannot write JSON to {dest}: {e}"), 1);
    }
    match failed {
        Some(error) => fail(format!("engine {engine} failed: {error}"), 1),
        None => ExitCode::SUCCESS,
    }
}

fn display(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}
