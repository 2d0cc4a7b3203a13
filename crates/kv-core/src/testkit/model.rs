//! The reference [`Model`] (a `BTreeMap`), the random operations that drive
//! model tests ([`ModelOp`] and its proptest strategies), and [`History`],
//! which decides whether a state recovered after a crash is allowed by the
//! durability contract.
//!
//! # The crash rule [`History`] checks
//!
//! After any crash the visible state must equal the model after *some prefix*
//! of the acknowledged operations, and that prefix must include every
//! operation acknowledged before the last successful `sync` (or, under
//! `SyncPolicy::Always`, every acknowledged operation). An operation that
//! returned an error may or may not have taken effect, so the state after it
//! is allowed too. Anything else is a hole, a phantom value, a resurrected
//! delete or half a batch.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Bound;

use proptest::prelude::*;

use crate::batch::{BatchOp, WriteBatch};
use crate::store::{Direction, KeyRange, KvPair};

/// The reference key-value map every engine is compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Model {
    /// An empty model.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`.
    pub fn put(&mut self, key: &[u8], value: &[u8]) {
        self.map.insert(key.to_vec(), value.to_vec());
    }

    /// Removes `key` (a missing key is fine).
    pub fn delete(&mut self, key: &[u8]) {
        self.map.remove(key);
    }

    /// Applies a batch in order: later operations on the same key win.
    pub fn apply_batch(&mut self, batch: &WriteBatch) {
        for op in batch.ops() {
            match op {
                BatchOp::Put { key, value } => self.put(key, value),
                BatchOp::Delete { key } => self.delete(key),
            }
        }
    }

    /// Applies the effect of `op` on the contents. Reads, `Sync`, `Compact`
    /// and `Reopen` change nothing.
    pub fn apply(&mut self, op: &ModelOp) {
        match op {
            ModelOp::Put { key, value } => self.put(key, value),
            ModelOp::Delete { key } => self.delete(key),
            ModelOp::Batch(batch) => self.apply_batch(batch),
            ModelOp::Sync
            | ModelOp::Compact
            | ModelOp::Reopen
            | ModelOp::Get { .. }
            | ModelOp::Scan { .. } => {}
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.map.get(key).map(Vec::as_slice)
    }

    /// The pairs in `range`, in `direction` order. Empty and inverted ranges
    /// yield nothing.
    pub fn scan(&self, range: &KeyRange, direction: Direction) -> Vec<KvPair> {
        if range.is_empty() {
            return Vec::new();
        }
        let items = self
            .map
            .range::<[u8], _>(range.as_slices())
            .map(|(k, v)| (k.clone(), v.clone()));
        match direction {
            Direction::Forward => items.collect(),
            Direction::Reverse => items.rev().collect(),
        }
    }

    /// Every pair, ascending.
    pub fn pairs(&self) -> Vec<KvPair> {
        self.scan(&KeyRange::all(), Direction::Forward)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when the model holds no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The underlying map.
    pub fn map(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.map
    }
}

impl FromIterator<KvPair> for Model {
    fn from_iter<I: IntoIterator<Item = KvPair>>(iter: I) -> Self {
        Self {
            map: iter.into_iter().collect(),
        }
    }
}

/// One step of a random model test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelOp {
    /// `Store::put`.
    Put {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// `Store::delete`.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
    /// `Store::write`.
    Batch(WriteBatch),
    /// `Store::sync`.
    Sync,
    /// `Store::compact`.
    Compact,
    /// Drop the store (a clean close) and open it again.
    Reopen,
    /// `Store::get`, compared with the model.
    Get {
        /// The key.
        key: Vec<u8>,
    },
    /// `Store::scan`, compared with the model.
    Scan {
        /// The range.
        range: KeyRange,
        /// The order.
        direction: Direction,
    },
}

impl ModelOp {
    /// True for operations that change the contents (put, delete, batch).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Self::Put { .. } | Self::Delete { .. } | Self::Batch(_)
        )
    }
}

/// Keys the strategies draw from most of the time: few enough that
/// overwrites and deletes hit, with the empty key, `0x00` and `0xff` bytes and
/// keys that are prefixes of one another.
pub const MODEL_KEY_POOL: &[&[u8]] = &[
    b"",
    b"\x00",
    b"\x00\x00",
    b"\x01",
    b"a",
    b"a\x00",
    b"a\xff",
    b"ab",
    b"b",
    b"k",
    b"key",
    b"\x7f",
    b"\xfe",
    b"\xff",
    b"\xff\x00",
    b"\xff\xff",
];

