//! The manifest: a log of version edits, and the CURRENT file naming it.
//!
//! ```text
//! MANIFEST-NNNNNN: | file header: magic "KVLSMMAN" (8) | version (4) | crc32 (4) |
//!                  | record(Put, seq = edit index, key = "edit", value = edit) | ...
//! edit:            | tag (u8) | fields (varints) | ...   until the end of the value
//!   tag 1 log number      | number |
//!   tag 2 next file       | number |
//!   tag 3 last sequence   | seq |
//!   tag 4 add table       | level | number | size |
//!   tag 5 delete table    | level | number |
//!   tag 6 compaction      | strategy (0 leveled, 1 tiered) |   (the strategy the
//!                           store was last opened with; absent in older stores)
//! CURRENT:         "MANIFEST-NNNNNN\n"  (replaced with kv_core::fs::write_file_atomic)
//! ```
//!
//! Edits are framed in the shared record format, so a torn last edit is a
//! torn tail (that edit never happened: it was not synced, so nothing acted
//! on it) and damage before valid edits is corruption.
//!
//! # Durability
//! [`ManifestWriter::append`] syncs before it returns; an edit is acted on
//! (files removed, a WAL dropped) only after that. A table and its directory
//! entry are durable before the edit naming it is appended.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use kv_core::codec::{
    decode_file_header, encode_file_header, encode_put, LeReader, LogEntry, LogReader,
    FILE_HEADER_BYTES,
};
use kv_core::{CorruptionKind, Error, File, Fs, Result};

use crate::files::{file_name, parse_file_name, FileKind, CURRENT};
use crate::options::NUM_LEVELS;

/// Magic of a manifest's file header ("KVLSMMAN").
pub const MANIFEST_MAGIC: u64 = u64::from_le_bytes(*b"KVLSMMAN");
/// Manifest format version.
pub const MANIFEST_VERSION: u32 = 1;
/// Record key of every edit.
const EDIT_KEY: &[u8] = b"edit";

/// One change to the set of live files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionEdit {
    /// WALs numbered below this are flushed and obsolete.
    pub log_number: Option<u64>,
    /// The next file number to hand out.
    pub next_file: Option<u64>,
    /// The largest sequence number written.
    pub last_seq: Option<u64>,
    /// Tables added: (level, number, size).
    pub added: Vec<(usize, u64, u64)>,
    /// Tables removed: (level, number).
    pub deleted: Vec<(usize, u64)>,
    /// The compaction strategy the store was opened with
    /// ([`crate::compaction::CompactionStrategy::tag`]).
    pub strategy: Option<u64>,
}

fn put(out: &mut Vec<u8>, tag: u8, fields: &[u64]) {
    out.push(tag);
    for &f in fields {
        kv_core::codec::put_varint(out, f);
    }
}

impl VersionEdit {
    /// The edit's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(n) = self.log_number {
            put(&mut out, 1, &[n]);
        }
        if let Some(n) = self.next_file {
            put(&mut out, 2, &[n]);
        }
        if let Some(n) = self.last_seq {
            put(&mut out, 3, &[n]);
        }
        for &(level, number, size) in &self.added {
            put(&mut out, 4, &[level as u64, number, size]);
        }
        for &(level, number) in &self.deleted {
            put(&mut out, 5, &[level as u64, number]);
        }
        if let Some(n) = self.strategy {
            put(&mut out, 6, &[n]);
        }
        out
    }

    /// Parses an edit.
    ///
    /// # Errors
    /// The corruption found (unknown tag, cut field, level out of range).
    pub fn decode(bytes: &[u8]) -> std::result::Result<Self, CorruptionKind> {
        let mut r = LeReader::new(bytes);
        let mut edit = Self::default();
        let cut = || CorruptionKind::Invariant("version edit cut short".into());
        let level_of = |v: u64| -> std::result::Result<usize, CorruptionKind> {
            if v >= NUM_LEVELS as u64 {
                return Err(CorruptionKind::Invariant(format!(
                    "level {v} in a version edit"
                )));
            }
            Ok(v as usize)
        };
        while let Some(tag) = r.u8() {
            let mut v = || r.varint().ok_or_else(cut);
            match tag {
                1 => edit.log_number = Some(v()?),
                2 => edit.next_file = Some(v()?),
                3 => edit.last_seq = Some(v()?),
                4 => {
                    let (level, number, size) = (v()?, v()?, v()?);
                    edit.added.push((level_of(level)?, number, size));
                }
                5 => {
                    let (level, number) = (v()?, v()?);
                    edit.deleted.push((level_of(level)?, number));
                }
                6 => edit.strategy = Some(v()?),
                other => return Err(CorruptionKind::BadKind { got: other }),
            }
        }
        Ok(edit)
    }
}

