//! `Store` for the test [`LogStore`]: encoding writes, scans (a snapshot,
//! or live with [`Bug::ScansReadLive`]), `check()` with its damage list and
//! `stats()`.

use std::ops::Bound;
use std::sync::Arc;

use crate::batch::{BatchOp, WriteBatch};
use crate::codec::{encode_batch, encode_delete, encode_put};
use crate::error::{CorruptionKind, Result};
use crate::limits::{check_batch, check_key, check_put};
use crate::store::{CheckReport, Damage, Direction, KeyRange, KvPair, ScanIter, Stats, Store};

use super::replay::{replay, OnDamage};
use super::{Bug, Inner, LogStore, ENGINE_NAME, LARGE_BATCH_OPS};

/// The buffers a batch is appended as: one batch group, or (with
/// [`Bug::SplitsBatches`] / [`Bug::SplitsLargeBatches`]) several.
fn batch_buffers(bug: Bug, seq: u64, batch: &WriteBatch) -> Vec<Vec<u8>> {
    let ops = batch.ops();
    let chunk = match bug {
        Bug::SplitsBatches => 0,
        Bug::SplitsLargeBatches if ops.len() > LARGE_BATCH_OPS => LARGE_BATCH_OPS / 2,
        _ => {
            let mut buf = Vec::new();
            encode_batch(&mut buf, seq, batch);
            return vec![buf];
        }
    };
    if chunk == 0 {
        return ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let mut buf = Vec::new();
                match op {
                    BatchOp::Put { key, value } => encode_put(&mut buf, seq + i as u64, key, value),
                    BatchOp::Delete { key } => encode_delete(&mut buf, seq + i as u64, key),
                }
                buf
            })
            .collect();
    }
    ops.chunks(chunk)
        .enumerate()
        .map(|(n, part)| {
            let mut sub = WriteBatch::new();
            for op in part {
                match op {
                    BatchOp::Put { key, value } => sub.put(key.clone(), value.clone()),
                    BatchOp::Delete { key } => sub.delete(key.clone()),
                };
            }
            let mut buf = Vec::new();
            encode_batch(&mut buf, seq + (n * chunk) as u64, &sub);
            buf
        })
        .collect()
}

/// A scan that looks each next key up in the live map ([`Bug::ScansReadLive`]).
struct LiveScan {
    inner: Arc<Inner>,
    range: KeyRange,
    direction: Direction,
}

impl Iterator for LiveScan {
    type Item = Result<KvPair>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.range.is_empty() {
            return None;
        }
        let state = self.inner.state();
        let mut range = state.map.range::<[u8], _>(self.range.as_slices());
        let (k, v) = match self.direction {
            Direction::Forward => range.next(),
            Direction::Reverse => range.next_back(),
        }?;
        let pair = (k.clone(), v.clone());
        match self.direction {
            Direction::Forward => self.range.start = Bound::Excluded(k.clone()),
            Direction::Reverse => self.range.end = Bound::Excluded(k.clone()),
        }
        Some(Ok(pair))
    }
}

impl Store for LogStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        Ok(self.inner.state().map.get(key).cloned())
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        check_put(key, value)?;
        let mut buf = Vec::new();
        encode_put(&mut buf, self.inner.state().next_seq, key, value);
        let op = BatchOp::Put {
            key: key.to_vec(),
            value: value.to_vec(),
        };
        self.inner.append(&[buf], 1, &[op])
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        let mut buf = Vec::new();
        encode_delete(&mut buf, self.inner.state().next_seq, key);
        let op = BatchOp::Delete { key: key.to_vec() };
        self.inner.append(&[buf], 1, &[op])
    }

    fn write(&self, batch: &WriteBatch) -> Result<()> {
        check_batch(batch)?;
        if batch.is_empty() {
            return Ok(());
        }
        let seq = self.inner.state().next_seq;
        let buffers = batch_buffers(self.inner.bug, seq, batch);
        self.inner.append(&buffers, batch.len() as u64, batch.ops())
    }

    fn scan(&self, range: &KeyRange, direction: Direction) -> Result<ScanIter<'_>> {
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        if self.inner.bug == Bug::ScansReadLive {
            return Ok(Box::new(LiveScan {
                inner: Arc::clone(&self.inner),
                range: range.clone(),
                direction,
            }));
        }
        let state = self.inner.state();
        let mut items: Vec<_> = state
            .map
            .range::<[u8], _>(range.as_slices())
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        if direction == Direction::Reverse {
            items.reverse();
        }
        Ok(Box::new(items.into_iter()))
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync_if_dirty()
    }

    fn compact(&self) -> Result<()> {
        self.inner.compact()
    }

    fn check(&self) -> Result<CheckReport> {
        let state = self.inner.state();
        let mut report = CheckReport {
            live_keys: state.map.len() as u64,
            ..CheckReport::default()
        };
        let (Some(file), false) = (&state.file, self.inner.bug == Bug::CheckTrustsMemory) else {
            return Ok(report);
        };
        let data = file.read_all()?;
        let path = self.inner.log_path();
        let most = if self.inner.bug == Bug::CheckStopsAtFirstDamage {
            1
        } else {
            usize::MAX
        };
        let replayed = replay(&path, &data, OnDamage::List(most))?;
        report.files_checked = 1;
        report.items_checked = replayed.entries;
        report.bytes_checked = data.len() as u64;
        report.live_keys = replayed.map.len() as u64;
        report.damage = replayed.damage;
        if report.damage.is_empty() && replayed.map != state.map {
            report.damage.push(Damage {
                file: path,
                offset: 0,
                kind: CorruptionKind::Invariant("log and memory differ".into()),
            });
        }
        Ok(report)
    }

    fn stats(&self) -> Stats {
        let state = self.inner.state();
        let mut stats = Stats::new(ENGINE_NAME);
        stats.live_keys = state.map.len() as u64;
        if matches!(
            self.inner.bug,
            Bug::OvercountsLiveKeys | Bug::EstimatesLiveKeys
        ) {
            stats.live_keys += 1;
            stats.live_keys_exact = self.inner.bug == Bug::OvercountsLiveKeys;
        }
        stats.live_bytes = state
            .map
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum();
        stats.disk_bytes = state.file.as_ref().and_then(|f| f.len().ok()).unwrap_or(0);
        if self.inner.bug != Bug::ReportsNoIo {
            stats.io = self.inner.fs.counters();
        }
        if self.inner.bug != Bug::ForgetsTornBytes {
            stats.torn_bytes_truncated = self.inner.torn_bytes;
        }
        stats
    }
}
