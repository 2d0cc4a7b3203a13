//! The `kv-bench` command line: options, their validation into
//! [`Settings`], and the arguments a child process is started with.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use kv_core::limits::{MAX_BATCH_OPS, MAX_KEY_BYTES, MAX_VALUE_BYTES};
use kv_core::{Error, Result};

use crate::registry;
use crate::settings::{
    EngineCache, Isolation, Settings, SyncChoice, DEFAULT_CACHE_MB, DEFAULT_SYNC_EVERY,
    MAX_CACHE_MB,
};
use crate::workload::keys::MIN_KEY_BYTES;
use crate::workload::{Workload, WorkloadConfig};

/// Largest `--num`: key orders are kept as `u32` indices, and YCSB inserts
/// need room above the loaded keys.
pub const MAX_NUM: u64 = 1 << 30;

/// Most threads of one workload.
pub const MAX_THREADS: u64 = 256;

/// Where the Markdown report goes when `--report` is not given.
pub const DEFAULT_REPORT_DIR: &str = "kv-bench-report";

/// kv-bench: compare kvlab's engines with each other and with well-known
/// embedded stores.
///
/// With no arguments it runs the default comparison (every persistent engine
/// of this build plus `null`, the core workloads, 50,000 keys), prints a
/// table and writes a Markdown report with SVG charts to ./kv-bench-report/.
#[derive(Debug, Parser)]
#[command(
    name = "kv-bench",
    version,
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// A subcommand; none runs the benchmark.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the benchmark run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance suite on engines and print a pass/fail table
    /// (exit status 1 if any case fails).
    Conformance(ConformanceArgs),
    /// List the engines and workloads of this build.
    List,
    /// The process-kill durability check: SIGKILL a writing child over many
    /// rounds and check every acknowledged write after each reopen (exit
    /// status 1 if any engine lost or changed one, or failed to reopen).
    Crash(CrashArgs),
    /// Internal: the child process of `crash` and of the crash-recovery
    /// measurement.
    #[command(hide = true)]
    CrashChild(CrashChildArgs),
}

/// Options of `kv-bench crash`.
#[derive(Debug, Args)]
pub struct CrashArgs {
    /// Engines to check, comma-separated (default: every persistent engine
    /// of this build).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub engines: Vec<String>,
    /// Kill rounds per engine.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub rounds: u64,
    /// Writes in one round (the kill comes after a seeded 0 to this many
    /// acknowledgements).
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub writes: u64,
    /// Keys the writes are drawn from.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub key_space: u64,
    /// Seed of the writes and the kill points.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where stores are created (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Write `crash.md` to DIR.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_REPORT_DIR)]
    pub report: PathBuf,
    /// Do not write `crash.md`.
    #[arg(long)]
    pub no_report: bool,
}

impl CrashArgs {
    /// The validated settings.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown engine.
    pub fn settings(&self) -> Result<crate::crash::CrashSettings> {
        let engines = if self.engines.is_empty() {
            registry::engines()
                .into_iter()
                .filter(|e| e.persistent)
                .map(|e| e.name.to_owned())
                .collect()
        } else {
            resolve_engines(&self.engines)?
        };
        Ok(crate::crash::CrashSettings {
            engines,
            rounds: self.rounds,
            writes_per_round: self.writes,
            key_space: self.key_space,
            seed: self.seed,
        })
    }
}

/// Options of the hidden `kv-bench crash-child`.
#[derive(Debug, Args)]
pub struct CrashChildArgs {
    /// Engine to open.
    #[arg(long)]
    pub engine: String,
    /// Store directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// Seed of the script (or of the load's values).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Round of the script.
    #[arg(long, default_value_t = 0)]
    pub round: u64,
    /// Writes of the script.
    #[arg(long, default_value_t = 0)]
    pub writes: u64,
    /// Keys of the script.
    #[arg(long, default_value_t = 200)]
    pub key_space: u64,
    /// Instead of a script: load this many keys under `SyncPolicy::Manual`.
    #[arg(long)]
    pub load: Option<u64>,
    /// Writes between syncs of the load.
    #[arg(long, default_value_t = 0)]
    pub sync_every: u64,
    /// Unsynced overwrites after the load.
    #[arg(long, default_value_t = 0)]
    pub tail: u64,
    /// Writes per `WriteBatch` of the load and of its tail.
    #[arg(long, default_value_t = crate::crash::child::LOAD_BATCH)]
    pub batch: u64,
    /// Bytes per key of the load.
    #[arg(long, default_value_t = 16)]
    pub key_size: usize,
    /// Bytes per value of the load.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
}