/// The state a manifest describes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestState {
    /// WALs numbered at least this are live.
    pub log_number: u64,
    /// Next file number.
    pub next_file: u64,
    /// Last sequence number.
    pub last_seq: u64,
    /// Live tables per level: number -> size.
    pub levels: Vec<BTreeMap<u64, u64>>,
    /// The compaction strategy recorded last (`None` in a store that never
    /// recorded one: it was leveled).
    pub strategy: Option<u64>,
}

impl ManifestState {
    /// The state of a new store.
    pub fn empty() -> Self {
        Self {
            log_number: 0,
            next_file: 1,
            last_seq: 0,
            levels: vec![BTreeMap::new(); NUM_LEVELS],
            strategy: None,
        }
    }

    /// Applies `edit`.
    ///
    /// # Errors
    /// `Invariant` when it deletes a table that is not live or adds one that
    /// is.
    pub fn apply(&mut self, edit: &VersionEdit) -> std::result::Result<(), CorruptionKind> {
        for &(level, number) in &edit.deleted {
            if self.levels[level].remove(&number).is_none() {
                return Err(CorruptionKind::Invariant(format!(
                    "edit deletes table {number} that is not live at level {level}"
                )));
            }
        }
        for &(level, number, size) in &edit.added {
            if self.levels.iter().any(|l| l.contains_key(&number)) {
                return Err(CorruptionKind::Invariant(format!(
                    "edit adds table {number} that is already live"
                )));
            }
            self.levels[level].insert(number, size);
        }
        if let Some(n) = edit.log_number {
            self.log_number = self.log_number.max(n);
        }
        if let Some(n) = edit.next_file {
            self.next_file = self.next_file.max(n);
        }
        if let Some(n) = edit.last_seq {
            self.last_seq = self.last_seq.max(n);
        }
        if edit.strategy.is_some() {
            self.strategy = edit.strategy;
        }
        Ok(())
    }

    /// One edit that rebuilds this state from nothing.
    pub fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            log_number: Some(self.log_number),
            next_file: Some(self.next_file),
            last_seq: Some(self.last_seq),
            added: self
                .levels
                .iter()
                .enumerate()
                .flat_map(|(level, files)| files.iter().map(move |(&n, &s)| (level, n, s)))
                .collect(),
            deleted: Vec::new(),
            strategy: self.strategy,
        }
    }

    /// Every live table number.
    pub fn live_tables(&self) -> impl Iterator<Item = u64> + '_ {
        self.levels.iter().flat_map(|l| l.keys().copied())
    }
}

/// What loading the manifest found.
#[derive(Debug)]
pub struct Loaded {
    /// The state.
    pub state: ManifestState,
    /// The manifest's file number (`None` for a store without CURRENT).
    pub number: Option<u64>,
    /// Damage found (in `Verify` mode the prefix before it is used).
    pub damage: Option<Error>,
}

/// Reads CURRENT and the manifest it names. A store without CURRENT is new
/// (a crash during the first open can leave a manifest without CURRENT).
///
/// # Errors
/// I/O failures; `Corruption` for a damaged CURRENT.
pub fn load(fs: &dyn Fs, dir: &Path) -> Result<Loaded> {
    let current_path = dir.join(CURRENT);
    let Some(current) = kv_core::fs::read_file_if_exists(fs, &current_path)? else {
        return Ok(Loaded {
            state: ManifestState::empty(),
            number: None,
            damage: None,
        });
    };
    let name = std::str::from_utf8(&current)
        .ok()
        .and_then(|s| s.strip_suffix('\n'))
        .filter(|s| !s.contains('/'));
    let number = match name.and_then(parse_file_name) {
        Some((FileKind::Manifest, n)) => n,
        _ => {
            return Err(Error::corruption(
                current_path,
                0,
                CorruptionKind::Invariant("CURRENT does not name a manifest".into()),
            ))
        }
    };
    let path = dir.join(file_name(FileKind::Manifest, number));
    let Some(data) = kv_core::fs::read_file_if_exists(fs, &path)? else {
        return Err(Error::corruption(
            path,
            0,
            CorruptionKind::MissingFile("the manifest CURRENT names".into()),
        ));
    };
    let (state, damage) = replay(&path, &data);
    Ok(Loaded {
        state,
        number: Some(number),
        damage,
    })
}

