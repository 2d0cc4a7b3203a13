//! [`Outputs`]: the output files of a merge, written as `*.data.tmp` and
//! `*.hint.tmp` (each synced when sealed) and rolled at `max_file_bytes`;
//! the merge's commit renames them into place (see [`crate::merge`]).

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use kv_core::{File, Fs, Result};

use crate::data_file::{data_file_header, data_file_name, hint_file_name, TMP_SUFFIX};
use crate::entry_list::EntryList;
use crate::hint::{encode_hint, Hint};
use crate::keydir::Entry;
use crate::store_dir::StoreDir;

/// One output data file being written.
#[derive(Debug)]
pub(crate) struct Output {
    pub id: u32,
    pub tmp_data: PathBuf,
    pub tmp_hint: PathBuf,
    pub file: Arc<dyn File>,
    pub buffer: Vec<u8>,
    pub len: u64,
    pub hint: EntryList,
    pub min_seq: u64,
    pub max_seq: u64,
    /// Records appended.
    pub records: u64,
    pub hint_bytes: u64,
}

/// The output files of a merge, rolled at `max_file_bytes`.
pub(crate) struct Outputs<'a> {
    dir: &'a StoreDir,
    max_file_bytes: u64,
    write_buffer_bytes: usize,
    current: Option<Output>,
    /// The sealed outputs, oldest first.
    pub done: Vec<Output>,
}

impl<'a> Outputs<'a> {
    /// No output yet; files are created in `dir`, rolled at
    /// `max_file_bytes` and flushed every `write_buffer_bytes`.
    pub fn new(dir: &'a StoreDir, max_file_bytes: u64, write_buffer_bytes: usize) -> Self {
        Self {
            dir,
            max_file_bytes,
            write_buffer_bytes,
            current: None,
            done: Vec::new(),
        }
    }

    /// Appends one encoded record; returns where it went.
    pub fn append(
        &mut self,
        record: &[u8],
        key: &[u8],
        tombstone: bool,
        stored_seq: u64,
    ) -> Result<Entry> {
        let full = self.current.as_ref().is_some_and(|o| {
            o.min_seq <= o.max_seq && o.len + record.len() as u64 > self.max_file_bytes
        });
        if full {
            self.seal()?;
        }
        let mut o = match self.current.take() {
            Some(o) => o,
            None => self.create()?,
        };
        let entry = Entry {
            file_id: o.id,
            offset: o.len as u32,
            len: record.len() as u32,
            stored_seq,
        };
        o.buffer.extend_from_slice(record);
        o.len += record.len() as u64;
        o.hint.push(key, tombstone, entry);
        o.records += 1;
        o.min_seq = o.min_seq.min(entry.seq());
        o.max_seq = o.max_seq.max(entry.seq());
        let flush = o.buffer.len() >= self.write_buffer_bytes;
        let result = if flush { flush_output(&mut o) } else { Ok(()) };
        self.current = Some(o);
        result?;
        Ok(entry)
    }

    fn create(&self) -> Result<Output> {
        let id = self.dir.allocate_file_id()?;
        let fs = self.dir.fs();
        // The commit renames the output onto these names: they must be free.
        for name in [data_file_name(id), hint_file_name(id)] {
            let path = self.dir.join(&name);
            if fs.exists(&path)? {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} already exists where a merge was about to put its output; refusing to overwrite it",
                        path.display()
                    ),
                )
                .into());
            }
        }
        let tmp_data = self.dir.join(format!("{}{TMP_SUFFIX}", data_file_name(id)));
        let tmp_hint = self.dir.join(format!("{}{TMP_SUFFIX}", hint_file_name(id)));
        let file = fs.create(&tmp_data)?;
        Ok(Output {
            id,
            tmp_data,
            tmp_hint,
            file,
            buffer: data_file_header(id).to_vec(),
            len: crate::data_file::CURRENT_HEADER_BYTES,
            hint: EntryList::new(),
            min_seq: u64::MAX,
            max_seq: 0,
            records: 0,
            hint_bytes: 0,
        })
    }

    /// Finishes the current output: data flushed and synced, hint written
    /// and synced.
    fn seal(&mut self) -> Result<()> {
        let Some(mut o) = self.current.take() else {
            return Ok(());
        };
        let sealed = seal_output(self.dir.fs(), &mut o);
        self.done.push(o);
        sealed
    }

    /// Seals the last output.
    pub fn finish(&mut self) -> Result<()> {
        self.seal()
    }

    /// Removes every temporary file (best effort: open removes leftovers).
    pub fn discard(&mut self) {
        self.done.extend(self.current.take());
        for o in &self.done {
            let _ = self.dir.fs().remove(&o.tmp_data);
            let _ = self.dir.fs().remove(&o.tmp_hint);
        }
    }
}

/// Flushes and syncs an output's data, then writes and syncs its hint.
fn seal_output(fs: &kv_core::CountingFs, o: &mut Output) -> Result<()> {
    flush_output(o)?;
    o.file.sync()?;
    o.hint.sort_and_keep_newest();
    let hint = Hint {
        data_file_id: o.id,
        covered_len: o.len,
        min_seq: o.min_seq,
        max_seq: o.max_seq,
        records: o.records,
        entries: std::mem::take(&mut o.hint),
    };
    let bytes = encode_hint(&hint);
    o.hint = hint.entries; // kept for the keydir switch and its tombstone accounting
    o.hint.shrink_to_fit();
    let hint_file = fs.create(&o.tmp_hint)?;
    hint_file.append(&bytes)?;
    hint_file.sync()?;
    o.hint_bytes = bytes.len() as u64;
    Ok(())
}

fn flush_output(o: &mut Output) -> Result<()> {
    if !o.buffer.is_empty() {
        o.file.append(&o.buffer)?;
        o.buffer.clear();
    }
    Ok(())
}
