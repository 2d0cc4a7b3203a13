//! [`CliError`]: everything that ends a `kv` command early, with its exit
//! code. Every message is one line; `main` prints it as `kv: <message>`.

use std::fmt;
use std::io;

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
    /// The store returned an error: exit 4 for corruption, else 3.
    Store(kv_core::Error),
    /// Writing the output or reading standard input failed: exit 3.
    Io(io::Error),
}

impl CliError {
    /// The process exit code for this error (see `kv --help`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => EXIT_USAGE,
            Self::NotFound(_) => EXIT_NOT_FOUND,
            Self::Store(e) if e.is_corruption() => EXIT_CORRUPTION,
            Self::Store(_) | Self::Io(_) => EXIT_STORE,
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
            Self::Usage(msg) | Self::NotFound(msg) => msg.clone(),
            Self::Store(e) => e.to_string(),
            Self::Io(e) => format!("input/output failed: {e}"),
        };
        // One line, whatever a nested message holds.
        f.write_str(&one_line(&text))
    }
}

impl std::error::Error for CliError {}

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
    }

    #[test]
    fn messages_are_one_line() {
        let e = CliError::Usage("first\n\n  second  \nthird".into());
        assert_eq!(e.to_string(), "first second third");
    }
}