/// Replays a manifest's bytes: the state, and the first damage found.
pub fn replay(path: &Path, data: &[u8]) -> (ManifestState, Option<Error>) {
    let mut state = ManifestState::empty();
    match decode_file_header(data, path, MANIFEST_MAGIC, MANIFEST_VERSION) {
        Ok(Some(_)) => {}
        Ok(None) => {
            let kind = CorruptionKind::MissingFile("manifest without a header".into());
            return (state, Some(Error::corruption(path, 0, kind)));
        }
        Err(e) => return (state, Some(e)),
    }
    let body = data.get(FILE_HEADER_BYTES..).unwrap_or(&[]);
    for entry in LogReader::new(path, body, FILE_HEADER_BYTES as u64) {
        let (offset, value) = match entry {
            Ok(LogEntry::Single(one)) if one.record.key == EDIT_KEY => {
                (one.offset, one.record.value)
            }
            Ok(LogEntry::Single(one)) => {
                let kind = CorruptionKind::Mismatch("manifest record is not an edit".into());
                return (state, Some(Error::corruption(path, one.offset, kind)));
            }
            Ok(LogEntry::Batch { offset, .. }) => {
                let kind = CorruptionKind::Mismatch("batch in a manifest".into());
                return (state, Some(Error::corruption(path, offset, kind)));
            }
            Err(e) => return (state, Some(e)),
        };
        let applied = VersionEdit::decode(value).and_then(|edit| state.apply(&edit));
        if let Err(kind) = applied {
            return (state, Some(Error::corruption(path, offset, kind)));
        }
    }
    (state, None)
}

/// Appends edits to the live manifest.
#[derive(Debug)]
pub struct ManifestWriter {
    file: Arc<dyn File>,
    number: u64,
    edits: u64,
    bytes: u64,
}

impl ManifestWriter {
    /// Writes a new manifest `number` holding `state` as one edit, syncs it
    /// and the directory, then points CURRENT at it (synced temp file,
    /// rename, directory sync).
    ///
    /// # Errors
    /// I/O failures.
    pub fn create(fs: &dyn Fs, dir: &Path, number: u64, state: &ManifestState) -> Result<Self> {
        let name = file_name(FileKind::Manifest, number);
        let file = fs.create(&dir.join(&name))?;
        let mut buf = encode_file_header(MANIFEST_MAGIC, MANIFEST_VERSION).to_vec();
        encode_put(&mut buf, 0, EDIT_KEY, &state.snapshot_edit().encode());
        file.append(&buf)?;
        file.sync()?;
        fs.sync_dir(dir)?;
        kv_core::fs::write_file_atomic(fs, dir, CURRENT, format!("{name}\n").as_bytes())?;
        Ok(Self {
            file,
            number,
            edits: 1,
            bytes: buf.len() as u64,
        })
    }

    /// The manifest's file number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Bytes in the manifest.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends `edit` and syncs.
    ///
    /// # Errors
    /// I/O failures (the caller poisons the store).
    pub fn append(&mut self, edit: &VersionEdit) -> Result<()> {
        let mut buf = Vec::new();
        encode_put(&mut buf, self.edits, EDIT_KEY, &edit.encode());
        self.file.append(&buf)?;
        self.file.sync()?;
        self.edits += 1;
        self.bytes += buf.len() as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn edits_round_trip() {
        let edit = VersionEdit {
            log_number: Some(7),
            next_file: Some(9),
            last_seq: Some(1000),
            added: vec![(0, 8, 4096), (2, 5, 1)],
            deleted: vec![(1, 3)],
            strategy: Some(1),
        };
        assert_eq!(VersionEdit::decode(&edit.encode()).unwrap(), edit);
        assert!(VersionEdit::decode(&[9]).is_err());
        assert!(VersionEdit::decode(&[4, 99, 1, 1]).is_err());
    }

    #[test]
    fn state_refuses_impossible_edits() {
        let mut s = ManifestState::empty();
        let add = VersionEdit {
            added: vec![(0, 4, 10)],
            ..VersionEdit::default()
        };
        s.apply(&add).unwrap();
        assert!(s.apply(&add).is_err());
        let del = VersionEdit {
            deleted: vec![(1, 4)],
            ..VersionEdit::default()
        };
        assert!(s.apply(&del).is_err());
    }
}