/// Options of `kv-bench conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// Engines to check, comma-separated (default: every engine of this
    /// build except `null`, which stores nothing; name it to include it).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub engines: Vec<String>,
}

/// A comma-separated workload list, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadList(pub Vec<Workload>);

fn parse_workloads(text: &str) -> std::result::Result<WorkloadList, String> {
    Workload::parse_list(text).map(WorkloadList)
}

fn parse_duration_secs(text: &str) -> std::result::Result<f64, String> {
    let secs: f64 = text
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 {
        Ok(secs)
    } else {
        Err(format!(
            "'{text}' is out of range: use more than 0 and at most 86400 seconds"
        ))
    }
}

/// Options of a benchmark run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Engines, comma-separated, or `all` (default: every persistent engine
    /// of this build plus `null`, the harness-cost baseline).
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub engines: Vec<String>,
    /// Workloads, comma-separated; `all` and `default` name those sets. They
    /// always run in canonical order (see docs/benchmarking.md).
    #[arg(long, value_name = "LIST", value_parser = parse_workloads)]
    pub workloads: Option<WorkloadList>,
    /// Keys in the loaded store, and operations per workload.
    #[arg(long, default_value_t = crate::workload::DEFAULT_NUM, value_parser = clap::value_parser!(u64).range(1..=MAX_NUM))]
    pub num: u64,
    /// Bytes per key.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(MIN_KEY_BYTES as u64..=MAX_KEY_BYTES as u64))]
    pub key_size: u64,
    /// Bytes per value.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=MAX_VALUE_BYTES as u64))]
    pub value_size: u64,
    /// Puts and deletes per write batch in the write workloads (1: none).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=MAX_BATCH_OPS as u64))]
    pub batch: u64,
    /// Threads of the fillsync, random-read, seek, YCSB and readwhilewriting
    /// workloads; a comma-separated list (`1,2,4,8`) runs each of them once
    /// per count.
    #[arg(long, value_name = "N[,N...]", value_delimiter = ',', default_value = "1", value_parser = clap::value_parser!(u64).range(1..=MAX_THREADS))]
    pub threads: Vec<u64>,
    /// Sync policy of the stores (fillsync always syncs every write).
    #[arg(long, value_enum, default_value_t = SyncChoice::Manual)]
    pub sync: SyncChoice,
    /// Seed of every key order, value and operation mix.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Under `--sync manual`: the harness calls `sync()` on every engine
    /// after every N acknowledged writes (0: only the sync at the end of each
    /// workload that wrote).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SYNC_EVERY, value_parser = clap::value_parser!(u64).range(0..=MAX_NUM))]
    pub sync_every: u64,
    /// Cache budget of every engine that has a cache, in MiB (the same for
    /// all; the output says what each engine gives it to).
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_CACHE_MB, value_parser = clap::value_parser!(u64).range(1..=MAX_CACHE_MB))]
    pub cache_mb: u64,
    /// Cap on the measured time of each workload, in seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_duration_secs)]
    pub duration: Option<f64>,
    /// Items read after each seek of seekrandom.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub seek_nexts: u32,
    /// Operations of each of readrandom, readmissing and seekrandom
    /// (db_bench's `--reads`; default: --num). Keys are drawn from all
    /// --num keys either way.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_NUM))]
    pub reads: Option<u64>,
    /// Operations of fillsync (capped at --num).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=MAX_NUM))]
    pub sync_num: u64,
    /// Write the results as JSON to FILE, or to stdout with `-` (the table
    /// then goes to stderr).
    #[arg(long, value_name = "FILE|-")]
    pub json: Option<String>,
    /// Write the Markdown report and SVG charts to DIR.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_REPORT_DIR)]
    pub report: PathBuf,
    /// Do not write the Markdown report.
    #[arg(long)]
    pub no_report: bool,
    /// Where stores are created (default: a temporary directory, removed at
    /// the end). Each store's directory is deleted after use.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Run every engine in this process instead of one child process per
    /// engine (peak RSS and /proc/self/io then mix engines).
    #[arg(long)]
    pub in_process: bool,
    /// Internal: run only this engine and print its JSON (what the parent
    /// starts each child with).
    #[arg(long, hide = true, value_name = "NAME")]
    pub single_engine: Option<String>,
    /// A named set of workloads instead of --workloads: `default`, or `full`
    /// (every workload, YCSB A-F included; see docs/benchmarking.md for its
    /// measured duration).
    #[arg(long, value_enum, value_name = "SUITE", conflicts_with = "workloads")]
    pub suite: Option<crate::suite::Suite>,
    /// Runs of fillsync per engine (1: no repeat); the charts show the
    /// median with min-max whiskers, the JSON every run (`repeats`).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_FILLSYNC_RUNS, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub repeat_fillsync: u64,
    /// Run the scaling sweep instead of the comparison: fillrandom,
    /// readrandom and overwrite at each key count (e.g. `100k,1M,10M`),
    /// one chart `scale.svg`. Not part of the default run; its duration
    /// grows with the largest count and the slowest engine. Measured on 2
    /// cores at a load average of about 20-25: `--scale 100k` took 10
    /// minutes for the seven default engines (btree 285 s of it); at 1M,
    /// bitcask 460 s, fjall 545 s, lsm 79 s (figures in
    /// docs/benchmarking.md, "Measured durations").
    #[arg(long, value_name = "COUNTS", value_parser = crate::scale::parse_counts)]
    pub scale: Option<crate::scale::KeyCounts>,
    /// Run nothing: read the JSON of an earlier run (or scaling sweep) and
    /// print its table and write its report and charts again.
    #[arg(long, value_name = "FILE")]
    pub from_json: Option<PathBuf>,
    /// Rewrite the generated blocks of the guide FILE (`docs/choosing.md`)
    /// from this run: with `--from-json`, from that JSON; after a run, from
    /// the `--json FILE` it wrote (required). The text around the blocks is
    /// kept; `tests/choosing_guide_matches_its_json.rs` checks it.
    #[arg(long, value_name = "FILE")]
    pub guide: Option<PathBuf>,
}

