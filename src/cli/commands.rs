//! The one-shot commands over an open store: `put`, `get`, `delete`, `scan`,
//! `stats`, `compact`, `check`. Each writes its output to the writer it is
//! given, so tests drive them over an in-memory store.

use std::cmp::Ordering;
use std::io::Write;
use std::ops::Bound;

use kv_core::{Damage, Direction, KeyRange, Store};

use super::encoding::Codec;
use super::error::CliError;
use super::output::{write_json, write_table};

/// A decoded `scan`: which keys, in which order, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSpec {
    /// The keys to visit.
    pub range: KeyRange,
    /// Ascending or descending.
    pub direction: Direction,
    /// Stop after this many pairs (`None`: no limit).
    pub limit: Option<u64>,
}

impl ScanSpec {
    /// Every key with `prefix` (if any) that is also at or after `from` and
    /// before `to` (at or before it when `to_inclusive`).
    pub fn new(
        prefix: Option<&[u8]>,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        to_inclusive: bool,
    ) -> Self {
        let mut range = prefix.map_or_else(KeyRange::all, KeyRange::prefix);
        if let Some(from) = from {
            range.start = tighter(
                range.start,
                Bound::Included(from.to_vec()),
                Ordering::Greater,
            );
        }
        if let Some(to) = to {
            let end = if to_inclusive {
                Bound::Included(to.to_vec())
            } else {
                Bound::Excluded(to.to_vec())
            };
            range.end = tighter(range.end, end, Ordering::Less);
        }
        Self {
            range,
            direction: Direction::Forward,
            limit: None,
        }
    }
}

/// Of two bounds of the same side, the one that admits fewer keys. `wins` is
/// the ordering of a key that makes it the tighter one: `Greater` for start
/// bounds (the larger start wins), `Less` for end bounds. At equal keys an
/// excluded bound is tighter than an included one.
fn tighter(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>, wins: Ordering) -> Bound<Vec<u8>> {
    let key = |bound: &Bound<Vec<u8>>| match bound {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
        Bound::Unbounded => None,
    };
    match (key(&a), key(&b)) {
        (None, _) => b,
        (_, None) => a,
        (Some(ka), Some(kb)) => match ka.cmp(&kb) {
            Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
            Ordering::Equal => b,
            order if order == wins => a,
            _ => b,
        },
    }
}

/// `put`: sets `key` to `value`.
///
/// # Errors
/// The store's (`TooLarge`, `Poisoned`, I/O).
pub fn put(store: &dyn Store, key: &[u8], value: &[u8]) -> Result<(), CliError> {
    Ok(store.put(key, value)?)
}

/// `get`: writes the value of `key` and a newline.
///
/// # Errors
/// `NotFound` when the key is missing; the store's.
pub fn get(
    store: &dyn Store,
    codec: Codec,
    key: &[u8],
    out: &mut dyn Write,
) -> Result<(), CliError> {
    match store.get(key)? {
        Some(value) => {
            codec.write(out, &value)?;
            writeln!(out)?;
            Ok(())
        }
        None => Err(CliError::NotFound(format!(
            "not found: {}",
            codec.display(key)
        ))),
    }
}

/// `delete`: removes `key` (a missing key is not an error).
///
/// # Errors
/// The store's.
pub fn delete(store: &dyn Store, key: &[u8]) -> Result<(), CliError> {
    Ok(store.delete(key)?)
}

/// `scan`: writes `KEY<TAB>VALUE` lines; returns how many.
///
/// # Errors
/// The store's (an error met mid-scan ends it, after the lines before it).
pub fn scan(
    store: &dyn Store,
    codec: Codec,
    spec: &ScanSpec,
    out: &mut dyn Write,
) -> Result<u64, CliError> {
    let mut written = 0;
    if spec.limit == Some(0) {
        return Ok(0);
    }
    for item in store.scan(&spec.range, spec.direction)? {
        let (key, value) = item?;
        codec.write(out, &key)?;
        out.write_all(b"\t")?;
        codec.write(out, &value)?;
        writeln!(out)?;
        written += 1;
        if spec.limit.is_some_and(|limit| written >= limit) {
            break;
        }
    }
    Ok(written)
}

/// `stats`: writes [`kv_core::Stats`] as a table or JSON.
///
/// # Errors
/// Output failures.
pub fn stats(store: &dyn Store, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let report = serde_json::to_value(store.stats()).map_err(std::io::Error::other)?;
    write_report(&report, json, out)
}

/// `compact`: runs [`Store::compact`] and writes the disk size before and
/// after.
///
/// # Errors
/// The store's.
pub fn compact(store: &dyn Store, out: &mut dyn Write) -> Result<(), CliError> {
    let before = store.stats().disk_bytes;
    store.compact()?;
    let after = store.stats().disk_bytes;
    writeln!(out, "compacted: disk bytes {before} -> {after}")?;
    Ok(())
}

/// `check`: runs [`Store::check`] and writes its report as a table (every
/// damaged spot on a line of its own, in the report's file and offset
/// order) or as JSON. Changes nothing; the same store gives the same output.
///
/// # Errors
/// [`CliError::Damaged`] (exit 4) after writing the report when it lists
/// damage; the store's errors (`Corruption` from an engine that stops at
/// the first damaged spot).
pub fn check(store: &dyn Store, json: bool, out: &mut dyn Write) -> Result<(), CliError> {
    let report = store.check()?;
    let spots = report.damage.len();
    let mut value = serde_json::to_value(&report).map_err(std::io::Error::other)?;
    if json {
        write_json(out, &value)?;
    } else {
        if let Some(fields) = value.as_object_mut() {
            fields.remove("damage");
        }
        write_table(out, &value)?;
        write_damage(out, "damage", &report.damage)?;
    }
    if spots > 0 {
        out.flush()?;
        return Err(CliError::Damaged { spots });
    }
    Ok(())
}

