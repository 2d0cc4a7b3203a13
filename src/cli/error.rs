//! [`CliError`]: everything that ends a `kv` command early, with its exit
//! code. Every message is one line; `main` prints it as `kv: <message>`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Exit code for a missing key (`get`).
pub const EXIT_NOT_FOUND: u8 = 1;
/// Exit code for bad arguments (clap's errors use it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code for a store error other than corruption.
pub const EXIT_STORE: u8 = 3;
/// Exit code for data that failed verification.
pub const EXIT_CORRUPTION: u8 = 4;

/// Why a `kv` command failed.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments: exit 2.
    Usage(String),
    /// The key asked for does not exist: exit 1.
    NotFound(String),
    /// The store returned an error: exit 4 for corruption, 2 for a
    /// directory that holds no store or another engine's, else 3.
    Store(kv_core::Error),
    /// A store error on the store (or directory) at a known path; the message
    /// of an I/O error names it. Exit codes as [`CliError::Store`].
    StoreAt(PathBuf, kv_core::Error),
    /// Writing the output failed: exit 3.
    Io(io::Error),
    /// Reading standard input failed: exit 3.
    Input(io::Error),
    /// Input over a limit (a value on standard input): exit 3, nothing
    /// written.
    TooLarge(String),
    /// `kv check` found damage (listed on standard output): exit 4.
    Damaged {
        /// How many damaged spots.
        spots: usize,
    },
    /// A `repl` script ran with failed lines (each reported as it failed):
    /// the exit code is the first failure's.
    Script {
        /// How many lines failed.
        failed: u64,
        /// The number of the first failed line (from 1).
        first_line: u64,
        /// The exit code of the first failure.
        code: u8,
    },
}

impl CliError {
    /// The process exit code for this error (see `kv --help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            Self::NotFound(_) => EXIT_NOT_FOUND,
            Self::Store(e) | Self::StoreAt(_, e) => store_exit_code(e),
            Self::Io(_) | Self::Input(_) | Self::TooLarge(_) => EXIT_STORE,
            Self::Damaged { .. } => EXIT_CORRUPTION,
            Self::Script { code, .. } => *code,
        }
    }

    /// A store error at `path` (the store's directory, or a file in it).
    pub fn store_at(path: &Path, error: kv_core::Error) -> Self {
        Self::StoreAt(path.to_path_buf(), error)
    }

    /// This error with `path` as the place of a store error that names none.
    pub fn at(self, path: &Path) -> Self {
        match self {
            Self::Store(e) => Self::StoreAt(path.to_path_buf(), e),
            other => other,
        }
    }

    /// True when standard output was closed by its reader (`kv scan | head`):
    /// not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::Usage(msg) | Self::NotFound(msg) | Self::TooLarge(msg) => msg.clone(),
            Self::Store(e) => store_message(e, None),
            Self::StoreAt(path, e) => store_message(e, Some(path)),
            Self::Io(e) => format!("writing the output failed: {e}"),
            Self::Input(e) => format!("reading standard input failed: {e}"),
            Self::Damaged { spots } => format!(
                "check found {spots} damaged spot{} (listed on standard output); \
                 `kv salvage --to NEW_DIR` copies every readable pair into a new store",
                if *spots == 1 { "" } else { "s" }
            ),
            Self::Script {
                failed, first_line, ..
            } => format!(
                "the script had {failed} failed line{} (the first: line {first_line})",
                if *failed == 1 { "" } else { "s" }
            ),
        };
        // One line, whatever a nested message holds.
        f.write_str(&one_line(&text))
    }
}

impl std::error::Error for CliError {}

/// Exit code of a store error: corruption 4; a directory that holds no
/// store, another engine's store or foreign files 2 (a usage error: the
/// wrong `--path` or `--engine`); anything else 3.
fn store_exit_code(e: &kv_core::Error) -> u8 {
    use kv_core::Error as E;
    match e {
        E::Corruption { .. } => EXIT_CORRUPTION,
        E::NoStore { .. } | E::WrongEngine { .. } | E::ForeignDirectory { .. } => EXIT_USAGE,
        _ => EXIT_STORE,
    }
}

/// The message for a store error, in terms of what `kv` can do: I/O errors
/// name the path, corruption points at `kv check` and `kv salvage`.
fn store_message(e: &kv_core::Error, path: Option<&Path>) -> String {
    use kv_core::Error as E;
    match (e, path) {
        (E::Io(io), Some(path)) => format!(
            "I/O error on {}: {io} (check the disk, its free space and permissions)",
            path.display()
        ),
        (E::Corruption { file, offset, kind }, _) => format!(
            "corruption in {} at offset {offset}: {kind} (`kv check` lists every damaged \
             spot; `kv salvage --to NEW_DIR` copies every readable pair into a new store)",
            file.display()
        ),
        _ => e.to_string(),
    }
}

impl From<kv_core::Error> for CliError {
    fn from(e: kv_core::Error) -> Self {
        Self::Store(e)
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// `text` with every run of line breaks (and the spaces around them) turned
/// into one space, trimmed.
pub fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::CorruptionKind;

    #[test]
    fn exit_codes_follow_the_documented_table() {
        assert_eq!(CliError::NotFound("x".into()).exit_code(), 1);
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
        let locked = kv_core::Error::Locked { path: "/d".into() };
        assert_eq!(CliError::from(locked).exit_code(), 3);
        let corrupt = kv_core::Error::corruption("/d/f", 7, CorruptionKind::BadKind { got: 9 });
        assert_eq!(CliError::from(corrupt).exit_code(), 4);
        assert_eq!(CliError::from(io::Error::other("x")).exit_code(), 3);
        let none = kv_core::Error::NoStore { path: "/d".into() };
        assert_eq!(CliError::from(none).exit_code(), 2);
        let wrong = kv_core::Error::WrongEngine {
            path: "/d".into(),
            found: "redb".into(),
            expected: "bitcask".into(),
        };
        assert_eq!(CliError::from(wrong).exit_code(), 2);
        let damaged = CliError::Damaged { spots: 2 };
        assert_eq!(damaged.exit_code(), 4);
    }

    #[test]
    fn io_errors_name_the_path_and_corruption_names_real_commands() {
        let io = kv_core::Error::Io(io::Error::other("disk on fire"));
        let text = CliError::from(io).at(Path::new("/data/db")).to_string();
        assert!(
            text.contains("/data/db") && text.contains("disk on fire"),
            "{text}"
        );
        let corrupt = kv_core::Error::corruption("/d/f", 7, CorruptionKind::BadKind { got: 9 });
        let text = CliError::from(corrupt).to_string();
        assert!(
            text.contains("kv check") && text.contains("kv salvage --to"),
            "{text}"
        );
        assert!(!text.contains("salvage enabled"), "{text}");
    }

    #[test]
    fn messages_are_one_line() {
        let e = CliError::Usage("first\n\n  second  \nthird".into());
        assert_eq!(e.to_string(), "first second third");
    }
}