/// Default of `--repeat-fillsync`: fillsync runs per engine.
pub const DEFAULT_FILLSYNC_RUNS: u64 = 3;

/// The engines of the default comparison: every persistent engine of this
/// build, plus `null` (the harness-cost baseline) when it is registered.
pub fn default_engines() -> Vec<String> {
    registry::engines()
        .into_iter()
        .filter(|e| e.persistent || e.name == "null")
        .map(|e| e.name.to_owned())
        .collect()
}

/// Checks engine names against the registry, expanding `all`.
///
/// # Errors
/// `InvalidArgument` naming the unknown engine and the available ones.
pub fn resolve_engines(names: &[String]) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(default_engines());
    }
    let mut out: Vec<String> = Vec::new();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let expanded = if name == "all" {
            registry::engines()
                .iter()
                .map(|e| e.name.to_owned())
                .collect()
        } else {
            vec![registry::info(name)?.name.to_owned()]
        };
        for engine in expanded {
            if !out.contains(&engine) {
                out.push(engine);
            }
        }
    }
    if out.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "no engine given; available engines: {}",
            registry::engine_names()
        )));
    }
    Ok(out)
}

impl RunArgs {
    /// Validates the options into [`Settings`].
    ///
    /// # Errors
    /// `InvalidArgument` for unknown engines (the message lists the
    /// available ones).
    pub fn settings(&self) -> Result<Settings> {
        let engines = match &self.single_engine {
            Some(one) => vec![registry::info(one)?.name.to_owned()],
            None => resolve_engines(&self.engines)?,
        };
        let workloads = match (&self.workloads, self.suite) {
            (Some(list), _) => list.0.clone(),
            (None, Some(suite)) => suite.workloads(),
            (None, None) => crate::workload::DEFAULT.to_vec(),
        };
        let mut thread_counts: Vec<usize> = Vec::new();
        for &n in &self.threads {
            if !thread_counts.contains(&(n as usize)) {
                thread_counts.push(n as usize);
            }
        }
        let threads = thread_counts.first().copied().unwrap_or(1);
        let isolation = if self.in_process || self.single_engine.is_some() || engines.len() < 2 {
            Isolation::Shared
        } else {
            Isolation::Process
        };
        Ok(Settings {
            engine_caches: EngineCache::of(&engines),
            engines,
            workloads,
            config: WorkloadConfig {
                num: self.num,
                key_size: self.key_size as usize,
                value_size: self.value_size as usize,
                batch: self.batch as usize,
                threads,
                thread_counts,
                seed: self.seed,
                seek_nexts: self.seek_nexts,
                sync_ops: self.sync_num,
                reads: self.reads,
                duration_secs: self.duration,
            },
            sync: self.sync,
            sync_every: self.sync_every,
            store_dir: self.dir.clone(),
            isolation,
            cache_mb: self.cache_mb,
        })
    }
}