/// Writes `LABEL: none`, or `LABEL: N damaged spot(s)` and one indented
/// `FILE at offset N: WHAT` line per spot.
///
/// # Errors
/// The writer's.
pub fn write_damage(out: &mut dyn Write, label: &str, damage: &[Damage]) -> std::io::Result<()> {
    match damage.len() {
        0 => writeln!(out, "{label}: none"),
        n => {
            let plural = if n == 1 { "" } else { "s" };
            writeln!(out, "{label}: {n} damaged spot{plural}")?;
            for spot in damage {
                writeln!(out, "  {spot}")?;
            }
            Ok(())
        }
    }
}

fn write_report(
    report: &serde_json::Value,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if json {
        write_json(out, report)?;
    } else {
        write_table(out, report)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kv_core::testkit::MemStore;

    fn store_with(keys: &[&str]) -> MemStore {
        let store = MemStore::new();
        for k in keys {
            store
                .put(k.as_bytes(), format!("v-{k}").as_bytes())
                .unwrap();
        }
        store
    }

    fn scan_text(store: &MemStore, spec: &ScanSpec) -> String {
        let mut out = Vec::new();
        scan(store, Codec::Text, spec, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn keys_of(text: &str) -> Vec<&str> {
        text.lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect()
    }

    #[test]
    fn scan_bounds_combine_prefix_from_and_to() {
        let store = store_with(&["a", "b1", "b2", "b3", "b4", "c"]);
        let all = ScanSpec::new(None, None, None, false);
        assert_eq!(
            keys_of(&scan_text(&store, &all)),
            ["a", "b1", "b2", "b3", "b4", "c"]
        );
        let prefix = ScanSpec::new(Some(b"b"), None, None, false);
        assert_eq!(
            keys_of(&scan_text(&store, &prefix)),
            ["b1", "b2", "b3", "b4"]
        );
        let window = ScanSpec::new(Some(b"b"), Some(b"b2"), Some(b"b4"), false);
        assert_eq!(keys_of(&scan_text(&store, &window)), ["b2", "b3"]);
        let inclusive = ScanSpec::new(Some(b"b"), Some(b"b2"), Some(b"b4"), true);
        assert_eq!(keys_of(&scan_text(&store, &inclusive)), ["b2", "b3", "b4"]);
        // A --from before the prefix and a --to after it do not widen it.
        let wide = ScanSpec::new(Some(b"b"), Some(b"a"), Some(b"z"), true);
        assert_eq!(keys_of(&scan_text(&store, &wide)), ["b1", "b2", "b3", "b4"]);
        let inverted = ScanSpec::new(None, Some(b"c"), Some(b"a"), false);
        assert_eq!(scan_text(&store, &inverted), "");
    }

    #[test]
    fn scan_reverse_and_limit() {
        let store = store_with(&["a", "b", "c", "d"]);
        let mut spec = ScanSpec::new(None, Some(b"b"), None, false);
        spec.direction = Direction::Reverse;
        spec.limit = Some(2);
        assert_eq!(keys_of(&scan_text(&store, &spec)), ["d", "c"]);
        spec.limit = Some(0);
        assert_eq!(scan_text(&store, &spec), "");
    }

    #[test]
    fn tighter_prefers_excluded_at_equal_keys() {
        let inc = Bound::Included(b"k".to_vec());
        let exc = Bound::Excluded(b"k".to_vec());
        assert_eq!(tighter(inc.clone(), exc.clone(), Ordering::Less), exc);
        assert_eq!(tighter(exc.clone(), inc.clone(), Ordering::Greater), exc);
        assert_eq!(tighter(Bound::Unbounded, inc.clone(), Ordering::Less), inc);
    }

    #[test]
    fn get_writes_value_and_newline_or_not_found() {
        let store = store_with(&["k"]);
        let mut out = Vec::new();
        get(&store, Codec::Text, b"k", &mut out).unwrap();
        assert_eq!(out, b"v-k\n");
        let mut out = Vec::new();
        get(&store, Codec::Hex, b"k", &mut out).unwrap();
        assert_eq!(out, b"762d6b\n");
        let err = get(&store, Codec::Text, b"missing", &mut Vec::new()).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert_eq!(err.to_string(), "not found: missing");
    }

    #[test]
    fn damage_is_listed_one_spot_per_line() {
        let spot = |offset| Damage {
            file: "/d/1.data".into(),
            offset,
            kind: kv_core::CorruptionKind::BadKind { got: 9 },
        };
        let mut out = Vec::new();
        write_damage(&mut out, "damage", &[spot(16), spot(90)]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "damage: 2 damaged spots\n  /d/1.data at offset 16: unknown type tag 9\n  \
             /d/1.data at offset 90: unknown type tag 9\n"
        );
    }

    #[test]
    fn stats_and_check_write_tables_and_json() {
        let store = store_with(&["a", "b"]);
        let mut out = Vec::new();
        stats(&store, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.lines()
                .any(|l| l.starts_with("live_keys") && l.ends_with(" 2")),
            "{text}"
        );
        let mut out = Vec::new();
        check(&store, true, &mut out).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(json["live_keys"], 2);
        let mut out = Vec::new();
        check(&store, false, &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().ends_with("damage: none\n"));
        let mut out = Vec::new();
        compact(&store, &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().starts_with("compacted"));
    }
}