/// Bytes of the occasional key outside [`MODEL_KEY_POOL`].
const MODEL_KEY_BYTES: &[u8] = &[0x00, 0x01, b'a', b'b', 0xfe, 0xff];

/// A key: usually from [`MODEL_KEY_POOL`], sometimes a short key over a tiny
/// alphabet (still likely to collide).
pub fn model_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::sample::select(MODEL_KEY_POOL).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(proptest::sample::select(MODEL_KEY_BYTES), 0..4),
    ]
}

/// A value: usually short (empty included), sometimes a few hundred bytes.
pub fn model_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..8),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

/// A batch of up to 8 puts and deletes (the empty batch included).
pub fn model_batch() -> impl Strategy<Value = WriteBatch> {
    let op = prop_oneof![
        3 => (model_key(), model_value()).prop_map(|(key, value)| BatchOp::Put { key, value }),
        1 => model_key().prop_map(|key| BatchOp::Delete { key }),
    ];
    proptest::collection::vec(op, 0..8).prop_map(WriteBatch::from_iter)
}

fn model_bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        2 => model_key().prop_map(Bound::Included),
        2 => model_key().prop_map(Bound::Excluded),
        1 => Just(Bound::Unbounded),
    ]
}

/// A key range: any two bounds (inverted and empty ranges included), or a
/// prefix.
pub fn model_range() -> impl Strategy<Value = KeyRange> {
    prop_oneof![
        3 => (model_bound(), model_bound()).prop_map(|(start, end)| KeyRange { start, end }),
        1 => model_key().prop_map(|prefix| KeyRange::prefix(&prefix)),
    ]
}

/// One random operation. `with_reopen` is false for engines that keep
/// nothing across a reopen.
pub fn model_op(with_reopen: bool) -> impl Strategy<Value = ModelOp> {
    // Without reopen, that slot becomes a second kind of sync.
    let reopen = if with_reopen {
        ModelOp::Reopen
    } else {
        ModelOp::Sync
    };
    let direction = prop_oneof![Just(Direction::Forward), Just(Direction::Reverse)];
    prop_oneof![
        10 => (model_key(), model_value()).prop_map(|(key, value)| ModelOp::Put { key, value }),
        4 => model_key().prop_map(|key| ModelOp::Delete { key }),
        3 => model_batch().prop_map(ModelOp::Batch),
        4 => model_key().prop_map(|key| ModelOp::Get { key }),
        3 => (model_range(), direction).prop_map(|(range, direction)| ModelOp::Scan { range, direction }),
        1 => Just(ModelOp::Sync),
        1 => Just(ModelOp::Compact),
        1 => Just(reopen),
    ]
}

/// A sequence of up to `max_len` random operations.
pub fn model_ops(max_len: usize, with_reopen: bool) -> impl Strategy<Value = Vec<ModelOp>> {
    proptest::collection::vec(model_op(with_reopen), 1..=max_len.max(1))
}

/// Snapshots of the model after every acknowledged write, to decide which
/// states a crash may leave (see the module docs).
#[derive(Debug, Clone)]
pub struct History {
    model: Model,
    /// `snapshots[i]`: the contents after the first `i` acknowledged writes.
    snapshots: Vec<Model>,
    /// Index of the snapshot every recovery must reach at least.
    synced: usize,
    /// The contents if the first failed write took effect.
    in_flight: Option<Model>,
}

impl History {
    /// A history starting from `initial`, which counts as durable.
    pub fn new(initial: Model) -> Self {
        Self {
            snapshots: vec![initial.clone()],
            model: initial,
            synced: 0,
            in_flight: None,
        }
    }

    /// The contents after every acknowledged write.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Records that write `op` returned `Ok`. Non-writes are ignored.
    ///
    /// # Panics
    /// If a write failed earlier: a store must refuse every write after a
    /// failed one (it is poisoned), so acknowledging one is a contract
    /// violation.
    pub fn acknowledge(&mut self, op: &ModelOp) {
        if !op.is_write() {
            return;
        }
        assert!(
            self.in_flight.is_none(),
            "a write was acknowledged after an earlier write failed: the store must be poisoned \
             (Err(Poisoned)) after a failed write or sync, until it is reopened; acknowledged: {}",
            describe_op(op)
        );
        self.model.apply(op);
        self.snapshots.push(self.model.clone());
    }

    /// Records that every write acknowledged so far is durable (a `sync`
    /// returned `Ok`, or the store runs under `SyncPolicy::Always`).
    pub fn mark_synced(&mut self) {
        self.synced = self.snapshots.len() - 1;
    }