/// The arguments that make a child process run `engine` alone with the same
/// settings, stores under `root`, JSON on stdout.
pub fn child_args(settings: &Settings, engine: &str, root: &Path) -> Vec<OsString> {
    let c = &settings.config;
    let workloads: Vec<&str> = settings.workloads.iter().map(|w| w.name()).collect();
    let mut args: Vec<OsString> = vec![
        "--single-engine".into(),
        engine.into(),
        "--dir".into(),
        root.into(),
        "--workloads".into(),
        workloads.join(",").into(),
        "--json".into(),
        "-".into(),
        "--no-report".into(),
        "--sync".into(),
        settings.sync.name().into(),
        "--threads".into(),
        settings
            .thread_counts()
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
            .into(),
    ];
    let numbers = [
        ("--num", c.num),
        ("--key-size", c.key_size as u64),
        ("--value-size", c.value_size as u64),
        ("--batch", c.batch as u64),
        ("--seed", c.seed),
        ("--seek-nexts", u64::from(c.seek_nexts)),
        ("--sync-num", c.sync_ops),
        ("--cache-mb", settings.cache_mb),
        ("--sync-every", settings.sync_every),
    ];
    for (flag, value) in numbers {
        args.push(flag.into());
        args.push(value.to_string().into());
    }
    if let Some(reads) = c.reads {
        args.push("--reads".into());
        args.push(reads.to_string().into());
    }
    if let Some(secs) = c.duration_secs {
        args.push("--duration".into());
        args.push(secs.to_string().into());
    }
    args
}

/// The clap-error formatter shared with `kv` (it lives in `kv-registry`).
pub use kv_registry::clap_error_line;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> std::result::Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("kv-bench").chain(args.iter().copied()))
    }

    #[test]
    fn child_args_reproduce_the_settings() {
        let cli = parse(&[
            "--engines",
            "memory",
            "--num",
            "1234",
            "--key-size",
            "24",
            "--value-size",
            "7",
            "--batch",
            "8",
            "--threads",
            "3,1,3",
            "--sync",
            "always",
            "--seed",
            "99",
            "--duration",
            "2.5",
            "--workloads",
            "ycsb-e,fillseq",
            "--seek-nexts",
            "4",
            "--sync-num",
            "17",
            "--cache-mb",
            "96",
        ])
        .unwrap();
        let settings = cli.run.settings().unwrap();
        assert_eq!(settings.thread_counts(), [3, 1]);
        assert_eq!(settings.config.threads, 3);
        assert_eq!(settings.cache_mb, 96);
        assert_eq!(settings.cache_bytes(), 96 << 20);
        let args = child_args(&settings, "memory", Path::new("/tmp/x"));
        let child =
            Cli::try_parse_from(std::iter::once(OsString::from("kv-bench")).chain(args)).unwrap();
        let mut again = child.run.settings().unwrap();
        assert_eq!(again.store_dir.as_deref(), Some(Path::new("/tmp/x")));
        again.store_dir = None;
        assert_eq!(again, settings);
    }

    #[test]
    fn cache_budget_defaults_to_64_mib_and_rejects_zero() {
        let settings = parse(&["--engines", "memory"])
            .unwrap()
            .run
            .settings()
            .unwrap();
        assert_eq!(settings.cache_mb, 64);
        assert_eq!(settings.cache_bytes(), crate::peers::DEFAULT_CACHE_BYTES);
        assert_eq!(settings.cache_of("memory"), Some("none (in memory)"));
        assert!(parse(&["--cache-mb", "0"]).is_err());
    }

    #[test]
    fn conformance_help_says_null_is_left_out() {
        use clap::CommandFactory;
        let mut cli = Cli::command();
        let help = cli
            .find_subcommand_mut("conformance")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("except `null`"), "{help}");
        assert!(!help.contains("default: every engine)"), "{help}");
    }
}
