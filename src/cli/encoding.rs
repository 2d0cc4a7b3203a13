//! How keys and values cross the command line: as the bytes given (text) or
//! as hex (`--hex`).

use std::ffi::OsStr;
use std::io::{self, Write};

use super::error::CliError;

/// The encoding of keys and values on input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// The bytes as given: arguments byte for byte, output written raw.
    Text,
    /// Lowercase hex on output; hex digits in either case, with an optional
    /// `0x` prefix, on input. The empty string is the empty key or value.
    Hex,
}

impl Codec {
    /// The codec for the `--hex` flag.
    pub fn from_hex_flag(hex: bool) -> Self {
        if hex {
            Self::Hex
        } else {
            Self::Text
        }
    }

    /// Decodes a command-line argument; `what` names it in errors.
    ///
    /// # Errors
    /// `Usage` for bad hex, or for a non-UTF-8 argument on platforms whose
    /// arguments are not bytes.
    pub fn decode_arg(self, arg: &OsStr, what: &str) -> Result<Vec<u8>, CliError> {
        self.decode(&os_str_bytes(arg, what)?, what)
    }

    /// Decodes bytes read from a REPL line or standard input.
    ///
    /// # Errors
    /// `Usage` for bad hex (in hex mode, ASCII whitespace is ignored).
    pub fn decode(self, bytes: &[u8], what: &str) -> Result<Vec<u8>, CliError> {
        match self {
            Self::Text => Ok(bytes.to_vec()),
            Self::Hex => decode_hex(bytes)
                .map_err(|problem| CliError::Usage(format!("{what} is not valid hex: {problem}"))),
        }
    }

    /// Writes `bytes` in this encoding.
    ///
    /// # Errors
    /// The writer's.
    pub fn write(self, out: &mut dyn Write, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Text => out.write_all(bytes),
            Self::Hex => out.write_all(encode_hex(bytes).as_bytes()),
        }
    }

    /// `bytes` in this encoding as a string for messages (text is shown
    /// lossily, invalid UTF-8 as U+FFFD).
    pub fn display(self, bytes: &[u8]) -> String {
        match self {
            Self::Text => String::from_utf8_lossy(bytes).into_owned(),
            Self::Hex => encode_hex(bytes),
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes hex digits (either case), ignoring ASCII whitespace and one
/// leading `0x`. Returns what is wrong on failure.
pub fn decode_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    let trimmed = text.trim_ascii();
    let digits_part = trimmed
        .strip_prefix(b"0x")
        .or_else(|| trimmed.strip_prefix(b"0X"))
        .unwrap_or(trimmed);
    let mut nibbles = Vec::with_capacity(digits_part.len());
    for &c in digits_part {
        if c.is_ascii_whitespace() {
            continue;
        }
        let nibble = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => {
                return Err(format!(
                    "unexpected character {:?} (use 0-9 and a-f)",
                    char::from(c)
                ))
            }
        };
        nibbles.push(nibble);
    }
    if nibbles.len() % 2 != 0 {
        return Err(format!(
            "odd number of hex digits ({}); every byte takes two",
            nibbles.len()
        ));
    }
    Ok(nibbles
        .chunks_exact(2)
        .map(|p| (p[0] << 4) | p[1])
        .collect())
}

#[cfg(unix)]
fn os_str_bytes(arg: &OsStr, _what: &str) -> Result<Vec<u8>, CliError> {
    use std::os::unix::ffi::OsStrExt;
    Ok(arg.as_bytes().to_vec())
}

#[cfg(not(unix))]
fn os_str_bytes(arg: &OsStr, what: &str) -> Result<Vec<u8>, CliError> {
    arg.to_str()
        .map(|s| s.as_bytes().to_vec())
        .ok_or_else(|| CliError::Usage(format!("{what} is not valid Unicode (use --hex)")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_accepts_case_prefix_and_whitespace() {
        assert_eq!(decode_hex(b"6B6579").unwrap(), b"key");
        assert_eq!(decode_hex(b"0x6b 65\n79\n").unwrap(), b"key");
        assert_eq!(decode_hex(b"").unwrap(), b"");
        assert_eq!(decode_hex(b"0x").unwrap(), b"");
    }

    #[test]
    fn bad_hex_says_what_is_wrong() {
        assert!(decode_hex(b"abc").unwrap_err().contains("odd number"));
        assert!(decode_hex(b"zz").unwrap_err().contains("'z'"));
        let err = Codec::Hex.decode(b"xy", "key").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().starts_with("key is not valid hex"));
    }

    #[test]
    fn text_is_bytes_as_given() {
        assert_eq!(
            Codec::Text.decode_arg(OsStr::new("a b\tc"), "key").unwrap(),
            b"a b\tc"
        );
        let mut out = Vec::new();
        Codec::Text.write(&mut out, b"\xff\x00").unwrap();
        assert_eq!(out, b"\xff\x00");
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = encode_hex(&bytes);
            prop_assert_eq!(decode_hex(text.as_bytes()).unwrap(), bytes);
        }
    }
}
