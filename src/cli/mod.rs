//! The `kv` command line, as a library so that every piece is testable:
//! [`args`] (the grammar), [`run`] (open the store, dispatch, sync),
//! [`commands`], [`repl`], [`encoding`] (text or hex), [`output`] (tables and
//! JSON) and [`error`] (one-line messages and exit codes).
//!
//! # Exit codes
//!
//! 0 success; 1 not found; 2 usage error; 3 store error; 4 corruption
//! (see [`args::EXIT_CODES_HELP`]). A bug that panics exits 101 after one
//! `kv: internal error ...` line ([`install_panic_hook`]).
//!
//! # Durability
//!
//! `--sync always` (the default) syncs every write before it is
//! acknowledged; with either policy, every command that may write calls
//! [`kv_core::Store::sync`] before it returns, so a `kv put` that exited 0
//! is durable.

pub mod args;
pub mod commands;
pub mod encoding;
pub mod error;
pub mod output;
pub mod repl;
pub mod stress;
pub mod tokens;

use std::io::{BufRead, Write};

use kv_core::Store;
use kv_registry::{self as registry, OpenConfig};

pub use args::{Cli, Command, ScanArgs, SyncArg};
pub use encoding::Codec;
pub use error::CliError;

use commands::ScanSpec;
use error::one_line;
use repl::{run_repl, ReplIo};

/// The standard streams, passed in so tests can run commands in memory.
pub struct Streams<'a> {
    /// Standard input (`put KEY -` and `repl` read it).
    pub stdin: &'a mut dyn BufRead,
    /// True when standard input is a terminal (the REPL prompts then).
    pub stdin_is_terminal: bool,
    /// Standard output.
    pub stdout: &'a mut dyn Write,
    /// Standard error (the REPL's per-command error lines).
    pub stderr: &'a mut dyn Write,
}

/// Runs one parsed `kv` invocation: opens the store, runs the command, and
/// syncs the store before returning when the command may have written.
///
/// # Errors
/// A [`CliError`] whose message is one line and whose
/// [`CliError::exit_code`] is the process exit code.
pub fn run(cli: &Cli, io: Streams<'_>) -> Result<(), CliError> {
    let codec = Codec::from_hex_flag(cli.hex);
    // Decode every argument first: a usage error never opens (or creates)
    // the store.
    let action = match decode_action(&cli.command, codec, &mut *io.stdin)? {
        Some(action) => action,
        None => {
            write_engines(io.stdout)?;
            io.stdout.flush()?;
            return Ok(());
        }
    };
    let store = open_store(cli)?;
    let result = execute(&*store, &action, codec, io);
    if action.may_write() {
        // Sync even after a failure: what was acknowledged must be durable.
        let synced = store.sync().map_err(CliError::from);
        result.and(synced)
    } else {
        result
    }
}

/// A command with its keys and values decoded.
enum Action {
    Put(Vec<u8>, Vec<u8>),
    Get(Vec<u8>),
    Delete(Vec<u8>),
    Scan(ScanSpec),
    Stats { json: bool },
    Compact,
    Check { json: bool },
    Repl,
    StressWrites { count: u64 },
}

impl Action {
    fn may_write(&self) -> bool {
        matches!(
            self,
            Action::Put(..)
                | Action::Delete(_)
                | Action::Compact
                | Action::Repl
                | Action::StressWrites { .. }
        )
    }
}

/// The decoded action, or `None` for `engines` (which opens no store).
fn decode_action(
    command: &Command,
    codec: Codec,
    stdin: &mut dyn BufRead,
) -> Result<Option<Action>, CliError> {
    let action = match command {
        Command::Put { key, value } => {
            let key = codec.decode_arg(key, "key")?;
            let value = if value.as_os_str() == std::ffi::OsStr::new("-") {
                let mut raw = Vec::new();
                stdin.read_to_end(&mut raw)?;
                codec.decode(&raw, "value from standard input")?
            } else {
                codec.decode_arg(value, "value")?
            };
            Action::Put(key, value)
        }
        Command::Get { key } => Action::Get(codec.decode_arg(key, "key")?),
        Command::Delete { key } => Action::Delete(codec.decode_arg(key, "key")?),
        Command::Scan(scan) => Action::Scan(scan_spec(scan, codec)?),
        Command::Stats { json } => Action::Stats { json: *json },
        Command::Compact => Action::Compact,
        Command::Check { json } => Action::Check { json: *json },
        Command::Repl => Action::Repl,
        Command::StressWrites { count } => Action::StressWrites { count: *count },
        Command::Engines => return Ok(None),
    };
    Ok(Some(action))
}