    /// Records that write `op` returned an error: it may or may not have
    /// taken effect. Only the first failure counts; a poisoned store applies
    /// nothing after it.
    pub fn fail(&mut self, op: &ModelOp) {
        if op.is_write() && self.in_flight.is_none() {
            let mut after = self.model.clone();
            after.apply(op);
            self.in_flight = Some(after);
        }
    }

    /// Number of acknowledged writes.
    pub fn acknowledged(&self) -> usize {
        self.snapshots.len() - 1
    }

    /// Number of writes every recovery must keep.
    pub fn synced(&self) -> usize {
        self.synced
    }

    /// Checks a recovered state against the contract: it must equal the
    /// model after `i` acknowledged writes for some `i >= synced()` (or the
    /// state after the failed in-flight write). Returns `i` (the in-flight
    /// state counts as `acknowledged() + 1`), or a report naming the closest
    /// allowed state and how the recovered one differs from it.
    pub fn check_recovered(&self, recovered: &[KvPair]) -> Result<usize, String> {
        let recovered: Model = recovered.iter().cloned().collect();
        if let Some(i) =
            (self.synced..self.snapshots.len()).find(|&i| self.snapshots[i] == recovered)
        {
            return Ok(i);
        }
        if self.in_flight.as_ref() == Some(&recovered) {
            return Ok(self.snapshots.len());
        }
        Err(self.explain_mismatch(&recovered))
    }

    fn explain_mismatch(&self, recovered: &Model) -> String {
        let mut text = format!(
            "recovered state ({} keys) is not the model after any allowed prefix: {} writes \
             acknowledged, the first {} of them durable (synced){}",
            recovered.len(),
            self.acknowledged(),
            self.synced,
            if self.in_flight.is_some() {
                ", plus one failed write that may have applied"
            } else {
                ""
            }
        );
        if let Some(lost) = (0..self.synced)
            .rev()
            .find(|&i| self.snapshots[i] == *recovered)
        {
            let _ = write!(
                text,
                "; it equals the state after only {lost} writes, so synced writes {} to {} were lost",
                lost + 1,
                self.synced
            );
        }
        let allowed = self.snapshots[self.synced..]
            .iter()
            .map(|m| (m, "after"))
            .chain(self.in_flight.iter().map(|m| (m, "with the failed write")));
        let closest = allowed
            .enumerate()
            .min_by_key(|(_, (m, _))| diff_lines(m, recovered).len());
        if let Some((offset, (model, how))) = closest {
            let label = if how == "after" {
                format!("after {} writes", self.synced + offset)
            } else {
                "with the failed write applied".to_string()
            };
            let diff = diff_lines(model, recovered);
            let _ = write!(
                text,
                "; closest allowed state is the model {label}, which differs in {} keys:",
                diff.len()
            );
            for line in diff.iter().take(12) {
                let _ = write!(text, "\n  {line}");
            }
            if diff.len() > 12 {
                let _ = write!(text, "\n  ... and {} more", diff.len() - 12);
            }
        }
        text
    }
}

/// One line per key where `got` differs from `expected`.
pub fn diff_lines(expected: &Model, got: &Model) -> Vec<String> {
    let mut lines = Vec::new();
    for (key, value) in expected.map() {
        match got.get(key) {
            None => lines.push(format!(
                "missing {} (expected {})",
                show_bytes(key),
                show_bytes(value)
            )),
            Some(v) if v != value.as_slice() => lines.push(format!(
                "{}: expected {}, got {}",
                show_bytes(key),
                show_bytes(value),
                show_bytes(v)
            )),
            Some(_) => {}
        }
    }
    for (key, value) in got.map() {
        if expected.get(key).is_none() {
            lines.push(format!(
                "phantom {} = {}",
                show_bytes(key),
                show_bytes(value)
            ));
        }
    }
    lines
}

/// Bytes for a failure message: printable ASCII as is, other bytes as
/// `\xNN`, long values cut after 32 bytes with their length.
pub fn show_bytes(bytes: &[u8]) -> String {
    const SHOWN_BYTES: usize = 32;
    let mut text = String::from("\"");
    for &b in bytes.iter().take(SHOWN_BYTES) {
        if b.is_ascii_graphic() || b == b' ' {
            if b == b'"' || b == b'\\' {
                text.push('\\');
            }
            text.push(b as char);
        } else {
            let _ = write!(text, "\\x{b:02x}");
        }
    }
    text.push('"');
    if bytes.len() > SHOWN_BYTES {
        let _ = write!(text, "...({} bytes)", bytes.len());
    }
    text
}

