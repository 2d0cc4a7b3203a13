//! The verdict of one round: does the recovered store hold exactly what was
//! acknowledged, allowing only the one write in flight at the kill to be
//! either wholly there or wholly absent?

use super::script::Contents;

/// What one recovered store showed, against what was acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Keys whose acknowledged value (or absence) was checked.
    pub keys_checked: u64,
    /// Keys whose acknowledged value is missing.
    pub lost: u64,
    /// Keys with a value that was never acknowledged for them, or back after
    /// an acknowledged delete.
    pub wrong: u64,
    /// 1 if every key is one of the two allowed states but the store as a
    /// whole is neither (part of the in-flight batch applied).
    pub half_batches: u64,
    /// True if the write in flight at the kill is in the store.
    pub in_flight_applied: bool,
}

impl Verdict {
    /// True if nothing acknowledged was lost or changed and no batch was
    /// applied in part.
    pub fn is_clean(&self) -> bool {
        self.lost == 0 && self.wrong == 0 && self.half_batches == 0
    }
}

/// Compares `recovered` with `acked` (the model after every acknowledged
/// write) and `with_in_flight` (the model after the write that was in flight
/// when the child was killed, if any).
///
/// A key is correct if it holds its value in either model; the store as a
/// whole must equal one of them (else a batch was applied in part). A key
/// correct in neither is `lost` if the store lacks it, `wrong` otherwise.
pub fn verify(
    recovered: &Contents,
    acked: &Contents,
    with_in_flight: Option<&Contents>,
) -> Verdict {
    let alternative = with_in_flight.unwrap_or(acked);
    let mut verdict = Verdict::default();
    let keys = acked
        .keys()
        .chain(alternative.keys())
        .chain(recovered.keys())
        .collect::<std::collections::BTreeSet<_>>();
    for key in keys {
        verdict.keys_checked += 1;
        let got = recovered.get(key);
        if got == acked.get(key) || got == alternative.get(key) {
            continue;
        }
        if got.is_none() {
            verdict.lost += 1;
        } else {
            verdict.wrong += 1;
        }
    }
    let whole_acked = recovered == acked;
    let whole_alternative = recovered == alternative;
    verdict.in_flight_applied = with_in_flight.is_some() && whole_alternative && !whole_acked;
    if verdict.lost == 0 && verdict.wrong == 0 && !whole_acked && !whole_alternative {
        verdict.half_batches = 1;
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(pairs: &[(&str, &str)]) -> Contents {
        pairs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn exactly_the_acknowledged_state_is_clean() {
        let acked = contents(&[("a", "1"), ("b", "2")]);
        let v = verify(&acked.clone(), &acked, None);
        assert!(v.is_clean() && !v.in_flight_applied);
        assert_eq!(v.keys_checked, 2);
    }

    #[test]
    fn the_in_flight_write_may_be_there_whole() {
        let acked = contents(&[("a", "1")]);
        let after = contents(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let v = verify(&after.clone(), &acked, Some(&after));
        assert!(v.is_clean() && v.in_flight_applied, "{v:?}");
    }

    #[test]
    fn a_lost_write_a_resurrected_key_and_a_half_batch_are_caught() {
        let acked = contents(&[("a", "1"), ("b", "2")]);
        let lost = verify(&contents(&[("a", "1")]), &acked, None);
        assert_eq!((lost.lost, lost.wrong), (1, 0));
        let back = verify(
            &contents(&[("a", "1"), ("b", "2"), ("d", "old")]),
            &acked,
            None,
        );
        assert_eq!((back.lost, back.wrong), (0, 1));
        let stale = verify(&contents(&[("a", "0"), ("b", "2")]), &acked, None);
        assert_eq!(stale.wrong, 1);
        let after = contents(&[("a", "1"), ("b", "2"), ("x", "9"), ("y", "9")]);
        let half = verify(
            &contents(&[("a", "1"), ("b", "2"), ("x", "9")]),
            &acked,
            Some(&after),
        );
        assert_eq!((half.lost, half.wrong, half.half_batches), (0, 0, 1));
        assert!(!half.is_clean());
    }
}