fn execute(
    store: &dyn Store,
    action: &Action,
    codec: Codec,
    io: Streams<'_>,
) -> Result<(), CliError> {
    let out = io.stdout;
    match action {
        Action::Put(key, value) => commands::put(store, key, value)?,
        Action::Get(key) => commands::get(store, codec, key, out)?,
        Action::Delete(key) => commands::delete(store, key)?,
        Action::Scan(spec) => {
            commands::scan(store, codec, spec, out)?;
        }
        Action::Stats { json } => commands::stats(store, *json, out)?,
        Action::Compact => commands::compact(store, out)?,
        Action::Check { json } => commands::check(store, *json, out)?,
        Action::Repl => {
            let io = ReplIo {
                input: io.stdin,
                interactive: io.stdin_is_terminal,
                out: &mut *out,
                err: io.stderr,
            };
            run_repl(store, codec, io)?;
        }
        Action::StressWrites { count } => stress::stress_writes(store, *count, out)?,
    }
    out.flush()?;
    Ok(())
}

/// Decodes `kv scan`'s arguments.
///
/// # Errors
/// `Usage` for bad hex.
pub fn scan_spec(args: &ScanArgs, codec: Codec) -> Result<ScanSpec, CliError> {
    let decode = |arg: &Option<std::ffi::OsString>, what| {
        arg.as_deref()
            .map(|a| codec.decode_arg(a, what))
            .transpose()
    };
    let prefix = decode(&args.prefix, "--prefix")?;
    let from = decode(&args.from, "--from")?;
    let to = decode(&args.to, "--to")?;
    let mut spec = ScanSpec::new(
        prefix.as_deref(),
        from.as_deref(),
        to.as_deref(),
        args.to_inclusive,
    );
    spec.limit = args.limit;
    if args.reverse {
        spec.direction = kv_core::Direction::Reverse;
    }
    Ok(spec)
}

/// Opens the store `cli` names, after checking `--engine` and `--path`.
///
/// # Errors
/// `Usage` for an unknown engine (the message lists the available ones), a
/// missing `--path`, a path that is not a directory, or a missing directory
/// for a command that only reads; otherwise the engine's open error
/// (`Locked`, `Corruption`, I/O).
pub fn open_store(cli: &Cli) -> Result<Box<dyn Store>, CliError> {
    let info = registry::info(&cli.engine).map_err(|_| {
        CliError::Usage(format!(
            "unknown engine '{}'; available engines: {} (`kv engines` describes them)",
            cli.engine,
            registry::engine_names()
        ))
    })?;
    let Some(path) = cli.path.as_deref() else {
        return Err(CliError::Usage(
            "--path DIR is required: the store's directory (`kv --path DIR ...`)".into(),
        ));
    };
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_dir() => {
            return Err(CliError::Usage(format!(
                "--path {} is not a directory (give the store's directory)",
                path.display()
            )))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if info.persistent && cli.command.needs_existing_store() {
                return Err(CliError::Usage(format!(
                    "no store at {}: the directory does not exist (a `kv put` creates it)",
                    path.display()
                )));
            }
        }
        Err(e) => return Err(CliError::Store(kv_core::Error::Io(e))),
    }
    // Every other field (cache budget, file system) keeps its default.
    let config = OpenConfig {
        sync: cli.sync.into(),
        ..OpenConfig::default()
    };
    Ok(registry::open(info.name, path, &config)?)
}