/// A short description of an operation for failure messages.
pub fn describe_op(op: &ModelOp) -> String {
    match op {
        ModelOp::Put { key, value } => format!("put({}, {})", show_bytes(key), show_bytes(value)),
        ModelOp::Delete { key } => format!("delete({})", show_bytes(key)),
        ModelOp::Batch(batch) => {
            let ops: Vec<String> = batch
                .ops()
                .iter()
                .map(|op| match op {
                    BatchOp::Put { key, value } => {
                        format!("put({}, {})", show_bytes(key), show_bytes(value))
                    }
                    BatchOp::Delete { key } => format!("delete({})", show_bytes(key)),
                })
                .collect();
            format!("write([{}])", ops.join(", "))
        }
        ModelOp::Sync => "sync()".into(),
        ModelOp::Compact => "compact()".into(),
        ModelOp::Reopen => "reopen".into(),
        ModelOp::Get { key } => format!("get({})", show_bytes(key)),
        ModelOp::Scan { range, direction } => format!("scan({range:?}, {direction:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &[u8], v: &[u8]) -> ModelOp {
        ModelOp::Put {
            key: k.to_vec(),
            value: v.to_vec(),
        }
    }

    #[test]
    fn batch_later_op_wins_and_scan_orders_bytes() {
        let mut m = Model::new();
        let mut b = WriteBatch::new();
        b.put(b"a", b"1")
            .delete(b"a")
            .put(b"b", b"2")
            .put(b"b", b"3")
            .put(b"a\x00", b"4");
        m.apply_batch(&b);
        assert_eq!(m.get(b"a"), None);
        assert_eq!(m.get(b"b"), Some(&b"3"[..]));
        let keys: Vec<_> = m.pairs().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![b"a\x00".to_vec(), b"b".to_vec()]);
        let rev = m.scan(&KeyRange::all(), Direction::Reverse);
        assert_eq!(rev[0].0, b"b".to_vec());
        assert!(m
            .scan(
                &KeyRange::new(b"b".to_vec()..b"a".to_vec()),
                Direction::Forward
            )
            .is_empty());
    }

    #[test]
    fn history_accepts_any_prefix_from_the_last_sync() {
        let mut h = History::new(Model::new());
        h.acknowledge(&put(b"a", b"1"));
        h.mark_synced();
        h.acknowledge(&put(b"b", b"2"));
        h.acknowledge(&ModelOp::Delete { key: b"a".to_vec() });
        assert_eq!(h.check_recovered(&[(b"a".to_vec(), b"1".to_vec())]), Ok(1));
        assert_eq!(
            h.check_recovered(&[
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2".to_vec())
            ]),
            Ok(2)
        );
        assert_eq!(h.check_recovered(&[(b"b".to_vec(), b"2".to_vec())]), Ok(3));
        let lost = h.check_recovered(&[]).unwrap_err();
        assert!(lost.contains("synced writes 1 to 1 were lost"), "{lost}");
        let hole = h
            .check_recovered(&[
                (b"b".to_vec(), b"2".to_vec()),
                (b"c".to_vec(), b"3".to_vec()),
            ])
            .unwrap_err();
        assert!(hole.contains("phantom \"c\""), "{hole}");
    }

    #[test]
    fn history_allows_the_failed_write_either_way() {
        let mut h = History::new(Model::new());
        h.acknowledge(&put(b"a", b"1"));
        h.mark_synced();
        h.fail(&put(b"b", b"2"));
        h.fail(&put(b"c", b"3"));
        assert_eq!(h.check_recovered(&[(b"a".to_vec(), b"1".to_vec())]), Ok(1));
        assert_eq!(
            h.check_recovered(&[
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2".to_vec())
            ]),
            Ok(2)
        );
        assert!(h
            .check_recovered(&[
                (b"a".to_vec(), b"1".to_vec()),
                (b"c".to_vec(), b"3".to_vec())
            ])
            .is_err());
    }

    #[test]
    #[should_panic(expected = "must be poisoned")]
    fn history_refuses_an_ack_after_a_failure() {
        let mut h = History::new(Model::new());
        h.fail(&put(b"a", b"1"));
        h.acknowledge(&put(b"b", b"2"));
    }

    #[test]
    fn show_bytes_escapes_and_cuts() {
        assert_eq!(show_bytes(b"a\x00\xff\""), "\"a\\x00\\xff\\\"\"");
        assert!(show_bytes(&[b'x'; 40]).ends_with("...(40 bytes)"));
    }

    proptest! {
        #[test]
        fn model_ops_without_reopen_never_reopen(ops in model_ops(32, false)) {
            prop_assert!(!ops.contains(&ModelOp::Reopen));
        }
    }
}
