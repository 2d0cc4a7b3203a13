//! `kv-bench`: run the engine comparison, or the conformance suite.
//!
//! ```text
//! cargo run --release -p kv-bench                      # the default comparison
//! cargo run --release -p kv-bench -- --engines bitcask,redb --workloads ycsb-a --num 100000
//! cargo run --release -p kv-bench -- conformance --engines bitcask
//! ```
//!
//! Errors are one line on stderr and a non-zero exit status: 2 for bad
//! options, 1 when an engine failed during the run or a conformance case
//! failed.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use kv_bench::cli::{Cli, Command, ConformanceArgs, RunArgs};
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
    eprint!("{}", table::render_header(&settings));
    let exe = std::env::current_exe().ok();
    let report = match runner::run(&settings, exe.as_deref()) {
        Ok(report) => report,
        Err(e) => return fail(e, 1),
    };
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
    if report.all_engines_finished() {
        ExitCode::SUCCESS
    } else {
        fail(
            "at least one engine failed (see above); its results are incomplete",
            1,
        )
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