/// Writes the engine table of `kv engines`.
///
/// # Errors
/// The writer's.
pub fn write_engines(out: &mut dyn Write) -> std::io::Result<()> {
    let engines = registry::engines();
    let width = engines
        .iter()
        .map(|e| e.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(
        out,
        "{:<width$}  {:<7}  {:<10}  DESCRIPTION",
        "NAME", "KIND", "PERSISTENT"
    )?;
    for e in engines {
        let persistent = if e.persistent { "yes" } else { "no" };
        writeln!(
            out,
            "{:<width$}  {:<7}  {persistent:<10}  {}",
            e.name,
            e.kind.label(),
            e.description
        )?;
    }
    Ok(())
}

/// One line for a clap error that is a real error (not `--help` or
/// `--version`): the message and any tip, without the usage block.
pub fn clap_error_line(e: &clap::Error) -> String {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return format!(
            "a command is required, one of: {} (try 'kv --help')",
            visible_subcommands().join(", ")
        );
    }
    kv_registry::clap_error_line(e, "kv")
}

/// Names of the subcommands shown in `kv --help`.
fn visible_subcommands() -> Vec<String> {
    use clap::CommandFactory;
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect()
}

/// Turns panics into one `kv: internal error ...` line on standard error
/// instead of a message and a backtrace hint; the process still exits 101.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "kv: internal error{place}: {} (a bug in kv; please report it)",
            one_line(&payload)
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn run_memory(args: &[&str], stdin: &[u8]) -> (Result<(), CliError>, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut full = vec!["kv", "--engine", "memory", "--path"];
        let path = dir.path().to_str().unwrap().to_string();
        full.push(&path);
        full.extend_from_slice(args);
        let cli = Cli::try_parse_from(full).unwrap();
        let mut input = stdin;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let result = run(
            &cli,
            Streams {
                stdin: &mut input,
                stdin_is_terminal: false,
                stdout: &mut out,
                stderr: &mut err,
            },
        );
        (result, String::from_utf8(out).unwrap())
    }

    #[test]
    fn put_from_stdin_in_hex_and_repl() {
        // memory keeps nothing between invocations, so drive one repl.
        let (result, out) = run_memory(&["--hex", "repl"], b"put 6b 7631\nget 6b\n");
        result.unwrap();
        assert_eq!(out, "7631\n");
        let (result, _) = run_memory(&["--hex", "put", "6b", "-"], b"not hex");
        assert_eq!(result.unwrap_err().exit_code(), 2);
        let (result, _) = run_memory(&["put", "k", "-"], b"from stdin");
        result.unwrap();
    }

    #[test]
    fn unknown_engine_lists_the_available_ones() {
        let cli =
            Cli::try_parse_from(["kv", "--engine", "nope", "--path", "x", "get", "k"]).unwrap();
        let err = open_store(&cli).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains("unknown engine 'nope'"), "{text}");
        assert!(text.contains("memory"), "{text}");
    }

    #[test]
    fn missing_path_and_file_path_are_usage_errors() {
        let cli = Cli::try_parse_from(["kv", "--engine", "memory", "get", "k"]).unwrap();
        let err = open_store(&cli).err().unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--path DIR is required"));
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = file.path().to_str().unwrap();
        let cli =
            Cli::try_parse_from(["kv", "--engine", "memory", "--path", path, "get", "k"]).unwrap();
        let err = open_store(&cli).err().unwrap();
        assert!(err.to_string().contains("is not a directory"), "{err}");
    }

    #[test]
    fn clap_errors_become_one_line() {
        let err = Cli::try_parse_from(["kv", "--bogus", "get", "k"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(!line.contains('\n'));
        assert!(line.contains("--bogus"), "{line}");
        let err = Cli::try_parse_from(["kv", "put", "k"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(line.contains("<VALUE>"), "{line}");
        assert!(!line.contains("Usage"), "{line}");
        let err = Cli::try_parse_from(["kv", "--pat", "x", "get", "k"]).unwrap_err();
        let line = clap_error_line(&err);
        assert!(
            line.contains("found; tip: a similar argument exists: '--path'"),
            "{line}"
        );
        for args in [&["kv"][..], &["kv", "--path", "x"][..]] {
            let err = Cli::try_parse_from(args).unwrap_err();
            let line = clap_error_line(&err);
            assert!(
                line.starts_with("a command is required, one of: put, get,"),
                "{line}"
            );
            assert!(!line.contains("stress-writes"), "{line}");
        }
    }

    #[test]
    fn engines_table_lists_every_registered_engine() {
        let mut out = Vec::new();
        write_engines(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for e in registry::engines() {
            assert!(text.lines().any(|l| l.starts_with(e.name)), "{text}");
        }
    }
}
