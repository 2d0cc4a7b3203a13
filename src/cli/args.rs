//! The command line grammar of `kv` (clap derive).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use kv_core::SyncPolicy;

/// The exit codes, shown at the end of `kv --help` and in the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  not found (`get` of a missing key)
  2  usage error: bad arguments, unknown engine, bad hex, bad --path, no store in --path for a
     read, or a store of another engine than --engine
  3  store error: I/O, store locked by another process, poisoned store, key or value too large
  4  corruption: stored data failed verification (`check` found damage, or a read hit it)

In `repl` with a script on standard input, every failed line prints `error: line N: ...` and
`kv` exits with the code of the first failure once the script has run.

Keys and values are taken and printed as given (bytes) unless --hex is set, in which case
both are hex on input and output. `get` prints the value followed by a newline; `scan`
prints `KEY<TAB>VALUE` lines (use --hex for keys or values holding tabs, newlines or binary).
A key or value that starts with '-' goes after `--`: `kv put -- -k -v`.";

/// `kv`: a command line over every kvlab engine.
#[derive(Debug, Parser)]
#[command(
    name = "kv",
    version,
    about = "Put, get, scan and check keys in any kvlab storage engine",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub struct Cli {
    /// Storage engine (`kv engines` lists them). Default: the engine whose
    /// store the directory holds, or bitcask for a new store. A directory
    /// that holds another engine's store is refused (exit 2).
    #[arg(long, short = 'e', global = true, value_name = "NAME")]
    pub engine: Option<String>,

    /// Store directory (a write creates it if missing; a read never creates
    /// anything). Required by every command but `engines`.
    #[arg(long, short = 'p', global = true, value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// Keys and values are given and printed as hex (e.g. `6b6579` for "key").
    #[arg(long, global = true)]
    pub hex: bool,

    /// When writes become durable: `always` syncs every write before it is
    /// acknowledged; `manual` syncs once before `kv` exits.
    #[arg(long, global = true, value_enum, value_name = "POLICY", default_value_t = SyncArg::Always)]
    pub sync: SyncArg,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The `--sync` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncArg {
    /// Every write is durable when it returns.
    Always,
    /// Writes are made durable by one sync before `kv` exits.
    Manual,
}

impl From<SyncArg> for SyncPolicy {
    fn from(arg: SyncArg) -> Self {
        match arg {
            SyncArg::Always => SyncPolicy::Always,
            SyncArg::Manual => SyncPolicy::Manual,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set KEY to VALUE (VALUE `-` reads the value from standard input).
    Put {
        /// The key.
        key: OsString,
        /// The value, or `-` to read it from standard input (all of it,
        /// byte for byte; with --hex, hex text with whitespace ignored).
        value: OsString,
    },
    /// Print the value of KEY; exit 1 if it is missing.
    Get {
        /// The key.
        key: OsString,
    },
    /// Remove KEY (removing a missing key is not an error).
    #[command(visible_alias = "del")]
    Delete {
        /// The key.
        key: OsString,
    },
    /// Print keys and values in key order, one `KEY<TAB>VALUE` per line.
    Scan(ScanArgs),
    /// Print the store's counters and figures.
    Stats {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Reclaim space (bitcask merge, LSM compaction, B-tree vacuum).
    Compact,
    /// Verify every checksum and invariant (reads the whole store, changes
    /// nothing); list every damaged spot and exit 4 if there is any.
    Check {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Copy every readable pair of a (damaged) store into a new store at
    /// NEW_DIR, and list what was left behind; the source is never changed.
    Salvage {
        /// The new store's directory: missing or empty (it is created).
        #[arg(long, value_name = "NEW_DIR")]
        to: PathBuf,
    },
    /// Interactive session: one command per line (`help` lists them).
    Repl,
    /// List the engines in this build.
    Engines,
    /// Test helper: put keys 0..COUNT one at a time, printing `ok <i>` after
    /// each acknowledged put (used by the process-kill test).
    #[command(hide = true)]
    StressWrites {
        /// How many keys to write.
        #[arg(long)]
        count: u64,
    },
}

/// Arguments of `kv scan`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScanArgs {
    /// Only keys that start with PREFIX.
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<OsString>,
    /// Start at KEY (inclusive).
    #[arg(long, value_name = "KEY")]
    pub from: Option<OsString>,
    /// Stop before KEY (exclusive; see --to-inclusive).
    #[arg(long, value_name = "KEY")]
    pub to: Option<OsString>,
    /// Make --to inclusive.
    #[arg(long, requires = "to")]
    pub to_inclusive: bool,
    /// Print at most N pairs.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Descending key order.
    #[arg(long)]
    pub reverse: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let cli = Cli::try_parse_from(["kv", "get", "k", "--path", "d", "--hex"]).unwrap();
        assert_eq!(cli.path, Some(PathBuf::from("d")));
        assert!(cli.hex);
        assert_eq!(cli.engine, None);
        assert_eq!(cli.sync, SyncArg::Always);
        let cli = Cli::try_parse_from(["kv", "--engine", "memory", "--sync", "manual", "compact"])
            .unwrap();
        assert_eq!(cli.engine.as_deref(), Some("memory"));
        assert_eq!(cli.sync, SyncArg::Manual);
    }

    #[test]
    fn to_inclusive_requires_to() {
        assert!(Cli::try_parse_from(["kv", "scan", "--to-inclusive"]).is_err());
        assert!(Cli::try_parse_from(["kv", "scan", "--to", "b", "--to-inclusive"]).is_ok());
    }
}
